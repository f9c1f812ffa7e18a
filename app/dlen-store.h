/* dlen-store.h: projects: one SQLite file holding impression logs, column roles, import
 * provenance and rejects, derived history features, trained models and cached predictions. */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>
#include "dlen-loader.h"

G_BEGIN_DECLS

#define DLEN_STORE_SCHEMA_VERSION 4

/* One connection to a project. Use a store from one thread at a time; open another store on
 * the same file for another thread (WAL lets readers run beside one writer). */
typedef struct _DlenStore DlenStore;

/* Opens @path, creating an empty project when @create and the file does not exist, and
 * migrating an older schema. Refuses files that are not DLEN projects or are newer than this
 * build. */
DlenStore *dlen_store_open (const char *path, gboolean create, GError **error);
void dlen_store_free (DlenStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenStore, dlen_store_free)

sqlite3 *dlen_store_db (DlenStore *store);
const char *dlen_store_path (DlenStore *store);

/* Long queries poll @cancellable (through SQLite's progress handler) and stop with
 * G_IO_ERROR_CANCELLED when it fires. NULL removes it. */
void dlen_store_set_cancellable (DlenStore *store, GCancellable *cancellable);

/* True when @path starts with the SQLite file header (a project rather than a log). */
gboolean dlen_store_is_project_file (const char *path);

/* ---- Import ------------------------------------------------------------------------------ */

typedef struct {
  DlenLoadOptions load;        /* preset, mapping, side features, strict */
  guint session_gap_minutes;   /* split sessions on this gap when the log has none (30) */
  guint request_size;          /* impressions per request when the log has none (10) */
  gsize stage_limit;           /* bytes of converted rows kept between the two passes; past it
                                * the second pass reads the log again (256 MiB) */
  gboolean one_reader;         /* read the log with the importing thread only (else a second
                                * thread reads its second half, on two cores and 1 MiB or more) */
} DlenImportOptions;

void dlen_import_options_init (DlenImportOptions *options);

typedef struct {
  gint64 import_id;
  guint64 rows_read, rows_accepted, rows_rejected;
  char *first_reject;          /* "file:line:column: reason" of the first skipped row */
  guint readers;               /* threads that read the log's rows (1 or 2) */
} DlenImportReport;

void dlen_import_report_clear (DlenImportReport *report);

/* Called about every 4,096 rows and at the end, from the importing thread. */
typedef void (*DlenImportProgressFunc) (guint64 bytes_done, guint64 bytes_total, guint64 rows, gpointer user_data);

/* Imports @path in one transaction: every accepted row, a provenance row (path, size, sha256,
 * counts, times), one import_rejects row per skipped row, then the derived history features of
 * the users it touched. Strict mode, a cancel, a full disk or any failure roll the whole import
 * back, leaving the project exactly as before. A file whose sha256 was imported before is
 * refused (re-importing the same log would double every impression). On two cores a log of
 * 1 MiB or more is read by two threads (see DlenImportOptions.one_reader), with the same
 * outcome. A project's first import runs under a rollback journal and turns the project to WAL
 * once committed. */
gboolean dlen_store_import (DlenStore *store, const char *path, const DlenImportOptions *options,
                            DlenImportProgressFunc progress, gpointer user_data,
                            GCancellable *cancellable, DlenImportReport *report, GError **error);

/* Creates the project @project (no file of that name may exist) with @path as its first import,
 * as dlen_store_import would, or leaves no project at all: it is built as PROJECT.partial, synced
 * once and renamed into place, so that a failure, a cancel or a killed process leaves nothing
 * under @project (a killed process leaves PROJECT.partial, which the next import of @project
 * takes over). G_IO_ERROR_BUSY when another import is creating @project. */
gboolean dlen_store_import_new (const char *project, const char *path, const DlenImportOptions *options,
                                DlenImportProgressFunc progress, gpointer user_data,
                                GCancellable *cancellable, DlenImportReport *report, GError **error);

/* ---- Reading ------------------------------------------------------------------------------ */

/* The project's feature schema (no bucket sizes) and its preset; FALSE with an error when
 * nothing was imported yet. With @history the derived history features are added as numeric
 * fields. */
gboolean dlen_store_schema (DlenStore *store, gboolean history, DlenSchema *schema, char **preset, GError **error);

/* TRUE when @schema (a model's) includes the derived history features, i.e. it was trained
 * with them and its data must be loaded with them. */
gboolean dlen_schema_has_history (const DlenSchema *schema);

/* The impressions read chunk by chunk (streaming: memory holds one chunk, not the log). Chunk c
 * is the impressions with ids in [first + c * DLEN_CHUNK_ROWS, first + (c + 1) * DLEN_CHUNK_ROWS),
 * in id (import) order; with @model_schema (a trained model's) the project's fields must match
 * it and its bucket counts are used. With @history the derived history features are read. */
typedef struct _DlenStoreReader DlenStoreReader;
DlenStoreReader *dlen_store_reader_new (DlenStore *store, gboolean history, const DlenSchema *model_schema,
                                        GError **error);
void dlen_store_reader_free (DlenStoreReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenStoreReader, dlen_store_reader_free)
const DlenSchema *dlen_store_reader_schema (const DlenStoreReader *reader);  /* buckets 1 unless a model's */
const char *dlen_store_reader_preset (const DlenStoreReader *reader);
gsize dlen_store_reader_n_chunks (const DlenStoreReader *reader);
/* Appends chunk @chunk's rows to @out (with their true emotion when the log has one), their
 * impression ids (guint64) to @ids and source lines (guint64) to @lines when given. */
gboolean dlen_store_reader_read (DlenStoreReader *reader, gsize chunk, DlenDataset *out, GArray *ids, GArray *lines,
                                 GError **error);

/* ---- Models and predictions ---------------------------------------------------------------- */

/* Saves @model with its metrics and history (JSON texts) and returns its id. */
gint64 dlen_store_add_model (DlenStore *store, DlenModel *model, const char *name, const char *metrics_json,
                             const char *history_json, GError **error);
DlenModel *dlen_store_load_model (DlenStore *store, gint64 model_id, GError **error);
/* Deletes model @model_id and (by cascade) its cached predictions, in one transaction: long for
 * a model with millions of cached predictions, so a workbench runs it on a thread of its own.
 * DLEN_ERROR_DATA when there is no such model. */
gboolean dlen_store_delete_model (DlenStore *store, gint64 model_id, GError **error);
/* Replacing the cached predictions of @model_id, chunk by chunk in one transaction: begin
 * (drops the old ones), add (row i of @pred, n_targets + 1 floats, belongs to impression
 * ids[i]) as often as needed, then end, which commits when @commit and rolls back otherwise. */
gboolean dlen_store_predictions_begin (DlenStore *store, gint64 model_id, GError **error);
gboolean dlen_store_predictions_add (DlenStore *store, gint64 model_id, const GArray *ids, const float *pred,
                                     guint width, GError **error);
gboolean dlen_store_predictions_end (DlenStore *store, gboolean commit, GError **error);

/* ---- Summary ------------------------------------------------------------------------------- */

typedef struct {
  char *name;
  char *polarity;              /* "positive", "negative" or "neutral"; NULL for a duration */
  gboolean duration;           /* a duration target (value: mean seconds), else binary (rate) */
  gboolean weak;               /* a weak emotion label */
  gboolean has;                /* any impression labelled */
  double value;
  gint64 labelled;             /* impressions with the label */
} DlenSummaryTarget;

typedef struct {
  gint64 id, size, started_ms, finished_ms, rows_read, rows_accepted, rows_rejected;
  char *source, *sha256, *preset;
  char *user_features, *user_features_sha256, *item_features, *item_features_sha256;   /* NULL: none */
} DlenSummaryImport;

/* What a project holds, from one pass over its impressions (Data page, `dlen info`). */
typedef struct {
  gint64 impressions, users, items, sessions, requests, first_ms, last_ms, first_day, last_day, rejects;
  GPtrArray *categorical, *numeric;   /* field names */
  GPtrArray *targets;          /* DlenSummaryTarget */
  GPtrArray *imports;          /* DlenSummaryImport, in order */
} DlenProjectSummary;

/* NULL with @error set on failure, or when the store's cancellable fires. */
DlenProjectSummary *dlen_store_summarize (DlenStore *store, GError **error);
void dlen_project_summary_free (DlenProjectSummary *summary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenProjectSummary, dlen_project_summary_free)

/* A JSON object summarising the project (rows, users, items, time span, label rates, imports,
 * rejects, models). */
char *dlen_store_info_json (DlenStore *store, GError **error);

G_END_DECLS
