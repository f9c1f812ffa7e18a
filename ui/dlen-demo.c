/* dlen-demo.c: builds the demo project: synthetic log -> import -> a small DLEN -> cached predictions. */
#include <glib/gstdio.h>
#include <math.h>
#include "dlen-demo.h"
#include "dlen-error.h"
#include "dlen-store.h"
#include "dlen-synthetic-log.h"
#include "dlen-predictions.h"
#include "dlen-training.h"

char *
dlen_demo_project_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "dlen-workbench", "demo.dlen", NULL);
}

gboolean
dlen_demo_project_ready (const char *path)
{
  g_autoptr (DlenStore) store = NULL;
  sqlite3_stmt *st = NULL;
  gboolean ready = FALSE;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) || !(store = dlen_store_open (path, FALSE, NULL)))
    return FALSE;
  if (sqlite3_prepare_v2 (dlen_store_db (store), "SELECT count(*) FROM models", -1, &st, NULL) == SQLITE_OK
      && sqlite3_step (st) == SQLITE_ROW)
    ready = sqlite3_column_int64 (st, 0) > 0;
  sqlite3_finalize (st);
  return ready;
}

typedef struct {
  char *path;
} Demo;

static void
demo_free (gpointer data)
{
  Demo *d = data;
  g_free (d->path);
  g_free (d);
}

typedef struct {
  DlenJob *job;
  GCancellable *cancellable;
  FILE *fp;
  guint64 done, total;
} GenState;

static int
emit (const DlenSynthRow *r, void *user_data)
{
  GenState *g = user_data;
  dlen_synthetic_log_write_row (g->fp, r);
  if (++g->done % 10000 == 0)
    dlen_job_set_progress (g->job, 0.15 * (double) g->done / (double) g->total, "Generating the synthetic log");
  return g_cancellable_is_cancelled (g->cancellable) || ferror (g->fp);
}

static void
import_progress (guint64 done, guint64 total, guint64 rows, gpointer user_data)
{
  dlen_job_set_progress (user_data, 0.15 + 0.15 * (total ? (double) done / (double) total : 0), "Importing the log");
}

typedef struct {
  DlenJob *job;
  GCancellable *cancellable;
} TrainState;

static void
train_progress (const DlenProgress *p, void *user_data)
{
  TrainState *t = user_data;
  double f = ((p->epoch - 1) + (double) p->step / (double) MAX (p->steps, 1)) / p->epochs;
  g_autofree char *msg = g_strdup_printf ("Training DLEN: epoch %u of %u", p->epoch, p->epochs);
  dlen_job_set_progress (t->job, 0.3 + 0.65 * f, msg);
}

static int
train_abort (void *user_data)
{
  TrainState *t = user_data;
  return g_cancellable_is_cancelled (t->cancellable);
}

static gboolean
build_demo (DlenJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  Demo *d = data;
  g_autofree char *dir = g_path_get_dirname (d->path);
  g_autofree char *partial = g_strconcat (d->path, ".partial", NULL);
  g_autofree char *log = g_strconcat (d->path, ".log.tsv", NULL);
  g_autofree char *wal = g_strconcat (partial, "-wal", NULL), *shm = g_strconcat (partial, "-shm", NULL);
  g_autofree char *journal = g_strconcat (partial, "-journal", NULL);   /* a new project's, until its first import */
  DlenSynthParams sp = dlen_synth_params_default ();
  GenState gen = { job, cancellable, NULL, 0, 0 };
  DlenImportOptions io;
  DlenImportReport report;
  DlenTrainingOptions to;
  DlenTrainingResult result;
  TrainState ts = { job, cancellable };
  g_autoptr (DlenStore) store = NULL;
  g_autoptr (DlenRows) loaded = NULL;
  g_autoptr (DlenModel) model = NULL;
  gint64 model_id;
  gboolean ok = FALSE;
  int st;

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  g_unlink (partial);
  g_unlink (wal);
  g_unlink (shm);
  g_unlink (journal);

  /* A small world trains in seconds yet shows the click-bait conflict clearly. */
  sp.users = 800;
  sp.items = 2000;
  sp.impressions = 60000;
  sp.seed = 7;
  gen.total = sp.impressions;
  gen.fp = g_fopen (log, "w");
  if (!gen.fp)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", log, g_strerror (errno));
      return FALSE;
    }
  dlen_synthetic_log_write_header (gen.fp);
  st = dlen_synth_generate (&sp, emit, &gen);
  if (fclose (gen.fp) != 0 || st != DLEN_STATUS_OK)
    {
      if (!g_cancellable_set_error_if_cancelled (cancellable, error))
        dlen_set_error_from_status (error, st == DLEN_STATUS_OK ? DLEN_STATUS_IO : st, "generating the demo log");
      goto out;
    }

  store = dlen_store_open (partial, TRUE, error);
  if (!store)
    goto out;
  dlen_import_options_init (&io);
  io.load.preset = "synthetic";
  if (!dlen_store_import (store, log, &io, import_progress, job, cancellable, &report, error))
    goto out;
  dlen_import_report_clear (&report);

  loaded = dlen_rows_new_for_store (store, FALSE, NULL, error);
  if (!loaded)
    goto out;
  dlen_training_options_init (&to, DLEN_ARCH_DLEN);
  to.params.epochs = 2;
  to.params.progress = train_progress;
  to.params.progress_every = 20;
  to.params.abort = train_abort;
  to.params.user_data = &ts;
  model = dlen_training_run (loaded, &to, &result, NULL, error);
  if (!model)
    {
      dlen_training_result_clear (&result);
      goto out;
    }
  model_id = dlen_training_store (store, model, &result, error);
  dlen_training_result_clear (&result);
  if (model_id < 0)
    goto out;
  dlen_job_set_progress (job, 0.97, "Caching predictions");
  g_clear_pointer (&loaded, dlen_rows_free);
  if (!dlen_predict_project (store, model, model_id, NULL, NULL, NULL, NULL, cancellable, error))
    goto out;
  g_clear_pointer (&store, dlen_store_free);   /* closing checkpoints the WAL into the file */
  if (g_rename (partial, d->path) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", d->path, g_strerror (errno));
      goto out;
    }
  dlen_job_set_progress (job, 1.0, "The demo project is ready");
  ok = TRUE;
out:
  g_clear_pointer (&store, dlen_store_free);
  g_unlink (log);
  if (!ok)
    {
      g_unlink (partial);
      g_unlink (wal);
      g_unlink (shm);
      g_unlink (journal);
    }
  return ok;
}

DlenJob *
dlen_demo_job_new (const char *path)
{
  Demo *d = g_new0 (Demo, 1);
  d->path = g_strdup (path);
  return dlen_job_new ("Preparing the demo project", build_demo, d, demo_free);
}
