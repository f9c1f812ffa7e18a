/* dlen-replay.h: offline replay of fusion weights over cached predictions: rank each request's
 * logged candidates by the log-linear fusion score, keep the top K, and measure objectionable
 * exposure and engagement there. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "dlen-status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLEN_REPLAY_MAX_SIGNALS 17    /* targets + the emotion */
#define DLEN_REPLAY_MAX_CATEGORIES 256

/* The cached inputs, one row per impression; the replay copies what it needs, so the arrays
 * may be freed after dlen_replay_new(). */
typedef struct {
  size_t n_rows;
  uint32_t n_signals;          /* score inputs per row, <= DLEN_REPLAY_MAX_SIGNALS */
  const float *signals;        /* [n_rows x n_signals]: log p_k of binary targets, the predicted
                                  stay of duration targets, log p_e last (finite values) */
  uint32_t n_outcomes;         /* observed outcomes per row, <= DLEN_REPLAY_MAX_SIGNALS */
  const float *outcomes;       /* [n_rows x n_outcomes]: labels (0/1, or seconds); NaN = unknown */
  const uint64_t *request;     /* [n_rows] request id; rows of a request need not be adjacent */
  const uint8_t *objectionable;/* [n_rows] 1 when the shown item counts as objectionable */
  const uint16_t *category;    /* [n_rows] item category < DLEN_REPLAY_MAX_CATEGORIES, or NULL */
} DlenReplayData;

typedef struct DlenReplay DlenReplay;

/* Groups rows by request (keeping each request's rows in their given, logged order) and packs
 * them for fast scoring. O(n log n) once; memory about (n_signals + n_outcomes + 3) * 4 bytes
 * per row. NULL with dlen_last_error() on invalid input. */
DlenReplay *dlen_replay_new (const DlenReplayData *data);
void dlen_replay_free (DlenReplay *replay);             /* NULL is a no-op */
size_t dlen_replay_n_requests (const DlenReplay *replay);

typedef struct {
  uint64_t slots;              /* top-K slots filled over all requests */
  double objectionable;        /* share of slots holding objectionable items */
  double outcome[DLEN_REPLAY_MAX_SIGNALS]; /* mean outcome over the slots (known outcomes only):
                                              a rate for binary outcomes, seconds for stay */
  uint32_t n_categories;       /* categories seen (max id + 1), 0 without categories */
  uint64_t category_slots[DLEN_REPLAY_MAX_CATEGORIES];
  uint64_t category_objectionable[DLEN_REPLAY_MAX_CATEGORIES];
} DlenReplayResult;

/* Ranks every request's rows by score = sum_j weights[j] * signals[j] (descending; ties go to
 * the row logged earlier) and measures the top @k (all rows of shorter requests). With
 * @weights NULL the logged order is measured instead. Single-threaded; thread-safe on a shared
 * replay. */
DlenStatus dlen_replay_run (const DlenReplay *replay, const float *weights, uint32_t k, DlenReplayResult *result);

/* Sweeps weights[@index] over @n_steps values evenly from @from to @to (other weights as given)
 * and fills @results[n_steps]: the exposure-vs-engagement frontier. */
DlenStatus dlen_replay_sweep (const DlenReplay *replay, const float *weights, uint32_t index, float from, float to,
                              uint32_t n_steps, uint32_t k, DlenReplayResult *results);

#ifdef __cplusplus
}
#endif
