/* dlen-dataset.c: feature schemas, the columnar in-memory dataset, hashing and time splits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dlen/dlen-model.h"
#include "dlen-model-private.h"
#include "dlen-private.h"

struct DlenDataset
{
  DlenSchema schema;
  size_t n_rows, capacity;
  uint64_t *groups;
  int64_t *times;
  int32_t *days;
  uint64_t *cat;      /* [rows x n_cat] */
  float *num;         /* [rows x n_num] */
  float *labels;      /* [rows x n_targets] */
  float *truth;       /* [rows] the true emotion, NaN where unknown; NULL until one is set */
};

static int
name_ok (const char *name)
{
  return memchr (name, '\0', DLEN_NAME_MAX) != NULL && name[0] != '\0';
}

DlenStatus
dlen_schema_validate (const DlenSchema *s)
{
  if (!s)
    return _dlen_fail (DLEN_STATUS_INVALID, "schema is NULL");
  if (s->n_cat > DLEN_MAX_CAT_FIELDS || s->n_num > DLEN_MAX_NUM_FIELDS
      || s->n_targets > DLEN_MAX_TARGETS)
    return _dlen_fail (DLEN_STATUS_INVALID, "schema has too many fields or targets");
  if (s->n_cat + s->n_num == 0)
    return _dlen_fail (DLEN_STATUS_INVALID, "schema has no feature fields");
  if (s->n_targets == 0)
    return _dlen_fail (DLEN_STATUS_INVALID, "schema has no targets");
  for (uint32_t i = 0; i < s->n_cat; i++)
    {
      if (!name_ok (s->cat[i].name))
        return _dlen_fail (DLEN_STATUS_INVALID, "categorical field %u has no valid name", i);
      if (s->cat[i].buckets == 0 || s->cat[i].buckets > (1u << 26))
        return _dlen_fail (DLEN_STATUS_INVALID, "categorical field '%s' has %u buckets (1..2^26)",
                           s->cat[i].name, s->cat[i].buckets);
      for (uint32_t j = 0; j < i; j++)
        if (strcmp (s->cat[i].name, s->cat[j].name) == 0)
          return _dlen_fail (DLEN_STATUS_INVALID, "categorical field '%s' appears twice", s->cat[i].name);
    }
  for (uint32_t i = 0; i < s->n_num; i++)
    {
      if (!name_ok (s->num[i].name))
        return _dlen_fail (DLEN_STATUS_INVALID, "numeric field %u has no valid name", i);
      for (uint32_t j = 0; j < i; j++)
        if (strcmp (s->num[i].name, s->num[j].name) == 0)
          return _dlen_fail (DLEN_STATUS_INVALID, "numeric field '%s' appears twice", s->num[i].name);
    }
  for (uint32_t i = 0; i < s->n_targets; i++)
    {
      const DlenTarget *t = &s->targets[i];
      if (!name_ok (t->name))
        return _dlen_fail (DLEN_STATUS_INVALID, "target %u has no valid name", i);
      if (t->kind != DLEN_TARGET_BINARY && t->kind != DLEN_TARGET_DURATION)
        return _dlen_fail (DLEN_STATUS_INVALID, "target '%s' has an unknown kind", t->name);
      if (t->polarity < DLEN_POLARITY_NEUTRAL || t->polarity > DLEN_POLARITY_NEGATIVE)
        return _dlen_fail (DLEN_STATUS_INVALID, "target '%s' has an unknown polarity", t->name);
      if (!(t->weight >= 0.0f) || !isfinite (t->weight))
        return _dlen_fail (DLEN_STATUS_INVALID, "target '%s' has weight %g (must be >= 0)",
                           t->name, (double) t->weight);
      if (t->weak_source && (t->kind != DLEN_TARGET_BINARY || t->polarity == DLEN_POLARITY_NEUTRAL))
        return _dlen_fail (DLEN_STATUS_INVALID,
                           "target '%s' cannot give weak emotion labels (needs a binary target "
                           "of positive or negative polarity)", t->name);
      for (uint32_t j = 0; j < i; j++)
        if (strcmp (t->name, s->targets[j].name) == 0)
          return _dlen_fail (DLEN_STATUS_INVALID, "target '%s' appears twice", t->name);
    }
  return DLEN_STATUS_OK;
}

uint64_t
dlen_hash_value (uint32_t field, const void *bytes, size_t len)
{
  /* FNV-1a over the bytes seeded by the field, then a murmur3 finaliser to spread the low bits
   * that the bucket modulo uses. Frozen: model files depend on it. */
  const unsigned char *p = bytes;
  uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t) field * 0x9e3779b97f4a7c15ULL);
  for (size_t i = 0; i < len; i++)
    {
      h ^= p[i];
      h *= 0x100000001b3ULL;
    }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

DlenDataset *
dlen_dataset_new (const DlenSchema *schema)
{
  DlenDataset *ds;
  if (dlen_schema_validate (schema) != DLEN_STATUS_OK)
    return NULL;
  ds = calloc (1, sizeof *ds);
  if (!ds)
    return NULL;
  ds->schema = *schema;
  return ds;
}

void
dlen_dataset_free (DlenDataset *ds)
{
  if (!ds)
    return;
  free (ds->groups);
  free (ds->times);
  free (ds->days);
  free (ds->cat);
  free (ds->num);
  free (ds->labels);
  free (ds->truth);
  free (ds);
}

static int
grow (void **p, size_t cap, size_t elem)
{
  void *q;
  if (elem == 0)
    return 1;
  q = realloc (*p, cap * elem);
  if (!q)
    return 0;
  *p = q;
  return 1;
}

/* Room for one more row in every column. */
static DlenStatus
reserve_row (DlenDataset *ds)
{
  const DlenSchema *s = &ds->schema;
  size_t cap;
  if (ds->n_rows < ds->capacity)
    return DLEN_STATUS_OK;
  cap = ds->capacity ? ds->capacity * 2 : 4096;
  if (!grow ((void **) &ds->groups, cap, sizeof (uint64_t))
      || !grow ((void **) &ds->times, cap, sizeof (int64_t))
      || !grow ((void **) &ds->days, cap, sizeof (int32_t))
      || !grow ((void **) &ds->cat, cap, s->n_cat * sizeof (uint64_t))
      || !grow ((void **) &ds->num, cap, s->n_num * sizeof (float))
      || !grow ((void **) &ds->labels, cap, s->n_targets * sizeof (float))
      || (ds->truth && !grow ((void **) &ds->truth, cap, sizeof (float))))
    return _dlen_fail (DLEN_STATUS_NOMEM, "cannot grow the dataset to %zu rows", cap);
  ds->capacity = cap;
  return DLEN_STATUS_OK;
}

DlenStatus
dlen_dataset_append (DlenDataset *ds, const DlenRow *row)
{
  const DlenSchema *s;
  size_t n;
  if (!ds || !row)
    return _dlen_fail (DLEN_STATUS_INVALID, "dataset or row is NULL");
  s = &ds->schema;
  if (reserve_row (ds) != DLEN_STATUS_OK)
    return DLEN_STATUS_NOMEM;
  n = ds->n_rows;
  for (uint32_t t = 0; t < s->n_targets; t++)
    {
      float y = row->labels[t];
      if (isnan (y))
        continue;
      if (s->targets[t].kind == DLEN_TARGET_BINARY && y != 0.0f && y != 1.0f)
        return _dlen_fail (DLEN_STATUS_DATA, "target '%s' has label %g (must be 0 or 1)",
                           s->targets[t].name, (double) y);
      if (s->targets[t].kind == DLEN_TARGET_DURATION && (!(y >= 0.0f) || isinf (y)))
        return _dlen_fail (DLEN_STATUS_DATA, "target '%s' has duration %g (must be finite, >= 0)",
                           s->targets[t].name, (double) y);
    }
  for (uint32_t j = 0; j < s->n_num; j++)
    if (isinf (row->num[j]))
      return _dlen_fail (DLEN_STATUS_DATA, "numeric field '%s' is infinite", s->num[j].name);
  ds->groups[n] = row->group;
  ds->times[n] = row->time_ms;
  ds->days[n] = row->day;
  if (s->n_cat)
    memcpy (ds->cat + n * s->n_cat, row->cat, s->n_cat * sizeof (uint64_t));
  if (s->n_num)
    memcpy (ds->num + n * s->n_num, row->num, s->n_num * sizeof (float));
  memcpy (ds->labels + n * s->n_targets, row->labels, s->n_targets * sizeof (float));
  if (ds->truth)
    ds->truth[n] = NAN;
  ds->n_rows++;
  return DLEN_STATUS_OK;
}

DlenStatus
dlen_dataset_append_from (DlenDataset *ds, const DlenDataset *src, size_t row)
{
  const DlenSchema *s;
  size_t n;
  if (!ds || !src || row >= src->n_rows || ds->schema.n_cat != src->schema.n_cat
      || ds->schema.n_num != src->schema.n_num || ds->schema.n_targets != src->schema.n_targets)
    return _dlen_fail (DLEN_STATUS_INVALID, "cannot copy row %zu between datasets of different layouts", row);
  s = &ds->schema;
  if (src->truth && !ds->truth && dlen_dataset_set_truth (ds, SIZE_MAX, NAN) != DLEN_STATUS_OK)
    return DLEN_STATUS_NOMEM;
  if (reserve_row (ds) != DLEN_STATUS_OK)
    return DLEN_STATUS_NOMEM;
  n = ds->n_rows;
  ds->groups[n] = src->groups[row];
  ds->times[n] = src->times[row];
  ds->days[n] = src->days[row];
  if (s->n_cat)   /* a column with no fields has no memory */
    memcpy (ds->cat + n * s->n_cat, src->cat + row * s->n_cat, s->n_cat * sizeof (uint64_t));
  if (s->n_num)
    memcpy (ds->num + n * s->n_num, src->num + row * s->n_num, s->n_num * sizeof (float));
  memcpy (ds->labels + n * s->n_targets, src->labels + row * s->n_targets, s->n_targets * sizeof (float));
  if (ds->truth)
    ds->truth[n] = src->truth ? src->truth[row] : NAN;
  ds->n_rows++;
  return DLEN_STATUS_OK;
}

void
dlen_dataset_clear (DlenDataset *ds)
{
  if (ds)
    ds->n_rows = 0;
}

DlenStatus
dlen_dataset_set_truth (DlenDataset *ds, size_t row, float truth)
{
  if (!ds || (row != SIZE_MAX && row >= ds->n_rows))
    return _dlen_fail (DLEN_STATUS_INVALID, "row %zu is out of range", row);
  if (!ds->truth)
    {
      ds->truth = malloc ((ds->capacity + 1) * sizeof (float));
      if (!ds->truth)
        return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the truth column");
      for (size_t i = 0; i < ds->n_rows; i++)
        ds->truth[i] = NAN;
    }
  if (row != SIZE_MAX)
    ds->truth[row] = truth;
  return DLEN_STATUS_OK;
}

const float *dlen_dataset_truth (const DlenDataset *ds) { return ds ? ds->truth : NULL; }

size_t dlen_dataset_n_rows (const DlenDataset *ds) { return ds ? ds->n_rows : 0; }
const DlenSchema *dlen_dataset_schema (const DlenDataset *ds) { return &ds->schema; }
const float *dlen_dataset_labels (const DlenDataset *ds) { return ds->labels; }
const uint64_t *dlen_dataset_groups (const DlenDataset *ds) { return ds->groups; }
const int64_t *dlen_dataset_times (const DlenDataset *ds) { return ds->times; }
const int32_t *dlen_dataset_days (const DlenDataset *ds) { return ds->days; }
const uint64_t *_dlen_dataset_cat (const DlenDataset *ds) { return ds->cat; }
const float *_dlen_dataset_num (const DlenDataset *ds) { return ds->num; }

DlenStatus
dlen_dataset_set_buckets (DlenDataset *ds, uint32_t field, uint32_t buckets)
{
  if (!ds || field >= ds->schema.n_cat || buckets == 0 || buckets > (1u << 26))
    return _dlen_fail (DLEN_STATUS_INVALID, "invalid field or bucket count (1..2^26)");
  ds->schema.cat[field].buckets = buckets;
  return DLEN_STATUS_OK;
}

DlenStatus
dlen_dataset_set_target_weight (DlenDataset *ds, uint32_t target, float weight)
{
  if (!ds || target >= ds->schema.n_targets || !(weight >= 0.0f) || !isfinite (weight))
    return _dlen_fail (DLEN_STATUS_INVALID, "invalid target or weight (finite, >= 0)");
  ds->schema.targets[target].weight = weight;
  return DLEN_STATUS_OK;
}

int
_dlen_weak_label (const DlenSchema *s, const float *labels)
{
  int pos = 0, neg = 0;
  for (uint32_t t = 0; t < s->n_targets; t++)
    if (s->targets[t].weak_source && labels[t] == 1.0f)
      {
        if (s->targets[t].polarity == DLEN_POLARITY_POSITIVE)
          pos = 1;
        else
          neg = 1;
      }
  if (pos == neg)
    return -1;
  return pos ? 1 : 0;
}

int
dlen_dataset_weak_label (const DlenDataset *ds, size_t row)
{
  return _dlen_weak_label (&ds->schema, ds->labels + row * ds->schema.n_targets);
}

static int
cmp_day (const void *a, const void *b)
{
  int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
  return x < y ? -1 : x > y;
}

int32_t
dlen_dataset_day_quantile (const DlenDataset *ds, double q)
{
  int32_t *days, day;
  size_t k;
  if (!ds || ds->n_rows == 0 || !(q >= 0.0 && q <= 1.0))
    return 0;
  days = malloc (ds->n_rows * sizeof (int32_t));
  if (!days)
    return 0;
  memcpy (days, ds->days, ds->n_rows * sizeof (int32_t));
  qsort (days, ds->n_rows, sizeof (int32_t), cmp_day);
  k = (size_t) (q * (double) ds->n_rows);
  day = days[k < ds->n_rows ? k : ds->n_rows - 1];
  free (days);
  return day;
}

typedef struct { int64_t t; size_t i; } TimedRow;

static int
cmp_timed (const void *a, const void *b)
{
  const TimedRow *x = a, *y = b;
  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* Sorts @idx by (time, index) without global state, so splits may run on any thread. */
static int
sort_by_time (const int64_t *times, size_t *idx, size_t n)
{
  TimedRow *tmp = malloc ((n + 1) * sizeof *tmp);
  if (!tmp)
    return 0;
  for (size_t k = 0; k < n; k++)
    tmp[k] = (TimedRow) { times[idx[k]], idx[k] };
  qsort (tmp, n, sizeof *tmp, cmp_timed);
  for (size_t k = 0; k < n; k++)
    idx[k] = tmp[k].i;
  free (tmp);
  return 1;
}

void
dlen_split_clear (DlenSplit *split)
{
  if (!split)
    return;
  free (split->train);
  free (split->valid);
  free (split->test);
  memset (split, 0, sizeof *split);
}

DlenStatus
dlen_dataset_split (const DlenDataset *ds, int32_t split_day, double valid_fraction, DlenSplit *split)
{
  size_t n, n_train = 0, n_test = 0, n_valid;
  size_t *train, *test;
  if (!ds || !split || !(valid_fraction >= 0.0 && valid_fraction < 1.0))
    return _dlen_fail (DLEN_STATUS_INVALID, "split needs a dataset and a validation fraction in [0, 1)");
  memset (split, 0, sizeof *split);
  n = ds->n_rows;
  train = malloc ((n + 1) * sizeof (size_t));
  test = malloc ((n + 1) * sizeof (size_t));
  if (!train || !test)
    {
      free (train);
      free (test);
      return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the split");
    }
  for (size_t i = 0; i < n; i++)
    {
      if (split_day <= 0 || ds->days[i] < split_day)
        train[n_train++] = i;
      else
        test[n_test++] = i;
    }
  if (!sort_by_time (ds->times, train, n_train) || !sort_by_time (ds->times, test, n_test))
    {
      free (train);
      free (test);
      return _dlen_fail (DLEN_STATUS_NOMEM, "cannot sort the split");
    }
  n_valid = (size_t) floor (valid_fraction * (double) n_train);
  split->valid = malloc ((n_valid + 1) * sizeof (size_t));
  if (!split->valid)
    {
      free (train);
      free (test);
      return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the split");
    }
  memcpy (split->valid, train + (n_train - n_valid), n_valid * sizeof (size_t));
  split->n_valid = n_valid;
  split->train = train;
  split->n_train = n_train - n_valid;
  split->test = test;
  split->n_test = n_test;
  return DLEN_STATUS_OK;
}
