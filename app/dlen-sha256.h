/* dlen-sha256.h: SHA-256 for the import's provenance, with the x86 SHA extensions when the CPU has them. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* On the stack; init, update any number of times, then finish (which frees what init took). */
typedef struct {
  guint32 h[8];
  guint8 block[64];
  gsize n;                     /* bytes waiting in block */
  guint64 len;                 /* bytes hashed so far */
  GChecksum *fallback;         /* GLib's SHA-256 when the CPU has no SHA extensions */
} DlenSha256;

void dlen_sha256_init (DlenSha256 *sha);
void dlen_sha256_update (DlenSha256 *sha, const void *data, gsize len);
/* Writes the digest as 64 lowercase hex digits and a NUL. */
void dlen_sha256_finish (DlenSha256 *sha, char hex[65]);

/* TRUE when this CPU's SHA extensions do the work (about six times GLib's speed). */
gboolean dlen_sha256_accelerated (void);

G_END_DECLS
