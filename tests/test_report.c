/* Statistics of dcn report: quantiles against numpy's default (linear) method, the incomplete beta
 * function, Student t distribution and quantiles against scipy 1.10 (values below printed by
 * scipy.special.betainc and scipy.stats.t.cdf; t quantiles against mpmath, see below), and the summary
 * of a small array. */
#include <math.h>
#include <string.h>

#include "cunit_main.h"
#include "dcn/io.h"
#include "io/h5util.h"
#include "dcn/report.h"

#define CLOSE(a, b, rel) CU_ASSERT(fabs((double)(a) - (double)(b)) <= (rel) * fmax(1.0, fabs((double)(b))))

static void test_quantiles(void)
{
    /* numpy.quantile([1, 2, 3, 4], [0, .25, .5, .75, 1]) = 1, 1.75, 2.5, 3.25, 4 */
    const double a[] = {1, 2, 3, 4};
    CLOSE(report_quantile_sorted(a, 4, 0), 1, 1e-15);
    CLOSE(report_quantile_sorted(a, 4, 0.25), 1.75, 1e-15);
    CLOSE(report_quantile_sorted(a, 4, 0.5), 2.5, 1e-15);
    CLOSE(report_quantile_sorted(a, 4, 0.75), 3.25, 1e-15);
    CLOSE(report_quantile_sorted(a, 4, 1), 4, 1e-15);
    /* numpy.quantile([10, 20, 40], [.25, .5, .75]) = 15, 20, 30 */
    const double b[] = {10, 20, 40};
    CLOSE(report_quantile_sorted(b, 3, 0.25), 15, 1e-15);
    CLOSE(report_quantile_sorted(b, 3, 0.5), 20, 1e-15);
    CLOSE(report_quantile_sorted(b, 3, 0.75), 30, 1e-15);
    const double c[] = {7};
    CLOSE(report_quantile_sorted(c, 1, 0.25), 7, 1e-15);
    CU_ASSERT(isnan(report_quantile_sorted(c, 0, 0.5)));
    /* numpy.quantile([0.1, 0.7, 0.8, 0.95, 0.96], 0.3) = 0.72 (bitwise, numpy's lerp) */
    const double d[] = {0.1, 0.7, 0.8, 0.95, 0.96};
    CU_ASSERT_EQUAL(report_quantile_sorted(d, 5, 0.3), 0.7 + (0.8 - 0.7) * (1.2 - 1));
}

static void test_betainc(void)
{
    CLOSE(report_betainc(2.5, 0.5, 0.3), 0.01892712407194565, 1e-13);
    CLOSE(report_betainc(0.5, 3, 0.9), 0.9996750253207289, 1e-13);
    CLOSE(report_betainc(1, 1, 0.37), 0.37, 1e-14); /* uniform */
    CU_ASSERT_EQUAL(report_betainc(2, 3, 0), 0);
    CU_ASSERT_EQUAL(report_betainc(2, 3, 1), 1);
}

static void test_t_distribution(void)
{
    /* scipy.stats.t.cdf(-1.5, dof) */
    const double cdf[][2] = {{1, 0.1871670418109988}, {2, 0.13619656244550044}, {5, 0.09695184012123657},
                             {30, 0.07203296456432302}, {1000, 0.06696501941104312}};
    for (size_t i = 0; i < sizeof cdf / sizeof cdf[0]; i++) {
        CLOSE(report_t_cdf(-1.5, cdf[i][0]), cdf[i][1], 1e-12);
        CLOSE(report_t_cdf(1.5, cdf[i][0]), 1 - cdf[i][1], 1e-12);
    }
    /* t(0.975, dof) and t(0.995, dof) solved with mpmath at 40 digits (mpmath.findroot on its
     * regularised betainc). scipy 1.10's t.ppf (cephes stdtrit) is off by up to 2e-9 relative here,
     * e.g. 2.5705818366147395 for dof 5, so it is not the reference for a 1e-12 check. */
    const double q[][3] = {{1, 12.706204736174705, 63.656741162871581}, {2, 4.3026527297494639, 9.9248432009182931},
                           {3, 3.1824463052837096, 5.8409093097333573}, {5, 2.5705818356363155, 4.0321429835552281},
                           {10, 2.2281388519862747, 3.1692726726169512}, {30, 2.0422724563012383, 2.7499956535672253},
                           {100, 1.9839715185235523, 2.6258905214380179}, {1000, 1.9623390808264085, 2.5807546980659511}};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        CLOSE(report_t_quantile(0.975, q[i][0]), q[i][1], 1e-12);
        CLOSE(report_t_quantile(0.995, q[i][0]), q[i][2], 1e-12);
        CLOSE(report_t_quantile(0.025, q[i][0]), -q[i][1], 1e-12);
    }
    CLOSE(report_t_quantile(0.975, 1), tan(M_PI * 0.475), 1e-12); /* Cauchy */
    CU_ASSERT_EQUAL(report_t_quantile(0.5, 7), 0);
    CU_ASSERT(isnan(report_t_quantile(1, 7)));
    CU_ASSERT(isnan(report_t_quantile(0.9, 0)));
}

static void test_stats(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    /* numpy: x = [97.5, 98.25, NaN, 96, 99]: finite values mean 97.6875, sd(ddof=1) 1.2809..., quartiles
     * 97.125, 97.875, 98.4375 */
    const double x[] = {97.5, 98.25, NAN, 96, 99};
    struct report_stats s;
    CU_ASSERT_EQUAL(report_stats_compute(&ctx, x, 5, 0, 0, &s), DCN_OK);
    CU_ASSERT_EQUAL(s.n, 4);
    CLOSE(s.mean, 97.6875, 1e-14);
    CLOSE(s.sd, sqrt((0.1875 * 0.1875 + 0.5625 * 0.5625 + 1.6875 * 1.6875 + 1.3125 * 1.3125) / 3), 1e-14);
    CLOSE(s.q1, 97.125, 1e-14);
    CLOSE(s.median, 97.875, 1e-14);
    CLOSE(s.q3, 98.4375, 1e-14);
    CLOSE(s.min, 96, 0);
    CLOSE(s.max, 99, 0);
    CLOSE(s.t975, 3.1824463052837096, 1e-12);
    CLOSE(s.ci_high - s.mean, 3.1824463052837096 * s.sd / 2, 1e-12);
    /* with the range 0-100 %: the logit interval, numpy/scipy: p = clip(x/100, 5e-5, 1-5e-5),
     * y = log(p/(1-p)), 100 * expit(y.mean() -+ t.ppf(0.975, n-1) y.std(ddof=1) / sqrt(n)) */
    CU_ASSERT_EQUAL(report_stats_compute(&ctx, x, 5, 0, 100, &s), DCN_OK);
    CLOSE(s.ci_low, 94.85796956400736, 1e-9);
    CLOSE(s.ci_high, 99.1976977733377, 1e-9);
    /* two far-apart trials: a plain t-interval reads 51.5 - 109.9 %; this one stays inside the range */
    const double two[] = {51.5, 95.0}, top[] = {99.0, 100.0};
    CU_ASSERT_EQUAL(report_stats_compute(&ctx, two, 2, 0, 100, &s), DCN_OK);
    CLOSE(s.ci_low, 4.942580173080149e-06, 1e-12);
    CLOSE(s.ci_high, 99.99999975501773, 1e-9);
    CU_ASSERT(s.ci_low > 0 && s.ci_high < 100);
    CU_ASSERT_EQUAL(report_stats_compute(&ctx, top, 2, 0, 100, &s), DCN_OK);
    CU_ASSERT(s.ci_low >= 0 && s.ci_high <= 100 && s.ci_low < 99);
    /* one value: no spread, no interval; none: nothing */
    CU_ASSERT_EQUAL(report_stats_compute(&ctx, x, 1, 0, 100, &s), DCN_OK);
    CU_ASSERT(s.n == 1 && s.mean == 97.5 && s.median == 97.5 && isnan(s.sd) && isnan(s.ci_low));
    CU_ASSERT_EQUAL(report_stats_compute(&ctx, x + 2, 1, 0, 100, &s), DCN_OK);
    CU_ASSERT(s.n == 0 && isnan(s.mean) && isnan(s.median));
}

static void test_keys(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    unsigned k = 0;
    CU_ASSERT_EQUAL(report_parse_keys(&ctx, "graph,frozen,lr", &k), DCN_OK);
    CU_ASSERT_EQUAL(k, REPORT_KEY_GRAPH | REPORT_KEY_FROZEN | REPORT_KEY_LR);
    CU_ASSERT_EQUAL(report_parse_keys(&ctx, "graph,colour", &k), DCN_EINVAL);
    CU_ASSERT(strstr(ctx.err, "colour") != NULL);
    CU_ASSERT_EQUAL(report_parse_keys(&ctx, "", &k), DCN_EINVAL);
}

static void test_load_errors(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct report_results *r = (struct report_results *)&ctx; /* must be reset to NULL */
    CU_ASSERT_EQUAL(report_load(&ctx, "no-such-results.h5", &r), DCN_EIO);
    CU_ASSERT(r == NULL);
    CU_ASSERT(strstr(ctx.err, "no-such-results.h5") != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/plain.h5", dcn_test_tmpdir());
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("text\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(report_load(&ctx, path, &r), DCN_EPARSE);
    CU_ASSERT(strstr(ctx.err, "plain.h5") != NULL && strstr(ctx.err, "HDF5") != NULL);
    remove(path);
}

/* The attribute helpers of src/io against attributes written here with the raw HDF5 calls: a scalar
 * reads back, an array attribute (as a damaged file may hold) gives the default instead of writing
 * past one scalar, a fixed-length string reads like a variable-length one, and a set replaces. */
static void put_raw(hid_t loc, const char *name, hid_t type, hsize_t n, const void *v)
{
    hid_t sp = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(a >= 0);
    CU_ASSERT(H5Awrite(a, type, v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void test_h5_attrs(void)
{
    hid_t f = h5_mem_create();
    CU_ASSERT_FATAL(f >= 0);
    double one = 0.75, four[4] = {1, 2, 3, 4};
    put_raw(f, "acc", H5T_NATIVE_DOUBLE, 0, &one);
    put_raw(f, "array", H5T_NATIVE_DOUBLE, 4, four);
    CU_ASSERT_DOUBLE_EQUAL(h5_attr_get_double(f, "acc", -1), 0.75, 0);
    CU_ASSERT_EQUAL(h5_attr_get_i64(f, "acc", -1), 0); /* converted as HDF5 converts */
    CU_ASSERT_DOUBLE_EQUAL(h5_attr_get_double(f, "array", -1), -1, 0);
    CU_ASSERT_EQUAL(h5_attr_get_i64(f, "array", -7), -7);
    CU_ASSERT_EQUAL(h5_attr_get_i64(f, "missing", 5), 5);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 6);
    put_raw(f, "fixed", t, 0, "abcdef");
    H5Tclose(t);
    char buf[16];
    h5_attr_get_str(f, "fixed", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "abcdef");
    h5_attr_get_str(f, "acc", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "");
    CU_ASSERT_EQUAL(h5_attr_set_str(f, "s", "first"), 0);
    CU_ASSERT_EQUAL(h5_attr_set_str(f, "s", "second, longer than buf"), 0);
    h5_attr_get_str(f, "s", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "second, longer ");
    CU_ASSERT_EQUAL(h5_attr_set_i64(f, "n", 1LL << 40), 0);
    CU_ASSERT_EQUAL(h5_attr_get_i64(f, "n", 0), 1LL << 40);
    H5Fclose(f);
}

void dcn_register_tests(void)
{
    DCN_SUITE("report", DCN_TEST(test_quantiles), DCN_TEST(test_betainc), DCN_TEST(test_t_distribution),
              DCN_TEST(test_stats), DCN_TEST(test_keys), DCN_TEST(test_load_errors), DCN_TEST(test_h5_attrs));
}
