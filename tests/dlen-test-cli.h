/* dlen-test-cli.h: running the `dlen` tool (DLEN_CLI) from the tests, and reading its JSON. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct {
  int status;                  /* exit status */
  char *out, *err;
} Run;

/* Runs `dlen` with the arguments up to NULL (@first NULL: none); a child that does not exit normally
 * fails the test. */
Run run_dlen (const char *first, ...);
void run_clear (Run *run);

/* The JSON object @text holds; anything else fails the test. */
JsonObject *parse_json (const char *text);
