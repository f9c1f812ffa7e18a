/* dlen-safetensors.c: a strict reader, safe on hostile input, and an atomic writer of safetensors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* mkostemp, O_CLOEXEC, fsync */
#endif

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlen-private.h"
#include "dlen-safetensors-private.h"

/* The format stores IEEE-754 binary32; the byte order is handled at run time below. */
_Static_assert (CHAR_BIT == 8, "safetensors needs 8-bit bytes");
_Static_assert (sizeof (float) == 4 && FLT_RADIX == 2 && FLT_MANT_DIG == 24 && FLT_MAX_EXP == 128,
                "safetensors F32 needs IEEE-754 binary32 floats");

#define METADATA_KEY "__metadata__"
#define MSG_NAME_MAX 72   /* bytes of a name quoted in an error message */

/* ---- Small helpers shared by reader and writer ------------------------------------------- */

static bool
host_is_little_endian (void)
{
  const uint32_t one = 1;
  unsigned char first;
  memcpy (&first, &one, 1);
  return first == 1;
}

static void
swap32_in_place (unsigned char *p, size_t n_words)
{
  for (size_t i = 0; i < n_words; i++, p += 4)
    {
      unsigned char t0 = p[0], t1 = p[1];
      p[0] = p[3];
      p[1] = p[2];
      p[2] = t1;
      p[3] = t0;
    }
}

/* The offset of the first byte that does not start a valid UTF-8 sequence (overlong forms,
 * surrogates and code points above U+10FFFF are invalid), or @len when all of @s is valid. */
static size_t
utf8_invalid_at (const unsigned char *s, size_t len)
{
  size_t i = 0;
  while (i < len)
    {
      unsigned char c = s[i], lo = 0x80, hi = 0xbf;
      size_t n, k;
      if (c < 0x80)
        {
          i++;
          continue;
        }
      if (c >= 0xc2 && c <= 0xdf)
        n = 1;
      else if (c == 0xe0)
        n = 2, lo = 0xa0;
      else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
        n = 2;
      else if (c == 0xed)
        n = 2, hi = 0x9f;
      else if (c == 0xf0)
        n = 3, lo = 0x90;
      else if (c >= 0xf1 && c <= 0xf3)
        n = 3;
      else if (c == 0xf4)
        n = 3, hi = 0x8f;
      else
        return i;
      if (len - i - 1 < n || s[i + 1] < lo || s[i + 1] > hi)
        return i;
      for (k = 2; k <= n; k++)
        if ((s[i + k] & 0xc0) != 0x80)
          return i;
      i += n + 1;
    }
  return len;
}

/* Copies @s into @buf for quoting in an error message: cut to MSG_NAME_MAX bytes on a UTF-8
 * boundary (with "..." when cut), control characters and invalid bytes shown as '?'. */
static const char *
msg_name (char *buf, size_t size, const char *s)
{
  size_t len = strlen (s), n = len, i;
  if (n > MSG_NAME_MAX)
    {
      n = MSG_NAME_MAX;
      while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
        n--;
    }
  if (n + 4 > size)
    n = 0;
  for (i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char) s[i];
      buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
    }
  if (utf8_invalid_at ((const unsigned char *) buf, n) != n)
    for (i = 0; i < n; i++)
      if ((unsigned char) buf[i] >= 0x80)
        buf[i] = '?';
  if (n < len)
    memcpy (buf + n, "...", 3), n += 3;
  buf[n] = '\0';
  return buf;
}

/* Formats "[d0, d1, ...]" into @buf. */
static const char *
shape_to_string (char *buf, size_t size, uint32_t ndim, const int64_t *shape)
{
  size_t len = 0;
  buf[len++] = '[';
  for (uint32_t i = 0; i < ndim && len < size; i++)
    {
      int n = snprintf (buf + len, size - len, "%s%" PRId64, i ? ", " : "", shape[i]);
      if (n < 0)
        break;
      len += (size_t) n;
    }
  if (len + 2 > size)
    len = size - 2;
  buf[len++] = ']';
  buf[len] = '\0';
  return buf;
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The number of elements of @shape, or -1 when it overflows int64 or its F32 byte size does. */
static int64_t
shape_numel (uint32_t ndim, const int64_t *shape)
{
  int64_t n = 1;
  for (uint32_t i = 0; i < ndim; i++)
    if (shape[i] == 0)
      return 0;
  for (uint32_t i = 0; i < ndim; i++)
    {
      if (shape[i] < 0 || n > INT64_MAX / shape[i])
        return -1;
      n *= shape[i];
    }
  return n > INT64_MAX / 4 ? -1 : n;
}

/* ---- Writer ---------------------------------------------------------------------------- */

typedef struct {
  char *buf;
  size_t len;
  size_t cap;
  bool failed;
} StrBuf;

static void
sb_append (StrBuf *sb, const char *s, size_t n)
{
  if (sb->failed)
    return;
  if (n > sb->cap - sb->len)
    {
      size_t cap = sb->cap ? sb->cap : 256;
      char *buf;
      while (cap - sb->len < n)
        {
          if (cap > SIZE_MAX / 2)
            {
              sb->failed = true;
              return;
            }
          cap *= 2;
        }
      buf = realloc (sb->buf, cap);
      if (!buf)
        {
          sb->failed = true;
          return;
        }
      sb->buf = buf;
      sb->cap = cap;
    }
  memcpy (sb->buf + sb->len, s, n);
  sb->len += n;
}

static void
sb_puts (StrBuf *sb, const char *s)
{
  sb_append (sb, s, strlen (s));
}

static void
sb_put_json_string (StrBuf *sb, const char *s)
{
  static const char hex[] = "0123456789abcdef";
  const char *run = s;
  sb_append (sb, "\"", 1);
  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      char esc[7] = { '\\', 0 };
      size_t esc_len = 2;
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      switch (c)
        {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
          memcpy (esc + 1, "u00", 3);
          esc[4] = hex[c >> 4];
          esc[5] = hex[c & 15];
          esc_len = 6;
          break;
        }
      sb_append (sb, run, (size_t) (s - run));
      sb_append (sb, esc, esc_len);
      run = s + 1;
    }
  sb_append (sb, run, (size_t) (s - run));
  sb_append (sb, "\"", 1);
}

static void
sb_put_u64 (StrBuf *sb, uint64_t v)
{
  char num[24];
  int n = snprintf (num, sizeof num, "%" PRIu64, v);
  sb_append (sb, num, (size_t) n);
}

static int
check_write_args (const DlenTensorSpec *tensors, size_t n_tensors,
                  const char *const *meta_keys, const char *const *meta_values, size_t n_meta)
{
  const char **sorted = NULL;
  size_t n_sorted = n_tensors > n_meta ? n_tensors : n_meta;
  uint64_t total = 0;
  char nb[MSG_NAME_MAX + 4];

  if (n_tensors > 0 && !tensors)
    return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: %zu tensors but no tensor array", n_tensors);
  if (n_meta > 0 && (!meta_keys || !meta_values))
    return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: %zu metadata pairs but no key or value array",
                       n_meta);
  for (size_t i = 0; i < n_tensors; i++)
    {
      const DlenTensorSpec *t = &tensors[i];
      size_t len;
      int64_t numel;
      if (!t->name)
        return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: tensor %zu has no name", i);
      len = strlen (t->name);
      if (len == 0 || len > DLEN_SAFETENSORS_NAME_MAX)
        return _dlen_fail (DLEN_STATUS_INVALID,
                           "safetensors: tensor %zu name '%s' is %zu bytes (must be 1 to %d)",
                           i, msg_name (nb, sizeof nb, t->name), len, DLEN_SAFETENSORS_NAME_MAX);
      if (utf8_invalid_at ((const unsigned char *) t->name, len) != len)
        return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: tensor %zu name is not valid UTF-8", i);
      if (strcmp (t->name, METADATA_KEY) == 0)
        return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: tensor %zu is named '" METADATA_KEY
                           "', which is reserved", i);
      if (t->ndim > DLEN_SAFETENSORS_MAX_NDIM)
        return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: tensor '%s' has %" PRIu32
                           " dimensions (at most %d)", msg_name (nb, sizeof nb, t->name), t->ndim,
                           DLEN_SAFETENSORS_MAX_NDIM);
      for (uint32_t d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0)
          return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: tensor '%s' has negative dimension %"
                             PRId64, msg_name (nb, sizeof nb, t->name), t->shape[d]);
      numel = shape_numel (t->ndim, t->shape);
      if (numel < 0 || (uint64_t) numel * 4 > (uint64_t) INT64_MAX - total)
        return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: tensor '%s' is too large",
                           msg_name (nb, sizeof nb, t->name));
      if (numel > 0 && !t->data)
        return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: tensor '%s' has no data",
                           msg_name (nb, sizeof nb, t->name));
      total += (uint64_t) numel * 4;
    }
  for (size_t i = 0; i < n_meta; i++)
    {
      if (!meta_keys[i] || !meta_values[i])
        return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: metadata pair %zu has a NULL key or value", i);
      if (utf8_invalid_at ((const unsigned char *) meta_keys[i], strlen (meta_keys[i])) != strlen (meta_keys[i])
          || utf8_invalid_at ((const unsigned char *) meta_values[i], strlen (meta_values[i]))
             != strlen (meta_values[i]))
        return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: metadata pair %zu is not valid UTF-8", i);
    }

  if (n_sorted == 0)
    return DLEN_STATUS_OK;
  sorted = malloc (n_sorted * sizeof *sorted);
  if (!sorted)
    return _dlen_fail (DLEN_STATUS_NOMEM, "safetensors: out of memory");
  for (int pass = 0; pass < 2; pass++)
    {
      size_t n = pass == 0 ? n_tensors : n_meta;
      for (size_t i = 0; i < n; i++)
        sorted[i] = pass == 0 ? tensors[i].name : meta_keys[i];
      qsort (sorted, n, sizeof *sorted, compare_strings);
      for (size_t i = 1; i < n; i++)
        if (strcmp (sorted[i - 1], sorted[i]) == 0)
          {
            int status = _dlen_fail (DLEN_STATUS_INVALID, "safetensors: duplicate %s '%s'",
                                     pass == 0 ? "tensor name" : "metadata key",
                                     msg_name (nb, sizeof nb, sorted[i]));
            free (sorted);
            return status;
          }
    }
  free (sorted);
  return DLEN_STATUS_OK;
}

/* Builds the JSON header, padded with spaces so that 8 + its length is a multiple of 8. */
static int
build_header (StrBuf *sb, const DlenTensorSpec *tensors, size_t n_tensors,
              const char *const *meta_keys, const char *const *meta_values, size_t n_meta)
{
  uint64_t offset = 0;
  bool first = true;

  sb_puts (sb, "{");
  if (n_meta > 0)
    {
      sb_puts (sb, "\"" METADATA_KEY "\":{");
      for (size_t i = 0; i < n_meta; i++)
        {
          if (i)
            sb_puts (sb, ",");
          sb_put_json_string (sb, meta_keys[i]);
          sb_puts (sb, ":");
          sb_put_json_string (sb, meta_values[i]);
        }
      sb_puts (sb, "}");
      first = false;
    }
  for (size_t i = 0; i < n_tensors; i++)
    {
      const DlenTensorSpec *t = &tensors[i];
      uint64_t bytes = (uint64_t) shape_numel (t->ndim, t->shape) * 4;
      if (!first)
        sb_puts (sb, ",");
      first = false;
      sb_put_json_string (sb, t->name);
      sb_puts (sb, ":{\"dtype\":\"F32\",\"shape\":[");
      for (uint32_t d = 0; d < t->ndim; d++)
        {
          if (d)
            sb_puts (sb, ",");
          sb_put_u64 (sb, (uint64_t) t->shape[d]);
        }
      sb_puts (sb, "],\"data_offsets\":[");
      sb_put_u64 (sb, offset);
      sb_puts (sb, ",");
      sb_put_u64 (sb, offset + bytes);
      sb_puts (sb, "]}");
      offset += bytes;
    }
  sb_puts (sb, "}");
  while (!sb->failed && (8 + sb->len) % 8 != 0)
    sb_puts (sb, " ");
  if (sb->failed)
    return _dlen_fail (DLEN_STATUS_NOMEM, "safetensors: out of memory building the header");
  if (sb->len > DLEN_SAFETENSORS_HEADER_MAX)
    return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: the header would be %zu bytes (at most %u)",
                       sb->len, DLEN_SAFETENSORS_HEADER_MAX);
  return DLEN_STATUS_OK;
}

static int
write_all (int fd, const void *buf, size_t n)
{
  const unsigned char *p = buf;
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (w == 0)
        {
          errno = EIO;
          return -1;
        }
      p += w;
      n -= (size_t) w;
    }
  return 0;
}

static int
write_floats_le (int fd, const float *data, size_t n)
{
  unsigned char chunk[16384];
  if (host_is_little_endian ())
    return write_all (fd, data, n * 4);
  while (n > 0)
    {
      size_t k = n < sizeof chunk / 4 ? n : sizeof chunk / 4;
      memcpy (chunk, data, k * 4);
      swap32_in_place (chunk, k);
      if (write_all (fd, chunk, k * 4) < 0)
        return -1;
      data += k;
      n -= k;
    }
  return 0;
}

/* Makes the rename durable; best effort, since @path is already replaced when this runs. */
static void
sync_parent_dir (const char *path)
{
  const char *slash = strrchr (path, '/');
  char *dir;
  int fd;
  if (!slash)
    dir = strdup (".");
  else if (slash == path)
    dir = strdup ("/");
  else
    dir = strndup (path, (size_t) (slash - path));
  if (!dir)
    return;
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free (dir);
  if (fd < 0)
    return;
  fsync (fd);
  close (fd);
}

/* The file's bytes: the header's length, the header, then each tensor's floats. */
static int
write_file (int fd, const unsigned char *len_le, const StrBuf *header, const DlenTensorSpec *tensors, size_t n_tensors)
{
  if (write_all (fd, len_le, 8) < 0 || write_all (fd, header->buf, header->len) < 0)
    return -1;
  for (size_t i = 0; i < n_tensors; i++)
    {
      int64_t numel = shape_numel (tensors[i].ndim, tensors[i].shape);
      if (numel > 0 && write_floats_le (fd, tensors[i].data, (size_t) numel) < 0)
        return -1;
    }
  return 0;
}

/* Writes to @path in place, for a path that is not a regular file (a device such as /dev/null,
 * a FIFO): replacing it would put a file where the device was. */
static DlenStatus
write_in_place (const char *path, const unsigned char *len_le, const StrBuf *header, const DlenTensorSpec *tensors,
                size_t n_tensors)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  int saved_errno;
  if (fd < 0)
    return _dlen_fail (DLEN_STATUS_IO, "%s: cannot open: %s", path, strerror (errno));
  if (write_file (fd, len_le, header, tensors, n_tensors) < 0)
    {
      saved_errno = errno;
      close (fd);
      return _dlen_fail (DLEN_STATUS_IO, "%s: cannot write: %s", path, strerror (saved_errno));
    }
  if (close (fd) < 0)
    return _dlen_fail (DLEN_STATUS_IO, "%s: cannot close: %s", path, strerror (errno));
  return DLEN_STATUS_OK;
}

DlenStatus
_dlen_safetensors_write (const char *path,
                         const DlenTensorSpec *tensors,
                         size_t n_tensors,
                         const char *const *meta_keys,
                         const char *const *meta_values,
                         size_t n_meta)
{
  StrBuf header = { 0 };
  unsigned char len_le[8];
  char *tmp = NULL, *resolved = NULL;
  int fd = -1, status, saved_errno;
  const char *failed_op;
  mode_t mode = 0644;
  struct stat sb;
  int in_place;

  if (!path || !*path)
    return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: no path to write to");
  in_place = stat (path, &sb) == 0 && !S_ISREG (sb.st_mode);
  if (in_place && S_ISDIR (sb.st_mode))
    return _dlen_fail (DLEN_STATUS_IO, "%s: is a directory", path);
  status = check_write_args (tensors, n_tensors, meta_keys, meta_values, n_meta);
  if (status != DLEN_STATUS_OK)
    return status;
  status = build_header (&header, tensors, n_tensors, meta_keys, meta_values, n_meta);
  if (status != DLEN_STATUS_OK)
    {
      free (header.buf);
      return status;
    }
  for (int i = 0; i < 8; i++)
    len_le[i] = (unsigned char) ((uint64_t) header.len >> (8 * i));

  if (in_place)
    {
      status = write_in_place (path, len_le, &header, tensors, n_tensors);
      free (header.buf);
      return status;
    }
  /* Through a symbolic link, the file it points to is replaced, not the link. */
  if (lstat (path, &sb) == 0 && S_ISLNK (sb.st_mode) && (resolved = realpath (path, NULL)))
    path = resolved;

  tmp = malloc (strlen (path) + sizeof ".tmp.XXXXXX");
  if (!tmp)
    {
      free (header.buf);
      return _dlen_fail (DLEN_STATUS_NOMEM, "%s: out of memory", path);
    }
  strcpy (tmp, path);
  strcat (tmp, ".tmp.XXXXXX");
  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    {
      status = _dlen_fail (DLEN_STATUS_IO, "%s: cannot create a temporary file: %s", path,
                           strerror (errno));
      free (tmp);
      free (header.buf);
      free (resolved);
      return status;
    }

  /* mkstemp creates 0600; a model file replacing another keeps its permissions. */
  if (stat (path, &sb) == 0 && S_ISREG (sb.st_mode))
    mode = sb.st_mode & 07777;
  (void) fchmod (fd, mode);

  failed_op = "write";
  if (write_file (fd, len_le, &header, tensors, n_tensors) < 0)
    goto fail;
  failed_op = "sync";
  if (fsync (fd) < 0)
    goto fail;
  failed_op = "close";
  status = close (fd);
  fd = -1;
  if (status < 0)
    goto fail;
  failed_op = "rename";
  if (rename (tmp, path) < 0)
    goto fail;
  sync_parent_dir (path);
  free (tmp);
  free (header.buf);
  free (resolved);
  return DLEN_STATUS_OK;

fail:
  saved_errno = errno;
  if (fd >= 0)
    close (fd);
  unlink (tmp);
  status = _dlen_fail (DLEN_STATUS_IO, "%s: cannot %s the temporary file %s: %s", path, failed_op, tmp,
                       strerror (saved_errno));
  free (tmp);
  free (header.buf);
  free (resolved);
  return status;
}

/* ---- Reader ---------------------------------------------------------------------------- */

typedef struct {
  const char *name;            /* points into the decoded header */
  uint32_t ndim;
  int64_t shape[DLEN_SAFETENSORS_MAX_NDIM];
  uint64_t begin;
  uint64_t end;
} StTensor;

typedef struct {
  const char *key;             /* both point into the decoded header */
  const char *value;
} StMeta;

struct DlenSafetensors {
  char *path;
  char *header;                /* decoded in place; owns every name, key and value */
  size_t header_len;
  StTensor *tensors;           /* sorted by name */
  size_t n_tensors;
  StMeta *meta;                /* sorted by key */
  size_t n_meta;
  unsigned char *data;         /* the data section, malloc'd so aligned for float */
  size_t data_len;
};

/* The parser follows the schema instead of building a tree: a value of an unexpected type is
 * refused at its first byte, so nesting can never go deeper than the schema (object, object,
 * array), hostile nesting cannot exhaust the stack, and memory stays proportional to the
 * number of tensors. Strings are decoded in place: an escape never decodes to more bytes than
 * it occupies, so the decoded text and its NUL fit before the closing quote. */
typedef struct {
  const char *path;
  char *s;
  size_t len;
  size_t pos;
  DlenSafetensors *st;
  size_t tensors_cap;
  size_t meta_cap;
  bool seen_metadata;
} StParser;

static int json_error (StParser *p, size_t at, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static int
json_error (StParser *p, size_t at, const char *fmt, ...)
{
  char what[256];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (what, sizeof what, fmt, ap);
  va_end (ap);
  return _dlen_fail (DLEN_STATUS_FORMAT, "%s: header is not valid JSON at byte %zu: %s", p->path, at, what);
}

static void
skip_ws (StParser *p)
{
  while (p->pos < p->len)
    {
      char c = p->s[p->pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      p->pos++;
    }
}

/* Skips whitespace and consumes @c; fails with "expected @c". */
static int
expect_char (StParser *p, char c)
{
  skip_ws (p);
  if (p->pos >= p->len)
    return json_error (p, p->pos, "expected '%c' but the header ends", c);
  if (p->s[p->pos] != c)
    return json_error (p, p->pos, "expected '%c'", c);
  p->pos++;
  return DLEN_STATUS_OK;
}

/* After a member or element: consumes ',' (returns 1) or @close (returns 0), else fails. */
static int
next_or_close (StParser *p, char close)
{
  skip_ws (p);
  if (p->pos < p->len && p->s[p->pos] == ',')
    {
      p->pos++;
      return 1;
    }
  if (p->pos < p->len && p->s[p->pos] == close)
    {
      p->pos++;
      return 0;
    }
  return p->pos >= p->len ? json_error (p, p->pos, "expected ',' or '%c' but the header ends", close)
                          : json_error (p, p->pos, "expected ',' or '%c'", close);
}

static bool
peek (StParser *p, char c)
{
  skip_ws (p);
  return p->pos < p->len && p->s[p->pos] == c;
}

/* Skips whitespace and fails with a JSON error when the header ends where a value of @what
 * must start; otherwise returns OK and the caller checks the type. */
static int
expect_value (StParser *p, const char *what)
{
  skip_ws (p);
  if (p->pos >= p->len)
    return json_error (p, p->pos, "expected %s but the header ends", what);
  return DLEN_STATUS_OK;
}

static int
hex4 (const StParser *p, size_t at, uint32_t *out)
{
  uint32_t v = 0;
  if (p->len - at < 4 || at > p->len)
    return -1;
  for (size_t i = 0; i < 4; i++)
    {
      char c = p->s[at + i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= (uint32_t) (c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= (uint32_t) (c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= (uint32_t) (c - 'A' + 10);
      else
        return -1;
    }
  *out = v;
  return 0;
}

static size_t
utf8_encode (uint32_t cp, char *out)
{
  if (cp < 0x80)
    {
      out[0] = (char) cp;
      return 1;
    }
  if (cp < 0x800)
    {
      out[0] = (char) (0xc0 | (cp >> 6));
      out[1] = (char) (0x80 | (cp & 0x3f));
      return 2;
    }
  if (cp < 0x10000)
    {
      out[0] = (char) (0xe0 | (cp >> 12));
      out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
      out[2] = (char) (0x80 | (cp & 0x3f));
      return 3;
    }
  out[0] = (char) (0xf0 | (cp >> 18));
  out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char) (0x80 | (cp & 0x3f));
  return 4;
}

/* Parses the string at the cursor (after whitespace), decoding it in place. The header was
 * checked to be UTF-8 before parsing, so raw bytes are copied as they are. */
static int
parse_string (StParser *p, const char *what, const char **out, size_t *out_len)
{
  char *s = p->s;
  size_t r, w, start;

  skip_ws (p);
  if (p->pos >= p->len)
    return json_error (p, p->pos, "expected %s but the header ends", what);
  if (s[p->pos] != '"')
    return json_error (p, p->pos, "expected %s (a string)", what);
  start = w = r = p->pos + 1;
  for (;;)
    {
      unsigned char c;
      uint32_t cp, lo;
      if (r >= p->len)
        return json_error (p, p->pos, "unterminated string");
      c = (unsigned char) s[r];
      if (c == '"')
        break;
      if (c < 0x20)
        return json_error (p, r, "control character 0x%02x must be escaped in a string", c);
      if (c != '\\')
        {
          s[w++] = s[r++];
          continue;
        }
      if (r + 1 >= p->len)
        return json_error (p, p->pos, "unterminated string");
      switch (s[r + 1])
        {
        case '"': s[w++] = '"'; r += 2; continue;
        case '\\': s[w++] = '\\'; r += 2; continue;
        case '/': s[w++] = '/'; r += 2; continue;
        case 'b': s[w++] = '\b'; r += 2; continue;
        case 'f': s[w++] = '\f'; r += 2; continue;
        case 'n': s[w++] = '\n'; r += 2; continue;
        case 'r': s[w++] = '\r'; r += 2; continue;
        case 't': s[w++] = '\t'; r += 2; continue;
        case 'u': break;
        default:
          c = (unsigned char) s[r + 1];
          if (c > 0x20 && c < 0x7f)
            return json_error (p, r, "invalid escape '\\%c'", c);
          return json_error (p, r, "invalid escape: '\\' followed by byte 0x%02x", c);
        }
      if (hex4 (p, r + 2, &cp) < 0)
        return json_error (p, r, "\\u must be followed by four hexadecimal digits");
      if (cp >= 0xdc00 && cp <= 0xdfff)
        return json_error (p, r, "unpaired UTF-16 low surrogate \\u%04" PRIx32, cp);
      if (cp >= 0xd800 && cp <= 0xdbff)
        {
          if (r + 7 >= p->len || s[r + 6] != '\\' || s[r + 7] != 'u' || hex4 (p, r + 8, &lo) < 0
              || lo < 0xdc00 || lo > 0xdfff)
            return json_error (p, r, "UTF-16 high surrogate \\u%04" PRIx32
                               " is not followed by a low surrogate", cp);
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          r += 6;
        }
      if (cp == 0)
        return json_error (p, r, "\\u0000 (NUL) is not allowed in names, keys or values");
      r += 6;
      w += utf8_encode (cp, s + w);
    }
  s[w] = '\0';
  *out = s + start;
  if (out_len)
    *out_len = w - start;
  p->pos = r + 1;
  return DLEN_STATUS_OK;
}

/* Parses a JSON number that must be a non-negative integer of at most INT64_MAX; @what and
 * @owner (a tensor name or NULL) describe it in messages. */
static int
parse_index (StParser *p, const char *owner, const char *what, uint64_t *out)
{
  const char *s = p->s;
  size_t i, start;
  uint64_t v = 0;
  bool negative = false, fraction = false, exponent = false, overflow = false;
  char nb[MSG_NAME_MAX + 4];
  int status;

  if ((status = expect_value (p, "a number")) != DLEN_STATUS_OK)
    return status;
  i = start = p->pos;
  if (i < p->len && s[i] == '-')
    negative = true, i++;
  if (i >= p->len || s[i] < '0' || s[i] > '9')
    {
      if (negative)
        return json_error (p, start, "'-' is not followed by a digit");
      if (strchr ("]},:", s[i]))
        return json_error (p, start, "expected a value");
      return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': %s must be a non-negative integer "
                         "(header byte %zu)", p->path, msg_name (nb, sizeof nb, owner), what, start);
    }
  if (s[i] == '0')
    {
      i++;
      if (i < p->len && s[i] >= '0' && s[i] <= '9')
        return json_error (p, start, "a number has a leading zero");
    }
  else
    for (; i < p->len && s[i] >= '0' && s[i] <= '9'; i++)
      {
        uint64_t d = (uint64_t) (s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
          overflow = true;
        else
          v = v * 10 + d;
      }
  if (i < p->len && s[i] == '.')
    {
      fraction = true;
      if (++i >= p->len || s[i] < '0' || s[i] > '9')
        return json_error (p, start, "a number has no digit after its decimal point");
      while (i < p->len && s[i] >= '0' && s[i] <= '9')
        i++;
    }
  if (i < p->len && (s[i] == 'e' || s[i] == 'E'))
    {
      exponent = true;
      if (++i < p->len && (s[i] == '+' || s[i] == '-'))
        i++;
      if (i >= p->len || s[i] < '0' || s[i] > '9')
        return json_error (p, start, "a number has no digit in its exponent");
      while (i < p->len && s[i] >= '0' && s[i] <= '9')
        i++;
    }
  p->pos = i;
  if (negative || fraction || exponent)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': %s must be a non-negative integer, "
                       "not %.*s", p->path, msg_name (nb, sizeof nb, owner), what,
                       (int) (i - start < 40 ? i - start : 40), s + start);
  if (overflow || v > (uint64_t) INT64_MAX)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': %s %.*s is too large", p->path,
                       msg_name (nb, sizeof nb, owner), what, (int) (i - start < 40 ? i - start : 40),
                       s + start);
  *out = v;
  return DLEN_STATUS_OK;
}

static int
parse_metadata (StParser *p)
{
  DlenSafetensors *st = p->st;
  int status, more;
  char nb[MSG_NAME_MAX + 4];

  if (p->seen_metadata)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: duplicate key '" METADATA_KEY "'", p->path);
  p->seen_metadata = true;
  if ((status = expect_value (p, "an object")) != DLEN_STATUS_OK)
    return status;
  if (!peek (p, '{'))
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: '" METADATA_KEY "' must be an object of strings "
                       "(header byte %zu)", p->path, p->pos);
  p->pos++;
  if (peek (p, '}'))
    {
      p->pos++;
      return DLEN_STATUS_OK;
    }
  do
    {
      StMeta m;
      if ((status = parse_string (p, "a metadata key", &m.key, NULL)) != DLEN_STATUS_OK
          || (status = expect_char (p, ':')) != DLEN_STATUS_OK)
        return status;
      if ((status = expect_value (p, "a string")) != DLEN_STATUS_OK)
        return status;
      if (!peek (p, '"'))
        return _dlen_fail (DLEN_STATUS_FORMAT, "%s: metadata value of key '%s' is not a string "
                           "(header byte %zu)", p->path, msg_name (nb, sizeof nb, m.key), p->pos);
      if ((status = parse_string (p, "a metadata value", &m.value, NULL)) != DLEN_STATUS_OK)
        return status;
      if (st->n_meta == p->meta_cap)
        {
          size_t cap = p->meta_cap ? p->meta_cap * 2 : 8;
          StMeta *grown = realloc (st->meta, cap * sizeof *grown);
          if (!grown)
            return _dlen_fail (DLEN_STATUS_NOMEM, "%s: out of memory", p->path);
          st->meta = grown;
          p->meta_cap = cap;
        }
      st->meta[st->n_meta++] = m;
      more = next_or_close (p, '}');
      if (more < 0)
        return more;
    }
  while (more);
  return DLEN_STATUS_OK;
}

static int
offsets_error (StParser *p, const char *name, size_t at)
{
  char nb[MSG_NAME_MAX + 4];
  int status = expect_value (p, "',' or ']'");
  if (status != DLEN_STATUS_OK)
    return status;
  return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': data_offsets must be an array of exactly two "
                     "integers (header byte %zu)", p->path, msg_name (nb, sizeof nb, name), at);
}

static int
parse_tensor (StParser *p, const char *name)
{
  DlenSafetensors *st = p->st;
  StTensor t = { .name = name };
  bool have_dtype = false, have_shape = false, have_offsets = false;
  int status, more;
  char nb[MSG_NAME_MAX + 4];

  if ((status = expect_value (p, "an object")) != DLEN_STATUS_OK)
    return status;
  if (!peek (p, '{'))
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': its entry must be an object (header byte %zu)",
                       p->path, msg_name (nb, sizeof nb, name), p->pos);
  p->pos++;
  if (peek (p, '}'))
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': empty entry", p->path,
                       msg_name (nb, sizeof nb, name));
  do
    {
      const char *field;
      size_t at;
      if ((status = parse_string (p, "a field name", &field, NULL)) != DLEN_STATUS_OK
          || (status = expect_char (p, ':')) != DLEN_STATUS_OK)
        return status;
      if ((status = expect_value (p, "a value")) != DLEN_STATUS_OK)
        return status;
      at = p->pos;
      if (strcmp (field, "dtype") == 0)
        {
          const char *dtype;
          char db[MSG_NAME_MAX + 4];
          if (have_dtype)
            return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': duplicate field 'dtype'", p->path,
                               msg_name (nb, sizeof nb, name));
          have_dtype = true;
          if (!peek (p, '"'))
            return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': dtype must be a string "
                               "(header byte %zu)", p->path, msg_name (nb, sizeof nb, name), at);
          if ((status = parse_string (p, "a dtype", &dtype, NULL)) != DLEN_STATUS_OK)
            return status;
          if (strcmp (dtype, "F32") != 0)
            return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' has dtype '%s'; only F32 is supported",
                               p->path, msg_name (nb, sizeof nb, name), msg_name (db, sizeof db, dtype));
        }
      else if (strcmp (field, "shape") == 0)
        {
          if (have_shape)
            return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': duplicate field 'shape'", p->path,
                               msg_name (nb, sizeof nb, name));
          have_shape = true;
          if (!peek (p, '['))
            return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': shape must be an array "
                               "(header byte %zu)", p->path, msg_name (nb, sizeof nb, name), at);
          p->pos++;
          if (peek (p, ']'))
            p->pos++;
          else
            do
              {
                uint64_t d;
                if (t.ndim == DLEN_SAFETENSORS_MAX_NDIM)
                  return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' has more than %d dimensions",
                                     p->path, msg_name (nb, sizeof nb, name), DLEN_SAFETENSORS_MAX_NDIM);
                if ((status = parse_index (p, name, "a shape entry", &d)) != DLEN_STATUS_OK)
                  return status;
                t.shape[t.ndim++] = (int64_t) d;
                more = next_or_close (p, ']');
                if (more < 0)
                  return more;
              }
            while (more);
        }
      else if (strcmp (field, "data_offsets") == 0)
        {
          if (have_offsets)
            return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s': duplicate field 'data_offsets'",
                               p->path, msg_name (nb, sizeof nb, name));
          have_offsets = true;
          if (!peek (p, '['))
            return offsets_error (p, name, at);
          p->pos++;
          if (peek (p, ']'))
            return offsets_error (p, name, at);
          if ((status = parse_index (p, name, "a data offset", &t.begin)) != DLEN_STATUS_OK)
            return status;
          if (!peek (p, ','))
            return offsets_error (p, name, at);
          p->pos++;
          if ((status = parse_index (p, name, "a data offset", &t.end)) != DLEN_STATUS_OK)
            return status;
          if (!peek (p, ']'))
            return offsets_error (p, name, at);
          p->pos++;
        }
      else
        {
          char fb[MSG_NAME_MAX + 4];
          return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' has an unknown field '%s'", p->path,
                             msg_name (nb, sizeof nb, name), msg_name (fb, sizeof fb, field));
        }
      more = next_or_close (p, '}');
      if (more < 0)
        return more;
    }
  while (more);

  if (!have_dtype || !have_shape || !have_offsets)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' has no '%s' field", p->path,
                       msg_name (nb, sizeof nb, name),
                       !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
  if (shape_numel (t.ndim, t.shape) < 0)
    {
      char sb[160];
      return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' has shape %s, whose size overflows",
                         p->path, msg_name (nb, sizeof nb, name),
                         shape_to_string (sb, sizeof sb, t.ndim, t.shape));
    }
  if (st->n_tensors == p->tensors_cap)
    {
      size_t cap = p->tensors_cap ? p->tensors_cap * 2 : 16;
      StTensor *grown = realloc (st->tensors, cap * sizeof *grown);
      if (!grown)
        return _dlen_fail (DLEN_STATUS_NOMEM, "%s: out of memory", p->path);
      st->tensors = grown;
      p->tensors_cap = cap;
    }
  st->tensors[st->n_tensors++] = t;
  return DLEN_STATUS_OK;
}

static int
parse_header (StParser *p)
{
  int status, more;
  char nb[MSG_NAME_MAX + 4];

  skip_ws (p);
  if (p->pos >= p->len || p->s[p->pos] != '{')
    return json_error (p, p->pos, "the header must be a JSON object");
  p->pos++;
  if (peek (p, '}'))
    p->pos++;
  else
    do
      {
        const char *key;
        size_t key_len;
        if ((status = parse_string (p, "a tensor name", &key, &key_len)) != DLEN_STATUS_OK
            || (status = expect_char (p, ':')) != DLEN_STATUS_OK)
          return status;
        if (strcmp (key, METADATA_KEY) == 0)
          status = parse_metadata (p);
        else if (key_len == 0 || key_len > DLEN_SAFETENSORS_NAME_MAX)
          return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor name '%s' is %zu bytes (must be 1 to %d)",
                             p->path, msg_name (nb, sizeof nb, key), key_len, DLEN_SAFETENSORS_NAME_MAX);
        else
          status = parse_tensor (p, key);
        if (status != DLEN_STATUS_OK)
          return status;
        more = next_or_close (p, '}');
        if (more < 0)
          return more;
      }
    while (more);
  skip_ws (p);
  if (p->pos != p->len)
    return json_error (p, p->pos, "unexpected characters after the header object");
  return DLEN_STATUS_OK;
}

static int
compare_tensor_names (const void *a, const void *b)
{
  return strcmp (((const StTensor *) a)->name, ((const StTensor *) b)->name);
}

static int
compare_meta_keys (const void *a, const void *b)
{
  return strcmp (((const StMeta *) a)->key, ((const StMeta *) b)->key);
}

static int
compare_tensor_offsets (const void *a, const void *b)
{
  const StTensor *x = *(const StTensor *const *) a, *y = *(const StTensor *const *) b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return 0;
}

/* Checks names, metadata keys, sizes and that the tensors tile [0, data_len) exactly. Since
 * every tensor's size is a multiple of 4 and the tiling starts at 0, every begin is a multiple
 * of 4 and so float-aligned in the malloc'd data buffer. */
static int
validate (DlenSafetensors *st)
{
  const StTensor **by_offset;
  uint64_t covered = 0;
  char nb[MSG_NAME_MAX + 4], nb2[MSG_NAME_MAX + 4], sb[160];

  /* qsort and bsearch want a non-NULL base even for zero elements. */
  if (st->n_tensors > 0)
    qsort (st->tensors, st->n_tensors, sizeof *st->tensors, compare_tensor_names);
  for (size_t i = 1; i < st->n_tensors; i++)
    if (strcmp (st->tensors[i - 1].name, st->tensors[i].name) == 0)
      return _dlen_fail (DLEN_STATUS_FORMAT, "%s: duplicate tensor name '%s'", st->path,
                         msg_name (nb, sizeof nb, st->tensors[i].name));
  if (st->n_meta > 0)
    qsort (st->meta, st->n_meta, sizeof *st->meta, compare_meta_keys);
  for (size_t i = 1; i < st->n_meta; i++)
    if (strcmp (st->meta[i - 1].key, st->meta[i].key) == 0)
      return _dlen_fail (DLEN_STATUS_FORMAT, "%s: duplicate metadata key '%s'", st->path,
                         msg_name (nb, sizeof nb, st->meta[i].key));

  for (size_t i = 0; i < st->n_tensors; i++)
    {
      const StTensor *t = &st->tensors[i];
      uint64_t bytes = (uint64_t) shape_numel (t->ndim, t->shape) * 4;
      if (t->begin > t->end)
        return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64
                           "] end before they begin", st->path, msg_name (nb, sizeof nb, t->name),
                           t->begin, t->end);
      if (t->end > st->data_len)
        return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64
                           "] exceed the data section (%zu bytes)", st->path,
                           msg_name (nb, sizeof nb, t->name), t->begin, t->end, st->data_len);
      if (t->end - t->begin != bytes)
        return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64
                           "] hold %" PRIu64 " bytes but F32 shape %s needs %" PRIu64, st->path,
                           msg_name (nb, sizeof nb, t->name), t->begin, t->end, t->end - t->begin,
                           shape_to_string (sb, sizeof sb, t->ndim, t->shape), bytes);
    }

  if (st->n_tensors == 0)
    {
      if (st->data_len > 0)
        return _dlen_fail (DLEN_STATUS_FORMAT, "%s: the data section has %zu bytes but no tensor covers them",
                           st->path, st->data_len);
      return DLEN_STATUS_OK;
    }
  by_offset = malloc (st->n_tensors * sizeof *by_offset);
  if (!by_offset)
    return _dlen_fail (DLEN_STATUS_NOMEM, "%s: out of memory", st->path);
  for (size_t i = 0; i < st->n_tensors; i++)
    by_offset[i] = &st->tensors[i];
  qsort (by_offset, st->n_tensors, sizeof *by_offset, compare_tensor_offsets);
  for (size_t i = 0; i < st->n_tensors; i++)
    {
      const StTensor *t = by_offset[i];
      int status = DLEN_STATUS_OK;
      if (t->begin < covered)
        status = _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensors '%s' [%" PRIu64 ", %" PRIu64 "] and '%s' [%"
                             PRIu64 ", %" PRIu64 "] overlap", st->path,
                             msg_name (nb, sizeof nb, by_offset[i - 1]->name), by_offset[i - 1]->begin,
                             by_offset[i - 1]->end, msg_name (nb2, sizeof nb2, t->name), t->begin, t->end);
      else if (t->begin > covered)
        status = _dlen_fail (DLEN_STATUS_FORMAT, "%s: bytes [%" PRIu64 ", %" PRIu64 ") of the data section "
                             "are not covered by any tensor", st->path, covered, t->begin);
      if (status != DLEN_STATUS_OK)
        {
          free (by_offset);
          return status;
        }
      covered = t->end;
    }
  free (by_offset);
  if (covered != st->data_len)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: bytes [%" PRIu64 ", %zu) of the data section are not "
                       "covered by any tensor", st->path, covered, st->data_len);
  return DLEN_STATUS_OK;
}

/* Reads up to @n bytes; *@got is less than @n only at end of file. */
static int
read_all (int fd, void *buf, size_t n, size_t *got)
{
  unsigned char *p = buf;
  *got = 0;
  while (*got < n)
    {
      ssize_t r = read (fd, p + *got, n - *got);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (r == 0)
        break;
      *got += (size_t) r;
    }
  return 0;
}

static int
read_file (DlenSafetensors *st, int fd)
{
  struct stat sb;
  unsigned char len_le[8];
  uint64_t header_len = 0, size;
  size_t got;

  if (fstat (fd, &sb) < 0)
    return _dlen_fail (DLEN_STATUS_IO, "%s: cannot stat: %s", st->path, strerror (errno));
  if (!S_ISREG (sb.st_mode))
    return _dlen_fail (DLEN_STATUS_IO, "%s: not a regular file", st->path);
  size = (uint64_t) sb.st_size;
  if (size < 8)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: the file is %" PRIu64 " bytes, too short for the "
                       "8-byte header length", st->path, size);
  if (read_all (fd, len_le, 8, &got) < 0)
    return _dlen_fail (DLEN_STATUS_IO, "%s: cannot read: %s", st->path, strerror (errno));
  if (got < 8)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: the file ends early (it shrank while being read)", st->path);
  for (int i = 7; i >= 0; i--)
    header_len = header_len << 8 | len_le[i];
  if (header_len == 0)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: the header length is 0", st->path);
  if (header_len > size - 8)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: the header length %" PRIu64 " exceeds the %" PRIu64
                       " bytes that follow it", st->path, header_len, size - 8);
  if (header_len > DLEN_SAFETENSORS_HEADER_MAX)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: the header length %" PRIu64 " exceeds the limit of %u "
                       "bytes", st->path, header_len, DLEN_SAFETENSORS_HEADER_MAX);
  if (size - 8 - header_len > SIZE_MAX)
    return _dlen_fail (DLEN_STATUS_NOMEM, "%s: the data section is too large for this machine", st->path);
  st->data_len = (size_t) (size - 8 - header_len);

  st->header = malloc ((size_t) header_len + 1);
  st->data = malloc (st->data_len ? st->data_len : 4);
  if (!st->header || !st->data)
    return _dlen_fail (DLEN_STATUS_NOMEM, "%s: out of memory for %" PRIu64 " bytes", st->path, size);
  st->header_len = (size_t) header_len;
  if (read_all (fd, st->header, st->header_len, &got) < 0)
    return _dlen_fail (DLEN_STATUS_IO, "%s: cannot read: %s", st->path, strerror (errno));
  if (got < st->header_len)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: the file ends early (it shrank while being read)", st->path);
  if (read_all (fd, st->data, st->data_len, &got) < 0)
    return _dlen_fail (DLEN_STATUS_IO, "%s: cannot read: %s", st->path, strerror (errno));
  if (got < st->data_len)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: the file ends early (it shrank while being read)", st->path);
  st->header[header_len] = '\0';
  return DLEN_STATUS_OK;
}

DlenStatus
_dlen_safetensors_read (const char *path, DlenSafetensors **out)
{
  DlenSafetensors *st;
  StParser p = { 0 };
  size_t bad;
  int fd, status;

  if (!out)
    return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: no place to return the file");
  *out = NULL;
  if (!path)
    return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: no path to read");
  st = calloc (1, sizeof *st);
  if (!st || !(st->path = strdup (path)))
    {
      free (st);
      return _dlen_fail (DLEN_STATUS_NOMEM, "%s: out of memory", path);
    }
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      status = _dlen_fail (DLEN_STATUS_IO, "%s: cannot open: %s", path, strerror (errno));
      _dlen_safetensors_free (st);
      return status;
    }
  status = read_file (st, fd);
  close (fd);
  if (status != DLEN_STATUS_OK)
    goto fail;

  bad = utf8_invalid_at ((const unsigned char *) st->header, st->header_len);
  if (bad != st->header_len)
    {
      status = _dlen_fail (DLEN_STATUS_FORMAT, "%s: the header is not valid UTF-8 at byte %zu", path, bad);
      goto fail;
    }
  p.path = st->path;
  p.s = st->header;
  p.len = st->header_len;
  p.st = st;
  if ((status = parse_header (&p)) != DLEN_STATUS_OK || (status = validate (st)) != DLEN_STATUS_OK)
    goto fail;
  if (!host_is_little_endian ())
    swap32_in_place (st->data, st->data_len / 4);
  *out = st;
  return DLEN_STATUS_OK;

fail:
  _dlen_safetensors_free (st);
  return status;
}

void
_dlen_safetensors_free (DlenSafetensors *st)
{
  if (!st)
    return;
  free (st->path);
  free (st->header);
  free (st->tensors);
  free (st->meta);
  free (st->data);
  free (st);
}

const char *
_dlen_safetensors_meta (const DlenSafetensors *st, const char *key)
{
  const StMeta probe = { .key = key };
  const StMeta *m;
  if (!st || !key || st->n_meta == 0)
    return NULL;
  m = bsearch (&probe, st->meta, st->n_meta, sizeof *st->meta, compare_meta_keys);
  return m ? m->value : NULL;
}

size_t
_dlen_safetensors_n_tensors (const DlenSafetensors *st)
{
  return st ? st->n_tensors : 0;
}

DlenStatus
_dlen_safetensors_get (const DlenSafetensors *st,
                       const char *name,
                       uint32_t expected_ndim,
                       const int64_t *expected_shape,
                       const float **data)
{
  const StTensor probe = { .name = name };
  const StTensor *t = NULL;
  char nb[MSG_NAME_MAX + 4], have[160], want[160];
  bool same;

  if (data)
    *data = NULL;
  if (!st || !name || !data || expected_ndim > DLEN_SAFETENSORS_MAX_NDIM
      || (expected_ndim > 0 && !expected_shape))
    return _dlen_fail (DLEN_STATUS_INVALID, "safetensors: invalid arguments to look up tensor '%s'",
                       name ? msg_name (nb, sizeof nb, name) : "(null)");
  if (st->n_tensors > 0)
    t = bsearch (&probe, st->tensors, st->n_tensors, sizeof *st->tensors, compare_tensor_names);
  if (!t)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: no tensor named '%s'", st->path,
                       msg_name (nb, sizeof nb, name));
  same = t->ndim == expected_ndim;
  for (uint32_t i = 0; same && i < expected_ndim; i++)
    same = t->shape[i] == expected_shape[i];
  if (!same)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' has shape %s, expected %s", st->path,
                       msg_name (nb, sizeof nb, name), shape_to_string (have, sizeof have, t->ndim, t->shape),
                       shape_to_string (want, sizeof want, expected_ndim, expected_shape));
  *data = (const float *) (const void *) (st->data + t->begin);
  return DLEN_STATUS_OK;
}
