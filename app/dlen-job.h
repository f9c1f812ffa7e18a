/* dlen-job.h: long work in a worker thread, with progress, events and cancel published to the
 * main loop. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DLEN_TYPE_JOB (dlen_job_get_type ())
G_DECLARE_FINAL_TYPE (DlenJob, dlen_job, DLEN, JOB, GObject)

/* Runs in the worker thread. It must not touch GTK; it reports through dlen_job_set_progress()
 * and dlen_job_push_event() and polls @cancellable. */
typedef gboolean (*DlenJobFunc) (DlenJob *job, gpointer data, GCancellable *cancellable, GError **error);

DlenJob *dlen_job_new (const char *title, DlenJobFunc func, gpointer data, GDestroyNotify destroy);
const char *dlen_job_get_title (DlenJob *job);

/* Starts the job on a worker thread; @callback runs on the calling thread's main context. */
void dlen_job_run_async (DlenJob *job, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean dlen_job_run_finish (DlenJob *job, GAsyncResult *result, GError **error);
void dlen_job_cancel (DlenJob *job);

/* Worker side: thread-safe. Progress is coalesced; events are queued and delivered in order. */
void dlen_job_set_progress (DlenJob *job, double fraction, const char *message);
void dlen_job_push_event (DlenJob *job, GVariant *event);

/* Main-thread side (properties "fraction", "message", "running", "eta-seconds"; signal
 * "event" (GVariant *) for every pushed event). ETA is -1 until it can be estimated. */
double dlen_job_get_fraction (DlenJob *job);
const char *dlen_job_get_message (DlenJob *job);
gboolean dlen_job_get_running (DlenJob *job);
double dlen_job_get_eta_seconds (DlenJob *job);

G_END_DECLS
