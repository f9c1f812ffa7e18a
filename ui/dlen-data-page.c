/* dlen-data-page.c: the Data page: the project's summary, virtualised tables of impressions and
 * rejected rows, and the import flow (preview, preset and column roles, progress, report). */
#include <locale.h>
#include <string.h>
#include "dlen-data-page.h"
#include "dlen-csv.h"
#include "dlen-loader.h"
#include "dlen-sql-list-model.h"
#include "dlen-window.h"

#define PREVIEW_ROWS 20          /* rows shown before import */
#define PREVIEW_MAX_COLUMNS 64   /* columns shown in the preview table */
#define MAPPING_MAX_COLUMNS 256  /* columns offered in the role editor */
#define N_STATS 6

/* Roles of the generic mapping, as the loader names them, and as the editor shows them. */
static const struct {
  const char *role;
  const char *label;
} roles[] = {
  { "ignore", "Ignore" },
  { "user", "User id" },
  { "item", "Item id" },
  { "time", "Time (epoch ms or s)" },
  { "date", "Date (YYYYMMDD)" },
  { "session", "Session id" },
  { "request", "Request id" },
  { "category", "Categorical feature" },
  { "numeric", "Numeric feature" },
  { "log-numeric", "Log-scaled numeric feature" },
  { "neutral", "Neutral target" },
  { "positive", "Positive target" },
  { "negative", "Negative target" },
  { "weak-positive", "Weak positive (e = 1)" },
  { "weak-negative", "Weak negative (e = 0)" },
  { "duration-s", "Stay time in seconds" },
  { "duration-ms", "Stay time in milliseconds" },
};

static const char *const presets[] = { "kuairand", "synthetic", "generic" };
enum { PRESET_KUAIRAND, PRESET_SYNTHETIC, PRESET_GENERIC };

static const char *const stat_titles[N_STATS] = { "Impressions", "Users", "Items", "Sessions", "Requests", "Days" };

struct _DlenDataPage {
  AdwBin parent_instance;

  /* Template widgets */
  GtkStack *stack;
  GtkStack *views;
  GtkStack *summary_stack;
  GtkSpinner *summary_spinner;
  GtkFlowBox *stats_box;
  GtkLabel *first_label;
  GtkLabel *last_label;
  AdwPreferencesGroup *targets_group;
  AdwActionRow *cat_row;
  AdwActionRow *num_row;
  AdwPreferencesGroup *imports_group;
  GtkStack *impressions_stack;
  GtkColumnView *impressions_view;
  GtkLabel *impressions_footer;
  GtkWidget *rejects_bar;
  GtkWidget *rejects_separator;
  GtkWidget *rejects_filter_label;
  GtkDropDown *rejects_filter;
  GtkLabel *rejects_count;
  GtkStack *rejects_stack;
  AdwStatusPage *rejects_status;
  GtkColumnView *rejects_view;
  GtkStack *import_stack;
  GtkLabel *preview_title;
  GtkLabel *preview_details;
  GtkColumnView *preview_view;
  GtkLabel *preview_note;
  AdwComboRow *preset_row;
  GtkLabel *preset_details;
  GtkSwitch *strict_switch, *items_switch;
  AdwActionRow *items_row;
  GtkSpinButton *gap_spin;
  GtkSpinButton *request_spin;
  AdwPreferencesGroup *mapping_group;
  GtkLabel *roles_help;
  GtkLabel *mapping_status;
  GtkButton *setup_cancel;
  GtkButton *start_button;
  AdwStatusPage *running_status;
  GtkProgressBar *progress_bar;
  GtkLabel *progress_label;
  GtkButton *cancel_button;
  GtkImage *report_icon;
  GtkLabel *report_title;
  GtkLabel *report_description;
  GtkLabel *report_read;
  GtkLabel *report_accepted;
  GtkLabel *report_rejected;
  AdwActionRow *report_first_row;
  AdwActionRow *report_source_row;
  GtkWidget *report_rejects_box;
  GtkColumnView *report_rejects_view;
  GtkButton *report_done;

  /* Owned */
  DlenProject *project;
  gulong changed_handler;
  GtkLabel *stat_values[N_STATS];
  GPtrArray *summary_rows;          /* rows added to targets_group and imports_group */
  GCancellable *summary_cancellable;
  gboolean have_summary;
  DlenSqlListModel *impressions;
  DlenSqlListModel *impressions_shown;   /* the model in the table (attached when shown) */
  GPtrArray *impression_columns;          /* ColumnSpec of impressions */
  DlenSqlListModel *rejects;
  DlenSqlListModel *rejects_shown;
  DlenSqlListModel *report_rejects;
  GArray *rejects_filter_ids;       /* gint64 import id per dropdown entry; 0: all */
  gboolean updating_filter;

  char *import_path;                /* the log being set up, or NULL */
  char **import_columns;
  char **import_samples;            /* first preview value of each column */
  GPtrArray *mapping_rows;          /* AdwComboRow per column (generic preset) */
  DlenJob *import_job;              /* the running import, or NULL */
  DlenProject *import_project;      /* the project it writes */
  GBinding *progress_binding, *message_binding;
  gboolean disposed;
};

enum { PROP_0, PROP_PROJECT, N_PROPS };
static GParamSpec *props[N_PROPS];
enum { SIGNAL_IMPORT_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DlenDataPage, dlen_data_page, ADW_TYPE_BIN)

static void refresh (DlenDataPage *self);
static void on_view_changed (DlenDataPage *self);
static void update_mapping_status (DlenDataPage *self);

/* ---- Helpers --------------------------------------------------------------------------------- */

/* A count with digit grouping (the locale's, or commas in locales without one). */
static char *
fmt_count (gint64 n)
{
  const char *sep = localeconv ()->thousands_sep;
  g_autofree char *digits = NULL;
  GString *out;
  gsize len;
  if (sep && *sep)
    return g_strdup_printf ("%'" G_GINT64_FORMAT, n);
  digits = g_strdup_printf ("%" G_GINT64_FORMAT, n < 0 ? -n : n);
  len = strlen (digits);
  out = g_string_new (n < 0 ? "-" : "");
  for (gsize i = 0; i < len; i++)
    {
      if (i && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

static char *
fmt_time_ms (gint64 ms, const char *format)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (ms / 1000);
  return dt ? g_date_time_format (dt, format) : g_strdup ("");
}

static gint64
day_number (gint64 yyyymmdd)
{
  GDate date;
  int y = (int) (yyyymmdd / 10000), m = (int) (yyyymmdd / 100 % 100), d = (int) (yyyymmdd % 100);
  if (!g_date_valid_dmy (d, m, y))
    return 0;
  g_date_clear (&date, 1);
  g_date_set_dmy (&date, d, m, y);
  return g_date_get_julian (&date);
}

static DlenWindow *
window_of (DlenDataPage *self)
{
  return dlen_window_of (GTK_WIDGET (self));
}

static void
show_error (DlenDataPage *self, const char *title, const GError *error)
{
  DlenWindow *window = window_of (self);
  if (window)
    dlen_window_show_error (window, title, error);
  else
    g_warning ("%s: %s", title, error ? error->message : "");
}

static void
toast (DlenDataPage *self, const char *message)
{
  DlenWindow *window = window_of (self);
  if (window)
    dlen_window_toast (window, message);
}

/* ---- Table columns ----------------------------------------------------------------------------- */

#define CELL_NUMERIC 0x10000u
#define CELL_TOOLTIP 0x20000u
#define CELL_INDEX   0x0ffffu

/* Cells are GtkInscriptions: made for list rows, their size does not depend on their text, so
 * rebinding rows while scrolling a million of them lays out nothing but the new text. */
static void
cell_setup (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  guint flags = GPOINTER_TO_UINT (data);
  GtkWidget *cell = gtk_inscription_new (NULL);
  gtk_inscription_set_text_overflow (GTK_INSCRIPTION (cell), GTK_INSCRIPTION_OVERFLOW_ELLIPSIZE_END);
  gtk_inscription_set_xalign (GTK_INSCRIPTION (cell), flags & CELL_NUMERIC ? 1.0f : 0.0f);
  gtk_inscription_set_min_chars (GTK_INSCRIPTION (cell), 1);
  gtk_inscription_set_nat_chars (GTK_INSCRIPTION (cell), 4);
  if (flags & CELL_NUMERIC)
    gtk_widget_add_css_class (cell, "numeric");
  gtk_list_item_set_child (item, cell);
}

static void
cell_bind (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  guint flags = GPOINTER_TO_UINT (data);
  DlenTableRow *row = gtk_list_item_get_item (item);
  GtkWidget *cell = gtk_list_item_get_child (item);
  const char *text = dlen_table_row_get_value (row, flags & CELL_INDEX);
  gtk_inscription_set_text (GTK_INSCRIPTION (cell), text);
  if (flags & CELL_TOOLTIP)
    gtk_widget_set_tooltip_text (cell, *text ? text : NULL);
}

static GtkColumnViewColumn *
add_column (GtkColumnView *view, const char *title, guint index, guint flags, int width)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *column;
  gpointer data = GUINT_TO_POINTER (index | flags);
  g_signal_connect (factory, "setup", G_CALLBACK (cell_setup), data);
  g_signal_connect (factory, "bind", G_CALLBACK (cell_bind), data);
  column = gtk_column_view_column_new (title, factory);
  /* Fixed widths: a virtualised table must not re-measure its columns as rows scroll by. */
  gtk_column_view_column_set_fixed_width (column, width);
  gtk_column_view_column_set_resizable (column, TRUE);
  gtk_column_view_append_column (view, column);
  g_object_unref (column);
  return column;
}

static void
clear_columns (GtkColumnView *view)
{
  GListModel *columns = gtk_column_view_get_columns (view);
  while (g_list_model_get_n_items (columns) > 0)
    {
      g_autoptr (GtkColumnViewColumn) column = g_list_model_get_item (columns, 0);
      gtk_column_view_remove_column (view, column);
    }
}

static void
set_table_model (GtkColumnView *view, GListModel *model)
{
  g_autoptr (GtkSingleSelection) selection = NULL;
  if (!model)
    {
      gtk_column_view_set_model (view, NULL);
      return;
    }
  selection = gtk_single_selection_new (g_object_ref (model));
  gtk_single_selection_set_autoselect (selection, FALSE);
  gtk_single_selection_set_can_unselect (selection, TRUE);
  gtk_single_selection_set_selected (selection, GTK_INVALID_LIST_POSITION);
  gtk_column_view_set_model (view, GTK_SELECTION_MODEL (selection));
}

/* ---- Impressions table ------------------------------------------------------------------------ */

typedef struct {
  gint64 id;
  char *kind;
  char *name;
  gboolean duration;
} FieldInfo;

static void
field_info_free (gpointer p)
{
  FieldInfo *f = p;
  g_free (f->kind);
  g_free (f->name);
  g_free (f);
}

static GPtrArray *
read_fields (sqlite3 *db)
{
  GPtrArray *fields = g_ptr_array_new_with_free_func (field_info_free);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (db,
                          "SELECT id, kind, name, target_kind FROM fields ORDER BY "
                          "CASE kind WHEN 'category' THEN 0 WHEN 'numeric' THEN 1 ELSE 2 END, ordinal",
                          -1, &st, NULL) != SQLITE_OK)
    return fields;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      FieldInfo *f = g_new0 (FieldInfo, 1);
      f->id = sqlite3_column_int64 (st, 0);
      f->kind = g_strdup ((const char *) sqlite3_column_text (st, 1));
      f->name = g_strdup ((const char *) sqlite3_column_text (st, 2));
      f->duration = g_strcmp0 ((const char *) sqlite3_column_text (st, 3), "duration") == 0;
      g_ptr_array_add (fields, f);
    }
  sqlite3_finalize (st);
  return fields;
}

/* The categorical fields that repeat the user or item key (every preset stores the user and
 * item columns as features too): checked on the first rows, so the table shows them once. */
static void
find_key_fields (sqlite3 *db, GPtrArray *fields, gint64 *user_field, gint64 *item_field)
{
  g_autoptr (GString) sql = g_string_new ("SELECT u.key, it.key");
  sqlite3_stmt *st = NULL;
  guint n_cat = 0, rows = 0;
  g_autofree gboolean *is_user = NULL, *is_item = NULL;
  *user_field = *item_field = 0;
  for (guint i = 0; i < fields->len; i++)
    {
      FieldInfo *f = g_ptr_array_index (fields, i);
      if (!g_str_equal (f->kind, "category"))
        break;
      /* f<id> names come from integer field ids, never from a log's text. */
      g_string_append_printf (sql, ", i.f%" G_GINT64_FORMAT, f->id);
      n_cat++;
    }
  if (n_cat == 0)
    return;
  g_string_append (sql, " FROM impressions i JOIN users u ON u.id = i.user_id LEFT JOIN items it ON it.id = i.item_id"
                        " ORDER BY i.id LIMIT 64");
  if (sqlite3_prepare_v2 (db, sql->str, -1, &st, NULL) != SQLITE_OK)
    return;
  is_user = g_new (gboolean, n_cat);
  is_item = g_new (gboolean, n_cat);
  for (guint c = 0; c < n_cat; c++)
    is_user[c] = is_item[c] = TRUE;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      const char *user = (const char *) sqlite3_column_text (st, 0);
      const char *item = (const char *) sqlite3_column_text (st, 1);
      rows++;
      for (guint c = 0; c < n_cat; c++)
        {
          const char *v = (const char *) sqlite3_column_text (st, (int) c + 2);
          is_user[c] = is_user[c] && g_strcmp0 (v, user) == 0;
          is_item[c] = is_item[c] && item && g_strcmp0 (v, item) == 0;
        }
    }
  sqlite3_finalize (st);
  for (guint c = 0; rows > 0 && c < n_cat; c++)
    {
      FieldInfo *f = g_ptr_array_index (fields, c);
      if (is_user[c] && !*user_field)
        *user_field = f->id;
      else if (is_item[c] && !*item_field)
        *item_field = f->id;
    }
}

typedef struct {
  char *title;
  guint flags;
  int width;
} ColumnSpec;

static void
column_spec_free (gpointer p)
{
  ColumnSpec *c = p;
  g_free (c->title);
  g_free (c);
}

static void
add_spec (GPtrArray *specs, const char *title, guint flags, int width)
{
  ColumnSpec *c = g_new0 (ColumnSpec, 1);
  c->title = g_strdup (title);
  c->flags = specs->len | flags;
  c->width = width;
  g_ptr_array_add (specs, c);
}

/* Puts the current impressions model in the table. GtkListView (and so GtkColumnView) keeps
 * 200 rows of cells alive whatever its height, so attaching a model costs a few thousand
 * cells: it is done when the table is first shown, not each time the project changes. */
static void
attach_impressions (DlenDataPage *self)
{
  GtkColumnViewColumn *last = NULL;
  if (self->impressions_shown == self->impressions)
    return;
  set_table_model (self->impressions_view, NULL);
  clear_columns (self->impressions_view);
  g_clear_object (&self->impressions_shown);
  if (!self->impressions)
    return;
  for (guint i = 0; i < self->impression_columns->len; i++)
    {
      ColumnSpec *c = g_ptr_array_index (self->impression_columns, i);
      last = add_column (self->impressions_view, c->title, c->flags & CELL_INDEX, c->flags & ~CELL_INDEX, c->width);
    }
  if (last)
    gtk_column_view_column_set_expand (last, TRUE);
  self->impressions_shown = g_object_ref (self->impressions);
  set_table_model (self->impressions_view, G_LIST_MODEL (self->impressions));
}


static void
build_impressions (DlenDataPage *self)
{
  sqlite3 *db = dlen_store_db (dlen_project_get_store (self->project));
  g_autoptr (GPtrArray) fields = read_fields (db);
  /* The log's own session and request ids when it has them, else the derived ones. */
  g_autoptr (GString) columns = g_string_new ("i.line, u.key, it.key, i.time_ms, coalesce (i.log_session, i.session),"
                                              " coalesce (i.log_request, i.request)");
  g_autoptr (GArray) formats = g_array_new (FALSE, FALSE, sizeof (DlenSqlFormat));
  g_autoptr (GError) error = NULL;
  static const DlenSqlFormat base_formats[] = { DLEN_SQL_NUMBER, DLEN_SQL_TEXT, DLEN_SQL_TEXT, DLEN_SQL_TIME_MS,
                                                DLEN_SQL_NUMBER, DLEN_SQL_NUMBER };
  GPtrArray *specs = g_ptr_array_new_with_free_func (column_spec_free);
  gint64 user_field, item_field;
  g_autofree char *count = NULL, *footer = NULL;
  guint n;

  g_clear_object (&self->impressions);
  g_clear_pointer (&self->impression_columns, g_ptr_array_unref);
  self->impression_columns = specs;

  find_key_fields (db, fields, &user_field, &item_field);
  g_array_append_vals (formats, base_formats, G_N_ELEMENTS (base_formats));
  add_spec (specs, "Line", CELL_NUMERIC, 80);
  add_spec (specs, "User", 0, 110);
  add_spec (specs, "Item", 0, 110);
  add_spec (specs, "Time (UTC)", CELL_NUMERIC, 170);
  add_spec (specs, "Session", CELL_NUMERIC, 100);
  add_spec (specs, "Request", CELL_NUMERIC, 130);
  for (guint i = 0; i < fields->len; i++)
    {
      FieldInfo *f = g_ptr_array_index (fields, i);
      gboolean cat = g_str_equal (f->kind, "category");
      gboolean target = g_str_equal (f->kind, "target");
      DlenSqlFormat format = cat ? DLEN_SQL_TEXT : f->duration ? DLEN_SQL_SECONDS : DLEN_SQL_NUMBER;
      if (f->id == user_field || f->id == item_field)
        continue;
      /* Generated column names from integer field ids only; the log's names are labels. */
      g_string_append_printf (columns, ", i.f%" G_GINT64_FORMAT, f->id);
      g_array_append_val (formats, format);
      add_spec (specs, f->name, cat ? 0 : CELL_NUMERIC, target ? 96 : 120);
    }

  self->impressions = dlen_sql_list_model_new (self->project, "impressions i",
                                               "impressions i JOIN users u ON u.id = i.user_id"
                                               " LEFT JOIN items it ON it.id = i.item_id",
                                               "i.id", columns->str, formats->len, (DlenSqlFormat *) formats->data,
                                               NULL, 0, &error);
  if (!self->impressions)
    g_warning ("impressions table: %s", error->message);
  n = self->impressions ? g_list_model_get_n_items (G_LIST_MODEL (self->impressions)) : 0;
  count = fmt_count (n);
  footer = g_strdup_printf ("%s impressions in import order; categorical features, numeric features and targets "
                            "as stored, stay time in seconds", count);
  gtk_label_set_text (self->impressions_footer, footer);
  gtk_stack_set_visible_child_name (self->impressions_stack, n ? "table" : "empty");
  on_view_changed (self);
}

/* ---- Rejected rows ------------------------------------------------------------------------------ */

/* The rejected rows of import @import_id, or of all imports (0). */
static DlenSqlListModel *
new_rejects_model (DlenProject *project, gint64 import_id, GError **error)
{
  static const DlenSqlFormat formats[] = { DLEN_SQL_BASENAME, DLEN_SQL_NUMBER, DLEN_SQL_TEXT, DLEN_SQL_TEXT };
  return dlen_sql_list_model_new (project, "import_rejects r",
                                  "import_rejects r JOIN imports m ON m.id = r.import_id", "r.rowid",
                                  "m.source, r.line,"
                                  " CASE WHEN r.col = 0 THEN 'whole row'"
                                  " WHEN r.column_name IS NULL THEN 'column ' || r.col"
                                  " ELSE r.column_name || ' (' || r.col || ')' END,"
                                  " r.reason",
                                  G_N_ELEMENTS (formats), formats, import_id ? "r.import_id" : NULL, import_id, error);
}

static void
setup_rejects_columns (GtkColumnView *view)
{
  GtkColumnViewColumn *reason;
  clear_columns (view);
  add_column (view, "Import", 0, 0, 200);
  add_column (view, "Line", 1, CELL_NUMERIC, 90);
  add_column (view, "Column", 2, 0, 180);
  reason = add_column (view, "Reason", 3, CELL_TOOLTIP, 400);
  gtk_column_view_column_set_expand (reason, TRUE);
}

/* As attach_impressions(): the table takes the current model when it is shown. */
static void
attach_rejects (DlenDataPage *self)
{
  if (self->rejects_shown == self->rejects)
    return;
  g_clear_object (&self->rejects_shown);
  self->rejects_shown = self->rejects ? g_object_ref (self->rejects) : NULL;
  set_table_model (self->rejects_view, self->rejects ? G_LIST_MODEL (self->rejects) : NULL);
}

/* A new model for the import chosen in the filter (a model is never re-filtered in place: see
 * dlen_sql_list_model_reload()). */
static void
load_rejects (DlenDataPage *self)
{
  guint i = gtk_drop_down_get_selected (self->rejects_filter);
  gint64 id = self->rejects_filter_ids && i < self->rejects_filter_ids->len
                ? g_array_index (self->rejects_filter_ids, gint64, i) : 0;
  g_autoptr (GError) error = NULL;
  g_autofree char *count = NULL, *text = NULL;
  guint n;
  g_clear_object (&self->rejects);
  self->rejects = new_rejects_model (self->project, id, &error);
  if (!self->rejects)
    g_warning ("rejected rows table: %s", error->message);
  n = self->rejects ? g_list_model_get_n_items (G_LIST_MODEL (self->rejects)) : 0;
  count = fmt_count (n);
  text = g_strdup_printf (n == 1 ? "%s rejected row" : "%s rejected rows", count);
  gtk_label_set_text (self->rejects_count, text);
  gtk_stack_set_visible_child_name (self->rejects_stack, n ? "table" : "empty");
  on_view_changed (self);
}

static void
on_rejects_filter (GtkDropDown *dropdown, GParamSpec *pspec, DlenDataPage *self)
{
  if (!self->updating_filter && self->project)
    load_rejects (self);
}

static void
build_rejects (DlenDataPage *self)
{
  sqlite3 *db = dlen_store_db (dlen_project_get_store (self->project));
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  sqlite3_stmt *st = NULL;
  gint64 keep = 0, zero = 0;
  guint selected = 0;
  gint64 total = 0;

  if (self->rejects_filter_ids && gtk_drop_down_get_selected (self->rejects_filter) < self->rejects_filter_ids->len)
    keep = g_array_index (self->rejects_filter_ids, gint64, gtk_drop_down_get_selected (self->rejects_filter));
  g_clear_pointer (&self->rejects_filter_ids, g_array_unref);
  self->rejects_filter_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  gtk_string_list_append (names, "All Imports");
  g_array_append_val (self->rejects_filter_ids, zero);
  if (sqlite3_prepare_v2 (db, "SELECT id, source, rows_rejected FROM imports WHERE rows_rejected > 0 ORDER BY id",
                          -1, &st, NULL) == SQLITE_OK)
    while (sqlite3_step (st) == SQLITE_ROW)
      {
        gint64 id = sqlite3_column_int64 (st, 0);
        g_autofree char *base = g_path_get_basename ((const char *) sqlite3_column_text (st, 1));
        g_autofree char *n = fmt_count (sqlite3_column_int64 (st, 2));
        g_autofree char *label = g_strdup_printf ("Import %" G_GINT64_FORMAT ": %s (%s)", id, base, n);
        if (id == keep)
          selected = self->rejects_filter_ids->len;
        total += sqlite3_column_int64 (st, 2);
        gtk_string_list_append (names, label);
        g_array_append_val (self->rejects_filter_ids, id);
      }
  sqlite3_finalize (st);

  self->updating_filter = TRUE;
  gtk_drop_down_set_model (self->rejects_filter, G_LIST_MODEL (names));
  gtk_drop_down_set_selected (self->rejects_filter, selected);
  self->updating_filter = FALSE;
  /* A choice only when more than one import has rejected rows. */
  gtk_widget_set_visible (GTK_WIDGET (self->rejects_filter), self->rejects_filter_ids->len > 2);
  gtk_widget_set_visible (self->rejects_filter_label, self->rejects_filter_ids->len > 2);
  gtk_widget_set_visible (self->rejects_bar, total > 0);
  gtk_widget_set_visible (self->rejects_separator, total > 0);
  adw_status_page_set_description (self->rejects_status,
                                   dlen_project_count (self->project, "imports") > 0
                                     ? "Every row of every import was accepted."
                                     : "Rows that an import skips are listed here with their line, column and reason.");
  load_rejects (self);
}

static void
on_view_changed (DlenDataPage *self)
{
  const char *view = self->disposed ? NULL : gtk_stack_get_visible_child_name (self->views);
  if (g_strcmp0 (view, "impressions") == 0)
    attach_impressions (self);
  else if (g_strcmp0 (view, "rejects") == 0)
    attach_rejects (self);
}

static void
show_rejects_of (DlenDataPage *self, gint64 import_id)
{
  for (guint i = 0; self->rejects_filter_ids && i < self->rejects_filter_ids->len; i++)
    if (g_array_index (self->rejects_filter_ids, gint64, i) == import_id)
      gtk_drop_down_set_selected (self->rejects_filter, i);
  gtk_stack_set_visible_child_name (self->views, "rejects");
}

static void
action_show_rejects (GtkWidget *widget, const char *name, GVariant *param)
{
  show_rejects_of (DLEN_DATA_PAGE (widget), g_variant_get_int64 (param));
}

/* ---- Summary ----------------------------------------------------------------------------------- */

typedef struct {
  char *path;
  DlenProjectSummary *p;       /* from the worker thread */
} Summary;

static void
summary_free (gpointer data)
{
  Summary *s = data;
  g_free (s->path);
  g_clear_pointer (&s->p, dlen_project_summary_free);
  g_free (s);
}

/* Worker thread: its own connection; the store makes one pass over the impressions. */
static gboolean
compute_summary (Summary *s, GCancellable *cancellable, GError **error)
{
  g_autoptr (DlenStore) store = dlen_store_open (s->path, FALSE, error);
  if (!store)
    return FALSE;
  dlen_store_set_cancellable (store, cancellable);
  s->p = dlen_store_summarize (store, error);
  return s->p != NULL;
}

static char *
join_names (const GPtrArray *names)
{
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (out, "%s%s", i ? ", " : "", (const char *) names->pdata[i]);
  return g_string_free (out, FALSE);
}

static void
summary_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  if (compute_summary (data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static GtkWidget *
suffix_label (const char *text, gboolean numeric)
{
  GtkWidget *label = gtk_label_new (text);
  gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
  if (numeric)
    gtk_widget_add_css_class (label, "numeric");
  return label;
}

static AdwActionRow *
plain_row (const char *title, const char *subtitle)
{
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle)
    adw_action_row_set_subtitle (row, subtitle);
  return row;
}

static void
add_summary_row (DlenDataPage *self, AdwPreferencesGroup *group, GtkWidget *row)
{
  adw_preferences_group_add (group, row);
  g_ptr_array_add (self->summary_rows, g_object_ref (row));
}

static void
clear_summary_rows (DlenDataPage *self)
{
  for (guint i = 0; i < self->summary_rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (self->summary_rows, i);
      GtkWidget *group = gtk_widget_get_ancestor (row, ADW_TYPE_PREFERENCES_GROUP);
      if (group)
        adw_preferences_group_remove (ADW_PREFERENCES_GROUP (group), row);
    }
  g_ptr_array_set_size (self->summary_rows, 0);
}

static char *
target_description (const DlenSummaryTarget *t, gint64 impressions)
{
  g_autoptr (GString) s = g_string_new (NULL);
  if (t->duration)
    g_string_append (s, "Duration target (stay time)");
  else
    {
      g_string_append_printf (s, "%c%s target", g_ascii_toupper (t->polarity ? t->polarity[0] : 'n'),
                              t->polarity ? t->polarity + 1 : "eutral");
      if (t->weak)
        g_string_append (s, g_strcmp0 (t->polarity, "negative") == 0 ? ", weak emotion label e = 0"
                                                                    : ", weak emotion label e = 1");
    }
  if (t->labelled < impressions)
    {
      g_autofree char *n = fmt_count (t->labelled);
      g_string_append_printf (s, " · %s labelled", n);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
show_summary (DlenDataPage *self, DlenProjectSummary *s)
{
  gint64 days = s->first_day && s->last_day ? day_number (s->last_day) - day_number (s->first_day) + 1 : 0;
  gint64 values[N_STATS] = { s->impressions, s->users, s->items, s->sessions, s->requests, days };
  g_autofree char *cats = NULL, *nums = NULL;

  self->have_summary = TRUE;
  gtk_spinner_stop (self->summary_spinner);
  if (s->impressions == 0 && s->imports->len == 0)
    {
      gtk_stack_set_visible_child_name (self->summary_stack, "empty");
      return;
    }
  for (guint i = 0; i < N_STATS; i++)
    {
      g_autofree char *v = fmt_count (values[i]);
      gtk_label_set_text (self->stat_values[i], v);
    }
  if (s->impressions)
    {
      g_autofree char *first = fmt_time_ms (s->first_ms, "%A %-d %B %Y, %H:%M:%S UTC");
      g_autofree char *last = fmt_time_ms (s->last_ms, "%A %-d %B %Y, %H:%M:%S UTC");
      gtk_label_set_text (self->first_label, first);
      gtk_label_set_text (self->last_label, last);
    }
  else
    {
      gtk_label_set_text (self->first_label, "No impressions");
      gtk_label_set_text (self->last_label, "No impressions");
    }

  clear_summary_rows (self);
  for (guint t = 0; t < s->targets->len; t++)
    {
      DlenSummaryTarget *ts = g_ptr_array_index (s->targets, t);
      g_autofree char *desc = target_description (ts, s->impressions);
      AdwActionRow *row = plain_row (ts->name, desc);
      g_autofree char *value = NULL;
      if (!ts->has)
        value = g_strdup ("no labels");
      else if (ts->duration)
        value = g_strdup_printf ("%.1f s mean", ts->value);
      else
        {
          GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
          gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), CLAMP (ts->value, 0, 1));
          /* The default offsets colour low values as a warning; a rate is not good or bad. */
          gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
          gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
          gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
          gtk_widget_set_size_request (bar, 160, -1);
          gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
          adw_action_row_add_suffix (row, bar);
          value = g_strdup_printf ("%.2f %%", 100.0 * ts->value);
        }
      {
        GtkWidget *label = suffix_label (value, TRUE);
        gtk_label_set_width_chars (GTK_LABEL (label), 9);
        gtk_label_set_xalign (GTK_LABEL (label), 1);
        adw_action_row_add_suffix (row, label);
      }
      add_summary_row (self, self->targets_group, GTK_WIDGET (row));
    }
  gtk_widget_set_visible (GTK_WIDGET (self->targets_group), s->targets->len > 0);

  cats = join_names (s->categorical);
  nums = join_names (s->numeric);
  adw_action_row_set_subtitle (self->cat_row, *cats ? cats : "None");
  adw_action_row_set_subtitle (self->num_row, *nums ? nums : "None");

  for (guint i = 0; i < s->imports->len; i++)
    {
      DlenSummaryImport *im = g_ptr_array_index (s->imports, i);
      GtkWidget *expander = adw_expander_row_new ();
      g_autofree char *base = g_path_get_basename (im->source);
      g_autofree char *accepted = fmt_count (im->rows_accepted), *rejected = fmt_count (im->rows_rejected), *read = fmt_count (im->rows_read);
      g_autofree char *when = fmt_time_ms (im->started_ms, "%Y-%m-%d %H:%M UTC");
      g_autofree char *subtitle = g_strdup_printf ("%s rows accepted · %s rejected · %s", accepted, rejected, when);
      g_autofree char *size = g_format_size ((guint64) im->size);
      g_autofree char *sha = g_strdup_printf ("%.16s…", im->sha256 ? im->sha256 : "");
      g_autofree char *rows = g_strdup_printf ("%s read, %s accepted, %s rejected", read, accepted, rejected);
      g_autofree char *took = NULL;
      AdwActionRow *row;
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (expander), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (expander), base);
      adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (expander), subtitle);
      adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), GTK_WIDGET (plain_row ("Source", im->source)));
      adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), GTK_WIDGET (plain_row ("Size", size)));
      row = plain_row ("SHA-256", sha);
      gtk_widget_set_tooltip_text (GTK_WIDGET (row), im->sha256);
      adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), GTK_WIDGET (row));
      adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), GTK_WIDGET (plain_row ("Preset", im->preset)));
      if (im->finished_ms >= im->started_ms)
        {
          g_autofree char *start = fmt_time_ms (im->started_ms, "%Y-%m-%d %H:%M:%S UTC");
          took = g_strdup_printf ("%s, in %.1f s", start, (im->finished_ms - im->started_ms) / 1000.0);
        }
      adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), GTK_WIDGET (plain_row ("Imported", took ? took : when)));
      row = plain_row ("Rows", rows);
      if (im->rows_rejected > 0)
        {
          GtkWidget *button = gtk_button_new_with_mnemonic ("_Show Rejected Rows");
          gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
          gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "data.show-rejects");
          gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "x", im->id);
          adw_action_row_add_suffix (row, button);
        }
      adw_expander_row_add_row (ADW_EXPANDER_ROW (expander), GTK_WIDGET (row));
      {
        GtkWidget *badge = suffix_label (NULL, TRUE);
        g_autofree char *id = g_strdup_printf ("#%" G_GINT64_FORMAT, im->id);
        gtk_label_set_text (GTK_LABEL (badge), id);
        gtk_widget_add_css_class (badge, "dim-label");
        adw_expander_row_add_action (ADW_EXPANDER_ROW (expander), badge);
      }
      add_summary_row (self, self->imports_group, expander);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->imports_group), s->imports->len > 0);
  gtk_stack_set_visible_child_name (self->summary_stack, "content");
}

static void
summary_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DlenDataPage *self = DLEN_DATA_PAGE (source);
  Summary *s = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !self->disposed)
        {
          gtk_spinner_stop (self->summary_spinner);
          show_error (self, "Cannot Summarise the Project", error);
        }
      return;
    }
  if (self->disposed || !self->project || g_strcmp0 (s->path, dlen_project_get_path (self->project)) != 0)
    return;
  show_summary (self, s->p);
}

static void
start_summary (DlenDataPage *self)
{
  g_autoptr (GTask) task = NULL;
  Summary *s = g_new0 (Summary, 1);
  if (self->summary_cancellable)
    g_cancellable_cancel (self->summary_cancellable);
  g_clear_object (&self->summary_cancellable);
  self->summary_cancellable = g_cancellable_new ();
  s->path = g_strdup (dlen_project_get_path (self->project));
  /* A first summary of a large project takes a moment; later ones replace the shown one. */
  if (!self->have_summary)
    {
      gtk_spinner_start (self->summary_spinner);
      gtk_stack_set_visible_child_name (self->summary_stack, "loading");
    }
  task = g_task_new (self, self->summary_cancellable, summary_done, NULL);
  g_task_set_task_data (task, s, summary_free);
  g_task_run_in_thread (task, summary_thread);
}

/* ---- Project ------------------------------------------------------------------------------------ */

static void
refresh (DlenDataPage *self)
{
  if (!self->project)
    return;
  build_impressions (self);
  build_rejects (self);
  start_summary (self);
}

static void
update_actions (DlenDataPage *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "data.import", self->project != NULL && self->import_job == NULL);
}

DlenProject *
dlen_data_page_get_project (DlenDataPage *self)
{
  return self->project;
}

static void
reset_import_setup (DlenDataPage *self)
{
  g_clear_pointer (&self->import_path, g_free);
  g_clear_pointer (&self->import_columns, g_strfreev);
  g_clear_pointer (&self->import_samples, g_strfreev);
  for (guint i = 0; i < self->mapping_rows->len; i++)
    adw_preferences_group_remove (self->mapping_group, g_ptr_array_index (self->mapping_rows, i));
  g_ptr_array_set_size (self->mapping_rows, 0);
  set_table_model (self->preview_view, NULL);
  clear_columns (self->preview_view);
}

void
dlen_data_page_set_project (DlenDataPage *self, DlenProject *project)
{
  g_return_if_fail (DLEN_IS_DATA_PAGE (self));
  if (self->project == project)
    return;
  if (self->project)
    g_clear_signal_handler (&self->changed_handler, self->project);
  if (self->summary_cancellable)
    g_cancellable_cancel (self->summary_cancellable);
  g_set_object (&self->project, project);
  self->have_summary = FALSE;
  /* Let go of the old project's file now, even if the table drops its rows at some cost. */
  set_table_model (self->impressions_view, NULL);
  clear_columns (self->impressions_view);
  g_clear_object (&self->impressions_shown);
  set_table_model (self->rejects_view, NULL);
  g_clear_object (&self->rejects_shown);
  set_table_model (self->report_rejects_view, NULL);
  g_clear_object (&self->impressions);
  g_clear_object (&self->rejects);
  g_clear_object (&self->report_rejects);
  if (!self->import_job)
    {
      reset_import_setup (self);
      gtk_stack_set_visible_child_name (self->import_stack, "idle");
    }
  if (project)
    {
      self->changed_handler = g_signal_connect_swapped (project, "changed", G_CALLBACK (refresh), self);
      gtk_stack_set_visible_child_name (self->stack, "project");
      if (!self->import_job)
        gtk_stack_set_visible_child_name (self->views, "summary");
      refresh (self);
    }
  else
    gtk_stack_set_visible_child_name (self->stack, "empty");
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROJECT]);
}

/* ---- Import: preview and mapping ------------------------------------------------------------------ */

static gboolean
all_match (char **samples, guint n, gboolean (*pred) (const char *))
{
  guint seen = 0;
  for (guint i = 0; i < n; i++)
    {
      if (!samples[i] || !*samples[i])
        continue;
      if (!pred (samples[i]))
        return FALSE;
      seen++;
    }
  return seen > 0;
}

static gboolean
is_binary (const char *v)
{
  return g_str_equal (v, "0") || g_str_equal (v, "1");
}

static gboolean
is_integer (const char *v)
{
  char *end;
  g_ascii_strtoll (v, &end, 10);
  return end != v && *end == '\0';
}

static gboolean
is_day (const char *v)
{
  gint32 day;
  return dlen_parse_day (v, &day);
}

/* A first guess at a column's role from its name and the preview's values; the user checks it. */
static const char *
guess_role (const char *column, char **samples, guint n)
{
  g_autofree char *name = g_ascii_strdown (column, -1);
  static const char *const users[] = { "user", "user_id", "userid", "uid", NULL };
  static const char *const items[] = { "item", "item_id", "itemid", "iid", "video_id", "product_id", NULL };
  static const char *const times[] = { "time", "time_ms", "timestamp", "ts", "epoch_ms", NULL };
  if (g_strv_contains (users, name))
    return "user";
  if (g_strv_contains (items, name))
    return "item";
  if (g_strv_contains (times, name) && all_match (samples, n, is_integer))
    return "time";
  if ((g_str_equal (name, "date") || g_str_equal (name, "day")) && all_match (samples, n, is_day))
    return "date";
  if (g_str_equal (name, "session") || g_str_equal (name, "session_id"))
    return "session";
  if (g_str_equal (name, "request") || g_str_equal (name, "request_id"))
    return "request";
  if (all_match (samples, n, is_binary))
    {
      /* 0/1 columns become targets only when their name says which kind; others (flags,
       * ground truth) stay out until the user says otherwise. */
      if (strstr (name, "dislike") || strstr (name, "hate") || strstr (name, "report"))
        return "weak-negative";
      if (strstr (name, "like"))
        return "weak-positive";
      if (strstr (name, "click") || strstr (name, "view") || strstr (name, "profile"))
        return strstr (name, "long") ? "positive" : "neutral";
      if (strstr (name, "share") || strstr (name, "comment") || strstr (name, "follow") || strstr (name, "forward"))
        return "positive";
      if (strstr (name, "negative") || strstr (name, "skip"))
        return "negative";
      return "ignore";
    }
  if ((strstr (name, "stay") || strstr (name, "play_time") || strstr (name, "watch")) && !strstr (name, "duration"))
    return g_str_has_suffix (name, "_ms") ? "duration-ms" : "duration-s";
  return "ignore";
}

static guint
role_index (const char *role)
{
  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    if (g_str_equal (roles[i].role, role))
      return i;
  return 0;
}

static guint
selected_preset (DlenDataPage *self)
{
  guint i = adw_combo_row_get_selected (self->preset_row);
  return i < G_N_ELEMENTS (presets) ? i : PRESET_GENERIC;
}

/* The generic mapping as "COLUMN=ROLE" entries (NULL-terminated), ignoring ignored columns. */
static char **
build_maps (DlenDataPage *self)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < self->mapping_rows->len; i++)
    {
      guint r = adw_combo_row_get_selected (g_ptr_array_index (self->mapping_rows, i));
      if (r == 0 || r >= G_N_ELEMENTS (roles))
        continue;
      g_autofree char *map = g_strdup_printf ("%s=%s", self->import_columns[i], roles[r].role);
      g_strv_builder_add (b, map);
    }
  return g_strv_builder_end (b);
}

/* KuaiRand's video side features beside the log being imported, or NULL. */
static char *
video_features_beside (DlenDataPage *self)
{
  g_autofree char *dir = self->import_path ? g_path_get_dirname (self->import_path) : NULL;
  char *path = dir ? g_build_filename (dir, "video_features_basic.csv", NULL) : NULL;
  if (path && g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return path;
  g_free (path);
  return NULL;
}

static void
update_preset_details (DlenDataPage *self)
{
  guint p = selected_preset (self);
  g_autofree char *subtitle = NULL;
  g_autofree char *videos = video_features_beside (self);
  gtk_widget_set_visible (GTK_WIDGET (self->items_row), p == PRESET_KUAIRAND && videos != NULL);
  if (p == PRESET_KUAIRAND)
    {
      g_autofree char *dir = self->import_path ? g_path_get_dirname (self->import_path) : NULL;
      g_autofree char *beside = dir ? g_build_filename (dir, "user_features.csv", NULL) : NULL;
      gboolean join = beside && g_file_test (beside, G_FILE_TEST_IS_REGULAR);
      subtitle = g_strdup_printf ("KuaiRand: targets click, long view, comment, follow, forward, profile visit, "
                                  "like (e = 1), hate (e = 0) and stay time; %s.",
                                  join ? "joins the user features of user_features.csv beside the log"
                                       : "no user_features.csv beside the log, so no user features");
    }
  else if (p == PRESET_SYNTHETIC)
    subtitle = g_strdup ("The synthetic generator’s columns: targets click, long view, like, share, dislike "
                         "and stay time, with the true emotion kept for checking recovery.");
  else
    subtitle = g_strdup ("Any log: choose a role for each of its columns below.");
  gtk_label_set_text (self->preset_details, subtitle);
}

static void
update_mapping_status (DlenDataPage *self)
{
  static const char *const unique[] = { "user", "item", "time", "date", "session", "request" };
  guint counts[G_N_ELEMENTS (roles)] = { 0 };
  guint targets = 0;
  g_autofree char *problem = NULL;
  gboolean generic = selected_preset (self) == PRESET_GENERIC;

  gtk_widget_set_visible (GTK_WIDGET (self->mapping_group), generic);
  update_preset_details (self);
  if (!generic)
    {
      gtk_label_set_text (self->mapping_status, "");
      gtk_widget_set_sensitive (GTK_WIDGET (self->start_button), self->import_path != NULL);
      return;
    }
  for (guint i = 0; i < self->mapping_rows->len; i++)
    {
      guint r = adw_combo_row_get_selected (g_ptr_array_index (self->mapping_rows, i));
      if (r < G_N_ELEMENTS (roles))
        counts[r]++;
    }
  for (guint r = role_index ("neutral"); r < G_N_ELEMENTS (roles); r++)
    targets += counts[r];
  for (guint u = 0; u < G_N_ELEMENTS (unique) && !problem; u++)
    if (counts[role_index (unique[u])] > 1)
      problem = g_strdup_printf ("Only one column can be the %s", roles[role_index (unique[u])].label);
  if (!problem && counts[role_index ("user")] == 0)
    problem = g_strdup ("Choose the column with the user id");
  if (!problem && counts[role_index ("time")] == 0 && counts[role_index ("date")] == 0)
    problem = g_strdup ("Choose a time or a date column");
  if (!problem && targets == 0)
    problem = g_strdup ("Choose at least one target");
  if (problem)
    gtk_label_set_text (self->mapping_status, problem);
  else
    {
      guint features = counts[role_index ("item")] + counts[role_index ("category")] + counts[role_index ("numeric")]
                       + counts[role_index ("log-numeric")] + 1;
      g_autofree char *text = g_strdup_printf ("%u %s and %u %s", targets, targets == 1 ? "target" : "targets",
                                               features, features == 1 ? "feature" : "features");
      gtk_label_set_text (self->mapping_status, text);
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->start_button), self->import_path != NULL && !problem);
}

static void
build_mapping_rows (DlenDataPage *self, GPtrArray *rows)
{
  g_autoptr (GtkStringList) labels = gtk_string_list_new (NULL);
  guint n = MIN (g_strv_length (self->import_columns), MAPPING_MAX_COLUMNS);
  for (guint r = 0; r < G_N_ELEMENTS (roles); r++)
    gtk_string_list_append (labels, roles[r].label);
  for (guint c = 0; c < n; c++)
    {
      AdwComboRow *row = ADW_COMBO_ROW (adw_combo_row_new ());
      g_autofree char **samples = g_new0 (char *, rows->len + 1);
      const char *first = self->import_samples[c];
      for (guint i = 0; i < rows->len; i++)
        samples[i] = (char *) dlen_table_row_get_value (g_ptr_array_index (rows, i), c);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), self->import_columns[c]);
      if (first && *first)
        {
          g_autofree char *short_sample = g_utf8_substring (first, 0, MIN (g_utf8_strlen (first, -1), 32));
          g_autofree char *subtitle = g_strdup_printf ("e.g. %s", short_sample);
          adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
        }
      else
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), "empty in the first rows");
      adw_combo_row_set_model (row, G_LIST_MODEL (labels));
      adw_combo_row_set_selected (row, role_index (guess_role (self->import_columns[c], samples, rows->len)));
      g_signal_connect_swapped (row, "notify::selected", G_CALLBACK (update_mapping_status), self);
      adw_preferences_group_add (self->mapping_group, GTK_WIDGET (row));
      g_ptr_array_add (self->mapping_rows, row);
    }
}

/* Reads the header and the first rows of @path (bounded: PREVIEW_ROWS records) and shows the
 * setup view. */
static gboolean
load_preview (DlenDataPage *self, const char *path, GError **error)
{
  g_autoptr (DlenCsvReader) reader = dlen_csv_reader_open (path, error);
  g_autoptr (GListStore) store = NULL;
  g_autoptr (GPtrArray) rows = g_ptr_array_new ();
  g_autofree char *base = NULL, *size = NULL, *details = NULL, *first_bad = NULL, *more = NULL;
  guint n_columns, shown_columns, bad = 0;
  const char *guess = "generic";
  char delim;

  if (!reader)
    return FALSE;
  reset_import_setup (self);
  self->import_path = g_strdup (path);
  n_columns = dlen_csv_reader_n_columns (reader);
  self->import_columns = g_new0 (char *, n_columns + 1);
  self->import_samples = g_new0 (char *, n_columns + 1);
  for (guint c = 0; c < n_columns; c++)
    {
      self->import_columns[c] = g_strdup (dlen_csv_reader_column_name (reader, c));
      self->import_samples[c] = g_strdup ("");
    }

  store = g_list_store_new (DLEN_TYPE_TABLE_ROW);
  for (guint attempts = 0; rows->len < PREVIEW_ROWS && attempts < 4 * PREVIEW_ROWS; attempts++)
    {
      const char *const *fields = NULL;
      guint n = 0;
      g_autoptr (GError) row_error = NULL;
      int rc = dlen_csv_reader_next (reader, &fields, &n, &row_error);
      if (rc == 0)
        break;
      if (rc < 0)
        {
          bad++;
          if (!first_bad)
            first_bad = g_strdup (row_error->message);
          continue;
        }
      {
        char **values = g_new0 (char *, n + 1);
        g_autoptr (DlenTableRow) row = NULL;
        for (guint c = 0; c < n; c++)
          values[c] = g_strdup (fields[c]);
        for (guint c = 0; c < n && c < n_columns; c++)
          if (!*self->import_samples[c] && *fields[c])
            {
              g_free (self->import_samples[c]);
              self->import_samples[c] = g_strdup (fields[c]);
            }
        row = dlen_table_row_new_take (values);
        g_list_store_append (store, row);
        g_ptr_array_add (rows, row);
      }
    }

  /* The preview table: the file's own columns. */
  shown_columns = MIN (n_columns, PREVIEW_MAX_COLUMNS);
  for (guint c = 0; c < shown_columns; c++)
    {
      glong chars = g_utf8_strlen (self->import_columns[c], -1);
      int width;
      for (guint i = 0; i < rows->len; i++)
        chars = MAX (chars, g_utf8_strlen (dlen_table_row_get_value (g_ptr_array_index (rows, i), c), -1));
      width = CLAMP ((int) chars * 8 + 24, 64, 260);
      add_column (self->preview_view, self->import_columns[c], c, 0, width);
    }
  set_table_model (self->preview_view, G_LIST_MODEL (store));

  base = g_path_get_basename (path);
  size = g_format_size (dlen_csv_reader_size (reader));
  delim = dlen_csv_reader_delimiter (reader);
  more = n_columns > shown_columns ? g_strdup_printf (" and %u columns", shown_columns) : g_strdup ("");
  if (rows->len)
    details = g_strdup_printf ("%s · %u columns, %s-separated · the first %u %s%s%s",
                               size, n_columns,
                               delim == '\t' ? "tab" : delim == ',' ? "comma" : delim == ';' ? "semicolon" : "bar",
                               rows->len, rows->len == 1 ? "row" : "rows", more,
                               n_columns > MAPPING_MAX_COLUMNS ? "; the role editor lists the first 256 columns" : "");
  else
    details = g_strdup_printf ("%s · %u columns · no readable rows after the header", size, n_columns);
  gtk_label_set_text (self->preview_title, base);
  gtk_label_set_text (self->preview_details, details);
  if (bad)
    {
      g_autofree char *note = g_strdup_printf ("%u of the first rows %s malformed and would be rejected, the first: %s",
                                               bad, bad == 1 ? "is" : "are", first_bad);
      gtk_label_set_text (self->preview_note, note);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->preview_note), bad > 0);

  if (dlen_csv_reader_find_column (reader, "video_id") >= 0 && dlen_csv_reader_find_column (reader, "hourmin") >= 0)
    guess = "kuairand";
  else if (dlen_csv_reader_find_column (reader, "item_id") >= 0 && dlen_csv_reader_find_column (reader, "emotion_p") >= 0)
    guess = "synthetic";
  build_mapping_rows (self, rows);
  for (guint p = 0; p < G_N_ELEMENTS (presets); p++)
    if (g_str_equal (presets[p], guess))
      adw_combo_row_set_selected (self->preset_row, p);
  update_mapping_status (self);
  gtk_stack_set_visible_child_name (self->import_stack, "setup");
  gtk_stack_set_visible_child_name (self->views, "import");
  return TRUE;
}

/* ---- Import: the job ------------------------------------------------------------------------------- */

typedef struct {
  DlenJob *job;                 /* not a reference: the job owns this */
  char *project_path, *log_path, *preset;
  char **maps;
  char *item_features;
  gboolean strict;
  guint gap, request_size;
  DlenImportReport report;
} ImportTask;

static void
import_task_free (gpointer p)
{
  ImportTask *t = p;
  g_free (t->item_features);
  g_free (t->project_path);
  g_free (t->log_path);
  g_free (t->preset);
  g_strfreev (t->maps);
  dlen_import_report_clear (&t->report);
  g_free (t);
}

/* Importing thread: no GTK here. */
static void
on_import_progress (guint64 bytes_done, guint64 bytes_total, guint64 rows, gpointer data)
{
  ImportTask *t = data;
  double fraction = bytes_total ? (double) bytes_done / (double) bytes_total : 0;
  g_autofree char *n = fmt_count ((gint64) rows);
  g_autofree char *message = g_strdup_printf (rows == 1 ? "%s row read" : "%s rows read", n);
  dlen_job_set_progress (t->job, fraction, message);
}

static gboolean
import_worker (DlenJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  ImportTask *t = data;
  g_autoptr (DlenStore) store = NULL;
  DlenImportOptions options;
  dlen_job_set_progress (job, 0, "Checking the file…");
  /* One SQLite connection per thread: the worker writes through its own. */
  store = dlen_store_open (t->project_path, FALSE, error);
  if (!store)
    return FALSE;
  dlen_import_options_init (&options);
  options.load.preset = t->preset;
  options.load.maps = (const char *const *) t->maps;
  options.load.strict = t->strict;
  options.load.item_features = t->item_features;
  options.session_gap_minutes = t->gap;
  options.request_size = t->request_size;
  return dlen_store_import (store, t->log_path, &options, on_import_progress, t, cancellable, &t->report, error);
}

static void
show_report (DlenDataPage *self, ImportTask *t)
{
  g_autofree char *base = g_path_get_basename (t->log_path);
  g_autofree char *read = fmt_count ((gint64) t->report.rows_read);
  g_autofree char *accepted = fmt_count ((gint64) t->report.rows_accepted);
  g_autofree char *rejected = fmt_count ((gint64) t->report.rows_rejected);
  g_autofree char *title = g_strdup_printf ("Imported %s", base);
  g_autofree char *description = NULL;
  g_autoptr (GError) error = NULL;
  gboolean clean = t->report.rows_rejected == 0;

  description = clean ? g_strdup_printf ("All %s rows were accepted as import #%" G_GINT64_FORMAT ".", accepted, t->report.import_id)
                      : g_strdup_printf ("%s of %s rows were accepted as import #%" G_GINT64_FORMAT "; %s %s skipped, "
                                         "each listed below with its line, column and reason.",
                                         accepted, read, t->report.import_id, rejected,
                                         t->report.rows_rejected == 1 ? "row was" : "rows were");
  gtk_image_set_from_icon_name (self->report_icon, clean ? "emblem-ok-symbolic" : "dialog-warning-symbolic");
  gtk_widget_remove_css_class (GTK_WIDGET (self->report_icon), clean ? "warning" : "success");
  gtk_widget_add_css_class (GTK_WIDGET (self->report_icon), clean ? "success" : "warning");
  gtk_label_set_text (self->report_title, title);
  gtk_label_set_text (self->report_description, description);
  gtk_label_set_text (self->report_read, read);
  gtk_label_set_text (self->report_accepted, accepted);
  gtk_label_set_text (self->report_rejected, rejected);
  adw_action_row_set_subtitle (self->report_first_row, t->report.first_reject ? t->report.first_reject : "");
  gtk_widget_set_visible (GTK_WIDGET (self->report_first_row), t->report.first_reject != NULL);
  adw_action_row_set_subtitle (self->report_source_row, t->log_path);

  set_table_model (self->report_rejects_view, NULL);
  g_clear_object (&self->report_rejects);
  if (!clean)
    {
      self->report_rejects = new_rejects_model (self->project, t->report.import_id, &error);
      if (self->report_rejects)
        {
          set_table_model (self->report_rejects_view, G_LIST_MODEL (self->report_rejects));
        }
      else
        g_warning ("rejected rows: %s", error->message);
    }
  gtk_widget_set_visible (self->report_rejects_box, self->report_rejects != NULL);
  gtk_stack_set_visible_child_name (self->import_stack, "report");
}

static void
import_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DlenDataPage *self = data;
  /* Our reference: the page drops its own below, and the report lives in the job's data. */
  g_autoptr (DlenJob) job = g_object_ref (DLEN_JOB (source));
  ImportTask *t = g_object_get_data (G_OBJECT (job), "dlen-import-task");
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenProject) project = g_steal_pointer (&self->import_project);
  gboolean ok = dlen_job_run_finish (job, result, &error);
  gboolean here = project && project == self->project && !self->disposed;

  g_clear_pointer (&self->progress_binding, g_binding_unbind);
  g_clear_pointer (&self->message_binding, g_binding_unbind);
  g_clear_object (&self->import_job);
  if (!self->disposed)
    update_actions (self);

  if (ok)
    {
      g_autofree char *accepted = fmt_count ((gint64) t->report.rows_accepted);
      g_autofree char *base = g_path_get_basename (t->log_path);
      g_autofree char *message = g_strdup_printf ("Imported %s rows from %s", accepted, base);
      /* Every page refreshes, this one included (tables, summary, rejects). */
      dlen_project_changed (project);
      if (here)
        {
          show_report (self, t);
          reset_import_setup (self);
        }
      if (!self->disposed)
        toast (self, message);
    }
  else if (!self->disposed)
    {
      if (here)
        gtk_stack_set_visible_child_name (self->import_stack, self->import_path ? "setup" : "idle");
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        toast (self, "Import cancelled: the project is unchanged");
      else
        show_error (self, "Import Failed", error);
    }
  if (!self->disposed)
    g_signal_emit (self, signals[SIGNAL_IMPORT_FINISHED], 0, ok);
  g_object_unref (self);
}

static void
start_import (DlenDataPage *self, const char *preset, const char *const *maps, gboolean strict)
{
  ImportTask *t = g_new0 (ImportTask, 1);
  DlenWindow *window = window_of (self);
  g_autofree char *base = g_path_get_basename (self->import_path);
  g_autofree char *title = g_strdup_printf ("Importing %s", base);
  g_autofree char *project_name = dlen_project_dup_title (self->project);
  g_autofree char *description = g_markup_printf_escaped ("Into %s. Rows are checked and stored in one transaction, "
                                                          "then sessions and history features are derived; cancelling "
                                                          "leaves the project as it was.", project_name);
  t->project_path = g_strdup (dlen_project_get_path (self->project));
  t->log_path = g_strdup (self->import_path);
  t->preset = g_strdup (preset);
  t->maps = g_strdupv ((char **) maps);
  t->strict = strict;
  if (g_str_equal (preset, "kuairand") && gtk_switch_get_active (self->items_switch))
    t->item_features = video_features_beside (self);
  t->gap = (guint) gtk_spin_button_get_value_as_int (self->gap_spin);
  t->request_size = (guint) gtk_spin_button_get_value_as_int (self->request_spin);

  self->import_job = dlen_job_new (title, import_worker, t, import_task_free);
  t->job = self->import_job;
  g_object_set_data (G_OBJECT (self->import_job), "dlen-import-task", t);
  self->import_project = g_object_ref (self->project);
  self->progress_binding = g_object_bind_property (self->import_job, "fraction", self->progress_bar, "fraction",
                                                   G_BINDING_SYNC_CREATE);
  self->message_binding = g_object_bind_property (self->import_job, "message", self->progress_label, "label",
                                                  G_BINDING_SYNC_CREATE);
  gtk_label_set_text (self->progress_label, "Checking the file…");
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), TRUE);
  adw_status_page_set_title (self->running_status, title);
  adw_status_page_set_description (self->running_status, description);
  gtk_stack_set_visible_child_name (self->import_stack, "running");
  gtk_stack_set_visible_child_name (self->views, "import");
  update_actions (self);
  if (window)
    dlen_window_run_job (window, self->import_job, import_done, g_object_ref (self));
  else
    dlen_job_run_async (self->import_job, NULL, import_done, g_object_ref (self));
}

static void
on_start_clicked (DlenDataPage *self)
{
  guint p = selected_preset (self);
  g_auto (GStrv) maps = p == PRESET_GENERIC ? build_maps (self) : NULL;
  if (!self->import_path || !self->project || self->import_job)
    return;
  start_import (self, presets[p], (const char *const *) maps, gtk_switch_get_active (self->strict_switch));
}

static void
on_setup_cancel (DlenDataPage *self)
{
  reset_import_setup (self);
  gtk_stack_set_visible_child_name (self->import_stack, "idle");
  gtk_stack_set_visible_child_name (self->views, "summary");
}

static void
on_cancel_import (DlenDataPage *self)
{
  if (self->import_job)
    {
      dlen_job_cancel (self->import_job);
      gtk_label_set_text (self->progress_label, "Cancelling: rolling back…");
      gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), FALSE);
    }
}

static void
on_report_done (DlenDataPage *self)
{
  gtk_stack_set_visible_child_name (self->views, "summary");
}

/* Refuses without a project and while an import runs, saying why. */
static gboolean
can_import (DlenDataPage *self)
{
  if (!self->project)
    {
      g_autoptr (GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                                                      "Create or open a project first, then import the log into it.");
      show_error (self, "No Project Open", error);
      return FALSE;
    }
  if (self->import_job)
    {
      gtk_stack_set_visible_child_name (self->views, "import");
      toast (self, "An import is already running");
      return FALSE;
    }
  return TRUE;
}

/* Shared by the public entry points: refuses files that are not logs; otherwise shows the
 * preview. */
static gboolean
prepare_import (DlenDataPage *self, GFile *file)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr (GError) error = NULL;
  if (!can_import (self))
    return FALSE;
  if (!path)
    {
      g_autofree char *uri = g_file_get_uri (file);
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s is not a local file; copy it to this computer first", uri);
      show_error (self, "Cannot Import the Log", error);
      return FALSE;
    }
  if (dlen_store_is_project_file (path))
    {
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s is a DLEN project, not a log; open it with Open Project instead", path);
      show_error (self, "Cannot Import the Log", error);
      return FALSE;
    }
  if (!load_preview (self, path, &error))
    {
      show_error (self, "Cannot Read the Log", error);
      return FALSE;
    }
  return TRUE;
}

void
dlen_data_page_import_file (DlenDataPage *self, GFile *file)
{
  g_return_if_fail (DLEN_IS_DATA_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));
  prepare_import (self, file);
}

void
dlen_data_page_import_with_options (DlenDataPage *self, GFile *file, const char *preset, const char *const *maps,
                                    gboolean strict)
{
  g_return_if_fail (DLEN_IS_DATA_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));
  if (!prepare_import (self, file))
    {
      g_signal_emit (self, signals[SIGNAL_IMPORT_FINISHED], 0, FALSE);
      return;
    }
  if (!preset)
    preset = presets[selected_preset (self)];
  for (guint p = 0; p < G_N_ELEMENTS (presets); p++)
    if (g_str_equal (presets[p], preset))
      adw_combo_row_set_selected (self->preset_row, p);
  gtk_switch_set_active (self->strict_switch, strict);
  if (g_str_equal (preset, "generic") && !maps)
    {
      /* The role editor's mapping, as the Import button would use it. */
      g_auto (GStrv) edited = build_maps (self);
      start_import (self, preset, (const char *const *) edited, strict);
    }
  else
    start_import (self, preset, maps, strict);
}

static void
on_choose_response (GtkNativeDialog *dialog, int response, gpointer data)
{
  DlenDataPage *self = data;
  if (response == GTK_RESPONSE_ACCEPT && !self->disposed)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file)
        prepare_import (self, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

void
dlen_data_page_choose_import (DlenDataPage *self)
{
  GtkFileChooserNative *dialog;
  GtkFileFilter *filter;
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_return_if_fail (DLEN_IS_DATA_PAGE (self));
  if (!can_import (self))
    return;
  dialog = gtk_file_chooser_native_new ("Import Log", GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_OPEN, "_Import", "_Cancel");
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "Impression logs (CSV, TSV)");
  gtk_file_filter_add_mime_type (filter, "text/csv");
  gtk_file_filter_add_mime_type (filter, "text/tab-separated-values");
  gtk_file_filter_add_suffix (filter, "csv");
  gtk_file_filter_add_suffix (filter, "tsv");
  gtk_file_filter_add_suffix (filter, "tab");
  gtk_file_filter_add_suffix (filter, "txt");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_object_unref (filter);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "All files");
  gtk_file_filter_add_pattern (filter, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_object_unref (filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_choose_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
action_import (GtkWidget *widget, const char *name, GVariant *param)
{
  dlen_data_page_choose_import (DLEN_DATA_PAGE (widget));
}

/* ---- Accessors for tests --------------------------------------------------------------------------- */

DlenJob *
dlen_data_page_get_import_job (DlenDataPage *self)
{
  return self->import_job;
}

GListModel *
dlen_data_page_get_impressions_model (DlenDataPage *self)
{
  return self->impressions ? G_LIST_MODEL (self->impressions) : NULL;
}

GListModel *
dlen_data_page_get_rejects_model (DlenDataPage *self)
{
  return self->rejects ? G_LIST_MODEL (self->rejects) : NULL;
}

GListModel *
dlen_data_page_get_report_rejects_model (DlenDataPage *self)
{
  return self->report_rejects ? G_LIST_MODEL (self->report_rejects) : NULL;
}

const char *
dlen_data_page_get_view (DlenDataPage *self)
{
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "empty") == 0)
    return "empty";
  return gtk_stack_get_visible_child_name (self->views);
}

gboolean
dlen_data_page_show_view (DlenDataPage *self, const char *name)
{
  if (!self->project || !name || !gtk_stack_get_child_by_name (self->views, name))
    return FALSE;
  gtk_stack_set_visible_child_name (self->views, name);
  return TRUE;
}

/* ---- Life cycle -------------------------------------------------------------------------------- */

static void
dlen_data_page_dispose (GObject *object)
{
  DlenDataPage *self = DLEN_DATA_PAGE (object);
  self->disposed = TRUE;
  if (self->summary_cancellable)
    g_cancellable_cancel (self->summary_cancellable);
  if (self->project)
    g_clear_signal_handler (&self->changed_handler, self->project);
  /* A running import goes on (the window cancels it when it closes); import_done holds a
   * reference and sees the page is gone. */
  g_clear_pointer (&self->progress_binding, g_binding_unbind);
  g_clear_pointer (&self->message_binding, g_binding_unbind);
  if (self->impressions_view)
    {
      set_table_model (self->impressions_view, NULL);
      set_table_model (self->rejects_view, NULL);
      set_table_model (self->report_rejects_view, NULL);
      set_table_model (self->preview_view, NULL);
    }
  /* AdwBin owns its child: release it through AdwBin before the template drops its pointers. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), DLEN_TYPE_DATA_PAGE);
  g_clear_object (&self->impressions);
  g_clear_object (&self->impressions_shown);
  g_clear_pointer (&self->impression_columns, g_ptr_array_unref);
  g_clear_object (&self->rejects);
  g_clear_object (&self->rejects_shown);
  g_clear_object (&self->report_rejects);
  g_clear_object (&self->summary_cancellable);
  g_clear_object (&self->project);
  G_OBJECT_CLASS (dlen_data_page_parent_class)->dispose (object);
}

static void
dlen_data_page_finalize (GObject *object)
{
  DlenDataPage *self = DLEN_DATA_PAGE (object);
  g_clear_object (&self->import_job);
  g_clear_object (&self->import_project);
  g_free (self->import_path);
  g_strfreev (self->import_columns);
  g_strfreev (self->import_samples);
  g_ptr_array_unref (self->mapping_rows);
  g_ptr_array_unref (self->summary_rows);
  g_clear_pointer (&self->rejects_filter_ids, g_array_unref);
  G_OBJECT_CLASS (dlen_data_page_parent_class)->finalize (object);
}

static void
dlen_data_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenDataPage *self = DLEN_DATA_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: g_value_set_object (value, self->project); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_data_page_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DlenDataPage *self = DLEN_DATA_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: dlen_data_page_set_project (self, g_value_get_object (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_data_page_class_init (DlenDataPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = dlen_data_page_dispose;
  object_class->finalize = dlen_data_page_finalize;
  object_class->get_property = dlen_data_page_get_property;
  object_class->set_property = dlen_data_page_set_property;
  props[PROP_PROJECT] = g_param_spec_object ("project", NULL, NULL, DLEN_TYPE_PROJECT,
                                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
  signals[SIGNAL_IMPORT_FINISHED] = g_signal_new ("import-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/dlen/Workbench/ui/dlen-data-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, stack);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, views);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, summary_stack);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, summary_spinner);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, stats_box);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, first_label);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, last_label);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, targets_group);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, cat_row);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, num_row);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, imports_group);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, impressions_stack);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, impressions_view);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, impressions_footer);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, rejects_bar);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, rejects_separator);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, rejects_filter_label);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, rejects_filter);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, rejects_count);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, rejects_stack);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, rejects_status);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, rejects_view);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, import_stack);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, preview_title);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, preview_details);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, preview_view);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, preview_note);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, preset_row);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, preset_details);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, strict_switch);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, items_switch);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, items_row);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, gap_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, request_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, mapping_group);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, roles_help);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, mapping_status);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, setup_cancel);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, start_button);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, running_status);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, progress_label);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_icon);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_title);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_description);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_read);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_accepted);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_rejected);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_first_row);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_source_row);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_rejects_box);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_rejects_view);
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, report_done);

  gtk_widget_class_install_action (widget_class, "data.import", NULL, action_import);
  gtk_widget_class_install_action (widget_class, "data.show-rejects", "x", action_show_rejects);
}

static void
dlen_data_page_init (DlenDataPage *self)
{
  g_autofree char *help = NULL;
  gtk_widget_init_template (GTK_WIDGET (self));
  self->summary_rows = g_ptr_array_new_with_free_func (g_object_unref);
  self->mapping_rows = g_ptr_array_new ();

  for (guint i = 0; i < N_STATS; i++)
    {
      GtkWidget *card = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
      GtkWidget *value = gtk_label_new ("0");
      GtkWidget *title = gtk_label_new (stat_titles[i]);
      gtk_widget_add_css_class (card, "card");
      gtk_widget_set_margin_start (value, 12);
      gtk_widget_set_margin_end (value, 12);
      gtk_widget_set_margin_top (value, 14);
      gtk_widget_set_margin_bottom (title, 14);
      gtk_widget_add_css_class (value, "title-2");
      gtk_widget_add_css_class (value, "numeric");
      gtk_widget_add_css_class (title, "dim-label");
      gtk_widget_add_css_class (title, "caption-heading");
      gtk_label_set_ellipsize (GTK_LABEL (value), PANGO_ELLIPSIZE_END);
      gtk_box_append (GTK_BOX (card), value);
      gtk_box_append (GTK_BOX (card), title);
      gtk_flow_box_append (self->stats_box, card);
      gtk_widget_set_focusable (gtk_widget_get_parent (card), FALSE);
      self->stat_values[i] = GTK_LABEL (value);
    }

  help = g_strdup_printf ("Roles (as dlen --map COLUMN=ROLE names them):\n%s", dlen_loader_roles_help);
  gtk_label_set_text (self->roles_help, g_strchomp (help));
  setup_rejects_columns (self->rejects_view);
  setup_rejects_columns (self->report_rejects_view);
  {
    /* The report lists one import's rows: its file is in the title already. */
    g_autoptr (GtkColumnViewColumn) import_column =
      g_list_model_get_item (gtk_column_view_get_columns (self->report_rejects_view), 0);
    gtk_column_view_column_set_visible (import_column, FALSE);
  }

  g_signal_connect_swapped (self->preset_row, "notify::selected", G_CALLBACK (update_mapping_status), self);
  g_signal_connect_swapped (self->start_button, "clicked", G_CALLBACK (on_start_clicked), self);
  g_signal_connect_swapped (self->setup_cancel, "clicked", G_CALLBACK (on_setup_cancel), self);
  g_signal_connect_swapped (self->cancel_button, "clicked", G_CALLBACK (on_cancel_import), self);
  g_signal_connect_swapped (self->report_done, "clicked", G_CALLBACK (on_report_done), self);
  g_signal_connect (self->rejects_filter, "notify::selected", G_CALLBACK (on_rejects_filter), self);
  g_signal_connect_swapped (self->views, "notify::visible-child", G_CALLBACK (on_view_changed), self);
  update_actions (self);
}
