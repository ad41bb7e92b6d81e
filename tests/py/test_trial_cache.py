#!/usr/bin/python3
"""A sweep rank keeps the data set and the graph of its last trial and reuses them (struct
trial_cache, src/train/setup.c). Reuse must not change a result: a one-rank sweep whose trials share
the data set and graph, with an `x - 0.5` trial between two mean/std ones (it changes the data set's
normalisation in place), gives trial files equal bit for bit (every weight, buffer and metric) to the
same trials run alone by `dcn train` (all 4, as `dcn sweep --dry-run` lists them: fewer fails), and
the rank reports the reuse (--verbose). Needs MNIST (tests/run.sh)."""
import os
import re
import subprocess
import sys
import tempfile

import h5py

from sweep_files import trial_file
from trial_compare import trial_differences

DCN = os.environ.get("DCN_BIN", "build/dcn")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
G = "ws:n=8,k=4,p=0.5,seed=1"
failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures.append(what)


with tempfile.TemporaryDirectory(prefix="dcn-cache-", dir=".") as tmp:
    out = os.path.join(tmp, "s")
    yml = os.path.join(tmp, "s.yaml")
    with open(yml, "w") as f:
        f.write(f"output: {out}/results.h5\ngraphs: [\"{G}\"]\nvariants: [paper]\nseeds: 0..1\n"
                "normalize: [\"\", half]\nepochs: 1\nchannels: 2\nbatch: 16\ntrain_limit: 64\ntest_limit: 64\n")
    r = subprocess.run([DCN, "sweep", yml, "--verbose"], capture_output=True, text=True, env=ENV, timeout=300)
    m = re.search(r"data set and graph reused for (\d+) trials, loaded for (\d+)", r.stderr)
    check(r.returncode == 0 and m and int(m.group(1)) == 3 and int(m.group(2)) == 1,
          f"4 trials on one rank: data set and graph loaded once, reused 3 times ({m.group(0) if m else r.stderr[-300:]})")
    listing = subprocess.run([DCN, "sweep", yml, "--dry-run"], capture_output=True, text=True, env=ENV).stdout
    rows = [ln.split() for ln in listing.splitlines() if len(ln.split()) == 4 and ln.split()[0].isdigit()]
    # the comparison below runs once per row: a listing this parser no longer reads must fail, not pass empty
    confs = [dict(p.split("=", 1) for p in r[3].split(";")) for r in rows]
    kinds = sorted((c.get("seed"), c.get("normalize", "")) for c in confs)
    check(kinds == [("0", ""), ("0", "half"), ("1", ""), ("1", "half")] and len({r[1] for r in rows}) == 4,
          f"dcn sweep --dry-run lists the 4 trials (seed, normalize): {kinds}; listing: {listing[-300:]!r}")
    for _, tid, _, conf in rows:
        kv = dict(p.split("=", 1) for p in conf.split(";"))
        alone = os.path.join(tmp, tid + ".h5")
        cmd = [DCN, "train", "--graph", G, "--seed", kv["seed"], "--epochs", "1", "--channels", "2", "--batch", "16",
               "--train-limit", "64", "--test-limit", "64", "--out", alone, "--quiet"]
        if kv.get("normalize"):
            cmd += ["--normalize", kv["normalize"]]
        t = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
        swept = trial_file(os.path.join(out, "trials"), tid)
        diffs = trial_differences(swept, alone) if t.returncode == 0 and os.path.exists(swept) else [t.stderr[-300:]]
        with h5py.File(swept, "r") as h:
            mean = float(h.attrs["data_mean"])
        want_half = kv.get("normalize") == "half"
        check(not diffs and (mean == 0.5) == want_half,
              f"{tid} ({conf.split(';', 1)[0][:0]}seed {kv['seed']}, normalize {kv.get('normalize', 'meanstd')}, "
              f"data_mean {mean:.4f}) equals the same trial run alone {diffs[:3]}")

for f in failures:
    print("FAIL -", f, flush=True)
sys.exit(1 if failures else 0)
