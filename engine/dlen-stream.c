/* dlen-stream.c: sources of chunks (a log read piece by piece), the passes that size and split
 * them, and the source over an in-memory dataset. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dlen/dlen-model.h"
#include "dlen-model-private.h"
#include "dlen-private.h"

#define TIME_BINS 65536

DlenPart
dlen_split_rule_part (const DlenSplitRule *rule, int32_t day, int64_t time_ms)
{
  if (!rule)
    return DLEN_PART_TRAIN;
  if (rule->split_day > 0 && day >= rule->split_day)
    return DLEN_PART_TEST;
  return time_ms >= rule->valid_from_ms ? DLEN_PART_VALID : DLEN_PART_TRAIN;
}

/* ---- Scan: rows per day (with each day's time range) and distinct values ------------------- */

typedef struct {
  int32_t day;
  uint64_t rows;
  int64_t t_min, t_max;
} DayStat;

typedef struct {
  uint64_t *slots;           /* 0 marks an empty slot; the hash 0 is counted aside */
  size_t cap, n;
  int zero;
} HashSet;

struct DlenSourceScan {
  uint64_t rows;
  DayStat *days;             /* sorted by day */
  size_t n_days, cap_days;
  uint32_t n_cat;
  HashSet distinct[DLEN_MAX_CAT_FIELDS];
  int counted;
};

static int
set_add (HashSet *s, uint64_t h)
{
  size_t i;
  if (h == 0)
    {
      s->zero = 1;
      return 1;
    }
  if ((s->n + 1) * 2 > s->cap)
    {
      size_t cap = s->cap ? s->cap * 2 : 1024;
      uint64_t *slots = calloc (cap, sizeof (uint64_t));
      if (!slots)
        return 0;
      for (size_t k = 0; k < s->cap; k++)
        if (s->slots[k])
          {
            for (i = s->slots[k] & (cap - 1); slots[i]; i = (i + 1) & (cap - 1))
              ;
            slots[i] = s->slots[k];
          }
      free (s->slots);
      s->slots = slots;
      s->cap = cap;
    }
  for (i = h & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
    if (s->slots[i] == h)
      return 1;
  s->slots[i] = h;
  s->n++;
  return 1;
}

static DayStat *
day_stat (DlenSourceScan *sc, int32_t day)
{
  size_t lo = 0, hi = sc->n_days;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      if (sc->days[mid].day < day)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo < sc->n_days && sc->days[lo].day == day)
    return &sc->days[lo];
  if (sc->n_days == sc->cap_days)
    {
      size_t cap = sc->cap_days ? sc->cap_days * 2 : 64;
      DayStat *d = realloc (sc->days, cap * sizeof *d);
      if (!d)
        return NULL;
      sc->days = d;
      sc->cap_days = cap;
    }
  memmove (sc->days + lo + 1, sc->days + lo, (sc->n_days - lo) * sizeof *sc->days);
  sc->days[lo] = (DayStat) { day, 0, INT64_MAX, INT64_MIN };
  sc->n_days++;
  return &sc->days[lo];
}

void
dlen_source_scan_free (DlenSourceScan *sc)
{
  if (!sc)
    return;
  for (uint32_t i = 0; i < DLEN_MAX_CAT_FIELDS; i++)
    free (sc->distinct[i].slots);
  free (sc->days);
  free (sc);
}

/* Appends chunk @c to @ds, checking the source's promise on its size. */
DlenStatus
_dlen_source_append (const DlenSource *src, size_t c, DlenDataset *ds, uint8_t *parts)
{
  size_t before = dlen_dataset_n_rows (ds);
  DlenStatus st;
  if ((st = src->read (src, c, ds, parts)) != DLEN_STATUS_OK)
    return st;
  if (dlen_dataset_n_rows (ds) - before > DLEN_CHUNK_ROWS)
    return _dlen_fail (DLEN_STATUS_INVALID, "chunk %zu of the source has %zu rows (at most %d)", c,
                       dlen_dataset_n_rows (ds) - before, DLEN_CHUNK_ROWS);
  return DLEN_STATUS_OK;
}

/* Reads chunk @c into @ds (emptied first). */
DlenStatus
_dlen_source_read (const DlenSource *src, size_t c, DlenDataset *ds, uint8_t *parts)
{
  dlen_dataset_clear (ds);
  return _dlen_source_append (src, c, ds, parts);
}

DlenStatus
dlen_source_scan (const DlenSource *src, int count_distinct, DlenAbortFunc abort, void *user_data,
                  DlenSourceScan **out)
{
  DlenSourceScan *sc;
  DlenDataset *ds;
  uint8_t *parts;
  DlenStatus st = DLEN_STATUS_OK;
  if (!out)
    return _dlen_fail (DLEN_STATUS_INVALID, "scan output is NULL");
  *out = NULL;
  if (!src || !src->read || !src->schema)
    return _dlen_fail (DLEN_STATUS_INVALID, "the source is NULL or cannot read");
  sc = calloc (1, sizeof *sc);
  ds = dlen_dataset_new (src->schema);
  parts = malloc (DLEN_CHUNK_ROWS);
  if (!sc || !ds || !parts)
    {
      st = ds ? _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate a chunk") : DLEN_STATUS_INVALID;
      goto out;
    }
  sc->n_cat = src->schema->n_cat;
  sc->counted = count_distinct;
  for (size_t c = 0; c < src->n_chunks && st == DLEN_STATUS_OK; c++)
    {
      const int32_t *days;
      const int64_t *times;
      const uint64_t *cat;
      size_t n;
      if (abort && abort (user_data))
        {
          st = _dlen_fail (DLEN_STATUS_CANCELLED, "cancelled while reading the log");
          break;
        }
      if ((st = _dlen_source_read (src, c, ds, parts)) != DLEN_STATUS_OK)
        break;
      n = dlen_dataset_n_rows (ds);
      days = dlen_dataset_days (ds);
      times = dlen_dataset_times (ds);
      cat = _dlen_dataset_cat (ds);
      for (size_t i = 0; i < n; i++)
        {
          DayStat *d = (sc->n_days && sc->days[sc->n_days - 1].day == days[i]) ? &sc->days[sc->n_days - 1]
                                                                              : day_stat (sc, days[i]);
          if (!d)
            {
              st = _dlen_fail (DLEN_STATUS_NOMEM, "cannot count the days");
              break;
            }
          d->rows++;
          d->t_min = times[i] < d->t_min ? times[i] : d->t_min;
          d->t_max = times[i] > d->t_max ? times[i] : d->t_max;
          if (count_distinct)
            for (uint32_t f = 0; f < sc->n_cat; f++)
              if (!set_add (&sc->distinct[f], cat[i * sc->n_cat + f]))
                {
                  st = _dlen_fail (DLEN_STATUS_NOMEM, "cannot count the distinct values");
                  break;
                }
        }
      sc->rows += n;
    }
out:
  dlen_dataset_free (ds);
  free (parts);
  if (st != DLEN_STATUS_OK)
    {
      dlen_source_scan_free (sc);
      return st;
    }
  *out = sc;
  return DLEN_STATUS_OK;
}

uint64_t
dlen_source_scan_rows (const DlenSourceScan *sc)
{
  return sc ? sc->rows : 0;
}

int32_t
dlen_source_scan_day_quantile (const DlenSourceScan *sc, double q)
{
  uint64_t k, seen = 0;
  if (!sc || sc->rows == 0 || !(q >= 0.0 && q <= 1.0))
    return 0;
  k = (uint64_t) (q * (double) sc->rows);
  if (k >= sc->rows)
    k = sc->rows - 1;
  for (size_t i = 0; i < sc->n_days; i++)
    {
      seen += sc->days[i].rows;
      if (seen > k)
        return sc->days[i].day;
    }
  return sc->days[sc->n_days - 1].day;
}

uint64_t
dlen_source_scan_distinct (const DlenSourceScan *sc, uint32_t field)
{
  if (!sc || !sc->counted || field >= sc->n_cat)
    return 0;
  return sc->distinct[field].n + (uint64_t) sc->distinct[field].zero;
}

/* ---- Split: the validation cut from a histogram of the training rows' times --------------- */

DlenStatus
dlen_source_split (const DlenSource *src, const DlenSourceScan *sc, int32_t split_day, double valid_fraction,
                   DlenSplitRule *rule, uint64_t counts[4])
{
  int64_t t_min = INT64_MAX, t_max = INT64_MIN;
  uint64_t before = 0, width, want, above = 0, *bins = NULL;
  DlenDataset *ds = NULL;
  uint8_t *parts = NULL;
  DlenStatus st = DLEN_STATUS_OK;
  size_t cut;

  if (!src || !sc || !rule || !(valid_fraction >= 0.0 && valid_fraction < 1.0))
    return _dlen_fail (DLEN_STATUS_INVALID, "split needs a source, its scan and a validation fraction in [0, 1)");
  rule->split_day = split_day;
  rule->valid_from_ms = INT64_MAX;
  for (size_t i = 0; i < sc->n_days; i++)
    if (split_day <= 0 || sc->days[i].day < split_day)
      {
        before += sc->days[i].rows;
        t_min = sc->days[i].t_min < t_min ? sc->days[i].t_min : t_min;
        t_max = sc->days[i].t_max > t_max ? sc->days[i].t_max : t_max;
      }
  want = (uint64_t) floor (valid_fraction * (double) before);
  if (counts)
    {
      counts[DLEN_PART_NONE] = 0;
      counts[DLEN_PART_TRAIN] = before;
      counts[DLEN_PART_VALID] = 0;
      counts[DLEN_PART_TEST] = sc->rows - before;
    }
  if (want == 0)
    return DLEN_STATUS_OK;
  /* Bin b holds times in [t_min + b * width, t_min + (b + 1) * width): the rule's cut falls on
   * a bin edge, so "time >= edge" and "bin >= b" agree exactly. */
  width = (uint64_t) (t_max - t_min) / TIME_BINS + 1;
  bins = calloc (TIME_BINS, sizeof (uint64_t));
  ds = dlen_dataset_new (src->schema);
  parts = malloc (DLEN_CHUNK_ROWS);
  if (!bins || !ds || !parts)
    {
      st = _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the split histogram");
      goto out;
    }
  for (size_t c = 0; c < src->n_chunks; c++)
    {
      const int32_t *days;
      const int64_t *times;
      if ((st = _dlen_source_read (src, c, ds, parts)) != DLEN_STATUS_OK)
        goto out;
      days = dlen_dataset_days (ds);
      times = dlen_dataset_times (ds);
      for (size_t i = 0; i < dlen_dataset_n_rows (ds); i++)
        if (split_day <= 0 || days[i] < split_day)
          bins[(uint64_t) (times[i] - t_min) / width]++;
    }
  /* The latest bins whose rows reach the wanted count; all training rows never go. */
  cut = TIME_BINS;
  while (cut > 0 && above < want)
    above += bins[--cut];
  if (above >= before)
    {
      while (cut < TIME_BINS && bins[cut] == 0)
        cut++;
      above -= bins[cut];
      cut++;
    }
  if (above > 0)
    {
      rule->valid_from_ms = t_min + (int64_t) (cut * width);
      if (counts)
        {
          counts[DLEN_PART_TRAIN] = before - above;
          counts[DLEN_PART_VALID] = above;
        }
    }
out:
  free (bins);
  free (parts);
  dlen_dataset_free (ds);
  return st;
}

/* ---- A source over a dataset in memory ---------------------------------------------------- */

static DlenStatus
memory_source_read (const DlenSource *src, size_t c, DlenDataset *out, uint8_t *parts)
{
  const DlenDataset *ds = src->user_data;
  size_t n = dlen_dataset_n_rows (ds), first = c * DLEN_CHUNK_ROWS;
  size_t last = n - first < DLEN_CHUNK_ROWS ? n : first + DLEN_CHUNK_ROWS;
  const int32_t *days = dlen_dataset_days (ds);
  const int64_t *times = dlen_dataset_times (ds);
  DlenStatus st;
  for (size_t i = first; i < last; i++)
    {
      if ((st = dlen_dataset_append_from (out, ds, i)) != DLEN_STATUS_OK)
        return st;
      parts[i - first] = (uint8_t) dlen_split_rule_part (src->rule, days[i], times[i]);
    }
  return DLEN_STATUS_OK;
}

void
dlen_dataset_source (const DlenDataset *ds, const DlenSplitRule *rule, DlenSource *out)
{
  memset (out, 0, sizeof *out);
  out->schema = dlen_dataset_schema (ds);
  out->n_chunks = (dlen_dataset_n_rows (ds) + DLEN_CHUNK_ROWS - 1) / DLEN_CHUNK_ROWS;
  out->read = memory_source_read;
  out->user_data = (void *) ds;
  out->rule = rule;
}
