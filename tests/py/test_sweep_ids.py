#!/usr/bin/python3
"""Trial ids are stable: the ids of the project's sweep files (jobs/quickstart.yaml,
analysis/sweeps/*.yaml and tests/reference/sweep_ids_axes.yaml, which varies every axis) must equal
the ones recorded in tests/reference/sweep_ids.txt by dcn before its trial fields moved into one
table. A changed id would make every existing sweep retrain its finished trials."""
import json
import os
import subprocess
import sys

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

for m in failures:
    print("FAIL -", m, flush=True)
sys.exit(1 if failures else 0)
