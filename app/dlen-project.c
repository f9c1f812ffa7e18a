/* dlen-project.c: the workbench's handle on an open project. */
#include "dlen-project.h"

struct _DlenProject {
  GObject parent_instance;
  char *path;
  DlenStore *store;
};

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DlenProject, dlen_project, G_TYPE_OBJECT)

static void
dlen_project_finalize (GObject *object)
{
  DlenProject *self = DLEN_PROJECT (object);
  dlen_store_free (self->store);
  g_free (self->path);
  G_OBJECT_CLASS (dlen_project_parent_class)->finalize (object);
}

static void
dlen_project_class_init (DlenProjectClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dlen_project_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                          NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
dlen_project_init (DlenProject *self)
{
}

DlenProject *
dlen_project_open (const char *path, gboolean create, GError **error)
{
  DlenStore *store = dlen_store_open (path, create, error);
  DlenProject *self;
  if (!store)
    return NULL;
  self = g_object_new (DLEN_TYPE_PROJECT, NULL);
  self->path = g_strdup (path);
  self->store = store;
  return self;
}

const char *dlen_project_get_path (DlenProject *self) { return self->path; }
DlenStore *dlen_project_get_store (DlenProject *self) { return self->store; }

char *
dlen_project_dup_title (DlenProject *self)
{
  return g_path_get_basename (self->path);
}

void
dlen_project_changed (DlenProject *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

gint64
dlen_project_count (DlenProject *self, const char *table)
{
  static const char *const allowed[] = { "impressions", "users", "items", "imports", "import_rejects", "models", NULL };
  g_autofree char *sql = NULL;
  sqlite3_stmt *st = NULL;
  gint64 n = -1;
  /* Table names come from this list only, never from outside. */
  if (!g_strv_contains (allowed, table))
    return -1;
  sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  if (sqlite3_prepare_v2 (dlen_store_db (self->store), sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return n;
}

gint64
dlen_project_n_models (DlenProject *self)
{
  return dlen_project_count (self, "models");
}
