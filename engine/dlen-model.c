/* dlen-model.c: model layout (embeddings, experts, gates, towers), forward and backward passes
 * on mini-batches through cblas_sgemm, and the DLEN head maths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dlen-blas.h"
#include "dlen-model-private.h"
#include "dlen-private.h"

/* ---- Head maths ------------------------------------------------------------------------ */

double
_dlen_log_sigmoid (double x)
{
  return x < 0 ? x - log1p (exp (x)) : -log1p (exp (-x));
}

double
_dlen_softplus (double x)
{
  return x > 0 ? x + log1p (exp (-x)) : log1p (exp (x));
}

static inline double
sigmoid (double x)
{
  return x >= 0 ? 1.0 / (1.0 + exp (-x)) : exp (x) / (1.0 + exp (x));
}

static inline double
lse2 (double a, double b)
{
  double hi = a > b ? a : b, lo = a > b ? b : a;
  return hi + log1p (exp (lo - hi));
}

/* The arguments of a_k = sigma(arg_a) and b_k = sigma(arg_b) for a polarity. */
static inline void
head_args (DlenPolarity pol, double u, double v, double *arg_a, double *arg_b)
{
  switch (pol)
    {
    case DLEN_POLARITY_POSITIVE:
      *arg_a = u;
      *arg_b = u - _dlen_softplus (v);
      break;
    case DLEN_POLARITY_NEGATIVE:
      *arg_b = u;
      *arg_a = u - _dlen_softplus (v);
      break;
    default:
      *arg_a = u;
      *arg_b = v;
      break;
    }
}

double
_dlen_head_binary_prob (DlenPolarity pol, double u, double v, double le)
{
  double aa, ab;
  head_args (pol, u, v, &aa, &ab);
  return exp (lse2 (_dlen_log_sigmoid (le) + _dlen_log_sigmoid (aa),
                    _dlen_log_sigmoid (-le) + _dlen_log_sigmoid (ab)));
}

double
_dlen_head_binary (DlenPolarity pol, double u, double v, double le, double y,
                   double *du, double *dv, double *dle, double *p)
{
  double aa, ab, lpe = _dlen_log_sigmoid (le), lqe = _dlen_log_sigmoid (-le);
  double z1, z2, lp, post1, post2, ga, gb;
  head_args (pol, u, v, &aa, &ab);
  *p = exp (lse2 (lpe + _dlen_log_sigmoid (aa), lqe + _dlen_log_sigmoid (ab)));
  /* z1, z2: log of the joint of (e = 1, y) and (e = 0, y); their softmax is the posterior of
   * the emotion given the label, which drives every gradient below. */
  if (y > 0.5)
    {
      z1 = lpe + _dlen_log_sigmoid (aa);
      z2 = lqe + _dlen_log_sigmoid (ab);
    }
  else
    {
      z1 = lpe + _dlen_log_sigmoid (-aa);
      z2 = lqe + _dlen_log_sigmoid (-ab);
    }
  lp = lse2 (z1, z2);
  post1 = exp (z1 - lp);
  post2 = exp (z2 - lp);
  ga = post1 * (sigmoid (aa) - y);
  gb = post2 * (sigmoid (ab) - y);
  *dle = exp (lpe) - post1;
  switch (pol)
    {
    case DLEN_POLARITY_POSITIVE:
      *du = ga + gb;
      *dv = -gb * sigmoid (v);
      break;
    case DLEN_POLARITY_NEGATIVE:
      *du = ga + gb;
      *dv = -ga * sigmoid (v);
      break;
    default:
      *du = ga;
      *dv = gb;
      break;
    }
  return -lp;
}

double
_dlen_head_stay (double m, double r, double le, double t,
                 double *dm, double *dr, double *dle, double *pred)
{
  double pe = sigmoid (le), s = _dlen_softplus (r);
  double d;
  *pred = m - (1.0 - pe) * s;
  d = 2.0 * (*pred - t);
  *dm = d;
  *dr = -d * (1.0 - pe) * sigmoid (r);
  *dle = d * s * pe * (1.0 - pe);
  return (*pred - t) * (*pred - t);
}

double
_dlen_head_logit (double z, double y, double *dz, double *p)
{
  *p = sigmoid (z);
  *dz = *p - y;
  return -(y * _dlen_log_sigmoid (z) + (1.0 - y) * _dlen_log_sigmoid (-z));
}

/* ---- Layout ------------------------------------------------------------------------------ */

static int
add_param (DlenModel *m, const char *name, uint32_t ndim, int64_t d0, int64_t d1, int decay,
           size_t *off)
{
  DlenParamInfo *pi;
  if (m->n_info == m->cap_info)
    {
      uint32_t cap = m->cap_info ? m->cap_info * 2 : 64;
      DlenParamInfo *q = realloc (m->info, cap * sizeof *q);
      if (!q)
        return 0;
      m->info = q;
      m->cap_info = cap;
    }
  pi = &m->info[m->n_info++];
  memset (pi, 0, sizeof *pi);
  snprintf (pi->name, sizeof pi->name, "%s", name);
  pi->off = m->n_p;
  pi->ndim = ndim;
  pi->shape[0] = d0;
  pi->shape[1] = ndim > 1 ? d1 : 0;
  pi->decay = decay;
  *off = m->n_p;
  m->n_p += (size_t) d0 * (size_t) (ndim > 1 ? d1 : 1);
  return 1;
}

static int
layout_mlp (DlenModel *m, DlenMlp *mlp, const char *prefix, uint32_t in,
            const uint32_t *units, uint32_t n_units, uint32_t out_last, int relu_out)
{
  char name[80];
  memset (mlp, 0, sizeof *mlp);
  mlp->dims[0] = in;
  for (uint32_t i = 0; i < n_units; i++)
    mlp->dims[i + 1] = units[i];
  mlp->n = n_units;
  if (out_last)
    mlp->dims[++mlp->n] = out_last;
  mlp->relu_out = relu_out;
  for (uint32_t i = 0; i < mlp->n; i++)
    {
      snprintf (name, sizeof name, "%s.%u.weight", prefix, i);
      if (!add_param (m, name, 2, mlp->dims[i], mlp->dims[i + 1], 1, &mlp->w[i]))
        return 0;
      snprintf (name, sizeof name, "%s.%u.bias", prefix, i);
      if (!add_param (m, name, 1, mlp->dims[i + 1], 0, 0, &mlp->b[i]))
        return 0;
    }
  return 1;
}

uint32_t
_dlen_task_outputs (const DlenModel *m, uint32_t task)
{
  if ((int) task == m->emotion_task)
    return 1;
  return m->config.arch == DLEN_ARCH_DLEN ? 2 : 1;
}

static DlenStatus
check_config (const DlenSchema *schema, const DlenModelConfig *c)
{
  DlenStatus st = dlen_schema_validate (schema);
  uint32_t tasks;
  if (st != DLEN_STATUS_OK)
    return st;
  if (c->arch < DLEN_ARCH_SHARED_BOTTOM || c->arch > DLEN_ARCH_DLEN)
    return _dlen_fail (DLEN_STATUS_INVALID, "unknown architecture %d", (int) c->arch);
  if (c->emb_dim < 1 || c->emb_dim > 256)
    return _dlen_fail (DLEN_STATUS_INVALID, "embedding size %u is outside 1..256", c->emb_dim);
  if (c->expert_layers < 1 || c->expert_layers > DLEN_MAX_LAYERS
      || c->tower_layers > DLEN_MAX_LAYERS)
    return _dlen_fail (DLEN_STATUS_INVALID, "experts need 1..%d layers and towers 0..%d",
                       DLEN_MAX_LAYERS, DLEN_MAX_LAYERS);
  for (uint32_t i = 0; i < c->expert_layers; i++)
    if (c->expert_units[i] < 1 || c->expert_units[i] > 4096)
      return _dlen_fail (DLEN_STATUS_INVALID, "expert layer %u has %u units (1..4096)", i, c->expert_units[i]);
  for (uint32_t i = 0; i < c->tower_layers; i++)
    if (c->tower_units[i] < 1 || c->tower_units[i] > 4096)
      return _dlen_fail (DLEN_STATUS_INVALID, "tower layer %u has %u units (1..4096)", i, c->tower_units[i]);
  tasks = schema->n_targets + (c->arch == DLEN_ARCH_DLEN);
  if (c->arch == DLEN_ARCH_MMOE && (c->shared_experts < 1 || c->shared_experts > DLEN_MAX_CAND))
    return _dlen_fail (DLEN_STATUS_INVALID, "MMoE needs 1..%d shared experts", DLEN_MAX_CAND);
  if (c->arch == DLEN_ARCH_PLE || c->arch == DLEN_ARCH_DLEN)
    {
      if (c->levels < 1 || c->levels > 2)
        return _dlen_fail (DLEN_STATUS_INVALID, "PLE needs 1 or 2 extraction levels, not %u", c->levels);
      if (c->task_experts < 1 || c->task_experts + c->shared_experts > DLEN_MAX_CAND
          || tasks * c->task_experts + c->shared_experts > DLEN_MAX_CAND * 4)
        return _dlen_fail (DLEN_STATUS_INVALID, "PLE needs >= 1 task expert and at most %d experts per gate",
                           DLEN_MAX_CAND);
      if (c->levels == 2 && tasks * c->task_experts + c->shared_experts > DLEN_MAX_CAND)
        return _dlen_fail (DLEN_STATUS_INVALID, "a two-level PLE's shared gate takes at most %d experts",
                           DLEN_MAX_CAND);
    }
  if (!(c->emotion_weight >= 0.0f) || !isfinite (c->emotion_weight))
    return _dlen_fail (DLEN_STATUS_INVALID, "emotion weight must be finite and >= 0");
  return DLEN_STATUS_OK;
}

DlenModelConfig
dlen_model_config_default (DlenArch arch)
{
  DlenModelConfig c;
  memset (&c, 0, sizeof c);
  c.arch = arch;
  c.emb_dim = 16;
  c.expert_layers = 1;
  c.expert_units[0] = 64;
  c.tower_layers = 1;
  c.tower_units[0] = 32;
  c.shared_experts = arch == DLEN_ARCH_MMOE ? 4 : arch == DLEN_ARCH_SHARED_BOTTOM ? 1 : 2;
  c.task_experts = 1;
  c.levels = 1;
  c.emotion_weight = 1.0f;
  c.seed = 1;
  return c;
}

static const char *const arch_names[] = { "shared-bottom", "mmoe", "ple", "dlen" };

const char *
dlen_arch_to_string (DlenArch arch)
{
  return (unsigned) arch < 4 ? arch_names[arch] : "unknown";
}

int
dlen_arch_from_string (const char *name, DlenArch *arch)
{
  for (int i = 0; i < 4; i++)
    if (name && strcmp (name, arch_names[i]) == 0)
      {
        *arch = (DlenArch) i;
        return 1;
      }
  return 0;
}

DlenModel *
_dlen_model_alloc (const DlenSchema *schema, const DlenModelConfig *config)
{
  DlenModel *m;
  const DlenModelConfig *c = config;
  uint32_t T, in;
  char name[64];
  if (!schema || !config || check_config (schema, config) != DLEN_STATUS_OK || dlen_model_open_blas () != DLEN_STATUS_OK)
    return NULL;
  m = calloc (1, sizeof *m);
  if (!m)
    goto nomem;
  m->schema = *schema;
  m->config = *config;
  m->threads = 1;
  if (c->arch == DLEN_ARCH_SHARED_BOTTOM)
    m->config.shared_experts = 1;
  if (c->arch == DLEN_ARCH_SHARED_BOTTOM || c->arch == DLEN_ARCH_MMOE)
    {
      m->config.task_experts = 0;
      m->config.levels = 1;
    }
  if (c->arch != DLEN_ARCH_DLEN)
    m->config.emotion_weight = 0.0f;
  c = &m->config;
  T = m->n_tasks = schema->n_targets + (c->arch == DLEN_ARCH_DLEN);
  m->emotion_task = c->arch == DLEN_ARCH_DLEN ? (int) schema->n_targets : -1;
  m->n_levels = c->levels;
  m->d_in = schema->n_cat * c->emb_dim + schema->n_num;
  m->h = c->expert_units[c->expert_layers - 1];

  for (uint32_t f = 0; f < schema->n_cat; f++)
    {
      m->emb_row0[f] = m->n_emb_rows;
      m->n_emb_rows += schema->cat[f].buckets;
    }

  in = m->d_in;
  for (uint32_t l = 0; l < m->n_levels; l++)
    {
      DlenLevel *lv = &m->levels[l];
      uint32_t k = 0;
      int last = l + 1 == m->n_levels;
      for (uint32_t g = 0; g < T; g++)
        {
          lv->group_first[g] = k;
          k += c->task_experts;
        }
      lv->group_first[T] = k;
      k += c->shared_experts;
      lv->group_first[T + 1] = k;
      lv->n_experts = k;
      lv->experts = calloc (k, sizeof (DlenMlp));
      if (!lv->experts)
        goto nomem;
      for (uint32_t g = 0; g <= T; g++)
        for (uint32_t e = lv->group_first[g]; e < lv->group_first[g + 1]; e++)
          {
            if (g < T)
              snprintf (name, sizeof name, "level%u.task%u.expert%u", l, g, e - lv->group_first[g]);
            else
              snprintf (name, sizeof name, "level%u.shared.expert%u", l, e - lv->group_first[g]);
            if (!layout_mlp (m, &lv->experts[e], name, in, c->expert_units, c->expert_layers, 0, 1))
              goto nomem;
          }
      /* Task gates over own and shared experts; below the last level a shared gate over all. */
      lv->n_gates = T + (last ? 0 : 1);
      for (uint32_t t = 0; t < lv->n_gates; t++)
        {
          DlenGate *gt = &lv->gates[t];
          gt->in = in;
          gt->n = 0;
          if (t < T)
            {
              for (uint32_t e = lv->group_first[t]; e < lv->group_first[t + 1]; e++)
                gt->cand[gt->n++] = e;
              for (uint32_t e = lv->group_first[T]; e < lv->group_first[T + 1]; e++)
                gt->cand[gt->n++] = e;
            }
          else
            for (uint32_t e = 0; e < lv->n_experts; e++)
              gt->cand[gt->n++] = e;
          if (gt->n > 1)
            {
              if (t < T)
                snprintf (name, sizeof name, "level%u.gate.task%u", l, t);
              else
                snprintf (name, sizeof name, "level%u.gate.shared", l);
              {
                char wn[80], bn[80];
                snprintf (wn, sizeof wn, "%s.weight", name);
                snprintf (bn, sizeof bn, "%s.bias", name);
                if (!add_param (m, wn, 2, in, gt->n, 1, &gt->w) || !add_param (m, bn, 1, gt->n, 0, 0, &gt->b))
                  goto nomem;
              }
            }
        }
      in = m->h;
    }
  for (uint32_t t = 0; t < T; t++)
    {
      snprintf (name, sizeof name, (int) t == m->emotion_task ? "tower.emotion" : "tower.task%u", t);
      if (!layout_mlp (m, &m->towers[t], name, m->h, c->tower_units, c->tower_layers,
                       _dlen_task_outputs (m, t), 0))
        goto nomem;
    }

  m->p = calloc (m->n_p, sizeof (float));
  m->g = calloc (m->n_p, sizeof (float));
  m->m = calloc (m->n_p, sizeof (float));
  m->v = calloc (m->n_p, sizeof (float));
  m->emb = calloc (m->n_emb_rows * c->emb_dim + 1, sizeof (float));
  m->emb_m = calloc (m->n_emb_rows * c->emb_dim + 1, sizeof (float));
  m->emb_v = calloc (m->n_emb_rows * c->emb_dim + 1, sizeof (float));
  m->slot = malloc ((m->n_emb_rows + 1) * sizeof (int32_t));
  if (!m->p || !m->g || !m->m || !m->v || !m->emb || !m->emb_m || !m->emb_v || !m->slot)
    goto nomem;
  for (size_t r = 0; r < m->n_emb_rows; r++)
    m->slot[r] = -1;
  for (uint32_t j = 0; j < schema->n_num; j++)
    {
      m->norm_mean[j] = 0.0f;
      m->norm_std[j] = 1.0f;
    }
  return m;

nomem:
  _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the model");
  dlen_model_free (m);
  return NULL;
}

void
_dlen_model_init_params (DlenModel *m, uint64_t seed)
{
  DlenRng rng;
  _dlen_rng_seed (&rng, seed);
  /* PyTorch's nn.Linear default, U(-1/sqrt(in), 1/sqrt(in)) for weights and biases, so that a
   * twin implementation can start from the same distribution. */
  for (uint32_t i = 0; i < m->n_info; i++)
    {
      const DlenParamInfo *pi = &m->info[i];
      size_t n = (size_t) pi->shape[0] * (size_t) (pi->ndim > 1 ? pi->shape[1] : 1);
      double fan_in;
      if (pi->ndim == 2)
        fan_in = (double) pi->shape[0];
      else
        fan_in = (double) m->info[i - 1].shape[0]; /* a bias follows its weight */
      for (size_t k = 0; k < n; k++)
        m->p[pi->off + k] = (float) ((2.0 * _dlen_rng_uniform (&rng) - 1.0) / sqrt (fan_in));
    }
  for (size_t k = 0; k < m->n_emb_rows * m->config.emb_dim; k++)
    m->emb[k] = (float) ((2.0 * _dlen_rng_uniform (&rng) - 1.0) * 0.05);
}

DlenModel *
dlen_model_new (const DlenSchema *schema, const DlenModelConfig *config)
{
  DlenModel *m = _dlen_model_alloc (schema, config);
  if (m)
    _dlen_model_init_params (m, config->seed);
  return m;
}

static void
free_level (DlenLevel *lv)
{
  free (lv->experts);
  lv->experts = NULL;
}

void
dlen_model_free (DlenModel *m)
{
  if (!m)
    return;
  if (m->is_replica)
    {
      _dlen_model_replica_free (m);
      return;
    }
  for (int l = 0; l < 2; l++)
    free_level (&m->levels[l]);
  free (m->p);
  free (m->g);
  free (m->m);
  free (m->v);
  free (m->info);
  free (m->emb);
  free (m->emb_m);
  free (m->emb_v);
  free (m->slot);
  free (m->ws);
  _dlen_scorer_free (m->scorer);
  for (uint32_t i = 0; i < m->n_meta; i++)
    {
      free (m->meta_key[i]);
      free (m->meta_value[i]);
    }
  free (m);
}

DlenStatus
dlen_model_set_meta (DlenModel *m, const char *key, const char *value)
{
  size_t kl, vl;
  char *v;
  if (!m || !key || !value)
    return _dlen_fail (DLEN_STATUS_INVALID, "model, key or value is NULL");
  kl = strlen (key);
  vl = strlen (value);
  if (kl == 0 || kl > 63 || strspn (key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != kl)
    return _dlen_fail (DLEN_STATUS_INVALID, "metadata key '%.63s' is not 1..63 characters of [A-Za-z0-9_.-]", key);
  if (vl > 4095)
    return _dlen_fail (DLEN_STATUS_INVALID, "metadata value of '%s' is longer than 4095 bytes", key);
  v = strdup (value);
  if (!v)
    return _dlen_fail (DLEN_STATUS_NOMEM, "out of memory");
  for (uint32_t i = 0; i < m->n_meta; i++)
    if (strcmp (m->meta_key[i], key) == 0)
      {
        free (m->meta_value[i]);
        m->meta_value[i] = v;
        return DLEN_STATUS_OK;
      }
  if (m->n_meta == 32)
    {
      free (v);
      return _dlen_fail (DLEN_STATUS_INVALID, "a model holds at most 32 metadata entries");
    }
  m->meta_key[m->n_meta] = strdup (key);
  if (!m->meta_key[m->n_meta])
    {
      free (v);
      return _dlen_fail (DLEN_STATUS_NOMEM, "out of memory");
    }
  m->meta_value[m->n_meta++] = v;
  return DLEN_STATUS_OK;
}

const char *
dlen_model_get_meta (const DlenModel *m, const char *key)
{
  for (uint32_t i = 0; m && key && i < m->n_meta; i++)
    if (strcmp (m->meta_key[i], key) == 0)
      return m->meta_value[i];
  return NULL;
}

const DlenSchema *dlen_model_schema (const DlenModel *m) { return &m->schema; }
const DlenModelConfig *dlen_model_config (const DlenModel *m) { return &m->config; }

size_t
dlen_model_n_params (const DlenModel *m)
{
  return m->n_p + m->n_emb_rows * m->config.emb_dim;
}

/* ---- Workspace ----------------------------------------------------------------------------- */


static size_t
carve_all (DlenModel *m, float *base, uint32_t B)
{
  Carver c = { base, 0 };
  const DlenSchema *s = &m->schema;
  m->x = carve (&c, (size_t) B * m->d_in);
  m->dx = carve (&c, (size_t) B * m->d_in);
  m->rows = (uint32_t *) carve (&c, (size_t) B * s->n_cat);
  m->y = carve (&c, (size_t) B * s->n_targets);
  m->weak = (int8_t *) carve (&c, B / 4 + 1);
  m->used = (uint32_t *) carve (&c, (size_t) B * s->n_cat);
  m->emb_g = carve (&c, (size_t) B * s->n_cat * m->config.emb_dim);
  for (uint32_t l = 0; l < m->n_levels; l++)
    {
      DlenLevel *lv = &m->levels[l];
      for (uint32_t e = 0; e < lv->n_experts; e++)
        for (uint32_t i = 1; i <= lv->experts[e].n; i++)
          {
            lv->experts[e].act[i] = carve (&c, (size_t) B * lv->experts[e].dims[i]);
            lv->experts[e].grad[i] = carve (&c, (size_t) B * lv->experts[e].dims[i]);
          }
      for (uint32_t t = 0; t < lv->n_gates; t++)
        {
          DlenGate *gt = &lv->gates[t];
          if (gt->n > 1)
            {
              gt->prob = carve (&c, (size_t) B * gt->n);
              gt->dlogit = carve (&c, (size_t) B * gt->n);
              gt->out = carve (&c, (size_t) B * m->h);
              gt->dout = carve (&c, (size_t) B * m->h);
            }
          else if (base)
            {
              DlenMlp *e = &lv->experts[gt->cand[0]];
              gt->out = e->act[e->n];
              gt->dout = e->grad[e->n];
            }
        }
    }
  for (uint32_t t = 0; t < m->n_tasks; t++)
    for (uint32_t i = 1; i <= m->towers[t].n; i++)
      {
        m->towers[t].act[i] = carve (&c, (size_t) B * m->towers[t].dims[i]);
        m->towers[t].grad[i] = carve (&c, (size_t) B * m->towers[t].dims[i]);
      }
  if (base)
    {
      /* Wire each level's inputs: level 0 reads x; level l > 0 reads the gates of l - 1. */
      for (uint32_t l = 0; l < m->n_levels; l++)
        {
          DlenLevel *lv = &m->levels[l];
          for (uint32_t g = 0; g <= m->n_tasks; g++)
            {
              float *in = l == 0 ? m->x : m->levels[l - 1].gates[g].out;
              for (uint32_t e = lv->group_first[g]; e < lv->group_first[g + 1]; e++)
                lv->experts[e].act[0] = in;
            }
        }
      for (uint32_t t = 0; t < m->n_tasks; t++)
        m->towers[t].act[0] = m->levels[m->n_levels - 1].gates[t].out;
    }
  return c.used;
}

DlenStatus
_dlen_model_reserve (DlenModel *m, uint32_t B)
{
  size_t n;
  float *ws;
  if (B <= m->ws_batch)
    return DLEN_STATUS_OK;
  n = carve_all (m, NULL, B);
  ws = aligned_alloc (64, ((n * sizeof (float)) + 63) & ~(size_t) 63);
  if (!ws)
    return _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate the workspace for %u rows", B);
  free (m->ws);
  m->ws = ws;
  memset (ws, 0, n * sizeof (float));
  carve_all (m, ws, B);
  m->ws_batch = B;
  return DLEN_STATUS_OK;
}

/* ---- Replicas for data-parallel steps -------------------------------------------------------- */

DlenModel *
_dlen_model_replica_new (DlenModel *m, uint32_t batch)
{
  DlenModel *r = malloc (sizeof *r);
  if (!r)
    goto nomem;
  *r = *m;
  r->is_replica = 1;
  r->scorer = NULL;
  r->n_meta = 0;
  r->ws = NULL;
  r->ws_batch = 0;
  r->batch_norm = NULL;
  r->g = NULL;
  r->slot = NULL;
  for (int l = 0; l < 2; l++)
    r->levels[l].experts = NULL;
  /* The layer structs hold pointers into the workspace: the replica needs its own copies. */
  for (uint32_t l = 0; l < m->n_levels; l++)
    {
      size_t n = m->levels[l].n_experts * sizeof (DlenMlp);
      if (!(r->levels[l].experts = malloc (n)))
        goto nomem;
      memcpy (r->levels[l].experts, m->levels[l].experts, n);
    }
  r->g = calloc (m->n_p + 1, sizeof (float));
  r->slot = malloc ((m->n_emb_rows + 1) * sizeof (int32_t));
  if (!r->g || !r->slot)
    goto nomem;
  for (size_t k = 0; k < m->n_emb_rows; k++)
    r->slot[k] = -1;
  if (_dlen_model_reserve (r, batch) != DLEN_STATUS_OK)
    {
      _dlen_model_replica_free (r);
      return NULL;
    }
  return r;

nomem:
  _dlen_fail (DLEN_STATUS_NOMEM, "cannot allocate a model replica");
  _dlen_model_replica_free (r);
  return NULL;
}

void
_dlen_model_replica_free (DlenModel *r)
{
  if (!r)
    return;
  for (int l = 0; l < 2; l++)
    free (r->levels[l].experts);
  free (r->g);
  free (r->slot);
  free (r->ws);
  free (r);
}

void
_dlen_model_add_sparse (DlenModel *m, uint32_t *n_used, const DlenModel *part, uint32_t part_used)
{
  uint32_t d = m->config.emb_dim, nu = *n_used;
  for (uint32_t i = 0; i < nu; i++)
    m->slot[m->used[i]] = (int32_t) i;
  for (uint32_t i = 0; i < part_used; i++)
    {
      uint32_t row = part->used[i];
      const float *src = part->emb_g + (size_t) i * d;
      float *dst;
      if (m->slot[row] < 0)
        {
          m->slot[row] = (int32_t) nu;
          m->used[nu] = row;
          memcpy (m->emb_g + (size_t) nu * d, src, d * sizeof (float));
          nu++;
          continue;
        }
      dst = m->emb_g + (size_t) m->slot[row] * d;
      for (uint32_t k = 0; k < d; k++)
        dst[k] += src[k];
    }
  for (uint32_t i = 0; i < nu; i++)
    m->slot[m->used[i]] = -1;
  *n_used = nu;
}

/* ---- Forward ------------------------------------------------------------------------------ */

static inline uint32_t
emb_row (const DlenModel *m, uint32_t f, uint64_t h, const uint64_t *mask)
{
  return (uint32_t) (m->emb_row0[f] + (mask[f] ? h & mask[f] : h % m->schema.cat[f].buckets));
}

#define GATHER_AHEAD 4   /* rows whose embeddings are prefetched before they are copied */

void
_dlen_model_gather_x (const DlenModel *m, const DlenDataset *ds, const size_t *idx, uint32_t B,
                      float *x, uint32_t *rows)
{
  const DlenSchema *s = &m->schema;
  const uint64_t *cat = _dlen_dataset_cat (ds);
  const float *num = _dlen_dataset_num (ds);
  uint32_t d = m->config.emb_dim, nc = s->n_cat, nn = s->n_num;
  uint64_t mask[DLEN_MAX_CAT_FIELDS];
  /* A 64-bit division per field and row costs more than the rest of the gather; the usual
   * power-of-two table sizes take a mask, which gives the same bucket. */
  for (uint32_t f = 0; f < nc; f++)
    mask[f] = (s->cat[f].buckets & (s->cat[f].buckets - 1)) == 0 ? s->cat[f].buckets - 1 : 0;
  for (uint32_t b = 0; b < B; b++)
    {
      size_t r = idx ? idx[b] : b;
      float *restrict xb = x + (size_t) b * m->d_in;
      /* The tables are larger than the caches and the rows random: ask for a later row's
       * embeddings now so that their misses overlap this row's copies. */
      if (b + GATHER_AHEAD < B)
        {
          size_t ra = idx ? idx[b + GATHER_AHEAD] : b + GATHER_AHEAD;
          for (uint32_t f = 0; f < nc; f++)
            __builtin_prefetch (m->emb + (size_t) emb_row (m, f, cat[ra * nc + f], mask) * d);
        }
      for (uint32_t f = 0; f < nc; f++)
        {
          uint32_t row = emb_row (m, f, cat[r * nc + f], mask);
          const float *restrict e = m->emb + (size_t) row * d;
          if (rows)
            rows[b * nc + f] = row;
          /* Constant sizes for the usual widths, so that the copy is inlined, not a call. */
          if (d == 16)
            memcpy (xb + f * 16, e, 16 * sizeof (float));
          else if (d == 8)
            memcpy (xb + f * 8, e, 8 * sizeof (float));
          else if (d == 32)
            memcpy (xb + f * 32, e, 32 * sizeof (float));
          else
            memcpy (xb + f * d, e, d * sizeof (float));
        }
      for (uint32_t j = 0; j < nn; j++)
        {
          float v = num[r * nn + j];
          if (isnan (v))
            xb[nc * d + j] = 0.0f;
          else
            {
              if (s->num[j].log1p)
                v = log1pf (v > 0.0f ? v : 0.0f);
              xb[nc * d + j] = (v - m->norm_mean[j]) / m->norm_std[j];
            }
        }
    }
}

void
_dlen_model_gather (DlenModel *m, const DlenDataset *ds, const size_t *idx, uint32_t B,
                    const uint8_t *keep)
{
  const DlenSchema *s = &m->schema;
  const float *labels = dlen_dataset_labels (ds);
  uint32_t nt = s->n_targets;
  _dlen_model_gather_x (m, ds, idx, B, m->x, m->rows);
  if (!keep)
    return;
  for (uint32_t b = 0; b < B; b++)
    {
      size_t r = idx ? idx[b] : b;
      float *yb = m->y + (size_t) b * nt;
      memcpy (yb, labels + r * nt, nt * sizeof (float));
      if (!keep[b])
        for (uint32_t t = 0; t < nt; t++)
          if (s->targets[t].weak_source)
            yb[t] = NAN;
      m->weak[b] = (int8_t) _dlen_weak_label (s, yb);
    }
}

void
_dlen_model_batch_norm (const DlenModel *m, const DlenDataset *ds, const size_t *idx, uint32_t B,
                        const uint8_t *keep, DlenBatchNorm *norm)
{
  const DlenSchema *s = &m->schema;
  const float *labels = dlen_dataset_labels (ds);
  uint32_t nt = s->n_targets;
  memset (norm, 0, sizeof *norm);
  norm->rows = B;
  for (uint32_t b = 0; b < B; b++)
    {
      const float *yb = labels + (idx ? idx[b] : b) * nt;
      for (uint32_t t = 0; t < nt; t++)
        norm->labelled[t] += !isnan (yb[t]) && (!keep || keep[b] || !s->targets[t].weak_source);
    }
}

static void
dense_forward (const float *p, const DlenMlp *mlp, uint32_t i, const float *in, float *out, uint32_t B,
               int relu)
{
  uint32_t din = mlp->dims[i], dout = mlp->dims[i + 1];
  const float *w = p + mlp->w[i], *bias = p + mlp->b[i];
  _dlen_sgemm (CblasNoTrans, CblasNoTrans, (int) B, (int) dout, (int) din,
               1.0f, in, (int) din, w, (int) dout, 0.0f, out, (int) dout);
  for (uint32_t b = 0; b < B; b++)
    {
      float *o = out + (size_t) b * dout;
      if (relu)
        for (uint32_t j = 0; j < dout; j++)
          {
            float z = o[j] + bias[j];
            o[j] = z > 0.0f ? z : 0.0f;
          }
      else
        for (uint32_t j = 0; j < dout; j++)
          o[j] += bias[j];
    }
}

static void
mlp_forward (const float *p, DlenMlp *mlp, uint32_t B)
{
  for (uint32_t i = 0; i < mlp->n; i++)
    dense_forward (p, mlp, i, mlp->act[i], mlp->act[i + 1], B,
                   i + 1 < mlp->n || mlp->relu_out);
}

static void
gate_forward (const float *p, DlenLevel *lv, DlenGate *gt, const float *in, uint32_t B, uint32_t h)
{
  uint32_t n = gt->n;
  if (n == 1)
    return;
  _dlen_sgemm (CblasNoTrans, CblasNoTrans, (int) B, (int) n, (int) gt->in,
               1.0f, in, (int) gt->in, p + gt->w, (int) n, 0.0f, gt->prob, (int) n);
  for (uint32_t b = 0; b < B; b++)
    {
      float *pr = gt->prob + (size_t) b * n;
      float *o = gt->out + (size_t) b * h;
      for (uint32_t j = 0; j < n; j++)
        pr[j] += p[gt->b + j];
      _dlen_softmax (pr, n);
      memset (o, 0, h * sizeof (float));
      for (uint32_t j = 0; j < n; j++)
        {
          const DlenMlp *e = &lv->experts[gt->cand[j]];
          const float *eo = e->act[e->n] + (size_t) b * h;
          float w = pr[j];
          for (uint32_t k = 0; k < h; k++)
            o[k] += w * eo[k];
        }
    }
}

void
_dlen_model_forward (DlenModel *m, uint32_t B)
{
  for (uint32_t l = 0; l < m->n_levels; l++)
    {
      DlenLevel *lv = &m->levels[l];
      for (uint32_t e = 0; e < lv->n_experts; e++)
        mlp_forward (m->p, &lv->experts[e], B);
      for (uint32_t t = 0; t < lv->n_gates; t++)
        {
          /* A gate reads its group's input: task t's, or the shared group's for the shared gate. */
          uint32_t g = t < m->n_tasks ? t : m->n_tasks;
          const float *in = lv->experts[lv->group_first[g] < lv->group_first[g + 1]
                                       ? lv->group_first[g] : lv->group_first[m->n_tasks]].act[0];
          gate_forward (m->p, lv, &lv->gates[t], in, B, m->h);
        }
    }
  for (uint32_t t = 0; t < m->n_tasks; t++)
    mlp_forward (m->p, &m->towers[t], B);
}

/* ---- Losses and backward ------------------------------------------------------------------ */

/* Zeroes the gradient where the ReLU was off. Branch-free so that it vectorises: the on/off
 * pattern is random and a branch mispredicts half the time. */
__attribute__ ((target_clones ("avx2", "default")))
static void
relu_mask (float *restrict grad, const float *restrict act, size_t n)
{
  for (size_t k = 0; k < n; k++)
    grad[k] = act[k] > 0.0f ? grad[k] : 0.0f;
}

/* out[j] = sum over rows of m[b][j] (overwrites). */
static void
column_sums (float *restrict out, const float *restrict m, uint32_t rows, uint32_t cols)
{
  memcpy (out, m, cols * sizeof (float));
  for (uint32_t b = 1; b < rows; b++)
    {
      const float *row = m + (size_t) b * cols;
      for (uint32_t j = 0; j < cols; j++)
        out[j] += row[j];
    }
}

static void
mlp_backward (float *p, float *g, DlenMlp *mlp, float *dx_in, uint32_t B)
{
  for (uint32_t i = mlp->n; i >= 1; i--)
    {
      uint32_t din = mlp->dims[i - 1], dout = mlp->dims[i];
      float *gi = mlp->grad[i], *ai = mlp->act[i];
      const float *a_prev = mlp->act[i - 1];
      float *gb = g + mlp->b[i - 1];
      if (i < mlp->n || mlp->relu_out)
        relu_mask (gi, ai, (size_t) B * dout);
      /* Each weight has exactly this one gradient GEMM per step: it overwrites (beta 0), so the
       * step needs no zeroing of the gradient vector. */
      _dlen_sgemm (CblasTrans, CblasNoTrans, (int) din, (int) dout, (int) B,
                   1.0f, a_prev, (int) din, gi, (int) dout, 0.0f, g + mlp->w[i - 1], (int) dout);
      column_sums (gb, gi, B, dout);
      if (i > 1)
        _dlen_sgemm (CblasNoTrans, CblasTrans, (int) B, (int) din, (int) dout,
                     1.0f, gi, (int) dout, p + mlp->w[i - 1], (int) dout, 0.0f, mlp->grad[i - 1], (int) din);
      else if (dx_in)
        _dlen_sgemm (CblasNoTrans, CblasTrans, (int) B, (int) din, (int) dout,
                     1.0f, gi, (int) dout, p + mlp->w[i - 1], (int) dout, 1.0f, dx_in, (int) din);
    }
}

static void
gate_backward (float *p, float *g, DlenLevel *lv, DlenGate *gt, const float *in, float *dx_in,
               uint32_t B, uint32_t h)
{
  uint32_t n = gt->n;
  float *gb = g + gt->b;
  if (n == 1)
    return;
  for (uint32_t b = 0; b < B; b++)
    {
      const float *pr = gt->prob + (size_t) b * n, *d = gt->dout + (size_t) b * h;
      float *dl = gt->dlogit + (size_t) b * n, dot = 0.0f;
      for (uint32_t j = 0; j < n; j++)
        {
          DlenMlp *e = &lv->experts[gt->cand[j]];
          const float *eo = e->act[e->n] + (size_t) b * h;
          float *ed = e->grad[e->n] + (size_t) b * h, w = pr[j], s = 0.0f;
          for (uint32_t k = 0; k < h; k++)
            {
              ed[k] += w * d[k];
              s += d[k] * eo[k];
            }
          dl[j] = s;
          dot += w * s;
        }
      for (uint32_t j = 0; j < n; j++)
        dl[j] = pr[j] * (dl[j] - dot);
    }
  column_sums (gb, gt->dlogit, B, n);
  _dlen_sgemm (CblasTrans, CblasNoTrans, (int) gt->in, (int) n, (int) B,
               1.0f, in, (int) gt->in, gt->dlogit, (int) n, 0.0f, g + gt->w, (int) n);
  _dlen_sgemm (CblasNoTrans, CblasTrans, (int) B, (int) gt->in, (int) n,
               1.0f, gt->dlogit, (int) n, p + gt->w, (int) n, 1.0f, dx_in, (int) gt->in);
}

/* The loss of the batch and the gradients of the towers' outputs. */
static double
heads (DlenModel *m, uint32_t B, int backward, double *task_loss)
{
  const DlenSchema *s = &m->schema;
  uint32_t nt = s->n_targets;
  int et = m->emotion_task;
  const float *le = et >= 0 ? m->towers[et].act[m->towers[et].n] : NULL;
  float *dle = et >= 0 ? m->towers[et].grad[m->towers[et].n] : NULL;
  double total = 0.0;
  if (dle)
    memset (dle, 0, B * sizeof (float));
  for (uint32_t t = 0; t < nt; t++)
    {
      const DlenTarget *tg = &s->targets[t];
      DlenMlp *tw = &m->towers[t];
      uint32_t no = tw->dims[tw->n];
      const float *o = tw->act[tw->n];
      float *go = tw->grad[tw->n];
      double sum = 0.0, scale;
      uint32_t cnt = 0;
      uint32_t den;
      for (uint32_t b = 0; b < B; b++)
        if (!isnan (m->y[(size_t) b * nt + t]))
          cnt++;
      den = m->batch_norm ? m->batch_norm->labelled[t] : cnt;
      scale = den ? tg->weight / (double) den : 0.0;
      for (uint32_t b = 0; b < B; b++)
        {
          float y = m->y[(size_t) b * nt + t];
          double d0 = 0, d1 = 0, de = 0, pred;
          if (isnan (y))
            {
              go[b * no] = 0.0f;
              if (no == 2)
                go[b * no + 1] = 0.0f;
              continue;
            }
          if (tg->kind == DLEN_TARGET_BINARY)
            {
              if (et >= 0)
                sum += _dlen_head_binary (tg->polarity, o[b * 2], o[b * 2 + 1], le[b], y, &d0, &d1, &de, &pred);
              else
                sum += _dlen_head_logit (o[b], y, &d0, &pred);
            }
          else
            {
              double target = log1p ((double) y);
              if (et >= 0)
                sum += _dlen_head_stay (o[b * 2], o[b * 2 + 1], le[b], target, &d0, &d1, &de, &pred);
              else
                {
                  d0 = 2.0 * (o[b] - target);
                  sum += (o[b] - target) * (o[b] - target);
                }
            }
          go[b * no] = (float) (d0 * scale);
          if (no == 2)
            go[b * no + 1] = (float) (d1 * scale);
          if (dle)
            dle[b] += (float) (de * scale);
        }
      if (task_loss)
        task_loss[t] = cnt ? sum / cnt : NAN;
      total += den ? tg->weight * sum / den : 0.0;
    }
  if (et >= 0 && m->config.emotion_weight > 0.0f)
    {
      uint32_t cnt = 0, rows = m->batch_norm ? m->batch_norm->rows : B;
      double sum = 0.0, scale;
      for (uint32_t b = 0; b < B; b++)
        cnt += m->weak[b] >= 0;
      /* The weak-label term is a per-row addition averaged over the whole batch, so its pull
       * grows with the share of weakly labelled rows instead of being rescaled to the few
       * labelled rows of a sparse log (which would drown the target losses). */
      scale = m->config.emotion_weight / (double) rows;
      for (uint32_t b = 0; b < B; b++)
        if (m->weak[b] >= 0)
          {
            double dz, pe;
            sum += _dlen_head_logit (le[b], m->weak[b], &dz, &pe);
            dle[b] += (float) (dz * scale);
          }
      if (task_loss)
        task_loss[nt] = cnt ? sum / cnt : NAN;
      total += m->config.emotion_weight * sum / rows;
    }
  (void) backward;
  return total;
}

double
_dlen_model_loss_backward (DlenModel *m, uint32_t B, int backward, uint32_t *n_used, double *task_loss)
{
  double loss = heads (m, B, backward, task_loss);
  uint32_t d = m->config.emb_dim, nc = m->schema.n_cat, nu = 0;
  if (!backward)
    return loss;
  memset (m->dx, 0, (size_t) B * m->d_in * sizeof (float));
  for (uint32_t l = 0; l < m->n_levels; l++)
    {
      DlenLevel *lv = &m->levels[l];
      for (uint32_t e = 0; e < lv->n_experts; e++)
        memset (lv->experts[e].grad[lv->experts[e].n], 0, (size_t) B * m->h * sizeof (float));
      for (uint32_t t = 0; t < lv->n_gates; t++)
        if (lv->gates[t].n > 1)
          memset (lv->gates[t].dout, 0, (size_t) B * m->h * sizeof (float));
    }
  for (uint32_t t = 0; t < m->n_tasks; t++)
    mlp_backward (m->p, m->g, &m->towers[t], m->levels[m->n_levels - 1].gates[t].dout, B);
  for (int l = (int) m->n_levels - 1; l >= 0; l--)
    {
      DlenLevel *lv = &m->levels[l];
      for (uint32_t t = 0; t < lv->n_gates; t++)
        {
          uint32_t g = t < m->n_tasks ? t : m->n_tasks;
          uint32_t e0 = lv->group_first[g] < lv->group_first[g + 1] ? lv->group_first[g]
                                                                    : lv->group_first[m->n_tasks];
          float *dx_in = l == 0 ? m->dx : m->levels[l - 1].gates[g].dout;
          gate_backward (m->p, m->g, lv, &lv->gates[t], lv->experts[e0].act[0], dx_in, B, m->h);
        }
      for (uint32_t g = 0; g <= m->n_tasks; g++)
        for (uint32_t e = lv->group_first[g]; e < lv->group_first[g + 1]; e++)
          mlp_backward (m->p, m->g, &lv->experts[e], l == 0 ? m->dx : m->levels[l - 1].gates[g].dout, B);
    }
  /* Sum the input gradient into one slot per touched embedding row. */
  for (uint32_t b = 0; b < B; b++)
    for (uint32_t f = 0; f < nc; f++)
      {
        uint32_t row = m->rows[b * nc + f];
        const float *src = m->dx + (size_t) b * m->d_in + f * d;
        float *dst;
        if (m->slot[row] < 0)
          {
            m->slot[row] = (int32_t) nu;
            m->used[nu] = row;
            memset (m->emb_g + (size_t) nu * d, 0, d * sizeof (float));
            nu++;
          }
        dst = m->emb_g + (size_t) m->slot[row] * d;
        for (uint32_t k = 0; k < d; k++)
          dst[k] += src[k];
      }
  for (uint32_t i = 0; i < nu; i++)
    m->slot[m->used[i]] = -1;
  *n_used = nu;
  return loss;
}

void
_dlen_model_heads (const DlenModel *m, const float *const *tower_out, uint32_t B, float *out)
{
  const DlenSchema *s = &m->schema;
  uint32_t nt = s->n_targets, w = nt + 1;
  int et = m->emotion_task;
  const float *le = et >= 0 ? tower_out[et] : NULL;
  for (uint32_t b = 0; b < B; b++)
    {
      float *ob = out + (size_t) b * w;
      double lpe = 0, lqe = 0, pe = 0;
      /* The emotion's terms are shared by every target of the row: computed once (the same
       * values _dlen_head_binary_prob would compute per target). */
      if (le)
        {
          lpe = _dlen_log_sigmoid (le[b]);
          lqe = _dlen_log_sigmoid (-le[b]);
          pe = sigmoid (le[b]);
        }
      for (uint32_t t = 0; t < nt; t++)
        {
          const float *o = tower_out[t];
          double val;
          if (s->targets[t].kind == DLEN_TARGET_BINARY)
            {
              if (le)
                {
                  double aa, ab;
                  head_args (s->targets[t].polarity, o[b * 2], o[b * 2 + 1], &aa, &ab);
                  val = exp (lse2 (lpe + _dlen_log_sigmoid (aa), lqe + _dlen_log_sigmoid (ab)));
                }
              else
                val = sigmoid (o[b]);
            }
          else
            {
              double lg = le ? o[b * 2] - (1.0 - pe) * _dlen_softplus (o[b * 2 + 1]) : o[b];
              val = expm1 (lg);
              if (val < 0)
                val = 0;
            }
          ob[t] = (float) val;
        }
      ob[nt] = le ? (float) pe : NAN;
    }
}

void
_dlen_model_outputs (DlenModel *m, uint32_t B, float *out)
{
  const float *tower_out[DLEN_MAX_TASKS];
  for (uint32_t t = 0; t < m->n_tasks; t++)
    tower_out[t] = m->towers[t].act[m->towers[t].n];
  _dlen_model_heads (m, tower_out, B, out);
}
