/* test-sha256.c: the import's SHA-256 (SHA extensions when present) against GLib's and known digests. */
#include <string.h>
#include <glib.h>

#include "dlen-sha256.h"

static void
digest (const guint8 *data, gsize len, gsize chunk, char hex[65])
{
  DlenSha256 sha;
  dlen_sha256_init (&sha);
  for (gsize off = 0; off < len; off += chunk)
    dlen_sha256_update (&sha, data + off, MIN (chunk, len - off));
  dlen_sha256_finish (&sha, hex);
}

static void
test_known (void)
{
  char hex[65];
  digest ((const guint8 *) "", 0, 1, hex);
  g_assert_cmpstr (hex, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  digest ((const guint8 *) "abc", 3, 3, hex);
  g_assert_cmpstr (hex, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  digest ((const guint8 *) "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, 7, hex);
  g_assert_cmpstr (hex, ==, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* Every length up to a few blocks and some long ones, fed whole and in uneven chunks. */
static void
test_against_glib (void)
{
  static const gsize chunks[] = { 1, 3, 63, 64, 65, 1000, G_MAXSIZE };
  static const gsize long_lengths[] = { 1000, 4095, 65536 + 17, 1 << 20 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  gsize max = 1 << 20;
  g_autofree guint8 *data = g_malloc (max);
  for (gsize i = 0; i < max; i++)
    data[i] = (guint8) g_rand_int (rand);
  for (gsize len = 0; len < 300 + G_N_ELEMENTS (long_lengths); len++)
    {
      gsize n = len < 300 ? len : long_lengths[len - 300];
      g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, n);
      for (guint c = 0; c < G_N_ELEMENTS (chunks); c++)
        {
          char hex[65];
          digest (data, n, MAX (1, MIN (chunks[c], n)), hex);
          g_assert_cmpstr (hex, ==, want);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_message ("SHA extensions: %s", dlen_sha256_accelerated () ? "used" : "absent (GLib's SHA-256)");
  g_test_add_func ("/dlen/sha256/known", test_known);
  g_test_add_func ("/dlen/sha256/against-glib", test_against_glib);
  return g_test_run ();
}
