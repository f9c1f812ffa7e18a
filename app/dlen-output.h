/* dlen-output.h: the files the CLI and the workbench write (CSV, logs, charts, screenshots):
 * complete, or not written at all. */
#pragma once

#include <stdio.h>
#include <glib.h>

G_BEGIN_DECLS

/* A file being written. It goes beside its target first and is renamed over it once complete
 * and synced, so that a failure, a full disk or a crash never leaves half a file (nor loses
 * the old one). A target that is not a regular file (a device such as /dev/null, a FIFO) is
 * written in place: renaming over it would put a file where it was. Through a symbolic link,
 * the file it points to is replaced, not the link. A file that replaces another keeps its mode;
 * a new one gets the umask's. A directory is refused. */
typedef struct {
  char *path;                  /* as given, for messages */
  char *target;                /* renamed into place: the path, or the file a link points to */
  char *tmp;                   /* NULL: written in place */
} DlenOutput;

/* Opens @path for writing; NULL with @error (DLEN_ERROR_IO) set. */
FILE *dlen_output_open (DlenOutput *out, const char *path, GError **error);

/* Closes @fp. When @ok, makes the file durable and puts it in place; else, or when that fails
 * (@error set then, DLEN_ERROR_IO), removes what was written beside the target. */
gboolean dlen_output_close (DlenOutput *out, FILE *fp, gboolean ok, GError **error);

/* Writes @len bytes of @data to @path as above. */
gboolean dlen_output_write_all (const char *path, const void *data, gsize len, GError **error);

G_END_DECLS
