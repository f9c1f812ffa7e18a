/* dlen-trajectory-chart.c: the emotion trajectory chart: a display-free plot (data, view,
 * decimated geometry cached per size/view/data, Cairo drawing) and the widget around it (render
 * node cache, zoom, pan, hover and tooltip). */
#include <math.h>
#include <string.h>
#include "dlen-trajectory-chart.h"

#define PAD 12.0
#define MIN_SPAN_MS 2000.0
#define HOVER_RADIUS 14.0
#define MARKER_SIZE 4.5
#define LANE_H 9.0
#define LANE_GAP 3.0

/* ---- Plot ------------------------------------------------------------------------------------ */

/* One pixel column of a decimated line: every point that falls in it reduced to its first,
 * last, lowest and highest y. A column of one point keeps that point's exact x. */
typedef struct {
  float x;                     /* the point's x (one point) or the column's centre */
  float first, last, lo, hi;   /* y in pixels */
  int col;
  guint n;                     /* points in the column */
  gboolean move;               /* not joined to the previous column (a new session of raw p_e) */
} Column;

typedef struct {
  float x, y;
} Marker;

typedef struct {
  double l, r, t, b;           /* the plot area inside the axes */
} Frame;

typedef struct {
  GArray *raw;                 /* Column: per-impression p_e */
  GArray *smooth;              /* Column: its trailing mean */
  guint n_visible;
  guint segments;
  gboolean sparse;             /* few enough points to dot every one */
} Geometry;

struct _DlenTrajectoryPlot {
  DlenTrajectory *traj[2];     /* [0] the model, [1] the model compared with */
  char *label[2];
  char *title, *placeholder;
  double v0, v1;               /* the view; NaN: everything */

  /* Decimated geometry of the last draw, reused while size, view and data stay the same. */
  gboolean geometry_valid;
  Frame geometry_frame;
  double geometry_v0, geometry_v1;
  Geometry geometry[2];
  GArray *positive, *negative; /* Marker */
  GArray *sessions;            /* float x of session starts, one per pixel column */
  guint n_sessions;

  /* What the last draw used, for mapping pointer positions back to data. */
  gboolean drawn;
  Frame frame;
  double drawn_v0, drawn_v1;
  DlenTrajectoryDrawStats stats;
};

DlenTrajectoryPlot *
dlen_trajectory_plot_new (void)
{
  DlenTrajectoryPlot *p = g_new0 (DlenTrajectoryPlot, 1);
  p->v0 = p->v1 = NAN;
  for (int s = 0; s < 2; s++)
    {
      p->geometry[s].raw = g_array_new (FALSE, FALSE, sizeof (Column));
      p->geometry[s].smooth = g_array_new (FALSE, FALSE, sizeof (Column));
    }
  p->positive = g_array_new (FALSE, FALSE, sizeof (Marker));
  p->negative = g_array_new (FALSE, FALSE, sizeof (Marker));
  p->sessions = g_array_new (FALSE, FALSE, sizeof (float));
  return p;
}

void
dlen_trajectory_plot_free (DlenTrajectoryPlot *p)
{
  if (!p)
    return;
  for (int s = 0; s < 2; s++)
    {
      dlen_trajectory_unref (p->traj[s]);
      g_free (p->label[s]);
      g_array_unref (p->geometry[s].raw);
      g_array_unref (p->geometry[s].smooth);
    }
  g_array_unref (p->positive);
  g_array_unref (p->negative);
  g_array_unref (p->sessions);
  g_free (p->title);
  g_free (p->placeholder);
  g_free (p);
}

void
dlen_trajectory_plot_invalidate (DlenTrajectoryPlot *p)
{
  p->geometry_valid = FALSE;
}

static void
set_series (DlenTrajectoryPlot *p, int s, DlenTrajectory *traj, const char *label)
{
  if (traj)
    dlen_trajectory_ref (traj);
  dlen_trajectory_unref (p->traj[s]);
  p->traj[s] = traj;
  g_free (p->label[s]);
  p->label[s] = g_strdup (label);
  p->v0 = p->v1 = NAN;
  p->geometry_valid = FALSE;
  /* Nothing of the new data is drawn yet. */
  p->stats = (DlenTrajectoryDrawStats) { 0 };
}

void dlen_trajectory_plot_set_trajectory (DlenTrajectoryPlot *p, DlenTrajectory *t, const char *l) { set_series (p, 0, t, l); }
void dlen_trajectory_plot_set_comparison (DlenTrajectoryPlot *p, DlenTrajectory *t, const char *l) { set_series (p, 1, t, l); }

void
dlen_trajectory_plot_set_title (DlenTrajectoryPlot *p, const char *title)
{
  g_free (p->title);
  p->title = g_strdup (title);
}

void
dlen_trajectory_plot_set_placeholder (DlenTrajectoryPlot *p, const char *text)
{
  g_free (p->placeholder);
  p->placeholder = g_strdup (text);
}

gboolean
dlen_trajectory_plot_get_extent (DlenTrajectoryPlot *p, double *t0, double *t1)
{
  double lo = INFINITY, hi = -INFINITY, margin;
  for (int s = 0; s < 2; s++)
    if (p->traj[s] && p->traj[s]->n_points)
      {
        lo = MIN (lo, (double) p->traj[s]->points[0].time_ms);
        hi = MAX (hi, (double) p->traj[s]->points[p->traj[s]->n_points - 1].time_ms);
      }
  if (!isfinite (lo))
    return FALSE;
  /* A margin keeps the first and last markers whole. */
  margin = hi > lo ? (hi - lo) * 0.02 : 30 * 1000.0;
  *t0 = lo - margin;
  *t1 = hi + margin;
  return TRUE;
}

static void
resolved_view (DlenTrajectoryPlot *p, double *v0, double *v1)
{
  if (!isnan (p->v0) && !isnan (p->v1))
    {
      *v0 = p->v0;
      *v1 = p->v1;
    }
  else if (!dlen_trajectory_plot_get_extent (p, v0, v1))
    {
      gint64 now = g_get_real_time () / 1000;
      *v0 = (double) now - 86400000.0;
      *v1 = (double) now;
    }
}

void
dlen_trajectory_plot_get_view (DlenTrajectoryPlot *p, double *t0, double *t1)
{
  resolved_view (p, t0, t1);
}

void
dlen_trajectory_plot_set_view (DlenTrajectoryPlot *p, double t0, double t1)
{
  double e0, e1, span;
  if (isnan (t0) || isnan (t1) || !dlen_trajectory_plot_get_extent (p, &e0, &e1))
    {
      p->v0 = p->v1 = NAN;
      p->geometry_valid = FALSE;
      return;
    }
  span = MAX (t1 - t0, MIN_SPAN_MS);
  if (span >= e1 - e0)
    {
      p->v0 = p->v1 = NAN;
      p->geometry_valid = FALSE;
      return;
    }
  t0 = (t0 + t1) / 2 - span / 2;
  t0 = CLAMP (t0, e0, e1 - span);
  p->v0 = t0;
  p->v1 = t0 + span;
  p->geometry_valid = FALSE;
}

void
dlen_trajectory_plot_get_stats (DlenTrajectoryPlot *p, DlenTrajectoryDrawStats *stats)
{
  *stats = p->stats;
}

/* First index whose time is >= @t. */
static gsize
lower_bound (const DlenTrajectory *tr, double t)
{
  gsize lo = 0, hi = tr->n_points;
  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      if ((double) tr->points[mid].time_ms < t)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

typedef struct {
  Frame f;
  double v0, v1, sx;           /* pixels per millisecond */
} Map;

static inline double map_x (const Map *m, double t) { return m->f.l + (t - m->v0) * m->sx; }
static inline double map_y (const Map *m, double v) { return m->f.b - v * (m->f.b - m->f.t); }

static inline float
point_value (const DlenTrajectory *tr, gsize i, gboolean smoothed)
{
  return smoothed ? (float) tr->points[i].smoothed : tr->points[i].p_e;
}

/* Decimates points [lo, hi) of @tr (the visible ones plus one neighbour each side, which is
 * moved along its segment onto the plot's edge) to one Column per pixel column. The raw p_e
 * line breaks where a session starts in a new column. */
static void
decimate (const DlenTrajectory *tr, gsize lo, gsize hi, gboolean smoothed, const Map *m, GArray *out)
{
  Column c = { 0 };
  gboolean open = FALSE;
  g_array_set_size (out, 0);
  for (gsize i = lo; i < hi; i++)
    {
      double x = map_x (m, (double) tr->points[i].time_ms), y = map_y (m, point_value (tr, i, smoothed));
      gboolean brk = !smoothed && (tr->points[i].flags & DLEN_TRAJECTORY_SESSION_START);
      float fy;
      int col;
      if (x < m->f.l - 2 || x > m->f.r + 2)
        {
          /* An off-plot neighbour: interpolate to the edge towards its inner neighbour. */
          gsize j = x < m->f.l ? i + 1 : i - 1;
          double edge = x < m->f.l ? m->f.l - 2 : m->f.r + 2, xj, yj;
          if ((x < m->f.l && i + 1 >= hi) || (x > m->f.r && i == lo))
            continue;
          /* Across a session boundary the raw line has no segment to show. */
          if (!smoothed && x > m->f.r && brk)
            continue;
          if (!smoothed && x < m->f.l && (tr->points[j].flags & DLEN_TRAJECTORY_SESSION_START))
            continue;
          xj = map_x (m, (double) tr->points[j].time_ms);
          yj = map_y (m, point_value (tr, j, smoothed));
          if (fabs (xj - x) > 1e-9)
            y = y + (yj - y) * (edge - x) / (xj - x);
          x = edge;
        }
      col = (int) floor (x);
      fy = (float) y;
      if (!open || col != c.col)
        {
          if (open)
            g_array_append_val (out, c);
          c = (Column) { (float) x, fy, fy, fy, fy, col, 1, out->len == 0 || brk };
          open = TRUE;
          continue;
        }
      c.n++;
      c.x = col + 0.5f;
      c.last = fy;
      c.lo = MIN (c.lo, fy);
      c.hi = MAX (c.hi, fy);
    }
  if (open)
    g_array_append_val (out, c);
}

static guint draw_columns (cairo_t *cr, GArray *columns, double width);

static void
build_geometry (DlenTrajectoryPlot *p, const Map *m)
{
  p->stats = (DlenTrajectoryDrawStats) { 0 };
  g_array_set_size (p->positive, 0);
  g_array_set_size (p->negative, 0);
  g_array_set_size (p->sessions, 0);
  p->n_sessions = 0;
  for (int s = 0; s < 2; s++)
    {
      const DlenTrajectory *tr = p->traj[s];
      Geometry *g = &p->geometry[s];
      gsize first, last, lo, hi;
      g_array_set_size (g->raw, 0);
      g_array_set_size (g->smooth, 0);
      g->n_visible = 0;
      g->segments = 0;
      if (!tr || tr->n_points == 0)
        continue;
      first = lower_bound (tr, m->v0);
      last = lower_bound (tr, nextafter (m->v1, INFINITY));
      lo = first > 0 ? first - 1 : first;
      hi = last < tr->n_points ? last + 1 : last;
      g->n_visible = (guint) (last - first);
      g->sparse = g->n_visible <= (m->f.r - m->f.l) / 4;
      decimate (tr, lo, hi, FALSE, m, g->raw);
      decimate (tr, lo, hi, TRUE, m, g->smooth);
      g->segments = draw_columns (NULL, g->raw, 1) + draw_columns (NULL, g->smooth, 1);
      p->stats.points += g->n_visible;
      p->stats.segments += g->segments;
      if (s != 0)
        continue;
      /* Markers and session starts: every one in view (markers of the same kind at the same pixel
       * are drawn once: that changes nothing on screen). */
      {
        int last_col = G_MININT;
        Marker prev_pos = { -1e9f, -1e9f }, prev_neg = { -1e9f, -1e9f };
        for (gsize i = first; i < last; i++)
          {
            const DlenTrajectoryPoint *pt = &tr->points[i];
            if (pt->flags & (DLEN_TRAJECTORY_POSITIVE | DLEN_TRAJECTORY_NEGATIVE))
              {
                Marker mk = { roundf ((float) map_x (m, (double) pt->time_ms)),
                              roundf ((float) map_y (m, pt->p_e)) };
                if (pt->flags & DLEN_TRAJECTORY_POSITIVE)
                  {
                    if (mk.x != prev_pos.x || mk.y != prev_pos.y)
                      g_array_append_val (p->positive, mk);
                    prev_pos = mk;
                    p->stats.markers++;
                  }
                if (pt->flags & DLEN_TRAJECTORY_NEGATIVE)
                  {
                    if (mk.x != prev_neg.x || mk.y != prev_neg.y)
                      g_array_append_val (p->negative, mk);
                    prev_neg = mk;
                    p->stats.markers++;
                  }
              }
            if ((pt->flags & DLEN_TRAJECTORY_SESSION_START) && i > 0)
              {
                float x = (float) map_x (m, (double) pt->time_ms);
                int col = (int) floor (x);
                p->n_sessions++;
                if (col != last_col)
                  g_array_append_val (p->sessions, x);
                last_col = col;
              }
          }
        p->stats.sessions = p->n_sessions;
      }
    }
}

/* ---- Drawing ---------------------------------------------------------------------------------- */

static GdkRGBA
blend (const GdkRGBA *c, const GdkRGBA *bg, double alpha)
{
  return (GdkRGBA) { c->red * alpha + bg->red * (1 - alpha), c->green * alpha + bg->green * (1 - alpha),
                     c->blue * alpha + bg->blue * (1 - alpha), 1 };
}

/* Draws decimated columns as a line @width wide in the current source, which must be opaque
 * (pieces overlap); returns the segments drawn (without @cr: only counts them). A column of many
 * points is a filled bar over its extent, joined to an adjacent bar by widening it to the
 * previous column's last value: the same pixels as the polyline through every point, without
 * stroking thousands of tall overlapping segments. Other joins are stroked segments. */
static guint
draw_columns (cairo_t *cr, GArray *columns, double width)
{
  const Column *cs = (const Column *) columns->data;
  guint segments = 0;
  gboolean pen = FALSE;
  double pen_x = 0, pen_y = 0, half = width / 2;

  /* Joins between columns. */
  for (guint i = 0; i < columns->len; i++)
    {
      const Column *c = &cs[i], *prev = i > 0 && !c->move ? &cs[i - 1] : NULL;
      gboolean merged = prev && c->n > 1 && prev->n > 1 && c->col == prev->col + 1;
      if (prev && !merged)
        {
          if (cr)
            {
              if (!pen || pen_x != prev->x || pen_y != prev->last)
                cairo_move_to (cr, prev->x, prev->last);
              cairo_line_to (cr, c->x, c->first);
            }
          segments++;
          pen = c->n == 1;
          pen_x = c->x;
          pen_y = c->first;
        }
      else
        pen = FALSE;
    }
  if (cr)
    {
          cairo_set_line_width (cr, width);
      cairo_stroke (cr);
        }
  /* Bars of the dense columns, and dots for lone points that join nothing. */
  for (guint i = 0; i < columns->len; i++)
    {
      const Column *c = &cs[i], *prev = i > 0 && !c->move ? &cs[i - 1] : NULL;
      gboolean joined_after = i + 1 < columns->len && !cs[i + 1].move;
      double lo = c->lo, hi = c->hi;
      if (c->n == 1 && (prev || joined_after))
        continue;
      if (prev && c->n > 1 && prev->n > 1 && c->col == prev->col + 1)
        {
          lo = MIN (lo, prev->last);
          hi = MAX (hi, prev->last);
        }
      /* Whole pixels: cairo fills such boxes directly instead of rasterising a path (ten times
       * faster). */
      if (cr)
        {
          double top = floor (lo - half), bottom = ceil (hi + half);
          if (c->n == 1)
            cairo_rectangle (cr, c->x - half, c->first - half, width, width);
          else
            {
              /* As wide as the line, in whole pixels. */
              int bw = MAX (1, (int) round (width));
              cairo_rectangle (cr, c->col - (bw - 1) / 2, top, bw, bottom - top);
            }
        }
      segments++;
    }
  if (cr)
    {
          cairo_fill (cr);
        }
  return segments;
}

static void
triangle (cairo_t *cr, double x, double y, double r, gboolean up)
{
  double d = up ? -1 : 1;
  cairo_move_to (cr, x, y + d * r);
  cairo_line_to (cr, x + r * 0.95, y - d * r * 0.6);
  cairo_line_to (cr, x - r * 0.95, y - d * r * 0.6);
  cairo_close_path (cr);
}

static void
draw_markers (cairo_t *cr, GArray *markers, gboolean up, const GdkRGBA *colour, const GdkRGBA *outline)
{
  const Marker *mk = (const Marker *) markers->data;
  if (markers->len == 0)
    return;
  for (guint i = 0; i < markers->len; i++)
    triangle (cr, mk[i].x, mk[i].y + (up ? -1.5 : 1.5), MARKER_SIZE, up);
  /* An outline in the background colour keeps overlapping markers apart. */
  dlen_chart_set_colour (cr, outline, 0.9);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke_preserve (cr);
  dlen_chart_set_colour (cr, colour, 1);
  cairo_fill (cr);
}

/* A lane above the plot with every marker of one kind at its time: small triangles when few, a
 * tick per pixel column when dense (markers in the same column are one tick on screen). */
static void
draw_lane (cairo_t *cr, GArray *markers, gboolean up, gboolean dense, double y0, double h, const Frame *f,
           const GdkRGBA *colour, const DlenChartStyle *st)
{
  const Marker *mk = (const Marker *) markers->data;
  float last = -1e9f;
  dlen_chart_set_colour (cr, &st->fg, 0.07);
  cairo_rectangle (cr, f->l, y0, f->r - f->l, h);
  cairo_fill (cr);
  triangle (cr, f->l - 9, y0 + h / 2, 3.6, up);
  dlen_chart_set_colour (cr, colour, 1);
  cairo_fill (cr);
  if (markers->len == 0)
    return;
  cairo_save (cr);
  cairo_rectangle (cr, f->l, y0, f->r - f->l + 4, h);
  cairo_clip (cr);
  if (dense)
    {
      cairo_set_line_width (cr, 1);
      for (guint i = 0; i < markers->len; i++)
        {
          float x = roundf (mk[i].x) + 0.5f;
          if (x == last)
            continue;
          last = x;
          cairo_move_to (cr, x, y0);
          cairo_line_to (cr, x, y0 + h);
        }
      cairo_stroke (cr);
    }
  else
    {
      for (guint i = 0; i < markers->len; i++)
        triangle (cr, mk[i].x, y0 + h / 2, 3.4, up);
      cairo_fill (cr);
    }
  cairo_restore (cr);
}

typedef enum { SWATCH_DOTS, SWATCH_LINE, SWATCH_UP, SWATCH_DOWN, SWATCH_SESSION } Swatch;

typedef struct {
  Swatch kind;
  const GdkRGBA *colour;
  char *text;
} LegendEntry;

static double
legend_entry (cairo_t *cr, const DlenChartStyle *st, double x, double y, Swatch kind, const GdkRGBA *colour,
              const char *text)
{
  g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, text, 0.85, FALSE);
  double w, h, cy;
  static const double dash[] = { 5, 3 };
  dlen_chart_layout_size (l, &w, &h);
  cy = y + h / 2;
  cairo_save (cr);
  dlen_chart_set_colour (cr, colour, 1);
  switch (kind)
    {
    case SWATCH_DOTS:
      cairo_set_line_width (cr, 1);
      dlen_chart_set_colour (cr, colour, 0.6);
      cairo_move_to (cr, x, cy + 3);
      cairo_line_to (cr, x + 6, cy - 3);
      cairo_line_to (cr, x + 12, cy + 2);
      cairo_line_to (cr, x + 18, cy - 2);
      cairo_stroke (cr);
      break;
    case SWATCH_LINE:
      cairo_set_line_width (cr, 2.5);
      cairo_move_to (cr, x, cy);
      cairo_line_to (cr, x + 18, cy);
      cairo_stroke (cr);
      break;
    case SWATCH_UP:
    case SWATCH_DOWN:
      triangle (cr, x + 9, cy, MARKER_SIZE + 0.5, kind == SWATCH_UP);
      cairo_fill (cr);
      break;
    case SWATCH_SESSION:
      cairo_set_line_width (cr, 1);
      cairo_set_dash (cr, dash, 2, 0);
      dlen_chart_set_colour (cr, colour, 0.6);
      cairo_move_to (cr, x + 9.5, y);
      cairo_line_to (cr, x + 9.5, y + h);
      cairo_stroke (cr);
      break;
    default:
      break;
    }
  cairo_restore (cr);
  dlen_chart_set_colour (cr, &st->fg, 0.85);
  cairo_move_to (cr, x + 22, y);
  pango_cairo_show_layout (cr, l);
  return 22 + w + 16;
}

void
dlen_trajectory_plot_draw (DlenTrajectoryPlot *p, cairo_t *cr, int width, int height, const DlenChartStyle *st)
{
  double left = PAD, right = width - PAD, top = PAD, bottom = height - PAD, w, h, tick_w = 0, tick_h = 0;
  gboolean has_data = (p->traj[0] && p->traj[0]->n_points) || (p->traj[1] && p->traj[1]->n_points);
  g_autoptr (GArray) ticks = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  double v0, v1, line_h = 0, lx, lanes_top;
  gboolean dense;
  Map m;
  Frame f;

  if (width < 60 || height < 60)
    return;
  resolved_view (p, &v0, &v1);
  cairo_save (cr);

  /* Title. */
  if (p->title && *p->title)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, p->title, 1.0, TRUE);
      pango_layout_set_width (l, (int) ((right - left) * PANGO_SCALE));
      pango_layout_set_ellipsize (l, PANGO_ELLIPSIZE_END);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st->fg, 1);
      cairo_move_to (cr, left, top);
      pango_cairo_show_layout (cr, l);
      top += h + 6;
    }

  /* Legend, wrapping. */
  if (has_data)
    {
      LegendEntry entries[8];
      guint n = 0;
      for (int s = 0; s < 2; s++)
        if (p->traj[s])
          {
            const char *label = p->label[s] ? p->label[s] : (s ? "comparison" : "model");
            entries[n++] = (LegendEntry) { SWATCH_DOTS, &st->palette[s], g_strdup_printf ("p_e, %s", label) };
            entries[n++] = (LegendEntry) { SWATCH_LINE, &st->palette[s],
                                                   g_strdup_printf ("mean of last %u, %s", p->traj[s]->smooth, label) };
          }
      entries[n++] = (LegendEntry) { SWATCH_UP, &st->positive, g_strdup ("positive action") };
      entries[n++] = (LegendEntry) { SWATCH_DOWN, &st->negative, g_strdup ("negative feedback") };
      entries[n++] = (LegendEntry) { SWATCH_SESSION, &st->fg, g_strdup ("session start") };
      lx = left;
      for (guint i = 0; i < n; i++)
        {
          g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, entries[i].text, 0.85, FALSE);
          double entry;
          dlen_chart_layout_size (l, &w, &h);
          entry = 22 + w + 16;
          if (lx > left && lx + entry - 16 > right)
            {
              lx = left;
              top += line_h + 4;
              line_h = 0;
            }
          lx += legend_entry (cr, st, lx, top, entries[i].kind, entries[i].colour, entries[i].text);
          line_h = MAX (line_h, h);
          g_free (entries[i].text);
        }
      top += line_h + 8;
    }

  /* Two marker lanes above the plot. */
  lanes_top = top;
  if (has_data)
    top += 2 * LANE_H + LANE_GAP + 6;

  /* Margins: y tick labels on the left, two-line time labels below. */
  for (int k = 0; k <= 4; k++)
    {
      char buf[16];
      g_autoptr (PangoLayout) l = NULL;
      g_snprintf (buf, sizeof buf, "%.2f", k / 4.0);
      l = dlen_chart_layout (cr, st, buf, 0.8, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      tick_w = MAX (tick_w, w);
      tick_h = MAX (tick_h, h);
    }
  {
    g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, "p_e", 0.85, FALSE);
    dlen_chart_layout_size (l, &w, &h);
  }
  f.l = left + h + 4 + tick_w + 6;
  f.r = right - 6;
  f.t = top + tick_h / 2;
  f.b = bottom - 2 * tick_h - 6;
  if (f.r - f.l < 40 || f.b - f.t < 30)
    {
      cairo_restore (cr);
      return;
    }
  m = (Map) { f, v0, v1, (f.r - f.l) / (v1 - v0) };

  /* Grid, ticks and axes. */
  cairo_set_line_width (cr, 1);
  for (int k = 0; k <= 4; k++)
    {
      char buf[16];
      double py = round (map_y (&m, k / 4.0)) + 0.5;
      g_autoptr (PangoLayout) l = NULL;
      dlen_chart_set_colour (cr, &st->fg, k == 2 ? 0.2 : 0.1);
      cairo_move_to (cr, f.l, py);
      cairo_line_to (cr, f.r, py);
      cairo_stroke (cr);
      g_snprintf (buf, sizeof buf, "%.2f", k / 4.0);
      l = dlen_chart_layout (cr, st, buf, 0.8, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st->fg, 0.7);
      cairo_move_to (cr, f.l - 6 - w, py - h / 2);
      pango_cairo_show_layout (cr, l);
    }
  if (has_data)
    dlen_chart_time_ticks (v0, v1, MAX (2, (int) ((f.r - f.l) / 90)), ticks, labels);
  for (guint k = 0; k < ticks->len; k++)
    {
      double px = round (map_x (&m, g_array_index (ticks, double, k))) + 0.5;
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, g_ptr_array_index (labels, k), 0.8, FALSE);
      if (px < f.l || px > f.r)
        continue;
      dlen_chart_set_colour (cr, &st->fg, 0.1);
      cairo_move_to (cr, px, f.t);
      cairo_line_to (cr, px, f.b);
      cairo_stroke (cr);
      pango_layout_set_alignment (l, PANGO_ALIGN_CENTER);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st->fg, 0.7);
      cairo_move_to (cr, CLAMP (px - w / 2, f.l - tick_w, right - w), f.b + 4);
      pango_cairo_show_layout (cr, l);
    }
  dlen_chart_set_colour (cr, &st->fg, 0.45);
  cairo_move_to (cr, round (f.l) + 0.5, f.t);
  cairo_line_to (cr, round (f.l) + 0.5, round (f.b) + 0.5);
  cairo_line_to (cr, f.r, round (f.b) + 0.5);
  cairo_stroke (cr);
  {
    g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, "p_e", 0.85, FALSE);
    dlen_chart_layout_size (l, &w, &h);
    cairo_save (cr);
    dlen_chart_set_colour (cr, &st->fg, 0.8);
    cairo_move_to (cr, left, (f.t + f.b + w) / 2);
    cairo_rotate (cr, -G_PI / 2);
    pango_cairo_show_layout (cr, l);
    cairo_restore (cr);
  }

  /* The series, from the cached geometry when size, view and data are unchanged. */
  if (!p->geometry_valid || memcmp (&p->geometry_frame, &f, sizeof f) != 0 || p->geometry_v0 != v0
      || p->geometry_v1 != v1)
    {
      build_geometry (p, &m);
      p->geometry_valid = TRUE;
      p->geometry_frame = f;
      p->geometry_v0 = v0;
      p->geometry_v1 = v1;
    }
  cairo_save (cr);
  cairo_rectangle (cr, f.l + 1, f.t - MARKER_SIZE - 3, f.r - f.l, f.b - f.t + 2 * MARKER_SIZE + 5);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);

  /* Session starts: dashed lines when they are few, a rug along the bottom when dense. */
  if (p->sessions->len)
    {
      static const double dash[] = { 3, 3 };
      gboolean dense = p->sessions->len > (f.r - f.l) / 8;
      cairo_save (cr);
      cairo_set_line_width (cr, 1);
      if (!dense)
        cairo_set_dash (cr, dash, 2, 0);
      dlen_chart_set_colour (cr, &st->fg, dense ? 0.35 : 0.3);
      for (guint i = 0; i < p->sessions->len; i++)
        {
          double x = round (g_array_index (p->sessions, float, i)) + 0.5;
          cairo_move_to (cr, x, dense ? f.b - 6 : f.t);
          cairo_line_to (cr, x, f.b);
        }
      cairo_stroke (cr);
      cairo_restore (cr);
    }

  /* Per-impression p_e: a thin line (decimated per pixel column), dots when sparse; the second
   * model under the first. Colours are blended with the background beforehand: the pieces of a
   * decimated line overlap, so they must be opaque. */
  for (int s = 1; s >= 0; s--)
    {
      Geometry *g = &p->geometry[s];
      GdkRGBA faint = blend (&st->palette[s], &st->bg, 0.6), dot = blend (&st->palette[s], &st->bg, 0.85);
      if (!p->traj[s] || g->raw->len == 0)
        continue;
      dlen_chart_set_colour (cr, &faint, 1);
      draw_columns (cr, g->raw, 1);
      if (g->sparse)
        {
          const Column *cs = (const Column *) g->raw->data;
          dlen_chart_set_colour (cr, &dot, 1);
          for (guint i = 0; i < g->raw->len; i++)
            if (cs[i].x >= f.l && cs[i].x <= f.r)
              {
                cairo_new_sub_path (cr);
                cairo_arc (cr, cs[i].x, cs[i].first, 2.2, 0, 2 * G_PI);
                if (cs[i].n > 1)
                  {
                    cairo_new_sub_path (cr);
                    cairo_arc (cr, cs[i].x, cs[i].last, 2.2, 0, 2 * G_PI);
                  }
              }
          cairo_fill (cr);
        }
    }
  /* The smoothed lines on top; the compared model's with a contrasting outline instead of a
   * dash (dashes on a decimated line would be noise). */
  for (int s = 1; s >= 0; s--)
    {
      Geometry *g = &p->geometry[s];
      if (!p->traj[s] || g->smooth->len == 0)
        continue;
      if (s == 1)
        {
          dlen_chart_set_colour (cr, &st->bg, 1);
          draw_columns (cr, g->smooth, 4.5);
        }
      dlen_chart_set_colour (cr, &st->palette[s], 1);
      draw_columns (cr, g->smooth, 2.5);
    }
  /* Markers on their points while they stay readable; always in the lanes. */
  dense = p->stats.markers > (f.r - f.l) / 4;
  if (!dense)
    {
      draw_markers (cr, p->positive, TRUE, &st->positive, &st->bg);
      draw_markers (cr, p->negative, FALSE, &st->negative, &st->bg);
    }
  cairo_restore (cr);
  if (has_data)
    {
      draw_lane (cr, p->positive, TRUE, dense, lanes_top, LANE_H, &f, &st->positive, st);
      draw_lane (cr, p->negative, FALSE, dense, lanes_top + LANE_H + LANE_GAP, LANE_H, &f, &st->negative, st);
    }

  if (!has_data && p->placeholder && *p->placeholder)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, p->placeholder, 0.95, FALSE);
      pango_layout_set_width (l, (int) ((f.r - f.l - 24) * PANGO_SCALE));
      pango_layout_set_alignment (l, PANGO_ALIGN_CENTER);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st->fg, 0.55);
      cairo_move_to (cr, f.l + 12, (f.t + f.b - h) / 2);
      pango_cairo_show_layout (cr, l);
    }
  cairo_restore (cr);
  p->drawn = TRUE;
  p->frame = f;
  p->drawn_v0 = v0;
  p->drawn_v1 = v1;
}

/* The point nearest to (@x, @y) in the last draw within HOVER_RADIUS pixels: series and index. */
static gboolean
plot_pick (DlenTrajectoryPlot *p, double x, double y, int *series, gsize *index)
{
  Map m;
  double best = HOVER_RADIUS * HOVER_RADIUS;
  gboolean found = FALSE;
  if (!p->drawn || x < p->frame.l - HOVER_RADIUS || x > p->frame.r + HOVER_RADIUS)
    return FALSE;
  m = (Map) { p->frame, p->drawn_v0, p->drawn_v1, (p->frame.r - p->frame.l) / (p->drawn_v1 - p->drawn_v0) };
  for (int s = 0; s < 2; s++)
    {
      const DlenTrajectory *tr = p->traj[s];
      double t_lo, t_hi;
      guint scanned = 0;
      if (!tr)
        continue;
      t_lo = m.v0 + (x - HOVER_RADIUS - m.f.l) / m.sx;
      t_hi = m.v0 + (x + HOVER_RADIUS - m.f.l) / m.sx;
      for (gsize i = lower_bound (tr, t_lo); i < tr->n_points && (double) tr->points[i].time_ms <= t_hi && scanned < 200000;
           i++, scanned++)
        {
          double dx = map_x (&m, (double) tr->points[i].time_ms) - x, dy = map_y (&m, tr->points[i].p_e) - y;
          double d = dx * dx + dy * dy;
          /* The first model wins ties: its markers and tooltip are the chart's subject. */
          if (d < best - (s ? 1e-9 : 0))
            {
              best = d;
              *series = s;
              *index = i;
              found = TRUE;
            }
        }
    }
  return found;
}

/* The index of the same impression (time and item) in @other, or -1. */
static gssize
find_same (const DlenTrajectory *other, const DlenTrajectoryPoint *pt)
{
  if (!other)
    return -1;
  for (gsize i = lower_bound (other, (double) pt->time_ms);
       i < other->n_points && other->points[i].time_ms == pt->time_ms; i++)
    if (g_str_equal (other->points[i].item, pt->item))
      return (gssize) i;
  return -1;
}

static char *
plot_tooltip (DlenTrajectoryPlot *p, int s, gsize i)
{
  const DlenTrajectory *tr = p->traj[s], *other = p->traj[1 - s];
  const DlenTrajectoryPoint *pt = &tr->points[i];
  const float *pred = tr->predictions + i * tr->n_targets;
  g_autoptr (GDateTime) when = g_date_time_new_from_unix_local (pt->time_ms / 1000);
  g_autofree char *date = when ? g_date_time_format (when, "%a %b %-d %Y, %H:%M:%S") : g_strdup ("?");
  GString *out = g_string_new (NULL);
  gssize j = find_same (other, pt);
  g_autofree char *head = g_markup_printf_escaped ("<b>%s</b>\nItem <b>%s</b>", date, *pt->item ? pt->item : "?");
  g_string_append (out, head);
  if (*pt->category)
    {
      g_autofree char *cat = g_markup_printf_escaped (" · category <b>%s</b>", pt->category);
      g_string_append (out, cat);
    }
  g_string_append_c (out, '\n');
  {
    g_autofree char *line = g_markup_printf_escaped ("p_e <b>%.3f</b> · mean of last %u: %.3f (%s)\n", pt->p_e, tr->smooth,
                                                     pt->smoothed, p->label[s] ? p->label[s] : "model");
    g_string_append (out, line);
  }
  if (j >= 0)
    {
      g_autofree char *line = g_markup_printf_escaped ("p_e <b>%.3f</b> · mean %.3f (%s)\n", other->points[j].p_e,
                                                       other->points[j].smoothed,
                                                       p->label[1 - s] ? p->label[1 - s] : "other model");
      g_string_append (out, line);
    }
  g_string_append_printf (out, "Session %" G_GINT64_FORMAT "%s", pt->session,
                          pt->flags & DLEN_TRAJECTORY_SESSION_START ? " (start)" : "");
  if (pt->flags & DLEN_TRAJECTORY_POSITIVE)
    g_string_append (out, " · ▲ positive action");
  if (pt->flags & DLEN_TRAJECTORY_NEGATIVE)
    g_string_append (out, " · ▼ negative feedback");
  g_string_append (out, "\n<small>Predictions:");
  for (guint t = 0; t < tr->n_targets; t++)
    {
      g_autofree char *item = NULL;
      if (tr->kind[t] == DLEN_TARGET_DURATION)
        item = g_markup_printf_escaped ("%s%s %.1f s", t % 3 ? " · " : "\n", tr->target_names[t], pred[t]);
      else
        item = g_markup_printf_escaped ("%s%s %.3f", t % 3 ? " · " : "\n", tr->target_names[t], pred[t]);
      g_string_append (out, item);
    }
  g_string_append (out, "</small>");
  return g_string_free (out, FALSE);
}

/* ---- Widget ----------------------------------------------------------------------------------- */

struct _DlenTrajectoryChart {
  GtkWidget parent_instance;

  /* Owned */
  DlenTrajectoryPlot *plot;
  GskRenderNode *cache;
  int cache_width, cache_height;
  gboolean hover;
  int hover_series;
  gsize hover_index;
  double pointer_x;
  double drag_v0, drag_v1;
  double pinch_v0, pinch_v1, pinch_anchor;
};

enum { PROP_0, PROP_ZOOMED, N_PROPS };
static GParamSpec *props[N_PROPS];
enum { SIGNAL_HOVER_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DlenTrajectoryChart, dlen_trajectory_chart, GTK_TYPE_WIDGET)

static void
invalidate (DlenTrajectoryChart *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
view_changed (DlenTrajectoryChart *self, gboolean was_zoomed)
{
  if (self->hover)
    {
      self->hover = FALSE;
      g_signal_emit (self, signals[SIGNAL_HOVER_CHANGED], 0);
    }
  invalidate (self);
  if (was_zoomed != dlen_trajectory_chart_get_zoomed (self))
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ZOOMED]);
}

DlenTrajectoryPlot *dlen_trajectory_chart_get_plot (DlenTrajectoryChart *self) { return self->plot; }
DlenTrajectory *dlen_trajectory_chart_get_trajectory (DlenTrajectoryChart *self) { return self->plot->traj[0]; }
DlenTrajectory *dlen_trajectory_chart_get_comparison (DlenTrajectoryChart *self) { return self->plot->traj[1]; }

gboolean
dlen_trajectory_chart_get_zoomed (DlenTrajectoryChart *self)
{
  g_return_val_if_fail (DLEN_IS_TRAJECTORY_CHART (self), FALSE);
  return !isnan (self->plot->v0);
}

void
dlen_trajectory_chart_set_trajectory (DlenTrajectoryChart *self, DlenTrajectory *traj, const char *label)
{
  gboolean was = dlen_trajectory_chart_get_zoomed (self);
  dlen_trajectory_plot_set_trajectory (self->plot, traj, label);
  view_changed (self, was);
}

void
dlen_trajectory_chart_set_comparison (DlenTrajectoryChart *self, DlenTrajectory *traj, const char *label)
{
  gboolean was = dlen_trajectory_chart_get_zoomed (self);
  dlen_trajectory_plot_set_comparison (self->plot, traj, label);
  view_changed (self, was);
}

void
dlen_trajectory_chart_set_title (DlenTrajectoryChart *self, const char *title)
{
  dlen_trajectory_plot_set_title (self->plot, title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, title ? title : "", -1);
  invalidate (self);
}

void
dlen_trajectory_chart_set_placeholder (DlenTrajectoryChart *self, const char *text)
{
  dlen_trajectory_plot_set_placeholder (self->plot, text);
  invalidate (self);
}

static void
set_view (DlenTrajectoryChart *self, double v0, double v1)
{
  gboolean was = dlen_trajectory_chart_get_zoomed (self);
  dlen_trajectory_plot_set_view (self->plot, v0, v1);
  view_changed (self, was);
}

void
dlen_trajectory_chart_zoom (DlenTrajectoryChart *self, double factor, double anchor)
{
  double v0, v1, t;
  g_return_if_fail (DLEN_IS_TRAJECTORY_CHART (self));
  if (!(factor > 0))
    return;
  dlen_trajectory_plot_get_view (self->plot, &v0, &v1);
  anchor = CLAMP (anchor, 0, 1);
  t = v0 + anchor * (v1 - v0);
  set_view (self, t - anchor * (v1 - v0) / factor, t + (1 - anchor) * (v1 - v0) / factor);
}

void
dlen_trajectory_chart_pan (DlenTrajectoryChart *self, double fraction)
{
  double v0, v1;
  g_return_if_fail (DLEN_IS_TRAJECTORY_CHART (self));
  if (!dlen_trajectory_chart_get_zoomed (self))
    return;
  dlen_trajectory_plot_get_view (self->plot, &v0, &v1);
  set_view (self, v0 + fraction * (v1 - v0), v1 + fraction * (v1 - v0));
}

void
dlen_trajectory_chart_reset_zoom (DlenTrajectoryChart *self)
{
  g_return_if_fail (DLEN_IS_TRAJECTORY_CHART (self));
  set_view (self, NAN, NAN);
}

void
dlen_trajectory_chart_get_stats (DlenTrajectoryChart *self, DlenTrajectoryDrawStats *stats)
{
  g_return_if_fail (DLEN_IS_TRAJECTORY_CHART (self));
  dlen_trajectory_plot_get_stats (self->plot, stats);
}

char *
dlen_trajectory_chart_dup_tooltip_at (DlenTrajectoryChart *self, double x, double y)
{
  int s;
  gsize i;
  g_return_val_if_fail (DLEN_IS_TRAJECTORY_CHART (self), NULL);
  return plot_pick (self->plot, x, y, &s, &i) ? plot_tooltip (self->plot, s, i) : NULL;
}

char *
dlen_trajectory_chart_dup_hover_markup (DlenTrajectoryChart *self)
{
  const DlenTrajectory *tr, *other;
  const DlenTrajectoryPoint *pt;
  const float *pred;
  g_autoptr (GDateTime) when = NULL;
  g_autofree char *date = NULL, *head = NULL;
  GString *out;
  gssize j;
  g_return_val_if_fail (DLEN_IS_TRAJECTORY_CHART (self), NULL);
  if (!self->hover || !(tr = self->plot->traj[self->hover_series]) || self->hover_index >= tr->n_points)
    return NULL;
  other = self->plot->traj[1 - self->hover_series];
  pt = &tr->points[self->hover_index];
  pred = tr->predictions + self->hover_index * tr->n_targets;
  when = g_date_time_new_from_unix_local (pt->time_ms / 1000);
  date = when ? g_date_time_format (when, "%b %-d %Y, %H:%M:%S") : g_strdup ("?");
  head = g_markup_printf_escaped ("<b>%s</b> · item <b>%s</b>%s%s · p_e <b>%.3f</b> (mean %.3f)", date,
                                  *pt->item ? pt->item : "?", *pt->category ? " · category " : "", pt->category, pt->p_e,
                                  pt->smoothed);
  out = g_string_new (head);
  if ((j = find_same (other, pt)) >= 0)
    {
      g_autofree char *line = g_markup_printf_escaped (" · %s p_e <b>%.3f</b>",
                                                       self->plot->label[1 - self->hover_series]
                                                         ? self->plot->label[1 - self->hover_series] : "other model",
                                                       other->points[j].p_e);
      g_string_append (out, line);
    }
  if (pt->flags & DLEN_TRAJECTORY_POSITIVE)
    g_string_append (out, " · ▲ positive action");
  if (pt->flags & DLEN_TRAJECTORY_NEGATIVE)
    g_string_append (out, " · ▼ negative feedback");
  g_string_append_c (out, '\n');
  for (guint t = 0; t < tr->n_targets; t++)
    {
      g_autofree char *item = tr->kind[t] == DLEN_TARGET_DURATION
        ? g_markup_printf_escaped ("%s%s %.1f s", t ? " · " : "", tr->target_names[t], pred[t])
        : g_markup_printf_escaped ("%s%s %.3f", t ? " · " : "", tr->target_names[t], pred[t]);
      g_string_append (out, item);
    }
  return g_string_free (out, FALSE);
}

void
dlen_trajectory_chart_draw (DlenTrajectoryChart *self, cairo_t *cr, int width, int height)
{
  DlenChartStyle st;
  dlen_chart_style_init_from_widget (&st, GTK_WIDGET (self));
  dlen_trajectory_plot_draw (self->plot, cr, width, height, &st);
  dlen_chart_style_clear (&st);
}

/* Exports draw a copy of the plot, so the widget's geometry and hover mapping stay its own. */
static void
export_draw (gpointer data, cairo_t *cr, int width, int height)
{
  DlenTrajectoryChart *self = data;
  DlenTrajectoryPlot *copy = dlen_trajectory_plot_new ();
  DlenChartStyle st;
  for (int s = 0; s < 2; s++)
    set_series (copy, s, self->plot->traj[s], self->plot->label[s]);
  dlen_trajectory_plot_set_title (copy, self->plot->title);
  dlen_trajectory_plot_set_placeholder (copy, self->plot->placeholder);
  copy->v0 = self->plot->v0;
  copy->v1 = self->plot->v1;
  dlen_chart_style_init_from_widget (&st, GTK_WIDGET (self));
  dlen_trajectory_plot_draw (copy, cr, width, height, &st);
  dlen_chart_style_clear (&st);
  dlen_trajectory_plot_free (copy);
}

gboolean
dlen_trajectory_chart_export (DlenTrajectoryChart *self, const char *path, GError **error)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  DlenChartStyle st;
  gboolean ok;
  g_return_val_if_fail (DLEN_IS_TRAJECTORY_CHART (self), FALSE);
  if (w < 100 || h < 100)
    {
      w = 1000;
      h = 420;
    }
  dlen_chart_style_init_from_widget (&st, GTK_WIDGET (self));
  ok = dlen_chart_export (self, export_draw, &st.bg, path, w, h, error);
  dlen_chart_style_clear (&st);
  return ok;
}

static void
draw_chart (gpointer chart, cairo_t *cr, int width, int height)
{
  dlen_trajectory_chart_draw (chart, cr, width, height);
}

static void
dlen_trajectory_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DlenTrajectoryChart *self = DLEN_TRAJECTORY_CHART (widget);
  if (!dlen_chart_snapshot_cached (widget, snapshot, draw_chart, &self->cache, &self->cache_width, &self->cache_height))
    return;

  /* The hovered point: a ring and a hairline, over the cached drawing. */
  if (self->hover && self->plot->drawn)
    {
      const DlenTrajectory *tr = self->plot->traj[self->hover_series];
      const Frame *f = &self->plot->frame;
      DlenChartStyle st;
      Map m = { *f, self->plot->drawn_v0, self->plot->drawn_v1, (f->r - f->l) / (self->plot->drawn_v1 - self->plot->drawn_v0) };
      double x, y;
      cairo_t *cr;
      if (!tr || self->hover_index >= tr->n_points)
        return;
      x = map_x (&m, (double) tr->points[self->hover_index].time_ms);
      y = map_y (&m, tr->points[self->hover_index].p_e);
      dlen_chart_style_init_from_widget (&st, widget);
      /* Small nodes only: the cached chart stays as it is (a new full-size node is costly). */
      {
        GdkRGBA line = st.fg;
        line.alpha *= 0.35;
        gtk_snapshot_append_color (snapshot, &line, &GRAPHENE_RECT_INIT (round (x), f->t, 1, f->b - f->t));
      }
      cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (x - 10, y - 10, 20, 20));
      cairo_arc (cr, x, y, 5.5, 0, 2 * G_PI);
      dlen_chart_set_colour (cr, &st.bg, 1);
      cairo_set_line_width (cr, 4);
      cairo_stroke_preserve (cr);
      dlen_chart_set_colour (cr, &st.palette[self->hover_series], 1);
      cairo_set_line_width (cr, 2);
      cairo_stroke (cr);
      cairo_destroy (cr);
      dlen_chart_style_clear (&st);
    }
}

static void
dlen_trajectory_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                               int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 320 : 220;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 720 : 380;
}

static void
dlen_trajectory_chart_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (dlen_trajectory_chart_parent_class)->css_changed (widget, change);
  invalidate (DLEN_TRAJECTORY_CHART (widget));
}

static void
dlen_trajectory_chart_system_setting_changed (GtkWidget *widget, GtkSystemSetting setting)
{
  GTK_WIDGET_CLASS (dlen_trajectory_chart_parent_class)->system_setting_changed (widget, setting);
  invalidate (DLEN_TRAJECTORY_CHART (widget));
}

static double
anchor_of (DlenTrajectoryChart *self, double x)
{
  const Frame *f = &self->plot->frame;
  if (!self->plot->drawn || f->r <= f->l)
    return 0.5;
  return CLAMP ((x - f->l) / (f->r - f->l), 0, 1);
}

static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, DlenTrajectoryChart *self)
{
  if (!self->plot->traj[0] && !self->plot->traj[1])
    return FALSE;
  if (dy != 0)
    dlen_trajectory_chart_zoom (self, pow (1.25, -dy), anchor_of (self, self->pointer_x));
  if (dx != 0)
    dlen_trajectory_chart_pan (self, dx * 0.05);
  return TRUE;
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, DlenTrajectoryChart *self)
{
  int s = 0;
  gsize i = 0;
  gboolean hover = plot_pick (self->plot, x, y, &s, &i);
  self->pointer_x = x;
  if (hover != self->hover || (hover && (s != self->hover_series || i != self->hover_index)))
    {
      self->hover = hover;
      self->hover_series = s;
      self->hover_index = i;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      g_signal_emit (self, signals[SIGNAL_HOVER_CHANGED], 0);
    }
}

static void
on_leave (GtkEventControllerMotion *controller, DlenTrajectoryChart *self)
{
  if (self->hover)
    {
      self->hover = FALSE;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      g_signal_emit (self, signals[SIGNAL_HOVER_CHANGED], 0);
    }
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, DlenTrajectoryChart *self)
{
  dlen_trajectory_plot_get_view (self->plot, &self->drag_v0, &self->drag_v1);
}

static void
on_drag_update (GtkGestureDrag *gesture, double ox, double oy, DlenTrajectoryChart *self)
{
  const Frame *f = &self->plot->frame;
  double shift;
  if (!dlen_trajectory_chart_get_zoomed (self) || !self->plot->drawn || f->r <= f->l)
    return;
  if (fabs (ox) > 2)
    gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
  shift = -ox / (f->r - f->l) * (self->drag_v1 - self->drag_v0);
  set_view (self, self->drag_v0 + shift, self->drag_v1 + shift);
}

static void
on_drag_end (GtkGestureDrag *gesture, double ox, double oy, DlenTrajectoryChart *self)
{
  gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
}

static void
on_pinch_begin (GtkGesture *gesture, GdkEventSequence *sequence, DlenTrajectoryChart *self)
{
  double x = 0, y = 0;
  gtk_gesture_get_bounding_box_center (gesture, &x, &y);
  dlen_trajectory_plot_get_view (self->plot, &self->pinch_v0, &self->pinch_v1);
  self->pinch_anchor = anchor_of (self, x);
}

static void
on_pinch_scale (GtkGestureZoom *gesture, double scale, DlenTrajectoryChart *self)
{
  double span = self->pinch_v1 - self->pinch_v0, t = self->pinch_v0 + self->pinch_anchor * span;
  if (!(scale > 0))
    return;
  set_view (self, t - self->pinch_anchor * span / scale, t + (1 - self->pinch_anchor) * span / scale);
}

static void
on_pressed (GtkGestureClick *gesture, int n_press, double x, double y, DlenTrajectoryChart *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (n_press == 2)
    dlen_trajectory_chart_reset_zoom (self);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  DlenTrajectoryChart *self = DLEN_TRAJECTORY_CHART (widget);
  g_autofree char *markup = NULL;
  const Frame *f = &self->plot->frame;
  int s;
  gsize i;
  double px, py;
  Map m;
  if (keyboard || !plot_pick (self->plot, x, y, &s, &i))
    return FALSE;
  markup = plot_tooltip (self->plot, s, i);
  gtk_tooltip_set_markup (tooltip, markup);
  /* Anchor the tooltip at the point, not at the whole chart (which would put it below the chart). */
  m = (Map) { *f, self->plot->drawn_v0, self->plot->drawn_v1, (f->r - f->l) / (self->plot->drawn_v1 - self->plot->drawn_v0) };
  px = map_x (&m, (double) self->plot->traj[s]->points[i].time_ms);
  py = map_y (&m, self->plot->traj[s]->points[i].p_e);
  gtk_tooltip_set_tip_area (tooltip, &(GdkRectangle) { (int) px - 6, (int) py - 6, 12, 12 });
  return TRUE;
}

static gboolean
key_zoom (GtkWidget *widget, GVariant *args, gpointer data)
{
  DlenTrajectoryChart *self = DLEN_TRAJECTORY_CHART (widget);
  const char *what = g_variant_get_string (args, NULL);
  if (g_str_equal (what, "in"))
    dlen_trajectory_chart_zoom (self, 1.5, 0.5);
  else if (g_str_equal (what, "out"))
    dlen_trajectory_chart_zoom (self, 1 / 1.5, 0.5);
  else if (g_str_equal (what, "reset"))
    dlen_trajectory_chart_reset_zoom (self);
  else if (g_str_equal (what, "left"))
    dlen_trajectory_chart_pan (self, -0.2);
  else if (g_str_equal (what, "right"))
    dlen_trajectory_chart_pan (self, 0.2);
  return TRUE;
}

static void
dlen_trajectory_chart_dispose (GObject *object)
{
  DlenTrajectoryChart *self = DLEN_TRAJECTORY_CHART (object);
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  G_OBJECT_CLASS (dlen_trajectory_chart_parent_class)->dispose (object);
}

static void
dlen_trajectory_chart_finalize (GObject *object)
{
  DlenTrajectoryChart *self = DLEN_TRAJECTORY_CHART (object);
  dlen_trajectory_plot_free (self->plot);
  G_OBJECT_CLASS (dlen_trajectory_chart_parent_class)->finalize (object);
}

static void
dlen_trajectory_chart_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenTrajectoryChart *self = DLEN_TRAJECTORY_CHART (object);
  switch (prop_id)
    {
    case PROP_ZOOMED: g_value_set_boolean (value, dlen_trajectory_chart_get_zoomed (self)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_trajectory_chart_class_init (DlenTrajectoryChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  static const struct { guint key; const char *what; } keys[] = {
    { GDK_KEY_plus, "in" }, { GDK_KEY_equal, "in" }, { GDK_KEY_KP_Add, "in" },
    { GDK_KEY_minus, "out" }, { GDK_KEY_KP_Subtract, "out" },
    { GDK_KEY_0, "reset" }, { GDK_KEY_KP_0, "reset" }, { GDK_KEY_Home, "reset" },
    { GDK_KEY_Left, "left" }, { GDK_KEY_Right, "right" },
  };

  object_class->dispose = dlen_trajectory_chart_dispose;
  object_class->finalize = dlen_trajectory_chart_finalize;
  object_class->get_property = dlen_trajectory_chart_get_property;
  widget_class->snapshot = dlen_trajectory_chart_snapshot;
  widget_class->measure = dlen_trajectory_chart_measure;
  widget_class->css_changed = dlen_trajectory_chart_css_changed;
  widget_class->system_setting_changed = dlen_trajectory_chart_system_setting_changed;

  props[PROP_ZOOMED] = g_param_spec_boolean ("zoomed", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
  signals[SIGNAL_HOVER_CHANGED] = g_signal_new ("hover-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                                NULL, NULL, G_TYPE_NONE, 0);

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    gtk_widget_class_add_binding (widget_class, keys[i].key, 0, key_zoom, "s", keys[i].what);
  gtk_widget_class_set_css_name (widget_class, "dlen-trajectory-chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
dlen_trajectory_chart_init (DlenTrajectoryChart *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *scroll, *motion;
  GtkGesture *drag, *pinch, *click;

  self->plot = dlen_trajectory_plot_new ();
  gtk_widget_add_css_class (widget, "chart");
  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_has_tooltip (widget, TRUE);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (widget, scroll);
  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, motion);
  drag = gtk_gesture_drag_new ();
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (drag));
  pinch = gtk_gesture_zoom_new ();
  g_signal_connect (pinch, "begin", G_CALLBACK (on_pinch_begin), self);
  g_signal_connect (pinch, "scale-changed", G_CALLBACK (on_pinch_scale), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (pinch));
  click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (click));
}

GtkWidget *
dlen_trajectory_chart_new (void)
{
  return g_object_new (DLEN_TYPE_TRAJECTORY_CHART, NULL);
}
