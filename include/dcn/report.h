/* dcn report: reads the aggregate results file of a sweep (src/sweep/results.c writes it), groups its
 * trials and summarises the final test accuracy of each group; plus the small statistics routines
 * this needs (quantiles, Student t quantiles), public so that tests can check them on their own.
 *
 * Conventions (also printed by `dcn report`):
 *   - accuracy statistics use only trials whose status is "done" and whose final test accuracy is
 *     finite; failed, running and pending trials are counted, never silently dropped;
 *   - standard deviation is the sample one (n - 1 in the denominator), NaN for n < 2;
 *   - quantiles (median, quartiles) interpolate linearly between order statistics, numpy's default
 *     (method "linear", Hyndman & Fan type 7): q(p) = x[h] + (h - floor h)(x[h+1] - x[h]), h = (n-1)p;
 *   - the 95% confidence interval of an accuracy's mean stays inside 0 - 100 %: it is the t-interval
 *     of the mean logit, mean(y) +- t(0.975, n-1) sd(y) / sqrt(n) with y = logit(acc / 100) (accuracies
 *     clamped to [0.005 %, 99.995 %] first), mapped back by the logistic function; NaN for n < 2.
 *     It is centred on the back-transformed mean logit, not on the mean.
 *
 * Ownership: report_load returns a struct report_results the caller frees with report_free;
 * report_group returns an array of groups the caller frees with free() (the groups hold no pointers).
 */
#ifndef DCN_REPORT_H
#define DCN_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "dcn/core.h"
#include "dcn/fields.h"
#include "dcn/sweep.h"

/* Trial states: the sweep's (include/dcn/sweep.h), named as in the /summary "status" column. */
#define REPORT_N_STATES (TRIAL_FAILED + 1)

/* One row of /summary (the fields dcn report uses): the trial fields of include/dcn/fields.h as row
 * members (strings as char arrays), then state and results. */
struct report_trial {
    int index;
    char id[24];
    DCN_FIELD_ROW_MEMBERS
    enum trial_state state;
    double test_accuracy, best_test_accuracy; /* fractions in [0, 1]; NaN when absent */
    int epochs_done;
    char reason[256];
};

struct report_results {
    char path[1024];
    int format_version;
    char dcn_version[32];
    char updated[32];
    int n_trials;
    struct report_trial *trials;
    int counts[REPORT_N_STATES];
};

/* Opens path, checks it is a dcn results file of a format this dcn reads and loads /summary.
 * Errors name the file: missing, not HDF5, not a results file (e.g. a trial file), newer format. */
enum dcn_status report_load(struct dcn_ctx *ctx, const char *path, struct report_results **out);
void report_free(struct report_results *r);

/* The keys trials can be grouped by (a bit set): every trial field, bit i for field i. */
enum report_key {
    REPORT_KEY_GRAPH = 1u << FIELD_graph,
    REPORT_KEY_DATASET = 1u << FIELD_dataset,
    REPORT_KEY_VARIANT = 1u << FIELD_variant,
    REPORT_KEY_FROZEN = 1u << FIELD_frozen,
    REPORT_KEY_SEED = 1u << FIELD_seed,
    REPORT_KEY_ORDER = 1u << FIELD_order,
    REPORT_KEY_ORDER_SEED = 1u << FIELD_order_seed,
    REPORT_KEY_LR = 1u << FIELD_lr,
};
#define REPORT_N_KEYS DCN_N_FIELDS
#define REPORT_KEYS_PAPER (REPORT_KEY_GRAPH | REPORT_KEY_DATASET | REPORT_KEY_VARIANT | REPORT_KEY_FROZEN)

/* Name of key number i (0 <= i < REPORT_N_KEYS): the field's name. */
const char *report_key_name(int i);

/* Parses a comma-separated list of key names ("graph,frozen"). Unknown names are DCN_EINVAL naming
 * the key and listing the valid ones. */
enum dcn_status report_parse_keys(struct dcn_ctx *ctx, const char *list, unsigned *keys);

/* The default grouping: graph, dataset, variant, frozen (the paper's Table 2 cells), plus every other
 * configuration key (a field without FIELD_SEED) that takes more than one value in r, so that trials
 * of different configurations (e.g. two learning rates) are never pooled into one mean. The seeds are
 * the replicates a group pools. */
unsigned report_default_keys(const struct report_results *r);

/* Writes trial t's value of key number i into buf ("ws:n=8,...", "true", "0.001"). */
void report_key_value(const struct report_trial *t, int i, char *buf, size_t len);

struct report_stats {
    int n;                 /* finite values */
    double mean, sd;       /* sd: sample (n - 1); NaN for n < 2 */
    double min, q1, median, q3, max;
    double t975;           /* t(0.975, n - 1), NaN for n < 2 */
    double ci_low, ci_high; /* 95% CI of the mean, NaN for n < 2 */
};

struct report_group {
    char key[REPORT_N_KEYS][256]; /* values of the grouping keys (only those in keys are set) */
    int first_index;              /* trial index of the group's first trial (groups are in this order) */
    int total, counts[REPORT_N_STATES];
    struct report_stats acc;      /* final test accuracy (%) over done trials */
    struct report_stats best;     /* best epoch's test accuracy (%) over done trials */
};

/* Groups r's trials by keys (in order of their first trial) and computes each group's statistics,
 * in percent. *groups is malloc'ed (free()). */
enum dcn_status report_group(struct dcn_ctx *ctx, const struct report_results *r, unsigned keys,
                             struct report_group **groups, int *n_groups);

/* ---- statistics ---- */
/* Quantile p in [0, 1] of sorted x[0..n) (numpy's default linear interpolation); NaN when n == 0. */
double report_quantile_sorted(const double *x, size_t n, double p);
/* Statistics of the finite values among x[0..n) (x is not modified). When hi > lo, [lo, hi] is the
 * metric's range and the CI is the logit one above; otherwise the plain t-interval mean +- t sd / sqrt(n). */
enum dcn_status report_stats_compute(struct dcn_ctx *ctx, const double *x, size_t n, double lo, double hi,
                                     struct report_stats *s);
/* log(p / (1 - p)) of p clamped to [REPORT_LOGIT_CLAMP, 1 - REPORT_LOGIT_CLAMP]. */
#define REPORT_LOGIT_CLAMP 5e-5
double report_logit(double p);
/* How the CI of report_stats_compute with a range is made, for the outputs. */
#define REPORT_CI_METHOD "95% t-interval of the mean logit of accuracy (clamped to 0.005-99.995 %), mapped back"
/* Regularised incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1 (continued fraction). */
double report_betainc(double a, double b, double x);
/* Student t distribution function P(T <= t) with dof > 0 degrees of freedom. */
double report_t_cdf(double t, double dof);
/* Quantile of the Student t distribution: the t with P(T <= t) = p, 0 < p < 1, dof > 0 (inverts
 * report_t_cdf through I_x(dof/2, 1/2) by bisection; accurate to about 1e-12 relative). */
double report_t_quantile(double p, double dof);

#endif
