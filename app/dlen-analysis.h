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

/* One user's emotion over time under a model (cached predictions): time, p_e, the trailing
 * mean of p_e over @smooth impressions, session, item, category, positive actions (weak-positive
 * targets) and negative feedback, and every prediction. As JSON:
 * {"user", "model_id", "points": [{"time_ms", "p_e", "smoothed", "session", "session_start",
 *   "item", "category", "positive", "negative", "predictions": {target: p}}]}. */
char *dlen_trajectory_json (DlenStore *store, gint64 model_id, const char *user, guint smooth, GError **error);

G_END_DECLS
