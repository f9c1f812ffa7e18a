/* dlen-line-chart.h: a line chart widget (axes, ticks, grid, legend) over a DlenSeriesModel,
 * drawn with Cairo so that the same drawing exports to PNG and SVG. */
#pragma once

#include <gtk/gtk.h>
#include "dlen-series.h"

G_BEGIN_DECLS

#define DLEN_TYPE_LINE_CHART (dlen_line_chart_get_type ())
G_DECLARE_FINAL_TYPE (DlenLineChart, dlen_line_chart, DLEN, LINE_CHART, GtkWidget)

GtkWidget *dlen_line_chart_new (void);

/* The data ("model" property); the chart redraws on the model's "changed". */
void dlen_line_chart_set_model (DlenLineChart *chart, DlenSeriesModel *model);
DlenSeriesModel *dlen_line_chart_get_model (DlenLineChart *chart);

/* Texts drawn with the chart (so exports carry them): "title", "x-label", "y-label", and
 * "placeholder", shown in the plot area while the model has no points. */
void dlen_line_chart_set_title (DlenLineChart *chart, const char *title);
void dlen_line_chart_set_x_label (DlenLineChart *chart, const char *label);
void dlen_line_chart_set_y_label (DlenLineChart *chart, const char *label);
void dlen_line_chart_set_placeholder (DlenLineChart *chart, const char *text);

/* The x range shown at least (the data can widen it); NaN for either end: from the data.
 * "x-integer": ticks on whole numbers only (epochs). */
void dlen_line_chart_set_x_range (DlenLineChart *chart, double x_min, double x_max);
void dlen_line_chart_set_x_integer (DlenLineChart *chart, gboolean integer);

/* Draws the chart, without its background, into @cr over (0, 0, @width, @height) in the
 * widget's current style (palette dlen_series_1..6, foreground, font). Used by the widget's
 * snapshot and by the exports. */
void dlen_line_chart_draw (DlenLineChart *chart, cairo_t *cr, int width, int height);

/* Writes the chart at its current size (800 x 400 when not shown) on the view background:
 * SVG when @path ends in ".svg", PNG (at twice the size) when it ends in ".png". */
gboolean dlen_line_chart_export (DlenLineChart *chart, const char *path, GError **error);

G_END_DECLS
