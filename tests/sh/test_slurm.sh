#!/usr/bin/env bash
# End-to-end test of the SLURM job scripts (jobs/*.sbatch, jobs/submit) on a real one-node SLURM
# cluster that it starts (tests/slurm/slurm-up.sh) and always stops (tests/slurm/slurm-down.sh):
#   - time limit: a sweep job with --time=2 --signal=B:USR2@105 gets USR2 from SLURM, checkpoints,
#     requeues itself, and the rerun resumes and finishes (runs in the background of the others);
#   - `sbatch -n 2 jobs/sweep.sbatch`: one MPI job, both ranks train, every trial done once;
#   - `jobs/submit`: a job array of shards plus the merge job (afterany); merged results complete;
#   - `scontrol requeue` of a running array task during its second trial: it resumes from its
#     checkpoint, nothing is lost or duplicated, the trial done before the requeue keeps its
#     end_time (not trained again), every trial equals an uninterrupted run of the same sweep bit for
#     bit (weights, buffers, metrics), and the merge job waits for the rerun;
#   - `sbatch -n 2 jobs/train-dp.sbatch`: one trial trained data-parallel on 2 ranks.
# Results are checked with h5py (tests/slurm/check_results.py). Installs the SLURM packages when
# they are missing and this runs as root with apt-get; otherwise fails saying what to install (the
# test command installs them, so their absence is a failure, never a skip). Every check always runs.
# Environment (ctest sets them): DCN_BIN, DCN_SOURCE_DIR; DCN_TEST_KEEP=1 keeps the test folder.
set -uo pipefail

src=${DCN_SOURCE_DIR:?DCN_SOURCE_DIR is not set}
bin=${DCN_BIN:?DCN_BIN is not set}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
py=/usr/bin/python3
t_start=$(date +%s)
fails=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
note() { echo "# [$(($(date +%s) - t_start)) s] $*"; }

# ---- packages ----
slurm_pkgs="slurm-wlm slurmctld slurmd slurm-client munge"
missing=""
for c in sbatch srun squeue scontrol scancel sinfo slurmctld slurmd munged; do
    command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
"$py" -c 'import h5py' 2>/dev/null || missing="$missing h5py"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        note "installing $slurm_pkgs python3-h5py (missing:$missing)"
        export DEBIAN_FRONTEND=noninteractive
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $slurm_pkgs python3-h5py >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $slurm_pkgs python3-h5py >/dev/null; } ||
            { echo "FAIL - could not install $slurm_pkgs python3-h5py with apt-get"; exit 1; }
    else
        echo "FAIL - SLURM test needs:$missing. As root: apt-get install --no-install-recommends $slurm_pkgs python3-h5py"
        exit 1
    fi
fi
[ "$(id -u)" = 0 ] || { echo "FAIL - the SLURM test cluster needs root (slurmd runs jobs as root here)"; exit 1; }

# ---- a clean environment: nothing of an enclosing SLURM job may leak into ours ----
# shellcheck disable=SC2046
unset $(env | sed -n 's/^\(\(SLURM\|SBATCH\|SALLOC\|SRUN\)_[A-Za-z0-9_]*\)=.*/\1/p')
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dcn-slurm.XXXXXX")
export SLURM_TEST_DIR="$tmp/cluster"
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    bash "$src/tests/slurm/slurm-down.sh"
    if [ "$fails" -gt 0 ] || [ "$rc" -ne 0 ]; then
        echo "# ---- job logs (last lines) ----"
        for f in "$tmp"/jobs-dir/logs/*.out "$tmp"/jobs-dir/*.out; do
            [ -f "$f" ] && { echo "## $f"; grep -v '^\[rank' "$f" | tail -15; }
        done
        echo "## slurmctld.log"
        tail -20 "$SLURM_TEST_DIR/log/slurmctld.log" 2>/dev/null
    fi
    if [ "${DCN_TEST_KEEP:-0}" = 1 ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 4 CPUs declared on a 2-core machine: the time-limit job runs beside the other tests
SLURM_TEST_CPUS=4 bash "$src/tests/slurm/slurm-up.sh" || { fail "test cluster did not start"; exit 1; }
export SLURM_CONF="$SLURM_TEST_DIR/etc/slurm.conf"
export SLURM_TEST_MARK="$SLURM_TEST_DIR" # lets slurm-down.sh find leftover job processes
export DCN_BIN="$bin" OPENBLAS_NUM_THREADS=1
[ -d "$src/data/cache/mnist" ] && export DCN_DATA_DIR=${DCN_DATA_DIR:-$src/data/cache}
work="$tmp/jobs-dir"
mkdir -p "$work/logs"
cd "$work" || exit 1

# ---- the scripts themselves ----
for f in "$src"/jobs/*.sbatch "$src/jobs/submit"; do
    bash -n "$f" || fail "syntax of $f"
    grep -q '^#SBATCH --requeue' "$f" 2>/dev/null || [ "${f##*/}" = submit ] || fail "${f##*/} lacks --requeue"
done
pass "job scripts parse"
common() { awk '/^# ---- common part/,/^# ---- end of the common part/' "$1"; }
for f in sweep-array merge train-dp; do
    [ "$(common "$src/jobs/$f.sbatch")" = "$(common "$src/jobs/sweep.sbatch")" ] ||
        fail "the common part of jobs/$f.sbatch differs from jobs/sweep.sbatch's"
done

# ---- helpers ----
field() { scontrol show job -o "$1" 2>/dev/null | grep -o "\b$2=[^ ]*" | cut -d= -f2-; } # one line per array task
# A requeued job waits cred_expire (~11 s) as PENDING (BeginTime): start it sooner, but not within the
# second of the requeue (slurmd still holds the old credential as revoked and the launch fails:
# "Killing non-startable batch JobId=N: Job credential revoked"), so 2 s after it was first seen.
# The time-limit job is also cut down and given more time there (see tl_shrink).
tl_job="" tl_shrunk=0 tl_ckpt=0
declare -A pending_since=()
kick() {
    local id reason now
    now=$(date +%s)
    while read -r id reason; do
        [ "$reason" = BeginTime ] || continue
        if [ -z "${pending_since[$id]:-}" ]; then
            pending_since[$id]=$now
            continue
        fi
        [ $((now - pending_since[$id])) -ge 2 ] || continue
        if [ "$id" = "$tl_job" ] && [ "$tl_shrunk" = 0 ]; then
            tl_shrink
            scontrol update JobId="$id" TimeLimit=5 >/dev/null 2>&1
            tl_shrunk=1
        fi
        scontrol update JobId="$id" StartTime=now >/dev/null 2>&1 && unset "pending_since[$id]"
    done < <(squeue -h -t PD -o '%i %r' 2>/dev/null)
}
# wait_gone SECONDS ID...: until the jobs (or arrays) have left the queue
wait_gone() {
    local secs=$1 ids
    shift
    ids=$(tr ' ' ',' <<<"$*")
    local end=$(($(date +%s) + secs))
    while [ -n "$(squeue -h -j "$ids" 2>/dev/null)" ]; do
        if [ "$(date +%s)" -ge "$end" ]; then
            fail "jobs $ids still queued after $secs s:"
            squeue -j "$ids"
            return 1
        fi
        kick
        sleep 0.2
    done
}
states_of() { field "$1" JobState | sort | uniq -c | tr -s ' ' | tr '\n' ';'; }
all_completed() { # ID: every task COMPLETED with exit code 0
    local s e
    s=$(field "$1" JobState | sort -u | tr '\n' ' ')
    e=$(field "$1" ExitCode | sort -u | tr '\n' ' ')
    [ "$s" = "COMPLETED " ] && [ "$e" = "0:0 " ]
}
check_results() { # SWEEP LABEL [options]
    local out
    out=$("$py" "$src/tests/slurm/check_results.py" "$bin" "$@" 2>&1)
    local rc=$?
    echo "$out" | grep '^FAIL'
    [ $rc -eq 0 ] && pass "$2: results checked with h5py ($(grep -c '^ok' <<<"$out") checks)" ||
        { fails=$((fails + rc)); echo "$out" | grep -v '^FAIL' | sed 's/^/   | /'; }
}
sweep_yaml() { # FILE OUTDIR EXTRA-LINES: tiny trials (ws/er graphs of 8-10 nodes, 4 channels)
    cat >"$1" <<EOF
output: $2/results.h5
graphs: ["ws:n=8,k=4,p=0.75,seed=1", "er:n=10,p=0.4,seed=2"]
variants: [paper, baseline]
frozen: [false, true]
seeds: 0..1
epochs: 2
channels: 4
train_limit: 320
test_limit: 200
${3:-}
EOF
}

# ---- 1. time limit (background): 40 trials of ~4 s, far more than the two minutes the job gets ----
# SLURM checks time limits every 30 s, so USR2, due once 15 s have run (--time=2 --signal=B:USR2@105),
# comes 15-45 s after the start (with @60 on a one-minute job it came up to 16 s late: ~61 s here, still
# far from the limit at 120 s). By 15 s the sweep is training, so the signal interrupts a trial unless
# it falls in the milliseconds between two: a trial must be running when the job requeues itself and
# must resume in the rerun, or the test fails saying which. (Due at once, the signal could come before
# the first trial had started, and the test used to drop the resume requirement then.) Once the job
# has requeued itself the sweep file is cut down to the trials it has started (kick -> tl_shrink), so
# the rerun only has to finish the interrupted trial.
cat >tl.yaml <<'EOF'
output: tl/results.h5
graphs: ["ws:n=8,k=4,p=0.75,seed=1"]
seeds: 0..39
epochs: 4
channels: 8
train_limit: 6400
test_limit: 200
checkpoint_every: 0.3
EOF
tl_shrink() {
    local k
    k=$("$bin" sweep tl.yaml --dry-run --json | "$py" -c '
import json, sys
t = json.load(sys.stdin)["trials"]
started = [x["index"] for x in t if x["state"] != "pending"]
running = [x for x in t if x["state"] == "running"]
print(max(started) if started else 0, len(running))')
    tl_ckpt=${k#* }
    k=${k% *}
    sed -i "s/^seeds: .*/seeds: 0..$k/" tl.yaml
    note "time-limit job requeued: sweep cut to trials 0..$k ($tl_ckpt interrupted)"
}
tl_job=$(sbatch --parsable --time=2 --signal=B:USR2@105 -J dcn-timelimit "$src/jobs/sweep.sbatch" tl.yaml)
note "time-limit job $tl_job submitted"

# ---- 2. one MPI job: sbatch -n 2 jobs/sweep.sbatch ----
sweep_yaml mpi.yaml mpi
j=$(sbatch --parsable -n 2 "$src/jobs/sweep.sbatch" mpi.yaml)
if wait_gone 120 "$j"; then
    all_completed "$j" && pass "sbatch -n 2 jobs/sweep.sbatch: job $j completed" ||
        fail "job $j: $(states_of "$j") exit $(field "$j" ExitCode)"
    grep -q "on 2 task(s)" "dcn-sweep_$j.out" && pass "log dcn-sweep_$j.out written, 2 tasks" ||
        fail "log dcn-sweep_$j.out lacks the start line"
    check_results mpi.yaml mpi-job --ranks 0,1
fi
note "MPI job done"

# ---- 3. job array + merge through jobs/submit ----
sweep_yaml arr.yaml arr
out=$(DCN_MAX_ARRAY=4 "$src/jobs/submit" arr.yaml --json --log-dir logs)
aid=$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["array"])' "$out" 2>/dev/null)
mid=$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["merge"])' "$out" 2>/dev/null)
if [ -z "$aid" ] || [ -z "$mid" ]; then
    fail "jobs/submit --json printed '$out'"
else
    pass "jobs/submit: array $aid (4 shards of 10 trials), merge $mid"
    if wait_gone 120 "$aid" "$mid"; then
        all_completed "$aid" && pass "array $aid: all 4 tasks completed" || fail "array $aid: $(states_of "$aid")"
        all_completed "$mid" && pass "merge job $mid completed" || fail "merge $mid: $(states_of "$mid")"
        [ "$(ls logs/dcn-sweep-array_"${aid}"_*.out 2>/dev/null | wc -l)" = 4 ] && pass "one log per array task" ||
            fail "logs: $(ls logs)"
        grep -q "10 trials: 10 done, 0 failed, 0 running or interrupted, 0 pending" "logs/dcn-merge_$mid.out" &&
            pass "merge log: 10 of 10 done" || fail "merge log: $(tail -3 "logs/dcn-merge_$mid.out")"
        grep -q "report written to arr/report.md" "logs/dcn-merge_$mid.out" && [ -s arr/report.md ] &&
            pass "merge job ran dcn report into arr/report.md" || fail "no report from the merge job"
        grep -q "HTML report written to arr/report.html" "logs/dcn-merge_$mid.out" &&
            grep -q "</html>" arr/report.html 2>/dev/null &&
            pass "merge job wrote the page arr/report.html" || fail "no report.html from the merge job: $(grep -i html "logs/dcn-merge_$mid.out" | tail -2)"
        check_results arr.yaml array --ranks 0
    fi
fi
note "array done"

# ---- 4. scontrol requeue of a running array task ----
# The task is requeued while it trains its second trial (a checkpoint exists) after finishing its
# first, so the rerun must skip a done trial and resume an interrupted one. The trial files done by
# then are copied to rq-before/ just before the requeue: the rerun must not change their end_time.
# The same sweep also runs once without interruption (into rqref/, the dcn binary directly, in the
# background while the requeued task waits): every trial must equal that run's bit for bit.
cat >rq.yaml <<'EOF'
output: rq/results.h5
graphs: ["ws:n=8,k=4,p=0.75,seed=1"]
frozen: [false, true]
seeds: 0..1
epochs: 3
channels: 8
train_limit: 3200
test_limit: 200
checkpoint_every: 0.3
EOF
sed 's#^output: rq/#output: rqref/#' rq.yaml >rqref.yaml
declare -A rq_index=() # trial id -> index (array task index % 2 trains it)
while read -r id idx; do rq_index[$id]=$idx; done < <("$bin" sweep rq.yaml --dry-run --json | "$py" -c '
import json, sys
for t in json.load(sys.stdin)["trials"]: print(t["id"], t["index"])')
out=$("$src/jobs/submit" rq.yaml --shards 2 --json --log-dir logs)
aid=$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["array"])' "$out" 2>/dev/null)
mid=$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["merge"])' "$out" 2>/dev/null)
rq="" task="" ref_pid=""
end=$(($(date +%s) + 90))
while [ -n "$aid" ] && [ ${#rq_index[@]} = 4 ] && [ -z "$rq" ] && [ "$(date +%s)" -lt "$end" ]; do
    for ck in rq/trials/*/*.ckpt.h5; do # trials/<ab>/<id>: README "dcn sweep"
        [ -e "$ck" ] || continue
        id=$(basename "$ck" .ckpt.h5)
        [ -n "${rq_index[$id]:-}" ] && [ ! -e "rq/trials/${id:1:2}/$id.h5" ] || continue # not one that has just finished
        t=$((rq_index[$id] % 2))
        first="" # a trial this task has finished
        for f in rq/trials/*/*.h5; do
            d=$(basename "$f" .h5)
            [ -n "${rq_index[$d]:-}" ] && [ $((rq_index[$d] % 2)) = "$t" ] && first=$d
        done
        [ -n "$first" ] || continue
        r=$(squeue -h -j "${aid}_$t" -t R -o %i 2>/dev/null) # "A_T": a bare id could name the whole array
        [ -n "$r" ] || continue
        rm -rf rq-before && mkdir rq-before
        for f in rq/trials/*/*.h5; do [[ $f == *.ckpt.h5 ]] || cp -p "$f" rq-before/; done
        if scontrol requeue "$r"; then
            rq=$r task=$t
            note "requeued array task $rq while it trained trial ${rq_index[$id]} (its trial ${rq_index[$first]} done)"
            break
        fi
    done
    sleep 0.05
done
if [ -n "$rq" ]; then
    "$bin" sweep rqref.yaml --threads 1 --quiet >rqref.log 2>&1 &
    ref_pid=$!
fi
if [ ${#rq_index[@]} != 4 ]; then
    fail "dcn sweep rq.yaml --dry-run --json listed ${#rq_index[@]} trials (want 4)"
elif [ -z "$rq" ]; then
    fail "could not requeue a running array task during its second trial (array '$aid')"
elif wait_gone 150 "$aid" "$mid"; then
    all_completed "$aid" && pass "array $aid completed after the requeue" || fail "array $aid: $(states_of "$aid")"
    [ "$(field "$rq" Restarts)" -ge 1 ] && pass "task $rq restarted $(field "$rq" Restarts) time(s)" ||
        fail "task $rq: Restarts=$(field "$rq" Restarts)"
    [ "$(field "${aid}_$((1 - task))" Restarts)" = 0 ] && pass "the other task was not requeued" ||
        fail "task ${aid}_$((1 - task)): Restarts=$(field "${aid}_$((1 - task))" Restarts)"
    log=logs/dcn-sweep-array_${aid}_$task.out
    grep -q "restart 1" "$log" && grep -q "TERM (cancel, requeue" "$log" &&
        pass "its log (appended) shows the TERM and the rerun" || fail "$log lacks the TERM or the rerun"
    grep -q "(resumed)" "$log" && pass "the rerun resumed a trial from its checkpoint" || fail "no '(resumed)' in $log"
    grep -q "4 trials: 4 done, 0 failed, 0 running or interrupted, 0 pending" "logs/dcn-merge_$mid.out" &&
        pass "merge job waited for the rerun: 4 of 4 done" || fail "merge log: $(tail -3 "logs/dcn-merge_$mid.out")"
    wait "$ref_pid" && pass "uninterrupted run of the same sweep (rqref/) finished" ||
        fail "uninterrupted run of the same sweep failed: $(tail -3 rqref.log)"
    check_results rq.yaml requeue --min-resumed 1 --before rq-before --same-as rqref.yaml
fi
[ -n "$ref_pid" ] && wait "$ref_pid" 2>/dev/null
note "requeue done"

# ---- 5. data-parallel training ----
j=$(sbatch --parsable -n 2 "$src/jobs/train-dp.sbatch" --graph ws:n=8,k=4,p=0.75,seed=1 --epochs 1 \
    --channels 4 --train-limit 320 --test-limit 200 --out "$work/dp.h5")
if [ -z "$j" ]; then
    fail "sbatch -n 2 jobs/train-dp.sbatch did not submit a job"
elif wait_gone 120 "$j"; then
    all_completed "$j" && pass "train-dp job $j completed" || fail "train-dp job $j: $(states_of "$j")"
    "$py" -c '
import h5py, sys
f = h5py.File(sys.argv[1], "r")
s = f.attrs["status"]
s = s.decode() if isinstance(s, bytes) else s
assert s == "done", s
assert len(f["metrics/test_accuracy"][:]) == 1
# 2 ranks under srun, not 2 singletons (a PMI mismatch starts MPI ranks as singletons silently)
assert int(f.attrs.get("world_size", -1)) == 2, f.attrs.get("world_size")' "$work/dp.h5" &&
        pass "dp.h5 written by 2 ranks (world_size 2), status done, 1 epoch" ||
        fail "dp.h5 missing or not done"
fi

# ---- 1 (end). the time-limit job ----
if wait_gone 150 "$tl_job"; then
    log=dcn-timelimit_$tl_job.out
    all_completed "$tl_job" && pass "time-limit job $tl_job completed" ||
        fail "time-limit job $tl_job: $(states_of "$tl_job") exit $(field "$tl_job" ExitCode)"
    grep -q "USR2 (time limit near)" "$log" && pass "it got USR2 before its time limit" || fail "no USR2 in $log"
    grep -q "requeued job $tl_job" "$log" && pass "it requeued itself after checkpointing" || fail "no self-requeue in $log"
    [ "$(field "$tl_job" Restarts)" -ge 1 ] && grep -q "restart 1" "$log" && pass "the requeued run started" ||
        fail "time-limit job: Restarts=$(field "$tl_job" Restarts)"
    [ "$tl_shrunk" = 1 ] || fail "the time-limit job was never seen waiting for its requeue"
    [ "$tl_ckpt" -gt 0 ] && pass "a trial was running when the job requeued itself ($tl_ckpt interrupted)" ||
        fail "no trial was running when the time-limit job requeued itself (USR2 between two trials?)"
    check_results tl.yaml time-limit --min-resumed 1
fi

note "SLURM test finished: $fails failure(s)"
[ "$fails" -eq 0 ]
