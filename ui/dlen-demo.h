/* dlen-demo.h: the built-in demo project: a synthetic feed log, imported and with a small
 * trained DLEN model, made in a worker thread. */
#pragma once

#include "dlen-job.h"

G_BEGIN_DECLS

/* Where the demo project lives ($XDG_DATA_HOME/dlen-workbench/demo.dlen). */
char *dlen_demo_project_path (void);
/* TRUE when the demo project exists and holds a trained model. */
gboolean dlen_demo_project_ready (const char *path);
/* A job that builds the demo project at @path (written under a temporary name and renamed, so
 * a cancelled build leaves nothing behind). */
DlenJob *dlen_demo_job_new (const char *path);

G_END_DECLS
