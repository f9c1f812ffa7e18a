/* test-model.c: gradients of every layer, gate and DLEN head against finite differences, the
 * stability of the mixture loss at extreme logits, and scoring against the training forward
 * pass at every thread count. */
#include <cblas.h>
#include <glib.h>
#include <math.h>
#include <string.h>
#include "dlen/dlen.h"
#include "dlen-model-private.h"

/* ---- Heads in double precision -------------------------------------------------------- */

typedef double (*HeadLoss) (const double *x, double y, double *grad, int pol);

static double
binary_loss (const double *x, double y, double *grad, int pol)
{
  double p;
  return _dlen_head_binary ((DlenPolarity) pol, x[0], x[1], x[2], y, &grad[0], &grad[1], &grad[2], &p);
}

static double
stay_loss (const double *x, double y, double *grad, int pol)
{
  double pred;
  return _dlen_head_stay (x[0], x[1], x[2], y, &grad[0], &grad[1], &grad[2], &pred);
}

static void
check_head (HeadLoss f, int pol, double y, GRand *r)
{
  for (int trial = 0; trial < 200; trial++)
    {
      double x[3], g[3], scratch[3];
      for (int i = 0; i < 3; i++)
        x[i] = g_rand_double_range (r, -6, 6);
      f (x, y, g, pol);
      for (int i = 0; i < 3; i++)
        {
          const double h = 1e-6;
          double xp[3], xm[3], fd;
          memcpy (xp, x, sizeof x);
          memcpy (xm, x, sizeof x);
          xp[i] += h;
          xm[i] -= h;
          fd = (f (xp, y, scratch, pol) - f (xm, y, scratch, pol)) / (2 * h);
          /* Central differences in double: error O(h^2) + rounding ~1e-10. */
          if (fabs (fd - g[i]) > 1e-6 * (1.0 + fabs (fd)))
            g_error ("head polarity %d y=%g input %d at (%g, %g, %g): analytic %.10g, numeric %.10g",
                     pol, y, i, x[0], x[1], x[2], g[i], fd);
        }
    }
}

static void
test_head_gradients (void)
{
  GRand *r = g_rand_new_with_seed (7);
  for (int pol = DLEN_POLARITY_NEUTRAL; pol <= DLEN_POLARITY_NEGATIVE; pol++)
    for (int y = 0; y <= 1; y++)
      check_head (binary_loss, pol, y, r);
  check_head (stay_loss, 0, 0.0, r);
  check_head (stay_loss, 0, 3.7, r);
  g_rand_free (r);
}

static void
test_head_polarity_order (void)
{
  /* Positive: b <= a, so p rises with p_e; negative: a <= b, so p falls with p_e. */
  for (double u = -5; u <= 5; u += 0.5)
    for (double v = -5; v <= 5; v += 0.5)
      {
        double lo = _dlen_head_binary_prob (DLEN_POLARITY_POSITIVE, u, v, -20);
        double hi = _dlen_head_binary_prob (DLEN_POLARITY_POSITIVE, u, v, 20);
        g_assert_cmpfloat (lo, <=, hi + 1e-12);
        lo = _dlen_head_binary_prob (DLEN_POLARITY_NEGATIVE, u, v, 20);
        hi = _dlen_head_binary_prob (DLEN_POLARITY_NEGATIVE, u, v, -20);
        g_assert_cmpfloat (lo, <=, hi + 1e-12);
      }
}

static void
test_head_extreme_logits (void)
{
  const double vals[] = { -100, -30, 0, 30, 100 };
  for (int pol = 0; pol <= 2; pol++)
    for (unsigned i = 0; i < 5; i++)
      for (unsigned j = 0; j < 5; j++)
        for (unsigned k = 0; k < 5; k++)
          for (int y = 0; y <= 1; y++)
            {
              double du, dv, dle, p;
              double l = _dlen_head_binary ((DlenPolarity) pol, vals[i], vals[j], vals[k], y, &du, &dv, &dle, &p);
              g_assert_true (isfinite (l) && l >= 0);
              g_assert_true (isfinite (du) && isfinite (dv) && isfinite (dle));
              g_assert_true (p >= 0 && p <= 1);
              l = _dlen_head_stay (vals[i], vals[j], vals[k], 2.0, &du, &dv, &dle, &p);
              g_assert_true (isfinite (l) && isfinite (du) && isfinite (dv) && isfinite (dle));
            }
  /* A confident wrong answer costs about |logit|, not inf. */
  {
    double du, dv, dle, p;
    double l = _dlen_head_binary (DLEN_POLARITY_NEUTRAL, -100, -100, 0, 1, &du, &dv, &dle, &p);
    g_assert_cmpfloat (fabs (l - 100.0), <, 1.0);
  }
}

/* ---- Whole model against finite differences -------------------------------------------- */

static DlenSchema
small_schema (void)
{
  DlenSchema s;
  memset (&s, 0, sizeof s);
  s.n_cat = 3;
  strcpy (s.cat[0].name, "user");
  s.cat[0].buckets = 7;
  strcpy (s.cat[1].name, "item");
  s.cat[1].buckets = 5;
  strcpy (s.cat[2].name, "hour");
  s.cat[2].buckets = 11;
  s.n_num = 2;
  strcpy (s.num[0].name, "x");
  strcpy (s.num[1].name, "count");
  s.num[1].log1p = 1;
  s.n_targets = 4;
  strcpy (s.targets[0].name, "click");
  s.targets[0].polarity = DLEN_POLARITY_NEUTRAL;
  strcpy (s.targets[1].name, "like");
  s.targets[1].polarity = DLEN_POLARITY_POSITIVE;
  s.targets[1].weak_source = 1;
  strcpy (s.targets[2].name, "hate");
  s.targets[2].polarity = DLEN_POLARITY_NEGATIVE;
  s.targets[2].weak_source = 1;
  strcpy (s.targets[3].name, "stay");
  s.targets[3].kind = DLEN_TARGET_DURATION;
  for (int t = 0; t < 4; t++)
    s.targets[t].weight = 1.0f + 0.25f * t;
  return s;
}

static DlenDataset *
random_dataset (const DlenSchema *s, guint n, guint32 seed)
{
  DlenDataset *ds = dlen_dataset_new (s);
  GRand *r = g_rand_new_with_seed (seed);
  for (guint i = 0; i < n; i++)
    {
      uint64_t cat[3];
      float num[2], lab[4];
      DlenRow row = { .cat = cat, .num = num, .labels = lab };
      for (int f = 0; f < 3; f++)
        {
          char v[16];
          int len = g_snprintf (v, sizeof v, "%d", g_rand_int_range (r, 0, 20));
          cat[f] = dlen_hash_value (f, v, len);
        }
      num[0] = (float) g_rand_double_range (r, -2, 2);
      num[1] = g_rand_boolean (r) ? (float) g_rand_double_range (r, 0, 100) : NAN;
      lab[0] = g_rand_boolean (r);
      lab[1] = g_rand_int_range (r, 0, 4) == 0 ? NAN : (float) g_rand_boolean (r);
      lab[2] = (float) g_rand_boolean (r);
      lab[3] = lab[0] ? (float) g_rand_double_range (r, 0, 60) : 0.0f;
      row.group = g_rand_int_range (r, 0, 5);
      row.time_ms = i;
      row.day = 20240101;
      g_assert_cmpint (dlen_dataset_append (ds, &row), ==, DLEN_STATUS_OK);
    }
  g_rand_free (r);
  return ds;
}

static double
batch_loss (DlenModel *m, const DlenDataset *ds, const uint8_t *keep, guint n)
{
  _dlen_model_gather (m, ds, NULL, n, keep);
  _dlen_model_forward (m, n);
  return _dlen_model_loss_backward (m, n, 0, NULL, NULL);
}

/* Central difference of the batch loss in one float parameter. Returns 0 when the left and
 * right slopes disagree, i.e. a ReLU switches inside [w - h, w + h], where the loss is not
 * differentiable and the comparison means nothing. */
static int
numeric_grad (DlenModel *m, const DlenDataset *ds, const uint8_t *keep, guint n, float *w,
              double l0, double *out)
{
  const float h = 3e-3f;
  float keepw = *w;
  double lp, lm, right, left;
  *w = keepw + h;
  lp = batch_loss (m, ds, keep, n);
  *w = keepw - h;
  lm = batch_loss (m, ds, keep, n);
  *w = keepw;
  right = (lp - l0) / h;
  left = (l0 - lm) / h;
  *out = (lp - lm) / (2.0 * h);
  return fabs (right - left) <= 0.02 * fabs (*out) + 2e-4;
}

static double
rel_err (const double *a, const double *b, size_t n)
{
  double d = 0, na = 0, nb = 0;
  for (size_t i = 0; i < n; i++)
    {
      d += (a[i] - b[i]) * (a[i] - b[i]);
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
  /* The floor keeps float rounding (about 3e-4 per element at this step) from dominating
   * tensors whose gradient is tiny; a wrong sign or factor still shows as an error near 1. */
  return sqrt (d) / MAX (MAX (sqrt (na), sqrt (nb)), 0.05);
}

/* A small model of @arch with two levels and two expert layers, for gradient checks. */
static DlenModelConfig
small_config (DlenArch arch)
{
  DlenModelConfig c = dlen_model_config_default (arch);
  c.emb_dim = 4;
  c.expert_layers = 2;
  c.expert_units[0] = 8;
  c.expert_units[1] = 6;
  c.tower_units[0] = 5;
  c.shared_experts = arch == DLEN_ARCH_MMOE ? 3 : 2;
  c.levels = 2;
  return c;
}

static void
check_model_gradients (gconstpointer data)
{
  DlenArch arch = (DlenArch) GPOINTER_TO_INT (data);
  DlenSchema s = small_schema ();
  DlenModelConfig c = small_config (arch);
  const guint n = 48;
  DlenDataset *ds = random_dataset (&s, n, 3);
  uint8_t keep[48];
  DlenModel *m;
  uint32_t n_used = 0;
  size_t kinks = 0, total = 0;
  double l0;

  m = dlen_model_new (&s, &c);
  g_assert_nonnull (m);
  g_assert_cmpint (_dlen_model_reserve (m, n), ==, DLEN_STATUS_OK);
  memset (keep, 1, sizeof keep);
  for (uint32_t j = 0; j < s.n_num; j++)
    m->norm_std[j] = 1.5f;

  l0 = batch_loss (m, ds, keep, n);
  _dlen_model_loss_backward (m, n, 1, &n_used, NULL);
  g_assert_cmpuint (n_used, >, 0);

  /* Dense tensors: every element. */
  {
    float *analytic = g_memdup2 (m->g, m->n_p * sizeof (float));
    for (uint32_t i = 0; i < m->n_info; i++)
      {
        const DlenParamInfo *pi = &m->info[i];
        size_t cnt = (size_t) pi->shape[0] * (pi->ndim > 1 ? pi->shape[1] : 1);
        double *fd = g_new (double, cnt), *an = g_new (double, cnt), err;
        size_t used = 0;
        for (size_t k = 0; k < cnt; k++)
          if (numeric_grad (m, ds, keep, n, &m->p[pi->off + k], l0, &fd[used]))
            an[used++] = analytic[pi->off + k];
        kinks += cnt - used;
        total += cnt;
        err = rel_err (an, fd, used);
        if (g_getenv ("DLEN_GRAD_DEBUG")) { double na = 0, mx = 0; for (size_t q = 0; q < used; q++) { na += an[q]*an[q]; if (fabs (an[q]-fd[q]) > mx) mx = fabs (an[q]-fd[q]); } g_printerr ("%s %s %.3g norm %.3g maxdiff %.3g used %zu/%zu\n", dlen_arch_to_string (arch), pi->name, err, sqrt (na), mx, used, cnt); }
        if (err > 2e-2)
          g_error ("%s: tensor %s relative gradient error %.3g", dlen_arch_to_string (arch), pi->name, err);
        g_free (fd);
        g_free (an);
      }
    g_free (analytic);
  }

  /* Embedding rows touched by the batch. */
  {
    uint32_t d = c.emb_dim;
    uint32_t *used = g_memdup2 (m->used, n_used * sizeof (uint32_t));
    float *eg = g_memdup2 (m->emb_g, (size_t) n_used * d * sizeof (float));
    double *fd = g_new (double, (size_t) n_used * d), *an = g_new (double, (size_t) n_used * d);
    size_t cnt = 0;
    for (uint32_t i = 0; i < n_used; i++)
      for (uint32_t k = 0; k < d; k++)
        if (numeric_grad (m, ds, keep, n, &m->emb[(size_t) used[i] * d + k], l0, &fd[cnt]))
          an[cnt++] = eg[i * d + k];
    kinks += (size_t) n_used * d - cnt;
    total += (size_t) n_used * d;
    g_assert_cmpfloat (rel_err (an, fd, cnt), <, 2e-2);
    g_free (used);
    g_free (eg);
    g_free (fd);
    g_free (an);
  }
  /* Only a few elements (under 5 %) may sit on a ReLU kink; more would hide real errors. */
  g_assert_cmpuint (kinks * 20, <, total);
  dlen_model_free (m);
  dlen_dataset_free (ds);
}

/* ---- A batch split in parts (data-parallel training) ------------------------------------- */

/* ||a - b|| / ||b|| over @n floats, with a floor on ||b|| for all-but-zero tensors. */
static double
rel_err_f (const float *a, const float *b, size_t n)
{
  double d = 0, nb = 0;
  for (size_t i = 0; i < n; i++)
    {
      d += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      nb += (double) b[i] * b[i];
    }
  return sqrt (d) / MAX (sqrt (nb), 1e-6);
}

/* The summed gradients of the parts of a batch, each normalised by the whole batch's
 * denominators, equal the whole batch's gradients up to float rounding. */
static void
check_split_gradients (gconstpointer data)
{
  DlenArch arch = (DlenArch) GPOINTER_TO_INT (data);
  DlenSchema s = small_schema ();
  DlenModelConfig c = small_config (arch);
  const guint n = 48, cut = 19;
  DlenDataset *ds = random_dataset (&s, n, 5);
  uint8_t keep[48];
  size_t idx[48];
  DlenBatchNorm norm;
  DlenModel *m, *r;
  uint32_t n_used = 0, n_used0 = 0, n_used1 = 0, d;
  float *g_whole, *eg_whole;
  uint32_t *used_whole;
  double loss, loss0, loss1;

  d = c.emb_dim;
  m = dlen_model_new (&s, &c);
  g_assert_nonnull (m);
  g_assert_cmpint (_dlen_model_reserve (m, n), ==, DLEN_STATUS_OK);
  for (guint b = 0; b < n; b++)
    {
      keep[b] = b % 3 != 0;     /* hide some weak labels: the denominators then differ per target */
      idx[b] = b;
    }

  _dlen_model_gather (m, ds, idx, n, keep);
  _dlen_model_forward (m, n);
  loss = _dlen_model_loss_backward (m, n, 1, &n_used, NULL);
  g_whole = g_memdup2 (m->g, m->n_p * sizeof (float));
  used_whole = g_memdup2 (m->used, n_used * sizeof (uint32_t));
  eg_whole = g_memdup2 (m->emb_g, (size_t) n_used * d * sizeof (float));

  r = _dlen_model_replica_new (m, n - cut);
  g_assert_nonnull (r);
  _dlen_model_batch_norm (m, ds, idx, n, keep, &norm);
  m->batch_norm = r->batch_norm = &norm;
  _dlen_model_gather (m, ds, idx, cut, keep);
  _dlen_model_forward (m, cut);
  loss0 = _dlen_model_loss_backward (m, cut, 1, &n_used0, NULL);
  _dlen_model_gather (r, ds, idx + cut, n - cut, keep + cut);
  _dlen_model_forward (r, n - cut);
  loss1 = _dlen_model_loss_backward (r, n - cut, 1, &n_used1, NULL);
  m->batch_norm = NULL;
  for (size_t k = 0; k < m->n_p; k++)
    m->g[k] += r->g[k];
  _dlen_model_add_sparse (m, &n_used0, r, n_used1);

  g_assert_cmpfloat (fabs (loss0 + loss1 - loss), <, 1e-9 * fabs (loss) + 1e-12);
  for (uint32_t i = 0; i < m->n_info; i++)
    {
      const DlenParamInfo *pi = &m->info[i];
      size_t cnt = (size_t) pi->shape[0] * (pi->ndim > 1 ? pi->shape[1] : 1);
      double err = rel_err_f (m->g + pi->off, g_whole + pi->off, cnt);
      if (err > 1e-5)
        g_error ("%s: tensor %s split-batch gradient differs by %.3g", dlen_arch_to_string (arch), pi->name, err);
    }
  g_assert_cmpuint (n_used0, ==, n_used);
  for (uint32_t i = 0; i < n_used; i++)
    {
      uint32_t j = 0;
      while (j < n_used0 && m->used[j] != used_whole[i])
        j++;
      g_assert_cmpuint (j, <, n_used0);
      g_assert_cmpfloat (rel_err_f (m->emb_g + (size_t) j * d, eg_whole + (size_t) i * d, d), <, 1e-5);
    }
  /* The slots are left clear for the next step. */
  for (size_t k = 0; k < m->n_emb_rows; k++)
    g_assert_cmpint (m->slot[k], ==, -1);

  g_free (g_whole);
  g_free (used_whole);
  g_free (eg_whole);
  _dlen_model_replica_free (r);
  dlen_model_free (m);
  dlen_dataset_free (ds);
}

/* ---- Scoring ------------------------------------------------------------------------------ */

/* Predictions through the training code's forward pass, in batches of 2048 rows: the path
 * dlen_model_predict took before it had a scorer of its own. */
static void
reference_predict (DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n, float *out)
{
  uint32_t w = m->schema.n_targets + 1;
  size_t *local = g_new (size_t, 2048);
  g_assert_cmpint (_dlen_model_reserve (m, 2048), ==, DLEN_STATUS_OK);
  for (size_t i = 0; i < n; i += 2048)
    {
      uint32_t B = (uint32_t) MIN (n - i, 2048);
      for (uint32_t b = 0; b < B; b++)
        local[b] = rows ? rows[i + b] : i + b;
      _dlen_model_gather (m, ds, local, B, NULL);
      _dlen_model_forward (m, B);
      _dlen_model_outputs (m, B, out + i * w);
    }
  g_free (local);
}

static void
check_scoring_threads (gconstpointer data)
{
  int variant = GPOINTER_TO_INT (data);
  DlenArch arch = (DlenArch) (variant % 4);
  DlenSchema s = small_schema ();
  DlenModelConfig c = dlen_model_config_default (arch);
  const guint n = 5000;
  DlenDataset *ds = random_dataset (&s, n, 11);
  size_t n_sub = 0, *sub = g_new (size_t, n);
  uint32_t w = s.n_targets + 1;
  float *ref = g_new (float, (size_t) n * w), *got = g_new (float, (size_t) n * w);
  int blas_threads = openblas_get_num_threads ();
  DlenModel *m;

  /* Products big enough that OpenBLAS takes its regular kernels in both paths, as for the
   * KuaiRand model; at a few thousand multiply-adds its small-matrix kernels may round the
   * separate gate products differently from the scorer's single one. */
  c.emb_dim = 128;
  if (variant >= 4)
    {
      /* Two levels of two-layer experts: the paths the fused first layer does not cover. */
      c.expert_layers = 2;
      c.expert_units[0] = 24;
      c.expert_units[1] = 12;
      c.tower_layers = 2;
      c.tower_units[1] = 7;
      c.levels = 2;
    }
  m = dlen_model_new (&s, &c);
  g_assert_nonnull (m);
  for (uint32_t j = 0; j < s.n_num; j++)
    {
      m->norm_mean[j] = 0.3f * (j + 1);
      m->norm_std[j] = 1.7f;
    }
  for (size_t i = n; i-- > 0;)
    if (i % 3 != 1)
      sub[n_sub++] = i;            /* a subset out of order */

  g_assert_cmpuint (dlen_model_get_threads (m), ==, 1);
  for (int pass = 0; pass < 2; pass++)
    {
      const size_t *rows = pass == 0 ? NULL : sub;
      size_t cnt = pass == 0 ? n : n_sub;
      openblas_set_num_threads (1);
      reference_predict (m, ds, rows, cnt, ref);
      /* Neither the scoring threads nor the caller's OpenBLAS setting may change a bit. */
      for (int blas = 1; blas <= 2; blas++)
        for (uint32_t threads = 1; threads <= 3; threads++)
          {
            memset (got, 0xff, (size_t) n * w * sizeof (float));
            openblas_set_num_threads (blas);
            g_assert_cmpint (dlen_model_set_threads (m, threads), ==, DLEN_STATUS_OK);
            g_assert_cmpint (dlen_model_predict (m, ds, rows, cnt, got), ==, DLEN_STATUS_OK);
            if (memcmp (got, ref, cnt * w * sizeof (float)) != 0)
              g_error ("%s, %u thread(s), OpenBLAS at %d: predictions differ from the training forward pass",
                       dlen_arch_to_string (arch), threads, blas);
            g_assert_cmpint (openblas_get_num_threads (), ==, blas);
          }
    }
  openblas_set_num_threads (blas_threads);
  g_assert_cmpint (dlen_model_set_threads (m, 0), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (dlen_model_set_threads (m, 257), ==, DLEN_STATUS_INVALID);

  /* The scorer packs the weights afresh on every call: a changed weight shows at once. */
  m->p[m->levels[0].experts[0].b[0]] += 0.5f;
  openblas_set_num_threads (1);
  reference_predict (m, ds, NULL, n, ref);
  g_assert_cmpint (dlen_model_predict (m, ds, NULL, n, got), ==, DLEN_STATUS_OK);
  g_assert_true (memcmp (got, ref, (size_t) n * w * sizeof (float)) == 0);
  openblas_set_num_threads (blas_threads);

  dlen_model_free (m);
  dlen_dataset_free (ds);
  g_free (sub);
  g_free (ref);
  g_free (got);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dlen/engine/heads/gradients", test_head_gradients);
  g_test_add_func ("/dlen/engine/heads/polarity-order", test_head_polarity_order);
  g_test_add_func ("/dlen/engine/heads/extreme-logits", test_head_extreme_logits);
  g_test_add_data_func ("/dlen/engine/model/gradients/shared-bottom", GINT_TO_POINTER (DLEN_ARCH_SHARED_BOTTOM), check_model_gradients);
  g_test_add_data_func ("/dlen/engine/model/gradients/mmoe", GINT_TO_POINTER (DLEN_ARCH_MMOE), check_model_gradients);
  g_test_add_data_func ("/dlen/engine/model/gradients/ple", GINT_TO_POINTER (DLEN_ARCH_PLE), check_model_gradients);
  g_test_add_data_func ("/dlen/engine/model/gradients/dlen", GINT_TO_POINTER (DLEN_ARCH_DLEN), check_model_gradients);
  g_test_add_data_func ("/dlen/engine/model/split-gradients/shared-bottom", GINT_TO_POINTER (DLEN_ARCH_SHARED_BOTTOM), check_split_gradients);
  g_test_add_data_func ("/dlen/engine/model/split-gradients/mmoe", GINT_TO_POINTER (DLEN_ARCH_MMOE), check_split_gradients);
  g_test_add_data_func ("/dlen/engine/model/split-gradients/ple", GINT_TO_POINTER (DLEN_ARCH_PLE), check_split_gradients);
  g_test_add_data_func ("/dlen/engine/model/split-gradients/dlen", GINT_TO_POINTER (DLEN_ARCH_DLEN), check_split_gradients);
  g_test_add_data_func ("/dlen/engine/model/scoring/shared-bottom", GINT_TO_POINTER (DLEN_ARCH_SHARED_BOTTOM), check_scoring_threads);
  g_test_add_data_func ("/dlen/engine/model/scoring/mmoe", GINT_TO_POINTER (DLEN_ARCH_MMOE), check_scoring_threads);
  g_test_add_data_func ("/dlen/engine/model/scoring/ple", GINT_TO_POINTER (DLEN_ARCH_PLE), check_scoring_threads);
  g_test_add_data_func ("/dlen/engine/model/scoring/dlen", GINT_TO_POINTER (DLEN_ARCH_DLEN), check_scoring_threads);
  g_test_add_data_func ("/dlen/engine/model/scoring/ple-deep", GINT_TO_POINTER (4 + DLEN_ARCH_PLE), check_scoring_threads);
  g_test_add_data_func ("/dlen/engine/model/scoring/dlen-deep", GINT_TO_POINTER (4 + DLEN_ARCH_DLEN), check_scoring_threads);
  return g_test_run ();
}
