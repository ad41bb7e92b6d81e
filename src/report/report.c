/* dcn report, the library part: load the /summary table of an aggregate results file, group trials,
 * and the statistics of final test accuracy per group (conventions in include/dcn/report.h). */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dcn/io.h"
#include "io/h5util.h"
#include "dcn/report.h"

/* where each trial field sits in a report row */
#define DCN_ROW_TYPE_ struct report_trial
static const size_t key_offs[DCN_N_FIELDS] = {DCN_FIELD_ROW_OFFSETS};
#undef DCN_ROW_TYPE_


/* ---------------------------------------------------------------- statistics */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double report_quantile_sorted(const double *x, size_t n, double p)
{
    if (n == 0)
        return NAN;
    if (p <= 0)
        return x[0];
    if (p >= 1)
        return x[n - 1];
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return x[n - 1];
    /* numpy's lerp, including its switch to the upper end for f >= 0.5 (exact at both ends, and the
     * same rounding as numpy.quantile, so reports and numpy agree to the last bit) */
    double f = h - (double)lo, d = x[lo + 1] - x[lo];
    return f >= 0.5 ? x[lo + 1] - d * (1 - f) : x[lo] + d * f;
}

/* The t-interval of the mean logit of p = (x - lo)/(hi - lo), mapped back: it stays inside (lo, hi)
 * however few or extreme the values (a plain t-interval of two accuracies read 51.5 - 109.9 %). */
static void logit_interval(const double *v, size_t m, double lo, double hi, double t975, double *cl, double *ch)
{
    double my = 0, ss = 0;
    for (size_t i = 0; i < m; i++)
        my += report_logit((v[i] - lo) / (hi - lo));
    my /= (double)m;
    for (size_t i = 0; i < m; i++) {
        double d = report_logit((v[i] - lo) / (hi - lo)) - my;
        ss += d * d;
    }
    double half = t975 * sqrt(ss / (double)(m - 1)) / sqrt((double)m);
    *cl = lo + (hi - lo) / (1 + exp(-(my - half)));
    *ch = lo + (hi - lo) / (1 + exp(-(my + half)));
}

double report_logit(double p)
{
    p = p < REPORT_LOGIT_CLAMP ? REPORT_LOGIT_CLAMP : p > 1 - REPORT_LOGIT_CLAMP ? 1 - REPORT_LOGIT_CLAMP : p;
    return log(p / (1 - p));
}

enum dcn_status report_stats_compute(struct dcn_ctx *ctx, const double *x, size_t n, double lo, double hi,
                                     struct report_stats *s)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return dcn_fail(ctx, DCN_ENOMEM, "report: no memory for %zu values", n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            v[m++] = x[i];
    qsort(v, m, sizeof *v, cmp_double);
    s->n = (int)m;
    s->mean = s->sd = s->min = s->q1 = s->median = s->q3 = s->max = NAN;
    s->t975 = s->ci_low = s->ci_high = NAN;
    if (m) {
        double sum = 0;
        for (size_t i = 0; i < m; i++)
            sum += v[i];
        s->mean = sum / (double)m;
        s->min = v[0];
        s->max = v[m - 1];
        s->q1 = report_quantile_sorted(v, m, 0.25);
        s->median = report_quantile_sorted(v, m, 0.5);
        s->q3 = report_quantile_sorted(v, m, 0.75);
    }
    if (m >= 2) {
        /* two passes: the one-pass formula cancels badly when accuracies agree to many digits */
        double ss = 0;
        for (size_t i = 0; i < m; i++)
            ss += (v[i] - s->mean) * (v[i] - s->mean);
        s->sd = sqrt(ss / (double)(m - 1));
        s->t975 = report_t_quantile(0.975, (double)(m - 1));
        if (hi > lo) {
            logit_interval(v, m, lo, hi, s->t975, &s->ci_low, &s->ci_high);
        } else {
            double half = s->t975 * s->sd / sqrt((double)m);
            s->ci_low = s->mean - half;
            s->ci_high = s->mean + half;
        }
    }
    free(v);
    return DCN_OK;
}

/* Continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes' betacf).
 * Converges fast for x < (a + 1) / (a + b + 2); the caller uses the symmetry otherwise. */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-16;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps)
            break;
    }
    return h;
}

/* I_x(a, b) given both x and y = 1 - x, so callers that know 1 - x more accurately than by
 * subtraction (the t distribution near t = 0) keep full precision. */
static double betainc_xy(double a, double b, double x, double y)
{
    if (x <= 0)
        return 0;
    if (y <= 0)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(y);
    double bt = exp(lbt);
    if (x < (a + 1) / (a + b + 2))
        return bt * betacf(a, b, x) / a;
    return 1 - bt * betacf(b, a, y) / b;
}

double report_betainc(double a, double b, double x)
{
    return betainc_xy(a, b, x, 1 - x);
}

double report_t_cdf(double t, double dof)
{
    if (isnan(t) || !(dof > 0))
        return NAN;
    if (isinf(t))
        return t > 0 ? 1 : 0;
    /* P(|T| > |t|) = I_{dof/(dof+t^2)}(dof/2, 1/2) */
    double t2 = t * t, x = dof / (dof + t2), y = t2 / (dof + t2);
    double tail = 0.5 * betainc_xy(dof / 2, 0.5, x, y);
    return t > 0 ? 1 - tail : tail;
}

double report_t_quantile(double p, double dof)
{
    if (!(p > 0 && p < 1) || !(dof > 0))
        return NAN;
    if (p == 0.5)
        return 0;
    if (p < 0.5)
        return -report_t_quantile(1 - p, dof);
    /* the upper tail 1 - p is what the cdf resolves accurately; bracket, then bisect on t */
    double lo = 0, hi = 1;
    while (report_t_cdf(hi, dof) < p && hi < 1e300)
        hi *= 2;
    for (int i = 0; i < 2000 && hi - lo > 1e-15 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (report_t_cdf(mid, dof) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* ---------------------------------------------------------------- loading */

/* The trial row as read from /summary: a report_trial plus the status column as text. */
struct row {
    struct report_trial t;
    char status[16];
};


/* Memory type for the columns this dcn uses that exist in the file's table (ftype): older or newer
 * writers may lack or add columns, and HDF5 converts compound types member by member, by name. */
static enum dcn_status summary_mem_type(struct dcn_ctx *ctx, const char *path, hid_t ftype, hid_t *out)
{
    struct col {
        const char *name;
        size_t off;
        hid_t type; /* 0: string of the field's size */
        size_t strsize;
        int required;
    } cols[] = {
#define S(f, req) {#f, offsetof(struct row, t.f), 0, sizeof(((struct report_trial *)0)->f), req}
#define N(f, ty, req) {#f, offsetof(struct row, t.f), ty, 0, req}
        N(index, H5T_NATIVE_INT, 0),
        S(id, 1),
        N(test_accuracy, H5T_NATIVE_DOUBLE, 1),
        N(best_test_accuracy, H5T_NATIVE_DOUBLE, 1),
        N(epochs_done, H5T_NATIVE_INT, 0),
        S(reason, 0),
        {"status", offsetof(struct row, status), 0, sizeof(((struct row *)0)->status), 1},
#undef S
#undef N
    };
    hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(struct row));
    if (mt < 0)
        return dcn_fail(ctx, DCN_EHDF5, "%s: cannot create a memory type for /summary", path);
    /* the trial fields: the first ones have been in every results file; later ones may be absent */
    for (int i = 0; i < DCN_N_FIELDS; i++) {
        const struct field_desc *f = &dcn_fields[i];
        if (H5Tget_member_index(ftype, f->name) < 0) {
            if (i > FIELD_seed || i == FIELD_order || i == FIELD_order_seed)
                continue;
            H5Tclose(mt);
            return dcn_fail(ctx, DCN_EPARSE, "%s: /summary has no column '%s' (not a dcn results file?)", path, f->name);
        }
        hid_t ty = h5_field_type(f);
        H5Tinsert(mt, f->name, offsetof(struct row, t) + key_offs[i], ty);
        if (f->type == FIELD_STR)
            H5Tclose(ty);
    }
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        if (H5Tget_member_index(ftype, cols[i].name) < 0) {
            if (!cols[i].required)
                continue;
            H5Tclose(mt);
            return dcn_fail(ctx, DCN_EPARSE, "%s: /summary has no column '%s' (not a dcn results file?)", path,
                            cols[i].name);
        }
        hid_t ty = cols[i].type ? cols[i].type : h5_str_type(cols[i].strsize);
        H5Tinsert(mt, cols[i].name, cols[i].off, ty);
        if (!cols[i].type)
            H5Tclose(ty);
    }
    *out = mt;
    return DCN_OK;
}

static enum dcn_status read_summary(struct dcn_ctx *ctx, const char *path, hid_t f, struct report_results *r)
{
    hid_t ds = H5Dopen2(f, "summary", H5P_DEFAULT);
    if (ds < 0)
        return dcn_fail(ctx, DCN_EHDF5, "%s: cannot open /summary", path);
    hid_t ft = H5Dget_type(ds), sp = H5Dget_space(ds);
    enum dcn_status st = DCN_OK;
    hid_t mt = -1;
    if (H5Tget_class(ft) != H5T_COMPOUND || H5Sget_simple_extent_ndims(sp) != 1)
        st = dcn_fail(ctx, DCN_EPARSE, "%s: /summary is not a one-dimensional table (not a dcn results file?)", path);
    else
        st = summary_mem_type(ctx, path, ft, &mt);
    hssize_t n = st ? 0 : H5Sget_simple_extent_npoints(sp);
    /* a sweep has at most 10^6 trials (src/sweep/spec.c); a damaged file may declare 10^12 rows in a
     * few bytes, and ~1 KB per row would be allocated and filled before any check */
    if (!st && n > 1000000)
        st = dcn_fail(ctx, DCN_EPARSE, "%s: /summary declares %lld rows, more than the 1000000 trials a sweep may have",
                      path, (long long)n);
    struct row *rows = NULL;
    if (!st) {
        rows = calloc((size_t)(n > 0 ? n : 1), sizeof *rows);
        r->trials = calloc((size_t)(n > 0 ? n : 1), sizeof *r->trials);
        if (!rows || !r->trials)
            st = dcn_fail(ctx, DCN_ENOMEM, "%s: no memory for %lld summary rows", path, (long long)n);
    }
    if (!st) {
        /* defaults of the optional columns, kept where the file has none */
        for (hssize_t i = 0; i < n; i++) {
            rows[i].t.index = (int)i;
            rows[i].t.lr = NAN;
            snprintf(rows[i].t.order, sizeof rows[i].t.order, "random");
        }
        if (n > 0 && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
            st = dcn_fail(ctx, DCN_EHDF5, "%s: cannot read /summary", path);
    }
    for (hssize_t i = 0; !st && i < n; i++) {
        struct report_trial *t = &r->trials[i];
        *t = rows[i].t;
        t->state = TRIAL_RUNNING; /* any state this dcn does not know is an unfinished trial */
        for (int k = 0; k < REPORT_N_STATES; k++)
            if (!strcmp(rows[i].status, trial_state_name((enum trial_state)k)))
                t->state = (enum trial_state)k;
        r->counts[t->state]++;
    }
    r->n_trials = st ? 0 : (int)n;
    free(rows);
    if (mt >= 0)
        H5Tclose(mt);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Dclose(ds);
    return st;
}

/* 1 when attribute a holds exactly one element: H5Aread writes the whole dataspace, so reading a
 * list into one value would overflow it (found by fuzzing) */
static int attr_is_single(hid_t a)
{
    hid_t sp = H5Aget_space(a);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0)
        H5Sclose(sp);
    return n == 1;
}

static void read_attr_str(hid_t loc, const char *name, char *buf, size_t len)
{
    buf[0] = 0;
    if (H5Aexists(loc, name) <= 0)
        return;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a);
    if (H5Tget_class(ft) == H5T_STRING && attr_is_single(a)) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* HDF5 converts no character set into another */
        if (H5Tis_variable_str(ft) > 0) {
            H5Tset_size(mt, H5T_VARIABLE);
            char *s = NULL;
            if (H5Aread(a, mt, &s) >= 0 && s) {
                snprintf(buf, len, "%s", s);
                H5free_memory(s);
            }
        } else {
            H5Tset_size(mt, len);
            H5Tset_strpad(mt, H5T_STR_NULLTERM);
            if (H5Aread(a, mt, buf) < 0)
                buf[0] = 0;
            buf[len - 1] = 0;
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
}

enum dcn_status report_load(struct dcn_ctx *ctx, const char *path, struct report_results **out)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open the results file: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return dcn_fail(ctx, DCN_EIO, "%s: is a folder, not a results file", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
#if H5_VERSION_GE(1, 12, 0)
    htri_t is = H5Fis_accessible(path, H5P_DEFAULT);
#else
    htri_t is = H5Fis_hdf5(path);
#endif
    if (is <= 0)
        return dcn_fail(ctx, DCN_EPARSE, "%s: not an HDF5 file (expected the results.h5 a dcn sweep writes)", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return dcn_fail(ctx, DCN_EIO, "%s: cannot open the HDF5 file (damaged or truncated, no read permission, or locked by a writer)", path);
    enum dcn_status st = DCN_OK;
    struct report_results *r = calloc(1, sizeof *r);
    if (!r)
        st = dcn_fail(ctx, DCN_ENOMEM, "%s: no memory", path);
    int has_summary = H5Lexists(f, "summary", H5P_DEFAULT) > 0;
    int has_version = H5Aexists(f, "format_version") > 0;
    if (!st && (!has_summary || !has_version)) {
        /* a trial file has format_version and metrics but no /summary: say what it is */
        if (has_version && H5Lexists(f, "metrics", H5P_DEFAULT) > 0)
            st = dcn_fail(ctx, DCN_EPARSE,
                          "%s: a dcn trial file, not a sweep's results file (dcn eval reads trial files; "
                          "dcn report reads the results.h5 of dcn sweep)",
                          path);
        else
            st = dcn_fail(ctx, DCN_EPARSE, "%s: not a dcn results file (no %s)", path,
                          has_summary ? "format_version attribute" : "/summary table");
    }
    if (!st) {
        snprintf(r->path, sizeof r->path, "%s", path);
        long long v = -1;
        hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
        if (a < 0 || !attr_is_single(a) || H5Aread(a, H5T_NATIVE_LLONG, &v) < 0)
            st = dcn_fail(ctx, DCN_EPARSE, "%s: unreadable format_version attribute", path);
        if (a >= 0)
            H5Aclose(a);
        r->format_version = (int)v;
        if (!st && (v < 1 || v > DCN_TRIAL_FORMAT_VERSION))
            st = dcn_fail(ctx, DCN_EPARSE,
                          "%s: format_version %lld %s (this dcn %s reads versions 1 to %d)", path, v,
                          v > DCN_TRIAL_FORMAT_VERSION ? "is newer than this dcn knows: use a newer dcn"
                                                       : "is not a valid version",
                          DCN_VERSION, DCN_TRIAL_FORMAT_VERSION);
    }
    if (!st) {
        read_attr_str(f, "dcn_version", r->dcn_version, sizeof r->dcn_version);
        read_attr_str(f, "updated", r->updated, sizeof r->updated);
        st = read_summary(ctx, path, f, r);
    }
    H5Fclose(f);
    if (st) {
        report_free(r);
        return st;
    }
    *out = r;
    return DCN_OK;
}

void report_free(struct report_results *r)
{
    if (!r)
        return;
    free(r->trials);
    free(r);
}

/* ---------------------------------------------------------------- grouping */

const char *report_key_name(int i)
{
    return i >= 0 && i < REPORT_N_KEYS ? dcn_fields[i].name : "?";
}

enum dcn_status report_parse_keys(struct dcn_ctx *ctx, const char *list, unsigned *keys)
{
    *keys = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = -1;
        for (int i = 0; i < REPORT_N_KEYS; i++)
            if (strlen(dcn_fields[i].name) == len && !strncmp(p, dcn_fields[i].name, len))
                found = i;
        if (found < 0) {
            char all[512] = "";
            for (int i = 0; i < REPORT_N_KEYS; i++)
                snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", i ? ", " : "", dcn_fields[i].name);
            return dcn_fail(ctx, DCN_EINVAL, "unknown key '%.*s' (keys: %s)", (int)len, p, all);
        }
        *keys |= 1u << found;
        p += len;
        if (*p == ',')
            p++;
    }
    if (!*keys)
        return dcn_fail(ctx, DCN_EINVAL, "no keys given (e.g. graph,frozen)");
    return DCN_OK;
}

void report_key_value(const struct report_trial *t, int i, char *buf, size_t len)
{
    if (i < 0 || i >= REPORT_N_KEYS)
        snprintf(buf, len, "?");
    else
        field_row_format(&dcn_fields[i], t, key_offs[i], buf, len);
}

unsigned report_default_keys(const struct report_results *r)
{
    unsigned keys = REPORT_KEYS_PAPER;
    for (int k = 0; k < REPORT_N_KEYS; k++) {
        unsigned bit = 1u << k;
        if ((keys & bit) || (dcn_fields[k].flags & FIELD_SEED))
            continue;
        char first[256], v[256];
        for (int i = 0; i < r->n_trials; i++) {
            report_key_value(&r->trials[i], k, i ? v : first, sizeof first);
            if (i && strcmp(v, first)) {
                keys |= bit;
                break;
            }
        }
    }
    return keys;
}

enum dcn_status report_group(struct dcn_ctx *ctx, const struct report_results *r, unsigned keys,
                             struct report_group **groups, int *n_groups)
{
    *groups = NULL;
    *n_groups = 0;
    int n = r->n_trials;
    struct report_group *g = calloc((size_t)(n ? n : 1), sizeof *g);
    int *of = malloc((size_t)(n ? n : 1) * sizeof *of); /* group of each trial */
    double *acc = malloc((size_t)(n ? n : 1) * sizeof *acc), *best = malloc((size_t)(n ? n : 1) * sizeof *best);
    if (!g || !of || !acc || !best) {
        free(g);
        free(of);
        free(acc);
        free(best);
        return dcn_fail(ctx, DCN_ENOMEM, "%s: no memory to group %d trials", r->path, n);
    }
    int ng = 0;
    char v[256];
    for (int i = 0; i < n; i++) {
        const struct report_trial *t = &r->trials[i];
        int found = -1;
        for (int j = 0; j < ng && found < 0; j++) {
            int same = 1;
            for (int k = 0; k < REPORT_N_KEYS && same; k++) {
                if (!(keys & (1u << k)))
                    continue;
                report_key_value(t, k, v, sizeof v);
                same = !strcmp(v, g[j].key[k]);
            }
            if (same)
                found = j;
        }
        if (found < 0) {
            found = ng++;
            for (int k = 0; k < REPORT_N_KEYS; k++)
                if (keys & (1u << k))
                    report_key_value(t, k, g[found].key[k], sizeof g[found].key[k]);
            g[found].first_index = t->index;
        }
        of[i] = found;
        g[found].total++;
        g[found].counts[t->state]++;
    }
    enum dcn_status st = DCN_OK;
    for (int j = 0; j < ng && !st; j++) {
        size_t m = 0;
        for (int i = 0; i < n; i++) {
            const struct report_trial *t = &r->trials[i];
            if (of[i] != j || t->state != TRIAL_DONE)
                continue;
            acc[m] = 100 * t->test_accuracy;
            best[m] = 100 * t->best_test_accuracy;
            m++;
        }
        st = report_stats_compute(ctx, acc, m, 0, 100, &g[j].acc);
        if (!st)
            st = report_stats_compute(ctx, best, m, 0, 100, &g[j].best);
    }
    free(of);
    free(acc);
    free(best);
    if (st) {
        free(g);
        return st;
    }
    *groups = g;
    *n_groups = ng;
    return DCN_OK;
}
