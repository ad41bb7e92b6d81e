#!/usr/bin/env bash
# The test command: installs what the tests need (jobs/setup.sh --for test: build dependencies, the
# Python references including PyTorch, graphviz, SLURM, valgrind, Lmod; MNIST and Fashion-MNIST),
# builds (a build error stops here with the compiler's message), and runs every test through ctest,
# then the suite again under ASan+UBSan. Extra arguments go to the first ctest (e.g. -R graph) and
# skip the sanitizer pass. A ctest that finds no test (a -R that matches nothing) fails, and so does a
# skipped test (exit 77): this command installs everything the tests need, so a skip means that
# something is missing; skipped tests are listed at the end either way.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
t0=$(date +%s)
bash jobs/setup.sh --for test
log=$(mktemp "${TMPDIR:-/tmp}/dcn-ctest.XXXXXX")
trap 'rm -f "$log"' EXIT
echo "[test] running ctest"
status=0
ctest --test-dir build --output-on-failure --no-tests=error -j "$(nproc)" "$@" 2>&1 | tee "$log" || status=1
# The whole suite once more under AddressSanitizer + UndefinedBehaviorSanitizer (a Debug build in
# build-asan/). Left out there: valgrind (it cannot run ASan binaries), SLURM (timing-sensitive; it
# exercises job scripts, not memory), data-parallel (over 10 minutes under ASan; its code paths are the
# trainer's, which the sweep and fault tests cover), and the tests that build dcn themselves (fresh
# clone, non-root setup) or install it (modulefile). DCN_TEST_SANITIZE=0 skips the pass.
if [ $status = 0 ] && [ "${DCN_TEST_SANITIZE:-1}" != 0 ] && [ $# -eq 0 ]; then
  echo "[test] building build-asan (Debug, ASan+UBSan) and running the suite under the sanitizers"
  DCN_BUILD_TYPE=Debug bash jobs/setup.sh --for test --no-data --build-dir build-asan --cmake-args -DDCN_SANITIZE=ON
  ctest --test-dir build-asan --output-on-failure --no-tests=error -j "$(nproc)" \
    -E 'sh_test_slurm|sh_test_valgrind|py_test_data_parallel|sh_test_fresh_clone|sh_test_setup_nonroot|sh_test_modulefile' \
    2>&1 | tee -a "$log" || status=1
fi
skipped=$(grep -E '\*\*\*Skipped|Not Run' "$log" | sed 's/^ *//' || true)
if [ -n "$skipped" ]; then
  echo "[test] skipped tests (a failure: nothing may skip after the setup above):"
  echo "$skipped" | sed 's/^/  /'
  status=1
else
  echo "[test] no test was skipped"
fi
if [ $status != 0 ]; then
  echo "[test] FAILED after $(( $(date +%s) - t0 )) s" >&2
  exit 1
fi
echo "[test] all tests passed in $(( $(date +%s) - t0 )) s"
