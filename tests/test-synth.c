/* test-synth.c: tests of the synthetic feed world (determinism, validation, structure, calibration). */
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dlen/dlen-synth.h"

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct {
  float score;
  guint8 label;
} Scored;

static int
scored_cmp (const void *a, const void *b)
{
  float x = ((const Scored *) a)->score, y = ((const Scored *) b)->score;
  return (x > y) - (x < y);
}

/* Mann-Whitney AUC with ties counted half; sorts @v in place. Returns NAN without both classes. */
static double
auc (Scored *v, gsize n)
{
  double rank_sum = 0.0, n_pos = 0.0;
  qsort (v, n, sizeof *v, scored_cmp);
  for (gsize i = 0; i < n;)
    {
      gsize j = i;
      while (j < n && v[j].score == v[i].score)
        j++;
      double mid_rank = (double) (i + 1 + j) / 2.0;
      for (gsize k = i; k < j; k++)
        if (v[k].label)
          {
            rank_sum += mid_rank;
            n_pos += 1.0;
          }
      i = j;
    }
  double n_neg = (double) n - n_pos;
  if (n_pos == 0.0 || n_neg == 0.0)
    return NAN;
  return (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg);
}

static void
test_auc_helper (void)
{
  Scored perfect[] = { { 0.1f, 0 }, { 0.9f, 1 }, { 0.2f, 0 }, { 0.8f, 1 } };
  Scored ties[] = { { 0.5f, 0 }, { 0.5f, 1 }, { 0.5f, 0 }, { 0.5f, 1 } };
  /* Scores 1,2,3,4 with labels 0,1,0,1: positive ranks 2 and 4, U = 6 - 3 = 3 of 4 pairs. */
  Scored mixed[] = { { 1, 0 }, { 2, 1 }, { 3, 0 }, { 4, 1 } };
  g_assert_cmpfloat_with_epsilon (auc (perfect, 4), 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (auc (ties, 4), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (auc (mixed, 4), 0.75, 1e-12);
}

static guint64
fnv (guint64 h, const void *data, gsize n)
{
  const guint8 *p = data;
  for (gsize i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/* Hashes the fields one by one so that struct padding never matters. */
static int
hash_row (const DlenSynthRow *r, void *data)
{
  guint64 *h = data;
  guint8 flags[7] = { r->click, r->long_view, r->like, r->share, r->dislike, r->objectionable, r->emotion };
  *h = fnv (*h, &r->user, sizeof r->user);
  *h = fnv (*h, &r->item, sizeof r->item);
  *h = fnv (*h, &r->category, sizeof r->category);
  *h = fnv (*h, &r->session, sizeof r->session);
  *h = fnv (*h, &r->request, sizeof r->request);
  *h = fnv (*h, &r->position, sizeof r->position);
  *h = fnv (*h, &r->time_ms, sizeof r->time_ms);
  *h = fnv (*h, flags, sizeof flags);
  *h = fnv (*h, &r->stay_s, sizeof r->stay_s);
  *h = fnv (*h, &r->emotion_p, sizeof r->emotion_p);
  return 0;
}

static guint64
stream_hash (const DlenSynthParams *p)
{
  guint64 h = 0xcbf29ce484222325ULL;
  g_assert_cmpint (dlen_synth_generate (p, hash_row, &h), ==, DLEN_STATUS_OK);
  return h;
}

static int
count_row (const DlenSynthRow *r, void *data)
{
  (void) r;
  (*(guint64 *) data)++;
  return 0;
}

/* ---- determinism, validation, cancel ---------------------------------------------------- */

static void
test_deterministic (void)
{
  DlenSynthParams p = dlen_synth_params_default ();
  p.impressions = 30000;
  guint64 a = stream_hash (&p), b = stream_hash (&p);
  g_assert_cmpuint (a, ==, b);

  p.seed = 2;
  guint64 c = stream_hash (&p);
  g_assert_cmpuint (a, !=, c);

  /* Odd sizes must be reproducible too. */
  p.request_size = 7;
  p.users = 33;
  p.items = 101;
  p.categories = 3;
  p.impressions = 12345;
  g_assert_cmpuint (stream_hash (&p), ==, stream_hash (&p));
}

typedef struct {
  const char *field;
  void (*mutate) (DlenSynthParams *p);
} InvalidCase;

static void m_users (DlenSynthParams *p) { p->users = 0; }
static void m_items (DlenSynthParams *p) { p->items = 0; }
static void m_categories0 (DlenSynthParams *p) { p->categories = 0; }
static void m_categories_big (DlenSynthParams *p) { p->categories = 1001; }
static void m_impressions (DlenSynthParams *p) { p->impressions = 0; }
static void m_request_size (DlenSynthParams *p) { p->request_size = 0; }
static void m_bait_neg (DlenSynthParams *p) { p->clickbait_share = -0.01; }
static void m_bait_big (DlenSynthParams *p) { p->clickbait_share = 1.5; }
static void m_bait_nan (DlenSynthParams *p) { p->clickbait_share = NAN; }
static void m_obj_big (DlenSynthParams *p) { p->objectionable_share = 1.0001; }
static void m_obj_nan (DlenSynthParams *p) { p->objectionable_share = NAN; }
static void m_days0 (DlenSynthParams *p) { p->days = 0; }
static void m_days_big (DlenSynthParams *p) { p->days = 1000000; }
static void m_start_neg (DlenSynthParams *p) { p->start_time_ms = -1; }
static void m_start_big (DlenSynthParams *p) { p->start_time_ms = INT64_MAX; }

static void
test_invalid (void)
{
  static const InvalidCase cases[] = {
    { "users", m_users },
    { "items", m_items },
    { "categories", m_categories0 },
    { "categories", m_categories_big },
    { "impressions", m_impressions },
    { "request_size", m_request_size },
    { "clickbait_share", m_bait_neg },
    { "clickbait_share", m_bait_big },
    { "clickbait_share", m_bait_nan },
    { "objectionable_share", m_obj_big },
    { "objectionable_share", m_obj_nan },
    { "days", m_days0 },
    { "days", m_days_big },
    { "start_time_ms", m_start_neg },
    { "start_time_ms", m_start_big },
  };
  guint64 rows = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      DlenSynthParams p = dlen_synth_params_default ();
      cases[i].mutate (&p);
      rows = 0;
      g_assert_cmpint (dlen_synth_generate (&p, count_row, &rows), ==, DLEN_STATUS_INVALID);
      g_assert_cmpuint (rows, ==, 0);
      g_assert_nonnull (strstr (dlen_last_error (), cases[i].field));
    }

  DlenSynthParams p = dlen_synth_params_default ();
  g_assert_cmpint (dlen_synth_generate (NULL, count_row, &rows), ==, DLEN_STATUS_INVALID);
  g_assert_nonnull (strstr (dlen_last_error (), "params"));
  g_assert_cmpint (dlen_synth_generate (&p, NULL, NULL), ==, DLEN_STATUS_INVALID);
  g_assert_nonnull (strstr (dlen_last_error (), "emit"));

  /* The edges of the valid ranges are accepted. */
  p.impressions = 50;
  p.categories = 1000;
  p.clickbait_share = 1.0;
  p.objectionable_share = 0.0;
  p.users = 1;
  p.items = 1;
  p.days = 1;
  p.start_time_ms = 0;
  rows = 0;
  g_assert_cmpint (dlen_synth_generate (&p, count_row, &rows), ==, DLEN_STATUS_OK);
  g_assert_cmpuint (rows, ==, 50);
}

static int
stop_after (const DlenSynthRow *r, void *data)
{
  guint64 *n = data;
  (void) r;
  return ++*n >= 100;
}

static void
test_cancel (void)
{
  DlenSynthParams p = dlen_synth_params_default ();
  guint64 n = 0;
  g_assert_cmpint (dlen_synth_generate (&p, stop_after, &n), ==, DLEN_STATUS_CANCELLED);
  g_assert_cmpuint (n, ==, 100);
  g_assert_cmpstr (dlen_last_error (), !=, "");
}

/* ---- structure ---------------------------------------------------------------------------- */

typedef struct {
  const DlenSynthParams *p;
  guint64 rows;
  gint64 *last_time;        /* per user */
  gint32 *item_category;    /* per item, -1 until seen */
  gboolean have_prev;
  DlenSynthRow prev;
  guint32 request_len;      /* rows so far in the current request */
  guint64 requests;
  guint64 sessions;
} Structure;

static int
check_row (const DlenSynthRow *r, void *data)
{
  Structure *s = data;
  const DlenSynthParams *p = s->p;

  g_assert_cmpuint (r->user, <, p->users);
  g_assert_cmpuint (r->item, <, p->items);
  g_assert_cmpuint (r->category, <, p->categories);
  g_assert_cmpint (r->time_ms, >=, p->start_time_ms);
  g_assert_cmpint (r->time_ms, >=, s->last_time[r->user]);
  s->last_time[r->user] = r->time_ms;
  if (s->item_category[r->item] < 0)
    s->item_category[r->item] = (gint32) r->category;
  g_assert_cmpint (s->item_category[r->item], ==, (gint32) r->category);

  g_assert_cmpfloat (r->emotion_p, >, 0.0f);
  g_assert_cmpfloat (r->emotion_p, <, 1.0f);
  g_assert_cmpuint (r->emotion, <=, 1);
  g_assert_cmpfloat (r->stay_s, >=, 0.0f);
  if (!r->click)
    g_assert_cmpfloat (r->stay_s, ==, 0.0f);
  g_assert_cmpuint (r->long_view, ==, r->stay_s >= 30.0f);
  g_assert_true (!r->like || r->click);
  g_assert_true (!r->share || r->click);

  if (!s->have_prev)
    {
      g_assert_cmpuint (r->position, ==, 0);
      s->request_len = 1;
      s->requests = s->sessions = 1;
    }
  else if (r->request == s->prev.request)
    {
      g_assert_cmpuint (r->user, ==, s->prev.user);
      g_assert_cmpuint (r->session, ==, s->prev.session);
      g_assert_cmpint (r->time_ms, ==, s->prev.time_ms);
      g_assert_cmpuint (r->position, ==, s->request_len);
      s->request_len++;
      g_assert_cmpuint (s->request_len, <=, p->request_size);
    }
  else
    {
      /* A request ended: only the very last one may be short, so none may end short here. */
      g_assert_cmpuint (s->request_len, ==, p->request_size);
      g_assert_cmpuint (r->request, >, s->prev.request);
      g_assert_cmpuint (r->position, ==, 0);
      s->request_len = 1;
      s->requests++;
      if (r->session != s->prev.session)
        {
          /* Ids only grow, so a session (or request) id can never come back for another user. */
          g_assert_cmpuint (r->session, >, s->prev.session);
          s->sessions++;
        }
      else
        g_assert_cmpuint (r->user, ==, s->prev.user);
    }
  s->prev = *r;
  s->have_prev = TRUE;
  s->rows++;
  return 0;
}

static void
check_structure (const DlenSynthParams *p)
{
  Structure s = { .p = p };
  s.last_time = g_new (gint64, p->users);
  s.item_category = g_new (gint32, p->items);
  for (guint32 u = 0; u < p->users; u++)
    s.last_time[u] = G_MININT64;
  for (guint32 i = 0; i < p->items; i++)
    s.item_category[i] = -1;

  g_assert_cmpint (dlen_synth_generate (p, check_row, &s), ==, DLEN_STATUS_OK);
  g_assert_cmpuint (s.rows, ==, p->impressions);
  guint64 last_len = p->impressions % p->request_size ? p->impressions % p->request_size : p->request_size;
  g_assert_cmpuint (s.request_len, ==, last_len);
  g_assert_cmpuint (s.requests, ==, (p->impressions + p->request_size - 1) / p->request_size);
  g_assert_cmpuint (s.sessions, <, s.requests);

  g_free (s.last_time);
  g_free (s.item_category);
}

static void
test_structure (void)
{
  DlenSynthParams p = dlen_synth_params_default ();
  check_structure (&p);

  p.impressions = 54321;        /* not a multiple: the last request is short */
  p.request_size = 7;
  p.users = 97;
  p.categories = 1;
  check_structure (&p);

  p.request_size = 200;         /* wider than the dedup window */
  p.items = 150;
  check_structure (&p);
}

static int
check_time_span (const DlenSynthRow *r, void *data)
{
  gint64 *bounds = data;      /* min, max, hours histogram[24] */
  int hour = (int) ((r->time_ms / 3600000) % 24);
  bounds[0] = MIN (bounds[0], r->time_ms);
  bounds[1] = MAX (bounds[1], r->time_ms);
  bounds[2 + hour]++;
  return 0;
}

static void
test_time (void)
{
  DlenSynthParams p = dlen_synth_params_default ();
  gint64 b[26] = { G_MAXINT64, G_MININT64 };
  g_assert_cmpint (dlen_synth_generate (&p, check_time_span, b), ==, DLEN_STATUS_OK);
  gint64 day = 86400000;
  /* The log spans most of the days and, for typical users, no more than a day past them. */
  g_assert_cmpint (b[0], <, p.start_time_ms + day);
  g_assert_cmpint (b[1], >, p.start_time_ms + (gint64) (p.days - 1) * day);
  g_assert_cmpint (b[1], <, p.start_time_ms + (gint64) (p.days + 1) * day);
  /* Diurnal: 20:00 UTC is much busier than 03:00 UTC. */
  g_assert_cmpint (b[2 + 20], >, 5 * b[2 + 3]);
}

/* ---- calibration of the default world ----------------------------------------------------- */

typedef struct {
  guint64 n, click, long_view, like, share, dislike, emotion;
  double p_e;
  guint64 n_bait, click_bait;
  double p_e_bait, e_bait;
  guint64 n_plain, click_plain;
  double p_e_plain, e_plain;
  Scored *like_vs_dislike;
  gsize n_lvd;
  Scored *pe_click, *click_e, *pe_e;
  /* the row right after an impression within the same session */
  guint64 n_after_obj, n_after_plain;
  double p_e_after_obj, p_e_after_plain;
  gboolean prev_obj;
  guint64 prev_session;
  guint32 *item_count;
} Rates;

static void
rates_row (Rates *s, const DlenSynthRow *r, gboolean bait)
{
  gsize i = s->n;
  s->n++;
  s->click += r->click;
  s->long_view += r->long_view;
  s->like += r->like;
  s->share += r->share;
  s->dislike += r->dislike;
  s->emotion += r->emotion;
  s->p_e += r->emotion_p;
  if (bait)
    {
      s->n_bait++;
      s->click_bait += r->click;
      s->p_e_bait += r->emotion_p;
      s->e_bait += r->emotion;
    }
  else
    {
      s->n_plain++;
      s->click_plain += r->click;
      s->p_e_plain += r->emotion_p;
      s->e_plain += r->emotion;
    }
  if (r->like != r->dislike)
    s->like_vs_dislike[s->n_lvd++] = (Scored) { r->emotion_p, r->like };
  s->pe_click[i] = (Scored) { r->emotion_p, r->click };
  s->click_e[i] = (Scored) { r->click, r->emotion };
  s->pe_e[i] = (Scored) { r->emotion_p, r->emotion };
  s->item_count[r->item]++;

  if (s->n > 1 && r->session == s->prev_session && r->position > 0)
    {
      if (s->prev_obj)
        {
          s->n_after_obj++;
          s->p_e_after_obj += r->emotion_p;
        }
      else
        {
          s->n_after_plain++;
          s->p_e_after_plain += r->emotion_p;
        }
    }
  s->prev_obj = r->objectionable;
  s->prev_session = r->session;
}

static int
rates_cb_plain (const DlenSynthRow *r, void *data)
{
  rates_row (data, r, FALSE);
  return 0;
}

static int
rates_cb_bait (const DlenSynthRow *r, void *data)
{
  rates_row (data, r, TRUE);
  return 0;
}

static void
rates_init (Rates *s, const DlenSynthParams *p, guint64 n)
{
  memset (s, 0, sizeof *s);
  s->like_vs_dislike = g_new (Scored, n);
  s->pe_click = g_new (Scored, n);
  s->click_e = g_new (Scored, n);
  s->pe_e = g_new (Scored, n);
  s->item_count = g_new0 (guint32, p->items);
}

static void
rates_clear (Rates *s)
{
  g_free (s->like_vs_dislike);
  g_free (s->pe_click);
  g_free (s->click_e);
  g_free (s->pe_e);
  g_free (s->item_count);
}

static int
guint32_desc (const void *a, const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return (x < y) - (x > y);
}

static void
test_default_rates (void)
{
  DlenSynthParams p = dlen_synth_params_default ();
  Rates s;
  gint64 t0 = g_get_monotonic_time ();

  rates_init (&s, &p, p.impressions);
  g_assert_cmpint (dlen_synth_generate (&p, rates_cb_plain, &s), ==, DLEN_STATUS_OK);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  g_assert_cmpuint (s.n, ==, 200000);

  double n = (double) s.n;
  double click = s.click / n, long_view = s.long_view / n, like = s.like / n;
  double share = s.share / n, dislike = s.dislike / n, p_e = s.p_e / n, e = s.emotion / n;
  double auc_lvd = auc (s.like_vs_dislike, s.n_lvd);
  double auc_pe_click = auc (s.pe_click, s.n);
  double auc_click_e = auc (s.click_e, s.n);
  double auc_pe_e = auc (s.pe_e, s.n);
  double after_obj = s.p_e_after_obj / s.n_after_obj, after_plain = s.p_e_after_plain / s.n_after_plain;

  g_test_message ("200k rows in %.3f s: click %.4f long_view %.4f like %.4f share %.4f dislike %.4f "
                  "mean p_e %.4f mean e %.4f", secs, click, long_view, like, share, dislike, p_e, e);
  g_test_message ("AUC p_e like-vs-dislike %.4f (%zu rows), p_e->click %.4f, click->e %.4f, p_e->e %.4f",
                  auc_lvd, s.n_lvd, auc_pe_click, auc_click_e, auc_pe_e);
  g_test_message ("mean p_e right after an objectionable impression %.4f (%" G_GUINT64_FORMAT
                  "), after another %.4f", after_obj, s.n_after_obj, after_plain);

  g_assert_cmpfloat (click, >=, 0.30);
  g_assert_cmpfloat (click, <=, 0.50);
  g_assert_cmpfloat (like, >=, 0.03);
  g_assert_cmpfloat (like, <=, 0.08);
  g_assert_cmpfloat (share, >=, 0.005);
  g_assert_cmpfloat (share, <=, 0.02);
  g_assert_cmpfloat (dislike, >=, 0.01);
  g_assert_cmpfloat (dislike, <=, 0.04);
  g_assert_cmpfloat (p_e, >=, 0.30);
  g_assert_cmpfloat (p_e, <=, 0.50);
  g_assert_cmpfloat (fabs (p_e - e), <, 0.01);   /* e really is drawn from p_e */
  g_assert_cmpfloat (long_view, >, 0.05);
  g_assert_cmpfloat (long_view, <, click);

  /* The oracle emotion separates likes from dislikes well; clicks it explains poorly, and a
   * click is a weak signal of the emotion: the conflict DLEN exists for. */
  g_assert_cmpfloat (auc_lvd, >, 0.85);
  g_assert_cmpfloat (auc_pe_click, <, auc_lvd - 0.15);
  g_assert_cmpfloat (auc_click_e, <, auc_lvd - 0.1);
  g_assert_cmpfloat (auc_pe_e, >, 0.75);

  /* The mood drops after an objectionable exposure. */
  g_assert_cmpuint (s.n_after_obj, >, 1000);
  g_assert_cmpfloat (after_obj, <, after_plain - 0.03);

  /* Popularity is skewed, so items repeat across users: the top 1 % of items take well over
   * 1 % of impressions, and most items are shown at some point. */
  guint32 shown = 0;
  guint64 top = 0;
  for (guint32 i = 0; i < p.items; i++)
    shown += s.item_count[i] > 0;
  qsort (s.item_count, p.items, sizeof *s.item_count, guint32_desc);
  for (guint32 i = 0; i < p.items / 100; i++)
    top += s.item_count[i];
  g_test_message ("items shown %u of %u; top 1 %% of items take %.3f of impressions", shown, p.items,
                  top / n);
  g_assert_cmpfloat (top / n, >, 0.08);
  g_assert_cmpuint (shown, >, p.items / 2);

  rates_clear (&s);
}

/* Click-bait is not a row field, so the two populations come from two worlds that differ only
 * in clickbait_share, 0 and 1. With the same seed they share every item's category, quality,
 * relative popularity and objectionable flag (the bait term of those draws is then the same for
 * all items), so this is a counterfactual: the same items shown as click-bait or not. */
static void
test_clickbait (void)
{
  DlenSynthParams p = dlen_synth_params_default ();
  Rates s;

  p.impressions = 100000;
  rates_init (&s, &p, p.impressions * 2);
  p.clickbait_share = 0.0;
  g_assert_cmpint (dlen_synth_generate (&p, rates_cb_plain, &s), ==, DLEN_STATUS_OK);
  p.clickbait_share = 1.0;
  g_assert_cmpint (dlen_synth_generate (&p, rates_cb_bait, &s), ==, DLEN_STATUS_OK);

  double click_bait = (double) s.click_bait / s.n_bait, click_plain = (double) s.click_plain / s.n_plain;
  double e_bait = s.e_bait / s.n_bait, e_plain = s.e_plain / s.n_plain;
  double pe_bait = s.p_e_bait / s.n_bait, pe_plain = s.p_e_plain / s.n_plain;
  g_test_message ("all-bait world: click %.4f mean e %.4f p_e %.4f; no-bait world: click %.4f mean e %.4f p_e %.4f",
                  click_bait, e_bait, pe_bait, click_plain, e_plain, pe_plain);
  g_assert_cmpfloat (click_bait, >, click_plain + 0.15);
  g_assert_cmpfloat (e_bait, <, e_plain - 0.05);
  g_assert_cmpfloat (pe_bait, <, pe_plain - 0.05);
  rates_clear (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dlen/engine/synth/auc-helper", test_auc_helper);
  g_test_add_func ("/dlen/engine/synth/deterministic", test_deterministic);
  g_test_add_func ("/dlen/engine/synth/invalid", test_invalid);
  g_test_add_func ("/dlen/engine/synth/cancel", test_cancel);
  g_test_add_func ("/dlen/engine/synth/structure", test_structure);
  g_test_add_func ("/dlen/engine/synth/time", test_time);
  g_test_add_func ("/dlen/engine/synth/default-rates", test_default_rates);
  g_test_add_func ("/dlen/engine/synth/clickbait", test_clickbait);
  return g_test_run ();
}
