/* dlen-series.c: series models for the charts. */
#include <math.h>
#include "dlen-series.h"

typedef struct {
  char *name;
  DlenSeriesStyle style;
  guint colour;
  GArray *points;               /* DlenPoint */
} Series;

struct _DlenSeriesModel {
  GObject parent_instance;
  GPtrArray *series;            /* Series* */
};

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DlenSeriesModel, dlen_series_model, G_TYPE_OBJECT)

static void
series_free (gpointer data)
{
  Series *s = data;
  g_free (s->name);
  g_array_unref (s->points);
  g_free (s);
}

static void
dlen_series_model_finalize (GObject *object)
{
  DlenSeriesModel *self = DLEN_SERIES_MODEL (object);
  g_ptr_array_unref (self->series);
  G_OBJECT_CLASS (dlen_series_model_parent_class)->finalize (object);
}

static void
dlen_series_model_class_init (DlenSeriesModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dlen_series_model_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                          NULL, G_TYPE_NONE, 0);
}

static void
dlen_series_model_init (DlenSeriesModel *self)
{
  self->series = g_ptr_array_new_with_free_func (series_free);
}

DlenSeriesModel *
dlen_series_model_new (void)
{
  return g_object_new (DLEN_TYPE_SERIES_MODEL, NULL);
}

static void
changed (DlenSeriesModel *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

void
dlen_series_model_clear (DlenSeriesModel *self)
{
  g_return_if_fail (DLEN_IS_SERIES_MODEL (self));
  if (self->series->len == 0)
    return;
  g_ptr_array_set_size (self->series, 0);
  changed (self);
}

guint
dlen_series_model_add_series (DlenSeriesModel *self, const char *name, DlenSeriesStyle style, int colour)
{
  Series *s;
  g_return_val_if_fail (DLEN_IS_SERIES_MODEL (self), 0);
  s = g_new0 (Series, 1);
  s->name = g_strdup (name ? name : "");
  s->style = style ? style : DLEN_SERIES_LINE;
  s->colour = colour >= 0 ? (guint) colour : self->series->len;
  s->points = g_array_new (FALSE, FALSE, sizeof (DlenPoint));
  g_ptr_array_add (self->series, s);
  changed (self);
  return self->series->len - 1;
}

static Series *
get_series (DlenSeriesModel *self, guint i)
{
  g_return_val_if_fail (DLEN_IS_SERIES_MODEL (self), NULL);
  g_return_val_if_fail (i < self->series->len, NULL);
  return g_ptr_array_index (self->series, i);
}

void
dlen_series_model_append (DlenSeriesModel *self, guint series, double x, double y)
{
  Series *s = get_series (self, series);
  DlenPoint p = { x, y };
  if (!s)
    return;
  g_array_append_val (s->points, p);
  changed (self);
}

void
dlen_series_model_truncate (DlenSeriesModel *self, guint series, double x)
{
  Series *s = get_series (self, series);
  guint kept = 0;
  if (!s)
    return;
  for (guint i = 0; i < s->points->len; i++)
    {
      DlenPoint p = g_array_index (s->points, DlenPoint, i);
      if (p.x < x)
        g_array_index (s->points, DlenPoint, kept++) = p;
    }
  if (kept == s->points->len)
    return;
  g_array_set_size (s->points, kept);
  changed (self);
}

guint
dlen_series_model_get_n_series (DlenSeriesModel *self)
{
  g_return_val_if_fail (DLEN_IS_SERIES_MODEL (self), 0);
  return self->series->len;
}

const char *
dlen_series_model_get_name (DlenSeriesModel *self, guint series)
{
  Series *s = get_series (self, series);
  return s ? s->name : NULL;
}

DlenSeriesStyle
dlen_series_model_get_style (DlenSeriesModel *self, guint series)
{
  Series *s = get_series (self, series);
  return s ? s->style : DLEN_SERIES_LINE;
}

guint
dlen_series_model_get_colour (DlenSeriesModel *self, guint series)
{
  Series *s = get_series (self, series);
  return s ? s->colour : 0;
}

const DlenPoint *
dlen_series_model_get_points (DlenSeriesModel *self, guint series, guint *n_points)
{
  Series *s = get_series (self, series);
  if (n_points)
    *n_points = s ? s->points->len : 0;
  return s ? (const DlenPoint *) (gpointer) s->points->data : NULL;
}

guint
dlen_series_model_get_n_points (DlenSeriesModel *self)
{
  guint n = 0;
  g_return_val_if_fail (DLEN_IS_SERIES_MODEL (self), 0);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      for (guint j = 0; j < s->points->len; j++)
        {
          DlenPoint *p = &g_array_index (s->points, DlenPoint, j);
          n += isfinite (p->x) && isfinite (p->y);
        }
    }
  return n;
}

gboolean
dlen_series_model_get_bounds (DlenSeriesModel *self, double *x_min, double *x_max, double *y_min, double *y_max)
{
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  g_return_val_if_fail (DLEN_IS_SERIES_MODEL (self), FALSE);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      for (guint j = 0; j < s->points->len; j++)
        {
          DlenPoint *p = &g_array_index (s->points, DlenPoint, j);
          if (!isfinite (p->x) || !isfinite (p->y))
            continue;
          x0 = MIN (x0, p->x);
          x1 = MAX (x1, p->x);
          y0 = MIN (y0, p->y);
          y1 = MAX (y1, p->y);
        }
    }
  if (x0 > x1)
    return FALSE;
  if (x_min) *x_min = x0;
  if (x_max) *x_max = x1;
  if (y_min) *y_min = y0;
  if (y_max) *y_max = y1;
  return TRUE;
}
