/* dlen-chart-style.h: what the charts share: colours resolved from the style
 * sheet (or defaults, for drawing without a display), text, ticks on numbers and on dates, and
 * PNG/SVG export of a cairo drawing function. No widget state. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DLEN_CHART_N_PALETTE 6

/* Colours and font a chart draws with; plain values, so a drawing needs no widget. */
typedef struct {
  GdkRGBA fg;                               /* text, axes, grid (with alpha) */
  GdkRGBA bg;                               /* the view background (exports paint it) */
  GdkRGBA palette[DLEN_CHART_N_PALETTE];    /* dlen_series_1..6 (their _dark variants in dark) */
  GdkRGBA positive, negative;               /* success_color and error_color */
  PangoFontDescription *font;               /* owned */
} DlenChartStyle;

/* The built-in light (or dark) colours and "Sans 10": for benchmarks and tests without a display. */
void dlen_chart_style_init_default (DlenChartStyle *style, gboolean dark);
/* The colours of @widget's style (named colours dlen_series_N[_dark], success_color, error_color,
 * view_bg_color) and its font. */
void dlen_chart_style_init_from_widget (DlenChartStyle *style, GtkWidget *widget);
void dlen_chart_style_clear (DlenChartStyle *style);

void dlen_chart_set_colour (cairo_t *cr, const GdkRGBA *colour, double alpha);
/* A layout of @text in the style's font scaled by @scale (owned by the caller). */
PangoLayout *dlen_chart_layout (cairo_t *cr, const DlenChartStyle *style, const char *text, double scale, gboolean bold);
void dlen_chart_layout_size (PangoLayout *layout, double *width, double *height);

/* A round step for about @target ticks over @range ("nice numbers"). */
double dlen_chart_nice_step (double range, int target);
int dlen_chart_step_decimals (double step);

/* Date/time ticks over [t0_ms, t1_ms] in local time, about @target of them: a round step
 * (seconds .. years) aligned to local midnight, minutes or month starts. Fills @ticks (double,
 * milliseconds) and @labels (char*, owned by the array; a date is added on a second line where
 * the day changes). Returns the step in milliseconds (a month counts 30 days). */
double dlen_chart_time_ticks (double t0_ms, double t1_ms, int target, GArray *ticks, GPtrArray *labels);

/* Draws with @draw on an SVG (path ends in .svg) or PNG (.png, at twice the size) surface of
 * @width x @height painted with the style's background. */
typedef void (*DlenChartDrawFunc) (gpointer chart, cairo_t *cr, int width, int height);
gboolean dlen_chart_export (gpointer chart, DlenChartDrawFunc draw, const GdkRGBA *background, const char *path,
                            int width, int height, GError **error);

/* Appends the drawing of @widget at its current size to @snapshot: *@cache when it was drawn at
 * that size, else a new node drawn with @draw (kept in *@cache, *@cache_width, *@cache_height).
 * FALSE when the widget has no area (nothing appended). */
gboolean dlen_chart_snapshot_cached (GtkWidget *widget, GtkSnapshot *snapshot, DlenChartDrawFunc draw,
                                 GskRenderNode **cache, int *cache_width, int *cache_height);

G_END_DECLS
