/* dlen-csv.h: streaming reader for delimited text (CSV/TSV) with a header, quoting and located errors. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DLEN_CSV_ERROR (dlen_csv_error_quark ())

/* Default limit on the bytes of one record, as read from the file (quotes and line ends
 * included). Longer records are skipped without being buffered. */
#define DLEN_CSV_DEFAULT_MAX_RECORD ((gsize) 1 << 20)

/* A header with more columns than this is rejected (DLEN_CSV_ERROR_HEADER). */
#define DLEN_CSV_MAX_COLUMNS 65536

/* Errors of the DLEN_CSV_ERROR domain. The file-level ones (IO at open, EMPTY, NOT_TEXT, HEADER,
 * and ENCODING or QUOTE inside the header) come from dlen_csv_reader_open(). From
 * dlen_csv_reader_next(), ENCODING, FIELD_COUNT and LINE_TOO_LONG are recoverable (the bad record
 * has been consumed); QUOTE (a quote left open at end of file) and IO are terminal: the next
 * call returns 0. */
typedef enum {
  DLEN_CSV_ERROR_IO,             /* the file cannot be opened or read */
  DLEN_CSV_ERROR_EMPTY,          /* no bytes, or only a BOM and blank lines: no header */
  DLEN_CSV_ERROR_NOT_TEXT,       /* NUL bytes or mostly control/invalid bytes in the first 4 KiB */
  DLEN_CSV_ERROR_ENCODING,       /* invalid UTF-8, a NUL byte in a record, or a UTF-16/32 file */
  DLEN_CSV_ERROR_QUOTE,          /* a quoted field is still open at end of file */
  DLEN_CSV_ERROR_FIELD_COUNT,    /* a record has more or fewer fields than the header */
  DLEN_CSV_ERROR_LINE_TOO_LONG,  /* a record (or the header) exceeds the record size limit */
  DLEN_CSV_ERROR_HEADER,         /* empty or duplicate column names, too many columns */
} DlenCsvError;

GQuark dlen_csv_error_quark (void);

/* One open file. Not thread-safe: use it from one thread at a time (a worker thread is fine). */
typedef struct _DlenCsvReader DlenCsvReader;

/* Opens @path, reads and validates the header (required). The delimiter is detected among tab,
 * comma, semicolon and '|' as the most frequent one outside quotes on the header line (ties go
 * to tab, then comma, semicolon, '|'; a header without any of them is one column, delimited by
 * tab if the name ends in .tsv or .tab, else by comma). Quoting follows RFC 4180: a field that
 * starts with '"' is quoted, "" inside it is one quote, and it may hold delimiters and line
 * breaks. A UTF-8 BOM is skipped; lines end in \n or \r\n. Blank lines are skipped everywhere.
 * Column names are trimmed of surrounding whitespace. Returns NULL with @error set on failure;
 * messages read "PATH: reason" or "PATH:LINE:COLUMN: reason". */
DlenCsvReader *dlen_csv_reader_open (const char *path, GError **error);

/* Closes the file and frees everything; NULL is a no-op. */
void dlen_csv_reader_free (DlenCsvReader *reader);

/* The detected delimiter: '\t', ',', ';' or '|'. */
char dlen_csv_reader_delimiter (DlenCsvReader *reader);

guint dlen_csv_reader_n_columns (DlenCsvReader *reader);

/* The trimmed name of column @i (0-based, < n_columns); owned by the reader. */
const char *dlen_csv_reader_column_name (DlenCsvReader *reader, guint i);

/* The 0-based index of the column named exactly @name (case-sensitive), or -1 if absent. */
int dlen_csv_reader_find_column (DlenCsvReader *reader, const char *name);

/* Goes on reading at byte @offset of a regular file, which must start a record (or a blank
 * line) on physical line @line: the way to read part of a file without quotes spanning the
 * cut. FALSE with @error set when the file cannot seek. */
gboolean dlen_csv_reader_seek (DlenCsvReader *reader, guint64 offset, guint64 line, GError **error);

/* Sets the limit on the bytes of one record for the following calls to next (>= 1). */
void dlen_csv_reader_set_max_record (DlenCsvReader *reader, gsize max_bytes);

/* Reads the next record.
 * Returns 1 with *@fields set to n_columns NUL-terminated, valid UTF-8 strings (unquoted,
 * unescaped, not trimmed) and *@n_fields = n_columns; the array and strings belong to the reader
 * and are valid until the next call or free.
 * Returns 0 at end of file (and on every later call).
 * Returns -1 for a bad record with @error set and *@fields = NULL, *@n_fields = 0; the reader is
 * then positioned at the next record, so the caller may skip it (default import mode) or stop
 * (strict mode); see DlenCsvError for the two terminal errors. Error messages read
 * "PATH:LINE:COLUMN: reason", where LINE is the physical line where the record starts and
 * COLUMN is the 1-based field number (not a character position) — the same values as
 * dlen_csv_reader_error_line()/error_column(). @fields and @n_fields may be NULL. */
int dlen_csv_reader_next (DlenCsvReader *reader,
                          const char *const **fields,
                          guint *n_fields,
                          GError **error);

/* 1-based physical line where the record last returned by next (good or bad) starts; the
 * header's line right after open. */
guint64 dlen_csv_reader_line (DlenCsvReader *reader);

/* Bytes of the file consumed so far, for progress; reaches size() at end of file. */
guint64 dlen_csv_reader_offset (DlenCsvReader *reader);

/* Total size of the file in bytes (0 if it is not a regular file). */
guint64 dlen_csv_reader_size (DlenCsvReader *reader);

/* Location of the last error reported by next (or open): the record's first physical line and
 * the 1-based field number; 0 when there was none. For a wrong field count the column is the
 * first missing or first extra field. Meant for the importer's rejects table. */
guint64 dlen_csv_reader_error_line (DlenCsvReader *reader);
guint dlen_csv_reader_error_column (DlenCsvReader *reader);

/* For tests: the bytes currently allocated for the reader's buffers (read buffer, record
 * buffer, field tables). Bounded by about 64 KiB + max_record + 17 * n_columns. */
gsize dlen_csv_reader_debug_allocated (DlenCsvReader *reader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenCsvReader, dlen_csv_reader_free)

/* Appends @text to @out as one CSV field, quoted (RFC 4180, "" for a quote) only when it holds
 * a comma, quote or line break: the writing side of this reader. */
void dlen_csv_append_field (GString *out, const char *text);

G_END_DECLS
