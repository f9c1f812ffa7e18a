/* dlen-store.c: the project store on SQLite: schema and migration, transactional import with
 * rejects and provenance, derived history features, datasets, models and predictions. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "dlen-csv.h"
#include "dlen-error.h"
#include "dlen-json.h"
#include "dlen-sha256.h"
#include "dlen-store.h"

#define APPLICATION_ID 0x444c454e   /* "DLEN" in PRAGMA application_id */

struct _DlenStore {
  sqlite3 *db;
  char *path;
  GCancellable *cancellable;
  gboolean staged;             /* a new project's file before it is published under its name
                                * (dlen_store_import_new): no journal, no syncs */
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

#define PROJECT_PAGE_SIZE 32768

/* impressions without its closing parenthesis: the first import appends its field columns
 * (define_fields) as ALTER TABLE ADD COLUMN would. */
#define IMPRESSIONS_TABLE \
  "CREATE TABLE impressions (" \
  "  id INTEGER PRIMARY KEY," \
  "  import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE," \
  "  line INTEGER NOT NULL," \
  "  user_id INTEGER NOT NULL REFERENCES users (id)," \
  "  item_id INTEGER REFERENCES items (id)," \
  "  time_ms INTEGER NOT NULL, day INTEGER NOT NULL," \
  "  log_session TEXT, log_request TEXT," \
  "  session INTEGER, request INTEGER, session_pos INTEGER, session_minutes REAL," \
  "  hist_likes20 INTEGER, hist_negative20 INTEGER," \
  "  truth REAL"
/* No index on import_id: no query reads an import's impressions, and no import is ever deleted
 * (the cascade would then scan the table once); keeping one cost every import about 5 %. Every
 * index entry ends with the rowid (id), so this one is in (user_id, time_ms, id) order; projects
 * made before spelled the id out, which stored it twice and serves the same queries. */
#define IMPRESSIONS_INDEXES \
  "CREATE INDEX impressions_user_time ON impressions (user_id, time_ms);"

/* The logged requests: impressions.request is -id of its (user, log_request) pair, the same
 * number for the same pair in every import. (Until version 4 the numbers were the dense rank of
 * the pairs, renumbered over the whole project at every import; a version-3 project's numbers
 * become its requests' ids.) */
#define REQUESTS_TABLE \
  "CREATE TABLE requests (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), key TEXT NOT NULL);" \
  "CREATE UNIQUE INDEX requests_key ON requests (user_id, key);"

/* The current schema, for new projects; older ones are migrated (dlen_store_open). The keys of
 * users and items are unique through an index of their own (in version 1 and 2 a constraint),
 * which a first import builds after the keys are in (keys_flush). */
static const char *const schema =
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
  "  rows_rejected INTEGER NOT NULL DEFAULT 0, item_features TEXT, item_features_sha256 TEXT);"
  "CREATE TABLE import_rejects ("
  "  import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,"
  "  line INTEGER NOT NULL, col INTEGER NOT NULL, column_name TEXT, reason TEXT NOT NULL);"
  "CREATE INDEX import_rejects_import ON import_rejects (import_id, line);"
  "CREATE TABLE users (id INTEGER PRIMARY KEY, key TEXT NOT NULL);"
  "CREATE UNIQUE INDEX users_key ON users (key);"
  "CREATE TABLE items (id INTEGER PRIMARY KEY, key TEXT NOT NULL);"
  "CREATE UNIQUE INDEX items_key ON items (key);"
  REQUESTS_TABLE
  IMPRESSIONS_TABLE ");"
  IMPRESSIONS_INDEXES
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
  GStatBuf st;
  sqlite3 *db = NULL;
  gboolean yes = FALSE;
  /* Read the header through SQLite, never with a file handle of our own: closing any handle on
   * a database file drops every POSIX lock this process holds on it, and another process could
   * then delete the WAL of a connection that is still open here. SQLite's own opens share the
   * locks of the process's other connections. An SQLite file is at least its 100-byte header
   * (SQLite would take an empty file for an empty database). */
  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size < 100)
    return FALSE;
  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
    {
      sqlite3_stmt *q = NULL;
      int rc;
      /* Only a file SQLite says is no database is not a project: a writer of this or another
       * process may hold the lock for a moment (busy), which says nothing about the file. */
      sqlite3_busy_timeout (db, 5000);
      rc = sqlite3_prepare_v2 (db, "PRAGMA schema_version", -1, &q, NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_step (q);
      yes = rc == SQLITE_ROW || (rc != SQLITE_NOTADB && sqlite3_errcode (db) != SQLITE_NOTADB);
      sqlite3_finalize (q);
    }
  sqlite3_close_v2 (db);
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

static gboolean
set_journal_wal (DlenStore *s, GError **error)
{
  g_autoptr (sqlite3_stmt) st = prepare (s, "PRAGMA journal_mode = WAL", error);
  if (!st || sqlite3_step (st) != SQLITE_ROW)
    return st ? sql_fail (s, error, "cannot switch to WAL") : FALSE;
  return TRUE;
}

static gboolean
journal_is_wal (DlenStore *s)
{
  g_autoptr (sqlite3_stmt) st = prepare (s, "PRAGMA journal_mode", NULL);
  return st && sqlite3_step (st) == SQLITE_ROW && g_ascii_strcasecmp ((const char *) sqlite3_column_text (st, 0), "wal") == 0;
}

/* dlen_store_open(); with @staged, for a file nobody else sees until it is complete
 * (dlen_store_import_new), no rollback journal and no syncs: should anything fail, the whole
 * file is dropped. Messages name the project @name (NULL: @path). */
static DlenStore *
store_open (const char *path, const char *name, gboolean create, gboolean staged, GError **error)
{
  g_autoptr (DlenStore) s = g_new0 (DlenStore, 1);
  gboolean exists = g_file_test (path, G_FILE_TEST_EXISTS);
  gint64 app_id, version;
  /* A store is used from one thread at a time (see the header), so the connection needs no
   * mutex of its own: SQLITE_OPEN_NOMUTEX saves a lock and unlock in every bind and step. */
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);

  s->path = g_strdup (name ? name : path);
  if (exists && !staged && g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: is a directory, not a project", s->path);
      return NULL;
    }
  if (exists && !staged && !dlen_store_is_project_file (path))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT, "%s: not a DLEN project (not an SQLite file)", s->path);
      return NULL;
    }
  if (!exists && !create)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: no such project", s->path);
      return NULL;
    }
  if (sqlite3_open_v2 (path, &s->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", s->path, s->db ? sqlite3_errmsg (s->db) : "cannot open");
      return NULL;
    }
  sqlite3_extended_result_codes (s->db, 0);
  sqlite3_busy_timeout (s->db, 5000);
  if (!exec (s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;", error))
    return NULL;
  s->staged = staged;
  if (staged && !exec (s, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;", error))
    return NULL;
  app_id = query_int (s, "PRAGMA application_id", -1);
  version = query_int (s, "PRAGMA user_version", -1);
  if (app_id == 0 && version == 0)
    {
      /* A new (empty) file: create the current schema in one transaction. */
      if (query_int (s, "SELECT count(*) FROM sqlite_master", 1) != 0)
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT, "%s: an SQLite database that is not a DLEN project", s->path);
          return NULL;
        }
      /* 32 KiB pages rather than SQLite's 4 KiB: rows of 30 columns go in and are scanned in
       * bulk. Measured against 4 KiB: a KuaiRand import into a new project about 5 % faster, a
       * 10^6-row one 10 %, a second import that replays every user's history 10 %, an epoch
       * of training from the project 5 %. (Only an empty file takes a page size.) */
      if (!exec (s, "PRAGMA page_size = " G_STRINGIFY (PROJECT_PAGE_SIZE), error) || !exec (s, "BEGIN IMMEDIATE", error))
        return NULL;
      g_autofree char *ids = g_strdup_printf ("PRAGMA application_id = 1145849166; PRAGMA user_version = %d;",
                                              DLEN_STORE_SCHEMA_VERSION);
      if (!exec (s, schema, error) || !exec (s, ids, error))
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
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT, "%s: an SQLite database that is not a DLEN project", s->path);
      return NULL;
    }
  if (version > DLEN_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT,
                   "%s: project schema version %" G_GINT64_FORMAT " is newer than this build reads (%d)",
                   s->path, version, DLEN_STORE_SCHEMA_VERSION);
      return NULL;
    }
  /* Each step in a transaction that also bumps user_version. */
  if (version < 2)
    {
      /* 2: the item side-feature file of an import and its checksum. */
      if (!exec (s, "BEGIN IMMEDIATE", error))
        return NULL;
      if (query_int (s, "SELECT count(*) FROM pragma_table_info('imports') WHERE name = 'item_features'", 0) == 0
          && !exec (s, "ALTER TABLE imports ADD COLUMN item_features TEXT;"
                       "ALTER TABLE imports ADD COLUMN item_features_sha256 TEXT;", error))
        {
          sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
          return NULL;
        }
      if (!exec (s, "PRAGMA user_version = 2", error) || !exec (s, "COMMIT", error))
        {
          sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
          return NULL;
        }
    }
  if (version < 3)
    {
      /* 3: no index on impressions.import_id (see IMPRESSIONS_INDEXES). */
      if (!exec (s, "BEGIN IMMEDIATE", error))
        return NULL;
      if (!exec (s, "DROP INDEX IF EXISTS impressions_import; PRAGMA user_version = 3;", error)
          || !exec (s, "COMMIT", error))
        {
          sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
          return NULL;
        }
    }
  if (version < 4)
    {
      /* 4: the requests table, from the numbers the impressions hold. */
      if (!exec (s, "BEGIN IMMEDIATE", error))
        return NULL;
      if (!exec (s, REQUESTS_TABLE
                    "INSERT INTO requests (id, user_id, key) SELECT DISTINCT -request, user_id, log_request"
                    " FROM impressions WHERE log_request IS NOT NULL ORDER BY 1;"
                    "PRAGMA user_version = 4;", error)
          || !exec (s, "COMMIT", error))
        {
          sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
          return NULL;
        }
    }
  /* WAL once the project holds impressions (readers then run beside a writer); before that a
   * rollback journal, so that the first import writes its pages once, straight into the file,
   * rather than into the WAL and again at the checkpoint (see dlen_store_import). A project
   * in WAL stays so. Should another connection hold a lock through the busy timeout, this one
   * works under the rollback journal and a later open switches. */
  if (!staged && query_int (s, "SELECT EXISTS (SELECT 1 FROM impressions)", 1))
    set_journal_wal (s, NULL);
  return g_steal_pointer (&s);
}

DlenStore *
dlen_store_open (const char *path, gboolean create, GError **error)
{
  return store_open (path, NULL, create, FALSE, error);
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

/* Records a field and appends its column's definition to @columns. */
static gboolean
insert_field (DlenStore *s, const char *kind, int ordinal, const char *name, int log1p, const DlenTarget *t,
              gint64 *id, GString *columns, GError **error)
{
  g_autoptr (sqlite3_stmt) st = prepare (s,
    "INSERT INTO fields (kind, ordinal, name, log1p, target_kind, polarity, weak_source) VALUES (?, ?, ?, ?, ?, ?, ?)", error);
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
  g_string_append_printf (columns, ", f%" G_GINT64_FORMAT " %s", *id, g_str_equal (kind, "category") ? "TEXT" : "REAL");
  return TRUE;
}

/* Records the fields of the first import and adds their columns to the (empty) impressions
 * table. The table is made again with them rather than altered once per field: every ALTER
 * TABLE parses the whole schema again, which took a few milliseconds per import. The new table
 * reads exactly as the altered one would. */
static gboolean
define_fields (DlenStore *s, const DlenSchema *schema, FieldIds *ids, GError **error)
{
  g_autoptr (GString) columns = g_string_new (NULL);
  g_autoptr (GString) sql = NULL;
  for (guint i = 0; i < schema->n_cat; i++)
    if (!insert_field (s, "category", i, schema->cat[i].name, 0, NULL, &ids->cat[i], columns, error))
      return FALSE;
  for (guint i = 0; i < schema->n_num; i++)
    if (!insert_field (s, "numeric", i, schema->num[i].name, schema->num[i].log1p, NULL, &ids->num[i], columns, error))
      return FALSE;
  for (guint i = 0; i < schema->n_targets; i++)
    if (!insert_field (s, "target", i, schema->targets[i].name, 0, &schema->targets[i], &ids->tgt[i], columns,
                       error))
      return FALSE;
  if (query_int (s, "SELECT EXISTS (SELECT 1 FROM impressions)", 1) != 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT, "%s: impressions without fields", s->path);
      return FALSE;
    }
  /* Foreign keys are off here (dlen_store_import), so the DROP deletes nothing it checks. */
  sql = g_string_new ("DROP TABLE impressions;" IMPRESSIONS_TABLE);
  g_string_append (sql, columns->str);
  g_string_append (sql, ");" IMPRESSIONS_INDEXES);
  return exec (s, sql->str, error);
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
  o->stage_limit = (gsize) 256 << 20;
}

void
dlen_import_report_clear (DlenImportReport *r)
{
  g_clear_pointer (&r->first_reject, g_free);
}

static char *
file_sha256 (const char *path, goffset *size, GCancellable *cancellable, GError **error)
{
  g_autofree guchar *buf = g_malloc (1 << 16);
  FILE *fp = g_fopen (path, "rb");
  DlenSha256 sum;
  char hex[65];
  gboolean failed = FALSE;
  size_t n;
  *size = 0;
  if (!fp)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", path, g_strerror (errno));
      return NULL;
    }
  dlen_sha256_init (&sum);
  while ((n = fread (buf, 1, 1 << 16, fp)) > 0)
    {
      dlen_sha256_update (&sum, buf, n);
      *size += n;
      if ((failed = g_cancellable_set_error_if_cancelled (cancellable, error)))
        break;
    }
  dlen_sha256_finish (&sum, hex);
  if (!failed && ferror (fp))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: read error", path);
      failed = TRUE;
    }
  fclose (fp);
  return failed ? NULL : g_strdup (hex);
}

/* The checksums of the log (and of its side-feature files) computed in a thread beside the
 * import: only the duplicate check needs them, and on two cores reading the file twice at once
 * costs less than once after the other. It starts with pass 1 when one thread reads the log or
 * the project has imports (a duplicate then stops the import early), else with pass 2 (which
 * leaves a core free). Their errors and the duplicate check keep precedence over every later
 * error (sha_job_finish), as when they were computed first. */
typedef struct {
  char *path, *uf_path, *if_path;
  GCancellable *cancellable;
  GThread *thread;
  gint done;                   /* atomic: the checksums are ready */
  gboolean checked;            /* joined and checked (the outcome is in failed) */
  gboolean failed;
  char *sha, *uf_sha, *if_sha;
  goffset size;
  GError *error;
} ShaJob;

static gpointer
sha_job_run (gpointer data)
{
  ShaJob *j = data;
  goffset side_size;
  j->sha = file_sha256 (j->path, &j->size, j->cancellable, &j->error);
  if (j->sha && j->uf_path)
    j->uf_sha = file_sha256 (j->uf_path, &side_size, j->cancellable, &j->error);
  if (j->sha && !j->error && j->if_path)
    j->if_sha = file_sha256 (j->if_path, &side_size, j->cancellable, &j->error);
  g_atomic_int_set (&j->done, 1);
  return NULL;
}

/* Sets the job up; sha_job_begin starts it (any check does, at the latest). */
static void
sha_job_init (ShaJob *j, const char *path, const char *uf_path, const char *if_path, GCancellable *cancellable)
{
  memset (j, 0, sizeof *j);
  j->path = g_strdup (path);
  j->uf_path = g_strdup (uf_path);
  j->if_path = g_strdup (if_path);
  j->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
}

static void
sha_job_begin (ShaJob *j)
{
  if (!j->thread && !j->checked)
    j->thread = g_thread_new ("dlen-sha256", sha_job_run, j);
}

/* Once the checksums are ready (waiting for them when @wait): FALSE with @error set when one
 * failed or the log was imported before. TRUE while not ready, and once checked fine. */
static gboolean
sha_job_check (DlenStore *s, ShaJob *j, gboolean wait, GError **error)
{
  g_autoptr (sqlite3_stmt) dup = NULL;
  if (j->checked)
    return !j->failed;
  if (!wait && (!j->thread || !g_atomic_int_get (&j->done)))
    return TRUE;
  sha_job_begin (j);
  g_thread_join (g_steal_pointer (&j->thread));
  j->checked = TRUE;
  j->failed = TRUE;
  if (j->error)
    {
      g_propagate_error (error, g_steal_pointer (&j->error));
      return FALSE;
    }
  if (sqlite3_prepare_v2 (s->db, "SELECT id, source FROM imports WHERE sha256 = ?", -1, &dup, NULL) != SQLITE_OK)
    return sql_fail (s, error, "cannot prepare a query");
  sqlite3_bind_text (dup, 1, j->sha, -1, SQLITE_STATIC);
  if (sqlite3_step (dup) == SQLITE_ROW)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                   "%s: this file (sha256 %.12s...) was already imported as import %" G_GINT64_FORMAT " from %s; "
                   "importing it again would double its impressions", j->path, j->sha,
                   (gint64) sqlite3_column_int64 (dup, 0), (const char *) sqlite3_column_text (dup, 1));
      return FALSE;
    }
  j->failed = FALSE;
  return TRUE;
}

/* Ends the job. When the import failed with @error (or @failed), a checksum failure or a
 * duplicate replaces that error: it would have stopped the import before anything else. TRUE
 * when the job's own error is the outcome. */
static gboolean
sha_job_finish (DlenStore *s, ShaJob *j, gboolean failed, GError **error)
{
  gboolean replaced = FALSE;
  if (failed && !j->checked)
    {
      GError *first = NULL;
      if (!sha_job_check (s, j, TRUE, &first))
        {
          g_clear_error (error);
          g_propagate_error (error, first);
          replaced = TRUE;
        }
    }
  else if (failed)
    replaced = j->failed;
  if (j->thread)
    g_thread_join (g_steal_pointer (&j->thread));
  g_clear_error (&j->error);
  g_clear_object (&j->cancellable);
  g_clear_pointer (&j->path, g_free);
  g_clear_pointer (&j->uf_path, g_free);
  g_clear_pointer (&j->if_path, g_free);
  g_clear_pointer (&j->sha, g_free);
  g_clear_pointer (&j->uf_sha, g_free);
  g_clear_pointer (&j->if_sha, g_free);
  return replaced;
}

/* ---- Rows into SQLite --------------------------------------------------------------------
 * The import's rows go in with INSERT INTO t (...) SELECT * FROM dlen_import_rows, whose rows
 * come from an eponymous virtual table over a ValueSource: SQLite takes each value from
 * xColumn straight into the record it builds. Bound parameters (multi-row INSERTs of 64 rows)
 * cost a bind and a copy per value and a statement step per batch on top of that, about a
 * third more for the whole insert. */

#define ROWS_TABLE "dlen_import_rows"

typedef enum { VAL_NULL, VAL_INT, VAL_DOUBLE, VAL_STRING } ValueType;

typedef struct {
  ValueType type;
  int len;                     /* of a VAL_STRING in bytes, or -1: up to its NUL */
  union {
    gint64 i;
    double d;
    const char *str;           /* borrowed: see ValueSource.static_text */
  };
} Value;

static inline void
value_int (Value *v, gint64 i)
{
  v->type = VAL_INT;
  v->i = i;
}

static inline void
value_double (Value *v, double d)
{
  v->type = VAL_DOUBLE;
  v->d = d;
}

static inline void
value_string (Value *v, const char *text)
{
  v->type = text ? VAL_STRING : VAL_NULL;
  v->len = -1;
  v->str = text;
}

typedef struct _ValueSource ValueSource;

struct _ValueSource {
  /* Moves to the next row (sets values) or to the end (sets eof); FALSE with error set. */
  gboolean (*next) (ValueSource *src);
  guint n_cols;
  gint64 n_rows;               /* an estimate, for the planner */
  gboolean static_text;        /* text values outlive the statement (else only their row) */
  Value *values;               /* the current row's, n_cols */
  gboolean started, eof;
  gint64 rowid;
  GError *error;               /* why the scan stopped */
};

typedef struct {
  sqlite3_vtab base;
  ValueSource *src;
} RowsTable;

typedef struct {
  sqlite3_vtab_cursor base;
  ValueSource *src;
} RowsCursor;

static int
rows_connect (sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
  ValueSource *src = aux;
  g_autoptr (GString) sql = g_string_new ("CREATE TABLE x (c0");
  RowsTable *t;
  int rc;
  for (guint c = 1; c < src->n_cols; c++)
    g_string_append_printf (sql, ", c%u", c);
  g_string_append_c (sql, ')');
  if ((rc = sqlite3_declare_vtab (db, sql->str)) != SQLITE_OK)
    return rc;
  t = g_new0 (RowsTable, 1);
  t->src = src;
  *out = &t->base;
  return SQLITE_OK;
}

static int
rows_disconnect (sqlite3_vtab *vtab)
{
  g_free (vtab);
  return SQLITE_OK;
}

static int
rows_best_index (sqlite3_vtab *vtab, sqlite3_index_info *info)
{
  info->estimatedCost = 1e9;
  info->estimatedRows = ((RowsTable *) vtab)->src->n_rows;
  return SQLITE_OK;
}

static int
rows_open (sqlite3_vtab *vtab, sqlite3_vtab_cursor **out)
{
  RowsCursor *c = g_new0 (RowsCursor, 1);
  c->src = ((RowsTable *) vtab)->src;
  *out = &c->base;
  return SQLITE_OK;
}

static int
rows_close (sqlite3_vtab_cursor *cursor)
{
  g_free (cursor);
  return SQLITE_OK;
}

static int
rows_next (sqlite3_vtab_cursor *cursor)
{
  ValueSource *src = ((RowsCursor *) cursor)->src;
  src->rowid++;
  return src->next (src) ? SQLITE_OK : SQLITE_ERROR;
}

static int
rows_filter (sqlite3_vtab_cursor *cursor, int idx, const char *idx_str, int argc, sqlite3_value **argv)
{
  ValueSource *src = ((RowsCursor *) cursor)->src;
  if (src->started)
    return SQLITE_MISUSE;   /* a source is read once */
  src->started = TRUE;
  return rows_next (cursor);
}

static int
rows_eof (sqlite3_vtab_cursor *cursor)
{
  return ((RowsCursor *) cursor)->src->eof;
}

static int
rows_column (sqlite3_vtab_cursor *cursor, sqlite3_context *ctx, int col)
{
  const ValueSource *src = ((RowsCursor *) cursor)->src;
  const Value *v = &src->values[col];
  switch (v->type)
    {
    case VAL_INT:
      sqlite3_result_int64 (ctx, v->i);
      break;
    case VAL_DOUBLE:
      sqlite3_result_double (ctx, v->d);
      break;
    case VAL_STRING:
      sqlite3_result_text (ctx, v->str, v->len, src->static_text ? SQLITE_STATIC : SQLITE_TRANSIENT);
      break;
    case VAL_NULL:
    default:
      sqlite3_result_null (ctx);
      break;
    }
  return SQLITE_OK;
}

static int
rows_rowid (sqlite3_vtab_cursor *cursor, sqlite3_int64 *rowid)
{
  *rowid = ((RowsCursor *) cursor)->src->rowid;
  return SQLITE_OK;
}

static const sqlite3_module rows_module = {
  .iVersion = 0,
  .xCreate = NULL,             /* eponymous only */
  .xConnect = rows_connect,
  .xBestIndex = rows_best_index,
  .xDisconnect = rows_disconnect,
  .xOpen = rows_open,
  .xClose = rows_close,
  .xFilter = rows_filter,
  .xNext = rows_next,
  .xEof = rows_eof,
  .xColumn = rows_column,
  .xRowid = rows_rowid,
};

/* Inserts the rows of @src into @table's @columns (src->n_cols of them) in one statement. */
static gboolean
insert_rows (DlenStore *s, const char *table, const char *columns, ValueSource *src, GError **error)
{
  g_autofree char *sql = g_strdup_printf ("INSERT INTO %s (%s) SELECT * FROM " ROWS_TABLE, table, columns);
  g_autofree char *what = g_strdup_printf ("cannot store the %s", table);
  sqlite3_stmt *st = NULL;
  gboolean ok = FALSE;
  if (sqlite3_create_module_v2 (s->db, ROWS_TABLE, &rows_module, src, NULL) != SQLITE_OK)
    return sql_fail (s, error, "cannot register the rows to insert");
  if ((st = prepare (s, sql, error)))
    {
      if (sqlite3_step (st) == SQLITE_DONE)
        ok = TRUE;
      else if (src->error)
        g_propagate_error (error, g_steal_pointer (&src->error));
      else
        sql_fail (s, error, what);
      sqlite3_finalize (st);
    }
  sqlite3_create_module_v2 (s->db, ROWS_TABLE, NULL, NULL, NULL);
  g_clear_error (&src->error);
  return ok;
}

/* ---- Keys -----------------------------------------------------------------------------------
 * users and items map the log's keys to ids. A key new to the project gets its id here (the
 * next rowid, as SQLite would give it) and goes in later, all at once (keys_flush), so that it
 * costs a hash lookup rather than a query and an insert; only a table that had rows before the
 * import is asked whether it knows a key. */

typedef struct {
  sqlite3_stmt *sel;           /* NULL when the table was empty: every key not seen is new */
  gint64 next_id;              /* of the first pending key */
  GPtrArray *pending;          /* new keys (in chunk), ids next_id, next_id + 1, ... */
  GStringChunk *chunk;
  char *table;
} Keys;

static void
keys_clear (Keys *k)
{
  g_clear_pointer (&k->sel, sqlite3_finalize);
  g_clear_pointer (&k->pending, g_ptr_array_unref);
  g_clear_pointer (&k->chunk, g_string_chunk_free);
  g_clear_pointer (&k->table, g_free);
}

static gboolean
keys_init (DlenStore *s, Keys *k, const char *table, GError **error)
{
  g_autofree char *max_sql = g_strdup_printf ("SELECT max(id) FROM %s", table);
  g_autofree char *sel_sql = g_strdup_printf ("SELECT id FROM %s WHERE key = ?", table);
  g_autoptr (sqlite3_stmt) max = prepare (s, max_sql, error);
  gint64 last;
  memset (k, 0, sizeof *k);
  if (!max)
    return FALSE;
  if (sqlite3_step (max) != SQLITE_ROW)
    return sql_fail (s, error, "cannot read the keys");
  last = sqlite3_column_type (max, 0) == SQLITE_NULL ? 0 : (gint64) sqlite3_column_int64 (max, 0);
  if (last == G_MAXINT64)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: no ids left in %s", s->path, table);
      return FALSE;
    }
  k->next_id = last + 1;
  k->pending = g_ptr_array_new ();
  k->chunk = g_string_chunk_new (4096);
  k->table = g_strdup (table);
  return last == 0 || (k->sel = prepare (s, sel_sql, error)) != NULL;
}

/* The id of @key: the table's own when it had the key before the import (*@known), else a new
 * one, the key staged for insert (keys_flush). -1 on error. The caller caches the ids: asking
 * twice for a new key would give it two. */
static gint64
keys_add (DlenStore *s, Keys *k, const char *key, gboolean *known, GError **error)
{
  gint64 id;
  *known = FALSE;
  if (k->sel)
    {
      int rc;
      sqlite3_bind_text (k->sel, 1, key, -1, SQLITE_STATIC);
      rc = sqlite3_step (k->sel);
      id = rc == SQLITE_ROW ? (gint64) sqlite3_column_int64 (k->sel, 0) : 0;
      sqlite3_reset (k->sel);
      if (rc == SQLITE_ROW)
        {
          *known = TRUE;
          return id;
        }
      if (rc != SQLITE_DONE)
        {
          sql_fail (s, error, "cannot look up a key");
          return -1;
        }
    }
  if (k->next_id > G_MAXINT64 - (gint64) k->pending->len)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: no ids left for a new key", s->path);
      return -1;
    }
  id = k->next_id + (gint64) k->pending->len;
  g_ptr_array_add (k->pending, g_string_chunk_insert (k->chunk, key));
  return id;
}

typedef struct {
  ValueSource base;
  Keys *keys;
  Value values[2];
} KeySource;

static gboolean
key_source_next (ValueSource *src)
{
  KeySource *ks = (KeySource *) src;
  guint i = (guint) (src->rowid - 1);
  if (i >= ks->keys->pending->len)
    src->eof = TRUE;
  else
    {
      value_int (&ks->values[0], ks->keys->next_id + (gint64) i);
      value_string (&ks->values[1], ks->keys->pending->pdata[i]);
    }
  return TRUE;
}

/* Inserts the staged keys. Into an empty table of the current schema, the unique index on the
 * keys is built after them, from one sort, rather than probed and grown key by key. */
static gboolean
keys_flush (DlenStore *s, Keys *k, GError **error)
{
  KeySource ks = { { key_source_next, 2, k->pending->len, TRUE, NULL, FALSE, FALSE, 0, NULL }, k, { { 0 } } };
  g_autofree char *drop = g_strdup_printf ("DROP INDEX %s_key", k->table);
  g_autofree char *create = g_strdup_printf ("CREATE UNIQUE INDEX %s_key ON %s (key)", k->table, k->table);
  g_autofree char *probe = g_strdup_printf ("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index'"
                                            " AND name = '%s_key')", k->table);
  gboolean rebuild;
  if (k->pending->len == 0)
    return TRUE;
  ks.base.values = ks.values;
  rebuild = k->next_id == 1 && query_int (s, probe, 0);
  if ((rebuild && !exec (s, drop, error)) || !insert_rows (s, k->table, "id, key", &ks.base, error)
      || (rebuild && !exec (s, create, error)))
    return FALSE;
  k->next_id += (gint64) k->pending->len;
  g_ptr_array_set_size (k->pending, 0);
  return TRUE;
}

/* Returns the id of an item key; @cache avoids a lookup per row. */
static gint64
key_id (DlenStore *s, Keys *k, GHashTable *cache, const char *key, GError **error)
{
  gpointer hit = g_hash_table_lookup (cache, key);
  gboolean known;
  gint64 id;
  if (hit)
    return GPOINTER_TO_SIZE (hit);
  id = keys_add (s, k, key, &known, error);
  if (id >= 0)
    g_hash_table_insert (cache, g_strdup (key), GSIZE_TO_POINTER ((gsize) id));
  return id;
}

/* ---- Derived features ---------------------------------------------------------------------
 * Sessions, requests and history features of an impression come strictly from its user's
 * earlier impressions, ordered by time, then import order (id). history_step() walks one user
 * through that order. For users new to the project the walk runs in memory between the two
 * passes of the import (place_rows), so each row is inserted once with its final features; users
 * the project already had are walked again from the table after the insert (replay_histories),
 * reading the (user_id, time_ms) index (whose entries end with the id) in order, without a sort. */

/* An INTEGER computed as SQL would: on int64 overflow SQLite falls back to a REAL. */
typedef struct {
  gboolean real;
  gint64 i;
  double r;
} SqlNumber;

/* @a * @b + @c for @b > 0, @c >= 0, with SQLite's overflow rule. */
static SqlNumber
sql_mul_add (SqlNumber a, gint64 b, gint64 c)
{
  SqlNumber out = { TRUE, 0, 0.0 };
  if (a.real)
    out.r = a.r * (double) b + (double) c;
  else if (a.i > 0 ? a.i > G_MAXINT64 / b : a.i < G_MININT64 / b)
    out.r = (double) a.i * (double) b + (double) c;
  else if (a.i * b > G_MAXINT64 - c)
    out.r = (double) (a.i * b) + (double) c;
  else
    out = (SqlNumber) { FALSE, a.i * b + c, 0.0 };
  return out;
}

static void
bind_number (sqlite3_stmt *st, int k, SqlNumber v)
{
  if (v.real)
    sqlite3_bind_double (st, k, v.r);
  else
    sqlite3_bind_int64 (st, k, v.i);
}

static inline void
value_number (Value *v, SqlNumber n)
{
  if (n.real)
    value_double (v, n.r);
  else
    value_int (v, n.i);
}

/* Logged session and request ids as small numbers (0: none), so that comparing them is cheap
 * and a row between the passes holds no strings. */
typedef struct {
  GHashTable *ids;             /* string -> id */
  GPtrArray *names;            /* id - 1 -> string */
  GStringChunk *chunk;
  const char *last;            /* consecutive rows mostly repeat the same id */
  guint32 last_id;
} Strings;

static void
strings_init (Strings *t)
{
  t->ids = g_hash_table_new (g_str_hash, g_str_equal);
  t->names = g_ptr_array_new ();
  t->chunk = g_string_chunk_new (4096);
  t->last = NULL;
  t->last_id = 0;
}

static void
strings_clear (Strings *t)
{
  g_clear_pointer (&t->ids, g_hash_table_unref);
  g_clear_pointer (&t->names, g_ptr_array_unref);
  g_clear_pointer (&t->chunk, g_string_chunk_free);
}

static guint32
strings_id (Strings *t, const char *v)
{
  gpointer id;
  char *copy;
  if (!v)
    return 0;
  if (t->last && strcmp (v, t->last) == 0)
    return t->last_id;
  id = g_hash_table_lookup (t->ids, v);
  if (!id)
    {
      copy = g_string_chunk_insert (t->chunk, v);
      g_ptr_array_add (t->names, copy);
      id = GUINT_TO_POINTER (t->names->len);
      g_hash_table_insert (t->ids, copy, id);
    }
  t->last = t->names->pdata[GPOINTER_TO_UINT (id) - 1];
  t->last_id = GPOINTER_TO_UINT (id);
  return t->last_id;
}

/* One user's walk through its impressions. */
typedef struct {
  const char *key;             /* users.key (owned by the import's user table) */
  gint64 id;                   /* users.id */
  gboolean known;              /* in the project before this import */
  gboolean replay;             /* had impressions before this import, some later than its first
                                * one here: walked from the table after the insert */
  guint32 first, n_rows;       /* its rows in the import (place_rows) */
  gint64 first_time;           /* the earliest time among them */
  gint64 n;                    /* impressions walked */
  gint64 s, p;                 /* 1-based session number, 0-based position in it */
  gint64 prev_time, start_time;
  guint32 prev_session;        /* the previous impression's logged session id, 0: none */
  guint32 liked, negative;     /* bit k: the impression k + 1 back was liked / negative */
} History;

static void
history_restart (History *h)
{
  h->n = h->s = h->p = h->prev_time = h->start_time = 0;
  h->prev_session = 0;
  h->liked = h->negative = 0;
}

static int
count_last20 (guint32 bits)
{
  int n = 0;
  for (bits &= 0xfffff; bits; bits &= bits - 1)
    n++;
  return n;
}

typedef struct {
  gint64 s, p;                 /* session number, position */
  double minutes;              /* since the session's first impression */
  int likes20, negative20;     /* liked / negative impressions among the previous 20 */
} Step;

/* The next impression of @h's user: a session starts at the first impression, where the logged
 * session id changes (to or from none included), or, with no session ids on either side, after
 * a gap of more than session_gap_minutes. */
static void
history_step (History *h, gint64 time_ms, guint32 session, gboolean liked, gboolean negative,
              const DlenImportOptions *o, Step *x)
{
  gboolean start;
  if (h->n == 0)
    start = TRUE;
  else if (session || h->prev_session)
    start = session != h->prev_session;
  else
    start = time_ms - h->prev_time > (gint64) o->session_gap_minutes * 60000;
  if (start)
    {
      h->s++;
      h->p = 0;
      h->start_time = time_ms;
    }
  else
    h->p++;
  x->s = h->s;
  x->p = h->p;
  x->minutes = (double) (time_ms - h->start_time) / 60000.0;
  x->likes20 = count_last20 (h->liked);
  x->negative20 = count_last20 (h->negative);
  h->liked = h->liked << 1 | (liked ? 1u : 0u);
  h->negative = h->negative << 1 | (negative ? 1u : 0u);
  h->prev_session = session;
  h->prev_time = time_ms;
  h->n++;
}

/* The session number of step @s, @p of user @user_id, and its request number (when the log has
 * none): session s of a user is user_id * 10^6 + s, its requests session * 10^5 + p / size. */
static void
step_numbers (gint64 user_id, gint64 s, gint64 p, const DlenImportOptions *o, SqlNumber *session, SqlNumber *request)
{
  *session = sql_mul_add ((SqlNumber) { FALSE, user_id, 0.0 }, 1000000, s);
  *request = sql_mul_add (*session, 100000, p / o->request_size);
}

static gboolean
column_is_number (sqlite3_stmt *st, int c, SqlNumber v)
{
  return v.real ? sqlite3_column_type (st, c) == SQLITE_FLOAT && sqlite3_column_double (st, c) == v.r
                : sqlite3_column_type (st, c) == SQLITE_INTEGER && sqlite3_column_int64 (st, c) == v.i;
}

/* TRUE when columns @k.. of @st (session, request, session_pos, session_minutes, hist_likes20,
 * hist_negative20) hold what bind_step would write for @x: the row needs no UPDATE. */
static gboolean
step_stored (sqlite3_stmt *st, int k, gint64 user_id, const Step *x, gboolean logged_request,
             const DlenImportOptions *o)
{
  SqlNumber session, request;
  step_numbers (user_id, x->s, x->p, o, &session, &request);
  return column_is_number (st, k, session)
         && (logged_request || column_is_number (st, k + 1, request))
         && column_is_number (st, k + 2, (SqlNumber) { FALSE, x->p, 0.0 })
         && sqlite3_column_type (st, k + 3) == SQLITE_FLOAT && sqlite3_column_double (st, k + 3) == x->minutes
         && column_is_number (st, k + 4, (SqlNumber) { FALSE, x->likes20, 0.0 })
         && column_is_number (st, k + 5, (SqlNumber) { FALSE, x->negative20, 0.0 });
}

/* Binds session, request, session_pos, session_minutes, hist_likes20, hist_negative20 from
 * parameter @k on: the session is numbered user_id * 1e6 + s, and a request, for a row without
 * a logged request id, session * 1e5 + p / request_size; with one, request stays NULL here
 * (the caller numbers logged requests). */
static void
bind_step (sqlite3_stmt *st, int k, gint64 user_id, const Step *x, gboolean logged_request,
           const DlenImportOptions *o)
{
  SqlNumber session, request;
  step_numbers (user_id, x->s, x->p, o, &session, &request);
  bind_number (st, k, session);
  if (logged_request)
    sqlite3_bind_null (st, k + 1);
  else
    bind_number (st, k + 1, request);
  sqlite3_bind_int64 (st, k + 2, x->p);
  sqlite3_bind_double (st, k + 3, x->minutes);
  sqlite3_bind_int (st, k + 4, x->likes20);
  sqlite3_bind_int (st, k + 5, x->negative20);
}

/* The History of a user key, adding the user when new; a user the project already had is
 * marked for replay. @cache maps keys to Histories. */
static History *
user_history (DlenStore *s, Keys *k, GHashTable *cache, const char *key, GError **error)
{
  History *h = g_hash_table_lookup (cache, key);
  char *copy;
  if (h)
    return h;
  h = g_new0 (History, 1);
  h->id = keys_add (s, k, key, &h->replay, error);
  h->known = h->replay;
  if (h->id < 0)
    {
      g_free (h);
      return NULL;
    }
  copy = g_strdup (key);
  h->key = copy;
  g_hash_table_insert (cache, copy, h);
  return h;
}

static gint
compare_history_id (gconstpointer a, gconstpointer b)
{
  gint64 x = (*(History *const *) a)->id, y = (*(History *const *) b)->id;
  return x < y ? -1 : x > y;
}

/* An accepted row between the two passes: what the walk needs (in), replaced in
 * place by what the insert needs (out) once the row's user has been walked. */
typedef struct {
  History *user;
  union {
    struct {
      gint64 time_ms;
      guint32 session, request;    /* Strings ids, 0: none */
      gboolean liked, negative;
    } in;
    struct {
      double minutes;
      guint32 s, p;                /* session number and position */
      guint32 rank;                /* the import's number of its (user, logged request) pair (place_rows), 0: none */
      guint8 likes20, negative20;
    } out;
  };
} ImportRow;

static gint
compare_row_time (gconstpointer a, gconstpointer b, gpointer data)
{
  const ImportRow *rows = data;
  guint32 i = *(const guint32 *) a, j = *(const guint32 *) b;
  gint64 x = rows[i].in.time_ms, y = rows[j].in.time_ms;
  return x < y ? -1 : x > y ? 1 : i < j ? -1 : i > j;   /* then import order */
}

static gint
compare_u32 (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static gint
compare_string_ids (gconstpointer a, gconstpointer b, gpointer data)
{
  const Strings *t = data;
  return strcmp (t->names->pdata[*(const guint32 *) a - 1], t->names->pdata[*(const guint32 *) b - 1]);
}

/* A logged request of the import: its user and request id (in the import's Strings). */
typedef struct {
  const History *user;
  guint32 request;
} RequestPair;

/* Computes the derived features of the @n rows of the import (pass 1's ImportRow.in) into
 * their ImportRow.out: walks every user new to the project through its rows in time order
 * (file order among equal times), and, with @number_requests, numbers the import's logged
 * (user id, request id) pairs 1, 2, ... in that order (request ids compare as strcmp does under
 * SQLite's BINARY collation), out.rank, appending each pair to @pairs (pair k at k - 1):
 * requests_resolve() turns them into the project's numbers. @users are the import's users,
 * sorted by id. */
static void
place_rows (ImportRow *rows, guint32 n, GPtrArray *users, Strings *requests, gboolean number_requests,
            GArray *pairs, const DlenImportOptions *o)
{
  g_autofree guint32 *order = g_new (guint32, n);
  g_autofree guint32 *request_key = NULL, *by_key = NULL;
  g_autoptr (GArray) keys = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GArray) ranks = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint32 first = 0, rank_base = 0;

  /* Each user's rows, in file order: a counting sort on the user. */
  for (guint u = 0; u < users->len; u++)
    {
      History *h = users->pdata[u];
      h->first = first;
      first += h->n_rows;
      h->n_rows = 0;
    }
  for (guint32 i = 0; i < n; i++)
    {
      History *h = rows[i].user;
      order[h->first + h->n_rows++] = i;
    }
  if (number_requests)
    {
      /* Request ids in strcmp order, so that comparing two is comparing two numbers. */
      by_key = g_new (guint32, requests->names->len);
      request_key = g_new0 (guint32, requests->names->len + 1);
      for (guint i = 0; i < requests->names->len; i++)
        by_key[i] = i + 1;
      g_qsort_with_data (by_key, (gint) requests->names->len, sizeof (guint32), compare_string_ids, requests);
      for (guint i = 0; i < requests->names->len; i++)
        request_key[by_key[i]] = i + 1;
    }

  for (guint u = 0; u < users->len; u++)
    {
      History *h = users->pdata[u];
      guint32 *seg = order + h->first;
      gboolean sorted = TRUE;

      if (!h->replay)
        {
          for (guint32 j = 1; j < h->n_rows && sorted; j++)
            sorted = rows[seg[j]].in.time_ms >= rows[seg[j - 1]].in.time_ms;
          if (!sorted)
            g_qsort_with_data (seg, (gint) h->n_rows, sizeof (guint32), compare_row_time, rows);
        }
      /* The user's distinct requests, ranked after those of the users before. */
      g_array_set_size (ranks, h->n_rows);
      memset (ranks->data, 0, (gsize) h->n_rows * sizeof (guint32));
      if (number_requests)
        {
          guint32 distinct = 0;
          g_array_set_size (keys, 0);
          for (guint32 j = 0; j < h->n_rows; j++)
            if (rows[seg[j]].in.request)
              g_array_append_val (keys, request_key[rows[seg[j]].in.request]);
          g_array_sort (keys, compare_u32);
          for (guint32 j = 0; j < keys->len; j++)
            if (j == 0 || g_array_index (keys, guint32, j) != g_array_index (keys, guint32, distinct - 1))
              g_array_index (keys, guint32, distinct++) = g_array_index (keys, guint32, j);
          for (guint32 j = 0; j < distinct; j++)
            {
              RequestPair pair = { h, by_key[g_array_index (keys, guint32, j) - 1] };
              g_array_append_val (pairs, pair);
            }
          for (guint32 j = 0; j < h->n_rows; j++)
            if (rows[seg[j]].in.request)
              {
                guint32 key = request_key[rows[seg[j]].in.request];
                guint32 *hit = bsearch (&key, keys->data, distinct, sizeof (guint32), compare_u32);
                g_array_index (ranks, guint32, j) = rank_base + (guint32) (hit - (guint32 *) keys->data) + 1;
              }
          rank_base += distinct;
        }
      /* The walk; each row's in is read before its out overwrites it. */
      for (guint32 j = 0; j < h->n_rows; j++)
        {
          ImportRow *r = &rows[seg[j]];
          Step x = { 0, 0, 0.0, 0, 0 };
          if (!h->replay)
            history_step (h, r->in.time_ms, r->in.session, r->in.liked, r->in.negative, o, &x);
          r->out.minutes = x.minutes;
          r->out.s = (guint32) x.s;
          r->out.p = (guint32) x.p;
          r->out.rank = g_array_index (ranks, guint32, j);
          r->out.likes20 = (guint8) x.likes20;
          r->out.negative20 = (guint8) x.negative20;
        }
    }
}

/* place_rows as a thread function. */
typedef struct {
  ImportRow *rows;
  guint32 n;
  GPtrArray *users;
  Strings *requests;
  gboolean number_requests;
  GArray *pairs;
  const DlenImportOptions *o;
} Placement;

static gpointer
placement_run (gpointer data)
{
  Placement *p = data;
  place_rows (p->rows, p->n, p->users, p->requests, p->number_requests, p->pairs, p->o);
  return NULL;
}

typedef struct {
  gint64 id;
  gboolean logged_request;
  Step x;
} Replayed;

/* The statement history_resume reads a user's stored rows with: the 20 up to time ?2, newest
 * first, that are not of import ?3. @liked and @negative are SQL expressions over an impression's
 * columns. */
static sqlite3_stmt *
prepare_history_before (DlenStore *s, const char *liked, const char *negative, GError **error)
{
  g_autofree char *sql = g_strdup_printf (
    "SELECT time_ms, log_session, %s, %s, session, session_pos, session_minutes FROM impressions"
    " WHERE user_id = ?1 AND time_ms <= ?2 AND import_id <> ?3 ORDER BY time_ms DESC, id DESC LIMIT 20",
    liked, negative);
  return prepare (s, sql, error);
}

/* Restores the walk of @h to just after the last of its impressions that nothing of import
 * @import_id precedes (time at most *@from, an earlier import): from that row's stored features
 * and whether each of the 20 up to it (@before, newest first) was liked or negative. With none,
 * the walk starts afresh at *@from; when the stored numbers cannot be read back (a session
 * number past int64, stored as REAL) at the user's first impression (*@from = G_MININT64). */
static gboolean
history_resume (DlenStore *s, sqlite3_stmt *before, History *h, Strings *sessions, gint64 import_id, gint64 *from,
                GError **error)
{
  int rc, k = 0;
  history_restart (h);
  sqlite3_reset (before);
  sqlite3_bind_int64 (before, 1, h->id);
  sqlite3_bind_int64 (before, 2, *from);
  sqlite3_bind_int64 (before, 3, import_id);
  while ((rc = sqlite3_step (before)) == SQLITE_ROW)
    {
      if (k == 0)
        {
          if (sqlite3_column_type (before, 4) != SQLITE_INTEGER || sqlite3_column_type (before, 5) != SQLITE_INTEGER
              || sqlite3_column_type (before, 6) != SQLITE_FLOAT)
            {
              *from = G_MININT64;
              break;
            }
          /* As history_step and step_numbers left them (an INTEGER session number did not
           * overflow, and minutes hold a whole number of ms over 60,000 exactly enough). */
          h->s = (gint64) sqlite3_column_int64 (before, 4) - h->id * 1000000;
          h->p = (gint64) sqlite3_column_int64 (before, 5);
          h->prev_time = (gint64) sqlite3_column_int64 (before, 0);
          h->start_time = h->prev_time - llround (sqlite3_column_double (before, 6) * 60000.0);
          h->prev_session = strings_id (sessions, (const char *) sqlite3_column_text (before, 1));
          h->n = 1;
        }
      h->liked |= (sqlite3_column_int (before, 2) != 0 ? 1u : 0u) << k;
      h->negative |= (sqlite3_column_int (before, 3) != 0 ? 1u : 0u) << k;
      k++;
    }
  sqlite3_reset (before);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return sql_fail (s, error, "cannot read the impressions of a user");
  if (*from == G_MININT64)
    history_restart (h);
  return TRUE;
}

/* Walks the users of @users marked for replay through their impressions in the table and
 * writes the features (a logged request keeps its number) where they changed. A row's features
 * come from the rows before it, so only the rows from a user's first impression in this import
 * @import_id on are walked, from the state its stored rows before leave (history_resume); of
 * those, only the ones whose features change are rewritten: the new rows, and those after one
 * of them in time. A log that continues a project (later days) rewrites no earlier row. Rows
 * before keep the features their own import derived (with its session gap and request size).
 * @liked and @negative are SQL expressions over an impression's columns. */
static gboolean
replay_histories (DlenStore *s, GPtrArray *users, Strings *sessions, const char *liked, const char *negative,
                  gint64 import_id, const DlenImportOptions *o, GError **error)
{
  /* Rows of this import at the first one's time follow the older ones at that time (ids grow). */
  g_autofree char *sql = g_strdup_printf (
    "SELECT id, time_ms, log_session, log_request IS NOT NULL, %s, %s,"
    " session, request, session_pos, session_minutes, hist_likes20, hist_negative20 FROM impressions"
    " WHERE user_id = ?1 AND time_ms >= ?2 AND (time_ms > ?2 OR import_id = ?3) ORDER BY time_ms, id", liked, negative);
  g_autoptr (sqlite3_stmt) sel = NULL, before = NULL, upd = NULL, upd_logged = NULL;
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (Replayed));
  int rc;

  for (guint u = 0; u < users->len; u++)
    {
      History *h = users->pdata[u];
      gint64 from = h->first_time;
      if (!h->replay)
        continue;
      if (!sel)
        {
          sel = prepare (s, sql, error);
          before = prepare_history_before (s, liked, negative, error);
          upd = prepare (s, "UPDATE impressions SET session = ?, request = ?, session_pos = ?, session_minutes = ?,"
                            " hist_likes20 = ?, hist_negative20 = ? WHERE id = ?", error);
          upd_logged = prepare (s, "UPDATE impressions SET session = ?, session_pos = ?3, session_minutes = ?4,"
                                   " hist_likes20 = ?5, hist_negative20 = ?6 WHERE id = ?7", error);
          if (!sel || !before || !upd || !upd_logged)
            return FALSE;
        }
      if (!history_resume (s, before, h, sessions, import_id, &from, error))
        return FALSE;
      g_array_set_size (rows, 0);
      sqlite3_reset (sel);
      sqlite3_bind_int64 (sel, 1, h->id);
      sqlite3_bind_int64 (sel, 2, from);
      sqlite3_bind_int64 (sel, 3, import_id);
      /* Read the user's rows completely before writing any, so the UPDATEs never run under
       * the open SELECT. */
      while ((rc = sqlite3_step (sel)) == SQLITE_ROW)
        {
          Replayed r;
          r.id = (gint64) sqlite3_column_int64 (sel, 0);
          r.logged_request = sqlite3_column_int (sel, 3) != 0;
          history_step (h, (gint64) sqlite3_column_int64 (sel, 1),
                        strings_id (sessions, (const char *) sqlite3_column_text (sel, 2)),
                        sqlite3_column_int (sel, 4) != 0, sqlite3_column_int (sel, 5) != 0, o, &r.x);
          if (!step_stored (sel, 6, h->id, &r.x, r.logged_request, o))
            g_array_append_val (rows, r);
        }
      sqlite3_reset (sel);
      if (rc != SQLITE_DONE)
        return sql_fail (s, error, "cannot read the impressions of a user");
      for (guint i = 0; i < rows->len; i++)
        {
          const Replayed *r = &g_array_index (rows, Replayed, i);
          sqlite3_stmt *st = r->logged_request ? upd_logged : upd;
          sqlite3_reset (st);
          bind_step (st, 1, h->id, &r->x, r->logged_request, o);
          sqlite3_bind_int64 (st, 7, r->id);
          if (sqlite3_step (st) != SQLITE_DONE)
            return sql_fail (s, error, "cannot store derived features");
        }
    }
  return TRUE;
}

/* Users of @users the project had before whose earlier impressions all come before this
 * import's first one (a log that continues the project): their walk resumes from the stored
 * rows (history_resume) and goes on in memory with the new ones (place_rows), which are then
 * inserted final, like a new user's, rather than walked and rewritten from the table. */
static gboolean
resume_known_users (DlenStore *s, GPtrArray *users, Strings *sessions, const char *liked, const char *negative,
                    gint64 import_id, GError **error)
{
  g_autoptr (sqlite3_stmt) later = NULL, before = NULL;
  for (guint u = 0; u < users->len; u++)
    {
      History *h = users->pdata[u];
      gint64 from = h->first_time;
      int rc;
      if (!h->replay)
        continue;
      if (!later && (!(later = prepare (s, "SELECT EXISTS (SELECT 1 FROM impressions WHERE user_id = ? AND time_ms > ?)",
                                        error))
                     || !(before = prepare_history_before (s, liked, negative, error))))
        return FALSE;
      sqlite3_reset (later);
      sqlite3_bind_int64 (later, 1, h->id);
      sqlite3_bind_int64 (later, 2, h->first_time);
      if ((rc = sqlite3_step (later)) != SQLITE_ROW)
        return sql_fail (s, error, "cannot read the impressions of a user");
      if (sqlite3_column_int (later, 0))
        continue;
      if (!history_resume (s, before, h, sessions, import_id, &from, error))
        return FALSE;
      h->replay = from == G_MININT64;   /* (stored numbers it cannot read back: walked from the table) */
    }
  return TRUE;
}

/* The new pairs of requests_resolve, for insert_rows. */
typedef struct {
  ValueSource base;
  const GArray *pairs;         /* RequestPair */
  const gint64 *ids;           /* by pair */
  const GArray *fresh;         /* guint32: the new pairs' indexes */
  Strings *requests;
  Value values[3];
} PairSource;

static gboolean
pair_source_next (ValueSource *src)
{
  PairSource *ps = (PairSource *) src;
  guint i = (guint) (src->rowid - 1);
  if (i >= ps->fresh->len)
    src->eof = TRUE;
  else
    {
      guint32 k = g_array_index (ps->fresh, guint32, i);
      const RequestPair *pair = &g_array_index (ps->pairs, RequestPair, k);
      value_int (&ps->values[0], ps->ids[k]);
      value_int (&ps->values[1], pair->user->id);
      value_string (&ps->values[2], ps->requests->names->pdata[pair->request - 1]);
    }
  return TRUE;
}

/* The project's numbers of the import's logged request @pairs (place_rows): a pair the project
 * had keeps its id in requests, a new one takes the next, in the pairs' order, and goes in.
 * Only users the project had can have pairs it had. NULL on error. */
static gint64 *
requests_resolve (DlenStore *s, const GArray *pairs, Strings *requests, GError **error)
{
  g_autofree gint64 *ids = g_new (gint64, MAX (pairs->len, 1));
  g_autoptr (GArray) fresh = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (sqlite3_stmt) sel = NULL;
  PairSource ps = { { pair_source_next, 3, 0, TRUE, NULL, FALSE, FALSE, 0, NULL }, pairs, NULL, NULL, requests, { { 0 } } };
  gint64 next = query_int (s, "SELECT max(id) FROM requests", 0) + 1;
  for (guint k = 0; k < pairs->len; k++)
    {
      const RequestPair *pair = &g_array_index (pairs, RequestPair, k);
      ids[k] = 0;
      if (pair->user->known)
        {
          int rc;
          if (!sel && !(sel = prepare (s, "SELECT id FROM requests WHERE user_id = ? AND key = ?", error)))
            return NULL;
          sqlite3_reset (sel);
          sqlite3_bind_int64 (sel, 1, pair->user->id);
          sqlite3_bind_text (sel, 2, requests->names->pdata[pair->request - 1], -1, SQLITE_STATIC);
          rc = sqlite3_step (sel);
          if (rc == SQLITE_ROW)
            ids[k] = (gint64) sqlite3_column_int64 (sel, 0);
          else if (rc != SQLITE_DONE)
            {
              sql_fail (s, error, "cannot read the requests");
              return NULL;
            }
        }
      if (!ids[k])
        {
          ids[k] = next++;
          g_array_append_val (fresh, k);
        }
    }
  ps.base.values = ps.values;
  ps.base.n_rows = fresh->len;
  ps.ids = ids;
  ps.fresh = fresh;
  if (fresh->len && !insert_rows (s, "requests", "id, user_id, key", &ps.base, error))
    return NULL;
  return g_steal_pointer (&ids);
}

/* ---- Import -------------------------------------------------------------------------------- *
 * Two passes inside the one transaction. Pass 1 reads and validates every row (on two cores,
 * two threads each read a part: see "Pass 1's second half"), records rejects, users and items,
 * and keeps per accepted row what the derived features need (32 bytes) and its converted
 * values (the Stage); the features are then computed in memory (place_rows);
 * pass 2 inserts each accepted row once, final, in one statement. Keeping the rows costs less
 * than reading and validating the log again (what pass 2 does past the stage limit), which
 * costs less than rewriting every row with an UPDATE. */

typedef struct {
  DlenImportProgressFunc func;
  gpointer user_data;
  GCancellable *cancellable;
  guint64 done[2];             /* rows read by each pass */
  guint64 offset[2];           /* bytes read by each pass */
  guint64 size;
  gint *half_rows, *half_bytes;  /* atomic: read so far by pass 1's second half (Half), or NULL */
} ImportProgress;

/* Counts a row read by @pass. Both passes count at half weight, so progress and its calls stay
 * those of one read: about every 4,096 rows of the log. Pass 2 over staged rows has no @reader:
 * its offset is taken in proportion to its rows. FALSE when cancelled. */
static gboolean
import_progress_row (ImportProgress *p, int pass, DlenCsvReader *reader, GError **error)
{
  guint64 done;
  p->done[pass]++;
  done = p->done[0] + p->done[1];
  if ((done & 4095) != 0)
    return TRUE;
  if (g_cancellable_set_error_if_cancelled (p->cancellable, error))
    return FALSE;
  if ((done & 8191) == 0 && p->func)
    {
      guint64 half_rows = 0;
      p->offset[pass] = reader ? dlen_csv_reader_offset (reader)
                               : (guint64) ((double) p->offset[0] * (double) p->done[1] / (double) MAX (p->done[0], 1));
      if (pass == 0 && p->half_rows)
        {
          half_rows = (guint64) g_atomic_int_get (p->half_rows);
          p->offset[0] += (guint64) g_atomic_int_get (p->half_bytes);
        }
      p->func ((p->offset[0] + p->offset[1]) / 2, p->size, (done + half_rows) / 2, p->user_data);
    }
  return TRUE;
}

/* ---- Staged rows --------------------------------------------------------------------------
 * Pass 1 keeps every accepted row's converted values in blocks of memory (a 48-byte head, its
 * numbers as floats and its categorical text: about 100 bytes), so that pass 2 inserts them
 * without reading, parsing and validating the log a second time, and inserts exactly the rows
 * pass 1 checked. Past DlenImportOptions.stage_limit the rows are dropped and pass 2 reads the
 * log again. */

#define STAGE_BLOCK ((gsize) 1 << 20)

typedef struct {
  guint64 line;
  gint64 time_ms;
  gint64 item;                 /* items.id, 0: none */
  gint32 day;
  gboolean session, request;   /* the log's session / request id follows the categorical text */
  guint32 skipped;             /* rows rejected just before this one */
  float truth;
} StagedHead;

typedef struct {
  char *data;
  gsize len, size;
} StageBlock;

typedef struct {
  GArray *blocks;              /* StageBlock */
  gsize bytes, limit;
  gboolean dropped;            /* over the limit: pass 2 reads the log again */
  guint32 skipped;             /* rows rejected since the last staged row */
  guint block;                 /* reading position */
  gsize pos;
} Stage;

static void
stage_free_blocks (Stage *st)
{
  for (guint i = 0; st->blocks && i < st->blocks->len; i++)
    g_free (g_array_index (st->blocks, StageBlock, i).data);
  g_clear_pointer (&st->blocks, g_array_unref);
}

static void
stage_init (Stage *st, gsize limit)
{
  memset (st, 0, sizeof *st);
  st->blocks = g_array_new (FALSE, FALSE, sizeof (StageBlock));
  st->limit = limit;
}

static void
stage_skip (Stage *st)
{
  st->skipped++;
}

/* Keeps @rec and its item id @item; returns where its head went (NULL: dropped). */
static char *
stage_row (Stage *st, const DlenSchema *schema, const DlenRecord *rec, gint64 item)
{
  StagedHead h = { rec->line, rec->time_ms, item, rec->day, rec->session != NULL, rec->request != NULL, st->skipped,
                   rec->truth };
  gsize len[DLEN_MAX_CAT_FIELDS], session_len = h.session ? strlen (rec->session) + 1 : 0,
        request_len = h.request ? strlen (rec->request) + 1 : 0;
  gsize size = sizeof h + (schema->n_num + schema->n_targets) * sizeof (float);
  StageBlock *b = st->blocks && st->blocks->len ? &g_array_index (st->blocks, StageBlock, st->blocks->len - 1) : NULL;
  char *out;

  st->skipped = 0;
  if (st->dropped)
    return NULL;
  for (guint i = 0; i < schema->n_cat; i++)
    size += (len[i] = strlen (rec->cat[i]) + 1);
  size += session_len + request_len;
  if (st->bytes + size > st->limit)
    {
      stage_free_blocks (st);
      st->dropped = TRUE;
      return NULL;
    }
  if (!b || b->len + size > b->size)
    {
      StageBlock nb = { NULL, 0, MAX (STAGE_BLOCK, size) };
      nb.data = g_malloc (nb.size);
      g_array_append_val (st->blocks, nb);
      b = &g_array_index (st->blocks, StageBlock, st->blocks->len - 1);
    }
  out = b->data + b->len;
  memcpy (out, &h, sizeof h);
  out += sizeof h;
  memcpy (out, rec->num, schema->n_num * sizeof (float));
  out += schema->n_num * sizeof (float);
  memcpy (out, rec->lab, schema->n_targets * sizeof (float));
  out += schema->n_targets * sizeof (float);
  for (guint i = 0; i < schema->n_cat; i++)
    {
      memcpy (out, rec->cat[i], len[i]);
      out += len[i];
    }
  if (session_len)
    memcpy (out, rec->session, session_len);
  out += session_len;
  if (request_len)
    memcpy (out, rec->request, request_len);
  b->len += size;
  st->bytes += size;
  return b->data + b->len - size;
}

/* The next staged row into @h and @rec (its text pointing into the stage), with the lengths
 * of its categorical values in @cat_len. FALSE at the end. */
static gboolean
stage_next (Stage *st, const DlenSchema *schema, StagedHead *h, DlenRecord *rec, int *cat_len)
{
  const StageBlock *b;
  const char *in;
  if (st->block < st->blocks->len && st->pos == g_array_index (st->blocks, StageBlock, st->block).len)
    {
      st->block++;
      st->pos = 0;
    }
  if (st->block >= st->blocks->len)
    return FALSE;
  b = &g_array_index (st->blocks, StageBlock, st->block);
  in = b->data + st->pos;
  memcpy (h, in, sizeof *h);
  in += sizeof *h;
  memcpy (rec->num, in, schema->n_num * sizeof (float));
  in += schema->n_num * sizeof (float);
  memcpy (rec->lab, in, schema->n_targets * sizeof (float));
  in += schema->n_targets * sizeof (float);
  for (guint i = 0; i < schema->n_cat; i++)
    {
      cat_len[i] = (int) strlen (in);
      rec->cat[i] = in;
      in += cat_len[i] + 1;
    }
  rec->session = rec->request = NULL;
  if (h->session)
    {
      rec->session = in;
      in += strlen (in) + 1;
    }
  if (h->request)
    {
      rec->request = in;
      in += strlen (in) + 1;
    }
  st->pos = (gsize) (in - b->data);
  rec->line = h->line;
  rec->time_ms = h->time_ms;
  rec->day = h->day;
  rec->truth = h->truth;
  return TRUE;
}

/* ---- Pass 2 ----------------------------------------------------------------------------------
 * The impressions go in with one insert_rows() from a RowSource: the staged rows or, when they
 * were dropped, the log read again. */

typedef struct {
  ValueSource base;
  DlenStore *s;
  const char *path;
  DlenMapping *m;
  const DlenImportOptions *o;
  const DlenSchema *schema;
  gint64 import_id;
  const ImportRow *rows;       /* pass 1's accepted rows, their features placed */
  guint32 n_rows, accepted;
  Keys *items;
  GHashTable *item_ids;        /* key -> id */
  Stage *stage;                /* pass 1's rows, unless dropped: then the log is read again */
  const gint64 *half_items;    /* item ids of the staged rows from half_base on, by their staged id */
  guint32 half_base;
  const gint64 *request_ids;   /* the project's number of the import's request pair k at k - 1 */
  ImportProgress *prog;
  DlenRecord rec;
  DlenReject rej;
} RowSource;

static inline void
value_float (Value *v, float x)
{
  if (isnan (x))
    v->type = VAL_NULL;
  else
    value_double (v, x);
}

/* Sets the impressions values @v of the accepted row @rec of import @import_id, whose walked
 * row is @r and item id @iid (0: none); @cat_len: the lengths of its categorical values, if
 * known; @request_ids: the project's numbers of the import's logged request pairs. */
static void
row_values (Value *v, gint64 import_id, const DlenSchema *schema, const DlenImportOptions *o, const ImportRow *r,
            const DlenRecord *rec, const int *cat_len, gint64 iid, const gint64 *request_ids)
{
  value_int (v++, import_id);
  value_int (v++, (gint64) rec->line);
  value_int (v++, r->user->id);
  if (iid)
    value_int (v++, iid);
  else
    (v++)->type = VAL_NULL;
  value_int (v++, rec->time_ms);
  value_int (v++, rec->day);
  value_string (v++, rec->session);
  value_string (v++, rec->request);
  if (isnan (rec->truth))
    (v++)->type = VAL_NULL;
  else
    value_double (v++, rec->truth);
  if (r->user->replay)
    {
      /* Walked from the table after the insert. */
      for (int j = 0; j < 6; j++)
        v[j].type = VAL_NULL;
    }
  else
    {
      SqlNumber session, request;
      step_numbers (r->user->id, r->out.s, r->out.p, o, &session, &request);
      value_number (&v[0], session);
      v[1].type = VAL_NULL;
      if (!rec->request)
        value_number (&v[1], request);
      value_int (&v[2], r->out.p);
      value_double (&v[3], r->out.minutes);
      value_int (&v[4], r->out.likes20);
      value_int (&v[5], r->out.negative20);
    }
  if (rec->request && r->out.rank)
    value_int (&v[1], -request_ids[r->out.rank - 1]);
  v += 6;
  for (guint i = 0; i < schema->n_cat; i++)
    {
      value_string (v, rec->cat[i]);
      if (cat_len)
        v->len = cat_len[i];
      v++;
    }
  for (guint i = 0; i < schema->n_num; i++)
    value_float (v++, rec->num[i]);
  for (guint i = 0; i < schema->n_targets; i++)
    value_float (v++, rec->lab[i]);
}

/* Moves to the next staged row; at the end sets eof. FALSE with the error set when cancelled. */
static gboolean
row_source_next_staged (RowSource *src)
{
  StagedHead h;
  DlenRecord *rec = &src->rec;
  int cat_len[DLEN_MAX_CAT_FIELDS];
  gboolean more = stage_next (src->stage, src->schema, &h, rec, cat_len);
  guint32 skipped = more ? h.skipped : src->stage->skipped;
  for (guint32 k = 0; k < skipped + (more ? 1u : 0u); k++)
    if (!import_progress_row (src->prog, 1, NULL, &src->base.error))
      return FALSE;
  if (!more || src->accepted >= src->n_rows)
    {
      src->base.eof = TRUE;
      return TRUE;
    }
  if (src->half_items && src->accepted >= src->half_base)
    h.item = src->half_items[h.item];   /* a row of the second reader (half_merge) */
  row_values (src->base.values, src->import_id, src->schema, src->o, &src->rows[src->accepted++], rec, cat_len, h.item,
              src->request_ids);
  return TRUE;
}

/* Reads up to the next accepted row and sets its values; at the end of the log sets eof. FALSE
 * with src->error set on failure. */
static gboolean
row_source_next (ValueSource *base)
{
  RowSource *src = (RowSource *) base;
  const DlenRecord *rec = &src->rec;
  int rc;
  if (!src->stage->dropped)
    return row_source_next_staged (src);
  while ((rc = dlen_mapping_next (src->m, &src->rec, &src->rej, &src->base.error)) != 0)
    {
      const ImportRow *r;
      gint64 iid = 0;
      if (rc == -2 || !import_progress_row (src->prog, 1, dlen_mapping_reader (src->m), &src->base.error))
        return FALSE;
      if (rc != 1)
        continue;
      /* The same rows as pass 1, unless the file changed in between. */
      r = src->accepted < src->n_rows ? &src->rows[src->accepted] : NULL;
      if (!r || strcmp (r->user->key, rec->user) != 0)
        {
          g_set_error (&src->base.error, DLEN_ERROR, DLEN_ERROR_IO, "%s: the file changed while it was being imported",
                       src->path);
          return FALSE;
        }
      src->accepted++;
      if (rec->item && (iid = key_id (src->s, src->items, src->item_ids, rec->item, &src->base.error)) < 0)
        return FALSE;
      row_values (src->base.values, src->import_id, src->schema, src->o, r, rec, NULL, iid, src->request_ids);
      return TRUE;
    }
  src->base.eof = TRUE;
  return TRUE;
}

/* ---- Pass 1 ----------------------------------------------------------------------------------
 * Every row read is either rejected (pass1_reject) or accepted (pass1_accept) in file order:
 * users and items are numbered in the order of their first accepted row. */

typedef struct {
  DlenStore *s;
  const char *path;
  const DlenImportOptions *o;
  DlenImportReport *report;
  sqlite3_stmt *ins_rej;
  GHashTable *users;           /* key -> History */
  GHashTable *items;           /* key -> id */
  GPtrArray *user_list;        /* the Histories, in order of their first row */
  Keys *user_keys, *item_keys;
  Strings *sessions, *requests;
  GArray *rows;                /* ImportRow */
  gboolean logged_requests;
} Pass1;

static gboolean
pass1_reject (Pass1 *p, guint64 line, int column, const char *column_name, const char *reason, const char *message,
              GError **error)
{
  if (p->o->load.strict)
    {
      g_set_error_literal (error, DLEN_ERROR, DLEN_ERROR_DATA, message);
      return FALSE;
    }
  if (!p->report->first_reject)
    p->report->first_reject = g_strdup (message);
  p->report->rows_rejected++;
  sqlite3_reset (p->ins_rej);
  sqlite3_bind_int64 (p->ins_rej, 1, p->report->import_id);
  sqlite3_bind_int64 (p->ins_rej, 2, (gint64) line);
  sqlite3_bind_int (p->ins_rej, 3, column);
  sqlite3_bind_text (p->ins_rej, 4, column_name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (p->ins_rej, 5, reason, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (p->ins_rej) != SQLITE_DONE)
    return sql_fail (p->s, error, "cannot record a rejected row");
  return TRUE;
}

/* Keeps an accepted row of user @h (from user_history) for the walk; @session and @request
 * are its logged ids in p->sessions and p->requests (0: none). */
static gboolean
pass1_accept (Pass1 *p, History *h, gint64 time_ms, guint32 session, guint32 request, gboolean liked,
              gboolean negative, GError **error)
{
  ImportRow r;
  if (h->n_rows++ == 0)
    {
      g_ptr_array_add (p->user_list, h);
      h->first_time = time_ms;
    }
  else if (time_ms < h->first_time)
    h->first_time = time_ms;
  if (p->rows->len == G_MAXUINT32)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: more than %u rows in one import", p->path, G_MAXUINT32);
      return FALSE;
    }
  r.user = h;
  r.in.time_ms = time_ms;
  r.in.session = session;
  r.in.request = request;
  r.in.liked = liked;
  r.in.negative = negative;
  g_array_append_val (p->rows, r);
  p->logged_requests |= request != 0;
  p->report->rows_accepted++;
  return TRUE;
}

/* Whether any of the @n targets @t of a row's labels @lab is 1. */
static gboolean
any_label_one (const float *lab, const guint *t, guint n)
{
  for (guint j = 0; j < n; j++)
    if (lab[t[j]] == 1.0f)
      return TRUE;
  return FALSE;
}

/* ---- Pass 1's second half ----------------------------------------------------------------------
 * On two cores, a thread reads and validates the second half of a log (from the first line
 * start after 53 % of it) while the importing thread reads the first: the reading, about a
 * quarter of an import, then takes half the time. The thread keeps what pass1_accept and
 * pass1_reject need, with its keys and ids in tables of its own; once the first half's reader
 * reaches the cut exactly, the importing thread takes the rows over in file order (half_merge),
 * which numbers users and items as one reader would. A reader that passes the cut inside a
 * record (a quoted field holding a line break across it) drops the half and reads on. */

#define HALF_MIN_BYTES ((guint64) 1 << 20)

/* 24 bytes: on top of pass 1's 32 a row, only while the halves are joined. */
typedef struct {
  guint32 user, item, session;             /* ids in the half's Strings; 0: none */
  guint32 request : 30;                    /* (a half would need 2^30 requests to overflow) */
  guint32 liked : 1, negative : 1;
  gint64 time_ms;
} HalfRow;
G_STATIC_ASSERT (sizeof (HalfRow) == 24);

/* HalfRows in blocks, freed one by one as the rows are taken over. */
#define HALF_BLOCK_ROWS 65536

static void
half_rows_add (GPtrArray *blocks, guint64 *n, const HalfRow *r)
{
  if (*n % HALF_BLOCK_ROWS == 0)
    g_ptr_array_add (blocks, g_new (HalfRow, HALF_BLOCK_ROWS));
  ((HalfRow *) blocks->pdata[*n / HALF_BLOCK_ROWS])[*n % HALF_BLOCK_ROWS] = *r;
  (*n)++;
}

typedef struct {
  guint64 line;
  int column;
  char *column_name, *reason, *message;
} HalfReject;

typedef struct {
  DlenMapping *m;              /* the log, forked to read from start */
  char *path;
  gboolean strict;
  guint64 start;
  const DlenSchema *schema;
  const guint *liked_t, *negative_t;
  guint n_liked, n_negative;
  GCancellable *cancellable;
  GThread *thread;
  gint stop;                   /* atomic: the first half gave up the cut */
  gint rows_done, bytes_done;  /* atomic, for progress */
  /* The thread's until joined. */
  Strings users, items, sessions, requests;
  GPtrArray *rows;             /* blocks of HALF_BLOCK_ROWS HalfRows */
  guint64 n_rows;
  char *first_head;            /* the first row's staged head (NULL: none, or dropped) */
  GArray *rejects;             /* HalfReject: in file order; with --strict the last stopped it */
  Stage stage;
  guint64 rows_read;
  GError *error;               /* a read error or a cancel that stopped it */
} Half;

/* 1 + the line breaks before byte @end of @path. */
static gboolean
count_lines (const char *path, guint64 end, guint64 *line, GError **error)
{
  g_autofree char *buf = g_malloc (1 << 16);
  guint64 done = 0, n = 1;
  int fd = g_open (path, O_RDONLY, 0);
  if (fd < 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", path, g_strerror (errno));
      return FALSE;
    }
  while (done < end)
    {
      ssize_t got = read (fd, buf, (size_t) MIN (end - done, (guint64) 1 << 16));
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", path, got < 0 ? g_strerror (errno) : "file shrank");
          close (fd);
          return FALSE;
        }
      for (const char *c = buf, *e = buf + got; (c = memchr (c, '\n', (size_t) (e - c))) != NULL; c++)
        n++;
      done += (guint64) got;
    }
  close (fd);
  *line = n;
  return TRUE;
}

static gpointer
half_run (gpointer data)
{
  Half *h = data;
  DlenRecord rec;
  DlenReject rej = { 0 };
  guint64 line;

  if (!count_lines (h->path, h->start, &line, &h->error)
      || !dlen_csv_reader_seek (dlen_mapping_reader (h->m), h->start, line, &h->error))
    return NULL;
  while (!g_atomic_int_get (&h->stop))
    {
      int rc = dlen_mapping_next (h->m, &rec, &rej, &h->error);
      if (rc == 0 || rc == -2)
        break;
      h->rows_read++;
      if (rc == -1)
        {
          HalfReject r = { rej.line, rej.column, g_strdup (rej.column_name), g_steal_pointer (&rej.reason),
                           g_steal_pointer (&rej.message) };
          g_array_append_val (h->rejects, r);
          stage_skip (&h->stage);
          if (h->strict)
            break;
        }
      else
        {
          guint32 request = strings_id (&h->requests, rec.request);
          /* Staged with the half's own item id (see half_merge). */
          HalfRow r = { strings_id (&h->users, rec.user), strings_id (&h->items, rec.item),
                        strings_id (&h->sessions, rec.session), request & 0x3fffffffu,
                        any_label_one (rec.lab, h->liked_t, h->n_liked),
                        any_label_one (rec.lab, h->negative_t, h->n_negative), rec.time_ms };
          char *head = stage_row (&h->stage, h->schema, &rec, r.item);
          if (h->n_rows == 0)
            h->first_head = head;
          if (request > 0x3fffffffu)
            {
              g_set_error (&h->error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: more than 2^30 request ids", h->path);
              break;
            }
          half_rows_add (h->rows, &h->n_rows, &r);
        }
      if ((h->rows_read & 4095) == 0)
        {
          g_atomic_int_set (&h->rows_done, (gint) MIN (h->rows_read, (guint64) G_MAXINT));
          g_atomic_int_set (&h->bytes_done,
                            (gint) MIN (dlen_csv_reader_offset (dlen_mapping_reader (h->m)) - h->start, (guint64) G_MAXINT));
          if (g_cancellable_set_error_if_cancelled (h->cancellable, &h->error))
            break;
        }
    }
  dlen_reject_clear (&rej);
  return NULL;
}

static void
half_free (Half *h)
{
  if (!h)
    return;
  if (h->thread)
    {
      g_atomic_int_set (&h->stop, 1);
      g_thread_join (h->thread);
    }
  dlen_mapping_free (h->m);
  g_free (h->path);
  strings_clear (&h->users);
  strings_clear (&h->items);
  strings_clear (&h->sessions);
  strings_clear (&h->requests);
  g_ptr_array_unref (h->rows);
  for (guint i = 0; i < h->rejects->len; i++)
    {
      HalfReject *r = &g_array_index (h->rejects, HalfReject, i);
      g_free (r->column_name);
      g_free (r->reason);
      g_free (r->message);
    }
  g_array_unref (h->rejects);
  stage_free_blocks (&h->stage);
  g_clear_error (&h->error);
  g_free (h);
}

/* Starts reading the second half of @m's log (none read yet past the header) when it pays: two
 * cores and at least HALF_MIN_BYTES. NULL when it does not, or the log has no line start past
 * the cut. Each half may stage half of @stage_limit. */
static Half *
half_start (DlenMapping *m, const char *path, gboolean strict, const DlenSchema *schema, const guint *liked_t,
            guint n_liked, const guint *negative_t, guint n_negative, gsize stage_limit, GCancellable *cancellable)
{
  DlenCsvReader *reader = dlen_mapping_reader (m);
  guint64 size = dlen_csv_reader_size (reader), start = 0;
  char buf[4096];
  Half *h;
  int fd;

  if (g_get_num_processors () < 2 || size < HALF_MIN_BYTES)
    return NULL;
  if ((fd = g_open (path, O_RDONLY, 0)) < 0)
    return NULL;
  /* A little past the middle: the thread starts later (it counts the line breaks before the
   * cut first) and keeps keys in tables of its own, so it reads a little less. */
  for (guint64 at = size / 100 * 53; at < size && !start;)
    {
      ssize_t got = pread (fd, buf, sizeof buf, (off_t) at);
      const char *nl;
      if (got <= 0)
        break;
      if ((nl = memchr (buf, '\n', (size_t) got)))
        start = at + (guint64) (nl - buf) + 1;
      at += (guint64) got;
    }
  close (fd);
  if (!start || start >= size || start <= dlen_csv_reader_offset (reader))
    return NULL;
  h = g_new0 (Half, 1);
  h->path = g_strdup (path);
  h->strict = strict;
  h->start = start;
  h->schema = schema;
  h->liked_t = liked_t;
  h->negative_t = negative_t;
  h->n_liked = n_liked;
  h->n_negative = n_negative;
  h->cancellable = cancellable;
  strings_init (&h->users);
  strings_init (&h->items);
  strings_init (&h->sessions);
  strings_init (&h->requests);
  h->rows = g_ptr_array_new_with_free_func (g_free);
  h->rejects = g_array_new (FALSE, FALSE, sizeof (HalfReject));
  stage_init (&h->stage, stage_limit / 2);
  if (!(h->m = dlen_mapping_fork (m, start, 1, NULL)))
    {
      half_free (h);
      return NULL;
    }
  h->thread = g_thread_new ("dlen-import", half_run, h);
  return h;
}

/* Waits for the second half and takes its rows over after the first half's, as if one reader
 * had read on: rejects, accepted rows, their staged values and the rows read. The staged rows
 * keep the half's own item ids: from row *@half_base on, *@half_items maps them to the
 * project's (NULL when the rows are not staged). FALSE with @error set as the reader would
 * have stopped. */
static gboolean
half_merge (Half *h, Pass1 *p, Stage *stage, ImportProgress *prog, gint64 **half_items, guint32 *half_base,
            GError **error)
{
  g_autofree History **users = NULL;
  gint64 *item_ids = NULL;
  g_autofree guint32 *session_ids = NULL, *request_ids = NULL;
  guint base = p->rows->len;
  gboolean keep;
  g_thread_join (g_steal_pointer (&h->thread));
  /* Only an error (--strict) can come between two rejects: the order of rejects among rows
   * changes nothing else. */
  for (guint i = 0; i < h->rejects->len; i++)
    {
      const HalfReject *r = &g_array_index (h->rejects, HalfReject, i);
      if (!pass1_reject (p, r->line, r->column, r->column_name, r->reason, r->message, error))
        return FALSE;
    }
  keep = !stage->dropped && !h->stage.dropped;
  if (h->n_rows > G_MAXUINT32 - base)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: more than %u rows in one import", p->path, G_MAXUINT32);
      return FALSE;
    }
  /* The half's users and items are looked up once each, at their first row (users and items
   * are numbered in that order); its logged ids all at once (only their text matters). */
  users = g_new0 (History *, h->users.names->len + 1);
  item_ids = *half_items = g_new0 (gint64, h->items.names->len + 1);
  *half_base = base;
  session_ids = g_new0 (guint32, h->sessions.names->len + 1);
  request_ids = g_new0 (guint32, h->requests.names->len + 1);
  for (guint k = 0; k < h->sessions.names->len; k++)
    session_ids[k + 1] = strings_id (p->sessions, h->sessions.names->pdata[k]);
  for (guint k = 0; k < h->requests.names->len; k++)
    request_ids[k + 1] = strings_id (p->requests, h->requests.names->pdata[k]);
  /* Room for the rows at once. */
  g_array_set_size (p->rows, base + (guint) h->n_rows);
  g_array_set_size (p->rows, base);
  for (guint64 i = 0; i < h->n_rows; i++)
    {
      const HalfRow *r = (const HalfRow *) h->rows->pdata[i / HALF_BLOCK_ROWS] + i % HALF_BLOCK_ROWS;
      History *u = users[r->user];
      if (!u && !(u = users[r->user] = user_history (p->s, p->user_keys, p->users, h->users.names->pdata[r->user - 1],
                                                      error)))
        return FALSE;
      if (!pass1_accept (p, u, r->time_ms, session_ids[r->session], request_ids[r->request], r->liked, r->negative,
                         error))
        return FALSE;
      if (keep && r->item && !item_ids[r->item]
          && (item_ids[r->item] = key_id (p->s, p->item_keys, p->items, h->items.names->pdata[r->item - 1], error)) < 0)
        return FALSE;
      if (keep && i == 0)
        {
          /* Its progress counts the first half's last rejected rows too. */
          StagedHead head;
          memcpy (&head, h->first_head, sizeof head);
          head.skipped += stage->skipped;
          memcpy (h->first_head, &head, sizeof head);
        }
      if ((i + 1) % HALF_BLOCK_ROWS == 0 || i + 1 == h->n_rows)
        g_clear_pointer (&h->rows->pdata[i / HALF_BLOCK_ROWS], g_free);
    }
  if (keep)
    {
      g_array_append_vals (stage->blocks, h->stage.blocks->data, h->stage.blocks->len);
      g_array_set_size (h->stage.blocks, 0);
      stage->bytes += h->stage.bytes;
      stage->skipped = h->n_rows ? h->stage.skipped : stage->skipped + h->stage.skipped;
    }
  else
    {
      g_clear_pointer (half_items, g_free);
      if (!stage->dropped)
        {
          stage_free_blocks (stage);
          stage->dropped = TRUE;
        }
    }
  p->report->rows_read += h->rows_read;
  prog->done[0] += h->rows_read;
  prog->half_rows = prog->half_bytes = NULL;
  if (h->error)
    {
      g_propagate_error (error, g_steal_pointer (&h->error));
      return FALSE;
    }
  return TRUE;
}

gboolean
dlen_store_import (DlenStore *s, const char *path, const DlenImportOptions *o,
                   DlenImportProgressFunc progress, gpointer user_data,
                   GCancellable *cancellable, DlenImportReport *report, GError **error)
{
  g_autoptr (DlenMapping) m = NULL;
  g_autoptr (sqlite3_stmt) ins_import = NULL, ins_rej = NULL, upd_import = NULL;
  g_autoptr (GHashTable) users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) user_list = g_ptr_array_new ();
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (ImportRow));
  g_autoptr (GString) cols = g_string_new (NULL);
  g_autoptr (GString) liked_sql = g_string_new ("(0"), negative_sql = g_string_new ("(0");
  guint liked_t[DLEN_MAX_TARGETS], negative_t[DLEN_MAX_TARGETS], n_liked = 0, n_negative = 0;
  gboolean logged_requests = FALSE;
  g_autoptr (GArray) request_pairs = g_array_new (FALSE, FALSE, sizeof (RequestPair));
  g_autofree gint64 *request_ids = NULL;
  Strings sessions, requests;
  RowSource src;
  Stage stage;
  Keys user_keys = { 0 }, item_keys = { 0 };
  ShaJob sha;
  ImportProgress prog = { progress, user_data, cancellable, { 0, 0 }, { 0, 0 }, 0 };
  DlenSchema stored, schema;
  FieldIds ids;
  DlenRecord rec;
  DlenReject rej = { 0 };
  gboolean have_fields, inserted, rollback_journal = FALSE, ok = FALSE;
  gint64 cache_size = -2000;
  int rc;
  DlenCsvReader *reader;
  Pass1 p1;
  Half *half = NULL;
  g_autofree gint64 *half_items = NULL;
  guint32 half_base = 0;

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
  /* The log is checksummed beside pass 1 and may be read again by pass 2: a pipe cannot be
   * (it used to be imported truncated, with the checksum of another part of the stream). */
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: not a regular file; save the log to a file to import it",
                   path);
      return FALSE;
    }
  schema = *dlen_mapping_schema (m);
  sha_job_init (&sha, path, dlen_mapping_user_features (m), dlen_mapping_item_features (m), cancellable);

  strings_init (&sessions);
  strings_init (&requests);
  stage_init (&stage, o->stage_limit);
  dlen_store_set_cancellable (s, cancellable);
  /* The import's foreign keys hold by construction: every user_id, item_id and import_id it
   * writes was taken from a row it inserted or read in the same transaction. Checking them
   * would cost a lookup in each parent table per impression. (Only outside a transaction
   * does the pragma take effect.) */
  if (!exec (s, "PRAGMA foreign_keys = OFF", error))
    goto out;
  /* The import's pages stay in memory until the commit (up to 64 MiB: a spill would write
   * them twice, and under a rollback journal sync it). A project without impressions has a
   * rollback journal (dlen_store_open): its first import then writes every page once, with the
   * journal synced as in FULL mode, and switches the project to WAL once committed. A staged
   * project (dlen_store_import_new) has neither journal nor syncs: it keeps SQLite's 2 MB
   * cache, whose spills are plain writes into a file synced once, whole, before it gets its name
   * (and reuse memory a larger cache would take fresh: about 2 % of a KuaiRand import). */
  rollback_journal = !journal_is_wal (s);
  cache_size = query_int (s, "PRAGMA cache_size", -2000);
  if (!s->staged && !exec (s, rollback_journal ? "PRAGMA cache_size = -65536; PRAGMA synchronous = FULL"
                                               : "PRAGMA cache_size = -65536", error))
    goto out;
  if (!exec (s, "BEGIN IMMEDIATE", error))
    goto out;
  /* Only a project with imports can refuse the log as one imported before: then the checksums
   * start at once, so that a duplicate stops the import early. */
  if (query_int (s, "SELECT EXISTS (SELECT 1 FROM imports)", 1))
    sha_job_begin (&sha);
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

  /* Size and checksums are filled in at the end (the ShaJob); '' is no sha256 of a file. */
  ins_import = prepare (s, "INSERT INTO imports (source, size, sha256, preset, user_features, item_features, started_ms)"
                           " VALUES (?, 0, '', ?, ?, ?, ?)", error);
  if (!ins_import)
    goto rollback;
  sqlite3_bind_text (ins_import, 1, path, -1, SQLITE_STATIC);
  sqlite3_bind_text (ins_import, 2, dlen_mapping_preset (m), -1, SQLITE_STATIC);
  sqlite3_bind_text (ins_import, 3, dlen_mapping_user_features (m), -1, SQLITE_STATIC);
  sqlite3_bind_text (ins_import, 4, dlen_mapping_item_features (m), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (ins_import, 5, g_get_real_time () / 1000);
  if (sqlite3_step (ins_import) != SQLITE_DONE)
    {
      sql_fail (s, error, "cannot record the import");
      goto rollback;
    }
  report->import_id = sqlite3_last_insert_rowid (s->db);

  /* The history features count liked impressions (a weak positive target is 1) and negative
   * ones (a negative binary target is 1); the same test in C for the rows being imported and
   * in SQL for rows replayed from the table. */
  for (guint t = 0; t < schema.n_targets; t++)
    {
      const DlenTarget *tg = &schema.targets[t];
      if (tg->kind != DLEN_TARGET_BINARY)
        continue;
      if (tg->polarity == DLEN_POLARITY_POSITIVE && tg->weak_source)
        {
          liked_t[n_liked++] = t;
          g_string_append_printf (liked_sql, " OR f%" G_GINT64_FORMAT " = 1", ids.tgt[t]);
        }
      if (tg->polarity == DLEN_POLARITY_NEGATIVE)
        {
          negative_t[n_negative++] = t;
          g_string_append_printf (negative_sql, " OR f%" G_GINT64_FORMAT " = 1", ids.tgt[t]);
        }
    }
  g_string_append_c (liked_sql, ')');
  g_string_append_c (negative_sql, ')');
  ins_rej = prepare (s, "INSERT INTO import_rejects (import_id, line, col, column_name, reason) VALUES (?, ?, ?, ?, ?)", error);
  if (!ins_rej || !keys_init (s, &user_keys, "users", error) || !keys_init (s, &item_keys, "items", error))
    goto rollback;

  /* Pass 1: validate, record rejects and users, keep what the derived features need. */
  reader = dlen_mapping_reader (m);
  prog.size = dlen_csv_reader_size (reader);
  p1 = (Pass1) { s, path, o, report, ins_rej, users, items, user_list, &user_keys, &item_keys, &sessions, &requests,
                 rows, FALSE };
  report->readers = 1;
  if (!o->one_reader
      && (half = half_start (m, path, o->load.strict, &schema, liked_t, n_liked, negative_t, n_negative, o->stage_limit,
                             cancellable)))
    {
      stage.limit = o->stage_limit / 2;
      prog.half_rows = &half->rows_done;
      prog.half_bytes = &half->bytes_done;
    }
  else
    sha_job_begin (&sha);
  for (;;)
    {
      if (half && dlen_csv_reader_offset (reader) >= half->start)
        {
          /* At the cut: the second half follows on; past it: read on alone. */
          gboolean at_cut = dlen_csv_reader_offset (reader) == half->start;
          prog.half_rows = prog.half_bytes = NULL;
          if (at_cut && !half_merge (half, &p1, &stage, &prog, &half_items, &half_base, error))
            goto rollback;
          report->readers += at_cut;
          g_clear_pointer (&half, half_free);
          stage.limit = o->stage_limit;
          if (at_cut)
            break;
        }
      if ((rc = dlen_mapping_next (m, &rec, &rej, error)) == 0)
        break;
      if (rc == -2)
        goto rollback;
      report->rows_read++;
      if (rc == -1)
        {
          stage_skip (&stage);
          if (!pass1_reject (&p1, rej.line, rej.column, rej.column_name, rej.reason, rej.message, error))
            goto rollback;
        }
      else
        {
          History *h = user_history (s, &user_keys, users, rec.user, error);
          gint64 iid = 0;
          if (!h
              || !pass1_accept (&p1, h, rec.time_ms, strings_id (&sessions, rec.session),
                                strings_id (&requests, rec.request), any_label_one (rec.lab, liked_t, n_liked),
                                any_label_one (rec.lab, negative_t, n_negative), error))
            goto rollback;
          /* Items are numbered in the order of their first accepted row, in either pass. */
          if (!stage.dropped && rec.item && (iid = key_id (s, &item_keys, items, rec.item, error)) < 0)
            goto rollback;
          if (!stage.dropped)
            stage_row (&stage, &schema, &rec, iid);
        }
      if (!import_progress_row (&prog, 0, reader, error))
        goto rollback;
      /* A log imported before stops the import as soon as its checksum is known. */
      if ((report->rows_read & 4095) == 0 && !sha_job_check (s, &sha, FALSE, error))
        goto rollback;
    }
  g_clear_pointer (&half, half_free);
  stage.limit = o->stage_limit;
  logged_requests = p1.logged_requests;
  prog.offset[0] = MAX (dlen_csv_reader_offset (reader), prog.size);
  if (report->rows_accepted == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: no usable rows%s%s", path,
                   report->first_reject ? "; first problem: " : "", report->first_reject ? report->first_reject : "");
      goto rollback;
    }

  g_ptr_array_sort (user_list, compare_history_id);
  if (!resume_known_users (s, user_list, &sessions, liked_sql->str, negative_sql->str, report->import_id, error))
    goto rollback;
  {
    /* On two cores the walk (memory only) runs beside the inserts of the new users and, when
     * the rows are staged, items (SQLite only; they share nothing). */
    Placement pl = { (ImportRow *) (void *) rows->data, rows->len, user_list, &requests, logged_requests,
                     request_pairs, o };
    GThread *placer = g_get_num_processors () >= 2 ? g_thread_new ("dlen-import", placement_run, &pl) : NULL;
    gboolean flushed;
    if (!placer)
      placement_run (&pl);
    flushed = keys_flush (s, &user_keys, error) && (stage.dropped || keys_flush (s, &item_keys, error));
    if (placer)
      g_thread_join (placer);
    if (!flushed)
      goto rollback;
  }
  /* The project's numbers of the logged requests: those it had keep theirs. */
  if (logged_requests && !(request_ids = requests_resolve (s, request_pairs, &requests, error)))
    goto rollback;
  sha_job_begin (&sha);   /* if it waited for pass 2 */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto rollback;

  /* Pass 2: insert every accepted row with its features. */
  g_string_append (cols, "import_id, line, user_id, item_id, time_ms, day, log_session, log_request, truth,"
                        " session, request, session_pos, session_minutes, hist_likes20, hist_negative20");
  for (guint i = 0; i < schema.n_cat; i++)
    g_string_append_printf (cols, ", f%" G_GINT64_FORMAT, ids.cat[i]);
  for (guint i = 0; i < schema.n_num; i++)
    g_string_append_printf (cols, ", f%" G_GINT64_FORMAT, ids.num[i]);
  for (guint i = 0; i < schema.n_targets; i++)
    g_string_append_printf (cols, ", f%" G_GINT64_FORMAT, ids.tgt[i]);
  if (stage.dropped)
    {
      g_clear_pointer (&m, dlen_mapping_free);
      m = dlen_mapping_open (path, &o->load, NULL, error);
      if (!m)
        goto rollback;
      reader = dlen_mapping_reader (m);
    }
  src = (RowSource) { { row_source_next, 15 + schema.n_cat + schema.n_num + schema.n_targets, rows->len,
                        /* staged text stays put until the statement is done; the reader's is
                         * overwritten by the next row */
                        !stage.dropped },
                      s, path, m, o, &schema, report->import_id, (const ImportRow *) (void *) rows->data, rows->len,
                      0, &item_keys, items, &stage, half_items, half_base, request_ids, &prog };
  src.base.values = g_new (Value, src.base.n_cols);
  inserted = insert_rows (s, "impressions", cols->str, &src.base, error);
  g_free (src.base.values);
  dlen_reject_clear (&src.rej);
  stage_free_blocks (&stage);
  if (!inserted || !keys_flush (s, &item_keys, error))
    goto rollback;
  if (src.accepted != rows->len)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: the file changed while it was being imported", path);
      goto rollback;
    }
  g_clear_pointer (&rows, g_array_unref);

  if (!replay_histories (s, user_list, &sessions, liked_sql->str, negative_sql->str, report->import_id, o, error))
    goto rollback;
  if (!sha_job_check (s, &sha, TRUE, error))
    goto rollback;
  upd_import = prepare (s, "UPDATE imports SET finished_ms = ?, rows_read = ?, rows_accepted = ?, rows_rejected = ?,"
                           " size = ?, sha256 = ?, user_features_sha256 = ?, item_features_sha256 = ? WHERE id = ?",
                  error);
  if (!upd_import)
    goto rollback;
  sqlite3_bind_int64 (upd_import, 1, g_get_real_time () / 1000);
  sqlite3_bind_int64 (upd_import, 2, (gint64) report->rows_read);
  sqlite3_bind_int64 (upd_import, 3, (gint64) report->rows_accepted);
  sqlite3_bind_int64 (upd_import, 4, (gint64) report->rows_rejected);
  sqlite3_bind_int64 (upd_import, 5, sha.size);
  sqlite3_bind_text (upd_import, 6, sha.sha, -1, SQLITE_STATIC);
  sqlite3_bind_text (upd_import, 7, sha.uf_sha, -1, SQLITE_STATIC);
  sqlite3_bind_text (upd_import, 8, sha.if_sha, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (upd_import, 9, report->import_id);
  if (sqlite3_step (upd_import) != SQLITE_DONE)
    {
      sql_fail (s, error, "cannot finish the import record");
      goto rollback;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error) || !exec (s, "COMMIT", error))
    goto rollback;
  /* Should another connection keep the switch from happening, the next open makes it. */
  if (rollback_journal)
    set_journal_wal (s, NULL);
  if (progress)
    progress (prog.size, prog.size, report->rows_read, user_data);   /* (with two readers, reader stopped at the cut) */
  ok = TRUE;
  goto out;

rollback:
  sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
  report->import_id = 0;
out:
  g_clear_pointer (&half, half_free);
  if (sha_job_finish (s, &sha, !ok, error))
    {
      /* Nothing of the log counts when its checksum stopped the import. */
      dlen_import_report_clear (report);
      memset (report, 0, sizeof *report);
    }
  keys_clear (&user_keys);
  keys_clear (&item_keys);
  stage_free_blocks (&stage);
  strings_clear (&sessions);
  strings_clear (&requests);
  dlen_reject_clear (&rej);
  dlen_store_set_cancellable (s, NULL);
  {
    g_autofree char *restore = g_strdup_printf ("PRAGMA foreign_keys = ON; PRAGMA synchronous = %s;"
                                                " PRAGMA cache_size = %" G_GINT64_FORMAT,
                                                s->staged ? "OFF" : "NORMAL", cache_size);
    sqlite3_exec (s->db, restore, NULL, NULL, NULL);
  }
  return ok;
}

/* ---- A new project from its first import ----------------------------------------------------
 * The project is built under a name of its own (PROJECT.partial) without journal or syncs, then
 * synced once and renamed into place: its pages are written once and synced once, and whatever
 * stops the import (a failure, a cancel, a kill) leaves no project. The staging file is locked
 * (flock) while in use; one left by a killed import is taken over by the next. */

static void
staging_unlink (const char *staging, gboolean with_file)
{
  static const char *const aux[] = { "-journal", "-wal", "-shm" };
  for (guint i = 0; i < G_N_ELEMENTS (aux); i++)
    {
      g_autofree char *p = g_strconcat (staging, aux[i], NULL);
      g_unlink (p);
    }
  if (with_file)
    g_unlink (staging);
}

/* Opens and locks @staging (the project @project's), emptied. -1 with an error when another
 * import holds it. */
static int
staging_lock (const char *staging, const char *project, GError **error)
{
  GStatBuf named, held;
  int fd = g_open (staging, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot create the project: %s", project,
                   g_strerror (e));
      return -1;
    }
  /* Locked, and still the file of that name (a finishing import may have just removed it). */
  if (flock (fd, LOCK_EX | LOCK_NB) != 0 || fstat (fd, &held) != 0 || g_stat (staging, &named) != 0
      || named.st_ino != held.st_ino || named.st_dev != held.st_dev)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "%s: another import is creating this project", staging);
      close (fd);
      return -1;
    }
  /* What a killed import left, its SQLite files included (a stale WAL would be replayed). */
  staging_unlink (staging, FALSE);
  if (ftruncate (fd, 0) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", staging, g_strerror (e));
      close (fd);
      return -1;
    }
  return fd;
}

/* Syncs the complete @staging (open as @fd) and renames it to @project, which must not exist,
 * then syncs the directory so that the name lasts too. */
static gboolean
staging_publish (int fd, const char *staging, const char *project, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (project);
  int dfd, e;
  if (fdatasync (fd) != 0)
    {
      e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", staging, g_strerror (e));
      return FALSE;
    }
  if (renameat2 (AT_FDCWD, staging, AT_FDCWD, project, RENAME_NOREPLACE) != 0)
    {
      e = errno;
      /* A file system without RENAME_NOREPLACE: link() refuses an existing name too. */
      if ((e == EINVAL || e == ENOSYS) && link (staging, project) == 0)
        g_unlink (staging);
      else
        {
          if (e == EINVAL || e == ENOSYS)
            e = errno;
          if (e == EEXIST)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                         "%s: created by someone else during the import; the import is not kept", project);
          else
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", project, g_strerror (e));
          return FALSE;
        }
    }
  dfd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd >= 0)
    {
      fsync (dfd);   /* (not every file system syncs directories; the rename is done either way) */
      close (dfd);
    }
  return TRUE;
}

gboolean
dlen_store_import_new (const char *project, const char *path, const DlenImportOptions *o,
                       DlenImportProgressFunc progress, gpointer user_data,
                       GCancellable *cancellable, DlenImportReport *report, GError **error)
{
  g_autofree char *staging = g_strconcat (project, ".partial", NULL);
  DlenStore *s;
  GStatBuf st;
  gboolean ok;
  int fd;

  memset (report, 0, sizeof *report);
  if (g_lstat (project, &st) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s: already exists", project);
      return FALSE;
    }
  if ((fd = staging_lock (staging, project, error)) < 0)
    return FALSE;
  /* Its messages name the project, not the file it is being built in. */
  s = store_open (staging, project, TRUE, TRUE, error);
  ok = s && dlen_store_import (s, path, o, progress, user_data, cancellable, report, error);
  g_clear_pointer (&s, dlen_store_free);   /* before the rename: SQLite keeps to the file's name */
  ok = ok && staging_publish (fd, staging, project, error);
  if (!ok)
    {
      staging_unlink (staging, TRUE);
      dlen_import_report_clear (report);
      memset (report, 0, sizeof *report);
    }
  close (fd);   /* (the lock goes with it) */
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

gboolean
dlen_schema_has_history (const DlenSchema *schema)
{
  for (uint32_t i = 0; schema && i < schema->n_num; i++)
    if (g_str_equal (schema->num[i].name, history_fields[0]))
      return TRUE;
  return FALSE;
}

struct _DlenStoreReader {
  DlenStore *store;
  DlenSchema schema;
  char *preset;
  sqlite3_stmt *st;
  gint64 first_id;
  gsize n_chunks;
  gboolean any_truth;
};

void
dlen_store_reader_free (DlenStoreReader *r)
{
  if (!r)
    return;
  sqlite3_finalize (r->st);
  g_free (r->preset);
  g_free (r);
}

DlenStoreReader *
dlen_store_reader_new (DlenStore *s, gboolean history, const DlenSchema *model_schema, GError **error)
{
  g_autoptr (DlenStoreReader) r = g_new0 (DlenStoreReader, 1);
  FieldIds ids;
  g_autofree char *sql = NULL;
  g_autoptr (GString) cols = g_string_new ("i.id, i.line, u.key, i.time_ms, i.day, i.truth");
  guint n_stored_num;
  gint64 last_id;

  r->store = s;
  if (!read_fields (s, &r->schema, &ids, error))
    return NULL;
  n_stored_num = r->schema.n_num;
  if (!dlen_store_schema (s, history, &r->schema, &r->preset, error))
    return NULL;
  if (model_schema)
    {
      DlenSchema mine = r->schema;
      for (guint i = 0; i < mine.n_cat; i++)
        mine.cat[i].buckets = model_schema->cat[i].buckets;
      if (!same_fields (&mine, model_schema))
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                       "%s: the model's fields differ from the project's (trained on another layout%s)", s->path,
                       history ? "" : ", or with --history-features");
          return NULL;
        }
      r->schema = *model_schema;
    }
  for (guint i = 0; i < r->schema.n_cat; i++)
    g_string_append_printf (cols, ", i.f%" G_GINT64_FORMAT, ids.cat[i]);
  for (guint i = 0; i < n_stored_num; i++)
    g_string_append_printf (cols, ", i.f%" G_GINT64_FORMAT, ids.num[i]);
  if (history)
    g_string_append (cols, ", i.hist_likes20, i.hist_negative20, i.session_pos, i.session_minutes");
  for (guint i = 0; i < r->schema.n_targets; i++)
    g_string_append_printf (cols, ", i.f%" G_GINT64_FORMAT, ids.tgt[i]);
  /* A chunk is a range of impression ids: the primary key reads it without a sort. */
  sql = g_strdup_printf ("SELECT %s FROM impressions i JOIN users u ON u.id = i.user_id "
                         "WHERE i.id >= ?1 AND i.id < ?2 ORDER BY i.id", cols->str);
  r->st = prepare (s, sql, error);
  if (!r->st)
    return NULL;
  r->first_id = query_int (s, "SELECT min(id) FROM impressions", 0);
  last_id = query_int (s, "SELECT max(id) FROM impressions", -1);
  r->n_chunks = last_id >= r->first_id ? (gsize) ((last_id - r->first_id) / DLEN_CHUNK_ROWS + 1) : 0;
  r->any_truth = query_int (s, "SELECT EXISTS (SELECT 1 FROM impressions WHERE truth IS NOT NULL)", 0) != 0;
  return g_steal_pointer (&r);
}

const DlenSchema *dlen_store_reader_schema (const DlenStoreReader *r) { return &r->schema; }
const char *dlen_store_reader_preset (const DlenStoreReader *r) { return r->preset; }
gsize dlen_store_reader_n_chunks (const DlenStoreReader *r) { return r->n_chunks; }

gboolean
dlen_store_reader_read (DlenStoreReader *r, gsize chunk, DlenDataset *out, GArray *ids, GArray *lines, GError **error)
{
  DlenStore *s = r->store;
  const DlenSchema *schema = &r->schema;
  gint64 lo = r->first_id + (gint64) chunk * DLEN_CHUNK_ROWS;
  DlenRecord rec;
  int rc;

  sqlite3_reset (r->st);
  sqlite3_bind_int64 (r->st, 1, lo);
  sqlite3_bind_int64 (r->st, 2, lo + DLEN_CHUNK_ROWS);
  while ((rc = sqlite3_step (r->st)) == SQLITE_ROW)
    {
      sqlite3_stmt *st = r->st;
      int k = 0;
      guint64 hashes[DLEN_MAX_CAT_FIELDS];
      DlenRow row;
      guint64 id = (guint64) sqlite3_column_int64 (st, k++);
      float truth;
      rec.line = (guint64) sqlite3_column_int64 (st, k++);
      rec.user = (const char *) sqlite3_column_text (st, k++);
      rec.item = NULL;
      rec.time_ms = (gint64) sqlite3_column_int64 (st, k++);
      rec.day = sqlite3_column_int (st, k++);
      truth = sqlite3_column_type (st, k) == SQLITE_NULL ? NAN : (float) sqlite3_column_double (st, k);
      k++;
      for (guint i = 0; i < schema->n_cat; i++, k++)
        rec.cat[i] = sqlite3_column_type (st, k) == SQLITE_NULL ? "" : (const char *) sqlite3_column_text (st, k);
      for (guint i = 0; i < schema->n_num; i++, k++)
        rec.num[i] = sqlite3_column_type (st, k) == SQLITE_NULL ? NAN : (float) sqlite3_column_double (st, k);
      for (guint i = 0; i < schema->n_targets; i++, k++)
        rec.lab[i] = sqlite3_column_type (st, k) == SQLITE_NULL ? NAN : (float) sqlite3_column_double (st, k);
      dlen_record_to_row (schema, &rec, hashes, &row);
      if (dlen_dataset_append (out, &row) != DLEN_STATUS_OK
          || (r->any_truth && dlen_dataset_set_truth (out, dlen_dataset_n_rows (out) - 1, truth) != DLEN_STATUS_OK))
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: impression %" G_GUINT64_FORMAT ": %s", s->path, id,
                       dlen_last_error ());
          sqlite3_reset (r->st);
          return FALSE;
        }
      if (ids)
        g_array_append_val (ids, id);
      if (lines)
        g_array_append_val (lines, rec.line);
    }
  if (rc != SQLITE_DONE)
    {
      sql_fail (s, error, "cannot read the impressions");
      sqlite3_reset (r->st);
      return FALSE;
    }
  sqlite3_reset (r->st);
  return TRUE;
}

/* ---- Models and predictions ---------------------------------------------------------------- */

gboolean
dlen_store_delete_model (DlenStore *s, gint64 model_id, GError **error)
{
  /* One statement, so one transaction; foreign keys are on in every connection, so the model's
   * cached predictions go with it. */
  g_autoptr (sqlite3_stmt) st = prepare (s, "DELETE FROM models WHERE id = ?", error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64 (st, 1, model_id);
  if (sqlite3_step (st) != SQLITE_DONE)
    return sql_fail (s, error, "cannot delete the model");
  if (sqlite3_changes (s->db) == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: there is no model %" G_GINT64_FORMAT, s->path, model_id);
      return FALSE;
    }
  return TRUE;
}

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
dlen_store_predictions_begin (DlenStore *s, gint64 model_id, GError **error)
{
  g_autoptr (sqlite3_stmt) del = NULL;
  if (!exec (s, "BEGIN IMMEDIATE", error))
    return FALSE;
  del = prepare (s, "DELETE FROM predictions WHERE model_id = ?", error);
  if (del)
    {
      sqlite3_bind_int64 (del, 1, model_id);
      if (sqlite3_step (del) == SQLITE_DONE)
        return TRUE;
      sql_fail (s, error, "cannot replace predictions");
    }
  sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

gboolean
dlen_store_predictions_add (DlenStore *s, gint64 model_id, const GArray *ids, const float *pred, guint width,
                            GError **error)
{
  g_autoptr (sqlite3_stmt) ins = prepare (s, "INSERT INTO predictions (model_id, impression_id, p) VALUES (?, ?, ?)", error);
  if (!ins)
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    {
      sqlite3_reset (ins);
      sqlite3_bind_int64 (ins, 1, model_id);
      sqlite3_bind_int64 (ins, 2, (gint64) g_array_index (ids, guint64, i));
      sqlite3_bind_blob (ins, 3, pred + (gsize) i * width, (int) (width * sizeof (float)), SQLITE_STATIC);
      if (sqlite3_step (ins) != SQLITE_DONE)
        return sql_fail (s, error, "cannot store predictions");
    }
  return TRUE;
}

gboolean
dlen_store_predictions_end (DlenStore *s, gboolean commit, GError **error)
{
  if (commit && exec (s, "COMMIT", error))
    return TRUE;
  sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

/* ---- Summary ------------------------------------------------------------------------------- */

static void
target_summary_free (gpointer p)
{
  DlenSummaryTarget *t = p;
  g_free (t->name);
  g_free (t->polarity);
  g_free (t);
}

static void
import_summary_free (gpointer p)
{
  DlenSummaryImport *im = p;
  g_free (im->source);
  g_free (im->sha256);
  g_free (im->preset);
  g_free (im->user_features);
  g_free (im->user_features_sha256);
  g_free (im->item_features);
  g_free (im->item_features_sha256);
  g_free (im);
}

void
dlen_project_summary_free (DlenProjectSummary *p)
{
  if (!p)
    return;
  g_clear_pointer (&p->categorical, g_ptr_array_unref);
  g_clear_pointer (&p->numeric, g_ptr_array_unref);
  g_clear_pointer (&p->targets, g_ptr_array_unref);
  g_clear_pointer (&p->imports, g_ptr_array_unref);
  g_free (p);
}

static char *
column_dup (sqlite3_stmt *st, int c)
{
  return g_strdup ((const char *) sqlite3_column_text (st, c));
}

DlenProjectSummary *
dlen_store_summarize (DlenStore *s, GError **error)
{
  g_autoptr (DlenProjectSummary) p = g_new0 (DlenProjectSummary, 1);
  g_autoptr (GString) sql = g_string_new ("SELECT count(*), count(DISTINCT session), count(DISTINCT request),"
                                          " min(time_ms), max(time_ms), min(day), max(day)");
  g_autoptr (sqlite3_stmt) st = NULL;

  p->categorical = g_ptr_array_new_with_free_func (g_free);
  p->numeric = g_ptr_array_new_with_free_func (g_free);
  p->targets = g_ptr_array_new_with_free_func (target_summary_free);
  p->imports = g_ptr_array_new_with_free_func (import_summary_free);
  if (!(st = prepare (s, "SELECT id, kind, name, target_kind, polarity, weak_source FROM fields ORDER BY "
                         "CASE kind WHEN 'category' THEN 0 WHEN 'numeric' THEN 1 ELSE 2 END, ordinal", error)))
    return NULL;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      const char *kind = (const char *) sqlite3_column_text (st, 1);
      if (g_str_equal (kind, "category"))
        g_ptr_array_add (p->categorical, column_dup (st, 2));
      else if (g_str_equal (kind, "numeric"))
        g_ptr_array_add (p->numeric, column_dup (st, 2));
      else
        {
          DlenSummaryTarget *t = g_new0 (DlenSummaryTarget, 1);
          gint64 id = (gint64) sqlite3_column_int64 (st, 0);
          t->name = column_dup (st, 2);
          t->duration = g_strcmp0 ((const char *) sqlite3_column_text (st, 3), "duration") == 0;
          t->polarity = t->duration ? NULL : column_dup (st, 4);
          t->weak = sqlite3_column_int (st, 5) != 0;
          g_ptr_array_add (p->targets, t);
          /* Column names from integer ids only. */
          g_string_append_printf (sql, ", avg(f%" G_GINT64_FORMAT "), count(f%" G_GINT64_FORMAT ")", id, id);
        }
    }
  g_clear_pointer (&st, sqlite3_finalize);

  /* Every aggregate of the impressions in one pass. */
  g_string_append (sql, " FROM impressions");
  if (!(st = prepare (s, sql->str, error)))
    return NULL;
  if (sqlite3_step (st) != SQLITE_ROW)
    return sql_fail (s, error, "cannot summarise the project"), NULL;
  p->impressions = (gint64) sqlite3_column_int64 (st, 0);
  p->sessions = (gint64) sqlite3_column_int64 (st, 1);
  p->requests = (gint64) sqlite3_column_int64 (st, 2);
  p->first_ms = (gint64) sqlite3_column_int64 (st, 3);
  p->last_ms = (gint64) sqlite3_column_int64 (st, 4);
  p->first_day = (gint64) sqlite3_column_int64 (st, 5);
  p->last_day = (gint64) sqlite3_column_int64 (st, 6);
  for (guint t = 0; t < p->targets->len; t++)
    {
      DlenSummaryTarget *ts = g_ptr_array_index (p->targets, t);
      ts->has = sqlite3_column_type (st, 7 + 2 * (int) t) != SQLITE_NULL;
      ts->value = sqlite3_column_double (st, 7 + 2 * (int) t);
      ts->labelled = (gint64) sqlite3_column_int64 (st, 8 + 2 * (int) t);
    }
  g_clear_pointer (&st, sqlite3_finalize);
  p->users = query_int (s, "SELECT count(*) FROM users", 0);
  p->items = query_int (s, "SELECT count(*) FROM items", 0);
  p->rejects = query_int (s, "SELECT count(*) FROM import_rejects", 0);

  if (!(st = prepare (s, "SELECT id, source, size, sha256, preset, started_ms, finished_ms, rows_read, rows_accepted,"
                         " rows_rejected, user_features, user_features_sha256, item_features, item_features_sha256"
                         " FROM imports ORDER BY id", error)))
    return NULL;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      DlenSummaryImport *im = g_new0 (DlenSummaryImport, 1);
      im->id = (gint64) sqlite3_column_int64 (st, 0);
      im->source = column_dup (st, 1);
      im->size = (gint64) sqlite3_column_int64 (st, 2);
      im->sha256 = column_dup (st, 3);
      im->preset = column_dup (st, 4);
      im->started_ms = (gint64) sqlite3_column_int64 (st, 5);
      im->finished_ms = (gint64) sqlite3_column_int64 (st, 6);
      im->rows_read = (gint64) sqlite3_column_int64 (st, 7);
      im->rows_accepted = (gint64) sqlite3_column_int64 (st, 8);
      im->rows_rejected = (gint64) sqlite3_column_int64 (st, 9);
      im->user_features = column_dup (st, 10);
      im->user_features_sha256 = column_dup (st, 11);
      im->item_features = column_dup (st, 12);
      im->item_features_sha256 = column_dup (st, 13);
      g_ptr_array_add (p->imports, im);
    }
  if (s->cancellable && g_cancellable_set_error_if_cancelled (s->cancellable, error))
    return NULL;
  return g_steal_pointer (&p);
}

char *
dlen_store_info_json (DlenStore *s, GError **error)
{
  g_autoptr (DlenProjectSummary) p = dlen_store_summarize (s, error);
  g_autoptr (GString) o = g_string_new ("{");
  g_autoptr (sqlite3_stmt) st = NULL;

  if (!p)
    return NULL;
  g_string_append (o, "\"path\": ");
  dlen_json_string (o, s->path);
  g_string_append_printf (o, ", \"schema_version\": %d", DLEN_STORE_SCHEMA_VERSION);
  g_string_append_printf (o, ", \"impressions\": %" G_GINT64_FORMAT ", \"users\": %" G_GINT64_FORMAT
                             ", \"items\": %" G_GINT64_FORMAT ", \"sessions\": %" G_GINT64_FORMAT
                             ", \"requests\": %" G_GINT64_FORMAT,
                          p->impressions, p->users, p->items, p->sessions, p->requests);
  g_string_append_printf (o, ", \"first_time_ms\": %" G_GINT64_FORMAT ", \"last_time_ms\": %" G_GINT64_FORMAT
                             ", \"first_day\": %" G_GINT64_FORMAT ", \"last_day\": %" G_GINT64_FORMAT,
                          p->first_ms, p->last_ms, p->first_day, p->last_day);
  g_string_append (o, ", \"targets\": {");
  for (guint t = 0; t < p->targets->len; t++)
    {
      const DlenSummaryTarget *ts = g_ptr_array_index (p->targets, t);
      if (t)
        g_string_append (o, ", ");
      dlen_json_string (o, ts->name);
      if (ts->has)
        g_string_append_printf (o, ": {\"%s\": %.6g, \"labelled\": %" G_GINT64_FORMAT ", \"polarity\": \"%s\"}",
                                ts->duration ? "mean_seconds" : "rate", ts->value, ts->labelled,
                                ts->duration ? "duration" : ts->polarity);
      else
        g_string_append (o, ": null");
    }
  g_string_append (o, "}, \"imports\": [");
  for (guint i = 0; i < p->imports->len; i++)
    {
      const DlenSummaryImport *im = g_ptr_array_index (p->imports, i);
      g_string_append_printf (o, "%s{\"id\": %" G_GINT64_FORMAT ", \"source\": ", i ? ", " : "", im->id);
      dlen_json_string (o, im->source);
      g_string_append_printf (o, ", \"size\": %" G_GINT64_FORMAT ", \"sha256\": \"%s\", \"preset\": ", im->size, im->sha256);
      dlen_json_string (o, im->preset);
      g_string_append_printf (o, ", \"started_ms\": %" G_GINT64_FORMAT ", \"finished_ms\": %" G_GINT64_FORMAT
                                 ", \"rows_read\": %" G_GINT64_FORMAT ", \"rows_accepted\": %" G_GINT64_FORMAT
                                 ", \"rows_rejected\": %" G_GINT64_FORMAT,
                              im->started_ms, im->finished_ms, im->rows_read, im->rows_accepted, im->rows_rejected);
      {
        /* The side-feature files joined, with their checksums (null when none). */
        const char *const side[][2] = { { "user_features", im->user_features },
                                        { "user_features_sha256", im->user_features_sha256 },
                                        { "item_features", im->item_features },
                                        { "item_features_sha256", im->item_features_sha256 } };
        for (guint k = 0; k < G_N_ELEMENTS (side); k++)
          {
            g_string_append_printf (o, ", \"%s\": ", side[k][0]);
            if (side[k][1])
              dlen_json_string (o, side[k][1]);
            else
              g_string_append (o, "null");
          }
      }
      g_string_append_c (o, '}');
    }
  g_string_append_printf (o, "], \"rejects\": %" G_GINT64_FORMAT ", \"models\": [", p->rejects);
  st = prepare (s, "SELECT id, name, arch, created_ms, metrics,"
                   " (SELECT count(*) FROM predictions p WHERE p.model_id = m.id) FROM models m ORDER BY id", error);
  if (!st)
    return NULL;
  for (int n = 0; sqlite3_step (st) == SQLITE_ROW; n++)
    {
      g_string_append_printf (o, "%s{\"id\": %" G_GINT64_FORMAT ", \"name\": ", n ? ", " : "", (gint64) sqlite3_column_int64 (st, 0));
      dlen_json_string (o, (const char *) sqlite3_column_text (st, 1));
      g_string_append (o, ", \"arch\": ");
      dlen_json_string (o, (const char *) sqlite3_column_text (st, 2));
      /* metrics is JSON written by this program. */
      g_string_append_printf (o, ", \"created_ms\": %" G_GINT64_FORMAT ", \"metrics\": %s, \"cached_predictions\": %"
                                 G_GINT64_FORMAT "}",
                              (gint64) sqlite3_column_int64 (st, 3), sqlite3_column_text (st, 4), (gint64) sqlite3_column_int64 (st, 5));
    }
  g_string_append (o, "]}");
  return g_string_free (g_steal_pointer (&o), FALSE);
}
