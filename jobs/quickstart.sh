#!/usr/bin/env bash
# The main job on a default: sets up dcn (packages, build, data) and trains a small DCN on an MNIST
# subset, writing results/quickstart/trial.h5 and printing the accuracy. Safe to repeat.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
bash jobs/setup.sh
mkdir -p results/quickstart
echo "[quickstart] training the paper model on a Watts-Strogatz graph (n=32, k=4, p=0.75), 1 epoch on 6000 MNIST images"
./build/dcn train --graph "ws:n=32,k=4,p=0.75,seed=1" --dataset mnist --epochs 1 --channels 16 \
  --train-limit 6000 --out results/quickstart/trial.h5 --json
echo "[quickstart] wrote results/quickstart/trial.h5 (h5dump -A results/quickstart/trial.h5 shows its attributes)"
