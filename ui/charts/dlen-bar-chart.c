/* dlen-bar-chart.c: the horizontal grouped bar chart: layout computed on each draw, the drawing
 * cached as a render node until the data, the size or the style changes. */
#include <math.h>
#include "dlen-chart-style.h"
#include "dlen-bar-chart.h"

#define PAD 12.0
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

static void
invalidate (DlenBarChart *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- Style --------------------------------------------------------------------------------- */

static void
set_bar_colour (DlenBarChart *self, cairo_t *cr, const DlenChartStyle *st, guint bar)
{
  int c = self->colours[bar];
  if (c < 0)
    dlen_chart_set_colour (cr, &st->fg, 0.35);
  else
    dlen_chart_set_colour (cr, &st->palette[c % DLEN_CHART_N_PALETTE], 1);
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
  DlenChartStyle st;
  double top = PAD, left = PAD, right = width - PAD, bottom = height - PAD;
  double w, h, label_w = 0, tick_h = 0, vmax = 0, step, plot_l, plot_r, plot_t, plot_b, row_h, bar_h;
  guint n_fit, n_legend;
  char buf[64];

  g_return_if_fail (DLEN_IS_BAR_CHART (self));
  if (width < 60 || height < 60)
    return;
  dlen_chart_style_init_from_widget (&st, GTK_WIDGET (self));
  cairo_save (cr);

  if (self->title && *self->title)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->title, 1.0, TRUE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 1);
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
          g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, name ? name : "", 0.85, FALSE);
          double entry;
          dlen_chart_layout_size (l, &w, &h);
          entry = 20 + w + 16;
          if (lx > left && lx + entry - 16 > right)
            {
              lx = left;
              top += line_h + 4;
              line_h = 0;
            }
          if (is_overlay)
            dlen_chart_set_colour (cr, &st.negative, 1);
          else
            set_bar_colour (self, cr, &st, i);
          draw_swatch (cr, lx, top, h);
          dlen_chart_set_colour (cr, &st.fg, 0.85);
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
  step = dlen_chart_nice_step (vmax, 4);
  vmax = ceil (vmax / step - 1e-9) * step;

  /* Label column: the widest label, at most a third of the width. */
  for (guint g = 0; g < self->n_groups; g++)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->labels[g], 0.85, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      label_w = MAX (label_w, w);
    }
  label_w = MIN (label_w, (right - left) / 3);
  {
    g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, "0", 0.8, FALSE);
    dlen_chart_layout_size (l, &w, &tick_h);
  }
  plot_l = left + label_w + 8;
  plot_r = right - 8;
  plot_t = top;
  plot_b = bottom - tick_h - 4;
  if (self->value_label && *self->value_label)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->value_label, 0.85, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      plot_b -= h + 2;
    }
  if (plot_r - plot_l < 40 || plot_b - plot_t < 20)
    {
      cairo_restore (cr);
      dlen_chart_style_clear (&st);
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
      dlen_chart_set_colour (cr, &st.fg, 0.12);
      cairo_move_to (cr, px, plot_t);
      cairo_line_to (cr, px, bars_b);
      cairo_stroke (cr);
      format_value (self, buf, sizeof buf, v, step);
      l = dlen_chart_layout (cr, &st, buf, 0.8, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 0.7);
      cairo_move_to (cr, CLAMP (px - w / 2, plot_l - 4, right - w), bars_b + 4);
      pango_cairo_show_layout (cr, l);
      if (v == 0)
        plot_b = bars_b;
    }
  if (self->value_label && *self->value_label)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->value_label, 0.85, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 0.8);
      cairo_move_to (cr, (plot_l + plot_r - w) / 2, plot_b + tick_h + 6);
      pango_cairo_show_layout (cr, l);
    }

  /* Rows. */
  for (guint g = 0; g < n_fit; g++)
    {
      double y = plot_t + g * row_h, by = y + (row_h - bar_h * self->n_bars) / 2;
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->labels[g], 0.85, FALSE);
      pango_layout_set_width (l, (int) (label_w * PANGO_SCALE));
      pango_layout_set_ellipsize (l, PANGO_ELLIPSIZE_END);
      pango_layout_set_alignment (l, PANGO_ALIGN_RIGHT);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 0.85);
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
              dlen_chart_set_colour (cr, &st.negative, 1);
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
          vl = dlen_chart_layout (cr, &st, buf, 0.75, FALSE);
          dlen_chart_layout_size (vl, &w, &h);
          dlen_chart_set_colour (cr, &st.fg, 0.75);
          cairo_move_to (cr, MIN (PX (MIN (v, vmax)) + 4, right - w), by + (bar_h - h) / 2);
          pango_cairo_show_layout (cr, vl);
        }
    }
  /* Groups that did not fit are counted at the top right, clear of the axis labels. */
  if (n_fit < self->n_groups)
    {
      g_autoptr (PangoLayout) l = NULL;
      g_snprintf (buf, sizeof buf, "%u more not shown", self->n_groups - n_fit);
      l = dlen_chart_layout (cr, &st, buf, 0.8, FALSE);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 0.6);
      cairo_move_to (cr, right - w, PAD);
      pango_cairo_show_layout (cr, l);
    }

  /* The value axis' zero line. */
  dlen_chart_set_colour (cr, &st.fg, 0.45);
  cairo_move_to (cr, round (plot_l) + 0.5, plot_t);
  cairo_line_to (cr, round (plot_l) + 0.5, plot_t + row_h * n_fit);
  cairo_stroke (cr);

  if (self->n_groups == 0 && self->placeholder && *self->placeholder)
    {
      g_autoptr (PangoLayout) l = dlen_chart_layout (cr, &st, self->placeholder, 0.95, FALSE);
      pango_layout_set_width (l, (int) ((right - left - 24) * PANGO_SCALE));
      pango_layout_set_alignment (l, PANGO_ALIGN_CENTER);
      pango_layout_set_wrap (l, PANGO_WRAP_WORD);
      dlen_chart_layout_size (l, &w, &h);
      dlen_chart_set_colour (cr, &st.fg, 0.55);
      cairo_move_to (cr, left + 12, (plot_t + bottom - h) / 2);
      pango_cairo_show_layout (cr, l);
    }
#undef PX
  self->rows_top = plot_t;
  self->row_height = row_h;
  self->rows_shown = n_fit;
  cairo_restore (cr);
  dlen_chart_style_clear (&st);
}

/* ---- Widget ---------------------------------------------------------------------------------- */

static void
draw_chart (gpointer chart, cairo_t *cr, int width, int height)
{
  dlen_bar_chart_draw (chart, cr, width, height);
}

static void
dlen_bar_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  DlenBarChart *self = DLEN_BAR_CHART (widget);
  dlen_chart_snapshot_cached (widget, snapshot, draw_chart, &self->cache, &self->cache_width, &self->cache_height);
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

static void
export_draw (gpointer chart, cairo_t *cr, int width, int height)
{
  DlenBarChart *self = chart;
  double top = self->rows_top, row = self->row_height;
  guint shown = self->rows_shown;
  dlen_bar_chart_draw (self, cr, width, height);
  /* The export must not move the on-screen tooltip geometry. */
  self->rows_top = top;
  self->row_height = row;
  self->rows_shown = shown;
}

gboolean
dlen_bar_chart_export (DlenBarChart *self, const char *path, GError **error)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  DlenChartStyle st;
  gboolean ok;

  g_return_val_if_fail (DLEN_IS_BAR_CHART (self), FALSE);
  if (w < 60 || h < 60)
    {
      w = 800;
      h = 480;
    }
  dlen_chart_style_init_from_widget (&st, GTK_WIDGET (self));
  ok = dlen_chart_export (self, export_draw, &st.bg, path, w, h, error);
  dlen_chart_style_clear (&st);
  return ok;
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
