/* dlen-synthetic-log.h: the TSV layout of synthetic logs, which the "synthetic" preset reads. */
#pragma once

#include <stdio.h>
#include "dlen/dlen.h"

/* Writes the header line. Returns FALSE on a write error (see ferror). */
int dlen_synthetic_log_write_header (FILE *fp);
/* Writes one impression as a line. */
int dlen_synthetic_log_write_row (FILE *fp, const DlenSynthRow *row);
