#!/usr/bin/python3
"""The small version of tests/bench/sweep_stress.py that CI affords: 8 oversubscribed ranks over 300
tiny trials with 2 SIGKILLs of random ranks (shared memory), and 4 ranks over 60 trials with one kill
over TCP (`--mca btl tcp,self`). Each ends with every trial done exactly once: every trial file read
with h5py agrees with its /summary row, and the runs' logs hold at most one "done" line for each trial
id of the sweep and none for another; a trial may lack its line only when a SIGKILL landed between its
file's rename and the line (at most one per rank and kill; seen once in about 20 kills). The
kills must really have happened (the killed runs exit non-zero). mpirun takes about 2.5 s here to abort a job
after a rank's death while the other ranks go on training, so each trial must last long enough that the
sweep is not over inside that window (with 64 images, 2.5 ms a trial, a machine twice as fast as this one
finished it before the next kill): the test times one trial first and gives each about 60 ms of training
(about 1,900 images in the optimised build here, 64 under the sanitizers).
Needs MNIST (tests/run.sh)."""
import json
import os
import subprocess
import sys
import tempfile

import sweep_files as sf

SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DCN = os.environ.get("DCN_BIN", "build/dcn")
failures = []

# one trial's training rate on this machine and build, to size the trials
rate, train_limit = sf.train_limit_for(DCN, 0.06, hi=4096)
print(f"training rate {rate:.0f} images/s: {train_limit} training images a trial", flush=True)

with tempfile.TemporaryDirectory(prefix="dcn-stress-", dir=".") as tmp:
    for ranks, trials, kills, btl in ((8, 300, 2, "vader"), (4, 60, 1, "tcp")):
        out = os.path.join(tmp, f"{btl}")
        r = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "tests", "bench", "sweep_stress.py"), "--ranks",
                            str(ranks), "--trials", str(trials), "--kills", str(kills), "--btl", btl, "--out", out,
                            "--dcn", DCN, "--update-every", "1", "--train-limit", str(train_limit)], capture_output=True, text=True, timeout=900)
        print(r.stdout[-3000:], r.stderr[-2000:], flush=True)
        try:
            s = json.loads(r.stdout[r.stdout.index("\n{") + 1:r.stdout.rindex("}") + 1])
        except ValueError:
            s = {}
        killed = [x for x in s.get("runs", [])[:-1] if x["killed"] and x["rc"] != 0]
        ok = (r.returncode == 0 and s.get("trained_twice") == 0 and s.get("checked_files") == trials
              and s.get("done_lines") == s.get("done_line_total")
              and s.get("done_lines", 0) + s.get("trials_without_done_line", trials) == trials
              and s.get("trials_without_done_line", trials) <= s.get("may_lose_done_lines", 0)
              and len(killed) == kills and s["runs"][-1]["rc"] == 0)
        print(("ok   - " if ok else "FAIL - ") + f"{ranks} ranks ({btl}), {trials} trials, {kills} SIGKILLs: "
              f"{len(killed)} runs killed, every trial done exactly once ({s.get('done_line_total')} \"done\" lines "
              f"for {s.get('done_lines')} trial ids)", flush=True)
        if not ok:
            failures.append(btl)
sys.exit(1 if failures else 0)
