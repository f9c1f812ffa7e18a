/* dlen-data-page.h: the Data page of the workbench window. */
#pragma once

#include <adwaita.h>
#include "dlen-project.h"

G_BEGIN_DECLS

#define DLEN_TYPE_DATA_PAGE (dlen_data_page_get_type ())
G_DECLARE_FINAL_TYPE (DlenDataPage, dlen_data_page, DLEN, DATA_PAGE, AdwBin)

/* The project shown ("project" property; NULL shows the page's empty state). */
void dlen_data_page_set_project (DlenDataPage *page, DlenProject *project);
DlenProject *dlen_data_page_get_project (DlenDataPage *page);

G_END_DECLS

G_BEGIN_DECLS
/* Starts the import flow for @file (preview, mapping, then import) — from the menu, a file
 * chooser or a drop. */
void dlen_data_page_import_file (DlenDataPage *page, GFile *file);
/* Asks for a log with a file chooser, then as dlen_data_page_import_file(). */
void dlen_data_page_choose_import (DlenDataPage *page);
G_END_DECLS
