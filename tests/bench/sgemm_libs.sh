#!/bin/bash
# OpenBLAS against BLIS (Debian libblis-dev) at a DCN node's sgemm shapes, one thread each:
#   bash tests/bench/sgemm_libs.sh [OUT_DIR]
# Installs libblis-dev when missing (root). Prints the JSON lines of sgemm_libs.c for both libraries.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
if [ ! -e /usr/include/x86_64-linux-gnu/blis-openmp/cblas.h ] && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q libblis-dev >/dev/null
fi
cc -O2 -std=c11 -o "$out/sgemm_openblas" "$src/sgemm_libs.c" $(pkg-config --cflags --libs openblas)
bdir=/usr/lib/x86_64-linux-gnu/blis-openmp
cc -O2 -std=c11 -I/usr/include/x86_64-linux-gnu/blis-openmp -o "$out/sgemm_blis" "$src/sgemm_libs.c" \
    -L"$bdir" -Wl,-rpath,"$bdir" -lblis -lm
export OPENBLAS_NUM_THREADS=1 BLIS_NUM_THREADS=1 OMP_NUM_THREADS=1
"$out/sgemm_openblas" openblas
"$out/sgemm_blis" blis
