#!/usr/bin/python3
"""Where a sweep puts its trial files (README "dcn sweep"): trials/<ab>/<id>.h5 with <ab> the id's
first two hex digits, so no folder grows past a few thousand entries; `--dry-run --json` names each
trial's file. A sweep whose trials folder holds files of the flat layout of earlier dcn versions
(trials/<id>.h5) keeps that layout: its finished trials are not trained again, new trials of the same
sweep go beside them, and the merge lists them all. Needs MNIST in the data folder (tests/run.sh).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py

DCN = os.environ.get("DCN_BIN", "build/dcn")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures.append(what)


def sweep_file(path, out, seeds):
    with open(path, "w") as f:
        f.write(f"output: {out}/results.h5\ngraphs: [\"ws:n=8,k=4,p=0.5,seed=1\"]\nvariants: [paper]\n"
                f"seeds: {seeds}\nepochs: 1\nchannels: 2\nbatch: 16\ntrain_limit: 64\ntest_limit: 64\n")


def listing(path):
    r = subprocess.run([DCN, "sweep", path, "--dry-run", "--json"], capture_output=True, text=True, env=ENV)
    return json.loads(r.stdout)["trials"] if r.returncode == 0 else []


def end_time(path):
    with h5py.File(path, "r") as f:
        v = f.attrs["end_time"]
    return v.decode() if isinstance(v, bytes) else v


with tempfile.TemporaryDirectory(prefix="dcn-layout-", dir=".") as tmp:
    tmp = os.path.abspath(tmp)
    out = os.path.join(tmp, "fan")
    yml = os.path.join(tmp, "fan.yaml")
    sweep_file(yml, out, "0..2")
    r = subprocess.run([DCN, "sweep", yml, "--quiet"], capture_output=True, text=True, env=ENV, timeout=300)
    trials = listing(yml)
    want = [os.path.join(out, "trials", t["id"][1:3], t["id"] + ".h5") for t in trials]
    check(r.returncode == 0 and len(trials) == 3 and [t["file"] for t in trials] == want
          and all(os.path.exists(w) for w in want) and all(t["state"] == "done" for t in trials),
          f"trial files at trials/<ab>/<id>.h5, as --dry-run --json names them {r.stderr[-300:]}")
    check(not [n for n in os.listdir(os.path.join(out, "trials")) if n.endswith(".h5")],
          "no trial file directly in trials/")

    # the flat layout of earlier versions: move the files up, then grow the sweep
    for w in want:
        shutil.move(w, os.path.join(out, "trials", os.path.basename(w)))
        os.rmdir(os.path.dirname(w))
    ends = {t["id"]: end_time(os.path.join(out, "trials", t["id"] + ".h5")) for t in trials}
    sweep_file(yml, out, "0..4")
    grown = listing(yml)
    flat = [os.path.join(out, "trials", t["id"] + ".h5") for t in grown]
    check([t["file"] for t in grown] == flat and sum(t["state"] == "done" for t in grown) == 3,
          "a flat trials folder keeps the flat layout, its 3 trials done")
    r = subprocess.run([DCN, "sweep", yml], capture_output=True, text=True, env=ENV, timeout=300)
    check(r.returncode == 0 and "3 already done, 2 to run" in r.stderr, f"the rerun trains only the 2 new trials: "
          f"{r.stderr[-400:]}")
    check(all(os.path.exists(p) for p in flat) and all(end_time(os.path.join(out, "trials", i + ".h5")) == e
                                                       for i, e in ends.items()),
          "new trials written flat beside the old ones, which were not touched")
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        st = [s.decode() for s in f["summary"]["status"]]
    check(st == ["done"] * 5, f"the merge lists all 5 done: {st}")

for m in failures:
    print("FAIL -", m, flush=True)
sys.exit(1 if failures else 0)
