/* dlen-train.c: the training loop (Adam, lazy sparse embedding updates, best-epoch keeping,
 * cancel and NaN handling), evaluation and batched prediction. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#include <pmmintrin.h>
#endif
#include "dlen-blas.h"
#include "dlen/dlen-metrics.h"
#include "dlen-model-private.h"
#include "dlen-private.h"


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
  _dlen_blas.set_num_threads (threads ? (int) threads : 1);
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

/* Standardisation statistics of the numeric fields, accumulated in double over training rows. */
typedef struct {
  double sum[DLEN_MAX_NUM_FIELDS], sq[DLEN_MAX_NUM_FIELDS];
  uint64_t cnt[DLEN_MAX_NUM_FIELDS];
} NormSums;

static void
norm_add (NormSums *ns, const DlenSchema *s, const float *num)
{
  for (uint32_t j = 0; j < s->n_num; j++)
    {
      double v = num[j];
      if (isnan (v))
        continue;
      if (s->num[j].log1p)
        v = log1p (v > 0 ? v : 0);
      ns->sum[j] += v;
      ns->sq[j] += v * v;
      ns->cnt[j]++;
    }
}

static void
norm_finish (DlenModel *m, const NormSums *ns)
{
  for (uint32_t j = 0; j < m->schema.n_num; j++)
    {
      double mean = ns->cnt[j] ? ns->sum[j] / ns->cnt[j] : 0.0;
      double var = ns->cnt[j] ? ns->sq[j] / ns->cnt[j] - mean * mean : 1.0;
      m->norm_mean[j] = (float) mean;
      m->norm_std[j] = var > 1e-12 ? (float) sqrt (var) : 1.0f;
    }
}

/* The dense step on parameters [lo, hi) (the data-parallel steps split it by slices). */
__attribute__ ((target_clones ("avx2", "default")))
static void
adam_dense_range (DlenModel *m, const DlenTrainParams *tp, double bc1, double bc2, size_t lo, size_t hi)
{
  float lr = tp->learning_rate, b1 = tp->beta1, b2 = tp->beta2, eps = tp->eps;
  float step = (float) (lr * sqrt (bc2) / bc1);
  for (uint32_t i = 0; i < m->n_info; i++)
    {
      const DlenParamInfo *pi = &m->info[i];
      size_t n = (size_t) pi->shape[0] * (size_t) (pi->ndim > 1 ? pi->shape[1] : 1);
      size_t a = pi->off > lo ? pi->off : lo, z = pi->off + n < hi ? pi->off + n : hi;
      float *p, *g, *mm, *vv;
      float l2 = pi->decay ? tp->l2 : 0.0f;
      if (a >= z)
        continue;
      p = m->p + a;
      g = m->g + a;
      mm = m->m + a;
      vv = m->v + a;
      n = z - a;
      for (size_t k = 0; k < n; k++)
        {
          float gk = g[k] + l2 * p[k];
          mm[k] = b1 * mm[k] + (1.0f - b1) * gk;
          vv[k] = b2 * vv[k] + (1.0f - b2) * gk * gk;
          p[k] -= step * mm[k] / (sqrtf (vv[k]) + eps * (float) sqrt (bc2));
        }
    }
}

static void
adam_dense (DlenModel *m, const DlenTrainParams *tp, double bc1, double bc2)
{
  adam_dense_range (m, tp, bc1, bc2, 0, m->n_p);
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

/* ---- Evaluation: predictions of (a spread sample of) a part's rows, then metrics ---------- */

typedef struct {
  uint32_t nt, w;
  uint64_t n_expected, cap;   /* take every row unless cap > 0 and the part is larger */
  uint64_t seen;
  size_t n, alloc;
  float *pred, *labels, *truth, *sc, *lb;
  uint64_t *groups;
  int8_t *weak;
  int any_truth;
} EvalAcc;

static void
acc_init (EvalAcc *a, const DlenModel *m, uint64_t n_expected, uint64_t cap)
{
  memset (a, 0, sizeof *a);
  a->nt = m->schema.n_targets;
  a->w = a->nt + 1;
  a->n_expected = n_expected;
  a->cap = cap;
}

static void
acc_free (EvalAcc *a)
{
  free (a->pred);
  free (a->labels);
  free (a->truth);
  free (a->groups);
  free (a->weak);
  free (a->sc);
  free (a->lb);
}

/* Row number @i of the part is kept when the cap's stride crosses an integer there: exactly
 * @cap rows evenly spread over n_expected rows. */
static int
acc_takes (const EvalAcc *a, uint64_t i)
{
  unsigned __int128 c = a->cap, n = a->n_expected;
  if (a->cap == 0 || a->cap >= a->n_expected)
    return 1;
  return (uint64_t) (i * c / n) != (uint64_t) ((i + 1) * c / n);
}

static DlenStatus
acc_reserve (EvalAcc *a, size_t more)
{
  size_t need = a->n + more, cap;
  void *p[5];
  if (need <= a->alloc)
    return DLEN_STATUS_OK;
  /* The rows the sample will keep, known in advance: allocated once, not doubled into. */
  cap = a->alloc ? a->alloc : (size_t) (a->cap && a->cap < a->n_expected ? a->cap : a->n_expected);
  cap = cap < 4096 ? 4096 : cap;
  while (cap < need)
    cap *= 2;
  p[0] = realloc (a->pred, cap * a->w * sizeof (float));
  if (p[0])
    a->pred = p[0];
  p[1] = realloc (a->labels, cap * a->nt * sizeof (float));
  if (p[1])
    a->labels = p[1];
  p[2] = realloc (a->truth, cap * sizeof (float));
  if (p[2])
    a->truth = p[2];
  p[3] = realloc (a->groups, cap * sizeof (uint64_t));
  if (p[3])
    a->groups = p[3];
  p[4] = realloc (a->weak, cap);
  if (p[4])
    a->weak = p[4];
  if (!p[0] || !p[1] || !p[2] || !p[3] || !p[4])
    return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate evaluation buffers for %zu rows", cap);
  a->alloc = cap;
  return DLEN_STATUS_OK;
}

/* Predicts and keeps rows @rows of @ds that the sample takes (all of them are the part's). */
static DlenStatus
acc_add (EvalAcc *a, DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n)
{
  const float *labels = dlen_dataset_labels (ds), *truth = dlen_dataset_truth (ds);
  const uint64_t *groups = dlen_dataset_groups (ds);
  size_t *take = malloc ((n + 1) * sizeof (size_t)), k = 0;
  DlenStatus st;
  if (!take)
    return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate evaluation buffers for %zu rows", n);
  for (size_t i = 0; i < n; i++)
    if (acc_takes (a, a->seen++))
      take[k++] = rows ? rows[i] : i;
  if (k == 0 || (st = acc_reserve (a, k)) != DLEN_STATUS_OK)
    {
      free (take);
      return k ? st : DLEN_STATUS_OK;
    }
  if ((st = predict_rows (m, ds, take, k, a->pred + a->n * a->w)) != DLEN_STATUS_OK)
    {
      free (take);
      return st;
    }
  for (size_t i = 0; i < k; i++)
    {
      size_t r = take[i], j = a->n + i;
      memcpy (a->labels + j * a->nt, labels + r * a->nt, a->nt * sizeof (float));
      a->groups[j] = groups[r];
      a->weak[j] = (int8_t) dlen_dataset_weak_label (ds, r);
      a->truth[j] = truth ? truth[r] : NAN;
      a->any_truth |= truth && !isnan (truth[r]);
    }
  a->n += k;
  free (take);
  return DLEN_STATUS_OK;
}

static DlenStatus
acc_metrics (EvalAcc *a, const DlenModel *m, DlenMetrics *mt)
{
  const DlenSchema *s = &m->schema;
  uint32_t nt = a->nt, w = a->w;
  size_t n = a->n;
  memset (mt, 0, sizeof *mt);
  mt->n_targets = nt;
  mt->n_rows = n;
  mt->emotion_auc = mt->true_emotion_auc = NAN;
  a->sc = malloc ((n + 1) * sizeof (float));
  a->lb = malloc ((n + 1) * sizeof (float));
  if (!a->sc || !a->lb)
    return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate evaluation buffers for %zu rows", n);
  for (uint32_t t = 0; t < nt; t++)
    {
      DlenTargetMetrics *tm = &mt->target[t];
      double se = 0;
      tm->auc = tm->gauc = tm->logloss = tm->rmse = NAN;
      tm->n = 0;
      for (size_t i = 0; i < n; i++)
        {
          a->sc[i] = a->pred[i * w + t];
          a->lb[i] = a->labels[i * nt + t];
          if (!isnan (a->lb[i]))
            {
              tm->n++;
              if (s->targets[t].kind == DLEN_TARGET_DURATION)
                {
                  double e = log1p ((double) a->sc[i]) - log1p ((double) a->lb[i]);
                  se += e * e;
                }
            }
        }
      if (s->targets[t].kind == DLEN_TARGET_BINARY)
        {
          tm->auc = dlen_auc (a->sc, a->lb, n);
          tm->gauc = dlen_gauc (a->sc, a->lb, a->groups, n);
          tm->logloss = dlen_logloss (a->sc, a->lb, n);
          dlen_calibration (a->sc, a->lb, n, &tm->mean_predicted, &tm->mean_observed);
        }
      else if (tm->n)
        tm->rmse = sqrt (se / tm->n);
    }
  if (m->emotion_task >= 0)
    {
      for (size_t i = 0; i < n; i++)
        {
          a->sc[i] = a->pred[i * w + nt];
          a->lb[i] = a->weak[i] < 0 ? NAN : (float) a->weak[i];
        }
      mt->emotion_auc = dlen_auc (a->sc, a->lb, n);
      if (a->any_truth)
        mt->true_emotion_auc = dlen_auc (a->sc, a->truth, n);
    }
  return DLEN_STATUS_OK;
}

DlenStatus
dlen_model_evaluate (DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n, DlenMetrics *mt)
{
  DlenStatus st;
  EvalAcc a;
  if (!mt)
    return _dlen_fail (DLEN_STATUS_INVALID, "metrics is NULL");
  if ((st = check_rows (m, ds, rows, n)) != DLEN_STATUS_OK)
    return st;
  if (!rows)
    n = dlen_dataset_n_rows (ds);
  acc_init (&a, m, n, 0);
  if ((st = acc_add (&a, m, ds, rows, n)) == DLEN_STATUS_OK)
    st = acc_metrics (&a, m, mt);
  acc_free (&a);
  return st;
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

/* ---- Reading chunks ----------------------------------------------------------------------- */

typedef struct {
  const DlenSource *src;
  DlenDataset *ds;
  uint8_t *parts;
  size_t *idx;               /* rows of one part of the chunk */
} ChunkReader;

static DlenStatus
reader_init (ChunkReader *r, const DlenSource *src, const DlenSchema *schema)
{
  memset (r, 0, sizeof *r);
  r->src = src;
  if (!src || !src->read)
    return _dlen_fail (DLEN_STATUS_INVALID, "the source is NULL or cannot read");
  r->ds = dlen_dataset_new (schema);
  r->parts = malloc (DLEN_CHUNK_ROWS);
  r->idx = malloc (DLEN_CHUNK_ROWS * sizeof (size_t));
  if (!r->ds || !r->parts || !r->idx)
    return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate a chunk of %d rows", DLEN_CHUNK_ROWS);
  return DLEN_STATUS_OK;
}

static void
reader_clear (ChunkReader *r)
{
  dlen_dataset_free (r->ds);
  free (r->parts);
  free (r->idx);
}

/* Reads chunk @c and lists its rows of @part in r->idx; returns their count in *n. */
static DlenStatus
reader_read (ChunkReader *r, size_t c, DlenPart part, size_t *n)
{
  DlenStatus st;
  size_t rows, k = 0;
  if ((st = _dlen_source_read (r->src, c, r->ds, r->parts)) != DLEN_STATUS_OK)
    return st;
  rows = dlen_dataset_n_rows (r->ds);
  for (size_t i = 0; i < rows; i++)
    if (r->parts[i] == part)
      r->idx[k++] = i;
  *n = k;
  return DLEN_STATUS_OK;
}

/* Metrics of the source's rows of @part (@n of them, at most @cap kept), read chunk by chunk
 * through @r; chunks that @in_chunk (when given) says hold none of the part are skipped. */
static DlenStatus
evaluate_part (DlenModel *m, ChunkReader *r, DlenPart part, uint64_t n, uint64_t cap, const size_t *in_chunk,
               DlenAbortFunc abort, void *user_data, DlenMetrics *mt)
{
  DlenStatus st = DLEN_STATUS_OK;
  EvalAcc a;
  acc_init (&a, m, n, cap);
  for (size_t c = 0; c < r->src->n_chunks && st == DLEN_STATUS_OK; c++)
    {
      size_t k;
      if (in_chunk && in_chunk[c] == 0)
        continue;
      if (abort && abort (user_data))
        st = _dlen_fail (DLEN_STATUS_CANCELLED, "evaluation cancelled");
      else if ((st = reader_read (r, c, part, &k)) == DLEN_STATUS_OK)
        st = acc_add (&a, m, r->ds, r->idx, k);
    }
  if (st == DLEN_STATUS_OK)
    st = acc_metrics (&a, m, mt);
  acc_free (&a);
  return st;
}

DlenStatus
dlen_model_evaluate_source (DlenModel *m, const DlenSource *src, DlenPart part, uint64_t n_part_rows,
                            uint64_t max_rows, DlenAbortFunc abort, void *user_data, DlenMetrics *mt)
{
  ChunkReader r;
  DlenStatus st;
  if (!m || !mt)
    return _dlen_fail (DLEN_STATUS_INVALID, "model or metrics is NULL");
  if ((st = reader_init (&r, src, &m->schema)) == DLEN_STATUS_OK)
    st = evaluate_part (m, &r, part, n_part_rows, max_rows, NULL, abort, user_data, mt);
  reader_clear (&r);
  return st;
}

/* ---- Data-parallel steps ------------------------------------------------------------------- */

/* At two threads or more each mini-batch is split into one contiguous part per thread; each
 * part runs gather, forward and backward on a replica of the model's workspace and gradient
 * buffers, reading the shared weights, and normalises its loss by the whole batch's
 * denominators. The parts' gradients are then summed in part order (deterministic for a thread
 * count) and one Adam step follows. Part 0 runs on the model itself, in the calling thread. */

typedef struct DpPool DpPool;

typedef struct {
  DpPool *pool;
  DlenModel *model;          /* the model for part 0, a replica for the others */
  pthread_t tid;
  int started;
  const size_t *idx;         /* the part's rows in the window */
  const uint8_t *keep;
  uint32_t n;                /* 0: no part this step */
  uint32_t n_used;
  double loss;
  int finite;                /* the part's slice of the summed dense gradient */
} DpPart;

typedef enum { DP_JOB_PART, DP_JOB_SUM, DP_JOB_ADAM } DpJob;

struct DpPool {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  uint64_t gen;              /* bumped for each step the workers run */
  uint32_t pending;
  int quit;
  uint32_t n;                /* parts (= threads) */
  DpJob job;                 /* what the threads do on the next bump of gen */
  uint32_t parts;            /* parts of the current batch */
  const DlenTrainParams *tp;
  double bc1, bc2;
  const DlenDataset *ds;
  DlenBatchNorm norm;
  int blas_threads;
  DpPart part[];
};

static void
dp_run_part (DpPool *pool, DpPart *pt)
{
  if (pt->n == 0)
    return;
  _dlen_model_gather (pt->model, pool->ds, pt->idx, pt->n, pt->keep);
  _dlen_model_forward (pt->model, pt->n);
  pt->loss = _dlen_model_loss_backward (pt->model, pt->n, 1, &pt->n_used, NULL);
}

/* Slice @i of @n of the dense parameters, 16-float aligned. */
static void
dp_slice (const DlenModel *m, uint32_t i, uint32_t n, size_t *lo, size_t *hi)
{
  size_t blocks = (m->n_p + 15) / 16;
  *lo = blocks * i / n * 16;
  *hi = blocks * (i + 1) / n * 16;
  if (*hi > m->n_p)
    *hi = m->n_p;
  if (*lo > *hi)
    *lo = *hi;
}

/* Thread @i's share of the current job. The dense gradient is summed and stepped by slices of
 * the parameter vector, so those passes are spread over the threads too. */
static void
dp_work (DpPool *pool, uint32_t i)
{
  DlenModel *m = pool->part[0].model;
  size_t lo, hi;
  switch (pool->job)
    {
    case DP_JOB_PART:
      dp_run_part (pool, &pool->part[i]);
      break;
    case DP_JOB_SUM:
      dp_slice (m, i, pool->n, &lo, &hi);
      for (uint32_t j = 1; j < pool->parts; j++)
        {
          const float *restrict gj = pool->part[j].model->g;
          float *restrict g = m->g;
          for (size_t k = lo; k < hi; k++)
            g[k] += gj[k];
        }
      pool->part[i].finite = all_finite (m->g + lo, hi - lo);
      break;
    case DP_JOB_ADAM:
      dp_slice (m, i, pool->n, &lo, &hi);
      adam_dense_range (m, pool->tp, pool->bc1, pool->bc2, lo, hi);
      break;
    }
}

/* Runs @job on every thread, the calling thread doing share 0 (and the shares of threads that
 * could not start), and waits for all. */
static void
dp_run (DpPool *pool, DpJob job)
{
  uint32_t workers = 0;
  for (uint32_t i = 1; i < pool->n; i++)
    workers += pool->part[i].started;
  pthread_mutex_lock (&pool->mu);
  pool->job = job;
  pool->pending = workers;
  pool->gen++;
  pthread_cond_broadcast (&pool->go);
  pthread_mutex_unlock (&pool->mu);
  dp_work (pool, 0);
  for (uint32_t i = 1; i < pool->n; i++)
    if (!pool->part[i].started)
      dp_work (pool, i);
  pthread_mutex_lock (&pool->mu);
  while (pool->pending > 0)
    pthread_cond_wait (&pool->done, &pool->mu);
  pthread_mutex_unlock (&pool->mu);
}

static void *
dp_worker (void *data)
{
  DpPart *pt = data;
  DpPool *pool = pt->pool;
  uint64_t seen = 0;
  unsigned int mxcsr = enter_flush_to_zero ();   /* MXCSR is per thread */
  pthread_mutex_lock (&pool->mu);
  for (;;)
    {
      while (!pool->quit && pool->gen == seen)
        pthread_cond_wait (&pool->go, &pool->mu);
      if (pool->quit)
        break;
      seen = pool->gen;
      pthread_mutex_unlock (&pool->mu);
      dp_work (pool, (uint32_t) (pt - pool->part));
      pthread_mutex_lock (&pool->mu);
      if (--pool->pending == 0)
        pthread_cond_signal (&pool->done);
    }
  pthread_mutex_unlock (&pool->mu);
  leave_flush_to_zero (mxcsr);
  return NULL;
}

static void
dp_pool_free (DpPool *pool, DlenModel *m)
{
  if (!pool)
    return;
  pthread_mutex_lock (&pool->mu);
  pool->quit = 1;
  pthread_cond_broadcast (&pool->go);
  pthread_mutex_unlock (&pool->mu);
  for (uint32_t i = 1; i < pool->n; i++)
    {
      if (pool->part[i].started)
        pthread_join (pool->part[i].tid, NULL);
      _dlen_model_replica_free (pool->part[i].model);
    }
  pthread_cond_destroy (&pool->go);
  pthread_cond_destroy (&pool->done);
  pthread_mutex_destroy (&pool->mu);
  m->batch_norm = NULL;
  if (pool->blas_threads != 1)
    _dlen_blas.set_num_threads (pool->blas_threads);
  free (pool);
}

/* Replicas and threads for @threads parts of batches of up to @B rows. The model's
 * standardisation must be final: replicas copy it. */
static DlenStatus
dp_pool_new (DlenModel *m, uint32_t threads, uint32_t B, DpPool **out)
{
  DpPool *pool = calloc (1, sizeof *pool + threads * sizeof (DpPart));
  uint32_t rows = (B + threads - 1) / threads;
  *out = NULL;
  if (!pool)
    return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the training threads");
  pthread_mutex_init (&pool->mu, NULL);
  pthread_cond_init (&pool->go, NULL);
  pthread_cond_init (&pool->done, NULL);
  pool->n = threads;
  /* Small GEMMs on several threads each: OpenBLAS's own threads would only compete. The
   * setting is process-wide, so it is restored with the pool. */
  pool->blas_threads = _dlen_blas.get_num_threads ();
  if (pool->blas_threads != 1)
    _dlen_blas.set_num_threads (1);
  pool->part[0].pool = pool;
  pool->part[0].model = m;
  m->batch_norm = &pool->norm;
  for (uint32_t i = 1; i < threads; i++)
    {
      DpPart *pt = &pool->part[i];
      pt->pool = pool;
      if (!(pt->model = _dlen_model_replica_new (m, rows)))
        {
          dp_pool_free (pool, m);
          return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the workspace of training thread %u", i);
        }
      pt->model->batch_norm = &pool->norm;
    }
  /* A thread that cannot start leaves its part to the calling thread: same parts, same bits. */
  for (uint32_t i = 1; i < threads; i++)
    pool->part[i].started = pthread_create (&pool->part[i].tid, NULL, dp_worker, &pool->part[i]) == 0;
  *out = pool;
  return DLEN_STATUS_OK;
}

#define DP_MIN_ROWS 16

/* Parts per batch: one per thread, each of at least DP_MIN_ROWS rows of a full batch. */
static uint32_t
dp_parts (const DlenTrainParams *tp)
{
  uint32_t most = tp->batch_size / DP_MIN_ROWS;
  return tp->threads < most ? tp->threads : most ? most : 1;
}

/* One step's gradients for batch @idx[0..nb) of @ds: into m->g and m's sparse list; returns the
 * batch loss and in *finite whether the dense gradient is finite. */
static double
dp_step (DpPool *pool, DlenModel *m, const DlenDataset *ds, const size_t *idx, const uint8_t *keep,
         uint32_t nb, uint32_t *n_used, int *finite)
{
  uint32_t parts = nb < pool->n ? nb : pool->n;
  double loss;
  pool->ds = ds;
  pool->parts = parts;
  _dlen_model_batch_norm (m, ds, idx, nb, keep, &pool->norm);
  for (uint32_t i = 0; i < pool->n; i++)
    {
      DpPart *pt = &pool->part[i];
      pt->n = 0;
      pt->n_used = 0;
      pt->loss = 0;
      if (i < parts)
        {
          uint32_t a = (uint32_t) ((uint64_t) nb * i / parts), z = (uint32_t) ((uint64_t) nb * (i + 1) / parts);
          pt->n = z - a;
          pt->idx = idx + a;
          pt->keep = keep + a;
        }
    }
  dp_run (pool, DP_JOB_PART);
  dp_run (pool, DP_JOB_SUM);
  loss = pool->part[0].loss;
  *n_used = pool->part[0].n_used;
  *finite = 1;
  for (uint32_t i = 0; i < pool->n; i++)
    *finite &= pool->part[i].finite;
  for (uint32_t i = 1; i < parts; i++)
    {
      _dlen_model_add_sparse (m, n_used, pool->part[i].model, pool->part[i].n_used);
      loss += pool->part[i].loss;
    }
  return loss;
}

/* The dense Adam step, spread over the pool's threads. */
static void
dp_adam_dense (DpPool *pool, const DlenTrainParams *tp, double bc1, double bc2)
{
  pool->tp = tp;
  pool->bc1 = bc1;
  pool->bc2 = bc2;
  dp_run (pool, DP_JOB_ADAM);
}

/* ---- Training ------------------------------------------------------------------------------ */

/* Whether the weak labels of row @row of chunk @c survive: a hash of the row's place, so the
 * choice needs no per-row memory and is the same every epoch. */
static int
weak_kept (const DlenTrainParams *tp, size_t c, size_t row)
{
  uint64_t z;
  if (tp->weak_label_fraction >= 1.0)
    return 1;
  z = tp->seed * 0x9e3779b97f4a7c15ULL + (uint64_t) c * DLEN_CHUNK_ROWS + row + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return (double) (z >> 11) * 0x1.0p-53 < tp->weak_label_fraction;
}

static DlenStatus
check_params (const DlenTrainParams *tp)
{
  if (!tp || tp->epochs < 1 || tp->batch_size < 1 || tp->batch_size > 65536
      || !(tp->learning_rate > 0) || !(tp->beta1 >= 0 && tp->beta1 < 1) || !(tp->beta2 >= 0 && tp->beta2 < 1)
      || !(tp->eps > 0) || !(tp->l2 >= 0) || !(tp->weak_label_fraction >= 0 && tp->weak_label_fraction <= 1)
      || tp->threads < 1 || tp->threads > 256)
    return _dlen_fail (DLEN_STATUS_INVALID,
                       "invalid training parameters (epochs >= 1, batch 1..65536, learning rate > 0, "
                       "betas in [0, 1), eps > 0, l2 >= 0, weak-label fraction in [0, 1], threads 1..256)");
  return DLEN_STATUS_OK;
}

DlenStatus
dlen_model_train_source (DlenModel *m, const DlenSource *src, const DlenTrainParams *tp)
{
  DlenStatus st;
  DlenRng rng;
  ChunkReader r = { 0 };
  size_t *n_train_in = NULL, *n_valid_in = NULL, *perm = NULL;
  uint8_t *keep = NULL, *win_parts = NULL, *win_keep = NULL;
  size_t *win_idx = NULL;
  DlenDataset *win = NULL;
  Snapshot best = { 0 };
  NormSums ns;
  double best_score = -INFINITY;
  int have_best = 0;
  uint32_t B;
  uint64_t steps = 0, n_train = 0, n_valid = 0, samples = 0;
  DlenProgress pr;
  double train_secs = 0, t_steps;
  unsigned int mxcsr;
  DpPool *pool = NULL;

  if (!m)
    return _dlen_fail (DLEN_STATUS_INVALID, "model is NULL");
  if ((st = check_params (tp)) != DLEN_STATUS_OK)
    return st;
  B = tp->batch_size;
  if (dp_parts (tp) == 1)
    set_threads (1);
  /* Evaluation scores with workspaces of its own (dlen-score.c): this one is for the steps. */
  if ((st = _dlen_model_reserve (m, B)) != DLEN_STATUS_OK)
    return st;
  mxcsr = enter_flush_to_zero ();
  if ((st = reader_init (&r, src, &m->schema)) != DLEN_STATUS_OK)
    goto out;
  n_train_in = calloc (src->n_chunks + 1, sizeof (size_t));
  n_valid_in = calloc (src->n_chunks + 1, sizeof (size_t));
  perm = malloc ((src->n_chunks + 1) * sizeof (size_t));
  keep = malloc (B);
  win = dlen_dataset_new (&m->schema);
  win_parts = malloc (DLEN_CHUNK_ROWS);
  win_keep = malloc ((size_t) DLEN_SHUFFLE_CHUNKS * DLEN_CHUNK_ROWS);
  win_idx = malloc ((size_t) DLEN_SHUFFLE_CHUNKS * DLEN_CHUNK_ROWS * sizeof (size_t));
  if (!n_train_in || !n_valid_in || !perm || !keep || !win || !win_parts || !win_keep || !win_idx)
    {
      st = _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the training state");
      goto out;
    }
  /* One pass first: the numeric standardisation over the training rows, and what each chunk
   * holds of each part. */
  memset (&ns, 0, sizeof ns);
  for (size_t c = 0; c < src->n_chunks; c++)
    {
      const float *num;
      size_t k;
      if (tp->abort && tp->abort (tp->user_data))
        {
          st = _dlen_fail (DLEN_STATUS_CANCELLED, "training cancelled before the first epoch");
          goto out;
        }
      if ((st = reader_read (&r, c, DLEN_PART_TRAIN, &k)) != DLEN_STATUS_OK)
        goto out;
      num = _dlen_dataset_num (r.ds);
      for (size_t i = 0; i < k; i++)
        norm_add (&ns, &m->schema, num + r.idx[i] * m->schema.n_num);
      n_train_in[c] = k;
      for (size_t i = 0; i < dlen_dataset_n_rows (r.ds); i++)
        n_valid_in[c] += r.parts[i] == DLEN_PART_VALID;
      n_train += k;
      n_valid += n_valid_in[c];
      perm[c] = c;
    }
  if (n_train == 0)
    {
      st = _dlen_fail (DLEN_STATUS_DATA, "there are no training rows");
      goto out;
    }
  norm_finish (m, &ns);
  /* Parts of fewer than DP_MIN_ROWS rows cost more in replicas and waiting than they save. */
  if (dp_parts (tp) > 1 && (st = dp_pool_new (m, dp_parts (tp), B, &pool)) != DLEN_STATUS_OK)
    goto out;
  /* Steps per epoch: a window's last batch may be short, so this can be a few more. */
  steps = (n_train + B - 1) / B;
  _dlen_rng_seed (&rng, tp->seed);
  memset (&pr, 0, sizeof pr);
  pr.epochs = tp->epochs;
  pr.steps = steps;

  for (uint32_t epoch = 1; epoch <= tp->epochs; epoch++)
    {
      double loss_sum = 0;
      uint64_t s = 0, done = 0;
      for (size_t i = src->n_chunks - 1; src->n_chunks > 1 && i > 0; i--)
        {
          size_t j = (size_t) (_dlen_rng_next (&rng) % (i + 1)), tmp = perm[i];
          perm[i] = perm[j];
          perm[j] = tmp;
        }
      pr.epoch = epoch;
      pr.epoch_done = 0;
      pr.best = 0;
      t_steps = now_seconds ();
      for (size_t w0 = 0; w0 < src->n_chunks; w0 += DLEN_SHUFFLE_CHUNKS)
        {
          size_t k = 0, w1 = w0 + DLEN_SHUFFLE_CHUNKS < src->n_chunks ? w0 + DLEN_SHUFFLE_CHUNKS : src->n_chunks;
          /* The training rows of a window of chunks, shuffled together. */
          dlen_dataset_clear (win);
          for (size_t ci = w0; ci < w1; ci++)
            {
              size_t c = perm[ci], first = dlen_dataset_n_rows (win), got = 0;
              if (n_train_in[c] == 0)
                continue;
              if ((st = _dlen_source_append (src, c, win, win_parts)) != DLEN_STATUS_OK)
                goto out;
              for (size_t i = first; i < dlen_dataset_n_rows (win); i++)
                if (win_parts[i - first] == DLEN_PART_TRAIN)
                  {
                    win_keep[i] = (uint8_t) weak_kept (tp, c, i - first);
                    win_idx[k++] = i;
                    got++;
                  }
              if (got != n_train_in[c])
                {
                  st = _dlen_fail (DLEN_STATUS_DATA, "chunk %zu of the source changed during training", c);
                  goto out;
                }
            }
          for (size_t i = k; i > 1; i--)
            {
              size_t j = (size_t) (_dlen_rng_next (&rng) % i), tmp = win_idx[i - 1];
              win_idx[i - 1] = win_idx[j];
              win_idx[j] = tmp;
            }
          for (size_t first = 0; first < k; first += B, s++)
            {
              uint32_t nb = (uint32_t) (k - first < B ? k - first : B), n_used = 0;
              double loss, bc1, bc2;
              int finite = 1;
              if (tp->abort && tp->abort (tp->user_data))
                {
                  st = _dlen_fail (DLEN_STATUS_CANCELLED, "training cancelled in epoch %u", epoch);
                  goto out;
                }
              for (uint32_t b = 0; b < nb; b++)
                keep[b] = win_keep[win_idx[first + b]];
              if (pool)
                loss = dp_step (pool, m, win, win_idx + first, keep, nb, &n_used, &finite);
              else
                {
                  _dlen_model_gather (m, win, win_idx + first, nb, keep);
                  _dlen_model_forward (m, nb);
                  loss = _dlen_model_loss_backward (m, nb, 1, &n_used, NULL);
                  finite = all_finite (m->g, m->n_p);
                }
              /* Check before the update so the weights stay the last good ones. */
              if (!isfinite (loss) || !finite
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
              if (pool)
                dp_adam_dense (pool, tp, bc1, bc2);
              else
                adam_dense (m, tp, bc1, bc2);
              adam_sparse (m, tp, n_used, bc1, bc2);
              loss_sum += loss * nb;
              samples += nb;
              done += nb;
              if (tp->progress && tp->progress_every && (s + 1) % tp->progress_every == 0 && s + 1 < steps)
                {
                  pr.step = s + 1;
                  pr.train_loss = loss_sum / (double) done;
                  pr.samples_per_second = samples / (train_secs + now_seconds () - t_steps);
                  tp->progress (&pr, tp->user_data);
                }
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
      if (n_valid)
        {
          DlenMetrics mt;
          st = evaluate_part (m, &r, DLEN_PART_VALID, n_valid, tp->max_eval_rows, n_valid_in, tp->abort,
                              tp->user_data, &mt);
          if (st == DLEN_STATUS_CANCELLED)
            st = _dlen_fail (DLEN_STATUS_CANCELLED, "training cancelled in epoch %u", epoch);
          if (st != DLEN_STATUS_OK)
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
  dp_pool_free (pool, m);
  if (have_best)
    snapshot_restore (m, &best);
  leave_flush_to_zero (mxcsr);
  snapshot_free (&best);
  reader_clear (&r);
  dlen_dataset_free (win);
  free (win_parts);
  free (win_keep);
  free (win_idx);
  free (n_train_in);
  free (n_valid_in);
  free (perm);
  free (keep);
  return st;
}

/* The index-array form: a source whose chunks are the training rows, then the validation rows,
 * DLEN_CHUNK_ROWS at a time. */
typedef struct {
  const DlenDataset *ds;
  const size_t *train, *valid;
  size_t n_train, n_valid, train_chunks;
} IndexSource;

static DlenStatus
index_source_read (const DlenSource *src, size_t c, DlenDataset *out, uint8_t *parts)
{
  const IndexSource *x = src->user_data;
  int valid = c >= x->train_chunks;
  const size_t *rows = valid ? x->valid : x->train;
  size_t n = valid ? x->n_valid : x->n_train, first = (valid ? c - x->train_chunks : c) * DLEN_CHUNK_ROWS;
  size_t last = n - first < DLEN_CHUNK_ROWS ? n : first + DLEN_CHUNK_ROWS;
  DlenStatus st;
  for (size_t i = first; i < last; i++)
    {
      if ((st = dlen_dataset_append_from (out, x->ds, rows[i])) != DLEN_STATUS_OK)
        return st;
      parts[i - first] = valid ? DLEN_PART_VALID : DLEN_PART_TRAIN;
    }
  return DLEN_STATUS_OK;
}

DlenStatus
dlen_model_train (DlenModel *m, const DlenDataset *ds, const size_t *train, size_t n_train,
                  const size_t *valid, size_t n_valid, const DlenTrainParams *tp)
{
  IndexSource x = { ds, train, valid, n_train, valid ? n_valid : 0, 0 };
  DlenSource src = { 0 };
  DlenStatus st;
  if (!tp || !train || n_train == 0)
    return _dlen_fail (DLEN_STATUS_DATA, "there are no training rows");
  if ((st = check_rows (m, ds, train, n_train)) != DLEN_STATUS_OK
      || (st = check_rows (m, ds, valid, x.n_valid)) != DLEN_STATUS_OK)
    return st;
  x.train_chunks = (n_train + DLEN_CHUNK_ROWS - 1) / DLEN_CHUNK_ROWS;
  src.schema = dlen_dataset_schema (ds);
  src.n_chunks = x.train_chunks + (x.n_valid + DLEN_CHUNK_ROWS - 1) / DLEN_CHUNK_ROWS;
  src.read = index_source_read;
  src.user_data = &x;
  return dlen_model_train_source (m, &src, tp);
}
