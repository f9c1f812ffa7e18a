/* dlen-model-private.h: the model's layout, workspace and the DLEN head maths shared by the
 * model, training, model-file and test code. */
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "dlen/dlen-model.h"

#define DLEN_MAX_TASKS (DLEN_MAX_TARGETS + 1)      /* targets + the emotion task */
#define DLEN_MAX_GROUPS (DLEN_MAX_TASKS + 1)       /* task expert groups + the shared group */
#define DLEN_MAX_CAND 64                           /* candidate experts of one gate */
#define DLEN_SCORE_BATCH 256                       /* rows per scoring batch (dlen-score.c) */

/* One named parameter tensor in the dense parameter vector. */
typedef struct {
  char name[80];
  size_t off;          /* into DlenModel.p */
  uint32_t ndim;
  int64_t shape[2];
  int decay;           /* L2 applies (weights, not biases) */
} DlenParamInfo;

/* A stack of dense layers; layer i maps dims[i] -> dims[i+1], W is [dims[i] x dims[i+1]]
 * row-major at w[i], bias at b[i]. Hidden layers use ReLU; the last one too when relu_out. */
typedef struct {
  uint32_t n;
  uint32_t dims[DLEN_MAX_LAYERS + 2];
  size_t w[DLEN_MAX_LAYERS + 1], b[DLEN_MAX_LAYERS + 1];
  int relu_out;
  float *act[DLEN_MAX_LAYERS + 2];   /* act[0] borrowed input; act[i] [B x dims[i]] */
  float *grad[DLEN_MAX_LAYERS + 2];  /* grad[i] for i >= 1 */
} DlenMlp;

/* @p[0..n) replaced by their softmax (max subtracted first). Training's gates and the scorer
 * share it, so that both compute the same bits. */
static inline void
_dlen_softmax (float *p, uint32_t n)
{
  float mx = -INFINITY, sum = 0.0f;
  for (uint32_t j = 0; j < n; j++)
    if (p[j] > mx)
      mx = p[j];
  for (uint32_t j = 0; j < n; j++)
    {
      p[j] = expf (p[j] - mx);
      sum += p[j];
    }
  for (uint32_t j = 0; j < n; j++)
    p[j] /= sum;
}

/* A softmax gate mixing candidate experts' outputs. A gate with one candidate is trivial: its
 * output and output gradient alias that expert's. */
typedef struct {
  uint32_t in, n;
  uint32_t cand[DLEN_MAX_CAND];      /* expert indices in the level */
  size_t w, b;
  float *prob;                       /* [B x n] */
  float *dlogit;                     /* [B x n] */
  float *out, *dout;                 /* [B x h] */
} DlenGate;

typedef struct {
  uint32_t n_experts;
  uint32_t group_first[DLEN_MAX_GROUPS + 1];  /* experts of group g: [first[g], first[g+1]) */
  DlenMlp *experts;
  uint32_t n_gates;                  /* n_tasks task gates, then the shared gate if any */
  DlenGate gates[DLEN_MAX_GROUPS];
} DlenLevel;

typedef struct DlenScorer DlenScorer;

/* The loss denominators of a whole mini-batch. When a batch is split into parts that run on
 * separate replicas, each part normalises by these, so that the parts' gradients sum to the
 * whole batch's gradient. */
typedef struct {
  uint32_t rows;                         /* rows of the whole batch (the weak-label term's mean) */
  uint32_t labelled[DLEN_MAX_TARGETS];   /* rows of the batch with target t's label */
} DlenBatchNorm;

struct DlenModel {
  DlenSchema schema;
  DlenModelConfig config;
  uint32_t n_tasks;                  /* targets (+ emotion for DLEN) */
  int emotion_task;                  /* index or -1 */
  uint32_t n_levels;
  uint32_t d_in;                     /* n_cat * d + n_num */
  uint32_t h;                        /* expert output width */

  /* Dense parameters and their Adam state. */
  float *p, *g, *m, *v;
  size_t n_p;
  DlenParamInfo *info;
  uint32_t n_info, cap_info;

  /* Embedding tables, one per categorical field, and their lazy Adam state. */
  float *emb, *emb_m, *emb_v;
  size_t n_emb_rows;
  size_t emb_row0[DLEN_MAX_CAT_FIELDS];

  /* Numeric standardisation, fitted on the training rows. */
  float norm_mean[DLEN_MAX_NUM_FIELDS], norm_std[DLEN_MAX_NUM_FIELDS];

  DlenLevel levels[2];
  DlenMlp towers[DLEN_MAX_TASKS];

  uint64_t adam_t;

  /* Provenance strings (dlen_model_set_meta). */
  uint32_t n_meta;
  char *meta_key[32], *meta_value[32];

  /* Scoring threads (dlen_model_set_threads) and the scorer: packed weights and per-thread
   * workspaces, made on first use (dlen-score.c). */
  uint32_t threads;
  DlenScorer *scorer;

  /* Workspace for up to ws_batch rows. */
  uint32_t ws_batch;
  float *ws;                         /* one block holding every buffer below and above */
  float *x, *dx;                     /* [B x d_in] */
  uint32_t *rows;                    /* [B x n_cat] embedding row per field */
  float *y;                          /* [B x n_targets] labels of the batch (NaN missing) */
  int8_t *weak;                      /* [B] */
  int32_t *slot;                     /* [n_emb_rows] slot of a row in the sparse gradient, -1 */
  uint32_t *used;                    /* [B x n_cat] rows touched in the step */
  float *emb_g;                      /* [B x n_cat x d] their summed gradients */

  /* Set on a part of a split batch (NULL: the batch is whole). Borrowed. */
  const DlenBatchNorm *batch_norm;
  /* A replica borrows p, emb, info and the Adam state of the model it was made from. */
  int is_replica;
};

/* Outputs of the heads for the current batch: per task the pre-head tower outputs live in
 * towers[t].act[n]; these helpers read them. */
uint32_t _dlen_task_outputs (const DlenModel *model, uint32_t task);

/* Ensure the workspace holds @batch rows. */
DlenStatus _dlen_model_reserve (DlenModel *model, uint32_t batch);

/* Fill x/rows (and y/weak when @labels_keep is not NULL: 1 keeps weak_source labels, 0 hides
 * them) for dataset rows @idx[0..B). */
void _dlen_model_gather (DlenModel *model, const DlenDataset *ds, const size_t *idx, uint32_t B,
                         const uint8_t *labels_keep);
/* The input part of the above: embeddings and standardised numbers of rows @idx[0..B) (NULL:
 * rows 0..B) into @x [B x d_in], and when @rows is not NULL their embedding rows [B x n_cat]. */
void _dlen_model_gather_x (const DlenModel *model, const DlenDataset *ds, const size_t *idx,
                           uint32_t B, float *x, uint32_t *rows);
void _dlen_model_forward (DlenModel *model, uint32_t B);
/* Loss of the batch (per-task masked means, weighted) and, when @backward, all gradients in
 * model->g and the sparse embedding gradient list. Returns the total loss; *n_used gets the
 * number of touched embedding rows. */
double _dlen_model_loss_backward (DlenModel *model, uint32_t B, int backward, uint32_t *n_used,
                                  double *task_loss);
/* The denominators of the batch that _dlen_model_gather with the same arguments would load. */
void _dlen_model_batch_norm (const DlenModel *model, const DlenDataset *ds, const size_t *idx, uint32_t B,
                             const uint8_t *labels_keep, DlenBatchNorm *norm);
/* A replica of @model for data-parallel steps: its own workspace for @batch rows, dense
 * gradient and sparse-gradient slots; parameters, embeddings, standardisation (copied now) and
 * layout are @model's, which must outlive it and not be reallocated. Free with
 * _dlen_model_replica_free, never dlen_model_free. */
DlenModel *_dlen_model_replica_new (DlenModel *model, uint32_t batch);
void _dlen_model_replica_free (DlenModel *replica);
/* Adds @part's sparse embedding gradient (@part_used rows) into @model's list of *n_used rows,
 * merging by row. @model's workspace must hold every row of the whole batch. */
void _dlen_model_add_sparse (DlenModel *model, uint32_t *n_used, const DlenModel *part, uint32_t part_used);
/* Predictions of the current forward pass in the layout of dlen_model_predict. */
void _dlen_model_outputs (DlenModel *model, uint32_t B, float *out);
/* The same from the towers' outputs @tower_out[t] ([B x outputs of task t], dense rows). */
void _dlen_model_heads (const DlenModel *model, const float *const *tower_out, uint32_t B,
                        float *out);

/* Scoring (dlen-score.c): predictions for @rows (NULL: 0..n) into @out, in fixed batches spread
 * over model->threads threads, each with its own workspace. Needs no training workspace. */
DlenStatus _dlen_model_score (DlenModel *model, const DlenDataset *ds, const size_t *rows, size_t n,
                              float *out);
void _dlen_scorer_free (DlenScorer *scorer);

const uint64_t *_dlen_dataset_cat (const DlenDataset *ds);
const float *_dlen_dataset_num (const DlenDataset *ds);
/* Workspaces are carved from one allocation: a first pass with base NULL sizes it. */
typedef struct { float *base; size_t used; } Carver;

static inline float *
carve (Carver *c, size_t n)
{
  float *p = c->base ? c->base + c->used : NULL;
  c->used += (n + 15) & ~(size_t) 15;    /* keep every buffer 64-byte aligned */
  return p;
}

/* Reads chunk @chunk of @source into @ds (emptied first), checking it holds at most DLEN_CHUNK_ROWS. */
DlenStatus _dlen_source_read (const DlenSource *source, size_t chunk, DlenDataset *ds, uint8_t *parts);
/* The same without emptying @ds: the chunk's rows follow those already there. */
DlenStatus _dlen_source_append (const DlenSource *source, size_t chunk, DlenDataset *ds, uint8_t *parts);
int _dlen_weak_label (const DlenSchema *s, const float *labels);

/* Allocates parameters and workspace for schema+config (no initialisation of values). */
DlenModel *_dlen_model_alloc (const DlenSchema *schema, const DlenModelConfig *config);
void _dlen_model_init_params (DlenModel *model, uint64_t seed);

/* ---- Head maths in double precision (also the reference of the gradient tests) ---------- */

double _dlen_log_sigmoid (double x);
double _dlen_softplus (double x);

/* DLEN binary head: tower outputs (u, v), emotion logit le, label y (0/1). Returns the BCE of
 * y against p = p_e a + (1 - p_e) b computed in log space; sets the gradients and *p. */
double _dlen_head_binary (DlenPolarity polarity, double u, double v, double le, double y,
                          double *du, double *dv, double *dle, double *p);
/* Probability only (no label). */
double _dlen_head_binary_prob (DlenPolarity polarity, double u, double v, double le);
/* DLEN stay head: mu+ = m, mu- = m - softplus(r); prediction p_e mu+ + (1 - p_e) mu- of
 * t = log1p(seconds); squared error. */
double _dlen_head_stay (double m, double r, double le, double t,
                        double *dm, double *dr, double *dle, double *pred);
/* Baselines: BCE with logits, and squared error. */
double _dlen_head_logit (double z, double y, double *dz, double *p);
