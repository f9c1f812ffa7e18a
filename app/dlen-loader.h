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
} DlenLoadOptions;

typedef struct {
  DlenDataset *dataset;
  char *preset;                  /* the preset actually used */
  char *user_features;           /* the side-feature file joined, or NULL */
  GArray *lines;                 /* guint64: source line of each row */
  GArray *truth;                 /* float: the true emotion of each row (synthetic logs), or NULL */
  guint64 rejected;              /* rows skipped (non-strict mode) */
  char *first_reject;            /* message of the first skipped row, or NULL */
  gint32 default_split_day;      /* YYYYMMDD suggested for the test split */
} DlenLoadedData;

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
