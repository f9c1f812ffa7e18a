/* score-bench.c: times dlen_model_predict over every row of a log for bench/speed.sh (the
 * engine's side of the scoring comparison against bench/peer/dlen_twin.py).
 *
 * Usage: score-bench MODEL DATA [--threads T] [--reps N] [--user-features CSV] [--dump FILE]
 * Loads MODEL (a file saved by `dlen train --out`), loads DATA through the same loader and preset
 * as the CLI (the model's schema fixes fields and table sizes), then predicts all rows N times
 * (after one untimed pass) on T scoring threads (dlen_model_set_threads; OpenBLAS at one thread
 * each) and prints one JSON line: rows, the best and median rows/s. Only dlen_model_predict is
 * timed: gathering the embeddings, the forward pass and the heads' probabilities. --dump writes
 * the predictions' raw floats, to compare builds or thread counts with cmp. */
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "dlen-error.h"
#include "dlen-loader.h"

static double
now_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
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
  int threads = 1, reps = 5;
  char *user_features = NULL, *dump = NULL;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Scoring threads (default 1)", "T" },
    { "reps", 'r', 0, G_OPTION_ARG_INT, &reps, "Timed passes over the log (default 5)", "N" },
    { "user-features", 0, 0, G_OPTION_ARG_FILENAME, &user_features, "Side features to join (default: beside the log)", "CSV" },
    { "dump", 0, 0, G_OPTION_ARG_FILENAME, &dump, "Write the predictions as raw floats", "FILE" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL DATA - time dlen_model_predict over a log");
  g_autoptr (GError) error = NULL;
  g_autoptr (DlenModel) model = NULL;
  g_autoptr (DlenLoadedData) data = NULL;
  g_autofree float *out = NULL;
  g_autofree double *secs = NULL;
  DlenLoadOptions lo = { 0 };
  size_t n;
  int st;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 3 || threads < 1 || reps < 1)
    {
      g_printerr ("score-bench: %s\n", error ? error->message : "usage: score-bench MODEL DATA [--threads T] [--reps N]");
      return 2;
    }
  st = dlen_model_load (argv[1], &model);
  if (st != DLEN_STATUS_OK)
    {
      g_printerr ("score-bench: %s\n", dlen_last_error ());
      return 3;
    }
  lo.preset = dlen_model_get_meta (model, "preset");
  lo.user_features = user_features;
  data = dlen_loader_load (argv[2], &lo, dlen_model_schema (model), &error);
  if (!data)
    {
      g_printerr ("score-bench: %s\n", error->message);
      return 3;
    }
  n = dlen_dataset_n_rows (data->dataset);
  out = g_new (float, n * (dlen_model_schema (model)->n_targets + 1));
  secs = g_new (double, reps);
  openblas_set_num_threads (1);
  dlen_model_set_threads (model, (uint32_t) threads);

  /* One untimed pass sizes the workspace and warms the caches, as a served model would be. */
  if (dlen_model_predict (model, data->dataset, NULL, n, out) != DLEN_STATUS_OK)
    {
      g_printerr ("score-bench: %s\n", dlen_last_error ());
      return 1;
    }
  for (int r = 0; r < reps; r++)
    {
      double t0 = now_seconds ();
      dlen_model_predict (model, data->dataset, NULL, n, out);
      secs[r] = now_seconds () - t0;
    }
  if (dump)
    {
      FILE *fp = fopen (dump, "wb");
      size_t cnt = n * (dlen_model_schema (model)->n_targets + 1);
      if (!fp || fwrite (out, sizeof (float), cnt, fp) != cnt || fclose (fp) != 0)
        {
          g_printerr ("score-bench: cannot write %s\n", dump);
          return 1;
        }
    }
  qsort (secs, (size_t) reps, sizeof *secs, cmp_double);
  printf ("{\"arch\": \"%s\", \"threads\": %d, \"rows\": %zu, \"reps\": %d, \"rows_per_second\": %.1f, "
          "\"median_rows_per_second\": %.1f, \"checksum\": %.6g}\n",
          dlen_arch_to_string (dlen_model_config (model)->arch), threads, n, reps, n / secs[0],
          n / secs[reps / 2], (double) out[n * (dlen_model_schema (model)->n_targets + 1) - 1]);
  return 0;
}
