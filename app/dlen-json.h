/* dlen-json.h: the JSON the CLI prints and the project stores (strings and numbers). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Appends @value quoted and escaped (NULL as ""). */
void dlen_json_string (GString *out, const char *value);
/* Appends @value, or null for NaN and infinities. */
void dlen_json_number (GString *out, double value);

G_END_DECLS
