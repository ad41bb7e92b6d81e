#!/usr/bin/python3
"""`dcn report` checked against numpy/scipy computed here from the per-trial files.

A real sweep (mpirun -n 2; 2 graphs x frozen/trainable x 3 weight seeds x 2 order seeds + baseline, each
at two learning rates, one of them 1e30 so that some trials end with status=failed and a NaN reason) is
run in two steps:
- partial: only shard 0/3, plus a fake temporary trial file so that one trial shows as running; the
  report must count done / failed / running / pending per group and compute statistics over the done
  trials only;
- complete: the rest of the sweep; every statistic of --json and --csv (mean, sample sd, median,
  quartiles with numpy's linear interpolation, min, max, 95% CI with scipy.stats.t.ppf, best-epoch mean,
  counts) must match the values computed from the trial files;
then --plots writes every expected PNG/SVG/Markdown file, and bad inputs exit 1 naming the file.
Environment (ctest): DCN_BIN, DCN_SOURCE_DIR; MNIST in the data folder (tests/run.sh fetches it).
"""
import csv
import io
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from scipy import stats as sst

from sweep_files import trial_file, trial_files

DCN = os.environ.get("DCN_BIN", "build/dcn")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
MPIRUN = ["mpirun", "-n", "2", "--oversubscribe"]
KEYS = ["graph", "dataset", "variant", "frozen", "lr"]  # the default grouping when lr varies
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)
    return cond


def close(a, b, what, tol=1e-9):
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return check((a is None or (isinstance(a, float) and math.isnan(a))) and
                     (b is None or (isinstance(b, float) and math.isnan(b))), f"{what}: dcn {a} vs expected {b}")
    return check(abs(a - b) <= tol * max(1.0, abs(b)), f"{what}: dcn {a!r} vs expected {b!r}")


def run(args, expect=0):
    r = subprocess.run([DCN] + args, env=ENV, capture_output=True, text=True, timeout=300)
    if r.returncode != expect:
        print("command:", [DCN] + args, "rc", r.returncode, "\nstdout:", r.stdout[-3000:], "\nstderr:", r.stderr[-3000:])
        if "unknown command 'report'" in r.stderr:
            print("'dcn report' is not registered in src/cli/main.c's command table yet")
            sys.exit(1)
    return r


def sweep(yml, *extra):
    r = subprocess.run(MPIRUN + [DCN, "sweep", yml, "--quiet"] + list(extra), env=ENV, capture_output=True,
                       text=True, timeout=600)
    # a sweep with failed trials still exits 0 (it reports them); anything else is a broken fixture
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        sys.exit(1)


def key_of(a):
    lr = float(a["lr"])
    return (a["graph"], a["dataset"], a["variant"], bool(a["frozen"]), lr)


def expected(out):
    """Groups computed from the per-trial files (and the sweep's dry-run list for unfinished trials)."""
    listing = json.loads(run(["sweep", os.path.join(out, "..", "report.yaml"), "--dry-run", "--json"]).stdout)
    groups = {}
    for t in listing["trials"]:
        k = (t["graph"], t["dataset"], t["variant"], bool(t["frozen"]), float(t["lr"]))
        g = groups.setdefault(k, dict(trials=0, done=0, failed=0, running=0, pending=0, acc=[], best=[], order=t["index"]))
        g["trials"] += 1
        f = trial_file(os.path.join(out, "trials"), t["id"])
        if os.path.exists(f):
            with h5py.File(f, "r") as h:
                a = {k2: (v.decode() if isinstance(v, bytes) else v) for k2, v in h.attrs.items()}
                check(key_of(a) == k, f"trial file {t['id']} has the listed configuration")
                if a["status"] == "done":
                    g["done"] += 1
                    acc = h["metrics/test_accuracy"][:]
                    check(abs(acc[-1] - a["test_accuracy"]) < 1e-12, "final accuracy is the last epoch's")
                    g["acc"].append(100 * float(a["test_accuracy"]))
                    g["best"].append(100 * float(np.max(acc)))
                elif a["status"] == "failed":
                    g["failed"] += 1
                    check(len(a["reason"]) > 0, f"failed trial {t['id']} has a reason")
                else:
                    g["running"] += 1
        elif os.path.exists(f + ".tmp") or os.path.exists(trial_file(os.path.join(out, "trials"), t["id"], ".ckpt.h5")):
            g["running"] += 1
        else:
            g["pending"] += 1
    for g in groups.values():
        x = np.array(g["acc"])
        n = len(x)
        g["n"] = n
        g["mean"] = x.mean() if n else None
        g["sd"] = x.std(ddof=1) if n > 1 else None
        g["median"] = np.quantile(x, 0.5) if n else None
        g["q1"] = np.quantile(x, 0.25) if n else None
        g["q3"] = np.quantile(x, 0.75) if n else None
        g["min"] = x.min() if n else None
        g["max"] = x.max() if n else None
        g["t975"] = sst.t.ppf(0.975, n - 1) if n > 1 else None
        # the logit t-interval (include/dcn/report.h), computed here with numpy and scipy
        if n > 1:
            p = np.clip(x / 100, 5e-5, 1 - 5e-5)
            y = np.log(p / (1 - p))
            half = g["t975"] * y.std(ddof=1) / math.sqrt(n)
            g["ci_low"] = 100 / (1 + math.exp(-(y.mean() - half)))
            g["ci_high"] = 100 / (1 + math.exp(-(y.mean() + half)))
        else:
            g["ci_low"] = g["ci_high"] = None
        g["best_mean"] = float(np.mean(g["best"])) if n else None
    return groups


STATS = ["mean", "sd", "median", "q1", "q3", "min", "max", "t975", "ci_low", "ci_high", "best_mean"]
COUNTS = ["trials", "done", "failed", "running", "pending", "n"]


def compare(report_groups, exp, label):
    got = {}
    for g in report_groups:
        got[(g["graph"], g["dataset"], g["variant"], bool(g["frozen"]), float(g["lr"]))] = g
    check(sorted(got) == sorted(exp), f"{label}: groups {sorted(got)} vs {sorted(exp)}")
    order = [k for k, _ in sorted(exp.items(), key=lambda kv: kv[1]["order"])]
    check([(g["graph"], g["dataset"], g["variant"], bool(g["frozen"]), float(g["lr"])) for g in report_groups] == order,
          f"{label}: groups in the order of their first trial")
    for k, e in exp.items():
        g = got.get(k)
        if g is None:
            continue
        for c in COUNTS:
            check(g[c] == e[c], f"{label} {k}: {c} {g[c]} vs {e[c]}")
        for s in STATS:
            # scipy 1.10's t.ppf (cephes stdtrit) is accurate to about 4e-10 relative at 0.975 (dcn's is
            # within 1e-15 of mpmath; tests/test_report.c checks that), hence the looser bound there
            close(g[s], e[s], f"{label} {k}: {s}", tol=1e-8 if s in ("t975", "ci_low", "ci_high") else 1e-10)


def parse_csv(text):
    rows = list(csv.DictReader(io.StringIO(text)))
    out = []
    for r in rows:
        g = dict(graph=r["graph"], dataset=r["dataset"], variant=r["variant"], frozen=r["frozen"] == "true",
                 lr=float(r["lr"]))
        for c in COUNTS:
            g[c] = int(r[c])
        for s in STATS:
            g[s] = float(r[s]) if r[s] != "" else None
        out.append(g)
    return out


def test_partial_and_complete(tmp):
    out = os.path.join(tmp, "sweep")
    yml = os.path.join(tmp, "report.yaml")
    with open(yml, "w") as f:
        f.write(f"""output: {out}/results.h5
graphs: ["ws:n=8,k=4,p=0.75,seed=1", "er:n=10,p=0.4,seed=2"]
variants: [paper, baseline]
frozen: [false, true]
seeds: 0..2
order_seeds: 0..1
lr: [0.003, 1e30]
epochs: 3
channels: 4
train_limit: 480
test_limit: 200
""")
    # ---- partial: one shard of three, and one trial that looks interrupted (its temporary file)
    sweep(yml, "--shard", "0/3")
    listing = json.loads(run(["sweep", yml, "--dry-run", "--json"]).stdout)
    pending = [t for t in listing["trials"] if t["state"] == "pending"]
    fake = trial_file(os.path.join(out, "trials"), pending[0]["id"], ".h5.tmp")
    os.makedirs(os.path.dirname(fake), exist_ok=True)
    open(fake, "w").close()
    r = run(["sweep", yml, "--merge"])
    if not check(r.returncode == 0, f"dcn sweep --merge on a partial sweep exits 0, got {r.returncode}: {r.stderr[-1000:]}"):
        return
    res = os.path.join(out, "results.h5")
    r = run(["report", res, "--json"])
    check(r.returncode == 0, f"report --json on a partial sweep exits 0: {r.stderr}")
    j = json.loads(r.stdout)
    exp = expected(out)
    total = {c: sum(e[c] for e in exp.values()) for c in ("trials", "done", "failed", "running", "pending")}
    check(total["running"] == 1 and total["pending"] > 0 and total["done"] > 0, f"partial fixture: {total}")
    for c in ("done", "failed", "running", "pending"):
        check(j[c] == total[c], f"partial: file-level {c} {j[c]} vs {total[c]}")
    check(j["trials"] == total["trials"] == 54, f"partial: 54 trials, got {j['trials']}")
    check(j["group_by"] == KEYS, f"default grouping adds the varying lr: {j['group_by']}")
    compare(j["groups"], exp, "partial json")
    md = run(["report", res]).stdout
    check("running" in md and "pending" in md and "| 1 |" in md, "Markdown shows running and pending counts")
    os.remove(fake)

    # ---- complete
    sweep(yml)
    exp = expected(out)
    check(sum(e["failed"] for e in exp.values()) >= 1, "the fixture has failed trials")
    check(any(e["n"] >= 6 for e in exp.values()), "some group has 6 done trials")
    r = run(["report", res, "--json"])
    j = json.loads(r.stdout)
    compare(j["groups"], exp, "complete json")
    failed_ids = {t["id"] for t in j["failed_trials"]}
    check(len(failed_ids) == sum(e["failed"] for e in exp.values()) and
          all(t["reason"] for t in j["failed_trials"]), "every failed trial listed with its reason")
    r = run(["report", res, "--csv"])
    check(r.returncode == 0, "report --csv exits 0")
    compare(parse_csv(r.stdout), exp, "complete csv")
    md = run(["report", res])
    check(md.returncode == 0 and md.stdout.startswith("# dcn report") and "Failed trials" in md.stdout,
          "Markdown report lists the failed trials")
    print(md.stdout)

    # explicit grouping: one row per graph pooled over everything else
    j = json.loads(run(["report", res, "--json", "--group-by", "graph"]).stdout)
    check(j["group_by"] == ["graph"] and len(j["groups"]) == 3, f"--group-by graph: 3 groups, got {len(j['groups'])}")
    check(sum(g["trials"] for g in j["groups"]) == 54, "--group-by graph keeps every trial")
    r = run(["report", res, "--group-by", "graph,colour"], expect=2)
    check(r.returncode == 2 and "colour" in r.stderr, f"unknown group key is a usage error: {r.stderr}")
    r = run(["report", res, "--json", "--csv"], expect=2)
    check(r.returncode == 2, "--json with --csv is a usage error")

    # ---- plots
    pdir = os.path.join(tmp, "plots")
    r = run(["report", res, "--json", "--plots", pdir])
    check(r.returncode == 0, f"report --plots exits 0: {r.stderr[-2000:]}")
    try:
        json.loads(r.stdout)
    except ValueError:
        check(False, "--plots keeps stdout pure JSON")
    for name in ("fig2_curves", "fig3_final_accuracy", "table2_mnist", "measures_correlation", "ordering_effect"):
        png, svg = os.path.join(pdir, name + ".png"), os.path.join(pdir, name + ".svg")
        ok = os.path.exists(png) and os.path.getsize(png) > 1000
        check(ok, f"{name}.png written")
        if ok:
            with open(png, "rb") as f:
                check(f.read(8) == b"\x89PNG\r\n\x1a\n", f"{name}.png has a PNG header")
        ok = os.path.exists(svg) and os.path.getsize(svg) > 1000
        check(ok and b"<svg" in open(svg, "rb").read(4000), f"{name}.svg written")
    for name in ("table1.md", "table2.md", "correlations.md", "correlations.csv", "ordering.md", "index.md"):
        p = os.path.join(pdir, name)
        check(os.path.exists(p) and os.path.getsize(p) > 50, f"{name} written")
    t2 = open(os.path.join(pdir, "table2.md")).read()
    check("99.27" in t2 and "97.05" in t2 and "98.01" in t2, "Table 2 shows the paper's WS and baseline numbers")
    # Table 2's mean for WS trainable at lr 0.003 equals the report's
    e = exp[("ws:n=8,k=4,p=0.75,seed=1", "mnist", "paper", False, 0.003)]
    check(f"{e['mean']:.2f} +- {e['sd']:.2f}" in t2, "Table 2 mean +- sd agrees with the trial files")
    order = open(os.path.join(pdir, "ordering.md")).read()
    check(order.count("\n| ws:") + order.count("\n| er:") >= 4, "ordering effect per graph and stratum")


def test_bad_inputs(tmp):
    missing = os.path.join(tmp, "missing-results.h5")
    r = run(["report", missing], expect=1)
    check(r.returncode == 1 and "missing-results.h5" in r.stderr, f"missing file: {r.returncode} {r.stderr}")
    text = os.path.join(tmp, "notes.h5")
    with open(text, "w") as f:
        f.write("not hdf5\n")
    r = run(["report", text], expect=1)
    check(r.returncode == 1 and "notes.h5" in r.stderr and "HDF5" in r.stderr, f"non-HDF5 file: {r.stderr}")
    other = os.path.join(tmp, "other.h5")
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    r = run(["report", other], expect=1)
    check(r.returncode == 1 and "other.h5" in r.stderr and "not a dcn results file" in r.stderr,
          f"HDF5 non-results file: {r.stderr}")
    trials = trial_files(os.path.join(tmp, "sweep", "trials"))
    if trials:
        r = run(["report", trials[0]], expect=1)
        check(r.returncode == 1 and "trial file" in r.stderr, f"a trial file is recognised: {r.stderr}")
    newer = os.path.join(tmp, "newer.h5")
    with h5py.File(newer, "w") as f:
        f.attrs["format_version"] = 99
        f["summary"] = np.zeros(1, dtype=[("id", "S24")])
    r = run(["report", newer], expect=1)
    check(r.returncode == 1 and "newer.h5" in r.stderr and "99" in r.stderr and "newer" in r.stderr,
          f"newer format_version: {r.stderr}")
    r = run(["report"], expect=2)
    check(r.returncode == 2, "no file is a usage error")


def main():
    with tempfile.TemporaryDirectory(prefix="dcn-report-test-") as tmp:
        test_partial_and_complete(tmp)
        test_bad_inputs(tmp)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all report checks passed")


if __name__ == "__main__":
    main()
