/* dlen-fusion-page.c: the Fusion page: one slider per fusion weight replayed live over a model's
 * cached predictions, the numbers against the baseline and the logged order, the frontier, the
 * per-category slots, presets saved in the project, and the exports. */
#include <math.h>
#include <string.h>
#include "dlen-output.h"
#include "charts/dlen-bar-chart.h"
#include "charts/dlen-line-chart.h"
#include "dlen-error.h"
#include "dlen-fusion-page.h"
#include "dlen-predictions.h"
#include "dlen-model-summary.h"
#include "dlen-presets.h"
#include "dlen-window.h"

#define MAX_SIGNALS DLEN_REPLAY_MAX_SIGNALS
#define SWEEP_STEPS 21
/* A weight change is replayed on the main thread when it fits in this budget (half a frame
 * at 60 Hz); otherwise in a worker, coalescing changes that arrive meanwhile. */
#define SYNC_BUDGET_MS 8.0
#define TARGET_RANGE 3.0
#define EMOTION_MAX 5.0

/* ---- A replay set shared with workers -------------------------------------------------------- */

/* dlen_replay_run() is thread-safe on a shared replay: workers hold a reference while they
 * run, so a reload never frees a set under them. */
typedef struct {
  DlenReplaySet *set;
} Replay;

static void
replay_clear (gpointer data)
{
  dlen_replay_set_free (((Replay *) data)->set);
}

static Replay *
replay_new (DlenReplaySet *set)
{
  Replay *r = g_atomic_rc_box_new0 (Replay);
  r->set = set;
  return r;
}

static Replay *
replay_ref (Replay *r)
{
  return g_atomic_rc_box_acquire (r);
}

static void
replay_unref (Replay *r)
{
  g_atomic_rc_box_release_full (r, replay_clear);
}

static double
elapsed_ms (gint64 since_us)
{
  return (g_get_monotonic_time () - since_us) / 1000.0;
}

/* ---- Loading (worker) ------------------------------------------------------------------------ */

typedef struct {
  char *path;
  DlenReplayOptions options;
  guint serial;
  Replay *replay;              /* result */
  double run_ms;               /* one replay of the whole set */
} LoadTask;

static void
load_task_free (gpointer data)
{
  LoadTask *l = data;
  g_free (l->path);
  if (l->replay)
    replay_unref (l->replay);
  g_free (l);
}

static void
load_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  LoadTask *l = data;
  g_autoptr (DlenStore) store = NULL;
  g_autofree DlenReplayResult *r = g_new (DlenReplayResult, 1);
  float w[MAX_SIGNALS];
  DlenReplaySet *set;
  GError *error = NULL;

  store = dlen_store_open (l->path, FALSE, &error);
  if (!store)
    {
      g_task_return_error (task, error);
      return;
    }
  dlen_store_set_cancellable (store, cancellable);
  set = dlen_replay_set_load (store, &l->options, &error);
  if (!set)
    {
      g_task_return_error (task, error);
      return;
    }
  /* How long one replay takes decides between the main thread and a worker; the best of two
   * runs leaves out a cold cache. */
  dlen_replay_set_preset (set, "with-emotion", w);
  l->run_ms = G_MAXDOUBLE;
  for (int i = 0; i < 2; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      dlen_replay_run (set->replay, w, 3, r);
      l->run_ms = MIN (l->run_ms, elapsed_ms (t0));
    }
  l->replay = replay_new (set);
  g_task_return_boolean (task, TRUE);
}

/* ---- Replays and sweeps (either thread) ------------------------------------------------------ */

typedef struct {
  Replay *replay;
  guint serial;
  guint n_signals;
  float w[MAX_SIGNALS], base_w[MAX_SIGNALS];
  guint k;
  gboolean need_base, need_logged;
  gint64 change_us;            /* the newest weight change this replay includes */
  int status;
  double compute_ms;
  DlenReplayResult ranked, base, logged;
} NumbersTask;

static void
numbers_task_free (gpointer data)
{
  NumbersTask *n = data;
  replay_unref (n->replay);
  g_free (n);
}

static void
numbers_compute (NumbersTask *n)
{
  const DlenReplay *r = n->replay->set->replay;
  gint64 t0 = g_get_monotonic_time ();
  n->status = dlen_replay_run (r, n->w, n->k, &n->ranked);
  if (n->status == DLEN_STATUS_OK && n->need_base)
    n->status = dlen_replay_run (r, n->base_w, n->k, &n->base);
  if (n->status == DLEN_STATUS_OK && n->need_logged)
    n->status = dlen_replay_run (r, NULL, n->k, &n->logged);
  n->compute_ms = elapsed_ms (t0);
}

static void
numbers_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  numbers_compute (data);
  g_task_return_boolean (task, TRUE);
}

typedef struct {
  Replay *replay;
  guint serial;
  float w[MAX_SIGNALS];
  guint index;
  float from, to;
  guint k;
  int status;
  DlenReplayResult results[SWEEP_STEPS];
} SweepTask;

static void
sweep_task_free (gpointer data)
{
  SweepTask *s = data;
  replay_unref (s->replay);
  g_free (s);
}

static void
sweep_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SweepTask *s = data;
  s->status = dlen_replay_sweep (s->replay->set->replay, s->w, s->index, s->from, s->to, SWEEP_STEPS, s->k, s->results);
  g_task_return_boolean (task, TRUE);
}

/* ---- Caching predictions (DlenJob worker) ------------------------------------------------------ */

typedef struct {
  char *path;
  gint64 model_id;
} PredictTask;

static void
predict_task_free (gpointer data)
{
  PredictTask *p = data;
  g_free (p->path);
  g_free (p);
}

static void
predict_progress (double fraction, const char *message, gpointer job)
{
  dlen_job_set_progress (job, fraction, message);
}

/* The same as `dlen predict PROJECT --model ID --no-csv`, with progress and cancel. */
static gboolean
predict_worker (DlenJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  PredictTask *p = data;
  return dlen_cache_predictions (p->path, p->model_id, predict_progress, job, cancellable, error);
}

/* ---- The page ---------------------------------------------------------------------------------- */

#define N_COLUMNS 5            /* ranked, baseline, delta, logged, delta */
#define MAX_ROWS (MAX_SIGNALS + 2)

struct _DlenFusionPage {
  AdwBin parent_instance;

  /* Template widgets */
  GtkStack *stack;
  GtkDropDown *model_dropdown;
  GtkSpinner *busy_spinner;
  GtkAdjustment *k_adjustment;
  GtkDropDown *rule_dropdown;
  GtkSpinButton *threshold_spin;
  GtkAdjustment *threshold_adjustment;
  GtkCheckButton *all_rows_check;
  GtkStack *content_stack;
  GtkSpinner *loading_spinner;
  GtkLabel *loading_label;
  AdwStatusPage *predict_status;
  GtkWidget *predict_button;
  GtkWidget *predict_progress_box;
  GtkProgressBar *predict_progress;
  AdwStatusPage *error_status;
  GtkWidget *content_box;
  GtkLabel *formula_label;
  GtkGrid *weights_grid;
  GtkWidget *with_emotion_button;
  GtkListBox *presets_list;
  GtkWidget *presets_empty_label;
  GtkLabel *numbers_title, *summary_label;
  GtkGrid *numbers_grid;
  GtkDropDown *sweep_dropdown, *engagement_dropdown;
  GtkCheckButton *logged_check;
  DlenLineChart *frontier_chart;
  DlenBarChart *category_chart;

  /* Owned */
  DlenProject *project;
  gulong changed_id;
  GArray *model_ids;           /* gint64, in the dropdown's order */
  gint64 model_id;             /* selected */
  const char *state;
  char *error_message;
  guint building;              /* > 0 while widgets are set up: their handlers do nothing */

  guint load_serial;           /* bumped by every load: stale results are dropped */
  GCancellable *load_cancellable;
  gboolean loading;
  guint reload_timeout;

  Replay *replay;              /* the loaded set, or NULL */
  gboolean async;              /* replays go to a worker */
  double run_ms;

  GtkAdjustment *adj[MAX_SIGNALS];
  float w[MAX_SIGNALS];
  guint freeze;                /* > 0 while several weights change at once */
  GArray *engagement_targets;  /* guint target index per engagement dropdown item */

  /* The numbers shown. */
  gboolean have_numbers;
  DlenReplayResult ranked, baseline, logged;
  float base_key[MAX_SIGNALS];
  guint base_k, logged_k;
  gboolean base_valid, logged_valid;
  gboolean numbers_running, numbers_pending;
  gint64 change_us;
  double last_latency_ms, last_compute_ms;
  GtkLabel *cells[MAX_ROWS][N_COLUMNS];
  guint n_rows;

  /* The frontier. */
  DlenReplayResult *sweep;     /* SWEEP_STEPS, or NULL */
  guint sweep_index;
  float sweep_from, sweep_to;
  gboolean sweep_running, sweep_pending;
  guint sweep_timeout;         /* a slow sweep waits for the weights to settle */
  DlenSeriesModel *frontier;

  GPtrArray *presets;          /* DlenFusionPreset*, as listed */
  DlenJob *predict_job;
};

enum { PROP_0, PROP_PROJECT, N_PROPS };
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (DlenFusionPage, dlen_fusion_page, ADW_TYPE_BIN)

static void start_load (DlenFusionPage *self);
static void weights_changed (DlenFusionPage *self, guint index);
static void update_actions (DlenFusionPage *self);

static DlenReplaySet *
current_set (DlenFusionPage *self)
{
  return self->replay ? self->replay->set : NULL;
}

static DlenObjectionableRule
selected_rule (DlenFusionPage *self)
{
  guint i = gtk_drop_down_get_selected (self->rule_dropdown);
  return i <= 2 ? (DlenObjectionableRule) (i + 1) : DLEN_OBJECTIONABLE_BOTH;
}

static guint
current_k (DlenFusionPage *self)
{
  return (guint) gtk_adjustment_get_value (self->k_adjustment);
}

static void
set_content (DlenFusionPage *self, const char *name)
{
  gtk_stack_set_visible_child_name (self->content_stack, name);
  self->state = g_str_equal (name, "content") ? "ready" : name;
  gtk_spinner_set_spinning (self->loading_spinner, g_str_equal (name, "loading"));
  update_actions (self);
}

static void
update_busy (DlenFusionPage *self)
{
  gboolean reloading = (self->loading || self->reload_timeout) && self->replay;
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), reloading);
  gtk_spinner_set_spinning (self->busy_spinner, reloading);
  gtk_widget_set_sensitive (self->content_box, !reloading);
}

/* ---- Formatting ---------------------------------------------------------------------------------- */

static gboolean
is_duration (const DlenReplaySet *set, guint t)
{
  return set->kind[t] == DLEN_TARGET_DURATION;
}

/* "1.38 %" for rates, "27.2 s" for durations. */
static char *
format_value (const DlenReplaySet *set, int target, double v)
{
  if (!isfinite (v))
    return g_strdup ("—");
  if (target >= 0 && is_duration (set, (guint) target))
    return g_strdup_printf ("%.2f s", v);
  return g_strdup_printf ("%.2f %%", v * 100);
}

/* "+0.17 pp" (percentage points) or "−0.08 s", with a real minus sign. */
static char *
format_delta (const DlenReplaySet *set, int target, double d)
{
  g_autofree char *text = NULL;
  GString *s;
  if (!isfinite (d))
    return g_strdup ("—");
  if (target >= 0 && is_duration (set, (guint) target))
    text = fabs (d) < 0.005 ? g_strdup ("0.00 s") : g_strdup_printf ("%+.2f s", d);
  else
    text = fabs (d) < 0.00005 ? g_strdup ("0.00 pp") : g_strdup_printf ("%+.2f pp", d * 100);
  s = g_string_new (text);
  if (s->str[0] == '-')
    g_string_replace (s, "-", "−", 1);
  return g_string_free (s, FALSE);
}

/* Shortest text that reads back as the same float, so `dlen replay --weights` replays exactly
 * what the page shows. */
static void
format_weight (char *buf, gsize size, float w)
{
  for (int digits = 6; digits <= 9; digits++)
    {
      char fmt[8];
      g_snprintf (fmt, sizeof fmt, "%%.%dg", digits);
      g_ascii_formatd (buf, size, fmt, (double) w);
      if ((float) g_ascii_strtod (buf, NULL) == w)
        return;
    }
}

static const char *
rule_label (DlenObjectionableRule rule)
{
  switch (rule)
    {
    case DLEN_OBJECTIONABLE_USER: return "user feedback";
    case DLEN_OBJECTIONABLE_ITEM: return "item rate";
    case DLEN_OBJECTIONABLE_BOTH:
    default: return "user feedback or item rate";
    }
}

/* ---- Models ------------------------------------------------------------------------------------ */

static gboolean
model_has_predictions (DlenFusionPage *self, gint64 model_id)
{
  sqlite3_stmt *st = NULL;
  gboolean yes = FALSE;
  if (sqlite3_prepare_v2 (dlen_store_db (dlen_project_get_store (self->project)),
                          "SELECT EXISTS (SELECT 1 FROM predictions WHERE model_id = ?)", -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (st, 1, model_id);
      yes = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0);
    }
  sqlite3_finalize (st);
  return yes;
}

static void
drop_replay (DlenFusionPage *self)
{
  g_clear_pointer (&self->replay, replay_unref);
  self->have_numbers = FALSE;
  self->base_valid = FALSE;
  self->logged_valid = FALSE;
  g_clear_pointer (&self->sweep, g_free);
  g_clear_handle_id (&self->sweep_timeout, g_source_remove);
}

static void
cancel_load (DlenFusionPage *self)
{
  self->load_serial++;
  if (self->load_cancellable)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->loading = FALSE;
  g_clear_handle_id (&self->reload_timeout, g_source_remove);
}

/* Shows model @model_id: its cached predictions loaded, or the way to compute them. */
static void
select_model (DlenFusionPage *self, gint64 model_id)
{
  gboolean same = model_id == self->model_id && self->replay;
  cancel_load (self);
  self->model_id = model_id;
  if (!same)
    drop_replay (self);
  if (!model_has_predictions (self, model_id))
    {
      g_autofree char *desc = g_strdup_printf (
        "The replay ranks with model %" G_GINT64_FORMAT "’s predictions for every impression, cached in the project. "
        "Computing them takes a moment (the same as dlen predict PROJECT --model %" G_GINT64_FORMAT " --no-csv).",
        model_id, model_id);
      drop_replay (self);
      adw_status_page_set_description (self->predict_status, desc);
      set_content (self, "no-predictions");
      update_busy (self);
      return;
    }
  start_load (self);
}

static void
on_model_selected (DlenFusionPage *self)
{
  guint i = gtk_drop_down_get_selected (self->model_dropdown);
  if (self->building || !self->model_ids || i >= self->model_ids->len)
    return;
  if (g_array_index (self->model_ids, gint64, i) != self->model_id || !self->replay)
    select_model (self, g_array_index (self->model_ids, gint64, i));
}

static void refresh_presets (DlenFusionPage *self);

/* Rebuilds the model list. Keeps the selected model; else picks the newest DLEN model with cached
 * predictions, else the newest with predictions, else the newest. */
static void
refresh_models (DlenFusionPage *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) models = NULL;
  g_autoptr (GtkStringList) names = gtk_string_list_new (NULL);
  gint64 keep = 0, best = 0;
  int best_score = -1;
  guint selected = 0;

  if (!self->project)
    {
      cancel_load (self);
      drop_replay (self);
      self->model_id = 0;
      g_array_set_size (self->model_ids, 0);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      self->state = "no-project";
      update_busy (self);
      update_actions (self);
      return;
    }
  models = dlen_model_summaries_load (dlen_project_get_store (self->project), &error);
  if (!models)
    {
      g_warning ("%s", error->message);
      models = g_ptr_array_new ();
    }
  g_array_set_size (self->model_ids, 0);
  for (guint i = 0; i < models->len; i++)
    {
      DlenModelSummary *s = g_ptr_array_index (models, i);
      gboolean cached = model_has_predictions (self, s->id);
      gboolean dlen = g_strcmp0 (s->arch, "dlen") == 0;
      int score = (cached ? 2 : 0) + (dlen ? 1 : 0);
      g_autofree char *label = g_strdup_printf ("%" G_GINT64_FORMAT " · %s%s", s->id, s->name,
                                                cached ? "" : " (no predictions yet)");
      gtk_string_list_append (names, label);
      g_array_append_val (self->model_ids, s->id);
      if (s->id == self->model_id)
        keep = s->id;
      if (score >= best_score)
        {
          best_score = score;
          best = s->id;
        }
    }
  if (models->len == 0)
    {
      cancel_load (self);
      drop_replay (self);
      self->model_id = 0;
      gtk_stack_set_visible_child_name (self->stack, "no-models");
      self->state = "no-models";
      update_busy (self);
      update_actions (self);
      return;
    }
  if (!keep)
    keep = best;
  for (guint i = 0; i < self->model_ids->len; i++)
    if (g_array_index (self->model_ids, gint64, i) == keep)
      selected = i;
  self->building++;
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (names));
  gtk_drop_down_set_selected (self->model_dropdown, selected);
  self->building--;
  gtk_stack_set_visible_child_name (self->stack, "main");
  /* A failed load (not a replayed one) is retried: the project's contents changed. */
  if (keep != self->model_id || (!self->replay && !self->loading && !self->predict_job))
    select_model (self, keep);
  else if (!self->replay && !self->loading)
    set_content (self, "no-predictions");
}

/* ---- Weights ------------------------------------------------------------------------------------ */

static void
on_weight_changed (GtkAdjustment *adj, DlenFusionPage *self)
{
  guint i = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (adj), "index"));
  if (self->building || i >= MAX_SIGNALS || self->adj[i] != adj)
    return;
  self->w[i] = (float) gtk_adjustment_get_value (adj);
  self->change_us = g_get_monotonic_time ();
  if (!self->freeze)
    weights_changed (self, i);
}

static void
clear_weight_rows (DlenFusionPage *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->weights_grid))))
    gtk_grid_remove (self->weights_grid, child);
  for (guint i = 0; i < MAX_SIGNALS; i++)
    if (self->adj[i])
      {
        g_signal_handlers_disconnect_by_data (self->adj[i], self);
        g_clear_object (&self->adj[i]);
      }
}

static char *
signal_tooltip (const DlenReplaySet *set, guint i)
{
  if (i >= set->n_targets)
    return g_strdup ("Weight of log p_e, the model's latent emotion (the probability that the user truly likes the item)");
  if (is_duration (set, i))
    return g_strdup_printf ("Weight of log(1 + predicted %s in seconds)", set->names[i]);
  return g_strdup_printf ("Weight of log p(%s)%s", set->names[i],
                          set->polarity[i] == DLEN_POLARITY_NEGATIVE ? ": negative feedback takes a negative weight" : "");
}

/* One row per signal: name, slider and spin button sharing one adjustment. */
static void
build_weight_rows (DlenFusionPage *self, const float *values)
{
  DlenReplaySet *set = current_set (self);
  clear_weight_rows (self);
  for (guint i = 0; i < set->n_signals; i++)
    {
      gboolean emotion = i >= set->n_targets;
      double lower = emotion ? 0 : -TARGET_RANGE, upper = emotion ? EMOTION_MAX : TARGET_RANGE;
      GtkAdjustment *adj = gtk_adjustment_new (CLAMP (values[i], lower, upper), lower, upper, 0.05, 0.5, 0);
      GtkWidget *label = gtk_label_new (set->names[i]);
      GtkWidget *scale = gtk_scale_new (GTK_ORIENTATION_HORIZONTAL, adj);
      GtkWidget *spin = gtk_spin_button_new (adj, 0.05, 2);
      g_autofree char *tip = signal_tooltip (set, i);
      g_autofree char *acc = g_strdup_printf ("Weight of %s", set->names[i]);

      self->adj[i] = g_object_ref_sink (adj);
      self->w[i] = (float) gtk_adjustment_get_value (adj);
      g_object_set_data (G_OBJECT (adj), "index", GUINT_TO_POINTER (i));
      g_signal_connect (adj, "value-changed", G_CALLBACK (on_weight_changed), self);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (label), 9);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 12);
      gtk_widget_set_tooltip_text (label, tip);
      if (emotion)
        gtk_widget_add_css_class (label, "accent");
      else if (set->polarity[i] == DLEN_POLARITY_NEGATIVE && !is_duration (set, i))
        gtk_widget_add_css_class (label, "error");

      gtk_scale_set_draw_value (GTK_SCALE (scale), FALSE);
      gtk_range_set_round_digits (GTK_RANGE (scale), 2);
      gtk_scale_add_mark (GTK_SCALE (scale), 0, GTK_POS_BOTTOM, NULL);
      gtk_widget_set_hexpand (scale, TRUE);
      gtk_widget_set_tooltip_text (scale, tip);
      gtk_accessible_update_property (GTK_ACCESSIBLE (scale), GTK_ACCESSIBLE_PROPERTY_LABEL, acc, -1);

      gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (spin), TRUE);
      gtk_editable_set_width_chars (GTK_EDITABLE (spin), 5);
      gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
      gtk_accessible_update_property (GTK_ACCESSIBLE (spin), GTK_ACCESSIBLE_PROPERTY_LABEL, acc, -1);

      gtk_grid_attach (self->weights_grid, label, 0, (int) i, 1, 1);
      gtk_grid_attach (self->weights_grid, scale, 1, (int) i, 1, 1);
      gtk_grid_attach (self->weights_grid, spin, 2, (int) i, 1, 1);
    }
}

/* Sets several weights as one change (one replay, one sweep). */
static void
set_weights (DlenFusionPage *self, const float *values)
{
  DlenReplaySet *set = current_set (self);
  if (!set)
    return;
  self->freeze++;
  for (guint i = 0; i < set->n_signals; i++)
    gtk_adjustment_set_value (self->adj[i], values[i]);
  self->freeze--;
  weights_changed (self, G_MAXUINT);
}

/* "name=w,..." onto the current signals: unknown names are ignored, missing ones get 0. */
static void
parse_named_weights (const DlenReplaySet *set, const char *text, float *w)
{
  g_auto (GStrv) parts = g_strsplit (text ? text : "", ",", -1);
  memset (w, 0, sizeof (float) * MAX_SIGNALS);
  for (guint i = 0; parts[i]; i++)
    {
      char *eq = strchr (parts[i], '=');
      if (!eq)
        continue;
      *eq = '\0';
      g_strstrip (parts[i]);
      for (guint j = 0; j < set->n_signals; j++)
        if (g_str_equal (set->names[j], parts[i]))
          w[j] = (float) g_ascii_strtod (eq + 1, NULL);
    }
}

/* ---- Numbers ------------------------------------------------------------------------------------ */

static void
attach_cell (DlenFusionPage *self, const char *text, int col, int row, gboolean numeric, const char *css)
{
  GtkWidget *label = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (label), numeric ? 1 : 0);
  /* Value columns share the table's spare width. */
  gtk_widget_set_hexpand (label, col > 0);
  if (numeric)
    gtk_widget_add_css_class (label, "numeric");
  if (css)
    gtk_widget_add_css_class (label, css);
  gtk_grid_attach (self->numbers_grid, label, col, row, 1, 1);
  if (row > 0 && col > 0)
    self->cells[row - 1][col - 1] = GTK_LABEL (label);
}

/* Row r of the table: 0 objectionable, 1..n_targets the targets, then the slots. */
static void
build_numbers_grid (DlenFusionPage *self)
{
  DlenReplaySet *set = current_set (self);
  GtkWidget *child;
  static const char *const headers[N_COLUMNS] = { "Ranked", "Baseline", "Δ", "Logged", "Δ" };
  static const char *const tips[N_COLUMNS] = {
    "The top K under the current weights",
    "The top K under the same weights with the emotion's at 0",
    "Ranked minus baseline (pp: percentage points); green is better",
    "The top K of the logged order (what was shown)",
    "Ranked minus logged (pp: percentage points); green is better",
  };
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->numbers_grid))))
    gtk_grid_remove (self->numbers_grid, child);
  memset (self->cells, 0, sizeof self->cells);
  attach_cell (self, "", 0, 0, FALSE, NULL);
  for (int c = 0; c < N_COLUMNS; c++)
    {
      attach_cell (self, headers[c], c + 1, 0, TRUE, "heading");
      gtk_widget_set_tooltip_text (gtk_grid_get_child_at (self->numbers_grid, c + 1, 0), tips[c]);
      /* Without an emotion the baseline is the ranking itself. */
      if (!set->has_emotion && (c == 1 || c == 2))
        gtk_widget_set_visible (gtk_grid_get_child_at (self->numbers_grid, c + 1, 0), FALSE);
    }
  self->n_rows = set->n_targets + 2;
  for (guint r = 0; r < self->n_rows; r++)
    {
      g_autofree char *name = NULL;
      if (r == 0)
        name = g_strdup ("Objectionable exposure");
      else if (r <= set->n_targets)
        name = is_duration (set, r - 1) ? g_strdup_printf ("%s (mean)", set->names[r - 1])
                                         : g_strdup_printf ("%s rate", set->names[r - 1]);
      else
        name = g_strdup ("Slots");
      attach_cell (self, name, 0, (int) r + 1, FALSE, r == 0 ? "heading" : NULL);
      for (int c = 0; c < N_COLUMNS; c++)
        {
          attach_cell (self, "", c + 1, (int) r + 1, TRUE, c == 0 ? "heading" : NULL);
          if (!set->has_emotion && (c == 1 || c == 2))
            gtk_widget_set_visible (GTK_WIDGET (self->cells[r][c]), FALSE);
        }
    }
}

/* The value of row @r in a result. */
static double
row_value (const DlenReplaySet *set, const DlenReplayResult *res, guint r)
{
  if (r == 0)
    return res->objectionable;
  if (r <= set->n_targets)
    return res->outcome[r - 1];
  return (double) res->slots;
}

/* TRUE when a larger value of row @r is better (engagement), FALSE for exposure and negative
 * feedback. */
static gboolean
higher_is_better (const DlenReplaySet *set, guint r)
{
  if (r == 0)
    return FALSE;
  return !(set->kind[r - 1] == DLEN_TARGET_BINARY && set->polarity[r - 1] == DLEN_POLARITY_NEGATIVE);
}

static void
set_delta_cell (GtkLabel *label, const DlenReplaySet *set, guint r, double d)
{
  int target = r >= 1 && r <= set->n_targets ? (int) r - 1 : -1;
  double noise = target >= 0 && is_duration (set, (guint) target) ? 0.005 : 0.00005;
  g_autofree char *text = format_delta (set, target, d);
  gtk_label_set_text (label, text);
  gtk_widget_remove_css_class (GTK_WIDGET (label), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (label), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (label), "dim-label");
  if (!isfinite (d) || fabs (d) < noise)
    gtk_widget_add_css_class (GTK_WIDGET (label), "dim-label");
  else
    gtk_widget_add_css_class (GTK_WIDGET (label), (d > 0) == higher_is_better (set, r) ? "success" : "error");
}

static void
show_numbers (DlenFusionPage *self)
{
  DlenReplaySet *set = current_set (self);
  guint k = current_k (self);
  g_autofree char *title = NULL, *summary = NULL, *split = NULL, *threshold = NULL;
  if (!set || !self->have_numbers)
    return;
  for (guint r = 0; r < self->n_rows; r++)
    {
      double ranked = row_value (set, &self->ranked, r), base = row_value (set, &self->baseline, r);
      double logged = row_value (set, &self->logged, r);
      int target = r >= 1 && r <= set->n_targets ? (int) r - 1 : -1;
      if (r == self->n_rows - 1)
        {
          char buf[32];
          g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, self->ranked.slots);
          gtk_label_set_text (self->cells[r][0], buf);
          g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, self->baseline.slots);
          gtk_label_set_text (self->cells[r][1], buf);
          g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, self->logged.slots);
          gtk_label_set_text (self->cells[r][3], buf);
          gtk_label_set_text (self->cells[r][2], "");
          gtk_label_set_text (self->cells[r][4], "");
          continue;
        }
      {
        g_autofree char *a = format_value (set, target, ranked), *b = format_value (set, target, base);
        g_autofree char *c = format_value (set, target, logged);
        gtk_label_set_text (self->cells[r][0], a);
        gtk_label_set_text (self->cells[r][1], b);
        gtk_label_set_text (self->cells[r][3], c);
      }
      set_delta_cell (self->cells[r][2], set, r, ranked - base);
      set_delta_cell (self->cells[r][4], set, r, ranked - logged);
    }
  title = g_strdup_printf ("Replay of the Top %u", k);
  gtk_label_set_text (self->numbers_title, title);
  if (set->options.all_rows || !set->split_day)
    split = g_strdup ("all rows");
  else
    {
      g_autofree char *day = dlen_format_day (set->split_day);
      split = g_strdup_printf ("test split from %s", day);
    }
  threshold = set->options.rule & DLEN_OBJECTIONABLE_ITEM ? g_strdup_printf (" > %.2f", set->options.item_threshold)
                                                          : g_strdup ("");
  summary = g_strdup_printf ("%" G_GSIZE_FORMAT " impressions in %" G_GSIZE_FORMAT " requests (%s) · objectionable: %s%s · "
                             "replayed in %.1f ms%s",
                             set->n_rows, dlen_replay_n_requests (set->replay), split, rule_label (set->options.rule),
                             threshold, self->last_compute_ms, self->async ? " in the background" : "");
  gtk_label_set_text (self->summary_label, summary);
}

/* ---- Charts -------------------------------------------------------------------------------------- */

/* The engagement target on the frontier's y axis. */
static int
engagement_target (DlenFusionPage *self)
{
  guint i = gtk_drop_down_get_selected (self->engagement_dropdown);
  if (!self->engagement_targets || i >= self->engagement_targets->len)
    return -1;
  return (int) g_array_index (self->engagement_targets, guint, i);
}

static double
y_of (DlenFusionPage *self, const DlenReplayResult *r, int target)
{
  DlenReplaySet *set = current_set (self);
  return is_duration (set, (guint) target) ? r->outcome[target] : r->outcome[target] * 100;
}

static void
extend (double *b, double x, double y)
{
  b[0] = MIN (b[0], x);
  b[1] = MAX (b[1], x);
  b[2] = MIN (b[2], y);
  b[3] = MAX (b[3], y);
}

static void
rebuild_frontier (DlenFusionPage *self)
{
  DlenReplaySet *set = current_set (self);
  int t = engagement_target (self);
  g_autofree char *y_label = NULL, *sweep_name = NULL;
  double b[4] = { G_MAXDOUBLE, -G_MAXDOUBLE, G_MAXDOUBLE, -G_MAXDOUBLE }, dx, dy, cx, cy;
  guint s;

  dlen_series_model_clear (self->frontier);
  if (!set || t < 0 || !self->have_numbers)
    return;
  y_label = is_duration (set, (guint) t) ? g_strdup_printf ("mean %s@K (s)", set->names[t])
                                         : g_strdup_printf ("%s rate@K (%%)", set->names[t]);
  dlen_line_chart_set_y_label (self->frontier_chart, y_label);
  if (self->sweep)
    {
      sweep_name = g_strdup_printf ("%s weight %g … %g", set->names[self->sweep_index], self->sweep_from, self->sweep_to);
      s = dlen_series_model_add_series (self->frontier, sweep_name, DLEN_SERIES_LINE | DLEN_SERIES_MARKERS, 0);
      for (guint i = 0; i < SWEEP_STEPS; i++)
        {
          double x = self->sweep[i].objectionable * 100, y = y_of (self, &self->sweep[i], t);
          dlen_series_model_append (self->frontier, s, x, y);
          extend (b, x, y);
        }
    }
  if (gtk_check_button_get_active (self->logged_check))
    {
      s = dlen_series_model_add_series (self->frontier, "Logged order", DLEN_SERIES_MARKERS, 5);
      dlen_series_model_append (self->frontier, s, self->logged.objectionable * 100, y_of (self, &self->logged, t));
      extend (b, self->logged.objectionable * 100, y_of (self, &self->logged, t));
    }
  if (set->has_emotion)
    {
      s = dlen_series_model_add_series (self->frontier, "Baseline (w_e = 0)", DLEN_SERIES_MARKERS, 1);
      dlen_series_model_append (self->frontier, s, self->baseline.objectionable * 100, y_of (self, &self->baseline, t));
      extend (b, self->baseline.objectionable * 100, y_of (self, &self->baseline, t));
    }
  /* The current point as a cross, drawn last, so that it stands out on the sweep's markers. */
  cx = self->ranked.objectionable * 100;
  cy = y_of (self, &self->ranked, t);
  extend (b, cx, cy);
  dx = MAX ((b[1] - b[0]) * 0.035, 1e-3);
  dy = MAX ((b[3] - b[2]) * 0.06, 1e-3);
  /* Two strokes and, after a gap, the point itself: the chart dots a lone point. */
  s = dlen_series_model_add_series (self->frontier, "Current weights", DLEN_SERIES_LINE, 2);
  dlen_series_model_append (self->frontier, s, cx - dx, cy);
  dlen_series_model_append (self->frontier, s, cx + dx, cy);
  dlen_series_model_append (self->frontier, s, cx, NAN);
  dlen_series_model_append (self->frontier, s, cx, cy - dy);
  dlen_series_model_append (self->frontier, s, cx, cy + dy);
  dlen_series_model_append (self->frontier, s, cx, NAN);
  dlen_series_model_append (self->frontier, s, cx, cy);
}

typedef struct {
  guint index;
  double share;
  const char *name;
} CategoryShare;

static int
compare_share (gconstpointer a, gconstpointer b)
{
  const CategoryShare *x = a, *y = b;
  if (x->share != y->share)
    return x->share < y->share ? 1 : -1;
  return g_strcmp0 (x->name, y->name);
}

static void
rebuild_categories (DlenFusionPage *self)
{
  DlenReplaySet *set = current_set (self);
  g_autofree CategoryShare *order = NULL;
  g_autofree const char **labels = NULL;
  g_autofree double *values = NULL, *overlay = NULL;
  const char *bar_names[2] = { "Current weights", "Baseline (w_e = 0)" };
  const int colours[2] = { 0, -1 };
  guint n, n_bars;
  double slots, base_slots;

  if (!set || !self->have_numbers || set->n_categories == 0 || self->ranked.slots == 0)
    {
      dlen_bar_chart_clear (self->category_chart);
      dlen_bar_chart_set_placeholder (self->category_chart,
                                      set && set->n_categories == 0
                                        ? "This project's log has no “category” field, so there is no per-category breakdown."
                                        : NULL);
      return;
    }
  n = set->n_categories;
  n_bars = set->has_emotion ? 2 : 1;
  slots = (double) self->ranked.slots;
  base_slots = (double) MAX (self->baseline.slots, 1);
  order = g_new (CategoryShare, n);
  for (guint c = 0; c < n; c++)
    order[c] = (CategoryShare) { c, self->ranked.category_slots[c] / slots, set->categories[c] };
  qsort (order, n, sizeof *order, compare_share);
  labels = g_new0 (const char *, n + 1);
  values = g_new (double, n * n_bars);
  overlay = g_new (double, n);
  for (guint i = 0; i < n; i++)
    {
      guint c = order[i].index;
      labels[i] = *set->categories[c] ? set->categories[c] : "(none)";
      values[i * n_bars] = order[i].share;
      if (n_bars > 1)
        values[i * n_bars + 1] = self->baseline.category_slots[c] / base_slots;
      overlay[i] = self->ranked.category_objectionable[c] / slots;
    }
  dlen_bar_chart_set_data (self->category_chart, n, labels, n_bars, bar_names, colours, values);
  dlen_bar_chart_set_overlay (self->category_chart, 0, "Objectionable slots (current)", overlay);
}

/* ---- Replaying ----------------------------------------------------------------------------------- */

static void
apply_numbers (DlenFusionPage *self, NumbersTask *n)
{
  if (n->status != DLEN_STATUS_OK)
    {
      g_warning ("replay failed: %s", dlen_status_to_string (n->status));
      return;
    }
  self->ranked = n->ranked;
  if (n->need_base)
    {
      self->baseline = n->base;
      memcpy (self->base_key, n->base_w, sizeof self->base_key);
      self->base_k = n->k;
      self->base_valid = TRUE;
    }
  else if (!current_set (self)->has_emotion)
    self->baseline = n->ranked;
  if (n->need_logged)
    {
      self->logged = n->logged;
      self->logged_k = n->k;
      self->logged_valid = TRUE;
    }
  self->have_numbers = TRUE;
  self->last_compute_ms = n->compute_ms;
  show_numbers (self);
  rebuild_frontier (self);
  rebuild_categories (self);
  self->last_latency_ms = elapsed_ms (n->change_us);
  update_actions (self);
}

static NumbersTask *
numbers_task_new (DlenFusionPage *self)
{
  DlenReplaySet *set = current_set (self);
  NumbersTask *n = g_new0 (NumbersTask, 1);
  n->replay = replay_ref (self->replay);
  n->serial = self->load_serial;
  n->n_signals = set->n_signals;
  n->k = current_k (self);
  memcpy (n->w, self->w, sizeof n->w);
  memcpy (n->base_w, self->w, sizeof n->base_w);
  if (set->has_emotion)
    n->base_w[set->n_targets] = 0;
  /* The baseline moves only with the other weights, the logged order only with K. */
  n->need_base = set->has_emotion
                 && !(self->base_valid && self->base_k == n->k && memcmp (self->base_key, n->base_w, sizeof n->base_w) == 0);
  n->need_logged = !(self->logged_valid && self->logged_k == n->k);
  n->change_us = self->change_us ? self->change_us : g_get_monotonic_time ();
  return n;
}

static void start_numbers (DlenFusionPage *self);

static void
numbers_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (source);
  NumbersTask *n = g_task_get_task_data (G_TASK (result));
  if (!self->stack)
    return;
  self->numbers_running = FALSE;
  /* A result of a set since replaced is dropped; changes made meanwhile still get replayed. */
  if (n->serial == self->load_serial && self->replay)
    apply_numbers (self, n);
  if (self->numbers_pending && self->replay)
    start_numbers (self);
  self->numbers_pending = FALSE;
}

static void
start_numbers (DlenFusionPage *self)
{
  NumbersTask *n;
  if (!self->replay)
    return;
  if (self->numbers_running)
    {
      self->numbers_pending = TRUE;
      return;
    }
  self->numbers_pending = FALSE;
  n = numbers_task_new (self);
  if (!self->async)
    {
      numbers_compute (n);
      apply_numbers (self, n);
      numbers_task_free (n);
      return;
    }
  {
    g_autoptr (GTask) task = g_task_new (self, NULL, numbers_done, NULL);
    self->numbers_running = TRUE;
    g_task_set_task_data (task, n, numbers_task_free);
    g_task_run_in_thread (task, numbers_thread);
  }
}

static void start_sweep (DlenFusionPage *self);

static void
apply_sweep (DlenFusionPage *self, SweepTask *s)
{
  if (s->status != DLEN_STATUS_OK)
    {
      g_warning ("sweep failed: %s", dlen_status_to_string (s->status));
      return;
    }
  if (!self->sweep)
    self->sweep = g_new (DlenReplayResult, SWEEP_STEPS);
  memcpy (self->sweep, s->results, sizeof (DlenReplayResult) * SWEEP_STEPS);
  self->sweep_index = s->index;
  self->sweep_from = s->from;
  self->sweep_to = s->to;
  rebuild_frontier (self);
}

static void
sweep_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (source);
  SweepTask *s = g_task_get_task_data (G_TASK (result));
  if (!self->stack)
    return;
  self->sweep_running = FALSE;
  if (s->serial == self->load_serial && self->replay)
    apply_sweep (self, s);
  if (self->sweep_pending && self->replay)
    start_sweep (self);
  self->sweep_pending = FALSE;
}

static void
start_sweep (DlenFusionPage *self)
{
  DlenReplaySet *set = current_set (self);
  guint index = gtk_drop_down_get_selected (self->sweep_dropdown);
  SweepTask *s;
  if (!set || index >= set->n_signals)
    return;
  if (self->sweep_running)
    {
      self->sweep_pending = TRUE;
      return;
    }
  self->sweep_pending = FALSE;
  s = g_new0 (SweepTask, 1);
  s->replay = replay_ref (self->replay);
  s->serial = self->load_serial;
  memcpy (s->w, self->w, sizeof s->w);
  s->index = index;
  s->from = (float) gtk_adjustment_get_lower (self->adj[index]);
  s->to = (float) gtk_adjustment_get_upper (self->adj[index]);
  s->k = current_k (self);
  if (self->run_ms * SWEEP_STEPS <= SYNC_BUDGET_MS)
    {
      s->status = dlen_replay_sweep (set->replay, s->w, s->index, s->from, s->to, SWEEP_STEPS, s->k, s->results);
      apply_sweep (self, s);
      sweep_task_free (s);
      return;
    }
  {
    g_autoptr (GTask) task = g_task_new (self, NULL, sweep_done, NULL);
    self->sweep_running = TRUE;
    g_task_set_task_data (task, s, sweep_task_free);
    g_task_run_in_thread (task, sweep_thread);
  }
}

static gboolean
sweep_timeout_cb (gpointer data)
{
  DlenFusionPage *self = data;
  self->sweep_timeout = 0;
  start_sweep (self);
  return G_SOURCE_REMOVE;
}

/* @index: the weight that changed, G_MAXUINT for several (or K). The frontier is re-swept unless
 * only the swept weight moved: then just the current point moves along it. */
static void
weights_changed (DlenFusionPage *self, guint index)
{
  if (!self->replay)
    return;
  start_numbers (self);
  if (index == gtk_drop_down_get_selected (self->sweep_dropdown) && self->sweep)
    return;
  /* A sweep is SWEEP_STEPS replays: on large sets (a third of a second for a million rows) it
   * would only compete with the live numbers while a slider is dragged, so it waits until the
   * weights have rested for a moment. */
  g_clear_handle_id (&self->sweep_timeout, g_source_remove);
  if (self->run_ms * SWEEP_STEPS <= SYNC_BUDGET_MS || !self->sweep)
    start_sweep (self);
  else
    self->sweep_timeout = g_timeout_add (150, sweep_timeout_cb, self);
}

/* ---- Loading ----------------------------------------------------------------------------------- */

static void
fill_dropdowns (DlenFusionPage *self)
{
  DlenReplaySet *set = current_set (self);
  g_autoptr (GtkStringList) sweep = gtk_string_list_new (NULL), engagement = gtk_string_list_new (NULL);
  guint sweep_sel = 0, eng_sel = 0;
  int prefer = -1;
  g_array_set_size (self->engagement_targets, 0);
  for (guint i = 0; i < set->n_signals; i++)
    gtk_string_list_append (sweep, set->names[i]);
  /* Sweep the emotion; without one, the first negative target. */
  if (set->has_emotion)
    sweep_sel = set->n_targets;
  else
    for (guint t = set->n_targets; t-- > 0;)
      if (set->polarity[t] == DLEN_POLARITY_NEGATIVE && !is_duration (set, t))
        sweep_sel = t;
  for (guint t = 0; t < set->n_targets; t++)
    {
      if (set->polarity[t] == DLEN_POLARITY_NEGATIVE && !is_duration (set, t))
        continue;
      gtk_string_list_append (engagement, set->names[t]);
      g_array_append_val (self->engagement_targets, t);
      /* "like" reads best against exposure (the paper's trade-off); else "click". */
      if (g_str_equal (set->names[t], "like") || (prefer < 0 && g_str_equal (set->names[t], "click")))
        {
          prefer = g_str_equal (set->names[t], "like") ? 1 : 0;
          eng_sel = self->engagement_targets->len - 1;
        }
    }
  self->building++;
  gtk_drop_down_set_model (self->sweep_dropdown, G_LIST_MODEL (sweep));
  gtk_drop_down_set_selected (self->sweep_dropdown, sweep_sel);
  gtk_drop_down_set_model (self->engagement_dropdown, G_LIST_MODEL (engagement));
  gtk_drop_down_set_selected (self->engagement_dropdown, eng_sel);
  self->building--;
}

static void
load_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (source);
  LoadTask *l = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  float values[MAX_SIGNALS] = { 0 };
  DlenReplaySet *old, *set;

  if (!self->stack || l->serial != self->load_serial)
    return;
  self->loading = FALSE;
  g_clear_object (&self->load_cancellable);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      drop_replay (self);
      clear_weight_rows (self);
      adw_status_page_set_description (self->error_status, error->message);
      g_free (self->error_message);
      self->error_message = g_strdup (error->message);
      set_content (self, "error");
      update_busy (self);
      return;
    }
  /* Weights carry over by name (a reload with another rule, or a model with the same targets);
   * a first load starts from the CLI's default preset. */
  old = current_set (self);
  set = l->replay->set;
  dlen_replay_set_preset (set, "with-emotion", values);
  if (old)
    for (guint i = 0; i < set->n_signals; i++)
      for (guint j = 0; j < old->n_signals; j++)
        if (g_str_equal (set->names[i], old->names[j]))
          values[i] = (float) gtk_adjustment_get_value (self->adj[j]);

  drop_replay (self);
  self->replay = g_steal_pointer (&l->replay);
  self->run_ms = l->run_ms;
  /* Up to two replays per change (ranked and baseline) must fit the budget. */
  self->async = 2 * self->run_ms > SYNC_BUDGET_MS;
  self->building++;
  build_weight_rows (self, values);
  self->building--;
  fill_dropdowns (self);
  build_numbers_grid (self);
  gtk_label_set_text (self->formula_label,
                      set->has_emotion
                        ? "score = Σ w·log p per target + w_stay·log(1 + stay) + w_e·log p_e"
                        : "score = Σ w·log p per target + w_stay·log(1 + stay); this model has no emotion");
  /* Without an emotion "with emotion" would equal "no emotion". */
  gtk_widget_set_visible (self->with_emotion_button, set->has_emotion);
  set_content (self, "content");
  update_busy (self);
  self->change_us = g_get_monotonic_time ();
  weights_changed (self, G_MAXUINT);
}

static void
start_load (DlenFusionPage *self)
{
  LoadTask *l;
  g_autoptr (GTask) task = NULL;
  g_autofree char *msg = NULL;
  cancel_load (self);
  if (!self->project || self->model_id <= 0)
    return;
  l = g_new0 (LoadTask, 1);
  l->path = g_strdup (dlen_project_get_path (self->project));
  dlen_replay_options_init (&l->options);
  l->options.model_id = self->model_id;
  l->options.rule = selected_rule (self);
  l->options.item_threshold = gtk_adjustment_get_value (self->threshold_adjustment);
  l->options.all_rows = gtk_check_button_get_active (self->all_rows_check);
  l->serial = self->load_serial;
  self->load_cancellable = g_cancellable_new ();
  self->loading = TRUE;
  task = g_task_new (self, self->load_cancellable, load_done, NULL);
  g_task_set_task_data (task, l, load_task_free);
  g_task_run_in_thread (task, load_thread);
  msg = g_strdup_printf ("Loading model %" G_GINT64_FORMAT "’s cached predictions…", self->model_id);
  gtk_label_set_text (self->loading_label, msg);
  /* A reload of the shown model keeps the page up (dimmed) instead of flashing a spinner. */
  if (!self->replay || self->replay->set->options.model_id != self->model_id)
    {
      drop_replay (self);
      set_content (self, "loading");
    }
  update_busy (self);
}

static void
on_options_changed (DlenFusionPage *self)
{
  if (self->building || !self->project || self->model_id <= 0)
    return;
  gtk_widget_set_sensitive (GTK_WIDGET (self->threshold_spin), selected_rule (self) & DLEN_OBJECTIONABLE_ITEM);
  if (g_str_equal (self->state, "no-predictions"))
    return;
  start_load (self);
}

static gboolean
reload_timeout_cb (gpointer data)
{
  DlenFusionPage *self = data;
  self->reload_timeout = 0;
  on_options_changed (self);
  return G_SOURCE_REMOVE;
}

/* Clicking through thresholds should not reload at every step. */
static void
on_threshold_changed (DlenFusionPage *self)
{
  if (self->building || !self->project)
    return;
  g_clear_handle_id (&self->reload_timeout, g_source_remove);
  self->reload_timeout = g_timeout_add (300, reload_timeout_cb, self);
  update_busy (self);
}

static void
on_k_changed (DlenFusionPage *self)
{
  if (self->building)
    return;
  self->change_us = g_get_monotonic_time ();
  weights_changed (self, G_MAXUINT);
}

static void
on_sweep_selected (DlenFusionPage *self)
{
  if (self->building || !self->replay)
    return;
  start_sweep (self);
}

static void
on_engagement_selected (DlenFusionPage *self)
{
  if (self->building)
    return;
  rebuild_frontier (self);
}

/* ---- Computing predictions ------------------------------------------------------------------------- */

static void
on_predict_progress (DlenFusionPage *self)
{
  if (!self->predict_job)
    return;
  gtk_progress_bar_set_fraction (self->predict_progress, dlen_job_get_fraction (self->predict_job));
  gtk_progress_bar_set_text (self->predict_progress, dlen_job_get_message (self->predict_job));
}

static void
predict_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DlenFusionPage *self = user_data;
  DlenJob *job = DLEN_JOB (source);
  g_autoptr (GError) error = NULL;
  gboolean ok = dlen_job_run_finish (job, result, &error);
  DlenWindow *window;
  if (!self->stack)
    {
      g_object_unref (self);
      return;
    }
  window = dlen_window_of (GTK_WIDGET (self));
  if (job == self->predict_job)
    {
      g_signal_handlers_disconnect_by_data (job, self);
      g_clear_object (&self->predict_job);
      gtk_widget_set_visible (self->predict_progress_box, FALSE);
      gtk_widget_set_visible (self->predict_button, TRUE);
    }
  if (!ok)
    {
      if (window)
        dlen_window_show_error (window, "Cannot Compute the Predictions", error);
    }
  else if (self->project)
    {
      if (window)
        dlen_window_toast (window, "Predictions cached in the project");
      /* Other pages (emotions) read the cached predictions too; the model list drops its hint
       * and reloads the shown model. */
      drop_replay (self);
      dlen_project_changed (self->project);
      if (!self->replay && !self->loading)
        select_model (self, self->model_id);
    }
  update_actions (self);
  g_object_unref (self);
}

static void
action_compute_predictions (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (widget);
  DlenWindow *window = dlen_window_of (widget);
  PredictTask *p;
  g_autofree char *title = NULL;
  if (!self->project || self->model_id <= 0 || self->predict_job || !window)
    return;
  p = g_new0 (PredictTask, 1);
  p->path = g_strdup (dlen_project_get_path (self->project));
  p->model_id = self->model_id;
  title = g_strdup_printf ("Predicting with model %" G_GINT64_FORMAT, self->model_id);
  self->predict_job = dlen_job_new (title, predict_worker, p, predict_task_free);
  g_signal_connect_swapped (self->predict_job, "notify::fraction", G_CALLBACK (on_predict_progress), self);
  g_signal_connect_swapped (self->predict_job, "notify::message", G_CALLBACK (on_predict_progress), self);
  gtk_progress_bar_set_fraction (self->predict_progress, 0);
  gtk_progress_bar_set_text (self->predict_progress, "Starting");
  gtk_widget_set_visible (self->predict_progress_box, TRUE);
  gtk_widget_set_visible (self->predict_button, FALSE);
  /* From the error page too: the progress shows on the predictions page. */
  if (!g_str_equal (self->state, "no-predictions"))
    {
      g_autofree char *desc = g_strdup_printf ("Predicting every impression with model %" G_GINT64_FORMAT
                                               " and caching the predictions in the project.", self->model_id);
      adw_status_page_set_description (self->predict_status, desc);
      set_content (self, "no-predictions");
    }
  dlen_window_run_job (window, self->predict_job, predict_done, g_object_ref (self));
  update_actions (self);
}

static void
action_cancel_predictions (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (widget);
  if (self->predict_job)
    dlen_job_cancel (self->predict_job);
}

static void
action_reload (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (widget);
  if (self->project && self->model_id > 0)
    select_model (self, self->model_id);
}

/* ---- Presets --------------------------------------------------------------------------------------- */

static void
show_error (DlenFusionPage *self, const char *title, const GError *error)
{
  DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
  if (window)
    dlen_window_show_error (window, title, error);
  else
    g_warning ("%s: %s", title, error->message);
}

static void
toast (DlenFusionPage *self, const char *message)
{
  DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
  if (window)
    dlen_window_toast (window, message);
}

static void
on_delete_preset_response (AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  DlenFusionPage *self = user_data;
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "preset-id"));
  if (g_str_equal (response, "delete") && self->project)
    {
      g_autoptr (GError) error = NULL;
      if (!dlen_presets_delete (dlen_project_get_store (self->project), id, &error))
        show_error (self, "Cannot Delete the Preset", error);
      refresh_presets (self);
    }
  g_object_unref (self);
}

static void
on_delete_preset_clicked (GtkButton *button, DlenFusionPage *self)
{
  DlenFusionPreset *p = g_object_get_data (G_OBJECT (button), "preset");
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autofree char *heading = NULL;
  GtkWidget *dialog;
  if (!p)
    return;
  heading = g_strdup_printf ("Delete Preset “%s”?", p->name);
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading,
                                   "Its weights, K and rule will be removed from the project.");
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", "_Cancel", "delete", "_Delete", NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "preset-id", GSIZE_TO_POINTER ((gsize) p->id));
  g_signal_connect (dialog, "response", G_CALLBACK (on_delete_preset_response), g_object_ref (self));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
refresh_presets (DlenFusionPage *self)
{
  g_autoptr (GError) error = NULL;
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->presets_list))))
    gtk_list_box_remove (self->presets_list, child);
  g_clear_pointer (&self->presets, g_ptr_array_unref);
  if (self->project)
    self->presets = dlen_presets_list (dlen_project_get_store (self->project), &error);
  if (error)
    g_warning ("%s", error->message);
  if (!self->presets)
    self->presets = g_ptr_array_new_with_free_func ((GDestroyNotify) dlen_fusion_preset_free);
  for (guint i = 0; i < self->presets->len; i++)
    {
      DlenFusionPreset *p = g_ptr_array_index (self->presets, i);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *del = gtk_button_new_from_icon_name ("user-trash-symbolic");
      g_autofree char *name = g_markup_escape_text (p->name, -1);
      g_autofree char *sub = NULL, *weights = g_markup_escape_text (p->weights, -1), *model = NULL;
      DlenObjectionableRule rule = DLEN_OBJECTIONABLE_BOTH;
      dlen_objectionable_rule_from_string (p->rule, &rule);
      model = p->model_id > 0 ? g_strdup_printf (" · model %" G_GINT64_FORMAT, p->model_id) : g_strdup ("");
      sub = g_strdup_printf ("top %u · %s%s", p->k, rule_label (rule), model);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), sub);
      gtk_widget_set_tooltip_text (row, p->weights);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      g_object_set_data (G_OBJECT (row), "preset", p);
      gtk_widget_set_valign (del, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (del, "flat");
      gtk_widget_set_tooltip_text (del, "Delete This Preset");
      g_object_set_data (G_OBJECT (del), "preset", p);
      g_signal_connect (del, "clicked", G_CALLBACK (on_delete_preset_clicked), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), del);
      gtk_list_box_append (self->presets_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->presets_list), self->presets->len > 0);
  gtk_widget_set_visible (self->presets_empty_label, self->presets->len == 0);
}

static void
apply_saved_preset (DlenFusionPage *self, const DlenFusionPreset *p)
{
  DlenReplaySet *set = current_set (self);
  DlenObjectionableRule rule = DLEN_OBJECTIONABLE_BOTH;
  float w[MAX_SIGNALS];
  if (!set)
    return;
  parse_named_weights (set, p->weights, w);
  dlen_objectionable_rule_from_string (p->rule, &rule);
  /* K and the weights as one change. */
  self->building++;
  gtk_adjustment_set_value (self->k_adjustment, p->k);
  self->building--;
  set_weights (self, w);
  /* Another rule reloads; the weights carry over by name. */
  if (rule != selected_rule (self))
    gtk_drop_down_set_selected (self->rule_dropdown, (guint) rule - 1);
}

static void
on_preset_activated (DlenFusionPage *self, GtkListBoxRow *row)
{
  DlenFusionPreset *p = g_object_get_data (G_OBJECT (row), "preset");
  if (p)
    apply_saved_preset (self, p);
}

static void
action_preset (GtkWidget *widget, const char *name, GVariant *param)
{
  dlen_fusion_page_apply_preset (DLEN_FUSION_PAGE (widget), g_variant_get_string (param, NULL));
}

static void
on_save_entry_changed (GtkEditable *entry, AdwMessageDialog *dialog)
{
  DlenFusionPage *self = g_object_get_data (G_OBJECT (dialog), "page");
  GtkLabel *hint = g_object_get_data (G_OBJECT (dialog), "hint");
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  gboolean exists = *name && self->project && dlen_presets_exists (dlen_project_get_store (self->project), name);
  adw_message_dialog_set_response_enabled (dialog, "save", *name != '\0');
  adw_message_dialog_set_response_label (dialog, "save", exists ? "_Replace" : "_Save");
  gtk_widget_set_visible (GTK_WIDGET (hint), exists);
}

static void
on_save_response (AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  DlenFusionPage *self = user_data;
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "entry");
  if (g_str_equal (response, "save"))
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
      if (!dlen_fusion_page_save_preset (self, name, &error))
        show_error (self, "Cannot Save the Preset", error);
      else
        {
          g_autofree char *msg = g_strdup_printf ("Saved preset “%s” in the project", name);
          toast (self, msg);
        }
    }
  g_object_unref (self);
}

static void
action_save_preset (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *dialog, *box, *entry, *hint;
  g_autofree char *body = NULL, *suggested = NULL;
  DlenReplaySet *set = current_set (self);
  if (!set || !self->project)
    return;
  body = g_strdup_printf ("The weights, top %u and the “%s” rule are stored in the project, listed under Presets.",
                          current_k (self), dlen_objectionable_rule_to_string (selected_rule (self)));
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, "Save Preset", body);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  entry = gtk_entry_new ();
  suggested = set->has_emotion ? g_strdup_printf ("emotion %.2f, top %u", self->w[set->n_targets], current_k (self))
                               : g_strdup_printf ("model %" G_GINT64_FORMAT ", top %u", self->model_id, current_k (self));
  gtk_editable_set_text (GTK_EDITABLE (entry), suggested);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "Preset name");
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, "Preset name", -1);
  hint = gtk_label_new ("A preset of this name exists and will be replaced.");
  gtk_widget_add_css_class (hint, "warning");
  gtk_widget_add_css_class (hint, "caption");
  gtk_label_set_wrap (GTK_LABEL (hint), TRUE);
  gtk_box_append (GTK_BOX (box), entry);
  gtk_box_append (GTK_BOX (box), hint);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", "_Cancel", "save", "_Save", NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "save", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "save");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "page", self);
  g_object_set_data (G_OBJECT (dialog), "entry", entry);
  g_object_set_data (G_OBJECT (dialog), "hint", hint);
  g_signal_connect (entry, "changed", G_CALLBACK (on_save_entry_changed), dialog);
  on_save_entry_changed (GTK_EDITABLE (entry), ADW_MESSAGE_DIALOG (dialog));
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_response), g_object_ref (self));
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

/* ---- Exports --------------------------------------------------------------------------------------- */

typedef enum { EXPORT_CSV, EXPORT_FRONTIER, EXPORT_CATEGORIES } ExportKind;

static void
on_export_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  DlenFusionPage *self = user_data;
  ExportKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "kind"));
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr (GError) error = NULL;
      gboolean ok = FALSE;
      if (path && kind != EXPORT_CSV)
        {
          g_autofree char *lower = g_ascii_strdown (path, -1);
          if (!g_str_has_suffix (lower, ".png") && !g_str_has_suffix (lower, ".svg"))
            {
              GtkFileFilter *filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (dialog));
              const char *ext = filter && g_strcmp0 (gtk_file_filter_get_name (filter), "SVG images") == 0 ? ".svg" : ".png";
              char *with = g_strconcat (path, ext, NULL);
              g_free (path);
              path = with;
            }
        }
      if (path)
        {
          switch (kind)
            {
            case EXPORT_CSV: ok = dlen_fusion_page_write_csv (self, path, &error); break;
            case EXPORT_FRONTIER: ok = dlen_fusion_page_export_frontier (self, path, &error); break;
            case EXPORT_CATEGORIES:
            default: ok = dlen_fusion_page_export_categories (self, path, &error); break;
            }
          if (!ok)
            show_error (self, "Cannot Export", error);
          else
            {
              g_autofree char *base = g_path_get_basename (path);
              g_autofree char *msg = g_strdup_printf ("Exported %s", base);
              toast (self, msg);
            }
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
choose_export (DlenFusionPage *self, ExportKind kind)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  static const char *const titles[] = { "Export the Replay Numbers as CSV", "Export the Frontier Chart",
                                        "Export the Category Chart" };
  static const char *const names[] = { "numbers.csv", "frontier.png", "categories.png" };
  GtkFileChooserNative *dialog;
  g_autofree char *suggested = NULL;
  if (!self->have_numbers)
    return;
  dialog = gtk_file_chooser_native_new (titles[kind], GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  if (kind == EXPORT_CSV)
    {
      g_autoptr (GtkFileFilter) f = gtk_file_filter_new ();
      gtk_file_filter_set_name (f, "CSV files");
      gtk_file_filter_add_pattern (f, "*.csv");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), f);
    }
  else
    {
      g_autoptr (GtkFileFilter) png = gtk_file_filter_new (), svg = gtk_file_filter_new ();
      gtk_file_filter_set_name (png, "PNG images");
      gtk_file_filter_add_pattern (png, "*.png");
      gtk_file_filter_set_name (svg, "SVG images");
      gtk_file_filter_add_pattern (svg, "*.svg");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), png);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), svg);
    }
  suggested = g_strdup_printf ("model%" G_GINT64_FORMAT "-top%u-%s", self->model_id, current_k (self), names[kind]);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  g_object_set_data (G_OBJECT (dialog), "kind", GINT_TO_POINTER (kind));
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
action_export (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (widget);
  if (g_str_equal (name, "fusion.export-csv"))
    choose_export (self, EXPORT_CSV);
  else if (g_str_equal (name, "fusion.export-frontier"))
    choose_export (self, EXPORT_FRONTIER);
  else
    choose_export (self, EXPORT_CATEGORIES);
}

static void
update_actions (DlenFusionPage *self)
{
  GtkWidget *w = GTK_WIDGET (self);
  gboolean ready = self->replay != NULL && self->have_numbers;
  gtk_widget_action_set_enabled (w, "fusion.export-csv", ready);
  gtk_widget_action_set_enabled (w, "fusion.export-frontier", ready);
  gtk_widget_action_set_enabled (w, "fusion.export-categories", ready);
  gtk_widget_action_set_enabled (w, "fusion.save-preset", self->replay != NULL);
  gtk_widget_action_set_enabled (w, "fusion.preset", self->replay != NULL);
  gtk_widget_action_set_enabled (w, "fusion.compute-predictions", self->project && self->model_id > 0 && !self->predict_job);
  gtk_widget_action_set_enabled (w, "fusion.cancel-predictions", self->predict_job != NULL);
}

/* ---- Public API -------------------------------------------------------------------------------------- */

DlenProject *
dlen_fusion_page_get_project (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), NULL);
  return self->project;
}

void
dlen_fusion_page_set_project (DlenFusionPage *self, DlenProject *project)
{
  g_return_if_fail (DLEN_IS_FUSION_PAGE (self));
  if (self->project == project)
    return;
  if (self->project)
    g_clear_signal_handler (&self->changed_id, self->project);
  cancel_load (self);
  drop_replay (self);
  clear_weight_rows (self);
  self->model_id = 0;
  g_set_object (&self->project, project);
  if (project)
    self->changed_id = g_signal_connect_swapped (project, "changed", G_CALLBACK (refresh_models), self);
  refresh_models (self);
  refresh_presets (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROJECT]);
}

const char *
dlen_fusion_page_get_state (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), NULL);
  return self->state;
}

const char *
dlen_fusion_page_get_error (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), NULL);
  return g_str_equal (self->state, "error") ? self->error_message : NULL;
}

gboolean
dlen_fusion_page_is_busy (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), FALSE);
  return self->loading || self->reload_timeout || self->numbers_running || self->numbers_pending || self->sweep_running
         || self->sweep_pending || self->sweep_timeout || self->predict_job;
}

void
dlen_fusion_page_wait (DlenFusionPage *self)
{
  g_return_if_fail (DLEN_IS_FUSION_PAGE (self));
  while (dlen_fusion_page_is_busy (self))
    g_main_context_iteration (NULL, TRUE);
}

gboolean
dlen_fusion_page_set_model (DlenFusionPage *self, gint64 model_id)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), FALSE);
  for (guint i = 0; self->project && i < self->model_ids->len; i++)
    if (g_array_index (self->model_ids, gint64, i) == model_id)
      {
        if (gtk_drop_down_get_selected (self->model_dropdown) == i)
          {
            if (model_id != self->model_id || (!self->replay && !self->loading))
              select_model (self, model_id);
          }
        else
          gtk_drop_down_set_selected (self->model_dropdown, i);
        return TRUE;
      }
  return FALSE;
}

gint64
dlen_fusion_page_get_model (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), 0);
  return self->model_id;
}

guint
dlen_fusion_page_get_n_signals (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), 0);
  return current_set (self) ? current_set (self)->n_signals : 0;
}

const char *
dlen_fusion_page_get_signal_name (DlenFusionPage *self, guint index)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), NULL);
  return index < dlen_fusion_page_get_n_signals (self) ? current_set (self)->names[index] : NULL;
}

gboolean
dlen_fusion_page_set_weight (DlenFusionPage *self, guint index, double value)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), FALSE);
  if (index >= dlen_fusion_page_get_n_signals (self) || !isfinite (value))
    return FALSE;
  /* The slider's own path: its adjustment's "value-changed". */
  gtk_adjustment_set_value (self->adj[index], value);
  return TRUE;
}

gboolean
dlen_fusion_page_set_weight_by_name (DlenFusionPage *self, const char *name, double value)
{
  guint n = dlen_fusion_page_get_n_signals (self);
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (current_set (self)->names[i], name) == 0)
      return dlen_fusion_page_set_weight (self, i, value);
  return FALSE;
}

double
dlen_fusion_page_get_weight (DlenFusionPage *self, guint index)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), NAN);
  return index < dlen_fusion_page_get_n_signals (self) ? self->w[index] : NAN;
}

char *
dlen_fusion_page_dup_weights_text (DlenFusionPage *self)
{
  DlenReplaySet *set;
  GString *s;
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), NULL);
  set = current_set (self);
  s = g_string_new (NULL);
  for (guint i = 0; set && i < set->n_signals; i++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      format_weight (buf, sizeof buf, self->w[i]);
      g_string_append_printf (s, "%s%s=%s", i ? "," : "", set->names[i], buf);
    }
  return g_string_free (s, FALSE);
}

gboolean
dlen_fusion_page_apply_preset (DlenFusionPage *self, const char *name)
{
  DlenReplaySet *set;
  float w[MAX_SIGNALS] = { 0 };
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), FALSE);
  set = current_set (self);
  if (!set || !name)
    return FALSE;
  if (dlen_replay_set_preset (set, name, w))
    {
      set_weights (self, w);
      return TRUE;
    }
  for (guint i = 0; self->presets && i < self->presets->len; i++)
    {
      DlenFusionPreset *p = g_ptr_array_index (self->presets, i);
      if (g_str_equal (p->name, name))
        {
          apply_saved_preset (self, p);
          return TRUE;
        }
    }
  return FALSE;
}

void
dlen_fusion_page_set_k (DlenFusionPage *self, guint k)
{
  g_return_if_fail (DLEN_IS_FUSION_PAGE (self));
  gtk_adjustment_set_value (self->k_adjustment, k);
}

guint
dlen_fusion_page_get_k (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), 0);
  return current_k (self);
}

void
dlen_fusion_page_set_rule (DlenFusionPage *self, DlenObjectionableRule rule)
{
  g_return_if_fail (DLEN_IS_FUSION_PAGE (self));
  g_return_if_fail (rule >= DLEN_OBJECTIONABLE_USER && rule <= DLEN_OBJECTIONABLE_BOTH);
  gtk_drop_down_set_selected (self->rule_dropdown, (guint) rule - 1);
}

DlenObjectionableRule
dlen_fusion_page_get_rule (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), DLEN_OBJECTIONABLE_BOTH);
  return selected_rule (self);
}

void
dlen_fusion_page_set_item_threshold (DlenFusionPage *self, double threshold)
{
  g_return_if_fail (DLEN_IS_FUSION_PAGE (self));
  gtk_adjustment_set_value (self->threshold_adjustment, threshold);
}

void
dlen_fusion_page_set_all_rows (DlenFusionPage *self, gboolean all_rows)
{
  g_return_if_fail (DLEN_IS_FUSION_PAGE (self));
  gtk_check_button_set_active (self->all_rows_check, all_rows);
}

double
dlen_fusion_page_get_objectionable (DlenFusionPage *self)
{
  return dlen_fusion_page_get_value (self, DLEN_FUSION_RANKED, "objectionable");
}

double
dlen_fusion_page_get_value (DlenFusionPage *self, DlenFusionOrder order, const char *metric)
{
  DlenReplaySet *set;
  const DlenReplayResult *r;
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), NAN);
  set = current_set (self);
  if (!set || !self->have_numbers || !metric)
    return NAN;
  r = order == DLEN_FUSION_BASELINE ? &self->baseline : order == DLEN_FUSION_LOGGED ? &self->logged : &self->ranked;
  if (g_str_equal (metric, "objectionable"))
    return r->objectionable;
  for (guint t = 0; t < set->n_targets; t++)
    if (g_str_equal (set->names[t], metric))
      return r->outcome[t];
  return NAN;
}

guint
dlen_fusion_page_get_n_frontier_points (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), 0);
  return self->sweep && self->replay ? SWEEP_STEPS : 0;
}

guint
dlen_fusion_page_get_n_category_bars (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), 0);
  return dlen_bar_chart_get_n_groups (self->category_chart);
}

double
dlen_fusion_page_get_last_latency_ms (DlenFusionPage *self)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), NAN);
  return self->last_latency_ms;
}

gboolean
dlen_fusion_page_save_preset (DlenFusionPage *self, const char *name, GError **error)
{
  g_autofree char *weights = NULL;
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), FALSE);
  if (!self->project || !self->replay)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "no model's predictions are loaded");
      return FALSE;
    }
  weights = dlen_fusion_page_dup_weights_text (self);
  if (dlen_presets_save (dlen_project_get_store (self->project), name, self->model_id, current_k (self),
                         dlen_objectionable_rule_to_string (selected_rule (self)), weights, error) < 0)
    return FALSE;
  refresh_presets (self);
  return TRUE;
}

char **
dlen_fusion_page_dup_saved_presets (DlenFusionPage *self)
{
  GStrvBuilder *b = g_strv_builder_new ();
  char **out;
  for (guint i = 0; self->presets && i < self->presets->len; i++)
    g_strv_builder_add (b, ((DlenFusionPreset *) g_ptr_array_index (self->presets, i))->name);
  out = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return out;
}

static void
csv_number (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_c (s, ',');
  if (isfinite (v))
    g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.10g", v));
}

gboolean
dlen_fusion_page_write_csv (DlenFusionPage *self, const char *path, GError **error)
{
  DlenReplaySet *set;
  g_autoptr (GString) out = NULL;
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), FALSE);
  set = current_set (self);
  if (!set || !self->have_numbers)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "no replay to export yet");
      return FALSE;
    }
  out = g_string_new ("metric,ranked,baseline,delta_vs_baseline,logged,delta_vs_logged\r\n");
  for (guint r = 0; r < self->n_rows; r++)
    {
      double a = row_value (set, &self->ranked, r), b = row_value (set, &self->baseline, r);
      double c = row_value (set, &self->logged, r);
      gboolean slots = r == self->n_rows - 1;
      /* Target names come from the user's log: quote them when needed. */
      const char *name = r == 0 ? "objectionable" : slots ? "slots" : set->names[r - 1];
      if (strpbrk (name, ",\"\r\n"))
        {
          g_autoptr (GString) q = g_string_new (name);
          g_string_replace (q, "\"", "\"\"", 0);
          g_string_append_printf (out, "\"%s\"", q->str);
        }
      else
        g_string_append (out, name);
      csv_number (out, a);
      csv_number (out, b);
      csv_number (out, slots ? NAN : a - b);
      csv_number (out, c);
      csv_number (out, slots ? NAN : a - c);
      g_string_append (out, "\r\n");
    }
  return dlen_output_write_all (path, out->str, out->len, error);
}

gboolean
dlen_fusion_page_export_frontier (DlenFusionPage *self, const char *path, GError **error)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), FALSE);
  return dlen_line_chart_export (self->frontier_chart, path, error);
}

gboolean
dlen_fusion_page_export_categories (DlenFusionPage *self, const char *path, GError **error)
{
  g_return_val_if_fail (DLEN_IS_FUSION_PAGE (self), FALSE);
  return dlen_bar_chart_export (self->category_chart, path, error);
}

/* ---- Life cycle -------------------------------------------------------------------------------------- */

static void
dlen_fusion_page_dispose (GObject *object)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (object);
  if (self->project)
    g_clear_signal_handler (&self->changed_id, self->project);
  cancel_load (self);
  if (self->predict_job)
    g_signal_handlers_disconnect_by_data (self->predict_job, self);
  g_clear_object (&self->predict_job);
  if (self->stack)
    clear_weight_rows (self);
  drop_replay (self);
  /* Workers hold references to the page, so dispose can run again after their results arrive:
   * hand the child back through AdwBin, which would otherwise unparent it a second time. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), DLEN_TYPE_FUSION_PAGE);
  g_clear_object (&self->project);
  g_clear_object (&self->frontier);
  g_clear_pointer (&self->presets, g_ptr_array_unref);
  G_OBJECT_CLASS (dlen_fusion_page_parent_class)->dispose (object);
}

static void
dlen_fusion_page_finalize (GObject *object)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (object);
  g_array_unref (self->model_ids);
  g_array_unref (self->engagement_targets);
  g_free (self->error_message);
  G_OBJECT_CLASS (dlen_fusion_page_parent_class)->finalize (object);
}

static void
dlen_fusion_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: g_value_set_object (value, self->project); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_fusion_page_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DlenFusionPage *self = DLEN_FUSION_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: dlen_fusion_page_set_project (self, g_value_get_object (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_fusion_page_class_init (DlenFusionPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = dlen_fusion_page_dispose;
  object_class->finalize = dlen_fusion_page_finalize;
  object_class->get_property = dlen_fusion_page_get_property;
  object_class->set_property = dlen_fusion_page_set_property;

  props[PROP_PROJECT] = g_param_spec_object ("project", NULL, NULL, DLEN_TYPE_PROJECT,
                                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  g_type_ensure (DLEN_TYPE_LINE_CHART);
  g_type_ensure (DLEN_TYPE_BAR_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/dlen/Workbench/ui/dlen-fusion-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, stack);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, k_adjustment);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, rule_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, threshold_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, threshold_adjustment);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, all_rows_check);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, content_stack);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, loading_label);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, predict_status);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, predict_button);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, predict_progress_box);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, predict_progress);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, error_status);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, content_box);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, formula_label);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, weights_grid);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, with_emotion_button);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, presets_list);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, presets_empty_label);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, numbers_title);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, numbers_grid);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, sweep_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, engagement_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, logged_check);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, frontier_chart);
  gtk_widget_class_bind_template_child (widget_class, DlenFusionPage, category_chart);
  gtk_widget_class_bind_template_callback (widget_class, on_preset_activated);

  gtk_widget_class_install_action (widget_class, "fusion.preset", "s", action_preset);
  gtk_widget_class_install_action (widget_class, "fusion.save-preset", NULL, action_save_preset);
  gtk_widget_class_install_action (widget_class, "fusion.export-csv", NULL, action_export);
  gtk_widget_class_install_action (widget_class, "fusion.export-frontier", NULL, action_export);
  gtk_widget_class_install_action (widget_class, "fusion.export-categories", NULL, action_export);
  gtk_widget_class_install_action (widget_class, "fusion.compute-predictions", NULL, action_compute_predictions);
  gtk_widget_class_install_action (widget_class, "fusion.cancel-predictions", NULL, action_cancel_predictions);
  gtk_widget_class_install_action (widget_class, "fusion.reload", NULL, action_reload);
}

static void
dlen_fusion_page_init (DlenFusionPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->model_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->engagement_targets = g_array_new (FALSE, FALSE, sizeof (guint));
  self->state = "no-project";
  self->frontier = dlen_series_model_new ();
  dlen_line_chart_set_model (self->frontier_chart, self->frontier);
  dlen_line_chart_set_title (self->frontier_chart, "Objectionable exposure vs engagement");
  dlen_line_chart_set_x_label (self->frontier_chart, "objectionable exposure@K (%)");
  dlen_line_chart_set_placeholder (self->frontier_chart, "Replaying…");
  dlen_bar_chart_set_title (self->category_chart, "Top-K slots per category");
  dlen_bar_chart_set_value_label (self->category_chart, "share of the top-K slots");
  dlen_bar_chart_set_percent (self->category_chart, TRUE);

  g_signal_connect_swapped (self->model_dropdown, "notify::selected", G_CALLBACK (on_model_selected), self);
  g_signal_connect_swapped (self->rule_dropdown, "notify::selected", G_CALLBACK (on_options_changed), self);
  g_signal_connect_swapped (self->all_rows_check, "notify::active", G_CALLBACK (on_options_changed), self);
  g_signal_connect_swapped (self->threshold_adjustment, "value-changed", G_CALLBACK (on_threshold_changed), self);
  g_signal_connect_swapped (self->k_adjustment, "value-changed", G_CALLBACK (on_k_changed), self);
  g_signal_connect_swapped (self->sweep_dropdown, "notify::selected", G_CALLBACK (on_sweep_selected), self);
  g_signal_connect_swapped (self->engagement_dropdown, "notify::selected", G_CALLBACK (on_engagement_selected), self);
  g_signal_connect_swapped (self->logged_check, "notify::active", G_CALLBACK (on_engagement_selected), self);
  gtk_stack_set_visible_child_name (self->stack, "empty");
  refresh_presets (self);
  update_actions (self);
}
