#!/usr/bin/env bash
# The test command: installs what is missing, builds, fetches the data, and runs every test
# (CUnit executables per module, MPI tests under mpiexec -n 2, and the scripts that compare dcn
# with networkx, PyTorch reference files and h5py). Extra arguments go to ctest (e.g. -R graph).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
t0=$(date +%s)
bash jobs/setup.sh
echo "[test] running ctest"
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
echo "[test] all tests passed in $(( $(date +%s) - t0 )) s"
