#include <math.h>
#include <string.h>

#include "cunit_main.h"
#include "dcn/fields.h"
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

/* The trial-field table: defaults, the canonical string (the id's input, pinned for the project's
 * sweeps by tests/py/test_sweep_ids.py), and the values each field refuses. */
static void test_fields_canonical(void)
{
    struct trial_config c;
    trial_config_init(&c);
    char buf[1024];
    int n = trial_config_describe(&c, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "graph=ws:n=32,k=4,p=0.75,seed=0;dataset=mnist;variant=paper;frozen=0;order=random;"
                                "order_seed=0;seed=0;epochs=50;batch=32;lr=0.001;channels=78;train_limit=0;test_limit=0");
    CU_ASSERT_EQUAL(n, (int)strlen(buf));
    /* fields after test_limit appear only away from their default */
    c.agg_init = "normal";
    c.lr = 0.0003;
    trial_config_describe(&c, buf, sizeof buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, ";lr=0.00029999999999999997;"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, ";test_limit=0;agg_init=normal"));
    CU_ASSERT_PTR_NULL(strstr(buf, "freeze="));
    /* a short buffer gets the start and the full length, like snprintf */
    char small[16];
    CU_ASSERT_EQUAL(trial_config_describe(&c, small, sizeof small), (int)strlen(buf));
    CU_ASSERT_EQUAL(strlen(small), sizeof small - 1);
    CU_ASSERT_EQUAL(strncmp(small, buf, sizeof small - 1), 0);
}

static void test_fields_parse(void)
{
    struct trial_config c;
    trial_config_init(&c);
    char why[160];
    const struct field_desc *ep = field_by_name("epochs"), *lr = field_by_name("lr"), *v = field_by_name("variant"),
                            *fr = field_by_name("frozen"), *seed = field_by_sweep_key("seeds"),
                            *ai = field_by_name("agg_init");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seed);
    CU_ASSERT_EQUAL(field_parse(ep, "0", &c, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "is not a positive integer");
    CU_ASSERT_EQUAL(field_parse(field_by_name("train_limit"), "0", &c, why, sizeof why), 0);
    CU_ASSERT_EQUAL(field_parse(lr, "-0.1", &c, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "is not a positive number");
    CU_ASSERT_EQUAL(field_parse(lr, "1e999", &c, why, sizeof why), -1);
    CU_ASSERT_EQUAL(field_parse(v, "resnet", &c, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "must be one of paper,authors,baseline");
    CU_ASSERT_EQUAL(field_parse(v, "authors", &c, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(c.variant, "authors");
    CU_ASSERT_EQUAL(field_parse(fr, "yes", &c, why, sizeof why), 0);
    CU_ASSERT_EQUAL(c.frozen, 1);
    CU_ASSERT_EQUAL(field_parse(fr, "maybe", &c, why, sizeof why), -1);
    CU_ASSERT_EQUAL(field_parse(seed, "18446744073709551615", &c, why, sizeof why), 0);
    CU_ASSERT_EQUAL(c.seed, UINT64_MAX);
    CU_ASSERT_EQUAL(field_parse(seed, "-1", &c, why, sizeof why), -1);
    CU_ASSERT_EQUAL(field_parse(ai, "", &c, why, sizeof why), 0); /* the variant's default */
    CU_ASSERT_EQUAL(field_parse(ai, "uniform", &c, why, sizeof why), -1);
    CU_ASSERT_STRING_EQUAL(why, "must be one of zero,normal");
    CU_ASSERT_PTR_NULL(field_by_name("learning_rate"));
}

void dcn_register_tests(void)
{
    DCN_SUITE("core", DCN_TEST(test_fail_message), DCN_TEST(test_rng_reference),
              DCN_TEST(test_rng_distributions), DCN_TEST(test_shuffle_is_permutation),
              DCN_TEST(test_fields_canonical), DCN_TEST(test_fields_parse));
}
