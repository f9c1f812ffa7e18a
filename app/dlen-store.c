/* dlen-store.c: the project store on SQLite: schema and migration, transactional import with
 * rejects and provenance, derived history features, datasets, models and predictions. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "dlen-csv.h"
#include "dlen-error.h"
#include "dlen-store.h"

#define APPLICATION_ID 0x444c454e   /* "DLEN" in PRAGMA application_id */

struct _DlenStore {
  sqlite3 *db;
  char *path;
  GCancellable *cancellable;
};

/* ---- Errors ----------------------------------------------------------------------------- */

static gboolean
sql_fail (DlenStore *s, GError **error, const char *what)
{
  int rc = sqlite3_errcode (s->db);
  if (rc == SQLITE_INTERRUPT && s->cancellable && g_cancellable_is_cancelled (s->cancellable))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s: cancelled", s->path);
  else
    g_set_error (error, DLEN_ERROR, rc == SQLITE_FULL ? DLEN_ERROR_IO : DLEN_ERROR_FAILED, "%s: %s: %s",
                 s->path, what, sqlite3_errmsg (s->db));
  return FALSE;
}

static gboolean
exec (DlenStore *s, const char *sql, GError **error)
{
  if (sqlite3_exec (s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return sql_fail (s, error, "query failed");
  return TRUE;
}

static sqlite3_stmt *
prepare (DlenStore *s, const char *sql, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (s->db, sql, -1, &st, NULL) != SQLITE_OK)
    {
      sql_fail (s, error, "cannot prepare a query");
      return NULL;
    }
  return st;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

static gint64
query_int (DlenStore *s, const char *sql, gint64 fallback)
{
  g_autoptr (sqlite3_stmt) st = NULL;
  if (sqlite3_prepare_v2 (s->db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step (st) != SQLITE_ROW)
    return fallback;
  return sqlite3_column_type (st, 0) == SQLITE_NULL ? fallback : (gint64) sqlite3_column_int64 (st, 0);
}

static int
progress_handler (void *data)
{
  DlenStore *s = data;
  return s->cancellable && g_cancellable_is_cancelled (s->cancellable);
}

void
dlen_store_set_cancellable (DlenStore *s, GCancellable *cancellable)
{
  g_set_object (&s->cancellable, cancellable);
  sqlite3_progress_handler (s->db, cancellable ? 1000 : 0, cancellable ? progress_handler : NULL, s);
}

/* ---- Open and migrate --------------------------------------------------------------------- */

static const char *const schema_v1 =
  "CREATE TABLE project (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  "CREATE TABLE fields ("
  "  id INTEGER PRIMARY KEY,"
  "  kind TEXT NOT NULL CHECK (kind IN ('category', 'numeric', 'target')),"
  "  ordinal INTEGER NOT NULL,"
  "  name TEXT NOT NULL,"
  "  log1p INTEGER NOT NULL DEFAULT 0,"
  "  target_kind TEXT CHECK (target_kind IN ('binary', 'duration')),"
  "  polarity TEXT CHECK (polarity IN ('neutral', 'positive', 'negative')),"
  "  weak_source INTEGER NOT NULL DEFAULT 0,"
  "  UNIQUE (kind, ordinal), UNIQUE (kind, name));"
  "CREATE TABLE imports ("
  "  id INTEGER PRIMARY KEY,"
  "  source TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL UNIQUE,"
  "  preset TEXT NOT NULL, user_features TEXT, user_features_sha256 TEXT,"
  "  started_ms INTEGER NOT NULL, finished_ms INTEGER,"
  "  rows_read INTEGER NOT NULL DEFAULT 0, rows_accepted INTEGER NOT NULL DEFAULT 0,"
  "  rows_rejected INTEGER NOT NULL DEFAULT 0);"
  "CREATE TABLE import_rejects ("
  "  import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,"
  "  line INTEGER NOT NULL, col INTEGER NOT NULL, column_name TEXT, reason TEXT NOT NULL);"
  "CREATE INDEX import_rejects_import ON import_rejects (import_id, line);"
  "CREATE TABLE users (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);"
  "CREATE TABLE items (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);"
  "CREATE TABLE impressions ("
  "  id INTEGER PRIMARY KEY,"
  "  import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,"
  "  line INTEGER NOT NULL,"
  "  user_id INTEGER NOT NULL REFERENCES users (id),"
  "  item_id INTEGER REFERENCES items (id),"
  "  time_ms INTEGER NOT NULL, day INTEGER NOT NULL,"
  "  log_session TEXT, log_request TEXT,"
  "  session INTEGER, request INTEGER, session_pos INTEGER, session_minutes REAL,"
  "  hist_likes20 INTEGER, hist_negative20 INTEGER,"
  "  truth REAL);"
  "CREATE INDEX impressions_user_time ON impressions (user_id, time_ms, id);"
  "CREATE INDEX impressions_import ON impressions (import_id);"
  "CREATE TABLE models ("
  "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, arch TEXT NOT NULL, created_ms INTEGER NOT NULL,"
  "  metrics TEXT NOT NULL, history TEXT NOT NULL, file BLOB NOT NULL);"
  "CREATE TABLE predictions ("
  "  model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,"
  "  impression_id INTEGER NOT NULL REFERENCES impressions (id) ON DELETE CASCADE,"
  "  p BLOB NOT NULL,"
  "  PRIMARY KEY (model_id, impression_id)) WITHOUT ROWID;";

gboolean
dlen_store_is_project_file (const char *path)
{
  char head[16] = { 0 };
  FILE *fp = g_fopen (path, "rb");
  gboolean yes;
  if (!fp)
    return FALSE;
  yes = fread (head, 1, 16, fp) == 16 && memcmp (head, "SQLite format 3", 16) == 0;
  fclose (fp);
  return yes;
}

void
dlen_store_free (DlenStore *s)
{
  if (!s)
    return;
  sqlite3_close_v2 (s->db);
  g_clear_object (&s->cancellable);
  g_free (s->path);
  g_free (s);
}

sqlite3 *dlen_store_db (DlenStore *s) { return s->db; }
const char *dlen_store_path (DlenStore *s) { return s->path; }

DlenStore *
dlen_store_open (const char *path, gboolean create, GError **error)
{
  g_autoptr (DlenStore) s = g_new0 (DlenStore, 1);
  gboolean exists = g_file_test (path, G_FILE_TEST_EXISTS);
  gint64 app_id, version;
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);

  s->path = g_strdup (path);
  if (exists && !dlen_store_is_project_file (path))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT, "%s: not a DLEN project (not an SQLite file)", path);
      return NULL;
    }
  if (!exists && !create)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: no such project", path);
      return NULL;
    }
  if (sqlite3_open_v2 (path, &s->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", path, s->db ? sqlite3_errmsg (s->db) : "cannot open");
      return NULL;
    }
  sqlite3_extended_result_codes (s->db, 0);
  sqlite3_busy_timeout (s->db, 5000);
  if (!exec (s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;", error))
    return NULL;
  {
    g_autoptr (sqlite3_stmt) st = prepare (s, "PRAGMA journal_mode = WAL", error);
    if (!st || sqlite3_step (st) != SQLITE_ROW)
      {
        if (st)
          sql_fail (s, error, "cannot switch to WAL");
        return NULL;
      }
  }
  app_id = query_int (s, "PRAGMA application_id", -1);
  version = query_int (s, "PRAGMA user_version", -1);
  if (app_id == 0 && version == 0)
    {
      /* A new (empty) file: create the schema in one transaction. */
      if (query_int (s, "SELECT count(*) FROM sqlite_master", 1) != 0)
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT, "%s: an SQLite database that is not a DLEN project", path);
          return NULL;
        }
      if (!exec (s, "BEGIN IMMEDIATE", error))
        return NULL;
      if (!exec (s, schema_v1, error)
          || !exec (s, "PRAGMA application_id = 1145849166; PRAGMA user_version = 1;", error))
        {
          sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
          return NULL;
        }
      {
        g_autofree char *sql = g_strdup_printf ("INSERT INTO project (key, value) VALUES ('created_ms', '%" G_GINT64_FORMAT "')",
                                                g_get_real_time () / 1000);
        if (!exec (s, sql, error) || !exec (s, "COMMIT", error))
          {
            sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
            return NULL;
          }
      }
      version = DLEN_STORE_SCHEMA_VERSION;
      app_id = APPLICATION_ID;
    }
  if (app_id != APPLICATION_ID)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT, "%s: an SQLite database that is not a DLEN project", path);
      return NULL;
    }
  if (version > DLEN_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT,
                   "%s: project schema version %" G_GINT64_FORMAT " is newer than this build reads (%d)",
                   path, version, DLEN_STORE_SCHEMA_VERSION);
      return NULL;
    }
  /* Version 1 is the first; later versions add their migration steps here, each in a
   * transaction that also bumps user_version. */
  return g_steal_pointer (&s);
}

/* ---- Fields ------------------------------------------------------------------------------ */

static const char *const polarity_names[] = { "neutral", "positive", "negative" };

typedef struct {
  gint64 cat[DLEN_MAX_CAT_FIELDS], num[DLEN_MAX_NUM_FIELDS], tgt[DLEN_MAX_TARGETS];
} FieldIds;

/* Reads the stored fields into @schema (buckets 1) and their column ids. FALSE when none. */
static gboolean
read_fields (DlenStore *s, DlenSchema *schema, FieldIds *ids, GError **error)
{
  g_autoptr (sqlite3_stmt) st = prepare (s,
    "SELECT id, kind, ordinal, name, log1p, target_kind, polarity, weak_source FROM fields ORDER BY kind, ordinal", error);
  int rc;
  if (!st)
    return FALSE;
  memset (schema, 0, sizeof *schema);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *kind = (const char *) sqlite3_column_text (st, 1);
      const char *name = (const char *) sqlite3_column_text (st, 3);
      int ord = sqlite3_column_int (st, 2);
      if (g_str_equal (kind, "category") && ord < DLEN_MAX_CAT_FIELDS)
        {
          g_strlcpy (schema->cat[ord].name, name, DLEN_NAME_MAX);
          schema->cat[ord].buckets = 1;
          ids->cat[ord] = (gint64) sqlite3_column_int64 (st, 0);
          schema->n_cat = MAX (schema->n_cat, (guint) ord + 1);
        }
      else if (g_str_equal (kind, "numeric") && ord < DLEN_MAX_NUM_FIELDS)
        {
          g_strlcpy (schema->num[ord].name, name, DLEN_NAME_MAX);
          schema->num[ord].log1p = sqlite3_column_int (st, 4);
          ids->num[ord] = (gint64) sqlite3_column_int64 (st, 0);
          schema->n_num = MAX (schema->n_num, (guint) ord + 1);
        }
      else if (g_str_equal (kind, "target") && ord < DLEN_MAX_TARGETS)
        {
          DlenTarget *t = &schema->targets[ord];
          const char *pol = (const char *) sqlite3_column_text (st, 6);
          g_strlcpy (t->name, name, DLEN_NAME_MAX);
          t->kind = g_strcmp0 ((const char *) sqlite3_column_text (st, 5), "duration") == 0
                    ? DLEN_TARGET_DURATION : DLEN_TARGET_BINARY;
          t->polarity = DLEN_POLARITY_NEUTRAL;
          for (int k = 0; k < 3; k++)
            if (g_strcmp0 (pol, polarity_names[k]) == 0)
              t->polarity = (DlenPolarity) k;
          t->weak_source = sqlite3_column_int (st, 7);
          t->weight = 1.0f;
          ids->tgt[ord] = (gint64) sqlite3_column_int64 (st, 0);
          schema->n_targets = MAX (schema->n_targets, (guint) ord + 1);
        }
    }
  if (rc != SQLITE_DONE)
    return sql_fail (s, error, "cannot read the fields");
  if (schema->n_targets == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: the project holds no impressions yet; import a log first",
                   s->path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
insert_field (DlenStore *s, const char *kind, int ordinal, const char *name, int log1p, const DlenTarget *t,
              gint64 *id, GError **error)
{
  g_autoptr (sqlite3_stmt) st = prepare (s,
    "INSERT INTO fields (kind, ordinal, name, log1p, target_kind, polarity, weak_source) VALUES (?, ?, ?, ?, ?, ?, ?)", error);
  g_autofree char *alter = NULL;
  if (!st)
    return FALSE;
  sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_int (st, 2, ordinal);
  sqlite3_bind_text (st, 3, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (st, 4, log1p);
  sqlite3_bind_int (st, 7, 0);
  if (t)
    {
      sqlite3_bind_text (st, 5, t->kind == DLEN_TARGET_DURATION ? "duration" : "binary", -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 6, polarity_names[t->polarity], -1, SQLITE_STATIC);
      sqlite3_bind_int (st, 7, t->weak_source);
    }
  if (sqlite3_step (st) != SQLITE_DONE)
    return sql_fail (s, error, "cannot record a field");
  *id = sqlite3_last_insert_rowid (s->db);
  /* Column names are generated from the field id; a log's own names only ever travel as
   * bound values, never as SQL text. */
  alter = g_strdup_printf ("ALTER TABLE impressions ADD COLUMN f%" G_GINT64_FORMAT " %s", *id,
                           g_str_equal (kind, "category") ? "TEXT" : "REAL");
  return exec (s, alter, error);
}

static gboolean
define_fields (DlenStore *s, const DlenSchema *schema, FieldIds *ids, GError **error)
{
  for (guint i = 0; i < schema->n_cat; i++)
    if (!insert_field (s, "category", i, schema->cat[i].name, 0, NULL, &ids->cat[i], error))
      return FALSE;
  for (guint i = 0; i < schema->n_num; i++)
    if (!insert_field (s, "numeric", i, schema->num[i].name, schema->num[i].log1p, NULL, &ids->num[i], error))
      return FALSE;
  for (guint i = 0; i < schema->n_targets; i++)
    if (!insert_field (s, "target", i, schema->targets[i].name, 0, &schema->targets[i], &ids->tgt[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
same_fields (const DlenSchema *a, const DlenSchema *b)
{
  if (a->n_cat != b->n_cat || a->n_num != b->n_num || a->n_targets != b->n_targets)
    return FALSE;
  for (guint i = 0; i < a->n_cat; i++)
    if (strcmp (a->cat[i].name, b->cat[i].name) != 0)
      return FALSE;
  for (guint i = 0; i < a->n_num; i++)
    if (strcmp (a->num[i].name, b->num[i].name) != 0 || a->num[i].log1p != b->num[i].log1p)
      return FALSE;
  for (guint i = 0; i < a->n_targets; i++)
    if (strcmp (a->targets[i].name, b->targets[i].name) != 0 || a->targets[i].kind != b->targets[i].kind
        || a->targets[i].polarity != b->targets[i].polarity || a->targets[i].weak_source != b->targets[i].weak_source)
      return FALSE;
  return TRUE;
}

/* ---- Import ------------------------------------------------------------------------------ */

void
dlen_import_options_init (DlenImportOptions *o)
{
  memset (o, 0, sizeof *o);
  o->session_gap_minutes = 30;
  o->request_size = 10;
}

void
dlen_import_report_clear (DlenImportReport *r)
{
  g_clear_pointer (&r->first_reject, g_free);
}

static char *
file_sha256 (const char *path, goffset *size, GCancellable *cancellable, GError **error)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (1 << 16);
  FILE *fp = g_fopen (path, "rb");
  size_t n;
  *size = 0;
  if (!fp)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", path, g_strerror (errno));
      return NULL;
    }
  while ((n = fread (buf, 1, 1 << 16, fp)) > 0)
    {
      g_checksum_update (sum, buf, n);
      *size += n;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          fclose (fp);
          return NULL;
        }
    }
  if (ferror (fp))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: read error", path);
      fclose (fp);
      return NULL;
    }
  fclose (fp);
  return g_strdup (g_checksum_get_string (sum));
}

/* Returns the id of a user or item key, inserting it when new; @cache avoids a query per row. */
static gint64
key_id (DlenStore *s, sqlite3_stmt *ins, sqlite3_stmt *sel, GHashTable *cache, const char *key, GError **error)
{
  gpointer hit = g_hash_table_lookup (cache, key);
  gint64 id;
  if (hit)
    return GPOINTER_TO_SIZE (hit);
  sqlite3_reset (sel);
  sqlite3_bind_text (sel, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (sel) == SQLITE_ROW)
    id = (gint64) sqlite3_column_int64 (sel, 0);
  else
    {
      sqlite3_reset (ins);
      sqlite3_bind_text (ins, 1, key, -1, SQLITE_STATIC);
      if (sqlite3_step (ins) != SQLITE_DONE)
        {
          sql_fail (s, error, "cannot record a key");
          return -1;
        }
      id = sqlite3_last_insert_rowid (s->db);
    }
  sqlite3_reset (sel);
  g_hash_table_insert (cache, g_strdup (key), GSIZE_TO_POINTER ((gsize) id));
  return id;
}

/* Sessions, requests and history features of every impression of the users in this import,
 * computed strictly from each user's earlier impressions (ordered by time, then import order). */
static gboolean
derive_features (DlenStore *s, gint64 import_id, const DlenSchema *schema, const FieldIds *ids,
                 const DlenImportOptions *o, GError **error)
{
  g_autoptr (GString) pos = g_string_new ("0"), neg = g_string_new ("0");
  g_autofree char *sql = NULL;
  for (guint t = 0; t < schema->n_targets; t++)
    {
      const DlenTarget *tg = &schema->targets[t];
      if (tg->kind != DLEN_TARGET_BINARY)
        continue;
      if (tg->polarity == DLEN_POLARITY_POSITIVE && tg->weak_source)
        g_string_append_printf (pos, " OR f%" G_GINT64_FORMAT " = 1", ids->tgt[t]);
      if (tg->polarity == DLEN_POLARITY_NEGATIVE)
        g_string_append_printf (neg, " OR f%" G_GINT64_FORMAT " = 1", ids->tgt[t]);
    }
  sql = g_strdup_printf (
    "WITH touched AS (SELECT DISTINCT user_id FROM impressions WHERE import_id = %" G_GINT64_FORMAT "),"
    " base AS ("
    "  SELECT i.id, i.user_id, i.time_ms, i.log_session, i.log_request,"
    "   (%s) AS liked, (%s) AS negative,"
    "   LAG(i.time_ms) OVER w AS prev_time, LAG(i.log_session) OVER w AS prev_session"
    "  FROM impressions i JOIN touched USING (user_id)"
    "  WINDOW w AS (PARTITION BY i.user_id ORDER BY i.time_ms, i.id)),"
    " starts AS ("
    "  SELECT *, CASE WHEN prev_time IS NULL THEN 1"
    "   WHEN log_session IS NOT NULL OR prev_session IS NOT NULL THEN log_session IS NOT prev_session"
    "   WHEN time_ms - prev_time > %u * 60000 THEN 1 ELSE 0 END AS start FROM base),"
    " numbered AS ("
    "  SELECT *, SUM(start) OVER (PARTITION BY user_id ORDER BY time_ms, id) AS s,"
    "   COALESCE(SUM(liked) OVER h, 0) AS l20, COALESCE(SUM(negative) OVER h, 0) AS n20"
    "  FROM starts WINDOW h AS (PARTITION BY user_id ORDER BY time_ms, id ROWS BETWEEN 20 PRECEDING AND 1 PRECEDING)),"
    " placed AS ("
    "  SELECT *, ROW_NUMBER() OVER (PARTITION BY user_id, s ORDER BY time_ms, id) - 1 AS p,"
    "   (time_ms - MIN(time_ms) OVER (PARTITION BY user_id, s)) / 60000.0 AS mins FROM numbered)"
    " UPDATE impressions SET"
    "  session = placed.user_id * 1000000 + placed.s,"
    "  request = CASE WHEN placed.log_request IS NOT NULL THEN NULL"
    "   ELSE (placed.user_id * 1000000 + placed.s) * 100000 + placed.p / %u END,"
    "  session_pos = placed.p, session_minutes = placed.mins,"
    "  hist_likes20 = placed.l20, hist_negative20 = placed.n20"
    " FROM placed WHERE impressions.id = placed.id",
    import_id, pos->str, neg->str, o->session_gap_minutes, o->request_size);
  if (!exec (s, sql, error))
    return FALSE;
  /* Logged request ids: one number per distinct (user, request) pair. */
  return exec (s,
    "UPDATE impressions SET request = -r.n FROM ("
    " SELECT id, DENSE_RANK() OVER (ORDER BY user_id, log_request) AS n FROM impressions WHERE log_request IS NOT NULL) r"
    " WHERE impressions.id = r.id", error);
}

gboolean
dlen_store_import (DlenStore *s, const char *path, const DlenImportOptions *o,
                   DlenImportProgressFunc progress, gpointer user_data,
                   GCancellable *cancellable, DlenImportReport *report, GError **error)
{
  g_autoptr (DlenMapping) m = NULL;
  g_autofree char *sha = NULL, *uf_sha = NULL, *insert_sql = NULL;
  g_autoptr (sqlite3_stmt) ins_import = NULL, ins_imp = NULL, ins_rej = NULL, upd_import = NULL;
  g_autoptr (sqlite3_stmt) ins_user = NULL, sel_user = NULL, ins_item = NULL, sel_item = NULL, dup = NULL;
  g_autoptr (GHashTable) users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GString) cols = g_string_new (NULL), marks = g_string_new (NULL);
  DlenSchema stored, schema;
  FieldIds ids;
  goffset size;
  DlenRecord rec;
  DlenReject rej = { 0 };
  gboolean have_fields, ok = FALSE;
  int rc;
  DlenCsvReader *reader;

  memset (report, 0, sizeof *report);
  memset (&ids, 0, sizeof ids);
  if (o->request_size < 1 || o->session_gap_minutes < 1)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "request size and session gap must be >= 1");
      return FALSE;
    }
  m = dlen_mapping_open (path, &o->load, NULL, error);
  if (!m)
    return FALSE;
  schema = *dlen_mapping_schema (m);
  sha = file_sha256 (path, &size, cancellable, error);
  if (!sha)
    return FALSE;
  if (dlen_mapping_user_features (m))
    {
      goffset uf_size;
      uf_sha = file_sha256 (dlen_mapping_user_features (m), &uf_size, cancellable, error);
      if (!uf_sha)
        return FALSE;
    }
  dup = prepare (s, "SELECT id, source FROM imports WHERE sha256 = ?", error);
  if (!dup)
    return FALSE;
  sqlite3_bind_text (dup, 1, sha, -1, SQLITE_STATIC);
  if (sqlite3_step (dup) == SQLITE_ROW)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                   "%s: this file (sha256 %.12s...) was already imported as import %" G_GINT64_FORMAT " from %s; "
                   "importing it again would double its impressions", path, sha, (gint64) sqlite3_column_int64 (dup, 0),
                   (const char *) sqlite3_column_text (dup, 1));
      return FALSE;
    }

  dlen_store_set_cancellable (s, cancellable);
  if (!exec (s, "BEGIN IMMEDIATE", error))
    goto out;
  {
    GError *local = NULL;
    have_fields = read_fields (s, &stored, &ids, &local);
    if (!have_fields)
      {
        if (local->domain != DLEN_ERROR || local->code != DLEN_ERROR_DATA)
          {
            g_propagate_error (error, local);
            goto rollback;
          }
        g_clear_error (&local);
      }
  }
  if (have_fields && !same_fields (&stored, &schema))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                   "%s: its columns map to other fields or targets (%u categorical, %u numeric, %u targets) than "
                   "the project's (%u, %u, %u); a project holds logs of one layout", path, schema.n_cat, schema.n_num,
                   schema.n_targets, stored.n_cat, stored.n_num, stored.n_targets);
      goto rollback;
    }
  if (!have_fields && !define_fields (s, &schema, &ids, error))
    goto rollback;

  ins_import = prepare (s, "INSERT INTO imports (source, size, sha256, preset, user_features, user_features_sha256, started_ms)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?)", error);
  if (!ins_import)
    goto rollback;
  sqlite3_bind_text (ins_import, 1, path, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (ins_import, 2, size);
  sqlite3_bind_text (ins_import, 3, sha, -1, SQLITE_STATIC);
  sqlite3_bind_text (ins_import, 4, dlen_mapping_preset (m), -1, SQLITE_STATIC);
  sqlite3_bind_text (ins_import, 5, dlen_mapping_user_features (m), -1, SQLITE_STATIC);
  sqlite3_bind_text (ins_import, 6, uf_sha, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (ins_import, 7, g_get_real_time () / 1000);
  if (sqlite3_step (ins_import) != SQLITE_DONE)
    {
      sql_fail (s, error, "cannot record the import");
      goto rollback;
    }
  report->import_id = sqlite3_last_insert_rowid (s->db);

  g_string_append (cols, "import_id, line, user_id, item_id, time_ms, day, log_session, log_request, truth");
  g_string_append (marks, "?, ?, ?, ?, ?, ?, ?, ?, ?");
  for (guint i = 0; i < schema.n_cat; i++)
    g_string_append_printf (cols, ", f%" G_GINT64_FORMAT, ids.cat[i]);
  for (guint i = 0; i < schema.n_num; i++)
    g_string_append_printf (cols, ", f%" G_GINT64_FORMAT, ids.num[i]);
  for (guint i = 0; i < schema.n_targets; i++)
    g_string_append_printf (cols, ", f%" G_GINT64_FORMAT, ids.tgt[i]);
  for (guint i = 0; i < schema.n_cat + schema.n_num + schema.n_targets; i++)
    g_string_append (marks, ", ?");
  insert_sql = g_strdup_printf ("INSERT INTO impressions (%s) VALUES (%s)", cols->str, marks->str);
  ins_imp = prepare (s, insert_sql, error);
  ins_rej = prepare (s, "INSERT INTO import_rejects (import_id, line, col, column_name, reason) VALUES (?, ?, ?, ?, ?)", error);
  ins_user = prepare (s, "INSERT INTO users (key) VALUES (?)", error);
  sel_user = prepare (s, "SELECT id FROM users WHERE key = ?", error);
  ins_item = prepare (s, "INSERT INTO items (key) VALUES (?)", error);
  sel_item = prepare (s, "SELECT id FROM items WHERE key = ?", error);
  if (!ins_imp || !ins_rej || !ins_user || !sel_user || !ins_item || !sel_item)
    goto rollback;

  reader = dlen_mapping_reader (m);
  while ((rc = dlen_mapping_next (m, &rec, &rej, error)) != 0)
    {
      if (rc == -2)
        goto rollback;
      report->rows_read++;
      if (rc == -1)
        {
          if (o->load.strict)
            {
              g_set_error_literal (error, DLEN_ERROR, DLEN_ERROR_DATA, rej.message);
              goto rollback;
            }
          if (!report->first_reject)
            report->first_reject = g_strdup (rej.message);
          report->rows_rejected++;
          sqlite3_reset (ins_rej);
          sqlite3_bind_int64 (ins_rej, 1, report->import_id);
          sqlite3_bind_int64 (ins_rej, 2, (gint64) rej.line);
          sqlite3_bind_int (ins_rej, 3, rej.column);
          sqlite3_bind_text (ins_rej, 4, rej.column_name, -1, SQLITE_TRANSIENT);
          sqlite3_bind_text (ins_rej, 5, rej.reason, -1, SQLITE_TRANSIENT);
          if (sqlite3_step (ins_rej) != SQLITE_DONE)
            {
              sql_fail (s, error, "cannot record a rejected row");
              goto rollback;
            }
        }
      else
        {
          gint64 uid = key_id (s, ins_user, sel_user, users, rec.user, error), iid = 0;
          int k = 1;
          if (uid < 0 || (rec.item && (iid = key_id (s, ins_item, sel_item, items, rec.item, error)) < 0))
            goto rollback;
          sqlite3_reset (ins_imp);
          sqlite3_bind_int64 (ins_imp, k++, report->import_id);
          sqlite3_bind_int64 (ins_imp, k++, (gint64) rec.line);
          sqlite3_bind_int64 (ins_imp, k++, uid);
          if (rec.item)
            sqlite3_bind_int64 (ins_imp, k++, iid);
          else
            sqlite3_bind_null (ins_imp, k++);
          sqlite3_bind_int64 (ins_imp, k++, rec.time_ms);
          sqlite3_bind_int (ins_imp, k++, rec.day);
          sqlite3_bind_text (ins_imp, k++, rec.session, -1, SQLITE_STATIC);
          sqlite3_bind_text (ins_imp, k++, rec.request, -1, SQLITE_STATIC);
          if (isnan (rec.truth))
            sqlite3_bind_null (ins_imp, k++);
          else
            sqlite3_bind_double (ins_imp, k++, rec.truth);
          for (guint i = 0; i < schema.n_cat; i++)
            sqlite3_bind_text (ins_imp, k++, rec.cat[i], -1, SQLITE_STATIC);
          for (guint i = 0; i < schema.n_num; i++)
            if (isnan (rec.num[i]))
              sqlite3_bind_null (ins_imp, k++);
            else
              sqlite3_bind_double (ins_imp, k++, rec.num[i]);
          for (guint i = 0; i < schema.n_targets; i++)
            if (isnan (rec.lab[i]))
              sqlite3_bind_null (ins_imp, k++);
            else
              sqlite3_bind_double (ins_imp, k++, rec.lab[i]);
          if (sqlite3_step (ins_imp) != SQLITE_DONE)
            {
              sql_fail (s, error, "cannot store an impression");
              goto rollback;
            }
          report->rows_accepted++;
        }
      if ((report->rows_read & 4095) == 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto rollback;
          if (progress)
            progress (dlen_csv_reader_offset (reader), dlen_csv_reader_size (reader), report->rows_read, user_data);
        }
    }
  if (report->rows_accepted == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: no usable rows%s%s", path,
                   report->first_reject ? "; first problem: " : "", report->first_reject ? report->first_reject : "");
      goto rollback;
    }
  if (!derive_features (s, report->import_id, &schema, &ids, o, error))
    goto rollback;
  upd_import = prepare (s, "UPDATE imports SET finished_ms = ?, rows_read = ?, rows_accepted = ?, rows_rejected = ? WHERE id = ?",
                        error);
  if (!upd_import)
    goto rollback;
  sqlite3_bind_int64 (upd_import, 1, g_get_real_time () / 1000);
  sqlite3_bind_int64 (upd_import, 2, (gint64) report->rows_read);
  sqlite3_bind_int64 (upd_import, 3, (gint64) report->rows_accepted);
  sqlite3_bind_int64 (upd_import, 4, (gint64) report->rows_rejected);
  sqlite3_bind_int64 (upd_import, 5, report->import_id);
  if (sqlite3_step (upd_import) != SQLITE_DONE)
    {
      sql_fail (s, error, "cannot finish the import record");
      goto rollback;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error) || !exec (s, "COMMIT", error))
    goto rollback;
  if (progress)
    progress (dlen_csv_reader_offset (reader), dlen_csv_reader_size (reader), report->rows_read, user_data);
  ok = TRUE;
  goto out;

rollback:
  sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
  report->import_id = 0;
out:
  dlen_reject_clear (&rej);
  dlen_store_set_cancellable (s, NULL);
  return ok;
}

/* ---- Reading ------------------------------------------------------------------------------ */

static const char *const history_fields[] = { "hist_likes20", "hist_negative20", "session_pos", "session_minutes" };

gboolean
dlen_store_schema (DlenStore *s, gboolean history, DlenSchema *schema, char **preset, GError **error)
{
  FieldIds ids;
  if (!read_fields (s, schema, &ids, error))
    return FALSE;
  if (history)
    for (guint i = 0; i < G_N_ELEMENTS (history_fields); i++)
      {
        if (schema->n_num == DLEN_MAX_NUM_FIELDS)
          break;
        g_strlcpy (schema->num[schema->n_num].name, history_fields[i], DLEN_NAME_MAX);
        schema->num[schema->n_num++].log1p = 1;
      }
  if (preset)
    {
      g_autoptr (sqlite3_stmt) st = prepare (s, "SELECT preset FROM imports ORDER BY id LIMIT 1", error);
      if (!st)
        return FALSE;
      *preset = g_strdup (sqlite3_step (st) == SQLITE_ROW ? (const char *) sqlite3_column_text (st, 0) : "generic");
    }
  return TRUE;
}

DlenLoadedData *
dlen_store_load_dataset (DlenStore *s, gboolean history, const DlenSchema *model_schema, GArray **ids_out, GError **error)
{
  DlenSchema schema;
  FieldIds ids;
  g_autofree char *preset = NULL, *sql = NULL;
  g_autoptr (GString) cols = g_string_new ("i.id, i.line, u.key, i.time_ms, i.day, i.truth");
  g_autoptr (sqlite3_stmt) st = NULL;
  g_autoptr (GArray) row_ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  DlenDatasetBuilder *b;
  DlenLoadedData *out;
  DlenRecord rec;
  guint n_stored_num;
  gboolean any_truth;
  int rc;

  if (!read_fields (s, &schema, &ids, error))
    return NULL;
  n_stored_num = schema.n_num;
  if (!dlen_store_schema (s, history, &schema, &preset, error))
    return NULL;
  if (model_schema)
    {
      DlenSchema mine = schema;
      for (guint i = 0; i < mine.n_cat; i++)
        mine.cat[i].buckets = model_schema->cat[i].buckets;
      if (!same_fields (&mine, model_schema))
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                       "%s: the model's fields differ from the project's (trained on another layout%s)", s->path,
                       history ? "" : ", or with --history-features");
          return NULL;
        }
      schema = *model_schema;
    }
  for (guint i = 0; i < schema.n_cat; i++)
    g_string_append_printf (cols, ", i.f%" G_GINT64_FORMAT, ids.cat[i]);
  for (guint i = 0; i < n_stored_num; i++)
    g_string_append_printf (cols, ", i.f%" G_GINT64_FORMAT, ids.num[i]);
  if (history)
    g_string_append (cols, ", i.hist_likes20, i.hist_negative20, i.session_pos, i.session_minutes");
  for (guint i = 0; i < schema.n_targets; i++)
    g_string_append_printf (cols, ", i.f%" G_GINT64_FORMAT, ids.tgt[i]);
  sql = g_strdup_printf ("SELECT %s FROM impressions i JOIN users u ON u.id = i.user_id ORDER BY i.id", cols->str);
  st = prepare (s, sql, error);
  if (!st)
    return NULL;
  any_truth = query_int (s, "SELECT EXISTS (SELECT 1 FROM impressions WHERE truth IS NOT NULL)", 0) != 0;
  b = dlen_dataset_builder_new (&schema, model_schema == NULL, any_truth, error);
  if (!b)
    return NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      int k = 0;
      g_autofree char *reason = NULL;
      guint64 id = (guint64) sqlite3_column_int64 (st, k++);
      rec.line = (guint64) sqlite3_column_int64 (st, k++);
      rec.user = (const char *) sqlite3_column_text (st, k++);
      rec.item = NULL;
      rec.time_ms = (gint64) sqlite3_column_int64 (st, k++);
      rec.day = sqlite3_column_int (st, k++);
      rec.truth = sqlite3_column_type (st, k) == SQLITE_NULL ? NAN : (float) sqlite3_column_double (st, k);
      k++;
      for (guint i = 0; i < schema.n_cat; i++, k++)
        rec.cat[i] = sqlite3_column_type (st, k) == SQLITE_NULL ? "" : (const char *) sqlite3_column_text (st, k);
      for (guint i = 0; i < schema.n_num; i++, k++)
        rec.num[i] = sqlite3_column_type (st, k) == SQLITE_NULL ? NAN : (float) sqlite3_column_double (st, k);
      for (guint i = 0; i < schema.n_targets; i++, k++)
        rec.lab[i] = sqlite3_column_type (st, k) == SQLITE_NULL ? NAN : (float) sqlite3_column_double (st, k);
      if (!dlen_dataset_builder_add (b, &rec, &reason))
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: impression %" G_GUINT64_FORMAT ": %s", s->path, id, reason);
          dlen_dataset_builder_free (b);
          return NULL;
        }
      g_array_append_val (row_ids, id);
    }
  if (rc != SQLITE_DONE)
    {
      sql_fail (s, error, "cannot read the impressions");
      dlen_dataset_builder_free (b);
      return NULL;
    }
  out = dlen_dataset_builder_finish (b, s->path, preset, error);
  if (out && ids_out)
    *ids_out = g_steal_pointer (&row_ids);
  return out;
}

/* ---- Models and predictions ---------------------------------------------------------------- */

gint64
dlen_store_add_model (DlenStore *s, DlenModel *model, const char *name, const char *metrics_json,
                      const char *history_json, GError **error)
{
  g_autofree char *tmp = NULL, *bytes = NULL;
  g_autoptr (sqlite3_stmt) st = NULL;
  gsize len;
  int fd, rc;
  fd = g_file_open_tmp ("dlen-model-XXXXXX.safetensors", &tmp, error);
  if (fd < 0)
    return -1;
  close (fd);
  rc = dlen_model_save (model, tmp);
  if (rc != DLEN_STATUS_OK || !g_file_get_contents (tmp, &bytes, &len, error))
    {
      if (rc != DLEN_STATUS_OK)
        dlen_set_error_from_status (error, rc, "saving the model");
      g_unlink (tmp);
      return -1;
    }
  g_unlink (tmp);
  st = prepare (s, "INSERT INTO models (name, arch, created_ms, metrics, history, file) VALUES (?, ?, ?, ?, ?, ?)", error);
  if (!st)
    return -1;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 2, dlen_arch_to_string (dlen_model_config (model)->arch), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, g_get_real_time () / 1000);
  sqlite3_bind_text (st, 4, metrics_json, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 5, history_json, -1, SQLITE_STATIC);
  sqlite3_bind_blob64 (st, 6, bytes, len, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      sql_fail (s, error, "cannot store the model");
      return -1;
    }
  return sqlite3_last_insert_rowid (s->db);
}

DlenModel *
dlen_store_load_model (DlenStore *s, gint64 model_id, GError **error)
{
  g_autoptr (sqlite3_stmt) st = prepare (s, "SELECT file FROM models WHERE id = ?", error);
  g_autofree char *tmp = NULL;
  DlenModel *model = NULL;
  int fd, rc;
  if (!st)
    return NULL;
  sqlite3_bind_int64 (st, 1, model_id);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: no model with id %" G_GINT64_FORMAT, s->path, model_id);
      return NULL;
    }
  fd = g_file_open_tmp ("dlen-model-XXXXXX.safetensors", &tmp, error);
  if (fd < 0)
    return NULL;
  close (fd);
  if (!g_file_set_contents (tmp, sqlite3_column_blob (st, 0), sqlite3_column_bytes (st, 0), error))
    {
      g_unlink (tmp);
      return NULL;
    }
  rc = dlen_model_load (tmp, &model);
  g_unlink (tmp);
  if (rc != DLEN_STATUS_OK)
    {
      dlen_set_error_from_status (error, rc, "the model stored in the project");
      return NULL;
    }
  return model;
}

gboolean
dlen_store_cache_predictions (DlenStore *s, gint64 model_id, const GArray *ids, const float *pred, guint width,
                              GError **error)
{
  g_autoptr (sqlite3_stmt) del = NULL, ins = NULL;
  if (!exec (s, "BEGIN IMMEDIATE", error))
    return FALSE;
  del = prepare (s, "DELETE FROM predictions WHERE model_id = ?", error);
  ins = prepare (s, "INSERT INTO predictions (model_id, impression_id, p) VALUES (?, ?, ?)", error);
  if (!del || !ins)
    goto fail;
  sqlite3_bind_int64 (del, 1, model_id);
  if (sqlite3_step (del) != SQLITE_DONE)
    {
      sql_fail (s, error, "cannot replace predictions");
      goto fail;
    }
  for (guint i = 0; i < ids->len; i++)
    {
      sqlite3_reset (ins);
      sqlite3_bind_int64 (ins, 1, model_id);
      sqlite3_bind_int64 (ins, 2, (gint64) g_array_index (ids, guint64, i));
      sqlite3_bind_blob (ins, 3, pred + (gsize) i * width, (int) (width * sizeof (float)), SQLITE_STATIC);
      if (sqlite3_step (ins) != SQLITE_DONE)
        {
          sql_fail (s, error, "cannot store predictions");
          goto fail;
        }
    }
  return exec (s, "COMMIT", error) || (sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL), FALSE);
fail:
  sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

/* ---- Summary ------------------------------------------------------------------------------- */

static void
json_escape (GString *out, const char *v)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) (v ? v : ""); *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf (out, "\\u%04x", *p);
      else
        g_string_append_c (out, (char) *p);
    }
  g_string_append_c (out, '"');
}

char *
dlen_store_info_json (DlenStore *s, GError **error)
{
  g_autoptr (GString) o = g_string_new ("{");
  DlenSchema schema;
  FieldIds ids;
  gboolean have = read_fields (s, &schema, &ids, NULL);
  g_autoptr (sqlite3_stmt) st = NULL;

  g_string_append (o, "\"path\": ");
  json_escape (o, s->path);
  g_string_append_printf (o, ", \"schema_version\": %d", DLEN_STORE_SCHEMA_VERSION);
  g_string_append_printf (o, ", \"impressions\": %" G_GINT64_FORMAT, query_int (s, "SELECT count(*) FROM impressions", 0));
  g_string_append_printf (o, ", \"users\": %" G_GINT64_FORMAT, query_int (s, "SELECT count(*) FROM users", 0));
  g_string_append_printf (o, ", \"items\": %" G_GINT64_FORMAT, query_int (s, "SELECT count(*) FROM items", 0));
  g_string_append_printf (o, ", \"sessions\": %" G_GINT64_FORMAT,
                          query_int (s, "SELECT count(DISTINCT session) FROM impressions", 0));
  g_string_append_printf (o, ", \"requests\": %" G_GINT64_FORMAT,
                          query_int (s, "SELECT count(DISTINCT request) FROM impressions", 0));
  g_string_append_printf (o, ", \"first_time_ms\": %" G_GINT64_FORMAT ", \"last_time_ms\": %" G_GINT64_FORMAT,
                          query_int (s, "SELECT min(time_ms) FROM impressions", 0),
                          query_int (s, "SELECT max(time_ms) FROM impressions", 0));
  g_string_append_printf (o, ", \"first_day\": %" G_GINT64_FORMAT ", \"last_day\": %" G_GINT64_FORMAT,
                          query_int (s, "SELECT min(day) FROM impressions", 0),
                          query_int (s, "SELECT max(day) FROM impressions", 0));
  g_string_append (o, ", \"targets\": {");
  for (guint t = 0; have && t < schema.n_targets; t++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT avg(f%" G_GINT64_FORMAT "), count(f%" G_GINT64_FORMAT ") FROM impressions",
                                              ids.tgt[t], ids.tgt[t]);
      g_autoptr (sqlite3_stmt) q = prepare (s, sql, error);
      if (!q)
        return NULL;
      if (t)
        g_string_append (o, ", ");
      json_escape (o, schema.targets[t].name);
      if (sqlite3_step (q) == SQLITE_ROW && sqlite3_column_type (q, 0) != SQLITE_NULL)
        g_string_append_printf (o, ": {\"%s\": %.6g, \"labelled\": %" G_GINT64_FORMAT ", \"polarity\": \"%s\"}",
                                schema.targets[t].kind == DLEN_TARGET_BINARY ? "rate" : "mean_seconds",
                                sqlite3_column_double (q, 0), (gint64) sqlite3_column_int64 (q, 1),
                                schema.targets[t].kind == DLEN_TARGET_BINARY ? polarity_names[schema.targets[t].polarity] : "duration");
      else
        g_string_append (o, ": null");
    }
  g_string_append (o, "}, \"imports\": [");
  st = prepare (s, "SELECT id, source, size, sha256, preset, started_ms, finished_ms, rows_read, rows_accepted, rows_rejected"
                   " FROM imports ORDER BY id", error);
  if (!st)
    return NULL;
  for (int n = 0; sqlite3_step (st) == SQLITE_ROW; n++)
    {
      g_string_append (o, n ? ", {\"id\": " : "{\"id\": ");
      g_string_append_printf (o, "%" G_GINT64_FORMAT ", \"source\": ", (gint64) sqlite3_column_int64 (st, 0));
      json_escape (o, (const char *) sqlite3_column_text (st, 1));
      g_string_append_printf (o, ", \"size\": %" G_GINT64_FORMAT ", \"sha256\": \"%s\", \"preset\": ",
                              (gint64) sqlite3_column_int64 (st, 2), sqlite3_column_text (st, 3));
      json_escape (o, (const char *) sqlite3_column_text (st, 4));
      g_string_append_printf (o, ", \"started_ms\": %" G_GINT64_FORMAT ", \"finished_ms\": %" G_GINT64_FORMAT
                                 ", \"rows_read\": %" G_GINT64_FORMAT ", \"rows_accepted\": %" G_GINT64_FORMAT
                                 ", \"rows_rejected\": %" G_GINT64_FORMAT "}",
                              (gint64) sqlite3_column_int64 (st, 5), (gint64) sqlite3_column_int64 (st, 6), (gint64) sqlite3_column_int64 (st, 7),
                              (gint64) sqlite3_column_int64 (st, 8), (gint64) sqlite3_column_int64 (st, 9));
    }
  g_string_append_printf (o, "], \"rejects\": %" G_GINT64_FORMAT ", \"models\": [",
                          query_int (s, "SELECT count(*) FROM import_rejects", 0));
  g_clear_pointer (&st, sqlite3_finalize);
  st = prepare (s, "SELECT id, name, arch, created_ms, metrics,"
                   " (SELECT count(*) FROM predictions p WHERE p.model_id = m.id) FROM models m ORDER BY id", error);
  if (!st)
    return NULL;
  for (int n = 0; sqlite3_step (st) == SQLITE_ROW; n++)
    {
      g_string_append_printf (o, "%s{\"id\": %" G_GINT64_FORMAT ", \"name\": ", n ? ", " : "", (gint64) sqlite3_column_int64 (st, 0));
      json_escape (o, (const char *) sqlite3_column_text (st, 1));
      g_string_append (o, ", \"arch\": ");
      json_escape (o, (const char *) sqlite3_column_text (st, 2));
      /* metrics is JSON written by this program. */
      g_string_append_printf (o, ", \"created_ms\": %" G_GINT64_FORMAT ", \"metrics\": %s, \"cached_predictions\": %"
                                 G_GINT64_FORMAT "}",
                              (gint64) sqlite3_column_int64 (st, 3), sqlite3_column_text (st, 4), (gint64) sqlite3_column_int64 (st, 5));
    }
  g_string_append (o, "]}");
  return g_string_free (g_steal_pointer (&o), FALSE);
}
