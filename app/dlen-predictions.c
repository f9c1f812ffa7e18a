/* dlen-predictions.c: a stored model's predictions over its project, computed and cached. */
#include <string.h>
#include "dlen-error.h"
#include "dlen-predictions.h"
#include "dlen-store.h"

/* Models trained with --history-features carry the derived history among their numeric fields. */
static gboolean
uses_history (const DlenSchema *schema)
{
  for (uint32_t i = 0; schema && i < schema->n_num; i++)
    if (g_str_equal (schema->num[i].name, "hist_likes20"))
      return TRUE;
  return FALSE;
}

gboolean
dlen_cache_predictions (const char *project_path, gint64 model_id, GCancellable *cancellable, GError **error)
{
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenModel) model = NULL;
  g_autoptr (DlenLoadedData) data = NULL;
  g_autoptr (GArray) ids = NULL;
  g_autofree float *pred = NULL;
  const DlenSchema *schema;
  guint width;
  gsize n;
  int st;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  store = dlen_store_open (project_path, FALSE, error);
  if (!store)
    return FALSE;
  dlen_store_set_cancellable (store, cancellable);
  model = dlen_store_load_model (store, model_id, error);
  if (!model)
    return FALSE;
  schema = dlen_model_schema (model);
  data = dlen_store_load_dataset (store, uses_history (schema), schema, &ids, error);
  if (!data)
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  n = dlen_dataset_n_rows (data->dataset);
  width = schema->n_targets + 1;
  pred = g_try_new (float, n * width + 1);
  if (!pred)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_FAILED, "out of memory for %" G_GSIZE_FORMAT " predictions", n);
      return FALSE;
    }
  if ((st = dlen_model_predict (model, data->dataset, NULL, n, pred)) != DLEN_STATUS_OK)
    {
      dlen_set_error_from_status (error, st, "prediction");
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  return dlen_store_cache_predictions (store, model_id, ids, pred, width, error);
}
