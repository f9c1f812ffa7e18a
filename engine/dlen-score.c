/* dlen-score.c: scoring for dlen_model_predict and evaluation: fixed batches of rows spread
 * over worker threads with a workspace each, and one GEMM for all level-0 first layers and
 * gates. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "dlen-blas.h"
#include "dlen-model-private.h"
#include "dlen-private.h"

/* Rows per batch (DLEN_SCORE_BATCH in dlen-model-private.h). A row's prediction depends only
 * on its own inputs and the fixed batch partition of the rows (never on which thread scores a
 * batch), so every thread count gives the same bits. Small enough that a batch's activations stay in a core's L2 and two threads
 * end the last batches close together; large enough to keep the GEMMs efficient. */
#define SCORE_BATCH DLEN_SCORE_BATCH

#define MAX_LEVEL_EXPERTS (DLEN_MAX_CAND * 4)

/* A [B x cols] matrix whose rows are ld floats apart. */
typedef struct {
  float *p;
  uint32_t ld;
} View;

/* One thread's buffers for SCORE_BATCH rows; the weights are shared and read only. */
typedef struct {
  float *block;
  float *x;                                   /* [B x d_in] */
  float *fused;                               /* [B x n_fused] */
  View *act[2];                               /* [expert][layer] of a level */
  View logit[2][DLEN_MAX_GROUPS];             /* gates with more than one candidate */
  View out[2][DLEN_MAX_GROUPS];               /* gate outputs [B x h] */
  View tower[DLEN_MAX_TASKS][DLEN_MAX_LAYERS + 2];
} ScoreWs;

struct DlenScorer {
  /* Level 0: every expert's first layer and every gate read the input x, so they are one GEMM
   * against a packed copy of their weights: experts' columns first (they take a ReLU), then
   * the gates' logits. Repacked on every call, so it never goes stale when weights change. */
  uint32_t n_fused, n_relu;
  uint32_t expert_col[MAX_LEVEL_EXPERTS];
  uint32_t gate_col[DLEN_MAX_GROUPS];
  float *w;                                   /* [d_in x n_fused] */
  float *b;                                   /* [n_fused] */
  uint32_t n_ws;
  ScoreWs *ws;
};

/* ---- Layout ----------------------------------------------------------------------------- */

static DlenScorer *
scorer_new (const DlenModel *m)
{
  DlenScorer *sc = calloc (1, sizeof *sc);
  const DlenLevel *lv = &m->levels[0];
  uint32_t col = 0;
  if (!sc)
    return NULL;
  for (uint32_t e = 0; e < lv->n_experts; e++)
    {
      sc->expert_col[e] = col;
      col += lv->experts[e].dims[1];
    }
  sc->n_relu = col;
  for (uint32_t t = 0; t < lv->n_gates; t++)
    if (lv->gates[t].n > 1)
      {
        sc->gate_col[t] = col;
        col += lv->gates[t].n;
      }
  sc->n_fused = col;
  sc->w = malloc (((size_t) m->d_in * col + 1) * sizeof (float));
  sc->b = malloc ((col + 1) * sizeof (float));
  if (!sc->w || !sc->b)
    {
      _dlen_scorer_free (sc);
      return NULL;
    }
  return sc;
}

static void
scorer_pack (const DlenModel *m, DlenScorer *sc)
{
  const DlenLevel *lv = &m->levels[0];
  uint32_t nf = sc->n_fused;
  for (uint32_t k = 0; k < m->d_in; k++)
    {
      float *row = sc->w + (size_t) k * nf;
      for (uint32_t e = 0; e < lv->n_experts; e++)
        {
          const DlenMlp *mlp = &lv->experts[e];
          uint32_t n = mlp->dims[1];
          memcpy (row + sc->expert_col[e], m->p + mlp->w[0] + (size_t) k * n, n * sizeof (float));
        }
      for (uint32_t t = 0; t < lv->n_gates; t++)
        {
          const DlenGate *gt = &lv->gates[t];
          if (gt->n > 1)
            memcpy (row + sc->gate_col[t], m->p + gt->w + (size_t) k * gt->n, gt->n * sizeof (float));
        }
    }
  for (uint32_t e = 0; e < lv->n_experts; e++)
    memcpy (sc->b + sc->expert_col[e], m->p + lv->experts[e].b[0], lv->experts[e].dims[1] * sizeof (float));
  for (uint32_t t = 0; t < lv->n_gates; t++)
    if (lv->gates[t].n > 1)
      memcpy (sc->b + sc->gate_col[t], m->p + lv->gates[t].b, lv->gates[t].n * sizeof (float));
}


static View
view_cols (float *p, uint32_t col, uint32_t ld)
{
  View v = { p ? p + col : NULL, ld };
  return v;
}

static View
view_new (Carver *c, uint32_t cols)
{
  View v = { carve (c, (size_t) SCORE_BATCH * cols), cols };
  return v;
}

/* Lays the buffers of @ws out in @base (NULL: only counts) and returns the floats needed. */
static size_t
ws_layout (const DlenModel *m, const DlenScorer *sc, ScoreWs *ws, float *base)
{
  Carver c = { base, 0 };
  ws->x = carve (&c, (size_t) SCORE_BATCH * m->d_in);
  ws->fused = carve (&c, (size_t) SCORE_BATCH * sc->n_fused);
  for (uint32_t l = 0; l < m->n_levels; l++)
    {
      const DlenLevel *lv = &m->levels[l];
      for (uint32_t e = 0; e < lv->n_experts; e++)
        for (uint32_t i = 1; i <= lv->experts[e].n; i++)
          {
            View v = l == 0 && i == 1 ? view_cols (ws->fused, sc->expert_col[e], sc->n_fused)
                                      : view_new (&c, lv->experts[e].dims[i]);
            if (base)
              ws->act[l][e * (DLEN_MAX_LAYERS + 1) + i] = v;
          }
      for (uint32_t t = 0; t < lv->n_gates; t++)
        {
          const DlenGate *gt = &lv->gates[t];
          if (gt->n > 1)
            {
              ws->logit[l][t] = l == 0 ? view_cols (ws->fused, sc->gate_col[t], sc->n_fused)
                                       : view_new (&c, gt->n);
              ws->out[l][t] = view_new (&c, m->h);
            }
          else if (base)
            ws->out[l][t] = ws->act[l][gt->cand[0] * (DLEN_MAX_LAYERS + 1) + lv->experts[gt->cand[0]].n];
        }
    }
  for (uint32_t t = 0; t < m->n_tasks; t++)
    for (uint32_t i = 1; i <= m->towers[t].n; i++)
      ws->tower[t][i] = view_new (&c, m->towers[t].dims[i]);
  return c.used;
}

static void
ws_clear (ScoreWs *ws)
{
  free (ws->block);
  free (ws->act[0]);
  free (ws->act[1]);
  memset (ws, 0, sizeof *ws);
}

static int
ws_init (const DlenModel *m, const DlenScorer *sc, ScoreWs *ws)
{
  ScoreWs probe;
  size_t n, nv = (size_t) MAX_LEVEL_EXPERTS * (DLEN_MAX_LAYERS + 1);
  memset (ws, 0, sizeof *ws);
  memset (&probe, 0, sizeof probe);
  n = ws_layout (m, sc, &probe, NULL);
  ws->block = aligned_alloc (64, ((n * sizeof (float)) + 63) & ~(size_t) 63);
  ws->act[0] = calloc (nv, sizeof (View));
  ws->act[1] = calloc (nv, sizeof (View));
  if (!ws->block || !ws->act[0] || !ws->act[1])
    {
      ws_clear (ws);
      return 0;
    }
  ws_layout (m, sc, ws, ws->block);
  return 1;
}

void
_dlen_scorer_free (DlenScorer *sc)
{
  if (!sc)
    return;
  for (uint32_t i = 0; i < sc->n_ws; i++)
    ws_clear (&sc->ws[i]);
  free (sc->ws);
  free (sc->w);
  free (sc->b);
  free (sc);
}

/* The scorer with at least @n workspaces. */
static DlenStatus
scorer_reserve (DlenModel *m, uint32_t n)
{
  DlenScorer *sc = m->scorer;
  ScoreWs *ws;
  if (!sc && !(sc = m->scorer = scorer_new (m)))
    return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the scoring weights");
  if (n <= sc->n_ws)
    return DLEN_STATUS_OK;
  ws = realloc (sc->ws, n * sizeof *ws);
  if (!ws)
    return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the scoring workspaces");
  sc->ws = ws;
  for (; sc->n_ws < n; sc->n_ws++)
    if (!ws_init (m, sc, &sc->ws[sc->n_ws]))
      return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the scoring workspace for %u rows",
                         SCORE_BATCH);
  return DLEN_STATUS_OK;
}

/* ---- Forward ---------------------------------------------------------------------------- */

/* The arithmetic below is that of _dlen_model_forward, operation for operation, so that the
 * predictions equal the training code's forward pass bit for bit. */

/* Branch-free, so that it vectorises; the AVX2 clone has no FMA, so it rounds as the default. */
__attribute__ ((target_clones ("avx2", "default")))
static void
bias_act (float *o, uint32_t ld, uint32_t B, const float *restrict bias, uint32_t n, uint32_t n_relu)
{
  for (uint32_t b = 0; b < B; b++)
    {
      float *restrict r = o + (size_t) b * ld;
      for (uint32_t j = 0; j < n_relu; j++)
        {
          float z = r[j] + bias[j];
          r[j] = z > 0.0f ? z : 0.0f;
        }
      for (uint32_t j = n_relu; j < n; j++)
        r[j] += bias[j];
    }
}

static void
dense (const float *p, const DlenMlp *mlp, uint32_t i, View in, View out, uint32_t B, int relu)
{
  uint32_t din = mlp->dims[i], dout = mlp->dims[i + 1];
  _dlen_sgemm (CblasNoTrans, CblasNoTrans, (int) B, (int) dout, (int) din,
               1.0f, in.p, (int) in.ld, p + mlp->w[i], (int) dout, 0.0f, out.p, (int) out.ld);
  bias_act (out.p, out.ld, B, p + mlp->b[i], dout, relu ? dout : 0);
}

/* o = sum over j of w[j] e[j] (the candidates' rows), in the order of gate_forward. The first
 * term needs no zeroed start: experts end in a ReLU and w >= 0, so 0 + w e[0] is w e[0]. */
__attribute__ ((target_clones ("avx2", "default")))
static void
mix_row (float *restrict o, const float *const *e, const float *w, uint32_t n, uint32_t h)
{
  for (uint32_t k = 0; k < h; k++)
    o[k] = w[0] * e[0][k];
  for (uint32_t j = 1; j < n; j++)
    {
      const float *restrict ej = e[j];
      float wj = w[j];
      for (uint32_t k = 0; k < h; k++)
        o[k] += wj * ej[k];
    }
}

/* Softmax of the gate's logits (bias added) and the mixture of its candidates' outputs. */
static void
gate_mix (const DlenGate *gt, View logit, View out, View *const *act_of, const uint32_t *last,
          uint32_t B, uint32_t h)
{
  uint32_t n = gt->n;
  const float *eo[DLEN_MAX_CAND], *row[DLEN_MAX_CAND];
  uint32_t ld[DLEN_MAX_CAND];
  for (uint32_t j = 0; j < n; j++)
    {
      eo[j] = act_of[gt->cand[j]][last[gt->cand[j]]].p;
      ld[j] = act_of[gt->cand[j]][last[gt->cand[j]]].ld;
    }
  for (uint32_t b = 0; b < B; b++)
    {
      float *pr = logit.p + (size_t) b * logit.ld;
      _dlen_softmax (pr, n);
      for (uint32_t j = 0; j < n; j++)
        row[j] = eo[j] + (size_t) b * ld[j];
      mix_row (out.p + (size_t) b * out.ld, row, pr, n, h);
    }
}

static void
score_batch (const DlenModel *m, const DlenScorer *sc, ScoreWs *ws, const DlenDataset *ds,
             const size_t *idx, uint32_t B, float *out)
{
  const float *p = m->p;
  const float *tower_out[DLEN_MAX_TASKS];
  _dlen_model_gather_x (m, ds, idx, B, ws->x, NULL);
  _dlen_sgemm (CblasNoTrans, CblasNoTrans, (int) B, (int) sc->n_fused, (int) m->d_in,
               1.0f, ws->x, (int) m->d_in, sc->w, (int) sc->n_fused, 0.0f, ws->fused, (int) sc->n_fused);
  bias_act (ws->fused, sc->n_fused, B, sc->b, sc->n_fused, sc->n_relu);
  for (uint32_t l = 0; l < m->n_levels; l++)
    {
      const DlenLevel *lv = &m->levels[l];
      View *act_of[MAX_LEVEL_EXPERTS];
      uint32_t last[MAX_LEVEL_EXPERTS];
      for (uint32_t g = 0; g <= m->n_tasks; g++)
        for (uint32_t e = lv->group_first[g]; e < lv->group_first[g + 1]; e++)
          {
            const DlenMlp *mlp = &lv->experts[e];
            View *act = ws->act[l] + e * (DLEN_MAX_LAYERS + 1);
            View x = { ws->x, m->d_in };
            act[0] = l == 0 ? x : ws->out[l - 1][g];
            for (uint32_t i = l == 0 ? 1 : 0; i < mlp->n; i++)
              dense (p, mlp, i, act[i], act[i + 1], B, i + 1 < mlp->n || mlp->relu_out);
            act_of[e] = act;
            last[e] = mlp->n;
          }
      for (uint32_t t = 0; t < lv->n_gates; t++)
        {
          const DlenGate *gt = &lv->gates[t];
          uint32_t g = t < m->n_tasks ? t : m->n_tasks;
          if (gt->n == 1)
            continue;
          if (l > 0)
            {
              /* A gate reads its group's input: task t's, or the shared group's. */
              uint32_t e0 = lv->group_first[g] < lv->group_first[g + 1] ? lv->group_first[g]
                                                                       : lv->group_first[m->n_tasks];
              View in = act_of[e0][0];
              _dlen_sgemm (CblasNoTrans, CblasNoTrans, (int) B, (int) gt->n, (int) gt->in,
                           1.0f, in.p, (int) in.ld, p + gt->w, (int) gt->n, 0.0f,
                           ws->logit[l][t].p, (int) ws->logit[l][t].ld);
              bias_act (ws->logit[l][t].p, ws->logit[l][t].ld, B, p + gt->b, gt->n, 0);
            }
          gate_mix (gt, ws->logit[l][t], ws->out[l][t], act_of, last, B, m->h);
        }
    }
  for (uint32_t t = 0; t < m->n_tasks; t++)
    {
      const DlenMlp *tw = &m->towers[t];
      ws->tower[t][0] = ws->out[m->n_levels - 1][t];
      for (uint32_t i = 0; i < tw->n; i++)
        dense (p, tw, i, ws->tower[t][i], ws->tower[t][i + 1], B, i + 1 < tw->n || tw->relu_out);
      tower_out[t] = ws->tower[t][tw->n].p;
    }
  _dlen_model_heads (m, tower_out, B, out);
}

/* ---- Threads ----------------------------------------------------------------------------- */

typedef struct {
  const DlenModel *m;
  const DlenScorer *sc;
  const DlenDataset *ds;
  const size_t *rows;
  size_t n, n_batches;
  float *out;
  atomic_size_t next;                         /* the next batch to take */
} ScoreJob;

typedef struct {
  ScoreJob *job;
  ScoreWs *ws;
} ScoreWorker;

static void *
score_worker (void *data)
{
  ScoreWorker *w = data;
  ScoreJob *job = w->job;
  uint32_t width = job->m->schema.n_targets + 1;
  size_t k, local[SCORE_BATCH];
  while ((k = atomic_fetch_add (&job->next, 1)) < job->n_batches)
    {
      size_t first = k * SCORE_BATCH;
      uint32_t B = (uint32_t) (job->n - first < SCORE_BATCH ? job->n - first : SCORE_BATCH);
      const size_t *idx = local;
      if (job->rows)
        idx = job->rows + first;
      else
        for (uint32_t b = 0; b < B; b++)
          local[b] = first + b;
      score_batch (job->m, job->sc, w->ws, job->ds, idx, B, job->out + first * width);
    }
  return NULL;
}

DlenStatus
_dlen_model_score (DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n, float *out)
{
  ScoreJob job = { m, NULL, ds, rows, n, (n + SCORE_BATCH - 1) / SCORE_BATCH, out, 0 };
  ScoreWorker workers[256];
  pthread_t tid[256];
  uint32_t threads = m->threads, started = 0;
  int blas_threads;
  DlenStatus st;
  if (n == 0)
    return DLEN_STATUS_OK;
  if (threads > job.n_batches)
    threads = (uint32_t) job.n_batches;
  if ((st = scorer_reserve (m, threads)) != DLEN_STATUS_OK)
    return st;
  job.sc = m->scorer;
  scorer_pack (m, m->scorer);
  for (uint32_t i = 0; i < threads; i++)
    workers[i] = (ScoreWorker) { &job, &m->scorer->ws[i] };
  /* The batches are too small for OpenBLAS's own threads to pay, and its threaded kernels may
   * round differently: one thread each, whatever the count. The setting is process-wide, so it
   * is restored when the workers are done. */
  blas_threads = _dlen_blas.get_num_threads ();
  if (blas_threads != 1)
    _dlen_blas.set_num_threads (1);
  for (uint32_t i = 1; i < threads; i++)
    if (pthread_create (&tid[started + 1], NULL, score_worker, &workers[i]) == 0)
      started++;
  /* The calling thread is worker 0; a worker that could not start leaves its batches to the
   * others. */
  score_worker (&workers[0]);
  for (uint32_t i = 1; i <= started; i++)
    pthread_join (tid[i], NULL);
  if (blas_threads != 1)
    _dlen_blas.set_num_threads (blas_threads);
  return DLEN_STATUS_OK;
}

DlenStatus
dlen_model_set_threads (DlenModel *m, uint32_t threads)
{
  if (!m)
    return _dlen_fail (DLEN_STATUS_INVALID, "model is NULL");
  if (threads < 1 || threads > 256)
    return _dlen_fail (DLEN_STATUS_INVALID, "threads must be 1..256, not %u", threads);
  m->threads = threads;
  return DLEN_STATUS_OK;
}

uint32_t
dlen_model_get_threads (const DlenModel *m)
{
  return m->threads;
}
