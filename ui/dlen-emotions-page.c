/* dlen-emotions-page.c: the Emotions page: a DLEN model's users (summarised off the main thread
 * for large projects), the chosen user's emotion trajectory against an optional second model,
 * the mean-emotion histogram, exports, and the job computing missing predictions. */
#include <math.h>
#include <string.h>
#include "dlen-output.h"
#include "dlen-analysis.h"
#include "dlen-emotions-page.h"
#include "dlen-error.h"
#include "dlen-predictions.h"
#include "dlen-csv.h"
#include "dlen-window.h"

/* Below this many impressions the users are summarised at once (about 50 ms for 60,000): no
 * spinner flashes for small projects such as the demo. */
#define SYNC_LOAD_MAX_IMPRESSIONS 100000
/* Trajectories longer than this load in a worker thread (about 25 ms per 20,000 points). */
#define ASYNC_TRAJECTORY_MIN_POINTS 20000

/* ---- User rows ------------------------------------------------------------------------------- */

#define DLEN_TYPE_USER_ROW (dlen_user_row_get_type ())
G_DECLARE_FINAL_TYPE (DlenUserRow, dlen_user_row, DLEN, USER_ROW, GObject)

struct _DlenUserRow {
  GObject parent_instance;
  DlenUserSummary s;           /* owns s.user */
  char *folded;                /* casefolded key, for search */
  gint64 number;               /* the key as a number, when numeric: sorts "9" before "10" */
  gboolean numeric;
};

G_DEFINE_FINAL_TYPE (DlenUserRow, dlen_user_row, G_TYPE_OBJECT)

static void
dlen_user_row_finalize (GObject *object)
{
  DlenUserRow *self = DLEN_USER_ROW (object);
  g_free (self->s.user);
  g_free (self->folded);
  G_OBJECT_CLASS (dlen_user_row_parent_class)->finalize (object);
}

static void
dlen_user_row_class_init (DlenUserRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dlen_user_row_finalize;
}

static void
dlen_user_row_init (DlenUserRow *self)
{
}

static DlenUserRow *
dlen_user_row_new (const DlenUserSummary *s)
{
  DlenUserRow *self = g_object_new (DLEN_TYPE_USER_ROW, NULL);
  self->s = *s;
  self->s.user = g_strdup (s->user);
  self->folded = g_utf8_casefold (s->user, -1);
  self->numeric = g_ascii_string_to_signed (s->user, 10, G_MININT64, G_MAXINT64, &self->number, NULL);
  return self;
}

/* ---- Columns ---------------------------------------------------------------------------------- */

typedef enum { COL_USER, COL_IMPRESSIONS, COL_MEAN, COL_VARIANCE, COL_NEGATIVE, N_COLS } ColumnKind;

static const struct {
  const char *title, *tooltip;
  int width;
} column_info[N_COLS] = {
  { "User", "The user id as in the log", 80 },
  { "Impr.", "Impressions with a cached prediction", 64 },
  { "Mean p_e", "Mean latent emotion: how much the model thinks the user truly likes what they were shown", 80 },
  { "Var p_e", "Variance of the user's latent emotion over their impressions", 76 },
  { "Negative", "Impressions with negative feedback (a negative-polarity target)", 72 },
};

static char *
cell_text (ColumnKind kind, const DlenUserRow *row)
{
  switch (kind)
    {
    case COL_USER: return g_strdup (row->s.user);
    case COL_IMPRESSIONS: return g_strdup_printf ("%" G_GINT64_FORMAT, row->s.impressions);
    case COL_MEAN: return g_strdup_printf ("%.3f", row->s.mean_emotion);
    case COL_VARIANCE: return g_strdup_printf ("%.4f", row->s.emotion_variance);
    case COL_NEGATIVE:
    default: return g_strdup_printf ("%" G_GINT64_FORMAT, row->s.negative);
    }
}

static void
setup_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  ColumnKind kind = GPOINTER_TO_INT (data);
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), kind == COL_USER ? 0 : 1);
  if (kind != COL_USER)
    gtk_widget_add_css_class (label, "numeric");
  else
    gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (item, label);
}

static void
bind_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  DlenUserRow *row = gtk_list_item_get_item (item);
  g_autofree char *text = cell_text (GPOINTER_TO_INT (data), row);
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), text);
}

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int
compare_rows (gconstpointer a, gconstpointer b, gpointer data)
{
  const DlenUserRow *x = a, *y = b;
  switch ((ColumnKind) GPOINTER_TO_INT (data))
    {
    case COL_USER:
      if (x->numeric && y->numeric)
        return CMP (x->number, y->number);
      if (x->numeric != y->numeric)
        return x->numeric ? -1 : 1;
      return g_utf8_collate (x->s.user, y->s.user);
    case COL_IMPRESSIONS: return CMP (x->s.impressions, y->s.impressions);
    case COL_MEAN: return CMP (x->s.mean_emotion, y->s.mean_emotion);
    case COL_VARIANCE: return CMP (x->s.emotion_variance, y->s.emotion_variance);
    case COL_NEGATIVE:
    default: return CMP (x->s.negative, y->s.negative);
    }
}

/* ---- The page ---------------------------------------------------------------------------------- */

typedef struct {
  gint64 id;
  char *name;
  gboolean cached;
} ModelEntry;

static void
model_entry_clear (gpointer data)
{
  g_free (((ModelEntry *) data)->name);
}

struct _DlenEmotionsPage {
  AdwBin parent_instance;

  /* Template widgets */
  GtkStack *stack;
  AdwStatusPage *no_model_status;
  GtkDropDown *model_dropdown;
  GtkDropDown *compare_dropdown;
  GtkSpinButton *smooth_spin;
  GtkSpinner *spinner;
  GtkStack *content_stack;
  AdwStatusPage *predictions_status;
  GtkWidget *compute_button;
  GtkWidget *compute_box;
  GtkProgressBar *compute_progress;
  AdwStatusPage *error_status;
  GtkSearchEntry *search_entry;
  GtkLabel *users_label;
  GtkWidget *clear_bin_button;
  GtkColumnView *column_view;
  DlenHistogram *histogram;
  GtkLabel *user_title;
  GtkLabel *user_summary;
  DlenTrajectoryChart *chart;
  GtkLabel *hint_label;

  /* Owned */
  DlenProject *project;
  gulong changed_id;
  GArray *models;              /* ModelEntry: the project's DLEN models, id order */
  GArray *compare_ids;         /* gint64: the compare drop-down's entries (0: none) */
  gint64 model_id, compare_id;
  gboolean updating;           /* the drop-downs are being refilled */
  GListStore *rows;            /* DlenUserRow, users.id order */
  GtkCustomFilter *filter;
  GtkSingleSelection *selection;
  char *search;                /* casefolded search text */
  int bin_filter;              /* histogram bin the list is limited to, -1 */
  char *wanted_user;           /* to select once the list arrives */
  char *shown_user;            /* the user whose trajectory the chart shows */
  guint shown_smooth;
  gint64 shown_model, shown_compare;
  gboolean loading, list_loading, trajectory_loading;
  GCancellable *load_cancellable;
  guint generation;
  GCancellable *trajectory_cancellable;
  guint trajectory_generation;
  const char *state;
  DlenJob *job;                /* computing predictions */
  gint64 job_model;
  guint pulse_id;
};

enum { PROP_0, PROP_PROJECT, PROP_LOADING, N_PROPS };
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (DlenEmotionsPage, dlen_emotions_page, ADW_TYPE_BIN)

static void show_user (DlenEmotionsPage *self, const char *user, gboolean force);
static void load_users (DlenEmotionsPage *self);

DlenProject *dlen_emotions_page_get_project (DlenEmotionsPage *self) { return self->project; }
gint64 dlen_emotions_page_get_model (DlenEmotionsPage *self) { return self->model_id; }
gint64 dlen_emotions_page_get_comparison (DlenEmotionsPage *self) { return self->compare_id; }
gboolean dlen_emotions_page_get_loading (DlenEmotionsPage *self) { return self->loading; }
const char *dlen_emotions_page_get_state (DlenEmotionsPage *self) { return self->state; }
const char *dlen_emotions_page_get_selected_user (DlenEmotionsPage *self) { return self->shown_user; }
DlenTrajectoryChart *dlen_emotions_page_get_chart (DlenEmotionsPage *self) { return self->chart; }
DlenHistogram *dlen_emotions_page_get_histogram (DlenEmotionsPage *self) { return self->histogram; }

guint
dlen_emotions_page_get_n_users (DlenEmotionsPage *self)
{
  g_return_val_if_fail (DLEN_IS_EMOTIONS_PAGE (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->selection));
}

guint
dlen_emotions_page_get_n_users_total (DlenEmotionsPage *self)
{
  g_return_val_if_fail (DLEN_IS_EMOTIONS_PAGE (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->rows));
}

guint
dlen_emotions_page_get_n_drawn_points (DlenEmotionsPage *self)
{
  DlenTrajectoryDrawStats stats;
  g_return_val_if_fail (DLEN_IS_EMOTIONS_PAGE (self), 0);
  if (!dlen_trajectory_chart_get_trajectory (self->chart))
    return 0;
  dlen_trajectory_chart_get_stats (self->chart, &stats);
  return stats.points;
}

static const ModelEntry *
find_model (DlenEmotionsPage *self, gint64 id)
{
  for (guint i = 0; self->models && i < self->models->len; i++)
    if (g_array_index (self->models, ModelEntry, i).id == id)
      return &g_array_index (self->models, ModelEntry, i);
  return NULL;
}

static char *
model_label (DlenEmotionsPage *self, gint64 id, gboolean with_name)
{
  const ModelEntry *m = find_model (self, id);
  if (with_name && m && m->name && *m->name)
    return g_strdup_printf ("model %" G_GINT64_FORMAT " (%s)", id, m->name);
  return g_strdup_printf ("model %" G_GINT64_FORMAT, id);
}

static void
set_state (DlenEmotionsPage *self, const char *state)
{
  self->state = state;
  if (g_str_equal (state, "no-project") || g_str_equal (state, "no-model"))
    gtk_stack_set_visible_child_name (self->stack, state);
  else
    {
      gtk_stack_set_visible_child_name (self->stack, "main");
      gtk_stack_set_visible_child_name (self->content_stack, state);
    }
}

/* "loading": the user list or a large trajectory is being read in a worker thread. */
static void
update_loading (DlenEmotionsPage *self)
{
  gboolean loading = self->list_loading || self->trajectory_loading;
  gtk_spinner_set_spinning (self->spinner, loading);
  if (self->loading == loading)
    return;
  self->loading = loading;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LOADING]);
}

static void
set_loading (DlenEmotionsPage *self, gboolean loading)
{
  self->list_loading = loading;
  update_loading (self);
}

static void
update_actions (DlenEmotionsPage *self)
{
  gboolean users = self->state && g_str_equal (self->state, "users");
  gboolean traj = users && dlen_trajectory_chart_get_trajectory (self->chart) != NULL;
  GtkWidget *w = GTK_WIDGET (self);
  gtk_widget_action_set_enabled (w, "emotions.export-chart", traj);
  gtk_widget_action_set_enabled (w, "emotions.export-histogram", users);
  gtk_widget_action_set_enabled (w, "emotions.export-csv", users && dlen_emotions_page_get_n_users (self) > 0);
  gtk_widget_action_set_enabled (w, "emotions.reset-zoom", traj && dlen_trajectory_chart_get_zoomed (self->chart));
  gtk_widget_action_set_enabled (w, "emotions.compute", self->project && self->model_id > 0 && !self->job);
  gtk_widget_action_set_enabled (w, "emotions.cancel", self->job != NULL);
}

static void
update_users_label (DlenEmotionsPage *self)
{
  guint shown = dlen_emotions_page_get_n_users (self), total = dlen_emotions_page_get_n_users_total (self);
  g_autofree char *text = NULL;
  if (shown == total)
    text = g_strdup_printf (total == 1 ? "%u user" : "%u users", total);
  else
    text = g_strdup_printf ("%u of %u users", shown, total);
  if (self->bin_filter >= 0)
    {
      double width = 1.0 / dlen_histogram_get_n_bins (self->histogram);
      char *more = g_strdup_printf ("%s with mean p_e %.2f–%.2f", text, self->bin_filter * width, (self->bin_filter + 1) * width);
      g_free (text);
      text = more;
    }
  gtk_label_set_text (self->users_label, text);
  gtk_widget_set_visible (self->clear_bin_button, self->bin_filter >= 0);
}

/* ---- Models ------------------------------------------------------------------------------------- */

static GArray *
read_models (DlenEmotionsPage *self)
{
  GArray *models = g_array_new (FALSE, FALSE, sizeof (ModelEntry));
  DlenStore *store = dlen_project_get_store (self->project);
  sqlite3_stmt *st = NULL;
  g_array_set_clear_func (models, model_entry_clear);
  if (sqlite3_prepare_v2 (dlen_store_db (store), "SELECT id, name FROM models WHERE arch = 'dlen' ORDER BY id", -1, &st,
                          NULL) == SQLITE_OK)
    while (sqlite3_step (st) == SQLITE_ROW)
      {
        ModelEntry m = { sqlite3_column_int64 (st, 0), g_strdup ((const char *) sqlite3_column_text (st, 1)), FALSE };
        g_array_append_val (models, m);
      }
  sqlite3_finalize (st);
  for (guint i = 0; i < models->len; i++)
    g_array_index (models, ModelEntry, i).cached = dlen_model_has_predictions (store, g_array_index (models, ModelEntry, i).id);
  return models;
}

static void
fill_dropdowns (DlenEmotionsPage *self)
{
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  g_autoptr (GtkStringList) compare = gtk_string_list_new (NULL);
  guint selected = GTK_INVALID_LIST_POSITION, compare_selected = 0;
  gint64 none = 0;

  self->updating = TRUE;
  g_array_set_size (self->compare_ids, 0);
  gtk_string_list_append (compare, "None");
  g_array_append_val (self->compare_ids, none);
  for (guint i = 0; i < self->models->len; i++)
    {
      const ModelEntry *m = &g_array_index (self->models, ModelEntry, i);
      g_autofree char *label = g_strdup_printf ("%" G_GINT64_FORMAT " · %s%s", m->id, m->name,
                                                m->cached ? "" : " (no predictions)");
      gtk_string_list_append (names, label);
      if (m->id == self->model_id)
        selected = i;
      if (m->cached && m->id != self->model_id)
        {
          g_autofree char *short_label = g_strdup_printf ("%" G_GINT64_FORMAT " · %s", m->id, m->name);
          gtk_string_list_append (compare, short_label);
          g_array_append_val (self->compare_ids, m->id);
          if (m->id == self->compare_id)
            compare_selected = self->compare_ids->len - 1;
        }
    }
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (names));
  gtk_drop_down_set_selected (self->model_dropdown, selected);
  gtk_drop_down_set_model (self->compare_dropdown, G_LIST_MODEL (compare));
  gtk_drop_down_set_selected (self->compare_dropdown, compare_selected);
  gtk_widget_set_sensitive (GTK_WIDGET (self->compare_dropdown), self->compare_ids->len > 1);
  if (compare_selected == 0)
    self->compare_id = 0;
  self->updating = FALSE;
}

/* The newest DLEN model with cached predictions, else the newest DLEN model. */
static gint64
default_model (DlenEmotionsPage *self)
{
  for (guint i = self->models->len; i-- > 0;)
    if (g_array_index (self->models, ModelEntry, i).cached)
      return g_array_index (self->models, ModelEntry, i).id;
  return self->models->len ? g_array_index (self->models, ModelEntry, self->models->len - 1).id : 0;
}

static void
clear_users (DlenEmotionsPage *self)
{
  g_list_store_remove_all (self->rows);
  dlen_histogram_set_values (self->histogram, 0, NULL, 0, NULL);
  dlen_histogram_set_values (self->histogram, 1, NULL, 0, NULL);
  dlen_histogram_set_marker (self->histogram, NAN, NULL);
  dlen_trajectory_chart_set_trajectory (self->chart, NULL, NULL);
  dlen_trajectory_chart_set_comparison (self->chart, NULL, NULL);
  g_clear_pointer (&self->shown_user, g_free);
}

/* Rereads the models and shows the current (or default) one. */
static void
refresh (DlenEmotionsPage *self)
{
  if (!self->stack)
    return;
  g_clear_pointer (&self->models, g_array_unref);
  if (!self->project)
    {
      self->models = g_array_new (FALSE, FALSE, sizeof (ModelEntry));
      self->model_id = self->compare_id = 0;
      g_cancellable_cancel (self->load_cancellable);
      set_loading (self, FALSE);
      clear_users (self);
      set_state (self, "no-project");
      update_actions (self);
      return;
    }
  self->models = read_models (self);
  if (!find_model (self, self->model_id))
    self->model_id = default_model (self);
  if (self->compare_id && (!find_model (self, self->compare_id) || !find_model (self, self->compare_id)->cached
                           || self->compare_id == self->model_id))
    self->compare_id = 0;
  fill_dropdowns (self);
  if (self->model_id == 0)
    {
      gint64 n = dlen_project_n_models (self->project);
      g_autofree char *text = NULL;
      if (n == 1)
        text = g_strdup ("This project's model is a baseline without a latent emotion. Train a model with the DLEN "
                         "architecture to follow each user's emotion p_e — how much the model thinks they truly like "
                         "what they were shown — over time.");
      else if (n > 1)
        text = g_strdup_printf ("This project's %" G_GINT64_FORMAT " models are baselines without a latent emotion. Train "
                                "a model with the DLEN architecture to follow each user's emotion p_e — how much the "
                                "model thinks they truly like what they were shown — over time.", n);
      else
        text = g_strdup ("Train a model with the DLEN architecture to follow each user's latent emotion p_e — how much "
                         "the model thinks they truly like what they were shown — over time.");
      adw_status_page_set_description (self->no_model_status, text);
      g_cancellable_cancel (self->load_cancellable);
      set_loading (self, FALSE);
      clear_users (self);
      set_state (self, "no-model");
      update_actions (self);
      return;
    }
  load_users (self);
}

/* ---- Loading the users -------------------------------------------------------------------------- */

typedef struct {
  char *path;
  gint64 model_id, compare_id;
} LoadTask;

typedef struct {
  GArray *users, *compare;     /* DlenUserSummary; compare NULL without a second model */
} LoadResult;

static void
load_task_free (gpointer data)
{
  LoadTask *t = data;
  g_free (t->path);
  g_free (t);
}

static void
load_result_free (gpointer data)
{
  LoadResult *r = data;
  g_clear_pointer (&r->users, g_array_unref);
  g_clear_pointer (&r->compare, g_array_unref);
  g_free (r);
}

/* On its own connection: a worker thread's, or the main thread's for small projects. */
static LoadResult *
load_summaries (const LoadTask *t, GCancellable *cancellable, GError **error)
{
  g_autoptr (DlenStore) store = dlen_store_open (t->path, FALSE, error);
  LoadResult *r;
  if (!store)
    return NULL;
  dlen_store_set_cancellable (store, cancellable);
  r = g_new0 (LoadResult, 1);
  r->users = dlen_user_summaries_load (store, t->model_id, error);
  if (!r->users)
    {
      load_result_free (r);
      return NULL;
    }
  /* The comparison is an extra: without it the page still works. */
  if (t->compare_id > 0)
    r->compare = dlen_user_summaries_load (store, t->compare_id, NULL);
  return r;
}

static void
load_worker (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  LoadResult *r = load_summaries (data, cancellable, &error);
  if (r)
    g_task_return_pointer (task, r, load_result_free);
  else
    g_task_return_error (task, error);
}

static void
scroll_to (DlenEmotionsPage *self, guint position)
{
  /* GTK 4.8 has no gtk_column_view_scroll_to(); its list view has the action. */
  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (self->column_view)); c; c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_LIST_VIEW (c))
      {
        gtk_widget_activate_action (c, "list.scroll-to-item", "u", position);
        return;
      }
}

/* The position of @user in the listed (sorted, filtered) rows, or GTK_INVALID_LIST_POSITION. */
static guint
listed_position (DlenEmotionsPage *self, const char *user)
{
  GListModel *list = G_LIST_MODEL (self->selection);
  guint n = g_list_model_get_n_items (list);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (DlenUserRow) row = g_list_model_get_item (list, i);
      if (g_str_equal (row->s.user, user))
        return i;
    }
  return GTK_INVALID_LIST_POSITION;
}

static DlenUserRow *
find_row (DlenEmotionsPage *self, const char *user)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->rows));
  for (guint i = 0; i < n; i++)
    {
      DlenUserRow *row = g_list_model_get_item (G_LIST_MODEL (self->rows), i);
      if (g_str_equal (row->s.user, user))
        return row;
      g_object_unref (row);
    }
  return NULL;
}

static void
apply_result (DlenEmotionsPage *self, LoadResult *r)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree double *means = g_new (double, r->users->len + 1);
  g_autofree char *label0 = model_label (self, self->model_id, FALSE);
  g_autofree char *wanted = g_strdup (self->wanted_user ? self->wanted_user : self->shown_user);
  guint position;

  for (guint i = 0; i < r->users->len; i++)
    {
      const DlenUserSummary *s = &g_array_index (r->users, DlenUserSummary, i);
      g_ptr_array_add (rows, dlen_user_row_new (s));
      means[i] = s->mean_emotion;
    }
  self->bin_filter = -1;
  dlen_histogram_set_selected_bin (self->histogram, -1);
  g_list_store_splice (self->rows, 0, g_list_model_get_n_items (G_LIST_MODEL (self->rows)), rows->pdata, rows->len);
  dlen_histogram_set_values (self->histogram, 0, means, r->users->len, label0);
  if (r->compare && self->compare_id > 0)
    {
      g_autofree double *other = g_new (double, r->compare->len + 1);
      g_autofree char *label1 = model_label (self, self->compare_id, FALSE);
      for (guint i = 0; i < r->compare->len; i++)
        other[i] = g_array_index (r->compare, DlenUserSummary, i).mean_emotion;
      dlen_histogram_set_values (self->histogram, 1, other, r->compare->len, label1);
    }
  else
    dlen_histogram_set_values (self->histogram, 1, NULL, 0, NULL);
  set_state (self, "users");
  update_users_label (self);

  /* Keep the user shown before (or asked for); else the first listed (most impressions). */
  position = wanted ? listed_position (self, wanted) : GTK_INVALID_LIST_POSITION;
  if (position == GTK_INVALID_LIST_POSITION && dlen_emotions_page_get_n_users (self) > 0)
    position = 0;
  g_clear_pointer (&self->wanted_user, g_free);
  g_clear_pointer (&self->shown_user, g_free);
  if (position != GTK_INVALID_LIST_POSITION)
    {
      gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);
      gtk_single_selection_set_selected (self->selection, position);
      scroll_to (self, position);
    }
  else
    show_user (self, NULL, TRUE);
  update_actions (self);
}

static void
load_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DlenEmotionsPage *self = data;
  guint generation = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (result), "generation"));
  g_autoptr (GError) error = NULL;
  LoadResult *r = g_task_propagate_pointer (G_TASK (result), &error);
  if (self->stack && generation == self->generation)
    {
      set_loading (self, FALSE);
      if (r)
        apply_result (self, r);
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          adw_status_page_set_description (self->error_status, error->message);
          set_state (self, "error");
          update_actions (self);
        }
    }
  if (r)
    load_result_free (r);
  g_object_unref (self);
}

static void
load_users (DlenEmotionsPage *self)
{
  const ModelEntry *m = find_model (self, self->model_id);
  LoadTask *t;
  g_autoptr (GTask) task = NULL;

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->generation++;
  if (!m)
    return;
  if (!m->cached)
    {
      g_autofree char *label = model_label (self, m->id, TRUE);
      g_autofree char *text = g_strdup_printf (
        "Each impression's latent emotion comes from the predictions of %s, which are not cached in the project yet. "
        "Computing them scores every impression once and keeps the result in the project, as “dlen predict PROJECT "
        "--model %" G_GINT64_FORMAT " --no-csv” does.", label, m->id);
      set_loading (self, FALSE);
      clear_users (self);
      adw_status_page_set_description (self->predictions_status, text);
      set_state (self, "no-predictions");
      update_actions (self);
      return;
    }
  t = g_new0 (LoadTask, 1);
  t->path = g_strdup (dlen_project_get_path (self->project));
  t->model_id = self->model_id;
  t->compare_id = self->compare_id;
  if (dlen_project_count (self->project, "impressions") <= SYNC_LOAD_MAX_IMPRESSIONS)
    {
      g_autoptr (GError) error = NULL;
      LoadResult *r = load_summaries (t, NULL, &error);
      load_task_free (t);
      set_loading (self, FALSE);
      if (r)
        {
          apply_result (self, r);
          load_result_free (r);
        }
      else
        {
          adw_status_page_set_description (self->error_status, error->message);
          set_state (self, "error");
          update_actions (self);
        }
      return;
    }
  self->load_cancellable = g_cancellable_new ();
  set_loading (self, TRUE);
  if (g_list_model_get_n_items (G_LIST_MODEL (self->rows)) == 0 || !g_str_equal (self->state, "users"))
    set_state (self, "loading");
  task = g_task_new (NULL, self->load_cancellable, load_done, g_object_ref (self));
  g_object_set_data (G_OBJECT (task), "generation", GUINT_TO_POINTER (self->generation));
  g_task_set_task_data (task, t, load_task_free);
  g_task_run_in_thread (task, load_worker);
}

/* ---- The selected user -------------------------------------------------------------------------- */

static void
describe_user (DlenEmotionsPage *self, const DlenTrajectory *tr)
{
  guint sessions = 0, positive = 0, negative = 0;
  double sum = 0;
  g_autofree char *first = NULL, *last = NULL, *text = NULL, *title = NULL, *chart_title = NULL;
  g_autofree char *label0 = model_label (self, self->model_id, TRUE);
  g_autoptr (GDateTime) t0 = NULL, t1 = NULL;
  for (gsize i = 0; i < tr->n_points; i++)
    {
      sessions += !!(tr->points[i].flags & DLEN_TRAJECTORY_SESSION_START);
      positive += !!(tr->points[i].flags & DLEN_TRAJECTORY_POSITIVE);
      negative += !!(tr->points[i].flags & DLEN_TRAJECTORY_NEGATIVE);
      sum += tr->points[i].p_e;
    }
  t0 = g_date_time_new_from_unix_local (tr->points[0].time_ms / 1000);
  t1 = g_date_time_new_from_unix_local (tr->points[tr->n_points - 1].time_ms / 1000);
  first = g_date_time_format (t0, "%b %-d %Y, %H:%M");
  last = g_date_time_format (t1, g_date_time_get_year (t0) == g_date_time_get_year (t1) ? "%b %-d, %H:%M" : "%b %-d %Y, %H:%M");
  text = g_strdup_printf ("%" G_GSIZE_FORMAT " impressions in %u session%s, %s – %s · mean p_e %.3f · %u positive action%s · "
                          "%u with negative feedback",
                          tr->n_points, sessions, sessions == 1 ? "" : "s", first, last, sum / tr->n_points, positive,
                          positive == 1 ? "" : "s", negative);
  title = g_strdup_printf ("User %s", tr->user);
  if (self->compare_id > 0 && dlen_trajectory_chart_get_comparison (self->chart))
    {
      g_autofree char *label1 = model_label (self, self->compare_id, TRUE);
      chart_title = g_strdup_printf ("User %s: latent emotion under %s and %s", tr->user, label0, label1);
    }
  else
    chart_title = g_strdup_printf ("User %s: latent emotion under %s", tr->user, label0);
  gtk_label_set_text (self->user_title, title);
  gtk_label_set_text (self->user_summary, text);
  dlen_trajectory_chart_set_title (self->chart, chart_title);
  {
    g_autofree char *marker = g_strdup_printf ("user %s", tr->user);
    dlen_histogram_set_marker (self->histogram, sum / tr->n_points, marker);
  }
}

typedef struct {
  char *path, *user;
  gint64 model_id, compare_id;
  guint smooth;
} TrajectoryTask;

typedef struct {
  DlenTrajectory *traj, *other;
} TrajectoryResult;

static void
trajectory_task_free (gpointer data)
{
  TrajectoryTask *t = data;
  g_free (t->path);
  g_free (t->user);
  g_free (t);
}

static void
trajectory_result_free (gpointer data)
{
  TrajectoryResult *r = data;
  dlen_trajectory_unref (r->traj);
  dlen_trajectory_unref (r->other);
  g_free (r);
}

static void
trajectory_worker (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  TrajectoryTask *t = data;
  GError *error = NULL;
  g_autoptr (DlenStore) store = dlen_store_open (t->path, FALSE, &error);
  TrajectoryResult *r;
  if (!store)
    {
      g_task_return_error (task, error);
      return;
    }
  dlen_store_set_cancellable (store, cancellable);
  r = g_new0 (TrajectoryResult, 1);
  r->traj = dlen_trajectory_load (store, t->model_id, t->user, t->smooth, &error);
  if (!r->traj)
    {
      trajectory_result_free (r);
      g_task_return_error (task, error);
      return;
    }
  if (t->compare_id > 0)
    r->other = dlen_trajectory_load (store, t->compare_id, t->user, t->smooth, NULL);
  g_task_return_pointer (task, r, trajectory_result_free);
}

static void
clear_chart (DlenEmotionsPage *self, const char *placeholder)
{
  dlen_trajectory_chart_set_trajectory (self->chart, NULL, NULL);
  dlen_trajectory_chart_set_comparison (self->chart, NULL, NULL);
  dlen_trajectory_chart_set_title (self->chart, NULL);
  dlen_trajectory_chart_set_placeholder (self->chart, placeholder);
  dlen_histogram_set_marker (self->histogram, NAN, NULL);
}

/* Shows a loaded trajectory, or why there is none. */
static void
apply_trajectory (DlenEmotionsPage *self, const char *user, DlenTrajectory *tr, DlenTrajectory *other, const GError *error)
{
  if (!tr)
    {
      g_autofree char *title = g_strdup_printf ("User %s", user);
      g_clear_pointer (&self->shown_user, g_free);
      clear_chart (self, error ? error->message : NULL);
      gtk_label_set_text (self->user_title, title);
      gtk_label_set_text (self->user_summary, "");
      update_actions (self);
      return;
    }
  {
    g_autofree char *label0 = model_label (self, self->model_id, FALSE);
    g_autofree char *label1 = other ? model_label (self, self->compare_id, FALSE) : NULL;
    dlen_trajectory_chart_set_placeholder (self->chart, NULL);
    dlen_trajectory_chart_set_trajectory (self->chart, tr, label0);
    dlen_trajectory_chart_set_comparison (self->chart, other, label1);
  }
  describe_user (self, tr);
  update_actions (self);
}

static void
trajectory_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DlenEmotionsPage *self = data;
  guint generation = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (result), "generation"));
  TrajectoryTask *t = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  TrajectoryResult *r = g_task_propagate_pointer (G_TASK (result), &error);
  if (self->stack && generation == self->trajectory_generation)
    {
      self->trajectory_loading = FALSE;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        apply_trajectory (self, t->user, r ? r->traj : NULL, r ? r->other : NULL, error);
      update_loading (self);
    }
  if (r)
    trajectory_result_free (r);
  g_object_unref (self);
}

/* Loads @user's trajectory (and the compared model's) into the chart; NULL clears it. Users
 * with many impressions load in a worker thread. */
static void
show_user (DlenEmotionsPage *self, const char *user, gboolean force)
{
  guint smooth;
  g_autoptr (DlenUserRow) row = NULL;

  /* The list's teardown in dispose changes the selection: nothing to show any more. */
  if (!self->stack)
    return;
  smooth = (guint) gtk_spin_button_get_value_as_int (self->smooth_spin);

  if (!force && user && self->shown_user && g_str_equal (user, self->shown_user) && self->shown_smooth == smooth
      && self->shown_model == self->model_id && self->shown_compare == self->compare_id)
    return;
  g_cancellable_cancel (self->trajectory_cancellable);
  g_clear_object (&self->trajectory_cancellable);
  self->trajectory_generation++;
  self->trajectory_loading = FALSE;
  update_loading (self);
  g_free (self->shown_user);
  self->shown_user = NULL;
  self->shown_smooth = smooth;
  self->shown_model = self->model_id;
  self->shown_compare = self->compare_id;
  if (!user || !self->project || self->model_id <= 0)
    {
      clear_chart (self, "Choose a user in the list to follow their latent emotion over time.");
      gtk_label_set_text (self->user_title, "No User Selected");
      gtk_label_set_text (self->user_summary, "Choose a user in the list to follow their latent emotion over time.");
      update_actions (self);
      return;
    }
  self->shown_user = g_strdup (user);
  row = find_row (self, user);
  if (row && row->s.impressions > ASYNC_TRAJECTORY_MIN_POINTS)
    {
      TrajectoryTask *t = g_new0 (TrajectoryTask, 1);
      g_autoptr (GTask) task = NULL;
      g_autofree char *title = g_strdup_printf ("User %s", user);
      g_autofree char *text = g_strdup_printf ("Reading %" G_GINT64_FORMAT " impressions…", row->s.impressions);
      t->path = g_strdup (dlen_project_get_path (self->project));
      t->user = g_strdup (user);
      t->model_id = self->model_id;
      t->compare_id = self->compare_id;
      t->smooth = smooth;
      clear_chart (self, text);
      gtk_label_set_text (self->user_title, title);
      gtk_label_set_text (self->user_summary, text);
      self->trajectory_cancellable = g_cancellable_new ();
      self->trajectory_loading = TRUE;
      update_loading (self);
      update_actions (self);
      task = g_task_new (NULL, self->trajectory_cancellable, trajectory_done, g_object_ref (self));
      g_object_set_data (G_OBJECT (task), "generation", GUINT_TO_POINTER (self->trajectory_generation));
      g_task_set_task_data (task, t, trajectory_task_free);
      g_task_run_in_thread (task, trajectory_worker);
      return;
    }
  {
    DlenStore *store = dlen_project_get_store (self->project);
    g_autoptr (GError) error = NULL;
    g_autoptr (DlenTrajectory) tr = dlen_trajectory_load (store, self->model_id, user, smooth, &error);
    g_autoptr (DlenTrajectory) other = tr && self->compare_id > 0
                                       ? dlen_trajectory_load (store, self->compare_id, user, smooth, NULL) : NULL;
    apply_trajectory (self, user, tr, other, error);
  }
}

static void
on_selection_changed (DlenEmotionsPage *self)
{
  DlenUserRow *row = gtk_single_selection_get_selected_item (self->selection);
  if (row)
    show_user (self, row->s.user, FALSE);
}

gboolean
dlen_emotions_page_select_user (DlenEmotionsPage *self, const char *user)
{
  guint position;
  g_autoptr (DlenUserRow) row = NULL;
  g_return_val_if_fail (DLEN_IS_EMOTIONS_PAGE (self), FALSE);
  g_return_val_if_fail (user != NULL, FALSE);
  if (!self->project || self->model_id <= 0)
    return FALSE;
  if (self->list_loading)
    {
      /* The list follows when it arrives; the chart shows the user now. */
      g_free (self->wanted_user);
      self->wanted_user = g_strdup (user);
      show_user (self, user, FALSE);
      return self->shown_user != NULL;
    }
  row = find_row (self, user);
  if (!row)
    return FALSE;
  position = listed_position (self, user);
  if (position == GTK_INVALID_LIST_POSITION)
    {
      /* Hidden by the search or the histogram bin: show everyone again. */
      self->bin_filter = -1;
      dlen_histogram_set_selected_bin (self->histogram, -1);
      dlen_emotions_page_set_search (self, "");
      position = listed_position (self, user);
    }
  if (position == GTK_INVALID_LIST_POSITION)
    return FALSE;
  gtk_single_selection_set_selected (self->selection, position);
  scroll_to (self, position);
  show_user (self, user, FALSE);
  return self->shown_user != NULL && g_str_equal (self->shown_user, user);
}

/* ---- Filtering ------------------------------------------------------------------------------------ */

static gboolean
filter_row (gpointer item, gpointer data)
{
  DlenEmotionsPage *self = data;
  DlenUserRow *row = item;
  if (self->search && *self->search && !strstr (row->folded, self->search))
    return FALSE;
  return self->bin_filter < 0 || dlen_histogram_bin_of (self->histogram, row->s.mean_emotion) == self->bin_filter;
}

static void
filter_changed (DlenEmotionsPage *self)
{
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_users_label (self);
  update_actions (self);
  /* The list keeps showing the chosen user's row when it is still listed. */
  if (self->shown_user)
    {
      guint position = listed_position (self, self->shown_user);
      if (position != GTK_INVALID_LIST_POSITION)
        gtk_single_selection_set_selected (self->selection, position);
    }
}

void
dlen_emotions_page_set_search (DlenEmotionsPage *self, const char *text)
{
  g_return_if_fail (DLEN_IS_EMOTIONS_PAGE (self));
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->search_entry)), text ? text : "") != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text ? text : "");
  g_free (self->search);
  self->search = g_utf8_casefold (text ? text : "", -1);
  filter_changed (self);
}

static void
on_search_changed (DlenEmotionsPage *self, GtkSearchEntry *entry)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  g_autofree char *folded = g_utf8_casefold (text, -1);
  if (g_strcmp0 (folded, self->search) != 0)
    dlen_emotions_page_set_search (self, text);
}

static void
on_bin_clicked (DlenEmotionsPage *self, int bin, DlenHistogram *histogram)
{
  if (bin < 0)
    return;
  self->bin_filter = bin == self->bin_filter ? -1 : bin;
  dlen_histogram_set_selected_bin (self->histogram, self->bin_filter);
  filter_changed (self);
}

static void
on_clear_bin (DlenEmotionsPage *self)
{
  self->bin_filter = -1;
  dlen_histogram_set_selected_bin (self->histogram, -1);
  filter_changed (self);
}

/* ---- Model choice ----------------------------------------------------------------------------------- */

gboolean
dlen_emotions_page_set_model (DlenEmotionsPage *self, gint64 model_id)
{
  g_return_val_if_fail (DLEN_IS_EMOTIONS_PAGE (self), FALSE);
  if (!self->project || !find_model (self, model_id))
    return FALSE;
  if (model_id == self->model_id && self->state && !g_str_equal (self->state, "error"))
    return TRUE;
  self->model_id = model_id;
  if (self->compare_id == model_id)
    self->compare_id = 0;
  g_free (self->wanted_user);
  self->wanted_user = g_strdup (self->shown_user);
  fill_dropdowns (self);
  load_users (self);
  return TRUE;
}

gboolean
dlen_emotions_page_set_comparison (DlenEmotionsPage *self, gint64 model_id)
{
  const ModelEntry *m;
  g_return_val_if_fail (DLEN_IS_EMOTIONS_PAGE (self), FALSE);
  if (model_id != 0 && (!(m = find_model (self, model_id)) || !m->cached || model_id == self->model_id))
    return FALSE;
  if (model_id == self->compare_id)
    return TRUE;
  self->compare_id = model_id;
  fill_dropdowns (self);
  g_free (self->wanted_user);
  self->wanted_user = g_strdup (self->shown_user);
  load_users (self);
  return TRUE;
}

static void
on_model_selected (DlenEmotionsPage *self)
{
  guint i = gtk_drop_down_get_selected (self->model_dropdown);
  if (self->updating || !self->models || i >= self->models->len)
    return;
  dlen_emotions_page_set_model (self, g_array_index (self->models, ModelEntry, i).id);
}

static void
on_compare_selected (DlenEmotionsPage *self)
{
  guint i = gtk_drop_down_get_selected (self->compare_dropdown);
  if (self->updating || i >= self->compare_ids->len)
    return;
  dlen_emotions_page_set_comparison (self, g_array_index (self->compare_ids, gint64, i));
}

static void
on_smooth_changed (DlenEmotionsPage *self)
{
  if (self->shown_user)
    {
      g_autofree char *user = g_strdup (self->shown_user);
      show_user (self, user, FALSE);
    }
}

/* ---- Computing predictions ---------------------------------------------------------------------------- */

typedef struct {
  char *path;
  gint64 model_id;
} ComputeJob;

static void
compute_job_free (gpointer data)
{
  ComputeJob *c = data;
  g_free (c->path);
  g_free (c);
}

static gboolean
compute_worker (DlenJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  ComputeJob *c = data;
  dlen_job_set_progress (job, 0, "Scoring every impression");
  if (!dlen_cache_predictions (c->path, c->model_id, NULL, NULL, cancellable, error))
    return FALSE;
  dlen_job_set_progress (job, 1, "Done");
  return TRUE;
}

static gboolean
pulse (gpointer data)
{
  DlenEmotionsPage *self = data;
  gtk_progress_bar_pulse (self->compute_progress);
  if (self->job)
    gtk_progress_bar_set_text (self->compute_progress, dlen_job_get_message (self->job));
  return G_SOURCE_CONTINUE;
}

static void
compute_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DlenEmotionsPage *self = data;
  DlenJob *job = DLEN_JOB (source);
  DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
  g_autoptr (GError) error = NULL;
  gboolean ok = dlen_job_run_finish (job, result, &error);
  DlenProject *project = g_object_get_data (G_OBJECT (job), "project");
  gint64 model_id = self->job_model;

  g_clear_handle_id (&self->pulse_id, g_source_remove);
  g_clear_object (&self->job);
  if (self->stack)
    {
      gtk_widget_set_visible (self->compute_box, FALSE);
      gtk_widget_set_visible (self->compute_button, TRUE);
      update_actions (self);
    }
  if (ok)
    {
      /* Every page sees the new cache (the Fusion page replays it too). */
      dlen_project_changed (project);
      if (window)
        {
          g_autofree char *msg = g_strdup_printf ("Cached the predictions of model %" G_GINT64_FORMAT, model_id);
          dlen_window_toast (window, msg);
        }
    }
  else if (window)
    dlen_window_show_error (window, "Cannot Compute the Predictions", error);
  g_object_unref (self);
}

gboolean
dlen_emotions_page_compute_predictions (DlenEmotionsPage *self)
{
  DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
  ComputeJob *c;
  g_return_val_if_fail (DLEN_IS_EMOTIONS_PAGE (self), FALSE);
  if (self->job || !self->project || self->model_id <= 0 || !window)
    return FALSE;
  c = g_new0 (ComputeJob, 1);
  c->path = g_strdup (dlen_project_get_path (self->project));
  c->model_id = self->model_id;
  self->job_model = self->model_id;
  self->job = dlen_job_new ("Computing predictions", compute_worker, c, compute_job_free);
  g_object_set_data_full (G_OBJECT (self->job), "project", g_object_ref (self->project), g_object_unref);
  gtk_widget_set_visible (self->compute_button, FALSE);
  gtk_widget_set_visible (self->compute_box, TRUE);
  gtk_progress_bar_set_text (self->compute_progress, "Scoring every impression");
  self->pulse_id = g_timeout_add (120, pulse, self);
  update_actions (self);
  dlen_window_run_job (window, self->job, compute_done, g_object_ref (self));
  return TRUE;
}

/* ---- Exports ------------------------------------------------------------------------------------------- */

gboolean
dlen_emotions_page_write_csv (DlenEmotionsPage *self, const char *path, GError **error)
{
  g_autoptr (GString) out = g_string_new ("user,impressions,mean_emotion,emotion_variance,negative_feedback\r\n");
  GListModel *list = G_LIST_MODEL (self->selection);
  guint n = g_list_model_get_n_items (list);
  g_return_val_if_fail (DLEN_IS_EMOTIONS_PAGE (self), FALSE);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (DlenUserRow) row = g_list_model_get_item (list, i);
      char mean[G_ASCII_DTOSTR_BUF_SIZE], var[G_ASCII_DTOSTR_BUF_SIZE];
      dlen_csv_append_field (out, row->s.user);
      /* Full precision and a '.' whatever the locale: the CSV is for analysis. */
      g_ascii_formatd (mean, sizeof mean, "%.10g", row->s.mean_emotion);
      g_ascii_formatd (var, sizeof var, "%.10g", row->s.emotion_variance);
      g_string_append_printf (out, ",%" G_GINT64_FORMAT ",%s,%s,%" G_GINT64_FORMAT "\r\n", row->s.impressions, mean, var,
                              row->s.negative);
    }
  return dlen_output_write_all (path, out->str, out->len, error);
}

typedef enum { EXPORT_CHART, EXPORT_HISTOGRAM, EXPORT_CSV } ExportKind;

static void
on_export_response (GtkNativeDialog *dialog, int response, gpointer data)
{
  DlenEmotionsPage *self = data;
  ExportKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "kind"));
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr (GError) error = NULL;
      DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
      gboolean ok = FALSE;
      if (path)
        switch (kind)
          {
          case EXPORT_CHART: ok = dlen_trajectory_chart_export (self->chart, path, &error); break;
          case EXPORT_HISTOGRAM: ok = dlen_histogram_export (self->histogram, path, &error); break;
          case EXPORT_CSV:
          default: ok = dlen_emotions_page_write_csv (self, path, &error); break;
          }
      if (path && window)
        {
          if (!ok)
            dlen_window_show_error (window, "Cannot Export", error);
          else
            {
              g_autofree char *base = g_path_get_basename (path);
              g_autofree char *msg = g_strdup_printf ("Exported %s", base);
              dlen_window_toast (window, msg);
            }
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
export_dialog (DlenEmotionsPage *self, ExportKind kind, const char *format)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *suggested = NULL, *pattern = g_strdup_printf ("*.%s", format);
  g_autofree char *filter_name = g_strdup_printf ("%s files", kind == EXPORT_CSV ? "CSV" : g_ascii_strup (format, -1));
  GtkFileChooserNative *dialog;
  const char *title = kind == EXPORT_CHART ? "Export the Trajectory Chart"
                      : kind == EXPORT_HISTOGRAM ? "Export the Histogram" : "Export the User Table";
  switch (kind)
    {
    case EXPORT_CHART:
      suggested = g_strdup_printf ("emotion-user-%s-model-%" G_GINT64_FORMAT ".%s", self->shown_user ? self->shown_user : "none",
                                   self->model_id, format);
      break;
    case EXPORT_HISTOGRAM:
      suggested = g_strdup_printf ("mean-emotion-model-%" G_GINT64_FORMAT ".%s", self->model_id, format);
      break;
    case EXPORT_CSV:
    default:
      suggested = g_strdup_printf ("users-emotion-model-%" G_GINT64_FORMAT ".csv", self->model_id);
      break;
    }
  gtk_file_filter_set_name (filter, filter_name);
  gtk_file_filter_add_pattern (filter, pattern);
  dialog = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  g_object_set_data (G_OBJECT (dialog), "kind", GINT_TO_POINTER (kind));
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
action_export_chart (GtkWidget *widget, const char *name, GVariant *param)
{
  export_dialog (DLEN_EMOTIONS_PAGE (widget), EXPORT_CHART, g_variant_get_string (param, NULL));
}

static void
action_export_histogram (GtkWidget *widget, const char *name, GVariant *param)
{
  export_dialog (DLEN_EMOTIONS_PAGE (widget), EXPORT_HISTOGRAM, g_variant_get_string (param, NULL));
}

static void
action_export_csv (GtkWidget *widget, const char *name, GVariant *param)
{
  export_dialog (DLEN_EMOTIONS_PAGE (widget), EXPORT_CSV, "csv");
}

static void
action_reset_zoom (GtkWidget *widget, const char *name, GVariant *param)
{
  dlen_trajectory_chart_reset_zoom (DLEN_EMOTIONS_PAGE (widget)->chart);
}

static void
action_compute (GtkWidget *widget, const char *name, GVariant *param)
{
  dlen_emotions_page_compute_predictions (DLEN_EMOTIONS_PAGE (widget));
}

static void
action_cancel (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenEmotionsPage *self = DLEN_EMOTIONS_PAGE (widget);
  if (self->job)
    dlen_job_cancel (self->job);
}

static void
action_reload (GtkWidget *widget, const char *name, GVariant *param)
{
  refresh (DLEN_EMOTIONS_PAGE (widget));
}

static void
action_focus_search (GtkWidget *widget, const char *name, GVariant *param)
{
  gtk_widget_grab_focus (GTK_WIDGET (DLEN_EMOTIONS_PAGE (widget)->search_entry));
}

/* ---- Life cycle ---------------------------------------------------------------------------------------- */

void
dlen_emotions_page_set_project (DlenEmotionsPage *self, DlenProject *project)
{
  g_return_if_fail (DLEN_IS_EMOTIONS_PAGE (self));
  if (self->project == project)
    return;
  if (self->project)
    g_clear_signal_handler (&self->changed_id, self->project);
  g_set_object (&self->project, project);
  self->model_id = self->compare_id = 0;
  self->bin_filter = -1;
  /* Another project has other users. */
  if (self->search && *self->search)
    dlen_emotions_page_set_search (self, "");
  g_clear_pointer (&self->wanted_user, g_free);
  g_clear_pointer (&self->shown_user, g_free);
  if (project)
    self->changed_id = g_signal_connect_swapped (project, "changed", G_CALLBACK (refresh), self);
  refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROJECT]);
}

static void
append_column (DlenEmotionsPage *self, ColumnKind kind, GtkColumnViewColumn **out)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *col;
  g_autoptr (GtkSorter) sorter = GTK_SORTER (gtk_custom_sorter_new (compare_rows, GINT_TO_POINTER (kind), NULL));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), GINT_TO_POINTER (kind));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), GINT_TO_POINTER (kind));
  col = gtk_column_view_column_new (column_info[kind].title, factory);
  gtk_column_view_column_set_sorter (col, sorter);
  gtk_column_view_column_set_resizable (col, TRUE);
  gtk_column_view_column_set_fixed_width (col, column_info[kind].width);
  if (kind == COL_USER)
    gtk_column_view_column_set_expand (col, TRUE);
  gtk_column_view_append_column (self->column_view, col);
  if (out)
    *out = col;
  g_object_unref (col);
}

#define HINT "Scroll or pinch to zoom around the pointer, drag to pan, double-click or press 0 to see everything; " \
             "hover a point for its item and every prediction."

/* The hovered point's details under the chart (the tooltip has them too). */
static void
on_hover_changed (DlenEmotionsPage *self)
{
  g_autofree char *markup = dlen_trajectory_chart_dup_hover_markup (self->chart);
  if (markup)
    gtk_label_set_markup (self->hint_label, markup);
  else
    gtk_label_set_text (self->hint_label, HINT);
}

static void
dlen_emotions_page_dispose (GObject *object)
{
  DlenEmotionsPage *self = DLEN_EMOTIONS_PAGE (object);
  /* Marks the page as going: handlers fired by the teardown below check it. */
  self->stack = NULL;
  if (self->project)
    g_clear_signal_handler (&self->changed_id, self->project);
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_cancellable_cancel (self->trajectory_cancellable);
  g_clear_object (&self->trajectory_cancellable);
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  /* AdwBin owns its child: release it through AdwBin before the template drops its pointers. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), DLEN_TYPE_EMOTIONS_PAGE);
  self->stack = NULL;
  g_clear_object (&self->project);
  g_clear_object (&self->selection);
  g_clear_object (&self->filter);
  g_clear_object (&self->rows);
  g_clear_object (&self->job);
  g_clear_pointer (&self->models, g_array_unref);
  g_clear_pointer (&self->compare_ids, g_array_unref);
  G_OBJECT_CLASS (dlen_emotions_page_parent_class)->dispose (object);
}

static void
dlen_emotions_page_finalize (GObject *object)
{
  DlenEmotionsPage *self = DLEN_EMOTIONS_PAGE (object);
  g_free (self->search);
  g_free (self->wanted_user);
  g_free (self->shown_user);
  G_OBJECT_CLASS (dlen_emotions_page_parent_class)->finalize (object);
}

static void
dlen_emotions_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenEmotionsPage *self = DLEN_EMOTIONS_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: g_value_set_object (value, self->project); break;
    case PROP_LOADING: g_value_set_boolean (value, self->loading); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_emotions_page_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DlenEmotionsPage *self = DLEN_EMOTIONS_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: dlen_emotions_page_set_project (self, g_value_get_object (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_emotions_page_class_init (DlenEmotionsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dlen_emotions_page_dispose;
  object_class->finalize = dlen_emotions_page_finalize;
  object_class->get_property = dlen_emotions_page_get_property;
  object_class->set_property = dlen_emotions_page_set_property;
  props[PROP_PROJECT] = g_param_spec_object ("project", NULL, NULL, DLEN_TYPE_PROJECT,
                                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  g_type_ensure (DLEN_TYPE_HISTOGRAM);
  g_type_ensure (DLEN_TYPE_TRAJECTORY_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/dlen/Workbench/ui/dlen-emotions-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, no_model_status);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, compare_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, smooth_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, content_stack);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, predictions_status);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, compute_button);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, compute_box);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, compute_progress);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, error_status);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, users_label);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, clear_bin_button);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, column_view);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, histogram);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, user_title);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, user_summary);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, chart);
  gtk_widget_class_bind_template_child (widget_class, DlenEmotionsPage, hint_label);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_clear_bin);

  gtk_widget_class_install_action (widget_class, "emotions.export-chart", "s", action_export_chart);
  gtk_widget_class_install_action (widget_class, "emotions.export-histogram", "s", action_export_histogram);
  gtk_widget_class_install_action (widget_class, "emotions.export-csv", NULL, action_export_csv);
  gtk_widget_class_install_action (widget_class, "emotions.reset-zoom", NULL, action_reset_zoom);
  gtk_widget_class_install_action (widget_class, "emotions.compute", NULL, action_compute);
  gtk_widget_class_install_action (widget_class, "emotions.cancel", NULL, action_cancel);
  gtk_widget_class_install_action (widget_class, "emotions.reload", NULL, action_reload);
  gtk_widget_class_install_action (widget_class, "emotions.focus-search", NULL, action_focus_search);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "emotions.focus-search", NULL);
}

static void
dlen_emotions_page_init (DlenEmotionsPage *self)
{
  g_autoptr (GtkSortListModel) sorted = NULL;
  GtkFilterListModel *filtered;
  GtkColumnViewColumn *impressions = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->rows = g_list_store_new (DLEN_TYPE_USER_ROW);
  self->compare_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->models = g_array_new (FALSE, FALSE, sizeof (ModelEntry));
  self->bin_filter = -1;
  self->search = g_strdup ("");
  self->state = "no-project";
  for (ColumnKind k = 0; k < N_COLS; k++)
    append_column (self, k, k == COL_IMPRESSIONS ? &impressions : NULL);
  self->filter = gtk_custom_filter_new (filter_row, self, NULL);
  filtered = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->rows)), GTK_FILTER (g_object_ref (self->filter)));
  sorted = gtk_sort_list_model_new (G_LIST_MODEL (filtered), g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_steal_pointer (&sorted)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, FALSE);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  /* Most impressions first: the users with the longest trajectories. */
  gtk_column_view_sort_by_column (self->column_view, impressions, GTK_SORT_DESCENDING);
  g_signal_connect_swapped (self->selection, "notify::selected", G_CALLBACK (on_selection_changed), self);
  g_signal_connect_swapped (self->histogram, "bin-clicked", G_CALLBACK (on_bin_clicked), self);
  g_signal_connect_swapped (self->model_dropdown, "notify::selected", G_CALLBACK (on_model_selected), self);
  g_signal_connect_swapped (self->compare_dropdown, "notify::selected", G_CALLBACK (on_compare_selected), self);
  g_signal_connect_swapped (self->smooth_spin, "value-changed", G_CALLBACK (on_smooth_changed), self);
  g_signal_connect_swapped (self->chart, "notify::zoomed", G_CALLBACK (update_actions), self);
  g_signal_connect_swapped (self->chart, "hover-changed", G_CALLBACK (on_hover_changed), self);
  gtk_label_set_text (self->hint_label, HINT);

  dlen_histogram_set_title (self->histogram, "Users by mean emotion");
  dlen_histogram_set_x_label (self->histogram, "mean p_e per user (click a bar to list only those users)");
  dlen_histogram_set_unit (self->histogram, "user", "users");
  dlen_trajectory_chart_set_placeholder (self->chart, "Choose a user in the list to follow their latent emotion over time.");
  update_actions (self);
}
