/* dlen-training.c: a training run on loaded data, shared by the dlen tool and the workbench. */
#include <math.h>
#include <string.h>
#include "dlen-error.h"
#include "dlen-training.h"

void
dlen_training_options_init (DlenTrainingOptions *o, DlenArch arch)
{
  memset (o, 0, sizeof *o);
  o->config = dlen_model_config_default (arch);
  o->params = dlen_train_params_default ();
  o->valid_fraction = 0.1;
}

void
dlen_training_result_clear (DlenTrainingResult *r)
{
  if (r->history)
    g_string_free (r->history, TRUE);
  r->history = NULL;
}

/* ---- JSON output ----------------------------------------------------------------------- */

void
dlen_json_string (GString *s, const char *v)
{
  g_string_append_c (s, '"');
  for (const unsigned char *p = (const unsigned char *) v; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (s, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf (s, "\\u%04x", *p);
      else
        g_string_append_c (s, (char) *p);
    }
  g_string_append_c (s, '"');
}

void
dlen_json_number (GString *s, double v)
{
  if (isfinite (v))
    g_string_append_printf (s, "%.10g", v);
  else
    g_string_append (s, "null");
}

void
dlen_json_metrics (GString *s, const DlenSchema *schema, const DlenMetrics *mt)
{
  g_string_append (s, "{");
  for (uint32_t t = 0; t < schema->n_targets; t++)
    {
      const DlenTargetMetrics *tm = &mt->target[t];
      if (t)
        g_string_append (s, ", ");
      dlen_json_string (s, schema->targets[t].name);
      if (schema->targets[t].kind == DLEN_TARGET_BINARY)
        {
          g_string_append (s, ": {\"auc\": ");
          dlen_json_number (s, tm->auc);
          g_string_append (s, ", \"gauc\": ");
          dlen_json_number (s, tm->gauc);
          g_string_append (s, ", \"logloss\": ");
          dlen_json_number (s, tm->logloss);
          g_string_append (s, ", \"mean_predicted\": ");
          dlen_json_number (s, tm->mean_predicted);
          g_string_append (s, ", \"mean_observed\": ");
          dlen_json_number (s, tm->mean_observed);
        }
      else
        {
          g_string_append (s, ": {\"rmse_log1p\": ");
          dlen_json_number (s, tm->rmse);
        }
      g_string_append_printf (s, ", \"n\": %" G_GUINT64_FORMAT "}", (guint64) tm->n);
    }
  g_string_append (s, "}");
}

/* AUC of p_e against the true emotion of synthetic rows. */
double
dlen_true_emotion_auc (DlenModel *model, const DlenLoadedData *data, const size_t *rows, size_t n, GError **error)
{
  const DlenSchema *s = dlen_model_schema (model);
  uint32_t w = s->n_targets + 1;
  g_autofree float *pred = NULL, *pe = NULL, *truth = NULL;
  int st;
  if (!data->truth || dlen_model_config (model)->arch != DLEN_ARCH_DLEN)
    return NAN;
  pred = g_new (float, n * w + 1);
  pe = g_new (float, n + 1);
  truth = g_new (float, n + 1);
  if ((st = dlen_model_predict (model, data->dataset, rows, n, pred)) != DLEN_STATUS_OK)
    {
      dlen_set_error_from_status (error, st, "prediction");
      return NAN;
    }
  for (size_t i = 0; i < n; i++)
    {
      pe[i] = pred[i * w + s->n_targets];
      truth[i] = g_array_index (data->truth, float, rows ? rows[i] : i);
    }
  return dlen_auc (pe, truth, n);
}

/* Test metrics of @rows and, for synthetic logs, p_e against the true emotion. */
gboolean
dlen_evaluate_rows (DlenModel *model, const DlenLoadedData *data, const size_t *rows, size_t n,
               DlenMetrics *mt, double *true_auc, GError **error)
{
  int st = dlen_model_evaluate (model, data->dataset, rows, n, mt);
  if (st != DLEN_STATUS_OK)
    return dlen_set_error_from_status (error, st, "evaluation");
  *true_auc = dlen_true_emotion_auc (model, data, rows, n, error);
  return *error == NULL;
}

/* The emotion members of a result object: emotion_auc for DLEN, true_emotion_auc when known. */
void
dlen_json_emotion (GString *s, const DlenModel *model, const DlenMetrics *mt, double true_auc)
{
  if (dlen_model_config (model)->arch == DLEN_ARCH_DLEN)
    {
      g_string_append (s, ", \"emotion_auc\": ");
      dlen_json_number (s, mt->emotion_auc);
    }
  if (!isnan (true_auc))
    {
      g_string_append (s, ", \"true_emotion_auc\": ");
      dlen_json_number (s, true_auc);
    }
}


/* The engine has one user_data for both callbacks; the run keeps the caller's here. */
typedef struct {
  DlenTrainingResult *result;
  DlenProgressFunc forward;
  DlenAbortFunc abort;
  void *forward_data;
} RunState;

static int
forward_abort (void *user_data)
{
  RunState *rs = user_data;
  return rs->abort && rs->abort (rs->forward_data);
}

static void
record_progress (const DlenProgress *p, void *user_data)
{
  RunState *rs = user_data;
  DlenTrainingResult *r = rs->result;
  r->samples_per_second = p->samples_per_second;
  if (p->epoch_done)
    {
      if (p->best)
        r->best_epoch = p->epoch;
      if (r->history->len > 1)
        g_string_append (r->history, ", ");
      g_string_append_printf (r->history, "{\"epoch\": %u, \"train_loss\": ", p->epoch);
      dlen_json_number (r->history, p->train_loss);
      g_string_append (r->history, ", \"valid_mean_auc\": ");
      dlen_json_number (r->history, p->valid_score);
      g_string_append (r->history, ", \"valid_emotion_auc\": ");
      dlen_json_number (r->history, p->emotion_auc);
      g_string_append (r->history, ", \"valid_auc\": {");
      for (uint32_t t = 0; t < r->test.n_targets; t++)
        {
          if (t)
            g_string_append (r->history, ", ");
          g_string_append_printf (r->history, "\"%u\": ", t);
          dlen_json_number (r->history, p->valid_auc[t]);
        }
      g_string_append (r->history, "}}");
    }
  if (rs->forward)
    rs->forward (p, rs->forward_data);
}

DlenModel *
dlen_training_run (DlenLoadedData *data, const DlenTrainingOptions *o, DlenTrainingResult *r,
                   DlenModel **partial, GError **error)
{
  g_auto (DlenSplit) split = { 0 };
  g_autoptr (DlenModel) model = NULL;
  DlenTrainParams tp = o->params;
  RunState rs = { r, o->params.progress, o->params.abort, o->params.user_data };
  char day[16];
  int st;

  memset (r, 0, sizeof *r);
  r->true_emotion_auc = NAN;
  r->history = g_string_new ("[");
  r->test.n_targets = dlen_dataset_schema (data->dataset)->n_targets;
  if (partial)
    *partial = NULL;
  r->split_day = o->split_day;
  if (o->test_fraction > 0)
    r->split_day = dlen_dataset_day_quantile (data->dataset, 1.0 - o->test_fraction);
  if (!r->split_day)
    r->split_day = data->default_split_day;
  st = dlen_dataset_split (data->dataset, r->split_day, o->valid_fraction, &split);
  if (st != DLEN_STATUS_OK)
    {
      dlen_set_error_from_status (error, st, "split");
      return NULL;
    }
  r->n_train = split.n_train;
  r->n_valid = split.n_valid;
  r->n_test = split.n_test;
  if (split.n_train == 0 || split.n_test == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                   "the split at %d leaves %zu training and %zu test rows; choose another split date",
                   r->split_day, split.n_train + split.n_valid, split.n_test);
      return NULL;
    }
  model = dlen_model_new (dlen_dataset_schema (data->dataset), &o->config);
  if (!model)
    {
      dlen_set_error_from_status (error, DLEN_STATUS_INVALID, "model");
      return NULL;
    }
  /* Validation and test scoring run on the training's threads too. */
  dlen_model_set_threads (model, o->params.threads);
  g_snprintf (day, sizeof day, "%d", r->split_day);
  dlen_model_set_meta (model, "preset", data->preset);
  dlen_model_set_meta (model, "split_date", day);
  if (data->user_features)
    dlen_model_set_meta (model, "user_features", data->user_features);

  tp.progress = record_progress;
  tp.abort = forward_abort;
  tp.user_data = &rs;
  st = dlen_model_train (model, data->dataset, split.train, split.n_train, split.valid, split.n_valid, &tp);
  g_string_append (r->history, "]");
  if (st != DLEN_STATUS_OK)
    {
      dlen_set_error_from_status (error, st, "training");
      if (partial && r->best_epoch && (st == DLEN_STATUS_CANCELLED || st == DLEN_STATUS_NONFINITE))
        *partial = g_steal_pointer (&model);
      return NULL;
    }
  if (!dlen_evaluate_rows (model, data, split.test, split.n_test, &r->test, &r->true_emotion_auc, error))
    return NULL;
  return g_steal_pointer (&model);
}

char *
dlen_training_metrics_json (DlenModel *model, const DlenTrainingResult *r)
{
  GString *s = g_string_new ("{\"test\": ");
  dlen_json_metrics (s, dlen_model_schema (model), &r->test);
  dlen_json_emotion (s, model, &r->test, r->true_emotion_auc);
  g_string_append_printf (s, ", \"split_date\": %d, \"test_rows\": %zu, \"best_epoch\": %u}", r->split_day, r->n_test,
                          r->best_epoch);
  return g_string_free (s, FALSE);
}

gint64
dlen_training_store (DlenStore *store, DlenModel *model, const DlenTrainingResult *r, GError **error)
{
  g_autofree char *metrics = dlen_training_metrics_json (model, r);
  g_autofree char *name = g_strdup_printf ("%s, seed %llu", dlen_arch_to_string (dlen_model_config (model)->arch),
                                           (unsigned long long) dlen_model_config (model)->seed);
  return dlen_store_add_model (store, model, name, metrics, r->history->str, error);
}
