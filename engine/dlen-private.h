/* dlen-private.h: helpers shared by the engine's translation units. */
#pragma once

#include <stddef.h>
#include "dlen/dlen-status.h"

/* Records a formatted last-error message for this thread and returns @status. */
int _dlen_fail (int status, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void _dlen_log (DlenLogLevel level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Deterministic 64-bit generator (splitmix64 seeding xoshiro256**). */
typedef struct { unsigned long long s[4]; } DlenRng;
void _dlen_rng_seed (DlenRng *rng, unsigned long long seed);
unsigned long long _dlen_rng_next (DlenRng *rng);
double _dlen_rng_uniform (DlenRng *rng);          /* [0, 1) */
double _dlen_rng_normal (DlenRng *rng);           /* standard normal */
