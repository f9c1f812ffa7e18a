/* dlen-json.c: see dlen-json.h. */
#include <math.h>
#include "dlen-json.h"

void
dlen_json_string (GString *s, const char *v)
{
  g_string_append_c (s, '"');
  for (const unsigned char *p = (const unsigned char *) (v ? v : ""); *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (s, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf (s, "\\u%04x", *p);
      else
        g_string_append_c (s, (char) *p);
    }
  g_string_append_c (s, '"');
}

void
dlen_json_number (GString *s, double v)
{
  if (isfinite (v))
    g_string_append_printf (s, "%.10g", v);
  else
    g_string_append (s, "null");
}
