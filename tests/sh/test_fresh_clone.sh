#!/usr/bin/env bash
# A new user with nothing but the clone: `git clone` of the current commit into a temporary folder with
# no shared/ beside it, no data mirror, an empty HOME (so npm's cache is empty too) and none of dcn's
# environment variables; there, the README's main command `bash jobs/quickstart.sh` must finish and
# write results/quickstart/results.h5 with every trial done and above 0.8 test accuracy (checked with
# h5py), and `dcn graph stats` must give Table 1's node and edge counts for the connectomes that ship
# with the project.
# Uncommitted changes are not in the clone: the test checks what a user would get from this commit.
set -uo pipefail
src=${DCN_SOURCE_DIR:?DCN_SOURCE_DIR is not set}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dcn-test-fresh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

# DCN_TEST_COMMIT picks another commit (to show that the test fails on one from before the fix)
commit=$(git -C "$src" rev-parse "${DCN_TEST_COMMIT:-HEAD}") || { echo "FAIL - $src is not a git checkout"; exit 1; }
git -C "$src" diff --quiet HEAD -- 2>/dev/null || echo "note - $src has uncommitted changes; the clone tests commit $commit"
git clone -q "$src" "$tmp/dcn" && git -C "$tmp/dcn" checkout -q "$commit" || { echo "FAIL - git clone"; exit 1; }
[ ! -e "$tmp/shared" ] && pass "cloned $commit into $tmp/dcn, nothing beside it" || fail "$tmp/shared exists"
mkdir -p "$tmp/home"
clean_env=(env -i HOME="$tmp/home" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
           TMPDIR="${TMPDIR:-/tmp}")

t0=$(date +%s)
(cd "$tmp/dcn" && timeout 840 "${clean_env[@]}" bash jobs/quickstart.sh) >"$tmp/quickstart.log" 2>&1; rc=$?
wall=$(( $(date +%s) - t0 ))
if [ $rc = 0 ]; then
    pass "bash jobs/quickstart.sh exits 0 in the clone ($wall s)"
else
    tail -n 40 "$tmp/quickstart.log"
    fail "bash jobs/quickstart.sh exited $rc after $wall s"
fi
grep -E '^\[setup\]|fetched|^\[quickstart\]' "$tmp/quickstart.log" | head -n 20
grep -q "connectomes" "$tmp/quickstart.log" && fail "the quickstart's setup mentions connectomes (it must not fetch them)" ||
    pass "no connectome fetch in the quickstart"

results="$tmp/dcn/results/quickstart/results.h5"
/usr/bin/python3 - "$results" "$tmp/dcn/jobs/quickstart.yaml" <<'PY' && pass "results.h5: every trial done" || fail "results.h5 check"
import sys, h5py, numpy as np
path, sweep = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    s = f["summary"][:]
    status = [x.decode() for x in s["status"]]
    acc = s["test_accuracy"]
    n_trials = int(f.attrs["trials"])
    print(f"  {len(status)} trials, status {sorted(set(status))}, accuracy {np.min(acc):.4f}..{np.max(acc):.4f}")
    assert len(status) == n_trials > 0, (len(status), n_trials)
    assert all(x == "done" for x in status), status
    assert len(f["trials"]) == n_trials
    # 6000 images, 1 epoch: every trial (paper and baseline, trainable and frozen) has given 0.88-0.94.
    # 0.8 leaves room for seeds and BLAS kernels, and fails a training that learns but wrongly (a
    # gradient off in one layer kind, a learning rate off by 10x), which a chance bound (0.1) would pass.
    assert np.all(np.isfinite(acc)) and np.all(acc > 0.8), acc
PY

for g in "celegans 297 2148" "mouse 195 214"; do
    set -- $g
    out=$(cd "$tmp/dcn" && "${clean_env[@]}" build/dcn graph stats "$1" --json 2>&1)
    echo "$out" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if (d['nodes'], d['edges']) == ($2, $3) else 1)" &&
        pass "dcn graph stats $1: $2 nodes, $3 edges (Table 1)" || { echo "$out" | head; fail "dcn graph stats $1"; }
done

if [ $fails -gt 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
