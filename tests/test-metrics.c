/* test-metrics.c: checks the engine's metrics against scikit-learn fixtures and known answers. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "dlen/dlen-metrics.h"

#define SKLEARN_TOL 1e-6

typedef struct
{
  char *name;
  GArray *scores;   /* float */
  GArray *labels;   /* float, NaN when unlabelled */
  GArray *groups;   /* guint64 */
  double auc;
  double gauc;
  double logloss;
} FixtureCase;

static GPtrArray *fixture_cases;

/* The fixtures' guint64 group arrays are passed where the engine expects uint64_t. */
G_STATIC_ASSERT (sizeof (guint64) == sizeof (uint64_t));

static void
fixture_case_free (gpointer data)
{
  FixtureCase *fc = data;
  g_free (fc->name);
  g_array_unref (fc->scores);
  g_array_unref (fc->labels);
  g_array_unref (fc->groups);
  g_free (fc);
}

/* Parses tests/fixtures/metrics.txt (see gen-metric-fixtures.py for the format).  Any
 * malformed line fails the test rather than being skipped, so a damaged fixture cannot make
 * the comparison vacuous. */
static GPtrArray *
load_fixtures (void)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) error = NULL;
  GPtrArray *cases;
  FixtureCase *cur = NULL;
  guint expected_n = 0;

  if (fixture_cases)
    return fixture_cases;

  path = g_test_build_filename (G_TEST_DIST, "fixtures", "metrics.txt", NULL);
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);

  cases = g_ptr_array_new_with_free_func (fixture_case_free);
  lines = g_strsplit (contents, "\n", -1);
  for (guint li = 0; lines[li]; li++)
    {
      const char *line = lines[li];
      char name[128];
      unsigned n;
      char *end;

      if (line[0] == '\0' || line[0] == '#')
        continue;

      if (sscanf (line, "case %127s %u", name, &n) == 2)
        {
          g_assert_null (cur);
          cur = g_new0 (FixtureCase, 1);
          cur->name = g_strdup (name);
          cur->scores = g_array_sized_new (FALSE, FALSE, sizeof (float), n);
          cur->labels = g_array_sized_new (FALSE, FALSE, sizeof (float), n);
          cur->groups = g_array_sized_new (FALSE, FALSE, sizeof (guint64), n);
          cur->auc = cur->gauc = cur->logloss = NAN;
          expected_n = n;
        }
      else if (g_str_has_prefix (line, "auc "))
        cur->auc = g_ascii_strtod (line + 4, NULL);
      else if (g_str_has_prefix (line, "gauc "))
        cur->gauc = g_ascii_strtod (line + 5, NULL);
      else if (g_str_has_prefix (line, "logloss "))
        cur->logloss = g_ascii_strtod (line + 8, NULL);
      else if (g_str_equal (line, "end"))
        {
          g_assert_nonnull (cur);
          g_assert_cmpuint (cur->scores->len, ==, expected_n);
          g_assert_false (isnan (cur->auc));
          g_assert_false (isnan (cur->gauc));
          g_assert_false (isnan (cur->logloss));
          g_ptr_array_add (cases, cur);
          cur = NULL;
        }
      else
        {
          float score, label;
          guint64 group;

          g_assert_nonnull (cur);
          score = (float) strtod (line, &end);
          g_assert_true (end != line);
          line = end;
          label = (float) strtod (line, &end);
          g_assert_true (end != line);
          line = end;
          group = g_ascii_strtoull (line, &end, 10);
          g_assert_true (end != line);
          g_array_append_val (cur->scores, score);
          g_array_append_val (cur->labels, label);
          g_array_append_val (cur->groups, group);
        }
    }
  g_assert_null (cur);
  /* The generator writes eight cases; fewer means a truncated or stale fixture. */
  g_assert_cmpuint (cases->len, >=, 8);

  fixture_cases = cases;
  return cases;
}

typedef enum { METRIC_AUC, METRIC_GAUC, METRIC_LOGLOSS } Metric;

static void
check_against_sklearn (Metric metric)
{
  GPtrArray *cases = load_fixtures ();
  double worst = 0.0;

  for (guint i = 0; i < cases->len; i++)
    {
      FixtureCase *fc = g_ptr_array_index (cases, i);
      const float *s = (const float *) fc->scores->data;
      const float *y = (const float *) fc->labels->data;
      const guint64 *g = (const guint64 *) fc->groups->data;
      size_t n = fc->scores->len;
      double ours, theirs;

      switch (metric)
        {
        case METRIC_AUC:
          ours = dlen_auc (s, y, n);
          theirs = fc->auc;
          break;
        case METRIC_GAUC:
          ours = dlen_gauc (s, y, (const uint64_t *) g, n);
          theirs = fc->gauc;
          break;
        case METRIC_LOGLOSS:
        default:
          ours = dlen_logloss (s, y, n);
          theirs = fc->logloss;
          break;
        }

      g_test_message ("%s: ours %.17g sklearn %.17g diff %.3g",
                      fc->name, ours, theirs, fabs (ours - theirs));
      g_assert_false (isnan (ours));
      g_assert_cmpfloat_with_epsilon (ours, theirs, SKLEARN_TOL);
      worst = MAX (worst, fabs (ours - theirs));
    }
  g_test_message ("max diff over %u cases: %.3g", cases->len, worst);
}

static void
test_auc_sklearn (void)
{
  check_against_sklearn (METRIC_AUC);
}

static void
test_gauc_sklearn (void)
{
  check_against_sklearn (METRIC_GAUC);
}

static void
test_logloss_sklearn (void)
{
  check_against_sklearn (METRIC_LOGLOSS);
}

static void
test_auc_perfect (void)
{
  const float s[] = { 0.9f, 0.1f, 0.8f, 0.3f, 0.7f };
  const float y[] = { 1, 0, 1, 0, 1 };
  g_assert_cmpfloat (dlen_auc (s, y, G_N_ELEMENTS (s)), ==, 1.0);
}

static void
test_auc_reversed (void)
{
  const float s[] = { 0.1f, 0.9f, 0.2f, 0.8f, -3.0f };
  const float y[] = { 1, 0, 1, 0, 1 };
  g_assert_cmpfloat (dlen_auc (s, y, G_N_ELEMENTS (s)), ==, 0.0);
}

static void
test_auc_all_tied (void)
{
  const float s[] = { 0.5f, 0.5f, 0.5f, 0.5f, 0.5f };
  const float y[] = { 1, 0, 0, 1, 0 };
  g_assert_cmpfloat (dlen_auc (s, y, G_N_ELEMENTS (s)), ==, 0.5);
}

static void
test_auc_partial_ties (void)
{
  /* Pairs (pos, neg): (0.8,0.2) win, (0.8,0.5) win, (0.5,0.2) win, (0.5,0.5) half -> 3.5/4. */
  const float s[] = { 0.8f, 0.5f, 0.5f, 0.2f };
  const float y[] = { 1, 1, 0, 0 };
  g_assert_cmpfloat (dlen_auc (s, y, G_N_ELEMENTS (s)), ==, 0.875);
}

static void
test_auc_one_class (void)
{
  const float s[] = { 0.1f, 0.4f, 0.9f };
  const float pos[] = { 1, 1, 1 };
  const float neg[] = { 0, 0, 0 };
  const float none[] = { NAN, NAN, NAN };

  g_assert_true (isnan (dlen_auc (s, pos, G_N_ELEMENTS (s))));
  g_assert_true (isnan (dlen_auc (s, neg, G_N_ELEMENTS (s))));
  g_assert_true (isnan (dlen_auc (s, none, G_N_ELEMENTS (s))));
  g_assert_true (isnan (dlen_auc (s, pos, 0)));
}

static void
test_auc_skips_unlabelled (void)
{
  /* Without the skipped entries the ranking is perfect; counting any of them would not be. */
  const float s[] = { 0.9f, 0.0f, 0.1f, 0.95f, 0.8f, 0.05f };
  const float y[] = { 1, NAN, 0, 0.5f, 1, 2.0f };
  g_assert_cmpfloat (dlen_auc (s, y, G_N_ELEMENTS (s)), ==, 1.0);
}

static void
test_auc_signed_zero (void)
{
  /* -0 and +0 compare equal, so they must tie even though their bits differ. */
  const float s[] = { -0.0f, 0.0f };
  const float y[] = { 1, 0 };
  g_assert_cmpfloat (dlen_auc (s, y, 2), ==, 0.5);
}

/* A million shuffled entries with a closed-form answer: negatives at 2k, positives at 2k+1.
 * With score i, positive k beats k+1 negatives, so AUC = (K+1)/(2K); with score floor(i/2)
 * each positive ties its negative, so AUC = 1/2 exactly. */
static void
test_auc_million (void)
{
  const gsize n = 1000000, k = n / 2;
  float *s = g_new (float, n);
  float *s_tied = g_new (float, n);
  float *y = g_new (float, n);
  guint64 *g = g_new (guint64, n);
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  gint64 t0;
  double auc, auc_tied, gauc;

  for (gsize i = 0; i < n; i++)
    {
      s[i] = (float) i;
      s_tied[i] = (float) (i / 2);
      y[i] = (float) (i % 2);
      g[i] = 7;
    }
  for (gsize i = n - 1; i > 0; i--)
    {
      gsize j = (gsize) g_rand_int_range (rand, 0, (gint32) i + 1);
      float t;
      t = s[i], s[i] = s[j], s[j] = t;
      t = s_tied[i], s_tied[i] = s_tied[j], s_tied[j] = t;
      t = y[i], y[i] = y[j], y[j] = t;
    }

  t0 = g_get_monotonic_time ();
  auc = dlen_auc (s, y, n);
  auc_tied = dlen_auc (s_tied, y, n);
  gauc = dlen_gauc (s, y, (const uint64_t *) g, n);
  g_test_message ("three metrics over 10^6 entries: %.1f ms",
                  (g_get_monotonic_time () - t0) / 1000.0);

  /* The shuffle moved s, s_tied and y together, so the pairing survives. */
  g_assert_cmpfloat_with_epsilon (auc, (k + 1.0) / (2.0 * k), 1e-12);
  g_assert_cmpfloat (auc_tied, ==, 0.5);
  g_assert_cmpfloat (gauc, ==, auc);

  g_free (s);
  g_free (s_tied);
  g_free (y);
  g_free (g);
}

static void
test_gauc_known (void)
{
  /* Group A (id 2^63+1): ranking perfect, 4 labelled (the NaN does not count) -> AUC 1.
   * Group B (id 5): ranking reversed, 2 labelled -> AUC 0.
   * Group C (id 2^40): positives only -> left out.  GAUC = (4*1 + 2*0) / 6. */
  const guint64 a = G_GUINT64_CONSTANT (0x8000000000000001), b = 5, c = G_GUINT64_CONSTANT (1) << 40;
  const float s[] = { 0.9f, 0.2f, 0.1f, 0.8f, 0.3f, 0.5f, 0.4f, 0.6f, 0.7f };
  const float y[] = { 0,    1,    0,    1,    0,    NAN,  1,    1,    1 };
  const guint64 g[] = { b,  b,    a,    a,    a,    a,    a,    c,    c };

  g_assert_cmpfloat_with_epsilon (dlen_gauc (s, y, (const uint64_t *) g, G_N_ELEMENTS (s)),
                                  4.0 / 6.0, 1e-15);
}

static void
test_gauc_single_group (void)
{
  const float s[] = { 0.3f, 0.3f, 0.6f, 0.1f, 0.9f, 0.6f };
  const float y[] = { 1, 0, 0, 0, 1, 1 };
  const uint64_t g[] = { 9, 9, 9, 9, 9, 9 };

  g_assert_cmpfloat (dlen_gauc (s, y, g, G_N_ELEMENTS (s)), ==, dlen_auc (s, y, G_N_ELEMENTS (s)));
}

static void
test_gauc_none (void)
{
  /* Each group has one class only, though the whole set has both. */
  const float s[] = { 0.1f, 0.2f, 0.3f, 0.4f };
  const float y[] = { 1, 1, 0, 0 };
  const uint64_t g[] = { 1, 1, 2, 2 };

  g_assert_true (isnan (dlen_gauc (s, y, g, G_N_ELEMENTS (s))));
  g_assert_false (isnan (dlen_auc (s, y, G_N_ELEMENTS (s))));
}

static void
test_logloss_known (void)
{
  const float p[] = { 0.8f, 0.4f, 0.3f };
  const float y[] = { 1, 0, NAN };
  const float p_clip[] = { 0.0f, 1.0f };
  const float y_clip[] = { 1, 0 };
  const float y_none[] = { NAN, NAN };
  double want = -(log ((double) 0.8f) + log (1.0 - (double) 0.4f)) / 2.0;

  g_assert_cmpfloat_with_epsilon (dlen_logloss (p, y, 3), want, 1e-12);
  /* Both entries are confidently wrong; clipping keeps the loss at -ln(1e-7), not infinity. */
  g_assert_cmpfloat_with_epsilon (dlen_logloss (p_clip, y_clip, 2), -log (1e-7), 1e-6);
  g_assert_true (isnan (dlen_logloss (p_clip, y_none, 2)));
}

static void
test_calibration_known (void)
{
  /* Labelled: predicted 0.1, 0.4, 0.7, 0.9 -> 0.525; observed 0, 0, 1, 1 -> 0.5. */
  const float p[] = { 0.1f, 0.4f, 0.7f, 0.9f, 0.99f };
  const float y[] = { 0, 0, 1, 1, NAN };
  const float y_none[] = { NAN };
  double pred = 0, obs = 0;

  dlen_calibration (p, y, G_N_ELEMENTS (p), &pred, &obs);
  g_assert_cmpfloat_with_epsilon (pred, 0.525, 1e-7);
  g_assert_cmpfloat (obs, ==, 0.5);

  dlen_calibration (p, y_none, 1, &pred, &obs);
  g_assert_true (isnan (pred));
  g_assert_true (isnan (obs));
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/dlen/engine/metrics/auc-sklearn", test_auc_sklearn);
  g_test_add_func ("/dlen/engine/metrics/gauc-sklearn", test_gauc_sklearn);
  g_test_add_func ("/dlen/engine/metrics/logloss-sklearn", test_logloss_sklearn);
  g_test_add_func ("/dlen/engine/metrics/auc-perfect", test_auc_perfect);
  g_test_add_func ("/dlen/engine/metrics/auc-reversed", test_auc_reversed);
  g_test_add_func ("/dlen/engine/metrics/auc-all-tied", test_auc_all_tied);
  g_test_add_func ("/dlen/engine/metrics/auc-partial-ties", test_auc_partial_ties);
  g_test_add_func ("/dlen/engine/metrics/auc-one-class", test_auc_one_class);
  g_test_add_func ("/dlen/engine/metrics/auc-skips-unlabelled", test_auc_skips_unlabelled);
  g_test_add_func ("/dlen/engine/metrics/auc-signed-zero", test_auc_signed_zero);
  g_test_add_func ("/dlen/engine/metrics/auc-million", test_auc_million);
  g_test_add_func ("/dlen/engine/metrics/gauc-known", test_gauc_known);
  g_test_add_func ("/dlen/engine/metrics/gauc-single-group", test_gauc_single_group);
  g_test_add_func ("/dlen/engine/metrics/gauc-none", test_gauc_none);
  g_test_add_func ("/dlen/engine/metrics/logloss-known", test_logloss_known);
  g_test_add_func ("/dlen/engine/metrics/calibration-known", test_calibration_known);

  ret = g_test_run ();
  g_clear_pointer (&fixture_cases, g_ptr_array_unref);
  return ret;
}
