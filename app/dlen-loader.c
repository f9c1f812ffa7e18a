/* dlen-loader.c: impression logs (CSV/TSV) to engine datasets via presets or column roles. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "dlen-csv.h"
#include "dlen-error.h"
#include "dlen-loader.h"

typedef enum {
  X_RAW,              /* the text itself */
  X_HOUR_HHMM,        /* HHMM -> hour */
  X_WEEKDAY,          /* YYYYMMDD -> day of week */
  X_DURATION_BUCKET,  /* milliseconds -> log2 bucket of seconds ("unknown" for 0) */
  X_HOUR_TIME,        /* epoch ms of the row -> hour of day (UTC) */
} CatTransform;

typedef enum {
  Y_BINARY,           /* 0 or 1 */
  Y_IS_ONE,           /* 1 when the column is 1, 0 when it is 0 */
  Y_IS_ZERO,          /* 1 when the column is 0, 0 when it is 1 */
  Y_MS,               /* milliseconds -> seconds */
  Y_SECONDS,
} TargetTransform;

/* Side-feature tables joined on the log's user or item column. */
typedef enum { JOIN_USER = 0, JOIN_ITEM = 1, N_JOINS } JoinTable;

typedef struct {
  DlenSchema schema;
  /* A field read from a side table has a join column (else -1) in table *_table. */
  int cat_col[DLEN_MAX_CAT_FIELDS], cat_join[DLEN_MAX_CAT_FIELDS];
  JoinTable cat_table[DLEN_MAX_CAT_FIELDS];
  CatTransform cat_x[DLEN_MAX_CAT_FIELDS];
  int num_col[DLEN_MAX_NUM_FIELDS], num_join[DLEN_MAX_NUM_FIELDS];
  JoinTable num_table[DLEN_MAX_NUM_FIELDS];
  int tgt_col[DLEN_MAX_TARGETS];
  TargetTransform tgt_x[DLEN_MAX_TARGETS];
  int user_col, item_col, time_col, date_col, truth_col, session_col, request_col;
} Plan;

const char *const dlen_loader_roles_help =
  "  user           the user id (also a categorical feature; groups GAUC)\n"
  "  item           the item id (a categorical feature)\n"
  "  time           impression time, epoch milliseconds (or seconds if < 1e11)\n"
  "  date           calendar day YYYYMMDD (else taken from time, UTC)\n"
  "  session        the log's session id (else sessions split on a 30-minute gap)\n"
  "  request        the log's request id (else groups of 10 impressions of a session)\n"
  "  category       a categorical feature\n"
  "  numeric        a numeric feature, standardised\n"
  "  log-numeric    a heavy-tailed numeric feature, log1p then standardised\n"
  "  neutral        a binary target of neutral polarity (click, view)\n"
  "  positive       a binary target of positive polarity (long view, comment)\n"
  "  negative       a binary target of negative polarity\n"
  "  weak-positive  a positive target whose 1s are weak emotion labels e=1 (like, share)\n"
  "  weak-negative  a negative target whose 1s are weak emotion labels e=0 (dislike, hate)\n"
  "  duration-s     stay time in seconds (a duration target)\n"
  "  duration-ms    stay time in milliseconds (a duration target)\n"
  "  ignore         not used\n";

/* ---- Calendar ---------------------------------------------------------------------------- */

static gint64
days_from_civil (gint64 y, unsigned m, unsigned d)
{
  gint64 era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned) (y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (gint64) doe - 719468;
}

gint32
dlen_day_from_epoch_ms (gint64 ms)
{
  gint64 z = (ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000) + 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned) (z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 y = (gint64) yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  return (gint32) (y * 10000 + m * 100 + d);
}

gboolean
dlen_parse_day (const char *text, gint32 *day)
{
  int y, m, d;
  if (!text || strlen (text) != 8 || strspn (text, "0123456789") != 8)
    return FALSE;
  y = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
  m = (text[4] - '0') * 10 + (text[5] - '0');
  d = (text[6] - '0') * 10 + (text[7] - '0');
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
    return FALSE;
  /* Reject 20230231 and the like by a round trip through the day count. */
  if (dlen_day_from_epoch_ms (days_from_civil (y, m, d) * 86400000) != y * 10000 + m * 100 + d)
    return FALSE;
  *day = y * 10000 + m * 100 + d;
  return TRUE;
}

/* ---- Distinct counting ------------------------------------------------------------------- */

typedef struct {
  guint64 *slots;
  gsize cap, n;
} U64Set;

static void
u64set_add (U64Set *s, guint64 h)
{
  gsize i;
  if (h == 0)
    h = 1;
  if (2 * (s->n + 1) > s->cap)
    {
      U64Set bigger = { g_new0 (guint64, s->cap ? s->cap * 2 : 1024), s->cap ? s->cap * 2 : 1024, 0 };
      for (gsize k = 0; k < s->cap; k++)
        if (s->slots[k])
          u64set_add (&bigger, s->slots[k]);
      g_free (s->slots);
      *s = bigger;
    }
  for (i = h & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
    if (s->slots[i] == h)
      return;
  s->slots[i] = h;
  s->n++;
}

/* ---- Plans ------------------------------------------------------------------------------- */

static void
plan_init (Plan *p)
{
  memset (p, 0, sizeof *p);
  p->user_col = p->item_col = p->time_col = p->date_col = p->truth_col = p->session_col = p->request_col = -1;
}

static gboolean
need_column (DlenCsvReader *r, const char *path, const char *name, const char *what, int *col, GError **error)
{
  *col = dlen_csv_reader_find_column (r, name);
  if (*col < 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: missing required column '%s' (%s)", path, name, what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_cat_from (Plan *p, const char *name, int col, JoinTable table, int join, CatTransform x, GError **error)
{
  if (p->schema.n_cat == DLEN_MAX_CAT_FIELDS)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "more than %d categorical fields", DLEN_MAX_CAT_FIELDS);
      return FALSE;
    }
  g_strlcpy (p->schema.cat[p->schema.n_cat].name, name, DLEN_NAME_MAX);
  p->schema.cat[p->schema.n_cat].buckets = 1;
  p->cat_col[p->schema.n_cat] = col;
  p->cat_join[p->schema.n_cat] = join;
  p->cat_table[p->schema.n_cat] = table;
  p->cat_x[p->schema.n_cat++] = x;
  return TRUE;
}

static gboolean
add_cat (Plan *p, const char *name, int col, int join, CatTransform x, GError **error)
{
  return add_cat_from (p, name, col, JOIN_USER, join, x, error);
}

static gboolean
add_num_from (Plan *p, const char *name, int col, JoinTable table, int join, gboolean log1p, GError **error)
{
  if (p->schema.n_num == DLEN_MAX_NUM_FIELDS)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "more than %d numeric fields", DLEN_MAX_NUM_FIELDS);
      return FALSE;
    }
  g_strlcpy (p->schema.num[p->schema.n_num].name, name, DLEN_NAME_MAX);
  p->schema.num[p->schema.n_num].log1p = log1p;
  p->num_col[p->schema.n_num] = col;
  p->num_table[p->schema.n_num] = table;
  p->num_join[p->schema.n_num++] = join;
  return TRUE;
}

static gboolean
add_num (Plan *p, const char *name, int col, int join, gboolean log1p, GError **error)
{
  return add_num_from (p, name, col, JOIN_USER, join, log1p, error);
}

static gboolean
add_target (Plan *p, const char *name, int col, DlenTargetKind kind, DlenPolarity pol, gboolean weak,
            TargetTransform x, GError **error)
{
  DlenTarget *t;
  if (p->schema.n_targets == DLEN_MAX_TARGETS)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "more than %d targets", DLEN_MAX_TARGETS);
      return FALSE;
    }
  t = &p->schema.targets[p->schema.n_targets];
  g_strlcpy (t->name, name, DLEN_NAME_MAX);
  t->kind = kind;
  t->polarity = pol;
  t->weak_source = weak;
  t->weight = 1.0f;
  p->tgt_col[p->schema.n_targets] = col;
  p->tgt_x[p->schema.n_targets++] = x;
  return TRUE;
}

static const char *const kuairand_user_cats[] = {
  "user_active_degree", "is_lowactive_period", "is_live_streamer", "is_video_author",
  "follow_user_num_range", "fans_user_num_range", "friend_user_num_range", "register_days_range",
};
static const char *const kuairand_user_nums[] = {
  "follow_user_num", "fans_user_num", "friend_user_num", "register_days",
};

/* KuaiRand's video_features_basic.csv, joined on video_id. */
static const char *const kuairand_item_cats[] = {
  "author_id", "video_type", "upload_type", "music_type", "tag",
};
static const char *const kuairand_item_nums[] = { "video_duration" };

static gboolean
plan_kuairand (Plan *p, DlenCsvReader *r, DlenCsvReader *join, const char *path, const char *join_path,
               DlenCsvReader *ijoin, const char *ijoin_path, GError **error)
{
  int c_user, c_video, c_date, c_hm, c_time, c_dur, c;
  static const struct { const char *col, *name; DlenPolarity pol; } binary[] = {
    { "is_click", "click", DLEN_POLARITY_NEUTRAL },
    { "long_view", "long_view", DLEN_POLARITY_POSITIVE },
    { "is_comment", "comment", DLEN_POLARITY_POSITIVE },
    { "is_follow", "follow", DLEN_POLARITY_POSITIVE },
    { "is_forward", "forward", DLEN_POLARITY_POSITIVE },
    { "is_profile_enter", "profile_enter", DLEN_POLARITY_NEUTRAL },
  };
  const char *what = "preset kuairand";
  if (!need_column (r, path, "user_id", what, &c_user, error)
      || !need_column (r, path, "video_id", what, &c_video, error)
      || !need_column (r, path, "date", what, &c_date, error)
      || !need_column (r, path, "hourmin", what, &c_hm, error)
      || !need_column (r, path, "time_ms", what, &c_time, error)
      || !need_column (r, path, "duration_ms", what, &c_dur, error))
    return FALSE;
  p->user_col = c_user;
  p->item_col = c_video;
  p->time_col = c_time;
  p->date_col = c_date;
  add_cat (p, "user_id", c_user, -1, X_RAW, NULL);
  add_cat (p, "video_id", c_video, -1, X_RAW, NULL);
  add_cat (p, "hour", c_hm, -1, X_HOUR_HHMM, NULL);
  add_cat (p, "weekday", c_date, -1, X_WEEKDAY, NULL);
  add_cat (p, "duration_bucket", c_dur, -1, X_DURATION_BUCKET, NULL);
  if (join)
    {
      const char *jwhat = "user features of preset kuairand";
      char name[32];
      for (guint i = 0; i < G_N_ELEMENTS (kuairand_user_cats); i++)
        {
          if (!need_column (join, join_path, kuairand_user_cats[i], jwhat, &c, error))
            return FALSE;
          add_cat (p, kuairand_user_cats[i], c_user, c, X_RAW, NULL);
        }
      for (int i = 0; i < 18; i++)
        {
          g_snprintf (name, sizeof name, "onehot_feat%d", i);
          if (!need_column (join, join_path, name, jwhat, &c, error))
            return FALSE;
          add_cat (p, name, c_user, c, X_RAW, NULL);
        }
      for (guint i = 0; i < G_N_ELEMENTS (kuairand_user_nums); i++)
        {
          if (!need_column (join, join_path, kuairand_user_nums[i], jwhat, &c, error))
            return FALSE;
          add_num (p, kuairand_user_nums[i], c_user, c, TRUE, NULL);
        }
    }
  if (ijoin)
    {
      const char *jwhat = "item features of preset kuairand";
      for (guint i = 0; i < G_N_ELEMENTS (kuairand_item_cats); i++)
        {
          if (!need_column (ijoin, ijoin_path, kuairand_item_cats[i], jwhat, &c, error))
            return FALSE;
          add_cat_from (p, kuairand_item_cats[i], c_video, JOIN_ITEM, c, X_RAW, NULL);
        }
      for (guint i = 0; i < G_N_ELEMENTS (kuairand_item_nums); i++)
        {
          if (!need_column (ijoin, ijoin_path, kuairand_item_nums[i], jwhat, &c, error))
            return FALSE;
          add_num_from (p, kuairand_item_nums[i], c_video, JOIN_ITEM, c, TRUE, NULL);
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (binary); i++)
    {
      if (!need_column (r, path, binary[i].col, what, &c, error))
        return FALSE;
      add_target (p, binary[i].name, c, DLEN_TARGET_BINARY, binary[i].pol, FALSE, Y_BINARY, NULL);
    }
  if (!need_column (r, path, "label", what, &c, error))
    return FALSE;
  add_target (p, "like", c, DLEN_TARGET_BINARY, DLEN_POLARITY_POSITIVE, TRUE, Y_IS_ONE, NULL);
  add_target (p, "hate", c, DLEN_TARGET_BINARY, DLEN_POLARITY_NEGATIVE, TRUE, Y_IS_ZERO, NULL);
  if (!need_column (r, path, "play_time_ms", what, &c, error))
    return FALSE;
  add_target (p, "stay", c, DLEN_TARGET_DURATION, DLEN_POLARITY_NEUTRAL, FALSE, Y_MS, NULL);
  return TRUE;
}

static gboolean
plan_synthetic (Plan *p, DlenCsvReader *r, const char *path, GError **error)
{
  static const struct { const char *col; DlenPolarity pol; gboolean weak; } binary[] = {
    { "click", DLEN_POLARITY_NEUTRAL, FALSE },
    { "long_view", DLEN_POLARITY_POSITIVE, FALSE },
    { "like", DLEN_POLARITY_POSITIVE, TRUE },
    { "share", DLEN_POLARITY_POSITIVE, TRUE },
    { "dislike", DLEN_POLARITY_NEGATIVE, TRUE },
  };
  const char *what = "preset synthetic";
  int c_user, c_item, c_cat, c_pos, c_time, c;
  if (!need_column (r, path, "user_id", what, &c_user, error)
      || !need_column (r, path, "item_id", what, &c_item, error)
      || !need_column (r, path, "category", what, &c_cat, error)
      || !need_column (r, path, "position", what, &c_pos, error)
      || !need_column (r, path, "time_ms", what, &c_time, error))
    return FALSE;
  p->user_col = c_user;
  p->item_col = c_item;
  p->time_col = c_time;
  p->truth_col = dlen_csv_reader_find_column (r, "emotion");
  p->session_col = dlen_csv_reader_find_column (r, "session_id");
  p->request_col = dlen_csv_reader_find_column (r, "request_id");
  add_cat (p, "user_id", c_user, -1, X_RAW, NULL);
  add_cat (p, "item_id", c_item, -1, X_RAW, NULL);
  add_cat (p, "category", c_cat, -1, X_RAW, NULL);
  add_cat (p, "position", c_pos, -1, X_RAW, NULL);
  add_cat (p, "hour", c_time, -1, X_HOUR_TIME, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (binary); i++)
    {
      if (!need_column (r, path, binary[i].col, what, &c, error))
        return FALSE;
      add_target (p, binary[i].col, c, DLEN_TARGET_BINARY, binary[i].pol, binary[i].weak, Y_BINARY, NULL);
    }
  if (!need_column (r, path, "stay_s", what, &c, error))
    return FALSE;
  add_target (p, "stay", c, DLEN_TARGET_DURATION, DLEN_POLARITY_NEUTRAL, FALSE, Y_SECONDS, NULL);
  return TRUE;
}

static gboolean
plan_generic (Plan *p, DlenCsvReader *r, const char *path, const char *const *maps, GError **error)
{
  if (!maps || !maps[0])
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID,
                   "%s: the generic mapping needs --map COLUMN=ROLE entries (at least user, time and one target)", path);
      return FALSE;
    }
  for (guint i = 0; maps[i]; i++)
    {
      const char *eq = strrchr (maps[i], '=');
      g_autofree char *col_name = NULL;
      const char *role;
      int col;
      gboolean ok = TRUE;
      if (!eq || eq == maps[i] || !eq[1])
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "--map '%s' is not COLUMN=ROLE", maps[i]);
          return FALSE;
        }
      col_name = g_strndup (maps[i], eq - maps[i]);
      role = eq + 1;
      col = dlen_csv_reader_find_column (r, col_name);
      if (col < 0)
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: --map names column '%s', which the header does not have",
                       path, col_name);
          return FALSE;
        }
      if (strlen (col_name) >= DLEN_NAME_MAX)
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "column name '%s' is longer than %d bytes",
                       col_name, DLEN_NAME_MAX - 1);
          return FALSE;
        }
      if (g_str_equal (role, "user"))
        {
          p->user_col = col;
          ok = add_cat (p, col_name, col, -1, X_RAW, error);
        }
      else if (g_str_equal (role, "item") || g_str_equal (role, "category"))
        {
          if (g_str_equal (role, "item"))
            p->item_col = col;
          ok = add_cat (p, col_name, col, -1, X_RAW, error);
        }
      else if (g_str_equal (role, "session"))
        p->session_col = col;
      else if (g_str_equal (role, "request"))
        p->request_col = col;
      else if (g_str_equal (role, "time"))
        p->time_col = col;
      else if (g_str_equal (role, "date"))
        p->date_col = col;
      else if (g_str_equal (role, "numeric") || g_str_equal (role, "log-numeric"))
        ok = add_num (p, col_name, col, -1, g_str_equal (role, "log-numeric"), error);
      else if (g_str_equal (role, "neutral"))
        ok = add_target (p, col_name, col, DLEN_TARGET_BINARY, DLEN_POLARITY_NEUTRAL, FALSE, Y_BINARY, error);
      else if (g_str_equal (role, "positive") || g_str_equal (role, "weak-positive"))
        ok = add_target (p, col_name, col, DLEN_TARGET_BINARY, DLEN_POLARITY_POSITIVE,
                         g_str_equal (role, "weak-positive"), Y_BINARY, error);
      else if (g_str_equal (role, "negative") || g_str_equal (role, "weak-negative"))
        ok = add_target (p, col_name, col, DLEN_TARGET_BINARY, DLEN_POLARITY_NEGATIVE,
                         g_str_equal (role, "weak-negative"), Y_BINARY, error);
      else if (g_str_equal (role, "duration-s") || g_str_equal (role, "duration-ms"))
        ok = add_target (p, col_name, col, DLEN_TARGET_DURATION, DLEN_POLARITY_NEUTRAL, FALSE,
                         g_str_equal (role, "duration-ms") ? Y_MS : Y_SECONDS, error);
      else if (!g_str_equal (role, "ignore"))
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "--map '%s': unknown role '%s'; roles are:\n%s",
                       maps[i], role, dlen_loader_roles_help);
          return FALSE;
        }
      if (!ok)
        return FALSE;
    }
  if (p->user_col < 0 || (p->time_col < 0 && p->date_col < 0) || p->schema.n_targets == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID,
                   "%s: the mapping needs a user column, a time or date column and at least one target", path);
      return FALSE;
    }
  return TRUE;
}

/* ---- Row conversion ---------------------------------------------------------------------- */

/* Plain decimals ("1", "-3", "1704145514328", "0.15774") with at most 15 significant digits
 * and 22 decimals: the digits make an integer M < 2^53 and the value is M / 10^k, one IEEE
 * division of two exact doubles, so it is correctly rounded: the very double strtod returns,
 * without its cost (most of a log's fields are such numbers). FALSE for anything else
 * (exponents, hex, inf/nan, longer numbers, stray text), which goes to strtod. */
static gboolean
parse_plain_decimal (const char *s, const char **end, double *out)
{
  static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                                  1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
  gboolean negative = *s == '-';
  guint64 m = 0;
  int digits = 0, significant = 0, decimals = 0;
  double v;
  if (*s == '-' || *s == '+')
    s++;
  for (; g_ascii_isdigit (*s); s++, digits++)
    if ((m = m * 10 + (guint64) (*s - '0')) != 0)
      significant++;
  if (*s == '.')
    for (s++; g_ascii_isdigit (*s); s++, digits++, decimals++)
      if ((m = m * 10 + (guint64) (*s - '0')) != 0)
        significant++;
  if (digits == 0 || significant > 15 || decimals >= (int) G_N_ELEMENTS (pow10) || (*s != '\0' && *s != ' '))
    return FALSE;
  v = decimals ? (double) m / pow10[decimals] : (double) m;
  *out = negative ? -v : v;
  *end = s;
  return TRUE;
}

static gboolean
parse_number (const char *s, double *out)
{
  char *end;
  const char *plain_end;
  double v;
  while (*s == ' ')
    s++;
  if (!*s)
    return FALSE;
  if (parse_plain_decimal (s, &plain_end, &v))
    end = (char *) plain_end;
  else
    v = g_ascii_strtod (s, &end);
  while (*end == ' ')
    end++;
  if (*end || !isfinite (v))
    return FALSE;
  *out = v;
  return TRUE;
}

typedef struct {
  const char *path;
  guint64 line;
  int col;            /* 0-based column of the failing field */
  char *reason;
} RowError;

static gboolean
row_fail (RowError *e, int col, const char *fmt, const char *value)
{
  e->col = col;
  g_free (e->reason);
  e->reason = g_strdup_printf (fmt, value);
  return FALSE;
}

/* g_snprintf (buf, len, "%d", v) for the derived categories, without the printf machinery. */
static void
format_int (char *buf, gsize len, int v)
{
  char tmp[16];
  guint u = v < 0 ? 0u - (guint) v : (guint) v;
  gsize n = 0, i = 0;
  do
    tmp[n++] = (char) ('0' + u % 10);
  while ((u /= 10) != 0);
  if (v < 0)
    tmp[n++] = '-';
  for (; n > 0 && i + 1 < len; i++)
    buf[i] = tmp[--n];
  buf[i] = '\0';
}

static int
weekday_of (gint32 day)
{
  gint64 days = days_from_civil (day / 10000, (day / 100) % 100, day % 100);
  return (int) (((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday; 0 = Monday */
}

static gboolean
convert_record (const Plan *p, const char *const *f, GHashTable *const *join_rows, DlenRecord *rec, RowError *e)
{
  const DlenSchema *s = &p->schema;
  const char *const *joined[N_JOINS] = { NULL, NULL };
  double v;

  if (!*f[p->user_col])
    return row_fail (e, p->user_col, "empty user id%s", "");
  rec->user = f[p->user_col];
  rec->item = p->item_col >= 0 ? f[p->item_col] : NULL;
  rec->session = p->session_col >= 0 && *f[p->session_col] ? f[p->session_col] : NULL;
  rec->request = p->request_col >= 0 && *f[p->request_col] ? f[p->request_col] : NULL;
  if (join_rows[JOIN_USER])
    joined[JOIN_USER] = g_hash_table_lookup (join_rows[JOIN_USER], f[p->user_col]);
  if (join_rows[JOIN_ITEM] && p->item_col >= 0)
    joined[JOIN_ITEM] = g_hash_table_lookup (join_rows[JOIN_ITEM], f[p->item_col]);
  rec->time_ms = 0;
  if (p->time_col >= 0)
    {
      if (!parse_number (f[p->time_col], &v) || v < 0 || v > 9.2e15)
        return row_fail (e, p->time_col, "'%s' is not a time in epoch milliseconds or seconds", f[p->time_col]);
      rec->time_ms = (gint64) (v < 1e11 ? v * 1000.0 : v);
    }
  if (p->date_col >= 0)
    {
      if (!dlen_parse_day (f[p->date_col], &rec->day))
        return row_fail (e, p->date_col, "'%s' is not a date YYYYMMDD", f[p->date_col]);
      if (p->time_col < 0)
        rec->time_ms = days_from_civil (rec->day / 10000, (rec->day / 100) % 100, rec->day % 100) * 86400000;
    }
  else
    rec->day = dlen_day_from_epoch_ms (rec->time_ms);

  for (uint32_t i = 0; i < s->n_cat; i++)
    {
      const char *val;
      char *buf = rec->scratch[i];
      const gsize len = sizeof rec->scratch[i];
      int col = p->cat_col[i];
      if (p->cat_join[i] >= 0)
        val = joined[p->cat_table[i]] ? joined[p->cat_table[i]][p->cat_join[i]] : "";
      else
        val = f[col];
      switch (p->cat_x[i])
        {
        case X_HOUR_HHMM:
          if (!parse_number (val, &v) || v < 0 || v >= 2400)
            return row_fail (e, col, "'%s' is not a time of day HHMM", val);
          format_int (buf, len, (int) v / 100);
          val = buf;
          break;
        case X_WEEKDAY:
          format_int (buf, len, weekday_of (rec->day));
          val = buf;
          break;
        case X_DURATION_BUCKET:
          if (!parse_number (val, &v) || v < 0)
            return row_fail (e, col, "'%s' is not a non-negative duration", val);
          if (v <= 0)
            g_strlcpy (buf, "unknown", len);
          else
            format_int (buf, len, (int) floor (log2 (1.0 + v / 1000.0) * 2.0));
          val = buf;
          break;
        case X_HOUR_TIME:
          format_int (buf, len, (int) ((rec->time_ms / 3600000) % 24));
          val = buf;
          break;
        default:
          break;
        }
      rec->cat[i] = val;
    }
  for (uint32_t j = 0; j < s->n_num; j++)
    {
      const char *const *side = p->num_join[j] >= 0 ? joined[p->num_table[j]] : NULL;
      const char *val = p->num_join[j] >= 0 ? (side ? side[p->num_join[j]] : "") : f[p->num_col[j]];
      int col = p->num_join[j] >= 0 ? (p->num_table[j] == JOIN_ITEM ? p->item_col : p->user_col) : p->num_col[j];
      while (*val == ' ')
        val++;
      if (!*val)
        rec->num[j] = NAN;
      else if (!parse_number (val, &v))
        return row_fail (e, col, "'%s' is not a finite number", val);
      else if (fabs (v) > FLT_MAX)
        /* Finite as a double but infinite as the engine's float: the dataset would refuse it. */
        return row_fail (e, col, "'%s' is too large for a float", val);
      else
        rec->num[j] = (float) v;
    }
  for (uint32_t t = 0; t < s->n_targets; t++)
    {
      const char *val = f[p->tgt_col[t]];
      int col = p->tgt_col[t];
      const char *tv = val;
      while (*tv == ' ')
        tv++;
      if (!*tv)
        {
          rec->lab[t] = NAN;
          continue;
        }
      if (!parse_number (val, &v))
        return row_fail (e, col, "'%s' is not a finite number", val);
      switch (p->tgt_x[t])
        {
        case Y_BINARY:
        case Y_IS_ONE:
        case Y_IS_ZERO:
          if (v != 0.0 && v != 1.0)
            return row_fail (e, col, "binary label '%s' is neither 0 nor 1", val);
          rec->lab[t] = (float) (p->tgt_x[t] == Y_IS_ZERO ? 1.0 - v : v);
          break;
        case Y_MS:
        case Y_SECONDS:
          if (v < 0)
            return row_fail (e, col, "negative duration '%s'", val);
          if ((p->tgt_x[t] == Y_MS ? v / 1000.0 : v) > FLT_MAX)
            return row_fail (e, col, "duration '%s' is too large for a float", val);
          rec->lab[t] = (float) (p->tgt_x[t] == Y_MS ? v / 1000.0 : v);
          break;
        }
    }
  rec->truth = NAN;
  if (p->truth_col >= 0)
    {
      if (!parse_number (f[p->truth_col], &v) || (v != 0.0 && v != 1.0))
        return row_fail (e, p->truth_col, "emotion '%s' is neither 0 nor 1", f[p->truth_col]);
      rec->truth = (float) v;
    }
  return TRUE;
}

void
dlen_record_to_row (const DlenSchema *s, const DlenRecord *rec, uint64_t *cat, DlenRow *row)
{
  row->group = dlen_hash_value (0xffffffffu, rec->user, strlen (rec->user));
  row->time_ms = rec->time_ms;
  row->day = rec->day;
  for (uint32_t i = 0; i < s->n_cat; i++)
    cat[i] = dlen_hash_value (i, rec->cat[i], strlen (rec->cat[i]));
  row->cat = cat;
  row->num = rec->num;
  row->labels = rec->lab;
}

/* ---- Side features ----------------------------------------------------------------------- */

/* The rows of a side-feature file by their @key_name column; every row must be clean and every
 * key unique. */
static GHashTable *
load_join (DlenCsvReader *r, const char *path, const char *key_name, const char *what, GError **error)
{
  /* Each row is one block (its field pointers, then their text), keyed by its own key field. */
  g_autoptr (GHashTable) rows = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  int key = dlen_csv_reader_find_column (r, key_name);
  const char *const *f;
  guint n;
  int rc;
  if (key < 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: missing required column '%s' to join on", path, key_name);
      return NULL;
    }
  while ((rc = dlen_csv_reader_next (r, &f, &n, error)) != 0)
    {
      char **copy, *text;
      gsize bytes = 0;
      if (rc < 0)
        return NULL;    /* side features are small and must be clean: any bad row stops */
      if (g_hash_table_contains (rows, f[key]))
        {
          g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s:%" G_GUINT64_FORMAT ":%d: %s '%s' appears twice",
                       path, dlen_csv_reader_line (r), key + 1, what, f[key]);
          return NULL;
        }
      for (guint i = 0; i < n; i++)
        bytes += strlen (f[i]) + 1;
      copy = g_malloc ((n + 1) * sizeof (char *) + bytes);
      text = (char *) (copy + n + 1);
      for (guint i = 0; i < n; i++)
        {
          gsize len = strlen (f[i]) + 1;
          copy[i] = memcpy (text, f[i], len);
          text += len;
        }
      copy[n] = NULL;
      g_hash_table_insert (rows, copy[key], copy);
    }
  return g_steal_pointer (&rows);
}

/* ---- Entry point ------------------------------------------------------------------------- */

static const char *
guess_preset (DlenCsvReader *r)
{
  if (dlen_csv_reader_find_column (r, "video_id") >= 0 && dlen_csv_reader_find_column (r, "hourmin") >= 0)
    return "kuairand";
  if (dlen_csv_reader_find_column (r, "item_id") >= 0 && dlen_csv_reader_find_column (r, "emotion_p") >= 0)
    return "synthetic";
  return "generic";
}

static gboolean
match_schema (const DlenSchema *mine, const DlenSchema *model, const char *path, GError **error)
{
  gboolean same = mine->n_cat == model->n_cat && mine->n_num == model->n_num && mine->n_targets == model->n_targets;
  for (uint32_t i = 0; same && i < mine->n_cat; i++)
    same = g_str_equal (mine->cat[i].name, model->cat[i].name);
  for (uint32_t i = 0; same && i < mine->n_num; i++)
    same = g_str_equal (mine->num[i].name, model->num[i].name) && mine->num[i].log1p == model->num[i].log1p;
  for (uint32_t i = 0; same && i < mine->n_targets; i++)
    same = g_str_equal (mine->targets[i].name, model->targets[i].name)
           && mine->targets[i].kind == model->targets[i].kind;
  if (!same)
    g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                 "%s: the mapping gives %u categorical, %u numeric fields and %u targets that differ from "
                 "the model's (%u, %u, %u); use the preset and side features the model was trained with",
                 path, mine->n_cat, mine->n_num, mine->n_targets, model->n_cat, model->n_num, model->n_targets);
  return same;
}

void
dlen_loaded_data_free (DlenLoadedData *d)
{
  if (!d)
    return;
  dlen_dataset_free (d->dataset);
  g_free (d->preset);
  g_free (d->user_features);
  g_free (d->item_features);
  if (d->lines)
    g_array_unref (d->lines);
  g_free (d->first_reject);
  g_free (d);
}

gint32
dlen_preset_split_day (const char *preset)
{
  return preset && g_str_equal (preset, "kuairand") ? 20220419 : 0;
}

guint32
dlen_buckets_for (guint64 distinct)
{
  guint64 b = 16;
  while (b < distinct * 4 && b < (1u << 22))
    b <<= 1;
  return (guint32) b;
}

struct _DlenMapping {
  char *path;
  DlenCsvReader *reader;
  GHashTable *join_rows[N_JOINS];
  char *preset;
  char *user_features, *item_features;
  Plan plan;
  gboolean strict;
};

void
dlen_mapping_free (DlenMapping *m)
{
  if (!m)
    return;
  dlen_csv_reader_free (m->reader);
  for (int j = 0; j < N_JOINS; j++)
    if (m->join_rows[j])
      g_hash_table_unref (m->join_rows[j]);
  g_free (m->path);
  g_free (m->preset);
  g_free (m->user_features);
  g_free (m->item_features);
  g_free (m);
}

const DlenSchema *dlen_mapping_schema (const DlenMapping *m) { return &m->plan.schema; }
const char *dlen_mapping_preset (const DlenMapping *m) { return m->preset; }
const char *dlen_mapping_user_features (const DlenMapping *m) { return m->user_features; }
const char *dlen_mapping_item_features (const DlenMapping *m) { return m->item_features; }
DlenCsvReader *dlen_mapping_reader (DlenMapping *m) { return m->reader; }
gboolean dlen_mapping_has_truth (const DlenMapping *m) { return m->plan.truth_col >= 0; }

/* Whether @schema (a model's) has the field @name. */
static gboolean
schema_has_cat (const DlenSchema *schema, const char *name)
{
  for (uint32_t i = 0; schema && i < schema->n_cat; i++)
    if (g_str_equal (schema->cat[i].name, name))
      return TRUE;
  return FALSE;
}

/* The side-feature file to join: the one given, else (when @beside_default or the model uses the
 * features) @file_name beside the log. *@missing is set when the model needs it and none is there. */
static char *
side_file (const char *path, const char *given, const char *file_name, gboolean beside_default, gboolean model_wants,
           gboolean *missing)
{
  g_autofree char *dir = NULL, *beside = NULL;
  *missing = FALSE;
  if (given)
    return g_strdup (given);
  if (!beside_default && !model_wants)
    return NULL;
  dir = g_path_get_dirname (path);
  beside = g_build_filename (dir, file_name, NULL);
  if (g_file_test (beside, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&beside);
  *missing = model_wants;
  return NULL;
}

DlenMapping *
dlen_mapping_open (const char *path, const DlenLoadOptions *opt, const DlenSchema *model_schema, GError **error)
{
  g_autoptr (DlenMapping) m = g_new0 (DlenMapping, 1);
  DlenCsvReader *jr = NULL, *ijr = NULL;
  const char *preset;
  gboolean ok = FALSE, user_missing = FALSE, item_missing = FALSE;

  plan_init (&m->plan);
  m->path = g_strdup (path);
  m->strict = opt->strict;
  m->reader = dlen_csv_reader_open (path, error);
  if (!m->reader)
    return NULL;
  preset = opt->preset ? opt->preset : guess_preset (m->reader);
  m->preset = g_strdup (preset);
  if ((opt->user_features || opt->item_features) && !g_str_equal (preset, "kuairand"))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "--%s-features is supported with preset kuairand only",
                   opt->user_features ? "user" : "item");
      return NULL;
    }
  if (g_str_equal (preset, "kuairand"))
    {
      /* User features are joined from beside the log by default; item features only when asked
       * (few of the 27K subset's videos are in video_features_basic.csv) or when the model has
       * them. */
      m->user_features = side_file (path, opt->user_features, "user_features.csv",
                                    !model_schema && !opt->no_user_features,
                                    schema_has_cat (model_schema, kuairand_user_cats[0]), &user_missing);
      m->item_features = side_file (path, opt->item_features, "video_features_basic.csv", FALSE,
                                    schema_has_cat (model_schema, kuairand_item_cats[0]), &item_missing);
    }
  if (m->user_features)
    {
      jr = dlen_csv_reader_open (m->user_features, error);
      if (!jr || !(m->join_rows[JOIN_USER] = load_join (jr, m->user_features, "user_id", "user", error)))
        goto done;
    }
  if (m->item_features)
    {
      ijr = dlen_csv_reader_open (m->item_features, error);
      if (!ijr || !(m->join_rows[JOIN_ITEM] = load_join (ijr, m->item_features, "video_id", "video", error)))
        goto done;
    }
  if (g_str_equal (preset, "kuairand"))
    ok = plan_kuairand (&m->plan, m->reader, jr, path, m->user_features, ijr, m->item_features, error);
  else if (g_str_equal (preset, "synthetic"))
    ok = plan_synthetic (&m->plan, m->reader, path, error);
  else if (g_str_equal (preset, "generic"))
    ok = plan_generic (&m->plan, m->reader, path, opt->maps, error);
  else
    g_set_error (error, DLEN_ERROR, DLEN_ERROR_INVALID, "unknown preset '%s' (kuairand, synthetic, generic)", preset);
  if (!ok)
    goto done;
  ok = FALSE;
  if (user_missing || item_missing)
    {
      /* Reported only now, so that a log of another kind gets its own, clearer error first. */
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA,
                   "%s: the model uses KuaiRand %s features, and no %s is beside the log; pass --%s-features FILE",
                   path, user_missing ? "user" : "item", user_missing ? "user_features.csv" : "video_features_basic.csv",
                   user_missing ? "user" : "item");
      goto done;
    }
  if (model_schema)
    {
      if (!match_schema (&m->plan.schema, model_schema, path, error))
        goto done;
      m->plan.schema = *model_schema;
    }
  ok = TRUE;
done:
  dlen_csv_reader_free (jr);
  dlen_csv_reader_free (ijr);
  return ok ? g_steal_pointer (&m) : NULL;
}

DlenMapping *
dlen_mapping_fork (const DlenMapping *m, guint64 offset, guint64 line, GError **error)
{
  g_autoptr (DlenMapping) f = g_new0 (DlenMapping, 1);
  f->path = g_strdup (m->path);
  f->reader = dlen_csv_reader_open (m->path, error);
  if (!f->reader || !dlen_csv_reader_seek (f->reader, offset, line, error))
    return NULL;
  if (dlen_csv_reader_delimiter (f->reader) != dlen_csv_reader_delimiter (m->reader)
      || dlen_csv_reader_n_columns (f->reader) != dlen_csv_reader_n_columns (m->reader))
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_IO, "%s: the file changed while it was being read", m->path);
      return NULL;
    }
  for (int j = 0; j < N_JOINS; j++)
    if (m->join_rows[j])
      f->join_rows[j] = g_hash_table_ref (m->join_rows[j]);
  f->preset = g_strdup (m->preset);
  f->user_features = g_strdup (m->user_features);
  f->item_features = g_strdup (m->item_features);
  f->plan = m->plan;
  f->strict = m->strict;
  return g_steal_pointer (&f);
}

void
dlen_reject_clear (DlenReject *r)
{
  g_clear_pointer (&r->reason, g_free);
  g_clear_pointer (&r->message, g_free);
  r->column_name = NULL;
  r->line = 0;
  r->column = 0;
}

int
dlen_mapping_next (DlenMapping *m, DlenRecord *rec, DlenReject *reject, GError **error)
{
  const char *const *f;
  guint nf;
  g_autoptr (GError) row_error = NULL;
  RowError e = { m->path, 0, -1, NULL };
  int rc;

  dlen_reject_clear (reject);
  rc = dlen_csv_reader_next (m->reader, &f, &nf, &row_error);
  if (rc == 0)
    return 0;
  if (rc < 0)
    {
      /* I/O failures and an open quote at end of file end the read: report, never skip. */
      if (row_error->code == DLEN_CSV_ERROR_IO)
        {
          g_propagate_error (error, g_steal_pointer (&row_error));
          return -2;
        }
      reject->line = dlen_csv_reader_error_line (m->reader);
      reject->column = (int) dlen_csv_reader_error_column (m->reader);
      reject->column_name = reject->column >= 1 && (guint) reject->column <= dlen_csv_reader_n_columns (m->reader)
                            ? dlen_csv_reader_column_name (m->reader, reject->column - 1) : NULL;
      reject->message = g_strdup (row_error->message);
      {
        /* The reason alone: the message minus its "path:line:col: " prefix. */
        const char *r = row_error->message;
        for (int colons = 0; *r && colons < 3; r++)
          colons += *r == ':';
        reject->reason = g_strdup (*r == ' ' ? r + 1 : r);
      }
      return -1;
    }
  rec->line = dlen_csv_reader_line (m->reader);
  if (!convert_record (&m->plan, f, (GHashTable *const *) m->join_rows, rec, &e))
    {
      reject->line = rec->line;
      reject->column = e.col + 1;
      reject->column_name = dlen_csv_reader_column_name (m->reader, e.col);
      reject->reason = g_strdup_printf ("column '%s': %s", reject->column_name, e.reason);
      reject->message = g_strdup_printf ("%s:%" G_GUINT64_FORMAT ":%d: %s", m->path, rec->line, e.col + 1, reject->reason);
      g_free (e.reason);
      return -1;
    }
  return 1;
}

/* ---- Datasets from records ------------------------------------------------------------------ */

typedef struct {
  DlenLoadedData *out;
  DlenSchema schema;
  U64Set *seen;           /* distinct hashes per categorical field, when sizing buckets */
  gboolean keep_truth;
} DatasetBuilder;

static void
builder_free (DatasetBuilder *b)
{
  if (b->seen)
    {
      for (uint32_t i = 0; i < b->schema.n_cat; i++)
        g_free (b->seen[i].slots);
      g_free (b->seen);
    }
  dlen_loaded_data_free (b->out);
}

static gboolean
builder_init (DatasetBuilder *b, const DlenSchema *schema, gboolean size_buckets, gboolean keep_truth, GError **error)
{
  memset (b, 0, sizeof *b);
  b->schema = *schema;
  b->keep_truth = keep_truth;
  b->out = g_new0 (DlenLoadedData, 1);
  b->out->dataset = dlen_dataset_new (schema);
  b->out->lines = g_array_new (FALSE, FALSE, sizeof (guint64));
  if (size_buckets)
    b->seen = g_new0 (U64Set, schema->n_cat);
  if (!b->out->dataset)
    {
      dlen_set_error_from_status (error, DLEN_STATUS_INVALID, "schema");
      builder_free (b);
      return FALSE;
    }
  return TRUE;
}

static gboolean
builder_add (DatasetBuilder *b, const DlenRecord *rec, char **reason)
{
  guint64 cat[DLEN_MAX_CAT_FIELDS];
  DlenDataset *ds = b->out->dataset;
  DlenRow row;
  dlen_record_to_row (&b->schema, rec, cat, &row);
  if (dlen_dataset_append (ds, &row) != DLEN_STATUS_OK
      || (b->keep_truth && dlen_dataset_set_truth (ds, dlen_dataset_n_rows (ds) - 1, rec->truth) != DLEN_STATUS_OK))
    {
      *reason = g_strdup (dlen_last_error ());
      return FALSE;
    }
  g_array_append_val (b->out->lines, rec->line);
  if (b->seen)
    for (uint32_t i = 0; i < b->schema.n_cat; i++)
      u64set_add (&b->seen[i], cat[i]);
  return TRUE;
}

static DlenLoadedData *
builder_finish (DatasetBuilder *b, const char *source, const char *preset, GError **error)
{
  DlenLoadedData *out = b->out;
  if (dlen_dataset_n_rows (out->dataset) == 0)
    {
      g_set_error (error, DLEN_ERROR, DLEN_ERROR_DATA, "%s: no usable rows%s%s", source,
                   out->first_reject ? "; first problem: " : "", out->first_reject ? out->first_reject : "");
      builder_free (b);
      return NULL;
    }
  if (b->seen)
    for (uint32_t i = 0; i < b->schema.n_cat; i++)
      dlen_dataset_set_buckets (out->dataset, i, dlen_buckets_for (b->seen[i].n));
  out->preset = g_strdup (preset);
  b->out = NULL;
  builder_free (b);
  return out;
}

static void
builder_reject (DatasetBuilder *b, const char *message)
{
  if (!b->out->first_reject)
    b->out->first_reject = g_strdup (message);
  b->out->rejected++;
}

DlenLoadedData *
dlen_loader_load (const char *path, const DlenLoadOptions *opt, const DlenSchema *model_schema, GError **error)
{
  g_autoptr (DlenMapping) m = dlen_mapping_open (path, opt, model_schema, error);
  DatasetBuilder b;
  DlenLoadedData *out;
  DlenRecord rec;
  DlenReject rej = { 0 };
  int rc;
  if (!m)
    return NULL;
  if (!builder_init (&b, dlen_mapping_schema (m), model_schema == NULL, dlen_mapping_has_truth (m), error))
    return NULL;
  while ((rc = dlen_mapping_next (m, &rec, &rej, error)) != 0)
    {
      g_autofree char *reason = NULL;
      if (rc == -2)
        goto fail;
      if (rc == 1 && !builder_add (&b, &rec, &reason))
        {
          rej.message = g_strdup_printf ("%s:%" G_GUINT64_FORMAT ": %s", path, rec.line, reason);
          rc = -1;
        }
      if (rc == -1)
        {
          if (opt->strict)
            {
              g_set_error_literal (error, DLEN_ERROR, DLEN_ERROR_DATA, rej.message);
              goto fail;
            }
          builder_reject (&b, rej.message);
        }
    }
  dlen_reject_clear (&rej);
  out = builder_finish (&b, path, dlen_mapping_preset (m), error);
  if (out)
    {
      out->user_features = g_strdup (dlen_mapping_user_features (m));
      out->item_features = g_strdup (dlen_mapping_item_features (m));
    }
  return out;
fail:
  dlen_reject_clear (&rej);
  builder_free (&b);
  return NULL;
}
