/* dlen-error.h: the DLEN_ERROR domain, engine status to GError, and autoptr cleanups for engine types. */
#pragma once

#include <glib.h>
#include "dlen/dlen.h"

G_BEGIN_DECLS

#define DLEN_ERROR (dlen_error_quark ())
GQuark dlen_error_quark (void);

typedef enum {
  DLEN_ERROR_FAILED,      /* an engine failure; the message says why */
  DLEN_ERROR_INVALID,     /* bad option or configuration */
  DLEN_ERROR_DATA,        /* the input data cannot serve the request */
  DLEN_ERROR_FORMAT,      /* a corrupt or unsupported file */
  DLEN_ERROR_IO,
  DLEN_ERROR_CANCELLED,
  DLEN_ERROR_NONFINITE,
} DlenErrorCode;

/* Sets @error from an engine status and dlen_last_error(), prefixed by @context when non-NULL.
 * Returns FALSE so callers can `return dlen_set_error_from_status (...)`. */
gboolean dlen_set_error_from_status (GError **error, int status, const char *context);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenDataset, dlen_dataset_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DlenModel, dlen_model_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DlenSplit, dlen_split_clear)

G_END_DECLS
