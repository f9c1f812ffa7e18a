/* dlen-train-page.c: the Train page: settings, a training job with live loss and validation
 * AUC charts, test metrics of the shown model, and model files. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "charts/dlen-line-chart.h"
#include "dlen-error.h"
#include "dlen-model-summary.h"
#include "dlen-train-page.h"
#include "dlen-window.h"

/* The architectures in the order of the combo row. */
static const DlenArch arch_order[] = { DLEN_ARCH_DLEN, DLEN_ARCH_PLE, DLEN_ARCH_MMOE, DLEN_ARCH_SHARED_BOTTOM };

/* ---- The training job (worker side) ---------------------------------------------------------- */

/* Event types pushed by the worker. */
#define BEGIN_EVENT "(sasab)"          /* "begin", target names, binary flags */
#define PROGRESS_EVENT "(uuddddbbad)"  /* epoch, epochs, x, loss, valid mean AUC, emotion AUC,
                                          epoch_done, best, per-target validation AUC */

typedef struct {
  /* Set before the run; read-only afterwards. */
  char *path;
  DlenTrainingOptions options;
  gboolean history;
  GCancellable *stop;          /* the page's Cancel; the window's close is forwarded to it */
  DlenProject *project;        /* main thread only: the project the run belongs to */

  /* Worker only. */
  DlenJob *job;
  gint64 last_event_us;
  gboolean trained;            /* the engine reported an epoch: later passes evaluate */

  /* Written by the worker, read on the main thread once the job has finished. */
  gint64 model_id;
  gboolean partial;            /* the stored model is the best epoch of a stopped run */
  gboolean nonfinite;
  guint best_epoch;
  char *stop_message;
} TrainJob;

static void
train_job_free (gpointer data)
{
  TrainJob *t = data;
  g_free (t->path);
  g_clear_object (&t->stop);
  g_clear_object (&t->project);
  g_free (t->stop_message);
  g_free (t);
}

static int
train_abort (void *user_data)
{
  TrainJob *t = user_data;
  return g_cancellable_is_cancelled (t->stop);
}

static void
train_progress (const DlenProgress *p, void *user_data)
{
  TrainJob *t = user_data;
  double within = p->epoch_done ? 1.0 : p->steps ? (double) p->step / (double) p->steps : 0;
  double x = (p->epoch - 1) + within;
  gint64 now = g_get_monotonic_time ();
  char msg[256];

  if (p->epoch_done)
    g_snprintf (msg, sizeof msg, "Epoch %u of %u done: loss %.4f, mean validation AUC %.4f", p->epoch, p->epochs,
                p->train_loss, p->valid_score);
  else
    g_snprintf (msg, sizeof msg, "Epoch %u of %u · step %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                                 " · loss %.4f · %.0f samples/s",
                p->epoch, p->epochs, (guint64) p->step, (guint64) p->steps, p->train_loss, p->samples_per_second);
  /* Loading took the first 5 %. */
  t->trained |= p->epoch_done && p->epoch == p->epochs;
  dlen_job_set_progress (t->job, 0.05 + 0.95 * x / MAX (p->epochs, 1), msg);

  /* Within-epoch points at most ten times a second; every epoch end. */
  if (p->epoch_done || now - t->last_event_us >= 100000)
    {
      GVariantBuilder aucs;
      t->last_event_us = now;
      g_variant_builder_init (&aucs, G_VARIANT_TYPE ("ad"));
      if (p->epoch_done)
        for (guint k = 0; k < DLEN_MAX_TARGETS; k++)
          g_variant_builder_add (&aucs, "d", p->valid_auc[k]);
      dlen_job_push_event (t->job, g_variant_new (PROGRESS_EVENT, p->epoch, p->epochs, x, p->train_loss, p->valid_score,
                                                  p->emotion_auc, (gboolean) !!p->epoch_done, (gboolean) !!p->best,
                                                  &aucs));
    }
}

static void
forward_cancel (GCancellable *cancellable, gpointer stop)
{
  g_cancellable_cancel (stop);
}

/* The preparation passes take the first 5 %; the test evaluation comes after the last epoch. */
static void
rows_progress (const char *phase, double fraction, gpointer user_data)
{
  TrainJob *t = user_data;
  char msg[128];
  if (!t->trained)
    dlen_job_set_progress (t->job, 0.05 * fraction, phase);
  else
    {
      g_snprintf (msg, sizeof msg, "%s: %.0f %%", phase, 100.0 * fraction);
      dlen_job_set_progress (t->job, 1.0, msg);
    }
}

static gboolean
train_worker (DlenJob *job, gpointer user_data, GCancellable *cancellable, GError **error)
{
  TrainJob *t = user_data;
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenRows) data = NULL;
  g_autoptr (DlenModel) model = NULL, partial = NULL;
  g_autoptr (GError) train_error = NULL;
  DlenTrainingResult result = { 0 };
  DlenTrainingOptions o = t->options;
  GVariantBuilder names, binary;
  const DlenSchema *schema;
  gulong forward = 0;
  gboolean ok = FALSE;

  t->job = job;
  if (cancellable)
    forward = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel), g_object_ref (t->stop), g_object_unref);

  dlen_job_set_progress (job, 0, "Reading the project's impressions");
  store = dlen_store_open (t->path, FALSE, error);
  if (!store)
    goto out;
  /* The rows stream from the project chunk by chunk; a cancel also stops a long read. */
  dlen_store_set_cancellable (store, t->stop);
  data = dlen_rows_new_for_store (store, t->history, NULL, error);
  if (!data)
    goto out;

  dlen_rows_set_progress (data, rows_progress, t);
  schema = &data->schema;
  g_variant_builder_init (&names, G_VARIANT_TYPE ("as"));
  g_variant_builder_init (&binary, G_VARIANT_TYPE ("ab"));
  for (guint k = 0; k < schema->n_targets; k++)
    {
      g_variant_builder_add (&names, "s", schema->targets[k].name);
      g_variant_builder_add (&binary, "b", (gboolean) (schema->targets[k].kind == DLEN_TARGET_BINARY));
    }
  dlen_job_push_event (job, g_variant_new (BEGIN_EVENT, "begin", &names, &binary));

  o.params.progress = train_progress;
  o.params.abort = train_abort;
  o.params.user_data = t;
  o.params.progress_every = 5;
  model = dlen_training_run (data, &o, &result, &partial, &train_error);
  t->best_epoch = result.best_epoch;
  if (!model && !partial)
    {
      g_propagate_error (error, g_steal_pointer (&train_error));
      goto out;
    }
  if (!model)
    {
      /* Cancelled or diverged after at least one epoch: keep the best epoch, with test metrics
       * so that it can stand beside the others on the Models page. */
      g_autofree char *metrics = NULL, *name = NULL;
      const DlenModelConfig *c = dlen_model_config (partial);
      t->partial = TRUE;
      t->nonfinite = g_error_matches (train_error, DLEN_ERROR, DLEN_ERROR_NONFINITE);
      t->stop_message = g_strdup (train_error->message);
      dlen_job_set_progress (job, 1.0, "Evaluating the best epoch on the test split");
      dlen_store_set_cancellable (store, NULL);
      if (!dlen_training_evaluate (data, partial, result.split_day, t->options.eval_rows, &result, error))
        goto out;
      metrics = dlen_training_metrics_json (partial, &result);
      name = g_strdup_printf ("%s, seed %llu (%s, best epoch %u)", dlen_arch_to_string (c->arch),
                              (unsigned long long) c->seed, t->nonfinite ? "stopped on NaN" : "cancelled",
                              result.best_epoch);
      t->model_id = dlen_store_add_model (store, partial, name, metrics, result.history->str, error);
    }
  else
    {
      dlen_job_set_progress (job, 1.0, "Storing the model");
      dlen_store_set_cancellable (store, NULL);
      t->model_id = dlen_training_store (store, model, &result, error);
    }
  ok = t->model_id > 0;

out:
  dlen_training_result_clear (&result);
  if (forward)
    g_cancellable_disconnect (cancellable, forward);
  return ok;
}

/* ---- The model-file job (worker side) -------------------------------------------------------- */

typedef struct {
  char *project_path;
  char *file;
  DlenProject *project;        /* main thread only */
  gint64 model_id;
} LoadJob;

static void
load_job_free (gpointer data)
{
  LoadJob *l = data;
  g_free (l->project_path);
  g_free (l->file);
  g_clear_object (&l->project);
  g_free (l);
}

/* Validates a model file (the engine checks sizes, offsets, shapes and version), checks that it
 * fits the project's fields, evaluates it on the project's test split and stores it. */
static gboolean
load_worker (DlenJob *job, gpointer user_data, GCancellable *cancellable, GError **error)
{
  LoadJob *l = user_data;
  g_autoptr (DlenModel) model = NULL;
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenRows) data = NULL;
  g_autofree char *base = g_path_get_basename (l->file), *metrics = NULL, *name = NULL;
  DlenTrainingResult result = { 0 };
  const char *day;
  gint32 split_day = 0;
  int st;

  dlen_job_set_progress (job, 0, "Reading the model file");
  if ((st = dlen_model_load (l->file, &model)) != DLEN_STATUS_OK)
    {
      /* The engine's message names the file when it could read it; else add the name. */
      const char *msg = dlen_last_error ();
      return dlen_set_error_from_status (error, st, msg && strstr (msg, base) ? NULL : base);
    }
  store = dlen_store_open (l->project_path, FALSE, error);
  if (!store)
    return FALSE;
  dlen_store_set_cancellable (store, cancellable);
  dlen_job_set_progress (job, 0.2, "Reading the project's impressions");
  data = dlen_rows_new_for_store (store, dlen_schema_has_history (dlen_model_schema (model)), dlen_model_schema (model),
                                  error);
  if (!data)
    return FALSE;

  /* The split the model was trained with, when it fits this project; else the data's. */
  day = dlen_model_get_meta (model, "split_date");
  if (!day || !dlen_parse_day (day, &split_day))
    split_day = 0;
  dlen_job_set_progress (job, 0.5, "Evaluating the model on the test split");
  memset (&result, 0, sizeof result);
  result.true_emotion_auc = NAN;
  if (!dlen_training_evaluate (data, model, split_day, DLEN_TRAINING_EVAL_ROWS, &result, error))
    return FALSE;
  dlen_store_set_cancellable (store, NULL);
  metrics = dlen_training_metrics_json (model, &result);
  name = g_strdup_printf ("%s (from file)", base);
  dlen_job_set_progress (job, 0.95, "Storing the model");
  l->model_id = dlen_store_add_model (store, model, name, metrics, "[]", error);
  return l->model_id > 0;
}

/* ---- The page -------------------------------------------------------------------------------- */

struct _DlenTrainPage {
  AdwBin parent_instance;

  /* Template widgets */
  GtkStack *stack;
  AdwComboRow *arch_row;
  GtkSpinButton *emb_spin, *shared_spin, *task_spin, *levels_spin;
  GtkSpinButton *epochs_spin, *lr_spin, *batch_spin, *weak_spin, *seed_spin, *threads_spin;
  GtkSwitch *history_switch;
  AdwActionRow *shared_row, *task_row, *levels_row, *save_row;
  GtkLabel *status_title, *status_subtitle;
  GtkDropDown *model_dropdown;
  GtkBox *progress_box;
  GtkProgressBar *progress_bar;
  GtkLabel *progress_label, *eta_label;
  DlenLineChart *loss_chart, *auc_chart;
  AdwPreferencesGroup *metrics_group;
  GtkGrid *metrics_grid;

  /* Owned */
  DlenProject *project;
  gulong changed_id;
  GPtrArray *models;           /* DlenModelSummary*, id order */
  GtkStringList *model_names;  /* the dropdown's labels, same order */
  gint64 shown_id;             /* -1: none, or the live run */
  gboolean syncing_dropdown;
  DlenSeriesModel *loss_series, *auc_series;
  DlenJob *job;                /* the training run */
  TrainJob *train;             /* borrowed from job */
  DlenJob *load_job;
  /* Live run: series indices. */
  guint running_series, epoch_series, emotion_series;
  int auc_index[DLEN_MAX_TARGETS];   /* target -> series, -1 for durations */
  guint last_epoch;
  double last_x;
};

enum { PROP_0, PROP_PROJECT, N_PROPS };
static GParamSpec *props[N_PROPS];
enum { SIGNAL_TRAINING_FINISHED, SIGNAL_MODEL_FILE_LOADED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DlenTrainPage, dlen_train_page, ADW_TYPE_BIN)

static void refresh_models (DlenTrainPage *self);

/* A run is under way for the project shown (a run of a previous project may still be
 * finishing after a switch). */
static gboolean
live_run (DlenTrainPage *self)
{
  return self->train && self->train->project == self->project;
}

DlenProject *
dlen_train_page_get_project (DlenTrainPage *self)
{
  return self->project;
}

static DlenModelSummary *
find_model (DlenTrainPage *self, gint64 id)
{
  for (guint i = 0; self->models && i < self->models->len; i++)
    {
      DlenModelSummary *s = g_ptr_array_index (self->models, i);
      if (s->id == id)
        return s;
    }
  return NULL;
}

static void
update_actions (DlenTrainPage *self)
{
  gboolean running = self->job != NULL, loading = self->load_job != NULL;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.start", self->project && !running && !loading);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.cancel", running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.save-model", self->project && find_model (self, self->shown_id));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.load-model", self->project && !loading);
  if (self->stack)
    {
      gtk_widget_set_sensitive (GTK_WIDGET (self->model_dropdown), !live_run (self));
      adw_action_row_set_subtitle (self->save_row, find_model (self, self->shown_id)
                                                     ? find_model (self, self->shown_id)->name
                                                     : "Train or choose a model first");
    }
}

/* ---- Settings -------------------------------------------------------------------------------- */

static DlenArch
selected_arch (DlenTrainPage *self)
{
  guint i = adw_combo_row_get_selected (self->arch_row);
  return i < G_N_ELEMENTS (arch_order) ? arch_order[i] : DLEN_ARCH_DLEN;
}

static void
on_arch_changed (DlenTrainPage *self)
{
  DlenArch arch = selected_arch (self);
  DlenModelConfig c = dlen_model_config_default (arch);
  gboolean ple = arch == DLEN_ARCH_PLE || arch == DLEN_ARCH_DLEN;
  gtk_spin_button_set_value (self->shared_spin, c.shared_experts);
  gtk_widget_set_sensitive (GTK_WIDGET (self->shared_row), arch != DLEN_ARCH_SHARED_BOTTOM);
  gtk_widget_set_sensitive (GTK_WIDGET (self->task_row), ple);
  gtk_widget_set_sensitive (GTK_WIDGET (self->levels_row), ple);
}

void
dlen_train_page_get_options (DlenTrainPage *self, DlenTrainingOptions *o)
{
  DlenArch arch = selected_arch (self);
  guint64 seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
  dlen_training_options_init (o, arch);
  o->config.emb_dim = (uint32_t) gtk_spin_button_get_value_as_int (self->emb_spin);
  if (arch != DLEN_ARCH_SHARED_BOTTOM)
    o->config.shared_experts = (uint32_t) gtk_spin_button_get_value_as_int (self->shared_spin);
  if (arch == DLEN_ARCH_PLE || arch == DLEN_ARCH_DLEN)
    {
      o->config.task_experts = (uint32_t) gtk_spin_button_get_value_as_int (self->task_spin);
      o->config.levels = (uint32_t) gtk_spin_button_get_value_as_int (self->levels_spin);
    }
  o->config.seed = seed;
  o->params.epochs = (uint32_t) gtk_spin_button_get_value_as_int (self->epochs_spin);
  o->params.learning_rate = (float) gtk_spin_button_get_value (self->lr_spin);
  o->params.batch_size = (uint32_t) gtk_spin_button_get_value_as_int (self->batch_spin);
  o->params.weak_label_fraction = gtk_spin_button_get_value (self->weak_spin);
  o->params.seed = seed;
  o->params.threads = (uint32_t) gtk_spin_button_get_value_as_int (self->threads_spin);
}

void
dlen_train_page_set_arch (DlenTrainPage *self, DlenArch arch)
{
  for (guint i = 0; i < G_N_ELEMENTS (arch_order); i++)
    if (arch_order[i] == arch)
      adw_combo_row_set_selected (self->arch_row, i);
}

void dlen_train_page_set_epochs (DlenTrainPage *self, guint n) { gtk_spin_button_set_value (self->epochs_spin, n); }
void dlen_train_page_set_emb_dim (DlenTrainPage *self, guint d) { gtk_spin_button_set_value (self->emb_spin, d); }
void dlen_train_page_set_seed (DlenTrainPage *self, guint64 s) { gtk_spin_button_set_value (self->seed_spin, (double) s); }
void dlen_train_page_set_threads (DlenTrainPage *self, guint n) { gtk_spin_button_set_value (self->threads_spin, n); }
void dlen_train_page_set_learning_rate (DlenTrainPage *self, double r) { gtk_spin_button_set_value (self->lr_spin, r); }
void dlen_train_page_set_weak_label_fraction (DlenTrainPage *self, double f) { gtk_spin_button_set_value (self->weak_spin, f); }

DlenJob *dlen_train_page_get_job (DlenTrainPage *self) { return self->job; }
gint64 dlen_train_page_get_shown_model (DlenTrainPage *self) { return self->shown_id; }
DlenSeriesModel *dlen_train_page_get_loss_series (DlenTrainPage *self) { return self->loss_series; }
DlenSeriesModel *dlen_train_page_get_auc_series (DlenTrainPage *self) { return self->auc_series; }
gboolean dlen_train_page_is_running (DlenTrainPage *self) { return self->job != NULL; }

/* ---- Metrics table --------------------------------------------------------------------------- */

static void
grid_clear (GtkGrid *grid)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))))
    gtk_grid_remove (grid, child);
}

static GtkWidget *
cell (GtkGrid *grid, int col, int row, const char *text, gboolean numeric, const char *css)
{
  GtkWidget *l = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (l), numeric ? 1 : 0);
  if (numeric)
    gtk_widget_add_css_class (l, "numeric");
  if (css)
    gtk_widget_add_css_class (l, css);
  gtk_label_set_selectable (GTK_LABEL (l), row > 0);
  gtk_grid_attach (grid, l, col, row, 1, 1);
  return l;
}

static void
cell_number (GtkGrid *grid, int col, int row, double v, int decimals)
{
  char buf[32];
  if (isfinite (v))
    g_snprintf (buf, sizeof buf, "%.*f", decimals, v);
  else
    g_strlcpy (buf, "—", sizeof buf);
  cell (grid, col, row, buf, TRUE, NULL);
}

static void
show_metrics (DlenTrainPage *self, const DlenModelSummary *s)
{
  static const char *const heads[] = { "Target", "AUC", "GAUC", "Log loss", "Mean predicted", "Observed", "Rows" };
  GtkGrid *g = self->metrics_grid;
  int row = 1;
  grid_clear (g);
  if (!s || s->targets->len == 0)
    {
      adw_preferences_group_set_description (self->metrics_group, NULL);
      cell (g, 0, 0, s ? "This model has no test metrics" : "Test metrics appear here once a model is trained", FALSE,
            "dim-label");
      return;
    }
  {
    g_autofree char *day = dlen_format_day (s->split_date);
    g_autofree char *best = s->best_epoch ? g_strdup_printf ("best epoch %u", s->best_epoch)
                                          : g_strdup ("loaded from a file");
    g_autofree char *desc = g_strdup_printf ("Model %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT
                                             " test rows from %s on · %s",
                                             s->id, s->test_rows, day, best);
    adw_preferences_group_set_description (self->metrics_group, desc);
  }
  for (guint c = 0; c < G_N_ELEMENTS (heads); c++)
    {
      GtkWidget *l = cell (g, c, 0, heads[c], c > 0, "heading");
      if (c == 0)
        gtk_widget_set_hexpand (l, TRUE);
    }
  for (guint i = 0; i < s->targets->len; i++, row++)
    {
      const DlenTargetSummary *t = &g_array_index (s->targets, DlenTargetSummary, i);
      char n[32];
      cell (g, 0, row, t->name, FALSE, NULL);
      if (t->binary)
        {
          cell_number (g, 1, row, t->auc, 4);
          cell_number (g, 2, row, t->gauc, 4);
          cell_number (g, 3, row, t->logloss, 4);
          cell_number (g, 4, row, t->mean_predicted, 4);
          cell_number (g, 5, row, t->mean_observed, 4);
        }
      else
        {
          g_autofree char *rmse = isfinite (t->rmse_log1p) ? g_strdup_printf ("RMSE %.4f (log1p seconds)", t->rmse_log1p)
                                                           : g_strdup ("—");
          GtkWidget *l = gtk_label_new (rmse);
          gtk_label_set_xalign (GTK_LABEL (l), 1);
          gtk_widget_add_css_class (l, "numeric");
          gtk_grid_attach (g, l, 1, row, 5, 1);
        }
      g_snprintf (n, sizeof n, "%" G_GINT64_FORMAT, t->n);
      cell (g, 6, row, n, TRUE, "dim-label");
    }
  if (isfinite (s->emotion_auc))
    {
      cell (g, 0, row, "emotion p_e (against like vs negative)", FALSE, NULL);
      cell_number (g, 1, row++, s->emotion_auc, 4);
    }
  if (isfinite (s->true_emotion_auc))
    {
      cell (g, 0, row, "emotion p_e (against the true emotion)", FALSE, NULL);
      cell_number (g, 1, row++, s->true_emotion_auc, 4);
    }
}

/* ---- Charts ---------------------------------------------------------------------------------- */

/* @from_zero: the run's within-epoch points start at 0; a stored history starts at epoch 1. */
static void
reset_charts (DlenTrainPage *self, guint epochs, gboolean from_zero)
{
  dlen_series_model_clear (self->loss_series);
  dlen_series_model_clear (self->auc_series);
  for (guint k = 0; k < DLEN_MAX_TARGETS; k++)
    self->auc_index[k] = -1;
  self->emotion_series = G_MAXUINT;
  self->last_epoch = 0;
  self->last_x = 0;
  dlen_line_chart_set_x_range (self->loss_chart, from_zero || epochs < 2 ? 0 : 1, MAX (epochs, 1));
  dlen_line_chart_set_x_range (self->auc_chart, from_zero || epochs < 2 ? 0 : 1, MAX (epochs, 1));
}

static void
set_placeholders (DlenTrainPage *self)
{
  dlen_line_chart_set_placeholder (self->loss_chart, "Start training to follow the loss here");
  dlen_line_chart_set_placeholder (self->auc_chart, "Each target's validation AUC appears after every epoch");
}

/* A stored model's history: one point per completed epoch. */
static void
show_history (DlenTrainPage *self, const DlenModelSummary *s)
{
  guint n_epochs = s ? s->history->len : 0;
  guint epochs = 0;
  reset_charts (self, 0, FALSE);
  set_placeholders (self);
  if (!s)
    return;
  for (guint i = 0; i < n_epochs; i++)
    epochs = MAX (epochs, g_array_index (s->history, DlenEpochSummary, i).epoch);
  reset_charts (self, epochs, FALSE);
  if (n_epochs == 0)
    {
      dlen_line_chart_set_placeholder (self->loss_chart, "This model has no training history (loaded from a file)");
      dlen_line_chart_set_placeholder (self->auc_chart, "This model has no training history (loaded from a file)");
      return;
    }
  set_placeholders (self);
  self->epoch_series = dlen_series_model_add_series (self->loss_series, "Epoch mean", DLEN_SERIES_LINE | DLEN_SERIES_MARKERS, 0);
  for (guint k = 0, c = 0; k < s->targets->len && k < DLEN_MAX_TARGETS; k++)
    {
      const DlenTargetSummary *t = &g_array_index (s->targets, DlenTargetSummary, k);
      if (t->binary)
        self->auc_index[k] = (int) dlen_series_model_add_series (self->auc_series, t->name,
                                                                 DLEN_SERIES_LINE | DLEN_SERIES_MARKERS, (int) c++);
    }
  if (g_str_equal (s->arch, "dlen"))
    self->emotion_series = dlen_series_model_add_series (self->auc_series, "emotion",
                                                         DLEN_SERIES_LINE | DLEN_SERIES_MARKERS | DLEN_SERIES_DASHED,
                                                         (int) dlen_series_model_get_n_series (self->auc_series));
  for (guint i = 0; i < n_epochs; i++)
    {
      const DlenEpochSummary *e = &g_array_index (s->history, DlenEpochSummary, i);
      dlen_series_model_append (self->loss_series, self->epoch_series, e->epoch, e->train_loss);
      for (guint k = 0; k < DLEN_MAX_TARGETS; k++)
        if (self->auc_index[k] >= 0)
          dlen_series_model_append (self->auc_series, (guint) self->auc_index[k], e->epoch, e->valid_auc[k]);
      if (self->emotion_series != G_MAXUINT)
        dlen_series_model_append (self->auc_series, self->emotion_series, e->epoch, e->valid_emotion_auc);
    }
}

static void
set_status (DlenTrainPage *self, const char *title, const char *subtitle)
{
  gtk_label_set_text (self->status_title, title);
  gtk_label_set_text (self->status_subtitle, subtitle ? subtitle : "");
  gtk_widget_set_visible (GTK_WIDGET (self->status_subtitle), subtitle && *subtitle);
}

static void
describe_model (DlenTrainPage *self, const DlenModelSummary *s)
{
  g_autofree char *title = NULL, *when = NULL, *sub = NULL, *day = NULL;
  if (!s)
    {
      set_status (self, "No Model Yet",
                  "Choose an architecture and settings, then start training. The loss and each target's validation "
                  "AUC are drawn live; the model is stored in the project.");
      return;
    }
  title = g_strdup_printf ("Model %" G_GINT64_FORMAT ": %s", s->id, s->name);
  when = dlen_format_time_ms (s->created_ms);
  day = dlen_format_day (s->split_date);
  if (s->history->len)
    sub = g_strdup_printf ("%s · stored %s · %u epochs, best %u · test split from %s", s->arch, when,
                           s->history->len, s->best_epoch, day);
  else
    sub = g_strdup_printf ("%s · stored %s · test split from %s", s->arch, when, day);
  set_status (self, title, sub);
}

/* Shows a stored model: its status line, history charts and test metrics. */
void
dlen_train_page_show_model (DlenTrainPage *self, gint64 id)
{
  DlenModelSummary *s = find_model (self, id);
  g_return_if_fail (DLEN_IS_TRAIN_PAGE (self));
  if (live_run (self))
    return;
  self->shown_id = s ? id : -1;
  describe_model (self, s);
  show_history (self, s);
  show_metrics (self, s);
  self->syncing_dropdown = TRUE;
  for (guint i = 0; s && i < self->models->len; i++)
    if (g_ptr_array_index (self->models, i) == s)
      gtk_drop_down_set_selected (self->model_dropdown, i);
  self->syncing_dropdown = FALSE;
  update_actions (self);
}

static void
on_dropdown_selected (DlenTrainPage *self)
{
  guint i = gtk_drop_down_get_selected (self->model_dropdown);
  DlenModelSummary *s;
  if (self->syncing_dropdown || live_run (self) || !self->models || i >= self->models->len)
    return;
  s = g_ptr_array_index (self->models, i);
  if (s->id != self->shown_id)
    dlen_train_page_show_model (self, s->id);
}

static gboolean
project_has_data (DlenProject *project)
{
  sqlite3_stmt *st = NULL;
  gboolean any = FALSE;
  if (sqlite3_prepare_v2 (dlen_store_db (dlen_project_get_store (project)), "SELECT EXISTS (SELECT 1 FROM impressions)",
                          -1, &st, NULL) == SQLITE_OK && sqlite3_step (st) == SQLITE_ROW)
    any = sqlite3_column_int (st, 0) != 0;
  sqlite3_finalize (st);
  return any;
}

/* Reloads the project's models; keeps the shown one (or shows the latest). */
static void
refresh_models (DlenTrainPage *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) models = NULL;
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  DlenModelSummary *shown;
  guint selected = GTK_INVALID_LIST_POSITION;
  gboolean has_data;
  if (!self->project || !self->stack)
    return;
  /* Models (e.g. loaded from files) can be shown without data, but training needs some. */
  has_data = project_has_data (self->project);
  gtk_stack_set_visible_child_name (self->stack, has_data || live_run (self) ? "main" : "nodata");
  models = dlen_model_summaries_load (dlen_project_get_store (self->project), &error);
  if (!models)
    {
      g_warning ("%s", error->message);
      models = g_ptr_array_new_with_free_func ((GDestroyNotify) dlen_model_summary_free);
    }
  g_clear_pointer (&self->models, g_ptr_array_unref);
  self->models = g_steal_pointer (&models);
  for (guint i = 0; i < self->models->len; i++)
    {
      DlenModelSummary *s = g_ptr_array_index (self->models, i);
      g_ptr_array_add (labels, g_strdup_printf ("%" G_GINT64_FORMAT ": %s", s->id, s->name));
      if (s->id == self->shown_id)
        selected = i;
    }
  g_ptr_array_add (labels, NULL);
  self->syncing_dropdown = TRUE;
  gtk_string_list_splice (self->model_names, 0, g_list_model_get_n_items (G_LIST_MODEL (self->model_names)),
                          (const char *const *) labels->pdata);
  gtk_drop_down_set_selected (self->model_dropdown, selected);
  self->syncing_dropdown = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->model_dropdown), self->models->len > 0);
  gtk_widget_set_visible (gtk_widget_get_prev_sibling (GTK_WIDGET (self->model_dropdown)), self->models->len > 0);
  if (live_run (self))
    return;
  shown = find_model (self, self->shown_id);
  if (shown)
    {
      /* Same model: keep the charts (a finished run's within-epoch points stay). */
      describe_model (self, shown);
      show_metrics (self, shown);
      update_actions (self);
    }
  else
    dlen_train_page_show_model (self, self->models->len
                                        ? ((DlenModelSummary *) g_ptr_array_index (self->models, self->models->len - 1))->id
                                        : -1);
}

/* ---- Running --------------------------------------------------------------------------------- */

static void
on_job_event (DlenJob *job, GVariant *ev, DlenTrainPage *self)
{
  if (!live_run (self))
    return;
  if (g_variant_is_of_type (ev, G_VARIANT_TYPE (BEGIN_EVENT)))
    {
      g_autofree const char **names = NULL;
      g_autoptr (GVariant) binary = NULL;
      const char *kind;
      gsize n_binary;
      guint epochs = self->train->options.params.epochs, c = 0;
      g_variant_get (ev, "(&s^a&s@ab)", &kind, &names, &binary);
      n_binary = g_variant_n_children (binary);
      reset_charts (self, epochs, TRUE);
      set_placeholders (self);
      self->running_series = dlen_series_model_add_series (self->loss_series, "Running mean (within epoch)",
                                                           DLEN_SERIES_LINE | DLEN_SERIES_THIN, 0);
      self->epoch_series = dlen_series_model_add_series (self->loss_series, "Epoch mean",
                                                         DLEN_SERIES_LINE | DLEN_SERIES_MARKERS, 1);
      for (guint k = 0; names[k] && k < DLEN_MAX_TARGETS && k < n_binary; k++)
        {
          gboolean flag;
          g_variant_get_child (binary, k, "b", &flag);
          if (flag)
          self->auc_index[k] = (int) dlen_series_model_add_series (self->auc_series, names[k],
                                                                   DLEN_SERIES_LINE | DLEN_SERIES_MARKERS, (int) c++);
        }
      if (self->train->options.config.arch == DLEN_ARCH_DLEN)
        self->emotion_series = dlen_series_model_add_series (self->auc_series, "emotion",
                                                             DLEN_SERIES_LINE | DLEN_SERIES_MARKERS | DLEN_SERIES_DASHED,
                                                             (int) c);
    }
  else if (g_variant_is_of_type (ev, G_VARIANT_TYPE (PROGRESS_EVENT)))
    {
      guint epoch, epochs;
      double x, loss, mean_auc, emotion;
      gboolean done, best;
      g_autoptr (GVariant) aucs = NULL;
      gsize n_aucs;
      const double *auc;
      g_variant_get (ev, "(uudddd" "bb@ad)", &epoch, &epochs, &x, &loss, &mean_auc, &emotion, &done, &best, &aucs);
      auc = g_variant_get_fixed_array (aucs, &n_aucs, sizeof (double));
      if (self->last_epoch && epoch != self->last_epoch && !done)
        {
          /* A new epoch restarts the running mean: break the line. */
          dlen_series_model_append (self->loss_series, self->running_series, self->last_x, NAN);
        }
      self->last_epoch = epoch;
      self->last_x = x;
      dlen_series_model_append (self->loss_series, self->running_series, x, loss);
      if (done)
        {
          dlen_series_model_append (self->loss_series, self->epoch_series, epoch, loss);
          for (guint k = 0; k < n_aucs && k < DLEN_MAX_TARGETS; k++)
            if (self->auc_index[k] >= 0)
              dlen_series_model_append (self->auc_series, (guint) self->auc_index[k], epoch, auc[k]);
          if (self->emotion_series != G_MAXUINT)
            dlen_series_model_append (self->auc_series, self->emotion_series, epoch, emotion);
          if (best)
            {
              g_autofree char *sub = g_strdup_printf ("Best so far: epoch %u, mean validation AUC %.4f", epoch, mean_auc);
              gtk_label_set_text (self->status_subtitle, sub);
              gtk_widget_set_visible (GTK_WIDGET (self->status_subtitle), TRUE);
            }
        }
    }
}

static void
format_duration (char *buf, gsize size, double s)
{
  if (s < 0)
    g_strlcpy (buf, "estimating time left…", size);
  else if (s < 60)
    g_snprintf (buf, size, "about %.0f s left", MAX (1, ceil (s)));
  else if (s < 3600)
    g_snprintf (buf, size, "about %.0f min %02.0f s left", floor (s / 60), fmod (floor (s), 60));
  else
    g_snprintf (buf, size, "about %.0f h %02.0f min left", floor (s / 3600), fmod (floor (s / 60), 60));
}

static void
on_job_progress (DlenJob *job, GParamSpec *pspec, DlenTrainPage *self)
{
  char eta[64];
  if (!live_run (self))
    return;
  gtk_progress_bar_set_fraction (self->progress_bar, dlen_job_get_fraction (job));
  gtk_label_set_text (self->progress_label, dlen_job_get_message (job) ? dlen_job_get_message (job) : "");
  format_duration (eta, sizeof eta, dlen_job_get_eta_seconds (job));
  gtk_label_set_text (self->eta_label, eta);
}

static gboolean
is_cancel_error (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || g_error_matches (error, DLEN_ERROR, DLEN_ERROR_CANCELLED);
}

static void
train_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  DlenTrainPage *self = user_data;
  /* The job owns @t: keep it alive to the end of this function. */
  g_autoptr (DlenJob) job = g_object_ref (DLEN_JOB (source));
  TrainJob *t = self->train;
  DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenProject) project = g_object_ref (t->project);
  /* The worker's own record decides: a job whose cancellable fired (the window closing) may
   * report "cancelled" although the best epoch was stored. */
  gboolean ok = dlen_job_run_finish (job, res, &error) || t->model_id > 0;
  gboolean same_project = project == self->project && self->stack;
  gboolean cancelled = g_cancellable_is_cancelled (t->stop);
  gint64 model_id = ok ? t->model_id : -1;
  guint outcome;
  g_autofree char *message = NULL;

  g_signal_handlers_disconnect_by_data (job, self);
  self->train = NULL;
  g_clear_object (&self->job);

  if (ok && !t->partial)
    {
      outcome = DLEN_TRAIN_OUTCOME_DONE;
      message = g_strdup_printf ("Training finished: stored as model %" G_GINT64_FORMAT, model_id);
    }
  else if (ok && t->nonfinite)
    {
      outcome = DLEN_TRAIN_OUTCOME_FAILED;
      message = g_strdup_printf ("The loss became NaN or infinite (%s). The best epoch so far (%u) was stored as model %"
                                 G_GINT64_FORMAT "; try a lower learning rate.", t->stop_message, t->best_epoch, model_id);
    }
  else if (ok)
    {
      outcome = DLEN_TRAIN_OUTCOME_CANCELLED;
      message = g_strdup_printf ("Training cancelled: the best epoch (%u) was stored as model %" G_GINT64_FORMAT,
                                 t->best_epoch, model_id);
    }
  else if (cancelled || is_cancel_error (error))
    {
      outcome = DLEN_TRAIN_OUTCOME_CANCELLED;
      message = g_strdup ("Training cancelled before the first epoch ended: nothing was stored");
    }
  else
    outcome = DLEN_TRAIN_OUTCOME_FAILED;

  if (same_project)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->progress_box), FALSE);
      if (model_id > 0)
        self->shown_id = model_id;
      else
        set_status (self, outcome == DLEN_TRAIN_OUTCOME_CANCELLED ? "Training Cancelled" : "Training Failed",
                    outcome == DLEN_TRAIN_OUTCOME_CANCELLED
                      ? "No epoch had finished, so no model was stored. The charts show how far it got."
                      : error ? error->message : NULL);
      update_actions (self);
    }
  if (model_id > 0)
    dlen_project_changed (project);
  if (window)
    {
      if (outcome == DLEN_TRAIN_OUTCOME_FAILED && model_id > 0)
        {
          g_autoptr (GError) e = g_error_new_literal (DLEN_ERROR, DLEN_ERROR_NONFINITE, message);
          dlen_window_show_error (window, "Training Stopped", e);
        }
      else if (outcome == DLEN_TRAIN_OUTCOME_FAILED)
        dlen_window_show_error (window, "Training Failed", error);
      else
        dlen_window_toast (window, message);
    }
  g_signal_emit (self, signals[SIGNAL_TRAINING_FINISHED], 0, outcome, model_id);
  g_object_unref (self);
}

gboolean
dlen_train_page_start (DlenTrainPage *self)
{
  DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
  TrainJob *t;
  g_autofree char *title = NULL;
  g_return_val_if_fail (DLEN_IS_TRAIN_PAGE (self), FALSE);
  if (!self->project || self->job || self->load_job || !window)
    return FALSE;
  t = g_new0 (TrainJob, 1);
  t->path = g_strdup (dlen_project_get_path (self->project));
  dlen_train_page_get_options (self, &t->options);
  t->history = gtk_switch_get_active (self->history_switch);
  t->stop = g_cancellable_new ();
  t->project = g_object_ref (self->project);
  t->model_id = -1;
  title = g_strdup_printf ("Training %s", dlen_arch_to_string (t->options.config.arch));
  self->job = dlen_job_new (title, train_worker, t, train_job_free);
  self->train = t;
  g_signal_connect (self->job, "event", G_CALLBACK (on_job_event), self);
  g_signal_connect (self->job, "notify::fraction", G_CALLBACK (on_job_progress), self);
  g_signal_connect (self->job, "notify::message", G_CALLBACK (on_job_progress), self);

  self->shown_id = -1;
  self->syncing_dropdown = TRUE;
  gtk_drop_down_set_selected (self->model_dropdown, GTK_INVALID_LIST_POSITION);
  self->syncing_dropdown = FALSE;
  reset_charts (self, t->options.params.epochs, TRUE);
  show_metrics (self, NULL);
  {
    g_autofree char *status = g_strdup_printf ("Training %s for %u epoch%s", adw_combo_row_get_selected_item (self->arch_row)
                                                 ? gtk_string_object_get_string (adw_combo_row_get_selected_item (self->arch_row))
                                                 : "", t->options.params.epochs, t->options.params.epochs == 1 ? "" : "s");
    set_status (self, status, "Loading the project's impressions…");
  }
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_text (self->progress_label, "Loading the project's impressions");
  gtk_label_set_text (self->eta_label, "");
  gtk_widget_set_visible (GTK_WIDGET (self->progress_box), TRUE);
  update_actions (self);
  dlen_window_run_job (window, self->job, train_done, g_object_ref (self));
  return TRUE;
}

void
dlen_train_page_cancel (DlenTrainPage *self)
{
  g_return_if_fail (DLEN_IS_TRAIN_PAGE (self));
  if (!self->train)
    return;
  g_cancellable_cancel (self->train->stop);
  gtk_label_set_text (self->progress_label, "Cancelling: finishing the current mini-batch, then keeping the best epoch…");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.cancel", FALSE);
}

/* ---- Model files ----------------------------------------------------------------------------- */

gboolean
dlen_train_page_save_model_file (DlenTrainPage *self, const char *path, GError **error)
{
  g_autoptr (DlenModel) model = NULL;
  int st;
  if (!self->project || !find_model (self, self->shown_id))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "no model is shown: train or choose one first");
      return FALSE;
    }
  model = dlen_store_load_model (dlen_project_get_store (self->project), self->shown_id, error);
  if (!model)
    return FALSE;
  if ((st = dlen_model_save (model, path)) != DLEN_STATUS_OK)
    return dlen_set_error_from_status (error, st, path);
  return TRUE;
}

static void
on_save_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  DlenTrainPage *self = user_data;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr (GError) error = NULL;
      DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
      if (path && !dlen_train_page_save_model_file (self, path, &error))
        {
          if (window)
            dlen_window_show_error (window, "Cannot Save the Model File", error);
        }
      else if (path && window)
        {
          g_autofree char *base = g_path_get_basename (path);
          g_autofree char *msg = g_strdup_printf ("Saved model %" G_GINT64_FORMAT " as %s", self->shown_id, base);
          dlen_window_toast (window, msg);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static GtkFileFilter *
model_filter (void)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "Model files (*.safetensors)");
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  return filter;
}

static void
action_save_model (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenTrainPage *self = DLEN_TRAIN_PAGE (widget);
  DlenModelSummary *s = find_model (self, self->shown_id);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *dialog;
  g_autoptr (GtkFileFilter) filter = model_filter ();
  g_autofree char *suggested = NULL;
  if (!s)
    return;
  dialog = gtk_file_chooser_native_new ("Save Model File", GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  suggested = g_strdup_printf ("model-%" G_GINT64_FORMAT "-%s.safetensors", s->id, s->arch);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
load_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  DlenTrainPage *self = user_data;
  DlenJob *job = DLEN_JOB (source);
  LoadJob *l = g_object_get_data (G_OBJECT (job), "load-job");
  DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
  g_autoptr (GError) error = NULL;
  gint64 id = -1;
  if (dlen_job_run_finish (job, res, &error))
    {
      g_autofree char *base = g_path_get_basename (l->file);
      g_autofree char *msg = NULL;
      id = l->model_id;
      msg = g_strdup_printf ("Loaded %s: stored as model %" G_GINT64_FORMAT, base, id);
      dlen_project_changed (l->project);
      if (l->project == self->project && self->stack)
        dlen_train_page_show_model (self, id);
      if (window)
        dlen_window_toast (window, msg);
    }
  else if (window)
    dlen_window_show_error (window, "Cannot Load the Model File", error);
  g_clear_object (&self->load_job);
  if (self->stack)
    update_actions (self);
  g_signal_emit (self, signals[SIGNAL_MODEL_FILE_LOADED], 0, id);
  g_object_unref (self);
}

void
dlen_train_page_load_model_file (DlenTrainPage *self, const char *path)
{
  DlenWindow *window = dlen_window_of (GTK_WIDGET (self));
  LoadJob *l;
  g_return_if_fail (DLEN_IS_TRAIN_PAGE (self));
  if (!self->project || self->load_job || !window)
    return;
  l = g_new0 (LoadJob, 1);
  l->project_path = g_strdup (dlen_project_get_path (self->project));
  l->file = g_strdup (path);
  l->project = g_object_ref (self->project);
  l->model_id = -1;
  self->load_job = dlen_job_new ("Loading a model file", load_worker, l, load_job_free);
  g_object_set_data (G_OBJECT (self->load_job), "load-job", l);
  update_actions (self);
  dlen_window_run_job (window, self->load_job, load_done, g_object_ref (self));
}

static void
on_load_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  DlenTrainPage *self = user_data;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      if (path)
        dlen_train_page_load_model_file (self, path);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
action_load_model (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenTrainPage *self = DLEN_TRAIN_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *dialog;
  g_autoptr (GtkFileFilter) filter = model_filter ();
  g_autoptr (GtkFileFilter) all = gtk_file_filter_new ();
  gtk_file_filter_set_name (all, "All files");
  gtk_file_filter_add_pattern (all, "*");
  dialog = gtk_file_chooser_native_new ("Load Model File", GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_OPEN, "_Load", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), all);
  g_signal_connect (dialog, "response", G_CALLBACK (on_load_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- Chart export ---------------------------------------------------------------------------- */

static void
on_export_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  DlenLineChart *chart = user_data;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr (GError) error = NULL;
      DlenWindow *window = dlen_window_of (GTK_WIDGET (chart));
      if (path && !dlen_line_chart_export (chart, path, &error) && window)
        dlen_window_show_error (window, "Cannot Export the Chart", error);
      else if (path && window)
        {
          g_autofree char *base = g_path_get_basename (path);
          g_autofree char *msg = g_strdup_printf ("Exported the chart as %s", base);
          dlen_window_toast (window, msg);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (chart);
}

static void
action_export_chart (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenTrainPage *self = DLEN_TRAIN_PAGE (widget);
  const char *what = g_variant_get_string (param, NULL);
  gboolean loss = g_str_has_prefix (what, "loss");
  gboolean svg = g_str_has_suffix (what, ".svg");
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *dialog;
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *suggested = NULL;
  gtk_file_filter_set_name (filter, svg ? "SVG images" : "PNG images");
  gtk_file_filter_add_pattern (filter, svg ? "*.svg" : "*.png");
  dialog = gtk_file_chooser_native_new (loss ? "Export the Loss Chart" : "Export the AUC Chart",
                                        GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, GTK_FILE_CHOOSER_ACTION_SAVE,
                                        "_Export", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  if (self->shown_id > 0)
    suggested = g_strdup_printf ("model-%" G_GINT64_FORMAT "-%s.%s", self->shown_id, loss ? "loss" : "validation-auc",
                                 svg ? "svg" : "png");
  else
    suggested = g_strdup_printf ("%s.%s", loss ? "training-loss" : "validation-auc", svg ? "svg" : "png");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response),
                    g_object_ref (loss ? self->loss_chart : self->auc_chart));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- Actions and life cycle ------------------------------------------------------------------ */

static void
action_start (GtkWidget *widget, const char *name, GVariant *param)
{
  dlen_train_page_start (DLEN_TRAIN_PAGE (widget));
}

static void
action_cancel (GtkWidget *widget, const char *name, GVariant *param)
{
  dlen_train_page_cancel (DLEN_TRAIN_PAGE (widget));
}

void
dlen_train_page_set_project (DlenTrainPage *self, DlenProject *project)
{
  if (self->project == project)
    return;
  /* A run belongs to its project: stop it (its best epoch is stored there). */
  if (self->train)
    {
      g_cancellable_cancel (self->train->stop);
      gtk_widget_set_visible (GTK_WIDGET (self->progress_box), FALSE);
    }
  if (self->project)
    g_clear_signal_handler (&self->changed_id, self->project);
  g_set_object (&self->project, project);
  g_clear_pointer (&self->models, g_ptr_array_unref);
  self->shown_id = -1;
  if (project)
    {
      self->changed_id = g_signal_connect_swapped (project, "changed", G_CALLBACK (refresh_models), self);
      refresh_models (self);
    }
  else
    gtk_stack_set_visible_child_name (self->stack, "empty");
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROJECT]);
}

static void
dlen_train_page_dispose (GObject *object)
{
  DlenTrainPage *self = DLEN_TRAIN_PAGE (object);
  if (self->job)
    {
      g_signal_handlers_disconnect_by_data (self->job, self);
      if (self->train)
        g_cancellable_cancel (self->train->stop);
    }
  if (self->project)
    g_clear_signal_handler (&self->changed_id, self->project);
  /* AdwBin owns its child: release it through AdwBin before the template drops its pointers. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), DLEN_TYPE_TRAIN_PAGE);
  self->stack = NULL;
  g_clear_object (&self->project);
  g_clear_pointer (&self->models, g_ptr_array_unref);
  g_clear_object (&self->model_names);
  g_clear_object (&self->loss_series);
  g_clear_object (&self->auc_series);
  G_OBJECT_CLASS (dlen_train_page_parent_class)->dispose (object);
}

static void
dlen_train_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenTrainPage *self = DLEN_TRAIN_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: g_value_set_object (value, self->project); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_train_page_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DlenTrainPage *self = DLEN_TRAIN_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: dlen_train_page_set_project (self, g_value_get_object (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
setup_model_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer ellipsize)
{
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (GPOINTER_TO_INT (ellipsize))
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 24);
      gtk_label_set_width_chars (GTK_LABEL (label), 12);
    }
  gtk_list_item_set_child (item, label);
}

static void
bind_model_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkStringObject *s = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_list_item_get_child (item);
  gtk_label_set_text (GTK_LABEL (label), gtk_string_object_get_string (s));
  gtk_widget_set_tooltip_text (label, gtk_string_object_get_string (s));
}

static void
dlen_train_page_class_init (DlenTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = dlen_train_page_dispose;
  object_class->get_property = dlen_train_page_get_property;
  object_class->set_property = dlen_train_page_set_property;
  props[PROP_PROJECT] = g_param_spec_object ("project", NULL, NULL, DLEN_TYPE_PROJECT,
                                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* (guint outcome: DlenTrainOutcome, gint64 model_id or -1) */
  signals[SIGNAL_TRAINING_FINISHED] = g_signal_new ("training-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                                    NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_INT64);
  /* (gint64 model_id or -1) */
  signals[SIGNAL_MODEL_FILE_LOADED] = g_signal_new ("model-file-loaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                                    NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);

  g_type_ensure (DLEN_TYPE_LINE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/dlen/Workbench/ui/dlen-train-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, stack);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, arch_row);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, emb_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, shared_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, task_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, levels_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, lr_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, batch_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, weak_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, history_switch);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, shared_row);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, task_row);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, levels_row);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, save_row);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, status_title);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, status_subtitle);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, progress_box);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, progress_label);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, eta_label);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, loss_chart);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, auc_chart);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, metrics_group);
  gtk_widget_class_bind_template_child (widget_class, DlenTrainPage, metrics_grid);

  gtk_widget_class_install_action (widget_class, "train.start", NULL, action_start);
  gtk_widget_class_install_action (widget_class, "train.cancel", NULL, action_cancel);
  gtk_widget_class_install_action (widget_class, "train.save-model", NULL, action_save_model);
  gtk_widget_class_install_action (widget_class, "train.load-model", NULL, action_load_model);
  gtk_widget_class_install_action (widget_class, "train.export-chart", "s", action_export_chart);
}

static void
dlen_train_page_init (DlenTrainPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->shown_id = -1;
  self->loss_series = dlen_series_model_new ();
  self->auc_series = dlen_series_model_new ();
  dlen_line_chart_set_model (self->loss_chart, self->loss_series);
  dlen_line_chart_set_model (self->auc_chart, self->auc_series);
  for (guint k = 0; k < DLEN_MAX_TARGETS; k++)
    self->auc_index[k] = -1;
  self->emotion_series = G_MAXUINT;
  self->model_names = gtk_string_list_new (NULL);
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (self->model_names));
  {
    /* Long model names are cut in the button; the popover lists them in full. */
    GtkListItemFactory *button = gtk_signal_list_item_factory_new ();
    GtkListItemFactory *list = gtk_signal_list_item_factory_new ();
    g_signal_connect (button, "setup", G_CALLBACK (setup_model_label), GINT_TO_POINTER (TRUE));
    g_signal_connect (button, "bind", G_CALLBACK (bind_model_label), NULL);
    g_signal_connect (list, "setup", G_CALLBACK (setup_model_label), GINT_TO_POINTER (FALSE));
    g_signal_connect (list, "bind", G_CALLBACK (bind_model_label), NULL);
    gtk_drop_down_set_factory (self->model_dropdown, button);
    gtk_drop_down_set_list_factory (self->model_dropdown, list);
    g_object_unref (button);
    g_object_unref (list);
  }
  gtk_adjustment_set_upper (gtk_spin_button_get_adjustment (self->threads_spin), MAX (1, g_get_num_processors ()));
  /* Two threads where there are two cores: data-parallel steps train about 1.4x as fast (the
   * results depend on the thread count; the dlen tool defaults to one). */
  gtk_spin_button_set_value (self->threads_spin, MIN (2, MAX (1, g_get_num_processors ())));
  g_signal_connect_swapped (self->arch_row, "notify::selected", G_CALLBACK (on_arch_changed), self);
  g_signal_connect_swapped (self->model_dropdown, "notify::selected", G_CALLBACK (on_dropdown_selected), self);
  on_arch_changed (self);
  show_metrics (self, NULL);
  describe_model (self, NULL);
  update_actions (self);
}
