/* dlen-model.h: feature schema, in-memory datasets, multi-task models (Shared-Bottom, MMoE,
 * PLE, DLEN), training, evaluation, prediction and model files. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "dlen-status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLEN_MAX_CAT_FIELDS 64
#define DLEN_MAX_NUM_FIELDS 64
#define DLEN_MAX_TARGETS 16
#define DLEN_NAME_MAX 64

/* ---- Feature schema ------------------------------------------------------------------ */

typedef enum {
  DLEN_POLARITY_NEUTRAL = 0,   /* click / view: a_k and b_k free */
  DLEN_POLARITY_POSITIVE = 1,  /* like, share, follow, long view: b_k <= a_k */
  DLEN_POLARITY_NEGATIVE = 2,  /* dislike, hate, report: a_k <= b_k */
} DlenPolarity;

typedef enum {
  DLEN_TARGET_BINARY = 0,      /* label 0 or 1 */
  DLEN_TARGET_DURATION = 1,    /* label in seconds >= 0, regressed on log1p(seconds) */
} DlenTargetKind;

typedef struct {
  char name[DLEN_NAME_MAX];
  uint32_t buckets;            /* size of the hashed embedding table, >= 1 */
} DlenCatField;

typedef struct {
  char name[DLEN_NAME_MAX];
  int32_t log1p;               /* 1: standardise log1p(max(x, 0)) instead of x */
} DlenNumField;

typedef struct {
  char name[DLEN_NAME_MAX];
  DlenTargetKind kind;
  DlenPolarity polarity;       /* binary targets only */
  int32_t weak_source;         /* binary only: a 1 here is a weak emotion label (1 for positive
                                  polarity, 0 for negative); masked with the weak labels */
  float weight;                /* per-task loss weight, >= 0 */
} DlenTarget;

typedef struct {
  uint32_t n_cat;
  DlenCatField cat[DLEN_MAX_CAT_FIELDS];
  uint32_t n_num;
  DlenNumField num[DLEN_MAX_NUM_FIELDS];
  uint32_t n_targets;
  DlenTarget targets[DLEN_MAX_TARGETS];
} DlenSchema;

/* Checks names (non-empty, NUL-terminated, unique per kind), counts, buckets and weights. */
DlenStatus dlen_schema_validate (const DlenSchema *schema);

/* 64-bit hash of a categorical value's bytes for field @field. Stable across runs, platforms
 * and versions of this library (model files depend on it). */
uint64_t dlen_hash_value (uint32_t field, const void *bytes, size_t len);

/* ---- Datasets ---------------------------------------------------------------------------- */

/* A columnar table of rows laid out for training; owns its memory. Not thread-safe for
 * concurrent appends; concurrent reads are fine. */
typedef struct DlenDataset DlenDataset;

typedef struct {
  uint64_t group;              /* the user, for GAUC and trajectories (any stable id) */
  int64_t time_ms;             /* impression time, epoch ms */
  int32_t day;                 /* calendar day YYYYMMDD used by date splits */
  const uint64_t *cat;         /* schema->n_cat hashes from dlen_hash_value */
  const float *num;            /* schema->n_num raw values; NaN = missing (standardised to 0) */
  const float *labels;         /* schema->n_targets labels; NaN = missing */
} DlenRow;

DlenDataset *dlen_dataset_new (const DlenSchema *schema);
void dlen_dataset_free (DlenDataset *dataset);            /* NULL is a no-op */
DlenStatus dlen_dataset_append (DlenDataset *dataset, const DlenRow *row);
size_t dlen_dataset_n_rows (const DlenDataset *dataset);
const DlenSchema *dlen_dataset_schema (const DlenDataset *dataset);
/* Column accessors: pointers valid until the next append or free. */
const float *dlen_dataset_labels (const DlenDataset *dataset);   /* [rows x n_targets] */
const uint64_t *dlen_dataset_groups (const DlenDataset *dataset);/* [rows] */
const int64_t *dlen_dataset_times (const DlenDataset *dataset);  /* [rows] */
const int32_t *dlen_dataset_days (const DlenDataset *dataset);   /* [rows] */

/* Empties the dataset, keeping its memory for the next rows. */
void dlen_dataset_clear (DlenDataset *dataset);
/* Appends a copy of row @row of @src (same numbers of fields and targets; already validated). */
DlenStatus dlen_dataset_append_from (DlenDataset *dataset, const DlenDataset *src, size_t row);
/* The true emotion of a row (synthetic logs record it): sets row @row's value (SIZE_MAX: only
 * creates the column, every row NaN). Rows appended later start as NaN. dlen_dataset_truth is
 * NULL until a value is set. */
DlenStatus dlen_dataset_set_truth (DlenDataset *dataset, size_t row, float truth);
const float *dlen_dataset_truth (const DlenDataset *dataset);

/* Changes the embedding-table size of categorical field @field, e.g. once a loader has counted
 * the distinct values. Only for datasets no model has been built from yet. */
DlenStatus dlen_dataset_set_buckets (DlenDataset *dataset, uint32_t field, uint32_t buckets);

/* Sets the loss weight of target @target (>= 0), before a model is built from the dataset. */
DlenStatus dlen_dataset_set_target_weight (DlenDataset *dataset, uint32_t target, float weight);

/* The weak emotion label of row @row derived from its weak_source targets: 1, 0, or -1 when
 * the row has none or both. */
int dlen_dataset_weak_label (const DlenDataset *dataset, size_t row);

/* The day of the row at quantile @q (0..1) of the rows ordered by day: the split day that
 * leaves about 1 - q of the rows for testing (whole days stay on one side). 0 when empty. */
int32_t dlen_dataset_day_quantile (const DlenDataset *dataset, double q);

/* Row indices of a split. Train rows are those with day < @split_day (all rows when 0);
 * the last @valid_fraction of them by time become validation; the rest (day >= split_day)
 * is test. Arrays are malloc'ed and owned by the DlenSplit; indices are in time order. */
typedef struct {
  size_t *train;  size_t n_train;
  size_t *valid;  size_t n_valid;
  size_t *test;   size_t n_test;
} DlenSplit;

DlenStatus dlen_dataset_split (const DlenDataset *dataset, int32_t split_day,
                               double valid_fraction, DlenSplit *split);
void dlen_split_clear (DlenSplit *split);                  /* frees the arrays; idempotent */

/* ---- Models -------------------------------------------------------------------------- */

typedef enum {
  DLEN_ARCH_SHARED_BOTTOM = 0,
  DLEN_ARCH_MMOE = 1,
  DLEN_ARCH_PLE = 2,
  DLEN_ARCH_DLEN = 3,
} DlenArch;

const char *dlen_arch_to_string (DlenArch arch);          /* "shared-bottom", "mmoe", ... */
int dlen_arch_from_string (const char *name, DlenArch *arch); /* 1 when known */

#define DLEN_MAX_LAYERS 4

typedef struct {
  DlenArch arch;
  uint32_t emb_dim;            /* embedding dimension d per categorical field */
  uint32_t expert_layers;      /* hidden layers per expert (1..DLEN_MAX_LAYERS) */
  uint32_t expert_units[DLEN_MAX_LAYERS]; /* widths; the last is the expert output width */
  uint32_t tower_layers;       /* hidden layers per tower (0..DLEN_MAX_LAYERS) */
  uint32_t tower_units[DLEN_MAX_LAYERS];
  uint32_t shared_experts;     /* MMoE / PLE / DLEN: shared experts per level */
  uint32_t task_experts;       /* PLE / DLEN: experts per task per level */
  uint32_t levels;             /* PLE / DLEN: extraction levels, 1 or 2 */
  float emotion_weight;        /* DLEN: lambda_e of the weak-label term, a BCE added to every
                                  weakly labelled row's loss (averaged over the batch) */
  uint64_t seed;               /* initialisation */
} DlenModelConfig;

/* Defaults: arch DLEN, d = 16, experts 1 x 64, towers 1 x 32, 2 shared and 1 task expert per
 * level, 1 level (MMoE uses 4 shared experts when shared_experts is left at its default),
 * lambda_e = 1, seed 1. */
DlenModelConfig dlen_model_config_default (DlenArch arch);

/* An opaque trained or untrained model. A model is used by one thread at a time. */
typedef struct DlenModel DlenModel;

/* A model with fresh parameters; NULL (last error set) when @config does not fit @schema or
 * OpenBLAS cannot be loaded (see dlen_model_open_blas). */
DlenModel *dlen_model_new (const DlenSchema *schema, const DlenModelConfig *config);

/* The engine loads OpenBLAS when a process makes its first model (dlen_model_new,
 * dlen_model_load), not at start: a process that never computes does not pay for it. This loads
 * it now, once per process (thread-safe; later calls return the first outcome), at one thread,
 * with the thread pool its constructor starts stopped. DLEN_STATUS_IO (last error set) when it
 * cannot be loaded: call it first to tell a missing library from a bad configuration. */
DlenStatus dlen_model_open_blas (void);
void dlen_model_free (DlenModel *model);                   /* NULL is a no-op */
const DlenSchema *dlen_model_schema (const DlenModel *model);
const DlenModelConfig *dlen_model_config (const DlenModel *model);
size_t dlen_model_n_params (const DlenModel *model);       /* embeddings + dense weights */

/* Free-form provenance strings kept with the model and saved in its file (e.g. the preset and
 * split it was trained with). Keys: 1..63 bytes of [A-Za-z0-9_.-]; values: up to 4095 bytes
 * of UTF-8; at most 32 entries. Setting an existing key replaces its value. */
DlenStatus dlen_model_set_meta (DlenModel *model, const char *key, const char *value);
/* NULL when absent; valid until the key is set again or the model is freed. */
const char *dlen_model_get_meta (const DlenModel *model, const char *key);

/* ---- Training -------------------------------------------------------------------------- */

typedef struct {
  uint32_t epoch;              /* 1-based */
  uint32_t epochs;
  uint64_t step;               /* mini-batches done in this epoch */
  uint64_t steps;              /* mini-batches per epoch */
  double train_loss;           /* mean total loss of the epoch so far */
  int epoch_done;              /* 1 when the validation numbers below are filled */
  double valid_auc[DLEN_MAX_TARGETS];  /* per target (NaN for durations / one class) */
  double valid_score;          /* the selection metric: mean validation AUC over binary targets */
  double emotion_auc;          /* validation AUC of p_e against weak labels (DLEN), else NaN */
  double samples_per_second;
  int best;                    /* 1 when this epoch is the best so far */
} DlenProgress;

typedef void (*DlenProgressFunc) (const DlenProgress *progress, void *user_data);
/* Polled between mini-batches; non-zero asks training to stop (status CANCELLED). */
typedef int (*DlenAbortFunc) (void *user_data);

typedef struct {
  uint32_t epochs;             /* >= 1 */
  uint32_t batch_size;         /* >= 1 */
  float learning_rate;         /* Adam step size */
  float beta1, beta2, eps;     /* Adam */
  float l2;                    /* L2 on dense weights (not biases, not embeddings) */
  double weak_label_fraction;  /* keep weak_source labels on this fraction of train rows */
  uint64_t seed;               /* shuffling and label masking */
  uint32_t threads;            /* BLAS / worker threads, >= 1 */
  uint32_t progress_every;     /* report every N steps (0: epoch ends only) */
  uint64_t max_eval_rows;      /* validation on at most this many evenly spaced rows (0: all) */
  DlenProgressFunc progress;
  DlenAbortFunc abort;
  void *user_data;
} DlenTrainParams;

DlenTrainParams dlen_train_params_default (void);

/* Trains on @train rows, selecting the epoch with the best mean validation AUC on @valid
 * (the last epoch when n_valid is 0); the model keeps the best weights. Fits the numeric
 * standardisation on @train rows first. On CANCELLED the best model so far is kept; on
 * NONFINITE (a NaN/inf loss) training stops and the last good weights are kept. */
DlenStatus dlen_model_train (DlenModel *model, const DlenDataset *dataset,
                             const size_t *train, size_t n_train,
                             const size_t *valid, size_t n_valid,
                             const DlenTrainParams *params);

/* ---- Evaluation and prediction ----------------------------------------------------------- */

typedef struct {
  double auc, gauc, logloss;   /* binary targets; NaN when undefined */
  double mean_predicted, mean_observed;
  double rmse;                 /* duration targets, on log1p(seconds) */
  uint64_t n;                  /* labelled rows */
} DlenTargetMetrics;

typedef struct {
  uint32_t n_targets;
  DlenTargetMetrics target[DLEN_MAX_TARGETS];
  double emotion_auc;          /* DLEN: AUC of p_e against the rows' weak labels; else NaN */
  double true_emotion_auc;     /* DLEN on rows with a true emotion (synthetic logs); else NaN */
  uint64_t n_rows;             /* rows evaluated */
} DlenMetrics;

DlenStatus dlen_model_evaluate (DlenModel *model, const DlenDataset *dataset,
                                const size_t *rows, size_t n_rows, DlenMetrics *metrics);

/* Threads that dlen_model_predict and dlen_model_evaluate score on (1..256, default 1): the
 * rows are scored in fixed batches by that many threads (the calling one included), each
 * running OpenBLAS at one thread. openblas_set_num_threads is process-wide: it is set to 1
 * during the call and restored after, so no other thread of the process should use OpenBLAS
 * meanwhile. The predictions are the same bits whatever the thread count. Training takes its
 * threads from DlenTrainParams; this setting is not saved with the model. */
DlenStatus dlen_model_set_threads (DlenModel *model, uint32_t threads);
uint32_t dlen_model_get_threads (const DlenModel *model);

/* Predictions for @rows (NULL: all rows in order). @out is [n_rows x (n_targets + 1)]:
 * each binary target's probability, each duration target's expected seconds, and last p_e
 * (NaN for models without an emotion). */
DlenStatus dlen_model_predict (DlenModel *model, const DlenDataset *dataset,
                               const size_t *rows, size_t n_rows, float *out);

/* ---- Streaming: training and evaluation from a source of chunks ----------------------------
 *
 * A log too large for memory is read chunk by chunk: a source hands out its rows in chunks of at
 * most DLEN_CHUNK_ROWS rows, always the same rows in the same order for a given chunk, and says
 * for every row which part of the split it belongs to. Every epoch, training visits the chunks
 * in a random order, DLEN_SHUFFLE_CHUNKS at a time, and shuffles the training rows of those
 * chunks together, so memory holds DLEN_SHUFFLE_CHUNKS chunks (not the log) and a batch mixes
 * rows from that many places in the log; a log of at most DLEN_SHUFFLE_CHUNKS chunks is
 * shuffled as a whole. */

#define DLEN_CHUNK_ROWS 16384
#define DLEN_SHUFFLE_CHUNKS 16

typedef enum {
  DLEN_PART_NONE = 0,          /* in no part (skipped) */
  DLEN_PART_TRAIN = 1,
  DLEN_PART_VALID = 2,
  DLEN_PART_TEST = 3,
} DlenPart;

typedef struct DlenSource DlenSource;

/* Appends the rows of chunk @chunk to @out (which may hold rows of other chunks) and writes the
 * DlenPart of the k-th appended row to @parts[k] (room for DLEN_CHUNK_ROWS). Returns a status; on
 * failure dlen_last_error() says why. */
typedef DlenStatus (*DlenChunkReadFunc) (const DlenSource *source, size_t chunk, DlenDataset *out, uint8_t *parts);

/* A time split that a source applies row by row: rows of day >= split_day are test (none when
 * split_day <= 0); earlier rows with time_ms >= valid_from_ms are validation; the rest train. */
typedef struct {
  int32_t split_day;
  int64_t valid_from_ms;       /* INT64_MAX: no validation rows */
} DlenSplitRule;

struct DlenSource {
  const DlenSchema *schema;    /* the rows' fields (bucket counts may still change) */
  size_t n_chunks;
  DlenChunkReadFunc read;
  void *user_data;
  const DlenSplitRule *rule;   /* for sources that split by a rule: the rule to apply */
};

DlenPart dlen_split_rule_part (const DlenSplitRule *rule, int32_t day, int64_t time_ms);

/* What one pass over a source found: rows, the days, and (when asked) distinct values. */
typedef struct DlenSourceScan DlenSourceScan;

DlenStatus dlen_source_scan (const DlenSource *source, int count_distinct, DlenAbortFunc abort,
                             void *user_data, DlenSourceScan **out);
void dlen_source_scan_free (DlenSourceScan *scan);
uint64_t dlen_source_scan_rows (const DlenSourceScan *scan);
/* As dlen_dataset_day_quantile over the source's rows. */
int32_t dlen_source_scan_day_quantile (const DlenSourceScan *scan, double q);
/* Distinct hashes of categorical field @field (0 unless counted). */
uint64_t dlen_source_scan_distinct (const DlenSourceScan *scan, uint32_t field);

/* The rule for a test split at @split_day whose training rows give their latest ~@valid_fraction
 * (by time) to validation: one more pass over the source (a histogram of times). @counts
 * receives the rows per DlenPart. */
DlenStatus dlen_source_split (const DlenSource *source, const DlenSourceScan *scan, int32_t split_day,
                              double valid_fraction, DlenSplitRule *rule, uint64_t counts[4]);

/* A source over an in-memory dataset: chunk c is rows [c * DLEN_CHUNK_ROWS, ...), parts by @rule
 * (the dataset and the rule must outlive the source). */
void dlen_dataset_source (const DlenDataset *dataset, const DlenSplitRule *rule, DlenSource *out);

/* dlen_model_train over the source's TRAIN rows, selecting epochs on its VALID rows. */
DlenStatus dlen_model_train_source (DlenModel *model, const DlenSource *source, const DlenTrainParams *params);

/* Metrics of the source's rows of @part; with @max_rows > 0 and more rows than that, of
 * @max_rows rows evenly spaced through the part (@n_part_rows: the part's row count). */
DlenStatus dlen_model_evaluate_source (DlenModel *model, const DlenSource *source, DlenPart part,
                                       uint64_t n_part_rows, uint64_t max_rows, DlenAbortFunc abort,
                                       void *user_data, DlenMetrics *metrics);

/* ---- Model files (safetensors layout) --------------------------------------------------- */

/* Writes the model atomically (temporary file + rename): an 8-byte little-endian header
 * length, a JSON header naming every tensor (F32, shape, offsets) with the architecture and
 * feature schema in __metadata__, then little-endian data. */
DlenStatus dlen_model_save (const DlenModel *model, const char *path);

/* Loads and validates every field (sizes, offsets, shapes against the declared architecture,
 * format version). On failure *out is NULL and dlen_last_error() says why. */
DlenStatus dlen_model_load (const char *path, DlenModel **out);

#ifdef __cplusplus
}
#endif
