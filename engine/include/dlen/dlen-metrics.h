/* dlen-metrics.h: ranking and calibration metrics over score/label arrays. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Area under the ROC curve of @scores against binary @labels (0 or 1), @n entries.
 * Tied scores count one half, as scikit-learn's roc_auc_score does. Entries whose label is
 * neither 0 nor 1 (e.g. NaN for a missing label) are skipped. Returns NaN when only one class
 * is present. Allocates O(n) scratch; thread-safe. */
double dlen_auc (const float *scores, const float *labels, size_t n);

/* Group AUC: the AUC of each group (e.g. user) having both classes, weighted by that group's
 * number of labelled entries, over those groups only. @groups holds one id per entry.
 * Returns NaN when no group has both classes. */
double dlen_gauc (const float *scores, const float *labels, const uint64_t *groups, size_t n);

/* Mean binary cross-entropy of probabilities @probs against @labels, with probabilities
 * clipped to [1e-7, 1 - 1e-7]. Unlabelled entries are skipped; NaN when none is labelled. */
double dlen_logloss (const float *probs, const float *labels, size_t n);

/* Mean predicted probability and observed positive rate over labelled entries. */
void dlen_calibration (const float *probs, const float *labels, size_t n,
                       double *mean_predicted, double *mean_observed);

#ifdef __cplusplus
}
#endif
