/* test-ui.c: the workbench window with real widgets under Xvfb: import through the Data page,
 * train and cancel on the Train page, the Models table, a responsive main loop while jobs run,
 * and a non-blank screenshot of every page. */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include "dlen-data-page.h"
#include "dlen-emotions-page.h"
#include "dlen-error.h"
#include "dlen-fusion-page.h"
#include "dlen-predictions.h"
#include "dlen-models-page.h"
#include "dlen-synthetic-log.h"
#include "dlen-train-page.h"
#include "charts/dlen-trajectory-chart.h"
#include "dlen-store.h"
#include "dlen-window.h"

static char *tmpdir;
static DlenWindow *window;
static gint64 trained_model;

/* ---- Main-loop helpers ---------------------------------------------------------------------- */

static void
iterate_until (gboolean *flag, int timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  while (!*flag)
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out after %d s", timeout_s);
      g_usleep (1000);
    }
}

static void
iterate_for (int ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* A 5 ms timeout on the main loop, counting the runs that find the job still working (@busy),
 * and the longest gap between two runs (printed, never asserted: timings depend on the machine).
 * A job working on the main loop would keep it from running until the work is done. */
typedef struct {
  gint64 last, max_gap;
  guint beats, busy_beats;
  gboolean (*busy) (gpointer data);
  gpointer busy_data;
  guint id;
} Heartbeat;

static gboolean
beat (gpointer data)
{
  Heartbeat *h = data;
  gint64 now = g_get_monotonic_time ();
  if (h->last && now - h->last > h->max_gap)
    h->max_gap = now - h->last;
  h->last = now;
  h->beats++;
  h->busy_beats += h->busy (h->busy_data);
  return G_SOURCE_CONTINUE;
}

static void
heartbeat_start (Heartbeat *h, gboolean (*busy) (gpointer), gpointer busy_data)
{
  memset (h, 0, sizeof *h);
  h->busy = busy;
  h->busy_data = busy_data;
  h->id = g_timeout_add (5, beat, h);
}

static gboolean
importing (gpointer page)
{
  DlenJob *job = dlen_data_page_get_import_job (page);
  return job && dlen_job_get_running (job);
}

static gboolean
training (gpointer page)
{
  return dlen_train_page_is_running (page);
}

static double
heartbeat_stop (Heartbeat *h)
{
  g_source_remove (h->id);
  return h->max_gap / 1000.0;
}

/* ---- Fixtures ----------------------------------------------------------------------------- */

static int
write_row (const DlenSynthRow *row, void *fp)
{
  return !dlen_synthetic_log_write_row (fp, row);
}

static char *
synthetic_log (guint64 impressions)
{
  char *path = g_build_filename (tmpdir, "log.tsv", NULL);
  FILE *fp = g_fopen (path, "w");
  DlenSynthParams sp = dlen_synth_params_default ();
  sp.impressions = impressions;
  sp.users = 400;
  sp.items = 1000;
  g_assert_nonnull (fp);
  dlen_synthetic_log_write_header (fp);
  g_assert_cmpint (dlen_synth_generate (&sp, write_row, fp), ==, DLEN_STATUS_OK);
  g_assert_cmpint (fclose (fp), ==, 0);
  return path;
}

static GtkWidget *
find_child (GtkWidget *root, GType type)
{
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *hit;
      if (G_TYPE_CHECK_INSTANCE_TYPE (c, type))
        return c;
      if ((hit = find_child (c, type)))
        return hit;
    }
  return NULL;
}

static void
on_import_finished (DlenDataPage *page, gboolean success, gpointer data)
{
  int *state = data;
  *state = success ? 1 : 2;
}

typedef struct {
  gboolean done;
  guint outcome;
  gint64 model_id;
} TrainEnd;

static void
on_training_finished (DlenTrainPage *page, guint outcome, gint64 model_id, gpointer data)
{
  TrainEnd *e = data;
  e->done = TRUE;
  e->outcome = outcome;
  e->model_id = model_id;
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void
test_import (void)
{
  g_autofree char *log = synthetic_log (20000);
  g_autoptr (GFile) file = g_file_new_for_path (log);
  DlenDataPage *page = DLEN_DATA_PAGE (find_child (GTK_WIDGET (window), DLEN_TYPE_DATA_PAGE));
  int state = 0;
  Heartbeat hb;
  double gap;
  gulong id;

  g_assert_nonnull (page);
  id = g_signal_connect (page, "import-finished", G_CALLBACK (on_import_finished), &state);
  heartbeat_start (&hb, importing, page);
  dlen_data_page_import_with_options (page, file, "synthetic", NULL, FALSE);
  while (state == 0)
    g_main_context_iteration (NULL, TRUE);
  gap = heartbeat_stop (&hb);
  g_signal_handler_disconnect (page, id);
  g_assert_cmpint (state, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (dlen_data_page_get_impressions_model (page)), ==, 20000);
  g_test_message ("main loop while importing: %u beats (%u with the import running), longest gap %.1f ms", hb.beats,
                  hb.busy_beats, gap);
  /* A worker thread does the import: the main loop ran while it worked (an import on the main
   * loop would have let it run only once it was over). */
  g_assert_cmpuint (hb.busy_beats, >=, 1);
}

static void
test_train_cancel_and_models (void)
{
  DlenTrainPage *page = DLEN_TRAIN_PAGE (find_child (GTK_WIDGET (window), DLEN_TYPE_TRAIN_PAGE));
  DlenModelsPage *models = DLEN_MODELS_PAGE (find_child (GTK_WIDGET (window), DLEN_TYPE_MODELS_PAGE));
  TrainEnd end = { 0 };
  Heartbeat hb;
  double gap;
  gulong id;

  g_assert_nonnull (page);
  g_assert_nonnull (models);
  id = g_signal_connect (page, "training-finished", G_CALLBACK (on_training_finished), &end);

  /* A long run, cancelled once it is under way. */
  dlen_train_page_set_epochs (page, 40);
  g_assert_true (dlen_train_page_start (page));
  g_assert_true (dlen_train_page_is_running (page));
  g_assert_false (dlen_train_page_start (page));
  iterate_for (300);
  dlen_train_page_cancel (page);
  iterate_until (&end.done, 60);
  g_assert_cmpuint (end.outcome, ==, DLEN_TRAIN_OUTCOME_CANCELLED);
  g_assert_false (dlen_train_page_is_running (page));

  /* A short run to the end, while the main loop keeps beating. */
  memset (&end, 0, sizeof end);
  dlen_train_page_set_epochs (page, 2);
  dlen_train_page_set_arch (page, DLEN_ARCH_DLEN);
  heartbeat_start (&hb, training, page);
  g_assert_true (dlen_train_page_start (page));
  iterate_until (&end.done, 120);
  gap = heartbeat_stop (&hb);
  g_assert_cmpuint (end.outcome, ==, DLEN_TRAIN_OUTCOME_DONE);
  g_assert_cmpint (end.model_id, >, 0);
  trained_model = end.model_id;
  g_test_message ("main loop while training: %u beats (%u with the training running), longest gap %.1f ms", hb.beats,
                  hb.busy_beats, gap);
  g_assert_cmpuint (hb.busy_beats, >=, 1);
  /* The live charts got the epochs. */
  g_assert_cmpuint (dlen_series_model_get_n_points (dlen_train_page_get_loss_series (page)), >=, 2);
  g_assert_cmpuint (dlen_series_model_get_n_points (dlen_train_page_get_auc_series (page)), >=, 2);

  iterate_for (200);
  g_assert_cmpuint (dlen_models_page_get_n_models (models), >=, 1);
  g_signal_handler_disconnect (page, id);
}

/* The Fusion page's numbers for given weights equal what `dlen replay` prints for them. */
static void
test_fusion_matches_cli (void)
{
  DlenFusionPage *page = DLEN_FUSION_PAGE (find_child (GTK_WIDGET (window), DLEN_TYPE_FUSION_PAGE));
  DlenProject *project = dlen_window_get_project (window);
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL, *weights = NULL, *out = NULL, *err = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *cli = g_getenv ("DLEN_CLI");
  double shown, printed;
  int status;

  g_assert_nonnull (page);
  g_assert_cmpint (trained_model, >, 0);
  if (!cli)
    {
      g_test_skip ("DLEN_CLI is not set");
      return;
    }
  g_assert_true (dlen_cache_predictions (dlen_project_get_path (project), trained_model, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  dlen_project_changed (project);
  g_assert_true (dlen_window_show_page (window, "fusion"));
  g_assert_true (dlen_fusion_page_set_model (page, trained_model));
  dlen_fusion_page_wait (page);
  if (!g_str_equal (dlen_fusion_page_get_state (page), "ready"))
    g_error ("Fusion page state %s: %s", dlen_fusion_page_get_state (page),
             dlen_fusion_page_get_error (page) ? dlen_fusion_page_get_error (page) : "(no message)");
  /* Moving the emotion slider changes the numbers to the CLI's for the same weights. */
  g_assert_true (dlen_fusion_page_set_weight_by_name (page, "emotion", 2.5));
  g_assert_true (dlen_fusion_page_set_weight_by_name (page, "click", 0.75));
  dlen_fusion_page_wait (page);
  shown = dlen_fusion_page_get_objectionable (page);
  weights = dlen_fusion_page_dup_weights_text (page);
  id = g_strdup_printf ("%" G_GINT64_FORMAT, trained_model);
  {
    const char *argv[] = { cli, "replay", dlen_project_get_path (project), "--model", id, "--k",
                           g_strdup_printf ("%u", dlen_fusion_page_get_k (page)), "--objectionable",
                           dlen_objectionable_rule_to_string (dlen_fusion_page_get_rule (page)), "--weights", weights,
                           "--json", NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
    g_free ((char *) argv[6]);
  }
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("dlen replay failed: %s", err);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  printed = json_object_get_double_member (json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                                                          "ranked"), "objectionable");
  g_test_message ("objectionable@%u: page %.6f, CLI %.6f (weights %s)", dlen_fusion_page_get_k (page), shown, printed, weights);
  g_assert_cmpfloat_with_epsilon (shown, printed, 1e-9);
  g_assert_cmpuint (dlen_fusion_page_get_n_frontier_points (page), >, 2);
}

/* Selecting a user on the Emotions page draws that user's trajectory. */
static void
test_emotions_trajectory (void)
{
  DlenEmotionsPage *page = DLEN_EMOTIONS_PAGE (find_child (GTK_WIDGET (window), DLEN_TYPE_EMOTIONS_PAGE));
  gint64 deadline;
  char user[16];
  gboolean selected = FALSE;

  g_assert_nonnull (page);
  g_assert_cmpint (trained_model, >, 0);   /* with predictions cached by the Fusion test */
  g_assert_true (dlen_window_show_page (window, "emotions"));
  g_assert_true (dlen_emotions_page_set_model (page, trained_model));
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (dlen_emotions_page_get_loading (page) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (dlen_emotions_page_get_state (page), ==, "users");
  g_assert_cmpuint (dlen_emotions_page_get_n_users_total (page), >, 10);
  /* The synthetic users are numbered; pick the first with predictions in the test split. */
  for (int u = 0; u < 400 && !selected; u++)
    {
      g_snprintf (user, sizeof user, "%d", u);
      selected = dlen_emotions_page_select_user (page, user);
    }
  g_assert_true (selected);
  iterate_for (300);
  g_test_message ("user %s: %u points drawn", user, dlen_emotions_page_get_n_drawn_points (page));
  g_assert_cmpuint (dlen_emotions_page_get_n_drawn_points (page), >, 0);

  /* Its chart exported as PNG through a symbolic link (the link kept, its target replaced) and
   * as SVG. */
  {
    DlenTrajectoryChart *chart = DLEN_TRAJECTORY_CHART (find_child (GTK_WIDGET (page), DLEN_TYPE_TRAJECTORY_CHART));
    g_autofree char *target = g_build_filename (tmpdir, "trajectory-target.png", NULL);
    g_autofree char *link = g_build_filename (tmpdir, "trajectory.png", NULL);
    g_autofree char *svg = g_build_filename (tmpdir, "trajectory.svg", NULL);
    g_autofree char *text = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (GdkTexture) texture = NULL;
    g_assert_nonnull (chart);
    g_assert_true (g_file_set_contents (target, "old", -1, NULL));
    g_assert_cmpint (symlink ("trajectory-target.png", link), ==, 0);
    g_assert_true (dlen_trajectory_chart_export (chart, link, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
    texture = gdk_texture_new_from_filename (target, &error);
    g_assert_no_error (error);
    g_assert_cmpint (gdk_texture_get_width (texture), >=, 400);
    g_assert_true (dlen_trajectory_chart_export (chart, svg, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (svg, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "<svg"));
    g_assert_nonnull (strstr (text, "</svg>"));
  }
  /* The users table as CSV through a symbolic link: the link stays (a plain rewrite of the
   * path would have put a file in its place). */
  {
    g_autofree char *target = g_build_filename (tmpdir, "users-target.csv", NULL);
    g_autofree char *link = g_build_filename (tmpdir, "users.csv", NULL);
    g_autofree char *text = NULL;
    g_autoptr (GError) error = NULL;
    g_assert_true (g_file_set_contents (target, "old", -1, NULL));
    g_assert_cmpint (symlink ("users-target.csv", link), ==, 0);
    g_assert_true (dlen_emotions_page_write_csv (page, link, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
    g_assert_true (g_file_get_contents (target, &text, NULL, NULL));
    g_assert_true (g_str_has_prefix (text, "user,"));
  }
}

/* Distinct colours in a PNG: a blank or single-colour render has a handful. */
static guint
distinct_colours (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = gdk_texture_new_from_filename (path, &error);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autofree guchar *pixels = NULL;
  int w, h;
  g_assert_no_error (error);
  w = gdk_texture_get_width (texture);
  h = gdk_texture_get_height (texture);
  g_assert_cmpint (w, >=, 1200);
  g_assert_cmpint (h, >=, 700);
  pixels = g_malloc ((gsize) w * h * 4);
  gdk_texture_download (texture, pixels, (gsize) w * 4);
  for (int i = 0; i < w * h; i += 7)
    {
      guint32 px;
      memcpy (&px, pixels + (gsize) i * 4, 4);
      g_hash_table_add (seen, GUINT_TO_POINTER (px));
    }
  return g_hash_table_size (seen);
}

static gboolean
count_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until the window has drawn @n more frames (a busy machine draws slowly;
 * a fixed wait could capture a page before its first frame). */
static void
wait_frames (guint n)
{
  guint ticks = 0, id = gtk_widget_add_tick_callback (GTK_WIDGET (window), count_tick, &ticks, NULL);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (ticks < n && g_get_monotonic_time () < deadline)
    {
      gtk_widget_queue_draw (GTK_WIDGET (window));
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  gtk_widget_remove_tick_callback (GTK_WIDGET (window), id);
}

static void
test_screenshots (void)
{
  static const char *const pages[] = { "data", "train", "models", "emotions", "fusion" };
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  g_autofree char *shots = g_build_filename (dir ? dir : tmpdir, "screenshots", NULL);
  g_mkdir_with_parents (shots, 0755);
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autofree char *name = g_strdup_printf ("%s.png", pages[i]);
      g_autofree char *path = g_build_filename (shots, name, NULL);
      g_autoptr (GError) error = NULL;
      guint colours;
      g_assert_true (dlen_window_show_page (window, pages[i]));
      iterate_for (300);
      wait_frames (5);
      g_assert_true (dlen_window_save_png (window, path, &error));
      g_assert_no_error (error);
      colours = distinct_colours (path);
      g_test_message ("%s: %u colours", path, colours);
      g_assert_cmpuint (colours, >, 30);
    }
}

/* The KuaiRand import with its video features switched on, through the Data page: the switch
 * shows only with the preset and the file beside the log, and the project gets the joined
 * fields. Runs last, in a project of its own. */
static GtkWidget *
find_row (GtkWidget *root, const char *title)
{
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *hit;
      if (ADW_IS_PREFERENCES_ROW (c) && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (c)), title) == 0)
        return c;
      if ((hit = find_row (c, title)))
        return hit;
    }
  return NULL;
}

typedef struct {
  gboolean done;
  GError *error;
} Deleted;

static void
on_model_deleted (DlenModelsPage *page, gint64 model_id, const GError *error, gpointer data)
{
  Deleted *d = data;
  d->done = TRUE;
  d->error = error ? g_error_copy (error) : NULL;
}

static gint64
project_int (const char *sql)
{
  sqlite3 *db = dlen_store_db (dlen_project_get_store (dlen_window_get_project (window)));
  sqlite3_stmt *st = NULL;
  gint64 v;
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

/* Deleting a model runs off the main loop (its cached predictions may take seconds) and takes
 * its predictions along; a model that is not there is an error. */
static void
test_delete_model (void)
{
  DlenModelsPage *models = DLEN_MODELS_PAGE (find_child (GTK_WIDGET (window), DLEN_TYPE_MODELS_PAGE));
  g_autofree char *count_predictions = g_strdup_printf ("SELECT count(*) FROM predictions WHERE model_id = %"
                                                        G_GINT64_FORMAT, trained_model);
  Deleted d = { FALSE, NULL };
  guint before;

  g_assert_nonnull (models);
  g_assert_cmpint (project_int (count_predictions), >, 0);   /* cached by the Fusion test */
  before = dlen_models_page_get_n_models (models);
  dlen_models_page_delete_model (models, trained_model, on_model_deleted, &d);
  g_assert_true (dlen_models_page_is_deleting (models));
  iterate_until (&d.done, 60);
  g_assert_no_error (d.error);
  g_assert_false (dlen_models_page_is_deleting (models));
  iterate_for (100);
  g_assert_cmpuint (dlen_models_page_get_n_models (models), ==, before - 1);
  g_assert_cmpint (project_int (count_predictions), ==, 0);

  memset (&d, 0, sizeof d);
  dlen_models_page_delete_model (models, trained_model, on_model_deleted, &d);
  iterate_until (&d.done, 60);
  g_assert_error (d.error, DLEN_ERROR, DLEN_ERROR_DATA);
  g_clear_error (&d.error);
}

static void
test_import_video_features (void)
{
  const char *dir = g_getenv ("DLEN_SHARED_DATA");
  g_autofree char *log = g_build_filename (dir ? dir : "../shared/data", "kuairand", "likehate_27k.tsv", NULL);
  g_autofree char *path = g_build_filename (tmpdir, "ui-kuairand.dlen", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (log);
  g_autoptr (DlenProject) project = NULL;
  g_autoptr (GError) error = NULL;
  DlenProject *before;
  DlenDataPage *page = DLEN_DATA_PAGE (find_child (GTK_WIDGET (window), DLEN_TYPE_DATA_PAGE));
  GtkWidget *row, *sw;
  int state = 0;
  gulong id;

  if (!g_file_test (log, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("../shared/data is not present");
      return;
    }
  before = g_object_ref (dlen_data_page_get_project (page));
  project = dlen_project_open (path, TRUE, &error);
  g_assert_no_error (error);
  dlen_window_set_project (window, project);
  dlen_data_page_import_file (page, file);
  iterate_for (100);
  row = find_row (GTK_WIDGET (page), "_Video Features");
  g_assert_nonnull (row);
  /* The preview guesses the KuaiRand preset from the header; the file is beside the log. */
  g_assert_true (gtk_widget_get_visible (row));
  sw = find_child (row, GTK_TYPE_SWITCH);
  g_assert_nonnull (sw);
  gtk_switch_set_active (GTK_SWITCH (sw), TRUE);
  id = g_signal_connect (page, "import-finished", G_CALLBACK (on_import_finished), &state);
  dlen_data_page_import_with_options (page, file, "kuairand", NULL, FALSE);
  while (state == 0)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (page, id);
  g_assert_cmpint (state, ==, 1);
  {
    sqlite3 *db = dlen_store_db (dlen_project_get_store (project));
    sqlite3_stmt *st = NULL;
    g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT (SELECT count(*) FROM fields WHERE name = 'author_id'),"
                                             " (SELECT item_features FROM imports WHERE id = 1)", -1, &st, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int (st, 0), ==, 1);
    g_assert_nonnull (strstr ((const char *) sqlite3_column_text (st, 1), "video_features_basic.csv"));
    sqlite3_finalize (st);
  }
  dlen_window_set_project (window, before);
  g_object_unref (before);
}

/* The workbench ended by --exit-after-startup (as by its Quit action) closes its windows and
 * with them the project: no WAL or shared-memory file stays beside it. */
static void
test_quit_closes_project (void)
{
  g_autofree char *log = synthetic_log (3000);
  g_autofree char *copy = g_build_filename (tmpdir, "quit.dlen", NULL);
  g_autofree char *wal = g_strconcat (copy, "-wal", NULL), *shm = g_strconcat (copy, "-shm", NULL);
  const char *argv[] = { g_getenv ("DLEN_WORKBENCH"), "--exit-after-startup", copy, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *bytes = NULL;
  gsize len;
  int status = -1;

  g_assert_nonnull (argv[0]);
  {
    /* A project with impressions: it runs WAL. */
    g_autoptr (DlenStore) store = dlen_store_open (copy, TRUE, &error);
    DlenImportOptions o;
    DlenImportReport report;
    g_assert_no_error (error);
    dlen_import_options_init (&o);
    o.load.preset = "synthetic";
    g_assert_true (dlen_store_import (store, log, &o, NULL, NULL, NULL, &report, &error));
    g_assert_no_error (error);
    dlen_import_report_clear (&report);
  }
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (copy, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 19);
  g_assert_cmpint (bytes[18], ==, 2);   /* the header's WAL mark */
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (shm, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_autofree char *project_path = NULL;
  g_autoptr (DlenProject) project = NULL;
  g_autoptr (GError) error = NULL;
  int rc;

  tmpdir = g_dir_make_tmp ("dlen-ui-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", tmpdir, TRUE);
  g_setenv ("GSK_RENDERER", "cairo", TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  {
    g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
    gtk_css_provider_load_from_resource (css, "/org/dlen/Workbench/style.css");
    gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  }
  window = g_object_ref_sink (dlen_window_new (NULL));
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  project_path = g_build_filename (tmpdir, "ui.dlen", NULL);
  project = dlen_project_open (project_path, TRUE, &error);
  g_assert_no_error (error);
  dlen_window_set_project (window, project);
  iterate_for (200);

  g_test_add_func ("/dlen/ui/import", test_import);
  g_test_add_func ("/dlen/ui/train-cancel-models", test_train_cancel_and_models);
  g_test_add_func ("/dlen/ui/fusion-matches-cli", test_fusion_matches_cli);
  g_test_add_func ("/dlen/ui/emotions-trajectory", test_emotions_trajectory);
  g_test_add_func ("/dlen/ui/screenshots", test_screenshots);
  g_test_add_func ("/dlen/ui/delete-model", test_delete_model);
  g_test_add_func ("/dlen/ui/import-video-features", test_import_video_features);
  g_test_add_func ("/dlen/ui/quit-closes-project", test_quit_closes_project);
  rc = g_test_run ();
  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (window);
  return rc;
}
