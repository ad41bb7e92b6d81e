#!/usr/bin/env bash
# The main job on a default: sets up dcn for running (build dependencies, build, MNIST only), then
# runs a short sweep under `mpirun -n 2` (WS and ER graphs, two seeds, trainable and frozen DAGs, and
# the baseline, 1 epoch on 6000 MNIST images) that writes results/quickstart/results.h5 and prints an
# accuracy summary. Safe to repeat: finished trials are kept and skipped.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
bash jobs/setup.sh --for run
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
echo "[quickstart] mpirun -n 2 build/dcn sweep jobs/quickstart.yaml"
mpirun -n 2 --oversubscribe build/dcn sweep jobs/quickstart.yaml
build/dcn report results/quickstart/results.h5
echo "[quickstart] results: results/quickstart/results.h5 (per-trial files in results/quickstart/trials/)"
