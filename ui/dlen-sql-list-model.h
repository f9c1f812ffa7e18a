/* dlen-sql-list-model.h: a GListModel over an SQLite query that fetches its rows lazily, a page
 * at a time, so a GtkColumnView of a million impressions only ever reads the rows on screen. */
#pragma once

#include <gio/gio.h>
#include "dlen-project.h"

G_BEGIN_DECLS

/* ---- Rows ------------------------------------------------------------------------------------ */

#define DLEN_TYPE_TABLE_ROW (dlen_table_row_get_type ())
G_DECLARE_FINAL_TYPE (DlenTableRow, dlen_table_row, DLEN, TABLE_ROW, GObject)

/* A row of a table as display strings. Takes @values (a NULL-terminated array of @n strings). */
DlenTableRow *dlen_table_row_new_take (char **values);
/* The text of column @i ("" past the end); owned by the row. */
const char *dlen_table_row_get_value (DlenTableRow *row, guint i);
guint dlen_table_row_get_n_values (DlenTableRow *row);

/* ---- Model ----------------------------------------------------------------------------------- */

/* How a selected column becomes text. */
typedef enum {
  DLEN_SQL_TEXT,        /* as stored; NULL is "" */
  DLEN_SQL_NUMBER,      /* integers as such, reals with up to 6 significant digits */
  DLEN_SQL_TIME_MS,     /* epoch milliseconds as "YYYY-MM-DD HH:MM:SS" (UTC) */
  DLEN_SQL_SECONDS,     /* a duration in seconds, "12.3 s" */
  DLEN_SQL_BASENAME,    /* a path, shown as its last component */
} DlenSqlFormat;

#define DLEN_TYPE_SQL_LIST_MODEL (dlen_sql_list_model_get_type ())
G_DECLARE_FINAL_TYPE (DlenSqlListModel, dlen_sql_list_model, DLEN, SQL_LIST_MODEL, GObject)

/* Rows per page: one page is one query. */
#define DLEN_SQL_LIST_MODEL_PAGE_SIZE 256
/* Pages kept, least recently used dropped first. */
#define DLEN_SQL_LIST_MODEL_CACHED_PAGES 8

/* A model of the rows of @table (e.g. "impressions i"), ordered by the integer @key (e.g.
 * "i.id"), showing the @n_columns expressions of @columns (an SQL select list, e.g. "i.line,
 * u.key") read from @from (@table with any joins, e.g. "impressions i JOIN users u ON ..."),
 * each formatted as @formats says. With @filter_column (of @table, e.g. "r.import_id"), only
 * the rows where it equals @filter_value; NULL for every row. All SQL text comes from the
 * program, never from user data; values are bound. The model reads the project's main-thread
 * connection, so use it on the main thread, and keeps a reference to @project. Items are
 * DlenTableRow objects.
 *
 * Construction counts the rows (count(*) over the smallest index, min and max of the key); when
 * the keys have gaps it also records the first key of every page in one pass over the key
 * index. get_item() then costs one indexed range query per page of DLEN_SQL_LIST_MODEL_PAGE_SIZE
 * rows that is not among the DLEN_SQL_LIST_MODEL_CACHED_PAGES most recently used. */
DlenSqlListModel *dlen_sql_list_model_new (DlenProject *project, const char *table, const char *from,
                                           const char *key, const char *columns, guint n_columns,
                                           const DlenSqlFormat *formats, const char *filter_column,
                                           gint64 filter_value, GError **error);

/* Counts the rows again and drops cached pages, emitting items-changed over the whole range.
 * GTK 4.8's list views answer such a signal by asking for every added item, which is a full
 * read of the table: for a model shown in a view, make a new model and swap it in instead. */
void dlen_sql_list_model_reload (DlenSqlListModel *model);

guint dlen_sql_list_model_get_n_columns (DlenSqlListModel *model);

/* Statistics for tests and tuning: page queries run and rows fetched since creation. */
guint64 dlen_sql_list_model_get_pages_fetched (DlenSqlListModel *model);
/* TRUE when the keys are contiguous (pages are key ranges computed from the position); FALSE
 * when the model keeps the first key of every page (built with one scan at reload). */
gboolean dlen_sql_list_model_get_contiguous (DlenSqlListModel *model);

G_END_DECLS
