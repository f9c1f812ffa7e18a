/* dlen-models-page.h: the Models page of the workbench window. */
#pragma once

#include <adwaita.h>
#include "dlen-project.h"

G_BEGIN_DECLS

#define DLEN_TYPE_MODELS_PAGE (dlen_models_page_get_type ())
G_DECLARE_FINAL_TYPE (DlenModelsPage, dlen_models_page, DLEN, MODELS_PAGE, AdwBin)

/* The project shown ("project" property; NULL shows the page's empty state). */
void dlen_models_page_set_project (DlenModelsPage *page, DlenProject *project);
DlenProject *dlen_models_page_get_project (DlenModelsPage *page);

G_END_DECLS

G_BEGIN_DECLS
/* Writes the models table (every model, per-target AUC and GAUC) as CSV. */
gboolean dlen_models_page_write_csv (DlenModelsPage *page, const char *path, GError **error);
/* Asks for a file name, then writes the CSV. */
void dlen_models_page_export_csv (DlenModelsPage *page);
G_END_DECLS
