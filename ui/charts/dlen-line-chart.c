/* dlen-line-chart.c: the line chart: layout, ticks and legend computed on each draw, the
 * drawing cached as a render node until the data, the size or the style changes. */
#include <math.h>
#include "dlen-chart-style.h"
#include "dlen-line-chart.h"

#define PAD 12.0

struct _DlenLineChart {
  GtkWidget parent_instance;

  /* Owned */
  DlenSeriesModel *model;
  gulong changed_id;
  char *title, *x_label, *y_label, *placeholder;
  double x_min, x_max;
  gboolean x_integer;
  GskRenderNode *cache;
  int cache_width, cache_height;
};

enum { PROP_0, PROP_MODEL, PROP_TITLE, PROP_X_LABEL, PROP_Y_LABEL, PROP_PLACEHOLDER, PROP_X_INTEGER, N_PROPS };
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (DlenLineChart, dlen_line_chart, GTK_TYPE_WIDGET)

static void
invalidate (DlenLineChart *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- Ticks ----------------------------------------------------------------------------------- */

/* A round step; at least 1 and whole for an integer axis. */
static double
nice_step (double range, int target, gboolean integer)
{
  double step = dlen_chart_nice_step (range, target);
  return integer ? MAX (1, round (step)) : step;
}

static void
format_tick (char *buf, gsize size, double v, int decimals)
{
  if (fabs (v) < 1e-12)
    v = 0;
  g_snprintf (buf, size, "%.*f", decimals, v);
}

/* ---- Drawing --------------------------------------------------------------------------------- */

static void
apply_line_style (cairo_t *cr, DlenSeriesStyle style)
{
  static const double dash[] = { 6, 4 };
  cairo_set_line_width (cr, style & DLEN_SERIES_THIN ? 1.5 : 2.25);
  cairo_set_dash (cr, dash, style & DLEN_SERIES_DASHED ? 2 : 0, 0);
}

static void
draw_swatch (cairo_t *cr, const GdkRGBA *colour, DlenSeriesStyle style, double x, double y, double w)
{
  double alpha = style & DLEN_SERIES_THIN ? 0.75 : 1.0;
  cairo_save (cr);
  dlen_chart_set_colour (cr, colour, alpha);
  if (style & DLEN_SERIES_LINE || !(style & DLEN_SERIES_MARKERS))
    {
      apply_line_style (cr, style);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + w, y);
      cairo_stroke (cr);
    }
  if (style & DLEN_SERIES_MARKERS)
    {
      cairo_arc (cr, x + w / 2, y, 3.5, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  cairo_restore (cr);
}

void
dlen_line_chart_draw (DlenLineChart *self, cairo_t *cr, int width, int height)
{
  DlenChartStyle st;
  guint n_series;
  double top = PAD, left = PAD, right = width - PAD, bottom = height - PAD;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1, xstep, ystep, w, h;
  double tick_w = 0, tick_h = 0, plot_l, plot_r, plot_t, plot_b;
  gboolean has_data;
  int xdec, ydec;
  char buf[64];

  g_return_if_fail (DLEN_IS_LINE_CHART (self));
  if (width < 40 || height < 40)
    return;
  dlen_chart_style_init_from_widget (&st, GTK_WIDGET (self));
  n_series = self->model ? dlen_series_model_get_n_series (self->model) : 0;
  cairo_save (cr);

  /* Title. */
  if (self->title && *self->title)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->title, 1.0, TRUE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 1);
      cairo_move_to (cr, left, top);
      pango_cairo_show_layout (cr, l);
      top += h + 6;
    }

  /* Legend: entries flow left to right below the title, wrapping. */
  if (n_series > 0)
    {
      double lx = left, line_h = 0;
      for (guint i = 0; i < n_series; i++)
        {
          DlenSeriesStyle style = dlen_series_model_get_style (self->model, i);
          g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, dlen_series_model_get_name (self->model, i), 0.85, FALSE);
          double entry;
          dlen_chart_layout_size (l, &w, &h);
          entry = 22 + w + 16;
          if (lx > left && lx + entry - 16 > right)
            {
              lx = left;
              top += line_h + 4;
              line_h = 0;
            }
          draw_swatch (cr, &st.palette[dlen_series_model_get_colour (self->model, i) % DLEN_CHART_N_PALETTE], style, lx,
                       top + h / 2, 18);
          dlen_chart_set_colour (cr, &st.fg, 0.85);
          cairo_move_to (cr, lx + 22, top);
          pango_cairo_show_layout (cr, l);
          lx += entry;
          line_h = MAX (line_h, h);
        }
      top += line_h + 8;
    }

  /* Ranges. */
  has_data = self->model && dlen_series_model_get_bounds (self->model, &x0, &x1, &y0, &y1);
  if (!has_data)
    {
      x0 = 0;
      x1 = 1;
      y0 = 0;
      y1 = 1;
    }
  if (!isnan (self->x_min))
    x0 = has_data ? MIN (x0, self->x_min) : self->x_min;
  if (!isnan (self->x_max))
    x1 = has_data ? MAX (x1, self->x_max) : self->x_max;
  if (x1 - x0 < 1e-12)
    {
      x0 -= self->x_integer ? 1 : 0.5;
      x1 += self->x_integer ? 1 : 0.5;
    }
  if (y1 - y0 < 1e-12)
    {
      double pad = fabs (y0) > 1e-9 ? fabs (y0) * 0.05 : 0.5;
      y0 -= pad;
      y1 += pad;
    }
  ystep = nice_step (y1 - y0, 5, FALSE);
  y0 = floor (y0 / ystep + 1e-9) * ystep;
  y1 = ceil (y1 / ystep - 1e-9) * ystep;
  if (y1 - y0 < ystep)
    y1 = y0 + ystep;
  ydec = dlen_chart_step_decimals (ystep);

  /* Margins from the widest y tick label and the axis labels. */
  for (double v = y0; v <= y1 + ystep * 1e-6; v += ystep)
    {
      g_autoptr (PangoLayout) l = NULL;
      format_tick (buf, sizeof buf, v, ydec);
      l = dlen_chart_layout (cr, &st, buf, 0.8, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      tick_w = MAX (tick_w, w);
      tick_h = MAX (tick_h, h);
    }
  plot_l = left + tick_w + 6;
  if (self->y_label && *self->y_label)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->y_label, 0.85, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      plot_l += h + 4;
    }
  plot_b = bottom - tick_h - 4;
  if (self->x_label && *self->x_label)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->x_label, 0.85, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      plot_b -= h + 2;
    }
  plot_t = top + tick_h / 2;
  plot_r = right - 8;
  if (plot_r - plot_l < 20 || plot_b - plot_t < 20)
    {
      cairo_restore (cr);
      dlen_chart_style_clear (&st);
      return;
    }

#define PX(x) (plot_l + ((x) - x0) / (x1 - x0) * (plot_r - plot_l))
#define PY(y) (plot_b - ((y) - y0) / (y1 - y0) * (plot_b - plot_t))

  /* Grid and tick labels. */
  cairo_set_line_width (cr, 1);
  for (double v = y0; v <= y1 + ystep * 1e-6; v += ystep)
    {
      double py = round (PY (v)) + 0.5;
      g_autoptr (PangoLayout) l = NULL;
      dlen_chart_set_colour (cr, &st.fg, 0.12);
      cairo_move_to (cr, plot_l, py);
      cairo_line_to (cr, plot_r, py);
      cairo_stroke (cr);
      format_tick (buf, sizeof buf, v, ydec);
      l = dlen_chart_layout (cr, &st, buf, 0.8, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 0.7);
      cairo_move_to (cr, plot_l - 6 - w, py - h / 2);
      pango_cairo_show_layout (cr, l);
    }
  xstep = nice_step (x1 - x0, MAX (2, (int) ((plot_r - plot_l) / 70)), self->x_integer);
  xdec = self->x_integer ? 0 : dlen_chart_step_decimals (xstep);
  for (double v = ceil (x0 / xstep - 1e-9) * xstep; v <= x1 + xstep * 1e-6; v += xstep)
    {
      double px = round (PX (v)) + 0.5;
      g_autoptr (PangoLayout) l = NULL;
      dlen_chart_set_colour (cr, &st.fg, 0.12);
      cairo_move_to (cr, px, plot_t);
      cairo_line_to (cr, px, plot_b);
      cairo_stroke (cr);
      format_tick (buf, sizeof buf, v, xdec);
      l = dlen_chart_layout (cr, &st, buf, 0.8, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 0.7);
      cairo_move_to (cr, px - w / 2, plot_b + 4);
      pango_cairo_show_layout (cr, l);
    }

  /* Axes. */
  dlen_chart_set_colour (cr, &st.fg, 0.45);
  cairo_move_to (cr, round (plot_l) + 0.5, plot_t);
  cairo_line_to (cr, round (plot_l) + 0.5, round (plot_b) + 0.5);
  cairo_line_to (cr, plot_r, round (plot_b) + 0.5);
  cairo_stroke (cr);

  /* Axis labels. */
  if (self->x_label && *self->x_label)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->x_label, 0.85, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 0.8);
      cairo_move_to (cr, (plot_l + plot_r - w) / 2, bottom - h);
      pango_cairo_show_layout (cr, l);
    }
  if (self->y_label && *self->y_label)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->y_label, 0.85, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      cairo_save (cr);
      dlen_chart_set_colour (cr, &st.fg, 0.8);
      cairo_move_to (cr, left, (plot_t + plot_b + w) / 2);
      cairo_rotate (cr, -G_PI / 2);
      pango_cairo_show_layout (cr, l);
      cairo_restore (cr);
    }

  /* Series, clipped to the plot area. */
  cairo_save (cr);
  cairo_rectangle (cr, plot_l - 4, plot_t - 4, plot_r - plot_l + 8, plot_b - plot_t + 8);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  for (guint i = 0; i < n_series; i++)
    {
      guint n;
      const DlenPoint *pts = dlen_series_model_get_points (self->model, i, &n);
      DlenSeriesStyle style = dlen_series_model_get_style (self->model, i);
      const GdkRGBA *colour = &st.palette[dlen_series_model_get_colour (self->model, i) % DLEN_CHART_N_PALETTE];
      double alpha = style & DLEN_SERIES_THIN ? 0.75 : 1.0;
      gboolean pen_down = FALSE;
      dlen_chart_set_colour (cr, colour, alpha);
      if (style & DLEN_SERIES_LINE)
        {
          apply_line_style (cr, style);
          for (guint j = 0; j < n; j++)
            {
              if (!isfinite (pts[j].x) || !isfinite (pts[j].y))
                {
                  pen_down = FALSE;
                  continue;
                }
              if (pen_down)
                cairo_line_to (cr, PX (pts[j].x), PY (pts[j].y));
              else
                cairo_move_to (cr, PX (pts[j].x), PY (pts[j].y));
              pen_down = TRUE;
            }
          cairo_stroke (cr);
        }
      /* A lone point of a line series gets a dot too, or it would not show at all. */
      for (guint j = 0; j < n; j++)
        {
          gboolean lone;
          if (!isfinite (pts[j].x) || !isfinite (pts[j].y))
            continue;
          lone = (j == 0 || !isfinite (pts[j - 1].y)) && (j + 1 >= n || !isfinite (pts[j + 1].y));
          if (style & DLEN_SERIES_MARKERS || lone)
            {
              cairo_new_sub_path (cr);
              cairo_arc (cr, PX (pts[j].x), PY (pts[j].y), style & DLEN_SERIES_THIN ? 2.5 : 3.5, 0, 2 * G_PI);
              cairo_fill (cr);
            }
        }
    }
  cairo_restore (cr);

  if (!has_data && self->placeholder && *self->placeholder)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->placeholder, 0.95, FALSE);
      pango_layout_set_width (l, (int) ((plot_r - plot_l - 24) * PANGO_SCALE));
      pango_layout_set_alignment (l, PANGO_ALIGN_CENTER);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 0.55);
      cairo_move_to (cr, plot_l + 12, (plot_t + plot_b - h) / 2);
      pango_cairo_show_layout (cr, l);
    }
#undef PX
#undef PY
  cairo_restore (cr);
  dlen_chart_style_clear (&st);
}

/* ---- Widget ---------------------------------------------------------------------------------- */

static void
draw_chart (gpointer chart, cairo_t *cr, int width, int height)
{
  dlen_line_chart_draw (chart, cr, width, height);
}

static void
dlen_line_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DlenLineChart *self = DLEN_LINE_CHART (widget);
  dlen_chart_snapshot_cached (widget, snapshot, draw_chart, &self->cache, &self->cache_width, &self->cache_height);
}

static void
dlen_line_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                         int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 180;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 480 : 260;
}

static void
dlen_line_chart_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (dlen_line_chart_parent_class)->css_changed (widget, change);
  invalidate (DLEN_LINE_CHART (widget));
}

static void
dlen_line_chart_system_setting_changed (GtkWidget *widget, GtkSystemSetting setting)
{
  GTK_WIDGET_CLASS (dlen_line_chart_parent_class)->system_setting_changed (widget, setting);
  invalidate (DLEN_LINE_CHART (widget));
}

void
dlen_line_chart_set_model (DlenLineChart *self, DlenSeriesModel *model)
{
  g_return_if_fail (DLEN_IS_LINE_CHART (self));
  if (self->model == model)
    return;
  if (self->model)
    g_clear_signal_handler (&self->changed_id, self->model);
  g_set_object (&self->model, model);
  if (model)
    self->changed_id = g_signal_connect_swapped (model, "changed", G_CALLBACK (invalidate), self);
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MODEL]);
}

DlenSeriesModel *
dlen_line_chart_get_model (DlenLineChart *self)
{
  g_return_val_if_fail (DLEN_IS_LINE_CHART (self), NULL);
  return self->model;
}

static void
set_text (DlenLineChart *self, char **field, const char *text, guint prop)
{
  if (g_strcmp0 (*field, text) == 0)
    return;
  g_free (*field);
  *field = g_strdup (text);
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

void
dlen_line_chart_set_title (DlenLineChart *self, const char *t)
{
  set_text (self, &self->title, t, PROP_TITLE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, t ? t : "", -1);
}

void dlen_line_chart_set_x_label (DlenLineChart *self, const char *t) { set_text (self, &self->x_label, t, PROP_X_LABEL); }
void dlen_line_chart_set_y_label (DlenLineChart *self, const char *t) { set_text (self, &self->y_label, t, PROP_Y_LABEL); }
void dlen_line_chart_set_placeholder (DlenLineChart *self, const char *t) { set_text (self, &self->placeholder, t, PROP_PLACEHOLDER); }

void
dlen_line_chart_set_x_range (DlenLineChart *self, double x_min, double x_max)
{
  g_return_if_fail (DLEN_IS_LINE_CHART (self));
  self->x_min = x_min;
  self->x_max = x_max;
  invalidate (self);
}

void
dlen_line_chart_set_x_integer (DlenLineChart *self, gboolean integer)
{
  g_return_if_fail (DLEN_IS_LINE_CHART (self));
  integer = !!integer;
  if (self->x_integer == integer)
    return;
  self->x_integer = integer;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_X_INTEGER]);
}

gboolean
dlen_line_chart_export (DlenLineChart *self, const char *path, GError **error)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  DlenChartStyle st;
  gboolean ok;

  g_return_val_if_fail (DLEN_IS_LINE_CHART (self), FALSE);
  if (w < 40 || h < 40)
    {
      w = 800;
      h = 400;
    }
  dlen_chart_style_init_from_widget (&st, GTK_WIDGET (self));
  ok = dlen_chart_export (self, draw_chart, &st.bg, path, w, h, error);
  dlen_chart_style_clear (&st);
  return ok;
}

static void
dlen_line_chart_dispose (GObject *object)
{
  DlenLineChart *self = DLEN_LINE_CHART (object);
  if (self->model)
    g_clear_signal_handler (&self->changed_id, self->model);
  g_clear_object (&self->model);
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  G_OBJECT_CLASS (dlen_line_chart_parent_class)->dispose (object);
}

static void
dlen_line_chart_finalize (GObject *object)
{
  DlenLineChart *self = DLEN_LINE_CHART (object);
  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_label);
  g_free (self->placeholder);
  G_OBJECT_CLASS (dlen_line_chart_parent_class)->finalize (object);
}

static void
dlen_line_chart_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenLineChart *self = DLEN_LINE_CHART (object);
  switch (prop_id)
    {
    case PROP_MODEL: g_value_set_object (value, self->model); break;
    case PROP_TITLE: g_value_set_string (value, self->title); break;
    case PROP_X_LABEL: g_value_set_string (value, self->x_label); break;
    case PROP_Y_LABEL: g_value_set_string (value, self->y_label); break;
    case PROP_PLACEHOLDER: g_value_set_string (value, self->placeholder); break;
    case PROP_X_INTEGER: g_value_set_boolean (value, self->x_integer); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_line_chart_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DlenLineChart *self = DLEN_LINE_CHART (object);
  switch (prop_id)
    {
    case PROP_MODEL: dlen_line_chart_set_model (self, g_value_get_object (value)); break;
    case PROP_TITLE: dlen_line_chart_set_title (self, g_value_get_string (value)); break;
    case PROP_X_LABEL: dlen_line_chart_set_x_label (self, g_value_get_string (value)); break;
    case PROP_Y_LABEL: dlen_line_chart_set_y_label (self, g_value_get_string (value)); break;
    case PROP_PLACEHOLDER: dlen_line_chart_set_placeholder (self, g_value_get_string (value)); break;
    case PROP_X_INTEGER: dlen_line_chart_set_x_integer (self, g_value_get_boolean (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_line_chart_class_init (DlenLineChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = dlen_line_chart_dispose;
  object_class->finalize = dlen_line_chart_finalize;
  object_class->get_property = dlen_line_chart_get_property;
  object_class->set_property = dlen_line_chart_set_property;
  widget_class->snapshot = dlen_line_chart_snapshot;
  widget_class->measure = dlen_line_chart_measure;
  widget_class->css_changed = dlen_line_chart_css_changed;
  widget_class->system_setting_changed = dlen_line_chart_system_setting_changed;

  props[PROP_MODEL] = g_param_spec_object ("model", NULL, NULL, DLEN_TYPE_SERIES_MODEL, rw);
  props[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, rw);
  props[PROP_X_LABEL] = g_param_spec_string ("x-label", NULL, NULL, NULL, rw);
  props[PROP_Y_LABEL] = g_param_spec_string ("y-label", NULL, NULL, NULL, rw);
  props[PROP_PLACEHOLDER] = g_param_spec_string ("placeholder", NULL, NULL, NULL, rw);
  props[PROP_X_INTEGER] = g_param_spec_boolean ("x-integer", NULL, NULL, FALSE, rw);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_css_name (widget_class, "dlen-line-chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
dlen_line_chart_init (DlenLineChart *self)
{
  self->x_min = NAN;
  self->x_max = NAN;
  gtk_widget_add_css_class (GTK_WIDGET (self), "chart");
}

GtkWidget *
dlen_line_chart_new (void)
{
  return g_object_new (DLEN_TYPE_LINE_CHART, NULL);
}
