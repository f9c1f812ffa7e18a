/* dlen-analysis.c: replay sets from a project's cached predictions, weight presets and the
 * replay report. */
#include <math.h>
#include <string.h>
#include "dlen-analysis.h"
#include "dlen-error.h"
#include "dlen-training.h"

void
dlen_replay_options_init (DlenReplayOptions *o)
{
  memset (o, 0, sizeof *o);
  o->rule = DLEN_OBJECTIONABLE_BOTH;
  o->item_threshold = 0.2;
  o->item_min_count = 5;
}

static const char *const rule_names[] = { NULL, "user", "item", "both" };

gboolean
dlen_objectionable_rule_from_string (const char *text, DlenObjectionableRule *rule)
{
  for (int i = 1; i <= 3; i++)
    if (g_strcmp0 (text, rule_names[i]) == 0)
      {
        *rule = (DlenObjectionableRule) i;
        return TRUE;
      }
  return FALSE;
}

const char *
dlen_objectionable_rule_to_string (DlenObjectionableRule rule)
{
  return rule >= 1 && rule <= 3 ? rule_names[rule] : "unknown";
}

void
dlen_replay_set_free (DlenReplaySet *set)
{
  if (!set)
    return;
  dlen_replay_free (set->replay);
  g_strfreev (set->names);
  g_strfreev (set->categories);
  g_free (set);
}

static gboolean
sql_error (DlenStore *store, GError **error, const char *what)
{
  g_set_error (error, DLEN_ERROR, DLEN_ERROR_FAILED, "%s: %s: %s", dlen_store_path (store), what,
               sqlite3_errmsg (dlen_store_db (store)));
  return FALSE;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

DlenReplaySet *
dlen_replay_set_load (DlenStore *store, const DlenReplayOptions *o, GError **error)
{
  sqlite3 *db = dlen_store_db (store);
  g_autoptr (DlenReplaySet) set = g_new0 (DlenReplaySet, 1);
  g_autoptr (DlenModel) model = NULL;
  g_autoptr (sqlite3_stmt) st = NULL;
  g_autoptr (GString) sql = g_string_new (NULL), neg = g_string_new ("0");
  g_autoptr (GArray) signals = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) outcomes = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) requests = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GArray) flags = g_array_new (FALSE, FALSE, sizeof (guint8));
  g_autoptr (GArray) cats = g_array_new (FALSE, FALSE, sizeof (guint16));
  g_autoptr (GHashTable) cat_index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) cat_names = g_ptr_array_new ();
  g_autoptr (GHashTable) bad_items = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (GArray) bad_item_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 target_col[DLEN_MAX_TARGETS] = { 0 }, category_col = 0;
  const DlenSchema *schema;
  const char *split;
  DlenReplayData d;
  guint width;
  int rc;

  set->options = *o;
  model = dlen_store_load_model (store, o->model_id, error);
  if (!model)
    return NULL;
  schema = dlen_model_schema (model);
  set->n_targets = schema->n_targets;
  set->has_emotion = dlen_model_config (model)->arch == DLEN_ARCH_DLEN;
  set->n_signals = set->n_targets + (set->has_emotion ? 1 : 0);
  set->names = g_new0 (char *, set->n_signals + 1);
  for (guint t = 0; t < set->n_targets; t++)
    {
      set->names[t] = g_strdup (schema->targets[t].name);
      set->kind[t] = schema->targets[t].kind;
      set->polarity[t] = schema->targets[t].polarity;
    }
  if (set->has_emotion)
    set->names[set->n_targets] = g_strdup ("emotion");
  split = dlen_model_get_meta (model, "split_date");
  set->split_day = split ? (gint32) g_ascii_strtoll (split, NULL, 10) : 0;
  width = set->n_targets + 1;

  /* The project's columns of the model's targets (matched by name) and of a "category" field. */
  if (sqlite3_prepare_v2 (db, "SELECT id, kind, name FROM fields", -1, &st, NULL) != SQLITE_OK)
    return sql_error (store, error, "cannot read the fields"), NULL;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *kind = (const char *) sqlite3_column_text (st, 1), *name = (const char *) sqlite3_column_text (st, 2);
      for (guint t = 0; t < set->n_targets; t++)
        if (g_str_equal (kind, "target") && g_str_equal (name, schema->targets[t].name))
          target_col[t] = sqlite3_column_int64 (st, 0);
      if (g_str_equal (kind, "category") && g_str_equal (name, "category"))
        category_col = sqlite3_column_int64 (st, 0);
    }
  g_clear_pointer (&st, sqlite3_finalize);
  for (guint t = 0; t < set->n_targets; t++)
    {
      if (!target_col[t])
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: the project has no target '%s' of model %" G_GINT64_FORMAT,
                       dlen_store_path (store), schema->targets[t].name, o->model_id);
          return NULL;
        }
      if (schema->targets[t].kind == DLEN_TARGET_BINARY && schema->targets[t].polarity == DLEN_POLARITY_NEGATIVE)
        g_string_append_printf (neg, " OR i.f%" G_GINT64_FORMAT " = 1", target_col[t]);
    }
  if (g_str_equal (neg->str, "0") && o->rule != DLEN_OBJECTIONABLE_ITEM)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                   "%s: the model has no negative-feedback target, so no impression can count as objectionable",
                   dlen_store_path (store));
      return NULL;
    }

  /* Items objectionable by rate: negative feedback over the training split (before the model's
   * test days), so the replayed rows never judge themselves. */
  if (o->rule & DLEN_OBJECTIONABLE_ITEM)
    {
      g_string_printf (sql, "SELECT i.item_id FROM impressions i WHERE i.item_id IS NOT NULL AND i.day < ?"
                            " GROUP BY i.item_id HAVING count(*) >= ? AND avg(%s) > ?", neg->str);
      if (sqlite3_prepare_v2 (db, sql->str, -1, &st, NULL) != SQLITE_OK)
        return sql_error (store, error, "cannot rate the items"), NULL;
      sqlite3_bind_int (st, 1, set->split_day ? set->split_day : G_MAXINT32);
      sqlite3_bind_int (st, 2, (int) o->item_min_count);
      sqlite3_bind_double (st, 3, o->item_threshold);
      while ((rc = sqlite3_step (st)) == SQLITE_ROW)
        {
          gint64 id = sqlite3_column_int64 (st, 0);
          g_array_append_val (bad_item_ids, id);
        }
      g_clear_pointer (&st, sqlite3_finalize);
      for (guint i = 0; i < bad_item_ids->len; i++)
        g_hash_table_add (bad_items, &g_array_index (bad_item_ids, gint64, i));
    }

  g_string_printf (sql, "SELECT i.request, i.item_id, p.p, (%s)", neg->str);
  for (guint t = 0; t < set->n_targets; t++)
    g_string_append_printf (sql, ", i.f%" G_GINT64_FORMAT, target_col[t]);
  if (category_col)
    g_string_append_printf (sql, ", i.f%" G_GINT64_FORMAT, category_col);
  g_string_append (sql, " FROM predictions p JOIN impressions i ON i.id = p.impression_id"
                        " WHERE p.model_id = ? AND (? OR i.day >= ?) ORDER BY i.id");
  if (sqlite3_prepare_v2 (db, sql->str, -1, &st, NULL) != SQLITE_OK)
    return sql_error (store, error, "cannot read the cached predictions"), NULL;
  sqlite3_bind_int64 (st, 1, o->model_id);
  sqlite3_bind_int (st, 2, o->all_rows || !set->split_day);
  sqlite3_bind_int (st, 3, set->split_day);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const float *p = sqlite3_column_blob (st, 2);
      guint64 request = (guint64) sqlite3_column_int64 (st, 0);
      gint64 item = sqlite3_column_int64 (st, 1);
      guint8 flag = 0;
      int k = 4;
      if (sqlite3_column_bytes (st, 2) != (int) (width * sizeof (float)))
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_FORMAT, "%s: cached predictions of model %" G_GINT64_FORMAT
                       " have the wrong size", dlen_store_path (store), o->model_id);
          return NULL;
        }
      for (guint t = 0; t < set->n_targets; t++)
        {
          float v = p[t];
          float sgn = set->kind[t] == DLEN_TARGET_BINARY ? logf (MAX (v, 1e-7f)) : log1pf (MAX (v, 0.0f));
          g_array_append_val (signals, sgn);
        }
      if (set->has_emotion)
        {
          float le = logf (MAX (p[set->n_targets], 1e-7f));
          g_array_append_val (signals, le);
        }
      for (guint t = 0; t < set->n_targets; t++, k++)
        {
          float y = sqlite3_column_type (st, k) == SQLITE_NULL ? NAN : (float) sqlite3_column_double (st, k);
          g_array_append_val (outcomes, y);
        }
      if ((o->rule & DLEN_OBJECTIONABLE_USER) && sqlite3_column_int (st, 3))
        flag = 1;
      if ((o->rule & DLEN_OBJECTIONABLE_ITEM) && g_hash_table_contains (bad_items, &item))
        flag = 1;
      g_array_append_val (flags, flag);
      g_array_append_val (requests, request);
      if (category_col)
        {
          const char *c = sqlite3_column_type (st, k) == SQLITE_NULL ? "" : (const char *) sqlite3_column_text (st, k);
          gpointer idx;
          guint16 ci;
          if (!g_hash_table_lookup_extended (cat_index, c, NULL, &idx))
            {
              if (cat_names->len == DLEN_REPLAY_MAX_CATEGORIES)
                c = "(other)";
              if (!g_hash_table_lookup_extended (cat_index, c, NULL, &idx))
                {
                  idx = GUINT_TO_POINTER (cat_names->len);
                  g_hash_table_insert (cat_index, g_strdup (c), idx);
                  g_ptr_array_add (cat_names, g_strdup (c));
                }
            }
          ci = (guint16) GPOINTER_TO_UINT (idx);
          g_array_append_val (cats, ci);
        }
    }
  if (rc != SQLITE_DONE)
    return sql_error (store, error, "cannot read the cached predictions"), NULL;
  set->n_rows = requests->len;
  if (set->n_rows == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                   "%s: model %" G_GINT64_FORMAT " has no cached predictions%s; run 'dlen predict %s --model %" G_GINT64_FORMAT
                   " --no-csv' first", dlen_store_path (store), o->model_id, o->all_rows ? "" : " on its test split",
                   dlen_store_path (store), o->model_id);
      return NULL;
    }
  d = (DlenReplayData) { set->n_rows, set->n_signals, (const float *) signals->data, set->n_targets,
                         (const float *) outcomes->data, (const uint64_t *) requests->data,
                         (const uint8_t *) flags->data, category_col ? (const uint16_t *) cats->data : NULL };
  set->replay = dlen_replay_new (&d);
  if (!set->replay)
    {
      dlen_set_error_from_status (error, DLEN_STATUS_DATA, "replay");
      return NULL;
    }
  if (category_col)
    {
      g_ptr_array_add (cat_names, NULL);
      set->n_categories = cat_names->len - 1;
      set->categories = (char **) g_ptr_array_free (g_steal_pointer (&cat_names), FALSE);
    }
  return g_steal_pointer (&set);
}

static gboolean
engagement_target (const char *name)
{
  static const char *const engaged[] = { "click", "is_click", "long_view", "like", "share", "follow", "forward",
                                         "comment", NULL };
  return g_strv_contains (engaged, name);
}

gboolean
dlen_replay_set_preset (const DlenReplaySet *set, const char *preset, float *w)
{
  gboolean with = g_strcmp0 (preset, "with-emotion") == 0, without = g_strcmp0 (preset, "no-emotion") == 0;
  gboolean engagement = g_strcmp0 (preset, "engagement-only") == 0;
  if (!with && !without && !engagement)
    return FALSE;
  for (guint t = 0; t < set->n_targets; t++)
    {
      const char *name = set->names[t];
      if (set->kind[t] == DLEN_TARGET_DURATION)
        w[t] = 0.2f;
      else if (engagement)
        w[t] = g_str_equal (name, "click") || g_str_equal (name, "long_view") ? 1.0f : 0.0f;
      else if (set->polarity[t] == DLEN_POLARITY_NEGATIVE)
        w[t] = -1.0f;
      else
        w[t] = engagement_target (name) ? 1.0f : 0.0f;
    }
  if (set->has_emotion)
    w[set->n_targets] = with ? 1.0f : 0.0f;
  return TRUE;
}

gboolean
dlen_replay_set_parse_weights (const DlenReplaySet *set, const char *text, float *w, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  gboolean named = strchr (text, '=') != NULL;
  guint n = g_strv_length (parts);
  if (!named && n != set->n_signals)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "--weights needs %u numbers (one per target, then the emotion), not %u",
                   set->n_signals, n);
      return FALSE;
    }
  if (named)
    memset (w, 0, set->n_signals * sizeof (float));
  for (guint i = 0; i < n; i++)
    {
      char *value = parts[i], *end;
      double v;
      guint slot = i;
      if (named)
        {
          char *eq = strchr (parts[i], '=');
          gboolean found = FALSE;
          if (!eq)
            {
              g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "weight '%s' is not NAME=VALUE", parts[i]);
              return FALSE;
            }
          *eq = '\0';
          value = eq + 1;
          for (guint j = 0; j < set->n_signals; j++)
            if (g_str_equal (set->names[j], g_strstrip (parts[i])))
              {
                slot = j;
                found = TRUE;
              }
          if (!found)
            {
              g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "no target or emotion named '%s'", parts[i]);
              return FALSE;
            }
        }
      v = g_ascii_strtod (value, &end);
      if (end == value || *end || !isfinite (v))
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "weight '%s' is not a finite number", value);
          return FALSE;
        }
      w[slot] = (float) v;
    }
  return TRUE;
}

static void
json_result (GString *s, const DlenReplaySet *set, const DlenReplayResult *r)
{
  g_string_append_printf (s, "{\"slots\": %" G_GUINT64_FORMAT ", \"objectionable\": ", r->slots);
  dlen_json_number (s, r->objectionable);
  g_string_append (s, ", \"outcomes\": {");
  for (guint t = 0; t < set->n_targets; t++)
    {
      if (t)
        g_string_append (s, ", ");
      dlen_json_string (s, set->names[t]);
      g_string_append (s, ": ");
      dlen_json_number (s, r->outcome[t]);
    }
  g_string_append (s, "}}");
}

char *
dlen_replay_report_json (const DlenReplaySet *set, const float *w, guint k, GError **error)
{
  DlenReplayResult ranked, logged, baseline;
  float base_w[DLEN_REPLAY_MAX_SIGNALS];
  g_autoptr (GString) s = g_string_new ("{");
  int st;
  memcpy (base_w, w, set->n_signals * sizeof (float));
  if (set->has_emotion)
    base_w[set->n_targets] = 0.0f;
  if ((st = dlen_replay_run (set->replay, w, k, &ranked)) != DLEN_STATUS_OK
      || (st = dlen_replay_run (set->replay, NULL, k, &logged)) != DLEN_STATUS_OK
      || (st = dlen_replay_run (set->replay, base_w, k, &baseline)) != DLEN_STATUS_OK)
    {
      dlen_set_error_from_status (error, st, "replay");
      return NULL;
    }
  g_string_append_printf (s, "\"model_id\": %" G_GINT64_FORMAT ", \"k\": %u, \"rows\": %" G_GSIZE_FORMAT
                             ", \"requests\": %" G_GSIZE_FORMAT ", \"split_date\": %d, \"test_split_only\": %s"
                             ", \"objectionable_rule\": \"%s\", \"weights\": {",
                          set->options.model_id, k, set->n_rows, dlen_replay_n_requests (set->replay), set->split_day,
                          set->options.all_rows ? "false" : "true", dlen_objectionable_rule_to_string (set->options.rule));
  for (guint j = 0; j < set->n_signals; j++)
    {
      if (j)
        g_string_append (s, ", ");
      dlen_json_string (s, set->names[j]);
      g_string_append (s, ": ");
      dlen_json_number (s, w[j]);
    }
  g_string_append (s, "}, \"ranked\": ");
  json_result (s, set, &ranked);
  g_string_append (s, ", \"logged\": ");
  json_result (s, set, &logged);
  g_string_append (s, ", \"baseline\": ");
  json_result (s, set, &baseline);
  g_string_append (s, ", \"delta_vs_baseline\": {\"objectionable\": ");
  dlen_json_number (s, ranked.objectionable - baseline.objectionable);
  for (guint t = 0; t < set->n_targets; t++)
    {
      g_string_append (s, ", ");
      dlen_json_string (s, set->names[t]);
      g_string_append (s, ": ");
      dlen_json_number (s, ranked.outcome[t] - baseline.outcome[t]);
    }
  g_string_append (s, "}, \"categories\": [");
  for (guint c = 0; c < set->n_categories; c++)
    {
      if (c)
        g_string_append (s, ", ");
      g_string_append (s, "{\"category\": ");
      dlen_json_string (s, set->categories[c]);
      g_string_append_printf (s, ", \"slots\": %" G_GUINT64_FORMAT ", \"baseline_slots\": %" G_GUINT64_FORMAT
                                 ", \"objectionable_slots\": %" G_GUINT64_FORMAT "}",
                              ranked.category_slots[c], baseline.category_slots[c], ranked.category_objectionable[c]);
    }
  g_string_append (s, "]}");
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ---- Emotion trajectories -------------------------------------------------------------------- */

typedef struct {
  DlenTrajectory pub;
  GArray *points;              /* DlenTrajectoryPoint */
  GArray *predictions;         /* float */
  GStringChunk *strings;       /* item and category keys, deduplicated */
  double *window;              /* the last `smooth` p_e values, a ring */
  double sum;
  gint64 prev_session;
} Trajectory;

DlenTrajectory *
dlen_trajectory_new (const char *user, gint64 model_id, guint smooth, guint n_targets, const char *const *target_names)
{
  Trajectory *t = g_atomic_rc_box_new0 (Trajectory);
  g_return_val_if_fail (n_targets <= DLEN_MAX_TARGETS, NULL);
  t->pub.user = g_strdup (user ? user : "");
  t->pub.model_id = model_id;
  t->pub.smooth = MAX (smooth, 1u);
  t->pub.n_targets = n_targets;
  t->pub.target_names = g_new0 (char *, n_targets + 1);
  for (guint k = 0; k < n_targets; k++)
    {
      t->pub.target_names[k] = g_strdup (target_names ? target_names[k] : "");
      t->pub.kind[k] = DLEN_TARGET_BINARY;
    }
  t->points = g_array_new (FALSE, FALSE, sizeof (DlenTrajectoryPoint));
  t->predictions = g_array_new (FALSE, FALSE, sizeof (float));
  t->strings = g_string_chunk_new (4096);
  t->window = g_new0 (double, t->pub.smooth);
  t->prev_session = G_MININT64;
  return &t->pub;
}

void
dlen_trajectory_append (DlenTrajectory *traj, gint64 time_ms, gint64 session, float p_e, guint flags,
                        const char *item, const char *category, const float *predictions)
{
  Trajectory *t = (Trajectory *) traj;
  guint smooth = traj->smooth;
  gsize n = t->points->len;
  DlenTrajectoryPoint pt;

  /* Trailing mean over the last @smooth impressions (fewer at the start). */
  t->sum += p_e - t->window[n % smooth];
  t->window[n % smooth] = p_e;
  pt.time_ms = time_ms;
  pt.session = session;
  pt.p_e = p_e;
  pt.smoothed = t->sum / MIN (n + 1, smooth);
  pt.flags = flags & (DLEN_TRAJECTORY_POSITIVE | DLEN_TRAJECTORY_NEGATIVE);
  if (session != t->prev_session)
    pt.flags |= DLEN_TRAJECTORY_SESSION_START;
  pt.item = g_string_chunk_insert_const (t->strings, item ? item : "");
  pt.category = g_string_chunk_insert_const (t->strings, category ? category : "");
  t->prev_session = session;
  g_array_append_val (t->points, pt);
  if (traj->n_targets)
    g_array_append_vals (t->predictions, predictions, traj->n_targets);
  traj->points = (const DlenTrajectoryPoint *) t->points->data;
  traj->predictions = (const float *) t->predictions->data;
  traj->n_points = t->points->len;
}

DlenTrajectory *
dlen_trajectory_ref (DlenTrajectory *traj)
{
  return g_atomic_rc_box_acquire (traj);
}

static void
trajectory_clear (gpointer data)
{
  Trajectory *t = data;
  g_free (t->pub.user);
  g_strfreev (t->pub.target_names);
  g_array_unref (t->points);
  g_array_unref (t->predictions);
  g_string_chunk_free (t->strings);
  g_free (t->window);
}

void
dlen_trajectory_unref (DlenTrajectory *traj)
{
  if (traj)
    g_atomic_rc_box_release_full (traj, trajectory_clear);
}

/* The SQL of a model's targets in the project: "(0 OR i.fA = 1 ...)" for negative feedback
 * (negative-polarity binary targets) and for positive actions (weak-positive binary targets),
 * and the column of a "category" field (0 without one). */
static gboolean
target_expressions (DlenStore *store, const DlenSchema *schema, GString *pos, GString *neg, gint64 *category_col,
                    GError **error)
{
  g_autoptr (sqlite3_stmt) st = NULL;
  int rc;
  g_string_assign (pos, "0");
  g_string_assign (neg, "0");
  *category_col = 0;
  if (sqlite3_prepare_v2 (dlen_store_db (store), "SELECT id, kind, name FROM fields", -1, &st, NULL) != SQLITE_OK)
    return sql_error (store, error, "cannot read the fields");
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *kind = (const char *) sqlite3_column_text (st, 1), *name = (const char *) sqlite3_column_text (st, 2);
      gint64 id = sqlite3_column_int64 (st, 0);
      if (g_str_equal (kind, "category") && g_str_equal (name, "category"))
        *category_col = id;
      for (guint t = 0; t < schema->n_targets; t++)
        if (g_str_equal (kind, "target") && g_str_equal (name, schema->targets[t].name)
            && schema->targets[t].kind == DLEN_TARGET_BINARY)
          {
            if (schema->targets[t].polarity == DLEN_POLARITY_NEGATIVE)
              g_string_append_printf (neg, " OR i.f%" G_GINT64_FORMAT " = 1", id);
            else if (schema->targets[t].weak_source)
              g_string_append_printf (pos, " OR i.f%" G_GINT64_FORMAT " = 1", id);
          }
    }
  if (rc != SQLITE_DONE)
    return sql_error (store, error, "cannot read the fields");
  return TRUE;
}

static DlenModel *
load_dlen_model (DlenStore *store, gint64 model_id, const char *what, GError **error)
{
  g_autoptr (DlenModel) model = dlen_store_load_model (store, model_id, error);
  if (model && dlen_model_config (model)->arch != DLEN_ARCH_DLEN)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "model %" G_GINT64_FORMAT " is %s: %s need a DLEN model",
                   model_id, dlen_arch_to_string (dlen_model_config (model)->arch), what);
      return NULL;
    }
  return g_steal_pointer (&model);
}

DlenTrajectory *
dlen_trajectory_load (DlenStore *store, gint64 model_id, const char *user, guint smooth, GError **error)
{
  sqlite3 *db = dlen_store_db (store);
  g_autoptr (DlenModel) model = load_dlen_model (store, model_id, "trajectories", error);
  g_autoptr (sqlite3_stmt) st = NULL;
  g_autoptr (GString) sql = g_string_new (NULL), pos = g_string_new (NULL), neg = g_string_new (NULL);
  g_autoptr (DlenTrajectory) traj = NULL;
  g_autofree char *category_expr = NULL;
  const char *names[DLEN_MAX_TARGETS + 1];
  gint64 category_col = 0;
  const DlenSchema *schema;
  guint width;
  int rc;

  if (!model)
    return NULL;
  schema = dlen_model_schema (model);
  width = schema->n_targets + 1;
  if (!target_expressions (store, schema, pos, neg, &category_col, error))
    return NULL;
  for (guint t = 0; t < schema->n_targets; t++)
    names[t] = schema->targets[t].name;
  traj = dlen_trajectory_new (user, model_id, smooth, schema->n_targets, names);
  for (guint t = 0; t < schema->n_targets; t++)
    traj->kind[t] = schema->targets[t].kind;
  category_expr = category_col ? g_strdup_printf ("i.f%" G_GINT64_FORMAT, category_col) : g_strdup ("NULL");
  g_string_printf (sql, "SELECT i.time_ms, i.session, it.key, (%s), (%s), p.p, %s FROM impressions i"
                        " JOIN users u ON u.id = i.user_id LEFT JOIN items it ON it.id = i.item_id"
                        " JOIN predictions p ON p.impression_id = i.id AND p.model_id = ?"
                        " WHERE u.key = ? ORDER BY i.time_ms, i.id",
                   pos->str, neg->str, category_expr);
  if (sqlite3_prepare_v2 (db, sql->str, -1, &st, NULL) != SQLITE_OK)
    return sql_error (store, error, "cannot read the trajectory"), NULL;
  sqlite3_bind_int64 (st, 1, model_id);
  sqlite3_bind_text (st, 2, user, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const float *p = sqlite3_column_blob (st, 5);
      guint flags = (sqlite3_column_int (st, 3) ? DLEN_TRAJECTORY_POSITIVE : 0)
                    | (sqlite3_column_int (st, 4) ? DLEN_TRAJECTORY_NEGATIVE : 0);
      if (sqlite3_column_bytes (st, 5) != (int) (width * sizeof (float)))
        continue;
      dlen_trajectory_append (traj, sqlite3_column_int64 (st, 0), sqlite3_column_int64 (st, 1), p[schema->n_targets],
                              flags, (const char *) sqlite3_column_text (st, 2),
                              (const char *) sqlite3_column_text (st, 6), p);
    }
  if (rc != SQLITE_DONE)
    return sql_error (store, error, "cannot read the trajectory"), NULL;
  if (traj->n_points == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                   "no cached predictions of model %" G_GINT64_FORMAT " for user '%s' (unknown user, or run 'dlen predict "
                   "PROJECT --model %" G_GINT64_FORMAT " --no-csv' first)", model_id, user, model_id);
      return NULL;
    }
  return g_steal_pointer (&traj);
}

char *
dlen_trajectory_to_json (const DlenTrajectory *traj)
{
  GString *out = g_string_new ("{\"user\": ");
  dlen_json_string (out, traj->user);
  g_string_append_printf (out, ", \"model_id\": %" G_GINT64_FORMAT ", \"smooth\": %u, \"points\": [", traj->model_id,
                          traj->smooth);
  for (gsize i = 0; i < traj->n_points; i++)
    {
      const DlenTrajectoryPoint *pt = &traj->points[i];
      const float *p = traj->predictions + i * traj->n_targets;
      g_string_append_printf (out, "%s{\"time_ms\": %" G_GINT64_FORMAT ", \"p_e\": ", i ? ", " : "", pt->time_ms);
      dlen_json_number (out, pt->p_e);
      g_string_append (out, ", \"smoothed\": ");
      dlen_json_number (out, pt->smoothed);
      g_string_append_printf (out, ", \"session\": %" G_GINT64_FORMAT ", \"session_start\": %s, \"item\": ", pt->session,
                              pt->flags & DLEN_TRAJECTORY_SESSION_START ? "true" : "false");
      dlen_json_string (out, pt->item);
      g_string_append (out, ", \"category\": ");
      dlen_json_string (out, pt->category);
      g_string_append_printf (out, ", \"positive\": %s, \"negative\": %s, \"predictions\": {",
                              pt->flags & DLEN_TRAJECTORY_POSITIVE ? "true" : "false",
                              pt->flags & DLEN_TRAJECTORY_NEGATIVE ? "true" : "false");
      for (guint t = 0; t < traj->n_targets; t++)
        {
          if (t)
            g_string_append (out, ", ");
          dlen_json_string (out, traj->target_names[t]);
          g_string_append (out, ": ");
          dlen_json_number (out, p[t]);
        }
      g_string_append (out, "}}");
    }
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

char *
dlen_trajectory_json (DlenStore *store, gint64 model_id, const char *user, guint smooth, GError **error)
{
  g_autoptr (DlenTrajectory) traj = dlen_trajectory_load (store, model_id, user, smooth, error);
  return traj ? dlen_trajectory_to_json (traj) : NULL;
}

/* ---- Per-user emotion summaries ---------------------------------------------------------------- */

/* dlen_blob_float(blob, k): the k-th float of a predictions blob, NULL when out of range. */
static void
sql_blob_float (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  const float *p = sqlite3_value_blob (argv[0]);
  int bytes = sqlite3_value_bytes (argv[0]);
  sqlite3_int64 k = sqlite3_value_int64 (argv[1]);
  float v;
  if (!p || k < 0 || (k + 1) * (sqlite3_int64) sizeof (float) > bytes)
    {
      sqlite3_result_null (ctx);
      return;
    }
  memcpy (&v, p + k, sizeof v);
  if (isfinite (v))
    sqlite3_result_double (ctx, v);
  else
    sqlite3_result_null (ctx);
}

static void
user_summary_clear (gpointer data)
{
  g_free (((DlenUserSummary *) data)->user);
}

GArray *
dlen_user_summaries_load (DlenStore *store, gint64 model_id, GError **error)
{
  sqlite3 *db = dlen_store_db (store);
  g_autoptr (DlenModel) model = load_dlen_model (store, model_id, "emotion summaries", error);
  g_autoptr (sqlite3_stmt) st = NULL;
  g_autoptr (GString) sql = g_string_new (NULL), pos = g_string_new (NULL), neg = g_string_new (NULL);
  g_autoptr (GArray) out = NULL;
  gint64 category_col;
  const DlenSchema *schema;
  int rc;

  if (!model)
    return NULL;
  schema = dlen_model_schema (model);
  if (!target_expressions (store, schema, pos, neg, &category_col, error))
    return NULL;
  /* Registering again on the same connection replaces the same function: harmless. */
  if (sqlite3_create_function_v2 (db, "dlen_blob_float", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_blob_float,
                                  NULL, NULL, NULL) != SQLITE_OK)
    return sql_error (store, error, "cannot register dlen_blob_float"), NULL;
  /* Variance as E[p^2] - E[p]^2: p_e lies in [0, 1], so doubles lose nothing that shows. */
  g_string_printf (sql, "SELECT u.key, count(e), avg(e), avg(e * e), total(neg) FROM"
                        " (SELECT i.user_id AS uid, dlen_blob_float(p.p, ?) AS e, (%s) AS neg"
                        "  FROM predictions p JOIN impressions i ON i.id = p.impression_id"
                        "  WHERE p.model_id = ? AND length(p.p) = ?)"
                        " JOIN users u ON u.id = uid GROUP BY uid HAVING count(e) > 0 ORDER BY uid",
                   neg->str);
  if (sqlite3_prepare_v2 (db, sql->str, -1, &st, NULL) != SQLITE_OK)
    return sql_error (store, error, "cannot summarise the users"), NULL;
  sqlite3_bind_int (st, 1, (int) schema->n_targets);
  sqlite3_bind_int64 (st, 2, model_id);
  sqlite3_bind_int (st, 3, (int) ((schema->n_targets + 1) * sizeof (float)));
  out = g_array_new (FALSE, FALSE, sizeof (DlenUserSummary));
  g_array_set_clear_func (out, user_summary_clear);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      DlenUserSummary u;
      double mean = sqlite3_column_double (st, 2), sq = sqlite3_column_double (st, 3);
      u.user = g_strdup ((const char *) sqlite3_column_text (st, 0));
      u.impressions = sqlite3_column_int64 (st, 1);
      u.mean_emotion = mean;
      u.emotion_variance = MAX (sq - mean * mean, 0.0);
      u.negative = (gint64) sqlite3_column_double (st, 4);
      g_array_append_val (out, u);
    }
  if (rc == SQLITE_INTERRUPT)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      return NULL;
    }
  if (rc != SQLITE_DONE)
    return sql_error (store, error, "cannot summarise the users"), NULL;
  return g_steal_pointer (&out);
}

gboolean
dlen_model_has_predictions (DlenStore *store, gint64 model_id)
{
  g_autoptr (sqlite3_stmt) st = NULL;
  gboolean yes = FALSE;
  if (sqlite3_prepare_v2 (dlen_store_db (store), "SELECT EXISTS (SELECT 1 FROM predictions WHERE model_id = ?)", -1, &st,
                          NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (st, 1, model_id);
      yes = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0);
    }
  return yes;
}
