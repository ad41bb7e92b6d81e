#!/usr/bin/python3
"""The cost of a sweep's results file at 10^4-10^5 trials, for one or two dcn builds side by side.

    results_scale.py --trials 100000 --out DIR --dcn NEW [--old OLD] [--retrain 200]

Makes a sweep of TRIALS tiny trials whose files all exist: one trial is trained for real and its file
is copied to every other trial's place (the merge reads each file's attributes, so the copies cost
what real files cost). Then, for each build:
- `dcn sweep --merge`: wall time and peak RSS (a full rebuild from every trial file);
- a running sweep: RETRAIN trial files are removed and `dcn sweep --verbose` trains them again with
  update_every 5, so rank 0 updates results.h5 several times; the updater's lines give rows and
  seconds per update, and the run's peak RSS. The old build rewrites the whole file every minute.
Prints one JSON object. The trial files go to DIR/trials (about 40 KB each).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time


def run_measured(cmd, env):
    """(exit status, wall seconds, peak RSS MB of the process, stderr) via /usr/bin/time."""
    t0 = time.time()
    r = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M"] + cmd, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    m = re.search(r"MAXRSS (\d+)", r.stderr)
    return r.returncode, wall, int(m.group(1)) / 1024 if m else -1, r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=10000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dcn", required=True, help="the build to measure")
    ap.add_argument("--old", help="an earlier build, measured on the same files")
    ap.add_argument("--retrain", type=int, default=200)
    a = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    os.makedirs(a.out, exist_ok=True)
    res = {"trials": a.trials}
    for label, dcn in (("new", a.dcn), ("old", a.old)):
        if not dcn:
            continue
        d = os.path.join(a.out, label)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        yml = os.path.join(d, "scale.yaml")
        with open(yml, "w") as f:
            f.write(f"output: {d}/results.h5\ngraphs: [\"ws:n=8,k=4,p=0.5,seed=1\"]\nvariants: [paper]\n"
                    f"seeds: 0..{a.trials - 1}\nepochs: 1\nchannels: 2\nbatch: 16\ntrain_limit: 64\ntest_limit: 64\n"
                    + ("update_every: 5\n" if label == "new" else ""))  # the old build knows no such key
        listing = json.loads(subprocess.run([dcn, "sweep", yml, "--dry-run", "--json"], env=env,
                                            capture_output=True, text=True).stdout)["trials"]
        files = [t.get("file") or os.path.join(d, "trials", t["id"] + ".h5") for t in listing]
        # one real trial, copied everywhere
        one = os.path.join(d, "one.yaml")
        with open(yml) as f:
            text = f.read().replace(f"seeds: 0..{a.trials - 1}", "seeds: [0]").replace(f"{d}/results.h5",
                                                                                       f"{d}/one/results.h5")
        with open(one, "w") as f:
            f.write(text)
        subprocess.run([dcn, "sweep", one, "--quiet"], env=env, check=True)
        tmpl = json.loads(subprocess.run([dcn, "sweep", one, "--dry-run", "--json"], env=env, capture_output=True,
                                         text=True).stdout)["trials"][0]
        src = tmpl.get("file") or os.path.join(d, "one", "trials", tmpl["id"] + ".h5")
        t0 = time.time()
        for p in files:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            shutil.copyfile(src, p)
        copy_s = time.time() - t0
        rc, wall, rss, err = run_measured([dcn, "sweep", yml, "--merge"], env)
        r = {"merge_rc": rc, "merge_s": round(wall, 2), "merge_peak_rss_mb": round(rss, 1),
             "results_mb": round(os.path.getsize(os.path.join(d, "results.h5")) / 2**20, 1),
             "copy_files_s": round(copy_s, 1)}
        for p in files[:a.retrain]:
            os.remove(p)
        rc, wall, rss, err = run_measured([dcn, "sweep", yml, "--verbose"], env)
        ups = [(int(m.group(1)), float(m.group(2)), float(m.group(3) or -1))
               for m in re.finditer(r"results file: (\d+) rows updated in ([0-9.]+)s(?:, peak RSS ([0-9.]+) MiB)?", err)]
        r.update(run_rc=rc, run_s=round(wall, 2), run_peak_rss_mb=round(rss, 1), updates=len(ups),
                 update_s=[u[1] for u in ups], update_rows=[u[0] for u in ups],
                 updater_peak_rss_mib=[u[2] for u in ups])
        res[label] = r
        print(json.dumps({label: r}), flush=True)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
