/* dlen-analysis.h: the analysis views of a trained model over a project's cached predictions:
 * fusion replay sets (signals, outcomes, objectionable flags) and their JSON reports. */
#pragma once

#include <glib.h>
#include "dlen-store.h"

G_BEGIN_DECLS

typedef enum {
  DLEN_OBJECTIONABLE_USER = 1,   /* the user gave negative feedback on that impression */
  DLEN_OBJECTIONABLE_ITEM = 2,   /* the item's negative-feedback rate in the training split is high */
  DLEN_OBJECTIONABLE_BOTH = 3,   /* either */
} DlenObjectionableRule;

typedef struct {
  gint64 model_id;
  gboolean all_rows;             /* replay every impression instead of the model's test split */
  DlenObjectionableRule rule;
  double item_threshold;         /* item rule: negative-feedback rate above this ... */
  guint item_min_count;          /* ... over at least this many training impressions */
} DlenReplayOptions;

void dlen_replay_options_init (DlenReplayOptions *options);
gboolean dlen_objectionable_rule_from_string (const char *text, DlenObjectionableRule *rule);
const char *dlen_objectionable_rule_to_string (DlenObjectionableRule rule);

/* A model's cached predictions packed for replay. Signals are, per target, log p (binary) or
 * log1p(expected seconds) (durations), then log p_e for DLEN models; outcomes are the observed
 * labels of every target. */
typedef struct {
  DlenReplay *replay;
  guint n_signals;               /* n_targets (+1 with an emotion) */
  guint n_targets;
  char **names;                  /* n_signals names: the targets', then "emotion" */
  DlenTargetKind kind[DLEN_MAX_TARGETS];
  DlenPolarity polarity[DLEN_MAX_TARGETS];
  gboolean has_emotion;
  char **categories;             /* category index -> value, or NULL without a category field */
  guint n_categories;
  gsize n_rows;
  gint32 split_day;
  DlenReplayOptions options;
} DlenReplaySet;

/* Loads the cached predictions of options->model_id (run `dlen predict PROJECT --model ID`
 * first) for the model's test split or every row. */
DlenReplaySet *dlen_replay_set_load (DlenStore *store, const DlenReplayOptions *options, GError **error);
void dlen_replay_set_free (DlenReplaySet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenReplaySet, dlen_replay_set_free)

/* Weight presets: "with-emotion" (engagement targets +1, negative targets -1, stay 0.2,
 * emotion +1), "no-emotion" (the same with emotion 0), "engagement-only" (click, long view and
 * stay only). @weights has set->n_signals entries. FALSE for an unknown name. */
gboolean dlen_replay_set_preset (const DlenReplaySet *set, const char *preset, float *weights);

/* Parses "w1,w2,..." (exactly n_signals numbers) or "name=w,name=w" (others 0). */
gboolean dlen_replay_set_parse_weights (const DlenReplaySet *set, const char *text, float *weights, GError **error);

/* The replay report as JSON: the ranked top-K, the logged order and the baseline (the same
 * weights with the emotion's set to 0), deltas against the baseline, and per-category slots. */
char *dlen_replay_report_json (const DlenReplaySet *set, const float *weights, guint k, GError **error);

/* ---- Emotion trajectories -------------------------------------------------------------------- */

typedef enum {
  DLEN_TRAJECTORY_SESSION_START = 1 << 0,  /* first impression of its session */
  DLEN_TRAJECTORY_POSITIVE = 1 << 1,       /* a weak-positive target (like, share, ...) is 1 */
  DLEN_TRAJECTORY_NEGATIVE = 1 << 2,       /* a negative-polarity target (negative feedback) is 1 */
} DlenTrajectoryFlags;

typedef struct {
  gint64 time_ms;
  gint64 session;
  double smoothed;             /* trailing mean of p_e over the last `smooth` impressions (fewer at the start) */
  float p_e;
  guint8 flags;                /* DlenTrajectoryFlags */
  const char *item;            /* the item's key, "" when unknown; owned by the trajectory */
  const char *category;        /* "" without a "category" field */
} DlenTrajectoryPoint;

/* One user's emotion over time under a model: the series the Emotions page draws and
 * `dlen trajectory --json` prints. Points are in time order (then impression order).
 * Reference counted; read-only once built, so it may be shared between threads. */
typedef struct {
  char *user;
  gint64 model_id;
  guint smooth;
  guint n_targets;
  char **target_names;                     /* n_targets names (NULL-terminated) */
  DlenTargetKind kind[DLEN_MAX_TARGETS];   /* binary: probability; duration: expected seconds */
  gsize n_points;
  const DlenTrajectoryPoint *points;       /* n_points; valid until the next append */
  const float *predictions;                /* n_points x n_targets, every target's prediction */
} DlenTrajectory;

/* An empty trajectory for @n_targets targets named @target_names (kinds all binary); fill it
 * with dlen_trajectory_append(). Used by the loader below and by synthetic series (benchmarks). */
DlenTrajectory *dlen_trajectory_new (const char *user, gint64 model_id, guint smooth, guint n_targets,
                                     const char *const *target_names);
/* Appends one impression (after every earlier one in time): computes the trailing mean and
 * the session-start flag. @flags: DLEN_TRAJECTORY_POSITIVE / _NEGATIVE (others ignored).
 * @predictions: n_targets floats, copied; @item and @category are copied (NULL: ""). */
void dlen_trajectory_append (DlenTrajectory *traj, gint64 time_ms, gint64 session, float p_e, guint flags,
                             const char *item, const char *category, const float *predictions);
DlenTrajectory *dlen_trajectory_ref (DlenTrajectory *traj);
void dlen_trajectory_unref (DlenTrajectory *traj);   /* NULL is a no-op */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenTrajectory, dlen_trajectory_unref)

/* One user's emotion over time under DLEN model @model_id from its cached predictions (one
 * indexed query). An error when the model is not DLEN or the user has no cached predictions. */
DlenTrajectory *dlen_trajectory_load (DlenStore *store, gint64 model_id, const char *user, guint smooth,
                                      GError **error);

/* The trajectory as JSON:
 * {"user", "model_id", "smooth", "points": [{"time_ms", "p_e", "smoothed", "session", "session_start",
 *   "item", "category", "positive", "negative", "predictions": {target: p}}]}. */
char *dlen_trajectory_to_json (const DlenTrajectory *traj);

/* dlen_trajectory_load() then dlen_trajectory_to_json(). */
char *dlen_trajectory_json (DlenStore *store, gint64 model_id, const char *user, guint smooth, GError **error);

/* ---- Per-user emotion summaries ---------------------------------------------------------------- */

typedef struct {
  char *user;                  /* users.key */
  gint64 impressions;          /* impressions with a cached prediction */
  double mean_emotion;         /* mean p_e */
  double emotion_variance;     /* population variance of p_e */
  gint64 negative;             /* impressions with negative feedback (a negative-polarity target = 1) */
} DlenUserSummary;

/* Every user's summary under DLEN model @model_id over its cached predictions (one GROUP BY
 * query), in users.id order: a GArray of DlenUserSummary that frees the user keys with it.
 * Empty (not an error) when nothing is cached. Polls the store's cancellable. */
GArray *dlen_user_summaries_load (DlenStore *store, gint64 model_id, GError **error);

/* TRUE when @model_id has at least one cached prediction. */
gboolean dlen_model_has_predictions (DlenStore *store, gint64 model_id);

G_END_DECLS
