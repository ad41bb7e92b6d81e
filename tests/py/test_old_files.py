#!/usr/bin/python3
"""Files written before the trial fields moved into one table are still read: tests/reference/old-format/
holds a two-trial sweep (paper and baseline, WS n=6, 2 channels, 256 MNIST images) written by dcn at
commit 71379c3 (old.yaml says how). This dcn must
- list both trials as done under their old ids (`dcn sweep --dry-run --json`);
- report from the old results.h5 the accuracies h5py reads in it (`dcn report --json`);
- rebuild results.h5 from the old trial files (`dcn sweep --merge`) with the same /summary values;
- rebuild each old trial's model from its attributes: `dcn eval` on the same 128 test images gives
  the test accuracy and loss the old dcn recorded at the end of training.
Needs MNIST (tests/run.sh fetches it)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

DCN = os.environ.get("DCN_BIN", "build/dcn")
SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
failures = []


def check(cond, msg):
    print(("ok   - " if cond else "FAIL - ") + msg, flush=True)
    if not cond:
        failures.append(msg)


def run(*args):
    return subprocess.run([DCN, *args], capture_output=True, text=True, env=ENV, timeout=300)


tmp = tempfile.mkdtemp(prefix="dcn-old-files-")
try:
    shutil.copytree(os.path.join(SRC, "tests", "reference", "old-format"), os.path.join(tmp, "old"))
    os.makedirs(os.path.join(tmp, "old", "old-sweep"))
    os.rename(os.path.join(tmp, "old", "trials"), os.path.join(tmp, "old", "old-sweep", "trials"))
    os.rename(os.path.join(tmp, "old", "results.h5"), os.path.join(tmp, "old", "old-sweep", "results.h5"))
    os.chdir(os.path.join(tmp, "old"))
    with h5py.File("old-sweep/results.h5", "r") as f:
        old = f["summary"][:]
    ids = sorted(x.decode() for x in old["id"])

    r = run("sweep", "old.yaml", "--dry-run", "--json")
    listed = json.loads(r.stdout)["trials"] if r.returncode == 0 else []
    check(sorted(t["id"] for t in listed) == ids and all(t["state"] == "done" for t in listed),
          f"both old trials listed as done under their ids {ids}: {[(t['id'], t['state']) for t in listed]} {r.stderr[-300:]}")

    r = run("report", "old-sweep/results.h5", "--json")
    check(r.returncode == 0, f"dcn report reads the old results.h5 (exit {r.returncode}: {r.stderr[-300:]})")
    if r.returncode == 0:
        rep = json.loads(r.stdout)
        means = sorted(g["mean"] for g in rep["groups"])
        want = sorted(100 * float(a) for a in old["test_accuracy"])
        check(np.allclose(means, want, rtol=0, atol=1e-9), f"report group means {means} == old /summary {want}")

    r = run("sweep", "old.yaml", "--merge")
    check(r.returncode == 0, f"dcn sweep --merge over the old trial files (exit {r.returncode}: {r.stderr[-300:]})")
    with h5py.File("old-sweep/results.h5", "r") as f:
        new = f["summary"][:]
    for col in ("id", "graph", "variant", "frozen", "seed", "epochs", "channels", "status", "test_accuracy"):
        a = sorted(old[col].tolist())
        b = sorted(new[col].tolist())
        check(a == b, f"merged /summary column {col}: {b} == old {a}")

    for tid in ids:
        path = f"old-sweep/trials/{tid}.h5"
        with h5py.File(path, "r") as f:
            acc, loss = float(f.attrs["test_accuracy"]), float(f.attrs["test_loss"])
        r = run("eval", path, "--dataset", "mnist", "--test-limit", "128", "--json")
        if r.returncode != 0:
            check(False, f"dcn eval {tid} (exit {r.returncode}: {r.stderr[-300:]})")
            continue
        e = json.loads(r.stdout)
        check(abs(e["test_accuracy"] - acc) < 1e-6 and abs(e["test_loss"] - loss) < 1e-5,  # JSON has 6 decimals
              f"dcn eval {tid}: accuracy {e['test_accuracy']:.6f} loss {e['test_loss']:.6f} == recorded {acc:.6f} {loss:.6f}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

sys.exit(1 if failures else 0)
