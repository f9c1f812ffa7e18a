/* dlen-predictions.c: a model's predictions over a project, streamed and cached. */
#include <string.h>
#include "dlen-error.h"
#include "dlen-predictions.h"

static void
report (DlenPredictionsProgress progress, gpointer user_data, double fraction, const char *message)
{
  if (progress)
    progress (fraction, message, user_data);
}

gboolean
dlen_predict_project (DlenStore *store, DlenModel *model, gint64 cache_model_id, DlenPredictionsSink sink,
                      gpointer sink_data, DlenPredictionsProgress progress, gpointer user_data,
                      GCancellable *cancellable, GError **error)
{
  const DlenSchema *schema = dlen_model_schema (model);
  g_autoptr (DlenStoreReader) reader = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GArray) lines = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree float *pred = NULL;
  DlenDataset *ds = NULL;
  guint width = schema->n_targets + 1;
  gboolean in_txn = FALSE, ok = FALSE;
  gsize n_chunks;
  char msg[128];

  dlen_store_set_cancellable (store, cancellable);
  reader = dlen_store_reader_new (store, dlen_schema_has_history (schema), schema, error);
  if (!reader)
    goto out;
  n_chunks = dlen_store_reader_n_chunks (reader);
  ds = dlen_dataset_new (schema);
  pred = g_new (float, (gsize) DLEN_CHUNK_ROWS * width);
  if (cache_model_id > 0)
    {
      if (!dlen_store_predictions_begin (store, cache_model_id, error))
        goto out;
      in_txn = TRUE;
    }
  for (gsize c = 0; c < n_chunks; c++)
    {
      int st;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      g_snprintf (msg, sizeof msg, "Predicting part %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, c + 1, n_chunks);
      report (progress, user_data, 0.05 + 0.9 * (double) c / (double) n_chunks, msg);
      dlen_dataset_clear (ds);
      g_array_set_size (ids, 0);
      g_array_set_size (lines, 0);
      if (!dlen_store_reader_read (reader, c, ds, ids, lines, error))
        goto out;
      if (ids->len == 0)
        continue;
      if ((st = dlen_model_predict (model, ds, NULL, ids->len, pred)) != DLEN_STATUS_OK)
        {
          dlen_set_error_from_status (error, st, "prediction");
          goto out;
        }
      if (in_txn && !dlen_store_predictions_add (store, cache_model_id, ids, pred, width, error))
        goto out;
      if (sink && !sink (ids, lines, pred, width, sink_data, error))
        goto out;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto out;
  ok = TRUE;
out:
  if (in_txn)
    {
      report (progress, user_data, 0.97, "Caching the predictions in the project");
      ok = dlen_store_predictions_end (store, ok, ok ? error : NULL) && ok;
    }
  dlen_store_set_cancellable (store, NULL);
  dlen_dataset_free (ds);
  return ok;
}

gboolean
dlen_cache_predictions (const char *project_path, gint64 model_id, DlenPredictionsProgress progress,
                        gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenModel) model = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  report (progress, user_data, 0.0, "Reading the model");
  store = dlen_store_open (project_path, FALSE, error);
  if (!store)
    return FALSE;
  model = dlen_store_load_model (store, model_id, error);
  if (!model)
    return FALSE;
  /* Every core: the predictions do not depend on the number of scoring threads. */
  dlen_model_set_threads (model, MIN (g_get_num_processors (), 8));
  return dlen_predict_project (store, model, model_id, NULL, NULL, progress, user_data, cancellable, error);
}
