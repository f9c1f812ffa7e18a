/* dlen-project.h: an open project as a GObject for the workbench: its path, a main-thread store
 * connection, and a "changed" signal after imports and training. */
#pragma once

#include <gio/gio.h>
#include "dlen-store.h"

G_BEGIN_DECLS

#define DLEN_TYPE_PROJECT (dlen_project_get_type ())
G_DECLARE_FINAL_TYPE (DlenProject, dlen_project, DLEN, PROJECT, GObject)

/* Opens (or with @create, creates) the project file. */
DlenProject *dlen_project_open (const char *path, gboolean create, GError **error);
const char *dlen_project_get_path (DlenProject *project);
char *dlen_project_dup_title (DlenProject *project);   /* the file's basename */

/* The main thread's connection. Worker jobs open their own with dlen_store_open(). */
DlenStore *dlen_project_get_store (DlenProject *project);

/* Emits "changed" (after an import or a training run changed the project's contents). */
void dlen_project_changed (DlenProject *project);

/* Counts for summaries; -1 on failure. */
gint64 dlen_project_count (DlenProject *project, const char *table);
gint64 dlen_project_n_models (DlenProject *project);

G_END_DECLS
