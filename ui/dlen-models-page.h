/* dlen-models-page.h: the Models page of the workbench window. */
#pragma once

#include <adwaita.h>
#include "dlen-project.h"

G_BEGIN_DECLS

#define DLEN_TYPE_MODELS_PAGE (dlen_models_page_get_type ())
G_DECLARE_FINAL_TYPE (DlenModelsPage, dlen_models_page, DLEN, MODELS_PAGE, AdwBin)

/* The project shown ("project" property; NULL shows the page's empty state). The table is
 * reloaded on the project's "changed". */
void dlen_models_page_set_project (DlenModelsPage *page, DlenProject *project);
DlenProject *dlen_models_page_get_project (DlenModelsPage *page);

G_END_DECLS

G_BEGIN_DECLS
/* Writes the models table (every model, per-target AUC and GAUC) as CSV: one row per model in
 * id order, columns id, name, arch, created, then <target>_auc and <target>_gauc for every
 * binary target, <target>_rmse_log1p for durations, emotion_auc and true_emotion_auc when
 * any model has them. Missing values are empty fields. */
gboolean dlen_models_page_write_csv (DlenModelsPage *page, const char *path, GError **error);
/* Asks for a file name, then writes the CSV. */
void dlen_models_page_export_csv (DlenModelsPage *page);

/* The number of models in the table. */
guint dlen_models_page_get_n_models (DlenModelsPage *page);
/* Column titles of the table in order (NULL-terminated; free with g_strfreev). */
char **dlen_models_page_dup_column_titles (DlenModelsPage *page);
/* Whether the cell of model @model_id in the column titled @column is highlighted as the best
 * of its column. */
gboolean dlen_models_page_is_best (DlenModelsPage *page, gint64 model_id, const char *column);

/* Deletes a model and (by cascade) its cached predictions, without asking, on a thread with a
 * connection of its own (a model's millions of cached predictions take seconds); the page's
 * Delete stays off meanwhile. Then emits the project's "changed" and calls @done on the main
 * thread with the outcome (@error NULL on success). The Delete button asks first. */
typedef void (*DlenModelDeletedFunc) (DlenModelsPage *page, gint64 model_id, const GError *error, gpointer user_data);
void dlen_models_page_delete_model (DlenModelsPage *page, gint64 model_id, DlenModelDeletedFunc done, gpointer user_data);
/* Whether a deletion is under way. */
gboolean dlen_models_page_is_deleting (DlenModelsPage *page);

/* Signal "model-activated" (gint64 model_id): a row was double-clicked or activated with
 * Enter; the window shows that model on the Train page. */
G_END_DECLS
