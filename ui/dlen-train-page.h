/* dlen-train-page.h: the Train page of the workbench window. */
#pragma once

#include <adwaita.h>
#include "dlen-project.h"
#include "dlen-job.h"
#include "dlen-training.h"
#include "charts/dlen-series.h"

G_BEGIN_DECLS

#define DLEN_TYPE_TRAIN_PAGE (dlen_train_page_get_type ())
G_DECLARE_FINAL_TYPE (DlenTrainPage, dlen_train_page, DLEN, TRAIN_PAGE, AdwBin)

/* The project shown ("project" property; NULL shows the page's empty state). Changing the
 * project while training cancels the run; its best epoch is still stored in the old project. */
void dlen_train_page_set_project (DlenTrainPage *page, DlenProject *project);
DlenProject *dlen_train_page_get_project (DlenTrainPage *page);

G_END_DECLS

G_BEGIN_DECLS
/* Starts training with the page's settings (as the Start button does); FALSE when it cannot
 * (no project, or a run in progress). The run loads the project's impressions in a worker
 * thread with its own store connection, trains, evaluates on the test split, stores the
 * model and emits the project's "changed". */
gboolean dlen_train_page_start (DlenTrainPage *page);
/* Stops the run at the next mini-batch. When at least one epoch had finished, the best epoch
 * is evaluated and stored as a model named "… (cancelled at epoch N)"; otherwise nothing is
 * stored (a toast says so). */
void dlen_train_page_cancel (DlenTrainPage *page);
gboolean dlen_train_page_is_running (DlenTrainPage *page);

/* How a run ended, in the "training-finished" signal:
 *   void (*) (DlenTrainPage *page, guint outcome, gint64 model_id, gpointer user_data)
 * @model_id is the stored model (> 0) or -1 when nothing was stored. Emitted on the main
 * thread once the model is stored and the project's "changed" was emitted. */
typedef enum {
  DLEN_TRAIN_OUTCOME_DONE = 0,       /* trained all epochs; model stored */
  DLEN_TRAIN_OUTCOME_CANCELLED = 1,  /* cancelled; best epoch stored when one had finished */
  DLEN_TRAIN_OUTCOME_FAILED = 2,     /* error (shown in a dialog); after a NaN loss the best
                                        epoch so far is stored */
} DlenTrainOutcome;

/* Settings, as the rows on the page (for tests and scripted runs). */
void dlen_train_page_set_arch (DlenTrainPage *page, DlenArch arch);
void dlen_train_page_set_epochs (DlenTrainPage *page, guint epochs);
void dlen_train_page_set_emb_dim (DlenTrainPage *page, guint emb_dim);
void dlen_train_page_set_seed (DlenTrainPage *page, guint64 seed);
void dlen_train_page_set_threads (DlenTrainPage *page, guint threads);
void dlen_train_page_set_learning_rate (DlenTrainPage *page, double learning_rate);
void dlen_train_page_set_weak_label_fraction (DlenTrainPage *page, double fraction);
/* The options the next run would use (progress callbacks not set). */
void dlen_train_page_get_options (DlenTrainPage *page, DlenTrainingOptions *options);

/* The running job (NULL when idle): "fraction", "message", "eta-seconds" properties. */
DlenJob *dlen_train_page_get_job (DlenTrainPage *page);
/* The model whose history and metrics are shown (and that Save Model File writes); -1: none,
 * or the live run. */
gint64 dlen_train_page_get_shown_model (DlenTrainPage *page);
void dlen_train_page_show_model (DlenTrainPage *page, gint64 model_id);

/* The data of the two charts: loss per epoch ("Epoch mean", and "Running mean" within epochs
 * during a run), and validation AUC per binary target per epoch (+ "emotion" for DLEN). */
DlenSeriesModel *dlen_train_page_get_loss_series (DlenTrainPage *page);
DlenSeriesModel *dlen_train_page_get_auc_series (DlenTrainPage *page);

/* Model files without dialogs (the rows use file choosers). Saving writes the shown model.
 * Loading runs a job that validates the file, evaluates it on the project's test split and
 * stores it; "model-file-loaded" (gint64 model_id, -1 on failure after the error was shown)
 * follows. */
gboolean dlen_train_page_save_model_file (DlenTrainPage *page, const char *path, GError **error);
void dlen_train_page_load_model_file (DlenTrainPage *page, const char *path);
G_END_DECLS
