/* dlen-metrics.c: AUC, group AUC, log loss and calibration over score/label arrays. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dlen/dlen-metrics.h"
#include "dlen-private.h"

/* One labelled entry, sorted by (group, key) with an LSD radix sort: O(n) and stable, so a
 * million entries sort in a few milliseconds without qsort's indirect comparator calls. */
typedef struct
{
  uint64_t group;
  uint32_t key;       /* the score mapped to an unsigned integer of the same order */
  uint32_t positive;  /* 1 for label 1, 0 for label 0 */
} MetricItem;

#define KEY_BYTES 4
#define GROUP_BYTES 8
#define N_PASSES (KEY_BYTES + GROUP_BYTES)

static inline int
label_is_binary (float label)
{
  return label == 0.0f || label == 1.0f;
}

/* Maps a float to an integer that sorts the same way.  -0 joins +0 so the two count as a tie,
 * as they compare equal; every NaN becomes one key above +inf, so NaN scores tie with each
 * other and rank highest instead of making the order depend on their payload bits. */
static inline uint32_t
score_key (float score)
{
  uint32_t u;

  if (isnan (score))
    return UINT32_MAX;
  if (score == 0.0f)
    score = 0.0f;
  memcpy (&u, &score, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline unsigned
item_byte (const MetricItem *item, int pass)
{
  if (pass < KEY_BYTES)
    return (item->key >> (8 * pass)) & 0xffu;
  return (unsigned) ((item->group >> (8 * (pass - KEY_BYTES))) & 0xffu);
}

/* Sorts @items by key, then stably by group, using @tmp (same size) as scratch.  Passes whose
 * byte is the same for every item are skipped, so ungrouped input costs only the score passes.
 * Returns the buffer that holds the result (@items or @tmp). */
static MetricItem *
radix_sort (MetricItem *items, MetricItem *tmp, size_t n)
{
  size_t (*counts)[256] = calloc (N_PASSES, sizeof *counts);
  MetricItem *src = items;
  MetricItem *dst = tmp;

  if (!counts)
    return NULL;

  for (size_t i = 0; i < n; i++)
    for (int pass = 0; pass < N_PASSES; pass++)
      counts[pass][item_byte (&items[i], pass)]++;

  for (int pass = 0; pass < N_PASSES; pass++)
    {
      size_t *count = counts[pass];
      size_t offset = 0;
      int trivial = 0;

      for (unsigned b = 0; b < 256; b++)
        {
          size_t c = count[b];
          if (c == n)
            trivial = 1;
          count[b] = offset;
          offset += c;
        }
      if (trivial)
        continue;

      for (size_t i = 0; i < n; i++)
        dst[count[item_byte (&src[i], pass)]++] = src[i];

      MetricItem *swap = src;
      src = dst;
      dst = swap;
    }

  free (counts);
  return src;
}

/* Builds the sorted labelled entries.  Returns them in a buffer to free with *@to_free, sets
 * *@n_items; NULL with *@n_items = 0 when nothing is labelled, or NULL with *@n_items set on
 * allocation failure. */
static MetricItem *
collect_sorted (const float *scores, const float *labels, const uint64_t *groups, size_t n,
                size_t *n_items, void **to_free)
{
  size_t m = 0;
  MetricItem *buf;
  MetricItem *sorted;

  *to_free = NULL;
  for (size_t i = 0; i < n; i++)
    m += label_is_binary (labels[i]);
  *n_items = m;
  if (m == 0)
    return NULL;

  if (m > SIZE_MAX / (2 * sizeof *buf)
      || !(buf = malloc (2 * m * sizeof *buf)))
    {
      _dlen_fail (DLEN_STATUS_NOMEM, "metrics: cannot allocate scratch for %zu entries", m);
      return NULL;
    }

  for (size_t i = 0, j = 0; i < n; i++)
    {
      if (!label_is_binary (labels[i]))
        continue;
      buf[j].group = groups ? groups[i] : 0;
      buf[j].key = score_key (scores[i]);
      buf[j].positive = labels[i] == 1.0f;
      j++;
    }

  sorted = radix_sort (buf, buf + m, m);
  if (!sorted)
    {
      free (buf);
      _dlen_fail (DLEN_STATUS_NOMEM, "metrics: cannot allocate sort counts");
      return NULL;
    }
  *to_free = buf;
  return sorted;
}

/* The Mann-Whitney AUC of a run of items sorted by score: each positive counts the negatives
 * below it plus half the negatives tied with it.  Counts stay below 2^53, so the doubles are
 * exact.  Returns 0 and leaves *@auc alone when the run lacks a class. */
static int
run_auc (const MetricItem *items, size_t n, double *auc, double *n_labelled)
{
  double neg_below = 0.0;
  double n_pos = 0.0;
  double sum = 0.0;
  size_t i = 0;

  while (i < n)
    {
      double tie_pos = 0.0;
      double tie_neg = 0.0;
      uint32_t key = items[i].key;

      for (; i < n && items[i].key == key; i++)
        {
          if (items[i].positive)
            tie_pos += 1.0;
          else
            tie_neg += 1.0;
        }
      sum += tie_pos * (neg_below + 0.5 * tie_neg);
      neg_below += tie_neg;
      n_pos += tie_pos;
    }

  *n_labelled = n_pos + neg_below;
  if (n_pos == 0.0 || neg_below == 0.0)
    return 0;
  *auc = sum / (n_pos * neg_below);
  return 1;
}

/* Allocation failure returns NaN (with the last error set): the metrics have no status
 * channel, and NaN already means "no answer" to their callers. */
double
dlen_auc (const float *scores, const float *labels, size_t n)
{
  size_t m;
  void *to_free;
  MetricItem *items = collect_sorted (scores, labels, NULL, n, &m, &to_free);
  double auc = NAN;
  double n_labelled;

  if (items)
    run_auc (items, m, &auc, &n_labelled);
  free (to_free);
  return auc;
}

double
dlen_gauc (const float *scores, const float *labels, const uint64_t *groups, size_t n)
{
  size_t m;
  void *to_free;
  MetricItem *items = collect_sorted (scores, labels, groups, n, &m, &to_free);
  double weighted = 0.0;
  double total = 0.0;

  if (!items)
    {
      free (to_free);
      return NAN;
    }

  for (size_t start = 0; start < m;)
    {
      size_t end = start + 1;
      double auc, weight;

      while (end < m && items[end].group == items[start].group)
        end++;
      if (run_auc (items + start, end - start, &auc, &weight))
        {
          weighted += weight * auc;
          total += weight;
        }
      start = end;
    }

  free (to_free);
  return total > 0.0 ? weighted / total : NAN;
}

/* A NaN probability is not clipped away: it yields a NaN loss so the caller sees it. */
double
dlen_logloss (const float *probs, const float *labels, size_t n)
{
  const double lo = 1e-7;
  const double hi = 1.0 - 1e-7;
  double sum = 0.0;
  size_t count = 0;

  for (size_t i = 0; i < n; i++)
    {
      double p;

      if (!label_is_binary (labels[i]))
        continue;
      p = probs[i];
      if (p < lo)
        p = lo;
      else if (p > hi)
        p = hi;
      sum -= labels[i] == 1.0f ? log (p) : log1p (-p);
      count++;
    }

  return count ? sum / (double) count : NAN;
}

/* Both outputs are NaN when no entry is labelled; either pointer may be NULL. */
void
dlen_calibration (const float *probs, const float *labels, size_t n,
                  double *mean_predicted, double *mean_observed)
{
  double sum_pred = 0.0;
  double sum_obs = 0.0;
  size_t count = 0;

  for (size_t i = 0; i < n; i++)
    {
      if (!label_is_binary (labels[i]))
        continue;
      sum_pred += probs[i];
      sum_obs += labels[i];
      count++;
    }

  if (mean_predicted)
    *mean_predicted = count ? sum_pred / (double) count : NAN;
  if (mean_observed)
    *mean_observed = count ? sum_obs / (double) count : NAN;
}
