/* trajectory-bench.c: times the Emotions page's trajectory chart drawing a 100,000-point
 * trajectory into a 1280 x 400 Cairo image surface (decimation included: the geometry cache is
 * dropped before every run, as a zoom or a new user does), against drawing the same points
 * undecimated with plain cairo_line_to in the same run. No display needed.
 * Usage: trajectory-bench [POINTS] [RUNS] [PNG] */
#include <math.h>
#include <stdlib.h>
#include "dlen-trajectory-chart.h"

#define WIDTH 1280
#define HEIGHT 400

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* A user over 30 days: sessions of ~40 impressions seconds apart, hours between sessions, a
 * mood drifting within a session, likes ~4% and negative feedback ~2% of impressions. */
static DlenTrajectory *
synthetic (gsize n)
{
  static const char *const names[] = { "click", "long_view", "like", "share", "dislike", "stay" };
  DlenTrajectory *tr = dlen_trajectory_new ("bench", 1, 10, G_N_ELEMENTS (names), names);
  GRand *rand = g_rand_new_with_seed (7);
  gint64 t = 1704067200000;   /* 2024-01-01 */
  gint64 session = 0;
  double mood = 0.6;
  for (gsize i = 0; i < n; i++)
    {
      float pred[G_N_ELEMENTS (names)];
      char item[16], category[8];
      float pe;
      guint flags = 0;
      if (i % 40 == 0)
        {
          session++;
          t += (gint64) g_rand_int_range (rand, 60, 1800) * 1000;
          mood = g_rand_double_range (rand, 0.35, 0.85);
        }
      t += g_rand_int_range (rand, 2, 30) * 1000;
      mood = CLAMP (mood + g_rand_double_range (rand, -0.04, 0.04), 0.02, 0.98);
      pe = (float) CLAMP (mood + g_rand_double_range (rand, -0.15, 0.15), 0.0, 1.0);
      if (g_rand_double (rand) < 0.04)
        flags |= DLEN_TRAJECTORY_POSITIVE;
      if (g_rand_double (rand) < 0.02)
        flags |= DLEN_TRAJECTORY_NEGATIVE;
      for (guint k = 0; k < G_N_ELEMENTS (names); k++)
        pred[k] = (float) g_rand_double (rand);
      g_snprintf (item, sizeof item, "%u", g_rand_int_range (rand, 0, 5000));
      g_snprintf (category, sizeof category, "%u", g_rand_int_range (rand, 0, 20));
      dlen_trajectory_append (tr, t, session, pe, flags, item, category, pred);
    }
  g_rand_free (rand);
  return tr;
}

/* The peer: what one writes first — every point through cairo_line_to (p_e and its trailing
 * mean), every marker a triangle, over the same mapping, no text or axes. */
static void
naive_draw (const DlenTrajectory *tr, cairo_t *cr, const DlenChartStyle *st, gboolean line_only)
{
  double l = 60, r = WIDTH - 18, top = 70, b = HEIGHT - 45;
  double t0 = (double) tr->points[0].time_ms, t1 = (double) tr->points[tr->n_points - 1].time_ms;
#define X(t) (l + ((double) (t) - t0) / (t1 - t0) * (r - l))
#define Y(v) (b - (v) * (b - top))
  cairo_set_line_width (cr, 1);
  cairo_set_source_rgba (cr, st->palette[0].red, st->palette[0].green, st->palette[0].blue, 0.45);
  for (gsize i = 0; i < tr->n_points; i++)
    (i ? cairo_line_to : cairo_move_to) (cr, X (tr->points[i].time_ms), Y (tr->points[i].p_e));
  cairo_stroke (cr);
  if (line_only)
    return;
  cairo_set_line_width (cr, 2.5);
  cairo_set_source_rgba (cr, st->palette[0].red, st->palette[0].green, st->palette[0].blue, 1);
  for (gsize i = 0; i < tr->n_points; i++)
    (i ? cairo_line_to : cairo_move_to) (cr, X (tr->points[i].time_ms), Y (tr->points[i].smoothed));
  cairo_stroke (cr);
  for (int kind = 0; kind < 2; kind++)
    {
      guint flag = kind ? DLEN_TRAJECTORY_NEGATIVE : DLEN_TRAJECTORY_POSITIVE;
      const GdkRGBA *c = kind ? &st->negative : &st->positive;
      for (gsize i = 0; i < tr->n_points; i++)
        if (tr->points[i].flags & flag)
          {
            double x = X (tr->points[i].time_ms), y = Y (tr->points[i].p_e), d = kind ? 1 : -1;
            cairo_move_to (cr, x, y + d * 4.5);
            cairo_line_to (cr, x + 4.3, y - d * 2.7);
            cairo_line_to (cr, x - 4.3, y - d * 2.7);
            cairo_close_path (cr);
          }
      cairo_set_source_rgba (cr, c->red, c->green, c->blue, 1);
      cairo_fill (cr);
    }
#undef X
#undef Y
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return v[n / 2];
}

int
main (int argc, char **argv)
{
  gsize n = argc > 1 ? strtoull (argv[1], NULL, 10) : 100000;
  int runs = argc > 2 ? MAX (atoi (argv[2]), 1) : 21, line_runs = MIN (runs, 5);
  const char *png = argc > 3 ? argv[3] : NULL;
  g_autoptr (DlenTrajectory) tr = synthetic (n);
  g_autoptr (DlenTrajectoryPlot) plot = dlen_trajectory_plot_new ();
  double *cold = g_new (double, runs), *warm = g_new (double, runs), *zoom = g_new (double, runs);
  double *peer = g_new (double, runs), *peer_line = g_new (double, runs), v0, v1;
  DlenTrajectoryDrawStats stats, zoom_stats;
  DlenChartStyle st;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, WIDTH, HEIGHT);

  dlen_chart_style_init_default (&st, FALSE);
  dlen_trajectory_plot_set_trajectory (plot, tr, "model 1");
  dlen_trajectory_plot_set_title (plot, "User bench: latent emotion under model 1");
  /* One unmeasured draw warms the font caches for both. */
  {
    cairo_t *cr = cairo_create (surface);
    dlen_trajectory_plot_draw (plot, cr, WIDTH, HEIGHT, &st);
    cairo_destroy (cr);
  }
  /* Alternate ours and the peer, so drift in the machine's speed hits both alike. */
  for (int r = 0; r < runs; r++)
    {
      cairo_t *cr;
      gint64 t0;

      cr = cairo_create (surface);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      dlen_trajectory_plot_set_view (plot, NAN, NAN);
      dlen_trajectory_plot_invalidate (plot);
      t0 = g_get_monotonic_time ();
      dlen_trajectory_plot_draw (plot, cr, WIDTH, HEIGHT, &st);
      cairo_surface_flush (surface);
      cold[r] = (g_get_monotonic_time () - t0) / 1000.0;
      cairo_destroy (cr);
      dlen_trajectory_plot_get_stats (plot, &stats);

      cr = cairo_create (surface);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      t0 = g_get_monotonic_time ();
      dlen_trajectory_plot_draw (plot, cr, WIDTH, HEIGHT, &st);
      cairo_surface_flush (surface);
      warm[r] = (g_get_monotonic_time () - t0) / 1000.0;
      cairo_destroy (cr);

      /* A zoom step: a tenth of the span around a moving centre. */
      dlen_trajectory_plot_get_extent (plot, &v0, &v1);
      {
        double span = (v1 - v0) / 10, c = v0 + (v1 - v0) * (0.1 + 0.8 * r / MAX (runs - 1, 1));
        dlen_trajectory_plot_set_view (plot, c - span / 2, c + span / 2);
      }
      cr = cairo_create (surface);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      t0 = g_get_monotonic_time ();
      dlen_trajectory_plot_draw (plot, cr, WIDTH, HEIGHT, &st);
      cairo_surface_flush (surface);
      zoom[r] = (g_get_monotonic_time () - t0) / 1000.0;
      cairo_destroy (cr);
      dlen_trajectory_plot_get_stats (plot, &zoom_stats);

      cr = cairo_create (surface);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      t0 = g_get_monotonic_time ();
      naive_draw (tr, cr, &st, FALSE);
      cairo_surface_flush (surface);
      peer[r] = (g_get_monotonic_time () - t0) / 1000.0;
      cairo_destroy (cr);

      /* The p_e line alone, in the first runs only (it takes seconds each). */
      if (r < line_runs)
        {
          cr = cairo_create (surface);
          cairo_set_source_rgb (cr, 1, 1, 1);
          cairo_paint (cr);
          t0 = g_get_monotonic_time ();
          naive_draw (tr, cr, &st, TRUE);
          cairo_surface_flush (surface);
          peer_line[r] = (g_get_monotonic_time () - t0) / 1000.0;
          cairo_destroy (cr);
        }
    }
  if (png)
    {
      cairo_t *cr = cairo_create (surface);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      dlen_trajectory_plot_set_view (plot, NAN, NAN);
      dlen_trajectory_plot_draw (plot, cr, WIDTH, HEIGHT, &st);
      cairo_destroy (cr);
      cairo_surface_write_to_png (surface, png);
    }
  {
    double c = median (cold, runs), w = median (warm, runs), z = median (zoom, runs), p = median (peer, runs);
    double pl = median (peer_line, line_runs);
    g_print ("trajectory of %" G_GSIZE_FORMAT " points (%u markers, %u sessions) into a %dx%d image surface, %d runs, one core\n",
             n, stats.markers, stats.sessions, WIDTH, HEIGHT, runs);
    g_print ("  chart draw, decimating   median %.2f ms  (min %.2f, max %.2f); %u pieces drawn (bars and joins)\n", c, cold[0],
             cold[runs - 1], stats.segments);
    g_print ("  chart draw, cached geometry median %.2f ms\n", w);
    g_print ("  chart draw, zoomed to 1/10 median %.2f ms; %u points in view, %u segments\n", z, zoom_stats.points,
             zoom_stats.segments);
    g_print ("  plain cairo_line_to of every point (p_e, its mean, markers) median %.2f ms\n", p);
    g_print ("  plain cairo_line_to of the p_e line alone median %.2f ms (%d runs)\n", pl, line_runs);
    g_print ("  ratio %.2fx (against the p_e line alone %.2fx)\n", p / c, pl / c);
    g_print ("{\"points\": %" G_GSIZE_FORMAT ", \"width\": %d, \"height\": %d, \"median_ms\": %.3f, \"cached_median_ms\": %.3f, "
             "\"zoomed_median_ms\": %.3f, \"peer_median_ms\": %.3f, \"peer_line_only_median_ms\": %.3f, \"ratio\": %.3f, \"segments\": %u, \"markers\": %u, "
             "\"target_ms\": 16}\n",
             n, WIDTH, HEIGHT, c, w, z, p, pl, p / c, stats.segments, stats.markers);
  }
  dlen_chart_style_clear (&st);
  cairo_surface_destroy (surface);
  g_free (cold);
  g_free (warm);
  g_free (zoom);
  g_free (peer);
  g_free (peer_line);
  /* Every marker in view is drawn, and decimation bounds the strokes. */
  return stats.points == n && stats.segments <= 4 * WIDTH + 8 ? 0 : 1;
}
