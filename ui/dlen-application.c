/* dlen-application.c: startup (last project, first-run demo), --demo, --screenshot,
 * --exit-after-startup and --page, and the app-level actions. */
#include "config.h"

#include <glib/gstdio.h>
#include "dlen-application.h"
#include "dlen-demo.h"
#include "dlen-window.h"

struct _DlenApplication {
  AdwApplication parent_instance;
  gboolean demo;
  gboolean exit_after_startup;
  char *screenshot;
  char *page;
  gboolean pending_demo;      /* the screenshot waits for the demo project */
  gboolean first_frame_seen;
  gint64 capture_frame;       /* the frame after which the window is captured ... */
  gint64 capture_after_us;    /* ... and not before this time */
  AdwToast *preparing;        /* the "preparing the demo" toast, dismissed when it is ready */
};

G_DEFINE_FINAL_TYPE (DlenApplication, dlen_application, ADW_TYPE_APPLICATION)

static DlenWindow *
main_window (DlenApplication *self)
{
  GtkWindow *w = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (DLEN_IS_WINDOW (w))
    return DLEN_WINDOW (w);
  w = GTK_WINDOW (dlen_window_new (ADW_APPLICATION (self)));
  return DLEN_WINDOW (w);
}

/* Closes every window, so that their jobs are cancelled and their projects closed (no WAL left
 * beside a project); the application ends when the last one goes. */
static void
close_windows (GtkApplication *app)
{
  GList *windows = gtk_application_get_windows (app);
  for (GList *l = g_list_copy (windows); l; l = g_list_delete_link (l, l))
    gtk_window_close (l->data);
}

/* Runs once the window has drawn (and the demo, when asked for, is ready). */
static void
finish_startup (DlenApplication *self, DlenWindow *window)
{
  if (self->pending_demo || !self->first_frame_seen)
    return;
  if (self->screenshot)
    {
      g_autoptr (GError) error = NULL;
      if (!dlen_window_save_png (window, self->screenshot, &error))
        g_printerr ("dlen-workbench: %s\n", error->message);
      close_windows (GTK_APPLICATION (self));
    }
  else if (self->exit_after_startup)
    close_windows (GTK_APPLICATION (self));
}

static gboolean
on_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  DlenApplication *self = user_data;
  /* Ten frames and a quarter second after the request: a freshly opened project lays out its
   * pages over several frames, and a capture any earlier can catch the window between them. */
  if (self->capture_frame < 0)
    {
      self->capture_frame = gdk_frame_clock_get_frame_counter (clock) + 10;
      self->capture_after_us = g_get_monotonic_time () + 250000;
    }
  if (gdk_frame_clock_get_frame_counter (clock) < self->capture_frame || g_get_monotonic_time () < self->capture_after_us)
    return G_SOURCE_CONTINUE;
  self->first_frame_seen = TRUE;
  finish_startup (self, DLEN_WINDOW (widget));
  return G_SOURCE_REMOVE;
}

/* Captures (or quits) once the window has drawn its current content. */
static void
schedule_capture (DlenApplication *self, DlenWindow *window)
{
  self->capture_frame = -1;
  gtk_widget_add_tick_callback (GTK_WIDGET (window), on_tick, self, NULL);
  gtk_widget_queue_draw (GTK_WIDGET (window));
}

static void
demo_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DlenApplication *self = DLEN_APPLICATION (g_application_get_default ());
  DlenWindow *window = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = dlen_demo_project_path ();
  self->pending_demo = FALSE;
  if (self->preparing)
    adw_toast_dismiss (self->preparing);
  g_clear_object (&self->preparing);
  if (!dlen_job_run_finish (DLEN_JOB (source), result, &error))
    dlen_window_show_error (window, "Cannot Prepare the Demo Project", error);
  else if (dlen_window_open_path (window, path, FALSE))
    {
      GSettings *settings = g_settings_new ("org.dlen.Workbench");
      g_settings_set_boolean (settings, "demo-created", TRUE);
      g_object_unref (settings);
      if (!self->page)
        dlen_window_show_page (window, "models");
      dlen_window_toast (window, "The demo project is ready: a synthetic feed log with a trained DLEN model");
    }
  if (self->page)
    dlen_window_show_page (window, self->page);
  if (self->screenshot || self->exit_after_startup)
    schedule_capture (self, window);
  g_object_unref (window);
}

static void
open_demo (DlenApplication *self, DlenWindow *window)
{
  g_autofree char *path = dlen_demo_project_path ();
  g_autoptr (DlenJob) job = NULL;
  if (dlen_demo_project_ready (path))
    {
      dlen_window_open_path (window, path, FALSE);
      return;
    }
  self->pending_demo = TRUE;
  job = dlen_demo_job_new (path);
  self->preparing = g_object_ref (dlen_window_toast (window, "Preparing the demo project: a synthetic log and a small DLEN model…"));
  adw_toast_set_timeout (self->preparing, 0);
  dlen_window_run_job (window, job, demo_ready, g_object_ref (window));
}

static void
present (DlenApplication *self, DlenWindow *window)
{
  if (self->page && !dlen_window_show_page (window, self->page))
    g_printerr ("dlen-workbench: unknown page '%s' (data, train, models, emotions, fusion)\n", self->page);
  gtk_window_present (GTK_WINDOW (window));
  if ((self->screenshot || self->exit_after_startup) && !self->pending_demo)
    schedule_capture (self, window);
}

static void
dlen_application_activate (GApplication *app)
{
  DlenApplication *self = DLEN_APPLICATION (app);
  DlenWindow *window = main_window (self);
  g_autoptr (GSettings) settings = g_settings_new ("org.dlen.Workbench");
  g_autofree char *last = g_settings_get_string (settings, "last-project");

  if (self->demo || (!g_settings_get_boolean (settings, "demo-created") && !*last))
    open_demo (self, window);
  else if (*last && g_file_test (last, G_FILE_TEST_IS_REGULAR) && !dlen_window_get_project (window))
    dlen_window_open_path (window, last, FALSE);
  present (self, window);
}

static void
dlen_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  DlenApplication *self = DLEN_APPLICATION (app);
  DlenWindow *window = main_window (self);
  g_autofree char *path = g_file_get_path (files[0]);
  if (path && g_str_has_suffix (path, ".dlen"))
    dlen_window_open_path (window, path, !g_file_test (path, G_FILE_TEST_EXISTS));
  else if (path)
    {
      g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                              "%s is not a project (*.dlen); open a project, then import the log on the Data page",
                                              path);
      dlen_window_show_error (window, "Cannot Open the File", error);
    }
  present (self, window);
}

static int
dlen_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  DlenApplication *self = DLEN_APPLICATION (app);
  g_variant_dict_lookup (options, "demo", "b", &self->demo);
  g_variant_dict_lookup (options, "exit-after-startup", "b", &self->exit_after_startup);
  g_variant_dict_lookup (options, "screenshot", "^ay", &self->screenshot);
  g_variant_dict_lookup (options, "page", "s", &self->page);
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("dlen-workbench %s\n", PACKAGE_VERSION);
      return 0;
    }
  return -1;
}

static void
action_about (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkApplication *app = user_data;
  const char *developers[] = { "The DLEN Workbench developers", NULL };
  GtkWidget *about = adw_about_window_new ();
  g_object_set (about,
                "transient-for", gtk_application_get_active_window (app),
                "application-name", "DLEN Workbench",
                "application-icon", "applications-science",
                "version", PACKAGE_VERSION,
                "developers", developers,
                "license-type", GTK_LICENSE_GPL_3_0,
                "comments", "Train and analyse the Deep Latent Emotion Network (Zhang et al., 2021) on feed "
                            "impression logs: a latent “does this user truly like this item” emotion learnt beside "
                            "click, like, share, stay time and negative feedback.",
                NULL);
  adw_about_window_add_legal_section (ADW_ABOUT_WINDOW (about), "KuaiRand", "Gao et al., CIKM 2022 (used in tests)",
                                      GTK_LICENSE_CUSTOM, "CC BY-SA 4.0");
  gtk_window_present (GTK_WINDOW (about));
}

static void
action_demo (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  DlenApplication *self = user_data;
  DlenWindow *window = main_window (self);
  open_demo (self, window);
  gtk_window_present (GTK_WINDOW (window));
}

static void
action_quit (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  close_windows (user_data);
}

static void
dlen_application_startup (GApplication *app)
{
  static const GActionEntry actions[] = {
    { "about", action_about },
    { "demo", action_demo },
    { "quit", action_quit },
  };
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  G_APPLICATION_CLASS (dlen_application_parent_class)->startup (app);
  g_action_map_add_action_entries (G_ACTION_MAP (app), actions, G_N_ELEMENTS (actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", (const char *[]) { "<Control>q", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.show-help-overlay",
                                         (const char *[]) { "<Control>question", NULL });
  gtk_css_provider_load_from_resource (css, "/org/dlen/Workbench/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static void
dlen_application_finalize (GObject *object)
{
  DlenApplication *self = DLEN_APPLICATION (object);
  g_free (self->screenshot);
  g_free (self->page);
  G_OBJECT_CLASS (dlen_application_parent_class)->finalize (object);
}

static void
dlen_application_class_init (DlenApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  G_OBJECT_CLASS (klass)->finalize = dlen_application_finalize;
  app_class->activate = dlen_application_activate;
  app_class->open = dlen_application_open;
  app_class->startup = dlen_application_startup;
  app_class->handle_local_options = dlen_application_handle_local_options;
}

static void
dlen_application_init (DlenApplication *self)
{
  static const GOptionEntry entries[] = {
    { "demo", 0, 0, G_OPTION_ARG_NONE, NULL, "Open the demo project (built on first use: a synthetic log and a trained DLEN model)", NULL },
    { "page", 0, 0, G_OPTION_ARG_STRING, NULL, "Show this page: data, train, models, emotions, fusion", "NAME" },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version", NULL },
    { "exit-after-startup", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL, "Quit after the first frame", NULL },
    { "screenshot", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL, "Render the window to a PNG after the first frame, then quit", "PATH" },
    { NULL }
  };
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

DlenApplication *
dlen_application_new (void)
{
  return g_object_new (DLEN_TYPE_APPLICATION, "application-id", "org.dlen.Workbench",
                       "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
                       "resource-base-path", "/org/dlen/Workbench", NULL);
}
