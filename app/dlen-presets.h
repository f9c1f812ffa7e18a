/* dlen-presets.h: named fusion-weight presets saved in a project (the fusion_presets table,
 * created on first save so that merely reading a project never writes to it). */
#pragma once

#include <glib.h>
#include "dlen-store.h"

G_BEGIN_DECLS

typedef struct {
  gint64 id;
  char *name;
  gint64 model_id;             /* the model it was tuned on; 0 when unknown or deleted */
  guint k;                     /* top-K slots */
  char *rule;                  /* objectionable rule: "user", "item" or "both" */
  char *weights;               /* "name=w,name=w,..." (the form `dlen replay --weights` takes) */
  gint64 created_ms;           /* epoch ms; updated when a preset is replaced */
} DlenFusionPreset;

void dlen_fusion_preset_free (DlenFusionPreset *preset);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenFusionPreset, dlen_fusion_preset_free)

/* Creates the fusion_presets table when missing. Idempotent. */
gboolean dlen_presets_ensure_table (DlenStore *store, GError **error);

/* Saves a preset under @name, replacing one of the same name; @model_id <= 0 stores NULL.
 * Returns the preset's id, or -1 with @error. */
gint64 dlen_presets_save (DlenStore *store, const char *name, gint64 model_id, guint k, const char *rule,
                          const char *weights, GError **error);

/* Every saved preset ordered by name (DlenFusionPreset*, freed with the array); an empty array
 * when the project has none (or no table yet). NULL with @error on a database failure. */
GPtrArray *dlen_presets_list (DlenStore *store, GError **error);

/* TRUE when a preset named @name exists. */
gboolean dlen_presets_exists (DlenStore *store, const char *name);

/* Deletes the preset @id; FALSE with @error when there is none. */
gboolean dlen_presets_delete (DlenStore *store, gint64 id, GError **error);

G_END_DECLS
