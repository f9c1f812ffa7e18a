/* dlen-csv.c: streaming CSV/TSV reader: delimiter detection, RFC 4180 quoting, bounded memory, located errors. */
#include "dlen-csv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* The file is read in chunks of this size; memory does not grow with the file. */
#define BUF_SIZE (64 * 1024)

/* How much of the start of the file is examined to tell text from binary. */
#define SNIFF_SIZE 4096

/* Byte classes: the bytes that interrupt a run of plain field content. */
enum {
  CLS_UNQUOTED = 1 << 0,  /* delimiter, '"', '\n', NUL */
  CLS_QUOTED = 1 << 1,    /* '"', '\n', NUL */
};

enum {
  ST_FIELD_START,
  ST_UNQUOTED,
  ST_QUOTED,
  ST_AFTER_QUOTE,   /* just saw a '"' inside a quoted field: escape, end of field, or stray text */
};

typedef enum {
  REC_OK,
  REC_EOF,
  REC_OPEN_QUOTE,
  REC_TOO_LONG,
  REC_IO,
} RecStatus;

struct _DlenCsvReader
{
  char *path;              /* UTF-8 display name, used in messages */
  int fd;
  guint64 size;

  /* Read buffer */
  guchar *buf;
  gsize buf_pos;
  gsize buf_len;
  guint64 buf_offset;      /* file offset of buf[0] */
  gboolean eof;
  int io_errno;
  gboolean finished;       /* end of file or a terminal error: next returns 0 */

  char delim;
  guint8 cls[256];
  gsize max_record;

  /* Current record: stored fields' contents, each followed by a NUL */
  char *rec;
  gsize rec_len;
  gsize rec_cap;
  gsize *field_off;        /* offset in rec of each stored field */
  const char **fields;     /* built from field_off once the record is complete */
  guint field_cap;
  guint store_limit;       /* fields past this are counted but not stored */
  guint n_fields;          /* fields counted in the current record */
  guint nul_field;         /* 1-based field holding the first NUL byte, 0 if none */
  guint quote_field;       /* 1-based field of the last opening quote */
  guint64 quote_line;
  guint long_field;        /* 1-based field where the record crossed max_record */

  guint64 line;            /* physical line of the next unread byte, 1-based */
  guint64 rec_line;        /* physical line where the current record starts */

  guint n_columns;
  char **columns;
  GHashTable *column_index;  /* name -> index + 1 */

  guint64 err_line;
  guint err_column;
};

G_DEFINE_QUARK (dlen-csv-error-quark, dlen_csv_error)

static void record_error (DlenCsvReader *r,
                          GError **error,
                          DlenCsvError code,
                          guint column,
                          const char *format,
                          ...) G_GNUC_PRINTF (5, 6);

/* Sets a "PATH:LINE:COLUMN: reason" error located at the current record's first line. */
static void
record_error (DlenCsvReader *r,
              GError **error,
              DlenCsvError code,
              guint column,
              const char *format,
              ...)
{
  g_autofree char *reason = NULL;
  va_list ap;

  va_start (ap, format);
  reason = g_strdup_vprintf (format, ap);
  va_end (ap);

  r->err_line = r->rec_line;
  r->err_column = column;
  g_set_error (error, DLEN_CSV_ERROR, code, "%s:%" G_GUINT64_FORMAT ":%u: %s",
               r->path, r->rec_line, column, reason);
}

/* Replaces the buffer's contents with the next chunk of the file. FALSE at end of file or on
 * a read error (io_errno set); data read before an error is still returned first. */
static gboolean
refill (DlenCsvReader *r)
{
  gsize got = 0;

  if (r->eof)
    return FALSE;

  r->buf_offset += r->buf_len;
  r->buf_pos = 0;
  r->buf_len = 0;

  /* Fill the whole buffer so the header sniff sees 4 KiB even when reading a pipe. */
  while (got < BUF_SIZE)
    {
      ssize_t n = read (r->fd, r->buf + got, BUF_SIZE - got);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          r->io_errno = errno;
          r->eof = TRUE;
          break;
        }
      if (n == 0)
        {
          r->eof = TRUE;
          break;
        }
      got += (gsize) n;
    }

  r->buf_len = got;
  return got > 0;
}

static void
rec_grow (DlenCsvReader *r,
          gsize extra)
{
  gsize need = r->rec_len + extra;
  gsize cap = MAX (MAX (r->rec_cap * 2, need), 4096);
  /* Content never exceeds max_record + 1 bytes plus one NUL per stored field, so doubling
   * must not overshoot that bound: a record near the limit costs the limit, not twice it. */
  gsize bound = r->max_record + r->store_limit + 16;

  if (cap > bound)
    cap = MAX (bound, need);
  r->rec = g_realloc (r->rec, cap);
  r->rec_cap = cap;
}

static inline void
rec_append (DlenCsvReader *r,
            const void *s,
            gsize n)
{
  if (G_UNLIKELY (r->rec_len + n > r->rec_cap))
    rec_grow (r, n);
  memcpy (r->rec + r->rec_len, s, n);
  r->rec_len += n;
}

static inline void
rec_append1 (DlenCsvReader *r,
             char c)
{
  if (G_UNLIKELY (r->rec_len + 1 > r->rec_cap))
    rec_grow (r, 1);
  r->rec[r->rec_len++] = c;
}

static void
field_grow (DlenCsvReader *r,
            guint need)
{
  guint cap = MAX (MAX (r->field_cap * 2, need), 16);

  cap = MIN (cap, MAX (r->store_limit, need));
  r->field_off = g_renew (gsize, r->field_off, cap);
  r->fields = g_renew (const char *, r->fields, cap);
  r->field_cap = cap;
}

/* Closes the field that started at @field_start, storing it if @storing. */
static inline void
end_field (DlenCsvReader *r,
           gsize field_start,
           gboolean storing)
{
  if (storing)
    {
      if (G_UNLIKELY (r->n_fields >= r->field_cap))
        field_grow (r, r->n_fields + 1);
      r->field_off[r->n_fields] = field_start;
      rec_append1 (r, '\0');
    }
  r->n_fields++;
}

/* Reads one record into rec/field_off, skipping blank lines. Only stores up to store_limit
 * fields and, once the record passes max_record bytes, stores nothing more but keeps parsing
 * (quote-aware) to the record's end, so a huge line costs time, not memory. */
static RecStatus
read_record (DlenCsvReader *r)
{
  const guint8 *cls = r->cls;
  const guchar delim = (guchar) r->delim;
  const guchar *p;
  const guchar *q;
  const guchar *e;
  guint64 start;
  gsize field_start;
  gsize lit_start;       /* content from here on is unquoted: a CR before LF is stripped */
  gboolean quoted_any;
  gboolean storing;
  gboolean skipping;
  gboolean at_eof;
  guint64 prev_line = r->rec_line;
  int state;
  guchar c;

restart:
  state = ST_FIELD_START;
  r->rec_len = 0;
  r->n_fields = 0;
  r->nul_field = 0;
  r->long_field = 0;
  r->rec_line = r->line;
  start = r->buf_offset + r->buf_pos;
  field_start = 0;
  lit_start = 0;
  quoted_any = FALSE;
  skipping = FALSE;
  at_eof = FALSE;
  storing = r->store_limit > 0;

#define CHECK_LIMIT()                                                           \
  G_STMT_START {                                                                \
    if (G_UNLIKELY (!skipping && r->buf_offset + r->buf_pos - start > r->max_record)) \
      {                                                                         \
        skipping = TRUE;                                                        \
        storing = FALSE;                                                        \
        r->long_field = r->n_fields + 1;                                        \
      }                                                                         \
  } G_STMT_END

#define END_FIELD()                                                             \
  G_STMT_START {                                                                \
    end_field (r, field_start, storing);                                        \
    storing = !skipping && r->n_fields < r->store_limit;                        \
    field_start = lit_start = r->rec_len;                                       \
  } G_STMT_END

  for (;;)
    {
      if (r->buf_pos == r->buf_len && !refill (r))
        {
          if (r->io_errno != 0)
            return REC_IO;
          at_eof = TRUE;
          if (state == ST_QUOTED)
            {
              r->finished = TRUE;
              return skipping ? REC_TOO_LONG : REC_OPEN_QUOTE;
            }
          if (r->buf_offset + r->buf_pos == start)
            {
              r->rec_line = prev_line;   /* line() keeps naming the last record */
              return REC_EOF;
            }
          goto end_of_line;   /* a last line without a line break */
        }

      p = r->buf + r->buf_pos;
      e = r->buf + r->buf_len;

      switch (state)
        {
        case ST_FIELD_START:
          if (*p == '"')
            {
              state = ST_QUOTED;
              quoted_any = TRUE;
              r->quote_field = r->n_fields + 1;
              r->quote_line = r->line;
              r->buf_pos++;
              continue;
            }
          state = ST_UNQUOTED;
          G_GNUC_FALLTHROUGH;

        case ST_UNQUOTED:
          for (q = p; q < e && !(cls[*q] & CLS_UNQUOTED); q++)
            ;
          r->buf_pos = (gsize) (q - r->buf);
          CHECK_LIMIT ();
          if (storing)
            rec_append (r, p, (gsize) (q - p));
          if (q == e)
            continue;
          c = *q;
          r->buf_pos++;
          if (c == delim)
            {
              END_FIELD ();
              state = ST_FIELD_START;
            }
          else if (c == '\n')
            {
              r->line++;
              goto end_of_line;
            }
          else if (c == '"')
            {
              /* A stray quote inside an unquoted field is kept literally, as most readers do. */
              if (storing)
                rec_append1 (r, '"');
            }
          else if (r->nul_field == 0)
            {
              r->nul_field = r->n_fields + 1;
            }
          continue;

        case ST_QUOTED:
          for (q = p; q < e && !(cls[*q] & CLS_QUOTED); q++)
            ;
          r->buf_pos = (gsize) (q - r->buf);
          CHECK_LIMIT ();
          if (storing)
            rec_append (r, p, (gsize) (q - p));
          if (q == e)
            continue;
          c = *q;
          r->buf_pos++;
          if (c == '"')
            {
              state = ST_AFTER_QUOTE;
              lit_start = r->rec_len;
            }
          else if (c == '\n')
            {
              r->line++;
              if (storing)
                rec_append1 (r, '\n');
            }
          else if (r->nul_field == 0)
            {
              r->nul_field = r->n_fields + 1;
            }
          continue;

        case ST_AFTER_QUOTE:
        default:
          c = *p;
          if (c == '"')
            {
              r->buf_pos++;
              if (storing)
                rec_append1 (r, '"');
              state = ST_QUOTED;
            }
          else if (c == delim)
            {
              r->buf_pos++;
              END_FIELD ();
              state = ST_FIELD_START;
            }
          else if (c == '\n')
            {
              r->buf_pos++;
              r->line++;
              goto end_of_line;
            }
          else
            {
              /* Text after a closing quote ("ab"c) is kept literally, like Python's csv;
               * a CR here is stripped if a LF follows. */
              state = ST_UNQUOTED;
            }
          continue;
        }
    }

end_of_line:
  if (storing && r->rec_len > lit_start && r->rec[r->rec_len - 1] == '\r')
    r->rec_len--;

  if (r->n_fields == 0 && r->rec_len == 0 && !quoted_any && !skipping && r->nul_field == 0)
    {
      /* A blank line is not a record. */
      if (at_eof)
        {
          r->rec_line = prev_line;
          return REC_EOF;
        }
      goto restart;
    }

  END_FIELD ();
  return skipping ? REC_TOO_LONG : REC_OK;

#undef CHECK_LIMIT
#undef END_FIELD
}

static gboolean
has_high_bit (const char *s,
              gsize n)
{
  guint64 acc = 0;
  guint64 w;
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    {
      memcpy (&w, s + i, 8);
      acc |= w;
    }
  for (; i < n; i++)
    acc |= (guchar) s[i];
  return (acc & G_GUINT64_CONSTANT (0x8080808080808080)) != 0;
}

/* The 1-based field holding the first invalid UTF-8 among the first @n stored fields, or 0;
 * *@pos receives the 1-based byte position inside that field. */
static guint
first_bad_utf8 (DlenCsvReader *r,
                guint n,
                gsize *pos)
{
  guint i;

  if (!has_high_bit (r->rec, r->rec_len))
    return 0;

  for (i = 0; i < n; i++)
    {
      const char *s = r->rec + r->field_off[i];
      gsize len = (i + 1 < n ? r->field_off[i + 1] : r->rec_len) - r->field_off[i] - 1;
      const char *end;

      if (!g_utf8_validate_len (s, len, &end))
        {
          *pos = (gsize) (end - s) + 1;
          return i + 1;
        }
    }
  return 0;
}

static void
setup_classes (DlenCsvReader *r)
{
  memset (r->cls, 0, sizeof r->cls);
  r->cls[(guchar) r->delim] |= CLS_UNQUOTED;
  r->cls['"'] |= CLS_UNQUOTED | CLS_QUOTED;
  r->cls['\n'] |= CLS_UNQUOTED | CLS_QUOTED;
  r->cls[0] |= CLS_UNQUOTED | CLS_QUOTED;
}

/* Rejects UTF-16/32 and binary files, skips a UTF-8 BOM. Works on the first buffer. */
static gboolean
check_start (DlenCsvReader *r,
             GError **error)
{
  const guchar *s = r->buf;
  gsize n = r->buf_len;
  gsize ctrl = 0;
  gsize bad = 0;
  gsize i;
  const char *p;
  const char *end;

  if ((n >= 4 && s[0] == 0 && s[1] == 0 && s[2] == 0xFE && s[3] == 0xFF)
      || (n >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))))
    {
      g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_ENCODING,
                   "%s: the file is UTF-16 or UTF-32 text; save it as UTF-8", r->path);
      return FALSE;
    }

  if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
    r->buf_pos = 3;

  s += r->buf_pos;
  n = MIN (n - r->buf_pos, SNIFF_SIZE);
  if (n == 0)
    {
      g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_EMPTY,
                   "%s: the file is empty (no header line)", r->path);
      return FALSE;
    }

  if (memchr (s, 0, n) != NULL)
    {
      g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_NOT_TEXT,
                   "%s: not a text file (it contains NUL bytes)", r->path);
      return FALSE;
    }

  for (i = 0; i < n; i++)
    {
      guchar c = s[i];

      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v')
          || c == 0x7f)
        ctrl++;
    }

  /* Count invalid UTF-8 bytes too: binary data without NULs is mostly invalid sequences,
   * while a Latin-1 text file has few (and gets a per-record ENCODING error later). */
  p = (const char *) s;
  end = p + n;
  while (p < end)
    {
      const char *stop;

      if (g_utf8_validate_len (p, (gsize) (end - p), &stop))
        break;
      if (end - stop < 4 && r->buf_pos + n < r->buf_len)
        break;   /* a character cut by the end of the sample */
      bad++;
      p = stop + 1;
    }

  if (ctrl * 10 > n || (ctrl + bad) * 4 > n)
    {
      g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_NOT_TEXT,
                   "%s: not a text file (%" G_GSIZE_FORMAT " of the first %" G_GSIZE_FORMAT
                   " bytes are control characters or invalid UTF-8)",
                   r->path, ctrl + bad, n);
      return FALSE;
    }

  return TRUE;
}

/* The most frequent candidate outside quotes on the first non-blank line of the buffer. */
static char
detect_delimiter (DlenCsvReader *r,
                  const char *path)
{
  static const char candidates[4] = { '\t', ',', ';', '|' };
  const guchar *s = r->buf + r->buf_pos;
  const guchar *e = r->buf + r->buf_len;
  gsize count[4] = { 0, 0, 0, 0 };
  gboolean in_quote = FALSE;
  g_autofree char *lower = NULL;
  guint i;
  guint best = 0;

  while (s < e && (*s == '\n' || *s == '\r'))
    s++;

  for (; s < e; s++)
    {
      if (*s == '"')
        in_quote = !in_quote;
      else if (in_quote)
        continue;
      else if (*s == '\n')
        break;
      else
        for (i = 0; i < 4; i++)
          if (*s == (guchar) candidates[i])
            count[i]++;
    }

  /* Strict '>' keeps the earlier candidate on ties: tab, then comma, semicolon, '|'. */
  for (i = 1; i < 4; i++)
    if (count[i] > count[best])
      best = i;
  if (count[best] > 0)
    return candidates[best];

  lower = g_ascii_strdown (path, -1);
  return g_str_has_suffix (lower, ".tsv") || g_str_has_suffix (lower, ".tab") ? '\t' : ',';
}

static gboolean
read_header (DlenCsvReader *r,
             GError **error)
{
  guint i;
  gsize pos;
  guint col;

  r->store_limit = DLEN_CSV_MAX_COLUMNS + 1;
  switch (read_record (r))
    {
    case REC_EOF:
      g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_EMPTY,
                   "%s: the file is empty (only blank lines, no header line)", r->path);
      return FALSE;
    case REC_IO:
      g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_IO,
                   "%s: read error: %s", r->path, g_strerror (r->io_errno));
      return FALSE;
    case REC_OPEN_QUOTE:
      record_error (r, error, DLEN_CSV_ERROR_QUOTE, r->quote_field,
                    "unterminated quoted field in the header");
      return FALSE;
    case REC_TOO_LONG:
      record_error (r, error, DLEN_CSV_ERROR_LINE_TOO_LONG, r->long_field,
                    "header longer than %" G_GSIZE_FORMAT " bytes", r->max_record);
      return FALSE;
    case REC_OK:
    default:
      break;
    }

  if (r->n_fields > DLEN_CSV_MAX_COLUMNS)
    {
      record_error (r, error, DLEN_CSV_ERROR_HEADER, DLEN_CSV_MAX_COLUMNS + 1,
                    "more than %d columns", DLEN_CSV_MAX_COLUMNS);
      return FALSE;
    }
  if (r->nul_field != 0)
    {
      record_error (r, error, DLEN_CSV_ERROR_ENCODING, r->nul_field,
                    "NUL byte in a column name");
      return FALSE;
    }
  col = first_bad_utf8 (r, r->n_fields, &pos);
  if (col != 0)
    {
      record_error (r, error, DLEN_CSV_ERROR_ENCODING, col,
                    "column name is not valid UTF-8 (byte %" G_GSIZE_FORMAT ")", pos);
      return FALSE;
    }

  r->n_columns = r->n_fields;
  r->columns = g_new0 (char *, r->n_columns + 1);
  r->column_index = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; i < r->n_columns; i++)
    {
      char *name = g_strstrip (g_strdup (r->rec + r->field_off[i]));
      gpointer other;

      r->columns[i] = name;
      if (name[0] == '\0')
        {
          record_error (r, error, DLEN_CSV_ERROR_HEADER, i + 1,
                        "column %u has an empty name", i + 1);
          return FALSE;
        }
      if (g_hash_table_lookup_extended (r->column_index, name, NULL, &other))
        {
          record_error (r, error, DLEN_CSV_ERROR_HEADER, i + 1,
                        "duplicate column name \"%s\" (also column %d)",
                        name, GPOINTER_TO_INT (other));
          return FALSE;
        }
      g_hash_table_insert (r->column_index, name, GINT_TO_POINTER (i + 1));
    }

  /* From now on one extra field is stored, enough to tell "too many" from "right". */
  r->store_limit = r->n_columns + 1;
  if (r->field_cap < r->store_limit)
    field_grow (r, r->store_limit);
  return TRUE;
}

DlenCsvReader *
dlen_csv_reader_open (const char *path,
                      GError **error)
{
  g_autoptr(DlenCsvReader) r = NULL;
  struct stat st;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  r = g_new0 (DlenCsvReader, 1);
  r->fd = -1;
  r->path = g_filename_display_name (path);
  r->max_record = DLEN_CSV_DEFAULT_MAX_RECORD;
  r->line = 1;

  r->fd = g_open (path, O_RDONLY, 0);
  if (r->fd < 0)
    {
      int saved = errno;

      g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_IO,
                   "%s: cannot open: %s", r->path, g_strerror (saved));
      return NULL;
    }
  if (fstat (r->fd, &st) == 0)
    {
      if (S_ISDIR (st.st_mode))
        {
          g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_IO,
                       "%s: is a directory", r->path);
          return NULL;
        }
      if (S_ISREG (st.st_mode))
        r->size = (guint64) st.st_size;
    }

  r->buf = g_malloc (BUF_SIZE);
  r->rec_cap = 4096;
  r->rec = g_malloc (r->rec_cap);   /* never NULL, so appends can always memcpy */
  if (!refill (r))
    {
      if (r->io_errno != 0)
        g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_IO,
                     "%s: read error: %s", r->path, g_strerror (r->io_errno));
      else
        g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_EMPTY,
                     "%s: the file is empty (no header line)", r->path);
      return NULL;
    }

  if (!check_start (r, error))
    return NULL;

  r->delim = detect_delimiter (r, path);
  setup_classes (r);

  if (!read_header (r, error))
    return NULL;

  return g_steal_pointer (&r);
}

void
dlen_csv_reader_free (DlenCsvReader *reader)
{
  if (reader == NULL)
    return;
  if (reader->fd >= 0)
    close (reader->fd);
  g_clear_pointer (&reader->column_index, g_hash_table_unref);
  g_strfreev (reader->columns);
  g_free (reader->buf);
  g_free (reader->rec);
  g_free (reader->field_off);
  g_free (reader->fields);
  g_free (reader->path);
  g_free (reader);
}

char
dlen_csv_reader_delimiter (DlenCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->delim;
}

guint
dlen_csv_reader_n_columns (DlenCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->n_columns;
}

const char *
dlen_csv_reader_column_name (DlenCsvReader *reader,
                             guint i)
{
  g_return_val_if_fail (reader != NULL, NULL);
  g_return_val_if_fail (i < reader->n_columns, NULL);
  return reader->columns[i];
}

int
dlen_csv_reader_find_column (DlenCsvReader *reader,
                             const char *name)
{
  gpointer value;

  g_return_val_if_fail (reader != NULL, -1);
  g_return_val_if_fail (name != NULL, -1);

  if (!g_hash_table_lookup_extended (reader->column_index, name, NULL, &value))
    return -1;
  return GPOINTER_TO_INT (value) - 1;
}

void
dlen_csv_reader_set_max_record (DlenCsvReader *reader,
                                gsize max_bytes)
{
  g_return_if_fail (reader != NULL);
  g_return_if_fail (max_bytes > 0);
  reader->max_record = max_bytes;
}

int
dlen_csv_reader_next (DlenCsvReader *reader,
                      const char *const **fields,
                      guint *n_fields,
                      GError **error)
{
  DlenCsvReader *r = reader;
  gsize pos;
  guint col;
  guint i;

  g_return_val_if_fail (reader != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (fields != NULL)
    *fields = NULL;
  if (n_fields != NULL)
    *n_fields = 0;
  if (r->finished)
    return 0;

  switch (read_record (r))
    {
    case REC_EOF:
      r->finished = TRUE;
      return 0;
    case REC_IO:
      r->finished = TRUE;
      record_error (r, error, DLEN_CSV_ERROR_IO, r->n_fields + 1,
                    "read error: %s", g_strerror (r->io_errno));
      return -1;
    case REC_OPEN_QUOTE:
      if (r->quote_line != r->rec_line)
        record_error (r, error, DLEN_CSV_ERROR_QUOTE, r->quote_field,
                      "quoted field opened on line %" G_GUINT64_FORMAT
                      " is not closed before the end of the file", r->quote_line);
      else
        record_error (r, error, DLEN_CSV_ERROR_QUOTE, r->quote_field,
                      "quoted field is not closed before the end of the file");
      return -1;
    case REC_TOO_LONG:
      record_error (r, error, DLEN_CSV_ERROR_LINE_TOO_LONG, r->long_field,
                    "record longer than %" G_GSIZE_FORMAT " bytes; skipped", r->max_record);
      return -1;
    case REC_OK:
    default:
      break;
    }

  if (r->n_fields != r->n_columns)
    {
      /* Point at the first missing or the first extra field. */
      record_error (r, error, DLEN_CSV_ERROR_FIELD_COUNT, MIN (r->n_fields, r->n_columns) + 1,
                    "expected %u fields, found %u", r->n_columns, r->n_fields);
      return -1;
    }
  if (r->nul_field != 0)
    {
      record_error (r, error, DLEN_CSV_ERROR_ENCODING, r->nul_field, "NUL byte in field");
      return -1;
    }
  col = first_bad_utf8 (r, r->n_fields, &pos);
  if (col != 0)
    {
      record_error (r, error, DLEN_CSV_ERROR_ENCODING, col,
                    "invalid UTF-8 at byte %" G_GSIZE_FORMAT " of the field"
                    " (is the file in another encoding?)", pos);
      return -1;
    }

  for (i = 0; i < r->n_fields; i++)
    r->fields[i] = r->rec + r->field_off[i];
  if (fields != NULL)
    *fields = r->fields;
  if (n_fields != NULL)
    *n_fields = r->n_fields;
  return 1;
}

gboolean
dlen_csv_reader_seek (DlenCsvReader *reader,
                      guint64 offset,
                      guint64 line,
                      GError **error)
{
  g_return_val_if_fail (reader != NULL, FALSE);
  g_return_val_if_fail (line >= 1, FALSE);
  if (lseek (reader->fd, (off_t) offset, SEEK_SET) == (off_t) -1)
    {
      int saved = errno;
      g_set_error (error, DLEN_CSV_ERROR, DLEN_CSV_ERROR_IO, "%s: cannot seek: %s", reader->path, g_strerror (saved));
      return FALSE;
    }
  reader->buf_offset = offset;
  reader->buf_pos = reader->buf_len = 0;
  reader->eof = reader->finished = FALSE;
  reader->io_errno = 0;
  reader->line = reader->rec_line = line;
  return TRUE;
}

guint64
dlen_csv_reader_line (DlenCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->rec_line;
}

guint64
dlen_csv_reader_offset (DlenCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->buf_offset + reader->buf_pos;
}

guint64
dlen_csv_reader_size (DlenCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->size;
}

guint64
dlen_csv_reader_error_line (DlenCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->err_line;
}

guint
dlen_csv_reader_error_column (DlenCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->err_column;
}

gsize
dlen_csv_reader_debug_allocated (DlenCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return (reader->buf != NULL ? BUF_SIZE : 0) + reader->rec_cap
         + reader->field_cap * (sizeof (gsize) + sizeof (const char *));
}

void
dlen_csv_append_field (GString *out, const char *text)
{
  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (out, text);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = text; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}
