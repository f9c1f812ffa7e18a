/* dlen-bar-chart.h: a horizontal grouped bar chart widget (one row per group, a few bars per
 * row, an optional highlighted part of one bar), drawn with Cairo so that the same drawing
 * exports to PNG and SVG. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DLEN_TYPE_BAR_CHART (dlen_bar_chart_get_type ())
G_DECLARE_FINAL_TYPE (DlenBarChart, dlen_bar_chart, DLEN, BAR_CHART, GtkWidget)

GtkWidget *dlen_bar_chart_new (void);

/* The data, copied: @n_groups rows labelled @labels[n_groups], each with @n_bars bars named
 * @bar_names[n_bars] in the legend, of lengths @values[g * n_bars + b] (NaN: no bar).
 * @colours[n_bars] are indices into the chart palette (dlen_series_1..6), -1 for a neutral
 * grey; NULL gives bar b palette colour b. Groups are drawn in the given order, top down; those
 * that do not fit are summarised as "N more". */
void dlen_bar_chart_set_data (DlenBarChart *chart, guint n_groups, const char *const *labels, guint n_bars,
                              const char *const *bar_names, const int *colours, const double *values);
/* A highlighted part of bar @bar in every group, from 0 to @values[g] (e.g. the objectionable
 * share of the slots), drawn in the style's error colour and named @name in the legend. NULL
 * @values removes it. Set it after the data (set_data removes it). */
void dlen_bar_chart_set_overlay (DlenBarChart *chart, guint bar, const char *name, const double *values);
void dlen_bar_chart_clear (DlenBarChart *chart);
guint dlen_bar_chart_get_n_groups (DlenBarChart *chart);
/* The value of bar @bar of group @group (NaN when out of range). */
double dlen_bar_chart_get_value (DlenBarChart *chart, guint group, guint bar);

/* Texts drawn with the chart: "title", "value-label" (under the value axis) and
 * "placeholder" (shown while there are no groups). With "percent" values are fractions shown
 * as percentages. */
void dlen_bar_chart_set_title (DlenBarChart *chart, const char *title);
void dlen_bar_chart_set_value_label (DlenBarChart *chart, const char *label);
void dlen_bar_chart_set_placeholder (DlenBarChart *chart, const char *text);
void dlen_bar_chart_set_percent (DlenBarChart *chart, gboolean percent);

/* Draws the chart, without its background, into @cr over (0, 0, @width, @height) in the
 * widget's current style. Used by the widget's snapshot and by the exports. */
void dlen_bar_chart_draw (DlenBarChart *chart, cairo_t *cr, int width, int height);

/* Writes the chart at its current size (800 x 480 when not shown) on the view background:
 * SVG when @path ends in ".svg", PNG (at twice the size) when it ends in ".png". */
gboolean dlen_bar_chart_export (DlenBarChart *chart, const char *path, GError **error);

G_END_DECLS
