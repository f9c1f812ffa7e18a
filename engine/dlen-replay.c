/* dlen-replay.c: fusion replay: per-request ranking by a log-linear score, top-K exposure and
 * engagement, and weight sweeps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dlen/dlen-replay.h"
#include "dlen-private.h"

struct DlenReplay {
  size_t n_rows, n_requests;
  uint32_t n_signals, n_outcomes;
  size_t *offsets;          /* [n_requests + 1] rows of request r: [offsets[r], offsets[r+1]) */
  float *signals;           /* [n_signals][n_rows] column by column, rows grouped by request,
                               logged order inside: scoring streams each column once */
  float *outcomes;          /* [n_rows x n_outcomes] */
  uint8_t *objectionable;   /* [n_rows] */
  uint16_t *category;       /* [n_rows] or NULL */
  uint32_t n_categories;
  uint32_t max_request;
};

#define REPLAY_BLOCK 4096
#define MAX_U(a, b) ((a) > (b) ? (a) : (b))

typedef struct { uint64_t request; size_t row; } Key;

static int
cmp_key (const void *a, const void *b)
{
  const Key *x = a, *y = b;
  if (x->request != y->request)
    return x->request < y->request ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

void
dlen_replay_free (DlenReplay *r)
{
  if (!r)
    return;
  free (r->offsets);
  free (r->signals);
  free (r->outcomes);
  free (r->objectionable);
  free (r->category);
  free (r);
}

size_t
dlen_replay_n_requests (const DlenReplay *r)
{
  return r ? r->n_requests : 0;
}

DlenReplay *
dlen_replay_new (const DlenReplayData *d)
{
  DlenReplay *r;
  Key *keys;
  size_t n, req = 0;
  if (!d || !d->request || !d->signals || !d->objectionable || (d->n_outcomes && !d->outcomes)
      || d->n_signals == 0 || d->n_signals > DLEN_REPLAY_MAX_SIGNALS || d->n_outcomes > DLEN_REPLAY_MAX_SIGNALS)
    {
      _dlen_fail (DLEN_STATUS_INVALID, "replay data needs requests, 1..%d signals, objectionable flags and outcomes",
                  DLEN_REPLAY_MAX_SIGNALS);
      return NULL;
    }
  n = d->n_rows;
  for (size_t i = 0; i < n * d->n_signals; i++)
    if (!isfinite (d->signals[i]))
      {
        _dlen_fail (DLEN_STATUS_DATA, "signal %zu of row %zu is not finite", i % d->n_signals, i / d->n_signals);
        return NULL;
      }
  if (d->category)
    for (size_t i = 0; i < n; i++)
      if (d->category[i] >= DLEN_REPLAY_MAX_CATEGORIES)
        {
          _dlen_fail (DLEN_STATUS_DATA, "category %u of row %zu is not below %d", d->category[i], i,
                      DLEN_REPLAY_MAX_CATEGORIES);
          return NULL;
        }
  r = calloc (1, sizeof *r);
  keys = malloc ((n + 1) * sizeof *keys);
  if (!r || !keys)
    goto nomem;
  r->n_rows = n;
  r->n_signals = d->n_signals;
  r->n_outcomes = d->n_outcomes;
  r->signals = malloc ((n * d->n_signals + 1) * sizeof (float));
  r->outcomes = malloc ((n * d->n_outcomes + 1) * sizeof (float));
  r->objectionable = malloc (n + 1);
  r->category = d->category ? malloc ((n + 1) * sizeof (uint16_t)) : NULL;
  r->offsets = malloc ((n + 2) * sizeof (size_t));
  if (!r->signals || !r->outcomes || !r->objectionable || (d->category && !r->category) || !r->offsets)
    goto nomem;
  for (size_t i = 0; i < n; i++)
    keys[i] = (Key) { d->request[i], i };
  qsort (keys, n, sizeof *keys, cmp_key);
  for (size_t i = 0; i < n; i++)
    {
      size_t src = keys[i].row;
      if (i == 0 || keys[i].request != keys[i - 1].request)
        r->offsets[req++] = i;
      for (uint32_t j = 0; j < d->n_signals; j++)
        r->signals[(size_t) j * n + i] = d->signals[src * d->n_signals + j];
      if (d->n_outcomes)
        memcpy (r->outcomes + i * d->n_outcomes, d->outcomes + src * d->n_outcomes, d->n_outcomes * sizeof (float));
      r->objectionable[i] = d->objectionable[src] != 0;
      if (r->category)
        {
          r->category[i] = d->category[src];
          if (d->category[src] + 1u > r->n_categories)
            r->n_categories = d->category[src] + 1u;
        }
    }
  r->offsets[req] = n;
  r->n_requests = req;
  for (size_t q = 0; q < req; q++)
    if (r->offsets[q + 1] - r->offsets[q] > r->max_request)
      r->max_request = (uint32_t) (r->offsets[q + 1] - r->offsets[q]);
  free (keys);
  return r;

nomem:
  free (keys);
  dlen_replay_free (r);
  _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the replay of %zu rows", n);
  return NULL;
}

DlenStatus
dlen_replay_run (const DlenReplay *r, const float *w, uint32_t k, DlenReplayResult *res)
{
  const uint32_t ns = r ? r->n_signals : 0, no = r ? r->n_outcomes : 0;
  double out_sum[DLEN_REPLAY_MAX_SIGNALS] = { 0 };
  uint64_t out_n[DLEN_REPLAY_MAX_SIGNALS] = { 0 };
  uint64_t slots = 0, objectionable = 0;
  float *score;
  uint32_t *top;

  if (!r || !res || k == 0)
    return _dlen_fail (DLEN_STATUS_INVALID, "replay, result and k >= 1 are required");
  if (w)
    for (uint32_t j = 0; j < ns; j++)
      if (!isfinite (w[j]))
        return _dlen_fail (DLEN_STATUS_INVALID, "weight %u is not finite", j);
  memset (res, 0, sizeof *res);
  res->n_categories = r->n_categories;
  score = malloc ((MAX_U (r->max_request, REPLAY_BLOCK) + 1) * sizeof (float));
  top = malloc ((r->max_request + 1) * sizeof (uint32_t));
  if (!score || !top)
    {
      free (score);
      free (top);
      return _dlen_fail (DLEN_STATUS_NOMEM, "out of memory");
    }

  /* Requests are scored a block of rows at a time: each signal column is read once, the block's
   * scores stay in cache, and the loops over rows vectorise. Blocks end on request boundaries. */
  for (size_t q = 0, q_end; q < r->n_requests; q = q_end)
    {
      size_t block_first = r->offsets[q], block_rows;
      q_end = q + 1;
      while (q_end < r->n_requests && r->offsets[q_end + 1] - block_first <= REPLAY_BLOCK)
        q_end++;
      block_rows = r->offsets[q_end] - block_first;
      if (w)
        {
          memset (score, 0, block_rows * sizeof (float));
          for (uint32_t j = 0; j < ns; j++)
            {
              const float *col = r->signals + (size_t) j * r->n_rows + block_first;
              const float wj = w[j];
              for (size_t i = 0; i < block_rows; i++)
                score[i] += wj * col[i];
            }
        }
      for (size_t rq = q; rq < q_end; rq++)
        {
          size_t first = r->offsets[rq];
          const float *sc = score + (first - block_first);
          uint32_t m = (uint32_t) (r->offsets[rq + 1] - first), kk = k < m ? k : m, filled = 0;
          if (w)
            {
              /* Insertion into a sorted top list: requests are short, and strict ">" keeps the
               * earlier-logged row ahead on ties. */
              for (uint32_t i = 0; i < m; i++)
                {
                  uint32_t pos = filled;
                  if (filled == kk && !(sc[i] > sc[top[kk - 1]]))
                    continue;
                  while (pos > 0 && sc[i] > sc[top[pos - 1]])
                    pos--;
                  if (filled < kk)
                    filled++;
                  memmove (top + pos + 1, top + pos, (filled - 1 - pos) * sizeof (uint32_t));
                  top[pos] = i;
                }
            }
          else
            for (filled = 0; filled < kk; filled++)
              top[filled] = filled;
          for (uint32_t s = 0; s < filled; s++)
            {
              size_t row = first + top[s];
              const float *o = r->outcomes + row * no;
              slots++;
              objectionable += r->objectionable[row];
              for (uint32_t j = 0; j < no; j++)
                if (!isnan (o[j]))
                  {
                    out_sum[j] += o[j];
                    out_n[j]++;
                  }
              if (r->category)
                {
                  res->category_slots[r->category[row]]++;
                  res->category_objectionable[r->category[row]] += r->objectionable[row];
                }
            }
        }
    }
  res->slots = slots;
  res->objectionable = slots ? (double) objectionable / (double) slots : NAN;
  for (uint32_t j = 0; j < no; j++)
    res->outcome[j] = out_n[j] ? out_sum[j] / (double) out_n[j] : NAN;
  free (score);
  free (top);
  return DLEN_STATUS_OK;
}

DlenStatus
dlen_replay_sweep (const DlenReplay *r, const float *weights, uint32_t index, float from, float to, uint32_t n_steps,
                   uint32_t k, DlenReplayResult *results)
{
  float w[DLEN_REPLAY_MAX_SIGNALS];
  if (!r || !weights || !results || index >= r->n_signals || n_steps < 1 || !isfinite (from) || !isfinite (to))
    return _dlen_fail (DLEN_STATUS_INVALID, "a sweep needs weights, a signal index, finite bounds and >= 1 step");
  memcpy (w, weights, r->n_signals * sizeof (float));
  for (uint32_t s = 0; s < n_steps; s++)
    {
      DlenStatus st;
      w[index] = n_steps == 1 ? from : from + (to - from) * (float) s / (float) (n_steps - 1);
      if ((st = dlen_replay_run (r, w, k, &results[s])) != DLEN_STATUS_OK)
        return st;
    }
  return DLEN_STATUS_OK;
}
