/* dlen-model-summary.h: a project's models as the pages show them: the models table's columns
 * with its metrics and history JSON parsed. */
#pragma once

#include <glib.h>
#include "dlen-store.h"

G_BEGIN_DECLS

/* One target's test metrics (models.metrics "test" member). */
typedef struct {
  char *name;
  gboolean binary;
  double auc, gauc, logloss, mean_predicted, mean_observed;  /* binary; NaN when absent */
  double rmse_log1p;                                          /* duration targets */
  gint64 n;
} DlenTargetSummary;

/* One completed epoch (an element of models.history). valid_auc[k] is target k's validation
 * AUC, NaN for durations and when absent. */
typedef struct {
  guint epoch;
  double train_loss, valid_mean_auc, valid_emotion_auc;
  double valid_auc[DLEN_MAX_TARGETS];
} DlenEpochSummary;

typedef struct {
  gint64 id;
  char *name;
  char *arch;
  gint64 created_ms;
  GArray *targets;             /* DlenTargetSummary, in the model's target order */
  double emotion_auc;          /* NaN unless a DLEN model */
  double true_emotion_auc;     /* NaN unless the log knows the true emotion */
  gint32 split_date;           /* 0 when unknown */
  gint64 test_rows;
  guint best_epoch;            /* 0 when unknown (e.g. a model loaded from a file) */
  GArray *history;             /* DlenEpochSummary */
} DlenModelSummary;

void dlen_model_summary_free (DlenModelSummary *summary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenModelSummary, dlen_model_summary_free)

/* Parses a models row. Malformed JSON gives empty metrics and history rather than failing:
 * the model itself is still usable. */
DlenModelSummary *dlen_model_summary_new (gint64 id, const char *name, const char *arch, gint64 created_ms,
                                          const char *metrics_json, const char *history_json);

/* Every model of the project in id order (DlenModelSummary*, freed with the array). */
GPtrArray *dlen_model_summaries_load (DlenStore *store, GError **error);

/* The target named @name, or NULL. */
const DlenTargetSummary *dlen_model_summary_find_target (const DlenModelSummary *summary, const char *name);

/* "2024-01-12" for 20240112; "—" when 0. */
char *dlen_format_day (gint32 day);
/* Local time "2024-01-12 14:05". */
char *dlen_format_time_ms (gint64 ms);

G_END_DECLS
