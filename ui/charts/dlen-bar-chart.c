/* dlen-bar-chart.c: the horizontal grouped bar chart: layout computed on each draw, the drawing
 * cached as a render node until the data, the size or the style changes. */
#include <math.h>
#include <adwaita.h>
#include <cairo-svg.h>
#include "dlen-bar-chart.h"

#define PAD 12.0
#define N_PALETTE 6
#define MAX_BARS 4

struct _DlenBarChart {
  GtkWidget parent_instance;

  /* Owned */
  guint n_groups, n_bars;
  char **labels;               /* n_groups */
  char **bar_names;            /* n_bars */
  int colours[MAX_BARS];
  double *values;              /* n_groups x n_bars */
  double *overlay;             /* n_groups, or NULL */
  guint overlay_bar;
  char *overlay_name;
  char *title, *value_label, *placeholder;
  gboolean percent;
  GskRenderNode *cache;
  int cache_width, cache_height;

  /* Geometry of the last on-screen draw, for tooltips. */
  double rows_top, row_height;
  guint rows_shown;
};

enum { PROP_0, PROP_TITLE, PROP_VALUE_LABEL, PROP_PLACEHOLDER, PROP_PERCENT, N_PROPS };
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (DlenBarChart, dlen_bar_chart, GTK_TYPE_WIDGET)

static const GdkRGBA fallback_palette[N_PALETTE] = {
  { 0.208, 0.518, 0.894, 1 }, { 0.902, 0.380, 0.000, 1 }, { 0.180, 0.761, 0.494, 1 },
  { 0.753, 0.380, 0.796, 1 }, { 0.961, 0.761, 0.067, 1 }, { 0.596, 0.416, 0.267, 1 },
};

static void
invalidate (DlenBarChart *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- Style --------------------------------------------------------------------------------- */

typedef struct {
  GdkRGBA fg;
  GdkRGBA palette[N_PALETTE];
  GdkRGBA error;
  const PangoFontDescription *font;
} Style;

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static void
get_style (DlenBarChart *self, Style *st)
{
  GtkStyleContext *ctx = gtk_widget_get_style_context (GTK_WIDGET (self));
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  gtk_style_context_get_color (ctx, &st->fg);
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
  if (!gtk_style_context_lookup_color (ctx, "error_color", &st->error))
    st->error = (GdkRGBA) { 0.878, 0.106, 0.141, 1 };
  st->font = pango_context_get_font_description (gtk_widget_get_pango_context (GTK_WIDGET (self)));
}

static GdkRGBA
lookup_background (DlenBarChart *self)
{
  GdkRGBA bg = { 1, 1, 1, 1 };
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (GTK_WIDGET (self)), "view_bg_color", &bg))
    bg = (GdkRGBA) { 1, 1, 1, 1 };
  return bg;
}
G_GNUC_END_IGNORE_DEPRECATIONS

static void
set_colour (cairo_t *cr, const GdkRGBA *c, double alpha)
{
  cairo_set_source_rgba (cr, c->red, c->green, c->blue, c->alpha * alpha);
}

static void
set_bar_colour (DlenBarChart *self, cairo_t *cr, const Style *st, guint bar)
{
  int c = self->colours[bar];
  if (c < 0)
    set_colour (cr, &st->fg, 0.35);
  else
    set_colour (cr, &st->palette[c % N_PALETTE], 1);
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

static double
nice_step (double range, int target)
{
  double raw = range / MAX (target, 1), mag, norm;
  if (!(raw > 0))
    return 1;
  mag = pow (10, floor (log10 (raw)));
  norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

static void
format_value (DlenBarChart *self, char *buf, gsize size, double v, double step)
{
  double shown = self->percent ? v * 100 : v;
  double shown_step = self->percent ? step * 100 : step;
  int decimals = shown_step > 0 ? CLAMP ((int) -floor (log10 (shown_step) + 1e-9), 0, 4) : 1;
  if (fabs (shown) < 1e-12)
    shown = 0;
  g_snprintf (buf, size, self->percent ? "%.*f %%" : "%.*f", decimals, shown);
}

/* ---- Drawing --------------------------------------------------------------------------------- */

static void
draw_swatch (cairo_t *cr, double x, double y, double h)
{
  cairo_rectangle (cr, x, y + h / 2 - 5, 14, 10);
  cairo_fill (cr);
}

void
dlen_bar_chart_draw (DlenBarChart *self, cairo_t *cr, int width, int height)
{
  Style st;
  double top = PAD, left = PAD, right = width - PAD, bottom = height - PAD;
  double w, h, label_w = 0, tick_h = 0, vmax = 0, step, plot_l, plot_r, plot_t, plot_b, row_h, bar_h;
  guint n_fit, n_legend;
  char buf[64];

  g_return_if_fail (DLEN_IS_BAR_CHART (self));
  if (width < 60 || height < 60)
    return;
  get_style (self, &st);
  cairo_save (cr);

  if (self->title && *self->title)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->title, 1.0, TRUE);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 1);
      cairo_move_to (cr, left, top);
      pango_cairo_show_layout (cr, l);
      top += h + 6;
    }

  /* Legend: the bars, then the overlay. */
  n_legend = self->n_groups ? self->n_bars + (self->overlay ? 1 : 0) : 0;
  if (n_legend)
    {
      double lx = left, line_h = 0;
      for (guint i = 0; i < n_legend; i++)
        {
          gboolean is_overlay = i == self->n_bars;
          const char *name = is_overlay ? self->overlay_name : self->bar_names[i];
          g_autoptr (PangoLayout) l = make_layout (cr, &st, name ? name : "", 0.85, FALSE);
          double entry;
          layout_size (l, &w, &h);
          entry = 20 + w + 16;
          if (lx > left && lx + entry - 16 > right)
            {
              lx = left;
              top += line_h + 4;
              line_h = 0;
            }
          if (is_overlay)
            set_colour (cr, &st.error, 1);
          else
            set_bar_colour (self, cr, &st, i);
          draw_swatch (cr, lx, top, h);
          set_colour (cr, &st.fg, 0.85);
          cairo_move_to (cr, lx + 20, top);
          pango_cairo_show_layout (cr, l);
          lx += entry;
          line_h = MAX (line_h, h);
        }
      top += line_h + 10;
    }

  /* Value range from zero. */
  for (guint i = 0; i < self->n_groups * self->n_bars; i++)
    if (isfinite (self->values[i]))
      vmax = MAX (vmax, self->values[i]);
  if (!(vmax > 0))
    vmax = self->percent ? 0.1 : 1;
  step = nice_step (vmax, 4);
  vmax = ceil (vmax / step - 1e-9) * step;

  /* Label column: the widest label, at most a third of the width. */
  for (guint g = 0; g < self->n_groups; g++)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->labels[g], 0.85, FALSE);
      layout_size (l, &w, &h);
      label_w = MAX (label_w, w);
    }
  label_w = MIN (label_w, (right - left) / 3);
  {
    g_autoptr (PangoLayout) l = make_layout (cr, &st, "0", 0.8, FALSE);
    layout_size (l, &w, &tick_h);
  }
  plot_l = left + label_w + 8;
  plot_r = right - 8;
  plot_t = top;
  plot_b = bottom - tick_h - 4;
  if (self->value_label && *self->value_label)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->value_label, 0.85, FALSE);
      layout_size (l, &w, &h);
      plot_b -= h + 2;
    }
  if (plot_r - plot_l < 40 || plot_b - plot_t < 20)
    {
      cairo_restore (cr);
      return;
    }

  /* Rows: every group when they fit at 6 px per bar, else as many as fit (the rest are counted
   * under the axis). */
  n_fit = self->n_groups;
  row_h = self->n_groups ? (plot_b - plot_t) / self->n_groups : 0;
  if (self->n_groups && row_h < self->n_bars * 6 + 4)
    {
      n_fit = (guint) MAX (1, floor ((plot_b - plot_t) / (self->n_bars * 6 + 4)));
      n_fit = MIN (n_fit, self->n_groups);
      row_h = (plot_b - plot_t) / n_fit;
    }
  row_h = MIN (row_h, self->n_bars * 14 + 10);
  bar_h = self->n_bars ? MIN ((row_h - 4) / self->n_bars, 14) : 0;

#define PX(v) (plot_l + (v) / vmax * (plot_r - plot_l))

  /* Grid and value ticks. */
  cairo_set_line_width (cr, 1);
  for (double v = 0; v <= vmax + step * 1e-6; v += step)
    {
      double px = round (PX (v)) + 0.5;
      g_autoptr (PangoLayout) l = NULL;
      double bars_b = self->n_groups ? plot_t + row_h * n_fit : plot_b;
      set_colour (cr, &st.fg, 0.12);
      cairo_move_to (cr, px, plot_t);
      cairo_line_to (cr, px, bars_b);
      cairo_stroke (cr);
      format_value (self, buf, sizeof buf, v, step);
      l = make_layout (cr, &st, buf, 0.8, FALSE);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 0.7);
      cairo_move_to (cr, CLAMP (px - w / 2, plot_l - 4, right - w), bars_b + 4);
      pango_cairo_show_layout (cr, l);
      if (v == 0)
        plot_b = bars_b;
    }
  if (self->value_label && *self->value_label)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->value_label, 0.85, FALSE);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 0.8);
      cairo_move_to (cr, (plot_l + plot_r - w) / 2, plot_b + tick_h + 6);
      pango_cairo_show_layout (cr, l);
    }

  /* Rows. */
  for (guint g = 0; g < n_fit; g++)
    {
      double y = plot_t + g * row_h, by = y + (row_h - bar_h * self->n_bars) / 2;
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->labels[g], 0.85, FALSE);
      pango_layout_set_width (l, (int) (label_w * PANGO_SCALE));
      pango_layout_set_ellipsize (l, PANGO_ELLIPSIZE_END);
      pango_layout_set_alignment (l, PANGO_ALIGN_RIGHT);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 0.85);
      cairo_move_to (cr, left, y + (row_h - h) / 2);
      pango_cairo_show_layout (cr, l);
      for (guint b = 0; b < self->n_bars; b++)
        {
          double v = self->values[g * self->n_bars + b];
          if (!isfinite (v) || v <= 0)
            continue;
          set_bar_colour (self, cr, &st, b);
          cairo_rectangle (cr, plot_l, by + b * bar_h + 0.5, PX (MIN (v, vmax)) - plot_l, bar_h - 1);
          cairo_fill (cr);
          if (self->overlay && b == self->overlay_bar && isfinite (self->overlay[g]) && self->overlay[g] > 0)
            {
              set_colour (cr, &st.error, 1);
              cairo_rectangle (cr, plot_l, by + b * bar_h + 0.5, PX (MIN (self->overlay[g], vmax)) - plot_l, bar_h - 1);
              cairo_fill (cr);
            }
        }
      /* The first bar's value at its end, when the row is tall enough to read it. */
      if (self->n_bars && bar_h >= 10 && isfinite (self->values[g * self->n_bars]))
        {
          g_autoptr (PangoLayout) vl = NULL;
          double v = self->values[g * self->n_bars];
          format_value (self, buf, sizeof buf, v, step / 10);
          vl = make_layout (cr, &st, buf, 0.75, FALSE);
          layout_size (vl, &w, &h);
          set_colour (cr, &st.fg, 0.75);
          cairo_move_to (cr, MIN (PX (MIN (v, vmax)) + 4, right - w), by + (bar_h - h) / 2);
          pango_cairo_show_layout (cr, vl);
        }
    }
  /* Groups that did not fit are counted at the top right, clear of the axis labels. */
  if (n_fit < self->n_groups)
    {
      g_autoptr (PangoLayout) l = NULL;
      g_snprintf (buf, sizeof buf, "%u more not shown", self->n_groups - n_fit);
      l = make_layout (cr, &st, buf, 0.8, FALSE);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 0.6);
      cairo_move_to (cr, right - w, PAD);
      pango_cairo_show_layout (cr, l);
    }

  /* The value axis' zero line. */
  set_colour (cr, &st.fg, 0.45);
  cairo_move_to (cr, round (plot_l) + 0.5, plot_t);
  cairo_line_to (cr, round (plot_l) + 0.5, plot_t + row_h * n_fit);
  cairo_stroke (cr);

  if (self->n_groups == 0 && self->placeholder && *self->placeholder)
    {
      g_autoptr (PangoLayout) l = make_layout (cr, &st, self->placeholder, 0.95, FALSE);
      pango_layout_set_width (l, (int) ((right - left - 24) * PANGO_SCALE));
      pango_layout_set_alignment (l, PANGO_ALIGN_CENTER);
      pango_layout_set_wrap (l, PANGO_WRAP_WORD);
      layout_size (l, &w, &h);
      set_colour (cr, &st.fg, 0.55);
      cairo_move_to (cr, left + 12, (plot_t + bottom - h) / 2);
      pango_cairo_show_layout (cr, l);
    }
#undef PX
  self->rows_top = plot_t;
  self->row_height = row_h;
  self->rows_shown = n_fit;
  cairo_restore (cr);
}

/* ---- Widget ---------------------------------------------------------------------------------- */

static void
dlen_bar_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DlenBarChart *self = DLEN_BAR_CHART (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  if (w <= 0 || h <= 0)
    return;
  if (!self->cache || self->cache_width != w || self->cache_height != h)
    {
      GtkSnapshot *sub = gtk_snapshot_new ();
      cairo_t *cr = gtk_snapshot_append_cairo (sub, &GRAPHENE_RECT_INIT (0, 0, w, h));
      dlen_bar_chart_draw (self, cr, w, h);
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
dlen_bar_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                        int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 180;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 420 : 260;
}

static gboolean
dlen_bar_chart_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip)
{
  DlenBarChart *self = DLEN_BAR_CHART (widget);
  g_autoptr (GString) text = NULL;
  guint g;
  if (keyboard || self->row_height <= 0 || y < self->rows_top)
    return FALSE;
  g = (guint) ((y - self->rows_top) / self->row_height);
  if (g >= self->rows_shown || g >= self->n_groups)
    return FALSE;
  text = g_string_new (NULL);
  g_string_append_printf (text, "<b>%s</b>", self->labels[g]);
  for (guint b = 0; b < self->n_bars; b++)
    {
      double v = self->values[g * self->n_bars + b];
      g_autofree char *name = g_markup_escape_text (self->bar_names[b] ? self->bar_names[b] : "", -1);
      g_string_append_printf (text, self->percent ? "\n%s: %.2f %%" : "\n%s: %.4g", name, self->percent ? v * 100 : v);
    }
  if (self->overlay)
    {
      g_autofree char *name = g_markup_escape_text (self->overlay_name ? self->overlay_name : "", -1);
      double v = self->overlay[g];
      g_string_append_printf (text, self->percent ? "\n%s: %.2f %%" : "\n%s: %.4g", name, self->percent ? v * 100 : v);
    }
  gtk_tooltip_set_markup (tooltip, text->str);
  return TRUE;
}

static void
dlen_bar_chart_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (dlen_bar_chart_parent_class)->css_changed (widget, change);
  invalidate (DLEN_BAR_CHART (widget));
}

static void
dlen_bar_chart_system_setting_changed (GtkWidget *widget, GtkSystemSetting setting)
{
  GTK_WIDGET_CLASS (dlen_bar_chart_parent_class)->system_setting_changed (widget, setting);
  invalidate (DLEN_BAR_CHART (widget));
}

void
dlen_bar_chart_clear (DlenBarChart *self)
{
  g_return_if_fail (DLEN_IS_BAR_CHART (self));
  g_clear_pointer (&self->labels, g_strfreev);
  g_clear_pointer (&self->bar_names, g_strfreev);
  g_clear_pointer (&self->values, g_free);
  g_clear_pointer (&self->overlay, g_free);
  g_clear_pointer (&self->overlay_name, g_free);
  self->n_groups = 0;
  self->n_bars = 0;
  invalidate (self);
}

void
dlen_bar_chart_set_data (DlenBarChart *self, guint n_groups, const char *const *labels, guint n_bars,
                         const char *const *bar_names, const int *colours, const double *values)
{
  g_return_if_fail (DLEN_IS_BAR_CHART (self));
  g_return_if_fail (n_bars <= MAX_BARS);
  dlen_bar_chart_clear (self);
  if (n_groups == 0 || n_bars == 0)
    return;
  self->n_groups = n_groups;
  self->n_bars = n_bars;
  self->labels = g_new0 (char *, n_groups + 1);
  for (guint g = 0; g < n_groups; g++)
    self->labels[g] = g_strdup (labels[g] ? labels[g] : "");
  self->bar_names = g_new0 (char *, n_bars + 1);
  for (guint b = 0; b < n_bars; b++)
    {
      self->bar_names[b] = g_strdup (bar_names ? bar_names[b] : NULL);
      self->colours[b] = colours ? colours[b] : (int) b;
    }
  self->values = g_memdup2 (values, sizeof (double) * n_groups * n_bars);
}

void
dlen_bar_chart_set_overlay (DlenBarChart *self, guint bar, const char *name, const double *values)
{
  g_return_if_fail (DLEN_IS_BAR_CHART (self));
  g_clear_pointer (&self->overlay, g_free);
  g_clear_pointer (&self->overlay_name, g_free);
  if (values && self->n_groups > 0 && bar < self->n_bars)
    {
      self->overlay = g_memdup2 (values, sizeof (double) * self->n_groups);
      self->overlay_bar = bar;
      self->overlay_name = g_strdup (name);
    }
  invalidate (self);
}

guint
dlen_bar_chart_get_n_groups (DlenBarChart *self)
{
  g_return_val_if_fail (DLEN_IS_BAR_CHART (self), 0);
  return self->n_groups;
}

double
dlen_bar_chart_get_value (DlenBarChart *self, guint group, guint bar)
{
  g_return_val_if_fail (DLEN_IS_BAR_CHART (self), NAN);
  if (group >= self->n_groups || bar >= self->n_bars)
    return NAN;
  return self->values[group * self->n_bars + bar];
}

static void
set_text (DlenBarChart *self, char **field, const char *text, guint prop)
{
  if (g_strcmp0 (*field, text) == 0)
    return;
  g_free (*field);
  *field = g_strdup (text);
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

void
dlen_bar_chart_set_title (DlenBarChart *self, const char *t)
{
  g_return_if_fail (DLEN_IS_BAR_CHART (self));
  set_text (self, &self->title, t, PROP_TITLE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, t ? t : "", -1);
}

void dlen_bar_chart_set_value_label (DlenBarChart *self, const char *t) { set_text (self, &self->value_label, t, PROP_VALUE_LABEL); }
void dlen_bar_chart_set_placeholder (DlenBarChart *self, const char *t) { set_text (self, &self->placeholder, t, PROP_PLACEHOLDER); }

void
dlen_bar_chart_set_percent (DlenBarChart *self, gboolean percent)
{
  g_return_if_fail (DLEN_IS_BAR_CHART (self));
  percent = !!percent;
  if (self->percent == percent)
    return;
  self->percent = percent;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PERCENT]);
}

gboolean
dlen_bar_chart_export (DlenBarChart *self, const char *path, GError **error)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  g_autofree char *lower = g_ascii_strdown (path, -1);
  gboolean svg = g_str_has_suffix (lower, ".svg"), png = g_str_has_suffix (lower, ".png");
  double scale = png ? 2 : 1;
  GdkRGBA bg;
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;
  double top = self->rows_top, row = self->row_height;
  guint shown = self->rows_shown;

  g_return_val_if_fail (DLEN_IS_BAR_CHART (self), FALSE);
  if (!svg && !png)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: choose a file name ending in .png or .svg", path);
      return FALSE;
    }
  if (w < 60 || h < 60)
    {
      w = 800;
      h = 480;
    }
  bg = lookup_background (self);
  surface = svg ? cairo_svg_surface_create (path, w, h)
                : cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) (w * scale), (int) (h * scale));
  cr = cairo_create (surface);
  cairo_scale (cr, scale, scale);
  set_colour (cr, &bg, 1);
  cairo_paint (cr);
  dlen_bar_chart_draw (self, cr, w, h);
  cairo_destroy (cr);
  /* The export must not move the on-screen tooltip geometry. */
  self->rows_top = top;
  self->row_height = row;
  self->rows_shown = shown;
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
dlen_bar_chart_dispose (GObject *object)
{
  DlenBarChart *self = DLEN_BAR_CHART (object);
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  G_OBJECT_CLASS (dlen_bar_chart_parent_class)->dispose (object);
}

static void
dlen_bar_chart_finalize (GObject *object)
{
  DlenBarChart *self = DLEN_BAR_CHART (object);
  g_strfreev (self->labels);
  g_strfreev (self->bar_names);
  g_free (self->values);
  g_free (self->overlay);
  g_free (self->overlay_name);
  g_free (self->title);
  g_free (self->value_label);
  g_free (self->placeholder);
  G_OBJECT_CLASS (dlen_bar_chart_parent_class)->finalize (object);
}

static void
dlen_bar_chart_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DlenBarChart *self = DLEN_BAR_CHART (object);
  switch (prop_id)
    {
    case PROP_TITLE: g_value_set_string (value, self->title); break;
    case PROP_VALUE_LABEL: g_value_set_string (value, self->value_label); break;
    case PROP_PLACEHOLDER: g_value_set_string (value, self->placeholder); break;
    case PROP_PERCENT: g_value_set_boolean (value, self->percent); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_bar_chart_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DlenBarChart *self = DLEN_BAR_CHART (object);
  switch (prop_id)
    {
    case PROP_TITLE: dlen_bar_chart_set_title (self, g_value_get_string (value)); break;
    case PROP_VALUE_LABEL: dlen_bar_chart_set_value_label (self, g_value_get_string (value)); break;
    case PROP_PLACEHOLDER: dlen_bar_chart_set_placeholder (self, g_value_get_string (value)); break;
    case PROP_PERCENT: dlen_bar_chart_set_percent (self, g_value_get_boolean (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dlen_bar_chart_class_init (DlenBarChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = dlen_bar_chart_dispose;
  object_class->finalize = dlen_bar_chart_finalize;
  object_class->get_property = dlen_bar_chart_get_property;
  object_class->set_property = dlen_bar_chart_set_property;
  widget_class->snapshot = dlen_bar_chart_snapshot;
  widget_class->measure = dlen_bar_chart_measure;
  widget_class->query_tooltip = dlen_bar_chart_query_tooltip;
  widget_class->css_changed = dlen_bar_chart_css_changed;
  widget_class->system_setting_changed = dlen_bar_chart_system_setting_changed;

  props[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, rw);
  props[PROP_VALUE_LABEL] = g_param_spec_string ("value-label", NULL, NULL, NULL, rw);
  props[PROP_PLACEHOLDER] = g_param_spec_string ("placeholder", NULL, NULL, NULL, rw);
  props[PROP_PERCENT] = g_param_spec_boolean ("percent", NULL, NULL, FALSE, rw);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_css_name (widget_class, "dlen-bar-chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
dlen_bar_chart_init (DlenBarChart *self)
{
  gtk_widget_add_css_class (GTK_WIDGET (self), "chart");
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
}

GtkWidget *
dlen_bar_chart_new (void)
{
  return g_object_new (DLEN_TYPE_BAR_CHART, NULL);
}
