/* dlen-train-page.h: the Train page of the workbench window. */
#pragma once

#include <adwaita.h>
#include "dlen-project.h"

G_BEGIN_DECLS

#define DLEN_TYPE_TRAIN_PAGE (dlen_train_page_get_type ())
G_DECLARE_FINAL_TYPE (DlenTrainPage, dlen_train_page, DLEN, TRAIN_PAGE, AdwBin)

/* The project shown ("project" property; NULL shows the page's empty state). */
void dlen_train_page_set_project (DlenTrainPage *page, DlenProject *project);
DlenProject *dlen_train_page_get_project (DlenTrainPage *page);

G_END_DECLS

G_BEGIN_DECLS
/* Starts training with the page's settings (as the Start button does); FALSE when it cannot
 * (no project, or a run in progress). */
gboolean dlen_train_page_start (DlenTrainPage *page);
void dlen_train_page_cancel (DlenTrainPage *page);
gboolean dlen_train_page_is_running (DlenTrainPage *page);
G_END_DECLS
