/* dlen-window.c: the workbench window: pages, project open/new/recent, drag and drop, jobs,
 * toasts, errors, window state and PNG rendering. */
#include "dlen-output.h"
#include "config.h"

#include "dlen-data-page.h"
#include "dlen-emotions-page.h"
#include "dlen-fusion-page.h"
#include "dlen-models-page.h"
#include "dlen-train-page.h"
#include "dlen-window.h"

struct _DlenWindow {
  AdwApplicationWindow parent_instance;

  /* Template widgets */
  AdwToastOverlay *toast_overlay;
  AdwViewStack *stack;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewSwitcherBar *switcher_bar;
  DlenDataPage *data_page;
  DlenTrainPage *train_page;
  DlenModelsPage *models_page;
  DlenEmotionsPage *emotions_page;
  DlenFusionPage *fusion_page;
  GMenu *recent_menu;

  /* Owned */
  DlenProject *project;
  GSettings *settings;
  GCancellable *cancellable;
  guint running_jobs;
};

enum { PROP_0, PROP_PROJECT, N_PROPS };
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (DlenWindow, dlen_window, ADW_TYPE_APPLICATION_WINDOW)

DlenWindow *
dlen_window_of (GtkWidget *widget)
{
  GtkRoot *root = gtk_widget_get_root (widget);
  return DLEN_IS_WINDOW (root) ? DLEN_WINDOW (root) : NULL;
}

DlenWindow *
dlen_window_new (AdwApplication *application)
{
  return g_object_new (DLEN_TYPE_WINDOW, "application", application, NULL);
}

DlenProject *dlen_window_get_project (DlenWindow *self) { return self->project; }
GCancellable *dlen_window_get_cancellable (DlenWindow *self) { return self->cancellable; }
guint dlen_window_n_running_jobs (DlenWindow *self) { return self->running_jobs; }

AdwToast *
dlen_window_toast (DlenWindow *self, const char *message)
{
  AdwToast *toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 4);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
  return toast;
}

void
dlen_window_show_error (DlenWindow *self, const char *title, const GError *error)
{
  GtkWidget *dialog;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      dlen_window_toast (self, "Cancelled");
      return;
    }
  dialog = adw_message_dialog_new (GTK_WINDOW (self), title, error ? error->message : NULL);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", "_Close");
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Pages -------------------------------------------------------------------------------- */

gboolean
dlen_window_show_page (DlenWindow *self, const char *name)
{
  if (!name || !adw_view_stack_get_child_by_name (self->stack, name))
    return FALSE;
  adw_view_stack_set_visible_child_name (self->stack, name);
  return TRUE;
}

static void
add_recent (DlenWindow *self, const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autofree char *uri = g_file_get_uri (file);
  gtk_recent_manager_add_item (gtk_recent_manager_get_default (), uri);
}

static void
rebuild_recent_menu (DlenWindow *self)
{
  GList *items = gtk_recent_manager_get_items (gtk_recent_manager_get_default ());
  guint n = 0;
  g_menu_remove_all (self->recent_menu);
  for (GList *l = items; l && n < 8; l = l->next)
    {
      GtkRecentInfo *info = l->data;
      const char *uri = gtk_recent_info_get_uri (info);
      g_autoptr (GFile) file = g_file_new_for_uri (uri);
      g_autofree char *path = g_file_get_path (file);
      g_autofree char *label = NULL;
      g_autoptr (GMenuItem) item = NULL;
      if (!path || !g_str_has_suffix (path, ".dlen") || !g_file_test (path, G_FILE_TEST_EXISTS))
        continue;
      label = g_path_get_basename (path);
      item = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target (item, "win.open-recent", "s", path);
      g_menu_append_item (self->recent_menu, item);
      n++;
    }
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);
  if (n == 0)
    {
      g_autoptr (GMenuItem) item = g_menu_item_new ("No Recent Projects", "win.none");
      g_menu_append_item (self->recent_menu, item);
    }
}

void
dlen_window_set_project (DlenWindow *self, DlenProject *project)
{
  g_autofree char *title = NULL;
  if (!g_set_object (&self->project, project))
    return;
  dlen_data_page_set_project (self->data_page, project);
  dlen_train_page_set_project (self->train_page, project);
  dlen_models_page_set_project (self->models_page, project);
  dlen_emotions_page_set_project (self->emotions_page, project);
  dlen_fusion_page_set_project (self->fusion_page, project);
  if (project)
    {
      title = dlen_project_dup_title (project);
      adw_view_switcher_title_set_subtitle (self->switcher_title, title);
      g_settings_set_string (self->settings, "last-project", dlen_project_get_path (project));
      add_recent (self, dlen_project_get_path (project));
    }
  else
    adw_view_switcher_title_set_subtitle (self->switcher_title, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROJECT]);
}

gboolean
dlen_window_open_path (DlenWindow *self, const char *path, gboolean create)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenProject) project = dlen_project_open (path, create, &error);
  if (!project)
    {
      dlen_window_show_error (self, create ? "Cannot Create the Project" : "Cannot Open the Project", error);
      return FALSE;
    }
  dlen_window_set_project (self, project);
  return TRUE;
}

/* ---- Jobs ------------------------------------------------------------------------------------ */

typedef struct {
  DlenWindow *window;
  GAsyncReadyCallback callback;
  gpointer user_data;
} JobClosure;

static void
job_finished (GObject *source, GAsyncResult *result, gpointer data)
{
  JobClosure *c = data;
  GApplication *app = g_application_get_default ();
  c->window->running_jobs--;
  if (c->callback)
    c->callback (source, result, c->user_data);
  g_object_unref (c->window);
  g_free (c);
  if (app)
    g_application_release (app);
}

void
dlen_window_run_job (DlenWindow *self, DlenJob *job, GAsyncReadyCallback callback, gpointer user_data)
{
  JobClosure *c = g_new0 (JobClosure, 1);
  GApplication *app = g_application_get_default ();
  c->window = g_object_ref (self);
  c->callback = callback;
  c->user_data = user_data;
  self->running_jobs++;
  /* The application stays up until the worker has finished, even after the window closed. */
  if (app)
    g_application_hold (app);
  dlen_job_run_async (job, self->cancellable, job_finished, c);
}

/* ---- Actions ----------------------------------------------------------------------------------- */

static void
on_open_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  DlenWindow *self = user_data;
  gboolean create = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "create"));
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      if (path && create && !g_str_has_suffix (path, ".dlen"))
        {
          char *with = g_strconcat (path, ".dlen", NULL);
          g_free (path);
          path = with;
        }
      if (path && create && g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_EXISTS,
                                                  "%s already exists; open it instead, or choose another name", path);
          dlen_window_show_error (self, "Cannot Create the Project", error);
        }
      else if (path && dlen_window_open_path (self, path, create))
        dlen_window_show_page (self, "data");
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
choose_project (DlenWindow *self, gboolean create)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (create ? "New Project" : "Open Project", GTK_WINDOW (self),
                                                              create ? GTK_FILE_CHOOSER_ACTION_SAVE : GTK_FILE_CHOOSER_ACTION_OPEN,
                                                              create ? "_Create" : "_Open", "_Cancel");
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, "DLEN projects");
  gtk_file_filter_add_pattern (filter, "*.dlen");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_object_unref (filter);
  if (create)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "project.dlen");
  g_object_set_data (G_OBJECT (dialog), "create", GINT_TO_POINTER (create));
  g_signal_connect (dialog, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
action_new_project (GtkWidget *widget, const char *name, GVariant *param)
{
  choose_project (DLEN_WINDOW (widget), TRUE);
}

static void
action_open_project (GtkWidget *widget, const char *name, GVariant *param)
{
  choose_project (DLEN_WINDOW (widget), FALSE);
}

static void
action_open_recent (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenWindow *self = DLEN_WINDOW (widget);
  if (dlen_window_open_path (self, g_variant_get_string (param, NULL), FALSE))
    dlen_window_show_page (self, "data");
}

static void
action_import (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenWindow *self = DLEN_WINDOW (widget);
  dlen_window_show_page (self, "data");
  dlen_data_page_choose_import (self->data_page);
}

static void
action_export (GtkWidget *widget, const char *name, GVariant *param)
{
  DlenWindow *self = DLEN_WINDOW (widget);
  dlen_window_show_page (self, "models");
  dlen_models_page_export_csv (self->models_page);
}

static void
action_show_page (GtkWidget *widget, const char *name, GVariant *param)
{
  dlen_window_show_page (DLEN_WINDOW (widget), g_variant_get_string (param, NULL));
}

/* A model double-clicked on the Models page opens on the Train page (its curves and metrics). */
static void
on_model_activated (DlenWindow *self, gint64 model_id)
{
  dlen_train_page_show_model (self->train_page, model_id);
  dlen_window_show_page (self, "train");
}

/* ---- Drag and drop --------------------------------------------------------------------------- */

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, gpointer user_data)
{
  DlenWindow *self = user_data;
  GSList *files;
  GFile *file;
  g_autofree char *path = NULL;
  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = g_value_get_boxed (value);
  if (!files)
    return FALSE;
  file = files->data;
  path = g_file_get_path (file);
  if (!path)
    return FALSE;
  /* A project opens; anything else is taken as a log to import. */
  if (g_str_has_suffix (path, ".dlen"))
    return dlen_window_open_path (self, path, FALSE);
  dlen_window_show_page (self, "data");
  dlen_data_page_import_file (self->data_page, file);
  return TRUE;
}

/* ---- Rendering ------------------------------------------------------------------------------- */

gboolean
dlen_window_save_png (DlenWindow *self, const char *path, GError **error)
{
  /* The content holds everything an AdwApplicationWindow shows, header bar included; a window's
   * own paintable draws nothing outside its frame cycle. */
  GtkWidget *widget = adw_application_window_get_content (ADW_APPLICATION_WINDOW (self));
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autoptr (GBytes) png = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (self));
  if (w <= 0 || h <= 0 || !renderer)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the window is not shown yet");
      g_object_unref (snapshot);
      return FALSE;
    }
  /* The content is transparent where the window's own background shows through: paint that
   * first, or dark-style screenshots come out as light text on nothing. */
  {
    GdkRGBA bg;
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    if (gtk_style_context_lookup_color (gtk_widget_get_style_context (GTK_WIDGET (self)), "window_bg_color", &bg))
      gtk_snapshot_append_color (snapshot, &bg, &GRAPHENE_RECT_INIT (0, 0, w, h));
G_GNUC_END_IGNORE_DEPRECATIONS
  }
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  if (!node)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the window drew nothing");
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  png = gdk_texture_save_to_png_bytes (texture);
  return dlen_output_write_all (path, g_bytes_get_data (png, NULL), g_bytes_get_size (png), error);
}

/* ---- Life cycle ------------------------------------------------------------------------------ */

static gboolean
dlen_window_close_request (GtkWindow *window)
{
  DlenWindow *self = DLEN_WINDOW (window);
  int w, h;
  /* Jobs see the cancel at their next check and roll back (imports) or keep the best epoch
   * (training); the application stays alive until they are done. */
  g_cancellable_cancel (self->cancellable);
  gtk_window_get_default_size (window, &w, &h);
  g_settings_set_int (self->settings, "window-width", w);
  g_settings_set_int (self->settings, "window-height", h);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  return GTK_WINDOW_CLASS (dlen_window_parent_class)->close_request (window);
}

static void
dlen_window_dispose (GObject *object)
{
  DlenWindow *self = DLEN_WINDOW (object);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  /* Detach the switchers while the stack is alive: libadwaita 1.2 otherwise unparents their
   * buttons twice when the stack goes first. */
  if (self->switcher_bar)
    adw_view_switcher_bar_set_stack (self->switcher_bar, NULL);
  if (self->switcher_title)
    adw_view_switcher_title_set_stack (self->switcher_title, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), DLEN_TYPE_WINDOW);
  g_clear_object (&self->project);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (dlen_window_parent_class)->dispose (object);
}

static void
dlen_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenWindow *self = DLEN_WINDOW (object);
  switch (prop_id)
    {
    case PROP_PROJECT: g_value_set_object (value, self->project); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DlenWindow *self = DLEN_WINDOW (object);
  switch (prop_id)
    {
    case PROP_PROJECT: dlen_window_set_project (self, g_value_get_object (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_window_class_init (DlenWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  static const char *const pages[] = { "data", "train", "models", "emotions", "fusion" };

  object_class->dispose = dlen_window_dispose;
  object_class->get_property = dlen_window_get_property;
  object_class->set_property = dlen_window_set_property;
  GTK_WINDOW_CLASS (klass)->close_request = dlen_window_close_request;

  props[PROP_PROJECT] = g_param_spec_object ("project", NULL, NULL, DLEN_TYPE_PROJECT,
                                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  g_type_ensure (DLEN_TYPE_DATA_PAGE);
  g_type_ensure (DLEN_TYPE_TRAIN_PAGE);
  g_type_ensure (DLEN_TYPE_MODELS_PAGE);
  g_type_ensure (DLEN_TYPE_EMOTIONS_PAGE);
  g_type_ensure (DLEN_TYPE_FUSION_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/dlen/Workbench/ui/dlen-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, switcher_bar);
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, data_page);
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, train_page);
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, models_page);
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, emotions_page);
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, fusion_page);
  gtk_widget_class_bind_template_child (widget_class, DlenWindow, recent_menu);

  gtk_widget_class_install_action (widget_class, "win.new-project", NULL, action_new_project);
  gtk_widget_class_install_action (widget_class, "win.open-project", NULL, action_open_project);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", action_open_recent);
  gtk_widget_class_install_action (widget_class, "win.import", NULL, action_import);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, action_export);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", action_show_page);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.new-project", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open-project", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK, "win.import", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i, GDK_ALT_MASK, "win.show-page", "s", pages[i]);
}

static void
dlen_window_init (DlenWindow *self)
{
  GtkDropTarget *drop;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->settings = g_settings_new ("org.dlen.Workbench");
  gtk_window_set_default_size (GTK_WINDOW (self), g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  g_signal_connect_swapped (self->models_page, "model-activated", G_CALLBACK (on_model_activated), self);
  rebuild_recent_menu (self);
  g_signal_connect_object (gtk_recent_manager_get_default (), "changed", G_CALLBACK (rebuild_recent_menu), self,
                           G_CONNECT_SWAPPED);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.none", FALSE);
}
