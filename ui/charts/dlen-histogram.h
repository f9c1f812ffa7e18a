/* dlen-histogram.h: a histogram widget (counts of values in equal bins) with an optional second
 * series drawn as an outline, a marked value and a selectable bin; drawn with Cairo so that PNG
 * and SVG exports use the same drawing. */
#pragma once

#include <gtk/gtk.h>
#include "dlen-chart-style.h"

G_BEGIN_DECLS

#define DLEN_TYPE_HISTOGRAM (dlen_histogram_get_type ())
G_DECLARE_FINAL_TYPE (DlenHistogram, dlen_histogram, DLEN, HISTOGRAM, GtkWidget)

GtkWidget *dlen_histogram_new (void);

/* @n_bins equal bins over [@lo, @hi] (default 20 over [0, 1]); values outside are clamped into
 * the first or last bin. Clears the counts. */
void dlen_histogram_set_bins (DlenHistogram *hist, double lo, double hi, guint n_bins);
/* Counts @values (copied; NaN skipped) as series 0 (filled bars) or 1 (an outline: the model
 * compared with). @n_values 0 removes the series. @label names it in the legend and tooltip. */
void dlen_histogram_set_values (DlenHistogram *hist, guint series, const double *values, gsize n_values, const char *label);
guint dlen_histogram_get_n_bins (DlenHistogram *hist);
guint64 dlen_histogram_get_count (DlenHistogram *hist, guint series, guint bin);
/* The bin of a value, or -1 when NaN. */
int dlen_histogram_bin_of (DlenHistogram *hist, double value);

/* A vertical marker at @value with a @label (NaN hides it), e.g. the selected user's mean. */
void dlen_histogram_set_marker (DlenHistogram *hist, double value, const char *label);
/* The highlighted bin (-1: none). The widget emits "bin-clicked" (int bin, -1 outside the bars)
 * when clicked; it does not select by itself. */
void dlen_histogram_set_selected_bin (DlenHistogram *hist, int bin);
int dlen_histogram_get_selected_bin (DlenHistogram *hist);

void dlen_histogram_set_title (DlenHistogram *hist, const char *title);
void dlen_histogram_set_x_label (DlenHistogram *hist, const char *label);
void dlen_histogram_set_unit (DlenHistogram *hist, const char *singular, const char *plural);   /* "user", "users" */

/* Draws with the widget's style into @cr over (0, 0, @width, @height), without background. */
void dlen_histogram_draw (DlenHistogram *hist, cairo_t *cr, int width, int height);
/* As dlen_trajectory_chart_export(): SVG or PNG (twice the size) by the extension; 640 x 320 when
 * not shown. */
gboolean dlen_histogram_export (DlenHistogram *hist, const char *path, GError **error);

G_END_DECLS
