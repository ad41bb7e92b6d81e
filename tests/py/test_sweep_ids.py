#!/usr/bin/python3
"""Trial ids are stable: the ids of the project's sweep files (jobs/quickstart.yaml,
analysis/sweeps/*.yaml and tests/reference/sweep_ids_axes.yaml, which varies every axis) must equal
the ones recorded in tests/reference/sweep_ids.txt by dcn before its trial fields moved into one
table. A changed id would make every existing sweep retrain its finished trials.

Also the axes the table added (freeze, agg_init, normalize): they expand like the others, a value at
its default keeps the id of the same trial without the key, others enter the canonical string; bad
values are errors naming the file, line and key; and a trial of the sweep runs with the value (its
trial file records it, checked with h5py). That last part needs MNIST (tests/run.sh fetches it)."""
import json
import os
import subprocess
import sys
import tempfile

import h5py

from sweep_files import trial_file

DCN = os.environ.get("DCN_BIN", "build/dcn")
SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
failures = []

want = {}
with open(os.path.join(SRC, "tests", "reference", "sweep_ids.txt")) as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        path, index, tid = line.split()
        want.setdefault(path, []).append((int(index), tid))

for path, ids in sorted(want.items()):
    r = subprocess.run([DCN, "sweep", os.path.join(SRC, path), "--dry-run", "--json"], capture_output=True,
                       text=True, cwd=SRC)
    if r.returncode != 0:
        failures.append(f"{path}: dcn sweep --dry-run exited {r.returncode}: {r.stderr.strip()[-300:]}")
        continue
    got = [(t["index"], t["id"]) for t in json.loads(r.stdout)["trials"]]
    if got != ids:
        diff = [(w, g) for w, g in zip(ids, got) if w != g][:3]
        failures.append(f"{path}: {len(got)} trials (recorded {len(ids)}); first differences (recorded, now): {diff}")
    else:
        print(f"ok   - {path}: {len(got)} trial ids unchanged", flush=True)


def dry(path):
    r = subprocess.run([DCN, "sweep", path, "--dry-run", "--json"], capture_output=True, text=True)
    return r, (json.loads(r.stdout)["trials"] if r.returncode == 0 else [])


BASE = """output: {out}/results.h5
graphs: ["ws:n=8,k=4,p=0.75,seed=1"]
seeds: [0]
epochs: 1
channels: 2
train_limit: 64
test_limit: 64
"""
with tempfile.TemporaryDirectory(prefix="dcn-sweep-axes-") as tmp:
    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text.format(out=os.path.join(tmp, name[:-5])))
        return path

    _, plain = dry(write("plain.yaml", BASE))
    r, axes = dry(write("axes.yaml", BASE + 'freeze: ["", "stem,nodes,head"]\nagg_init: ["", normal]\n'
                                          'normalize: ["", half]\n'))
    ids = [t["id"] for t in axes]
    default = [t for t in axes if not (t["freeze"] or t["agg_init"] or t["normalize"])]
    ok = (r.returncode == 0 and len(axes) == 8 and len(set(ids)) == 8 and len(default) == 1 and len(plain) == 1
          and default[0]["id"] == plain[0]["id"])
    print(("ok   - " if ok else "FAIL - ") + f"freeze x agg_init x normalize expand to 8 distinct trials, the "
          f"all-default one with the id of the sweep without those keys: {ids} {r.stderr[-300:]}", flush=True)
    if not ok:
        failures.append("new axes expand")
    r2 = subprocess.run([DCN, "sweep", os.path.join(tmp, "axes.yaml"), "--dry-run"], capture_output=True, text=True)
    ok = r2.returncode == 0 and "test_limit=64;normalize=half" in r2.stdout and "agg_init=normal" in r2.stdout
    print(("ok   - " if ok else "FAIL - ") + "non-default values enter the canonical string", flush=True)
    if not ok:
        failures.append("canonical string of the new axes: " + r2.stdout[-400:])
    for name, text, want in (("bad_agg.yaml", BASE + "agg_init: [uniform]\n", "bad_agg.yaml:8: agg_init: 'uniform' "
                              "must be one of zero,normal"),
                             ("bad_freeze.yaml", BASE + "freeze: [bogus]\n", "bad_freeze.yaml:8: freeze: unknown "
                              "freeze group 'bogus'")):
        r3, _ = dry(write(name, text))
        ok = r3.returncode == 1 and want in r3.stderr
        print(("ok   - " if ok else "FAIL - ") + f"{name}: exit {r3.returncode}: {r3.stderr.strip()}", flush=True)
        if not ok:
            failures.append(f"{name}: wanted '{want}'")
    # one trial of the sweep runs with the axis' value
    yml = write("half.yaml", BASE + "normalize: [half]\nagg_init: [normal]\n")
    r4 = subprocess.run([DCN, "sweep", yml, "--quiet"], capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    tid = dry(yml)[1][0]["id"] if r4.returncode == 0 else None
    tfile = trial_file(os.path.join(tmp, "half", "trials"), tid) if tid else ""
    a = {}
    if tid and os.path.exists(tfile):
        with h5py.File(tfile, "r") as f:
            a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    ok = (a.get("status") == "done" and a.get("normalize") == "half" and a.get("agg_init") == "normal"
          and a.get("data_mean") == 0.5 and a.get("data_std") == 1.0)
    print(("ok   - " if ok else "FAIL - ") + f"a sweep trial with normalize: half, agg_init: normal records them "
          f"(status {a.get('status')}, normalize {a.get('normalize')}, agg_init {a.get('agg_init')}, data_mean "
          f"{a.get('data_mean')}) {r4.stderr[-300:]}", flush=True)
    if not ok:
        failures.append("the sweep trial did not run with its axis values")

for m in failures:
    print("FAIL -", m, flush=True)
sys.exit(1 if failures else 0)
