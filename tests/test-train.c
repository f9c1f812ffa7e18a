/* test-train.c: training behaviour (determinism, best epoch, cancel, NaN stop, known answers
 * on the synthetic world) and model files (round trip, corrupt files refused). */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "dlen/dlen.h"

/* ---- A synthetic dataset in memory ------------------------------------------------------ */

typedef struct {
  DlenDataset *ds;
  GArray *truth;     /* float true emotion per row */
} World;

static DlenSchema
world_schema (void)
{
  static const char *const cats[] = { "user", "item", "category", "position", "hour" };
  static const struct { const char *name; DlenPolarity pol; int weak; } tg[] = {
    { "click", DLEN_POLARITY_NEUTRAL, 0 }, { "long_view", DLEN_POLARITY_POSITIVE, 0 },
    { "like", DLEN_POLARITY_POSITIVE, 1 }, { "share", DLEN_POLARITY_POSITIVE, 1 },
    { "dislike", DLEN_POLARITY_NEGATIVE, 1 },
  };
  DlenSchema s;
  memset (&s, 0, sizeof s);
  for (guint i = 0; i < G_N_ELEMENTS (cats); i++)
    {
      g_strlcpy (s.cat[i].name, cats[i], DLEN_NAME_MAX);
      s.cat[i].buckets = i == 0 ? 8192 : i == 1 ? 16384 : 64;
    }
  s.n_cat = G_N_ELEMENTS (cats);
  for (guint i = 0; i < G_N_ELEMENTS (tg); i++)
    {
      g_strlcpy (s.targets[i].name, tg[i].name, DLEN_NAME_MAX);
      s.targets[i].polarity = tg[i].pol;
      s.targets[i].weak_source = tg[i].weak;
      s.targets[i].weight = 1.0f;
    }
  g_strlcpy (s.targets[5].name, "stay", DLEN_NAME_MAX);
  s.targets[5].kind = DLEN_TARGET_DURATION;
  s.targets[5].weight = 1.0f;
  s.n_targets = 6;
  return s;
}

static int
add_world_row (const DlenSynthRow *r, void *user_data)
{
  World *w = user_data;
  uint64_t cat[5];
  uint32_t v[5] = { r->user, r->item, r->category, r->position, (uint32_t) ((r->time_ms / 3600000) % 24) };
  float lab[6] = { r->click, r->long_view, r->like, r->share, r->dislike, r->stay_s };
  float truth = r->emotion;
  DlenRow row = { .group = r->user, .time_ms = r->time_ms, .cat = cat, .labels = lab };
  for (int f = 0; f < 5; f++)
    cat[f] = dlen_hash_value (f, &v[f], sizeof v[f]);
  row.day = (int32_t) (r->time_ms / 86400000);   /* day index: fine for splitting */
  g_array_append_val (w->truth, truth);
  return dlen_dataset_append (w->ds, &row) != DLEN_STATUS_OK;
}

static World
make_world (uint64_t impressions, uint64_t seed)
{
  DlenSchema s = world_schema ();
  DlenSynthParams sp = dlen_synth_params_default ();
  World w = { dlen_dataset_new (&s), g_array_new (FALSE, FALSE, sizeof (float)) };
  sp.impressions = impressions;
  sp.users = 1000;
  sp.items = 3000;
  sp.seed = seed;
  g_assert_cmpint (dlen_synth_generate (&sp, add_world_row, &w), ==, DLEN_STATUS_OK);
  return w;
}

static void
world_clear (World *w)
{
  dlen_dataset_free (w->ds);
  g_array_unref (w->truth);
}

static DlenSplit
world_split (const World *w)
{
  DlenSplit sp;
  /* The generator starts on day 19723 (2024-01-01) and spans 14 days: the last 3 are test. */
  g_assert_cmpint (dlen_dataset_split (w->ds, 19723 + 11, 0.1, &sp), ==, DLEN_STATUS_OK);
  g_assert_cmpuint (sp.n_train, >, 0);
  g_assert_cmpuint (sp.n_test, >, 0);
  return sp;
}

static float *
predict_all (DlenModel *m, const DlenDataset *ds, const size_t *rows, size_t n)
{
  uint32_t w = dlen_model_schema (m)->n_targets + 1;
  float *out = g_new (float, n * w);
  g_assert_cmpint (dlen_model_predict (m, ds, rows, n, out), ==, DLEN_STATUS_OK);
  return out;
}

/* ---- Known answers ---------------------------------------------------------------------- */

static void
test_synthetic_recovery (void)
{
  World w = make_world (120000, 5);
  DlenSplit sp = world_split (&w);
  DlenTrainParams tp = dlen_train_params_default ();
  double click_auc[2];
  tp.epochs = 2;
  for (int k = 0; k < 2; k++)
    {
      DlenArch arch = k == 0 ? DLEN_ARCH_DLEN : DLEN_ARCH_PLE;
      DlenModelConfig c = dlen_model_config_default (arch);
      DlenModel *m = dlen_model_new (dlen_dataset_schema (w.ds), &c);
      DlenMetrics mt;
      g_assert_cmpint (dlen_model_train (m, w.ds, sp.train, sp.n_train, sp.valid, sp.n_valid, &tp), ==, DLEN_STATUS_OK);
      g_assert_cmpint (dlen_model_evaluate (m, w.ds, sp.test, sp.n_test, &mt), ==, DLEN_STATUS_OK);
      click_auc[k] = mt.target[0].auc;
      if (arch == DLEN_ARCH_DLEN)
        {
          float *pred = predict_all (m, w.ds, sp.test, sp.n_test);
          float *pe = g_new (float, sp.n_test), *pc = g_new (float, sp.n_test), *truth = g_new (float, sp.n_test);
          double auc, click_as_emotion;
          for (size_t i = 0; i < sp.n_test; i++)
            {
              pe[i] = pred[i * 7 + 6];
              pc[i] = pred[i * 7 + 0];
              truth[i] = g_array_index (w.truth, float, sp.test[i]);
            }
          auc = dlen_auc (pe, truth, sp.n_test);
          click_as_emotion = dlen_auc (pc, truth, sp.n_test);
          g_test_message ("DLEN p_e vs true emotion AUC %.4f (predicted click vs true emotion %.4f), "
                          "weak-label emotion AUC %.4f", auc, click_as_emotion, mt.emotion_auc);
          /* The latent emotion tracks the true one better than the click-bait-prone click does. */
          g_assert_cmpfloat (auc, >, 0.60);
          g_assert_cmpfloat (auc, >, click_as_emotion);
          g_assert_cmpfloat (mt.emotion_auc, >, 0.75);
          g_free (pc);
          g_free (pred);
          g_free (pe);
          g_free (truth);
        }
      dlen_model_free (m);
    }
  g_test_message ("click AUC: DLEN %.4f, PLE %.4f", click_auc[0], click_auc[1]);
  g_assert_cmpfloat (click_auc[0], >, 0.65);
  /* Seeds move either model by about 0.002 here; DLEN may not fall below PLE beyond that. */
  g_assert_cmpfloat (click_auc[0], >=, click_auc[1] - 0.005);
  dlen_split_clear (&sp);
  world_clear (&w);
}

/* ---- Determinism, cancel, NaN ------------------------------------------------------------ */

static float *
train_and_predict (World *w, const DlenSplit *sp, const DlenTrainParams *tp, int *status, DlenModel **keep)
{
  DlenModelConfig c = dlen_model_config_default (DLEN_ARCH_DLEN);
  DlenModel *m = dlen_model_new (dlen_dataset_schema (w->ds), &c);
  float *pred;
  *status = dlen_model_train (m, w->ds, sp->train, sp->n_train, NULL, 0, tp);
  pred = predict_all (m, w->ds, sp->test, sp->n_test);
  if (keep)
    *keep = m;
  else
    dlen_model_free (m);
  return pred;
}

/* Same seed and thread count, same bits. At two threads or more each batch is split across
 * the threads, which changes the float rounding of the gradient sums but not what is learnt:
 * the test AUCs stay within 0.005 of one thread's. */
static void
test_deterministic (void)
{
  World w = make_world (30000, 2);
  DlenSplit sp = world_split (&w);
  DlenTrainParams tp = dlen_train_params_default ();
  size_t bytes = sp.n_test * 7 * sizeof (float);
  const DlenSchema *s = dlen_dataset_schema (w.ds);
  double auc1[DLEN_MAX_TARGETS];
  int st;
  for (uint32_t threads = 1; threads <= 3; threads++)
    {
      float *a, *b, *c;
      DlenModel *m;
      DlenMetrics mt;
      tp.threads = threads;
      tp.epochs = 1;
      tp.seed = 11;
      a = train_and_predict (&w, &sp, &tp, &st, &m);
      g_assert_cmpint (st, ==, DLEN_STATUS_OK);
      g_assert_cmpint (dlen_model_evaluate (m, w.ds, sp.test, sp.n_test, &mt), ==, DLEN_STATUS_OK);
      for (uint32_t t = 0; t < s->n_targets; t++)
        if (s->targets[t].kind == DLEN_TARGET_BINARY)
          {
            if (threads == 1)
              auc1[t] = mt.target[t].auc;
            g_test_message ("threads %u: %s test AUC %.4f (one thread %.4f)", threads, s->targets[t].name,
                            mt.target[t].auc, auc1[t]);
            g_assert_cmpfloat (fabs (mt.target[t].auc - auc1[t]), <, 0.005);
          }
      dlen_model_free (m);
      b = train_and_predict (&w, &sp, &tp, &st, NULL);
      g_assert_true (memcmp (a, b, bytes) == 0);
      tp.seed = 12;
      c = train_and_predict (&w, &sp, &tp, &st, NULL);
      g_assert_false (memcmp (a, c, bytes) == 0);
      g_free (a);
      g_free (b);
      g_free (c);
    }
  dlen_split_clear (&sp);
  world_clear (&w);
}

/* Where the model learns something (the world of the known answers, two epochs with
 * validation), splitting batches across two threads learns the same: test AUCs within 0.005. */
static void
test_threads_agree (void)
{
  World w = make_world (120000, 5);
  DlenSplit sp = world_split (&w);
  DlenTrainParams tp = dlen_train_params_default ();
  const DlenSchema *s = dlen_dataset_schema (w.ds);
  DlenMetrics mt[2];
  tp.epochs = 2;
  for (uint32_t k = 0; k < 2; k++)
    {
      DlenModelConfig c = dlen_model_config_default (DLEN_ARCH_DLEN);
      DlenModel *m = dlen_model_new (s, &c);
      tp.threads = k + 1;
      g_assert_cmpint (dlen_model_train (m, w.ds, sp.train, sp.n_train, sp.valid, sp.n_valid, &tp), ==, DLEN_STATUS_OK);
      g_assert_cmpint (dlen_model_evaluate (m, w.ds, sp.test, sp.n_test, &mt[k]), ==, DLEN_STATUS_OK);
      dlen_model_free (m);
    }
  g_assert_cmpfloat (mt[0].target[0].auc, >, 0.65);
  for (uint32_t t = 0; t < s->n_targets; t++)
    if (s->targets[t].kind == DLEN_TARGET_BINARY)
      {
        g_test_message ("%s test AUC: one thread %.4f, two threads %.4f", s->targets[t].name,
                        mt[0].target[t].auc, mt[1].target[t].auc);
        g_assert_cmpfloat (fabs (mt[1].target[t].auc - mt[0].target[t].auc), <, 0.005);
      }
  g_assert_cmpfloat (fabs (mt[1].emotion_auc - mt[0].emotion_auc), <, 0.005);
  dlen_split_clear (&sp);
  world_clear (&w);
}

typedef struct {
  int polls, stop_after;
  int epochs_done;
} AbortState;

static int
abort_after (void *user_data)
{
  AbortState *a = user_data;
  return ++a->polls > a->stop_after;
}

static void
count_epochs (const DlenProgress *p, void *user_data)
{
  AbortState *a = user_data;
  if (p->epoch_done)
    a->epochs_done++;
}

static void
test_cancel_keeps_best (void)
{
  World w = make_world (30000, 3);
  DlenSplit sp = world_split (&w);
  DlenTrainParams tp = dlen_train_params_default ();
  size_t bytes = sp.n_test * 7 * sizeof (float);
  uint64_t steps = (sp.n_train + tp.batch_size - 1) / tp.batch_size;
  AbortState a = { 0, (int) (steps + steps / 2), 0 };
  float *one, *cancelled;
  int st;

  tp.epochs = 1;
  one = train_and_predict (&w, &sp, &tp, &st, NULL);
  g_assert_cmpint (st, ==, DLEN_STATUS_OK);
  /* Same seed, three epochs, cancelled half-way through the second: epoch 1 must be kept. */
  tp.epochs = 3;
  tp.abort = abort_after;
  tp.progress = count_epochs;
  tp.user_data = &a;
  cancelled = train_and_predict (&w, &sp, &tp, &st, NULL);
  g_assert_cmpint (st, ==, DLEN_STATUS_CANCELLED);
  g_assert_cmpint (a.epochs_done, ==, 1);
  g_assert_true (memcmp (one, cancelled, bytes) == 0);
  g_assert_cmpstr (dlen_status_to_string (DLEN_STATUS_CANCELLED), ==, "cancelled");
  g_free (one);
  g_free (cancelled);
  dlen_split_clear (&sp);
  world_clear (&w);
}

static void
test_nan_stops (void)
{
  World w = make_world (20000, 4);
  DlenSplit sp = world_split (&w);
  DlenTrainParams tp = dlen_train_params_default ();
  g_autofree char *dir = g_dir_make_tmp ("dlen-nan-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "m.dlenmodel", NULL);
  DlenModel *m = NULL, *back = NULL;
  float *pred;
  int st;
  tp.learning_rate = 1e36f;    /* the first steps blow the weights up to overflow */
  tp.epochs = 2;
  pred = train_and_predict (&w, &sp, &tp, &st, &m);
  g_assert_cmpint (st, ==, DLEN_STATUS_NONFINITE);
  g_assert_nonnull (strstr (dlen_last_error (), "last good weights"));
  /* The kept weights are all finite: the loader refuses any NaN or inf. */
  g_assert_cmpint (dlen_model_save (m, path), ==, DLEN_STATUS_OK);
  g_assert_cmpint (dlen_model_load (path, &back), ==, DLEN_STATUS_OK);
  dlen_model_free (back);
  dlen_model_free (m);
  g_free (pred);
  g_unlink (path);
  g_rmdir (dir);
  dlen_split_clear (&sp);
  world_clear (&w);
}

static void
test_weak_label_fraction (void)
{
  World w = make_world (100000, 6);
  DlenSplit sp = world_split (&w);
  DlenTrainParams tp = dlen_train_params_default ();
  DlenModelConfig c = dlen_model_config_default (DLEN_ARCH_DLEN);
  DlenMetrics mt[2];
  const double fractions[2] = { 0.0, 1.0 };
  tp.epochs = 2;
  for (int k = 0; k < 2; k++)
    {
      DlenModel *m = dlen_model_new (dlen_dataset_schema (w.ds), &c);
      tp.weak_label_fraction = fractions[k];
      g_assert_cmpint (dlen_model_train (m, w.ds, sp.train, sp.n_train, NULL, 0, &tp), ==, DLEN_STATUS_OK);
      g_assert_cmpint (dlen_model_evaluate (m, w.ds, sp.test, sp.n_test, &mt[k]), ==, DLEN_STATUS_OK);
      g_test_message ("weak-label fraction %.1f: click %.3f like %.3f dislike %.3f emotion %.3f", fractions[k],
                      mt[k].target[0].auc, mt[k].target[2].auc, mt[k].target[4].auc, mt[k].emotion_auc);
      dlen_model_free (m);
    }
  /* Without weak labels the weak-source targets get no signal of their own: they and the
   * emotion must be clearly worse than with all labels, while click learns either way. */
  g_assert_cmpfloat (mt[0].target[0].auc, >, 0.55);
  g_assert_cmpfloat (mt[1].target[2].auc, >, mt[0].target[2].auc + 0.02);
  g_assert_cmpfloat (mt[1].target[4].auc, >, mt[0].target[4].auc + 0.02);
  g_assert_cmpfloat (mt[1].emotion_auc, >, mt[0].emotion_auc + 0.02);
  dlen_split_clear (&sp);
  world_clear (&w);
}

/* ---- Model files ------------------------------------------------------------------------- */

static guint8 *
read_all (const char *path, gsize *len)
{
  gchar *data;
  g_assert_true (g_file_get_contents (path, &data, len, NULL));
  return (guint8 *) data;
}

static void
write_all (const char *path, const guint8 *data, gsize len)
{
  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) len, NULL));
}

/* Replaces the first occurrence of @from by @to (same length) inside the JSON header. */
static void
patch_header (guint8 *data, gsize len, const char *from, const char *to)
{
  guint64 hlen = 0;
  guint8 *hit;
  g_assert_cmpuint (strlen (from), ==, strlen (to));
  memcpy (&hlen, data, 8);
  hit = memmem (data + 8, MIN (hlen, len - 8), from, strlen (from));
  g_assert_nonnull (hit);
  memcpy (hit, to, strlen (to));
}

static void
expect_refused (const char *path, int status, const char *fragment)
{
  DlenModel *m = (DlenModel *) 0x1;
  int st = dlen_model_load (path, &m);
  g_assert_cmpint (st, ==, status);
  g_assert_null (m);
  g_assert_cmpstr (dlen_last_error (), !=, "");
  if (fragment && !strstr (dlen_last_error (), fragment))
    g_error ("expected '%s' in: %s", fragment, dlen_last_error ());
}

static void
test_model_files (void)
{
  World w = make_world (20000, 8);
  DlenSplit sp = world_split (&w);
  DlenTrainParams tp = dlen_train_params_default ();
  g_autofree char *dir = g_dir_make_tmp ("dlen-io-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.safetensors", NULL);
  gsize len;
  guint8 *orig;
  int st;

  for (int arch = DLEN_ARCH_SHARED_BOTTOM; arch <= DLEN_ARCH_DLEN; arch++)
    {
      DlenModelConfig c = dlen_model_config_default ((DlenArch) arch);
      DlenModel *m, *back = NULL;
      float *a, *b;
      c.levels = arch >= DLEN_ARCH_PLE ? 2 : 1;
      m = dlen_model_new (dlen_dataset_schema (w.ds), &c);
      tp.epochs = 1;
      g_assert_cmpint (dlen_model_train (m, w.ds, sp.train, sp.n_train, NULL, 0, &tp), ==, DLEN_STATUS_OK);
      g_assert_cmpint (dlen_model_set_meta (m, "preset", "synthetic"), ==, DLEN_STATUS_OK);
      g_assert_cmpint (dlen_model_save (m, path), ==, DLEN_STATUS_OK);
      g_assert_cmpint (dlen_model_load (path, &back), ==, DLEN_STATUS_OK);
      g_assert_cmpuint (dlen_model_n_params (back), ==, dlen_model_n_params (m));
      g_assert_cmpstr (dlen_model_get_meta (back, "preset"), ==, "synthetic");
      a = predict_all (m, w.ds, sp.test, sp.n_test);
      b = predict_all (back, w.ds, sp.test, sp.n_test);
      /* Bit-identical, NaN emotion columns of baselines included. */
      g_assert_true (memcmp (a, b, sp.n_test * 7 * sizeof (float)) == 0);
      g_free (a);
      g_free (b);
      dlen_model_free (back);
      dlen_model_free (m);
    }

  /* The last file written is a two-level DLEN model. */
  orig = read_all (path, &len);

  /* Truncated anywhere: refused. */
  for (gsize cut = 0; cut < len; cut += 1 + len / 97)
    {
      write_all (bad, orig, cut);
      expect_refused (bad, DLEN_STATUS_FORMAT, NULL);
    }
  write_all (bad, orig, len - 1);
  expect_refused (bad, DLEN_STATUS_FORMAT, NULL);

  /* A data offset pointing past the end. */
  {
    guint8 *copy = g_memdup2 (orig, len);
    guint64 hlen;
    char *hdr, *p;
    memcpy (&hlen, copy, 8);
    hdr = g_strndup ((const char *) copy + 8, hlen);
    p = strstr (hdr, "\"data_offsets\":[");
    g_assert_nonnull (p);
    p += strlen ("\"data_offsets\":[");
    /* Overwrite the begin offset's first digit by 9s of the same width: far past the data. */
    for (char *q = p; *q >= '0' && *q <= '9'; q++)
      *q = '9';
    memcpy (copy + 8, hdr, hlen);
    write_all (bad, copy, len);
    expect_refused (bad, DLEN_STATUS_FORMAT, NULL);
    g_free (hdr);
    g_free (copy);
  }

  /* Shapes that contradict the declared architecture (embedding size 16 -> 32). */
  {
    guint8 *copy = g_memdup2 (orig, len);
    patch_header (copy, len, "\"dlen.emb_dim\":\"16\"", "\"dlen.emb_dim\":\"32\"");
    write_all (bad, copy, len);
    expect_refused (bad, DLEN_STATUS_FORMAT, "shape");
    g_free (copy);
  }
  /* Another architecture declared over the same tensors. */
  {
    guint8 *copy = g_memdup2 (orig, len);
    patch_header (copy, len, "\"dlen.arch\":\"dlen\"", "\"dlen.arch\":\"mmoe\"");
    write_all (bad, copy, len);
    expect_refused (bad, DLEN_STATUS_FORMAT, NULL);
    g_free (copy);
  }
  /* A future format version. */
  {
    guint8 *copy = g_memdup2 (orig, len);
    patch_header (copy, len, "\"format_version\":\"1\"", "\"format_version\":\"7\"");
    write_all (bad, copy, len);
    expect_refused (bad, DLEN_STATUS_FORMAT, "version");
    g_free (copy);
  }
  /* A NaN weight. */
  {
    guint8 *copy = g_memdup2 (orig, len);
    float nan = NAN;
    memcpy (copy + len - sizeof (float), &nan, sizeof nan);
    write_all (bad, copy, len);
    expect_refused (bad, DLEN_STATUS_FORMAT, "NaN");
    g_free (copy);
  }
  st = dlen_model_load (dir, &(DlenModel *) { NULL });
  g_assert_cmpint (st, ==, DLEN_STATUS_IO);
  g_free (orig);
  g_unlink (bad);
  g_unlink (path);
  g_rmdir (dir);
  dlen_split_clear (&sp);
  world_clear (&w);
}

/* ---- Streaming from a source of chunks ----------------------------------------------------- */

/* A log of many chunks through the in-memory source: the scan, the split and streamed
 * training and evaluation, each checked against a direct computation over the whole dataset. */
static void
test_stream (void)
{
  /* Two shuffle windows, the second partly filled. */
  World w = make_world ((DLEN_SHUFFLE_CHUNKS + 2) * DLEN_CHUNK_ROWS + 12345, 9);
  size_t n = dlen_dataset_n_rows (w.ds), n_test = 0, n_valid = 0, n_train = 0, *test_rows, *sampled;
  const int32_t *days = dlen_dataset_days (w.ds);
  const int64_t *times = dlen_dataset_times (w.ds);
  DlenSplitRule rule = { 0, INT64_MAX };
  DlenSource src;
  DlenSourceScan *scan = NULL;
  DlenTrainParams tp = dlen_train_params_default ();
  DlenModelConfig c = dlen_model_config_default (DLEN_ARCH_DLEN);
  DlenModel *m;
  DlenMetrics streamed, direct;
  uint64_t counts[4], cap = 1000;
  int64_t last_train = INT64_MIN, first_valid = INT64_MAX;
  int32_t split_day = 19723 + 11;
  float *pred, *pe, *truth;

  for (size_t i = 0; i < n; i++)
    g_assert_cmpint (dlen_dataset_set_truth (w.ds, i, g_array_index (w.truth, float, i)), ==, DLEN_STATUS_OK);
  dlen_dataset_source (w.ds, &rule, &src);
  g_assert_cmpuint (src.n_chunks, ==, DLEN_SHUFFLE_CHUNKS + 3);

  /* The scan: rows, the day quantile and the distinct values of a field. */
  g_assert_cmpint (dlen_source_scan (&src, 1, NULL, NULL, &scan), ==, DLEN_STATUS_OK);
  g_assert_cmpuint (dlen_source_scan_rows (scan), ==, n);
  g_assert_cmpint (dlen_source_scan_day_quantile (scan, 0.85), ==, dlen_dataset_day_quantile (w.ds, 0.85));
  /* Field 3 is the slot in the request: as many distinct values as the request size (10). */
  g_assert_cmpuint (dlen_source_scan_distinct (scan, 3), ==, 10);

  /* The split: test is exactly the rows from the split day on; validation about 10 % of the
   * rest, all of it later than every training row. */
  g_assert_cmpint (dlen_source_split (&src, scan, split_day, 0.1, &rule, counts), ==, DLEN_STATUS_OK);
  test_rows = g_new (size_t, n);
  for (size_t i = 0; i < n; i++)
    {
      DlenPart p = dlen_split_rule_part (&rule, days[i], times[i]);
      if (days[i] >= split_day)
        {
          g_assert_cmpint (p, ==, DLEN_PART_TEST);
          test_rows[n_test++] = i;
        }
      else if (p == DLEN_PART_VALID)
        {
          n_valid++;
          first_valid = MIN (first_valid, times[i]);
        }
      else
        {
          g_assert_cmpint (p, ==, DLEN_PART_TRAIN);
          n_train++;
          last_train = MAX (last_train, times[i]);
        }
    }
  g_assert_cmpuint (counts[DLEN_PART_TEST], ==, n_test);
  g_assert_cmpuint (counts[DLEN_PART_VALID], ==, n_valid);
  g_assert_cmpuint (counts[DLEN_PART_TRAIN], ==, n_train);
  g_assert_cmpint (last_train, <, first_valid);
  g_assert_cmpfloat (fabs ((double) n_valid / (double) (n_train + n_valid) - 0.1), <, 0.01);

  /* Streamed training over three chunks learns. */
  c.emb_dim = 8;
  m = dlen_model_new (dlen_dataset_schema (w.ds), &c);
  tp.epochs = 1;
  g_assert_cmpint (dlen_model_train_source (m, &src, &tp), ==, DLEN_STATUS_OK);

  /* Streamed evaluation equals the direct one over the same rows... */
  g_assert_cmpint (dlen_model_evaluate_source (m, &src, DLEN_PART_TEST, n_test, 0, NULL, NULL, &streamed), ==, DLEN_STATUS_OK);
  g_assert_cmpint (dlen_model_evaluate (m, w.ds, test_rows, n_test, &direct), ==, DLEN_STATUS_OK);
  g_assert_cmpuint (streamed.n_rows, ==, n_test);
  for (uint32_t t = 0; t < 5; t++)
    {
      g_assert_cmpfloat (streamed.target[t].auc, ==, direct.target[t].auc);
      g_assert_cmpfloat (streamed.target[t].gauc, ==, direct.target[t].gauc);
    }
  g_assert_cmpfloat (streamed.target[0].auc, >, 0.6);
  g_assert_cmpfloat (streamed.emotion_auc, ==, direct.emotion_auc);
  /* ... and the true emotion's AUC is p_e's AUC against the recorded emotion. */
  pred = predict_all (m, w.ds, test_rows, n_test);
  pe = g_new (float, n_test);
  truth = g_new (float, n_test);
  for (size_t i = 0; i < n_test; i++)
    {
      pe[i] = pred[i * 7 + 6];
      truth[i] = g_array_index (w.truth, float, test_rows[i]);
    }
  g_assert_cmpfloat (streamed.true_emotion_auc, ==, dlen_auc (pe, truth, n_test));
  g_assert_cmpfloat (streamed.true_emotion_auc, >, 0.55);

  /* A cap evaluates exactly that many rows, spread evenly: row i of the part when i * cap / n
   * crosses an integer. */
  sampled = g_new (size_t, cap);
  for (size_t i = 0, k = 0; i < n_test; i++)
    if ((i * cap) / n_test != ((i + 1) * cap) / n_test)
      sampled[k++] = test_rows[i];
  g_assert_cmpint (dlen_model_evaluate_source (m, &src, DLEN_PART_TEST, n_test, cap, NULL, NULL, &streamed), ==, DLEN_STATUS_OK);
  g_assert_cmpint (dlen_model_evaluate (m, w.ds, sampled, cap, &direct), ==, DLEN_STATUS_OK);
  g_assert_cmpuint (streamed.n_rows, ==, cap);
  g_assert_cmpfloat (streamed.target[0].auc, ==, direct.target[0].auc);

  g_free (sampled);
  g_free (pred);
  g_free (pe);
  g_free (truth);
  g_free (test_rows);
  dlen_model_free (m);
  dlen_source_scan_free (scan);
  world_clear (&w);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dlen/engine/train/synthetic-recovery", test_synthetic_recovery);
  g_test_add_func ("/dlen/engine/train/deterministic", test_deterministic);
  g_test_add_func ("/dlen/engine/train/threads-agree", test_threads_agree);
  g_test_add_func ("/dlen/engine/train/cancel-keeps-best", test_cancel_keeps_best);
  g_test_add_func ("/dlen/engine/train/nan-stops", test_nan_stops);
  g_test_add_func ("/dlen/engine/train/weak-label-fraction", test_weak_label_fraction);
  g_test_add_func ("/dlen/engine/train/stream", test_stream);
  g_test_add_func ("/dlen/engine/io/model-files", test_model_files);
  return g_test_run ();
}
