/* dlen-data-page.c: the Data page. */
#include "dlen-data-page.h"
#include "dlen-window.h"

struct _DlenDataPage {
  AdwBin parent_instance;

  /* Template widgets */
  GtkStack *stack;

  /* Owned */
  DlenProject *project;
};

enum { PROP_0, PROP_PROJECT, N_PROPS };
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (DlenDataPage, dlen_data_page, ADW_TYPE_BIN)

DlenProject *
dlen_data_page_get_project (DlenDataPage *self)
{
  return self->project;
}

void
dlen_data_page_set_project (DlenDataPage *self, DlenProject *project)
{
  if (!g_set_object (&self->project, project))
    return;
  gtk_stack_set_visible_child_name (self->stack, "empty");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROJECT]);
}

static void
dlen_data_page_dispose (GObject *object)
{
  DlenDataPage *self = DLEN_DATA_PAGE (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), DLEN_TYPE_DATA_PAGE);
  g_clear_object (&self->project);
  G_OBJECT_CLASS (dlen_data_page_parent_class)->dispose (object);
}

static void
dlen_data_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenDataPage *self = DLEN_DATA_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: g_value_set_object (value, self->project); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_data_page_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DlenDataPage *self = DLEN_DATA_PAGE (object);
  switch (prop_id)
    {
    case PROP_PROJECT: dlen_data_page_set_project (self, g_value_get_object (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_data_page_class_init (DlenDataPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = dlen_data_page_dispose;
  object_class->get_property = dlen_data_page_get_property;
  object_class->set_property = dlen_data_page_set_property;
  props[PROP_PROJECT] = g_param_spec_object ("project", NULL, NULL, DLEN_TYPE_PROJECT,
                                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/dlen/Workbench/ui/dlen-data-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DlenDataPage, stack);
}

static void
dlen_data_page_init (DlenDataPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

void
dlen_data_page_import_file (DlenDataPage *self, GFile *file)
{
  (void) self;
  (void) file;
}

void
dlen_data_page_choose_import (DlenDataPage *self)
{
  (void) self;
}
