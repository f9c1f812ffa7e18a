/* dlen-sha256.c: SHA-256 with the x86 SHA extensions (SHA-NI) when present, else GLib's GChecksum. */
#include "dlen-sha256.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI 1
#endif

#ifdef HAVE_SHA_NI

static const guint32 k[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The compression function over @blocks 64-byte blocks. The extensions keep the state as the
 * word pairs ABEF and CDGH; four rounds per step, the message schedule four words at a time. */
__attribute__ ((target ("sha,sse4.1,ssse3")))
static void
compress_ni (guint32 h[8], const guint8 *data, gsize blocks)
{
  const __m128i swap = _mm_set_epi64x (0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i tmp = _mm_shuffle_epi32 (_mm_loadu_si128 ((const __m128i *) &h[0]), 0xB1);   /* CDAB */
  __m128i state1 = _mm_shuffle_epi32 (_mm_loadu_si128 ((const __m128i *) &h[4]), 0x1B); /* EFGH */
  __m128i state0 = _mm_alignr_epi8 (tmp, state1, 8);                                   /* ABEF */
  state1 = _mm_blend_epi16 (state1, tmp, 0xF0);                                        /* CDGH */

  for (; blocks > 0; blocks--, data += 64)
    {
      __m128i abef = state0, cdgh = state1, w[4];
      for (int i = 0; i < 16; i++)
        {
          __m128i msg;
          if (i < 4)
            w[i] = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) (data + 16 * i)), swap);
          else
            w[i & 3] = _mm_sha256msg2_epu32 (_mm_add_epi32 (_mm_sha256msg1_epu32 (w[i & 3], w[(i + 1) & 3]),
                                                            _mm_alignr_epi8 (w[(i + 3) & 3], w[(i + 2) & 3], 4)),
                                             w[(i + 3) & 3]);
          msg = _mm_add_epi32 (w[i & 3], _mm_loadu_si128 ((const __m128i *) &k[4 * i]));
          state1 = _mm_sha256rnds2_epu32 (state1, state0, msg);
          state0 = _mm_sha256rnds2_epu32 (state0, state1, _mm_shuffle_epi32 (msg, 0x0E));
        }
      state0 = _mm_add_epi32 (state0, abef);
      state1 = _mm_add_epi32 (state1, cdgh);
    }

  tmp = _mm_shuffle_epi32 (state0, 0x1B);        /* FEBA */
  state1 = _mm_shuffle_epi32 (state1, 0xB1);     /* DCHG */
  state0 = _mm_blend_epi16 (tmp, state1, 0xF0);  /* DCBA */
  state1 = _mm_alignr_epi8 (state1, tmp, 8);     /* HGFE */
  _mm_storeu_si128 ((__m128i *) &h[0], state0);
  _mm_storeu_si128 ((__m128i *) &h[4], state1);
}

static gboolean
detect_sha_ni (void)
{
  unsigned int a, b, c, d;
  if (!__get_cpuid (1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
    return FALSE;
  return __get_cpuid_count (7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}

#endif

gboolean
dlen_sha256_accelerated (void)
{
#ifdef HAVE_SHA_NI
  static gsize once = 0;
  static gboolean yes;
  if (g_once_init_enter (&once))
    {
      yes = detect_sha_ni ();
      g_once_init_leave (&once, 1);
    }
  return yes;
#else
  return FALSE;
#endif
}

void
dlen_sha256_init (DlenSha256 *sha)
{
  static const guint32 iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  memset (sha, 0, sizeof *sha);
  memcpy (sha->h, iv, sizeof iv);
  if (!dlen_sha256_accelerated ())
    sha->fallback = g_checksum_new (G_CHECKSUM_SHA256);
}

void
dlen_sha256_update (DlenSha256 *sha, const void *data, gsize len)
{
  const guint8 *p = data;
  if (sha->fallback)
    {
      g_checksum_update (sha->fallback, p, (gssize) len);
      return;
    }
#ifdef HAVE_SHA_NI
  sha->len += len;
  if (sha->n > 0)
    {
      gsize take = MIN (len, 64 - sha->n);
      memcpy (sha->block + sha->n, p, take);
      sha->n += take;
      p += take;
      len -= take;
      if (sha->n < 64)
        return;
      compress_ni (sha->h, sha->block, 1);
      sha->n = 0;
    }
  if (len >= 64)
    {
      compress_ni (sha->h, p, len / 64);
      p += len / 64 * 64;
      len %= 64;
    }
  memcpy (sha->block, p, len);
  sha->n = len;
#endif
}

void
dlen_sha256_finish (DlenSha256 *sha, char hex[65])
{
  if (sha->fallback)
    {
      g_strlcpy (hex, g_checksum_get_string (sha->fallback), 65);
      g_clear_pointer (&sha->fallback, g_checksum_free);
      return;
    }
#ifdef HAVE_SHA_NI
  {
    guint8 pad[72] = { 0x80 };
    guint64 bits = sha->len * 8;
    gsize n = (sha->n < 56 ? 56 : 120) - sha->n;
    for (int i = 0; i < 8; i++)
      pad[n + (gsize) i] = (guint8) (bits >> (56 - 8 * i));
    dlen_sha256_update (sha, pad, n + 8);
    g_assert (sha->n == 0);
    for (int i = 0; i < 8; i++)
      g_snprintf (hex + 8 * i, 9, "%08x", sha->h[i]);
  }
#endif
}
