#!/usr/bin/python3
"""Checks a finished dcn sweep with h5py, for the SLURM tests (tests/sh/test_slurm.sh):
every trial of the sweep (as `dcn sweep --dry-run --json` lists it) appears exactly once in the
aggregate results file, with status done, its own trial file done, and no checkpoint or temporary
file left behind.

    check_results.py DCN SWEEP.yaml LABEL [--ranks 0,1] [--min-resumed N]

Prints one "ok   - LABEL: ..." or "FAIL - LABEL: ..." line per check; the exit status is the number
of failed checks."""
import argparse
import glob
import json
import os
import subprocess
import sys

import h5py

fails = 0


def check(label, cond, msg):
    global fails
    print(("ok   - " if cond else "FAIL - ") + f"{label}: {msg}", flush=True)
    fails += 0 if cond else 1


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dcn")
    ap.add_argument("sweep")
    ap.add_argument("label")
    ap.add_argument("--ranks", help="comma-separated MPI ranks that must appear in the summary")
    ap.add_argument("--min-resumed", type=int, default=0, help="trials that must have resumed from a checkpoint")
    a = ap.parse_args()
    L = a.label
    listing = json.loads(subprocess.run([a.dcn, "sweep", a.sweep, "--dry-run", "--json"], check=True,
                                        capture_output=True, text=True).stdout)
    ids = [t["id"] for t in listing["trials"]]
    n = listing["count"]
    check(L, n == len(ids) and n > 0 and len(set(ids)) == n, f"{n} trials with unique ids in the dry run")
    check(L, listing["done"] == n, f"dry run: {listing['done']}/{n} done, {listing['running']} running, "
                                   f"{listing['pending']} pending, {listing['failed']} failed")
    res = listing["output"]
    if not os.path.isfile(res):
        check(L, False, f"no results file {res}")
        return
    with h5py.File(res, "r") as f:
        s = f["summary"][:]
        sid = [text(x) for x in s["id"]]
        check(L, len(s) == n, f"summary has {len(s)} rows (want {n})")
        check(L, sorted(sid) == sorted(ids), "summary ids are the sweep's ids, each exactly once")
        status = [text(x) for x in s["status"]]
        check(L, all(x == "done" for x in status), f"every summary row is done: {sorted(set(status))}")
        counts = {k: int(f.attrs[k]) for k in ("done", "failed", "running", "pending")}
        check(L, counts == {"done": n, "failed": 0, "running": 0, "pending": 0}, f"root counts {counts}")
        check(L, sorted(f["trials"].keys()) == sorted(ids), "one /trials group per trial")
        bad = [i for i in ids if "metrics/test_accuracy" not in f["trials"][i]]
        check(L, not bad, f"metrics copied for every trial (missing: {bad[:3]})")
        if a.ranks:
            want = {int(r) for r in a.ranks.split(",")}
            got = {int(r) for r in s["rank"]}
            check(L, got == want, f"trials trained by ranks {sorted(got)} (want {sorted(want)})")
    tdir = listing["trials_dir"]
    resumed = 0
    for i in ids:
        p = os.path.join(tdir, i + ".h5")
        if not os.path.isfile(p):
            check(L, False, f"trial file {p} missing")
            continue
        with h5py.File(p, "r") as t:
            if text(t.attrs["status"]) != "done":
                check(L, False, f"trial file {p} has status {text(t.attrs['status'])}")
            if int(t.attrs.get("resumed_epoch", -1)) >= 0:
                resumed += 1
    check(L, resumed >= a.min_resumed, f"{resumed} trial(s) resumed from a checkpoint (want >= {a.min_resumed})")
    left = glob.glob(os.path.join(tdir, "*.ckpt.h5")) + glob.glob(os.path.join(tdir, "*.tmp"))
    check(L, not left, f"no checkpoint or temporary file left ({[os.path.basename(x) for x in left][:4]})")


if __name__ == "__main__":
    main()
    sys.exit(min(fails, 100))
