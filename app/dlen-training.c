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
  o->eval_rows = DLEN_TRAINING_EVAL_ROWS;
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
  DlenRows *rows;
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
  dlen_rows_set_phase (rs->rows, NULL);
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
dlen_training_run (DlenRows *rows, const DlenTrainingOptions *o, DlenTrainingResult *r, DlenModel **partial,
                   GError **error)
{
  g_autoptr (DlenModel) model = NULL;
  DlenTrainParams tp = o->params;
  RunState rs = { r, rows, o->params.progress, o->params.abort, o->params.user_data };
  guint64 counts[4];
  DlenMetrics mt;
  char day[16];
  int st;

  memset (r, 0, sizeof *r);
  r->true_emotion_auc = NAN;
  r->history = g_string_new ("[");
  r->test.n_targets = rows->schema.n_targets;
  if (partial)
    *partial = NULL;
  dlen_rows_set_phase (rows, "Counting days and distinct values");
  if (!dlen_rows_scan (rows, o->params.abort, o->params.user_data, error))
    return NULL;
  r->split_day = o->split_day;
  if (o->test_fraction > 0)
    r->split_day = dlen_rows_test_fraction_day (rows, o->test_fraction);
  if (!r->split_day)
    r->split_day = dlen_rows_default_split_day (rows);
  dlen_rows_set_phase (rows, "Placing the validation cut");
  if (!dlen_rows_split (rows, r->split_day, o->valid_fraction, counts, error))
    return NULL;
  dlen_rows_set_phase (rows, "Standardising the numeric fields");
  r->n_train = counts[DLEN_PART_TRAIN];
  r->n_valid = counts[DLEN_PART_VALID];
  r->n_test = counts[DLEN_PART_TEST];
  if (r->n_train == 0 || r->n_test == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                   "the split at %d leaves %zu training and %zu test rows; choose another split date",
                   r->split_day, r->n_train + r->n_valid, r->n_test);
      return NULL;
    }
  if ((st = dlen_model_open_blas ()) != DLEN_STATUS_OK
      || !(model = dlen_model_new (&rows->schema, &o->config)))
    {
      dlen_set_error_from_status (error, st != DLEN_STATUS_OK ? st : DLEN_STATUS_INVALID, "model");
      return NULL;
    }
  /* Validation and test scoring run on the training's threads too. */
  dlen_model_set_threads (model, o->params.threads);
  g_snprintf (day, sizeof day, "%d", r->split_day);
  dlen_model_set_meta (model, "preset", rows->preset);
  dlen_model_set_meta (model, "split_date", day);
  if (rows->data && rows->data->user_features)
    dlen_model_set_meta (model, "user_features", rows->data->user_features);
  if (rows->data && rows->data->item_features)
    dlen_model_set_meta (model, "item_features", rows->data->item_features);

  tp.progress = record_progress;
  tp.abort = forward_abort;
  tp.user_data = &rs;
  tp.max_eval_rows = o->eval_rows;
  st = dlen_model_train_source (model, &rows->source, &tp);
  dlen_rows_set_phase (rows, NULL);
  g_string_append (r->history, "]");
  if (st != DLEN_STATUS_OK)
    {
      dlen_rows_fail (rows, st, "training", error);
      if (partial && r->best_epoch && (st == DLEN_STATUS_CANCELLED || st == DLEN_STATUS_NONFINITE))
        *partial = g_steal_pointer (&model);
      return NULL;
    }
  dlen_rows_set_phase (rows, "Evaluating on the test split");
  if (!dlen_rows_evaluate (rows, model, DLEN_PART_TEST, r->n_test, o->eval_rows, o->params.abort,
                           o->params.user_data, &mt, error))
    return NULL;
  r->test = mt;
  r->true_emotion_auc = mt.true_emotion_auc;
  return g_steal_pointer (&model);
}

gboolean
dlen_training_evaluate (DlenRows *rows, DlenModel *model, gint32 split_day, guint64 eval_rows, DlenTrainingResult *r,
                        GError **error)
{
  guint64 counts[4];
  if (!dlen_rows_scan (rows, NULL, NULL, error))
    return FALSE;
  if (!split_day)
    split_day = dlen_rows_default_split_day (rows);
  if (!dlen_rows_split (rows, split_day, 0.0, counts, error))
    return FALSE;
  if (counts[DLEN_PART_TEST] == 0)
    {
      split_day = dlen_rows_test_fraction_day (rows, 0.15);
      if (!dlen_rows_split (rows, split_day, 0.0, counts, error))
        return FALSE;
    }
  r->split_day = split_day;
  r->n_test = counts[DLEN_PART_TEST];
  if (!dlen_rows_evaluate (rows, model, DLEN_PART_TEST, r->n_test, eval_rows, NULL, NULL, &r->test, error))
    return FALSE;
  r->true_emotion_auc = r->test.true_emotion_auc;
  return TRUE;
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
