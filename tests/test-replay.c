/* test-replay.c: the fusion replay against a brute-force reference on random inputs. */
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dlen/dlen.h"
#include "dlen/dlen-replay.h"

typedef struct {
  DlenReplayData d;
  float *signals, *outcomes;
  uint64_t *request;
  uint8_t *objectionable;
  uint16_t *category;
} Fixture;

static void
fixture_make (Fixture *f, GRand *rand, size_t n_requests, uint32_t ns, uint32_t no, gboolean ties)
{
  GArray *req = g_array_new (FALSE, FALSE, sizeof (uint64_t));
  size_t n;
  for (size_t q = 0; q < n_requests; q++)
    {
      int size = g_rand_int_range (rand, 1, 16);
      uint64_t id = g_rand_int (rand) * 7919ull + q;   /* ids in no particular order */
      for (int i = 0; i < size; i++)
        g_array_append_val (req, id);
    }
  /* Interleave requests: shuffle the rows (the replay keeps each request's relative order). */
  n = req->len;
  f->request = (uint64_t *) g_array_free (req, FALSE);
  f->signals = g_new (float, n * ns);
  f->outcomes = g_new (float, n * no);
  f->objectionable = g_new (uint8_t, n);
  f->category = g_new (uint16_t, n);
  for (size_t i = n - 1; i > 0; i--)
    {
      size_t j = g_rand_int_range (rand, 0, (gint32) i + 1);
      uint64_t t = f->request[i];
      f->request[i] = f->request[j];
      f->request[j] = t;
    }
  for (size_t i = 0; i < n * ns; i++)
    {
      double v = g_rand_double_range (rand, -4, 0);
      f->signals[i] = (float) (ties ? round (v * 2) / 2 : v);
    }
  for (size_t i = 0; i < n; i++)
    {
      for (uint32_t j = 0; j < no; j++)
        f->outcomes[i * no + j] = j == no - 1 ? (float) g_rand_double_range (rand, 0, 60)
                                  : g_rand_int_range (rand, 0, 10) == 0 ? NAN : (float) g_rand_boolean (rand);
      f->objectionable[i] = g_rand_int_range (rand, 0, 5) == 0;
      f->category[i] = (uint16_t) g_rand_int_range (rand, 0, 7);
    }
  f->d = (DlenReplayData) { n, ns, f->signals, no, f->outcomes, f->request, f->objectionable, f->category };
}

static void
fixture_clear (Fixture *f)
{
  g_free (f->signals);
  g_free (f->outcomes);
  g_free (f->request);
  g_free (f->objectionable);
  g_free (f->category);
}

typedef struct { float score; size_t logged; size_t row; } Cand;

static int
cmp_cand (const void *a, const void *b)
{
  const Cand *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->logged < y->logged ? -1 : x->logged > y->logged;
}

/* The reference: for each request (rows in their given order), sort all candidates by score,
 * ties by logged position, and take the first k. */
static void
brute_force (const DlenReplayData *d, const float *w, uint32_t k, DlenReplayResult *res)
{
  GHashTable *seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  double sum[DLEN_REPLAY_MAX_SIGNALS] = { 0 };
  uint64_t cnt[DLEN_REPLAY_MAX_SIGNALS] = { 0 }, obj = 0;
  memset (res, 0, sizeof *res);
  for (size_t i = 0; i < d->n_rows; i++)
    {
      GArray *c;
      if (g_hash_table_contains (seen, &d->request[i]))
        continue;
      g_hash_table_add (seen, (gpointer) &d->request[i]);
      c = g_array_new (FALSE, FALSE, sizeof (Cand));
      for (size_t r = i; r < d->n_rows; r++)
        if (d->request[r] == d->request[i])
          {
            Cand cd = { 0, c->len, r };
            if (w)
              for (uint32_t j = 0; j < d->n_signals; j++)
                cd.score += w[j] * d->signals[r * d->n_signals + j];
            g_array_append_val (c, cd);
          }
      if (w)
        qsort (c->data, c->len, sizeof (Cand), cmp_cand);
      for (guint s = 0; s < MIN (k, c->len); s++)
        {
          size_t r = g_array_index (c, Cand, s).row;
          res->slots++;
          obj += d->objectionable[r];
          res->category_slots[d->category[r]]++;
          res->category_objectionable[d->category[r]] += d->objectionable[r];
          for (uint32_t j = 0; j < d->n_outcomes; j++)
            if (!isnan (d->outcomes[r * d->n_outcomes + j]))
              {
                sum[j] += d->outcomes[r * d->n_outcomes + j];
                cnt[j]++;
              }
        }
      g_array_free (c, TRUE);
    }
  res->objectionable = (double) obj / (double) res->slots;
  for (uint32_t j = 0; j < d->n_outcomes; j++)
    res->outcome[j] = cnt[j] ? sum[j] / cnt[j] : NAN;
  g_hash_table_destroy (seen);
}

static void
assert_same (const DlenReplayResult *a, const DlenReplayResult *b, uint32_t no)
{
  g_assert_cmpuint (a->slots, ==, b->slots);
  g_assert_cmpfloat_with_epsilon (a->objectionable, b->objectionable, 1e-12);
  for (uint32_t j = 0; j < no; j++)
    g_assert_cmpfloat_with_epsilon (a->outcome[j], b->outcome[j], 1e-9);
  for (uint32_t c = 0; c < 7; c++)
    {
      g_assert_cmpuint (a->category_slots[c], ==, b->category_slots[c]);
      g_assert_cmpuint (a->category_objectionable[c], ==, b->category_objectionable[c]);
    }
}

static void
test_brute_force (gconstpointer data)
{
  gboolean ties = GPOINTER_TO_INT (data);
  GRand *rand = g_rand_new_with_seed (ties ? 11 : 5);
  for (int trial = 0; trial < 20; trial++)
    {
      Fixture f;
      DlenReplay *r;
      float w[6];
      uint32_t k = (uint32_t) g_rand_int_range (rand, 1, 12);
      DlenReplayResult got, want;
      fixture_make (&f, rand, 200, 6, 4, ties);
      r = dlen_replay_new (&f.d);
      g_assert_nonnull (r);
      for (int j = 0; j < 6; j++)
        w[j] = ties ? (float) g_rand_int_range (rand, -2, 3) : (float) g_rand_double_range (rand, -2, 2);
      g_assert_cmpint (dlen_replay_run (r, w, k, &got), ==, DLEN_STATUS_OK);
      brute_force (&f.d, w, k, &want);
      assert_same (&got, &want, 4);
      /* The logged order. */
      g_assert_cmpint (dlen_replay_run (r, NULL, k, &got), ==, DLEN_STATUS_OK);
      brute_force (&f.d, NULL, k, &want);
      assert_same (&got, &want, 4);
      dlen_replay_free (r);
      fixture_clear (&f);
    }
  g_rand_free (rand);
}

static void
test_zero_emotion_is_baseline (void)
{
  GRand *rand = g_rand_new_with_seed (3);
  Fixture f;
  DlenReplay *with, *without;
  float w[5] = { 1.0f, 0.5f, -1.0f, 0.25f, 0.0f };   /* last: w_e = 0 */
  float *trimmed;
  DlenReplayData d;
  DlenReplayResult a, b;
  fixture_make (&f, rand, 500, 5, 3, FALSE);
  trimmed = g_new (float, f.d.n_rows * 4);
  for (size_t i = 0; i < f.d.n_rows; i++)
    memcpy (trimmed + i * 4, f.signals + i * 5, 4 * sizeof (float));
  d = f.d;
  d.n_signals = 4;
  d.signals = trimmed;
  with = dlen_replay_new (&f.d);
  without = dlen_replay_new (&d);
  g_assert_cmpint (dlen_replay_run (with, w, 3, &a), ==, DLEN_STATUS_OK);
  g_assert_cmpint (dlen_replay_run (without, w, 3, &b), ==, DLEN_STATUS_OK);
  g_assert_true (memcmp (&a, &b, sizeof a) == 0);
  dlen_replay_free (with);
  dlen_replay_free (without);
  g_free (trimmed);
  fixture_clear (&f);
  g_rand_free (rand);
}

static void
test_sweep_and_errors (void)
{
  GRand *rand = g_rand_new_with_seed (9);
  Fixture f;
  DlenReplay *r;
  float w[3] = { 1, 0, 0 };
  DlenReplayResult res[5], one;
  fixture_make (&f, rand, 100, 3, 2, FALSE);
  r = dlen_replay_new (&f.d);
  g_assert_cmpint (dlen_replay_sweep (r, w, 2, -1.0f, 1.0f, 5, 3, res), ==, DLEN_STATUS_OK);
  w[2] = 0.5f;
  g_assert_cmpint (dlen_replay_run (r, w, 3, &one), ==, DLEN_STATUS_OK);
  assert_same (&res[3], &one, 2);   /* step 3 of 5 from -1 to 1 is 0.5 */
  g_assert_cmpint (dlen_replay_run (r, w, 0, &one), ==, DLEN_STATUS_INVALID);
  w[1] = NAN;
  g_assert_cmpint (dlen_replay_run (r, w, 3, &one), ==, DLEN_STATUS_INVALID);
  g_assert_cmpint (dlen_replay_sweep (r, w, 7, 0, 1, 3, 3, res), ==, DLEN_STATUS_INVALID);
  f.signals[4] = INFINITY;
  g_assert_null (dlen_replay_new (&f.d));
  g_assert_cmpstr (dlen_last_error (), !=, "");
  dlen_replay_free (r);
  fixture_clear (&f);
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/dlen/engine/replay/brute-force", GINT_TO_POINTER (FALSE), test_brute_force);
  g_test_add_data_func ("/dlen/engine/replay/brute-force-ties", GINT_TO_POINTER (TRUE), test_brute_force);
  g_test_add_func ("/dlen/engine/replay/zero-emotion-is-baseline", test_zero_emotion_is_baseline);
  g_test_add_func ("/dlen/engine/replay/sweep-and-errors", test_sweep_and_errors);
  return g_test_run ();
}
