/* dlen-model-summary.c: reads the models table and parses its metrics and history JSON. */
#include <math.h>
#include <json-glib/json-glib.h>
#include "dlen-error.h"
#include "dlen-model-summary.h"

static void
target_clear (gpointer data)
{
  DlenTargetSummary *t = data;
  g_free (t->name);
}

void
dlen_model_summary_free (DlenModelSummary *s)
{
  if (!s)
    return;
  g_free (s->name);
  g_free (s->arch);
  g_array_unref (s->targets);
  g_array_unref (s->history);
  g_free (s);
}

/* A member as a number: NaN when absent, null or not a number. */
static double
member_double (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return NAN;
  switch (json_node_get_value_type (n))
    {
    case G_TYPE_DOUBLE:
    case G_TYPE_INT64:
    case G_TYPE_INT:
      return json_node_get_double (n);
    default:
      return NAN;
    }
}

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static void
parse_metrics (DlenModelSummary *s, const char *json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *o, *test;
  double v;
  if (!json || !json_parser_load_from_data (parser, json, -1, NULL))
    return;
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  o = json_node_get_object (root);
  s->emotion_auc = member_double (o, "emotion_auc");
  s->true_emotion_auc = member_double (o, "true_emotion_auc");
  v = member_double (o, "split_date");
  s->split_date = isfinite (v) ? (gint32) v : 0;
  v = member_double (o, "test_rows");
  s->test_rows = isfinite (v) ? (gint64) v : 0;
  v = member_double (o, "best_epoch");
  s->best_epoch = isfinite (v) && v > 0 ? (guint) v : 0;
  test = member_object (o, "test");
  if (!test)
    return;
  /* json-glib keeps members in document order, which is the model's target order. */
  {
    g_autoptr (GList) names = json_object_get_members (test);
    for (GList *l = names; l; l = l->next)
      {
        JsonObject *t = member_object (test, l->data);
        DlenTargetSummary ts = { 0 };
        if (!t)
          continue;
        ts.name = g_strdup (l->data);
        ts.binary = json_object_has_member (t, "auc");
        ts.auc = member_double (t, "auc");
        ts.gauc = member_double (t, "gauc");
        ts.logloss = member_double (t, "logloss");
        ts.mean_predicted = member_double (t, "mean_predicted");
        ts.mean_observed = member_double (t, "mean_observed");
        ts.rmse_log1p = member_double (t, "rmse_log1p");
        v = member_double (t, "n");
        ts.n = isfinite (v) ? (gint64) v : 0;
        g_array_append_val (s->targets, ts);
      }
  }
}

static void
parse_history (DlenModelSummary *s, const char *json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonArray *a;
  if (!json || !json_parser_load_from_data (parser, json, -1, NULL))
    return;
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_ARRAY (root))
    return;
  a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *n = json_array_get_element (a, i);
      JsonObject *o, *aucs;
      DlenEpochSummary e;
      double v;
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      o = json_node_get_object (n);
      v = member_double (o, "epoch");
      e.epoch = isfinite (v) && v > 0 ? (guint) v : i + 1;
      e.train_loss = member_double (o, "train_loss");
      e.valid_mean_auc = member_double (o, "valid_mean_auc");
      e.valid_emotion_auc = member_double (o, "valid_emotion_auc");
      aucs = member_object (o, "valid_auc");
      for (guint k = 0; k < DLEN_MAX_TARGETS; k++)
        {
          char key[8];
          g_snprintf (key, sizeof key, "%u", k);
          e.valid_auc[k] = member_double (aucs, key);
        }
      g_array_append_val (s->history, e);
    }
}

DlenModelSummary *
dlen_model_summary_new (gint64 id, const char *name, const char *arch, gint64 created_ms, const char *metrics_json,
                        const char *history_json)
{
  DlenModelSummary *s = g_new0 (DlenModelSummary, 1);
  s->id = id;
  s->name = g_strdup (name ? name : "");
  s->arch = g_strdup (arch ? arch : "");
  s->created_ms = created_ms;
  s->targets = g_array_new (FALSE, TRUE, sizeof (DlenTargetSummary));
  g_array_set_clear_func (s->targets, target_clear);
  s->history = g_array_new (FALSE, TRUE, sizeof (DlenEpochSummary));
  s->emotion_auc = NAN;
  s->true_emotion_auc = NAN;
  parse_metrics (s, metrics_json);
  parse_history (s, history_json);
  return s;
}

GPtrArray *
dlen_model_summaries_load (DlenStore *store, GError **error)
{
  sqlite3 *db = dlen_store_db (store);
  sqlite3_stmt *st = NULL;
  GPtrArray *out;
  int rc;
  if (sqlite3_prepare_v2 (db, "SELECT id, name, arch, created_ms, metrics, history FROM models ORDER BY id", -1, &st,
                          NULL) != SQLITE_OK)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: cannot read the models: %s", dlen_store_path (store),
                   sqlite3_errmsg (db));
      return NULL;
    }
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) dlen_model_summary_free);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, dlen_model_summary_new (sqlite3_column_int64 (st, 0), (const char *) sqlite3_column_text (st, 1),
                                                  (const char *) sqlite3_column_text (st, 2), sqlite3_column_int64 (st, 3),
                                                  (const char *) sqlite3_column_text (st, 4),
                                                  (const char *) sqlite3_column_text (st, 5)));
  if (rc != SQLITE_DONE)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: cannot read the models: %s", dlen_store_path (store),
                   sqlite3_errmsg (db));
      g_clear_pointer (&out, g_ptr_array_unref);
    }
  sqlite3_finalize (st);
  return out;
}

const DlenTargetSummary *
dlen_model_summary_find_target (const DlenModelSummary *s, const char *name)
{
  for (guint i = 0; i < s->targets->len; i++)
    {
      const DlenTargetSummary *t = &g_array_index (s->targets, DlenTargetSummary, i);
      if (g_str_equal (t->name, name))
        return t;
    }
  return NULL;
}

char *
dlen_format_day (gint32 day)
{
  if (day <= 0)
    return g_strdup ("—");
  return g_strdup_printf ("%04d-%02d-%02d", day / 10000, day / 100 % 100, day % 100);
}

char *
dlen_format_time_ms (gint64 ms)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (ms / 1000);
  return t ? g_date_time_format (t, "%Y-%m-%d %H:%M") : g_strdup ("—");
}
