/* dlen-rows.c: one engine source over a log in memory or a project streamed from SQLite. */
#include <stdint.h>
#include "dlen-error.h"
#include "dlen-rows.h"

static DlenRows *
rows_new (const DlenSchema *schema, const char *preset, const char *path)
{
  DlenRows *r = g_new0 (DlenRows, 1);
  r->schema = *schema;
  r->preset = g_strdup (preset);
  r->path = g_strdup (path);
  r->rule.split_day = 0;
  r->rule.valid_from_ms = INT64_MAX;
  return r;
}

/* A phase is one pass over the chunks in order: it ends with the last chunk. */
static void
report_chunk (DlenRows *r, size_t c)
{
  if (r->phase && r->progress)
    r->progress (r->phase, (double) (c + 1) / (double) MAX (r->source.n_chunks, 1), r->progress_data);
  if (c + 1 >= r->source.n_chunks)
    r->phase = NULL;
}

void
dlen_rows_set_progress (DlenRows *r, DlenRowsProgress progress, gpointer user_data)
{
  r->progress = progress;
  r->progress_data = user_data;
}

void
dlen_rows_set_phase (DlenRows *r, const char *phase)
{
  r->phase = phase;
}

/* The in-memory source, reporting progress like the project's. */
static DlenStatus
memory_read (const DlenSource *src, size_t c, DlenDataset *out, uint8_t *parts)
{
  DlenRows *r = src->user_data;
  DlenSource inner;
  DlenStatus st;
  dlen_dataset_source (r->data->dataset, &r->rule, &inner);
  st = inner.read (&inner, c, out, parts);
  report_chunk (r, c);
  return st;
}

DlenRows *
dlen_rows_new_for_data (DlenLoadedData *data)
{
  DlenRows *r = rows_new (dlen_dataset_schema (data->dataset), data->preset, NULL);
  r->data = data;
  r->sized = TRUE;
  dlen_dataset_source (data->dataset, &r->rule, &r->source);
  r->source.read = memory_read;
  r->source.user_data = r;
  return r;
}

/* Reads chunk @c of the project and sorts its rows into the parts of the rule. */
static DlenStatus
store_read (const DlenSource *src, size_t c, DlenDataset *out, uint8_t *parts)
{
  DlenRows *r = src->user_data;
  size_t first = dlen_dataset_n_rows (out);
  const int32_t *days;
  const int64_t *times;
  g_clear_error (&r->read_error);
  if (!dlen_store_reader_read (r->reader, c, out, NULL, NULL, &r->read_error))
    return g_error_matches (r->read_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? DLEN_STATUS_CANCELLED : DLEN_STATUS_IO;
  days = dlen_dataset_days (out);
  times = dlen_dataset_times (out);
  for (size_t i = first; i < dlen_dataset_n_rows (out); i++)
    parts[i - first] = (uint8_t) dlen_split_rule_part (src->rule, days[i], times[i]);
  report_chunk (r, c);
  return DLEN_STATUS_OK;
}

DlenRows *
dlen_rows_new_for_store (DlenStore *store, gboolean history, const DlenSchema *model_schema, GError **error)
{
  DlenStoreReader *reader = dlen_store_reader_new (store, history, model_schema, error);
  DlenRows *r;
  if (!reader)
    return NULL;
  r = rows_new (dlen_store_reader_schema (reader), dlen_store_reader_preset (reader), dlen_store_path (store));
  r->reader = reader;
  r->sized = model_schema != NULL;
  r->source.schema = dlen_store_reader_schema (reader);
  r->source.n_chunks = dlen_store_reader_n_chunks (reader);
  r->source.read = store_read;
  r->source.user_data = r;
  r->source.rule = &r->rule;
  return r;
}

void
dlen_rows_free (DlenRows *r)
{
  if (!r)
    return;
  dlen_source_scan_free (r->scan);
  dlen_store_reader_free (r->reader);
  dlen_loaded_data_free (r->data);
  g_clear_error (&r->read_error);
  g_free (r->preset);
  g_free (r->path);
  g_free (r);
}

gboolean
dlen_rows_fail (DlenRows *r, int status, const char *what, GError **error)
{
  if (r->read_error)
    {
      g_propagate_error (error, g_steal_pointer (&r->read_error));
      return FALSE;
    }
  return dlen_set_error_from_status (error, status, what);
}

gboolean
dlen_rows_scan (DlenRows *r, DlenAbortFunc abort, void *user_data, GError **error)
{
  int st;
  if (r->scan)
    return TRUE;
  st = dlen_source_scan (&r->source, !r->sized, abort, user_data, &r->scan);
  if (st != DLEN_STATUS_OK)
    return dlen_rows_fail (r, st, "reading the rows", error);
  if (dlen_source_scan_rows (r->scan) == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: no rows", r->path ? r->path : "the log");
      return FALSE;
    }
  if (!r->sized)
    for (guint i = 0; i < r->schema.n_cat; i++)
      r->schema.cat[i].buckets = dlen_buckets_for (dlen_source_scan_distinct (r->scan, i));
  r->sized = TRUE;
  return TRUE;
}

gint32
dlen_rows_default_split_day (const DlenRows *r)
{
  gint32 day = dlen_preset_split_day (r->preset);
  return day ? day : dlen_source_scan_day_quantile (r->scan, 0.85);
}

gint32
dlen_rows_test_fraction_day (const DlenRows *r, double fraction)
{
  return dlen_source_scan_day_quantile (r->scan, 1.0 - fraction);
}

gboolean
dlen_rows_split (DlenRows *r, gint32 split_day, double valid_fraction, guint64 counts[4], GError **error)
{
  guint64 mine[4];
  int st;
  if (!dlen_rows_scan (r, NULL, NULL, error))
    return FALSE;
  st = dlen_source_split (&r->source, r->scan, split_day, valid_fraction, &r->rule, counts ? counts : mine);
  return st == DLEN_STATUS_OK || dlen_rows_fail (r, st, "split", error);
}

gboolean
dlen_rows_evaluate (DlenRows *r, DlenModel *model, DlenPart part, guint64 n, guint64 max_rows, DlenAbortFunc abort,
                    void *user_data, DlenMetrics *mt, GError **error)
{
  int st = dlen_model_evaluate_source (model, &r->source, part, n, max_rows, abort, user_data, mt);
  return st == DLEN_STATUS_OK || dlen_rows_fail (r, st, "evaluation", error);
}
