/* dlen-emotions-page.h: the Emotions page of the workbench window: a DLEN model's users with
 * their mean emotion, emotion variance, negative feedback and impressions; the chosen user's
 * emotion trajectory (optionally against a second model); the distribution of mean emotion. */
#pragma once

#include <adwaita.h>
#include "dlen-project.h"
#include "charts/dlen-histogram.h"
#include "charts/dlen-trajectory-chart.h"

G_BEGIN_DECLS

#define DLEN_TYPE_EMOTIONS_PAGE (dlen_emotions_page_get_type ())
G_DECLARE_FINAL_TYPE (DlenEmotionsPage, dlen_emotions_page, DLEN, EMOTIONS_PAGE, AdwBin)

/* The project shown ("project" property; NULL shows the empty state). Models and users are
 * reloaded on the project's "changed". The first DLEN model with cached predictions (else the
 * newest DLEN model) is chosen, and the user with the most impressions selected. */
void dlen_emotions_page_set_project (DlenEmotionsPage *page, DlenProject *project);
DlenProject *dlen_emotions_page_get_project (DlenEmotionsPage *page);

/* ---- For tests and other pages ---------------------------------------------------------------------
 *
 * A UI test typically does:
 *   dlen_emotions_page_set_model (page, 1);
 *   while (dlen_emotions_page_get_loading (page)) g_main_context_iteration (NULL, TRUE);
 *   g_assert_cmpuint (dlen_emotions_page_get_n_users (page), ==, 800);
 *   g_assert_true (dlen_emotions_page_select_user (page, "623"));
 *   ... let the window draw a frame, then
 *   g_assert_cmpuint (dlen_emotions_page_get_n_drawn_points (page), >, 0);
 */

/* Shows DLEN model @model_id (FALSE when the project has no such DLEN model). Its users load in
 * a worker thread ("loading" is TRUE meanwhile; small projects load at once); without cached
 * predictions the page offers to compute them. */
gboolean dlen_emotions_page_set_model (DlenEmotionsPage *page, gint64 model_id);
gint64 dlen_emotions_page_get_model (DlenEmotionsPage *page);            /* 0: none */
/* Draws a second DLEN model's trajectory (and its mean-emotion histogram as an outline) on the
 * same charts; 0 removes it. The model needs cached predictions. */
gboolean dlen_emotions_page_set_comparison (DlenEmotionsPage *page, gint64 model_id);
gint64 dlen_emotions_page_get_comparison (DlenEmotionsPage *page);

/* "loading" property: the user list, or a long trajectory (over 20,000 impressions), is being
 * read in a worker thread. */
gboolean dlen_emotions_page_get_loading (DlenEmotionsPage *page);
/* Which view shows: "no-project", "no-model", "no-predictions", "loading", "users" or "error". */
const char *dlen_emotions_page_get_state (DlenEmotionsPage *page);

/* Selects the user whose key (users.key, as in the log) is @user, clearing a search or bin
 * filter that hides it, and loads its trajectory into the chart: at once (even while the list
 * is still loading), or in a worker thread for users with over 20,000 impressions ("loading"
 * meanwhile). FALSE when the model has no cached predictions for that user. */
gboolean dlen_emotions_page_select_user (DlenEmotionsPage *page, const char *user);
const char *dlen_emotions_page_get_selected_user (DlenEmotionsPage *page);   /* NULL: none */

/* Users listed (after the search and bin filters), and all users of the model. */
guint dlen_emotions_page_get_n_users (DlenEmotionsPage *page);
guint dlen_emotions_page_get_n_users_total (DlenEmotionsPage *page);
/* Filters the list by user key (substring, case-insensitive), as typing in the search entry. */
void dlen_emotions_page_set_search (DlenEmotionsPage *page, const char *text);

/* Data points of the selected trajectory (both models) inside the chart's view at its last
 * draw: > 0 once a selected user's trajectory is on screen. 0 before the chart is drawn. */
guint dlen_emotions_page_get_n_drawn_points (DlenEmotionsPage *page);
DlenTrajectoryChart *dlen_emotions_page_get_chart (DlenEmotionsPage *page);
DlenHistogram *dlen_emotions_page_get_histogram (DlenEmotionsPage *page);

/* Writes the user table as CSV, rows as listed (sorted and filtered): user, impressions,
 * mean_emotion, emotion_variance, negative_feedback. */
gboolean dlen_emotions_page_write_csv (DlenEmotionsPage *page, const char *path, GError **error);

/* Starts the job computing and caching the current model's predictions (the "Compute
 * Predictions" button); FALSE when one runs already or there is no model or window. */
gboolean dlen_emotions_page_compute_predictions (DlenEmotionsPage *page);

G_END_DECLS
