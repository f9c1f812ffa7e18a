/* dlen-blas.h: the engine's one door to OpenBLAS, which it opens at first need rather than links,
 * so that a process that never computes (an import, `dlen info`) does not load it. */
#pragma once

#include <cblas.h>   /* for the types: the functions are looked up when the library is opened */

typedef struct {
  __typeof__ (cblas_sgemm) *sgemm;
  __typeof__ (openblas_set_num_threads) *set_num_threads;
  __typeof__ (openblas_get_num_threads) *get_num_threads;
} DlenBlas;

/* Filled by dlen_model_open_blas(); valid once it has returned DLEN_STATUS_OK. Every model is
 * made through _dlen_model_alloc, which calls it: code holding a model may use _dlen_blas. */
extern DlenBlas _dlen_blas;

/* C = alpha op(A) op(B) + beta C, row-major, as cblas_sgemm. */
static inline void
_dlen_sgemm (enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float *a,
             int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  _dlen_blas.sgemm (CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
