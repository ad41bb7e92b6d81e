#!/usr/bin/python3
"""Checks a finished dcn sweep with h5py, for the SLURM tests (tests/sh/test_slurm.sh):
every trial of the sweep (as `dcn sweep --dry-run --json` lists it) appears exactly once in the
aggregate results file, with status done, its own trial file done, and no checkpoint or temporary
file left behind.

    check_results.py DCN SWEEP.yaml LABEL [--ranks 0,1] [--min-resumed N] [--before DIR] [--same-as REF.yaml]

--min-resumed N: at least N trial files record a resume from a checkpoint taken after some training
(resumed_epoch >= 0 and a resumed_epoch or resumed_step above 0).
--before DIR: DIR holds copies of the trial files that were done before an interruption; each must
still be done with the same end_time and start_time (a rerun skips finished trials, it does not
train them again).
--same-as REF.yaml: the same sweep run once without interruption into another folder; for every
trial id, every /weights and /buffers dataset, every /metrics dataset but the wall-clock `seconds`,
/dag and the final accuracy attributes must be exactly equal (np.array_equal) in both trial files.

Prints one "ok   - LABEL: ..." or "FAIL - LABEL: ..." line per check; the exit status is the number
of failed checks."""
import argparse
import glob
import json
import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py"))
from sweep_files import trial_file, trial_files  # noqa: E402

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
    ap.add_argument("--before", help="copies of the trial files done before the interruption")
    ap.add_argument("--same-as", help="sweep file of the same sweep run without interruption")
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
        p = trial_file(tdir, i)
        if not os.path.isfile(p):
            check(L, False, f"trial file {p} missing")
            continue
        with h5py.File(p, "r") as t:
            if text(t.attrs["status"]) != "done":
                check(L, False, f"trial file {p} has status {text(t.attrs['status'])}")
            re, rs = int(t.attrs.get("resumed_epoch", -1)), int(t.attrs.get("resumed_step", -1))
            if re >= 0 and (re > 0 or rs > 0):
                resumed += 1
    check(L, resumed >= a.min_resumed, f"{resumed} trial(s) resumed from a checkpoint (want >= {a.min_resumed})")
    left = trial_files(tdir, "*.ckpt.h5") + trial_files(tdir, "*.tmp")
    check(L, not left, f"no checkpoint or temporary file left ({[os.path.basename(x) for x in left][:4]})")
    if a.before:
        check_before(L, a.before, tdir, ids)
    if a.same_as:
        check_same(L, a.dcn, a.same_as, tdir, ids)


def check_before(L, before, tdir, ids):
    """The trial files done before the interruption are untouched by the rerun."""
    snaps = sorted(glob.glob(os.path.join(before, "*.h5")))
    done = 0
    for p in snaps:
        i = os.path.basename(p)[:-3]
        with h5py.File(p, "r") as b:
            if text(b.attrs["status"]) != "done":
                continue
            done += 1
            old = {k: text(b.attrs[k]) for k in ("end_time", "start_time")}
        q = trial_file(tdir, i)
        if i not in ids or not os.path.isfile(q):
            check(L, False, f"trial {i}, done before the interruption, is not a trial of the sweep or has no file")
            continue
        with h5py.File(q, "r") as t:
            new = {k: text(t.attrs[k]) for k in ("end_time", "start_time")}
            st = text(t.attrs["status"])
        check(L, new == old and st == "done",
              f"trial {i}, done before the interruption, not trained again: status {st}, "
              f"end_time {old['end_time']} -> {new['end_time']}, start_time {old['start_time']} -> {new['start_time']}")
    check(L, done >= 1, f"{done} trial(s) were done before the interruption (want >= 1)")


def datasets(g):
    out = {}
    g.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def check_same(L, dcn, ref_sweep, tdir, ids):
    """Every trial equals the same trial of an uninterrupted run of the same sweep, bit for bit."""
    ref = json.loads(subprocess.run([dcn, "sweep", ref_sweep, "--dry-run", "--json"], check=True,
                                    capture_output=True, text=True).stdout)
    rids = [t["id"] for t in ref["trials"]]
    check(L, sorted(rids) == sorted(ids),
          f"the uninterrupted run has the same trial ids (only there: {sorted(set(rids) - set(ids))[:3]}, "
          f"only here: {sorted(set(ids) - set(rids))[:3]})")
    check(L, ref["done"] == ref["count"], f"uninterrupted run: {ref['done']}/{ref['count']} done")
    rdir = ref["trials_dir"]
    for i in ids:
        p, q = trial_file(tdir, i), trial_file(rdir, i)
        if not (os.path.isfile(p) and os.path.isfile(q)):
            check(L, False, f"trial {i}: no file {p if not os.path.isfile(p) else q} to compare")
            continue
        with h5py.File(p, "r") as t, h5py.File(q, "r") as r:
            if int(r.attrs.get("resumed_epoch", -1)) != -1:
                check(L, False, f"trial {i} of the uninterrupted run was resumed (resumed_epoch "
                                f"{int(r.attrs['resumed_epoch'])})")
            bad, n = [], 0
            for grp in ("weights", "buffers", "metrics", "dag"):
                a, b = datasets(t[grp]) if grp in t else {}, datasets(r[grp]) if grp in r else {}
                if sorted(a) != sorted(b):
                    bad.append(f"{grp}: datasets {sorted(set(a) ^ set(b))[:3]} in one file only")
                for k in sorted(set(a) & set(b)):
                    if grp == "metrics" and k == "seconds":
                        continue  # wall-clock time of each epoch
                    x, y = a[k][()], b[k][()]
                    n += 1
                    if x.dtype != y.dtype or not np.array_equal(x, y):
                        d = (f"max |diff| {np.max(np.abs(x.astype(np.float64) - y.astype(np.float64))):.3g}"
                             if x.shape == y.shape and x.dtype.kind in "fiu" else f"shape {x.shape} vs {y.shape}")
                        bad.append(f"{grp}/{k} differs ({d})")
            for k in ("test_accuracy", "test_loss", "best_test_accuracy", "best_epoch", "epochs_done"):
                n += 1
                if t.attrs[k] != r.attrs[k]:
                    bad.append(f"attribute {k}: {t.attrs[k]} vs {r.attrs[k]}")
            re = int(t.attrs.get("resumed_epoch", -1))
        groups = sorted({b.split("/")[0].split(":")[0].split(" ")[0] for b in bad})
        check(L, not bad, f"trial {i}{' (resumed)' if re >= 0 else ''}: {n} datasets and attributes equal to the "
                          f"uninterrupted run's" + (f": {len(bad)} differ ({', '.join(groups)}), e.g. "
                                                   f"{'; '.join(bad[:3])}" if bad else ""))


if __name__ == "__main__":
    main()
    sys.exit(min(fails, 100))
