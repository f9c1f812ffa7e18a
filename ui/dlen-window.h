/* dlen-window.h: the workbench window: header bar, view switcher and pages, project handling,
 * background jobs, toasts and errors. */
#pragma once

#include <adwaita.h>
#include "dlen-job.h"
#include "dlen-project.h"

G_BEGIN_DECLS

#define DLEN_TYPE_WINDOW (dlen_window_get_type ())
G_DECLARE_FINAL_TYPE (DlenWindow, dlen_window, DLEN, WINDOW, AdwApplicationWindow)

DlenWindow *dlen_window_new (AdwApplication *application);

DlenProject *dlen_window_get_project (DlenWindow *window);
void dlen_window_set_project (DlenWindow *window, DlenProject *project);
/* Opens a project file, showing any error in the window. */
gboolean dlen_window_open_path (DlenWindow *window, const char *path, gboolean create);

/* Shows a page by name: data, train, models, emotions, fusion. */
gboolean dlen_window_show_page (DlenWindow *window, const char *name);

/* Runs @job for a page: the window tracks it and cancels it when it closes. @callback gets the
 * job as source object. */
void dlen_window_run_job (DlenWindow *window, DlenJob *job, GAsyncReadyCallback callback, gpointer user_data);
/* The cancellable of the window's jobs (cancelled when the window closes). */
GCancellable *dlen_window_get_cancellable (DlenWindow *window);
guint dlen_window_n_running_jobs (DlenWindow *window);

/* Shows a toast; returns it (owned by the overlay) so that a caller may dismiss it early. */
AdwToast *dlen_window_toast (DlenWindow *window, const char *message);
/* Shows an error with its reason in a dialog. */
void dlen_window_show_error (DlenWindow *window, const char *title, const GError *error);

/* Renders the window as it is now into a PNG file. */
gboolean dlen_window_save_png (DlenWindow *window, const char *path, GError **error);

/* The window of a widget inside it, or NULL. */
DlenWindow *dlen_window_of (GtkWidget *widget);

G_END_DECLS
