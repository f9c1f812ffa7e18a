/* test-store.c: the project store's guarantees: exact imports, located rejects, all-or-nothing writes, no leakage. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dlen-test-cli.h"
#include "dlen-csv.h"
#include "dlen-error.h"
#include "dlen-store.h"

static char *tmpdir;

/* ---- Files and the CLI ----------------------------------------------------------------------- */

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static char *
fixture (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "import", name, NULL);
}

static char *
kuairand_log (void)
{
  const char *dir = g_getenv ("DLEN_SHARED_DATA");
  return g_build_filename (dir ? dir : "../shared/data", "kuairand", "likehate_27k.tsv", NULL);
}

static void
remove_project (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  g_autofree char *journal = g_strconcat (path, "-journal", NULL);
  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
  g_unlink (journal);
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *bytes = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (from, &bytes, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (to, bytes, (gssize) len, &error);
  g_assert_no_error (error);
}

/* Writes a synthetic log with `dlen generate`. */
static void
generate (const char *out, const char *impressions, const char *users, const char *seed)
{
  Run r = run_dlen ("generate", "--out", out, "--impressions", impressions, "--users", users, "--seed", seed, NULL);
  if (r.status != 0)
    g_error ("dlen generate failed: %s", r.err);
  run_clear (&r);
}

/* ---- SQL helpers ------------------------------------------------------------------------------ */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

static sqlite3_stmt *
sql_prepare (DlenStore *store, const char *sql)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2 (dlen_store_db (store), sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (dlen_store_db (store)));
  return st;
}

static gint64
sql_int (DlenStore *store, const char *sql)
{
  g_autoptr (sqlite3_stmt) st = sql_prepare (store, sql);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  return (gint64) sqlite3_column_int64 (st, 0);
}

static void
sql_exec (DlenStore *store, const char *sql)
{
  char *msg = NULL;
  if (sqlite3_exec (dlen_store_db (store), sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
}

/* PRAGMA integrity_check says "ok" and no foreign key dangles. */
static void
assert_healthy (DlenStore *store)
{
  g_autoptr (sqlite3_stmt) ic = sql_prepare (store, "PRAGMA integrity_check");
  g_autoptr (sqlite3_stmt) fk = sql_prepare (store, "PRAGMA foreign_key_check");
  g_assert_cmpint (sqlite3_step (ic), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (ic, 0), ==, "ok");
  g_assert_cmpint (sqlite3_step (ic), ==, SQLITE_DONE);
  g_assert_cmpint (sqlite3_step (fk), ==, SQLITE_DONE);
}

/* A SHA-256 over the schema, the header pragmas and every row of every table: equal digests
 * mean the project is exactly as it was, columns added by ALTER TABLE included. */
static void
digest_table (DlenStore *store, GChecksum *sum, const char *table)
{
  g_autofree char *probe = g_strdup_printf ("SELECT * FROM \"%s\"", table);
  g_autoptr (sqlite3_stmt) st = sql_prepare (store, probe);
  g_autoptr (GString) sql = g_string_new (probe);
  int n = sqlite3_column_count (st);
  g_clear_pointer (&st, sqlite3_finalize);
  for (int c = 0; c < n; c++)
    g_string_append_printf (sql, "%s%d", c ? ", " : " ORDER BY ", c + 1);
  st = sql_prepare (store, sql->str);
  g_checksum_update (sum, (const guchar *) sql->str, -1);
  while (sqlite3_step (st) == SQLITE_ROW)
    for (int c = 0; c < n; c++)
      {
        guchar type = (guchar) sqlite3_column_type (st, c);
        int len = sqlite3_column_bytes (st, c);
        const void *blob = sqlite3_column_blob (st, c);
        g_checksum_update (sum, &type, 1);
        g_checksum_update (sum, (const guchar *) &len, sizeof len);
        if (len > 0)
          g_checksum_update (sum, blob, len);
      }
}

static char *
project_digest (DlenStore *store)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GPtrArray) tables = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (sqlite3_stmt) master = sql_prepare (store,
    "SELECT type, name, sql FROM sqlite_master ORDER BY type, name");
  g_autofree char *header = g_strdup_printf ("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                             sql_int (store, "PRAGMA user_version"),
                                             sql_int (store, "PRAGMA application_id"));
  g_checksum_update (sum, (const guchar *) header, -1);
  while (sqlite3_step (master) == SQLITE_ROW)
    {
      for (int c = 0; c < 3; c++)
        {
          const char *v = (const char *) sqlite3_column_text (master, c);
          g_checksum_update (sum, (const guchar *) (v ? v : "(null)"), -1);
          g_checksum_update (sum, (const guchar *) "\1", 1);
        }
      if (g_str_equal ((const char *) sqlite3_column_text (master, 0), "table"))
        g_ptr_array_add (tables, g_strdup ((const char *) sqlite3_column_text (master, 1)));
    }
  for (guint t = 0; t < tables->len; t++)
    digest_table (store, sum, tables->pdata[t]);
  return g_strdup (g_checksum_get_string (sum));
}

typedef struct {
  gint64 impressions, users, items, imports, rejects;
  char *digest;
} Snapshot;

static void
snapshot_take (DlenStore *store, Snapshot *s)
{
  s->impressions = sql_int (store, "SELECT count(*) FROM impressions");
  s->users = sql_int (store, "SELECT count(*) FROM users");
  s->items = sql_int (store, "SELECT count(*) FROM items");
  s->imports = sql_int (store, "SELECT count(*) FROM imports");
  s->rejects = sql_int (store, "SELECT count(*) FROM import_rejects");
  s->digest = project_digest (store);
}

static void
snapshot_clear (Snapshot *s)
{
  g_clear_pointer (&s->digest, g_free);
}

/* The project holds exactly what it held at @before and is healthy. */
static void
assert_unchanged (DlenStore *store, const Snapshot *before)
{
  Snapshot now;
  snapshot_take (store, &now);
  g_assert_cmpint (now.impressions, ==, before->impressions);
  g_assert_cmpint (now.users, ==, before->users);
  g_assert_cmpint (now.items, ==, before->items);
  g_assert_cmpint (now.imports, ==, before->imports);
  g_assert_cmpint (now.rejects, ==, before->rejects);
  g_assert_cmpstr (now.digest, ==, before->digest);
  snapshot_clear (&now);
  assert_healthy (store);
}

/* ---- Import helpers ---------------------------------------------------------------------------- */

/* The layout of the fixtures: every role the importer knows, one column each. */
static const char *const generic_maps[] = {
  "user=user", "item=item", "time=time", "click=neutral", "like=weak-positive", "dislike=weak-negative",
  "stay_ms=duration-ms", "score=numeric", NULL
};

static void
generic_options (DlenImportOptions *o, gboolean strict)
{
  dlen_import_options_init (o);
  o->load.preset = "generic";
  o->load.maps = generic_maps;
  o->load.strict = strict;
}

static DlenStore *
new_project (const char *name)
{
  g_autofree char *path = tmp_path (name);
  g_autoptr (GError) error = NULL;
  DlenStore *store;
  remove_project (path);
  store = dlen_store_open (path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static void
import_ok (DlenStore *store, const char *path, const DlenImportOptions *o, guint64 expect_rows)
{
  g_autoptr (GError) error = NULL;
  DlenImportReport report;
  gboolean ok = dlen_store_import (store, path, o, NULL, NULL, NULL, &report, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (report.rows_accepted, ==, expect_rows);
  dlen_import_report_clear (&report);
}

/* A project holding fixtures/import/good.csv (5 rows, 3 users). */
static DlenStore *
project_with_good_import (const char *name)
{
  g_autofree char *good = fixture ("good.csv");
  DlenStore *store = new_project (name);
  DlenImportOptions o;
  generic_options (&o, FALSE);
  import_ok (store, good, &o, 5);
  return store;
}

/* ---- The real log ------------------------------------------------------------------------------ */

static void
test_import_kuairand (void)
{
  g_autofree char *log = kuairand_log ();
  g_autofree char *copy = tmp_path ("likehate-copy.tsv");
  g_autofree char *project = tmp_path ("kuairand.dlen");
  g_autofree char *bytes = NULL, *sha = NULL;
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (sqlite3_stmt) st = NULL;
  g_autoptr (JsonObject) info = NULL;
  DlenImportOptions o;
  DlenImportReport report;
  Snapshot before;
  gsize len;
  Run r;

  if (!g_file_test (log, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("../shared/data is not present");
      return;
    }
  remove_project (project);
  store = dlen_store_open (project, TRUE, &error);
  g_assert_no_error (error);
  dlen_import_options_init (&o);
  o.load.preset = "kuairand";
  g_assert_true (dlen_store_import (store, log, &o, NULL, NULL, NULL, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.import_id, ==, 1);
  g_assert_cmpuint (report.rows_read, ==, 41828);
  g_assert_cmpuint (report.rows_accepted, ==, 41828);
  g_assert_cmpuint (report.rows_rejected, ==, 0);
  g_assert_null (report.first_reject);
  dlen_import_report_clear (&report);

  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions"), ==, 41828);
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM users"), ==, 664);
  g_assert_cmpint (sql_int (store, "SELECT count(DISTINCT user_id) FROM impressions"), ==, 664);
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM items"), ==, 9359);
  g_assert_cmpint (sql_int (store, "SELECT count(DISTINCT item_id) FROM impressions"), ==, 9359);
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM import_rejects"), ==, 0);
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions WHERE hist_likes20 IS NULL OR session IS NULL"
                                   " OR session_pos IS NULL OR session_minutes IS NULL OR request IS NULL"), ==, 0);

  /* Provenance: the file's size and sha256, the counts, a finish time, the joined side features. */
  g_assert_true (g_file_get_contents (log, &bytes, &len, NULL));
  sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) bytes, len);
  st = sql_prepare (store, "SELECT source, size, sha256, preset, rows_read, rows_accepted, rows_rejected,"
                           " finished_ms >= started_ms, user_features FROM imports");
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (st, 0), ==, log);
  g_assert_cmpint (sqlite3_column_int64 (st, 1), ==, (gint64) len);
  g_assert_cmpstr ((const char *) sqlite3_column_text (st, 2), ==, sha);
  g_assert_cmpstr ((const char *) sqlite3_column_text (st, 3), ==, "kuairand");
  g_assert_cmpint (sqlite3_column_int64 (st, 4), ==, 41828);
  g_assert_cmpint (sqlite3_column_int64 (st, 5), ==, 41828);
  g_assert_cmpint (sqlite3_column_int64 (st, 6), ==, 0);
  g_assert_cmpint (sqlite3_column_int (st, 7), ==, 1);
  g_assert_true (g_str_has_suffix ((const char *) sqlite3_column_text (st, 8), "user_features.csv"));
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_DONE);
  assert_healthy (store);

  /* The same file again, and the same bytes under another name: refused, nothing written. */
  snapshot_take (store, &before);
  g_assert_false (dlen_store_import (store, log, &o, NULL, NULL, NULL, &report, &error));
  g_assert_error (error, DLEN_ERROR, DLEN_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "was already imported as import 1"));
  g_assert_cmpint (report.import_id, ==, 0);
  g_assert_cmpuint (report.rows_accepted, ==, 0);
  dlen_import_report_clear (&report);
  g_clear_error (&error);
  assert_unchanged (store, &before);

  g_assert_true (g_file_set_contents (copy, bytes, (gssize) len, NULL));
  o.load.no_user_features = TRUE;
  g_assert_false (dlen_store_import (store, copy, &o, NULL, NULL, NULL, &report, &error));
  g_assert_error (error, DLEN_ERROR, DLEN_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "already imported"));
  dlen_import_report_clear (&report);
  g_clear_error (&error);
  assert_unchanged (store, &before);
  snapshot_clear (&before);

  /* What `dlen info` reports agrees. */
  r = run_dlen ("info", project, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  info = parse_json (r.out);
  g_assert_cmpint (json_object_get_int_member (info, "impressions"), ==, 41828);
  g_assert_cmpint (json_object_get_int_member (info, "users"), ==, 664);
  g_assert_cmpint (json_object_get_int_member (info, "items"), ==, 9359);
  g_assert_cmpint (json_object_get_int_member (info, "rejects"), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (info, "imports")), ==, 1);
  run_clear (&r);
}

/* ---- Bad rows: one fixture per case ---------------------------------------------------------- */

typedef struct {
  guint64 line;
  int col;
  const char *column_name;   /* NULL: a field past the header's columns */
  const char *reason;
} ExpectedReject;

typedef struct {
  const char *file;           /* in fixtures/import, or made by make_input() */
  guint64 rows_read;
  guint64 good_lines[4];      /* 0 ends */
  ExpectedReject rejects[5];  /* line 0 ends */
} RowCase;

static const RowCase row_cases[] = {
  { "field-count.csv", 4, { 2, 5 }, {
      { 3, 8, "score", "expected 8 fields, found 7" },
      { 4, 9, NULL, "expected 8 fields, found 9" } } },
  { "non-numeric.csv", 6, { 2, 6 }, {
      { 3, 4, "click", "column 'click': 'maybe' is not a finite number" },
      { 4, 8, "score", "column 'score': 'abc' is not a finite number" },
      { 5, 3, "time", "column 'time': 'yesterday' is not a time in epoch milliseconds or seconds" },
      { 7, 5, "like", "column 'like': binary label '2' is neither 0 nor 1" } } },
  { "nan.csv", 5, { 2, 6 }, {
      { 3, 5, "like", "column 'like': 'nan' is not a finite number" },
      { 4, 8, "score", "column 'score': 'NaN' is not a finite number" },
      { 5, 7, "stay_ms", "column 'stay_ms': '-nan' is not a finite number" } } },
  { "inf.csv", 5, { 2, 6 }, {
      { 3, 7, "stay_ms", "column 'stay_ms': 'inf' is not a finite number" },
      { 4, 8, "score", "column 'score': '-Infinity' is not a finite number" },
      { 5, 4, "click", "column 'click': '1e999' is not a finite number" } } },
  { "negative-duration.csv", 4, { 2, 5 }, {
      { 3, 7, "stay_ms", "column 'stay_ms': negative duration '-1500'" },
      { 4, 7, "stay_ms", "column 'stay_ms': negative duration '-0.001'" } } },
  /* Finite as text and as a double, infinite as a float: the engine's dataset refuses them. */
  { "out-of-range.csv", 6, { 2, 7 }, {
      { 3, 8, "score", "column 'score': '1e39' is too large for a float" },
      { 4, 7, "stay_ms", "column 'stay_ms': duration '1e300' is too large for a float" },
      { 5, 8, "score", "column 'score': '-3.5e38' is too large for a float" },
      { 6, 7, "stay_ms", "column 'stay_ms': duration '4e41' is too large for a float" } } },
  { "bad-utf8.csv", 4, { 2, 5 }, {
      { 3, 2, "item", "invalid UTF-8 at byte 4 of the field (is the file in another encoding?)" },
      { 4, 8, "score", "invalid UTF-8 at byte 2 of the field (is the file in another encoding?)" } } },
  /* The open quote swallows line 5 and ends the read. */
  { "open-quote.csv", 3, { 2, 3 }, {
      { 4, 2, "item", "quoted field is not closed before the end of the file" } } },
  { "long-line.csv", 3, { 2, 4 }, {
      { 3, 2, "item", "record longer than 1048576 bytes; skipped" } } },
};

/* Inputs too big or too binary to commit, made in the temporary directory. */
static char *
make_input (const char *name)
{
  char *path = tmp_path (name);
  FILE *fp = g_fopen (path, "wb");
  g_assert_nonnull (fp);
  if (g_str_equal (name, "long-line.csv"))
    {
      /* A 10 MB field: skipped without being buffered, the line count stays right. */
      char chunk[4096];
      memset (chunk, 'x', sizeof chunk);
      fputs ("user,item,time,click,like,dislike,stay_ms,score\n"
             "l1,i1,1700000000000,1,1,0,5300,0.5\n"
             "l1,", fp);
      for (int i = 0; i < 10 * 256; i++)
        fwrite (chunk, 1, sizeof chunk, fp);
      fputs (",1700000060000,0,0,0,0,1\n"
             "l2,i3,1700000180000,1,1,0,8000,2\n", fp);
    }
  else if (g_str_equal (name, "binary-nul.bin"))
    {
      /* Like a compressed file: a magic number, then bytes of every value, NULs included. */
      guint32 x = 12345;
      fwrite ("\x1f\x8b\x08\x00", 1, 4, fp);
      for (int i = 0; i < 2048; i++)
        {
          x = x * 1664525u + 1013904223u;
          fputc ((int) (x >> 24), fp);
        }
    }
  else if (g_str_equal (name, "binary-high.bin"))
    {
      /* No NUL and no control byte, but mostly invalid UTF-8. */
      guint32 x = 777;
      for (int i = 0; i < 2048; i++)
        {
          x = x * 1664525u + 1013904223u;
          fputc (0x80 + (int) ((x >> 24) & 0x7f), fp);
        }
    }
  else if (g_str_equal (name, "utf16.csv"))
    {
      /* What a spreadsheet's "Unicode text" export gives: UTF-16LE with a BOM. */
      const char *text = "user,item,time,click,like,dislike,stay_ms,score\nu1,i1,1700000000000,1,1,0,5300,0.5\n";
      fwrite ("\xff\xfe", 1, 2, fp);
      for (const char *c = text; *c; c++)
        {
          fputc (*c, fp);
          fputc (0, fp);
        }
    }
  else
    g_assert_not_reached ();
  g_assert_cmpint (fclose (fp), ==, 0);
  return path;
}

static char *
case_input (const char *name)
{
  if (g_str_equal (name, "long-line.csv") || g_str_equal (name, "utf16.csv") || g_str_has_suffix (name, ".bin"))
    return make_input (name);
  return fixture (name);
}

static void
test_rejects (gconstpointer test_data)
{
  const RowCase *c = test_data;
  g_autofree char *path = case_input (c->file);
  g_autofree char *name = g_strdup_printf ("rows-%s.dlen", c->file);
  g_autofree char *first = NULL;
  g_autoptr (DlenStore) store = project_with_good_import (name);
  g_autoptr (GError) error = NULL;
  g_autoptr (sqlite3_stmt) rej = NULL, imp = NULL, prov = NULL;
  g_autoptr (DlenStoreReader) reader = NULL;
  DlenDataset *ds;
  g_autoptr (GArray) ids = NULL;
  DlenImportOptions o;
  DlenImportReport report;
  Snapshot before;
  guint n_good = 0, n_rej = 0;

  while (c->good_lines[n_good])
    n_good++;
  while (c->rejects[n_rej].line)
    n_rej++;
  first = g_strdup_printf ("%s:%" G_GUINT64_FORMAT ":%d: %s", path, c->rejects[0].line, c->rejects[0].col,
                           c->rejects[0].reason);

  /* Strict: the first bad row, as file:line:column: reason, and nothing kept. */
  snapshot_take (store, &before);
  generic_options (&o, TRUE);
  g_assert_false (dlen_store_import (store, path, &o, NULL, NULL, NULL, &report, &error));
  g_assert_error (error, DLEN_ERROR, DLEN_ERROR_DATA);
  g_assert_cmpstr (error->message, ==, first);
  g_assert_cmpint (report.import_id, ==, 0);
  dlen_import_report_clear (&report);
  g_clear_error (&error);
  assert_unchanged (store, &before);
  snapshot_clear (&before);

  /* Default: every bad row in import_rejects with its line, column and reason; the good rows kept. */
  generic_options (&o, FALSE);
  g_assert_true (dlen_store_import (store, path, &o, NULL, NULL, NULL, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.import_id, ==, 2);
  g_assert_cmpuint (report.rows_read, ==, c->rows_read);
  g_assert_cmpuint (report.rows_accepted, ==, n_good);
  g_assert_cmpuint (report.rows_rejected, ==, n_rej);
  g_assert_cmpstr (report.first_reject, ==, first);
  dlen_import_report_clear (&report);

  rej = sql_prepare (store, "SELECT line, col, column_name, reason FROM import_rejects WHERE import_id = 2 ORDER BY line");
  for (guint i = 0; i < n_rej; i++)
    {
      const ExpectedReject *e = &c->rejects[i];
      g_assert_cmpint (sqlite3_step (rej), ==, SQLITE_ROW);
      g_assert_cmpint (sqlite3_column_int64 (rej, 0), ==, (gint64) e->line);
      g_assert_cmpint (sqlite3_column_int (rej, 1), ==, e->col);
      g_assert_cmpstr ((const char *) sqlite3_column_text (rej, 2), ==, e->column_name);
      g_assert_cmpstr ((const char *) sqlite3_column_text (rej, 3), ==, e->reason);
    }
  g_assert_cmpint (sqlite3_step (rej), ==, SQLITE_DONE);

  imp = sql_prepare (store, "SELECT line FROM impressions WHERE import_id = 2 ORDER BY id");
  for (guint i = 0; i < n_good; i++)
    {
      g_assert_cmpint (sqlite3_step (imp), ==, SQLITE_ROW);
      g_assert_cmpint (sqlite3_column_int64 (imp, 0), ==, (gint64) c->good_lines[i]);
    }
  g_assert_cmpint (sqlite3_step (imp), ==, SQLITE_DONE);

  prov = sql_prepare (store, "SELECT rows_read, rows_accepted, rows_rejected, finished_ms IS NOT NULL FROM imports WHERE id = 2");
  g_assert_cmpint (sqlite3_step (prov), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int64 (prov, 0), ==, (gint64) c->rows_read);
  g_assert_cmpint (sqlite3_column_int64 (prov, 1), ==, n_good);
  g_assert_cmpint (sqlite3_column_int64 (prov, 2), ==, n_rej);
  g_assert_cmpint (sqlite3_column_int (prov, 3), ==, 1);

  /* The earlier import is untouched. */
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions WHERE import_id = 1"), ==, 5);
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM import_rejects WHERE import_id = 1"), ==, 0);
  assert_healthy (store);

  /* Every row kept is one the engine takes: the project still reads as a dataset. */
  reader = dlen_store_reader_new (store, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reader);
  ds = dlen_dataset_new (dlen_store_reader_schema (reader));
  ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (gsize c = 0; c < dlen_store_reader_n_chunks (reader); c++)
    {
      g_assert_true (dlen_store_reader_read (reader, c, ds, ids, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (dlen_dataset_n_rows (ds), ==, 5 + n_good);
  g_assert_cmpuint (ids->len, ==, 5 + n_good);
  dlen_dataset_free (ds);
}

/* ---- Bad files: the whole import fails and leaves the project alone -------------------------- */

static const char *const maps_without_time[] = {
  "user=user", "item=item", "click=neutral", NULL
};

typedef struct {
  const char *test;            /* test name */
  const char *file;
  const char *preset;          /* NULL: generic with the fixtures' mapping */
  const char *const *maps;     /* NULL: generic_maps */
  gboolean csv_domain;         /* DLEN_CSV_ERROR, else DLEN_ERROR */
  int code;
  const char *message;         /* the message after the path */
  gboolean prefix;             /* @message is only the start of it */
} FileCase;

static const FileCase file_cases[] = {
  { "empty", "empty.csv", NULL, NULL, TRUE, DLEN_CSV_ERROR_EMPTY, ": the file is empty (no header line)", FALSE },
  { "blank-lines", "blank-lines.csv", NULL, NULL, TRUE, DLEN_CSV_ERROR_EMPTY,
    ": the file is empty (only blank lines, no header line)", FALSE },
  { "header-only", "header-only.csv", NULL, NULL, FALSE, DLEN_ERROR_DATA, ": no usable rows", FALSE },
  { "duplicate-columns", "duplicate-columns.csv", NULL, NULL, TRUE, DLEN_CSV_ERROR_HEADER,
    ":1:8: duplicate column name \"click\" (also column 4)", FALSE },
  { "missing-column/mapped", "missing-column.csv", NULL, NULL, FALSE, DLEN_ERROR_DATA,
    ": --map names column 'time', which the header does not have", FALSE },
  { "missing-column/unmapped", "missing-column.csv", NULL, maps_without_time, FALSE, DLEN_ERROR_INVALID,
    ": the mapping needs a user column, a time or date column and at least one target", FALSE },
  { "missing-column/kuairand", "missing-column.csv", "kuairand", NULL, FALSE, DLEN_ERROR_DATA,
    ": missing required column 'user_id' (preset kuairand)", FALSE },
  { "open-quote-header", "open-quote-header.csv", NULL, NULL, TRUE, DLEN_CSV_ERROR_QUOTE,
    ":1:2: unterminated quoted field in the header", FALSE },
  { "utf16", "utf16.csv", NULL, NULL, TRUE, DLEN_CSV_ERROR_ENCODING,
    ": the file is UTF-16 or UTF-32 text; save it as UTF-8", FALSE },
  { "binary/nul", "binary-nul.bin", NULL, NULL, TRUE, DLEN_CSV_ERROR_NOT_TEXT,
    ": not a text file (it contains NUL bytes)", FALSE },
  { "binary/invalid-utf8", "binary-high.bin", NULL, NULL, TRUE, DLEN_CSV_ERROR_NOT_TEXT,
    ": not a text file (", TRUE },
};

static void
file_case_fails (DlenStore *store, const FileCase *c, const char *path, gboolean strict)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = g_strconcat (path, c->message, NULL);
  GQuark domain = c->csv_domain ? DLEN_CSV_ERROR : DLEN_ERROR;
  DlenImportOptions o;
  DlenImportReport report;
  Snapshot before;

  snapshot_take (store, &before);
  generic_options (&o, strict);
  if (c->preset)
    o.load.preset = c->preset;
  if (c->maps)
    o.load.maps = c->maps;
  g_assert_false (dlen_store_import (store, path, &o, NULL, NULL, NULL, &report, &error));
  g_assert_error (error, domain, c->code);
  if (c->prefix)
    g_assert_true (g_str_has_prefix (error->message, expected));
  else
    g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpint (report.import_id, ==, 0);
  dlen_import_report_clear (&report);
  assert_unchanged (store, &before);
  snapshot_clear (&before);
}

static void
test_bad_file (gconstpointer data)
{
  const FileCase *c = data;
  g_autofree char *path = case_input (c->file);
  g_autofree char *safe = g_strdelimit (g_strdup (c->test), "/", '-');
  g_autofree char *empty_name = g_strdup_printf ("file-%s-empty.dlen", safe);
  g_autofree char *full_name = g_strdup_printf ("file-%s.dlen", safe);
  g_autoptr (DlenStore) empty = new_project (empty_name);
  g_autoptr (DlenStore) full = project_with_good_import (full_name);

  /* On a new project (no fields defined yet) and on one that holds an import. */
  for (int strict = 0; strict < 2; strict++)
    {
      file_case_fails (empty, c, path, strict);
      file_case_fails (full, c, path, strict);
    }
  g_assert_cmpint (sql_int (empty, "SELECT count(*) FROM fields"), ==, 0);
  g_assert_cmpint (sql_int (full, "SELECT count(*) FROM impressions"), ==, 5);
}

/* ---- SIGKILL mid-import ------------------------------------------------------------------------- */

static goffset
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? (goffset) st.st_size : -1;
}

typedef enum {
  KILL_AFTER_MS,       /* after a delay */
  KILL_AT_WAL_BYTES,   /* once the open transaction has spilled this much into the WAL */
  KILL_AT_CHECKPOINT,  /* once the main file grows: in WAL, the commit is done, the checkpoint
                        * runs; with a rollback journal (a first import), the commit runs */
  KILL_AT_JOURNAL,     /* value ms after the rollback journal appears (a first import) */
  KILL_AT_STAGING,     /* value ms after PROJECT.partial appears (a new project) */
} KillWhen;

/* Runs `dlen import` on @project and SIGKILLs it at the given point. FALSE when it had already
 * finished (successfully) by then. *@wal_at_kill: the WAL's size just before the kill (with a
 * rollback journal, the journal's; for a new project, PROJECT.partial's). With
 * KILL_AT_CHECKPOINT, a @base_size of -1 (no project yet) waits for the project to appear. */
static gboolean
kill_import (const char *project, const char *log, KillWhen when, gint64 value, goffset base_size,
             goffset *wal_at_kill)
{
  g_autofree char *wal = g_strconcat (project, "-wal", NULL);
  g_autofree char *journal = g_strconcat (project, "-journal", NULL);
  g_autofree char *staging = g_strconcat (project, ".partial", NULL);
  const char *argv[] = { g_getenv ("DLEN_CLI"), "import", "--project", project, "--preset", "synthetic", log, NULL };
  g_autoptr (GError) error = NULL;
  GPid pid;
  int status = 0;
  gboolean running;

  g_spawn_async (NULL, (char **) argv, NULL,
                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                 NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  switch (when)
    {
    case KILL_AFTER_MS:
      g_usleep (value * 1000);
      break;
    case KILL_AT_WAL_BYTES:
      while (waitpid (pid, &status, WNOHANG) == 0 && file_size (wal) < value)
        g_usleep (200);
      break;
    case KILL_AT_CHECKPOINT:
      while (waitpid (pid, &status, WNOHANG) == 0 && file_size (project) <= base_size)
        g_usleep (200);
      break;
    case KILL_AT_JOURNAL:
      while (waitpid (pid, &status, WNOHANG) == 0 && file_size (journal) < 0)
        g_usleep (200);
      g_usleep (value * 1000);
      break;
    case KILL_AT_STAGING:
      while (waitpid (pid, &status, WNOHANG) == 0 && file_size (staging) < 0)
        g_usleep (200);
      g_usleep (value * 1000);
      break;
    }
  if (when == KILL_AT_STAGING || (when == KILL_AT_CHECKPOINT && base_size < 0))
    *wal_at_kill = file_size (staging);
  else
    *wal_at_kill = file_size (when == KILL_AT_JOURNAL || (when == KILL_AT_CHECKPOINT && base_size < 1 << 20) ? journal : wal);
  running = kill (pid, 0) == 0 && waitpid (pid, &status, WNOHANG) == 0;
  if (running)
    {
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status));
      g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
    }
  else
    g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_spawn_close_pid (pid);
  return running;
}

static void
test_sigkill (void)
{
  static const struct { KillWhen when; gint64 value; } kills[] = {
    { KILL_AFTER_MS, 20 }, { KILL_AFTER_MS, 60 }, { KILL_AFTER_MS, 150 }, { KILL_AFTER_MS, 400 },
    { KILL_AT_WAL_BYTES, 1 << 20 }, { KILL_AT_WAL_BYTES, 8 << 20 }, { KILL_AFTER_MS, 1200 },
    { KILL_AFTER_MS, 2500 }, { KILL_AFTER_MS, 4000 }, { KILL_AT_CHECKPOINT, 0 },
  };
  static const char *const when_names[] = { "ms", "WAL bytes", "checkpoint" };
  const gint64 n_log = 300000, n_base = 3000;
  g_autofree char *log = tmp_path ("kill.tsv");
  g_autofree char *base_log = tmp_path ("kill-base.tsv");
  g_autofree char *after_log = tmp_path ("kill-after.tsv");
  g_autofree char *base = tmp_path ("kill-base.dlen");
  g_autofree char *base_wal = g_strconcat (base, "-wal", NULL);
  g_autofree char *base_digest = NULL;
  guint n_running = 0, n_mid = 0, n_none = 0, n_all = 0;
  gint64 n_columns;
  goffset base_size;
  DlenImportOptions o;

  generate (log, "300000", "2000", "11");
  generate (base_log, "3000", "100", "12");
  generate (after_log, "2000", "100", "13");
  dlen_import_options_init (&o);
  o.load.preset = "synthetic";
  {
    g_autoptr (DlenStore) store = new_project ("kill-base.dlen");
    n_columns = sql_int (store, "SELECT count(*) FROM pragma_table_info('impressions')");
    import_ok (store, base_log, &o, n_base);
    base_digest = project_digest (store);
  }
  /* Closing the last connection checkpoints the WAL, so the main file is the whole project. */
  g_assert_false (g_file_test (base_wal, G_FILE_TEST_EXISTS));
  base_size = file_size (base);

  for (guint k = 0; k < G_N_ELEMENTS (kills); k++)
    {
      g_autofree char *project = g_strdup_printf ("%s/kill-%u.dlen", tmpdir, k);
      g_autoptr (GError) error = NULL;
      g_autoptr (DlenStore) store = NULL;
      g_autofree char *digest = NULL;
      gboolean running;
      goffset wal_at_kill;
      gint64 imports, finished, rows;

      remove_project (project);
      copy_file (base, project);
      running = kill_import (project, log, kills[k].when, kills[k].value, base_size, &wal_at_kill);
      n_running += running;

      store = dlen_store_open (project, FALSE, &error);
      g_assert_no_error (error);
      g_assert_nonnull (store);
      assert_healthy (store);
      imports = sql_int (store, "SELECT count(*) FROM imports");
      finished = sql_int (store, "SELECT count(*) FROM imports WHERE finished_ms IS NOT NULL");
      rows = sql_int (store, "SELECT count(*) FROM impressions WHERE import_id <> 1");
      g_assert_cmpint (finished, ==, imports);
      g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions WHERE import_id = 1"), ==, n_base);
      g_assert_cmpint (sql_int (store, "SELECT count(*) FROM import_rejects"), ==, 0);
      if (imports == 1)
        {
          /* None of it: the project is exactly what it was. */
          g_assert_cmpint (rows, ==, 0);
          digest = project_digest (store);
          g_assert_cmpstr (digest, ==, base_digest);
          n_none++;
          if (running && wal_at_kill > 0)
            n_mid++;
        }
      else
        {
          g_assert_cmpint (imports, ==, 2);
          g_assert_cmpint (rows, ==, n_log);
          g_assert_cmpint (sql_int (store, "SELECT rows_accepted FROM imports WHERE id = 2"), ==, n_log);
          g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions WHERE hist_likes20 IS NULL"), ==, 0);
          n_all++;
        }
      g_test_message ("kill %u at %" G_GINT64_FORMAT " %s: child %s, WAL %" G_GOFFSET_FORMAT " bytes, import %s", k,
                      kills[k].value, when_names[kills[k].when], running ? "killed" : "already done", wal_at_kill,
                      imports == 1 ? "absent" : "complete");
      /* And the project takes the next import (no stale lock, no half-recorded file). */
      import_ok (store, after_log, &o, 2000);
      assert_healthy (store);
    }
  g_test_message ("SIGKILL: %u attempts, %u killed while running, %u mid-transaction (WAL written, nothing kept), "
                  "%u left nothing, %u left everything", (guint) G_N_ELEMENTS (kills), n_running, n_mid, n_none, n_all);
  /* The WAL triggers always land inside the transaction; the checkpoint trigger always after it. */
  g_assert_cmpuint (n_mid, >=, 2);
  g_assert_cmpuint (n_all, >=, 1);

  /* The first import of a new project runs under a rollback journal (the project has no WAL
   * before it holds impressions), killed mid-transaction and during its commit: none of it,
   * fields and columns included, or all of it. */
  {
    static const struct { KillWhen when; gint64 value; } first_kills[] = {
      { KILL_AT_JOURNAL, 0 }, { KILL_AT_JOURNAL, 150 }, { KILL_AT_JOURNAL, 600 }, { KILL_AT_CHECKPOINT, 0 },
    };
    g_autofree char *fresh = tmp_path ("kill-fresh.dlen");
    guint first_none = 0;
    goffset fresh_size;
    g_autofree char *fresh_digest = NULL;
    {
      g_autoptr (DlenStore) store = new_project ("kill-fresh.dlen");
      fresh_digest = project_digest (store);
    }
    fresh_size = file_size (fresh);
    for (guint k = 0; k < G_N_ELEMENTS (first_kills); k++)
      {
        g_autofree char *project = g_strdup_printf ("%s/kill-new-%u.dlen", tmpdir, k);
        g_autoptr (GError) error = NULL;
        g_autoptr (DlenStore) store = NULL;
        goffset journal_at_kill;
        gboolean running;
        gint64 imports;
        remove_project (project);
        copy_file (fresh, project);
        running = kill_import (project, log, first_kills[k].when, first_kills[k].value, fresh_size, &journal_at_kill);
        store = dlen_store_open (project, FALSE, &error);
        g_assert_no_error (error);
        assert_healthy (store);
        imports = sql_int (store, "SELECT count(*) FROM imports");
        g_test_message ("first import, kill %u: child %s, journal %" G_GOFFSET_FORMAT " bytes, import %s", k,
                        running ? "killed" : "already done", journal_at_kill, imports ? "complete" : "absent");
        if (imports == 0)
          {
            g_autofree char *digest = project_digest (store);
            g_assert_cmpstr (digest, ==, fresh_digest);
            g_assert_cmpint (sql_int (store, "SELECT count(*) FROM fields"), ==, 0);
            g_assert_cmpint (sql_int (store, "SELECT count(*) FROM pragma_table_info('impressions')"), ==, n_columns);
            first_none += running && journal_at_kill >= 0;
          }
        else
          {
            g_assert_cmpint (imports, ==, 1);
            g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions"), ==, n_log);
          }
        import_ok (store, after_log, &o, 2000);
        assert_healthy (store);
      }
    g_assert_cmpuint (first_none, >=, 2);
  }

  /* An import that creates its project (dlen_store_import_new) killed while it builds the
   * staging file and once the project has its name: no project at all, or all of it, and the
   * next import of that name takes over what the killed one left. */
  {
    static const struct { KillWhen when; gint64 value; } new_kills[] = {
      { KILL_AT_STAGING, 0 }, { KILL_AT_STAGING, 60 }, { KILL_AT_STAGING, 150 }, { KILL_AT_STAGING, 600 },
      { KILL_AT_CHECKPOINT, 0 },
    };
    guint new_none = 0;
    for (guint k = 0; k < G_N_ELEMENTS (new_kills); k++)
      {
        g_autofree char *project = g_strdup_printf ("%s/kill-created-%u.dlen", tmpdir, k);
        g_autofree char *staging = g_strconcat (project, ".partial", NULL);
        g_autoptr (GError) error = NULL;
        g_autoptr (DlenStore) store = NULL;
        goffset staging_at_kill;
        gboolean running, created;
        DlenImportReport report;
        remove_project (project);
        g_unlink (staging);
        running = kill_import (project, log, new_kills[k].when, new_kills[k].value, -1, &staging_at_kill);
        created = g_file_test (project, G_FILE_TEST_EXISTS);
        g_test_message ("new project, kill %u: child %s, staging file %" G_GOFFSET_FORMAT " bytes, project %s", k,
                        running ? "killed" : "already done", staging_at_kill, created ? "complete" : "absent");
        if (created)
          {
            store = dlen_store_open (project, FALSE, &error);
            g_assert_no_error (error);
            assert_healthy (store);
            g_assert_cmpint (sql_int (store, "SELECT count(*) FROM imports WHERE finished_ms IS NOT NULL"), ==, 1);
            g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions"), ==, n_log);
            g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
            import_ok (store, after_log, &o, 2000);
          }
        else
          {
            g_assert_true (running);
            new_none++;
            g_assert_true (dlen_store_import_new (project, after_log, &o, NULL, NULL, NULL, &report, &error));
            g_assert_no_error (error);
            g_assert_cmpuint (report.rows_accepted, ==, 2000);
            dlen_import_report_clear (&report);
            g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
            store = dlen_store_open (project, FALSE, &error);
            g_assert_no_error (error);
            g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions"), ==, 2000);
          }
        assert_healthy (store);
      }
    g_assert_cmpuint (new_none, >=, 2);
  }
}

/* ---- Full disk and cancel ---------------------------------------------------------------------- */

/* A log in the fixtures' layout, @n rows over 50 users. */
static char *
make_generic_log (const char *name, guint n)
{
  char *path = tmp_path (name);
  FILE *fp = g_fopen (path, "w");
  g_assert_nonnull (fp);
  fputs ("user,item,time,click,like,dislike,stay_ms,score\n", fp);
  for (guint i = 0; i < n; i++)
    fprintf (fp, "user-%u,item-%u,%" G_GINT64_FORMAT ",%u,%u,%u,%u,%.3f\n", i % 50, (i * 7919) % 3000,
             (gint64) 1700000000000 + (gint64) i * 37000, i % 3 == 0, i % 5 == 0, i % 11 == 0, (i * 131) % 60000,
             (double) (i % 97) / 7.0);
  g_assert_cmpint (fclose (fp), ==, 0);
  return path;
}

static void
test_full_disk (void)
{
  g_autofree char *log = make_generic_log ("full-disk.csv", 20000);
  g_autoptr (DlenStore) store = project_with_good_import ("full-disk.dlen");
  g_autoptr (DlenStore) fresh = new_project ("full-disk-new.dlen");
  DlenStore *stores[2] = { store, fresh };
  DlenImportOptions o;

  generic_options (&o, FALSE);
  for (int k = 0; k < 2; k++)
    {
      DlenStore *s = stores[k];
      g_autoptr (GError) error = NULL;
      g_autofree char *limit = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT,
                                                sql_int (s, "PRAGMA page_count") + 8);
      DlenImportReport report;
      Snapshot before;

      snapshot_take (s, &before);
      sql_exec (s, limit);
      g_assert_false (dlen_store_import (s, log, &o, NULL, NULL, NULL, &report, &error));
      g_assert_error (error, DLEN_ERROR, DLEN_ERROR_IO);
      g_assert_nonnull (strstr (error->message, "full"));
      g_assert_cmpint (report.import_id, ==, 0);
      dlen_import_report_clear (&report);
      assert_unchanged (s, &before);
      snapshot_clear (&before);

      /* With room again the same file goes in whole: the failure recorded nothing. */
      sql_exec (s, "PRAGMA max_page_count = 1073741823");
      import_ok (s, log, &o, 20000);
      assert_healthy (s);
    }
}

typedef struct {
  GCancellable *cancellable;
  guint calls, cancel_at;
  guint64 rows_at_cancel;
} CancelState;

static void
cancel_progress (guint64 bytes_done, guint64 bytes_total, guint64 rows, gpointer user_data)
{
  CancelState *c = user_data;
  g_assert_cmpuint (bytes_done, <=, bytes_total);
  if (++c->calls == c->cancel_at)
    {
      c->rows_at_cancel = rows;
      g_cancellable_cancel (c->cancellable);
    }
}

static void
test_cancel (void)
{
  /* 8,192 rows: progress at rows 4,096 and 8,192 (the last one just before the history
   * features are derived, so that cancel lands in SQL), then once more after the commit. */
  g_autofree char *log = make_generic_log ("cancel.csv", 8192);
  g_autoptr (DlenStore) store = project_with_good_import ("cancel.dlen");
  DlenImportOptions o;
  Snapshot before;

  generic_options (&o, FALSE);
  snapshot_take (store, &before);
  for (guint at = 1; at <= 2; at++)
    {
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();
      g_autoptr (GError) error = NULL;
      CancelState c = { cancellable, 0, at, 0 };
      DlenImportReport report;
      g_assert_false (dlen_store_import (store, log, &o, cancel_progress, &c, cancellable, &report, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpuint (c.rows_at_cancel, ==, 4096 * at);
      g_assert_cmpuint (c.calls, ==, at);
      g_assert_cmpint (report.import_id, ==, 0);
      dlen_import_report_clear (&report);
      assert_unchanged (store, &before);
    }
  snapshot_clear (&before);
  {
    g_autoptr (GCancellable) cancellable = g_cancellable_new ();
    g_autoptr (GError) error = NULL;
    CancelState c = { cancellable, 0, 0, 0 };
    DlenImportReport report;
    g_assert_true (dlen_store_import (store, log, &o, cancel_progress, &c, cancellable, &report, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (report.rows_accepted, ==, 8192);
    g_assert_cmpuint (c.calls, ==, 3);
    dlen_import_report_clear (&report);
    assert_healthy (store);
  }
  /* Cancelled before it starts: nothing happens. */
  {
    g_autofree char *other = make_generic_log ("cancel-2.csv", 100);
    g_autoptr (GCancellable) cancellable = g_cancellable_new ();
    g_autoptr (GError) error = NULL;
    DlenImportReport report;
    snapshot_take (store, &before);
    g_cancellable_cancel (cancellable);
    g_assert_false (dlen_store_import (store, other, &o, NULL, NULL, cancellable, &report, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    dlen_import_report_clear (&report);
    assert_unchanged (store, &before);
    snapshot_clear (&before);
  }
}

/* ---- History features: no leakage ---------------------------------------------------------------- */

/* The columns of `dlen generate` logs. */
enum { C_USER, C_ITEM, C_CATEGORY, C_SESSION, C_REQUEST, C_POSITION, C_TIME, C_CLICK, C_LONG_VIEW, C_LIKE, C_SHARE,
       C_DISLIKE, C_STAY, C_OBJECTIONABLE, C_EMOTION, C_EMOTION_P, N_COLS };

typedef struct {
  guint64 line;
  gint64 time;
  char **f;
} LogRow;

typedef struct {
  GPtrArray *rows;        /* LogRow*, file order */
  GHashTable *by_user;    /* user -> GPtrArray of LogRow*, by time then line */
} Log;

static void
log_row_free (LogRow *r)
{
  g_strfreev (r->f);
  g_free (r);
}

static gint
by_time_line (gconstpointer a, gconstpointer b)
{
  const LogRow *x = *(LogRow *const *) a, *y = *(LogRow *const *) b;
  if (x->time != y->time)
    return x->time < y->time ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}

static Log
log_read (const char *path)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  Log log = { g_ptr_array_new_with_free_func ((GDestroyNotify) log_row_free),
              g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref) };
  GHashTableIter it;
  gpointer value;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "user_id\titem_id\tcategory\tsession_id\trequest_id\tposition\ttime_ms\tclick\t"
                                 "long_view\tlike\tshare\tdislike\tstay_s\tobjectionable\temotion\temotion_p");
  for (guint i = 1; lines[i] && *lines[i]; i++)
    {
      LogRow *r = g_new0 (LogRow, 1);
      GPtrArray *mine;
      r->line = i + 1;
      r->f = g_strsplit (lines[i], "\t", -1);
      g_assert_cmpuint (g_strv_length (r->f), ==, N_COLS);
      r->time = g_ascii_strtoll (r->f[C_TIME], NULL, 10);
      g_ptr_array_add (log.rows, r);
      mine = g_hash_table_lookup (log.by_user, r->f[C_USER]);
      if (!mine)
        g_hash_table_insert (log.by_user, r->f[C_USER], mine = g_ptr_array_new ());
      g_ptr_array_add (mine, r);
    }
  g_hash_table_iter_init (&it, log.by_user);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_sort (value, by_time_line);
  return log;
}

static void
log_clear (Log *log)
{
  g_hash_table_unref (log->by_user);
  g_ptr_array_unref (log->rows);
}

/* The derived features of one impression. */
typedef struct {
  gint64 likes, negative, pos, session;
  double minutes;
} Hist;

static gboolean
hist_equal (const Hist *a, const Hist *b)
{
  return a->likes == b->likes && a->negative == b->negative && a->pos == b->pos && a->session == b->session
         && a->minutes == b->minutes;
}

/* "user:line" -> Hist of every impression of a project. The session number is made relative
 * to the user (the store numbers sessions user_id * 1e6 + n, and user ids are per project).
 * With @lines, the line is @lines[import - 1][line]: a line of the log the imports were cut from. */
static GHashTable *
read_hist (DlenStore *store, GArray *const *lines)
{
  GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (sqlite3_stmt) st = sql_prepare (store,
    "SELECT u.key, i.line, i.hist_likes20, i.hist_negative20, i.session_pos, i.session - i.user_id * 1000000,"
    " i.session_minutes, i.import_id FROM impressions i JOIN users u ON u.id = i.user_id");
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      Hist *x = g_new0 (Hist, 1);
      guint64 line;
      for (int c = 2; c < 7; c++)
        g_assert_cmpint (sqlite3_column_type (st, c), !=, SQLITE_NULL);
      x->likes = sqlite3_column_int64 (st, 2);
      x->negative = sqlite3_column_int64 (st, 3);
      x->pos = sqlite3_column_int64 (st, 4);
      x->session = sqlite3_column_int64 (st, 5);
      x->minutes = sqlite3_column_double (st, 6);
      line = (guint64) sqlite3_column_int64 (st, 1);
      if (lines)
        line = g_array_index (lines[sqlite3_column_int64 (st, 7) - 1], guint64, line);
      g_hash_table_insert (h, g_strdup_printf ("%s:%" G_GUINT64_FORMAT, sqlite3_column_text (st, 0), line), x);
    }
  return h;
}

typedef struct {
  const char *name;
  gboolean synthetic;    /* preset synthetic (log sessions; like and share are weak positives) */
} LeakCase;

static const char *const leak_maps[] = {
  "user_id=user", "item_id=item", "time_ms=time", "click=neutral", "like=weak-positive", "share=positive",
  "dislike=weak-negative", "stay_s=duration-s", NULL
};

/* The import options of a leak case. */
static void
leak_options (const LeakCase *c, DlenImportOptions *o)
{
  dlen_import_options_init (o);
  if (c->synthetic)
    o->load.preset = "synthetic";
  else
    {
      o->load.preset = "generic";
      o->load.maps = leak_maps;
    }
}

/* Recomputes the history features of every impression of @log from the log alone and compares
 * them with the project's. */
static void
assert_brute_force (const Log *log, GHashTable *hist, const LeakCase *c, guint gap_minutes)
{
  GHashTableIter it;
  gpointer key, value;
  guint checked = 0;
  g_hash_table_iter_init (&it, log->by_user);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      GPtrArray *rows = value;
      gint64 session = 0, pos = 0, start = 0;
      for (guint i = 0; i < rows->len; i++)
        {
          const LogRow *r = rows->pdata[i];
          g_autofree char *k = g_strdup_printf ("%s:%" G_GUINT64_FORMAT, (char *) key, r->line);
          const Hist *got = g_hash_table_lookup (hist, k);
          Hist want = { 0 };
          for (guint j = i > 20 ? i - 20 : 0; j < i; j++)
            {
              const LogRow *p = rows->pdata[j];
              gboolean liked = g_str_equal (p->f[C_LIKE], "1") || (c->synthetic && g_str_equal (p->f[C_SHARE], "1"));
              want.likes += liked;
              want.negative += g_str_equal (p->f[C_DISLIKE], "1");
            }
          if (i == 0)
            session = 1, pos = 0, start = r->time;
          else
            {
              const LogRow *p = rows->pdata[i - 1];
              gboolean new_session = c->synthetic ? !g_str_equal (p->f[C_SESSION], r->f[C_SESSION])
                                                  : r->time - p->time > (gint64) gap_minutes * 60000;
              if (new_session)
                session++, pos = 0, start = r->time;
              else
                pos++;
            }
          want.pos = pos;
          want.session = session;
          want.minutes = (double) (r->time - start) / 60000.0;
          g_assert_nonnull (got);
          if (!hist_equal (got, &want))
            g_error ("%s: store has likes %" G_GINT64_FORMAT " negative %" G_GINT64_FORMAT " pos %" G_GINT64_FORMAT
                     " session %" G_GINT64_FORMAT " minutes %g; from the log: %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                     " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %g", k, got->likes, got->negative, got->pos,
                     got->session, got->minutes, want.likes, want.negative, want.pos, want.session, want.minutes);
          checked++;
        }
    }
  g_assert_cmpuint (checked, ==, log->rows->len);
}

static void
test_leakage (gconstpointer data)
{
  const LeakCase *c = data;
  g_autofree char *a_log = g_strdup_printf ("%s/leak-%s-a.tsv", tmpdir, c->name);
  g_autofree char *b_log = g_strdup_printf ("%s/leak-%s-b.tsv", tmpdir, c->name);
  g_autofree char *a_name = g_strdup_printf ("leak-%s-a.dlen", c->name);
  g_autofree char *b_name = g_strdup_printf ("leak-%s-b.dlen", c->name);
  g_autoptr (DlenStore) a = new_project (a_name);
  g_autoptr (DlenStore) b = new_project (b_name);
  g_autoptr (GHashTable) first_altered = g_hash_table_new (g_str_hash, g_str_equal);  /* user -> LogRow* */
  g_autoptr (GHashTable) ha = NULL, hb = NULL;
  g_autoptr (GString) out = NULL;
  GHashTableIter it;
  gpointer key, value;
  Log la, lb;
  DlenImportOptions o;
  guint n_added = 0, n_same = 0, n_later = 0, n_later_differ = 0, n_altered_users = 0;

  generate (a_log, "6000", "40", "3");
  la = log_read (a_log);

  /* B: for every third user, the later half (by time, then line) gets other labels and items,
   * and more impressions follow at the end of the file. */
  g_hash_table_iter_init (&it, la.by_user);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      GPtrArray *rows = value;
      if (g_ascii_strtoull (key, NULL, 10) % 3 != 0 || rows->len < 4)
        continue;
      g_hash_table_insert (first_altered, key, rows->pdata[rows->len / 2]);
      n_altered_users++;
    }
  g_assert_cmpuint (n_altered_users, >=, 5);
  out = g_string_new ("user_id\titem_id\tcategory\tsession_id\trequest_id\tposition\ttime_ms\tclick\tlong_view\t"
                      "like\tshare\tdislike\tstay_s\tobjectionable\temotion\temotion_p\n");
  for (guint i = 0; i < la.rows->len; i++)
    {
      const LogRow *r = la.rows->pdata[i];
      const LogRow *cut = g_hash_table_lookup (first_altered, r->f[C_USER]);
      if (cut && by_time_line (&r, &cut) >= 0)
        {
          g_auto (GStrv) f = g_strdupv (r->f);
          g_autofree char *line = NULL;
          static const int flip[] = { C_CLICK, C_LIKE, C_SHARE, C_DISLIKE };
          for (guint k = 0; k < G_N_ELEMENTS (flip); k++)
            {
              g_free (f[flip[k]]);
              f[flip[k]] = g_strdup (g_str_equal (r->f[flip[k]], "1") ? "0" : "1");
            }
          g_free (f[C_ITEM]);
          f[C_ITEM] = g_strdup_printf ("9%s", r->f[C_ITEM]);
          line = g_strjoinv ("\t", f);
          g_string_append_printf (out, "%s\n", line);
        }
      else
        {
          g_autofree char *line = g_strjoinv ("\t", r->f);
          g_string_append_printf (out, "%s\n", line);
        }
    }
  g_hash_table_iter_init (&it, first_altered);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const LogRow *cut = value;
      /* One at the very time of the first altered row (after it: later in the file), two later. */
      for (int k = 0; k < 3; k++)
        {
          g_string_append_printf (out, "%s\t%d\t1\t%d\t%d\t%d\t%" G_GINT64_FORMAT "\t1\t1\t1\t0\t%d\t12.500\t0\t1\t0.9\n",
                                  (char *) key, 4000 + k, 900000 + k, 900000 + k, k, cut->time + k * 45 * 60000, k == 2);
          n_added++;
        }
    }
  g_assert_true (g_file_set_contents (b_log, out->str, (gssize) out->len, NULL));
  lb = log_read (b_log);
  g_assert_cmpuint (lb.rows->len, ==, la.rows->len + n_added);

  leak_options (c, &o);
  import_ok (a, a_log, &o, la.rows->len);
  import_ok (b, b_log, &o, lb.rows->len);
  ha = read_hist (a, NULL);
  hb = read_hist (b, NULL);

  /* Every impression before its user's first altered row has the same features in A and B. */
  for (guint i = 0; i < la.rows->len; i++)
    {
      const LogRow *r = la.rows->pdata[i];
      const LogRow *cut = g_hash_table_lookup (first_altered, r->f[C_USER]);
      g_autofree char *k = g_strdup_printf ("%s:%" G_GUINT64_FORMAT, r->f[C_USER], r->line);
      const Hist *x = g_hash_table_lookup (ha, k), *y = g_hash_table_lookup (hb, k);
      g_assert_nonnull (x);
      g_assert_nonnull (y);
      if (!cut || by_time_line (&r, &cut) < 0)
        {
          if (!hist_equal (x, y))
            g_error ("%s (before the user's first altered row) changed: likes %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
                     ", negative %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ", pos %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
                     ", session %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ", minutes %g -> %g", k, x->likes, y->likes,
                     x->negative, y->negative, x->pos, y->pos, x->session, y->session, x->minutes, y->minutes);
          n_same++;
        }
      else
        {
          n_later++;
          n_later_differ += !hist_equal (x, y);
        }
    }
  g_test_message ("%s: %u impressions unchanged, %u altered of which %u got other features", c->name, n_same, n_later,
                  n_later_differ);
  /* The comparison is not vacuous: many rows are compared and the alteration shows where allowed. */
  g_assert_cmpuint (n_same, >, la.rows->len / 2);
  g_assert_cmpuint (n_later_differ, >, n_later / 2);

  /* And the features are what they should be, recomputed from the logs. */
  assert_brute_force (&la, ha, c, o.session_gap_minutes);
  assert_brute_force (&lb, hb, c, o.session_gap_minutes);
  log_clear (&la);
  log_clear (&lb);
}

static gint
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

/* A log imported in two parts, the second continuing the first in time ("append") or holding
 * about a third of the rows from all along ("interleaved", many earlier than rows of the first
 * of the same users), has the features
 * of the whole log imported at once, recomputed from the log: the second import walks the users
 * it shares with the first again, and must rewrite every row whose features it changes. */
static void
test_history_two_imports (gconstpointer data)
{
  const LeakCase *c = data;
  g_autofree char *whole = g_strdup_printf ("%s/split-%s.tsv", tmpdir, c->name);
  Log lw;
  DlenImportOptions o;
  gint64 median;
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));

  generate (whole, "6000", "40", "4");
  lw = log_read (whole);
  for (guint i = 0; i < lw.rows->len; i++)
    g_array_append_val (times, ((const LogRow *) lw.rows->pdata[i])->time);
  g_array_sort (times, compare_i64);
  median = g_array_index (times, gint64, times->len / 2);
  leak_options (c, &o);
  for (int split = 0; split < 2; split++)
    {
      g_autofree char *name = g_strdup_printf ("split-%s-%d.dlen", c->name, split);
      g_autoptr (DlenStore) store = new_project (name);
      g_autoptr (GHashTable) hist = NULL;
      GArray *lines[2] = { g_array_new (FALSE, FALSE, sizeof (guint64)), g_array_new (FALSE, FALSE, sizeof (guint64)) };
      GString *text[2];
      guint64 n[2] = { 0, 0 };
      for (int p = 0; p < 2; p++)
        {
          guint64 none = 0;
          text[p] = g_string_new ("user_id\titem_id\tcategory\tsession_id\trequest_id\tposition\ttime_ms\tclick\t"
                                  "long_view\tlike\tshare\tdislike\tstay_s\tobjectionable\temotion\temotion_p\n");
          g_array_append_val (lines[p], none);   /* lines 0 and 1 (the header) map to nothing */
          g_array_append_val (lines[p], none);
        }
      for (guint i = 0; i < lw.rows->len; i++)
        {
          const LogRow *r = lw.rows->pdata[i];
          /* (Rows of one time stay together: ties are in file order in the whole log, in
           * import order here.) */
          int p = split == 0 ? r->time > median : (r->time / 1000) % 3 == 0;
          g_autofree char *line = g_strjoinv ("\t", r->f);
          g_string_append_printf (text[p], "%s\n", line);
          g_array_append_val (lines[p], r->line);
          n[p]++;
        }
      for (int p = 0; p < 2; p++)
        {
          g_autofree char *part = g_strdup_printf ("%s/split-%s-%d-%d.tsv", tmpdir, c->name, split, p);
          g_assert_true (g_file_set_contents (part, text[p]->str, (gssize) text[p]->len, NULL));
          g_string_free (text[p], TRUE);
          import_ok (store, part, &o, n[p]);
        }
      g_assert_cmpuint (n[0], >, 1000);
      g_assert_cmpuint (n[1], >, 1000);
      g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions WHERE session_minutes IS NULL"), ==, 0);
      hist = read_hist (store, lines);
      assert_brute_force (&lw, hist, c, o.session_gap_minutes);
      assert_healthy (store);
      g_array_unref (lines[0]);
      g_array_unref (lines[1]);
    }
  log_clear (&lw);
}

/* ---- Training from a project equals training from the file ------------------------------------- */

static void
assert_same_results (JsonObject *p, JsonObject *f)
{
  static const char *const ints[] = { "split_date", "train_rows", "valid_rows", "test_rows", "rejected_rows",
                                      "parameters", "best_epoch" };
  static const char *const emotion[] = { "emotion_auc", "true_emotion_auc" };
  JsonObject *pm = json_object_get_object_member (p, "metrics"), *fm = json_object_get_object_member (f, "metrics");
  g_autoptr (GList) targets = json_object_get_members (fm);
  JsonArray *ph = json_object_get_array_member (p, "history"), *fh = json_object_get_array_member (f, "history");

  for (guint i = 0; i < G_N_ELEMENTS (ints); i++)
    g_assert_cmpint (json_object_get_int_member (p, ints[i]), ==, json_object_get_int_member (f, ints[i]));
  g_assert_cmpint (json_object_get_int_member (f, "test_rows"), >, 0);
  g_assert_cmpuint (json_object_get_size (pm), ==, json_object_get_size (fm));
  g_assert_cmpuint (g_list_length (targets), >=, 1);
  for (GList *t = targets; t; t = t->next)
    {
      JsonObject *a = json_object_get_object_member (pm, t->data), *b = json_object_get_object_member (fm, t->data);
      g_autoptr (GList) names = json_object_get_members (b);
      g_assert_nonnull (a);
      g_assert_cmpuint (json_object_get_size (a), ==, json_object_get_size (b));
      for (GList *n = names; n; n = n->next)
        {
          JsonNode *x = json_object_get_member (a, n->data), *y = json_object_get_member (b, n->data);
          g_assert_nonnull (x);
          if (JSON_NODE_HOLDS_NULL (y))
            g_assert_true (JSON_NODE_HOLDS_NULL (x));
          else if (json_node_get_double (x) != json_node_get_double (y))
            g_error ("%s %s: %.10g from the project, %.10g from the file", (char *) t->data, (char *) n->data,
                     json_node_get_double (x), json_node_get_double (y));
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (emotion); i++)
    {
      const char *name = emotion[i];
      g_assert_cmpint (json_object_has_member (p, name), ==, json_object_has_member (f, name));
      if (json_object_has_member (f, name))
        g_assert_cmpfloat (json_object_get_double_member (p, name), ==, json_object_get_double_member (f, name));
    }
  g_assert_cmpuint (json_array_get_length (ph), ==, json_array_get_length (fh));
  for (guint e = 0; e < json_array_get_length (fh); e++)
    g_assert_cmpfloat (json_object_get_double_member (json_array_get_object_element (ph, e), "train_loss"), ==,
                       json_object_get_double_member (json_array_get_object_element (fh, e), "train_loss"));
  g_assert_true (json_object_has_member (p, "model_id"));
}

static void
train_both (const char *project, const char *log, const char *preset)
{
  g_autoptr (JsonObject) p = NULL, f = NULL;
  Run rp = run_dlen ("train", project, "--seed", "1", "--epochs", "1", "--json", NULL);
  Run rf = run_dlen ("train", log, "--preset", preset, "--seed", "1", "--epochs", "1", "--json", NULL);
  if (rp.status != 0 || rf.status != 0)
    g_error ("dlen train failed: %s / %s", rp.err, rf.err);
  p = parse_json (rp.out);
  f = parse_json (rf.out);
  assert_same_results (p, f);
  g_test_message ("%s: test AUC of click %.6f from both", preset,
                  json_object_get_double_member (json_object_get_object_member (
                    json_object_get_object_member (f, "metrics"), "click"), "auc"));
  run_clear (&rp);
  run_clear (&rf);
}

static void
test_train_kuairand (void)
{
  g_autofree char *log = kuairand_log ();
  g_autofree char *project = tmp_path ("train-kuairand.dlen");
  DlenImportOptions o;
  if (!g_file_test (log, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("../shared/data is not present");
      return;
    }
  {
    g_autoptr (DlenStore) store = new_project ("train-kuairand.dlen");
    dlen_import_options_init (&o);
    o.load.preset = "kuairand";
    import_ok (store, log, &o, 41828);
  }
  train_both (project, log, "kuairand");
}

static void
test_train_synthetic (void)
{
  g_autofree char *log = tmp_path ("train-synthetic.tsv");
  g_autofree char *project = tmp_path ("train-synthetic.dlen");
  DlenImportOptions o;
  /* More chunks than one shuffle window (DLEN_SHUFFLE_CHUNKS x DLEN_CHUNK_ROWS): the project
   * streams them from SQLite, the file's rows sit in memory; both visit the same chunks in the
   * same order. */
  generate (log, "300000", "1500", "5");
  {
    g_autoptr (DlenStore) store = new_project ("train-synthetic.dlen");
    dlen_import_options_init (&o);
    o.load.preset = "synthetic";
    import_ok (store, log, &o, 300000);
  }
  train_both (project, log, "synthetic");
}

/* ---- Item side features and the version-2 schema -------------------------------------------- */

static char *
file_sha256_hex (const char *path)
{
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) bytes, len);
}

/* An import with --item-features records the file and its checksum, and stores the joined
 * fields with each impression (unknown videos get an empty author). */
static void
test_import_item_features (void)
{
  g_autofree char *log = kuairand_log ();
  g_autofree char *dir = g_path_get_dirname (log);
  g_autofree char *items = g_build_filename (dir, "video_features_basic.csv", NULL);
  g_autofree char *sha = NULL;
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (sqlite3_stmt) st = NULL;
  g_autoptr (GError) error = NULL;
  DlenImportOptions o;
  DlenImportReport report;
  gint64 author;

  if (!g_file_test (log, G_FILE_TEST_EXISTS) || !g_file_test (items, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("../shared/data is not present");
      return;
    }
  store = new_project ("items.dlen");
  dlen_import_options_init (&o);
  o.load.preset = "kuairand";
  o.load.item_features = items;
  g_assert_true (dlen_store_import (store, log, &o, NULL, NULL, NULL, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.rows_accepted, ==, 41828);
  dlen_import_report_clear (&report);
  sha = file_sha256_hex (items);
  st = sql_prepare (store, "SELECT item_features, item_features_sha256 FROM imports WHERE id = 1");
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (st, 0), ==, items);
  g_assert_cmpstr ((const char *) sqlite3_column_text (st, 1), ==, sha);
  /* 1,115 of the log's impressions show a video of the side file: they have an author. */
  author = sql_int (store, "SELECT id FROM fields WHERE kind = 'category' AND name = 'author_id'");
  g_assert_cmpint (author, >, 0);
  {
    g_autofree char *q = g_strdup_printf ("SELECT count(*) FROM impressions WHERE f%" G_GINT64_FORMAT " <> ''", author);
    g_assert_cmpint (sql_int (store, q), ==, 1115);
  }
}

/* A project of schema version 1 (no item-feature columns, an index on impressions.import_id)
 * is brought to the current version on open, keeping its rows. */
/* Every logged (user, request) pair of the project has one number, -id of its row in requests,
 * and every number one pair. */
static void
assert_requests (DlenStore *store)
{
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM (SELECT DISTINCT user_id, log_request FROM impressions"
                                   " WHERE log_request IS NOT NULL)"), ==, sql_int (store, "SELECT count(*) FROM requests"));
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions i LEFT JOIN requests r ON r.id = -i.request"
                                   " WHERE i.log_request IS NOT NULL AND (r.id IS NULL OR r.user_id <> i.user_id"
                                   " OR r.key <> i.log_request)"), ==, 0);
}

/* Logged requests keep their numbers: a log that continues some of a project's requests (the
 * same users and request ids) and starts others gives the continued ones their numbers and the
 * new ones new ones; the first import numbers its pairs in (user id, request id) order, as SQL's
 * DENSE_RANK would. */
static void
test_request_numbers (void)
{
  g_autofree char *first = tmp_path ("requests-1.tsv");
  g_autofree char *second = tmp_path ("requests-2.tsv");
  g_autoptr (DlenStore) store = new_project ("requests.dlen");
  DlenImportOptions o;
  gint64 pairs, continued, changed;

  generate (first, "3000", "50", "5");
  generate (second, "3000", "50", "6");
  dlen_import_options_init (&o);
  o.load.preset = "synthetic";
  import_ok (store, first, &o, 3000);
  assert_requests (store);
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions i JOIN (SELECT id, DENSE_RANK() OVER"
                                   " (ORDER BY user_id, log_request) AS n FROM impressions WHERE log_request IS NOT NULL) r"
                                   " ON r.id = i.id WHERE i.request <> -r.n"), ==, 0);
  pairs = sql_int (store, "SELECT count(*) FROM requests");
  sql_exec (store, "CREATE TEMP TABLE before AS SELECT id, request FROM impressions");
  import_ok (store, second, &o, 3000);
  assert_requests (store);
  /* The first log's impressions kept their numbers, and the second continued some of its pairs. */
  changed = sql_int (store, "SELECT count(*) FROM impressions i JOIN temp.before b ON b.id = i.id WHERE i.request <> b.request");
  g_assert_cmpint (changed, ==, 0);
  {
    g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM impressions WHERE import_id = 2 AND -request <= %"
                                            G_GINT64_FORMAT, pairs);
    continued = sql_int (store, sql);
  }
  g_test_message ("%" G_GINT64_FORMAT " pairs after the first log, %" G_GINT64_FORMAT " after the second; %"
                  G_GINT64_FORMAT " impressions of the second in pairs of the first", pairs,
                  sql_int (store, "SELECT count(*) FROM requests"), continued);
  g_assert_cmpint (continued, >, 0);
  g_assert_cmpint (sql_int (store, "SELECT count(*) FROM requests"), >, pairs);
  assert_healthy (store);
}

static void
test_migrate_v1 (void)
{
  g_autofree char *project = tmp_path ("v1.dlen");
  g_autoptr (GError) error = NULL;
  g_autofree char *log = tmp_path ("v1.tsv");
  gint64 rows;
  DlenImportOptions o;
  generate (log, "2000", "50", "3");
  {
    g_autoptr (DlenStore) store = new_project ("v1.dlen");
    dlen_import_options_init (&o);
    o.load.preset = "synthetic";
    import_ok (store, log, &o, 2000);
    /* Back to version 1, as older builds made it. */
    g_assert_cmpint (sqlite3_exec (dlen_store_db (store),
                                   "ALTER TABLE imports DROP COLUMN item_features;"
                                   "ALTER TABLE imports DROP COLUMN item_features_sha256;"
                                   "CREATE INDEX impressions_import ON impressions (import_id);"
                                   "DROP TABLE requests;"
                                   "PRAGMA user_version = 1;", NULL, NULL, NULL), ==, SQLITE_OK);
  }
  {
    g_autoptr (DlenStore) store = dlen_store_open (project, FALSE, &error);
    g_assert_no_error (error);
    g_assert_cmpint (sql_int (store, "PRAGMA user_version"), ==, DLEN_STORE_SCHEMA_VERSION);
    g_assert_cmpint (sql_int (store, "SELECT count(*) FROM pragma_table_info('imports') "
                                     "WHERE name IN ('item_features', 'item_features_sha256')"), ==, 2);
    g_assert_cmpint (sql_int (store, "SELECT count(*) FROM sqlite_master WHERE name = 'impressions_import'"), ==, 0);
    rows = sql_int (store, "SELECT count(*) FROM impressions");
    g_assert_cmpint (rows, ==, 2000);
    /* Version 4: the logged requests' numbers became the requests' ids. */
    assert_requests (store);
    g_assert_cmpint (sql_int (store, "SELECT count(*) FROM requests"), >, 100);
    assert_healthy (store);
  }
}

/* ---- Main ------------------------------------------------------------------------------------- */

static void
remove_tmpdir (void)
{
  g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *p = g_build_filename (tmpdir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (tmpdir);
}

/* ---- Staged rows -------------------------------------------------------------------------------- */

/* A log in the fixtures' layout with a bad time every 37th row, @n rows over 40 users from
 * @first_user on, each user's rows out of time order. */
static char *
make_log_with_rejects (const char *name, guint n, guint first_user)
{
  char *path = tmp_path (name);
  FILE *fp = g_fopen (path, "w");
  g_assert_nonnull (fp);
  fputs ("user,item,time,click,like,dislike,stay_ms,score\n", fp);
  for (guint i = 0; i < n; i++)
    if (i % 37 == 5)
      fprintf (fp, "user-%u,item-%u,soon,1,0,0,10,1.5\n", first_user + i % 40, i % 700);
    else
      fprintf (fp, "user-%u,item-%u,%" G_GINT64_FORMAT ",%u,%u,%u,%u,%.3f\n", first_user + i % 40, (i * 7919) % 2000,
               (gint64) 1700000000000 + (gint64) ((i * 104729) % n) * 41000, i % 3 == 0, i % 5 == 0, i % 11 == 0,
               (i * 131) % 60000, (double) (i % 89) / 9.0);
  g_assert_cmpint (fclose (fp), ==, 0);
  return path;
}

static char *
import_digest (DlenStore *store)
{
  static const char *const tables[] = { "impressions", "users", "items", "import_rejects", "fields" };
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    digest_table (store, sum, tables[t]);
  return g_strdup (g_checksum_get_string (sum));
}

/* Past its stage limit the import reads the log a second time instead of keeping its rows:
 * the same project either way, for a first import and for one that adds to known users. */
static void
test_stage_limit (void)
{
  g_autofree char *first = make_log_with_rejects ("stage-1.csv", 6000, 0);
  g_autofree char *second = make_log_with_rejects ("stage-2.csv", 3000, 20);
  g_autoptr (DlenStore) staged = new_project ("stage-kept.dlen");
  g_autoptr (DlenStore) reread = new_project ("stage-reread.dlen");
  g_autofree char *a = NULL, *b = NULL;
  DlenImportOptions o;

  generic_options (&o, FALSE);
  import_ok (staged, first, &o, 6000 - 163);
  import_ok (staged, second, &o, 3000 - 81);
  o.stage_limit = 4096;
  import_ok (reread, first, &o, 6000 - 163);
  import_ok (reread, second, &o, 3000 - 81);
  a = import_digest (staged);
  b = import_digest (reread);
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpint (sql_int (staged, "SELECT count(*) FROM import_rejects"), ==, 163 + 81);
  g_assert_cmpint (sql_int (staged, "SELECT count(*) FROM impressions WHERE session IS NULL"), ==, 0);
  assert_healthy (staged);
  assert_healthy (reread);
}

static char *
journal_mode (DlenStore *store)
{
  g_autoptr (sqlite3_stmt) st = sql_prepare (store, "PRAGMA journal_mode");
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  return g_ascii_strdown ((const char *) sqlite3_column_text (st, 0), -1);
}

/* A new project keeps a rollback journal until its first import, which leaves it in WAL, also
 * with another connection open on it meanwhile; opening it again keeps WAL. */
static void
test_journal_modes (void)
{
  g_autofree char *path = tmp_path ("journal.dlen");
  g_autofree char *log = tmp_path ("journal.tsv");
  g_autoptr (GError) error = NULL;
  DlenImportOptions o;
  generate (log, "3000", "50", "5");
  dlen_import_options_init (&o);
  o.load.preset = "synthetic";
  {
    g_autoptr (DlenStore) store = new_project ("journal.dlen");
    g_autoptr (DlenStore) other = dlen_store_open (path, FALSE, &error);
    g_autofree char *before = journal_mode (store);
    g_autofree char *after = NULL, *seen = NULL;
    g_assert_no_error (error);
    g_assert_cmpstr (before, ==, "delete");
    g_assert_cmpint (sql_int (store, "PRAGMA page_size"), ==, 32768);
    g_assert_cmpint (sql_int (other, "SELECT count(*) FROM impressions"), ==, 0);
    import_ok (store, log, &o, 3000);
    after = journal_mode (store);
    g_assert_cmpstr (after, ==, "wal");
    /* The other connection reads the import, and finds WAL with it. */
    g_assert_cmpint (sql_int (other, "SELECT count(*) FROM impressions"), ==, 3000);
    seen = journal_mode (other);
    g_assert_cmpstr (seen, ==, "wal");
  }
  {
    g_autoptr (DlenStore) store = dlen_store_open (path, FALSE, &error);
    g_autofree char *mode = journal_mode (store);
    g_assert_no_error (error);
    g_assert_cmpstr (mode, ==, "wal");
    assert_healthy (store);
  }
}

static gboolean
exists (const char *path)
{
  GStatBuf st;
  return g_lstat (path, &st) == 0;
}

/* dlen_store_import_new: the project that dlen_store_open + dlen_store_import make, in WAL, or
 * no project at all (a strict failure, a cancel); an existing name refused; a killed import's
 * leftovers taken over; a staging file locked by another import left alone. */
static void
test_import_new (void)
{
  g_autofree char *log = make_log_with_rejects ("new.csv", 6000, 0);
  g_autofree char *project = tmp_path ("new.dlen");
  g_autofree char *staging = g_strconcat (project, ".partial", NULL);
  g_autofree char *staging_wal = g_strconcat (staging, "-wal", NULL);
  g_autofree char *ref_digest = NULL, *strict_message = NULL;
  static const char *const sqlite_files[] = { "-wal", "-shm", "-journal" };
  DlenImportOptions o, strict;
  DlenImportReport ref, report;

  generic_options (&o, FALSE);
  generic_options (&strict, TRUE);
  {
    g_autoptr (DlenStore) store = new_project ("new-ref.dlen");
    g_autoptr (GError) error = NULL;
    g_assert_true (dlen_store_import (store, log, &o, NULL, NULL, NULL, &ref, &error));
    g_assert_no_error (error);
    ref_digest = import_digest (store);
  }
  {
    g_autoptr (DlenStore) store = new_project ("new-strict-ref.dlen");
    g_autoptr (GError) error = NULL;
    g_assert_false (dlen_store_import (store, log, &strict, NULL, NULL, NULL, &report, &error));
    g_assert_nonnull (error);
    strict_message = g_strdup (error->message);
  }

  /* A new project, as open + import make it, in WAL, with nothing beside it. */
  remove_project (project);
  g_unlink (staging);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (DlenStore) store = NULL;
    g_autofree char *digest = NULL, *mode = NULL;
    g_assert_true (dlen_store_import_new (project, log, &o, NULL, NULL, NULL, &report, &error));
    g_assert_no_error (error);
    g_assert_cmpint (report.import_id, ==, 1);
    g_assert_cmpuint (report.rows_read, ==, ref.rows_read);
    g_assert_cmpuint (report.rows_accepted, ==, ref.rows_accepted);
    g_assert_cmpuint (report.rows_rejected, ==, ref.rows_rejected);
    g_assert_cmpstr (report.first_reject, ==, ref.first_reject);
    dlen_import_report_clear (&report);
    g_assert_false (exists (staging));
    for (guint i = 0; i < G_N_ELEMENTS (sqlite_files); i++)
      {
        g_autofree char *aux = g_strconcat (project, sqlite_files[i], NULL);
        g_autofree char *staging_aux = g_strconcat (staging, sqlite_files[i], NULL);
        g_assert_false (exists (aux));
        g_assert_false (exists (staging_aux));
      }
    store = dlen_store_open (project, FALSE, &error);
    g_assert_no_error (error);
    assert_healthy (store);
    mode = journal_mode (store);
    g_assert_cmpstr (mode, ==, "wal");
    g_assert_cmpint (sql_int (store, "PRAGMA page_size"), ==, 32768);
    digest = import_digest (store);
    g_assert_cmpstr (digest, ==, ref_digest);
    g_assert_cmpint (sql_int (store, "SELECT count(*) FROM imports WHERE finished_ms IS NOT NULL AND length(sha256) = 64"),
                     ==, 1);
  }

  /* An existing name is refused and left as it was. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (DlenStore) store = NULL;
    g_autofree char *digest = NULL;
    g_assert_false (dlen_store_import_new (project, log, &o, NULL, NULL, NULL, &report, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_assert_cmpint (report.import_id, ==, 0);
    g_clear_error (&error);
    store = dlen_store_open (project, FALSE, &error);
    g_assert_no_error (error);
    digest = import_digest (store);
    g_assert_cmpstr (digest, ==, ref_digest);
    g_assert_cmpint (sql_int (store, "SELECT count(*) FROM imports"), ==, 1);
  }

  /* A strict failure and a cancel leave no project and no staging file. */
  remove_project (project);
  {
    g_autoptr (GError) error = NULL;
    g_assert_false (dlen_store_import_new (project, log, &strict, NULL, NULL, NULL, &report, &error));
    g_assert_nonnull (error);
    g_assert_cmpstr (error->message, ==, strict_message);
    g_assert_cmpint (report.import_id, ==, 0);
    g_assert_false (exists (project));
    g_assert_false (exists (staging));
  }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GCancellable) cancellable = g_cancellable_new ();
    CancelState c = { cancellable, 0, 1, 0 };   /* at row 4,096 */
    g_assert_false (dlen_store_import_new (project, log, &o, cancel_progress, &c, cancellable, &report, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_cmpuint (c.rows_at_cancel, ==, 4096);
    g_assert_false (exists (project));
    g_assert_false (exists (staging));
  }

  /* A killed import's staging file and WAL (garbage here) are taken over, not replayed. */
  g_assert_true (g_file_set_contents (staging, "SQLite format 3\0 left by a killed import", 40, NULL));
  g_assert_true (g_file_set_contents (staging_wal, "not a WAL of this file", -1, NULL));
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (DlenStore) store = NULL;
    g_autofree char *digest = NULL;
    g_assert_true (dlen_store_import_new (project, log, &o, NULL, NULL, NULL, &report, &error));
    g_assert_no_error (error);
    dlen_import_report_clear (&report);
    g_assert_false (exists (staging));
    g_assert_false (exists (staging_wal));
    store = dlen_store_open (project, FALSE, &error);
    g_assert_no_error (error);
    assert_healthy (store);
    digest = import_digest (store);
    g_assert_cmpstr (digest, ==, ref_digest);
  }

  /* Another import (here a lock held by this process) is creating the project: refused, and
   * its staging file is untouched. */
  remove_project (project);
  {
    g_autoptr (GError) error = NULL;
    int fd = g_open (staging, O_RDWR | O_CREAT, 0644);
    GStatBuf st;
    g_assert_cmpint (fd, >=, 0);
    g_assert_cmpint (write (fd, "busy", 4), ==, 4);
    g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);
    g_assert_false (dlen_store_import_new (project, log, &o, NULL, NULL, NULL, &report, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
    g_assert_nonnull (strstr (error->message, "another import is creating this project"));
    g_assert_false (exists (project));
    g_assert_cmpint (g_stat (staging, &st), ==, 0);
    g_assert_cmpint (st.st_size, ==, 4);
    close (fd);
    g_unlink (staging);
  }
  dlen_import_report_clear (&ref);
}

/* Imports @log into a new project @name; returns import_digest, the report in @report. */
static char *
import_and_digest (const char *name, const char *log, const DlenImportOptions *o, DlenImportReport *report)
{
  g_autoptr (DlenStore) store = new_project (name);
  g_autoptr (GError) error = NULL;
  g_assert_true (dlen_store_import (store, log, o, NULL, NULL, NULL, report, &error));
  g_assert_no_error (error);
  assert_healthy (store);
  return import_digest (store);
}

/* The same import read by two threads (each half of the log) and by one: the same project,
 * rejects, line numbers and ids, with the rows staged or read again, and with a second import
 * that adds to the users of the first. */
static void
test_two_readers (void)
{
  g_autofree char *log = make_log_with_rejects ("halves.csv", 60000, 0);
  g_autofree char *log2 = make_log_with_rejects ("halves-2.csv", 30000, 25);
  static const gsize limits[] = { (gsize) 256 << 20, 4096, (gsize) 1 << 20 };
  GStatBuf st;

  g_assert_cmpint (g_stat (log, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 1 << 20);
  for (guint l = 0; l < G_N_ELEMENTS (limits); l++)
    {
      char *digest[2] = { NULL, NULL };
      DlenImportReport report[2];
      for (int one = 0; one < 2; one++)
        {
          g_autofree char *name = g_strdup_printf ("halves-%u-%d.dlen", l, one);
          g_autoptr (DlenStore) store = new_project (name);
          g_autoptr (GError) error = NULL;
          DlenImportReport second;
          DlenImportOptions o;
          generic_options (&o, FALSE);
          o.stage_limit = limits[l];
          o.one_reader = one;
          g_assert_true (dlen_store_import (store, log, &o, NULL, NULL, NULL, &report[one], &error));
          g_assert_no_error (error);
          g_assert_true (dlen_store_import (store, log2, &o, NULL, NULL, NULL, &second, &error));
          g_assert_no_error (error);
          /* Only the default stage limit keeps both halves' rows (a 1 MiB limit drops one). */
          g_assert_cmpuint (report[one].readers, ==, one || g_get_num_processors () < 2 ? 1 : 2);
          g_assert_cmpuint (second.readers, ==, one || g_get_num_processors () < 2 ? 1 : 2);
          dlen_import_report_clear (&second);
          assert_healthy (store);
          digest[one] = import_digest (store);
        }
      g_assert_cmpstr (digest[0], ==, digest[1]);
      g_free (digest[0]);
      g_free (digest[1]);
      g_assert_cmpuint (report[0].rows_read, ==, 60000);
      g_assert_cmpuint (report[0].rows_rejected, ==, report[1].rows_rejected);
      g_assert_cmpuint (report[0].rows_rejected, ==, 1622);
      g_assert_cmpuint (report[0].rows_accepted, ==, report[1].rows_accepted);
      g_assert_cmpstr (report[0].first_reject, ==, report[1].first_reject);
      dlen_import_report_clear (&report[0]);
      dlen_import_report_clear (&report[1]);
    }
}

typedef struct {
  GCancellable *cancellable;
  guint calls, cancel_at;
  guint64 last_bytes, last_rows, total;
} TwoReaderProgress;

static void
two_reader_progress (guint64 bytes_done, guint64 bytes_total, guint64 rows, gpointer user_data)
{
  TwoReaderProgress *t = user_data;
  g_assert_cmpuint (bytes_done, <=, bytes_total);
  g_assert_cmpuint (bytes_done, >=, t->last_bytes);
  g_assert_cmpuint (rows, >=, t->last_rows);
  t->last_bytes = bytes_done;
  t->last_rows = rows;
  t->total = bytes_total;
  if (++t->calls == t->cancel_at)
    g_cancellable_cancel (t->cancellable);
}

/* With two readers, progress only goes forward and ends at the whole file, and a cancel at
 * any call, in pass 1 (both threads reading) or in pass 2, leaves the project as it was. */
static void
test_two_readers_progress_cancel (void)
{
  g_autofree char *log = make_log_with_rejects ("halves-cancel.csv", 60000, 0);
  g_autoptr (DlenStore) store = project_with_good_import ("halves-cancel.dlen");
  guint calls;
  Snapshot before;
  DlenImportOptions o;

  generic_options (&o, FALSE);
  snapshot_take (store, &before);
  {
    g_autoptr (DlenStore) probe = new_project ("halves-cancel-probe.dlen");
    g_autoptr (GCancellable) cancellable = g_cancellable_new ();
    g_autoptr (GError) error = NULL;
    TwoReaderProgress t = { cancellable, 0, 0, 0, 0, 0 };
    DlenImportReport report;
    g_assert_true (dlen_store_import (probe, log, &o, two_reader_progress, &t, cancellable, &report, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (report.readers, ==, g_get_num_processors () < 2 ? 1 : 2);
    g_assert_cmpuint (t.last_bytes, ==, t.total);
    g_assert_cmpuint (t.last_rows, ==, 60000);
    g_assert_cmpuint (t.calls, >=, 10);
    calls = t.calls;
    dlen_import_report_clear (&report);
  }
  for (guint at = 1; at < calls; at += 3)
    {
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();
      g_autoptr (GError) error = NULL;
      TwoReaderProgress t = { cancellable, 0, at, 0, 0, 0 };
      DlenImportReport report;
      g_assert_false (dlen_store_import (store, log, &o, two_reader_progress, &t, cancellable, &report, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (report.import_id, ==, 0);
      dlen_import_report_clear (&report);
      assert_unchanged (store, &before);
    }
  snapshot_clear (&before);
}

/* The same with the log's own sessions and requests (numbered over the import from their text)
 * and a true emotion: a synthetic log. */
static void
test_two_readers_synthetic (void)
{
  g_autofree char *log = tmp_path ("halves-synthetic.tsv");
  char *digest[2] = { NULL, NULL };
  GStatBuf st;
  generate (log, "40000", "300", "9");
  g_assert_cmpint (g_stat (log, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 1 << 20);
  for (int one = 0; one < 2; one++)
    {
      g_autofree char *name = g_strdup_printf ("halves-synthetic-%d.dlen", one);
      DlenImportReport report;
      DlenImportOptions o;
      dlen_import_options_init (&o);
      o.load.preset = "synthetic";
      o.one_reader = one;
      digest[one] = import_and_digest (name, log, &o, &report);
      g_assert_cmpuint (report.readers, ==, one || g_get_num_processors () < 2 ? 1 : 2);
      g_assert_cmpuint (report.rows_accepted, ==, 40000);
      dlen_import_report_clear (&report);
    }
  g_assert_cmpstr (digest[0], ==, digest[1]);
  g_free (digest[0]);
  g_free (digest[1]);
}

/* A quoted field that holds line breaks across the middle of the log: the second reader starts
 * inside it, the first reads past its start, and the import reads on with one thread. */
static void
test_two_readers_quoted_cut (void)
{
  g_autofree char *log = tmp_path ("quoted-cut.csv");
  char *digest[2] = { NULL, NULL };
  DlenImportReport report[2];
  FILE *fp = g_fopen (log, "w");
  g_assert_nonnull (fp);
  fputs ("user,item,time,click,like,dislike,stay_ms,score\n", fp);
  for (int half = 0; half < 2; half++)
    {
      for (guint i = 0; i < 12000; i++)
        fprintf (fp, "user-%u,item-%u,%" G_GINT64_FORMAT ",%u,%u,%u,%u,%.3f\n", i % 30, i % 500,
                 (gint64) 1700000000000 + (gint64) (i * 7) % 12000 * 60000, i % 3 == 0, i % 5 == 0, i % 7 == 0,
                 (i * 131) % 60000, (double) (i % 89) / 9.0);
      if (half == 0)
        {
          /* About a sixth of the file, from 42 % to 58 %: the cut lands inside the quotes. */
          fputs ("user-1,\"", fp);
          for (int k = 0; k < 45000; k++)
            fputs ("line\n", fp);
          fputs ("\",1700000000000,1,0,0,100,1.0\n", fp);
        }
    }
  g_assert_cmpint (fclose (fp), ==, 0);
  for (int one = 0; one < 2; one++)
    {
      g_autofree char *name = g_strdup_printf ("quoted-cut-%d.dlen", one);
      DlenImportOptions o;
      generic_options (&o, FALSE);
      o.one_reader = one;
      digest[one] = import_and_digest (name, log, &o, &report[one]);
      g_assert_cmpuint (report[one].readers, ==, 1);
      g_assert_cmpuint (report[one].rows_accepted, ==, 24001);
      dlen_import_report_clear (&report[one]);
    }
  g_assert_cmpstr (digest[0], ==, digest[1]);
  g_free (digest[0]);
  g_free (digest[1]);
}

/* --strict with two readers stops at the log's first bad row, wherever it is, with the same
 * message as one reader. */
static void
test_two_readers_strict (void)
{
  static const guint bad_rows[][2] = { { 35000, G_MAXUINT }, { 5000, 35000 }, { 59999, G_MAXUINT } };
  for (guint c = 0; c < G_N_ELEMENTS (bad_rows); c++)
    {
      g_autofree char *name = g_strdup_printf ("strict-halves-%u.csv", c);
      g_autofree char *log = tmp_path (name);
      char *message[2] = { NULL, NULL };
      FILE *fp = g_fopen (log, "w");
      g_assert_nonnull (fp);
      fputs ("user,item,time,click,like,dislike,stay_ms,score\n", fp);
      for (guint i = 0; i < 60000; i++)
        fprintf (fp, "user-%u,item-%u,%s,1,0,0,%u,1.5\n", i % 40, i % 700,
                 i == bad_rows[c][0] || i == bad_rows[c][1] ? "soon" : "1700000000000", i % 60000);
      g_assert_cmpint (fclose (fp), ==, 0);
      for (int one = 0; one < 2; one++)
        {
          g_autofree char *project = g_strdup_printf ("strict-halves-%u-%d.dlen", c, one);
          g_autoptr (DlenStore) store = new_project (project);
          g_autoptr (GError) error = NULL;
          DlenImportReport report;
          DlenImportOptions o;
          generic_options (&o, TRUE);
          o.one_reader = one;
          g_assert_false (dlen_store_import (store, log, &o, NULL, NULL, NULL, &report, &error));
          g_assert_error (error, DLEN_ERROR, DLEN_ERROR_DATA);
          message[one] = g_strdup (error->message);
          g_assert_cmpint (sql_int (store, "SELECT count(*) FROM impressions"), ==, 0);
          g_assert_cmpint (sql_int (store, "SELECT count(*) FROM imports"), ==, 0);
          assert_healthy (store);
        }
      g_assert_cmpstr (message[0], ==, message[1]);
      /* The header is line 1. */
      {
        g_autofree char *where = g_strdup_printf ("%s:%u:3: ", log, bad_rows[c][0] + 2);
        g_assert_true (g_str_has_prefix (message[0], where));
      }
      g_free (message[0]);
      g_free (message[1]);
    }
}

int
main (int argc, char **argv)
{
  static const LeakCase leak_cases[] = { { "synthetic", TRUE }, { "generic", FALSE } };
  g_autoptr (GError) error = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("dlen-test-store-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/dlen/store/import/kuairand", test_import_kuairand);
  for (guint i = 0; i < G_N_ELEMENTS (row_cases); i++)
    {
      g_autofree char *name = g_strndup (row_cases[i].file, strcspn (row_cases[i].file, "."));
      g_autofree char *path = g_strdup_printf ("/dlen/store/reject/%s", name);
      g_test_add_data_func (path, &row_cases[i], test_rejects);
    }
  for (guint i = 0; i < G_N_ELEMENTS (file_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/dlen/store/bad-file/%s", file_cases[i].test);
      g_test_add_data_func (path, &file_cases[i], test_bad_file);
    }
  g_test_add_func ("/dlen/store/import/sigkill", test_sigkill);
  g_test_add_func ("/dlen/store/import/full-disk", test_full_disk);
  g_test_add_func ("/dlen/store/import/cancel", test_cancel);
  g_test_add_func ("/dlen/store/import/stage-limit", test_stage_limit);
  g_test_add_func ("/dlen/store/import/journal-modes", test_journal_modes);
  g_test_add_func ("/dlen/store/import/new-project", test_import_new);
  g_test_add_func ("/dlen/store/import/two-readers", test_two_readers);
  g_test_add_func ("/dlen/store/import/two-readers/synthetic", test_two_readers_synthetic);
  g_test_add_func ("/dlen/store/import/two-readers/progress-cancel", test_two_readers_progress_cancel);
  g_test_add_func ("/dlen/store/import/two-readers/quoted-cut", test_two_readers_quoted_cut);
  g_test_add_func ("/dlen/store/import/two-readers/strict", test_two_readers_strict);
  for (guint i = 0; i < G_N_ELEMENTS (leak_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/dlen/store/history/leakage/%s", leak_cases[i].name);
      g_test_add_data_func (path, &leak_cases[i], test_leakage);
    }
  for (guint i = 0; i < G_N_ELEMENTS (leak_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/dlen/store/history/two-imports/%s", leak_cases[i].name);
      g_test_add_data_func (path, &leak_cases[i], test_history_two_imports);
    }
  g_test_add_func ("/dlen/store/import/item-features", test_import_item_features);
  g_test_add_func ("/dlen/store/migrate-v1", test_migrate_v1);
  g_test_add_func ("/dlen/store/import/request-numbers", test_request_numbers);
  g_test_add_func ("/dlen/store/train/kuairand", test_train_kuairand);
  g_test_add_func ("/dlen/store/train/synthetic", test_train_synthetic);
  rc = g_test_run ();
  remove_tmpdir ();
  g_free (tmpdir);
  return rc;
}
