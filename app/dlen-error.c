/* dlen-error.c: maps engine status codes to GError in the DLEN_ERROR domain. */
#include "dlen-error.h"

G_DEFINE_QUARK (dlen-error-quark, dlen_error)

gboolean
dlen_set_error_from_status (GError **error, int status, const char *context)
{
  DlenErrorCode code;
  const char *msg = dlen_last_error ();
  switch (status)
    {
    case DLEN_STATUS_INVALID: code = DLEN_ERROR_INVALID; break;
    case DLEN_STATUS_DATA: code = DLEN_ERROR_DATA; break;
    case DLEN_STATUS_FORMAT: code = DLEN_ERROR_FORMAT; break;
    case DLEN_STATUS_IO: code = DLEN_ERROR_IO; break;
    case DLEN_STATUS_CANCELLED: code = DLEN_ERROR_CANCELLED; break;
    case DLEN_STATUS_NONFINITE: code = DLEN_ERROR_NONFINITE; break;
    default: code = DLEN_ERROR_FAILED; break;
    }
  if (msg == NULL || *msg == '\0')
    msg = dlen_status_to_string (status);
  if (context)
    g_set_error (error, DLEN_ERROR, code, "%s: %s", context, msg);
  else
    g_set_error_literal (error, DLEN_ERROR, code, msg);
  return FALSE;
}
