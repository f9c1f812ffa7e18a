/* dlen-synth.h: the synthetic feed world, a generative model of impressions with a known emotion.
 *
 * Users have a taste per item category and a latent mood that drifts within a session and
 * drops after objectionable exposures. Items have a category, a quality and a click-bait
 * factor. Every impression draws a true emotion e ~ Bernoulli(p_e) from taste, quality and
 * mood; click, like, share, dislike and stay time are then drawn given e. Click-bait raises
 * clicks whatever e is, which is the target conflict DLEN is meant to resolve. The generator
 * records e and p_e so that tests can check how well a model recovers them. */
#pragma once

#include <stdint.h>
#include "dlen-status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint32_t users;            /* number of users, >= 1 */
  uint32_t items;            /* number of items, >= 1 */
  uint32_t categories;       /* number of item categories, 1..1000 */
  uint64_t impressions;      /* total impressions to emit, >= 1 */
  uint32_t request_size;     /* impressions per request (candidate set), >= 1 */
  double clickbait_share;    /* fraction of items that are click-bait, [0, 1] */
  double objectionable_share;/* fraction of items that are objectionable, [0, 1] */
  int64_t start_time_ms;     /* epoch ms of the first impression */
  uint32_t days;             /* the log spans this many days, >= 1 */
  uint64_t seed;             /* same seed and params give the same log, byte for byte */
} DlenSynthParams;

/* Defaults: 2,000 users, 5,000 items, 20 categories, 200,000 impressions, requests of 10,
 * 15 % click-bait, 5 % objectionable, 14 days from 2024-01-01 00:00 UTC, seed 1. */
DlenSynthParams dlen_synth_params_default (void);

/* One impression. Items are shown in requests of request_size consecutive impressions of one
 * session of one user; position is the slot in the request (0-based). */
typedef struct {
  uint32_t user;
  uint32_t item;
  uint32_t category;        /* the item's category */
  uint64_t session;         /* globally unique session id */
  uint64_t request;         /* globally unique request id */
  uint32_t position;
  int64_t time_ms;          /* epoch ms, non-decreasing per user */
  uint8_t click, long_view, like, share, dislike;
  float stay_s;             /* seconds of stay, >= 0; 0 without a click */
  uint8_t objectionable;    /* item-level ground truth flag */
  uint8_t emotion;          /* the true latent emotion e drawn for this impression */
  float emotion_p;          /* P(e = 1) the world used */
} DlenSynthRow;

/* Called once per impression, in time order per user. Return non-zero to stop: the
 * generator then returns DLEN_STATUS_CANCELLED. */
typedef int (*DlenSynthEmitFunc) (const DlenSynthRow *row, void *user_data);

/* Runs the world and emits params->impressions rows. Deterministic for given params.
 * Memory is O(users + items), independent of the number of impressions. */
DlenStatus dlen_synth_generate (const DlenSynthParams *params, DlenSynthEmitFunc emit, void *user_data);

#ifdef __cplusplus
}
#endif
