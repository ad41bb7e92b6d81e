#!/usr/bin/env bash
# `cmake --install` writes an Lmod modulefile: after `module use P/share/modulefiles && module load dcn`
# in a login shell, dcn is on PATH, prints its version, DCN_HOME points at P/share/dcn, and the installed
# dcn finds the shipped connectomes there (an empty data folder, a source tree it cannot see).
set -uo pipefail
bin=${DCN_BIN:?DCN_BIN is not set}
build=$(dirname "$bin")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dcn-test-module.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
[ -f /etc/profile.d/lmod.sh ] || { echo "FAIL - Lmod is not installed (Debian lmod; the test command's setup installs it)"; exit 1; }

prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 && pass "cmake --install --prefix $prefix" ||
    { cat "$tmp/install.log"; fail "cmake --install failed"; }
version=$("$bin" --version | awk '{print $2}')
mf="$prefix/share/modulefiles/dcn/$version.lua"
[ -f "$mf" ] && pass "modulefile $mf" || fail "no modulefile at $mf"
grep -q "\"$prefix\"" "$mf" && pass "the modulefile names the install prefix" || fail "prefix not in $mf"
[ -f "$prefix/share/dcn/data/connectomes/celegansneural.gml" ] && pass "connectomes installed" || fail "connectomes not installed"

mkdir -p "$tmp/empty-data"
# a login shell, as a user's job script would start; PATH without the build folder
out=$(env -i HOME="$tmp" PATH=/usr/local/bin:/usr/bin:/bin DCN_DATA_DIR="$tmp/empty-data" bash -lc "
    module use '$prefix/share/modulefiles' && module load dcn &&
    echo \"which=\$(command -v dcn)\" && dcn --version && echo \"home=\$DCN_HOME\" &&
    cd / && dcn graph stats celegans --json" 2>&1); rc=$?
echo "$out" | head -n 6
[ $rc = 0 ] && pass "module load dcn and the commands exit 0" || fail "login shell exited $rc"
echo "$out" | grep -qx "which=$prefix/bin/dcn" && pass "dcn on PATH is the installed one" || fail "dcn on PATH is not $prefix/bin/dcn"
echo "$out" | grep -qx "dcn $version" && pass "dcn --version prints $version" || fail "no 'dcn $version' line"
echo "$out" | grep -qx "home=$prefix/share/dcn" && pass "DCN_HOME=$prefix/share/dcn" || fail "DCN_HOME not set to $prefix/share/dcn"
echo "$out" | grep -q '"nodes": 297' && echo "$out" | grep -q '"edges": 2148' &&
    pass "the installed dcn finds the shipped C. elegans (297 nodes, 2148 edges)" || fail "graph stats celegans through the module"
if [ $fails -gt 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
