/* dlen-output.c: files written whole or not at all (see dlen-output.h). */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dlen-error.h"
#include "dlen-output.h"

static void
output_clear (DlenOutput *out)
{
  g_clear_pointer (&out->path, g_free);
  g_clear_pointer (&out->tmp, g_free);
  g_clear_pointer (&out->target, free);
}

FILE *
dlen_output_open (DlenOutput *out, const char *path, GError **error)
{
  GStatBuf st;
  FILE *fp = NULL;
  int fd;

  memset (out, 0, sizeof *out);
  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    {
      if (S_ISDIR (st.st_mode))
        g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: is a directory", path);
      else if (!(fp = g_fopen (path, "w")))
        g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", path, g_strerror (errno));
      if (fp)
        out->path = g_strdup (path);
      return fp;
    }
  out->target = g_file_test (path, G_FILE_TEST_IS_SYMLINK) ? realpath (path, NULL) : NULL;
  if (!out->target)
    out->target = strdup (path);
  out->tmp = g_strdup_printf ("%s.tmp.XXXXXX", out->target);
  fd = g_mkstemp (out->tmp);
  if (fd >= 0)
    {
      /* mkstemp makes 0600: a file replacing another keeps its mode, a new one gets the umask's. */
      mode_t mask = umask (0);
      umask (mask);
      (void) fchmod (fd, g_stat (out->target, &st) == 0 ? st.st_mode & 07777 : 0666 & ~mask);
    }
  if (fd < 0 || !(fp = fdopen (fd, "w")))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", path, g_strerror (errno));
      if (fd >= 0)
        {
          close (fd);
          g_unlink (out->tmp);
        }
      output_clear (out);
      return NULL;
    }
  out->path = g_strdup (path);
  return fp;
}

gboolean
dlen_output_close (DlenOutput *out, FILE *fp, gboolean ok, GError **error)
{
  gboolean written = ok;
  int saved = 0;
  ok = ok && fflush (fp) == 0 && !ferror (fp) && (!out->tmp || fsync (fileno (fp)) == 0);
  saved = errno;
  if (fclose (fp) != 0 && ok)
    {
      ok = FALSE;
      saved = errno;
    }
  if (ok && out->tmp && g_rename (out->tmp, out->target) != 0)
    {
      ok = FALSE;
      saved = errno;
    }
  if (!ok && out->tmp)
    g_unlink (out->tmp);
  if (!ok && written)
    g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", out->path, g_strerror (saved ? saved : EIO));
  output_clear (out);
  return ok;
}

gboolean
dlen_output_write_all (const char *path, const void *data, gsize len, GError **error)
{
  DlenOutput out;
  FILE *fp = dlen_output_open (&out, path, error);
  int saved;
  if (!fp)
    return FALSE;
  if (len > 0 && fwrite (data, 1, len, fp) != len)
    {
      saved = errno;
      dlen_output_close (&out, fp, FALSE, NULL);
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: %s", path, g_strerror (saved ? saved : EIO));
      return FALSE;
    }
  return dlen_output_close (&out, fp, TRUE, error);
}
