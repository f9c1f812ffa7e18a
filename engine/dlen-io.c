/* dlen-io.c: model files: the model's tensors, architecture and feature schema in the
 * safetensors layout, validated field by field on load. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dlen-model-private.h"
#include "dlen-private.h"
#include "dlen-safetensors-private.h"

#define FORMAT_NAME "dlen-model"
#define FORMAT_VERSION "1"
#define HASH_NAME "fnv1a64-fmix-v1"
#define MAX_META 400

typedef struct {
  char *key[MAX_META];
  char *value[MAX_META];
  size_t n;
  int failed;
} Meta;

static void
meta_add (Meta *m, const char *key, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static void
meta_add (Meta *m, const char *key, const char *fmt, ...)
{
  va_list ap;
  char buf[4096];
  if (m->n == MAX_META)
    {
      m->failed = 1;
      return;
    }
  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  m->key[m->n] = strdup (key);
  m->value[m->n] = strdup (buf);
  if (!m->key[m->n] || !m->value[m->n])
    m->failed = 1;
  m->n++;
}

static void
meta_clear (Meta *m)
{
  for (size_t i = 0; i < m->n; i++)
    {
      free (m->key[i]);
      free (m->value[i]);
    }
  m->n = 0;
}

static void
join_units (char *buf, size_t len, const uint32_t *u, uint32_t n)
{
  size_t off = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; i < n && off < len; i++)
    off += (size_t) snprintf (buf + off, len - off, i ? ",%u" : "%u", u[i]);
}

static const char *const polarity_names[] = { "neutral", "positive", "negative" };

DlenStatus
dlen_model_save (const DlenModel *mo, const char *path)
{
  Meta meta = { 0 };
  DlenTensorSpec *specs;
  char (*emb_names)[32];
  size_t n = 0;
  char key[64], units[128];
  const DlenSchema *s;
  const DlenModelConfig *c;
  DlenStatus st;

  if (!mo || !path)
    return _dlen_fail (DLEN_STATUS_INVALID, "model or path is NULL");
  s = &mo->schema;
  c = &mo->config;
  specs = calloc (mo->n_info + s->n_cat + 2, sizeof *specs);
  emb_names = calloc (s->n_cat + 1, sizeof *emb_names);
  if (!specs || !emb_names)
    {
      free (specs);
      free (emb_names);
      return _dlen_fail (DLEN_STATUS_NOMEM, "out of memory");
    }
  for (uint32_t i = 0; i < mo->n_info; i++)
    {
      const DlenParamInfo *pi = &mo->info[i];
      specs[n].name = pi->name;
      specs[n].ndim = pi->ndim;
      specs[n].shape[0] = pi->shape[0];
      specs[n].shape[1] = pi->shape[1];
      specs[n++].data = mo->p + pi->off;
    }
  for (uint32_t f = 0; f < s->n_cat; f++)
    {
      snprintf (emb_names[f], sizeof emb_names[f], "embedding.%u", f);
      specs[n].name = emb_names[f];
      specs[n].ndim = 2;
      specs[n].shape[0] = s->cat[f].buckets;
      specs[n].shape[1] = c->emb_dim;
      specs[n++].data = mo->emb + mo->emb_row0[f] * c->emb_dim;
    }
  if (s->n_num)
    {
      specs[n] = (DlenTensorSpec) { "normaliser.mean", 1, { s->n_num }, mo->norm_mean };
      n++;
      specs[n] = (DlenTensorSpec) { "normaliser.std", 1, { s->n_num }, mo->norm_std };
      n++;
    }

  meta_add (&meta, "format", FORMAT_NAME);
  meta_add (&meta, "format_version", FORMAT_VERSION);
  meta_add (&meta, "dlen.hash", HASH_NAME);
  meta_add (&meta, "dlen.arch", "%s", dlen_arch_to_string (c->arch));
  meta_add (&meta, "dlen.emb_dim", "%u", c->emb_dim);
  join_units (units, sizeof units, c->expert_units, c->expert_layers);
  meta_add (&meta, "dlen.expert_units", "%s", units);
  join_units (units, sizeof units, c->tower_units, c->tower_layers);
  meta_add (&meta, "dlen.tower_units", "%s", units);
  meta_add (&meta, "dlen.shared_experts", "%u", c->shared_experts);
  meta_add (&meta, "dlen.task_experts", "%u", c->task_experts);
  meta_add (&meta, "dlen.levels", "%u", c->levels);
  meta_add (&meta, "dlen.emotion_weight", "%.9g", (double) c->emotion_weight);
  meta_add (&meta, "dlen.seed", "%llu", (unsigned long long) c->seed);
  meta_add (&meta, "dlen.cat.count", "%u", s->n_cat);
  for (uint32_t i = 0; i < s->n_cat; i++)
    {
      snprintf (key, sizeof key, "dlen.cat.%u.name", i);
      meta_add (&meta, key, "%s", s->cat[i].name);
      snprintf (key, sizeof key, "dlen.cat.%u.buckets", i);
      meta_add (&meta, key, "%u", s->cat[i].buckets);
    }
  meta_add (&meta, "dlen.num.count", "%u", s->n_num);
  for (uint32_t i = 0; i < s->n_num; i++)
    {
      snprintf (key, sizeof key, "dlen.num.%u.name", i);
      meta_add (&meta, key, "%s", s->num[i].name);
      snprintf (key, sizeof key, "dlen.num.%u.log1p", i);
      meta_add (&meta, key, "%d", s->num[i].log1p ? 1 : 0);
    }
  meta_add (&meta, "dlen.target.count", "%u", s->n_targets);
  for (uint32_t i = 0; i < s->n_targets; i++)
    {
      const DlenTarget *t = &s->targets[i];
      snprintf (key, sizeof key, "dlen.target.%u.name", i);
      meta_add (&meta, key, "%s", t->name);
      snprintf (key, sizeof key, "dlen.target.%u.kind", i);
      meta_add (&meta, key, "%s", t->kind == DLEN_TARGET_BINARY ? "binary" : "duration");
      snprintf (key, sizeof key, "dlen.target.%u.polarity", i);
      meta_add (&meta, key, "%s", polarity_names[t->polarity]);
      snprintf (key, sizeof key, "dlen.target.%u.weak_source", i);
      meta_add (&meta, key, "%d", t->weak_source ? 1 : 0);
      snprintf (key, sizeof key, "dlen.target.%u.weight", i);
      meta_add (&meta, key, "%.9g", (double) t->weight);
    }
  meta_add (&meta, "app.count", "%u", mo->n_meta);
  for (uint32_t i = 0; i < mo->n_meta; i++)
    {
      snprintf (key, sizeof key, "app.%u.key", i);
      meta_add (&meta, key, "%s", mo->meta_key[i]);
      snprintf (key, sizeof key, "app.%u.value", i);
      meta_add (&meta, key, "%s", mo->meta_value[i]);
    }
  if (meta.failed)
    st = _dlen_fail (DLEN_STATUS_NOMEM, "cannot build the model file's metadata");
  else
    st = _dlen_safetensors_write (path, specs, n, (const char *const *) meta.key,
                                  (const char *const *) meta.value, meta.n);
  meta_clear (&meta);
  free (specs);
  free (emb_names);
  return st;
}

/* ---- Loading ------------------------------------------------------------------------------ */

typedef struct {
  const DlenSafetensors *st;
  const char *path;
} Reader;

static DlenStatus
need_string (Reader *r, const char *key, const char **out)
{
  *out = _dlen_safetensors_meta (r->st, key);
  if (!*out)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: metadata '%s' is missing", r->path, key);
  return DLEN_STATUS_OK;
}

static DlenStatus
need_uint (Reader *r, const char *key, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
  const char *s;
  char *end;
  DlenStatus st = need_string (r, key, &s);
  if (st != DLEN_STATUS_OK)
    return st;
  errno = 0;
  if (s[0] < '0' || s[0] > '9')
    goto bad;
  *out = strtoull (s, &end, 10);
  if (errno || *end || *out < lo || *out > hi)
    goto bad;
  return DLEN_STATUS_OK;
bad:
  return _dlen_fail (DLEN_STATUS_FORMAT, "%s: metadata '%s' = '%.40s' is not an integer in %llu..%llu",
                     r->path, key, s, lo, hi);
}

static DlenStatus
need_float (Reader *r, const char *key, float *out)
{
  const char *s;
  char *end;
  double v;
  DlenStatus st = need_string (r, key, &s);
  if (st != DLEN_STATUS_OK)
    return st;
  v = strtod (s, &end);
  if (*s == '\0' || *end || !isfinite (v) || v < 0 || v > 1e6)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: metadata '%s' = '%.40s' is not a number in 0..1e6",
                       r->path, key, s);
  *out = (float) v;
  return DLEN_STATUS_OK;
}

static DlenStatus
need_name (Reader *r, const char *key, char *dst)
{
  const char *s;
  DlenStatus st = need_string (r, key, &s);
  if (st != DLEN_STATUS_OK)
    return st;
  if (!*s || strlen (s) >= DLEN_NAME_MAX)
    return _dlen_fail (DLEN_STATUS_FORMAT, "%s: metadata '%s' is empty or longer than %d bytes",
                       r->path, key, DLEN_NAME_MAX - 1);
  strcpy (dst, s);
  return DLEN_STATUS_OK;
}

static DlenStatus
need_units (Reader *r, const char *key, uint32_t *units, uint32_t *n, uint32_t min_n)
{
  const char *s, *p;
  DlenStatus st = need_string (r, key, &s);
  if (st != DLEN_STATUS_OK)
    return st;
  *n = 0;
  for (p = s; *p;)
    {
      char *end;
      unsigned long v;
      if (*n == DLEN_MAX_LAYERS || *p < '0' || *p > '9')
        goto bad;
      v = strtoul (p, &end, 10);
      if (v < 1 || v > 4096)
        goto bad;
      units[(*n)++] = (uint32_t) v;
      p = end;
      if (*p == ',')
        p++;
      else if (*p)
        goto bad;
    }
  if (*n < min_n)
    goto bad;
  return DLEN_STATUS_OK;
bad:
  return _dlen_fail (DLEN_STATUS_FORMAT, "%s: metadata '%s' = '%.40s' is not a list of 1..%d layer widths",
                     r->path, key, s, DLEN_MAX_LAYERS);
}

static DlenStatus
need_enum (Reader *r, const char *key, const char *const *names, int n, int *out)
{
  const char *s;
  DlenStatus st = need_string (r, key, &s);
  if (st != DLEN_STATUS_OK)
    return st;
  for (int i = 0; i < n; i++)
    if (strcmp (s, names[i]) == 0)
      {
        *out = i;
        return DLEN_STATUS_OK;
      }
  return _dlen_fail (DLEN_STATUS_FORMAT, "%s: metadata '%s' has the unknown value '%.40s'", r->path, key, s);
}

static DlenStatus
copy_tensor (Reader *r, const char *name, uint32_t ndim, int64_t d0, int64_t d1, float *dst)
{
  const float *data;
  int64_t shape[2] = { d0, d1 };
  size_t cnt = (size_t) d0 * (size_t) (ndim > 1 ? d1 : 1);
  DlenStatus st = _dlen_safetensors_get (r->st, name, ndim, shape, &data);
  if (st != DLEN_STATUS_OK)
    return st;
  for (size_t k = 0; k < cnt; k++)
    if (!isfinite (data[k]))
      return _dlen_fail (DLEN_STATUS_FORMAT, "%s: tensor '%s' holds a NaN or infinite value at %zu",
                         r->path, name, k);
  memcpy (dst, data, cnt * sizeof (float));
  return DLEN_STATUS_OK;
}

static DlenStatus
read_model (Reader *r, DlenModel **out)
{
  DlenSchema s;
  DlenModelConfig c;
  DlenModel *m = NULL;
  const char *str;
  unsigned long long v = 0;
  int e = 0;
  char key[64];
  size_t expected;
  DlenStatus st;
  static const char *const arch_names[] = { "shared-bottom", "mmoe", "ple", "dlen" };
  static const char *const kind_names[] = { "binary", "duration" };

#define TRY(x) do { if ((st = (x)) != DLEN_STATUS_OK) goto fail; } while (0)
  memset (&s, 0, sizeof s);
  memset (&c, 0, sizeof c);
  TRY (need_string (r, "format", &str));
  if (strcmp (str, FORMAT_NAME) != 0)
    {
      st = _dlen_fail (DLEN_STATUS_FORMAT, "%s: not a DLEN model (format '%.40s')", r->path, str);
      goto fail;
    }
  TRY (need_string (r, "format_version", &str));
  if (strcmp (str, FORMAT_VERSION) != 0)
    {
      st = _dlen_fail (DLEN_STATUS_FORMAT, "%s: model format version '%.20s' is not supported (this build reads %s)",
                       r->path, str, FORMAT_VERSION);
      goto fail;
    }
  TRY (need_string (r, "dlen.hash", &str));
  if (strcmp (str, HASH_NAME) != 0)
    {
      st = _dlen_fail (DLEN_STATUS_FORMAT, "%s: feature hash '%.40s' is not supported", r->path, str);
      goto fail;
    }
  TRY (need_enum (r, "dlen.arch", arch_names, 4, &e));
  c.arch = (DlenArch) e;
  TRY (need_uint (r, "dlen.emb_dim", 1, 256, &v));
  c.emb_dim = (uint32_t) v;
  TRY (need_units (r, "dlen.expert_units", c.expert_units, &c.expert_layers, 1));
  TRY (need_units (r, "dlen.tower_units", c.tower_units, &c.tower_layers, 0));
  TRY (need_uint (r, "dlen.shared_experts", 0, 64, &v));
  c.shared_experts = (uint32_t) v;
  TRY (need_uint (r, "dlen.task_experts", 0, 64, &v));
  c.task_experts = (uint32_t) v;
  TRY (need_uint (r, "dlen.levels", 1, 2, &v));
  c.levels = (uint32_t) v;
  TRY (need_float (r, "dlen.emotion_weight", &c.emotion_weight));
  TRY (need_uint (r, "dlen.seed", 0, UINT64_MAX, &v));
  c.seed = v;

  TRY (need_uint (r, "dlen.cat.count", 0, DLEN_MAX_CAT_FIELDS, &v));
  s.n_cat = (uint32_t) v;
  for (uint32_t i = 0; i < s.n_cat; i++)
    {
      snprintf (key, sizeof key, "dlen.cat.%u.name", i);
      TRY (need_name (r, key, s.cat[i].name));
      snprintf (key, sizeof key, "dlen.cat.%u.buckets", i);
      TRY (need_uint (r, key, 1, 1u << 26, &v));
      s.cat[i].buckets = (uint32_t) v;
    }
  TRY (need_uint (r, "dlen.num.count", 0, DLEN_MAX_NUM_FIELDS, &v));
  s.n_num = (uint32_t) v;
  for (uint32_t i = 0; i < s.n_num; i++)
    {
      snprintf (key, sizeof key, "dlen.num.%u.name", i);
      TRY (need_name (r, key, s.num[i].name));
      snprintf (key, sizeof key, "dlen.num.%u.log1p", i);
      TRY (need_uint (r, key, 0, 1, &v));
      s.num[i].log1p = (int32_t) v;
    }
  TRY (need_uint (r, "dlen.target.count", 1, DLEN_MAX_TARGETS, &v));
  s.n_targets = (uint32_t) v;
  for (uint32_t i = 0; i < s.n_targets; i++)
    {
      DlenTarget *t = &s.targets[i];
      snprintf (key, sizeof key, "dlen.target.%u.name", i);
      TRY (need_name (r, key, t->name));
      snprintf (key, sizeof key, "dlen.target.%u.kind", i);
      TRY (need_enum (r, key, kind_names, 2, &e));
      t->kind = (DlenTargetKind) e;
      snprintf (key, sizeof key, "dlen.target.%u.polarity", i);
      TRY (need_enum (r, key, polarity_names, 3, &e));
      t->polarity = (DlenPolarity) e;
      snprintf (key, sizeof key, "dlen.target.%u.weak_source", i);
      TRY (need_uint (r, key, 0, 1, &v));
      t->weak_source = (int32_t) v;
      snprintf (key, sizeof key, "dlen.target.%u.weight", i);
      TRY (need_float (r, key, &t->weight));
    }

  m = _dlen_model_alloc (&s, &c);
  if (!m)
    {
      st = _dlen_fail (DLEN_STATUS_FORMAT, "%s: the declared architecture is invalid: %s", r->path, dlen_last_error ());
      goto fail;
    }
  /* The allocator normalises a few fields per architecture; a file must already agree. */
  if (memcmp (&m->config, &c, sizeof c) != 0)
    {
      st = _dlen_fail (DLEN_STATUS_FORMAT, "%s: the expert counts or emotion weight do not fit architecture '%s'",
                       r->path, dlen_arch_to_string (c.arch));
      goto fail;
    }
  expected = m->n_info + s.n_cat + (s.n_num ? 2 : 0);
  if (_dlen_safetensors_n_tensors (r->st) != expected)
    {
      st = _dlen_fail (DLEN_STATUS_FORMAT, "%s: holds %zu tensors where architecture '%s' has %zu",
                       r->path, _dlen_safetensors_n_tensors (r->st), dlen_arch_to_string (c.arch), expected);
      goto fail;
    }
  for (uint32_t i = 0; i < m->n_info; i++)
    {
      const DlenParamInfo *pi = &m->info[i];
      TRY (copy_tensor (r, pi->name, pi->ndim, pi->shape[0], pi->shape[1], m->p + pi->off));
    }
  for (uint32_t f = 0; f < s.n_cat; f++)
    {
      snprintf (key, sizeof key, "embedding.%u", f);
      TRY (copy_tensor (r, key, 2, s.cat[f].buckets, c.emb_dim, m->emb + m->emb_row0[f] * c.emb_dim));
    }
  if (s.n_num)
    {
      TRY (copy_tensor (r, "normaliser.mean", 1, s.n_num, 0, m->norm_mean));
      TRY (copy_tensor (r, "normaliser.std", 1, s.n_num, 0, m->norm_std));
      for (uint32_t j = 0; j < s.n_num; j++)
        if (!(m->norm_std[j] > 0))
          {
            st = _dlen_fail (DLEN_STATUS_FORMAT, "%s: normaliser.std[%u] is not positive", r->path, j);
            goto fail;
          }
    }
  TRY (need_uint (r, "app.count", 0, 32, &v));
  for (uint32_t i = 0; i < (uint32_t) v; i++)
    {
      const char *k, *val;
      snprintf (key, sizeof key, "app.%u.key", i);
      TRY (need_string (r, key, &k));
      snprintf (key, sizeof key, "app.%u.value", i);
      TRY (need_string (r, key, &val));
      if (dlen_model_set_meta (m, k, val) != DLEN_STATUS_OK)
        {
          st = _dlen_fail (DLEN_STATUS_FORMAT, "%s: app metadata %u is invalid: %s", r->path, i, dlen_last_error ());
          goto fail;
        }
    }
#undef TRY
  *out = m;
  return DLEN_STATUS_OK;

fail:
  dlen_model_free (m);
  return st;
}

DlenStatus
dlen_model_load (const char *path, DlenModel **out)
{
  DlenSafetensors *st = NULL;
  DlenStatus rc;
  Reader r;
  if (!out || !path)
    return _dlen_fail (DLEN_STATUS_INVALID, "path or output is NULL");
  *out = NULL;
  /* First, so that a missing OpenBLAS is not taken for a bad file. */
  if ((rc = dlen_model_open_blas ()) != DLEN_STATUS_OK)
    return rc;
  rc = _dlen_safetensors_read (path, &st);
  if (rc != DLEN_STATUS_OK)
    return rc;
  r.st = st;
  r.path = path;
  rc = read_model (&r, out);
  _dlen_safetensors_free (st);
  return rc;
}
