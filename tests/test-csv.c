/* test-csv.c: tests of the streaming CSV/TSV reader (detection, quoting, bad input, memory, real data). */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "dlen-csv.h"

static char *tmp_dir;
static GPtrArray *tmp_files;

/* Writes @len bytes (-1: a string) to a new file in the test's temporary directory. */
static char *
write_fixture (const char *name,
               const char *data,
               gssize len)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
  g_ptr_array_add (tmp_files, g_strdup (path));
  return path;
}

static FILE *
create_fixture (const char *name,
                char **path_out)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  FILE *fp = fopen (path, "wb");

  g_assert_nonnull (fp);
  g_ptr_array_add (tmp_files, g_strdup (path));
  *path_out = path;
  return fp;
}

static DlenCsvReader *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  DlenCsvReader *r = dlen_csv_reader_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static void
open_fails (const char *path,
            DlenCsvError code,
            const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DlenCsvReader) r = dlen_csv_reader_open (path, &error);

  g_assert_null (r);
  g_assert_error (error, DLEN_CSV_ERROR, (gint) code);
  if (message_part != NULL && strstr (error->message, message_part) == NULL)
    g_error ("error \"%s\" lacks \"%s\"", error->message, message_part);
}

/* Reads one good record and checks its fields (NULL-terminated list) and starting line. */
static void
expect_record (DlenCsvReader *r,
               guint64 line,
               ...)
{
  g_autoptr(GError) error = NULL;
  const char *const *fields = NULL;
  guint n = 0;
  guint i = 0;
  const char *want;
  va_list ap;
  int rc = dlen_csv_reader_next (r, &fields, &n, &error);

  g_assert_no_error (error);
  g_assert_cmpint (rc, ==, 1);
  g_assert_cmpuint (n, ==, dlen_csv_reader_n_columns (r));
  va_start (ap, line);
  while ((want = va_arg (ap, const char *)) != NULL)
    {
      g_assert_cmpuint (i, <, n);
      g_assert_cmpstr (fields[i], ==, want);
      i++;
    }
  va_end (ap);
  g_assert_cmpuint (i, ==, n);
  g_assert_cmpuint (dlen_csv_reader_line (r), ==, line);
}

/* Reads one bad record and checks the error code, location and message prefix. */
static void
expect_bad (DlenCsvReader *r,
            const char *path,
            DlenCsvError code,
            guint64 line,
            guint column,
            const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *prefix = g_strdup_printf ("%s:%" G_GUINT64_FORMAT ":%u: ", path, line, column);
  const char *const *fields = (const char *const *) &error;
  guint n = 99;
  int rc = dlen_csv_reader_next (r, &fields, &n, &error);

  g_assert_cmpint (rc, ==, -1);
  g_assert_error (error, DLEN_CSV_ERROR, (gint) code);
  g_assert_null (fields);
  g_assert_cmpuint (n, ==, 0);
  if (!g_str_has_prefix (error->message, prefix))
    g_error ("error \"%s\" does not start with \"%s\"", error->message, prefix);
  if (message_part != NULL && strstr (error->message, message_part) == NULL)
    g_error ("error \"%s\" lacks \"%s\"", error->message, message_part);
  g_assert_cmpuint (dlen_csv_reader_error_line (r), ==, line);
  g_assert_cmpuint (dlen_csv_reader_error_column (r), ==, column);
  g_assert_cmpuint (dlen_csv_reader_line (r), ==, line);
}

static void
expect_eof (DlenCsvReader *r)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (dlen_csv_reader_next (r, NULL, NULL, &error), ==, 0);
  g_assert_no_error (error);
  /* and it stays there */
  g_assert_cmpint (dlen_csv_reader_next (r, NULL, NULL, &error), ==, 0);
  g_assert_no_error (error);
}

static void
test_tsv_header (void)
{
  g_autofree char *path = write_fixture ("plain.tsv", "a\tb , x\t c \n1\t2,5\t3\n", -1);
  g_autoptr(DlenCsvReader) r = open_ok (path);

  g_assert_cmpint (dlen_csv_reader_delimiter (r), ==, '\t');
  g_assert_cmpuint (dlen_csv_reader_n_columns (r), ==, 3);
  g_assert_cmpstr (dlen_csv_reader_column_name (r, 0), ==, "a");
  g_assert_cmpstr (dlen_csv_reader_column_name (r, 1), ==, "b , x");   /* trimmed */
  g_assert_cmpstr (dlen_csv_reader_column_name (r, 2), ==, "c");
  g_assert_cmpint (dlen_csv_reader_find_column (r, "c"), ==, 2);
  g_assert_cmpint (dlen_csv_reader_find_column (r, "a"), ==, 0);
  g_assert_cmpint (dlen_csv_reader_find_column (r, "d"), ==, -1);
  g_assert_cmpuint (dlen_csv_reader_line (r), ==, 1);
  g_assert_cmpuint (dlen_csv_reader_size (r), ==, 20);
  expect_record (r, 2, "1", "2,5", "3", NULL);
  expect_eof (r);
  g_assert_cmpuint (dlen_csv_reader_offset (r), ==, 20);
}

static void
test_detect (void)
{
  static const struct {
    const char *name;
    const char *data;
    char delim;
    guint n_columns;
  } cases[] = {
    { "comma.csv", "a,b,c\n1,2,3\n", ',', 3 },
    { "semicolon.csv", "a;b;c\n1;2,5;3\n", ';', 3 },
    { "pipe.txt", "a|b|c\n", '|', 3 },
    { "tie.txt", "a\tb,c\n", '\t', 2 },          /* tie: tab wins */
    { "tie2.txt", "a;b,c\n", ',', 2 },           /* tie: comma beats semicolon */
    { "quoted.txt", "\"x,y,z\"\tb\n", '\t', 2 }, /* commas inside quotes do not count */
    { "one.csv", "name\nx\n", ',', 1 },
    { "one.TSV", "name\nx\n", '\t', 1 },         /* single column: by extension */
    { "blank-first.csv", "\n\r\na;b\n1;2\n", ';', 2 },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = write_fixture (cases[i].name, cases[i].data, -1);
      g_autoptr(DlenCsvReader) r = open_ok (path);

      g_assert_cmpint (dlen_csv_reader_delimiter (r), ==, cases[i].delim);
      g_assert_cmpuint (dlen_csv_reader_n_columns (r), ==, cases[i].n_columns);
    }
}

static void
test_csv_quoted (void)
{
  g_autofree char *path = write_fixture ("quoted.csv",
                                         "id,text,n\n"
                                         "1,\"a,b\",2\n"
                                         "2,\"line1\nline2\n\nline4\",3\n"
                                         "3,\"say \"\"hi\"\"\",4\n"
                                         "4,\"\",\"\"\n"
                                         "\n"
                                         "5,ab\"c,\"x\"y\n"
                                         "\"6\",\"\"\"\",\"a\tb\"\n"
                                         "7,,\n",
                                         -1);
  g_autoptr(DlenCsvReader) r = open_ok (path);

  g_assert_cmpint (dlen_csv_reader_delimiter (r), ==, ',');
  expect_record (r, 2, "1", "a,b", "2", NULL);
  expect_record (r, 3, "2", "line1\nline2\n\nline4", "3", NULL);
  expect_record (r, 7, "3", "say \"hi\"", "4", NULL);
  expect_record (r, 8, "4", "", "", NULL);
  /* line 9 is blank; stray quotes are kept literally */
  expect_record (r, 10, "5", "ab\"c", "xy", NULL);
  expect_record (r, 11, "6", "\"", "a\tb", NULL);
  expect_record (r, 12, "7", "", "", NULL);
  expect_eof (r);
}

static void
test_crlf (void)
{
  g_autofree char *path = write_fixture ("crlf.csv",
                                         "a,b\r\n"
                                         "1,2\r\n"
                                         "\r\n"
                                         "\"x\r\ny\",\"q\"\r\n"
                                         "3,4\r",   /* last line without LF */
                                         -1);
  g_autoptr(DlenCsvReader) r = open_ok (path);

  g_assert_cmpstr (dlen_csv_reader_column_name (r, 1), ==, "b");
  expect_record (r, 2, "1", "2", NULL);
  expect_record (r, 4, "x\r\ny", "q", NULL);
  expect_record (r, 6, "3", "4", NULL);
  expect_eof (r);
}

static void
test_bom (void)
{
  g_autofree char *path = write_fixture ("bom.csv", "\xEF\xBB\xBFid,name\n1,\xC3\xA9t\xC3\xA9\n", -1);
  g_autofree char *utf16 = write_fixture ("utf16.csv", "\xFF\xFEi\0d\0\n\0", 8);
  g_autoptr(DlenCsvReader) r = open_ok (path);

  g_assert_cmpstr (dlen_csv_reader_column_name (r, 0), ==, "id");
  g_assert_cmpint (dlen_csv_reader_find_column (r, "id"), ==, 0);
  expect_record (r, 2, "1", "\xC3\xA9t\xC3\xA9", NULL);
  expect_eof (r);

  open_fails (utf16, DLEN_CSV_ERROR_ENCODING, "UTF-16");
}

static void
test_empty (void)
{
  g_autofree char *empty = write_fixture ("empty.csv", "", 0);
  g_autofree char *bom = write_fixture ("bom-only.csv", "\xEF\xBB\xBF", -1);
  g_autofree char *blank = write_fixture ("blank.csv", "\n\r\n\n", -1);
  g_autofree char *missing = g_build_filename (tmp_dir, "does-not-exist.csv", NULL);
  g_autofree char *prefix = g_strdup_printf ("%s: ", empty);

  open_fails (empty, DLEN_CSV_ERROR_EMPTY, prefix);
  open_fails (bom, DLEN_CSV_ERROR_EMPTY, "empty");
  open_fails (blank, DLEN_CSV_ERROR_EMPTY, "empty");
  open_fails (missing, DLEN_CSV_ERROR_IO, "does-not-exist.csv");
  open_fails (tmp_dir, DLEN_CSV_ERROR_IO, "directory");
}

static void
test_header_only (void)
{
  g_autofree char *path = write_fixture ("header-only.csv", "a,b\n\n", -1);
  g_autofree char *path2 = write_fixture ("header-only-nolf.csv", "a,b", -1);
  g_autoptr(DlenCsvReader) r = open_ok (path);
  g_autoptr(DlenCsvReader) r2 = open_ok (path2);

  g_assert_cmpuint (dlen_csv_reader_n_columns (r), ==, 2);
  expect_eof (r);
  g_assert_cmpuint (dlen_csv_reader_n_columns (r2), ==, 2);
  expect_eof (r2);
}

static void
test_bad_header (void)
{
  g_autofree char *dup = write_fixture ("dup.csv", "a,b, a\n1,2,3\n", -1);
  g_autofree char *empty_name = write_fixture ("empty-name.csv", "a,,b\n", -1);
  g_autofree char *blank_name = write_fixture ("blank-name.tsv", "a\t \tb\n", -1);
  g_autofree char *open_quote = write_fixture ("header-quote.csv", "a,\"b\n", -1);
  g_autofree char *latin1 = write_fixture ("header-latin1.csv", "a,caf\xe9\n", -1);
  g_autofree char *dup_prefix = g_strdup_printf ("%s:1:3: ", dup);

  open_fails (dup, DLEN_CSV_ERROR_HEADER, dup_prefix);
  open_fails (dup, DLEN_CSV_ERROR_HEADER, "duplicate column name \"a\" (also column 1)");
  open_fails (empty_name, DLEN_CSV_ERROR_HEADER, ":1:2: column 2 has an empty name");
  open_fails (blank_name, DLEN_CSV_ERROR_HEADER, ":1:2: ");
  open_fails (open_quote, DLEN_CSV_ERROR_QUOTE, ":1:2: ");
  open_fails (latin1, DLEN_CSV_ERROR_ENCODING, ":1:2: ");
}

static void
test_field_count (void)
{
  g_autofree char *path = write_fixture ("count.csv",
                                         "a,b,c\n"
                                         "1,2,3\n"
                                         "4,5\n"
                                         "6,7,8,9\n"
                                         "\"multi\nline\",x\n"
                                         "10,11,12\n",
                                         -1);
  g_autoptr(DlenCsvReader) r = open_ok (path);

  expect_record (r, 2, "1", "2", "3", NULL);
  expect_bad (r, path, DLEN_CSV_ERROR_FIELD_COUNT, 3, 3, "expected 3 fields, found 2");
  expect_bad (r, path, DLEN_CSV_ERROR_FIELD_COUNT, 4, 4, "expected 3 fields, found 4");
  expect_bad (r, path, DLEN_CSV_ERROR_FIELD_COUNT, 5, 3, "expected 3 fields, found 2");
  expect_record (r, 7, "10", "11", "12", NULL);
  expect_eof (r);
}

static void
test_encoding (void)
{
  g_autoptr(GString) data = g_string_new ("a,b\n");
  g_autofree char *path = NULL;
  g_autoptr(DlenCsvReader) r = NULL;
  guint i;

  g_string_append (data, "1,caf\xe9\n");               /* Latin-1 */
  g_string_append (data, "2,ok\xC3\xA9\n");
  g_string_append (data, "\"3\xC3\",x\n");              /* truncated sequence in field 1 */
  /* NUL bytes in the first 4 KiB make it "not text"; put the NUL record after them. */
  for (i = 0; i < 500; i++)
    g_string_append_printf (data, "%u,padding\n", i);
  g_string_append_len (data, "4,x\0y\n", 6);
  g_string_append (data, "5,fine\n");
  path = write_fixture ("latin1.csv", data->str, (gssize) data->len);

  r = open_ok (path);
  expect_bad (r, path, DLEN_CSV_ERROR_ENCODING, 2, 2, "invalid UTF-8 at byte 4");
  expect_record (r, 3, "2", "ok\xC3\xA9", NULL);
  expect_bad (r, path, DLEN_CSV_ERROR_ENCODING, 4, 1, "invalid UTF-8");
  for (i = 0; i < 500; i++)
    g_assert_cmpint (dlen_csv_reader_next (r, NULL, NULL, NULL), ==, 1);
  expect_bad (r, path, DLEN_CSV_ERROR_ENCODING, 505, 2, "NUL");
  expect_record (r, 506, "5", "fine", NULL);
  expect_eof (r);
}

static void
test_open_quote (void)
{
  g_autofree char *path = write_fixture ("open-quote.csv",
                                         "a,b\n"
                                         "1,2\n"
                                         "3,\"unterminated\n"
                                         "4,5\n",
                                         -1);
  g_autofree char *path2 = write_fixture ("open-quote2.csv",
                                          "a,b\n"
                                          "\"two\nlines\",\"open\n",
                                          -1);
  g_autoptr(DlenCsvReader) r = open_ok (path);
  g_autoptr(DlenCsvReader) r2 = open_ok (path2);

  expect_record (r, 2, "1", "2", NULL);
  expect_bad (r, path, DLEN_CSV_ERROR_QUOTE, 3, 2, "not closed");
  expect_eof (r);

  expect_bad (r2, path2, DLEN_CSV_ERROR_QUOTE, 2, 2, "opened on line 3");
  expect_eof (r2);
}

static void
test_long_line (void)
{
  const gsize big = 10 * 1000 * 1000;
  g_autofree char *chunk = g_malloc (64 * 1024);
  g_autofree char *path = NULL;
  g_autofree char *small = NULL;
  g_autoptr(DlenCsvReader) r = NULL;
  g_autoptr(DlenCsvReader) r2 = NULL;
  FILE *fp = create_fixture ("long.csv", &path);
  gsize done;
  gsize i;

  fputs ("a,b\n1,2\n", fp);
  /* line 3: 10 MB of plain text */
  memset (chunk, 'x', 64 * 1024);
  for (done = 0; done < big; done += 64 * 1024)
    fwrite (chunk, 1, MIN (64 * 1024, big - done), fp);
  fputs (",y\n3,4\n", fp);
  /* line 5: 10 MB of delimiters (10 million fields) */
  memset (chunk, ',', 64 * 1024);
  for (done = 0; done < big; done += 64 * 1024)
    fwrite (chunk, 1, MIN (64 * 1024, big - done), fp);
  fputs ("\n5,6\n", fp);
  /* lines 7..: a 2 MB quoted field with line breaks; skipping must stay quote-aware */
  fputs ("7,\"", fp);
  for (i = 0; i < 2 * 1000; i++)
    {
      memset (chunk, 'q', 999);
      chunk[999] = '\n';
      fwrite (chunk, 1, 1000, fp);
    }
  fputs ("end, \"\"still quoted\"\"\"\n8,9\n", fp);
  g_assert_cmpint (fclose (fp), ==, 0);

  r = open_ok (path);
  expect_record (r, 2, "1", "2", NULL);
  expect_bad (r, path, DLEN_CSV_ERROR_LINE_TOO_LONG, 3, 1, "longer than 1048576 bytes");
  g_assert_cmpuint (dlen_csv_reader_debug_allocated (r), <, 2 * 1024 * 1024);
  expect_record (r, 4, "3", "4", NULL);
  /* 10 million commas: the limit is crossed in field 1048578 */
  expect_bad (r, path, DLEN_CSV_ERROR_LINE_TOO_LONG, 5, 1048578, NULL);
  g_assert_cmpuint (dlen_csv_reader_debug_allocated (r), <, 2 * 1024 * 1024);
  expect_record (r, 6, "5", "6", NULL);
  expect_bad (r, path, DLEN_CSV_ERROR_LINE_TOO_LONG, 7, 2, NULL);
  expect_record (r, 2008, "8", "9", NULL);
  expect_eof (r);
  g_assert_cmpuint (dlen_csv_reader_debug_allocated (r), <, 2 * 1024 * 1024);
  g_assert_cmpuint (dlen_csv_reader_offset (r), ==, dlen_csv_reader_size (r));

  /* A configurable limit. */
  small = write_fixture ("small-limit.csv", "a,b\n12345678901234567890,1\n\"x\",y\n", -1);
  r2 = open_ok (small);
  dlen_csv_reader_set_max_record (r2, 16);
  expect_bad (r2, small, DLEN_CSV_ERROR_LINE_TOO_LONG, 2, 1, "longer than 16 bytes");
  expect_record (r2, 3, "x", "y", NULL);
  expect_eof (r2);
}

static void
test_long_line_column (void)
{
  /* The column of a too-long record is the field where the limit was crossed. */
  g_autofree char *path = write_fixture ("limit-col.csv", "a,b,c\n1,2,3456789\n", -1);
  g_autoptr(DlenCsvReader) r = open_ok (path);

  dlen_csv_reader_set_max_record (r, 6);
  expect_bad (r, path, DLEN_CSV_ERROR_LINE_TOO_LONG, 2, 3, NULL);
  expect_eof (r);
}

static void
test_binary (void)
{
  static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0";
  g_autofree char *path = write_fixture ("image.csv", png, sizeof png - 1);
  g_autofree char *noise = NULL;
  g_autofree char *latin1 = NULL;
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  guint i;

  open_fails (path, DLEN_CSV_ERROR_NOT_TEXT, "not a text file");

  /* Random bytes without any NUL: mostly control characters and invalid UTF-8. */
  for (i = 0; i < 4096; i++)
    g_string_append_c (data, (char) g_rand_int_range (rand, 1, 256));
  noise = write_fixture ("noise.csv", data->str, (gssize) data->len);
  open_fails (noise, DLEN_CSV_ERROR_NOT_TEXT, "control characters or invalid UTF-8");

  /* Latin-1 text is text: it opens, and the bad records get ENCODING errors. */
  latin1 = write_fixture ("latin1-ok.csv", "name,city\nJos\xe9,M\xe1laga\n", -1);
  {
    g_autoptr(DlenCsvReader) r = open_ok (latin1);

    expect_bad (r, latin1, DLEN_CSV_ERROR_ENCODING, 2, 1, NULL);
    expect_eof (r);
  }
}

/* Random records with every kind of quoting, written through a 64 KiB-crossing file: checks that
 * state survives buffer boundaries (split "", CRLF, multi-line fields). */
static void
test_random_roundtrip (void)
{
  static const char alphabet[] = "ab,\"\n\r;\t|xyz \xC3\xA9";
  const guint n_records = 20000;
  const guint n_cols = 4;
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GString) data = g_string_new ("c0,c1,c2,c3\n");
  g_autoptr(GRand) rand = g_rand_new_with_seed (12345);
  g_autofree char *path = NULL;
  g_autoptr(DlenCsvReader) r = NULL;
  guint64 line = 2;
  guint i;
  guint j;

  for (i = 0; i < n_records; i++)
    {
      const char *eol = g_rand_boolean (rand) ? "\r\n" : "\n";

      g_array_append_val (lines, line);
      for (j = 0; j < n_cols; j++)
        {
          GString *value = g_string_new (NULL);
          guint len = (guint) g_rand_int_range (rand, 0, 12);
          gboolean needs_quotes = FALSE;
          guint k;

          for (k = 0; k < len; k++)
            {
              guint pick = (guint) g_rand_int_range (rand, 0, sizeof alphabet - 2);

              if (alphabet[pick] == '\xC3')
                g_string_append (value, "\xC3\xA9");
              else
                g_string_append_c (value, alphabet[pick]);
            }
          /* a value that is empty or starts with a quote or holds a special byte is quoted */
          for (k = 0; k < value->len; k++)
            if (strchr (",\"\n\r", value->str[k]) != NULL)
              needs_quotes = TRUE;
          if (needs_quotes || (len > 0 && g_rand_int_range (rand, 0, 4) == 0))
            {
              g_string_append_c (data, '"');
              for (k = 0; k < value->len; k++)
                {
                  if (value->str[k] == '"')
                    g_string_append_c (data, '"');
                  if (value->str[k] == '\n')
                    line++;
                  g_string_append_c (data, value->str[k]);
                }
              g_string_append_c (data, '"');
            }
          else
            {
              g_string_append_len (data, value->str, (gssize) value->len);
            }
          if (j + 1 < n_cols)
            g_string_append_c (data, ',');
          g_ptr_array_add (expected, g_string_free (value, FALSE));
        }
      g_string_append (data, eol);
      line++;
    }
  path = write_fixture ("random.csv", data->str, (gssize) data->len);
  g_assert_cmpuint (data->len, >, 4 * 64 * 1024);

  r = open_ok (path);
  for (i = 0; i < n_records; i++)
    {
      g_autoptr(GError) error = NULL;
      const char *const *fields;
      guint n;
      int rc = dlen_csv_reader_next (r, &fields, &n, &error);

      g_assert_no_error (error);
      g_assert_cmpint (rc, ==, 1);
      g_assert_cmpuint (n, ==, n_cols);
      for (j = 0; j < n_cols; j++)
        g_assert_cmpstr (fields[j], ==, expected->pdata[i * n_cols + j]);
      g_assert_cmpuint (dlen_csv_reader_line (r), ==, g_array_index (lines, guint64, i));
    }
  expect_eof (r);
}

static char *
shared_data (const char *name)
{
  char *path = g_test_build_filename (G_TEST_DIST, "..", "..", "shared", "data", "kuairand",
                                      name, NULL);

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *message = g_strdup_printf ("%s not found", path);

      g_test_skip (message);
      g_free (path);
      return NULL;
    }
  return path;
}

/* Reads the whole file, checking every record has @n_columns fields; returns the record count. */
static guint
read_all (DlenCsvReader *r,
          double *ms)
{
  gint64 t0 = g_get_monotonic_time ();
  const char *const *fields;
  guint n;
  guint count = 0;
  int rc;

  while ((rc = dlen_csv_reader_next (r, &fields, &n, NULL)) == 1)
    count++;
  g_assert_cmpint (rc, ==, 0);
  *ms = (double) (g_get_monotonic_time () - t0) / 1000.0;
  return count;
}

static void
test_kuairand_tsv (void)
{
  g_autofree char *path = shared_data ("likehate_27k.tsv");
  g_autoptr(DlenCsvReader) r = NULL;
  g_autoptr(GError) error = NULL;
  const char *const *fields;
  guint n;
  double ms;
  double best = G_MAXDOUBLE;
  guint run;

  if (path == NULL)
    return;

  r = open_ok (path);
  g_assert_cmpint (dlen_csv_reader_delimiter (r), ==, '\t');
  g_assert_cmpuint (dlen_csv_reader_n_columns (r), ==, 16);
  g_assert_cmpstr (dlen_csv_reader_column_name (r, 0), ==, "user_id");
  g_assert_cmpint (dlen_csv_reader_find_column (r, "label"), ==, 14);
  g_assert_cmpint (dlen_csv_reader_find_column (r, "timestamp"), ==, 15);
  g_assert_cmpint (dlen_csv_reader_next (r, &fields, &n, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmpstr (fields[0], ==, "111");
  g_assert_cmpstr (fields[1], ==, "3892024");
  g_assert_cmpstr (fields[15], ==, "2022-04-10 08:59:09");
  g_assert_cmpuint (read_all (r, &ms) + 1, ==, 41828);
  g_assert_cmpuint (dlen_csv_reader_line (r), ==, 41829);
  g_assert_cmpuint (dlen_csv_reader_offset (r), ==, dlen_csv_reader_size (r));
  g_assert_cmpuint (dlen_csv_reader_size (r), ==, 3697160);

  /* Timing: open + parse of the 3.7 MB file, best of three. */
  for (run = 0; run < 3; run++)
    {
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr(DlenCsvReader) r2 = open_ok (path);

      g_assert_cmpuint (read_all (r2, &ms), ==, 41828);
      best = MIN (best, (double) (g_get_monotonic_time () - t0) / 1000.0);
    }
  g_test_message ("likehate_27k.tsv: 41828 records parsed in %.2f ms (best of 3)", best);
  if (g_getenv ("DLEN_CSV_TIMING") != NULL)
    g_printerr ("likehate_27k.tsv: 41828 records parsed in %.2f ms (best of 3)\n", best);
}

static void
test_kuairand_csv (void)
{
  g_autofree char *path = shared_data ("user_features.csv");
  g_autoptr(DlenCsvReader) r = NULL;
  g_autoptr(GError) error = NULL;
  const char *const *fields;
  guint n;
  double ms;

  if (path == NULL)
    return;

  r = open_ok (path);
  g_assert_cmpint (dlen_csv_reader_delimiter (r), ==, ',');
  g_assert_cmpuint (dlen_csv_reader_n_columns (r), ==, 31);
  g_assert_cmpint (dlen_csv_reader_find_column (r, "fans_user_num_range"), ==, 8);
  g_assert_cmpint (dlen_csv_reader_find_column (r, "onehot_feat17"), ==, 30);
  g_assert_cmpint (dlen_csv_reader_next (r, &fields, &n, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 31);
  g_assert_cmpstr (fields[0], ==, "0");
  g_assert_cmpstr (fields[6], ==, "500+");
  g_assert_cmpstr (fields[8], ==, "[100,1k)");
  g_assert_cmpstr (fields[10], ==, "[30,60)");
  g_assert_cmpint (dlen_csv_reader_next (r, &fields, &n, &error), ==, 1);
  g_assert_cmpstr (fields[6], ==, "(250,500]");
  g_assert_cmpuint (read_all (r, &ms) + 2, ==, 27285);
  g_test_message ("user_features.csv: 27285 records parsed in %.2f ms", ms);
  g_assert_cmpuint (dlen_csv_reader_line (r), ==, 27286);
  g_assert_cmpuint (dlen_csv_reader_offset (r), ==, dlen_csv_reader_size (r));
}

static void
remove_tmp (void)
{
  guint i;

  for (i = 0; i < tmp_files->len; i++)
    g_remove (tmp_files->pdata[i]);
  g_rmdir (tmp_dir);
}

int
main (int argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  tmp_dir = g_dir_make_tmp ("dlen-csv-XXXXXX", &error);
  g_assert_no_error (error);
  tmp_files = g_ptr_array_new_with_free_func (g_free);

  g_test_add_func ("/dlen/app/csv/tsv-header", test_tsv_header);
  g_test_add_func ("/dlen/app/csv/detect", test_detect);
  g_test_add_func ("/dlen/app/csv/quoted", test_csv_quoted);
  g_test_add_func ("/dlen/app/csv/crlf", test_crlf);
  g_test_add_func ("/dlen/app/csv/bom", test_bom);
  g_test_add_func ("/dlen/app/csv/empty", test_empty);
  g_test_add_func ("/dlen/app/csv/header-only", test_header_only);
  g_test_add_func ("/dlen/app/csv/bad-header", test_bad_header);
  g_test_add_func ("/dlen/app/csv/field-count", test_field_count);
  g_test_add_func ("/dlen/app/csv/encoding", test_encoding);
  g_test_add_func ("/dlen/app/csv/open-quote", test_open_quote);
  g_test_add_func ("/dlen/app/csv/long-line", test_long_line);
  g_test_add_func ("/dlen/app/csv/long-line-column", test_long_line_column);
  g_test_add_func ("/dlen/app/csv/binary", test_binary);
  g_test_add_func ("/dlen/app/csv/random-roundtrip", test_random_roundtrip);
  g_test_add_func ("/dlen/app/csv/kuairand-tsv", test_kuairand_tsv);
  g_test_add_func ("/dlen/app/csv/kuairand-csv", test_kuairand_csv);

  ret = g_test_run ();

  remove_tmp ();
  g_ptr_array_unref (tmp_files);
  g_free (tmp_dir);
  return ret;
}
