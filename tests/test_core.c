#include <math.h>
#include <string.h>

#include "cunit_main.h"
#include "dcn/core.h"

static void test_fail_message(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    CU_ASSERT_EQUAL(dcn_fail(&ctx, DCN_EPARSE, "%s:%d: bad", "f.gml", 7), DCN_EPARSE);
    CU_ASSERT_STRING_EQUAL(ctx.err, "f.gml:7: bad");
    dcn_err_prefix(&ctx, "loading %s", "g");
    CU_ASSERT_STRING_EQUAL(ctx.err, "loading g: f.gml:7: bad");
    CU_ASSERT_STRING_EQUAL(dcn_strstatus(DCN_EIO), "I/O error");
}

/* xoshiro256** reference: with state {1,2,3,4} the first outputs are 11520, 0, 1509978240,
 * 1215971899390074240 (values from the authors' reference C implementation). */
static void test_rng_reference(void)
{
    struct dcn_rng r = {{1, 2, 3, 4}};
    CU_ASSERT_EQUAL(dcn_rng_u64(&r), 11520ULL);
    CU_ASSERT_EQUAL(dcn_rng_u64(&r), 0ULL);
    CU_ASSERT_EQUAL(dcn_rng_u64(&r), 1509978240ULL);
    CU_ASSERT_EQUAL(dcn_rng_u64(&r), 1215971899390074240ULL);
}

static void test_rng_distributions(void)
{
    struct dcn_rng r;
    dcn_rng_seed(&r, 42);
    double s = 0, s2 = 0;
    int n = 200000, counts[7] = {0};
    for (int i = 0; i < n; i++) {
        double z = dcn_rng_normal(&r);
        s += z;
        s2 += z * z;
        counts[dcn_rng_below(&r, 7)]++;
        double u = dcn_rng_uniform(&r);
        CU_ASSERT(u >= 0.0 && u < 1.0);
    }
    CU_ASSERT(fabs(s / n) < 0.01);
    CU_ASSERT(fabs(s2 / n - 1.0) < 0.02);
    for (int k = 0; k < 7; k++)
        CU_ASSERT(fabs(counts[k] / (double)n - 1.0 / 7) < 0.005);
    /* same seed, same stream; different stream, different draws */
    struct dcn_rng a, b, c;
    dcn_rng_seed2(&a, 5, 1);
    dcn_rng_seed2(&b, 5, 1);
    dcn_rng_seed2(&c, 5, 2);
    uint64_t x = dcn_rng_u64(&a);
    CU_ASSERT_EQUAL(x, dcn_rng_u64(&b));
    CU_ASSERT_NOT_EQUAL(x, dcn_rng_u64(&c));
}

static void test_shuffle_is_permutation(void)
{
    struct dcn_rng r;
    dcn_rng_seed(&r, 3);
    int a[100], seen[100] = {0};
    for (int i = 0; i < 100; i++) a[i] = i;
    dcn_rng_shuffle_int(&r, a, 100);
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < 100; i++) CU_ASSERT_EQUAL(seen[i], 1);
    CU_ASSERT(moved > 80);
}

void dcn_register_tests(void)
{
    DCN_SUITE("core", DCN_TEST(test_fail_message), DCN_TEST(test_rng_reference),
              DCN_TEST(test_rng_distributions), DCN_TEST(test_shuffle_is_permutation));
}
