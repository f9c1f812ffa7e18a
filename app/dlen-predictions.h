/* dlen-predictions.h: computing and caching a stored model's predictions in its project, for
 * worker threads (the workbench's "compute predictions" jobs). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Opens its own connection to the project at @project_path, loads model @model_id and every
 * impression, predicts them (every target and p_e) and replaces the model's cached predictions,
 * like `dlen predict PROJECT --model ID --no-csv`. Blocking: call it from a worker thread.
 * @cancellable is polled between the steps and by the store's long queries; a cancel leaves
 * the previous cache as it was (G_IO_ERROR_CANCELLED). */
/* Reports a fraction in [0, 1] and what is being done; called from the calling thread. */
typedef void (*DlenPredictionsProgress) (double fraction, const char *message, gpointer user_data);

gboolean dlen_cache_predictions (const char *project_path, gint64 model_id, DlenPredictionsProgress progress,
                                 gpointer user_data, GCancellable *cancellable, GError **error);

G_END_DECLS
