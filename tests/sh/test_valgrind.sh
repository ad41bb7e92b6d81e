#!/usr/bin/env bash
# A short training and a small sweep under valgrind memcheck: no memory errors, no definite leaks of
# dcn's (tests/valgrind.supp names the Open MPI start-up leaks that are not ours).
# ctest runs it with DCN_SOURCE_DIR set; it needs MNIST in the data folder.
# valgrind 3.19 does not decode AVX-512, which -march=native turns on where the CPU has it, so the test
# builds its own dcn from the same sources for x86-64-v3 (AVX2, which valgrind decodes) with -g.
set -u
src=${DCN_SOURCE_DIR:-.}
command -v valgrind >/dev/null || { echo "FAIL: valgrind is not installed (apt-get install valgrind)"; exit 1; }
tmp=$(mktemp -d /tmp/dcn-valgrind.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
arch=-march=x86-64-v3
grep -qw avx2 /proc/cpuinfo || arch=-march=x86-64
if ! { cmake -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCN_ARCH_FLAGS="$arch" &&
       cmake --build "$tmp/build" -j "$(nproc)" --target dcn; } >"$tmp/build.log" 2>&1; then
    tail -n 40 "$tmp/build.log"
    echo "FAIL: cannot build dcn for valgrind ($arch)"
    exit 1
fi
bin=$tmp/build/dcn
echo "built $bin with $arch for valgrind"
export OPENBLAS_NUM_THREADS=1
vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --suppressions="$src/tests/valgrind.supp")
fail=0
run() { # NAME COMMAND...
    local name=$1; shift
    if "${vg[@]}" "$@" >"$tmp/$name.log" 2>&1; then
        echo "ok   - $name under valgrind: $(grep -o 'ERROR SUMMARY: [0-9]* errors' "$tmp/$name.log")"
    else
        echo "FAIL - $name under valgrind (exit $?):"
        grep -E "Invalid|uninitialised|definitely lost|ERROR SUMMARY" -A6 "$tmp/$name.log" | head -60
        fail=1
    fi
}
run train "$bin" train --graph "ws:n=6,k=2,p=0.5,seed=1" --channels 3 --epochs 1 --train-limit 64 --test-limit 64 \
    --quiet --out "$tmp/trial.h5" --checkpoint "$tmp/trial.ckpt.h5"
run train-authors "$bin" train --variant authors --graph "ws:n=6,k=2,p=0.5,seed=1" --channels 4 --epochs 1 \
    --batch 32 --train-limit 64 --test-limit 64 --quiet --out "$tmp/authors.h5"
run eval-authors "$bin" eval "$tmp/authors.h5" --dataset mnist --test-limit 64
cat >"$tmp/s.yaml" <<YAML
output: $tmp/sweep/results.h5
graphs: ["ws:n=6,k=2,p=0.5,seed=1"]
variants: [paper, baseline]
seeds: 0..1
epochs: 1
channels: 3
train_limit: 64
test_limit: 64
YAML
run sweep "$bin" sweep "$tmp/s.yaml" --quiet
run report "$bin" report "$tmp/sweep/results.h5"
run graph-stats "$bin" graph stats "ws:n=20,k=4,p=0.3,seed=2" --json
exit $fail
