#!/usr/bin/env bash
# jobs/setup.sh as a user who is not root (a cluster login node): with the packages present it builds
# dcn without calling apt-get or sudo; with a dependency hidden from pkg-config it names the missing
# package and exits non-zero before compiling anything. apt-get and sudo are replaced on PATH by
# scripts that record any call, so a call is seen even if it would have failed anyway.
set -uo pipefail
src=${DCN_SOURCE_DIR:?DCN_SOURCE_DIR is not set}
[ "$(id -u)" = 0 ] || { echo "FAIL - this test switches to the user nobody and needs root (the test command runs as root)"; exit 1; }
user=nobody
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dcn-test-nonroot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

# the tree as committed plus uncommitted files, readable by the user wherever the clone lives
mkdir -p "$tmp/src" "$tmp/bin" "$tmp/home" "$tmp/empty"
(cd "$src" && git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$tmp/src") ||
    { echo "FAIL - cannot copy the source tree"; exit 1; }
for c in apt-get apt sudo; do
    printf '#!/bin/sh\necho "%s $*" >> %s/calls.log\nexit 1\n' "$c" "$tmp" > "$tmp/bin/$c"
done
chmod 755 "$tmp/bin"/* "$tmp"
chown -R "$user" "$tmp/src" "$tmp/home"
touch "$tmp/calls.log"; chmod 666 "$tmp/calls.log"; chmod 777 "$tmp"
as_user() { runuser -u "$user" -- env HOME="$tmp/home" PATH="$tmp/bin:$PATH" "$@"; }

t0=$(date +%s)
out=$(as_user bash "$tmp/src/jobs/setup.sh" --no-data --build-dir "$tmp/build" 2>&1); rc=$?
echo "$out" | tail -n 5
[ $rc = 0 ] && pass "setup as $user builds (exit 0, $(( $(date +%s) - t0 )) s)" || fail "setup as $user exited $rc"
[ -x "$tmp/build/dcn" ] && as_user "$tmp/build/dcn" --version | grep -q '^dcn ' && pass "the built dcn runs" ||
    fail "no working $tmp/build/dcn"
[ ! -s "$tmp/calls.log" ] && pass "apt-get and sudo were not called" || fail "called: $(cat "$tmp/calls.log")"
echo "$out" | grep -q "not root: apt-get is not used" && pass "setup says it does not use apt-get" ||
    fail "setup did not say it skips apt-get"

out=$(as_user env PKG_CONFIG_PATH="$tmp/empty" PKG_CONFIG_LIBDIR="$tmp/empty" \
      bash "$tmp/src/jobs/setup.sh" --no-data --build-dir "$tmp/build2" 2>&1); rc=$?
echo "$out" | tail -n 8
[ $rc != 0 ] && pass "hidden OpenBLAS: setup exits $rc" || fail "hidden OpenBLAS: setup exited 0"
echo "$out" | grep -q "libopenblas-dev" && echo "$out" | grep -q "PKG_CONFIG_PATH" &&
    pass "the message names libopenblas-dev and PKG_CONFIG_PATH" || fail "message lacks the package or the hint"
[ ! -e "$tmp/build2" ] && pass "nothing was configured or compiled" || fail "$tmp/build2 exists: setup went on to build"
[ ! -s "$tmp/calls.log" ] && pass "apt-get and sudo still not called" || fail "called: $(cat "$tmp/calls.log")"

if [ $fails -gt 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
