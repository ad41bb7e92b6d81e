#!/usr/bin/python3
"""A large sweep under load, with kills: every trial must end done exactly once.

    sweep_stress.py --ranks 64 --trials 10000 --kills 3 [--btl tcp] --out DIR [--dcn BIN]

Runs `mpirun --oversubscribe -n RANKS dcn sweep` over TRIALS tiny trials (WS n=8, 2 channels, 64
training images), kills a random rank with SIGKILL after a random number of its trials ended, KILLS times (each kill ends the
job), runs the same command again after each, and a last time to the end. Then:
- every trial file is read with h5py: status done, and its /summary row agrees (status, accuracy,
  epochs, rank);
- every trial was trained to completion exactly once: across all runs' logs, each trial id of the
  sweep has exactly one "done" line (a run skips trials whose file is done, and rank 0 hands out each
  pending trial once), and no other id has one (a lost line would leave its trial unchecked);
- the figures: wall time per run, rank 0's requests answered per second and the longest wait for
  an answer (its "dispatch" line), the results-file updates (rows, seconds; --verbose lines), and
  peak RSS of rank 0 (/proc, sampled).
With --btl tcp the ranks talk over TCP (`--mca btl tcp,self`), the path messages take between nodes.
Prints a JSON summary last; exit 1 when a check fails. tests/py/test_sweep_stress.py runs a small case.
"""
import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import h5py
import numpy as np


def session_pids(sid):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().split(b"\0")
        except OSError:
            continue
        if int(f[3]) == sid:
            out.append((int(pid), cmd))
    return out


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_once(a, yml, env, kill_after):
    """One mpirun; kills a random dcn rank once kill_after trials of this run are done (None: no kill)."""
    mpi = ["mpirun", "--oversubscribe", "-n", str(a.ranks)]
    if a.btl == "tcp":
        mpi += ["--mca", "btl", "tcp,self"]
    t0 = time.time()
    p = subprocess.Popen(mpi + [a.dcn, "sweep", yml, "--verbose"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines, peak, killed = [], [0.0], [None]

    def reader():
        for line in p.stderr:
            lines.append(line)
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    while p.poll() is None:
        ranks = [pid for pid, cmd in session_pids(p.pid) if b"sweep" in b" ".join(cmd) and cmd[0].endswith(b"dcn")]
        if ranks:
            peak[0] = max(peak[0], max(rss_mb(x) for x in ranks))
        done = sum(1 for ln in list(lines) if " done: test accuracy" in ln)
        if kill_after is not None and killed[0] is None and done >= kill_after and ranks:
            victim = random.choice(ranks)
            os.kill(victim, signal.SIGKILL)
            killed[0] = victim
        time.sleep(0.05)
    th.join(timeout=10)
    for pid, _ in session_pids(p.pid):  # leftovers of an aborted job
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return dict(rc=p.returncode, wall=time.time() - t0, lines=lines, peak_rank_rss_mb=peak[0], killed=killed[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", type=int, default=64)
    ap.add_argument("--trials", type=int, default=10000)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--btl", choices=["vader", "tcp"], default="vader")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dcn", default=os.environ.get("DCN_BIN", "dcn"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--update-every", type=float, default=5)
    ap.add_argument("--train-limit", type=int, default=64,
                    help="training images per trial (more makes each trial longer, so kills land on a faster machine)")
    a = ap.parse_args()
    random.seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    yml = os.path.join(a.out, "stress.yaml")
    with open(yml, "w") as f:
        f.write(f"output: {a.out}/results.h5\ngraphs: [\"ws:n=8,k=4,p=0.5,seed=1\"]\nvariants: [paper]\n"
                f"seeds: 0..{a.trials - 1}\nepochs: 1\nchannels: 2\nbatch: 16\ntrain_limit: {a.train_limit}\ntest_limit: 64\n"
                f"update_every: {a.update_every}\n")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.pop("OMPI_MCA_btl", None)
    if a.btl == "vader":
        env["OMPI_MCA_btl"] = "self,vader"
    runs, done_ids = [], set()
    for k in range(a.kills + 1):
        # Each killed run gets through a random part of what is left. The ranks go on training until mpirun has
        # aborted the job, so the kill comes early in what is left, or a fast machine finishes before it.
        left = a.trials - len(done_ids)
        kill_after = random.randint(1, max(1, left // (4 * (a.kills - k + 1)))) if k < a.kills else None
        r = run_once(a, yml, env, kill_after)
        runs.append(r)
        done_ids.update(m.group(1) for ln in r["lines"]
                        for m in [re.match(r"\[rank \d+\] trial \d+ (t[0-9a-f]{16}) done", ln)] if m)
        print(f"run {k}: exit {r['rc']}, {r['wall']:.1f}s, killed pid {r['killed']} after {kill_after} trials, "
              f"{sum(1 for ln in r['lines'] if ' done: test accuracy' in ln)} done in this run",
              flush=True)
    fails = []
    last = runs[-1]
    if last["rc"] != 0:
        fails.append(f"the last run exited {last['rc']}: {''.join(last['lines'][-5:])}")
    done_lines = {}
    for r in runs:
        for line in r["lines"]:
            m = re.match(r"\[rank \d+\] trial \d+ (t[0-9a-f]{16}) done", line)
            if m:
                done_lines[m.group(1)] = done_lines.get(m.group(1), 0) + 1
    twice = [i for i, n in done_lines.items() if n > 1]
    if twice:
        fails.append(f"{len(twice)} trials trained to completion twice: {twice[:5]}")
    listing = json.loads(subprocess.run([a.dcn, "sweep", yml, "--dry-run", "--json"], capture_output=True,
                                        text=True, env=env).stdout)["trials"]
    ids = {t["id"] for t in listing}
    no_line = sorted(ids - set(done_lines))
    stray = sorted(set(done_lines) - ids)
    # a SIGKILL between a trial file's rename into place and its "done" line loses that line (the rerun
    # then finds the trial done and skips it): at most one per rank per killed run. Their files are
    # checked below like every other trial's
    may_lose = a.ranks * sum(1 for r in runs if r["killed"])
    if len(ids) != a.trials or len(no_line) > may_lose or stray:
        fails.append(f"{len(ids)} trials listed (want {a.trials}); {len(no_line)} without a \"done\" line "
                     f"{no_line[:5]} (at most {may_lose}: one per rank and kill); {len(stray)} \"done\" lines for ids "
                     f"not in the sweep {stray[:5]}")
    t0 = time.time()
    with h5py.File(os.path.join(a.out, "results.h5"), "r") as f:
        rows = {r["id"].decode(): r for r in f["summary"][:]}
    bad = []
    for t in listing:
        with h5py.File(t["file"], "r") as tf:
            at = tf.attrs
            st = at["status"].decode() if isinstance(at["status"], bytes) else at["status"]
            r = rows.get(t["id"])
            if (st != "done" or r is None or r["status"].decode() != st or r["test_accuracy"] != at["test_accuracy"]
                    or r["epochs_done"] != at["epochs_done"] or r["rank"] != at["rank"]):
                bad.append(t["id"])
    read_s = time.time() - t0
    if bad:
        fails.append(f"{len(bad)} trials not done or disagreeing with their /summary row: {bad[:5]}")
    disp = [ln.strip() for r in runs for ln in r["lines"] if ln.startswith("[sweep] dispatch:")]
    upd = [(int(m.group(1)), float(m.group(2))) for r in runs for ln in r["lines"]
           for m in [re.match(r"\[sweep\] results file: (\d+) rows updated in ([0-9.]+)s", ln)] if m]
    summary = dict(ranks=a.ranks, trials=a.trials, btl=a.btl, kills=a.kills,
                   runs=[dict(rc=r["rc"], wall_s=round(r["wall"], 1), killed=r["killed"],
                              peak_rank_rss_mb=round(r["peak_rank_rss_mb"], 1)) for r in runs],
                   dispatch=disp, updates=len(upd), update_rows_max=max((u[0] for u in upd), default=0),
                   update_seconds_max=max((u[1] for u in upd), default=0.0),
                   update_seconds_mean=float(np.mean([u[1] for u in upd])) if upd else 0.0,
                   done_lines=len(done_lines), done_line_total=sum(done_lines.values()),
                   trials_without_done_line=len(no_line), may_lose_done_lines=may_lose, trained_twice=len(twice), checked_files=len(listing),
                   check_seconds=round(read_s, 1), failures=fails)
    print(json.dumps(summary, indent=1), flush=True)
    for m in fails:
        print("FAIL -", m, flush=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
