#!/usr/bin/env bash
# End-to-end test of data/fetch.sh and `dcn data` (fetch, check, info), offline: connectomes come from
# the project's data/ folder used as a mirror ($DCN_PROJECT_DATA), a corrupted mirror copy must be refused, KMNIST must fail with
# instructions, and `dcn data info` must describe a tiny generated dataset.
set -uo pipefail

src=${DCN_SOURCE_DIR:?DCN_SOURCE_DIR is not set}
shared=${DCN_PROJECT_DATA:-$src/data} # the project's own data/ folder, laid out like a mirror
bin=${DCN_BIN:-}
fetch="$src/data/fetch.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dcn-test-data-fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export DCN_FETCH_OFFLINE=1 # never touch the network from a test
unset DCN_DATA_MIRROR

fails=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
# expect DESCRIPTION WANT_RC GREP_PATTERN... -- CMD...: runs CMD, checks exit code and that the combined
# output contains every pattern.
expect() {
    local desc=$1 want=$2 pats=() out rc
    shift 2
    while [ "$1" != -- ]; do pats+=("$1"); shift; done
    shift
    out=$("$@" 2>&1); rc=$?
    local ok=1
    if [ "$want" = nonzero ]; then [ $rc -ne 0 ] || ok=0; else [ $rc -eq "$want" ] || ok=0; fi
    for p in "${pats[@]}"; do grep -qF -- "$p" <<<"$out" || { ok=0; echo "   missing in output: $p"; }; done
    if [ $ok = 1 ]; then pass "$desc"; else fail "$desc (rc=$rc)"; sed 's/^/   | /' <<<"$out"; fi
}

if [ ! -f "$shared/connectomes/celegansneural.gml" ]; then
    echo "no shared data at $shared: cannot test the mirror (skipping those checks)"
else
    dd="$tmp/dd"
    expect "fetch connectomes from the mirror" 0 \
        "fetched: connectomes/celegansneural.gml" "fetched: connectomes/mouse_visual.cortex_2.graphml" \
        "fetched: connectomes/celegans.txt" -- bash "$fetch" connectomes --mirror "$shared" --data-dir "$dd"
    expect "repeat fetch is a no-op that verifies" 0 \
        "ok: connectomes/celegansneural.gml (verified)" "ok: connectomes/celegans.txt (verified)" -- \
        bash "$fetch" connectomes --mirror "$shared" --data-dir "$dd"
    [ -z "$(find "$dd" -name '*.part.*' -o -name '.fetch.*')" ] && pass "no temporary files left" || fail "temporary files left"

    # a mirror whose C. elegans file was altered by one byte
    bad="$tmp/badmirror"
    mkdir -p "$bad/connectomes"
    cp "$shared/connectomes/mouse_visual.cortex_2.graphml" "$bad/connectomes/"
    cp "$shared/connectomes/nick11roberts-connectomics-learning/celegans.txt" "$bad/connectomes/"
    sed '2s/./X/' "$shared/connectomes/celegansneural.gml" > "$bad/connectomes/celegansneural.gml"
    expect "a corrupt mirror file is refused, naming it" nonzero \
        "checksum mismatch: connectomes/celegansneural.gml" "$bad/connectomes/celegansneural.gml" -- \
        bash "$fetch" connectomes --mirror "$bad" --data-dir "$tmp/dd2"
    [ ! -e "$tmp/dd2/connectomes/celegansneural.gml" ] && pass "the corrupt file was not installed" ||
        fail "the corrupt file was installed"
    [ -f "$tmp/dd2/connectomes/celegans.txt" ] && pass "the valid files were installed" || fail "valid files missing"

    # an installed file damaged later is reported by --check and moved aside by the next fetch
    echo >> "$dd/connectomes/mouse_visual.cortex_2.graphml"
    expect "check reports a damaged file" 1 "connectomes/mouse_visual.cortex_2.graphml: bad" -- \
        bash "$fetch" --check connectomes --data-dir "$dd"
    expect "fetch replaces a damaged file" 0 "fetched: connectomes/mouse_visual.cortex_2.graphml" -- \
        bash "$fetch" connectomes --mirror "$shared" --data-dir "$dd"
fi

# KMNIST: only the training labels exist in the mirror; the rest must fail with instructions
expect "kmnist fails clearly" 1 "http://codh.rois.ac.jp/kmnist/dataset/kmnist/" "place them in $tmp/dk/kmnist/" \
    "t10k-images-idx3-ubyte.gz" -- bash "$fetch" kmnist --mirror "$shared" --data-dir "$tmp/dk"
if [ -f "$shared/kmnist/train-labels-idx1-ubyte.gz" ]; then
    [ -f "$tmp/dk/kmnist/train-labels-idx1-ubyte.gz" ] && pass "kmnist train labels copied from the mirror" ||
        fail "kmnist train labels not copied"
fi
expect "usage error names the option" 2 "--bogus" -- bash "$fetch" --bogus mnist
expect "unknown dataset is a usage error" 2 "unknown dataset 'cifar'" -- bash "$fetch" cifar

# Fashion-MNIST from the Debian package's folder, when installed
if [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
    expect "fashion from the Debian package" 0 "fetched: fashion/t10k-labels-idx1-ubyte.gz" -- \
        bash "$fetch" fashion --data-dir "$tmp/df"
fi

# ---- the dcn command (once `data` is registered in src/cli/main.c) ----
if [ -z "$bin" ] || ! "$bin" data --help >/dev/null 2>&1; then
    echo "dcn data is not available (DCN_BIN=$bin): skipping the command checks"
else
    # a tiny dataset: 3 training images and 2 test images of 2x2 pixels, labels 0..2
    ds="$tmp/tiny"
    mkdir -p "$ds"
    printf '\x00\x00\x08\x03\x00\x00\x00\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\xff\x00\xff\x00\x00\x00\x00\xff\xff\xff\xff' > "$ds/train-images-idx3-ubyte"
    printf '\x00\x00\x08\x01\x00\x00\x00\x03\x00\x01\x02' > "$ds/train-labels-idx1-ubyte"
    printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x00\xff\xff\xff\xff' | gzip -c > "$ds/t10k-images-idx3-ubyte.gz"
    printf '\x00\x00\x08\x01\x00\x00\x00\x02\x02\x01' > "$ds/t10k-labels-idx1-ubyte"
    # 6 of 12 pixels are 1: mean 0.5, std 0.5
    expect "dcn data info on a folder" 0 '"n_train": 3' '"n_test": 2' '"classes": 3' '"mean": 0.5,' '"std": 0.5,' \
        '"test_histogram": [0, 1, 1]' -- "$bin" data info "$ds" --json
    expect "dcn data info --train-limit" 0 "train     1 images" "mean      0.500000" -- \
        "$bin" data info "$ds" --train-limit 1
    printf '\x00\x00\x08\x01\x00\x00\x00\x02\x02\x03' > "$ds/t10k-labels-idx1-ubyte"
    expect "dcn data info names a bad file" 1 "dcn data info: parse error: $ds/t10k-labels-idx1-ubyte: label 3" -- "$bin" data info "$ds"
    expect "dcn data info on a missing kmnist says where to get it" 1 "dcn data info: I/O error: dataset kmnist not found" \
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/" -- "$bin" data info kmnist --data-dir "$tmp/nothing"
    expect "dcn data fetch: unknown option" 2 "'--bogus'" -- "$bin" data fetch mnist --bogus
    expect "dcn data info: bad limit" 2 "--train-limit" -- "$bin" data info mnist --train-limit x
    expect "dcn data: unknown subcommand" 2 "unknown subcommand 'frob'" -- "$bin" data frob
    expect "dcn data fetch --help" 0 "usage: dcn data fetch" "--mirror DIR" -- "$bin" data fetch --help
    if [ -f "$shared/connectomes/celegansneural.gml" ]; then
        expect "dcn data fetch connectomes" 0 "fetched: connectomes/celegans.txt" -- \
            "$bin" data fetch connectomes --mirror "$shared" --data-dir "$tmp/dd3"
        expect "dcn data check connectomes" 0 "ok: connectomes/celegans.txt (verified)" -- \
            "$bin" data check connectomes --data-dir "$tmp/dd3"
        expect "dcn data fetch kmnist fails clearly" 1 "dcn data: kmnist: missing" "codh.rois.ac.jp" -- \
            "$bin" data fetch kmnist --mirror "$shared" --data-dir "$tmp/dd3"
        expect "dcn data check kmnist fails naming missing files" 1 "missing: kmnist/train-images-idx3-ubyte" -- \
            "$bin" data check kmnist --data-dir "$tmp/dd3"
    fi
fi

if [ $fails -gt 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
