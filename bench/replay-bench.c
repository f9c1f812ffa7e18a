/* replay-bench.c: times the fusion replay over 1,000,000 cached impressions (requests of 10,
 * top 3) on one core, against a plain sort-every-request replay of the same data in the same run.
 * Usage: replay-bench [ROWS] [RUNS] */
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dlen/dlen.h"

typedef struct { float score; uint32_t i; } Cand;

static int
cmp_cand (const void *a, const void *b)
{
  const Cand *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* The peer: what one writes first — score, qsort each request, take the top k. Rows are laid
 * out request by request, as the replay's own packing does. */
static double
naive_replay (const float *signals, const uint8_t *objectionable, size_t n, uint32_t ns, uint32_t size,
              const float *w, uint32_t k)
{
  Cand c[64];
  uint64_t obj = 0, slots = 0;
  for (size_t first = 0; first < n; first += size)
    {
      uint32_t m = (uint32_t) MIN ((size_t) size, n - first);
      for (uint32_t i = 0; i < m; i++)
        {
          float s = 0;
          for (uint32_t j = 0; j < ns; j++)
            s += w[j] * signals[(first + i) * ns + j];
          c[i] = (Cand) { s, i };
        }
      qsort (c, m, sizeof (Cand), cmp_cand);
      for (uint32_t s = 0; s < MIN (k, m); s++)
        {
          obj += objectionable[first + c[s].i];
          slots++;
        }
    }
  return (double) obj / (double) slots;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  size_t n = argc > 1 ? strtoull (argv[1], NULL, 10) : 1000000;
  int runs = argc > 2 ? atoi (argv[2]) : 21;
  const uint32_t ns = 9, no = 4, size = 10, k = 3;
  float *signals = g_new (float, n * ns), *outcomes = g_new (float, n * no);
  uint64_t *request = g_new (uint64_t, n);
  uint8_t *objectionable = g_new (uint8_t, n);
  uint16_t *category = g_new (uint16_t, n);
  float w[9] = { 1, 0.5f, 0.3f, 0.2f, 0.2f, 0.1f, 1, -1, 0.05f };
  double *ours = g_new (double, runs), *peer = g_new (double, runs), check = 0, peer_check = 0;
  GRand *rand = g_rand_new_with_seed (1);
  DlenReplay *replay;
  DlenReplayData d;
  DlenReplayResult res;

  for (size_t i = 0; i < n; i++)
    {
      for (uint32_t j = 0; j < ns; j++)
        signals[i * ns + j] = (float) g_rand_double_range (rand, -5, 0);
      for (uint32_t j = 0; j < no; j++)
        outcomes[i * no + j] = (float) g_rand_boolean (rand);
      request[i] = i / size;
      objectionable[i] = g_rand_int_range (rand, 0, 20) == 0;
      category[i] = (uint16_t) g_rand_int_range (rand, 0, 20);
    }
  d = (DlenReplayData) { n, ns, signals, no, outcomes, request, objectionable, category };
  replay = dlen_replay_new (&d);
  if (!replay)
    {
      g_printerr ("replay-bench: %s\n", dlen_last_error ());
      return 1;
    }
  /* Alternate the two, so drift in the machine's speed hits both alike. */
  for (int r = 0; r < runs; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      dlen_replay_run (replay, w, k, &res);
      ours[r] = (g_get_monotonic_time () - t0) / 1000.0;
      check = res.objectionable;
      t0 = g_get_monotonic_time ();
      peer_check = naive_replay (signals, objectionable, n, ns, size, w, k);
      peer[r] = (g_get_monotonic_time () - t0) / 1000.0;
    }
  qsort (ours, runs, sizeof (double), cmp_double);
  qsort (peer, runs, sizeof (double), cmp_double);
  g_print ("replay of %zu impressions (%zu requests of %u, top %u, %u signals), %d runs, one core\n", n,
           dlen_replay_n_requests (replay), size, k, ns, runs);
  g_print ("  dlen_replay_run   median %.2f ms  (min %.2f, max %.2f)\n", ours[runs / 2], ours[0], ours[runs - 1]);
  g_print ("  sort-each-request median %.2f ms\n", peer[runs / 2]);
  g_print ("  ratio %.2fx; objectionable@%u %.6f (peer %.6f)\n", peer[runs / 2] / ours[runs / 2], k, check, peer_check);
  g_print ("{\"rows\": %zu, \"median_ms\": %.3f, \"peer_median_ms\": %.3f, \"ratio\": %.3f, \"target_ms\": 16}\n", n,
           ours[runs / 2], peer[runs / 2], peer[runs / 2] / ours[runs / 2]);
  dlen_replay_free (replay);
  g_rand_free (rand);
  return fabs (check - peer_check) < 1e-12 ? 0 : 1;
}
