/* test-cli.c: the `dlen` tool as a user runs it: exit codes, error messages, JSON output, and
 * training on the real KuaiRand log and on the synthetic world. */
#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include "dlen-test-cli.h"

static char *tmpdir;

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("DLEN_SHARED_DATA");
  char *p = g_build_filename (dir ? dir : "../shared/data", "kuairand", name, NULL);
  return p;
}

static char *
tmp_file (const char *name, const char *contents)
{
  char *p = g_build_filename (tmpdir, name, NULL);
  if (contents)
    g_assert_true (g_file_set_contents (p, contents, -1, NULL));
  return p;
}

static double
metric (JsonObject *o, const char *target, const char *name)
{
  JsonObject *m = json_object_get_object_member (o, "metrics");
  return json_object_get_double_member (json_object_get_object_member (m, target), name);
}

/* ---- Usage and bad input ---------------------------------------------------------------- */

static void
test_usage (void)
{
  Run r = run_dlen (NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "Commands:"));
  run_clear (&r);
  r = run_dlen ("frobnicate", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "unknown command 'frobnicate'"));
  run_clear (&r);
  r = run_dlen ("train", "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "--weak-label-fraction"));
  g_assert_nonnull (strstr (r.out, "weak-negative"));
  run_clear (&r);
  r = run_dlen ("train", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  r = run_dlen ("train", "x.tsv", "--arch", "transformer", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "unknown architecture 'transformer'"));
  run_clear (&r);
  r = run_dlen ("train", "x.tsv", "--epochs", "zero", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  r = run_dlen ("train", "x.tsv", "--split-date", "20230231", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "20230231"));
  run_clear (&r);
  r = run_dlen ("generate", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
}

static void
test_bad_files (void)
{
  g_autofree char *missing = tmp_file ("missing.tsv", NULL);
  g_autofree char *empty = tmp_file ("empty.tsv", "");
  g_autofree char *binary = tmp_file ("binary.tsv", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0");
  g_autofree char *bad_value = tmp_file ("bad.csv",
    "user,time,click\n"
    "u1,1700000000000,1\n"
    "u2,1700000001000,maybe\n"
    "u3,1700000002000,0\n");
  g_autofree char *short_row = tmp_file ("short.csv", "user,time,click\nu1,1700000000000\n");
  g_autofree char *not_model = tmp_file ("not-a-model", "hello, this is text and not a model file");
  Run r;

  r = run_dlen ("train", missing, "--preset", "kuairand", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "missing.tsv"));
  run_clear (&r);
  r = run_dlen ("train", empty, "--preset", "kuairand", NULL);
  g_assert_cmpint (r.status, ==, 3);
  run_clear (&r);
  r = run_dlen ("train", binary, NULL);
  g_assert_cmpint (r.status, ==, 3);
  run_clear (&r);
  /* Strict: the first bad row is reported as file:line:column: reason. */
  r = run_dlen ("train", bad_value, "--preset", "generic", "--map", "user=user", "--map", "time=time",
                "--map", "click=neutral", "--strict", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "bad.csv:3:3: column 'click': 'maybe' is not a finite number"));
  run_clear (&r);
  r = run_dlen ("train", short_row, "--preset", "generic", "--map", "user=user", "--map", "time=time",
                "--map", "click=neutral", "--strict", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "short.csv:2:"));
  run_clear (&r);
  r = run_dlen ("train", bad_value, "--preset", "generic", "--map", "user=user", "--map", "nope=time", NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "'nope'"));
  run_clear (&r);
  r = run_dlen ("train", bad_value, "--preset", "generic", "--map", "user=user", "--map", "time=when", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "unknown role 'when'"));
  run_clear (&r);
  r = run_dlen ("eval", not_model, bad_value, NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "not-a-model"));
  run_clear (&r);
  r = run_dlen ("info", missing, NULL);
  g_assert_cmpint (r.status, ==, 1);
  run_clear (&r);
  /* An import that would create its project and fails creates nothing; a good one then makes it. */
  {
    g_autofree char *project = tmp_file ("strict-new.dlen", NULL);
    g_autofree char *staging = g_strconcat (project, ".partial", NULL);
    r = run_dlen ("import", "--project", project, bad_value, "--preset", "generic", "--map", "user=user",
                  "--map", "time=time", "--map", "click=neutral", "--strict", NULL);
    g_assert_cmpint (r.status, ==, 3);
    g_assert_nonnull (strstr (r.err, "bad.csv:3:3: column 'click': 'maybe' is not a finite number"));
    run_clear (&r);
    g_assert_false (g_file_test (project, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
    r = run_dlen ("import", "--project", project, bad_value, "--preset", "generic", "--map", "user=user",
                  "--map", "time=time", "--map", "click=neutral", "--json", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "\"rows_accepted\": 2, \"rows_rejected\": 1"));
    run_clear (&r);
    g_assert_true (g_file_test (project, G_FILE_TEST_IS_REGULAR));
    g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
  }
  /* A project that cannot be created, and a directory given as the project. */
  {
    g_autofree char *nowhere = tmp_file ("no-such-dir/p.dlen", NULL);
    r = run_dlen ("import", "--project", nowhere, bad_value, "--preset", "generic", "--map", "user=user",
                  "--map", "time=time", "--map", "click=neutral", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "p.dlen: cannot create the project: No such file or directory"));
    run_clear (&r);
    r = run_dlen ("import", "--project", tmpdir, bad_value, "--preset", "generic", "--map", "user=user",
                  "--map", "time=time", "--map", "click=neutral", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "is a directory, not a project"));
    run_clear (&r);
  }
  /* A disk that fills while a new project is built (a file size limit, its signal ignored so
   * that writes fail instead): a message naming the project, no project and nothing beside. */
  {
    g_autofree char *log = tmp_file ("full-disk.tsv", NULL);
    g_autofree char *project = tmp_file ("full-disk.dlen", NULL);
    g_autofree char *staging = g_strconcat (project, ".partial", NULL);
    g_autofree char *out = NULL, *err = NULL, *expect = NULL;
    g_autoptr (GError) error = NULL;
    const char *argv[] = { "/bin/sh", "-c", "ulimit -f 256; trap '' XFSZ; exec \"$0\" \"$@\"",
                           g_getenv ("DLEN_CLI"), "import", "--project", project, log, "--preset", "synthetic", NULL };
    int status;
    r = run_dlen ("generate", "-o", log, "-n", "20000", NULL);
    g_assert_cmpint (r.status, ==, 0);
    run_clear (&r);
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
    g_assert_no_error (error);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 1);
    expect = g_strdup_printf ("dlen: %s: ", project);
    g_assert_true (g_str_has_prefix (err, expect));
    g_assert_false (g_file_test (project, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (staging, G_FILE_TEST_EXISTS));
    r = run_dlen ("import", "--project", project, log, "--preset", "synthetic", NULL);
    g_assert_cmpint (r.status, ==, 0);
    run_clear (&r);
  }
}

/* The engine opens OpenBLAS at its first model: commands that never compute run without it
 * (here with a stand-in of that name, which would break them were it loaded), and one that
 * computes reports a library that is not OpenBLAS rather than crash. */
static void
test_blas_on_demand (void)
{
  const char *fake = g_getenv ("DLEN_FAKE_BLAS_DIR");
  g_autofree char *saved = g_strdup (g_getenv ("LD_LIBRARY_PATH"));
  g_autofree char *log = tmp_file ("blas-log.tsv", NULL);
  g_autofree char *project = tmp_file ("blas.dlen", NULL);
  Run r;

  g_assert_nonnull (fake);
  g_assert_true (g_setenv ("LD_LIBRARY_PATH", fake, TRUE));
  r = run_dlen ("generate", "-o", log, "-n", "3000", "--users", "40", "--items", "200", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_dlen ("import", "--project", project, log, "--preset", "synthetic", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_dlen ("info", project, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"impressions\": 3000"));
  run_clear (&r);
  r = run_dlen ("train", project, "--epochs", "1", "-q", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "libopenblas.so.0 is not OpenBLAS"));
  run_clear (&r);
  if (saved)
    g_setenv ("LD_LIBRARY_PATH", saved, TRUE);
  else
    g_unsetenv ("LD_LIBRARY_PATH");
  r = run_dlen ("train", project, "--epochs", "1", "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
}

/* ---- Real and synthetic training ------------------------------------------------------------ */

/* Item side features (--item-features): joined on video_id, kept in the model's fields, joined
 * again from beside the log when the model is evaluated, refused when missing or malformed. */
static void
test_kuairand_item_features (void)
{
  g_autofree char *log = data_path ("likehate_27k.tsv");
  g_autofree char *items = data_path ("video_features_basic.csv");
  g_autofree char *users = data_path ("user_features.csv");
  g_autofree char *model = tmp_file ("kuairand-items.dlenmodel", NULL);
  g_autofree char *lonely_log = tmp_file ("likehate-alone.tsv", NULL);
  g_autofree char *dup_items = tmp_file ("dup-items.csv",
                                         "video_id,author_id,video_type,upload_type,music_type,tag,video_duration\n"
                                         "7,1,NORMAL,ShortImport,9.0,3,1000.0\n"
                                         "7,2,NORMAL,ShortImport,9.0,3,2000.0\n");
  g_autofree char *text = NULL;
  g_autoptr (JsonObject) o = NULL, e = NULL;
  gsize len;
  Run r;

  if (!g_file_test (log, G_FILE_TEST_EXISTS) || !g_file_test (items, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("../shared/data is not present");
      return;
    }
  r = run_dlen ("train", log, "--preset", "kuairand", "--epochs", "1", "--seed", "1", "--item-features", items,
                "--out", model, "--json", NULL);
  if (r.status != 0)
    g_error ("dlen train --item-features failed: %s", r.err);
  o = parse_json (r.out);
  /* The plain KuaiRand DLEN has 1,603,945 parameters (the peer-params test); the five item
   * fields add embedding tables and the duration a standardised input. */
  g_assert_cmpint (json_object_get_int_member (o, "parameters"), >, 1603945);
  run_clear (&r);

  /* The model has item fields, so eval joins video_features_basic.csv from beside the log. */
  r = run_dlen ("eval", model, log, "--json", NULL);
  if (r.status != 0)
    g_error ("dlen eval failed: %s", r.err);
  e = parse_json (r.out);
  g_assert_cmpfloat_with_epsilon (metric (e, "click", "auc"), metric (o, "click", "auc"), 1e-9);
  run_clear (&r);

  /* Without the file beside the log, and none given: a clear refusal. */
  g_assert_true (g_file_get_contents (log, &text, &len, NULL));
  g_assert_true (g_file_set_contents (lonely_log, text, (gssize) len, NULL));
  r = run_dlen ("eval", model, lonely_log, "--user-features", users, NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "no video_features_basic.csv is beside the log; pass --item-features FILE"));
  run_clear (&r);

  /* A side file with a video twice, and item features on a preset without items to join. */
  r = run_dlen ("train", log, "--preset", "kuairand", "--item-features", dup_items, NULL);
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err, "dup-items.csv:3:1: video '7' appears twice"));
  run_clear (&r);
  r = run_dlen ("train", log, "--preset", "synthetic", "--item-features", items, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "--item-features is supported with preset kuairand only"));
  run_clear (&r);
  g_unlink (lonely_log);
  g_unlink (dup_items);
  g_unlink (model);
}

static void
test_kuairand (void)
{
  g_autofree char *log = data_path ("likehate_27k.tsv");
  g_autofree char *model = tmp_file ("kuairand.dlenmodel", NULL);
  g_autofree char *pred = tmp_file ("kuairand-pred.csv", NULL);
  g_autoptr (JsonObject) o = NULL, e = NULL;
  g_autofree char *csv = NULL;
  g_auto (GStrv) lines = NULL;
  Run r;

  if (!g_file_test (log, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("../shared/data is not present");
      return;
    }
  r = run_dlen ("train", log, "--preset", "kuairand", "--arch", "dlen", "--epochs", "3", "--seed", "1",
                "--split-date", "20220419", "--out", model, "--json", NULL);
  if (r.status != 0)
    g_error ("dlen train failed: %s", r.err);
  o = parse_json (r.out);
  g_test_message ("KuaiRand DLEN: click %.4f long_view %.4f like %.4f emotion %.4f",
                  metric (o, "click", "auc"), metric (o, "long_view", "auc"), metric (o, "like", "auc"),
                  json_object_get_double_member (o, "emotion_auc"));
  g_assert_cmpint (json_object_get_int_member (o, "train_rows") + json_object_get_int_member (o, "valid_rows"), ==, 35716);
  g_assert_cmpint (json_object_get_int_member (o, "test_rows"), ==, 6112);
  g_assert_cmpstr (json_object_get_string_member (o, "arch"), ==, "dlen");
  g_assert_cmpfloat (json_object_get_double_member (o, "samples_per_second"), >, 0);
  g_assert_cmpfloat (metric (o, "click", "auc"), >=, 0.71);
  g_assert_cmpfloat (metric (o, "long_view", "auc"), >=, 0.70);
  g_assert_cmpfloat (metric (o, "like", "auc"), >=, 0.79);
  g_assert_cmpfloat (json_object_get_double_member (o, "emotion_auc"), >=, 0.77);
  run_clear (&r);

  /* eval of the saved model reproduces the test metrics. */
  r = run_dlen ("eval", model, log, "--json", NULL);
  if (r.status != 0)
    g_error ("dlen eval failed: %s", r.err);
  e = parse_json (r.out);
  g_assert_cmpint (json_object_get_int_member (e, "test_rows"), ==, 6112);
  g_assert_cmpfloat_with_epsilon (metric (e, "click", "auc"), metric (o, "click", "auc"), 1e-9);
  g_assert_cmpfloat_with_epsilon (metric (e, "like", "gauc"), metric (o, "like", "gauc"), 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "emotion_auc"),
                                  json_object_get_double_member (o, "emotion_auc"), 1e-9);
  run_clear (&r);

  r = run_dlen ("predict", model, log, "--out", pred, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_file_get_contents (pred, &csv, NULL, NULL));
  lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "line,click,long_view,comment,follow,forward,profile_enter,like,hate,stay,emotion");
  g_assert_cmpuint (g_strv_length (lines), ==, 41828 + 2);   /* header, rows, final empty */
  g_assert_true (g_str_has_prefix (lines[1], "2,"));
  run_clear (&r);

  r = run_dlen ("info", model, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"arch\": \"dlen\""));
  run_clear (&r);

  r = run_dlen ("train", log, "--preset", "kuairand", "--arch", "ple", "--epochs", "3", "--seed", "1", "--json", NULL);
  if (r.status != 0)
    g_error ("dlen train --arch ple failed: %s", r.err);
  {
    g_autoptr (JsonObject) p = parse_json (r.out);
    g_test_message ("KuaiRand PLE: click %.4f like %.4f", metric (p, "click", "auc"), metric (p, "like", "auc"));
    g_assert_false (json_object_has_member (p, "emotion_auc"));
    g_assert_cmpfloat (metric (p, "click", "auc"), >, 0.65);
  }
  run_clear (&r);
}

static void
test_synthetic_generate_train (void)
{
  g_autofree char *log = tmp_file ("synthetic.tsv", NULL);
  g_autofree char *again = tmp_file ("synthetic-again.tsv", NULL);
  g_autofree char *a = NULL, *b = NULL;
  g_autoptr (JsonObject) o = NULL;
  Run r = run_dlen ("generate", "--out", log, "--impressions", "60000", "--users", "800", "--items", "2000", "--seed", "3", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_dlen ("generate", "--out", again, "--impressions", "60000", "--users", "800", "--items", "2000", "--seed", "3", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  g_assert_true (g_file_get_contents (log, &a, NULL, NULL));
  g_assert_true (g_file_get_contents (again, &b, NULL, NULL));
  g_assert_cmpstr (a, ==, b);
  g_assert_true (g_str_has_prefix (a, "user_id\titem_id\tcategory\t"));

  r = run_dlen ("train", log, "--epochs", "2", "--json", NULL);
  if (r.status != 0)
    g_error ("dlen train on synthetic failed: %s", r.err);
  o = parse_json (r.out);
  g_assert_true (json_object_has_member (o, "true_emotion_auc"));
  g_assert_cmpfloat (json_object_get_double_member (o, "true_emotion_auc"), >, 0.65);
  run_clear (&r);

  r = run_dlen ("generate", "--out", again, "--impressions", "10", "--clickbait", "1.5", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "clickbait"));
  run_clear (&r);
}

static gpointer
read_fifo (gpointer path)
{
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  return GSIZE_TO_POINTER (len);
}

/* Output files: a FIFO (as /dev/null) is written in place and stays a FIFO; through a symbolic
 * link the file it points to is replaced, keeping its mode, and the link stays; a directory
 * is refused with the reason. */
static void
test_output_files (void)
{
  g_autofree char *fifo = tmp_file ("out.fifo", NULL);
  g_autofree char *target = tmp_file ("target.tsv", "old\n");
  g_autofree char *link = g_build_filename (tmpdir, "link.tsv", NULL);
  g_autofree char *plain = tmp_file ("plain.tsv", NULL);
  g_autofree char *a = NULL, *b = NULL;
  GThread *reader;
  GStatBuf st;
  gsize got;
  int keep;
  Run r;

  r = run_dlen ("generate", "--out", plain, "--impressions", "3000", "--seed", "4", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);

  g_unlink (fifo);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  /* A writer of our own keeps the reader's open from blocking; once it closes, after dlen, the
   * reader sees the end, also when dlen wrote nothing there. */
  keep = open (fifo, O_RDWR | O_NONBLOCK);
  g_assert_cmpint (keep, >=, 0);
  reader = g_thread_new ("fifo", read_fifo, fifo);
  r = run_dlen ("generate", "--out", fifo, "--impressions", "3000", "--seed", "4", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  close (keep);
  got = GPOINTER_TO_SIZE (g_thread_join (reader));
  g_assert_cmpint (g_stat (plain, &st), ==, 0);
  g_assert_cmpuint (got, ==, (gsize) st.st_size);
  g_assert_cmpint (g_lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));

  g_assert_cmpint (g_chmod (target, 0640), ==, 0);
  g_assert_cmpint (symlink (target, link), ==, 0);
  r = run_dlen ("generate", "--out", link, "--impressions", "3000", "--seed", "4", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpint (g_stat (target, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0640);
  g_assert_true (g_file_get_contents (target, &a, NULL, NULL));
  g_assert_true (g_file_get_contents (plain, &b, NULL, NULL));
  g_assert_cmpstr (a, ==, b);

  r = run_dlen ("generate", "--out", tmpdir, "--impressions", "10", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "is a directory"));
  run_clear (&r);
  g_unlink (link);
  g_unlink (fifo);
}

static double
member_double (JsonObject *o, const char *a, const char *b, const char *c)
{
  JsonObject *x = json_object_get_object_member (o, a);
  if (c)
    x = json_object_get_object_member (x, b);
  return json_object_get_double_member (x, c ? c : b);
}

/* Import, train, cache predictions and replay, on the KuaiRand log: raising the emotion weight
 * from 0 must lower objectionable exposure in the top 3 without costing more like rate than it
 * removes exposure. */
static void
test_kuairand_replay (void)
{
  g_autofree char *log = data_path ("likehate_27k.tsv");
  g_autofree char *project = tmp_file ("kuairand-replay.dlen", NULL);
  g_autoptr (JsonObject) zero = NULL, two = NULL, traj = NULL;
  Run r;
  if (!g_file_test (log, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("../shared/data is not present");
      return;
    }
  /* A day-long session gap makes requests of up to 10 consecutive impressions of a user. */
  r = run_dlen ("import", "--project", project, log, "--session-gap", "1440", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_dlen ("train", project, "--arch", "dlen", "--seed", "1", "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_dlen ("predict", project, "--model", "1", "--no-csv", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_dlen ("replay", project, "--model", "1", "--objectionable", "user", "--weights", "click=1,long_view=1,like=1,hate=-1,emotion=0", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  zero = parse_json (r.out);
  run_clear (&r);
  r = run_dlen ("replay", project, "--model", "1", "--objectionable", "user", "--weights", "click=1,long_view=1,like=1,hate=-1,emotion=2", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  two = parse_json (r.out);
  run_clear (&r);
  {
    double obj0 = member_double (zero, "ranked", "objectionable", NULL), obj2 = member_double (two, "ranked", "objectionable", NULL);
    double like0 = member_double (zero, "ranked", "outcomes", "like"), like2 = member_double (two, "ranked", "outcomes", "like");
    g_test_message ("KuaiRand replay top 3: objectionable %.4f -> %.4f, like %.4f -> %.4f", obj0, obj2, like0, like2);
    g_assert_cmpfloat (obj2, <, obj0);
    g_assert_cmpfloat (like0 - like2, <=, obj0 - obj2);
    /* With w_e = 0 the ranking is the baseline's exactly. */
    g_assert_cmpfloat (member_double (zero, "delta_vs_baseline", "objectionable", NULL), ==, 0.0);
  }
  r = run_dlen ("trajectory", project, "--model", "1", "--user", "111", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  traj = parse_json (r.out);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (traj, "points")), >, 10);
  run_clear (&r);
  r = run_dlen ("replay", project, "--model", "9", NULL);
  g_assert_cmpint (r.status, ==, 3);
  run_clear (&r);
  r = run_dlen ("replay", project, "--model", "1", "--weights", "1,2", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "needs 10 numbers"));
  run_clear (&r);
}

int
main (int argc, char **argv)
{
  int rc;
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("dlen-cli-XXXXXX", NULL);
  g_test_add_func ("/dlen/cli/usage", test_usage);
  g_test_add_func ("/dlen/cli/bad-files", test_bad_files);
  g_test_add_func ("/dlen/cli/blas-on-demand", test_blas_on_demand);
  g_test_add_func ("/dlen/cli/kuairand", test_kuairand);
  g_test_add_func ("/dlen/cli/kuairand-item-features", test_kuairand_item_features);
  g_test_add_func ("/dlen/cli/synthetic", test_synthetic_generate_train);
  g_test_add_func ("/dlen/cli/output-files", test_output_files);
  g_test_add_func ("/dlen/cli/kuairand-replay", test_kuairand_replay);
  rc = g_test_run ();
  {
    g_autoptr (GDir) d = g_dir_open (tmpdir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name (d)))
      {
        g_autofree char *p = g_build_filename (tmpdir, name, NULL);
        g_unlink (p);
      }
    g_rmdir (tmpdir);
    g_free (tmpdir);
  }
  return rc;
}
