/* dlen-job.c: a job runs a function on a worker thread; progress gathered under a mutex is
 * published to the main loop by one idle at a time. */
#include "dlen-job.h"

struct _DlenJob {
  GObject parent_instance;
  char *title;
  DlenJobFunc func;
  gpointer data;
  GDestroyNotify destroy;
  GCancellable *cancellable;      /* this run's own: dlen_job_cancel() stops this job only */
  GCancellable *parent;           /* the caller's, which cancels ours (e.g. a window's jobs) */
  gulong parent_handler;
  GMainContext *context;

  /* Shared with the worker, under lock. */
  GMutex lock;
  double pending_fraction;
  char *pending_message;
  GQueue events;
  guint idle_id;

  /* Main thread. */
  double fraction;
  char *message;
  gboolean running;
  gint64 started_us;
  double eta;
};

enum { PROP_0, PROP_FRACTION, PROP_MESSAGE, PROP_RUNNING, PROP_ETA_SECONDS, N_PROPS };
enum { SIGNAL_EVENT, N_SIGNALS };
static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DlenJob, dlen_job, G_TYPE_OBJECT)

static void
dlen_job_finalize (GObject *object)
{
  DlenJob *self = DLEN_JOB (object);
  if (self->destroy)
    self->destroy (self->data);
  g_free (self->title);
  g_free (self->message);
  g_free (self->pending_message);
  g_queue_clear_full (&self->events, (GDestroyNotify) g_variant_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->parent);
  if (self->context)
    g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (dlen_job_parent_class)->finalize (object);
}

static void
dlen_job_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenJob *self = DLEN_JOB (object);
  switch (prop_id)
    {
    case PROP_FRACTION: g_value_set_double (value, self->fraction); break;
    case PROP_MESSAGE: g_value_set_string (value, self->message); break;
    case PROP_RUNNING: g_value_set_boolean (value, self->running); break;
    case PROP_ETA_SECONDS: g_value_set_double (value, self->eta); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_job_class_init (DlenJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = dlen_job_finalize;
  object_class->get_property = dlen_job_get_property;
  props[PROP_FRACTION] = g_param_spec_double ("fraction", NULL, NULL, 0, 1, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_MESSAGE] = g_param_spec_string ("message", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_ETA_SECONDS] = g_param_spec_double ("eta-seconds", NULL, NULL, -1, G_MAXDOUBLE, -1,
                                                 G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
  signals[SIGNAL_EVENT] = g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 1, G_TYPE_VARIANT);
}

static void
dlen_job_init (DlenJob *self)
{
  g_mutex_init (&self->lock);
  g_queue_init (&self->events);
  self->eta = -1;
}

DlenJob *
dlen_job_new (const char *title, DlenJobFunc func, gpointer data, GDestroyNotify destroy)
{
  DlenJob *self = g_object_new (DLEN_TYPE_JOB, NULL);
  self->title = g_strdup (title);
  self->func = func;
  self->data = data;
  self->destroy = destroy;
  return self;
}

const char *dlen_job_get_title (DlenJob *self) { return self->title; }
double dlen_job_get_fraction (DlenJob *self) { return self->fraction; }
const char *dlen_job_get_message (DlenJob *self) { return self->message; }
gboolean dlen_job_get_running (DlenJob *self) { return self->running; }
double dlen_job_get_eta_seconds (DlenJob *self) { return self->eta; }

/* Main thread: takes what the worker left and publishes it. */
static gboolean
publish (gpointer user_data)
{
  DlenJob *self = user_data;
  GQueue events = G_QUEUE_INIT;
  double fraction;
  char *message;
  g_mutex_lock (&self->lock);
  self->idle_id = 0;
  fraction = self->pending_fraction;
  message = g_steal_pointer (&self->pending_message);
  events = self->events;
  g_queue_init (&self->events);
  g_mutex_unlock (&self->lock);

  g_object_freeze_notify (G_OBJECT (self));
  if (fraction != self->fraction)
    {
      double elapsed = (g_get_monotonic_time () - self->started_us) / 1e6;
      self->fraction = fraction;
      self->eta = fraction > 0.02 && elapsed > 0.5 ? elapsed * (1.0 - fraction) / fraction : -1;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FRACTION]);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ETA_SECONDS]);
    }
  if (message)
    {
      g_free (self->message);
      self->message = message;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MESSAGE]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  while (!g_queue_is_empty (&events))
    {
      GVariant *ev = g_queue_pop_head (&events);
      g_signal_emit (self, signals[SIGNAL_EVENT], 0, ev);
      g_variant_unref (ev);
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_publish_locked (DlenJob *self)
{
  if (self->idle_id == 0 && self->context)
    {
      GSource *source = g_idle_source_new ();
      /* Low priority: progress never starves input or drawing. */
      g_source_set_priority (source, G_PRIORITY_LOW);
      g_source_set_callback (source, publish, g_object_ref (self), g_object_unref);
      self->idle_id = g_source_attach (source, self->context);
      g_source_unref (source);
    }
}

void
dlen_job_set_progress (DlenJob *self, double fraction, const char *message)
{
  g_mutex_lock (&self->lock);
  self->pending_fraction = CLAMP (fraction, 0.0, 1.0);
  if (message)
    {
      g_free (self->pending_message);
      self->pending_message = g_strdup (message);
    }
  schedule_publish_locked (self);
  g_mutex_unlock (&self->lock);
}

void
dlen_job_push_event (DlenJob *self, GVariant *event)
{
  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->events, g_variant_ref_sink (event));
  schedule_publish_locked (self);
  g_mutex_unlock (&self->lock);
}

static void
run_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  DlenJob *self = source;
  GError *error = NULL;
  if (self->func (self, self->data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error ? error : g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "the job failed"));
}

static void
set_running (DlenJob *self, gboolean running)
{
  self->running = running;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RUNNING]);
}

static void
job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *outer = user_data;
  DlenJob *self = DLEN_JOB (source);
  GError *error = NULL;
  if (self->parent)
    {
      g_cancellable_disconnect (self->parent, self->parent_handler);
      self->parent_handler = 0;
      g_clear_object (&self->parent);
    }
  /* Deliver what the worker published last before saying the job ended. */
  publish (self);
  set_running (self, FALSE);
  if (g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_boolean (outer, TRUE);
  else
    g_task_return_error (outer, error);
  g_object_unref (outer);
}

static void
cancel_own (GCancellable *parent, gpointer own)
{
  g_cancellable_cancel (own);
}

void
dlen_job_run_async (DlenJob *self, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *outer = g_task_new (self, cancellable, callback, user_data);
  GTask *inner;
  g_task_set_check_cancellable (outer, FALSE);
  g_return_if_fail (!self->running);
  g_clear_object (&self->cancellable);
  /* The job gets its own cancellable, cancelled with the caller's: cancelling one job must not
   * cancel the shared one (a window's), which would stop its other and later jobs too. */
  self->cancellable = g_cancellable_new ();
  if (cancellable)
    {
      self->parent = g_object_ref (cancellable);
      self->parent_handler = g_cancellable_connect (cancellable, G_CALLBACK (cancel_own),
                                                    self->cancellable, NULL);
    }
  self->context = g_main_context_ref_thread_default ();
  self->started_us = g_get_monotonic_time ();
  set_running (self, TRUE);
  inner = g_task_new (self, self->cancellable, job_done, outer);
  g_task_set_return_on_cancel (inner, FALSE);
  /* The worker decides the outcome: one that stored its best epoch on cancel returns TRUE. */
  g_task_set_check_cancellable (inner, FALSE);
  g_task_run_in_thread (inner, run_in_thread);
  g_object_unref (inner);
}

gboolean
dlen_job_run_finish (DlenJob *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
dlen_job_cancel (DlenJob *self)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
}
