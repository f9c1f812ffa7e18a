/* dlen-training.h: one training run (split, train, evaluate, record) shared by the dlen tool and
 * the workbench, and the JSON forms of its results. */
#pragma once

#include <glib.h>
#include "dlen-json.h"
#include "dlen-rows.h"

G_BEGIN_DECLS

typedef struct {
  DlenModelConfig config;
  DlenTrainParams params;      /* progress, abort and user_data are the caller's */
  gint32 split_day;            /* test split from this day; 0: the data's default */
  double test_fraction;        /* > 0: the split day leaving about this fraction for test */
  double valid_fraction;       /* latest fraction of the training rows for epoch selection */
  guint64 eval_rows;           /* validation and test metrics on at most this many evenly spread
                                  rows (0: all); DLEN_TRAINING_EVAL_ROWS by default */
} DlenTrainingOptions;

#define DLEN_TRAINING_EVAL_ROWS 500000

void dlen_training_options_init (DlenTrainingOptions *options, DlenArch arch);

typedef struct {
  gint32 split_day;
  gsize n_train, n_valid, n_test;
  guint best_epoch;
  double samples_per_second;
  DlenMetrics test;
  double true_emotion_auc;     /* NaN unless the log records the true emotion */
  GString *history;            /* JSON array: one object per completed epoch */
} DlenTrainingResult;

void dlen_training_result_clear (DlenTrainingResult *result);

/* Splits @rows, trains a new model and evaluates it on the test split. Runs in the calling
 * thread (a worker in the workbench). On failure returns NULL; when training was cancelled or
 * stopped on NaN after at least one completed epoch, *@partial (if given) receives the model
 * holding the best epoch so far, and @result its split (for dlen_training_evaluate). */
DlenModel *dlen_training_run (DlenRows *rows, const DlenTrainingOptions *options,
                              DlenTrainingResult *result, DlenModel **partial, GError **error);

/* Test metrics of @model on @rows split at @split_day (0: the rows' default split; when that
 * leaves no test rows, the day where the last ~15 % begin), into @result (split_day, n_test,
 * test, true_emotion_auc). */
gboolean dlen_training_evaluate (DlenRows *rows, DlenModel *model, gint32 split_day, guint64 eval_rows,
                                 DlenTrainingResult *result, GError **error);

/* The metrics object stored with a model in a project:
 * {"test": {target: {...}}, "emotion_auc", "true_emotion_auc", "split_date", "test_rows"}. */
char *dlen_training_metrics_json (DlenModel *model, const DlenTrainingResult *result);

/* Stores @model in the project with its metrics and history; returns its id or -1. */
gint64 dlen_training_store (DlenStore *store, DlenModel *model, const DlenTrainingResult *result, GError **error);

/* JSON writers (NaN and infinities become null; see also dlen-json.h). */
void dlen_json_metrics (GString *out, const DlenSchema *schema, const DlenMetrics *metrics);
/* Appends ", \"emotion_auc\": x" for DLEN and ", \"true_emotion_auc\": y" when known. */
void dlen_json_emotion (GString *out, const DlenModel *model, const DlenMetrics *metrics, double true_auc);

G_END_DECLS
