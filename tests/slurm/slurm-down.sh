#!/usr/bin/env bash
# Stops the test cluster that slurm-up.sh started under $SLURM_TEST_DIR: cancels its jobs, then
# sends TERM to slurmd, slurmctld and munged by their pid files, KILL after 15 s, and finally ends
# leftover job processes of this cluster (found by SLURM_TEST_MARK=<dir> or SLURM_CONF=<dir>/... in
# their environment, never by name). Safe to run twice, or after a failed start.
#
#   SLURM_TEST_DIR=DIR tests/slurm/slurm-down.sh
set -uo pipefail

D=${SLURM_TEST_DIR:?set SLURM_TEST_DIR to the test cluster folder}
[ -d "$D" ] || exit 0
D=$(cd "$D" && pwd)
say() { printf '[slurm-down] %s\n' "$*"; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
pidof_file() { [ -s "$1" ] && tr -dc '0-9' <"$1"; }

# 1. cancel the cluster's jobs while slurmctld is still up, so slurmd tears down their steps
export SLURM_CONF="$D/etc/slurm.conf"
ctld=$(pidof_file "$D/run/slurmctld.pid")
if alive "$ctld" && [ -f "$SLURM_CONF" ]; then
    jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        say "cancelling jobs: $jobs"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null
        for _ in $(seq 100); do # up to 10 s (KillWait=5)
            [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
fi

# 2. the daemons: TERM all, wait up to 15 s, then KILL
pids=()
for f in slurmd slurmctld munged; do
    p=$(pidof_file "$D/run/$f.pid")
    if alive "$p"; then
        kill -TERM "$p" 2>/dev/null
        pids+=("$p")
    fi
done
for _ in $(seq 150); do
    waiting=()
    for p in "${pids[@]}"; do alive "$p" && waiting+=("$p"); done
    [ ${#waiting[@]} -eq 0 ] && break
    sleep 0.1
done
for p in "${pids[@]}"; do
    if alive "$p"; then
        say "pid $p ignored TERM: KILL"
        kill -KILL "$p" 2>/dev/null
    fi
done

# 3. leftovers (slurmstepd, job processes): match this cluster's folder in their environment,
# sparing this script's own ancestors (the test that calls us carries the same variables)
ancestors=" "
p=$$
while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    ancestors+="$p "
    p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)
done
find_leftovers() {
    local e pid
    for e in /proc/[0-9]*/environ; do
        pid=${e#/proc/}
        pid=${pid%/environ}
        [[ $ancestors == *" $pid "* ]] && continue
        [ "$pid" = "$BASHPID" ] && continue # this very subshell
        if tr '\0' '\n' 2>/dev/null <"$e" | grep -qxF -e "SLURM_TEST_MARK=$D" -e "SLURM_CONF=$D/etc/slurm.conf"; then
            echo "$pid"
        fi
    done
}
left=$(find_leftovers)
if [ -n "$left" ]; then
    say "ending leftover processes: $(echo $left)"
    # shellcheck disable=SC2086
    kill -TERM $left 2>/dev/null
    for _ in $(seq 50); do
        still=""
        for p in $left; do alive "$p" && still+="$p "; done
        [ -z "$still" ] && break
        sleep 0.1
    done
    # shellcheck disable=SC2086
    [ -n "$still" ] && kill -KILL $still 2>/dev/null
fi
rm -f "$D"/run/*.pid
say "stopped"
exit 0
