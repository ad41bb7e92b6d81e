/* Every input in tests/fuzz/regressions/<target>/ (inputs the fuzzers found crashing, kept after the
 * fix) and every seed of tests/fuzz/corpus/<target>/ goes through the same entry points as the fuzz
 * target (tests/fuzz/fuzz_entry.h), in an ordinary build without libFuzzer: each must end with
 * success or a clean error status with a message, never a crash. */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "../tests/fuzz/fuzz_entry.h"
#include "cunit_main.h"

typedef enum dcn_status (*fuzz_fn)(struct dcn_ctx *, const uint8_t *, size_t);

static int read_all(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
        }
    }
    fclose(f);
    if (!b)
        return -1;
    *data = b;
    *size = n;
    return 0;
}

static void fuzz_dir(char *dir, size_t len, const char *kind, const char *target)
{
    const char *src = getenv("DCN_SOURCE_DIR");
    snprintf(dir, len, "%s/tests/fuzz/%s%s%s", src && *src ? src : DCN_SOURCE_DIR, kind, *target ? "/" : "", target);
}

/* Runs every file of <source>/tests/fuzz/<kind>/<target>/ through fn; returns the number run. A folder
 * that cannot be opened counts as 0 inputs only when it may be absent (a target whose fuzzing never
 * found a crash has no regressions folder); otherwise it fails, with a message naming it, so that a
 * moved or misspelt folder does not pass as a target without inputs. */
static int run_dir(const char *kind, const char *target, fuzz_fn fn, int may_be_absent)
{
    char dir[1024];
    fuzz_dir(dir, sizeof dir, kind, target);
    DIR *d = opendir(dir);
    if (!d) {
        if (may_be_absent && errno == ENOENT)
            return 0;
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        CU_FAIL("cannot open a fuzz input folder");
        return 0;
    }
    int count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint8_t *data = NULL;
        size_t size = 0;
        if (read_all(path, &data, &size)) {
            CU_FAIL("cannot read a regression input");
            continue;
        }
        struct dcn_ctx ctx;
        fuzz_ctx(&ctx);
        enum dcn_status st = fn(&ctx, data, size);
        int ok = fuzz_status_ok(&ctx, st);
        if (!ok)
            fprintf(stderr, "%s: status %d without a message\n", path, (int)st);
        else if (getenv("DCN_FUZZ_VERBOSE"))
            fprintf(stderr, "%s/%s: %s%s%s\n", target, e->d_name, dcn_strstatus(st), st ? ": " : "", st ? ctx.err : "");
        CU_ASSERT(ok);
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

/* Every target has seeds; a target whose fuzzing found crashes has its regressions folder, which must
 * hold inputs; another target's regressions are run when the folder exists. */
static void run_target(const char *target, fuzz_fn fn, int has_regressions)
{
    CU_ASSERT(run_dir("corpus", target, fn, 0) > 0);
    int regs = run_dir("regressions", target, fn, !has_regressions);
    if (has_regressions)
        CU_ASSERT(regs > 0);
}

static const char *const targets[] = {"graphml", "gml", "edgelist", "idx", "sweep_yaml", "trial_h5", NULL};

/* Each folder of corpus/ and regressions/ is a target's: inputs under another name would never run. */
static void test_folders_known(void)
{
    const char *kinds[] = {"corpus", "regressions"};
    for (int k = 0; k < 2; k++) {
        char dir[1024];
        fuzz_dir(dir, sizeof dir, kinds[k], "");
        DIR *d = opendir(dir);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            int known = 0;
            for (int t = 0; targets[t]; t++)
                known |= !strcmp(e->d_name, targets[t]);
            if (!known)
                fprintf(stderr, "%s/%s: not a fuzz target this test runs\n", dir, e->d_name);
            CU_ASSERT(known);
        }
        closedir(d);
    }
}

static void test_graphml(void) { run_target("graphml", fuzz_one_graphml, 1); }
static void test_gml(void) { run_target("gml", fuzz_one_gml, 0); }
static void test_edgelist(void) { run_target("edgelist", fuzz_one_edgelist, 1); }
static void test_idx(void) { run_target("idx", fuzz_one_idx, 0); }
static void test_sweep_yaml(void) { run_target("sweep_yaml", fuzz_one_sweep_yaml, 0); }
static void test_trial_h5(void) { run_target("trial_h5", fuzz_one_trial_h5, 1); }

void dcn_register_tests(void)
{
    DCN_SUITE("fuzz_regressions", DCN_TEST(test_graphml), DCN_TEST(test_gml), DCN_TEST(test_edgelist),
              DCN_TEST(test_idx), DCN_TEST(test_sweep_yaml), DCN_TEST(test_trial_h5), DCN_TEST(test_folders_known));
}
