/* dlen-synthetic-log.c: writes synthetic impressions in the layout the synthetic preset reads. */
#include <inttypes.h>
#include "dlen-synthetic-log.h"

int
dlen_synthetic_log_write_header (FILE *fp)
{
  return fputs ("user_id\titem_id\tcategory\tsession_id\trequest_id\tposition\ttime_ms\tclick\tlong_view\tlike\tshare\t"
                "dislike\tstay_s\tobjectionable\temotion\temotion_p\n", fp) >= 0;
}

int
dlen_synthetic_log_write_row (FILE *fp, const DlenSynthRow *r)
{
  return fprintf (fp, "%u\t%u\t%u\t%" PRIu64 "\t%" PRIu64 "\t%u\t%" PRId64 "\t%u\t%u\t%u\t%u\t%u\t%.3f\t%u\t%u\t%.5f\n",
                  r->user, r->item, r->category, r->session, r->request, r->position, r->time_ms, r->click,
                  r->long_view, r->like, r->share, r->dislike, (double) r->stay_s, r->objectionable, r->emotion,
                  (double) r->emotion_p) > 0;
}
