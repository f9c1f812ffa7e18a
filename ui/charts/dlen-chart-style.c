/* dlen-chart-style.c: colours, text, ticks, export and the cached drawing shared by the line
 * chart, the bar chart, the trajectory chart and the histogram. */
#include <math.h>
#include <adwaita.h>
#include <cairo-svg.h>
#include "dlen-output.h"
#include "dlen-chart-style.h"

/* Used when the style sheet lacks the named colours (a test without the app's CSS, a benchmark). */
static const GdkRGBA light_palette[DLEN_CHART_N_PALETTE] = {
  { 0.208, 0.518, 0.894, 1 }, { 0.902, 0.380, 0.000, 1 }, { 0.180, 0.761, 0.494, 1 },
  { 0.753, 0.380, 0.796, 1 }, { 0.898, 0.647, 0.039, 1 }, { 0.596, 0.416, 0.267, 1 },
};
static const GdkRGBA dark_palette[DLEN_CHART_N_PALETTE] = {
  { 0.384, 0.627, 0.918, 1 }, { 1.000, 0.639, 0.282, 1 }, { 0.341, 0.890, 0.537, 1 },
  { 0.863, 0.541, 0.867, 1 }, { 0.973, 0.894, 0.361, 1 }, { 0.804, 0.671, 0.561, 1 },
};

void
dlen_chart_style_init_default (DlenChartStyle *st, gboolean dark)
{
  st->fg = dark ? (GdkRGBA) { 1, 1, 1, 1 } : (GdkRGBA) { 0, 0, 0, 0.8 };
  st->bg = dark ? (GdkRGBA) { 0.118, 0.118, 0.118, 1 } : (GdkRGBA) { 1, 1, 1, 1 };
  for (guint i = 0; i < DLEN_CHART_N_PALETTE; i++)
    st->palette[i] = dark ? dark_palette[i] : light_palette[i];
  /* libadwaita's success and error colours for each style. */
  st->positive = dark ? (GdkRGBA) { 0.561, 0.941, 0.643, 1 } : (GdkRGBA) { 0.106, 0.522, 0.247, 1 };
  st->negative = dark ? (GdkRGBA) { 1.000, 0.482, 0.388, 1 } : (GdkRGBA) { 0.753, 0.110, 0.157, 1 };
  st->font = pango_font_description_from_string ("Sans 10");
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
void
dlen_chart_style_init_from_widget (DlenChartStyle *st, GtkWidget *widget)
{
  GtkStyleContext *ctx = gtk_widget_get_style_context (widget);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  const PangoFontDescription *font = pango_context_get_font_description (gtk_widget_get_pango_context (widget));
  DlenChartStyle def;

  dlen_chart_style_init_default (&def, dark);
  gtk_style_context_get_color (ctx, &st->fg);
  if (!gtk_style_context_lookup_color (ctx, "view_bg_color", &st->bg))
    st->bg = def.bg;
  for (guint i = 0; i < DLEN_CHART_N_PALETTE; i++)
    {
      char name[32];
      g_snprintf (name, sizeof name, "dlen_series_%u_dark", i + 1);
      if (dark && gtk_style_context_lookup_color (ctx, name, &st->palette[i]))
        continue;
      g_snprintf (name, sizeof name, "dlen_series_%u", i + 1);
      if (!gtk_style_context_lookup_color (ctx, name, &st->palette[i]))
        st->palette[i] = def.palette[i];
    }
  if (!gtk_style_context_lookup_color (ctx, "success_color", &st->positive))
    st->positive = def.positive;
  if (!gtk_style_context_lookup_color (ctx, "error_color", &st->negative))
    st->negative = def.negative;
  st->font = font ? pango_font_description_copy (font) : pango_font_description_copy (def.font);
  dlen_chart_style_clear (&def);
}
G_GNUC_END_IGNORE_DEPRECATIONS

void
dlen_chart_style_clear (DlenChartStyle *st)
{
  g_clear_pointer (&st->font, pango_font_description_free);
}

void
dlen_chart_set_colour (cairo_t *cr, const GdkRGBA *c, double alpha)
{
  cairo_set_source_rgba (cr, c->red, c->green, c->blue, c->alpha * alpha);
}

PangoLayout *
dlen_chart_layout (cairo_t *cr, const DlenChartStyle *st, const char *text, double scale, gboolean bold)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font = st->font ? pango_font_description_copy (st->font)
                                        : pango_font_description_from_string ("Sans 10");
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

void
dlen_chart_layout_size (PangoLayout *layout, double *w, double *h)
{
  int iw, ih;
  pango_layout_get_pixel_size (layout, &iw, &ih);
  *w = iw;
  *h = ih;
}

double
dlen_chart_nice_step (double range, int target)
{
  double raw = range / MAX (target, 1), mag, norm;
  if (!(raw > 0))
    return 1;
  mag = pow (10, floor (log10 (raw)));
  norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

int
dlen_chart_step_decimals (double step)
{
  int d = (int) -floor (log10 (step) + 1e-9);
  return CLAMP (d, 0, 6);
}

/* ---- Time ticks ------------------------------------------------------------------------------- */

#define SECOND 1000.0
#define MINUTE (60 * SECOND)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

static GDateTime *
local_time (double ms)
{
  return g_date_time_new_from_unix_local ((gint64) floor (ms / 1000.0));
}

static double
to_ms (GDateTime *t)
{
  return (double) g_date_time_to_unix (t) * 1000.0;
}

static void
add_tick (GArray *ticks, GPtrArray *labels, double t, char *label)
{
  g_array_append_val (ticks, t);
  g_ptr_array_add (labels, label);
}

double
dlen_chart_time_ticks (double t0, double t1, int target, GArray *ticks, GPtrArray *labels)
{
  static const double sub_day[] = { 1 * SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
                                    1 * MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
                                    1 * HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR };
  static const int days[] = { 1, 2, 7, 14 };
  static const int months[] = { 1, 2, 3, 6, 12, 24, 60, 120 };
  double raw = (t1 - t0) / MAX (target, 1);
  int guard = 0;

  if (!(t1 > t0) || !isfinite (t0) || !isfinite (t1))
    return 0;
  for (guint i = 0; i < G_N_ELEMENTS (sub_day); i++)
    if (sub_day[i] >= raw)
      {
        double step = sub_day[i];
        g_autoptr (GDateTime) first = local_time (t0);
        double offset = (double) g_date_time_get_utc_offset (first) / 1000.0;   /* µs -> ms */
        double t = ceil ((t0 + offset) / step) * step - offset;
        int prev_day = -1;
        for (; t <= t1 && guard < 1000; t += step, guard++)
          {
            g_autoptr (GDateTime) dt = local_time (t);
            int day = g_date_time_get_day_of_year (dt) + 400 * g_date_time_get_year (dt);
            const char *fmt = step < MINUTE ? "%H:%M:%S" : "%H:%M";
            char *label = g_date_time_format (dt, fmt);
            if (day != prev_day)
              {
                g_autofree char *date = g_date_time_format (dt, "%b %-d");
                char *both = g_strconcat (label, "\n", date, NULL);
                g_free (label);
                label = both;
              }
            prev_day = day;
            add_tick (ticks, labels, t, label);
          }
        return step;
      }
  for (guint i = 0; i < G_N_ELEMENTS (days); i++)
    if (days[i] * DAY >= raw)
      {
        g_autoptr (GDateTime) first = local_time (t0);
        g_autoptr (GDateTime) day = g_date_time_new_local (g_date_time_get_year (first), g_date_time_get_month (first),
                                                            g_date_time_get_day_of_month (first), 0, 0, 0);
        while (day && to_ms (day) <= t1 && guard++ < 1000)
          {
            GDateTime *next;
            /* Multi-day steps on whole multiples of the step since the epoch, so panning keeps them. */
            gint64 index = (gint64) floor ((to_ms (day) + g_date_time_get_utc_offset (day) / 1000.0) / DAY + 0.5);
            if (to_ms (day) >= t0 && index % days[i] == 0)
              add_tick (ticks, labels, to_ms (day), g_date_time_format (day, "%b %-d"));
            next = g_date_time_add_days (day, 1);
            g_date_time_unref (day);
            day = next;
          }
        return days[i] * DAY;
      }
  for (guint i = 0; i < G_N_ELEMENTS (months); i++)
    if (months[i] * 30 * DAY >= raw || i + 1 == G_N_ELEMENTS (months))
      {
        g_autoptr (GDateTime) first = local_time (t0);
        g_autoptr (GDateTime) m = g_date_time_new_local (g_date_time_get_year (first), g_date_time_get_month (first), 1, 0, 0, 0);
        while (m && to_ms (m) <= t1 && guard++ < 2000)
          {
            GDateTime *next;
            int index = g_date_time_get_year (m) * 12 + g_date_time_get_month (m) - 1;
            if (to_ms (m) >= t0 && index % months[i] == 0)
              add_tick (ticks, labels, to_ms (m), g_date_time_format (m, months[i] >= 12 ? "%Y" : "%b %Y"));
            next = g_date_time_add_months (m, 1);
            g_date_time_unref (m);
            m = next;
          }
        return months[i] * 30 * DAY;
      }
  return 0;
}

/* ---- Export ------------------------------------------------------------------------------------- */

static cairo_status_t
write_to_file (void *closure, const unsigned char *data, unsigned int length)
{
  return fwrite (data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

gboolean
dlen_chart_export (gpointer chart, DlenChartDrawFunc draw, const GdkRGBA *bg, const char *path, int w, int h,
                   GError **error)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  gboolean svg = g_str_has_suffix (lower, ".svg"), png = g_str_has_suffix (lower, ".png");
  double scale = png ? 2 : 1;
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;
  DlenOutput out;
  FILE *fp;

  if (!svg && !png)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: choose a file name ending in .png or .svg", path);
      return FALSE;
    }
  /* Written whole or not at all, as every file the workbench writes (dlen-output.h). */
  if (!(fp = dlen_output_open (&out, path, error)))
    return FALSE;
  surface = svg ? cairo_svg_surface_create_for_stream (write_to_file, fp, w, h)
                : cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) (w * scale), (int) (h * scale));
  cr = cairo_create (surface);
  cairo_scale (cr, scale, scale);
  dlen_chart_set_colour (cr, bg, 1);
  cairo_paint (cr);
  draw (chart, cr, w, h);
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (status == CAIRO_STATUS_SUCCESS)
    {
      if (png)
        status = cairo_surface_write_to_png_stream (surface, write_to_file, fp);
      else
        {
          cairo_surface_finish (surface);
          status = cairo_surface_status (surface);
        }
    }
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      dlen_output_close (&out, fp, FALSE, NULL);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot write the chart: %s", path,
                   cairo_status_to_string (status));
      return FALSE;
    }
  return dlen_output_close (&out, fp, TRUE, error);
}

/* ---- Snapshot ----------------------------------------------------------------------------------- */

gboolean
dlen_chart_snapshot_cached (GtkWidget *widget, GtkSnapshot *snapshot, DlenChartDrawFunc draw, GskRenderNode **cache,
                            int *cache_width, int *cache_height)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  if (w <= 0 || h <= 0)
    return FALSE;
  if (!*cache || *cache_width != w || *cache_height != h)
    {
      GtkSnapshot *sub = gtk_snapshot_new ();
      cairo_t *cr = gtk_snapshot_append_cairo (sub, &GRAPHENE_RECT_INIT (0, 0, w, h));
      draw (widget, cr, w, h);
      cairo_destroy (cr);
      g_clear_pointer (cache, gsk_render_node_unref);
      *cache = gtk_snapshot_free_to_node (sub);
      *cache_width = w;
      *cache_height = h;
    }
  if (*cache)
    gtk_snapshot_append_node (snapshot, *cache);
  return TRUE;
}
