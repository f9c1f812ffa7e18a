/* dlen-train.c: the training loop (Adam, lazy sparse embedding updates, best-epoch keeping,
 * cancel and NaN handling), evaluation and batched prediction. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#include <pmmintrin.h>
#endif
#include "dlen/dlen-metrics.h"
#include "dlen-model-private.h"
#include "dlen-private.h"

#define EVAL_BATCH 2048

DlenTrainParams
dlen_train_params_default (void)
{
  DlenTrainParams p;
  memset (&p, 0, sizeof p);
  p.epochs = 3;
  p.batch_size = 128;
  p.learning_rate = 3e-3f;
  p.beta1 = 0.9f;
  p.beta2 = 0.999f;
  p.eps = 1e-8f;
  p.l2 = 1e-6f;
  p.weak_label_fraction = 1.0;
  p.seed = 1;
  p.threads = 1;
  return p;
}

static double
now_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
set_threads (uint32_t threads)
{
  openblas_set_num_threads (threads ? (int) threads : 1);
}

/* Subnormal floats (tiny Adam moments, vanishing activations) cost a hundred cycles each on x86;
 * flushing them to zero changes nothing a model can notice. Restored when training ends. */
static unsigned int
enter_flush_to_zero (void)
{
#if defined(__SSE2__)
  unsigned int saved = _mm_getcsr ();
  _mm_setcsr (saved | 0x8040);   /* FTZ | DAZ */
  return saved;
#else
  return 0;
#endif
}

static void
leave_flush_to_zero (unsigned int saved)
{
#if defined(__SSE2__)
  _mm_setcsr (saved);
#else
  (void) saved;
#endif
}

static DlenStatus
check_rows (const DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n)
{
  size_t total;
  if (!m || !ds)
    return _dlen_fail (DLEN_STATUS_INVALID, "model or dataset is NULL");
  if (memcmp (dlen_dataset_schema (ds), &m->schema, sizeof (DlenSchema)) != 0)
    return _dlen_fail (DLEN_STATUS_INVALID, "the dataset's schema differs from the model's");
  total = dlen_dataset_n_rows (ds);
  if (rows)
    for (size_t i = 0; i < n; i++)
      if (rows[i] >= total)
        return _dlen_fail (DLEN_STATUS_INVALID, "row index %zu is out of range (%zu rows)", rows[i], total);
  return DLEN_STATUS_OK;
}

/* Standardisation statistics of the numeric fields over @rows, in double. */
static void
fit_normaliser (DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n)
{
  const DlenSchema *s = &m->schema;
  const float *num = _dlen_dataset_num (ds);
  for (uint32_t j = 0; j < s->n_num; j++)
    {
      double sum = 0, sq = 0, mean, var;
      size_t cnt = 0;
      for (size_t i = 0; i < n; i++)
        {
          double v = num[rows[i] * s->n_num + j];
          if (isnan (v))
            continue;
          if (s->num[j].log1p)
            v = log1p (v > 0 ? v : 0);
          sum += v;
          sq += v * v;
          cnt++;
        }
      mean = cnt ? sum / cnt : 0.0;
      var = cnt ? sq / cnt - mean * mean : 1.0;
      m->norm_mean[j] = (float) mean;
      m->norm_std[j] = var > 1e-12 ? (float) sqrt (var) : 1.0f;
    }
}

__attribute__ ((target_clones ("avx2", "default")))
static void
adam_dense (DlenModel *m, const DlenTrainParams *tp, double bc1, double bc2)
{
  float lr = tp->learning_rate, b1 = tp->beta1, b2 = tp->beta2, eps = tp->eps;
  float step = (float) (lr * sqrt (bc2) / bc1);
  for (uint32_t i = 0; i < m->n_info; i++)
    {
      const DlenParamInfo *pi = &m->info[i];
      size_t n = (size_t) pi->shape[0] * (size_t) (pi->ndim > 1 ? pi->shape[1] : 1);
      float *p = m->p + pi->off, *g = m->g + pi->off, *mm = m->m + pi->off, *vv = m->v + pi->off;
      float l2 = pi->decay ? tp->l2 : 0.0f;
      for (size_t k = 0; k < n; k++)
        {
          float gk = g[k] + l2 * p[k];
          mm[k] = b1 * mm[k] + (1.0f - b1) * gk;
          vv[k] = b2 * vv[k] + (1.0f - b2) * gk * gk;
          p[k] -= step * mm[k] / (sqrtf (vv[k]) + eps * (float) sqrt (bc2));
        }
    }
}

/* Lazy (SparseAdam-style) update of the embedding rows touched in this step only. */
static void
adam_sparse (DlenModel *m, const DlenTrainParams *tp, uint32_t n_used, double bc1, double bc2)
{
  uint32_t d = m->config.emb_dim;
  float b1 = tp->beta1, b2 = tp->beta2;
  float step = (float) (tp->learning_rate * sqrt (bc2) / bc1);
  float eps = tp->eps * (float) sqrt (bc2);
  for (uint32_t i = 0; i < n_used; i++)
    {
      size_t off = (size_t) m->used[i] * d;
      const float *g = m->emb_g + (size_t) i * d;
      float *p = m->emb + off, *mm = m->emb_m + off, *vv = m->emb_v + off;
      for (uint32_t k = 0; k < d; k++)
        {
          mm[k] = b1 * mm[k] + (1.0f - b1) * g[k];
          vv[k] = b2 * vv[k] + (1.0f - b2) * g[k] * g[k];
          p[k] -= step * mm[k] / (sqrtf (vv[k]) + eps);
        }
    }
}

/* No NaN or infinity in @x: an all-ones exponent marks both. Independent lanes, so it
 * vectorises (a running sum would be one long dependency chain). */
__attribute__ ((target_clones ("avx2", "default")))
static int
all_finite (const float *x, size_t n)
{
  const uint32_t *bits = (const uint32_t *) x;
  uint32_t bad = 0;
  for (size_t i = 0; i < n; i++)
    bad |= (bits[i] & 0x7f800000u) == 0x7f800000u;
  return !bad;
}

typedef struct {
  float *p, *emb;
} Snapshot;

static int
snapshot_take (const DlenModel *m, Snapshot *s)
{
  size_t ne = m->n_emb_rows * m->config.emb_dim;
  if (!s->p)
    {
      s->p = malloc ((m->n_p + 1) * sizeof (float));
      s->emb = malloc ((ne + 1) * sizeof (float));
      if (!s->p || !s->emb)
        return 0;
    }
  memcpy (s->p, m->p, m->n_p * sizeof (float));
  memcpy (s->emb, m->emb, ne * sizeof (float));
  return 1;
}

static void
snapshot_restore (DlenModel *m, const Snapshot *s)
{
  if (!s->p)
    return;
  memcpy (m->p, s->p, m->n_p * sizeof (float));
  memcpy (m->emb, s->emb, m->n_emb_rows * m->config.emb_dim * sizeof (float));
}

static void
snapshot_free (Snapshot *s)
{
  free (s->p);
  free (s->emb);
}

/* Predictions for @rows into @out (layout of dlen_model_predict), on the model's threads. */
static DlenStatus
predict_rows (DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n, float *out)
{
  return _dlen_model_score (m, ds, rows, n, out);
}

static DlenStatus
metrics_of (DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n, DlenMetrics *mt)
{
  const DlenSchema *s = &m->schema;
  uint32_t nt = s->n_targets, w = nt + 1;
  const float *labels = dlen_dataset_labels (ds);
  const uint64_t *groups = dlen_dataset_groups (ds);
  float *pred = malloc ((n * w + 1) * sizeof (float));
  float *sc = malloc ((n + 1) * sizeof (float));
  float *lb = malloc ((n + 1) * sizeof (float));
  uint64_t *gr = malloc ((n + 1) * sizeof (uint64_t));
  DlenStatus st;
  memset (mt, 0, sizeof *mt);
  mt->n_targets = nt;
  mt->n_rows = n;
  mt->emotion_auc = NAN;
  if (!pred || !sc || !lb || !gr)
    {
      st = _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate evaluation buffers for %zu rows", n);
      goto out;
    }
  if ((st = predict_rows (m, ds, rows, n, pred)) != DLEN_STATUS_OK)
    goto out;
  for (size_t i = 0; i < n; i++)
    gr[i] = groups[rows ? rows[i] : i];
  for (uint32_t t = 0; t < nt; t++)
    {
      DlenTargetMetrics *tm = &mt->target[t];
      double se = 0;
      tm->auc = tm->gauc = tm->logloss = tm->rmse = NAN;
      tm->n = 0;
      for (size_t i = 0; i < n; i++)
        {
          size_t r = rows ? rows[i] : i;
          sc[i] = pred[i * w + t];
          lb[i] = labels[r * nt + t];
          if (!isnan (lb[i]))
            {
              tm->n++;
              if (s->targets[t].kind == DLEN_TARGET_DURATION)
                {
                  double e = log1p ((double) sc[i]) - log1p ((double) lb[i]);
                  se += e * e;
                }
            }
        }
      if (s->targets[t].kind == DLEN_TARGET_BINARY)
        {
          tm->auc = dlen_auc (sc, lb, n);
          tm->gauc = dlen_gauc (sc, lb, gr, n);
          tm->logloss = dlen_logloss (sc, lb, n);
          dlen_calibration (sc, lb, n, &tm->mean_predicted, &tm->mean_observed);
        }
      else if (tm->n)
        tm->rmse = sqrt (se / tm->n);
    }
  if (m->emotion_task >= 0)
    {
      for (size_t i = 0; i < n; i++)
        {
          int wl = dlen_dataset_weak_label (ds, rows ? rows[i] : i);
          sc[i] = pred[i * w + nt];
          lb[i] = wl < 0 ? NAN : (float) wl;
        }
      mt->emotion_auc = dlen_auc (sc, lb, n);
    }
out:
  free (pred);
  free (sc);
  free (lb);
  free (gr);
  return st;
}

DlenStatus
dlen_model_evaluate (DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n, DlenMetrics *mt)
{
  DlenStatus st;
  if (!mt)
    return _dlen_fail (DLEN_STATUS_INVALID, "metrics is NULL");
  if ((st = check_rows (m, ds, rows, n)) != DLEN_STATUS_OK)
    return st;
  if (!rows)
    n = dlen_dataset_n_rows (ds);
  return metrics_of (m, ds, rows, n, mt);
}

DlenStatus
dlen_model_predict (DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n, float *out)
{
  DlenStatus st;
  if (!out)
    return _dlen_fail (DLEN_STATUS_INVALID, "output buffer is NULL");
  if ((st = check_rows (m, ds, rows, n)) != DLEN_STATUS_OK)
    return st;
  if (!rows)
    n = dlen_dataset_n_rows (ds);
  return predict_rows (m, ds, rows, n, out);
}

static double
selection_score (const DlenModel *m, const DlenMetrics *mt)
{
  double sum = 0;
  int cnt = 0;
  for (uint32_t t = 0; t < m->schema.n_targets; t++)
    if (m->schema.targets[t].kind == DLEN_TARGET_BINARY && !isnan (mt->target[t].auc))
      {
        sum += mt->target[t].auc;
        cnt++;
      }
  return cnt ? sum / cnt : -INFINITY;
}

DlenStatus
dlen_model_train (DlenModel *m, const DlenDataset *ds, const size_t *train, size_t n_train,
                  const size_t *valid, size_t n_valid, const DlenTrainParams *tp)
{
  DlenStatus st;
  DlenRng rng;
  size_t *order = NULL;
  uint8_t *keep_all = NULL, *keep = NULL;
  Snapshot best = { 0 };
  double best_score = -INFINITY;
  int have_best = 0;
  uint32_t B;
  uint64_t steps;
  DlenProgress pr;
  double train_secs = 0, t_steps;
  unsigned int mxcsr;
  uint64_t samples = 0;

  if (!tp || !train || n_train == 0)
    return _dlen_fail (DLEN_STATUS_DATA, "there are no training rows");
  if ((st = check_rows (m, ds, train, n_train)) != DLEN_STATUS_OK
      || (st = check_rows (m, ds, valid, valid ? n_valid : 0)) != DLEN_STATUS_OK)
    return st;
  if (tp->epochs < 1 || tp->batch_size < 1 || tp->batch_size > 65536
      || !(tp->learning_rate > 0) || !(tp->beta1 >= 0 && tp->beta1 < 1) || !(tp->beta2 >= 0 && tp->beta2 < 1)
      || !(tp->eps > 0) || !(tp->l2 >= 0) || !(tp->weak_label_fraction >= 0 && tp->weak_label_fraction <= 1)
      || tp->threads < 1 || tp->threads > 256)
    return _dlen_fail (DLEN_STATUS_INVALID,
                       "invalid training parameters (epochs >= 1, batch 1..65536, learning rate > 0, "
                       "betas in [0, 1), eps > 0, l2 >= 0, weak-label fraction in [0, 1], threads 1..256)");
  B = tp->batch_size;
  set_threads (tp->threads);
  if ((st = _dlen_model_reserve (m, B > EVAL_BATCH ? B : EVAL_BATCH)) != DLEN_STATUS_OK)
    return st;
  mxcsr = enter_flush_to_zero ();
  order = malloc (n_train * sizeof (size_t));
  keep_all = malloc (dlen_dataset_n_rows (ds) + 1);
  keep = malloc (B);
  if (!order || !keep_all || !keep)
    {
      st = _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the training state");
      goto out;
    }
  fit_normaliser (m, ds, train, n_train);
  _dlen_rng_seed (&rng, tp->seed);
  /* Weak-source labels survive on a random fraction of the training rows only. */
  memset (keep_all, 1, dlen_dataset_n_rows (ds));
  for (size_t i = 0; i < n_train; i++)
    keep_all[train[i]] = _dlen_rng_uniform (&rng) < tp->weak_label_fraction;
  memcpy (order, train, n_train * sizeof (size_t));
  steps = (n_train + B - 1) / B;
  memset (&pr, 0, sizeof pr);
  pr.epochs = tp->epochs;
  pr.steps = steps;

  for (uint32_t epoch = 1; epoch <= tp->epochs; epoch++)
    {
      double loss_sum = 0;
      for (size_t i = n_train - 1; i > 0; i--)
        {
          size_t j = (size_t) (_dlen_rng_next (&rng) % (i + 1)), tmp = order[i];
          order[i] = order[j];
          order[j] = tmp;
        }
      pr.epoch = epoch;
      pr.epoch_done = 0;
      pr.best = 0;
      t_steps = now_seconds ();
      for (uint64_t s = 0; s < steps; s++)
        {
          size_t first = s * B;
          uint32_t nb = (uint32_t) (n_train - first < B ? n_train - first : B), n_used = 0;
          double loss, bc1, bc2;
          if (tp->abort && tp->abort (tp->user_data))
            {
              st = _dlen_fail (DLEN_STATUS_CANCELLED, "training cancelled in epoch %u", epoch);
              goto out;
            }
          for (uint32_t b = 0; b < nb; b++)
            keep[b] = keep_all[order[first + b]];
          _dlen_model_gather (m, ds, order + first, nb, keep);
          _dlen_model_forward (m, nb);
          loss = _dlen_model_loss_backward (m, nb, 1, &n_used, NULL);
          /* Check before the update so the weights stay the last good ones. */
          if (!isfinite (loss) || !all_finite (m->g, m->n_p)
              || !all_finite (m->emb_g, (size_t) n_used * m->config.emb_dim))
            {
              st = _dlen_fail (DLEN_STATUS_NONFINITE,
                               "the loss or its gradient became %s in epoch %u, step %llu; "
                               "training stopped with the last good weights",
                               isnan (loss) ? "NaN" : "infinite", epoch, (unsigned long long) s + 1);
              goto out;
            }
          m->adam_t++;
          bc1 = 1.0 - pow (tp->beta1, (double) m->adam_t);
          bc2 = 1.0 - pow (tp->beta2, (double) m->adam_t);
          adam_dense (m, tp, bc1, bc2);
          adam_sparse (m, tp, n_used, bc1, bc2);
          loss_sum += loss * nb;
          samples += nb;
          if (tp->progress && tp->progress_every && (s + 1) % tp->progress_every == 0 && s + 1 < steps)
            {
              pr.step = s + 1;
              pr.train_loss = loss_sum / (double) (first + nb);
              pr.samples_per_second = samples / (train_secs + now_seconds () - t_steps);
              tp->progress (&pr, tp->user_data);
            }
        }
      /* Throughput counts the optimisation steps only, not the validation pass. */
      train_secs += now_seconds () - t_steps;
      pr.step = steps;
      pr.train_loss = loss_sum / (double) n_train;
      pr.samples_per_second = samples / train_secs;
      pr.epoch_done = 1;
      pr.emotion_auc = NAN;
      for (uint32_t t = 0; t < DLEN_MAX_TARGETS; t++)
        pr.valid_auc[t] = NAN;
      if (valid && n_valid)
        {
          DlenMetrics mt;
          if ((st = metrics_of (m, ds, valid, n_valid, &mt)) != DLEN_STATUS_OK)
            goto out;
          for (uint32_t t = 0; t < m->schema.n_targets; t++)
            pr.valid_auc[t] = mt.target[t].auc;
          pr.emotion_auc = mt.emotion_auc;
          pr.valid_score = selection_score (m, &mt);
        }
      else
        pr.valid_score = (double) epoch;   /* without validation the last epoch is kept */
      if (!have_best || pr.valid_score > best_score)
        {
          if (!snapshot_take (m, &best))
            {
              st = _dlen_fail (DLEN_STATUS_NOMEM, "cannot keep the best model");
              goto out;
            }
          have_best = 1;
          best_score = pr.valid_score;
          pr.best = 1;
        }
      if (tp->progress)
        tp->progress (&pr, tp->user_data);
    }
  st = DLEN_STATUS_OK;

out:
  /* Success, cancel and NaN all leave the best completed epoch in the model when there is one;
   * otherwise the weights of the last good step stay. */
  if (have_best)
    snapshot_restore (m, &best);
  leave_flush_to_zero (mxcsr);
  snapshot_free (&best);
  free (order);
  free (keep_all);
  free (keep);
  return st;
}
