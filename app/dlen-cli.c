/* dlen-cli.c: the `dlen` command-line tool: train, eval, predict, generate and info. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "dlen-analysis.h"
#include "dlen-error.h"
#include "dlen-loader.h"
#include "dlen-output.h"
#include "dlen-store.h"
#include "dlen-synthetic-log.h"
#include "dlen-training.h"
#include "dlen-predictions.h"

/* Exit codes, also listed in every --help. */
enum {
  EXIT_OK = 0,
  EXIT_FAILURE_RUN = 1,    /* an I/O or engine failure */
  EXIT_USAGE = 2,          /* bad command line */
  EXIT_BAD_INPUT = 3,      /* unusable data or model file */
  EXIT_CANCELLED = 130,    /* interrupted (SIGINT) */
};

#define EXIT_CODES_HELP \
  "Exit status: 0 success, 1 failure, 2 bad command line, 3 unusable data or model file, " \
  "130 interrupted."

static volatile sig_atomic_t interrupted;

static void
on_sigint (int sig)
{
  (void) sig;
  interrupted = 1;
}

static int
abort_requested (void *user_data)
{
  (void) user_data;
  return interrupted;
}

static int
exit_code_for (const GError *error)
{
  if (error->domain == DLEN_ERROR)
    switch (error->code)
      {
      case DLEN_ERROR_CANCELLED: return EXIT_CANCELLED;
      case DLEN_ERROR_INVALID: return EXIT_USAGE;
      case DLEN_ERROR_DATA:
      case DLEN_ERROR_FORMAT: return EXIT_BAD_INPUT;
      default: return EXIT_FAILURE_RUN;
      }
  if (error->domain == G_OPTION_ERROR)
    return EXIT_USAGE;
  if (error->domain == g_quark_from_static_string ("dlen-csv-error-quark"))
    return error->code == 0 ? EXIT_FAILURE_RUN : EXIT_BAD_INPUT;
  return EXIT_FAILURE_RUN;
}

static int
fail (GError *error)
{
  int code = exit_code_for (error);
  g_printerr ("dlen: %s\n", error->message);
  g_error_free (error);
  return code;
}

static int
usage_error (GOptionContext *ctx, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static int
usage_error (GOptionContext *ctx, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;
  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  (void) ctx;
  g_printerr ("dlen: %s\nTry '%s --help'.\n", msg, g_get_prgname ());
  return EXIT_USAGE;
}

static void
print_metrics_table (const DlenSchema *schema, const DlenMetrics *mt)
{
  g_print ("%-16s %8s %8s %8s %10s %10s %8s\n", "target", "AUC", "GAUC", "logloss", "mean pred", "observed", "rows");
  for (uint32_t t = 0; t < schema->n_targets; t++)
    {
      const DlenTargetMetrics *tm = &mt->target[t];
      if (schema->targets[t].kind == DLEN_TARGET_BINARY)
        g_print ("%-16s %8.4f %8.4f %8.4f %10.4f %10.4f %8" G_GUINT64_FORMAT "\n", schema->targets[t].name,
                 tm->auc, tm->gauc, tm->logloss, tm->mean_predicted, tm->mean_observed, (guint64) tm->n);
      else
        g_print ("%-16s RMSE of log1p(seconds) %.4f over %" G_GUINT64_FORMAT " rows\n", schema->targets[t].name,
                 tm->rmse, (guint64) tm->n);
    }
  if (!isnan (mt->emotion_auc))
    g_print ("%-16s %8.4f  (p_e against like-vs-negative weak labels)\n", "emotion", mt->emotion_auc);
}

/* ---- Shared option groups -------------------------------------------------------------- */

typedef struct {
  char *preset;
  char *user_features, *item_features;
  char **maps;
  gboolean strict;
  gboolean no_user_features;
  gboolean history;
} DataOptions;

static void
add_data_options (GOptionContext *ctx, DataOptions *o)
{
  GOptionEntry entries[] = {
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &o->preset, "Column mapping: kuairand, synthetic or generic (default: guessed from the header)", "NAME" },
    { "user-features", 0, 0, G_OPTION_ARG_FILENAME, &o->user_features, "Join user side features from this CSV on user_id (kuairand; default: user_features.csv beside DATA when present)", "FILE" },
    { "no-user-features", 0, 0, G_OPTION_ARG_NONE, &o->no_user_features, "Do not join user_features.csv found beside DATA", NULL },
    { "item-features", 0, 0, G_OPTION_ARG_FILENAME, &o->item_features, "Join item side features from this CSV on video_id (kuairand: video_features_basic.csv; only when given, or when the model has them)", "FILE" },
    { "map", 'm', 0, G_OPTION_ARG_STRING_ARRAY, &o->maps, "Map a column to a role (generic preset; repeatable; see 'dlen train --help')", "COLUMN=ROLE" },
    { "strict", 0, 0, G_OPTION_ARG_NONE, &o->strict, "Stop at the first bad row instead of skipping it", NULL },
    { "history-features", 0, 0, G_OPTION_ARG_NONE, &o->history, "Projects: add the derived history features (likes and negatives among the user's last 20 impressions, position and minutes in session)", NULL },
    { NULL }
  };
  g_option_context_add_main_entries (ctx, entries, NULL);
}

static void
data_options_clear (DataOptions *o)
{
  g_clear_pointer (&o->preset, g_free);
  g_clear_pointer (&o->user_features, g_free);
  g_clear_pointer (&o->item_features, g_free);
  g_clear_pointer (&o->maps, g_strfreev);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DataOptions, data_options_clear)

static DlenLoadOptions
load_options (const DataOptions *o)
{
  return (DlenLoadOptions) { .preset = o->preset, .user_features = o->user_features,
                             .no_user_features = o->no_user_features, .maps = (const char *const *) o->maps,
                             .strict = o->strict, .item_features = o->item_features };
}


/* A log file loaded into memory, or a project's impressions streamed from it (then *@store is
 * set: the rows read through it). */
static DlenRows *
load_rows (const char *path, DataOptions *o, const DlenSchema *schema, gboolean quiet, DlenStore **store,
           GError **error)
{
  DlenLoadOptions lo = load_options (o);
  DlenLoadedData *d;
  if (dlen_store_is_project_file (path))
    {
      DlenRows *rows;
      *store = dlen_store_open (path, FALSE, error);
      if (!*store)
        return NULL;
      rows = dlen_rows_new_for_store (*store, o->history || dlen_schema_has_history (schema), schema, error);
      return rows;
    }
  if (o->history)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID,
                   "--history-features needs a project (import the log with 'dlen import' first)");
      return NULL;
    }
  d = dlen_loader_load (path, &lo, schema, error);
  if (d && d->rejected && !quiet)
    g_printerr ("dlen: skipped %" G_GUINT64_FORMAT " bad row%s of %s; the first: %s\n", d->rejected,
                d->rejected == 1 ? "" : "s", path, d->first_reject);
  return d ? dlen_rows_new_for_data (d) : NULL;
}

static gboolean
parse_units (const char *text, uint32_t *units, uint32_t *n, uint32_t min_n, GError **error)
{
  g_auto (GStrv) parts = NULL;
  *n = 0;
  if (!text)
    return TRUE;
  parts = g_strsplit (text, ",", -1);
  for (guint i = 0; parts[i]; i++)
    {
      guint64 v;
      if (*parts[i] == '\0' && parts[1] == NULL && min_n == 0)
        break;
      if (i >= DLEN_MAX_LAYERS || !g_ascii_string_to_unsigned (parts[i], 10, 1, 4096, &v, NULL))
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID,
                       "'%s' is not a comma-separated list of up to %d layer widths in 1..4096", text, DLEN_MAX_LAYERS);
          return FALSE;
        }
      units[(*n)++] = (uint32_t) v;
    }
  if (*n < min_n)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "'%s' needs at least %u layer width", text, min_n);
      return FALSE;
    }
  return TRUE;
}

/* ---- Progress ------------------------------------------------------------------------------ */

typedef struct {
  gboolean tty;
  gboolean quiet;
} TrainReport;

/* Progress on stderr: a live line on a terminal, one line per epoch otherwise. */
static void
on_progress (const DlenProgress *p, void *user_data)
{
  TrainReport *r = user_data;
  g_autofree char *emotion = NULL;
  if (r->quiet)
    return;
  if (!p->epoch_done)
    {
      if (r->tty)
        g_printerr ("\repoch %u/%u  step %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "  loss %.4f  %.0f samples/s ",
                    p->epoch, p->epochs, (guint64) p->step, (guint64) p->steps, p->train_loss, p->samples_per_second);
      return;
    }
  if (!isnan (p->emotion_auc))
    emotion = g_strdup_printf ("  emotion AUC %.4f", p->emotion_auc);
  g_printerr ("%sepoch %u/%u  loss %.4f  validation mean AUC %.4f%s%s  %.0f samples/s\n", r->tty ? "\r" : "",
              p->epoch, p->epochs, p->train_loss, p->valid_score, emotion ? emotion : "", p->best ? "  (best)" : "",
              p->samples_per_second);
}

/* Preparation passes over a large log, on a terminal. */
static void
on_rows_progress (const char *phase, double fraction, gpointer user_data)
{
  TrainReport *r = user_data;
  if (r->tty && !r->quiet)
    g_printerr ("\r%s %3.0f %% ", phase, 100.0 * fraction);
}

/* ---- dlen train ------------------------------------------------------------------------------ */

static int
cmd_train (int argc, char **argv)
{
  g_auto (DataOptions) data_opts = { 0 };
  g_autofree char *arch_name = NULL, *split = NULL, *out = NULL, *expert_units = NULL, *tower_units = NULL;
  g_auto (GStrv) task_weights = NULL;
  int epochs = 3, batch = 128, emb_dim = 16, shared_experts = -1, task_experts = 1, levels = 1, threads = 1;
  double lr = 3e-3, l2 = 1e-6, weak_fraction = 1.0, valid_fraction = 0.1, emotion_weight = 1.0, test_fraction = 0;
  gint64 seed = 1, eval_rows = DLEN_TRAINING_EVAL_ROWS;
  gboolean json = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
    { "arch", 'a', 0, G_OPTION_ARG_STRING, &arch_name, "Architecture: dlen (default), ple, mmoe, shared-bottom", "ARCH" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Training epochs (default 3)", "N" },
    { "batch-size", 'b', 0, G_OPTION_ARG_INT, &batch, "Mini-batch size (default 128)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Adam learning rate (default 0.003)", "RATE" },
    { "l2", 0, 0, G_OPTION_ARG_DOUBLE, &l2, "L2 penalty on dense weights (default 1e-6)", "W" },
    { "emb-dim", 0, 0, G_OPTION_ARG_INT, &emb_dim, "Embedding size per field (default 16)", "D" },
    { "expert-units", 0, 0, G_OPTION_ARG_STRING, &expert_units, "Expert layer widths (default 64)", "W,W" },
    { "tower-units", 0, 0, G_OPTION_ARG_STRING, &tower_units, "Tower hidden layer widths (default 32; empty for none)", "W,W" },
    { "shared-experts", 0, 0, G_OPTION_ARG_INT, &shared_experts, "Shared experts per level (default 2; MMoE 4)", "N" },
    { "task-experts", 0, 0, G_OPTION_ARG_INT, &task_experts, "Experts per task per level, PLE/DLEN (default 1)", "N" },
    { "levels", 0, 0, G_OPTION_ARG_INT, &levels, "Extraction levels, PLE/DLEN: 1 or 2 (default 1)", "N" },
    { "task-weight", 'w', 0, G_OPTION_ARG_STRING_ARRAY, &task_weights, "Loss weight of one target (repeatable; default 1)", "TARGET=W" },
    { "emotion-weight", 0, 0, G_OPTION_ARG_DOUBLE, &emotion_weight, "Weight of the weak-label emotion loss, DLEN (default 1)", "W" },
    { "weak-label-fraction", 'f', 0, G_OPTION_ARG_DOUBLE, &weak_fraction, "Keep weak-label targets (like/hate) on this fraction of training rows (default 1)", "F" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed of initialisation, shuffling and label masking (default 1)", "S" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default 1)", "T" },
    { "split-date", 0, 0, G_OPTION_ARG_STRING, &split, "Rows from this day on are the test split (default: preset's, else the last ~15 %)", "YYYYMMDD" },
    { "test-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &test_fraction, "Instead of --split-date: the test split starts on the day that leaves about this fraction of rows for testing", "F" },
    { "valid-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &valid_fraction, "Latest fraction of training rows used to pick the best epoch (default 0.1)", "F" },
    { "eval-rows", 0, 0, G_OPTION_ARG_INT64, &eval_rows, "Validation and test metrics on at most N evenly spread rows (default 500000; 0: all)", "N" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Save the trained model to this file", "MODEL" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object on stdout", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress on stderr", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("DATA - train a model on an impression log (CSV/TSV)");
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenRows) data = NULL;
  g_autoptr (DlenModel) model = NULL;
  g_autoptr (DlenModel) partial = NULL;
  gint64 model_id = 0;
  DlenTrainingOptions topts;
  DlenTrainingResult result;
  g_autofree char *description = g_strdup_printf ("Roles for --map:\n%s\n" EXIT_CODES_HELP, dlen_loader_roles_help);
  DlenArch arch = DLEN_ARCH_DLEN;
  DlenModelConfig *cfg;
  TrainReport report = { 0 };
  gint32 split_day = 0;
  int st;
  g_option_context_add_main_entries (ctx, entries, NULL);
  add_data_options (ctx, &data_opts);
  g_option_context_set_description (ctx, description);
  g_option_context_set_summary (ctx, "Trains DLEN or a baseline, evaluates it on the test split and optionally saves it.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (ctx, "%s", error->message);
  if (argc != 2)
    return usage_error (ctx, "train needs exactly one DATA file");
  if (arch_name && !dlen_arch_from_string (arch_name, &arch))
    return usage_error (ctx, "unknown architecture '%s' (dlen, ple, mmoe, shared-bottom)", arch_name);
  if (split && !dlen_parse_day (split, &split_day))
    return usage_error (ctx, "--split-date '%s' is not a date YYYYMMDD", split);
  if (epochs < 1 || batch < 1 || emb_dim < 1 || threads < 1 || threads > 256 || task_experts < 1 || levels < 1 || levels > 2
      || !(weak_fraction >= 0 && weak_fraction <= 1) || !(valid_fraction >= 0 && valid_fraction < 1) || !(lr > 0) || !(l2 >= 0)
      || !(emotion_weight >= 0) || !(test_fraction >= 0 && test_fraction < 1) || (test_fraction > 0 && split) || eval_rows < 0)
    return usage_error (ctx, "an option is out of range (epochs, batch size, embedding size, threads and experts >= 1; levels 1 or 2; "
                             "--weak-label-fraction in [0, 1]; --valid-fraction and --test-fraction in [0, 1), not with --split-date; --lr > 0; --eval-rows >= 0)");

  dlen_training_options_init (&topts, arch);
  cfg = &topts.config;
  cfg->emb_dim = (uint32_t) emb_dim;
  cfg->task_experts = (uint32_t) task_experts;
  cfg->levels = (uint32_t) levels;
  cfg->emotion_weight = (float) emotion_weight;
  cfg->seed = (uint64_t) seed;
  if (shared_experts >= 0)
    cfg->shared_experts = (uint32_t) shared_experts;
  if (expert_units && !parse_units (expert_units, cfg->expert_units, &cfg->expert_layers, 1, &error))
    return fail (g_steal_pointer (&error));
  if (tower_units && !parse_units (tower_units, cfg->tower_units, &cfg->tower_layers, 0, &error))
    return fail (g_steal_pointer (&error));

  data = load_rows (argv[1], &data_opts, NULL, quiet, &store, &error);
  if (!data)
    return fail (g_steal_pointer (&error));
  for (guint i = 0; task_weights && task_weights[i]; i++)
    {
      DlenSchema *schema = &data->schema;
      const char *eq = strrchr (task_weights[i], '=');
      char *end = NULL;
      double w = eq ? g_ascii_strtod (eq + 1, &end) : -1;
      gboolean found = FALSE;
      if (!eq || end == eq + 1 || *end || !(w >= 0) || w > 1e6)
        return usage_error (ctx, "--task-weight '%s' is not TARGET=W with W in 0..1e6", task_weights[i]);
      for (uint32_t t = 0; t < schema->n_targets; t++)
        if (strlen (schema->targets[t].name) == (size_t) (eq - task_weights[i])
            && strncmp (schema->targets[t].name, task_weights[i], eq - task_weights[i]) == 0)
          {
            found = TRUE;
            schema->targets[t].weight = (float) w;
          }
      if (!found)
        return usage_error (ctx, "--task-weight '%s' names no target of this log", task_weights[i]);
    }
  topts.split_day = split_day;
  topts.test_fraction = test_fraction;
  topts.valid_fraction = valid_fraction;
  topts.eval_rows = (guint64) eval_rows;
  topts.params.epochs = (uint32_t) epochs;
  topts.params.batch_size = (uint32_t) batch;
  topts.params.learning_rate = (float) lr;
  topts.params.l2 = (float) l2;
  topts.params.weak_label_fraction = weak_fraction;
  topts.params.seed = (uint64_t) seed;
  topts.params.threads = (uint32_t) threads;
  report.tty = isatty (STDERR_FILENO);
  report.quiet = quiet;
  topts.params.progress_every = report.tty ? 20 : 0;
  topts.params.progress = on_progress;
  topts.params.abort = abort_requested;
  topts.params.user_data = &report;
  signal (SIGINT, on_sigint);
  dlen_rows_set_progress (data, on_rows_progress, &report);

  model = dlen_training_run (data, &topts, &result, &partial, &error);
  if (report.tty && !quiet)
    g_printerr ("\r\033[K");   /* clear the progress line */
  if (!model)
    {
      /* Keep what was learnt: a cancelled or diverged run still holds its best epoch. */
      if (out && partial && dlen_model_save (partial, out) == DLEN_STATUS_OK && !quiet)
        g_printerr ("dlen: saved the best model so far (epoch %u) to %s\n", result.best_epoch, out);
      dlen_training_result_clear (&result);
      return fail (g_steal_pointer (&error));
    }
  if (out && (st = dlen_model_save (model, out)) != DLEN_STATUS_OK)
    return fail ((dlen_set_error_from_status (&error, st, out), g_steal_pointer (&error)));
  if (store && (model_id = dlen_training_store (store, model, &result, &error)) < 0)
    return fail (g_steal_pointer (&error));

  if (json)
    {
      g_autoptr (GString) s = g_string_new ("{\"arch\": ");
      dlen_json_string (s, dlen_arch_to_string (arch));
      g_string_append_printf (s, ", \"epochs\": %d, \"best_epoch\": %u, \"seed\": %" G_GINT64_FORMAT ", \"threads\": %d",
                              epochs, result.best_epoch, seed, threads);
      g_string_append_printf (s, ", \"split_date\": %d, \"train_rows\": %zu, \"valid_rows\": %zu, \"test_rows\": %zu",
                              result.split_day, result.n_train, result.n_valid, result.n_test);
      g_string_append_printf (s, ", \"evaluated_test_rows\": %" G_GUINT64_FORMAT, (guint64) result.test.n_rows);
      g_string_append_printf (s, ", \"rejected_rows\": %" G_GUINT64_FORMAT ", \"parameters\": %zu",
                              data->data ? data->data->rejected : 0, dlen_model_n_params (model));
      g_string_append (s, ", \"samples_per_second\": ");
      dlen_json_number (s, result.samples_per_second);
      g_string_append (s, ", \"metrics\": ");
      dlen_json_metrics (s, dlen_model_schema (model), &result.test);
      dlen_json_emotion (s, model, &result.test, result.true_emotion_auc);
      g_string_append_printf (s, ", \"history\": %s", result.history->str);
      if (model_id > 0)
        g_string_append_printf (s, ", \"model_id\": %" G_GINT64_FORMAT, model_id);
      if (out)
        {
          g_string_append (s, ", \"model\": ");
          dlen_json_string (s, out);
        }
      g_string_append (s, "}\n");
      fputs (s->str, stdout);
    }
  else
    {
      g_print ("%s on %s: %zu training, %zu validation, %zu test rows (test from %d); best epoch %u; %.0f samples/s\n",
               dlen_arch_to_string (arch), argv[1], result.n_train, result.n_valid, result.n_test, result.split_day,
               result.best_epoch, result.samples_per_second);
      print_metrics_table (dlen_model_schema (model), &result.test);
      if (!isnan (result.true_emotion_auc))
        g_print ("%-16s %8.4f  (p_e against the generator's true emotion)\n", "true emotion", result.true_emotion_auc);
      if (out)
        g_print ("saved %s\n", out);
      if (model_id > 0)
        g_print ("stored in the project as model %" G_GINT64_FORMAT "\n", model_id);
    }
  dlen_training_result_clear (&result);
  return EXIT_OK;
}

/* ---- dlen eval / predict ---------------------------------------------------------------------- */

static DlenModel *
load_model (const char *path, GError **error)
{
  DlenModel *model = NULL;
  int st = dlen_model_load (path, &model);
  if (st != DLEN_STATUS_OK)
    {
      dlen_set_error_from_status (error, st, NULL);
      return NULL;
    }
  return model;
}

/* Fills options the model was trained with when the user gave none. */
static void
inherit_data_options (DlenModel *model, DataOptions *o)
{
  if (!o->preset && dlen_model_get_meta (model, "preset"))
    o->preset = g_strdup (dlen_model_get_meta (model, "preset"));
}

/* The model of eval/predict: "MODEL DATA" with a model file, or "PROJECT --model ID". */
static DlenModel *
resolve_model (int argc, char **argv, gint64 model_id, const char **data_path, GError **error)
{
  if (model_id > 0)
    {
      g_autoptr (DlenStore) store = NULL;
      if (argc != 2)
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "with --model give only the PROJECT");
          return NULL;
        }
      *data_path = argv[1];
      store = dlen_store_open (argv[1], FALSE, error);
      return store ? dlen_store_load_model (store, model_id, error) : NULL;
    }
  if (argc != 3)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "give a MODEL file and a DATA file (or a PROJECT and --model ID)");
      return NULL;
    }
  *data_path = argv[2];
  return load_model (argv[1], error);
}

static int
cmd_eval (int argc, char **argv)
{
  g_auto (DataOptions) data_opts = { 0 };
  g_autofree char *split = NULL;
  gboolean json = FALSE, all = FALSE;
  gint64 model_id = 0, eval_rows = 0;
  int threads = 1;
  const char *data_path = NULL;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_INT64, &model_id, "A model stored in the PROJECT (see 'dlen info PROJECT')", "ID" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Scoring threads (default 1)", "T" },
    { "split-date", 0, 0, G_OPTION_ARG_STRING, &split, "Evaluate rows from this day on (default: the model's test split)", "YYYYMMDD" },
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, "Evaluate every row", NULL },
    { "eval-rows", 0, 0, G_OPTION_ARG_INT64, &eval_rows, "Metrics on at most N evenly spread rows (default 0: all)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object on stdout", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL DATA | PROJECT --model ID - evaluate a saved model on a log or project");
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenModel) model = NULL;
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenRows) data = NULL;
  gint32 split_day = 0;
  guint64 counts[4];
  DlenPart part;
  DlenMetrics mt;

  g_option_context_add_main_entries (ctx, entries, NULL);
  add_data_options (ctx, &data_opts);
  g_option_context_set_description (ctx, EXIT_CODES_HELP);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (ctx, "%s", error->message);
  if (argc < 2 || argc > 3)
    return usage_error (ctx, "eval needs a MODEL file and a DATA file, or a PROJECT and --model ID");
  if (split && !dlen_parse_day (split, &split_day))
    return usage_error (ctx, "--split-date '%s' is not a date YYYYMMDD", split);
  if (eval_rows < 0)
    return usage_error (ctx, "--eval-rows must be >= 0");
  if (threads < 1 || threads > 256)
    return usage_error (ctx, "--threads must be 1..256");
  model = resolve_model (argc, argv, model_id, &data_path, &error);
  if (!model)
    return fail (g_steal_pointer (&error));
  dlen_model_set_threads (model, (uint32_t) threads);
  inherit_data_options (model, &data_opts);
  data = load_rows (data_path, &data_opts, dlen_model_schema (model), FALSE, &store, &error);
  if (!data)
    return fail (g_steal_pointer (&error));
  if (!split_day && !all && dlen_model_get_meta (model, "split_date"))
    split_day = (gint32) g_ascii_strtoll (dlen_model_get_meta (model, "split_date"), NULL, 10);
  if (all)
    split_day = 0;
  /* Without a split every row is evaluated: they all fall in the training part. */
  part = split_day ? DLEN_PART_TEST : DLEN_PART_TRAIN;
  if (!dlen_rows_split (data, split_day, 0.0, counts, &error))
    return fail (g_steal_pointer (&error));
  if (counts[part] == 0)
    {
      g_set_error (&error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: no rows from %d on to evaluate", data_path, split_day);
      return fail (g_steal_pointer (&error));
    }
  if (!dlen_rows_evaluate (data, model, part, counts[part], (guint64) eval_rows, abort_requested, NULL, &mt, &error))
    return fail (g_steal_pointer (&error));
  if (json)
    {
      g_autoptr (GString) s = g_string_new ("{\"arch\": ");
      dlen_json_string (s, dlen_arch_to_string (dlen_model_config (model)->arch));
      g_string_append_printf (s, ", \"test_rows\": %" G_GUINT64_FORMAT ", \"evaluated_rows\": %" G_GUINT64_FORMAT
                              ", \"split_date\": %d, \"metrics\": ", counts[part], (guint64) mt.n_rows, split_day);
      dlen_json_metrics (s, dlen_model_schema (model), &mt);
      dlen_json_emotion (s, model, &mt, mt.true_emotion_auc);
      g_string_append (s, "}\n");
      fputs (s->str, stdout);
    }
  else
    {
      g_print ("%s on %" G_GUINT64_FORMAT " rows of %s\n", dlen_arch_to_string (dlen_model_config (model)->arch),
               (guint64) mt.n_rows, data_path);
      print_metrics_table (dlen_model_schema (model), &mt);
      if (!isnan (mt.true_emotion_auc))
        g_print ("%-16s %8.4f  (p_e against the generator's true emotion)\n", "true emotion", mt.true_emotion_auc);
    }
  return EXIT_OK;
}

/* CSV rows of predictions: the source line, each target, p_e (empty when NaN). */
static gboolean
write_prediction_rows (const GArray *ids, const GArray *lines, const float *pred, guint w, gpointer user_data,
                       GError **error)
{
  FILE *fp = user_data;
  for (guint i = 0; i < lines->len; i++)
    {
      fprintf (fp, "%" G_GUINT64_FORMAT, g_array_index (lines, guint64, i));
      for (uint32_t t = 0; t < w; t++)
        {
          float v = pred[(gsize) i * w + t];
          if (isnan (v))
            fputs (",", fp);
          else
            fprintf (fp, ",%.6g", v);
        }
      fputc ('\n', fp);
    }
  if (ferror (fp))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "cannot write the predictions: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static int
cmd_predict (int argc, char **argv)
{
  g_auto (DataOptions) data_opts = { 0 };
  g_autofree char *out_path = NULL;
  gint64 model_id = 0;
  gboolean no_csv = FALSE;
  int threads = 1;
  const char *data_path = NULL;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Write the CSV here instead of stdout", "FILE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Scoring threads (default 1; the predictions do not depend on it)", "T" },
    { "model", 0, 0, G_OPTION_ARG_INT64, &model_id, "A model stored in the PROJECT: its predictions are also cached there", "ID" },
    { "no-csv", 0, 0, G_OPTION_ARG_NONE, &no_csv, "Only cache the predictions in the project", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL DATA | PROJECT --model ID - per-row predictions as CSV");
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenModel) model = NULL;
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenLoadedData) data = NULL;
  g_autofree float *pred = NULL;
  DlenOutput out = { NULL, NULL, NULL };
  const DlenSchema *s;
  uint32_t w;
  FILE *fp = stdout;
  gboolean project;
  int st;

  g_option_context_add_main_entries (ctx, entries, NULL);
  add_data_options (ctx, &data_opts);
  g_option_context_set_description (ctx,
    "Columns: line (the row's line in DATA), then each target's probability (durations: expected seconds), "
    "then emotion (p_e; empty for models without one). A project is read chunk by chunk, so memory does not "
    "grow with it.\n" EXIT_CODES_HELP);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (ctx, "%s", error->message);
  if (argc < 2 || argc > 3)
    return usage_error (ctx, "predict needs a MODEL file and a DATA file, or a PROJECT and --model ID");
  if (no_csv && !model_id)
    return usage_error (ctx, "--no-csv goes with --model ID");
  if (threads < 1 || threads > 256)
    return usage_error (ctx, "--threads must be 1..256");
  model = resolve_model (argc, argv, model_id, &data_path, &error);
  if (!model)
    return fail (g_steal_pointer (&error));
  dlen_model_set_threads (model, (uint32_t) threads);
  inherit_data_options (model, &data_opts);
  s = dlen_model_schema (model);
  w = s->n_targets + 1;
  project = dlen_store_is_project_file (data_path);
  if (project)
    {
      store = dlen_store_open (data_path, FALSE, &error);
      if (!store)
        return fail (g_steal_pointer (&error));
    }
  else
    {
      DlenLoadOptions lo = load_options (&data_opts);
      size_t n;
      data = dlen_loader_load (data_path, &lo, s, &error);
      if (!data)
        return fail (g_steal_pointer (&error));
      n = dlen_dataset_n_rows (data->dataset);
      pred = g_try_new (float, n * w + 1);
      if (!pred)
        {
          g_set_error (&error, DLEN_ERROR, DLEN_ERROR_FAILED, "out of memory for %zu predictions", n);
          return fail (g_steal_pointer (&error));
        }
      if ((st = dlen_model_predict (model, data->dataset, NULL, n, pred)) != DLEN_STATUS_OK)
        return fail ((dlen_set_error_from_status (&error, st, "prediction"), g_steal_pointer (&error)));
    }
  if (!no_csv && out_path && !(fp = dlen_output_open (&out, out_path, &error)))
    return fail (g_steal_pointer (&error));
  if (!no_csv)
    {
      fputs ("line", fp);
      for (uint32_t t = 0; t < s->n_targets; t++)
        fprintf (fp, ",%s", s->targets[t].name);
      fputs (",emotion\n", fp);
    }
  if (project ? !dlen_predict_project (store, model, model_id, no_csv ? NULL : write_prediction_rows, fp, NULL, NULL,
                                       NULL, &error)
              : !write_prediction_rows (NULL, data->lines, pred, w, fp, &error))
    {
      if (fp != stdout)
        dlen_output_close (&out, fp, FALSE, NULL);
      return fail (g_steal_pointer (&error));
    }
  if (no_csv)
    return EXIT_OK;
  if (out_path)
    {
      if (!dlen_output_close (&out, fp, TRUE, &error))
        return fail (g_steal_pointer (&error));
    }
  else if (fflush (stdout) != 0)
    {
      g_set_error (&error, DLEN_ERROR, DLEN_ERROR_IO, "stdout: %s", g_strerror (errno));
      return fail (g_steal_pointer (&error));
    }
  return EXIT_OK;
}

/* ---- dlen generate ------------------------------------------------------------------------------ */

typedef struct {
  FILE *fp;
  guint64 done, total;
  gboolean tty;
} GenState;

static int
emit_row (const DlenSynthRow *r, void *user_data)
{
  GenState *g = user_data;
  dlen_synthetic_log_write_row (g->fp, r);
  g->done++;
  if (g->tty && g->done % 100000 == 0)
    g_printerr ("\rgenerated %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " impressions", g->done, g->total);
  return interrupted || ferror (g->fp);
}

static int
cmd_generate (int argc, char **argv)
{
  DlenSynthParams sp = dlen_synth_params_default ();
  gint64 users = sp.users, items = sp.items, categories = sp.categories, impressions = (gint64) sp.impressions;
  gint64 request_size = sp.request_size, days = sp.days, seed = (gint64) sp.seed;
  double clickbait = sp.clickbait_share, objectionable = sp.objectionable_share;
  g_autofree char *out_path = NULL;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Write the TSV log here (required)", "FILE" },
    { "users", 0, 0, G_OPTION_ARG_INT64, &users, "Users (default 2000)", "N" },
    { "items", 0, 0, G_OPTION_ARG_INT64, &items, "Items (default 5000)", "N" },
    { "categories", 0, 0, G_OPTION_ARG_INT64, &categories, "Item categories (default 20)", "N" },
    { "impressions", 'n', 0, G_OPTION_ARG_INT64, &impressions, "Impressions (default 200000)", "N" },
    { "request-size", 0, 0, G_OPTION_ARG_INT64, &request_size, "Impressions per request (default 10)", "N" },
    { "clickbait", 0, 0, G_OPTION_ARG_DOUBLE, &clickbait, "Share of click-bait items (default 0.15)", "F" },
    { "objectionable", 0, 0, G_OPTION_ARG_DOUBLE, &objectionable, "Share of objectionable items (default 0.05)", "F" },
    { "days", 0, 0, G_OPTION_ARG_INT64, &days, "Days the log spans (default 14)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed (default 1)", "S" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- write a synthetic impression log with the true emotion");
  g_autoptr (GError) error = NULL;
  DlenOutput out;
  GenState g = { 0 };
  int st, write_errno;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
    "The world: users with a taste per category and a mood that drifts within a session and drops after "
    "objectionable items; items with a category, quality and click-bait factor; a true emotion e per impression "
    "from which click, like, share, dislike and stay time are drawn. Click-bait draws clicks without positive "
    "emotion. Columns: user_id item_id category session_id request_id position time_ms click long_view like share "
    "dislike stay_s objectionable emotion emotion_p. Train on it with --preset synthetic.\n" EXIT_CODES_HELP);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (ctx, "%s", error->message);
  if (argc != 1 || !out_path)
    return usage_error (ctx, "generate needs --out FILE and no other arguments");
  if (users < 1 || users > G_MAXUINT32 || items < 1 || items > G_MAXUINT32 || categories < 1 || categories > G_MAXUINT32
      || impressions < 1 || request_size < 1 || request_size > G_MAXUINT32 || days < 1 || days > G_MAXUINT32 || seed < 0)
    return usage_error (ctx, "counts must be positive 32-bit numbers (impressions 64-bit) and the seed >= 0");
  sp.users = (uint32_t) users;
  sp.items = (uint32_t) items;
  sp.categories = (uint32_t) categories;
  sp.impressions = (uint64_t) impressions;
  sp.request_size = (uint32_t) request_size;
  sp.days = (uint32_t) days;
  sp.seed = (uint64_t) seed;
  sp.clickbait_share = clickbait;
  sp.objectionable_share = objectionable;

  if (!(g.fp = dlen_output_open (&out, out_path, &error)))
    return fail (g_steal_pointer (&error));
  g.total = sp.impressions;
  g.tty = isatty (STDERR_FILENO);
  signal (SIGINT, on_sigint);
  dlen_synthetic_log_write_header (g.fp);
  st = dlen_synth_generate (&sp, emit_row, &g);
  write_errno = errno;   /* why a write failed, when one stopped it */
  if (g.tty)
    g_printerr ("\r");
  if (!dlen_output_close (&out, g.fp, st == DLEN_STATUS_OK, &error))
    {
      if (st != DLEN_STATUS_OK && !(st == DLEN_STATUS_CANCELLED && !interrupted))
        dlen_set_error_from_status (&error, st, "generate");
      else if (!error)
        g_set_error (&error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", out_path, g_strerror (write_errno));
      return fail (g_steal_pointer (&error));
    }
  return EXIT_OK;
}

/* ---- dlen replay -------------------------------------------------------------------------------- */

static int
cmd_replay (int argc, char **argv)
{
  gint64 model_id = 0;
  g_autofree char *weights_text = NULL, *preset = NULL, *rule_text = NULL, *sweep = NULL;
  int k = 3, min_count = 5;
  double threshold = 0.2;
  gboolean all = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_INT64, &model_id, "The model whose cached predictions are replayed (required)", "ID" },
    { "weights", 'w', 0, G_OPTION_ARG_STRING, &weights_text, "Fusion weights: one per target then the emotion, or NAME=W,...", "W,W,..." },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset, "Weights preset: with-emotion (default), no-emotion, engagement-only", "NAME" },
    { "k", 'k', 0, G_OPTION_ARG_INT, &k, "Top K slots kept per request (default 3)", "K" },
    { "objectionable", 0, 0, G_OPTION_ARG_STRING, &rule_text, "What counts as objectionable: user (negative feedback on the impression), item (item's negative rate in the training split), both (default)", "RULE" },
    { "item-threshold", 0, 0, G_OPTION_ARG_DOUBLE, &threshold, "Item rule: negative-feedback rate above this (default 0.2)", "RATE" },
    { "item-min-count", 0, 0, G_OPTION_ARG_INT, &min_count, "Item rule: over at least this many training impressions (default 5)", "N" },
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, "Replay every impression, not only the model's test split", NULL },
    { "sweep-emotion", 0, 0, G_OPTION_ARG_STRING, &sweep, "Also sweep the emotion weight: the exposure-vs-engagement frontier", "FROM:TO:STEPS" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object on stdout", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT - replay fusion weights over a model's cached predictions");
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenReplaySet) set = NULL;
  g_autofree char *report = NULL;
  DlenReplayOptions ro;
  float w[DLEN_REPLAY_MAX_SIGNALS];
  double sw_from = 0, sw_to = 0;
  guint sw_steps = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
    "Within each request the logged candidates are ranked by score = sum of w_k log p_k + w_stay log1p(stay) + "
    "w_e log p_e (ties keep the logged order) and the top K are measured: objectionable exposure and every target's "
    "rate (stay: mean seconds), against the logged order and the same weights without the emotion. Cache the model's "
    "predictions first with 'dlen predict PROJECT --model ID --no-csv'.\n" EXIT_CODES_HELP);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (ctx, "%s", error->message);
  if (argc != 2 || model_id <= 0)
    return usage_error (ctx, "replay needs a PROJECT and --model ID");
  if (k < 1 || min_count < 1 || !(threshold >= 0 && threshold <= 1) || (weights_text && preset))
    return usage_error (ctx, "--k and --item-min-count must be >= 1, --item-threshold in [0, 1], and --weights and --preset exclude each other");
  dlen_replay_options_init (&ro);
  ro.model_id = model_id;
  ro.all_rows = all;
  ro.item_threshold = threshold;
  ro.item_min_count = (guint) min_count;
  if (rule_text && !dlen_objectionable_rule_from_string (rule_text, &ro.rule))
    return usage_error (ctx, "--objectionable '%s' is not user, item or both", rule_text);
  if (sweep)
    {
      g_auto (GStrv) parts = g_strsplit (sweep, ":", -1);
      guint64 steps;
      if (g_strv_length (parts) != 3 || !g_ascii_string_to_unsigned (parts[2], 10, 2, 1000, &steps, NULL))
        return usage_error (ctx, "--sweep-emotion '%s' is not FROM:TO:STEPS (2..1000 steps)", sweep);
      sw_from = g_ascii_strtod (parts[0], NULL);
      sw_to = g_ascii_strtod (parts[1], NULL);
      sw_steps = (guint) steps;
    }
  store = dlen_store_open (argv[1], FALSE, &error);
  if (!store || !(set = dlen_replay_set_load (store, &ro, &error)))
    return fail (g_steal_pointer (&error));
  if (sweep && !set->has_emotion)
    return usage_error (ctx, "--sweep-emotion needs a DLEN model (this one has no emotion)");
  if (weights_text)
    {
      if (!dlen_replay_set_parse_weights (set, weights_text, w, &error))
        return fail (g_steal_pointer (&error));
    }
  else if (!dlen_replay_set_preset (set, preset ? preset : "with-emotion", w))
    return usage_error (ctx, "--preset '%s' is not with-emotion, no-emotion or engagement-only", preset);
  report = dlen_replay_report_json (set, w, (guint) k, &error);
  if (!report)
    return fail (g_steal_pointer (&error));
  if (json)
    {
      g_autoptr (GString) out = g_string_new (report);
      if (sweep)
        {
          g_autofree DlenReplayResult *res = g_new (DlenReplayResult, sw_steps);
          int st = dlen_replay_sweep (set->replay, w, set->n_targets, (float) sw_from, (float) sw_to, sw_steps, (guint) k, res);
          if (st != DLEN_STATUS_OK)
            return fail ((dlen_set_error_from_status (&error, st, "sweep"), g_steal_pointer (&error)));
          g_string_truncate (out, out->len - 1);
          g_string_append (out, ", \"frontier\": [");
          for (guint i = 0; i < sw_steps; i++)
            {
              double we = sw_from + (sw_to - sw_from) * i / (sw_steps - 1);
              g_string_append_printf (out, "%s{\"emotion_weight\": ", i ? ", " : "");
              dlen_json_number (out, we);
              g_string_append (out, ", \"objectionable\": ");
              dlen_json_number (out, res[i].objectionable);
              for (guint t = 0; t < set->n_targets; t++)
                {
                  g_string_append (out, ", ");
                  dlen_json_string (out, set->names[t]);
                  g_string_append (out, ": ");
                  dlen_json_number (out, res[i].outcome[t]);
                }
              g_string_append (out, "}");
            }
          g_string_append (out, "]}");
        }
      g_print ("%s\n", out->str);
    }
  else
    {
      DlenReplayResult ranked, logged, base;
      float base_w[DLEN_REPLAY_MAX_SIGNALS];
      memcpy (base_w, w, sizeof base_w);
      if (set->has_emotion)
        base_w[set->n_targets] = 0;
      dlen_replay_run (set->replay, w, (guint) k, &ranked);
      dlen_replay_run (set->replay, NULL, (guint) k, &logged);
      dlen_replay_run (set->replay, base_w, (guint) k, &base);
      g_print ("model %" G_GINT64_FORMAT ": %" G_GSIZE_FORMAT " impressions in %" G_GSIZE_FORMAT " requests (%s), top %d, objectionable = %s\n",
               model_id, set->n_rows, dlen_replay_n_requests (set->replay), all ? "all rows" : "test split", k,
               dlen_objectionable_rule_to_string (ro.rule));
      g_print ("%-16s %10s %10s %10s %10s\n", "", "ranked", "logged", "no emotion", "delta");
      g_print ("%-16s %10.4f %10.4f %10.4f %+10.4f\n", "objectionable", ranked.objectionable, logged.objectionable,
               base.objectionable, ranked.objectionable - base.objectionable);
      for (guint t = 0; t < set->n_targets; t++)
        g_print ("%-16s %10.4f %10.4f %10.4f %+10.4f\n", set->names[t], ranked.outcome[t], logged.outcome[t],
                 base.outcome[t], ranked.outcome[t] - base.outcome[t]);
    }
  return EXIT_OK;
}

static int
cmd_trajectory (int argc, char **argv)
{
  gint64 model_id = 0;
  g_autofree char *user = NULL;
  int smooth = 10;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_INT64, &model_id, "A DLEN model with cached predictions (required)", "ID" },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user, "The user id as in the log (required)", "USER" },
    { "smooth", 0, 0, G_OPTION_ARG_INT, &smooth, "Impressions in the trailing mean (default 10)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object on stdout (the series the chart shows)", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("PROJECT - one user's latent emotion over time");
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenStore) store = NULL;
  g_autofree char *text = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx, EXIT_CODES_HELP);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (ctx, "%s", error->message);
  if (argc != 2 || model_id <= 0 || !user || smooth < 1)
    return usage_error (ctx, "trajectory needs a PROJECT, --model ID and --user USER (and --smooth >= 1)");
  store = dlen_store_open (argv[1], FALSE, &error);
  if (!store || !(text = dlen_trajectory_json (store, model_id, user, (guint) smooth, &error)))
    return fail (g_steal_pointer (&error));
  if (json)
    g_print ("%s\n", text);
  else
    {
      /* A compact listing of the same series. */
      g_auto (GStrv) points = g_strsplit (text, "{\"time_ms\": ", -1);
      g_print ("user %s under model %" G_GINT64_FORMAT ": %u impressions (--json for the full series)\n", user, model_id,
               g_strv_length (points) - 1);
    }
  return EXIT_OK;
}

/* ---- dlen import ------------------------------------------------------------------------------ */

typedef struct {
  gboolean tty;
  GCancellable *cancellable;
} ImportProgress;

static void
on_import_progress (guint64 bytes_done, guint64 bytes_total, guint64 rows, gpointer user_data)
{
  ImportProgress *p = user_data;
  if (interrupted)
    g_cancellable_cancel (p->cancellable);   /* not from the signal handler: it takes locks */
  if (p->tty)
    g_printerr ("\rimported %" G_GUINT64_FORMAT " rows (%.0f %%) ", rows,
                bytes_total ? 100.0 * (double) bytes_done / (double) bytes_total : 0.0);
}

static int
cmd_import (int argc, char **argv)
{
  g_auto (DataOptions) data_opts = { 0 };
  g_autofree char *project = NULL;
  int gap = 30, request_size = 10;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "project", 'P', 0, G_OPTION_ARG_FILENAME, &project, "The project file (created by this import when absent: whole, or not at all)", "PROJECT" },
    { "session-gap", 0, 0, G_OPTION_ARG_INT, &gap, "Minutes of inactivity that start a new session when the log has no session id (default 30)", "MIN" },
    { "request-size", 0, 0, G_OPTION_ARG_INT, &request_size, "Impressions per request when the log has no request id (default 10)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object on stdout", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("FILE - import an impression log into a project");
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *description = g_strdup_printf (
    "The whole import is one transaction: with --strict the first bad row stops it and nothing is kept; "
    "otherwise bad rows are skipped and recorded with line, column and reason. A file imported before "
    "(same sha256) is refused.\nRoles for --map:\n%s\n" EXIT_CODES_HELP, dlen_loader_roles_help);
  DlenImportOptions opts;
  DlenImportReport report;
  ImportProgress prog = { isatty (STDERR_FILENO), NULL };
  GStatBuf st;
  gboolean ok, created;

  g_option_context_add_main_entries (ctx, entries, NULL);
  add_data_options (ctx, &data_opts);
  g_option_context_set_description (ctx, description);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (ctx, "%s", error->message);
  if (argc != 2 || !project)
    return usage_error (ctx, "import needs --project PROJECT and one FILE");
  if (gap < 1 || request_size < 1)
    return usage_error (ctx, "--session-gap and --request-size must be >= 1");
  if (data_opts.history)
    return usage_error (ctx, "history features are always derived at import; --history-features is for train");
  /* A new project is made whole or not at all (dlen_store_import_new). */
  created = g_lstat (project, &st) != 0 && errno == ENOENT;
  if (!created && !(store = dlen_store_open (project, TRUE, &error)))
    return fail (g_steal_pointer (&error));
  dlen_import_options_init (&opts);
  opts.load = load_options (&data_opts);
  opts.session_gap_minutes = (guint) gap;
  opts.request_size = (guint) request_size;
  prog.cancellable = cancellable;
  signal (SIGINT, on_sigint);
  if (created)
    ok = dlen_store_import_new (project, argv[1], &opts, on_import_progress, &prog, cancellable, &report, &error);
  else
    ok = dlen_store_import (store, argv[1], &opts, on_import_progress, &prog, cancellable, &report, &error);
  if (prog.tty)
    g_printerr ("\r");
  if (!ok)
    {
      dlen_import_report_clear (&report);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_printerr ("dlen: import cancelled; %s\n", created ? "no project was created" : "the project is unchanged");
          return EXIT_CANCELLED;
        }
      return fail (g_steal_pointer (&error));
    }
  if (json)
    {
      g_autoptr (GString) s = g_string_new (NULL);
      g_string_append_printf (s, "{\"import_id\": %" G_GINT64_FORMAT ", \"rows_read\": %" G_GUINT64_FORMAT
                                 ", \"rows_accepted\": %" G_GUINT64_FORMAT ", \"rows_rejected\": %" G_GUINT64_FORMAT
                                 ", \"first_reject\": ", report.import_id, report.rows_read, report.rows_accepted,
                              report.rows_rejected);
      if (report.first_reject)
        dlen_json_string (s, report.first_reject);
      else
        g_string_append (s, "null");
      g_string_append (s, "}\n");
      fputs (s->str, stdout);
    }
  else
    {
      g_print ("import %" G_GINT64_FORMAT " into %s: %" G_GUINT64_FORMAT " rows read, %" G_GUINT64_FORMAT " accepted, %"
               G_GUINT64_FORMAT " rejected\n", report.import_id, project, report.rows_read, report.rows_accepted,
               report.rows_rejected);
      if (report.first_reject)
        g_print ("first rejected row: %s\n", report.first_reject);
    }
  dlen_import_report_clear (&report);
  return EXIT_OK;
}

static int
project_info (const char *path, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenStore) store = dlen_store_open (path, FALSE, &error);
  g_autofree char *text = NULL;
  if (!store || !(text = dlen_store_info_json (store, &error)))
    return fail (g_steal_pointer (&error));
  if (json)
    {
      g_print ("%s\n", text);
      return EXIT_OK;
    }
  {
    sqlite3 *db = dlen_store_db (store);
    sqlite3_stmt *st = NULL;
    static const char *const lines[][2] = {
      { "impressions", "SELECT count(*) FROM impressions" },
      { "users", "SELECT count(*) FROM users" },
      { "items", "SELECT count(*) FROM items" },
      { "sessions", "SELECT count(DISTINCT session) FROM impressions" },
      { "first day", "SELECT min(day) FROM impressions" },
      { "last day", "SELECT max(day) FROM impressions" },
      { "imports", "SELECT count(*) FROM imports" },
      { "rejected rows", "SELECT count(*) FROM import_rejects" },
      { "models", "SELECT count(*) FROM models" },
    };
    g_print ("%s\n", path);
    for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
      if (sqlite3_prepare_v2 (db, lines[i][1], -1, &st, NULL) == SQLITE_OK && sqlite3_step (st) == SQLITE_ROW)
        {
          g_print ("  %-14s %s\n", lines[i][0], sqlite3_column_text (st, 0) ? (const char *) sqlite3_column_text (st, 0) : "-");
          sqlite3_finalize (st);
        }
    if (sqlite3_prepare_v2 (db, "SELECT id, name, arch, created_ms FROM models ORDER BY id", -1, &st, NULL) == SQLITE_OK)
      {
        while (sqlite3_step (st) == SQLITE_ROW)
          g_print ("  model %-8s %s (%s)\n", sqlite3_column_text (st, 0), sqlite3_column_text (st, 1), sqlite3_column_text (st, 2));
        sqlite3_finalize (st);
      }
    g_print ("Label rates and import provenance: dlen info --json %s\n", path);
  }
  return EXIT_OK;
}

/* ---- dlen info -------------------------------------------------------------------------------- */

static int
cmd_info (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object on stdout", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL | PROJECT - describe a model file or a project");
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenModel) model = NULL;
  const DlenSchema *s;
  const DlenModelConfig *c;
  static const char *const pol[] = { "neutral", "positive", "negative" };

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx, EXIT_CODES_HELP);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (ctx, "%s", error->message);
  if (argc != 2)
    return usage_error (ctx, "info needs a MODEL file or a PROJECT");
  if (dlen_store_is_project_file (argv[1]))
    return project_info (argv[1], json);
  model = load_model (argv[1], &error);
  if (!model)
    return fail (g_steal_pointer (&error));
  s = dlen_model_schema (model);
  c = dlen_model_config (model);
  if (json)
    {
      g_autoptr (GString) o = g_string_new ("{\"arch\": ");
      dlen_json_string (o, dlen_arch_to_string (c->arch));
      g_string_append_printf (o, ", \"parameters\": %zu, \"emb_dim\": %u, \"shared_experts\": %u, \"task_experts\": %u, "
                                 "\"levels\": %u, \"categorical\": [",
                              dlen_model_n_params (model), c->emb_dim, c->shared_experts, c->task_experts, c->levels);
      for (uint32_t i = 0; i < s->n_cat; i++)
        {
          g_string_append (o, i ? ", {\"name\": " : "{\"name\": ");
          dlen_json_string (o, s->cat[i].name);
          g_string_append_printf (o, ", \"buckets\": %u}", s->cat[i].buckets);
        }
      g_string_append (o, "], \"numeric\": [");
      for (uint32_t i = 0; i < s->n_num; i++)
        {
          if (i)
            g_string_append (o, ", ");
          dlen_json_string (o, s->num[i].name);
        }
      g_string_append (o, "], \"targets\": [");
      for (uint32_t i = 0; i < s->n_targets; i++)
        {
          g_string_append (o, i ? ", {\"name\": " : "{\"name\": ");
          dlen_json_string (o, s->targets[i].name);
          g_string_append_printf (o, ", \"kind\": \"%s\", \"polarity\": \"%s\", \"weak_source\": %s}",
                                  s->targets[i].kind == DLEN_TARGET_BINARY ? "binary" : "duration",
                                  pol[s->targets[i].polarity], s->targets[i].weak_source ? "true" : "false");
        }
      g_string_append (o, "]}\n");
      fputs (o->str, stdout);
    }
  else
    {
      g_print ("%s: %s model, %zu parameters, embeddings of %u\n", argv[1], dlen_arch_to_string (c->arch),
               dlen_model_n_params (model), c->emb_dim);
      g_print ("categorical fields (%u):", s->n_cat);
      for (uint32_t i = 0; i < s->n_cat; i++)
        g_print (" %s[%u]", s->cat[i].name, s->cat[i].buckets);
      g_print ("\nnumeric fields (%u):", s->n_num);
      for (uint32_t i = 0; i < s->n_num; i++)
        g_print (" %s", s->num[i].name);
      g_print ("\ntargets (%u):", s->n_targets);
      for (uint32_t i = 0; i < s->n_targets; i++)
        g_print (" %s(%s%s)", s->targets[i].name,
                 s->targets[i].kind == DLEN_TARGET_BINARY ? pol[s->targets[i].polarity] : "duration",
                 s->targets[i].weak_source ? ", weak label" : "");
      g_print ("\n");
      for (const char *const *k = (const char *const[]) { "preset", "split_date", "user_features", NULL }; *k; k++)
        if (dlen_model_get_meta (model, *k))
          g_print ("%s: %s\n", *k, dlen_model_get_meta (model, *k));
    }
  return EXIT_OK;
}

/* ---- main ------------------------------------------------------------------------------------- */

static const struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "train", cmd_train, "train DLEN or a baseline on a log and report test metrics" },
  { "import", cmd_import, "import a log into a project (SQLite)" },
  { "eval", cmd_eval, "evaluate a saved model on a log or project" },
  { "predict", cmd_predict, "write per-row predictions of a saved model as CSV" },
  { "replay", cmd_replay, "replay fusion weights over a model's cached predictions" },
  { "trajectory", cmd_trajectory, "one user's latent emotion over time under a model" },
  { "generate", cmd_generate, "write a synthetic log with the true emotion" },
  { "info", cmd_info, "describe a model file" },
};

static void
print_usage (FILE *fp)
{
  fprintf (fp, "Usage: dlen COMMAND [OPTION...]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (fp, "\nRun 'dlen COMMAND --help' for a command's options.\n%s\n", EXIT_CODES_HELP);
}

static void
log_to_stderr (DlenLogLevel level, const char *message, void *user_data)
{
  (void) user_data;
  if (level >= DLEN_LOG_WARNING)
    g_printerr ("dlen: %s\n", message);
}

int
main (int argc, char **argv)
{
  g_set_prgname ("dlen");
  dlen_set_log_callback (log_to_stderr, NULL);
  if (argc < 2)
    {
      print_usage (stderr);
      return EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return EXIT_OK;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("dlen %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      {
        g_autofree char *prg = g_strdup_printf ("dlen %s", commands[i].name);
        g_set_prgname (prg);
        return commands[i].run (argc - 1, argv + 1);
      }
  g_printerr ("dlen: unknown command '%s'\n\n", argv[1]);
  print_usage (stderr);
  return EXIT_USAGE;
}
