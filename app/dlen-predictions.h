/* dlen-predictions.h: a model's predictions over a project's impressions, streamed chunk by
 * chunk, optionally cached in the project (the workbench's "compute predictions" jobs, `dlen
 * predict`, the demo). */
#pragma once

#include <gio/gio.h>
#include "dlen-store.h"

G_BEGIN_DECLS

/* Reports a fraction in [0, 1] and what is being done; called from the calling thread. */
typedef void (*DlenPredictionsProgress) (double fraction, const char *message, gpointer user_data);

/* Receives one chunk: impression ids and source lines (guint64) and their predictions
 * ([rows x width]: every target, then p_e). Returns FALSE with @error to stop. */
typedef gboolean (*DlenPredictionsSink) (const GArray *ids, const GArray *lines, const float *pred, guint width,
                                         gpointer user_data, GError **error);

/* Predicts every impression of @store with @model, chunk by chunk (memory holds one chunk), hands
 * each chunk to @sink (may be NULL) and, when @cache_model_id > 0, replaces that model's cached
 * predictions in one transaction. @cancellable is polled between chunks and by the store's
 * queries; a cancel or failure leaves the previous cache as it was. */
gboolean dlen_predict_project (DlenStore *store, DlenModel *model, gint64 cache_model_id, DlenPredictionsSink sink,
                               gpointer sink_data, DlenPredictionsProgress progress, gpointer user_data,
                               GCancellable *cancellable, GError **error);

/* Opens its own connection to the project at @project_path, loads model @model_id and caches its
 * predictions of every impression, like `dlen predict PROJECT --model ID --no-csv`. Blocking:
 * call it from a worker thread. A cancel leaves the previous cache (G_IO_ERROR_CANCELLED). */
gboolean dlen_cache_predictions (const char *project_path, gint64 model_id, DlenPredictionsProgress progress,
                                 gpointer user_data, GCancellable *cancellable, GError **error);

G_END_DECLS
