/* dlen-predictions.c: a stored model's predictions over its project, computed and cached. */
#include <string.h>
#include "dlen-error.h"
#include "dlen-predictions.h"
#include "dlen-store.h"

static void
report (DlenPredictionsProgress progress, gpointer user_data, double fraction, const char *message)
{
  if (progress)
    progress (fraction, message, user_data);
}

gboolean
dlen_cache_predictions (const char *project_path, gint64 model_id, DlenPredictionsProgress progress,
                        gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenModel) model = NULL;
  g_autoptr (DlenLoadedData) data = NULL;
  g_autoptr (GArray) ids = NULL;
  g_autofree float *pred = NULL;
  g_autofree size_t *rows = NULL;
  const size_t chunk = 32768;   /* predictions between progress reports and cancel checks */
  const DlenSchema *schema;
  char msg[128];
  guint width;
  gsize n;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  report (progress, user_data, 0.0, "Reading the model");
  store = dlen_store_open (project_path, FALSE, error);
  if (!store)
    return FALSE;
  dlen_store_set_cancellable (store, cancellable);
  model = dlen_store_load_model (store, model_id, error);
  if (!model)
    return FALSE;
  schema = dlen_model_schema (model);
  report (progress, user_data, 0.02, "Loading the project's impressions");
  data = dlen_store_load_dataset (store, dlen_schema_has_history (schema), schema, &ids, error);
  if (!data)
    return FALSE;
  n = dlen_dataset_n_rows (data->dataset);
  width = schema->n_targets + 1;
  pred = g_try_new (float, n * width + 1);
  rows = g_new (size_t, chunk);
  if (!pred)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_FAILED, "out of memory for %" G_GSIZE_FORMAT " predictions", n);
      return FALSE;
    }
  for (gsize i = 0; i < n; i += chunk)
    {
      gsize m = MIN (chunk, n - i);
      int st;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_snprintf (msg, sizeof msg, "Predicting %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " impressions", i, n);
      report (progress, user_data, 0.3 + 0.6 * (double) i / (double) n, msg);
      for (gsize j = 0; j < m; j++)
        rows[j] = i + j;
      if ((st = dlen_model_predict (model, data->dataset, rows, m, pred + i * width)) != DLEN_STATUS_OK)
        return dlen_set_error_from_status (error, st, "prediction");
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  report (progress, user_data, 0.92, "Caching the predictions in the project");
  return dlen_store_cache_predictions (store, model_id, ids, pred, width, error);
}
