/* dlen-rows.h: the rows a training or evaluation reads, chunk by chunk: a log loaded into memory
 * or a project's impressions streamed from SQLite, behind one engine source with a time split. */
#pragma once

#include <glib.h>
#include "dlen-loader.h"
#include "dlen-store.h"

G_BEGIN_DECLS

/* Progress of a pass over the rows: what is being done and the fraction of chunks read. */
typedef void (*DlenRowsProgress) (const char *phase, double fraction, gpointer user_data);

typedef struct {
  DlenSource source;           /* the engine's view; source.rule points at rule */
  DlenSplitRule rule;          /* every row is TRAIN until dlen_rows_split() */
  DlenSchema schema;           /* a new model's fields: table sizes (after the scan), task weights */
  char *preset;
  char *path;                  /* the log or project, for messages */
  DlenLoadedData *data;        /* a log in memory, or NULL */
  DlenStoreReader *reader;     /* a project's impressions, or NULL */
  DlenSourceScan *scan;        /* after dlen_rows_scan() */
  gboolean sized;              /* the schema's bucket counts are final */
  GError *read_error;          /* why the last chunk could not be read */
  const char *phase;           /* the pass being made, reported per chunk while set */
  DlenRowsProgress progress;
  gpointer progress_data;
} DlenRows;

/* Takes @data. Its bucket counts are those the loader sized (or the model's). */
DlenRows *dlen_rows_new_for_data (DlenLoadedData *data);
/* Streams @store's impressions (the store must outlive the rows). Without @model_schema the
 * tables are sized from the distinct values by dlen_rows_scan(). */
DlenRows *dlen_rows_new_for_store (DlenStore *store, gboolean history, const DlenSchema *model_schema,
                                   GError **error);
void dlen_rows_free (DlenRows *rows);
/* Reports each chunk read while a phase is set: a phase is one pass over the chunks in order and
 * ends with the last (dlen_training_run sets them for its preparation passes); called from the
 * reading thread. */
void dlen_rows_set_progress (DlenRows *rows, DlenRowsProgress progress, gpointer user_data);
void dlen_rows_set_phase (DlenRows *rows, const char *phase);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenRows, dlen_rows_free)

/* One pass over the rows: days (and distinct values when sizing tables). Idempotent. */
gboolean dlen_rows_scan (DlenRows *rows, DlenAbortFunc abort, void *user_data, GError **error);
/* The preset's documented split, else the day where the last ~15 % of rows begin (scan first). */
gint32 dlen_rows_default_split_day (const DlenRows *rows);
/* The day that leaves about @fraction of the rows for testing (scan first). */
gint32 dlen_rows_test_fraction_day (const DlenRows *rows, double fraction);

/* Sets the rule: test from @split_day (0: no test rows), validation the latest ~@valid_fraction
 * of the rows before it. @counts (may be NULL) receives the rows per DlenPart. Scans first
 * when needed. */
gboolean dlen_rows_split (DlenRows *rows, gint32 split_day, double valid_fraction, guint64 counts[4],
                          GError **error);

/* Metrics of @model on the rows of @part (@n: their count), on at most @max_rows of them (0: all). */
gboolean dlen_rows_evaluate (DlenRows *rows, DlenModel *model, DlenPart part, guint64 n, guint64 max_rows,
                             DlenAbortFunc abort, void *user_data, DlenMetrics *metrics, GError **error);

/* Sets @error for a failed engine call over the rows (the read's own error when a chunk failed
 * to read); returns FALSE. */
gboolean dlen_rows_fail (DlenRows *rows, int status, const char *what, GError **error);

G_END_DECLS
