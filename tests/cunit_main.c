/* Shared main for the CUnit test executables: each test file defines dcn_register_tests(), which
 * adds its suites; this runs them all and exits non-zero on any failure so ctest sees it.
 * MPI is initialised here because the library's context carries a communicator; under mpiexec the
 * same executable runs on every rank. */
#include <CUnit/Basic.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cunit_main.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    dcn_register_tests();
    CU_basic_set_mode(rank == 0 ? CU_BRM_VERBOSE : CU_BRM_SILENT);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    unsigned total = 0;
    MPI_Allreduce(&failed, &total, 1, MPI_UNSIGNED, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    /* dcn_test_tmpdir()'s fixtures: kept when something failed, for inspection */
    char dir[64];
    struct stat sb;
    snprintf(dir, sizeof dir, "test-tmp-%d", (int)getpid());
    if (!total && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf -- %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return total ? 1 : 0;
}
