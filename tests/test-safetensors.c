/* test-safetensors.c: round trips, hostile files and truncations for the safetensors reader and writer. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "dlen-safetensors-private.h"

static char *test_dir;

static char *
test_path (const char *name)
{
  return g_build_filename (test_dir, name, NULL);
}

static char *
write_raw (const char *name, const void *bytes, gsize len)
{
  GError *error = NULL;
  char *path = test_path (name);
  g_file_set_contents (path, bytes, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

static guint8 *
read_raw (const char *path, gsize *len)
{
  GError *error = NULL;
  char *contents = NULL;
  g_file_get_contents (path, &contents, len, &error);
  g_assert_no_error (error);
  return (guint8 *) contents;
}

/* An 8-byte little-endian length, @header_len bytes of @header, then @data_len data bytes
 * (@data, or a counting pattern when NULL). */
static GByteArray *
build_file_len (guint64 length_field, const char *header, gsize header_len, const void *data, gsize data_len)
{
  GByteArray *file = g_byte_array_new ();
  guint8 le[8];
  for (int i = 0; i < 8; i++)
    le[i] = (guint8) (length_field >> (8 * i));
  g_byte_array_append (file, le, 8);
  g_byte_array_append (file, (const guint8 *) header, (guint) header_len);
  for (gsize i = 0; i < data_len; i++)
    {
      guint8 b = data ? ((const guint8 *) data)[i] : (guint8) i;
      g_byte_array_append (file, &b, 1);
    }
  return file;
}

static GByteArray *
build_file (const char *header, gsize data_len)
{
  return build_file_len (strlen (header), header, strlen (header), NULL, data_len);
}

/* Reads @path expecting @expected; the message must be non-empty and contain @needle. */
static void
assert_read_fails (const char *path, DlenStatus expected, const char *needle)
{
  DlenSafetensors *st = (DlenSafetensors *) &st;   /* must be reset to NULL */
  DlenStatus status = _dlen_safetensors_read (path, &st);
  g_test_message ("%s -> %s", path, dlen_last_error ());
  g_assert_cmpint (status, ==, expected);
  g_assert_null (st);
  g_assert_cmpstr (dlen_last_error (), !=, "");
  if (needle && !strstr (dlen_last_error (), needle))
    g_error ("message '%s' lacks '%s'", dlen_last_error (), needle);
}

static void
assert_bytes_refused (const GByteArray *file, const char *needle)
{
  char *path = write_raw ("hostile.safetensors", file->data, file->len);
  assert_read_fails (path, DLEN_STATUS_FORMAT, needle);
  g_unlink (path);
  g_free (path);
}

static void
assert_header_refused (const char *header, gsize data_len, const char *needle)
{
  GByteArray *file = build_file (header, data_len);
  char *escaped = g_strescape (strlen (header) > 200 ? "(long)" : header, NULL);
  g_test_message ("header: %s", escaped);
  g_free (escaped);
  assert_bytes_refused (file, needle);
  g_byte_array_unref (file);
}

static DlenSafetensors *
read_ok (const char *path)
{
  DlenSafetensors *st = NULL;
  DlenStatus status = _dlen_safetensors_read (path, &st);
  if (status != DLEN_STATUS_OK)
    g_error ("reading %s failed: %s", path, dlen_last_error ());
  g_assert_nonnull (st);
  return st;
}

static DlenSafetensors *
read_header_ok (const char *header, gsize data_len)
{
  GByteArray *file = build_file (header, data_len);
  char *path = write_raw ("valid.safetensors", file->data, file->len);
  DlenSafetensors *st = read_ok (path);
  g_byte_array_unref (file);
  g_free (path);
  return st;
}

/* The writer's temporary files ("<name>.tmp.XXXXXX") left in the test directory. */
static gsize
count_temp_files (void)
{
  GDir *dir = g_dir_open (test_dir, 0, NULL);
  const char *name;
  gsize n = 0;
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)))
    if (strstr (name, ".tmp."))
      n++;
  g_dir_close (dir);
  return n;
}

/* ---- Round trip ------------------------------------------------------------------------- */

static float w_data[12], bias_data[5], scalar_data[1], four_data[12];

static const char *const meta_keys[] = { "arch", "quote\"key\\", "escapes", "empty", "unicode" };
static const char *const meta_values[] = {
  "dlen",
  "{\"nested\": \"json\"}",
  "line1\nline2\r\ttab \b\f \x01\x1f\x7f /slash",
  "",
  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
};

static void
fill_round_trip_data (void)
{
  guint32 nan_bits = 0x7fc12345u;
  for (int i = 0; i < 12; i++)
    w_data[i] = (float) i * 0.25f - 1.0f;
  bias_data[0] = -0.0f;
  bias_data[1] = INFINITY;
  bias_data[2] = -INFINITY;
  memcpy (&bias_data[3], &nan_bits, 4);   /* the payload must survive bit for bit */
  bias_data[4] = 1e-45f;                   /* a denormal */
  scalar_data[0] = 3.5f;
  for (int i = 0; i < 12; i++)
    four_data[i] = (float) (i * i);
}

static void
write_round_trip (const char *path)
{
  const DlenTensorSpec tensors[] = {
    { "tower.0.w", 2, { 3, 4 }, w_data },
    { "bias", 1, { 5 }, bias_data },
    { "scalar", 0, { 0 }, scalar_data },
    { "empty", 2, { 0, 3 }, NULL },
    { "four", 4, { 2, 1, 3, 2 }, four_data },
    { "caf\xc3\xa9/\"q\"\\n", 1, { 2 }, w_data },
  };
  DlenStatus status;
  fill_round_trip_data ();
  status = _dlen_safetensors_write (path, tensors, G_N_ELEMENTS (tensors), meta_keys, meta_values,
                                    G_N_ELEMENTS (meta_keys));
  if (status != DLEN_STATUS_OK)
    g_error ("writing %s failed: %s", path, dlen_last_error ());
}

static void
assert_tensor (const DlenSafetensors *st, const char *name, guint32 ndim, const gint64 *shape,
               const float *expected, gsize n)
{
  const float *data = NULL;
  DlenStatus status = _dlen_safetensors_get (st, name, ndim, (const int64_t *) shape, &data);
  if (status != DLEN_STATUS_OK)
    g_error ("get %s: %s", name, dlen_last_error ());
  g_assert_nonnull (data);
  g_assert_cmpuint ((guintptr) data % G_ALIGNOF (float), ==, 0);
  if (n > 0)
    g_assert_cmpmem (data, n * 4, expected, n * 4);
}

static void
test_round_trip (void)
{
  char *path = test_path ("model.safetensors");
  DlenSafetensors *st;
  const gint64 w_shape[] = { 3, 4 }, bias_shape[] = { 5 }, empty_shape[] = { 0, 3 };
  const gint64 four_shape[] = { 2, 1, 3, 2 }, two[] = { 2 };
  guint8 *bytes;
  gsize len;
  guint64 header_len = 0;

  write_round_trip (path);
  g_assert_cmpuint (count_temp_files (), ==, 0);
  st = read_ok (path);
  g_assert_cmpuint (_dlen_safetensors_n_tensors (st), ==, 6);
  assert_tensor (st, "tower.0.w", 2, w_shape, w_data, 12);
  assert_tensor (st, "bias", 1, bias_shape, bias_data, 5);
  assert_tensor (st, "scalar", 0, NULL, scalar_data, 1);
  assert_tensor (st, "empty", 2, empty_shape, NULL, 0);
  assert_tensor (st, "four", 4, four_shape, four_data, 12);
  assert_tensor (st, "caf\xc3\xa9/\"q\"\\n", 1, two, w_data, 2);
  for (gsize i = 0; i < G_N_ELEMENTS (meta_keys); i++)
    g_assert_cmpstr (_dlen_safetensors_meta (st, meta_keys[i]), ==, meta_values[i]);
  g_assert_null (_dlen_safetensors_meta (st, "absent"));
  g_assert_null (_dlen_safetensors_meta (st, "__metadata__"));
  _dlen_safetensors_free (st);

  /* The data section starts 8-byte aligned, the padding is spaces, the data is the tensors in
   * the given order, contiguous and little-endian. */
  bytes = read_raw (path, &len);
  for (int i = 7; i >= 0; i--)
    header_len = header_len << 8 | bytes[i];
  g_assert_cmpuint ((8 + header_len) % 8, ==, 0);
  g_assert_cmpuint (bytes[8], ==, '{');
  g_assert_cmpuint (len, ==, 8 + header_len + 4 * (12 + 5 + 1 + 0 + 12 + 2));
  for (guint64 i = 8 + header_len - 1; bytes[i] != '}'; i--)
    g_assert_cmpuint (bytes[i], ==, ' ');
  g_assert_cmpmem (bytes + 8 + header_len, 48, w_data, 48);
  g_assert_cmpmem (bytes + 8 + header_len + 48, 20, bias_data, 20);
  g_assert_cmpmem (bytes + 8 + header_len + 68, 4, scalar_data, 4);
  g_assert_cmpmem (bytes + 8 + header_len + 72, 48, four_data, 48);
  g_assert_cmpmem (bytes + 8 + header_len + 120, 8, w_data, 8);
  g_free (bytes);
  g_free (path);
}

/* The exact bytes of a small file, so that a change of layout is noticed. */
static void
test_exact_layout (void)
{
  static const char expected_header[] =
    "{\"__metadata__\":{\"k\":\"a\\\"b\\\\c\\n\\u0001\"},"
    "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]}}";
  const float w[] = { 1.0f, -2.0f }, s[] = { 0.5f };
  const DlenTensorSpec tensors[] = { { "w", 1, { 2 }, w }, { "s", 0, { 0 }, s } };
  const char *keys[] = { "k" }, *values[] = { "a\"b\\c\n\x01" };
  char *path = test_path ("exact.safetensors");
  gsize len, hlen = strlen (expected_header), padded = (hlen + 7) / 8 * 8;
  guint8 *bytes;
  static const guint8 le_data[] = { 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x3f };

  g_assert_cmpint (_dlen_safetensors_write (path, tensors, 2, keys, values, 1), ==, DLEN_STATUS_OK);
  bytes = read_raw (path, &len);
  g_assert_cmpuint (len, ==, 8 + padded + 12);
  g_assert_cmpuint (bytes[0], ==, padded & 0xff);
  g_assert_cmpuint (bytes[1], ==, padded >> 8);
  for (int i = 2; i < 8; i++)
    g_assert_cmpuint (bytes[i], ==, 0);
  g_assert_cmpmem (bytes + 8, hlen, expected_header, hlen);
  for (gsize i = hlen; i < padded; i++)
    g_assert_cmpuint (bytes[8 + i], ==, ' ');
  g_assert_cmpmem (bytes + 8 + padded, 12, le_data, 12);
  g_free (bytes);
  g_unlink (path);
  g_free (path);
}

/* Every byte 0x01..0x7f and multi-byte UTF-8, in names, keys and values, survives escaping. */
static void
test_escape_all_ascii (void)
{
  char *path = test_path ("ascii.safetensors");
  char all[160];
  const float d[] = { 7.0f };
  const gint64 one[] = { 1 };
  DlenSafetensors *st;
  gsize n = 0;

  for (int c = 0x7f; c >= 1; c--)
    all[n++] = (char) c;
  memcpy (all + n, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u0041", 15);
  all[n + 15] = '\0';
  {
    const DlenTensorSpec t[] = { { all, 1, { 1 }, d } };
    const char *keys[] = { all, "k" }, *values[] = { "v", all };
    g_assert_cmpint (_dlen_safetensors_write (path, t, 1, keys, values, 2), ==, DLEN_STATUS_OK);
  }
  st = read_ok (path);
  assert_tensor (st, all, 1, one, d, 1);
  g_assert_cmpstr (_dlen_safetensors_meta (st, all), ==, "v");
  g_assert_cmpstr (_dlen_safetensors_meta (st, "k"), ==, all);
  _dlen_safetensors_free (st);
  g_unlink (path);
  g_free (path);
}

static void
test_empty_file (void)
{
  char *path = test_path ("empty.safetensors");
  DlenSafetensors *st;
  const float *data;
  g_assert_cmpint (_dlen_safetensors_write (path, NULL, 0, NULL, NULL, 0), ==, DLEN_STATUS_OK);
  st = read_ok (path);
  g_assert_cmpuint (_dlen_safetensors_n_tensors (st), ==, 0);
  g_assert_null (_dlen_safetensors_meta (st, "x"));
  g_assert_cmpint (_dlen_safetensors_get (st, "x", 0, NULL, &data), ==, DLEN_STATUS_FORMAT);
  _dlen_safetensors_free (st);
  _dlen_safetensors_free (NULL);
  g_unlink (path);
  g_free (path);
}

/* ---- Writer: atomic replacement and argument checks -------------------------------------- */

static void
test_overwrite_atomic (void)
{
  char *path = test_path ("replace.safetensors");
  char *missing = test_path ("no-such-dir/model.safetensors");
  const float a[] = { 1, 2, 3 }, b[] = { 4, 5 };
  const DlenTensorSpec first[] = { { "x", 1, { 3 }, a } };
  const DlenTensorSpec second[] = { { "x", 1, { 2 }, b } };
  const DlenTensorSpec bad[] = { { "x", 1, { 2 }, b }, { "x", 1, { 2 }, b } };
  const gint64 shape2[] = { 2 };
  DlenSafetensors *st;
  guint8 *before, *after;
  gsize before_len, after_len;
  struct stat sb;

  g_assert_cmpint (_dlen_safetensors_write (path, first, 1, NULL, NULL, 0), ==, DLEN_STATUS_OK);
  g_assert_cmpint (chmod (path, 0640), ==, 0);
  g_assert_cmpint (_dlen_safetensors_write (path, second, 1, NULL, NULL, 0), ==, DLEN_STATUS_OK);
  g_assert_cmpint (stat (path, &sb), ==, 0);
  g_assert_cmpint (sb.st_mode & 07777, ==, 0640);
  st = read_ok (path);
  assert_tensor (st, "x", 1, shape2, b, 2);
  _dlen_safetensors_free (st);

  /* A refused write leaves the old file as it was and no temporary file. */
  before = read_raw (path, &before_len);
  g_assert_cmpint (_dlen_safetensors_write (path, bad, 2, NULL, NULL, 0), ==, DLEN_STATUS_INVALID);
  after = read_raw (path, &after_len);
  g_assert_cmpmem (before, before_len, after, after_len);
  g_assert_cmpuint (count_temp_files (), ==, 0);
  g_free (before);
  g_free (after);

  /* A directory in the way: rename fails and the temporary file is removed. */
  g_assert_cmpint (g_mkdir (missing, 0755), !=, 0);
  {
    char *dir_path = test_path ("a-directory");
    g_assert_cmpint (g_mkdir (dir_path, 0755), ==, 0);
    g_assert_cmpint (_dlen_safetensors_write (dir_path, second, 1, NULL, NULL, 0), ==, DLEN_STATUS_IO);
    g_test_message ("%s", dlen_last_error ());
    g_assert_true (g_file_test (dir_path, G_FILE_TEST_IS_DIR));
    g_assert_cmpuint (count_temp_files (), ==, 0);
    g_rmdir (dir_path);
    g_free (dir_path);
  }
  g_assert_cmpint (_dlen_safetensors_write (missing, second, 1, NULL, NULL, 0), ==, DLEN_STATUS_IO);
  g_assert_cmpstr (dlen_last_error (), !=, "");
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_unlink (path);
  g_free (path);
  g_free (missing);
}

typedef struct {
  char *path;
  GByteArray *bytes;
} FifoReader;

static gpointer
fifo_read_all (gpointer data)
{
  FifoReader *r = data;
  guint8 buf[4096];
  ssize_t n;
  int fd = open (r->path, O_RDONLY);
  g_assert_cmpint (fd, >=, 0);
  while ((n = read (fd, buf, sizeof buf)) > 0)
    g_byte_array_append (r->bytes, buf, (guint) n);
  close (fd);
  return NULL;
}

/* A path that is not a regular file (a FIFO here; /dev/null alike) is written to in place, and
 * stays what it was; through a symbolic link the file it points to is replaced and the link
 * stays a link. */
static void
test_write_special (void)
{
  char *fifo = test_path ("model.fifo");
  char *file = test_path ("target.safetensors");
  char *link = test_path ("link.safetensors");
  char *copy = test_path ("copy.safetensors");
  const float a[] = { 1, 2, 3 };
  const DlenTensorSpec t[] = { { "x", 1, { 3 }, a } };
  const gint64 shape[] = { 3 };
  FifoReader r = { fifo, g_byte_array_new () };
  GThread *reader;
  DlenSafetensors *st;
  guint8 *expected;
  gsize expected_len;
  struct stat sb;

  g_assert_cmpint (_dlen_safetensors_write (copy, t, 1, NULL, NULL, 0), ==, DLEN_STATUS_OK);
  expected = read_raw (copy, &expected_len);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  reader = g_thread_new ("fifo", fifo_read_all, &r);
  g_assert_cmpint (_dlen_safetensors_write (fifo, t, 1, NULL, NULL, 0), ==, DLEN_STATUS_OK);
  g_thread_join (reader);
  g_assert_cmpmem (r.bytes->data, r.bytes->len, expected, expected_len);
  g_assert_cmpint (lstat (fifo, &sb), ==, 0);
  g_assert_true (S_ISFIFO (sb.st_mode));
  g_assert_cmpuint (count_temp_files (), ==, 0);

  g_assert_cmpint (_dlen_safetensors_write (file, t, 1, NULL, NULL, 0), ==, DLEN_STATUS_OK);
  g_assert_cmpint (symlink (file, link), ==, 0);
  g_assert_cmpint (_dlen_safetensors_write (link, t, 1, NULL, NULL, 0), ==, DLEN_STATUS_OK);
  g_assert_cmpint (lstat (link, &sb), ==, 0);
  g_assert_true (S_ISLNK (sb.st_mode));
  st = read_ok (file);
  assert_tensor (st, "x", 1, shape, a, 3);
  _dlen_safetensors_free (st);
  g_assert_cmpuint (count_temp_files (), ==, 0);

  g_unlink (fifo);
  g_unlink (link);
  g_unlink (file);
  g_unlink (copy);
  g_byte_array_unref (r.bytes);
  g_free (expected);
  g_free (fifo);
  g_free (file);
  g_free (link);
  g_free (copy);
}

static void
test_write_invalid (void)
{
  char *path = test_path ("invalid.safetensors");
  char long_name[300];
  const float d[] = { 1, 2 };
  const char *keys2[] = { "k", "k" }, *values2[] = { "1", "2" };
  const char *bad_utf8[] = { "\xc0\xaf" }, *ok[] = { "v" }, *null_value[] = { NULL };
  struct {
    DlenTensorSpec t[2];
    gsize n;
  } cases[] = {
    { { { NULL, 1, { 2 }, d } }, 1 },
    { { { "", 1, { 2 }, d } }, 1 },
    { { { long_name, 1, { 2 }, d } }, 1 },
    { { { "\xff", 1, { 2 }, d } }, 1 },
    { { { "__metadata__", 1, { 2 }, d } }, 1 },
    { { { "x", 5, { 1, 1, 1, 1 }, d } }, 1 },
    { { { "x", 1, { -2 }, d } }, 1 },
    { { { "x", 1, { 2 }, NULL } }, 1 },
    { { { "x", 4, { INT64_MAX, 2, 1, 1 }, d } }, 1 },
    { { { "x", 1, { G_GINT64_CONSTANT (1) << 62 }, d } }, 1 },
    { { { "x", 1, { 2 }, d }, { "x", 1, { 2 }, d } }, 2 },
  };

  memset (long_name, 'n', 256);
  long_name[256] = '\0';
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_cmpint (_dlen_safetensors_write (path, cases[i].t, cases[i].n, NULL, NULL, 0), ==,
                       DLEN_STATUS_INVALID);
      g_test_message ("case %zu: %s", i, dlen_last_error ());
      g_assert_cmpstr (dlen_last_error (), !=, "");
    }
  g_assert_cmpint (_dlen_safetensors_write (path, NULL, 1, NULL, NULL, 0), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_write (path, NULL, 0, keys2, values2, 2), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_write (path, NULL, 0, bad_utf8, ok, 1), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_write (path, NULL, 0, ok, bad_utf8, 1), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_write (path, NULL, 0, ok, null_value, 1), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_write (path, NULL, 0, NULL, NULL, 1), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_write (NULL, NULL, 0, NULL, NULL, 0), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_write ("", NULL, 0, NULL, NULL, 0), ==, DLEN_STATUS_INVALID);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* 255 bytes is the longest name accepted. */
  long_name[255] = '\0';
  {
    const DlenTensorSpec t[] = { { long_name, 1, { 2 }, d } };
    const gint64 shape[] = { 2 };
    DlenSafetensors *st;
    g_assert_cmpint (_dlen_safetensors_write (path, t, 1, NULL, NULL, 0), ==, DLEN_STATUS_OK);
    st = read_ok (path);
    assert_tensor (st, long_name, 1, shape, d, 2);
    _dlen_safetensors_free (st);
  }
  g_unlink (path);
  g_free (path);
}

/* ---- Reader: lookups ------------------------------------------------------------------- */

static void
test_get_checks_shape (void)
{
  char *path = test_path ("model.safetensors");
  DlenSafetensors *st;
  const float *data = (const float *) &data;
  const gint64 transposed[] = { 4, 3 }, flat[] = { 12 }, right[] = { 3, 4 };

  write_round_trip (path);
  st = read_ok (path);
  g_assert_cmpint (_dlen_safetensors_get (st, "tower.0.w", 2, (const int64_t *) transposed, &data), ==,
                   DLEN_STATUS_FORMAT);
  g_assert_null (data);
  g_test_message ("%s", dlen_last_error ());
  g_assert_nonnull (strstr (dlen_last_error (), "'tower.0.w'"));
  g_assert_nonnull (strstr (dlen_last_error (), "[3, 4]"));
  g_assert_nonnull (strstr (dlen_last_error (), "[4, 3]"));
  g_assert_cmpint (_dlen_safetensors_get (st, "tower.0.w", 1, (const int64_t *) flat, &data), ==,
                   DLEN_STATUS_FORMAT);
  g_assert_nonnull (strstr (dlen_last_error (), "'tower.0.w'"));
  g_assert_cmpint (_dlen_safetensors_get (st, "tower.0.w", 0, NULL, &data), ==, DLEN_STATUS_FORMAT);
  g_assert_cmpint (_dlen_safetensors_get (st, "scalar", 1, (const int64_t *) flat, &data), ==,
                   DLEN_STATUS_FORMAT);
  g_assert_nonnull (strstr (dlen_last_error (), "'scalar'"));
  g_assert_cmpint (_dlen_safetensors_get (st, "tower.1.w", 2, (const int64_t *) right, &data), ==,
                   DLEN_STATUS_FORMAT);
  g_assert_nonnull (strstr (dlen_last_error (), "'tower.1.w'"));
  g_assert_cmpint (_dlen_safetensors_get (st, "tower.0.w", 5, (const int64_t *) right, &data), ==,
                   DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_get (st, "tower.0.w", 2, NULL, &data), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_get (st, NULL, 0, NULL, &data), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_get (st, "tower.0.w", 2, (const int64_t *) right, NULL), ==,
                   DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_get (NULL, "tower.0.w", 2, (const int64_t *) right, &data), ==,
                   DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_get (st, "tower.0.w", 2, (const int64_t *) right, &data), ==,
                   DLEN_STATUS_OK);
  g_assert_nonnull (data);
  g_assert_null (_dlen_safetensors_meta (NULL, "arch"));
  g_assert_null (_dlen_safetensors_meta (st, NULL));
  g_assert_cmpuint (_dlen_safetensors_n_tensors (NULL), ==, 0);
  _dlen_safetensors_free (st);
  g_free (path);
}

static void
test_read_io (void)
{
  char *missing = test_path ("missing.safetensors");
  DlenSafetensors *st = NULL;
  assert_read_fails (missing, DLEN_STATUS_IO, "missing.safetensors");
  assert_read_fails (test_dir, DLEN_STATUS_IO, NULL);
  g_assert_cmpint (_dlen_safetensors_read (NULL, &st), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (_dlen_safetensors_read (missing, NULL), ==, DLEN_STATUS_INVALID);
  g_free (missing);
}

/* Valid files written by hand: whitespace, escapes, any field and data order, zero sizes. */
static void
test_read_hand_written (void)
{
  DlenSafetensors *st;
  const float *data;
  const gint64 two[] = { 2 }, one[] = { 1 }, zero3[] = { 0, 3 };
  guint8 pattern[8];

  for (int i = 0; i < 8; i++)
    pattern[i] = (guint8) i;
  st = read_header_ok (" \t\r\n{ \"b\" : { \"data_offsets\" : [ 0 , 4 ] , \"shape\" : [ 1 ] ,"
                       " \"dtype\" : \"F32\" } ,\n\"a\":{\"shape\":[2],\"dtype\":\"F32\",\"data_offsets\":[4,12]},"
                       "\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[12,12]},"
                       "\"__metadata__\":{}}\n\t  ", 12);
  g_assert_cmpuint (_dlen_safetensors_n_tensors (st), ==, 3);
  g_assert_cmpint (_dlen_safetensors_get (st, "b", 1, (const int64_t *) one, &data), ==, DLEN_STATUS_OK);
  g_assert_cmpmem (data, 4, pattern, 4);
  g_assert_cmpint (_dlen_safetensors_get (st, "a", 1, (const int64_t *) two, &data), ==, DLEN_STATUS_OK);
  {
    guint8 tail[8];
    for (int i = 0; i < 8; i++)
      tail[i] = (guint8) (4 + i);
    g_assert_cmpmem (data, 8, tail, 8);
  }
  g_assert_cmpint (_dlen_safetensors_get (st, "z", 2, (const int64_t *) zero3, &data), ==, DLEN_STATUS_OK);
  _dlen_safetensors_free (st);

  /* Escapes in names and metadata decode to UTF-8, surrogate pairs included. */
  st = read_header_ok ("{\"__metadata__\":{\"k\\u00e9y\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\ud83d\\ude00\\u20AC\"},"
                       "\"caf\\u00e9\\ud83d\\ude00\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4);
  g_assert_cmpint (_dlen_safetensors_get (st, "caf\xc3\xa9\xf0\x9f\x98\x80", 0, NULL, &data), ==,
                   DLEN_STATUS_OK);
  g_assert_cmpstr (_dlen_safetensors_meta (st, "k\xc3\xa9y"), ==,
                   "\"\\/\b\f\n\r\t\xf0\x9f\x98\x80\xe2\x82\xac");
  _dlen_safetensors_free (st);

  /* Only zero-size tensors, and the same offset shared by a zero-size tensor and its neighbour. */
  st = read_header_ok ("{\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0);
  _dlen_safetensors_free (st);
  st = read_header_ok ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"e\":{\"dtype\":\"F32\",\"shape\":[4,0],\"data_offsets\":[4,4]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1],\"data_offsets\":[4,8]}}", 8);
  _dlen_safetensors_free (st);
}

/* ---- Reader: hostile files ------------------------------------------------------------- */

#define T_OK "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"

static void
test_hostile_length (void)
{
  static const char bytes[] = "\x10\0\0\0\0\0\0";
  GByteArray *file;
  char *path;
  int fd;

  for (gsize n = 0; n < 8; n++)
    {
      file = g_byte_array_new ();
      g_byte_array_append (file, (const guint8 *) bytes, (guint) n);
      assert_bytes_refused (file, "too short");
      g_byte_array_unref (file);
    }
  file = build_file_len (0, "{}", 2, NULL, 0);
  assert_bytes_refused (file, "header length is 0");
  g_byte_array_unref (file);
  file = build_file_len (100, "{}", 2, NULL, 8);
  assert_bytes_refused (file, "exceeds the 10 bytes");
  g_byte_array_unref (file);
  file = build_file_len (G_MAXUINT64, "{}", 2, NULL, 8);
  assert_bytes_refused (file, "exceeds");
  g_byte_array_unref (file);
  file = build_file_len (G_GUINT64_CONSTANT (1) << 63, "{}", 2, NULL, 0);
  assert_bytes_refused (file, "exceeds");
  g_byte_array_unref (file);

  /* A header length over 100 MB in a file big enough to hold it: a sparse file, refused before
   * anything is allocated or read. */
  file = build_file_len (100000001, "{}", 2, NULL, 0);
  path = write_raw ("sparse.safetensors", file->data, file->len);
  fd = g_open (path, O_WRONLY, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, 8 + 100000001 + 16), ==, 0);
  close (fd);
  assert_read_fails (path, DLEN_STATUS_FORMAT, "limit");
  g_unlink (path);
  g_free (path);
  g_byte_array_unref (file);
}

static void
test_hostile_utf8 (void)
{
  static const char *const headers[] = {
    "{\"\xff\":{" T_OK "}}",
    "{\"\xc0\xaf\":{" T_OK "}}",                  /* overlong '/' */
    "{\"\xe0\x80\xaf\":{" T_OK "}}",              /* overlong, 3 bytes */
    "{\"\xed\xa0\x80\":{" T_OK "}}",              /* UTF-8-encoded surrogate */
    "{\"\xf4\x90\x80\x80\":{" T_OK "}}",          /* above U+10FFFF */
    "{\"\x80\":{" T_OK "}}",                      /* lone continuation byte */
    "{\"a\":{" T_OK "}, \"__metadata__\":{\"k\":\"\xe2\x82\"}}",  /* truncated sequence */
    "{\"a\":{" T_OK "}}\xc3",                     /* truncated at the very end */
    "\xef\xbb\xbf{\"a\":{" T_OK "}}",             /* a BOM is not whitespace */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (headers); i++)
    assert_header_refused (headers[i], 8, i == G_N_ELEMENTS (headers) - 1 ? "JSON" : "UTF-8");
}

static void
test_hostile_json (void)
{
  static const char *const headers[] = {
    " ",
    "[]",
    "null",
    "\"a\"",
    "{",
    "{\"a\"",
    "{\"a\":",
    "{\"a\" {" T_OK "}}",
    "{,}",
    "{\"a\":{" T_OK "},}",
    "{\"a\":{" T_OK ",}}",
    "{\"a\":{" T_OK "}",
    "{'a':{" T_OK "}}",
    "{a:{" T_OK "}}",
    "{\"a:{" T_OK "}}",
    "{\"a\\x\":{" T_OK "}}",
    "{\"a\\",
    "{\"a\\u12\":{" T_OK "}}",
    "{\"a\\u12g4\":{" T_OK "}}",
    "{\"a\\ud800\":{" T_OK "}}",
    "{\"a\\ud800\\u0041\":{" T_OK "}}",
    "{\"a\\ud800\\n\":{" T_OK "}}",
    "{\"a\\udc00\":{" T_OK "}}",
    "{\"a\\ud83d\":{" T_OK "}}",
    "{\"a\\u0000\":{" T_OK "}}",
    "{\"a\tb\":{" T_OK "}}",
    "{\"a\nb\":{" T_OK "}}",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.],\"data_offsets\":[0,8]}}",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2e],\"data_offsets\":[0,8]}}",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[-],\"data_offsets\":[0,8]}}",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2 2],\"data_offsets\":[0,8]}}",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]}}",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]",
    "{\"a\":{" T_OK "}} x",
    "{\"a\":{" T_OK "}}{}",
    "{\"a\":{" T_OK "}}}",
  };
  static const char nul_header[] = "{\"a\":{" T_OK "}}\0";
  GString *deep = g_string_new ("{\"a\":");
  GByteArray *file;

  for (gsize i = 0; i < G_N_ELEMENTS (headers); i++)
    assert_header_refused (headers[i], 8, "JSON");

  /* A trailing NUL is neither whitespace nor JSON. */
  file = build_file_len (sizeof nul_header, nul_header, sizeof nul_header, NULL, 8);
  assert_bytes_refused (file, "JSON");
  g_byte_array_unref (file);

  /* Hostile nesting is refused at its first byte, without recursion. */
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  assert_header_refused (deep->str, 8, "must be an object");
  g_string_truncate (deep, 5);
  for (int i = 0; i < 200000; i++)
    g_string_append (deep, "{\"a\":");
  assert_header_refused (deep->str, 8, NULL);
  g_string_free (deep, TRUE);
}

static void
test_hostile_schema (void)
{
  static const struct {
    const char *header;
    const char *needle;
  } cases[] = {
    { "{\"a\":{" T_OK "},\"a\":{" T_OK "}}", "duplicate tensor name 'a'" },
    { "{\"a\\u0062\":{" T_OK "},\"ab\":{" T_OK "}}", "duplicate tensor name 'ab'" },
    { "{\"__metadata__\":{},\"a\":{" T_OK "},\"__metadata__\":{}}", "duplicate key" },
    { "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},\"a\":{" T_OK "}}", "duplicate metadata key 'k'" },
    { "{\"a\":{" T_OK ",\"dtype\":\"F32\"}}", "duplicate field 'dtype'" },
    { "{\"a\":{" T_OK ",\"shape\":[2]}}", "duplicate field 'shape'" },
    { "{\"a\":{" T_OK ",\"data_offsets\":[0,8]}}", "duplicate field 'data_offsets'" },
    { "{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", "dtype 'F16'" },
    { "{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype 'f32'" },
    { "{\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}", "only F32" },
    { "{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype must be a string" },
    { "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "no 'dtype'" },
    { "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "no 'shape'" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", "no 'data_offsets'" },
    { "{\"a\":{" T_OK ",\"extra\":1}}", "unknown field 'extra'" },
    { "{\"a\":{}}", "empty entry" },
    { "{\"a\":[]}", "must be an object" },
    { "{\"a\":\"x\"}", "must be an object" },
    { "{\"a\":8}", "must be an object" },
    { "{\"a\":null}", "must be an object" },
    { "{\"\":{" T_OK "}}", "is 0 bytes" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[-0],\"data_offsets\":[0,4]}}", "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,8]}}", "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,8]}}", "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[[2]],\"data_offsets\":[0,8]}}", "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", "shape must be an array" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,8]}}", "too large" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,8]}}", "too large" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", "overflows" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}", "overflows" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,3],\"data_offsets\":[0,8]}}", "overflows" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", "more than 4 dimensions" },
    { "{\"__metadata__\":{\"k\":1},\"a\":{" T_OK "}}", "metadata value of key 'k' is not a string" },
    { "{\"__metadata__\":{\"k\":null},\"a\":{" T_OK "}}", "not a string" },
    { "{\"__metadata__\":{\"k\":{\"x\":\"y\"}},\"a\":{" T_OK "}}", "not a string" },
    { "{\"__metadata__\":{\"k\":[\"y\"]},\"a\":{" T_OK "}}", "not a string" },
    { "{\"__metadata__\":{\"k\":true},\"a\":{" T_OK "}}", "not a string" },
    { "{\"__metadata__\":[],\"a\":{" T_OK "}}", "must be an object" },
    { "{\"__metadata__\":\"x\",\"a\":{" T_OK "}}", "must be an object" },
    { "{\"__metadata__\":null,\"a\":{" T_OK "}}", "must be an object" },
  };
  GString *long_name = g_string_new ("{\"");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_header_refused (cases[i].header, 8, cases[i].needle);
  for (int i = 0; i < 256; i++)
    g_string_append_c (long_name, 'n');
  g_string_append (long_name, "\":{" T_OK "}}");
  assert_header_refused (long_name->str, 8, "is 256 bytes");
  g_string_free (long_name, TRUE);
}

static void
test_hostile_offsets (void)
{
  static const struct {
    const char *header;
    gsize data_len;
    const char *needle;
  } cases[] = {
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "exactly two" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 8, "exactly two" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[]}}", 8, "exactly two" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0,8\"}}", 8, "exactly two" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{\"0\":8}}}", 8, "exactly two" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-1,7]}}", 8, "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.0,8]}}", 8, "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,\"8\"]}}", 8, "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551615]}}", 8, "too large" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551616]}}", 8, "too large" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, "end before they begin" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 12, "F32 shape [2] needs 8" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "needs 8" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]}}", 0, "needs 4" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
      "'a' data_offsets [0, 8] exceed the data section (4 bytes)" },
    { "{\"tower.0.w\":{\"dtype\":\"F32\",\"shape\":[999997],\"data_offsets\":[12,4000000]}}", 2048,
      "tensor 'tower.0.w' data_offsets [12, 4000000] exceed the data section (2048 bytes)" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[9223372036854775799,9223372036854775807]}}",
      8, "exceed the data section" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[12,12]}}", 8, "exceed" },
    /* coverage */
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "'a' [0, 8] and 'b' [4, 12] overlap" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "overlap" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8, "overlap" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20, "bytes [8, 12)" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "bytes [0, 4)" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "bytes [8, 12)" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 9, "not covered" },
    { "{}", 4, "no tensor covers" },
    { "{\"__metadata__\":{\"a\":\"b\"}}", 1, "no tensor covers" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_header_refused (cases[i].header, cases[i].data_len, cases[i].needle);
}

/* Every proper prefix of a valid file is refused, whatever the cut. */
static void
test_truncated (void)
{
  char *path = test_path ("model.safetensors");
  char *cut_path;
  guint8 *bytes;
  gsize len;

  write_round_trip (path);
  bytes = read_raw (path, &len);
  for (gsize n = 0; n < len; n++)
    {
      DlenSafetensors *st = NULL;
      GError *error = NULL;
      cut_path = test_path ("cut.safetensors");
      g_file_set_contents (cut_path, (const char *) bytes, (gssize) n, &error);
      g_assert_no_error (error);
      g_assert_cmpint (_dlen_safetensors_read (cut_path, &st), ==, DLEN_STATUS_FORMAT);
      g_assert_null (st);
      g_assert_cmpstr (dlen_last_error (), !=, "");
      if (n == 0 || n == 7 || n == 8 || n == len - 1)
        g_test_message ("%zu bytes: %s", n, dlen_last_error ());
      g_unlink (cut_path);
      g_free (cut_path);
    }
  g_free (bytes);
  g_free (path);
}

/* Single-byte and random multi-byte corruptions: each read either succeeds, and then every
 * tensor can be fetched, or is refused with FORMAT; never a crash (run under ASan/UBSan). */
static void
test_mutations (void)
{
  static const guint8 masks[] = { 0x01, 0x20, 0x80, 0xff };
  char *path = test_path ("model.safetensors");
  char *mut_path = test_path ("mutant.safetensors");
  guint8 *bytes, *copy;
  gsize len;
  GRand *rand = g_rand_new_with_seed (42);
  guint accepted = 0, refused = 0;

  write_round_trip (path);
  bytes = read_raw (path, &len);
  copy = g_malloc (len);
  for (gsize round = 0; round < len * G_N_ELEMENTS (masks) + 2000; round++)
    {
      DlenSafetensors *st = NULL;
      GError *error = NULL;
      DlenStatus status;
      memcpy (copy, bytes, len);
      if (round < len * G_N_ELEMENTS (masks))
        copy[round / G_N_ELEMENTS (masks)] ^= masks[round % G_N_ELEMENTS (masks)];
      else
        for (int k = g_rand_int_range (rand, 1, 6); k > 0; k--)
          copy[g_rand_int_range (rand, 0, (gint32) len)] = (guint8) g_rand_int_range (rand, 0, 256);
      g_file_set_contents (mut_path, (const char *) copy, (gssize) len, &error);
      g_assert_no_error (error);
      status = _dlen_safetensors_read (mut_path, &st);
      if (status == DLEN_STATUS_OK)
        {
          accepted++;
          g_assert_nonnull (st);
          _dlen_safetensors_free (st);
        }
      else
        {
          refused++;
          g_assert_cmpint (status, ==, DLEN_STATUS_FORMAT);
          g_assert_null (st);
          g_assert_cmpstr (dlen_last_error (), !=, "");
        }
    }
  g_test_message ("mutants accepted %u, refused %u", accepted, refused);
  g_assert_cmpuint (refused, >, 0);
  g_rand_free (rand);
  g_free (copy);
  g_free (bytes);
  g_unlink (mut_path);
  g_free (mut_path);
  g_free (path);
}

static void
remove_test_dir (void)
{
  GDir *dir = g_dir_open (test_dir, 0, NULL);
  const char *name;
  if (dir)
    {
      while ((name = g_dir_read_name (dir)))
        {
          char *path = test_path (name);
          g_unlink (path);
          g_free (path);
        }
      g_dir_close (dir);
    }
  g_rmdir (test_dir);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  int result;

  g_test_init (&argc, &argv, NULL);
  test_dir = g_dir_make_tmp ("dlen-safetensors-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/dlen/engine/safetensors/roundtrip", test_round_trip);
  g_test_add_func ("/dlen/engine/safetensors/exact-layout", test_exact_layout);
  g_test_add_func ("/dlen/engine/safetensors/escape-all-ascii", test_escape_all_ascii);
  g_test_add_func ("/dlen/engine/safetensors/empty-file", test_empty_file);
  g_test_add_func ("/dlen/engine/safetensors/overwrite-atomic", test_overwrite_atomic);
  g_test_add_func ("/dlen/engine/safetensors/write-invalid", test_write_invalid);
  g_test_add_func ("/dlen/engine/safetensors/write-special", test_write_special);
  g_test_add_func ("/dlen/engine/safetensors/get-checks-shape", test_get_checks_shape);
  g_test_add_func ("/dlen/engine/safetensors/read-io", test_read_io);
  g_test_add_func ("/dlen/engine/safetensors/read-hand-written", test_read_hand_written);
  g_test_add_func ("/dlen/engine/safetensors/hostile/length", test_hostile_length);
  g_test_add_func ("/dlen/engine/safetensors/hostile/utf8", test_hostile_utf8);
  g_test_add_func ("/dlen/engine/safetensors/hostile/json", test_hostile_json);
  g_test_add_func ("/dlen/engine/safetensors/hostile/schema", test_hostile_schema);
  g_test_add_func ("/dlen/engine/safetensors/hostile/offsets", test_hostile_offsets);
  g_test_add_func ("/dlen/engine/safetensors/hostile/truncated", test_truncated);
  g_test_add_func ("/dlen/engine/safetensors/hostile/mutations", test_mutations);

  result = g_test_run ();
  remove_test_dir ();
  g_free (test_dir);
  return result;
}
