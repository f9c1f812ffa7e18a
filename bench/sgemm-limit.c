/* sgemm-limit.c: the training (and scoring) rate this machine's OpenBLAS allows for a model's
 * architecture, for bench/speed.sh's "fraction of the sgemm limit" (DESIGN §8).
 *
 * Usage: sgemm-limit MODEL [--batch B] [--score-batch S] [--threads T] [--min-ms MS]
 * Walks the layout of MODEL (a file saved by `dlen train --out`) and lists every cblas_sgemm
 * one training step of B rows makes, exactly as engine/dlen-model.c calls them (shape,
 * transposes, beta): per dense layer of each expert and tower the forward product and the two
 * backward ones (weight gradient, input gradient), per non-trivial gate the same three. Each
 * distinct call is timed alone on warm buffers at T threads (default 1; the best of 6 rounds of
 * at least MS ms, default 10, taken in turn across the calls), and
 *   limit samples/s = B / (sum over the step's GEMMs of their measured seconds)
 * i.e. the rate if a step were nothing but its GEMMs at the rates this BLAS reaches for those
 * shapes. The same for scoring as engine/dlen-score.c calls them (forward GEMMs only, batches of
 * S rows, default the engine's DLEN_SCORE_BATCH; one GEMM for all level-0 first layers and
 * gates). Prints a table on stderr and one JSON line on stdout. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dlen-model-private.h"
#include "dlen/dlen.h"

typedef struct {
  int ta, tb;              /* CblasTrans for A or B */
  int M, N, K;
  float beta;
  int count;               /* calls per step */
  const char *what;
  double secs;             /* measured per call */
} Gemm;

typedef struct {
  Gemm g[512];
  int n;
} GemmList;

static void
add (GemmList *l, int ta, int tb, int M, int N, int K, float beta, const char *what)
{
  for (int i = 0; i < l->n; i++)
    {
      Gemm *g = &l->g[i];
      if (g->ta == ta && g->tb == tb && g->M == M && g->N == N && g->K == K && g->beta == beta)
        {
          g->count++;
          return;
        }
    }
  if (l->n == (int) (sizeof l->g / sizeof l->g[0]))
    {
      fprintf (stderr, "sgemm-limit: too many distinct GEMM shapes\n");
      exit (1);
    }
  l->g[l->n++] = (Gemm) { ta, tb, M, N, K, beta, 1, what, 0 };
}

/* The calls of engine/dlen-model.c: dense_forward, mlp_backward, gate_forward, gate_backward. */
static void
add_mlp (GemmList *l, const DlenMlp *mlp, int B, int backward, const char *what)
{
  for (uint32_t i = 0; i < mlp->n; i++)
    {
      int din = (int) mlp->dims[i], dout = (int) mlp->dims[i + 1];
      add (l, 0, 0, B, dout, din, 0.0f, what);                         /* act = in W */
      if (backward)
        {
          add (l, 1, 0, din, dout, B, 1.0f, what);                     /* dW += in^T g */
          add (l, 0, 1, B, din, dout, i > 0 ? 0.0f : 1.0f, what);      /* dx (+)= g W^T */
        }
    }
}

static void
add_gate (GemmList *l, const DlenGate *gt, int B, int backward)
{
  if (gt->n <= 1)
    return;
  add (l, 0, 0, B, (int) gt->n, (int) gt->in, 0.0f, "gate");
  if (backward)
    {
      add (l, 1, 0, (int) gt->in, (int) gt->n, B, 1.0f, "gate");
      add (l, 0, 1, B, (int) gt->in, (int) gt->n, 1.0f, "gate");
    }
}

static void
list_gemms (const DlenModel *m, int B, int backward, GemmList *l)
{
  memset (l, 0, sizeof *l);
  for (uint32_t lv = 0; lv < m->n_levels; lv++)
    {
      const DlenLevel *level = &m->levels[lv];
      for (uint32_t e = 0; e < level->n_experts; e++)
        add_mlp (l, &level->experts[e], B, backward, "expert");
      for (uint32_t t = 0; t < level->n_gates; t++)
        add_gate (l, &level->gates[t], B, backward);
    }
  for (uint32_t t = 0; t < m->n_tasks; t++)
    add_mlp (l, &m->towers[t], B, backward, "tower");
}

/* The calls of engine/dlen-score.c: level 0's first layers and gates fused into one product,
 * the rest as in the forward pass. */
static void
list_score_gemms (const DlenModel *m, int S, GemmList *l)
{
  const DlenLevel *l0 = &m->levels[0];
  int fused = 0;
  memset (l, 0, sizeof *l);
  for (uint32_t e = 0; e < l0->n_experts; e++)
    fused += (int) l0->experts[e].dims[1];
  for (uint32_t t = 0; t < l0->n_gates; t++)
    if (l0->gates[t].n > 1)
      fused += (int) l0->gates[t].n;
  add (l, 0, 0, S, fused, (int) m->d_in, 0.0f, "fused");
  for (uint32_t e = 0; e < l0->n_experts; e++)
    for (uint32_t i = 1; i < l0->experts[e].n; i++)
      add (l, 0, 0, S, (int) l0->experts[e].dims[i + 1], (int) l0->experts[e].dims[i], 0.0f, "expert");
  for (uint32_t lv = 1; lv < m->n_levels; lv++)
    {
      const DlenLevel *level = &m->levels[lv];
      for (uint32_t e = 0; e < level->n_experts; e++)
        add_mlp (l, &level->experts[e], S, 0, "expert");
      for (uint32_t t = 0; t < level->n_gates; t++)
        add_gate (l, &level->gates[t], S, 0);
    }
  for (uint32_t t = 0; t < m->n_tasks; t++)
    add_mlp (l, &m->towers[t], S, 0, "tower");
}

static double
now_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
fill (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (float) ((double) rand () / RAND_MAX - 0.5);
}

typedef struct {
  float *a, *b, *c;
  int lda, ldb;
  size_t nc;
} Buffers;

static void
buffers_init (const Gemm *g, Buffers *bf)
{
  size_t na = (size_t) g->M * g->K, nb = (size_t) g->K * g->N;
  bf->nc = (size_t) g->M * g->N;
  bf->lda = g->ta ? g->M : g->K;
  bf->ldb = g->tb ? g->K : g->N;
  bf->a = malloc (na * sizeof (float));
  bf->b = malloc (nb * sizeof (float));
  bf->c = calloc (bf->nc, sizeof (float));
  if (!bf->a || !bf->b || !bf->c)
    {
      fprintf (stderr, "sgemm-limit: out of memory\n");
      exit (1);
    }
  fill (bf->a, na);
  fill (bf->b, nb);
}

static void
buffers_clear (Buffers *bf)
{
  free (bf->a);
  free (bf->b);
  free (bf->c);
}

/* Seconds per call over one round of at least @min_secs on warm buffers. */
static double
time_round (const Gemm *g, Buffers *bf, double min_secs)
{
  long reps = 0;
  double t0 = now_seconds (), t;
  do
    {
      for (int k = 0; k < 16; k++)
        cblas_sgemm (CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                     g->M, g->N, g->K, 1.0f, bf->a, bf->lda, bf->b, bf->ldb, g->beta, bf->c, g->N);
      reps += 16;
      t = now_seconds () - t0;
    }
  while (t < min_secs);
  /* Accumulating GEMMs (beta 1) would grow to inf over many rounds: start again from 0. */
  memset (bf->c, 0, bf->nc * sizeof (float));
  return t / reps;
}

#define ROUNDS 7

/* Each GEMM's best seconds per call over ROUNDS rounds taken in turn across all the GEMMs, so
 * that a burst of load from elsewhere spoils one round of each rather than every round of
 * some. The first round only warms up. */
static void
time_all (Gemm *gs, int n, double min_secs)
{
  Buffers *bf = calloc ((size_t) n, sizeof *bf);
  for (int i = 0; i < n; i++)
    {
      buffers_init (&gs[i], &bf[i]);
      gs[i].secs = 1e30;
    }
  for (int round = 0; round < ROUNDS; round++)
    for (int i = 0; i < n; i++)
      {
        double s = time_round (&gs[i], &bf[i], min_secs);
        if (round > 0 && s < gs[i].secs)
          gs[i].secs = s;
      }
  for (int i = 0; i < n; i++)
    buffers_clear (&bf[i]);
  free (bf);
}

static double
report (const char *title, GemmList *l, int B, double min_secs, double *flops_per_sample)
{
  double step = 0, flops = 0;
  fprintf (stderr, "%s (batch %d):\n  %-6s %-3s %6s %6s %6s %5s %6s %9s %8s\n", title, B,
           "what", "op", "M", "N", "K", "beta", "calls", "us/call", "GFLOPS");
  time_all (l->g, l->n, min_secs);
  for (int i = 0; i < l->n; i++)
    {
      Gemm *g = &l->g[i];
      double f = 2.0 * g->M * g->N * g->K;
      step += g->count * g->secs;
      flops += g->count * f;
      fprintf (stderr, "  %-6s %c%c  %6d %6d %6d %5.0f %6d %9.2f %8.2f\n", g->what, g->ta ? 'T' : 'N',
               g->tb ? 'T' : 'N', g->M, g->N, g->K, g->beta, g->count, g->secs * 1e6, f / g->secs * 1e-9);
    }
  fprintf (stderr, "  => %.3f MFLOP per sample, %.1f us of GEMM per batch, %.2f GFLOPS overall, limit %.0f samples/s\n\n",
           flops / B * 1e-6, step * 1e6, flops / step * 1e-9, B / step);
  *flops_per_sample = flops / B;
  return B / step;
}

int
main (int argc, char **argv)
{
  const char *path = NULL;
  int B = 128, S = DLEN_SCORE_BATCH, threads = 1, bad = 0;
  double min_ms = 10, train_fps, score_fps, train_limit, score_limit, peak;
  DlenModel *model = NULL;
  GemmList *l = malloc (sizeof *l);
  Gemm big = { 0, 0, 1024, 1024, 1024, 0.0f, 1, "peak", 0 };

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--batch") == 0 && i + 1 < argc)
        B = atoi (argv[++i]);
      else if (strcmp (argv[i], "--score-batch") == 0 && i + 1 < argc)
        S = atoi (argv[++i]);
      else if (strcmp (argv[i], "--threads") == 0 && i + 1 < argc)
        threads = atoi (argv[++i]);
      else if (strcmp (argv[i], "--min-ms") == 0 && i + 1 < argc)
        min_ms = atof (argv[++i]);
      else if (argv[i][0] != '-' && !path)
        path = argv[i];
      else
        bad = 1;
    }
  if (bad || !path || B < 1 || S < 1 || threads < 1 || !(min_ms > 0) || !l)
    {
      fprintf (stderr, "usage: sgemm-limit MODEL [--batch B] [--score-batch S] [--threads T] [--min-ms MS]\n");
      return 2;
    }
  if (dlen_model_load (path, &model) != DLEN_STATUS_OK)
    {
      fprintf (stderr, "sgemm-limit: %s\n", dlen_last_error ());
      return 3;
    }
  openblas_set_num_threads (threads);
  fprintf (stderr, "OpenBLAS %s, core %s, %d thread(s)\n\n", openblas_get_config (), openblas_get_corename (), threads);

  list_gemms (model, B, 1, l);
  train_limit = report ("training step GEMMs", l, B, min_ms * 1e-3, &train_fps);
  list_score_gemms (model, S, l);
  score_limit = report ("scoring GEMMs", l, S, min_ms * 1e-3, &score_fps);
  time_all (&big, 1, min_ms * 1e-3);
  peak = 2.0 * 1024 * 1024 * 1024 / big.secs * 1e-9;
  fprintf (stderr, "reference: 1024^3 sgemm %.2f GFLOPS\n", peak);
  printf ("{\"arch\": \"%s\", \"threads\": %d, \"batch\": %d, \"train_flops_per_sample\": %.0f, "
          "\"train_limit_samples_per_second\": %.1f, \"score_batch\": %d, \"score_flops_per_sample\": %.0f, "
          "\"score_limit_rows_per_second\": %.1f, \"peak_gflops\": %.2f}\n",
          dlen_arch_to_string (model->config.arch), threads, B, train_fps, train_limit, S, score_fps,
          score_limit, peak);
  dlen_model_free (model);
  free (l);
  return 0;
}
