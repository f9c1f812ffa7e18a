/* dlen-series.h: the data behind a line chart: named series of (x, y) points, apart from any
 * drawing so that charts, exports and tests share it. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct {
  double x, y;
} DlenPoint;

typedef enum {
  DLEN_SERIES_LINE = 1 << 0,     /* join the points with a line */
  DLEN_SERIES_MARKERS = 1 << 1,  /* draw a dot at every point */
  DLEN_SERIES_DASHED = 1 << 2,   /* dashed line */
  DLEN_SERIES_THIN = 1 << 3,     /* a thinner, lighter line (secondary detail) */
} DlenSeriesStyle;

#define DLEN_TYPE_SERIES_MODEL (dlen_series_model_get_type ())
G_DECLARE_FINAL_TYPE (DlenSeriesModel, dlen_series_model, DLEN, SERIES_MODEL, GObject)

/* Every change emits "changed" (no arguments) on the thread that made it: use the model from
 * the main thread only. */
DlenSeriesModel *dlen_series_model_new (void);

/* Removes every series. */
void dlen_series_model_clear (DlenSeriesModel *model);

/* Adds a series and returns its index. @colour is the index into the chart palette
 * (dlen_series_1..6, cycling), or -1 for the series' own index. */
guint dlen_series_model_add_series (DlenSeriesModel *model, const char *name, DlenSeriesStyle style, int colour);

/* Appends a point to series @series. Points need not be sorted; a NaN or infinite y leaves a
 * gap in the line. */
void dlen_series_model_append (DlenSeriesModel *model, guint series, double x, double y);
/* Drops the points of @series whose x is >= @x (e.g. the provisional points of an epoch about
 * to be replaced). */
void dlen_series_model_truncate (DlenSeriesModel *model, guint series, double x);

guint dlen_series_model_get_n_series (DlenSeriesModel *model);
const char *dlen_series_model_get_name (DlenSeriesModel *model, guint series);
DlenSeriesStyle dlen_series_model_get_style (DlenSeriesModel *model, guint series);
guint dlen_series_model_get_colour (DlenSeriesModel *model, guint series);
/* The points of @series in insertion order; valid until the next change of the model. */
const DlenPoint *dlen_series_model_get_points (DlenSeriesModel *model, guint series, guint *n_points);
/* Total number of points with a finite y over all series. */
guint dlen_series_model_get_n_points (DlenSeriesModel *model);

/* The range of finite points over every series; FALSE when there are none. */
gboolean dlen_series_model_get_bounds (DlenSeriesModel *model, double *x_min, double *x_max, double *y_min,
                                       double *y_max);

G_END_DECLS
