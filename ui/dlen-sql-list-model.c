/* dlen-sql-list-model.c: a lazily paged GListModel over SQLite, and the row objects it hands out. */
#include <math.h>
#include "dlen-sql-list-model.h"

/* ---- Rows ------------------------------------------------------------------------------------ */

struct _DlenTableRow {
  GObject parent_instance;
  char **values;
  guint n_values;
};

G_DEFINE_FINAL_TYPE (DlenTableRow, dlen_table_row, G_TYPE_OBJECT)

static void
dlen_table_row_finalize (GObject *object)
{
  g_strfreev (DLEN_TABLE_ROW (object)->values);
  G_OBJECT_CLASS (dlen_table_row_parent_class)->finalize (object);
}

static void
dlen_table_row_class_init (DlenTableRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dlen_table_row_finalize;
}

static void
dlen_table_row_init (DlenTableRow *self)
{
}

DlenTableRow *
dlen_table_row_new_take (char **values)
{
  DlenTableRow *self = g_object_new (DLEN_TYPE_TABLE_ROW, NULL);
  self->values = values;
  self->n_values = values ? g_strv_length (values) : 0;
  return self;
}

const char *
dlen_table_row_get_value (DlenTableRow *self, guint i)
{
  return i < self->n_values ? self->values[i] : "";
}

guint
dlen_table_row_get_n_values (DlenTableRow *self)
{
  return self->n_values;
}

/* ---- Model ----------------------------------------------------------------------------------- */

#define PAGE DLEN_SQL_LIST_MODEL_PAGE_SIZE

typedef struct {
  guint index;          /* page number; G_MAXUINT when the slot is free */
  guint64 used;         /* last use, for LRU */
  GPtrArray *rows;      /* DlenTableRow */
} CachedPage;

struct _DlenSqlListModel {
  GObject parent_instance;

  DlenProject *project;
  sqlite3 *db;
  char *table, *from, *key, *columns;
  guint n_columns;
  DlenSqlFormat *formats;
  char *filter_column;
  gint64 filter_value;

  guint n_items;
  gboolean contiguous;  /* keys run min_key .. min_key + n_items - 1 without gaps */
  gint64 min_key;
  GArray *page_keys;    /* gint64: the first key of every page, when not contiguous */
  sqlite3_stmt *page_stmt;
  CachedPage cache[DLEN_SQL_LIST_MODEL_CACHED_PAGES];
  guint64 clock;
  guint64 pages_fetched;
};

static void dlen_sql_list_model_list_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DlenSqlListModel, dlen_sql_list_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, dlen_sql_list_model_list_init))

static void
clear_cache (DlenSqlListModel *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->cache); i++)
    {
      g_clear_pointer (&self->cache[i].rows, g_ptr_array_unref);
      self->cache[i].index = G_MAXUINT;
      self->cache[i].used = 0;
    }
}

static void
dlen_sql_list_model_finalize (GObject *object)
{
  DlenSqlListModel *self = DLEN_SQL_LIST_MODEL (object);
  clear_cache (self);
  sqlite3_finalize (self->page_stmt);
  g_clear_pointer (&self->page_keys, g_array_unref);
  g_free (self->table);
  g_free (self->from);
  g_free (self->key);
  g_free (self->columns);
  g_free (self->formats);
  g_free (self->filter_column);
  g_clear_object (&self->project);
  G_OBJECT_CLASS (dlen_sql_list_model_parent_class)->finalize (object);
}

static void
dlen_sql_list_model_class_init (DlenSqlListModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dlen_sql_list_model_finalize;
}

static void
dlen_sql_list_model_init (DlenSqlListModel *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->cache); i++)
    self->cache[i].index = G_MAXUINT;
}

static gboolean
sql_error (DlenSqlListModel *self, GError **error, const char *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, sqlite3_errmsg (self->db));
  return FALSE;
}

/* The WHERE clause of the filter ("" without one); its value is always parameter ?9. */
static char *
filter_clause (DlenSqlListModel *self, const char *glue)
{
  return self->filter_column ? g_strdup_printf (" %s %s = ?9", glue, self->filter_column) : g_strdup ("");
}

static gboolean
query_int64 (DlenSqlListModel *self, const char *sql, gint64 *out, gboolean *is_null, GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok;
  if (sqlite3_prepare_v2 (self->db, sql, -1, &st, NULL) != SQLITE_OK)
    return sql_error (self, error, "cannot count the rows");
  if (self->filter_column)
    sqlite3_bind_int64 (st, 9, self->filter_value);
  ok = sqlite3_step (st) == SQLITE_ROW;
  if (ok)
    {
      *out = sqlite3_column_int64 (st, 0);
      if (is_null)
        *is_null = sqlite3_column_type (st, 0) == SQLITE_NULL;
    }
  else
    sql_error (self, error, "cannot count the rows");
  sqlite3_finalize (st);
  return ok;
}

/* Counts the rows and works out how to find a page from a position. Only the key index (or
 * the filter's index) is read: count(*) walks the smallest index, min/max are single seeks. */
static gboolean
load (DlenSqlListModel *self, GError **error)
{
  g_autofree char *where = filter_clause (self, "WHERE");
  g_autofree char *count_sql = g_strdup_printf ("SELECT count(*) FROM %s%s", self->table, where);
  g_autofree char *min_sql = g_strdup_printf ("SELECT min(%s) FROM %s%s", self->key, self->table, where);
  g_autofree char *max_sql = g_strdup_printf ("SELECT max(%s) FROM %s%s", self->key, self->table, where);
  /* The unary + keeps SQLite from answering the filter through its index and then sorting every
   * matching row by key: a page is a range of keys, read in key order, filtered on the way
   * (an import's rows have adjacent keys, as it is one transaction). */
  g_autofree char *page_filter = self->filter_column ? g_strdup_printf (" AND +%s = ?9", self->filter_column) : g_strdup ("");
  g_autofree char *page_sql = g_strdup_printf ("SELECT %s FROM %s WHERE %s >= ?1%s ORDER BY %s LIMIT ?2",
                                               self->columns, self->from, self->key, page_filter, self->key);
  gint64 count = 0, min = 0, max = 0;
  gboolean null_min = TRUE;

  self->n_items = 0;
  self->contiguous = TRUE;
  self->min_key = 0;
  g_clear_pointer (&self->page_keys, g_array_unref);
  g_clear_pointer (&self->page_stmt, sqlite3_finalize);
  if (sqlite3_prepare_v3 (self->db, page_sql, -1, SQLITE_PREPARE_PERSISTENT, &self->page_stmt, NULL) != SQLITE_OK)
    return sql_error (self, error, "cannot read the table");
  if (!query_int64 (self, count_sql, &count, NULL, error)
      || !query_int64 (self, min_sql, &min, &null_min, error)
      || !query_int64 (self, max_sql, &max, NULL, error))
    return FALSE;
  if (count <= 0 || null_min)
    return TRUE;
  count = MIN (count, (gint64) G_MAXUINT - 1);
  self->min_key = min;
  self->contiguous = max - min + 1 == count;
  if (!self->contiguous)
    {
      /* Keys with gaps: one pass over the key index records where each page starts, so any
       * page is then a single range seek. */
      g_autofree char *keys_sql = g_strdup_printf ("SELECT %s FROM %s%s ORDER BY %s", self->key, self->table, where, self->key);
      sqlite3_stmt *st = NULL;
      gint64 n = 0;
      int rc;
      if (sqlite3_prepare_v2 (self->db, keys_sql, -1, &st, NULL) != SQLITE_OK)
        return sql_error (self, error, "cannot index the table");
      if (self->filter_column)
        sqlite3_bind_int64 (st, 9, self->filter_value);
      self->page_keys = g_array_sized_new (FALSE, FALSE, sizeof (gint64), (guint) (count / PAGE + 1));
      while ((rc = sqlite3_step (st)) == SQLITE_ROW && n < count)
        {
          if (n % PAGE == 0)
            {
              gint64 k = sqlite3_column_int64 (st, 0);
              g_array_append_val (self->page_keys, k);
            }
          n++;
        }
      sqlite3_finalize (st);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_error (self, error, "cannot index the table");
      count = n;
    }
  self->n_items = (guint) count;
  return TRUE;
}

DlenSqlListModel *
dlen_sql_list_model_new (DlenProject *project, const char *table, const char *from, const char *key,
                         const char *columns, guint n_columns, const DlenSqlFormat *formats,
                         const char *filter_column, gint64 filter_value, GError **error)
{
  g_autoptr (DlenSqlListModel) self = g_object_new (DLEN_TYPE_SQL_LIST_MODEL, NULL);
  g_return_val_if_fail (DLEN_IS_PROJECT (project), NULL);
  g_return_val_if_fail (n_columns > 0, NULL);
  self->project = g_object_ref (project);
  self->db = dlen_store_db (dlen_project_get_store (project));
  self->table = g_strdup (table);
  self->from = g_strdup (from);
  self->key = g_strdup (key);
  self->columns = g_strdup (columns);
  self->n_columns = n_columns;
  self->formats = g_memdup2 (formats, n_columns * sizeof *formats);
  self->filter_column = g_strdup (filter_column);
  self->filter_value = filter_value;
  if (!load (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
dlen_sql_list_model_reload (DlenSqlListModel *self)
{
  g_autoptr (GError) error = NULL;
  guint old = self->n_items;
  clear_cache (self);
  if (!load (self, &error))
    g_warning ("%s", error->message);
  if (old || self->n_items)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, old, self->n_items);
}

guint dlen_sql_list_model_get_n_columns (DlenSqlListModel *self) { return self->n_columns; }
guint64 dlen_sql_list_model_get_pages_fetched (DlenSqlListModel *self) { return self->pages_fetched; }
gboolean dlen_sql_list_model_get_contiguous (DlenSqlListModel *self) { return self->contiguous; }

static char *
format_value (sqlite3_stmt *st, int col, DlenSqlFormat format)
{
  int type = sqlite3_column_type (st, col);
  if (type == SQLITE_NULL)
    return g_strdup ("");
  switch (format)
    {
    case DLEN_SQL_NUMBER:
      if (type == SQLITE_INTEGER)
        return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) sqlite3_column_int64 (st, col));
      if (type == SQLITE_FLOAT)
        {
          double v = sqlite3_column_double (st, col);
          if (v == floor (v) && fabs (v) < 1e15)
            return g_strdup_printf ("%.0f", v);
          return g_strdup_printf ("%.6g", v);
        }
      break;
    case DLEN_SQL_TIME_MS:
      {
        gint64 ms = sqlite3_column_int64 (st, col);
        g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        if (dt)
          return g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
      }
      break;
    case DLEN_SQL_SECONDS:
      return g_strdup_printf ("%.1f s", sqlite3_column_double (st, col));
    case DLEN_SQL_BASENAME:
      return g_path_get_basename ((const char *) sqlite3_column_text (st, col));
    case DLEN_SQL_TEXT:
    default:
      break;
    }
  return g_strdup ((const char *) sqlite3_column_text (st, col));
}

/* Reads page @index into a free or the least recently used slot. */
static CachedPage *
fetch_page (DlenSqlListModel *self, guint index)
{
  CachedPage *slot = &self->cache[0];
  guint want = MIN ((guint) PAGE, self->n_items - index * PAGE);
  gint64 start = self->contiguous ? self->min_key + (gint64) index * PAGE
                                  : g_array_index (self->page_keys, gint64, index);
  int rc;

  for (guint i = 1; i < G_N_ELEMENTS (self->cache); i++)
    if (self->cache[i].index == G_MAXUINT || self->cache[i].used < slot->used)
      slot = &self->cache[i];
  g_clear_pointer (&slot->rows, g_ptr_array_unref);
  slot->index = index;
  slot->rows = g_ptr_array_new_full (want, g_object_unref);

  sqlite3_reset (self->page_stmt);
  sqlite3_bind_int64 (self->page_stmt, 1, start);
  sqlite3_bind_int (self->page_stmt, 2, (int) want);
  if (self->filter_column)
    sqlite3_bind_int64 (self->page_stmt, 9, self->filter_value);
  while (slot->rows->len < want && (rc = sqlite3_step (self->page_stmt)) == SQLITE_ROW)
    {
      char **values = g_new (char *, self->n_columns + 1);
      for (guint c = 0; c < self->n_columns; c++)
        values[c] = format_value (self->page_stmt, (int) c, self->formats[c]);
      values[self->n_columns] = NULL;
      g_ptr_array_add (slot->rows, dlen_table_row_new_take (values));
    }
  sqlite3_reset (self->page_stmt);
  /* The table changed under the model (it is reloaded after imports): keep every position
   * valid with empty rows until then. */
  while (slot->rows->len < want)
    {
      char **values = g_new0 (char *, self->n_columns + 1);
      for (guint c = 0; c < self->n_columns; c++)
        values[c] = g_strdup ("");
      g_ptr_array_add (slot->rows, dlen_table_row_new_take (values));
    }
  self->pages_fetched++;
  return slot;
}

static GType
dlen_sql_list_model_get_item_type (GListModel *model)
{
  return DLEN_TYPE_TABLE_ROW;
}

static guint
dlen_sql_list_model_get_n_items (GListModel *model)
{
  return DLEN_SQL_LIST_MODEL (model)->n_items;
}

static gpointer
dlen_sql_list_model_get_item (GListModel *model, guint position)
{
  DlenSqlListModel *self = DLEN_SQL_LIST_MODEL (model);
  guint index = position / PAGE;
  CachedPage *page = NULL;
  if (position >= self->n_items)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (self->cache) && !page; i++)
    if (self->cache[i].index == index)
      page = &self->cache[i];
  if (!page)
    page = fetch_page (self, index);
  page->used = ++self->clock;
  return g_object_ref (g_ptr_array_index (page->rows, position % PAGE));
}

static void
dlen_sql_list_model_list_init (GListModelInterface *iface)
{
  iface->get_item_type = dlen_sql_list_model_get_item_type;
  iface->get_n_items = dlen_sql_list_model_get_n_items;
  iface->get_item = dlen_sql_list_model_get_item;
}
