/* dlen-fusion-page.h: the Fusion page: fusion weights replayed live over a model's cached
 * predictions (objectionable exposure and engagement in the top K), the exposure-vs-engagement
 * frontier, per-category slots and presets saved in the project. */
#pragma once

#include <adwaita.h>
#include "dlen-analysis.h"
#include "dlen-project.h"

G_BEGIN_DECLS

#define DLEN_TYPE_FUSION_PAGE (dlen_fusion_page_get_type ())
G_DECLARE_FINAL_TYPE (DlenFusionPage, dlen_fusion_page, DLEN, FUSION_PAGE, AdwBin)

/* The project shown ("project" property; NULL shows the empty state). The model list is
 * reloaded on the project's "changed". */
void dlen_fusion_page_set_project (DlenFusionPage *page, DlenProject *project);
DlenProject *dlen_fusion_page_get_project (DlenFusionPage *page);

/* ---- For tests and scripting ------------------------------------------------------------------
 *
 * Loading a model's predictions runs in a worker thread, and so do replays and sweeps when one
 * replay takes more than a few milliseconds (about 4 ms: large projects); on small projects
 * (the demo) a weight change updates the numbers before dlen_fusion_page_set_weight() returns.
 * After set_model, set_rule, set_item_threshold, set_all_rows or apply_preset of a saved preset
 * with another rule, call dlen_fusion_page_wait() before reading numbers. A typical test:
 *
 *   dlen_fusion_page_set_model (page, 1);
 *   dlen_fusion_page_wait (page);
 *   dlen_fusion_page_set_weight_by_name (page, "emotion", 2.0);
 *   dlen_fusion_page_wait (page);           // no-op on small projects
 *   double obj = dlen_fusion_page_get_objectionable (page);
 *   // equals "ranked.objectionable" of
 *   // dlen replay PROJECT --model 1 --k 3 --objectionable both --weights "$(dup_weights_text)" --json
 */

/* What the page shows: "no-project", "no-models", "loading", "no-predictions", "error" or
 * "ready" (numbers valid). */
const char *dlen_fusion_page_get_state (DlenFusionPage *page);
/* The reason shown in the "error" state (NULL otherwise). */
const char *dlen_fusion_page_get_error (DlenFusionPage *page);
/* TRUE while a load, a deferred reload, a worker replay or sweep, or a predictions job runs. */
gboolean dlen_fusion_page_is_busy (DlenFusionPage *page);
/* Iterates the default main context until the page is not busy. */
void dlen_fusion_page_wait (DlenFusionPage *page);

/* Selects a model of the project in the model list (loading its cached predictions); FALSE when
 * the project has no such model. */
gboolean dlen_fusion_page_set_model (DlenFusionPage *page, gint64 model_id);
gint64 dlen_fusion_page_get_model (DlenFusionPage *page);   /* 0 when none */

/* The weights: one per target in the model's order, then "emotion" for DLEN models. Setting
 * goes through the slider's adjustment (the value is clamped to the slider's range: targets
 * -3..3, emotion 0..5). FALSE for an unknown index or name, or while nothing is loaded. */
guint dlen_fusion_page_get_n_signals (DlenFusionPage *page);
const char *dlen_fusion_page_get_signal_name (DlenFusionPage *page, guint index);
gboolean dlen_fusion_page_set_weight (DlenFusionPage *page, guint index, double value);
gboolean dlen_fusion_page_set_weight_by_name (DlenFusionPage *page, const char *name, double value);
double dlen_fusion_page_get_weight (DlenFusionPage *page, guint index);   /* NaN when out of range */
/* The weights as "name=w,name=w,..." (what `dlen replay --weights` and saved presets take). */
char *dlen_fusion_page_dup_weights_text (DlenFusionPage *page);

/* A built-in preset ("with-emotion", "no-emotion", "engagement-only") or a saved preset by
 * name (which also sets its K and rule). FALSE when unknown or nothing is loaded. */
gboolean dlen_fusion_page_apply_preset (DlenFusionPage *page, const char *name);

/* Top K (1..100, the CLI's --k; default 3), the objectionable rule (default both), the item
 * rule's threshold (default 0.2) and whether every row is replayed rather than the model's test
 * split (default FALSE, like the CLI without --all). Rule, threshold and rows reload. */
void dlen_fusion_page_set_k (DlenFusionPage *page, guint k);
guint dlen_fusion_page_get_k (DlenFusionPage *page);
void dlen_fusion_page_set_rule (DlenFusionPage *page, DlenObjectionableRule rule);
DlenObjectionableRule dlen_fusion_page_get_rule (DlenFusionPage *page);
void dlen_fusion_page_set_item_threshold (DlenFusionPage *page, double threshold);
void dlen_fusion_page_set_all_rows (DlenFusionPage *page, gboolean all_rows);

/* The shown numbers. */
typedef enum {
  DLEN_FUSION_RANKED,          /* the current weights */
  DLEN_FUSION_BASELINE,        /* the same weights with the emotion's at 0 */
  DLEN_FUSION_LOGGED,          /* the logged order */
} DlenFusionOrder;

/* Objectionable exposure@K of the ranked top K (a share in [0, 1]); NaN when not ready. */
double dlen_fusion_page_get_objectionable (DlenFusionPage *page);
/* @metric "objectionable" or a target name (a rate in [0, 1]; seconds for durations); NaN when
 * unknown or not ready. The same numbers as `dlen replay --json` ("ranked", "baseline",
 * "logged"). */
double dlen_fusion_page_get_value (DlenFusionPage *page, DlenFusionOrder order, const char *metric);
/* Points of the frontier sweep (0 until swept). */
guint dlen_fusion_page_get_n_frontier_points (DlenFusionPage *page);
/* Categories in the category chart (0 without a category field). */
guint dlen_fusion_page_get_n_category_bars (DlenFusionPage *page);
/* Milliseconds from the last weight change to its numbers being shown. */
double dlen_fusion_page_get_last_latency_ms (DlenFusionPage *page);

/* Saves the current weights, K and rule under @name in the project (replacing a preset of that
 * name) and lists it; saved presets by name, NULL-terminated (free with g_strfreev). */
gboolean dlen_fusion_page_save_preset (DlenFusionPage *page, const char *name, GError **error);
char **dlen_fusion_page_dup_saved_presets (DlenFusionPage *page);

/* Writes the numbers table as CSV: metric, ranked, baseline, delta_vs_baseline, logged,
 * delta_vs_logged; one row per metric (objectionable, every target, slots), full precision. */
gboolean dlen_fusion_page_write_csv (DlenFusionPage *page, const char *path, GError **error);
/* Exports the frontier / category chart (PNG or SVG by the file's extension). */
gboolean dlen_fusion_page_export_frontier (DlenFusionPage *page, const char *path, GError **error);
gboolean dlen_fusion_page_export_categories (DlenFusionPage *page, const char *path, GError **error);

G_END_DECLS
