/* dlen-trajectory-chart.h: a user's latent emotion p_e over time: per-impression p_e, its
 * smoothed line, session boundaries, positive-action and negative-feedback markers, an optional
 * second model on the same axes; zoom, pan and a hover tooltip. Drawn with Cairo by a
 * display-free plot so that the widget, PNG/SVG export and the benchmark share one drawing. */
#pragma once

#include <gtk/gtk.h>
#include "dlen-analysis.h"
#include "dlen-chart-style.h"

G_BEGIN_DECLS

/* What the last draw drew (after decimation). */
typedef struct {
  guint points;                /* data points inside the visible time range, both models */
  guint segments;              /* pieces drawn for the p_e and smoothed lines: a bar per dense pixel column, a
                                * segment per join; at most two per column and line, whatever the points */
  guint markers;               /* positive and negative markers drawn: every one in the visible range */
  guint sessions;              /* session boundaries in view */
} DlenTrajectoryDrawStats;

/* ---- The plot: data, view, cached geometry and the drawing; no widget, no display ------------- */

typedef struct _DlenTrajectoryPlot DlenTrajectoryPlot;

DlenTrajectoryPlot *dlen_trajectory_plot_new (void);
void dlen_trajectory_plot_free (DlenTrajectoryPlot *plot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenTrajectoryPlot, dlen_trajectory_plot_free)

/* The series (referenced; NULL clears). @label names the model in the legend and tooltip. Both
 * reset the view to the whole time range. */
void dlen_trajectory_plot_set_trajectory (DlenTrajectoryPlot *plot, DlenTrajectory *traj, const char *label);
void dlen_trajectory_plot_set_comparison (DlenTrajectoryPlot *plot, DlenTrajectory *traj, const char *label);
void dlen_trajectory_plot_set_title (DlenTrajectoryPlot *plot, const char *title);
void dlen_trajectory_plot_set_placeholder (DlenTrajectoryPlot *plot, const char *text);

/* The visible time range in Unix milliseconds; NaN for both shows everything. */
void dlen_trajectory_plot_set_view (DlenTrajectoryPlot *plot, double t0_ms, double t1_ms);
void dlen_trajectory_plot_get_view (DlenTrajectoryPlot *plot, double *t0_ms, double *t1_ms);
/* The whole time range of the data (with a small margin); FALSE without data. */
gboolean dlen_trajectory_plot_get_extent (DlenTrajectoryPlot *plot, double *t0_ms, double *t1_ms);

/* Drops the cached geometry (the next draw decimates again). */
void dlen_trajectory_plot_invalidate (DlenTrajectoryPlot *plot);

/* Draws into @cr over (0, 0, @width, @height), without background. Decimated geometry is cached
 * per size, view and data. */
void dlen_trajectory_plot_draw (DlenTrajectoryPlot *plot, cairo_t *cr, int width, int height, const DlenChartStyle *style);
void dlen_trajectory_plot_get_stats (DlenTrajectoryPlot *plot, DlenTrajectoryDrawStats *stats);

/* ---- The widget --------------------------------------------------------------------------------- */

#define DLEN_TYPE_TRAJECTORY_CHART (dlen_trajectory_chart_get_type ())
G_DECLARE_FINAL_TYPE (DlenTrajectoryChart, dlen_trajectory_chart, DLEN, TRAJECTORY_CHART, GtkWidget)

GtkWidget *dlen_trajectory_chart_new (void);
DlenTrajectoryPlot *dlen_trajectory_chart_get_plot (DlenTrajectoryChart *chart);

/* As the plot's setters, redrawing the widget. */
void dlen_trajectory_chart_set_trajectory (DlenTrajectoryChart *chart, DlenTrajectory *traj, const char *label);
void dlen_trajectory_chart_set_comparison (DlenTrajectoryChart *chart, DlenTrajectory *traj, const char *label);
DlenTrajectory *dlen_trajectory_chart_get_trajectory (DlenTrajectoryChart *chart);
DlenTrajectory *dlen_trajectory_chart_get_comparison (DlenTrajectoryChart *chart);
void dlen_trajectory_chart_set_title (DlenTrajectoryChart *chart, const char *title);
void dlen_trajectory_chart_set_placeholder (DlenTrajectoryChart *chart, const char *text);

/* Zoom by @factor (> 1 zooms in) around @anchor, a fraction of the plot's width (0.5: centre);
 * pan by @fraction of the visible span (positive: later). Scroll, pinch, drag, the keys + - 0
 * Left Right and a double-click (reset) do the same. "zoomed" (boolean property): the view is
 * narrower than the data. */
void dlen_trajectory_chart_zoom (DlenTrajectoryChart *chart, double factor, double anchor);
void dlen_trajectory_chart_pan (DlenTrajectoryChart *chart, double fraction);
void dlen_trajectory_chart_reset_zoom (DlenTrajectoryChart *chart);
gboolean dlen_trajectory_chart_get_zoomed (DlenTrajectoryChart *chart);

/* Statistics of the widget's last draw (zeros before it is drawn): e.g. points > 0 once a
 * selected user's trajectory is on screen. */
void dlen_trajectory_chart_get_stats (DlenTrajectoryChart *chart, DlenTrajectoryDrawStats *stats);

/* The tooltip text (Pango markup) for the point nearest to widget coordinates (@x, @y) within
 * a few pixels, or NULL: time, item, category, p_e, smoothed p_e, the other model's p_e, actions
 * and every target's prediction. */
char *dlen_trajectory_chart_dup_tooltip_at (DlenTrajectoryChart *chart, double x, double y);

/* The point under the pointer (the ring the widget draws) in two lines of Pango markup: time,
 * item, category, p_e and its mean, the other model's p_e, actions; every target's prediction.
 * NULL when no point is hovered. The widget emits "hover-changed" (no arguments) when the
 * hovered point changes. */
char *dlen_trajectory_chart_dup_hover_markup (DlenTrajectoryChart *chart);

/* Draws the chart as the widget shows it (its style) into @cr. */
void dlen_trajectory_chart_draw (DlenTrajectoryChart *chart, cairo_t *cr, int width, int height);
/* Writes the chart at its current size (1000 x 420 when not shown): SVG for ".svg", PNG at
 * twice the size for ".png". */
gboolean dlen_trajectory_chart_export (DlenTrajectoryChart *chart, const char *path, GError **error);

G_END_DECLS
