/* dlen-loader.h: turns a CSV/TSV impression log into an engine dataset through a preset or a
 * column-to-role mapping (hashing, derived features, side-feature joins, validation). */
#pragma once

#include <glib.h>
#include "dlen/dlen.h"

G_BEGIN_DECLS

typedef struct {
  const char *preset;            /* "kuairand", "synthetic" or "generic"; NULL guesses from the header */
  const char *user_features;     /* CSV joined on the user column (kuairand); when NULL, the
                                    kuairand preset joins user_features.csv found beside the
                                    log unless no_user_features is set (or, given a model's
                                    schema, exactly when that schema has the joined fields) */
  gboolean no_user_features;
  const char *const *maps;       /* NULL-terminated "COLUMN=ROLE" entries for "generic" */
  gboolean strict;               /* stop at the first bad row instead of skipping it */
  const char *item_features;     /* CSV joined on the item column (kuairand: video_id); joined only
                                    when given, or given a model's schema that has those fields
                                    (then video_features_basic.csv beside the log) */
} DlenLoadOptions;

typedef struct {
  DlenDataset *dataset;
  char *preset;                  /* the preset actually used */
  char *user_features;           /* the user side-feature file joined, or NULL */
  char *item_features;           /* the item side-feature file joined, or NULL */
  GArray *lines;                 /* guint64: source line of each row */
  guint64 rejected;              /* rows skipped (non-strict mode) */
  char *first_reject;            /* message of the first skipped row, or NULL */
} DlenLoadedData;

/* One row of a log after mapping and validation: the user and item keys, time, the
 * categorical fields' values as text (after the preset's transforms), numeric values, labels
 * (NaN: missing) and, for synthetic logs, the true emotion. Pointers are valid until the next
 * dlen_mapping_next(). */
typedef struct {
  guint64 line;
  const char *user;
  const char *item;              /* NULL when the mapping has no item column */
  const char *session, *request; /* the log's own ids, or NULL */
  gint64 time_ms;
  gint32 day;
  const char *cat[DLEN_MAX_CAT_FIELDS];
  float num[DLEN_MAX_NUM_FIELDS];
  float lab[DLEN_MAX_TARGETS];
  float truth;
  char scratch[DLEN_MAX_CAT_FIELDS][32];
} DlenRecord;

/* A rejected row: its line, 1-based column (0: the whole row) and the reason; message is
 * "file:line:column: reason". */
typedef struct {
  guint64 line;
  int column;
  const char *column_name;
  char *reason;
  char *message;
} DlenReject;
void dlen_reject_clear (DlenReject *reject);

/* A log opened through a preset or a mapping (and its side-feature join). */
typedef struct _DlenMapping DlenMapping;
DlenMapping *dlen_mapping_open (const char *path, const DlenLoadOptions *options,
                                const DlenSchema *model_schema, GError **error);
void dlen_mapping_free (DlenMapping *mapping);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenMapping, dlen_mapping_free)
const DlenSchema *dlen_mapping_schema (const DlenMapping *mapping);
const char *dlen_mapping_preset (const DlenMapping *mapping);
const char *dlen_mapping_user_features (const DlenMapping *mapping);
const char *dlen_mapping_item_features (const DlenMapping *mapping);
struct _DlenCsvReader *dlen_mapping_reader (DlenMapping *mapping);
gboolean dlen_mapping_has_truth (const DlenMapping *mapping);
/* 1: a record; 0: end of file; -1: a bad row described in @reject (the read may go on);
 * -2: a read failure in @error (the read must stop). */
int dlen_mapping_next (DlenMapping *mapping, DlenRecord *record, DlenReject *reject, GError **error);

/* A second reading of @mapping's log from byte @offset, the start of physical line @line (see
 * dlen_csv_reader_seek), with the same plan; it shares the side-feature tables, which neither
 * changes, so the two can be read by two threads at once. */
DlenMapping *dlen_mapping_fork (const DlenMapping *mapping, guint64 offset, guint64 line, GError **error);

/* Hashes a record into an engine row; @cat holds schema->n_cat hashes. */
void dlen_record_to_row (const DlenSchema *schema, const DlenRecord *record, uint64_t *cat, DlenRow *row);

/* Embedding-table size for a field with @distinct values (a power of two, 16 .. 2^22). */
guint32 dlen_buckets_for (guint64 distinct);

/* The test split a preset documents (KuaiRand: 2022-04-19), or 0 when it has none. */
gint32 dlen_preset_split_day (const char *preset);

/* Roles accepted by --map, with a one-line description each, for --help. */
extern const char *const dlen_loader_roles_help;

/* Loads @path. With @schema (a trained model's), the mapping must produce the same fields and
 * targets in the same order and the model's bucket counts are used; without it, bucket counts
 * are sized from the distinct values seen. Errors name file, line and column. */
DlenLoadedData *dlen_loader_load (const char *path, const DlenLoadOptions *options,
                                  const DlenSchema *schema, GError **error);
void dlen_loaded_data_free (DlenLoadedData *data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenLoadedData, dlen_loaded_data_free)

/* Calendar helpers (proleptic Gregorian, UTC). */
gint32 dlen_day_from_epoch_ms (gint64 ms);              /* YYYYMMDD */
gboolean dlen_parse_day (const char *text, gint32 *day);/* strict YYYYMMDD */

G_END_DECLS
