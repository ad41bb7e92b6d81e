#!/usr/bin/env bash
# The test command: installs what is missing, builds, fetches the data, and runs every test
# (CUnit executables per module, MPI tests under mpiexec -n 2, and the scripts that compare dcn
# with networkx, PyTorch reference files and h5py), then the suite again under ASan+UBSan. Extra
# arguments go to the first ctest (e.g. -R graph) and skip the sanitizer pass.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
t0=$(date +%s)
bash jobs/setup.sh
echo "[test] running ctest"
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
# The whole suite once more under AddressSanitizer + UndefinedBehaviorSanitizer (a Debug build in
# build-asan/). valgrind has its own test (tests/sh/test_valgrind.sh) and cannot run ASan binaries;
# the SLURM test is timing-sensitive and exercises job scripts, not memory; the data-parallel test
# trains several models under mpirun and takes over 10 minutes under ASan (its code paths are the
# trainer's, which the sweep and fault tests cover). DCN_TEST_SANITIZE=0 skips the pass.
if [ "${DCN_TEST_SANITIZE:-1}" != 0 ] && [ $# -eq 0 ]; then
  echo "[test] building build-asan (Debug, ASan+UBSan) and running the suite under the sanitizers"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDCN_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$(nproc)" 2>&1 | grep -E 'error|warning' || true
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -E 'sh_test_slurm|sh_test_valgrind|py_test_data_parallel'
fi
echo "[test] all tests passed in $(( $(date +%s) - t0 )) s"
