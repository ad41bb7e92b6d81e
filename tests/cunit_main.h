#ifndef DCN_CUNIT_MAIN_H
#define DCN_CUNIT_MAIN_H
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Each test executable defines this and adds its suites to the CUnit registry. */
void dcn_register_tests(void);

/* Adds a suite with the given tests, a NULL-terminated list of {name, fn}. */
#define DCN_SUITE(name, ...)                                                                 \
    do {                                                                                     \
        CU_pSuite s_ = CU_add_suite(name, NULL, NULL);                                        \
        struct { const char *n; CU_TestFunc f; } t_[] = {__VA_ARGS__};                        \
        for (size_t i_ = 0; i_ < sizeof t_ / sizeof t_[0]; i_++) CU_add_test(s_, t_[i_].n, t_[i_].f); \
    } while (0)
#define DCN_TEST(fn) {#fn, fn}

/* A scratch directory for the test's fixtures, under the build tree, unique per process. */
static inline const char *dcn_test_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "test-tmp-%d", (int)getpid());
        char cmd[300];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
        if (system(cmd) != 0) return ".";
    }
    return dir;
}
#endif
