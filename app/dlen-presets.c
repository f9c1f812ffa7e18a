/* dlen-presets.c: the fusion_presets table: save (replacing by name), list and delete with
 * bound parameters. */
#include "dlen-error.h"
#include "dlen-presets.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

void
dlen_fusion_preset_free (DlenFusionPreset *preset)
{
  if (!preset)
    return;
  g_free (preset->name);
  g_free (preset->rule);
  g_free (preset->weights);
  g_free (preset);
}

static gboolean
db_error (DlenStore *store, GError **error, const char *what)
{
  g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s: %s", dlen_store_path (store), what,
               sqlite3_errmsg (dlen_store_db (store)));
  return FALSE;
}

gboolean
dlen_presets_ensure_table (DlenStore *store, GError **error)
{
  static const char sql[] =
    "CREATE TABLE IF NOT EXISTS fusion_presets ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,"
    "  k INTEGER NOT NULL,"
    "  rule TEXT NOT NULL,"
    "  weights TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL)";
  if (sqlite3_exec (dlen_store_db (store), sql, NULL, NULL, NULL) != SQLITE_OK)
    return db_error (store, error, "cannot create the presets table");
  return TRUE;
}

static gboolean
has_table (DlenStore *store)
{
  g_autoptr (sqlite3_stmt) st = NULL;
  if (sqlite3_prepare_v2 (dlen_store_db (store),
                          "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fusion_presets'", -1, &st,
                          NULL) != SQLITE_OK)
    return FALSE;
  return sqlite3_step (st) == SQLITE_ROW;
}

gint64
dlen_presets_save (DlenStore *store, const char *name, gint64 model_id, guint k, const char *rule,
                   const char *weights, GError **error)
{
  sqlite3 *db = dlen_store_db (store);
  g_autoptr (sqlite3_stmt) st = NULL;
  g_autofree char *trimmed = g_strstrip (g_strdup (name ? name : ""));

  g_return_val_if_fail (rule && weights, -1);
  if (!*trimmed)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "a preset needs a name");
      return -1;
    }
  if (k < 1)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "a preset needs K >= 1");
      return -1;
    }
  if (!dlen_presets_ensure_table (store, error))
    return -1;
  /* Replacing keeps the row's id, so the list stays stable. */
  if (sqlite3_prepare_v2 (db,
                          "INSERT INTO fusion_presets (name, model_id, k, rule, weights, created_ms) VALUES (?, ?, ?, ?, ?, ?)"
                          " ON CONFLICT (name) DO UPDATE SET model_id = excluded.model_id, k = excluded.k,"
                          " rule = excluded.rule, weights = excluded.weights, created_ms = excluded.created_ms"
                          " RETURNING id",
                          -1, &st, NULL) != SQLITE_OK)
    return db_error (store, error, "cannot save the preset"), -1;
  sqlite3_bind_text (st, 1, trimmed, -1, SQLITE_TRANSIENT);
  if (model_id > 0)
    sqlite3_bind_int64 (st, 2, model_id);
  else
    sqlite3_bind_null (st, 2);
  sqlite3_bind_int64 (st, 3, k);
  sqlite3_bind_text (st, 4, rule, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 5, weights, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 6, g_get_real_time () / 1000);
  if (sqlite3_step (st) != SQLITE_ROW)
    return db_error (store, error, "cannot save the preset"), -1;
  return sqlite3_column_int64 (st, 0);
}

GPtrArray *
dlen_presets_list (DlenStore *store, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) dlen_fusion_preset_free);
  g_autoptr (sqlite3_stmt) st = NULL;
  int rc;
  if (!has_table (store))
    return g_steal_pointer (&out);
  if (sqlite3_prepare_v2 (dlen_store_db (store),
                          "SELECT id, name, model_id, k, rule, weights, created_ms FROM fusion_presets"
                          " ORDER BY name COLLATE NOCASE, id",
                          -1, &st, NULL) != SQLITE_OK)
    return db_error (store, error, "cannot read the presets"), NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      DlenFusionPreset *p = g_new0 (DlenFusionPreset, 1);
      p->id = sqlite3_column_int64 (st, 0);
      p->name = g_strdup ((const char *) sqlite3_column_text (st, 1));
      p->model_id = sqlite3_column_type (st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64 (st, 2);
      p->k = (guint) CLAMP (sqlite3_column_int64 (st, 3), 1, G_MAXUINT);
      p->rule = g_strdup ((const char *) sqlite3_column_text (st, 4));
      p->weights = g_strdup ((const char *) sqlite3_column_text (st, 5));
      p->created_ms = sqlite3_column_int64 (st, 6);
      g_ptr_array_add (out, p);
    }
  if (rc != SQLITE_DONE)
    return db_error (store, error, "cannot read the presets"), NULL;
  return g_steal_pointer (&out);
}

gboolean
dlen_presets_exists (DlenStore *store, const char *name)
{
  g_autoptr (sqlite3_stmt) st = NULL;
  g_autofree char *trimmed = g_strstrip (g_strdup (name ? name : ""));
  if (!has_table (store)
      || sqlite3_prepare_v2 (dlen_store_db (store), "SELECT 1 FROM fusion_presets WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (st, 1, trimmed, -1, SQLITE_TRANSIENT);
  return sqlite3_step (st) == SQLITE_ROW;
}

gboolean
dlen_presets_delete (DlenStore *store, gint64 id, GError **error)
{
  sqlite3 *db = dlen_store_db (store);
  g_autoptr (sqlite3_stmt) st = NULL;
  if (!has_table (store))
    goto none;
  if (sqlite3_prepare_v2 (db, "DELETE FROM fusion_presets WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
    return db_error (store, error, "cannot delete the preset");
  sqlite3_bind_int64 (st, 1, id);
  if (sqlite3_step (st) != SQLITE_DONE)
    return db_error (store, error, "cannot delete the preset");
  if (sqlite3_changes (db) > 0)
    return TRUE;
none:
  g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "there is no preset %" G_GINT64_FORMAT, id);
  return FALSE;
}
