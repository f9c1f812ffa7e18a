/* dlen-status.h: status codes, last-error message and the log callback of libdlen. */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Every fallible engine call returns a DlenStatus: 0 is success, negative values are failures.
 * DLEN_STATUS_CANCELLED is distinct so callers can tell a user's cancel from an error. */
typedef enum {
  DLEN_STATUS_OK = 0,
  DLEN_STATUS_INVALID = -1,    /* an argument or configuration is invalid */
  DLEN_STATUS_NOMEM = -2,      /* an allocation failed */
  DLEN_STATUS_IO = -3,         /* reading or writing a file failed */
  DLEN_STATUS_FORMAT = -4,     /* a file is corrupt, truncated or of another version */
  DLEN_STATUS_NONFINITE = -5,  /* a loss or gradient became NaN or infinite */
  DLEN_STATUS_CANCELLED = -6,  /* the abort callback asked to stop */
  DLEN_STATUS_DATA = -7,       /* the data cannot serve the request (no rows, no labels, ...) */
} DlenStatus;

/* A static English description of @status; never NULL. */
const char *dlen_status_to_string (int status);

/* The message of the last failure reported by an engine call on the calling thread.
 * Thread-local; valid until the next engine call on this thread; "" when none. */
const char *dlen_last_error (void);

typedef enum {
  DLEN_LOG_DEBUG = 0,
  DLEN_LOG_INFO = 1,
  DLEN_LOG_WARNING = 2,
} DlenLogLevel;

/* The engine never prints. Messages go to this callback (process-wide; NULL silences them).
 * It may be called from any thread that runs engine code. */
typedef void (*DlenLogFunc) (DlenLogLevel level, const char *message, void *user_data);
void dlen_set_log_callback (DlenLogFunc func, void *user_data);

#ifdef __cplusplus
}
#endif
