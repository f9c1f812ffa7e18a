/* dlen-models-page.c: the Models page: every model of the project with its per-target test
 * metrics side by side, the best value of each column highlighted, CSV export and deletion. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include "dlen-output.h"
#include "dlen-error.h"
#include "dlen-model-summary.h"
#include "dlen-models-page.h"
#include "dlen-csv.h"
#include "dlen-window.h"

/* ---- Columns ----------------------------------------------------------------------------------- */

typedef enum {
  COLUMN_ID,
  COLUMN_NAME,
  COLUMN_ARCH,
  COLUMN_CREATED,
  COLUMN_VALUE,
} ColumnKind;

typedef enum {
  VALUE_AUC,
  VALUE_GAUC,
  VALUE_RMSE,
  VALUE_EMOTION_AUC,
  VALUE_TRUE_EMOTION_AUC,
} ValueKind;

/* One column of the table; shared by the column's factory and sorter (reference counted). */
typedef struct {
  ColumnKind kind;
  ValueKind value;
  char *target;                /* VALUE_AUC, VALUE_GAUC, VALUE_RMSE */
  char *title;                 /* header in the table (value columns: on two lines) */
  char *csv;                   /* header in the CSV */
  gboolean lower_is_better;
  double best;                 /* NaN when fewer than two models have a value */
} Column;

static void
column_free (gpointer data)
{
  Column *c = data;
  g_free (c->target);
  g_free (c->title);
  g_free (c->csv);
  g_free (c);
}

static Column *
column_new (ColumnKind kind, ValueKind value, const char *target, const char *title, const char *csv)
{
  Column *c = g_new0 (Column, 1);
  c->kind = kind;
  c->value = value;
  c->target = g_strdup (target);
  c->title = g_strdup (title);
  c->csv = g_strdup (csv);
  c->lower_is_better = kind == COLUMN_VALUE && value == VALUE_RMSE;
  c->best = NAN;
  return c;
}

static double
column_value (const Column *c, const DlenModelSummary *s)
{
  const DlenTargetSummary *t;
  switch (c->value)
    {
    case VALUE_EMOTION_AUC: return s->emotion_auc;
    case VALUE_TRUE_EMOTION_AUC: return s->true_emotion_auc;
    default: break;
    }
  t = dlen_model_summary_find_target (s, c->target);
  if (!t)
    return NAN;
  switch (c->value)
    {
    case VALUE_AUC: return t->auc;
    case VALUE_GAUC: return t->gauc;
    case VALUE_RMSE: return t->rmse_log1p;
    default: return NAN;
    }
}

static gboolean
is_best (const Column *c, double v)
{
  /* Values come from the same parsed JSON, so equality is exact; ties are all highlighted. */
  return c->kind == COLUMN_VALUE && isfinite (v) && isfinite (c->best) && v == c->best;
}

/* ---- Row objects --------------------------------------------------------------------------------- */

#define DLEN_TYPE_MODEL_ROW (dlen_model_row_get_type ())
G_DECLARE_FINAL_TYPE (DlenModelRow, dlen_model_row, DLEN, MODEL_ROW, GObject)

struct _DlenModelRow {
  GObject parent_instance;
  DlenModelSummary *summary;
};

G_DEFINE_FINAL_TYPE (DlenModelRow, dlen_model_row, G_TYPE_OBJECT)

static void
dlen_model_row_finalize (GObject *object)
{
  dlen_model_summary_free (DLEN_MODEL_ROW (object)->summary);
  G_OBJECT_CLASS (dlen_model_row_parent_class)->finalize (object);
}

static void
dlen_model_row_class_init (DlenModelRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dlen_model_row_finalize;
}

static void
dlen_model_row_init (DlenModelRow *self)
{
}

static DlenModelRow *
dlen_model_row_new (DlenModelSummary *summary)
{
  DlenModelRow *self = g_object_new (DLEN_TYPE_MODEL_ROW, NULL);
  self->summary = summary;
  return self;
}

/* ---- The page ------------------------------------------------------------------------------------ */

struct _DlenModelsPage {
  AdwBin parent_instance;

  /* Template widgets */
  GtkStack *stack;
  GtkLabel *title_label;
  GtkColumnView *column_view;

  /* Owned */
  DlenProject *project;
  gulong changed_id;
  GListStore *rows;            /* DlenModelRow, id order */
  GtkSingleSelection *selection;
  GPtrArray *columns;          /* Column*, borrowed from the column view's factories */
  gboolean deleting;           /* a deletion runs (dlen_models_page_delete_model) */
};

enum { PROP_0, PROP_PROJECT, N_PROPS };
static GParamSpec *props[N_PROPS];
enum { SIGNAL_MODEL_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DlenModelsPage, dlen_models_page, ADW_TYPE_BIN)

DlenProject *
dlen_models_page_get_project (DlenModelsPage *self)
{
  return self->project;
}

guint
dlen_models_page_get_n_models (DlenModelsPage *self)
{
  g_return_val_if_fail (DLEN_IS_MODELS_PAGE (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->rows));
}

static char *
cell_text (const Column *c, const DlenModelSummary *s)
{
  double v;
  switch (c->kind)
    {
    case COLUMN_ID: return g_strdup_printf ("%" G_GINT64_FORMAT, s->id);
    case COLUMN_NAME: return g_strdup (s->name);
    case COLUMN_ARCH: return g_strdup (s->arch);
    case COLUMN_CREATED: return dlen_format_time_ms (s->created_ms);
    case COLUMN_VALUE:
    default:
      v = column_value (c, s);
      return isfinite (v) ? g_strdup_printf ("%.4f", v) : g_strdup ("—");
    }
}

static void
setup_cell (GtkSignalListItemFactory *factory, GtkListItem *item, Column *c)
{
  GtkWidget *label = gtk_label_new (NULL);
  gboolean numeric = c->kind == COLUMN_VALUE || c->kind == COLUMN_ID;
  gtk_label_set_xalign (GTK_LABEL (label), numeric ? 1 : 0);
  if (numeric)
    gtk_widget_add_css_class (label, "numeric");
  if (c->kind == COLUMN_NAME)
    gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (item, label);
}

static void
bind_cell (GtkSignalListItemFactory *factory, GtkListItem *item, Column *c)
{
  DlenModelRow *row = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_list_item_get_child (item);
  g_autofree char *text = cell_text (c, row->summary);
  gtk_label_set_text (GTK_LABEL (label), text);
  if (c->kind == COLUMN_NAME)
    gtk_widget_set_tooltip_text (label, text);
  if (c->kind == COLUMN_VALUE && is_best (c, column_value (c, row->summary)))
    gtk_widget_add_css_class (label, "best-value");
  else
    gtk_widget_remove_css_class (label, "best-value");
}

static int
compare_rows (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Column *c = user_data;
  const DlenModelSummary *x = ((DlenModelRow *) a)->summary, *y = ((DlenModelRow *) b)->summary;
  double u, v;
  switch (c->kind)
    {
    case COLUMN_NAME: return g_utf8_collate (x->name, y->name);
    case COLUMN_ARCH: return g_strcmp0 (x->arch, y->arch);
    case COLUMN_CREATED: return (x->created_ms > y->created_ms) - (x->created_ms < y->created_ms);
    case COLUMN_ID: return (x->id > y->id) - (x->id < y->id);
    case COLUMN_VALUE:
    default:
      u = column_value (c, x);
      v = column_value (c, y);
      /* Missing values sort before any number (last when descending, the usual view). */
      if (!isfinite (u) || !isfinite (v))
        return isfinite (u) - isfinite (v);
      return (u > v) - (u < v);
    }
}

static void
add_column (GPtrArray *wanted, Column *c)
{
  g_ptr_array_add (wanted, c);
}

static void
append_column (DlenModelsPage *self, Column *c)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_autoptr (GtkColumnViewColumn) col = NULL;
  g_autoptr (GtkSorter) sorter = NULL;
  /* The factory owns the column description; the page borrows it while the column exists. */
  g_object_set_data_full (G_OBJECT (factory), "column", c, column_free);
  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), c);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), c);
  {
    /* Value headers on two lines ("click" over "AUC") keep the table narrow. */
    g_autofree char *header = g_strdup (c->title);
    char *space = c->kind == COLUMN_VALUE ? strrchr (header, ' ') : NULL;
    if (space)
      *space = '\n';
    col = gtk_column_view_column_new (header, factory);
  }
  sorter = GTK_SORTER (gtk_custom_sorter_new (compare_rows, c, NULL));
  gtk_column_view_column_set_sorter (col, sorter);
  gtk_column_view_column_set_resizable (col, TRUE);
  if (c->kind == COLUMN_NAME)
    {
      gtk_column_view_column_set_fixed_width (col, 180);
    }
  gtk_column_view_append_column (self->column_view, col);
  g_ptr_array_add (self->columns, c);
}

/* The value columns: per binary target AUC and GAUC, per duration RMSE, then the emotion;
 * targets in the order of the first model having them. */
static void
build_columns (DlenModelsPage *self, GPtrArray *rows)
{
  GListModel *cols = gtk_column_view_get_columns (self->column_view);
  g_autoptr (GPtrArray) targets = g_ptr_array_new ();   /* DlenTargetSummary*, borrowed */
  g_autoptr (GPtrArray) wanted = g_ptr_array_new_with_free_func (column_free);
  GPtrArray *self_columns = wanted;
  guint n = rows->len;
  gboolean emotion = FALSE, truth = FALSE, same;

  for (guint i = 0; i < n; i++)
    {
      DlenModelRow *row = g_ptr_array_index (rows, i);
      DlenModelSummary *s = row->summary;
      for (guint k = 0; k < s->targets->len; k++)
        {
          DlenTargetSummary *t = &g_array_index (s->targets, DlenTargetSummary, k);
          gboolean seen = FALSE;
          for (guint j = 0; j < targets->len && !seen; j++)
            seen = g_str_equal (((DlenTargetSummary *) g_ptr_array_index (targets, j))->name, t->name);
          if (!seen)
            g_ptr_array_add (targets, t);
        }
      emotion |= isfinite (s->emotion_auc);
      truth |= isfinite (s->true_emotion_auc);
    }

  add_column (wanted, column_new (COLUMN_ID, 0, NULL, "ID", "id"));
  add_column (wanted, column_new (COLUMN_NAME, 0, NULL, "Name", "name"));
  add_column (wanted, column_new (COLUMN_ARCH, 0, NULL, "Arch", "arch"));
  add_column (wanted, column_new (COLUMN_CREATED, 0, NULL, "Created", "created"));
  for (guint j = 0; j < targets->len; j++)
    {
      DlenTargetSummary *t = g_ptr_array_index (targets, j);
      g_autofree char *a = NULL, *b = NULL, *ca = NULL, *cb = NULL;
      if (t->binary)
        {
          a = g_strdup_printf ("%s AUC", t->name);
          ca = g_strdup_printf ("%s_auc", t->name);
          b = g_strdup_printf ("%s GAUC", t->name);
          cb = g_strdup_printf ("%s_gauc", t->name);
          add_column (wanted, column_new (COLUMN_VALUE, VALUE_AUC, t->name, a, ca));
          add_column (wanted, column_new (COLUMN_VALUE, VALUE_GAUC, t->name, b, cb));
        }
      else
        {
          a = g_strdup_printf ("%s RMSE", t->name);
          ca = g_strdup_printf ("%s_rmse_log1p", t->name);
          add_column (wanted, column_new (COLUMN_VALUE, VALUE_RMSE, t->name, a, ca));
        }
    }
  if (emotion)
    add_column (wanted, column_new (COLUMN_VALUE, VALUE_EMOTION_AUC, NULL, "Emotion AUC", "emotion_auc"));
  if (truth)
    add_column (wanted, column_new (COLUMN_VALUE, VALUE_TRUE_EMOTION_AUC, NULL, "True Emotion AUC", "true_emotion_auc"));

  /* Best per column. */
  for (guint j = 0; j < self_columns->len; j++)
    {
      Column *c = g_ptr_array_index (self_columns, j);
      guint with_value = 0;
      if (c->kind != COLUMN_VALUE)
        continue;
      for (guint i = 0; i < n; i++)
        {
          DlenModelRow *row = g_ptr_array_index (rows, i);
          double v = column_value (c, row->summary);
          with_value += isfinite (v);
          if (isfinite (v) && (!isfinite (c->best) || (c->lower_is_better ? v < c->best : v > c->best)))
            c->best = v;
        }
      /* A lone value is not "the best" of anything. */
      if (with_value < 2)
        c->best = NAN;
    }

  /* The same columns as shown: update their best values in place, which keeps the user's
   * sort (GTK 4.8 cannot tell which column sorts, so a rebuild would lose it). */
  same = wanted->len == self->columns->len;
  for (guint j = 0; same && j < wanted->len; j++)
    same = g_str_equal (((Column *) g_ptr_array_index (wanted, j))->title,
                        ((Column *) g_ptr_array_index (self->columns, j))->title);
  if (same)
    {
      for (guint j = 0; j < wanted->len; j++)
        ((Column *) g_ptr_array_index (self->columns, j))->best = ((Column *) g_ptr_array_index (wanted, j))->best;
      return;
    }
  while (g_list_model_get_n_items (cols) > 0)
    {
      g_autoptr (GtkColumnViewColumn) col = g_list_model_get_item (cols, 0);
      gtk_column_view_remove_column (self->column_view, col);
    }
  g_ptr_array_set_size (self->columns, 0);
  g_ptr_array_set_free_func (wanted, NULL);
  for (guint j = 0; j < wanted->len; j++)
    append_column (self, g_ptr_array_index (wanted, j));
}

static void
update_actions (DlenModelsPage *self)
{
  gboolean any = self->project && dlen_models_page_get_n_models (self) > 0;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "models.export-csv", any);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "models.delete",
                                 any && !self->deleting && gtk_single_selection_get_selected_item (self->selection) != NULL);
}

static void
refresh (DlenModelsPage *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) models = NULL;
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *title = NULL;
  guint n;

  if (!self->stack)
    return;
  if (!self->project)
    {
      g_list_store_remove_all (self->rows);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      update_actions (self);
      return;
    }
  models = dlen_model_summaries_load (dlen_project_get_store (self->project), &error);
  if (!models)
    {
      g_warning ("%s", error->message);
      models = g_ptr_array_new ();
    }
  for (guint i = 0; i < models->len; i++)
    g_ptr_array_add (rows, dlen_model_row_new (g_ptr_array_index (models, i)));
  /* The rows own the summaries now. */
  g_ptr_array_set_free_func (models, NULL);

  /* Columns and best values first: the splice binds the new rows. */
  build_columns (self, rows);
  g_list_store_splice (self->rows, 0, g_list_model_get_n_items (G_LIST_MODEL (self->rows)), rows->pdata, rows->len);

  n = dlen_models_page_get_n_models (self);
  title = g_strdup_printf (n == 1 ? "%u Model" : "%u Models", n);
  gtk_label_set_text (self->title_label, title);
  gtk_stack_set_visible_child_name (self->stack, n ? "table" : "none");
  update_actions (self);
}

void
dlen_models_page_set_project (DlenModelsPage *self, DlenProject *project)
{
  if (self->project == project)
    return;
  if (self->project)
    g_clear_signal_handler (&self->changed_id, self->project);
  g_set_object (&self->project, project);
  if (project)
    self->changed_id = g_signal_connect_swapped (project, "changed", G_CALLBACK (refresh), self);
  refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROJECT]);
}

char **
dlen_models_page_dup_column_titles (DlenModelsPage *self)
{
  GStrvBuilder *b = g_strv_builder_new ();
  char **out;
  for (guint j = 0; j < self->columns->len; j++)
    g_strv_builder_add (b, ((Column *) g_ptr_array_index (self->columns, j))->title);
  out = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return out;
}

gboolean
dlen_models_page_is_best (DlenModelsPage *self, gint64 model_id, const char *column)
{
  guint n = dlen_models_page_get_n_models (self);
  for (guint j = 0; j < self->columns->len; j++)
    {
      Column *c = g_ptr_array_index (self->columns, j);
      if (!g_str_equal (c->title, column))
        continue;
      for (guint i = 0; i < n; i++)
        {
          g_autoptr (DlenModelRow) row = g_list_model_get_item (G_LIST_MODEL (self->rows), i);
          if (row->summary->id == model_id)
            return is_best (c, column_value (c, row->summary));
        }
    }
  return FALSE;
}

/* ---- CSV ------------------------------------------------------------------------------------------ */

gboolean
dlen_models_page_write_csv (DlenModelsPage *self, const char *path, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  guint n = dlen_models_page_get_n_models (self);
  g_return_val_if_fail (DLEN_IS_MODELS_PAGE (self), FALSE);
  for (guint j = 0; j < self->columns->len; j++)
    {
      if (j)
        g_string_append_c (out, ',');
      dlen_csv_append_field (out, ((Column *) g_ptr_array_index (self->columns, j))->csv);
    }
  g_string_append (out, "\r\n");
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (DlenModelRow) row = g_list_model_get_item (G_LIST_MODEL (self->rows), i);
      for (guint j = 0; j < self->columns->len; j++)
        {
          Column *c = g_ptr_array_index (self->columns, j);
          if (j)
            g_string_append_c (out, ',');
          if (c->kind == COLUMN_VALUE)
            {
              /* Full precision: the CSV is for analysis, not display. */
              double v = column_value (c, row->summary);
              if (isfinite (v))
                g_string_append_printf (out, "%.10g", v);
            }
          else if (c->kind == COLUMN_CREATED)
            {
              g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (row->summary->created_ms / 1000);
              g_autofree char *iso = t ? g_date_time_format_iso8601 (t) : g_strdup ("");
              dlen_csv_append_field (out, iso);
            }
          else
            {
              g_autofree char *text = cell_text (c, row->summary);
              dlen_csv_append_field (out, text);
            }
        }
      g_string_append (out, "\r\n");
    }
  return dlen_output_write_all (path, out->str, out->len, error);
}

static void
on_export_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  DlenModelsPage *self = user_data;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr (GError) error = NULL;
      DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
      if (path && !dlen_models_page_write_csv (self, path, &error))
        {
          if (window)
            dlen_window_show_error (window, "Cannot Export the Models", error);
        }
      else if (path && window)
        {
          g_autofree char *base = g_path_get_basename (path);
          g_autofree char *msg = g_strdup_printf ("Exported %u models to %s", dlen_models_page_get_n_models (self), base);
          dlen_window_toast (window, msg);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

void
dlen_models_page_export_csv (DlenModelsPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *dialog;
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *suggested = NULL;
  g_return_if_fail (DLEN_IS_MODELS_PAGE (self));
  if (!self->project || dlen_models_page_get_n_models (self) == 0)
    {
      DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
      if (window)
        dlen_window_toast (window, self->project ? "No models to export yet: train one first" : "Open a project first");
      return;
    }
  gtk_file_filter_set_name (filter, "CSV files");
  gtk_file_filter_add_pattern (filter, "*.csv");
  dialog = gtk_file_chooser_native_new ("Export Models as CSV", GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  {
    g_autofree char *base = dlen_project_dup_title (self->project);
    char *dot = strrchr (base, '.');
    if (dot)
      *dot = '\0';
    suggested = g_strdup_printf ("%s-models.csv", base);
  }
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- Delete --------------------------------------------------------------------------------------- */

typedef struct {
  char *path;
  gint64 model_id;
  DlenModelDeletedFunc done;
  gpointer user_data;
} DeleteTask;

static void
delete_task_free (gpointer data)
{
  DeleteTask *t = data;
  g_free (t->path);
  g_free (t);
}

/* Worker thread: a connection of its own. */
static void
delete_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DeleteTask *t = data;
  GError *error = NULL;
  g_autoptr (DlenStore) store = dlen_store_open (t->path, FALSE, &error);
  if (store && dlen_store_delete_model (store, t->model_id, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
delete_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DlenModelsPage *self = DLEN_MODELS_PAGE (source);
  DeleteTask *t = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  self->deleting = FALSE;
  if (g_task_propagate_boolean (G_TASK (result), &error) && self->project
      && g_strcmp0 (dlen_project_get_path (self->project), t->path) == 0)
    dlen_project_changed (self->project);
  update_actions (self);
  if (t->done)
    t->done (self, t->model_id, error, t->user_data);
}

void
dlen_models_page_delete_model (DlenModelsPage *self, gint64 model_id, DlenModelDeletedFunc done, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  DeleteTask *t;
  g_return_if_fail (DLEN_IS_MODELS_PAGE (self));
  if (!self->project || self->deleting)
    {
      g_autoptr (GError) error = g_error_new (DLEN_ERROR, DLEN_ERROR_INVALID, self->project ? "a model is being deleted"
                                                                                           : "no project is open");
      if (done)
        done (self, model_id, error, user_data);
      return;
    }
  t = g_new0 (DeleteTask, 1);
  t->path = g_strdup (dlen_project_get_path (self->project));
  t->model_id = model_id;
  t->done = done;
  t->user_data = user_data;
  self->deleting = TRUE;
  update_actions (self);
  task = g_task_new (self, NULL, delete_done, NULL);
  g_task_set_task_data (task, t, delete_task_free);
  g_task_run_in_thread (task, delete_thread);
}

gboolean
dlen_models_page_is_deleting (DlenModelsPage *self)
{
  g_return_val_if_fail (DLEN_IS_MODELS_PAGE (self), FALSE);
  return self->deleting;
}

static gint64
count_predictions (DlenModelsPage *self, gint64 model_id)
{
  sqlite3_stmt *st = NULL;
  gint64 n = -1;
  if (sqlite3_prepare_v2 (dlen_store_db (dlen_project_get_store (self->project)),
                          "SELECT count(*) FROM predictions WHERE model_id = ?", -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (st, 1, model_id);
      if (sqlite3_step (st) == SQLITE_ROW)
        n = sqlite3_column_int64 (st, 0);
    }
  sqlite3_finalize (st);
  return n;
}

static void
on_model_deleted (DlenModelsPage *self, gint64 model_id, const GError *error, gpointer user_data)
{
  DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
  if (!window)
    return;
  if (error)
    dlen_window_show_error (window, "Cannot Delete the Model", error);
  else
    {
      g_autofree char *msg = g_strdup_printf ("Deleted model %" G_GINT64_FORMAT, model_id);
      dlen_window_toast (window, msg);
    }
}

static void
on_delete_response (AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  DlenModelsPage *self = user_data;
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "model-id"));
  if (g_str_equal (response, "delete") && self->project)
    dlen_models_page_delete_model (self, id, on_model_deleted, NULL);
  g_object_unref (self);
}

static void
action_delete (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenModelsPage *self = DLEN_MODELS_PAGE (widget);
  DlenModelRow *row = gtk_single_selection_get_selected_item (self->selection);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autofree char *heading = NULL, *body = NULL;
  GtkWidget *dialog;
  gint64 n_pred;
  if (!row || !self->project)
    return;
  n_pred = count_predictions (self, row->summary->id);
  heading = g_strdup_printf ("Delete Model %" G_GINT64_FORMAT "?", row->summary->id);
  if (n_pred > 0)
    body = g_strdup_printf ("“%s” and its %" G_GINT64_FORMAT " cached predictions will be removed from the project. "
                            "This cannot be undone; save it as a model file first to keep it.",
                            row->summary->name, n_pred);
  else
    body = g_strdup_printf ("“%s” will be removed from the project. This cannot be undone; save it as a model file "
                            "first to keep it.", row->summary->name);
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading, body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", "_Cancel", "delete", "_Delete", NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "model-id", GSIZE_TO_POINTER ((gsize) row->summary->id));
  g_signal_connect (dialog, "response", G_CALLBACK (on_delete_response), g_object_ref (self));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
action_export_csv (GtkWidget *widget, const char *name, GVariant *param)
{
  dlen_models_page_export_csv (DLEN_MODELS_PAGE (widget));
}

static void
on_row_activated (DlenModelsPage *self, guint position, GtkColumnView *view)
{
  g_autoptr (DlenModelRow) row = g_list_model_get_item (G_LIST_MODEL (self->selection), position);
  if (row)
    g_signal_emit (self, signals[SIGNAL_MODEL_ACTIVATED], 0, row->summary->id);
}

/* ---- Life cycle ------------------------------------------------------------------------------------ */

static void
dlen_models_page_dispose (GObject *object)
{
  DlenModelsPage *self = DLEN_MODELS_PAGE (object);
  if (self->project)
    g_clear_signal_handler (&self->changed_id, self->project);
  /* AdwBin owns its child: release it through AdwBin before the template drops its pointers. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), DLEN_TYPE_MODELS_PAGE);
  self->stack = NULL;
  g_clear_object (&self->project);
  g_clear_object (&self->selection);
  g_clear_object (&self->rows);
  g_clear_pointer (&self->columns, g_ptr_array_unref);
  G_OBJECT_CLASS (dlen_models_page_parent_class)->dispose (object);
}

static void
dlen_models_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenModelsPage *self = DLEN_MODELS_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: g_value_set_object (value, self->project); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_models_page_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DlenModelsPage *self = DLEN_MODELS_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: dlen_models_page_set_project (self, g_value_get_object (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_models_page_class_init (DlenModelsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = dlen_models_page_dispose;
  object_class->get_property = dlen_models_page_get_property;
  object_class->set_property = dlen_models_page_set_property;
  props[PROP_PROJECT] = g_param_spec_object ("project", NULL, NULL, DLEN_TYPE_PROJECT,
                                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
  /* (gint64 model_id) */
  signals[SIGNAL_MODEL_ACTIVATED] = g_signal_new ("model-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/dlen/Workbench/ui/dlen-models-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DlenModelsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, DlenModelsPage, title_label);
  gtk_widget_class_bind_template_child (widget_class, DlenModelsPage, column_view);
  gtk_widget_class_bind_template_callback (widget_class, on_row_activated);
  gtk_widget_class_install_action (widget_class, "models.export-csv", NULL, action_export_csv);
  gtk_widget_class_install_action (widget_class, "models.delete", NULL, action_delete);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "models.delete", NULL);
}

static void
dlen_models_page_init (DlenModelsPage *self)
{
  g_autoptr (GtkSortListModel) sorted = NULL;
  gtk_widget_init_template (GTK_WIDGET (self));
  self->rows = g_list_store_new (DLEN_TYPE_MODEL_ROW);
  self->columns = g_ptr_array_new ();
  sorted = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->rows)),
                                    g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_steal_pointer (&sorted)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_swapped (self->selection, "notify::selected", G_CALLBACK (update_actions), self);
  update_actions (self);
}
