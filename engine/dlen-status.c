/* dlen-status.c: status strings, the per-thread last error, logging and the shared RNG. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include "dlen-private.h"

static _Thread_local char last_error[512];
static DlenLogFunc log_func;
static void *log_data;

const char *
dlen_status_to_string (int status)
{
  switch (status)
    {
    case DLEN_STATUS_OK: return "success";
    case DLEN_STATUS_INVALID: return "invalid argument";
    case DLEN_STATUS_NOMEM: return "out of memory";
    case DLEN_STATUS_IO: return "input/output error";
    case DLEN_STATUS_FORMAT: return "corrupt or unsupported file";
    case DLEN_STATUS_NONFINITE: return "loss became NaN or infinite";
    case DLEN_STATUS_CANCELLED: return "cancelled";
    case DLEN_STATUS_DATA: return "unusable data";
    default: return "unknown status";
    }
}

const char *
dlen_last_error (void)
{
  return last_error;
}

int
_dlen_fail (int status, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (last_error, sizeof last_error, fmt, ap);
  va_end (ap);
  return status;
}

void
dlen_set_log_callback (DlenLogFunc func, void *user_data)
{
  log_func = func;
  log_data = user_data;
}

void
_dlen_log (DlenLogLevel level, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  if (!log_func)
    return;
  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  log_func (level, buf, log_data);
}

static unsigned long long
splitmix64 (unsigned long long *x)
{
  unsigned long long z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void
_dlen_rng_seed (DlenRng *rng, unsigned long long seed)
{
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&seed);
}

static inline unsigned long long
rotl (unsigned long long x, int k)
{
  return (x << k) | (x >> (64 - k));
}

unsigned long long
_dlen_rng_next (DlenRng *rng)
{
  unsigned long long *s = rng->s;
  unsigned long long result = rotl (s[1] * 5, 7) * 9;
  unsigned long long t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

double
_dlen_rng_uniform (DlenRng *rng)
{
  return (double) (_dlen_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

double
_dlen_rng_normal (DlenRng *rng)
{
  /* Box-Muller; one draw per call keeps the sequence simple to reproduce. */
  double u1 = _dlen_rng_uniform (rng), u2 = _dlen_rng_uniform (rng);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt (-2.0 * log (u1)) * cos (6.283185307179586 * u2);
}
