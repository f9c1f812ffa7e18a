/* dlen-line-chart.c: the line chart: layout, ticks and legend computed on each draw, the
 * drawing cached as a render node until the data, the size or the style changes. */
#include <math.h>
#include <adwaita.h>
#include <cairo-svg.h>
#include "dlen-line-chart.h"

#define PAD 12.0
#define N_PALETTE 6

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

/* Used when the style sheet lacks the named colours (e.g. a test without the app's CSS). */
static const GdkRGBA fallback_palette[N_PALETTE] = {
  { 0.208, 0.518, 0.894, 1 }, { 0.902, 0.380, 0.000, 1 }, { 0.180, 0.761, 0.494, 1 },
  { 0.753, 0.380, 0.796, 1 }, { 0.961, 0.761, 0.067, 1 }, { 0.596, 0.416, 0.267, 1 },
};

static void
invalidate (DlenLineChart *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- Style --------------------------------------------------------------------------------- */

typedef struct {
  GdkRGBA fg;
  GdkRGBA palette[N_PALETTE];
  const PangoFontDescription *font;
} Style;

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static void
get_style (DlenLineChart *self, Style *st)
{
  GtkStyleContext *ctx = gtk_widget_get_style_context (GTK_WIDGET (self));
  gtk_style_context_get_color (ctx, &st->fg);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  for (guint i = 0; i < N_PALETTE; i++)
    {
      char name[32];
      g_snprintf (name, sizeof name, "dlen_series_%u_dark", i + 1);
      if (dark && gtk_style_context_lookup_color (ctx, name, &st->palette[i]))
        continue;
      g_snprintf (name, sizeof name, "dlen_series_%u", i + 1);
      if (!gtk_style_context_lookup_color (ctx, name, &st->palette[i]))
        st->palette[i] = fallback_palette[i];
    }
  st->font = pango_context_get_font_description (gtk_widget_get_pango_context (GTK_WIDGET (self)));
}

static GdkRGBA
lookup_background (DlenLineChart *self)
{
  GdkRGBA bg = { 1, 1, 1, 1 };
  GtkStyleContext *ctx = gtk_widget_get_style_context (GTK_WIDGET (self));
  if (!gtk_style_context_lookup_color (ctx, "view_bg_color", &bg))
    bg = (GdkRGBA) { 1, 1, 1, 1 };
  return bg;
}
G_GNUC_END_IGNORE_DEPRECATIONS

static void
set_colour (cairo_t *cr, const GdkRGBA *c, double alpha)
{
  cairo_set_source_rgba (cr, c->red, c->green, c->blue, c->alpha * alpha);
}

static PangoLayout *
make_layout (cairo_t *cr, const Style *st, const char *text, double scale, gboolean bold)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font = st->font ? pango_font_description_copy (st->font) : pango_font_description_from_string ("Sans 10");
  int size = pango_font_description_get_size (font);
  if (size <= 0)
    size = 10 * PANGO_SCALE;
  if (pango_font_description_get_size_is_absolute (font))
    pango_font_description_set_absolute_size (font, size * scale);
  else
    pango_font_description_set_size (font, (int) (size * scale));
  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  pango_layout_set_text (layout, text, -1);
  return layout;
}

static void
layout_size (PangoLayout *layout, double *w, double *h)
{
  int iw, ih;
  pango_layout_get_pixel_size (layout, &iw, &ih);
  *w = iw;
  *h = ih;
}

/* ---- Ticks ----------------------------------------------------------------------------------- */

static double
nice_step (double range, int target, gboolean integer)
{
  double raw = range / MAX (target, 1), mag, norm, step;
  if (!(raw > 0))
    return 1;
  mag = pow (10, floor (log10 (raw)));
  norm = raw / mag;
  step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  return integer ? MAX (1, round (step)) : step;
}

static int
step_decimals (double step)
{
  int d = (int) -floor (log10 (step) + 1e-9);
  return CLAMP (d, 0, 6);
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
  set_colour (cr, colour, alpha);
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
  Style st;
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
  get_style (self, &st);
  n_series = self->model ? dlen_series_model_get_n_series (self->model) : 0;
  cairo_save (cr);

  /* Title. */
  if (self->title && *self->title)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->title, 1.0, TRUE);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 1);
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
          g_autoptr (PangoLayout) l = make_layout (cr, &st, dlen_series_model_get_name (self->model, i), 0.85, FALSE);
          double entry;
          layout_size (l, &w, &h);
          entry = 22 + w + 16;
          if (lx > left && lx + entry - 16 > right)
            {
              lx = left;
              top += line_h + 4;
              line_h = 0;
            }
          draw_swatch (cr, &st.palette[dlen_series_model_get_colour (self->model, i) % N_PALETTE], style, lx,
                       top + h / 2, 18);
          set_colour (cr, &st.fg, 0.85);
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
  ydec = step_decimals (ystep);

  /* Margins from the widest y tick label and the axis labels. */
  for (double v = y0; v <= y1 + ystep * 1e-6; v += ystep)
    {
      g_autoptr (PangoLayout) l = NULL;
      format_tick (buf, sizeof buf, v, ydec);
      l = make_layout (cr, &st, buf, 0.8, FALSE);
      layout_size (l, &w, &h);
      tick_w = MAX (tick_w, w);
      tick_h = MAX (tick_h, h);
    }
  plot_l = left + tick_w + 6;
  if (self->y_label && *self->y_label)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->y_label, 0.85, FALSE);
      layout_size (l, &w, &h);
      plot_l += h + 4;
    }
  plot_b = bottom - tick_h - 4;
  if (self->x_label && *self->x_label)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->x_label, 0.85, FALSE);
      layout_size (l, &w, &h);
      plot_b -= h + 2;
    }
  plot_t = top + tick_h / 2;
  plot_r = right - 8;
  if (plot_r - plot_l < 20 || plot_b - plot_t < 20)
    {
      cairo_restore (cr);
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
      set_colour (cr, &st.fg, 0.12);
      cairo_move_to (cr, plot_l, py);
      cairo_line_to (cr, plot_r, py);
      cairo_stroke (cr);
      format_tick (buf, sizeof buf, v, ydec);
      l = make_layout (cr, &st, buf, 0.8, FALSE);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 0.7);
      cairo_move_to (cr, plot_l - 6 - w, py - h / 2);
      pango_cairo_show_layout (cr, l);
    }
  xstep = nice_step (x1 - x0, MAX (2, (int) ((plot_r - plot_l) / 70)), self->x_integer);
  xdec = self->x_integer ? 0 : step_decimals (xstep);
  for (double v = ceil (x0 / xstep - 1e-9) * xstep; v <= x1 + xstep * 1e-6; v += xstep)
    {
      double px = round (PX (v)) + 0.5;
      g_autoptr (PangoLayout) l = NULL;
      set_colour (cr, &st.fg, 0.12);
      cairo_move_to (cr, px, plot_t);
      cairo_line_to (cr, px, plot_b);
      cairo_stroke (cr);
      format_tick (buf, sizeof buf, v, xdec);
      l = make_layout (cr, &st, buf, 0.8, FALSE);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 0.7);
      cairo_move_to (cr, px - w / 2, plot_b + 4);
      pango_cairo_show_layout (cr, l);
    }

  /* Axes. */
  set_colour (cr, &st.fg, 0.45);
  cairo_move_to (cr, round (plot_l) + 0.5, plot_t);
  cairo_line_to (cr, round (plot_l) + 0.5, round (plot_b) + 0.5);
  cairo_line_to (cr, plot_r, round (plot_b) + 0.5);
  cairo_stroke (cr);

  /* Axis labels. */
  if (self->x_label && *self->x_label)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->x_label, 0.85, FALSE);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 0.8);
      cairo_move_to (cr, (plot_l + plot_r - w) / 2, bottom - h);
      pango_cairo_show_layout (cr, l);
    }
  if (self->y_label && *self->y_label)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->y_label, 0.85, FALSE);
      layout_size (l, &w, &h);
      cairo_save (cr);
      set_colour (cr, &st.fg, 0.8);
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
      const GdkRGBA *colour = &st.palette[dlen_series_model_get_colour (self->model, i) % N_PALETTE];
      double alpha = style & DLEN_SERIES_THIN ? 0.75 : 1.0;
      gboolean pen_down = FALSE;
      set_colour (cr, colour, alpha);
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
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->placeholder, 0.95, FALSE);
      pango_layout_set_width (l, (int) ((plot_r - plot_l - 24) * PANGO_SCALE));
      pango_layout_set_alignment (l, PANGO_ALIGN_CENTER);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 0.55);
      cairo_move_to (cr, plot_l + 12, (plot_t + plot_b - h) / 2);
      pango_cairo_show_layout (cr, l);
    }
#undef PX
#undef PY
  cairo_restore (cr);
}

/* ---- Widget ---------------------------------------------------------------------------------- */

static void
dlen_line_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DlenLineChart *self = DLEN_LINE_CHART (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  if (w <= 0 || h <= 0)
    return;
  if (!self->cache || self->cache_width != w || self->cache_height != h)
    {
      GtkSnapshot *sub = gtk_snapshot_new ();
      cairo_t *cr = gtk_snapshot_append_cairo (sub, &GRAPHENE_RECT_INIT (0, 0, w, h));
      dlen_line_chart_draw (self, cr, w, h);
      cairo_destroy (cr);
      g_clear_pointer (&self->cache, gsk_render_node_unref);
      self->cache = gtk_snapshot_free_to_node (sub);
      self->cache_width = w;
      self->cache_height = h;
    }
  if (self->cache)
    gtk_snapshot_append_node (snapshot, self->cache);
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
  g_autofree char *lower = g_ascii_strdown (path, -1);
  gboolean svg = g_str_has_suffix (lower, ".svg"), png = g_str_has_suffix (lower, ".png");
  double scale = png ? 2 : 1;
  GdkRGBA bg = lookup_background (self);
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  g_return_val_if_fail (DLEN_IS_LINE_CHART (self), FALSE);
  if (!svg && !png)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: choose a file name ending in .png or .svg", path);
      return FALSE;
    }
  if (w < 40 || h < 40)
    {
      w = 800;
      h = 400;
    }
  surface = svg ? cairo_svg_surface_create (path, w, h)
                : cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) (w * scale), (int) (h * scale));
  cr = cairo_create (surface);
  cairo_scale (cr, scale, scale);
  set_colour (cr, &bg, 1);
  cairo_paint (cr);
  dlen_line_chart_draw (self, cr, w, h);
  cairo_destroy (cr);
  if (png)
    status = cairo_surface_write_to_png (surface, path);
  else
    {
      cairo_surface_finish (surface);
      status = cairo_surface_status (surface);
    }
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot write the chart: %s", path,
                   cairo_status_to_string (status));
      return FALSE;
    }
  return TRUE;
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
