/* dlen-data-page.h: the Data page of the workbench window: the project's summary, virtualised
 * tables of its impressions and rejected rows, and the import flow. */
#pragma once

#include <adwaita.h>
#include "dlen-job.h"
#include "dlen-project.h"

G_BEGIN_DECLS

#define DLEN_TYPE_DATA_PAGE (dlen_data_page_get_type ())
G_DECLARE_FINAL_TYPE (DlenDataPage, dlen_data_page, DLEN, DATA_PAGE, AdwBin)

/* The project shown ("project" property; NULL shows the page's empty state). The page follows
 * the project's "changed" signal. */
void dlen_data_page_set_project (DlenDataPage *page, DlenProject *project);
DlenProject *dlen_data_page_get_project (DlenDataPage *page);

/* Starts the import flow for @file (preview, mapping, then import) — from the menu, a file
 * chooser or a drop. Without a project, while an import runs, or when the file cannot be read
 * as a log, it explains why in the window instead. */
void dlen_data_page_import_file (DlenDataPage *page, GFile *file);
/* Asks for a log with a file chooser, then as dlen_data_page_import_file(). */
void dlen_data_page_choose_import (DlenDataPage *page);

/* ---- For tests and scripted use -------------------------------------------------------------- */

/* Imports @file through the page's own code path without dialogs: shows the preview as
 * dlen_data_page_import_file() does, then starts the same job as the Import button with
 * @preset ("kuairand", "synthetic", "generic"; NULL: guessed from the header), @maps (for
 * "generic": NULL-terminated "COLUMN=ROLE" entries, copied; NULL takes the role editor's
 * mapping, i.e. its guesses from the column names and first rows) and @strict. Emits
 * "import-finished" when done — with FALSE at once when the import cannot start (no project,
 * another import running, unreadable file; the reason is shown in the window). On success the
 * project's "changed" signal has been emitted and the import report is shown. */
void dlen_data_page_import_with_options (DlenDataPage *page, GFile *file, const char *preset,
                                         const char *const *maps, gboolean strict);

/* The running import job (its "fraction", "message" and "running" properties drive the progress
 * view; dlen_job_cancel() rolls the import back), or NULL. Signal "import-finished" (gboolean
 * success) follows its end. */
DlenJob *dlen_data_page_get_import_job (DlenDataPage *page);

/* The impressions table's model (DlenTableRow items: line, user, item, time, session, request,
 * then the project's fields and targets), the rejected rows table's (import, line, column,
 * reason; filtered as the view's import selector says) and the last import report's (that
 * import's rejected rows). NULL without a project (the report's: until an import with rejects
 * finished). Owned by the page; they are replaced when the project changes. */
GListModel *dlen_data_page_get_impressions_model (DlenDataPage *page);
GListModel *dlen_data_page_get_rejects_model (DlenDataPage *page);
GListModel *dlen_data_page_get_report_rejects_model (DlenDataPage *page);

/* The page's sub-view: "summary", "impressions", "rejects", "import" ("empty" without a
 * project); show_view returns FALSE for an unknown name or without a project. */
const char *dlen_data_page_get_view (DlenDataPage *page);
gboolean dlen_data_page_show_view (DlenDataPage *page, const char *name);

G_END_DECLS
