/* dlen-blas.c: opens OpenBLAS at the first model a process makes (see dlen-blas.h). Linked, it
 * costs every process about 1.5 ms of relocations at start and a pool thread that spins for a
 * tenth of a second; most `dlen` commands and the workbench's start never multiply a matrix. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include "dlen/dlen-model.h"
#include "dlen-blas.h"
#include "dlen-private.h"

#ifndef DLEN_BLAS_LIBRARY
#define DLEN_BLAS_LIBRARY "libopenblas.so.0"
#endif

DlenBlas _dlen_blas;

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static char blas_error[256];   /* empty when it opened */

static void
blas_load (void)
{
  void *lib = dlopen (DLEN_BLAS_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  int (*shutdown) (void);
  const char *err;

  if (!lib)
    {
      err = dlerror ();
      snprintf (blas_error, sizeof blas_error, "cannot load OpenBLAS: %s", err ? err : DLEN_BLAS_LIBRARY);
      return;
    }
  *(void **) &_dlen_blas.sgemm = dlsym (lib, "cblas_sgemm");
  *(void **) &_dlen_blas.set_num_threads = dlsym (lib, "openblas_set_num_threads");
  *(void **) &_dlen_blas.get_num_threads = dlsym (lib, "openblas_get_num_threads");
  if (!_dlen_blas.sgemm || !_dlen_blas.set_num_threads || !_dlen_blas.get_num_threads)
    {
      snprintf (blas_error, sizeof blas_error, "%s is not OpenBLAS (cblas_sgemm or openblas_*_num_threads missing)",
                DLEN_BLAS_LIBRARY);
      return;
    }
  /* One thread unless the engine says otherwise (it runs OpenBLAS at one thread per thread of
   * its own, see dlen_model_set_threads), so that results do not depend on the machine's cores;
   * and no pool: its idle thread would spin for a tenth of a second. OpenBLAS's own shutdown (it
   * runs it before fork() too) stops the threads its constructor started, which come back
   * should a call ever ask for more than one. */
  _dlen_blas.set_num_threads (1);
  *(void **) &shutdown = dlsym (lib, "blas_thread_shutdown_");
  if (shutdown)
    shutdown ();
}

DlenStatus
dlen_model_open_blas (void)
{
  pthread_once (&blas_once, blas_load);
  if (blas_error[0])
    return _dlen_fail (DLEN_STATUS_IO, "%s", blas_error);
  return DLEN_STATUS_OK;
}
