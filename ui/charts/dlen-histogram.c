/* dlen-histogram.c: the histogram: bin counts kept apart from the drawing, the drawing cached
 * as a render node until the counts, the size or the style change. */
#include <math.h>
#include "dlen-histogram.h"

#define PAD 12.0

struct _DlenHistogram {
  GtkWidget parent_instance;

  /* Owned */
  double lo, hi;
  guint n_bins;
  guint64 *counts[2];          /* n_bins each, NULL without the series */
  char *label[2];
  double marker;
  char *marker_label;
  int selected, hover;
  char *title, *x_label, *singular, *plural;
  GskRenderNode *cache;
  int cache_width, cache_height;
  /* The bar area of the last draw, for mapping the pointer to a bin. */
  double plot_l, plot_r, plot_t, plot_b;
};

enum { SIGNAL_BIN_CLICKED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DlenHistogram, dlen_histogram, GTK_TYPE_WIDGET)

static void
invalidate (DlenHistogram *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
dlen_histogram_set_bins (DlenHistogram *self, double lo, double hi, guint n_bins)
{
  g_return_if_fail (DLEN_IS_HISTOGRAM (self));
  g_return_if_fail (hi > lo && n_bins > 0);
  self->lo = lo;
  self->hi = hi;
  self->n_bins = n_bins;
  for (int s = 0; s < 2; s++)
    g_clear_pointer (&self->counts[s], g_free);
  self->selected = self->hover = -1;
  invalidate (self);
}

int
dlen_histogram_bin_of (DlenHistogram *self, double v)
{
  int b;
  if (isnan (v))
    return -1;
  b = (int) floor ((v - self->lo) / (self->hi - self->lo) * self->n_bins);
  return CLAMP (b, 0, (int) self->n_bins - 1);
}

void
dlen_histogram_set_values (DlenHistogram *self, guint series, const double *values, gsize n, const char *label)
{
  g_return_if_fail (DLEN_IS_HISTOGRAM (self));
  g_return_if_fail (series < 2);
  g_clear_pointer (&self->counts[series], g_free);
  g_free (self->label[series]);
  self->label[series] = g_strdup (label);
  if (n > 0)
    {
      self->counts[series] = g_new0 (guint64, self->n_bins);
      for (gsize i = 0; i < n; i++)
        {
          int b = dlen_histogram_bin_of (self, values[i]);
          if (b >= 0)
            self->counts[series][b]++;
        }
    }
  invalidate (self);
}

guint dlen_histogram_get_n_bins (DlenHistogram *self) { return self->n_bins; }

guint64
dlen_histogram_get_count (DlenHistogram *self, guint series, guint bin)
{
  g_return_val_if_fail (DLEN_IS_HISTOGRAM (self), 0);
  return series < 2 && self->counts[series] && bin < self->n_bins ? self->counts[series][bin] : 0;
}

void
dlen_histogram_set_marker (DlenHistogram *self, double value, const char *label)
{
  g_return_if_fail (DLEN_IS_HISTOGRAM (self));
  self->marker = value;
  g_free (self->marker_label);
  self->marker_label = g_strdup (label);
  invalidate (self);
}

void
dlen_histogram_set_selected_bin (DlenHistogram *self, int bin)
{
  g_return_if_fail (DLEN_IS_HISTOGRAM (self));
  self->selected = bin >= 0 && bin < (int) self->n_bins ? bin : -1;
  invalidate (self);
}

int dlen_histogram_get_selected_bin (DlenHistogram *self) { return self->selected; }

static void
set_text (DlenHistogram *self, char **field, const char *text)
{
  g_free (*field);
  *field = g_strdup (text);
  invalidate (self);
}

void
dlen_histogram_set_title (DlenHistogram *self, const char *t)
{
  set_text (self, &self->title, t);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, t ? t : "", -1);
}

void dlen_histogram_set_x_label (DlenHistogram *self, const char *t) { set_text (self, &self->x_label, t); }

void
dlen_histogram_set_unit (DlenHistogram *self, const char *singular, const char *plural)
{
  set_text (self, &self->singular, singular);
  set_text (self, &self->plural, plural);
}

/* ---- Drawing ---------------------------------------------------------------------------------- */

static void
draw_with_style (DlenHistogram *self, cairo_t *cr, int width, int height, const DlenChartStyle *st)
{
  double left = PAD, right = width - PAD, top = PAD, bottom = height - PAD, w, h, tick_w = 0, tick_h = 0;
  double pl, pr, pt, pb, ystep, ymax = 0, bw;
  guint64 max_count = 0;
  gboolean any = self->counts[0] || self->counts[1];
  int ydec;

  if (width < 60 || height < 60)
    return;
  cairo_save (cr);
  if (self->title && *self->title)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, self->title, 1.0, TRUE);
      pango_layout_set_width (l, (int) ((right - left) * PANGO_SCALE));
      pango_layout_set_ellipsize (l, PANGO_ELLIPSIZE_END);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st->fg, 1);
      cairo_move_to (cr, left, top);
      pango_cairo_show_layout (cr, l);
      top += h + 6;
    }
  /* Legend only when comparing. */
  if (self->counts[0] && self->counts[1])
    {
      double lx = left;
      for (int s = 0; s < 2; s++)
        {
          g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, self->label[s] ? self->label[s] : "", 0.85, FALSE);
          dlen_chart_layout_size (l, &w, &h);
          dlen_chart_set_colour (cr, &st->palette[s], s ? 1 : 0.75);
          cairo_rectangle (cr, lx + 0.5, top + h / 2 - 5 + 0.5, 14, 10);
          if (s)
            {
              cairo_set_line_width (cr, 2);
              cairo_stroke (cr);
            }
          else
            cairo_fill (cr);
          dlen_chart_set_colour (cr, &st->fg, 0.85);
          cairo_move_to (cr, lx + 20, top);
          pango_cairo_show_layout (cr, l);
          lx += 20 + w + 16;
        }
      top += h + 6;
    }

  for (int s = 0; s < 2; s++)
    for (guint b = 0; self->counts[s] && b < self->n_bins; b++)
      max_count = MAX (max_count, self->counts[s][b]);
  ystep = dlen_chart_nice_step (MAX (max_count, 1), 4);
  ystep = MAX (1, round (ystep));
  ymax = ceil (MAX (max_count, 1) / ystep) * ystep;
  ydec = 0;
  for (double v = 0; v <= ymax + ystep * 1e-6; v += ystep)
    {
      char buf[32];
      g_autoptr (PangoLayout) l = NULL;
      g_snprintf (buf, sizeof buf, "%.*f", ydec, v);
      l = dlen_chart_layout (cr, st, buf, 0.8, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      tick_w = MAX (tick_w, w);
      tick_h = MAX (tick_h, h);
    }
  pl = left + tick_w + 6;
  pr = right - 4;
  pt = top + tick_h / 2;
  pb = bottom - tick_h - 4;
  if (self->x_label && *self->x_label)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, self->x_label, 0.85, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      pb -= h + 2;
      dlen_chart_set_colour (cr, &st->fg, 0.8);
      cairo_move_to (cr, (pl + pr - w) / 2, bottom - h);
      pango_cairo_show_layout (cr, l);
    }
  if (pr - pl < 30 || pb - pt < 20)
    {
      cairo_restore (cr);
      return;
    }
  self->plot_l = pl;
  self->plot_r = pr;
  self->plot_t = pt;
  self->plot_b = pb;

#define PX(v) (pl + ((v) - self->lo) / (self->hi - self->lo) * (pr - pl))
#define PY(c) (pb - (c) / ymax * (pb - pt))
  cairo_set_line_width (cr, 1);
  for (double v = 0; v <= ymax + ystep * 1e-6; v += ystep)
    {
      char buf[32];
      double py = round (PY (v)) + 0.5;
      g_autoptr (PangoLayout) l = NULL;
      dlen_chart_set_colour (cr, &st->fg, 0.1);
      cairo_move_to (cr, pl, py);
      cairo_line_to (cr, pr, py);
      cairo_stroke (cr);
      g_snprintf (buf, sizeof buf, "%.*f", ydec, v);
      l = dlen_chart_layout (cr, st, buf, 0.8, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st->fg, 0.7);
      cairo_move_to (cr, pl - 6 - w, py - h / 2);
      pango_cairo_show_layout (cr, l);
    }
  {
    double xstep = dlen_chart_nice_step (self->hi - self->lo, MAX (2, (int) ((pr - pl) / 60)));
    int xdec = dlen_chart_step_decimals (xstep);
    for (double v = ceil (self->lo / xstep - 1e-9) * xstep; v <= self->hi + xstep * 1e-6; v += xstep)
      {
        char buf[32];
        g_autoptr (PangoLayout) l = NULL;
        g_snprintf (buf, sizeof buf, "%.*f", xdec, fabs (v) < 1e-12 ? 0 : v);
        l = dlen_chart_layout (cr, st, buf, 0.8, FALSE);
        dlen_chart_layout_size (l, &w, &h);
        dlen_chart_set_colour (cr, &st->fg, 0.7);
        cairo_move_to (cr, CLAMP (PX (v) - w / 2, pl - tick_w, right - w), pb + 4);
        pango_cairo_show_layout (cr, l);
      }
  }

  /* Bars, the selected and hovered bins stronger; then the comparison as an outline. */
  bw = (pr - pl) / self->n_bins;
  for (guint b = 0; self->counts[0] && b < self->n_bins; b++)
    {
      double x = pl + b * bw, y = PY ((double) self->counts[0][b]);
      double alpha = (int) b == self->selected ? 1.0 : (int) b == self->hover ? 0.9 : self->selected >= 0 ? 0.45 : 0.7;
      if (self->counts[0][b] == 0)
        continue;
      dlen_chart_set_colour (cr, &st->palette[0], alpha);
      cairo_rectangle (cr, x + 1, y, MAX (bw - 2, 1), pb - y);
      cairo_fill (cr);
    }
  if (self->counts[1])
    {
      cairo_save (cr);
      cairo_set_line_width (cr, 2);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
      dlen_chart_set_colour (cr, &st->palette[1], 1);
      cairo_move_to (cr, pl, pb);
      for (guint b = 0; b < self->n_bins; b++)
        {
          double y = PY ((double) self->counts[1][b]);
          cairo_line_to (cr, pl + b * bw, y);
          cairo_line_to (cr, pl + (b + 1) * bw, y);
        }
      cairo_line_to (cr, pr, pb);
      cairo_stroke (cr);
      cairo_restore (cr);
    }
  dlen_chart_set_colour (cr, &st->fg, 0.45);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, round (pl) + 0.5, pt);
  cairo_line_to (cr, round (pl) + 0.5, round (pb) + 0.5);
  cairo_line_to (cr, pr, round (pb) + 0.5);
  cairo_stroke (cr);

  if (!isnan (self->marker))
    {
      static const double dash[] = { 4, 3 };
      double x = round (PX (CLAMP (self->marker, self->lo, self->hi))) + 0.5;
      cairo_save (cr);
      cairo_set_dash (cr, dash, 2, 0);
      cairo_set_line_width (cr, 1.5);
      dlen_chart_set_colour (cr, &st->fg, 0.85);
      cairo_move_to (cr, x, pt);
      cairo_line_to (cr, x, pb);
      cairo_stroke (cr);
      cairo_restore (cr);
      if (self->marker_label && *self->marker_label)
        {
          g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, self->marker_label, 0.8, FALSE);
          dlen_chart_layout_size (l, &w, &h);
          dlen_chart_set_colour (cr, &st->bg, 0.85);
          {
            double lx = x + 4 + w > pr ? x - 4 - w : x + 4;
            cairo_rectangle (cr, lx - 2, pt, w + 4, h);
            cairo_fill (cr);
            dlen_chart_set_colour (cr, &st->fg, 0.9);
            cairo_move_to (cr, lx, pt);
            pango_cairo_show_layout (cr, l);
          }
        }
    }
  if (!any)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, st, "No users yet", 0.9, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st->fg, 0.55);
      cairo_move_to (cr, (pl + pr - w) / 2, (pt + pb - h) / 2);
      pango_cairo_show_layout (cr, l);
    }
#undef PX
#undef PY
  cairo_restore (cr);
}

void
dlen_histogram_draw (DlenHistogram *self, cairo_t *cr, int width, int height)
{
  DlenChartStyle st;
  g_return_if_fail (DLEN_IS_HISTOGRAM (self));
  dlen_chart_style_init_from_widget (&st, GTK_WIDGET (self));
  draw_with_style (self, cr, width, height, &st);
  dlen_chart_style_clear (&st);
}

static void
export_draw (gpointer data, cairo_t *cr, int width, int height)
{
  DlenHistogram *self = data;
  double l = self->plot_l, r = self->plot_r, t = self->plot_t, b = self->plot_b;
  int hover = self->hover;
  self->hover = -1;
  dlen_histogram_draw (self, cr, width, height);
  /* Keep the widget's own pointer mapping. */
  self->hover = hover;
  self->plot_l = l;
  self->plot_r = r;
  self->plot_t = t;
  self->plot_b = b;
}

gboolean
dlen_histogram_export (DlenHistogram *self, const char *path, GError **error)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  DlenChartStyle st;
  gboolean ok;
  g_return_val_if_fail (DLEN_IS_HISTOGRAM (self), FALSE);
  if (w < 100 || h < 100)
    {
      w = 640;
      h = 320;
    }
  dlen_chart_style_init_from_widget (&st, GTK_WIDGET (self));
  ok = dlen_chart_export (self, export_draw, &st.bg, path, w, h, error);
  dlen_chart_style_clear (&st);
  return ok;
}

/* ---- Widget ----------------------------------------------------------------------------------- */

static int
bin_at (DlenHistogram *self, double x, double y)
{
  int b;
  if (self->plot_r <= self->plot_l || x < self->plot_l || x >= self->plot_r || y < self->plot_t - 4 || y > self->plot_b + 4)
    return -1;
  b = (int) floor ((x - self->plot_l) / (self->plot_r - self->plot_l) * self->n_bins);
  return CLAMP (b, 0, (int) self->n_bins - 1);
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, DlenHistogram *self)
{
  int b = bin_at (self, x, y);
  if (b != self->hover)
    {
      self->hover = b;
      invalidate (self);
    }
}

static void
on_leave (GtkEventControllerMotion *controller, DlenHistogram *self)
{
  if (self->hover != -1)
    {
      self->hover = -1;
      invalidate (self);
    }
}

static void
on_released (GtkGestureClick *gesture, int n_press, double x, double y, DlenHistogram *self)
{
  g_signal_emit (self, signals[SIGNAL_BIN_CLICKED], 0, bin_at (self, x, y));
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  DlenHistogram *self = DLEN_HISTOGRAM (widget);
  int b = bin_at (self, x, y);
  double width = (self->hi - self->lo) / MAX (self->n_bins, 1);
  g_autoptr (GString) text = NULL;
  if (b < 0 || !self->counts[0])
    return FALSE;
  text = g_string_new (NULL);
  g_string_append_printf (text, "Mean %.2f–%.2f", self->lo + b * width, self->lo + (b + 1) * width);
  for (int s = 0; s < 2; s++)
    if (self->counts[s])
      {
        guint64 c = self->counts[s][b];
        g_autofree char *label = g_markup_escape_text (self->label[s] ? self->label[s] : "", -1);
        g_string_append_printf (text, "\n<b>%" G_GUINT64_FORMAT "</b> %s%s%s%s", c,
                                c == 1 ? (self->singular ? self->singular : "value") : (self->plural ? self->plural : "values"),
                                self->counts[1] ? " (" : "", self->counts[1] ? label : "", self->counts[1] ? ")" : "");
      }
  g_string_append (text, b == self->selected ? "\n<small>Click to show every user</small>" : "\n<small>Click to list only these</small>");
  gtk_tooltip_set_markup (tooltip, text->str);
  return TRUE;
}

static void
draw_chart (gpointer chart, cairo_t *cr, int width, int height)
{
  dlen_histogram_draw (chart, cr, width, height);
}

static void
dlen_histogram_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DlenHistogram *self = DLEN_HISTOGRAM (widget);
  dlen_chart_snapshot_cached (widget, snapshot, draw_chart, &self->cache, &self->cache_width, &self->cache_height);
}

static void
dlen_histogram_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                        int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 200 : 140;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 360 : 200;
}

static void
dlen_histogram_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (dlen_histogram_parent_class)->css_changed (widget, change);
  invalidate (DLEN_HISTOGRAM (widget));
}

static void
dlen_histogram_dispose (GObject *object)
{
  DlenHistogram *self = DLEN_HISTOGRAM (object);
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  G_OBJECT_CLASS (dlen_histogram_parent_class)->dispose (object);
}

static void
dlen_histogram_finalize (GObject *object)
{
  DlenHistogram *self = DLEN_HISTOGRAM (object);
  for (int s = 0; s < 2; s++)
    {
      g_free (self->counts[s]);
      g_free (self->label[s]);
    }
  g_free (self->marker_label);
  g_free (self->title);
  g_free (self->x_label);
  g_free (self->singular);
  g_free (self->plural);
  G_OBJECT_CLASS (dlen_histogram_parent_class)->finalize (object);
}

static void
dlen_histogram_class_init (DlenHistogramClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = dlen_histogram_dispose;
  object_class->finalize = dlen_histogram_finalize;
  widget_class->snapshot = dlen_histogram_snapshot;
  widget_class->measure = dlen_histogram_measure;
  widget_class->css_changed = dlen_histogram_css_changed;
  /* (int bin): -1 when the click was outside the bars. */
  signals[SIGNAL_BIN_CLICKED] = g_signal_new ("bin-clicked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                              NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  gtk_widget_class_set_css_name (widget_class, "dlen-histogram");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
dlen_histogram_init (DlenHistogram *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkGesture *click = gtk_gesture_click_new ();
  self->lo = 0;
  self->hi = 1;
  self->n_bins = 20;
  self->marker = NAN;
  self->selected = self->hover = -1;
  gtk_widget_add_css_class (GTK_WIDGET (self), "chart");
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  g_signal_connect (click, "released", G_CALLBACK (on_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}

GtkWidget *
dlen_histogram_new (void)
{
  return g_object_new (DLEN_TYPE_HISTOGRAM, NULL);
}
