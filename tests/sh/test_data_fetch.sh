#!/usr/bin/env bash
# End-to-end test of data/fetch.sh and `dcn data` (fetch, check, info), offline: connectomes come from
# the project's data/ folder used as a mirror ($DCN_PROJECT_DATA), a corrupted mirror copy must be refused,
# KMNIST must fail with instructions, generated KMNIST-style files must be refused by checksum (and, with a
# checksum list that vouches for one of them, that one copied), and `dcn data info` must describe a tiny
# generated dataset.
#
# Nothing is skipped: the project's data/ folder (it ships the connectomes), Debian's
# dataset-fashion-mnist (tests/run.sh installs it) and a working `dcn data` are all required, and their
# absence fails the test with a message.
set -uo pipefail

src=${DCN_SOURCE_DIR:?DCN_SOURCE_DIR is not set}
shared=${DCN_PROJECT_DATA:-$src/data} # the project's own data/ folder, laid out like a mirror
fashion_sys=/usr/share/datasets/fashion-mnist # where Debian's dataset-fashion-mnist installs
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

# the project ships the connectomes in data/connectomes/ (mirror layout): a missing one is a failure
have_mirror=1
for f in connectomes/celegansneural.gml connectomes/mouse_visual.cortex_2.graphml \
    connectomes/nick11roberts-connectomics-learning/celegans.txt; do
    if [ ! -f "$shared/$f" ]; then
        fail "the project's data folder $shared (\$DCN_PROJECT_DATA, else \$DCN_SOURCE_DIR/data) lacks $f, which the project ships: cannot test fetching from a mirror"
        have_mirror=0
    fi
done
if [ $have_mirror = 1 ]; then
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

# KMNIST: the project's mirror has none of it, so every file must fail with instructions
expect "kmnist fails clearly" 1 "http://codh.rois.ac.jp/kmnist/dataset/kmnist/" "place them in $tmp/dk/kmnist/" \
    "train-images-idx3-ubyte.gz" "train-labels-idx1-ubyte.gz" "t10k-images-idx3-ubyte.gz" \
    "t10k-labels-idx1-ubyte.gz" -- bash "$fetch" kmnist --mirror "$shared" --data-dir "$tmp/dk"
[ -z "$(ls -A "$tmp/dk/kmnist" 2>/dev/null)" ] && pass "kmnist: nothing installed without files" ||
    fail "kmnist: files installed from nowhere: $(ls -A "$tmp/dk/kmnist")"

# A generated KMNIST-style mirror: four valid gzip IDX files (8 training / 4 test images of 28x28, labels
# 0..9), which are not the official files and must be refused by checksum, each named, none installed.
# idx_images N: IDX3 of N 28x28 images; idx_labels N: IDX1 of N labels i mod 10 (N < 256)
idx_images() {
    printf '\x00\x00\x08\x03\x00\x00\x00'"$(printf '\\x%02x' "$1")"'\x00\x00\x00\x1c\x00\x00\x00\x1c'
    head -c $(($1 * 784)) /dev/zero | tr '\0' '\200'
}
idx_labels() {
    local i
    printf '\x00\x00\x08\x01\x00\x00\x00'"$(printf '\\x%02x' "$1")"
    for ((i = 0; i < $1; i++)); do printf "$(printf '\\x%02x' $((i % 10)))"; done
}
kfx="$tmp/kmnist-mirror"
mkdir -p "$kfx/kmnist"
idx_images 8 | gzip -n -c > "$kfx/kmnist/train-images-idx3-ubyte.gz"
idx_labels 8 | gzip -n -c > "$kfx/kmnist/train-labels-idx1-ubyte.gz"
idx_images 4 | gzip -n -c > "$kfx/kmnist/t10k-images-idx3-ubyte.gz"
idx_labels 4 | gzip -n -c > "$kfx/kmnist/t10k-labels-idx1-ubyte.gz"
# the fixture itself must be what it claims: gzip streams of IDX files of the right sizes
fx_ok=1
for f in train-images-idx3-ubyte:6288 train-labels-idx1-ubyte:16 t10k-images-idx3-ubyte:3152 t10k-labels-idx1-ubyte:12; do
    n=$(gzip -dc "$kfx/kmnist/${f%:*}.gz" | wc -c)
    [ "$n" = "${f#*:}" ] || { fx_ok=0; echo "   ${f%:*}.gz: $n bytes, expected ${f#*:}"; }
done
[ $fx_ok = 1 ] && pass "generated KMNIST-style fixture has the IDX sizes" || fail "generated KMNIST-style fixture is wrong"
expect "kmnist files that are not the official ones are refused by checksum, each named" 1 \
    "checksum mismatch: kmnist/train-images-idx3-ubyte.gz from mirror $kfx/kmnist/train-images-idx3-ubyte.gz" \
    "checksum mismatch: kmnist/train-labels-idx1-ubyte.gz from mirror $kfx/kmnist/train-labels-idx1-ubyte.gz" \
    "checksum mismatch: kmnist/t10k-images-idx3-ubyte.gz from mirror $kfx/kmnist/t10k-images-idx3-ubyte.gz" \
    "checksum mismatch: kmnist/t10k-labels-idx1-ubyte.gz from mirror $kfx/kmnist/t10k-labels-idx1-ubyte.gz" \
    "(file not installed)" -- bash "$fetch" kmnist --mirror "$kfx" --data-dir "$tmp/dk2"
[ -z "$(ls -A "$tmp/dk2/kmnist" 2>/dev/null)" ] && pass "no refused kmnist file (nor a temporary copy) was installed" ||
    fail "refused kmnist files were installed: $(ls -A "$tmp/dk2/kmnist")"
# the copy path: a copy of fetch.sh whose checksum list vouches for the generated training labels, and a
# mirror holding only those: they are copied and verified, the other three fail with instructions
fcopy="$tmp/fetch-copy"
mkdir -p "$fcopy" "$tmp/kmnist-labels-only/kmnist"
cp "$fetch" "$fcopy/fetch.sh"
cp "$kfx/kmnist/train-labels-idx1-ubyte.gz" "$tmp/kmnist-labels-only/kmnist/"
echo "$(sha256sum < "$kfx/kmnist/train-labels-idx1-ubyte.gz" | cut -d' ' -f1)  kmnist/train-labels-idx1-ubyte.gz" \
    > "$fcopy/SHA256SUMS"
: > "$fcopy/MD5SUMS"
expect "a kmnist mirror file that verifies is copied; the missing ones fail with instructions" 1 \
    "fetched: kmnist/train-labels-idx1-ubyte.gz (from mirror $tmp/kmnist-labels-only/kmnist/train-labels-idx1-ubyte.gz, verified)" \
    "kmnist: missing train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz" \
    "http://codh.rois.ac.jp/kmnist/dataset/kmnist/" -- \
    bash "$fcopy/fetch.sh" kmnist --mirror "$tmp/kmnist-labels-only" --data-dir "$tmp/dk3"
cmp -s "$tmp/dk3/kmnist/train-labels-idx1-ubyte.gz" "$kfx/kmnist/train-labels-idx1-ubyte.gz" &&
    pass "kmnist train labels copied from the mirror" || fail "kmnist train labels not copied"
expect "usage error names the option" 2 "--bogus" -- bash "$fetch" --bogus mnist
expect "unknown dataset is a usage error" 2 "unknown dataset 'cifar'" -- bash "$fetch" cifar

# Fashion-MNIST from the Debian package's folder (tests/run.sh installs dataset-fashion-mnist)
if [ -f "$fashion_sys/t10k-labels-idx1-ubyte.gz" ]; then
    expect "fashion from the Debian package" 0 "fetched: fashion/t10k-labels-idx1-ubyte.gz" -- \
        bash "$fetch" fashion --data-dir "$tmp/df"
else
    fail "Fashion-MNIST: $fashion_sys/t10k-labels-idx1-ubyte.gz is missing: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist; tests/run.sh does)"
fi

# ---- the dcn command: a `dcn data --help` that fails is a broken command, not a reason to skip ----
data_help_rc=0
if [ -z "$bin" ]; then
    fail "DCN_BIN is not set: cannot test the dcn data command (ctest sets it to the built dcn)"
    data_help_rc=1
else
    data_help=$("$bin" data --help 2>&1); data_help_rc=$?
    if [ $data_help_rc -ne 0 ] || ! grep -qF "usage: dcn data" <<<"$data_help"; then
        fail "\`$bin data --help\` failed (rc=$data_help_rc, or no usage line): the dcn data command is broken; its checks cannot run"
        sed 's/^/   | /' <<<"$data_help"
        data_help_rc=1
    fi
fi
if [ $data_help_rc = 0 ]; then
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
    expect "dcn data info on the generated KMNIST-style folder (a valid dataset)" 0 '"n_train": 8' '"n_test": 4' \
        '"classes": 8' -- "$bin" data info "$kfx/kmnist" --json
    expect "dcn data fetch kmnist refuses the generated files by checksum" 1 \
        "dcn data: checksum mismatch: kmnist/train-labels-idx1-ubyte.gz from mirror $kfx/kmnist/train-labels-idx1-ubyte.gz" -- \
        "$bin" data fetch kmnist --mirror "$kfx" --data-dir "$tmp/dk4"
    if [ $have_mirror = 1 ]; then # (a missing project data folder has already failed the test above)
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
