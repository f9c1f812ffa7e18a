/* dlen-synth.c: the synthetic feed world of dlen-synth.h, a generative model with a known emotion. */

/*
 * The generative model
 * ====================
 *
 * Notation: σ(x) = 1 / (1 + e^-x); N(μ, s) a normal draw; U a uniform draw on [0, 1); C the
 * number of categories, R the request size. Every constant named below is a #define further
 * down; the numbers in brackets are their values.
 *
 * Categories. Category c (0-based) has item share ∝ 1 / (c + 1)^CAT_ZIPF [1.0], so low ids are
 * popular, and fan share ∝ 1 / (c + 1)^FAN_ZIPF [0.5], flatter, so niche categories have fans.
 *
 * Items (all drawn once, memory O(items)):
 *   category  ~ item share;
 *   quality q ~ N(0, 1);
 *   clickbait b = [U < clickbait_share];
 *   objectionable o: the round(objectionable_share · items) items with the largest score
 *     OBJ_BAIT·b − OBJ_QUALITY·q + N(0, 1)   [1.5, 0.8], so objectionable items tend to be
 *     click-bait and of low quality;
 *   popularity w = exp(POP_SD·N(0,1) + POP_QUALITY·q + POP_BAIT·b)   [1.2, 0.3, 0.5], a
 *     log-normal skew that makes a few items repeat across many users. Items are drawn in
 *     proportion to w with a Walker alias table.
 *
 * Users (everything is derived from hashes of (seed, user), so no per-user table is kept):
 *   activity a_u = exp(ACT_SD·N(0,1)) [0.8]; the ceil(impressions / R) requests are shared out
 *     by cumulative rounding of a_u / Σa, so each user's count is fixed and they sum exactly;
 *   base mood m_u ~ N(0, MOOD_BASE_SD) [0.4];
 *   1 to MAX_LIKED [3] distinct liked categories (at most C) drawn from the fan share;
 *   taste t(u, c) = TASTE_LIKED + TASTE_LIKED_SD·z(u, c) for liked categories [1.6, 0.4],
 *     TASTE_OTHER + TASTE_OTHER_SD·z(u, c) otherwise [-0.8, 0.5], with z(u, c) a standard
 *     normal computed from a hash of (seed, u, c), so taste needs no users × categories table.
 *
 * Sessions and time. A user's requests are cut into sessions of 1 + Geometric(SESSION_CONTINUE)
 * requests [0.65, mean ≈ 2.9] (the last one truncated). Session starts are the sorted order
 * statistics of uniforms on [0, 1), generated in order, mapped through the inverse CDF of a
 * diurnal intensity (quiet at night, peak in the evening, UTC) over `days` days. A session
 * never starts before the previous one ended plus SESSION_MIN_GAP_S [300 s]; a very active
 * user may thus run past the last day. Within a session request j+1 starts after request j's
 * browsing (BROWSE_PER_ITEM_S per impression [1.5 s] + Exp(BROWSE_EXTRA_S) [5 s]) plus the stay
 * of every click in it. All impressions of a request share its time, so time is non-decreasing
 * per user. Users are emitted one after the other, each in time order; session and request ids
 * count up from 1 in emission order.
 *
 * Requests. Every slot draws PICK_CANDIDATES [3] items by popularity and keeps one with
 * probability ∝ exp(PICK_BETA·t(u, category)) [0.8]: a mild personalisation. A candidate
 * equal to one of the last DEDUP_WINDOW [64] items of the request is redrawn (up to
 * DEDUP_TRIES [8] times). Only the very last request of the log may be shorter than R.
 *
 * Mood. Within a session the mood offset d follows an AR(1) per impression,
 * d ← MOOD_RHO·d + MOOD_NOISE·N(0,1)   [0.95, 0.12]; after an objectionable impression
 * d ← d − MOOD_OBJ_DROP [0.7]. Between sessions d ← d·exp(−gap_hours / MOOD_RECOVERY_H) [3 h].
 * The mood is m = m_u + d.
 *
 * Emotion, for user u, item i at position k:
 *   ℓ_e = E_TASTE·t + E_QUALITY·q + m + E_BIAS − E_OBJ·o − E_BAIT·b − E_POS·ln(1 + k)
 *         [1.0, 0.8, -0.35, 2.0, 0.5, 0.05]
 *   p_e = σ(ℓ_e), e ~ Bernoulli(p_e).
 *
 * Targets given e:
 *   click   ~ Bernoulli(σ(c_e − CLICK_POS·ln(1 + k)))  [0.1] with
 *             c_1 = CLICK_E1 + CLICK_E1_QUALITY·q       [1.0, 0.2]
 *             c_0 = CLICK_E0 + CLICK_BAIT·b             [-1.9, 3.0]: click-bait draws clicks
 *             without emotion, the conflict DLEN has to resolve;
 *   like    = click · [U < (e ? LIKE_E1 : LIKE_E0)]     [0.16, 0.004];
 *   share   = click · [U < (e ? SHARE_E1 : SHARE_E0)]   [0.035, 0.0008];
 *   dislike = ¬like · [U < (e ? DISLIKE_E1 : σ(DISLIKE_E0 + DISLIKE_OBJ·o + DISLIKE_BAIT·b·click)))]
 *             [0.002, -4.2, 2.5, 1.2] (possible without a click: "not interested");
 *   stay_s  = 0 without a click, else exp(N(μ, STAY_SD)) [0.8] with
 *             μ = ln STAY_E1_S + STAY_QUALITY·q          [35 s, 0.2] when e = 1,
 *             μ = ln STAY_BAIT_S for click-bait, e = 0   [5 s],
 *             μ = ln STAY_E0_S otherwise                 [12 s];
 *   long_view = [stay_s ≥ LONG_VIEW_S]                   [30 s].
 *
 * With the default parameters this gives about 44 % clicks, 18 % long views, 4.4 % likes, 1 %
 * shares, 2.4 % dislikes and a mean p_e of 0.38; click-bait impressions are clicked twice as
 * often as others (72 % vs 36 %) with a lower mean e (0.29 vs 0.41); 30 % of impressions fall
 * in a category the user likes (taste > 0.5) against 16 % for a pure popularity draw.
 * tests/test-synth.c checks the ranges.
 *
 * Determinism: item and user draws come from streams of the engine's xoshiro256** seeded by
 * hashes of (seed, stream, user), so the same params give the same rows on every platform
 * with IEEE doubles and the same libm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dlen/dlen-synth.h"
#include "dlen-private.h"

#define CAT_ZIPF 1.0
#define FAN_ZIPF 0.5
#define OBJ_BAIT 1.5
#define OBJ_QUALITY 0.8
#define POP_SD 1.2
#define POP_QUALITY 0.3
#define POP_BAIT 0.5
#define ACT_SD 0.8
#define MOOD_BASE_SD 0.4
#define MAX_LIKED 3
#define TASTE_LIKED 1.6
#define TASTE_LIKED_SD 0.4
#define TASTE_OTHER (-0.8)
#define TASTE_OTHER_SD 0.5
#define SESSION_CONTINUE 0.65
#define SESSION_MIN_GAP_S 300.0
#define BROWSE_PER_ITEM_S 1.5
#define BROWSE_EXTRA_S 5.0
#define PICK_CANDIDATES 3
#define PICK_BETA 0.8
#define DEDUP_WINDOW 64
#define DEDUP_TRIES 8
#define MOOD_RHO 0.95
#define MOOD_NOISE 0.12
#define MOOD_OBJ_DROP 0.7
#define MOOD_RECOVERY_H 3.0
#define E_TASTE 1.0
#define E_QUALITY 0.8
#define E_BIAS (-0.35)
#define E_OBJ 2.0
#define E_BAIT 0.5
#define E_POS 0.05
#define CLICK_POS 0.1
#define CLICK_E1 1.0
#define CLICK_E1_QUALITY 0.2
#define CLICK_E0 (-1.9)
#define CLICK_BAIT 3.0
#define LIKE_E1 0.16
#define LIKE_E0 0.004
#define SHARE_E1 0.035
#define SHARE_E0 0.0008
#define DISLIKE_E1 0.002
#define DISLIKE_E0 (-4.2)
#define DISLIKE_OBJ 2.5
#define DISLIKE_BAIT 1.2
#define STAY_SD 0.8
#define STAY_E1_S 35.0
#define STAY_QUALITY 0.2
#define STAY_BAIT_S 5.0
#define STAY_E0_S 12.0
#define LONG_VIEW_S 30.0

#define MAX_CATEGORIES 1000u
#define MAX_DAYS 36500u
#define MAX_START_MS 253402300799999LL   /* 9999-12-31 23:59:59.999 UTC */
#define MS_PER_HOUR 3600000.0

#define FLAG_BAIT 1u
#define FLAG_OBJ 2u

/* Independent random streams, mixed into the seed. */
enum {
  STREAM_ITEMS = 1,
  STREAM_ACTIVITY,
  STREAM_TASTE,
  STREAM_USER,
  STREAM_SESSIONS,
  STREAM_TIMES,
};

/* Relative activity per UTC hour: night is quiet, evenings are busy. */
static const double diurnal[24] = {
  0.6, 0.3, 0.15, 0.1, 0.1, 0.15, 0.4, 0.8, 1.0, 0.9, 0.8, 0.9,
  1.2, 1.0, 0.8, 0.8, 0.9, 1.1, 1.4, 1.7, 1.9, 1.9, 1.5, 1.0,
};

typedef struct {
  const DlenSynthParams *p;
  uint16_t *item_cat;
  float *item_quality;
  uint8_t *item_flags;
  double *alias_prob;
  uint32_t *alias_idx;
  double *cat_cdf;          /* categories + 1 cumulative item shares */
  double *fan_cdf;          /* categories + 1 cumulative fan shares */
  double hour_cdf[25];
} World;

typedef struct {
  uint32_t id;
  double mood_base;
  uint32_t n_liked;
  uint32_t liked[MAX_LIKED];
} User;

static uint64_t
mix64 (uint64_t z)
{
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t
hash3 (uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
  uint64_t h = mix64 (seed ^ mix64 (stream));
  h = mix64 (h ^ a);
  return mix64 (h ^ (b * 0xd1b54a32d192ed03ULL));
}

static void
stream_seed (DlenRng *rng, uint64_t seed, uint64_t stream, uint64_t a)
{
  _dlen_rng_seed (rng, hash3 (seed, stream, a, 0));
}

/* A standard normal that is a pure function of its key. */
static double
hash_normal (uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
  uint64_t h = hash3 (seed, stream, a, b);
  double u1 = (double) ((h >> 11) + 1) * (1.0 / 9007199254740993.0);   /* (0, 1) */
  double u2 = (double) (mix64 (h) >> 11) * (1.0 / 9007199254740992.0);
  return sqrt (-2.0 * log (u1)) * cos (6.283185307179586 * u2);
}

static double
sigmoid (double x)
{
  return 1.0 / (1.0 + exp (-x));
}

static uint32_t
sample_cdf (const double *cdf, uint32_t n, double u)
{
  double x = u * cdf[n];
  uint32_t lo = 0, hi = n - 1;
  while (lo < hi)
    {
      uint32_t mid = lo + (hi - lo) / 2;
      if (cdf[mid + 1] > x)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

static DlenStatus
validate (const DlenSynthParams *p, DlenSynthEmitFunc emit)
{
  if (!p)
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: params is NULL");
  if (!emit)
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: emit callback is NULL");
  if (p->users < 1)
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: users must be at least 1");
  if (p->items < 1)
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: items must be at least 1");
  if (p->categories < 1 || p->categories > MAX_CATEGORIES)
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: categories must be in 1..%u, got %u",
                       MAX_CATEGORIES, p->categories);
  if (p->impressions < 1)
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: impressions must be at least 1");
  if (p->request_size < 1)
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: request_size must be at least 1");
  if (!(p->clickbait_share >= 0.0 && p->clickbait_share <= 1.0))
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: clickbait_share must be in [0, 1], got %g",
                       p->clickbait_share);
  if (!(p->objectionable_share >= 0.0 && p->objectionable_share <= 1.0))
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: objectionable_share must be in [0, 1], got %g",
                       p->objectionable_share);
  if (p->start_time_ms < 0 || p->start_time_ms > MAX_START_MS)
    return _dlen_fail (DLEN_STATUS_INVALID,
                       "synth: start_time_ms must be in 0..%lld (years 1970..9999), got %lld",
                       (long long) MAX_START_MS, (long long) p->start_time_ms);
  if (p->days < 1 || p->days > MAX_DAYS)
    return _dlen_fail (DLEN_STATUS_INVALID, "synth: days must be in 1..%u, got %u",
                       MAX_DAYS, p->days);
  return DLEN_STATUS_OK;
}

typedef struct {
  double key;
  uint32_t idx;
} Keyed;

/* Descending by key, ties by index, so the order is total and reproducible. */
static int
keyed_cmp (const void *a, const void *b)
{
  const Keyed *x = a, *y = b;
  if (x->key != y->key)
    return x->key > y->key ? -1 : 1;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Vose's alias method over @n weights; @prob and @alias get n entries. */
static int
alias_build (const double *w, uint32_t n, double *prob, uint32_t *alias)
{
  uint32_t *small = malloc (sizeof *small * n), *large = malloc (sizeof *large * n);
  uint32_t ns = 0, nl = 0;
  double sum = 0.0;
  if (!small || !large)
    {
      free (small);
      free (large);
      return -1;
    }
  for (uint32_t i = 0; i < n; i++)
    sum += w[i];
  for (uint32_t i = 0; i < n; i++)
    {
      prob[i] = w[i] * n / sum;
      alias[i] = i;
      if (prob[i] < 1.0)
        small[ns++] = i;
      else
        large[nl++] = i;
    }
  while (ns > 0 && nl > 0)
    {
      uint32_t s = small[--ns], l = large[nl - 1];
      alias[s] = l;
      prob[l] -= 1.0 - prob[s];
      if (prob[l] < 1.0)
        {
          nl--;
          small[ns++] = l;
        }
    }
  /* Leftovers are 1 up to rounding. */
  while (nl > 0)
    prob[large[--nl]] = 1.0;
  while (ns > 0)
    prob[small[--ns]] = 1.0;
  free (small);
  free (large);
  return 0;
}

static uint32_t
alias_sample (const World *w, DlenRng *rng)
{
  uint32_t n = w->p->items;
  uint32_t i = (uint32_t) (((_dlen_rng_next (rng) >> 32) * n) >> 32);
  return _dlen_rng_uniform (rng) < w->alias_prob[i] ? i : w->alias_idx[i];
}

static void
world_clear (World *w)
{
  free (w->item_cat);
  free (w->item_quality);
  free (w->item_flags);
  free (w->alias_prob);
  free (w->alias_idx);
  free (w->cat_cdf);
  free (w->fan_cdf);
}

static DlenStatus
world_build (World *w, const DlenSynthParams *p)
{
  uint32_t n = p->items, c = p->categories;
  double *pop = NULL;
  Keyed *obj = NULL;
  DlenRng rng;

  memset (w, 0, sizeof *w);
  w->p = p;
  w->item_cat = malloc (sizeof *w->item_cat * n);
  w->item_quality = malloc (sizeof *w->item_quality * n);
  w->item_flags = calloc (n, 1);
  w->alias_prob = malloc (sizeof *w->alias_prob * n);
  w->alias_idx = malloc (sizeof *w->alias_idx * n);
  w->cat_cdf = malloc (sizeof *w->cat_cdf * (c + 1));
  w->fan_cdf = malloc (sizeof *w->fan_cdf * (c + 1));
  pop = malloc (sizeof *pop * n);
  obj = malloc (sizeof *obj * n);
  if (!w->item_cat || !w->item_quality || !w->item_flags || !w->alias_prob || !w->alias_idx
      || !w->cat_cdf || !w->fan_cdf || !pop || !obj)
    goto nomem;

  w->cat_cdf[0] = w->fan_cdf[0] = 0.0;
  for (uint32_t k = 0; k < c; k++)
    {
      w->cat_cdf[k + 1] = w->cat_cdf[k] + pow (k + 1.0, -CAT_ZIPF);
      w->fan_cdf[k + 1] = w->fan_cdf[k] + pow (k + 1.0, -FAN_ZIPF);
    }
  w->hour_cdf[0] = 0.0;
  for (int h = 0; h < 24; h++)
    w->hour_cdf[h + 1] = w->hour_cdf[h] + diurnal[h];

  stream_seed (&rng, p->seed, STREAM_ITEMS, 0);
  for (uint32_t i = 0; i < n; i++)
    {
      double q = _dlen_rng_normal (&rng);
      int bait = _dlen_rng_uniform (&rng) < p->clickbait_share;
      w->item_cat[i] = (uint16_t) sample_cdf (w->cat_cdf, c, _dlen_rng_uniform (&rng));
      w->item_quality[i] = (float) q;
      w->item_flags[i] = bait ? FLAG_BAIT : 0;
      pop[i] = exp (POP_SD * _dlen_rng_normal (&rng) + POP_QUALITY * q + POP_BAIT * bait);
      obj[i].key = OBJ_BAIT * bait - OBJ_QUALITY * q + _dlen_rng_normal (&rng);
      obj[i].idx = i;
    }
  qsort (obj, n, sizeof *obj, keyed_cmp);
  uint32_t n_obj = (uint32_t) llround (p->objectionable_share * n);
  for (uint32_t k = 0; k < n_obj && k < n; k++)
    w->item_flags[obj[k].idx] |= FLAG_OBJ;

  if (alias_build (pop, n, w->alias_prob, w->alias_idx) < 0)
    goto nomem;
  free (pop);
  free (obj);
  return DLEN_STATUS_OK;

nomem:
  free (pop);
  free (obj);
  world_clear (w);
  return _dlen_fail (DLEN_STATUS_NOMEM, "synth: out of memory for %u items", n);
}

static double
user_activity (uint64_t seed, uint32_t u)
{
  return exp (ACT_SD * hash_normal (seed, STREAM_ACTIVITY, u, 0));
}

static void
user_init (User *user, const World *w, uint32_t u, DlenRng *rng)
{
  uint32_t c = w->p->categories;
  uint32_t want = 1 + (uint32_t) (_dlen_rng_uniform (rng) * MAX_LIKED);

  user->id = u;
  user->mood_base = MOOD_BASE_SD * _dlen_rng_normal (rng);
  if (want > c)
    want = c;
  user->n_liked = 0;
  /* Distinct picks by rejection; the try limit only matters for tiny category counts. */
  for (int tries = 0; user->n_liked < want && tries < 64; tries++)
    {
      uint32_t k = sample_cdf (w->fan_cdf, c, _dlen_rng_uniform (rng));
      int dup = 0;
      for (uint32_t j = 0; j < user->n_liked; j++)
        dup |= user->liked[j] == k;
      if (!dup)
        user->liked[user->n_liked++] = k;
    }
}

static double
user_taste (const User *user, uint64_t seed, uint32_t category)
{
  double z = hash_normal (seed, STREAM_TASTE, user->id, category);
  for (uint32_t j = 0; j < user->n_liked; j++)
    if (user->liked[j] == category)
      return TASTE_LIKED + TASTE_LIKED_SD * z;
  return TASTE_OTHER + TASTE_OTHER_SD * z;
}

static uint64_t
session_length (DlenRng *rng)
{
  uint64_t len = 1;
  while (_dlen_rng_uniform (rng) < SESSION_CONTINUE)
    len++;
  return len;
}

/* Maps a fraction of the whole span to ms after the start, following the diurnal curve. */
static double
diurnal_offset_ms (const World *w, double frac)
{
  double per_day = w->hour_cdf[24];
  double x = frac * w->p->days * per_day;
  double day = floor (x / per_day);
  double r = x - day * per_day;
  int h = 0;
  if (day >= w->p->days)
    {
      day = w->p->days - 1;
      r = per_day;
    }
  while (h < 23 && w->hour_cdf[h + 1] <= r)
    h++;
  double within = (r - w->hour_cdf[h]) / diurnal[h];
  if (within > 1.0)
    within = 1.0;
  return (day * 24.0 + h + within) * MS_PER_HOUR;
}

/* One slot: a few popular candidates, one kept by taste, avoiding recent repeats. */
static uint32_t
pick_item (const World *w, const User *user, DlenRng *rng, const uint32_t *recent, uint32_t n_recent)
{
  uint32_t best = 0;
  for (int tries = 0; tries < DEDUP_TRIES; tries++)
    {
      double total = 0.0;
      double cw[PICK_CANDIDATES];
      uint32_t cand[PICK_CANDIDATES];
      for (int j = 0; j < PICK_CANDIDATES; j++)
        {
          cand[j] = alias_sample (w, rng);
          cw[j] = exp (PICK_BETA * user_taste (user, w->p->seed, w->item_cat[cand[j]]));
          total += cw[j];
        }
      double x = _dlen_rng_uniform (rng) * total;
      best = cand[PICK_CANDIDATES - 1];
      for (int j = 0; j < PICK_CANDIDATES - 1; j++)
        {
          if (x < cw[j])
            {
              best = cand[j];
              break;
            }
          x -= cw[j];
        }
      int dup = 0;
      for (uint32_t j = 0; j < n_recent && !dup; j++)
        dup = recent[j] == best;
      if (!dup)
        break;
    }
  return best;
}

typedef struct {
  const World *w;
  DlenSynthEmitFunc emit;
  void *user_data;
  uint64_t emitted;
  uint64_t next_session;
  uint64_t next_request;
} Run;

static DlenStatus
user_run (Run *run, uint32_t u, uint64_t n_requests)
{
  const World *w = run->w;
  const DlenSynthParams *p = w->p;
  DlenRng rng, srng, trng;
  User user;
  uint32_t recent[DEDUP_WINDOW];
  uint64_t n_sessions = 0, left;
  double order = 1.0, mood_d = 0.0;
  int64_t prev_end = 0;

  stream_seed (&rng, p->seed, STREAM_USER, u);
  user_init (&user, w, u, &rng);

  /* Two passes over the same session stream: count sessions first, so that their start
   * times can be drawn as sorted order statistics without storing them. */
  stream_seed (&srng, p->seed, STREAM_SESSIONS, u);
  for (left = n_requests; left > 0; n_sessions++)
    {
      uint64_t len = session_length (&srng);
      left -= len < left ? len : left;
    }
  stream_seed (&srng, p->seed, STREAM_SESSIONS, u);
  stream_seed (&trng, p->seed, STREAM_TIMES, u);

  left = n_requests;
  for (uint64_t s = 0; s < n_sessions; s++)
    {
      uint64_t len = session_length (&srng);
      if (len > left)
        len = left;
      left -= len;

      order *= pow (_dlen_rng_uniform (&trng), 1.0 / (double) (n_sessions - s));
      int64_t t = p->start_time_ms + (int64_t) diurnal_offset_ms (w, 1.0 - order);
      if (s > 0)
        {
          int64_t earliest = prev_end + (int64_t) (SESSION_MIN_GAP_S * 1000.0);
          if (t < earliest)
            t = earliest;
          mood_d *= exp (-(double) (t - prev_end) / MS_PER_HOUR / MOOD_RECOVERY_H);
        }
      uint64_t session = ++run->next_session;

      for (uint64_t r = 0; r < len; r++)
        {
          uint64_t remaining = p->impressions - run->emitted;
          uint32_t k = remaining < p->request_size ? (uint32_t) remaining : p->request_size;
          uint64_t request = ++run->next_request;
          double stays = 0.0;

          for (uint32_t pos = 0; pos < k; pos++)
            {
              uint32_t n_recent = pos < DEDUP_WINDOW ? pos : DEDUP_WINDOW;
              uint32_t item = pick_item (w, &user, &rng, recent, n_recent);
              recent[pos % DEDUP_WINDOW] = item;

              uint32_t cat = w->item_cat[item];
              double q = w->item_quality[item];
              int bait = (w->item_flags[item] & FLAG_BAIT) != 0;
              int obj = (w->item_flags[item] & FLAG_OBJ) != 0;
              double pos_log = log1p ((double) pos);

              mood_d = MOOD_RHO * mood_d + MOOD_NOISE * _dlen_rng_normal (&rng);
              double logit_e = E_TASTE * user_taste (&user, p->seed, cat) + E_QUALITY * q
                               + user.mood_base + mood_d + E_BIAS - E_OBJ * obj - E_BAIT * bait
                               - E_POS * pos_log;
              double p_e = sigmoid (logit_e);
              int e = _dlen_rng_uniform (&rng) < p_e;

              double click_logit = e ? CLICK_E1 + CLICK_E1_QUALITY * q : CLICK_E0 + CLICK_BAIT * bait;
              int click = _dlen_rng_uniform (&rng) < sigmoid (click_logit - CLICK_POS * pos_log);
              int like = click && _dlen_rng_uniform (&rng) < (e ? LIKE_E1 : LIKE_E0);
              int share = click && _dlen_rng_uniform (&rng) < (e ? SHARE_E1 : SHARE_E0);
              double p_dislike = e ? DISLIKE_E1
                                   : sigmoid (DISLIKE_E0 + DISLIKE_OBJ * obj + DISLIKE_BAIT * bait * click);
              int dislike = !like && _dlen_rng_uniform (&rng) < p_dislike;
              double stay = 0.0;
              if (click)
                {
                  double mu = e ? log (STAY_E1_S) + STAY_QUALITY * q
                                : log (bait ? STAY_BAIT_S : STAY_E0_S);
                  stay = exp (mu + STAY_SD * _dlen_rng_normal (&rng));
                }

              DlenSynthRow row;
              memset (&row, 0, sizeof row);
              row.user = u;
              row.item = item;
              row.category = cat;
              row.session = session;
              row.request = request;
              row.position = pos;
              row.time_ms = t;
              row.click = (uint8_t) click;
              row.long_view = stay >= LONG_VIEW_S;
              row.like = (uint8_t) like;
              row.share = (uint8_t) share;
              row.dislike = (uint8_t) dislike;
              row.stay_s = (float) stay;
              row.objectionable = (uint8_t) obj;
              row.emotion = (uint8_t) e;
              row.emotion_p = (float) p_e;
              run->emitted++;
              if (run->emit (&row, run->user_data) != 0)
                return _dlen_fail (DLEN_STATUS_CANCELLED, "synth: stopped by the emit callback after %llu rows",
                                   (unsigned long long) run->emitted);

              if (obj)
                mood_d -= MOOD_OBJ_DROP;
              stays += stay;
            }
          double browse = BROWSE_PER_ITEM_S * k - BROWSE_EXTRA_S * log (1.0 - _dlen_rng_uniform (&rng));
          t += (int64_t) llround ((stays + browse) * 1000.0);
        }
      prev_end = t;
    }
  return DLEN_STATUS_OK;
}

DlenSynthParams
dlen_synth_params_default (void)
{
  DlenSynthParams p = {
    .users = 2000,
    .items = 5000,
    .categories = 20,
    .impressions = 200000,
    .request_size = 10,
    .clickbait_share = 0.15,
    .objectionable_share = 0.05,
    .start_time_ms = 1704067200000LL,   /* 2024-01-01 00:00 UTC */
    .days = 14,
    .seed = 1,
  };
  return p;
}

DlenStatus
dlen_synth_generate (const DlenSynthParams *params, DlenSynthEmitFunc emit, void *user_data)
{
  DlenStatus status = validate (params, emit);
  World w;
  if (status != DLEN_STATUS_OK)
    return status;
  status = world_build (&w, params);
  if (status != DLEN_STATUS_OK)
    return status;

  const DlenSynthParams *p = params;
  uint64_t total_requests = p->impressions / p->request_size + (p->impressions % p->request_size != 0);
  double activity_sum = 0.0, cum = 0.0;
  for (uint32_t u = 0; u < p->users; u++)
    activity_sum += user_activity (p->seed, u);

  Run run = { .w = &w, .emit = emit, .user_data = user_data };
  uint64_t given = 0;
  for (uint32_t u = 0; u < p->users && status == DLEN_STATUS_OK; u++)
    {
      /* Cumulative rounding: shares follow activity and add up to exactly total_requests. */
      cum += user_activity (p->seed, u);
      uint64_t upto = total_requests;
      if (u + 1 < p->users)
        {
          double x = floor ((double) total_requests * (cum / activity_sum));
          upto = x >= (double) total_requests ? total_requests : (uint64_t) x;
          if (upto < given)
            upto = given;
        }
      if (upto > given)
        status = user_run (&run, u, upto - given);
      given = upto;
    }
  world_clear (&w);
  return status;
}
