/* dlen-safetensors-private.h: strict reader and atomic writer of F32 safetensors files. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "dlen/dlen-status.h"

/* Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping tensor names
 * to {"dtype":"F32","shape":[...],"data_offsets":[begin,end]} plus an optional "__metadata__"
 * object of string -> string, then the little-endian data that the tensors cover exactly.
 * Only F32 tensors of at most DLEN_SAFETENSORS_MAX_NDIM dimensions are supported. */

#define DLEN_SAFETENSORS_MAX_NDIM 4
#define DLEN_SAFETENSORS_NAME_MAX 255                      /* bytes, excluding the NUL */
#define DLEN_SAFETENSORS_HEADER_MAX (100u * 1000u * 1000u)  /* bytes, as the reference reader */

typedef struct {
  const char *name;          /* tensor name, 1..255 bytes of UTF-8, unique, not "__metadata__" */
  uint32_t ndim;             /* 0..4; 0 is a scalar holding one float */
  int64_t shape[4];          /* shape[0..ndim-1] >= 0, row-major */
  const float *data;         /* product(shape) floats; may be NULL when that product is 0 */
} DlenTensorSpec;

/* Writes @n_tensors tensors, in the given order and contiguous, and @n_meta metadata pairs
 * (NUL-terminated UTF-8, keys unique) to @path. Atomic: the file is written to
 * "<path>.tmp.XXXXXX" in the same directory, synced and renamed over @path; on any failure the
 * temporary file is removed and @path is untouched. The data section starts 8-byte aligned.
 * The new file keeps the permission bits of the file it replaces, else gets 0644.
 * Returns DLEN_STATUS_INVALID for bad arguments, DLEN_STATUS_IO for system failures,
 * DLEN_STATUS_NOMEM. Thread-safe for distinct paths. */
DlenStatus _dlen_safetensors_write (const char *path,
                                    const DlenTensorSpec *tensors,
                                    size_t n_tensors,
                                    const char *const *meta_keys,
                                    const char *const *meta_values,
                                    size_t n_meta);

/* A loaded, fully validated file; immutable, so it may be shared between threads once read. */
typedef struct DlenSafetensors DlenSafetensors;

/* Reads the whole of @path into memory and validates it. On success *@out owns a new handle;
 * on failure *@out is NULL and dlen_last_error() names the file and what is wrong.
 * DLEN_STATUS_IO when the file cannot be opened or read, DLEN_STATUS_FORMAT when it is
 * malformed, DLEN_STATUS_NOMEM, DLEN_STATUS_INVALID for NULL arguments. */
DlenStatus _dlen_safetensors_read (const char *path, DlenSafetensors **out);

/* Frees @st and everything it returned; NULL is a no-op. */
void _dlen_safetensors_free (DlenSafetensors *st);

/* The metadata value of @key, or NULL when absent. Valid until _dlen_safetensors_free(). */
const char *_dlen_safetensors_meta (const DlenSafetensors *st, const char *key);

/* The number of tensors in the file (0 for a NULL @st). */
size_t _dlen_safetensors_n_tensors (const DlenSafetensors *st);

/* Looks up tensor @name and checks that it has @expected_ndim dimensions equal to
 * @expected_shape[0..expected_ndim-1] (@expected_shape may be NULL when @expected_ndim is 0).
 * On success *@data points to product(shape) floats in host order, aligned for float and valid
 * until _dlen_safetensors_free(); when that product is 0 it is a valid non-NULL pointer that
 * must not be dereferenced. DLEN_STATUS_FORMAT, with a message naming the tensor, when it is
 * absent or its shape differs; DLEN_STATUS_INVALID for bad arguments. */
DlenStatus _dlen_safetensors_get (const DlenSafetensors *st,
                                  const char *name,
                                  uint32_t expected_ndim,
                                  const int64_t *expected_shape,
                                  const float **data);
