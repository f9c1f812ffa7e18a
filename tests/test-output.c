/* test-output.c: files written whole or not at all (dlen-output.h). */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dlen-error.h"
#include "dlen-output.h"

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static char *
contents (const char *path)
{
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* Nothing but @expect (names) in the directory: no temporary file left behind. */
static void
assert_dir_holds (const char *const *expect)
{
  g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;
  guint n = 0;
  while ((name = g_dir_read_name (dir)))
    {
      g_assert_true (g_strv_contains (expect, name));
      n++;
    }
  g_assert_cmpuint (n, ==, g_strv_length ((char **) expect));
}

static void
clear_dir (void)
{
  g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *p = tmp_path (name);
      g_unlink (p);
      g_rmdir (p);
    }
}

static void
test_new_and_replaced (void)
{
  g_autofree char *path = tmp_path ("out.csv");
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  static const char *const only[] = { "out.csv", NULL };
  mode_t mask = umask (022);
  GStatBuf st;

  clear_dir ();
  g_assert_true (dlen_output_write_all (path, "a,b\n", 4, &error));
  g_assert_no_error (error);
  text = contents (path);
  g_assert_cmpstr (text, ==, "a,b\n");
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0644);
  /* A file replaced keeps its mode. */
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  g_assert_true (dlen_output_write_all (path, "c\n", 2, &error));
  g_clear_pointer (&text, g_free);
  text = contents (path);
  g_assert_cmpstr (text, ==, "c\n");
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  assert_dir_holds (only);
  umask (mask);
}

/* Stopped half-way (a failed export), the old file is untouched and nothing is left beside it. */
static void
test_failure_keeps_old (void)
{
  g_autofree char *path = tmp_path ("keep.csv");
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  static const char *const only[] = { "keep.csv", NULL };
  DlenOutput out;
  FILE *fp;

  clear_dir ();
  g_assert_true (g_file_set_contents (path, "old\n", -1, NULL));
  fp = dlen_output_open (&out, path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fp);
  fputs ("half of the new", fp);
  g_assert_false (dlen_output_close (&out, fp, FALSE, &error));
  g_assert_no_error (error);   /* the caller's failure: nothing to add */
  text = contents (path);
  g_assert_cmpstr (text, ==, "old\n");
  assert_dir_holds (only);
}

/* Through a symbolic link the file it points to is replaced and the link stays. */
static void
test_symlink_kept (void)
{
  g_autofree char *target = tmp_path ("target.csv");
  g_autofree char *link = tmp_path ("link.csv");
  g_autofree char *text = NULL, *to = NULL;
  g_autoptr (GError) error = NULL;
  static const char *const both[] = { "target.csv", "link.csv", NULL };

  clear_dir ();
  g_assert_true (g_file_set_contents (target, "old\n", -1, NULL));
  g_assert_cmpint (symlink ("target.csv", link), ==, 0);
  g_assert_true (dlen_output_write_all (link, "new\n", 4, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  to = g_file_read_link (link, NULL);
  g_assert_cmpstr (to, ==, "target.csv");
  text = contents (target);
  g_assert_cmpstr (text, ==, "new\n");
  assert_dir_holds (both);
}

static gpointer
read_fifo (gpointer path)
{
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* Not a regular file: written in place (a FIFO stays a FIFO; /dev/full's error comes back). */
static void
test_special_files (void)
{
  g_autofree char *fifo = tmp_path ("out.fifo");
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  GThread *reader;
  GStatBuf st;

  clear_dir ();
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  reader = g_thread_new ("fifo", read_fifo, fifo);
  g_assert_true (dlen_output_write_all (fifo, "through\n", 8, &error));
  g_assert_no_error (error);
  text = g_thread_join (reader);
  g_assert_cmpstr (text, ==, "through\n");
  g_assert_cmpint (g_stat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  if (g_file_test ("/dev/full", G_FILE_TEST_EXISTS))
    {
      g_assert_false (dlen_output_write_all ("/dev/full", "x", 1, &error));
      g_assert_error (error, DLEN_ERROR, DLEN_ERROR_IO);
      g_assert_nonnull (strstr (error->message, "/dev/full: "));
    }
}

static void
test_refused (void)
{
  g_autofree char *dir = tmp_path ("a-directory");
  g_autofree char *missing = tmp_path ("no-such-dir/out.csv");
  g_autoptr (GError) error = NULL;

  clear_dir ();
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_false (dlen_output_write_all (dir, "x", 1, &error));
  g_assert_error (error, DLEN_ERROR, DLEN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "is a directory"));
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  g_clear_error (&error);
  g_assert_false (dlen_output_write_all (missing, "x", 1, &error));
  g_assert_error (error, DLEN_ERROR, DLEN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int rc;
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("dlen-test-output-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/dlen/output/new-and-replaced", test_new_and_replaced);
  g_test_add_func ("/dlen/output/failure-keeps-old", test_failure_keeps_old);
  g_test_add_func ("/dlen/output/symlink-kept", test_symlink_kept);
  g_test_add_func ("/dlen/output/special-files", test_special_files);
  g_test_add_func ("/dlen/output/refused", test_refused);
  rc = g_test_run ();
  clear_dir ();
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
