#!/bin/bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and runs each for SECONDS (default
# 120), one at a time at the lowest CPU priority, then prints per target: executions, exec/s, coverage
# (cov and ft from libFuzzer's final line), corpus size and crashes (artifacts are kept).
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      TARGET: graphml gml edgelist idx sweep_yaml trial_h5
# Environment: DCN_FUZZ_BUILD (build folder, default build-fuzz), DCN_FUZZ_JOBS (build jobs, default 1),
# DCN_FUZZ_TIMEOUT (seconds per input before libFuzzer reports a timeout, default 120: an edge list
# near the 10^7-vertex limit legitimately takes ~30-60 s under ASan), DCN_FUZZ_ARGS (extra libFuzzer
# options).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
secs=${1:-120}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(graphml gml edgelist idx sweep_yaml trial_h5)
build=${DCN_FUZZ_BUILD:-$src/build-fuzz}
jobs=${DCN_FUZZ_JOBS:-1}

if [ ! -f "$build/CMakeCache.txt" ]; then
  nice -n 19 cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DDCN_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
    >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
fi
bins=()
for t in "${targets[@]}"; do bins+=("fuzz_$t"); done
nice -n 19 cmake --build "$build" -j"$jobs" --target "${bins[@]}" >"$build/fuzz-build.log" 2>&1 ||
  { tail -40 "$build/fuzz-build.log"; exit 1; }

# HDF5 and IDX seeds are generated (h5py), not committed
if ! ls "$here/corpus/trial_h5/"*.h5 >/dev/null 2>&1 || [ ! -f "$here/corpus/idx/images.idx" ]; then
  /usr/bin/python3 "$here/make_corpus.py" "$here/corpus" >/dev/null || exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OPENBLAS_NUM_THREADS=1
status=0
printf '%-11s %10s %8s %7s %7s %6s %s\n' target execs exec/s cov ft corp crashes >"$build/fuzz-summary.txt"
for t in "${targets[@]}"; do
  work="$build/fuzz-corpus/$t" art="$build/fuzz-artifacts/$t"
  mkdir -p "$work" "$art"
  dict=()
  [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
  log="$build/fuzz-$t.log"
  echo "== fuzz_$t for ${secs}s (log: $log)"
  touch "$art/.started" # crashes of this run: artifacts newer than this
  # the first folder receives new inputs; the seeds are only read
  nice -n 19 "$build/tests/fuzz/fuzz_$t" "$work" "$here/corpus/$t" -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout="${DCN_FUZZ_TIMEOUT:-120}" -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" ${DCN_FUZZ_ARGS:-} >"$log" 2>&1
  rc=$?
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  execs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  eps=$(grep -oE '^stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$last")
  crashes=$(find "$art" -newer "$art/.started" \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
  printf '%-11s %10s %8s %7s %7s %6s %s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
    "$crashes$([ $rc -ne 0 ] && echo " (exit $rc: $(grep -oE 'ERROR: [A-Za-z]+: [^ ]+|out-of-memory|timeout|leak' "$log" | head -1))")" \
    | tee -a "$build/fuzz-summary.txt"
  [ $rc -ne 0 ] && status=1
done
echo
cat "$build/fuzz-summary.txt"
echo "artifacts (crashing inputs): $build/fuzz-artifacts/<target>/"
exit $status
