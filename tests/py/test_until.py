#!/usr/bin/python3
"""Sweeps that stop when the question is answered (`until:`, README "dcn sweep"), on tiny trials (WS n=8,
2 channels, a few hundred MNIST images, 1 epoch) under `mpirun -n 2`:

1. --dry-run prints round 1 (the sweep as written) and the rule; bad until: sections (unknown key, a
   half-width of 0, a budget below round 1, one group, a qualifier that is no field, a seed or a value
   the sweep lacks, a group naming no graph) are refused naming the file and line, and nothing is
   written; --shard is refused.
2. The same family under two names (ws p=0.5 and p=0.5000001 with the same graph seeds: the same
   graphs, so the true difference is exactly 0 on every build) ends "no difference detected" with a
   95% CI half-width at most the target, within the budget; every round is recorded in results.h5
   (/until/round_0001 ...), each round's trial count is the one the last decision predicted (the
   script's cost model against dcn's own expansion), the graph seeds continue the written lists and
   round 1's trial ids are all in the last round.
3. A planted difference (frozen against trainable: the same graphs, a field qualifier on each group)
   ends decided: the CI excludes 0 at the target half-width, within the budget.
4. SIGKILL of a rank in the middle of round 2 of sweep 2 (another folder), then a rerun: the rerun takes
   up round 2; the trial files are exactly the uninterrupted run's, each trial trained once ("done"
   lines of both runs), and every round's record and the final decision equal the uninterrupted run's.
5. The decision script on synthetic results (no training): a balanced design's CI equals the pooled
   t-interval on graph means (scipy; df 2G - 2, what the mixed model gives when balanced); one graph
   against k null graphs gives the CI of (graph - ensemble mean) computed here with numpy; p < 0.05
   with a CI wider than the target continues (stopping on p would stop); a CI within the target stops.
Needs MNIST (tests/run.sh fetches it)."""
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
from scipy import stats as sst

import sweep_files as sf

DCN = os.environ.get("DCN_BIN", "build/dcn")
SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
MPIRUN = ["mpirun", "-n", "2", "--oversubscribe"]
UNTIL_PY = os.path.join(SRC, "analysis", "until.py")
failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures.append(what)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def s(v):
    return v.decode() if isinstance(v, bytes) else v


def need_mnist():
    r = subprocess.run([DCN, "data", "info", "mnist"], env=ENV, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        print(f"FAIL - MNIST is needed (tests/run.sh fetches it): {r.stderr.strip()}", flush=True)
        sys.exit(1)


# trials of about 0.1-0.2 s here: a round of a dozen takes a second on two ranks, long enough to be
# killed in the middle
TRIAL = """variants: [paper]
seeds: 0..1
epochs: 1
channels: 2
batch: 16
lr: 0.01
train_limit: 512
test_limit: 256
"""


def same_family(out):
    return f"""output: {out}/results.h5
graphs:
  - {{family: ws, n: 8, k: 2, p: 0.5, seed: 0..2}}
  - {{family: ws, n: 8, k: 2, p: 0.5000001, seed: 0..2}}
{TRIAL}until:
  compare: ["ws:n=8,k=2,p=0.5", "ws:n=8,k=2,p=0.5000001"]
  half_width: 5
  max_trials: 200
  round: 12
"""


def planted(out):
    return f"""output: {out}/results.h5
graphs:
  - {{family: ws, n: 8, k: 2, p: 0.5, seed: 0..2}}
frozen: [false, true]
{TRIAL}until:
  compare:
    - {{group: "ws:n=8,k=2,p=0.5", frozen: false}}
    - {{group: "ws:n=8,k=2,p=0.5", frozen: true}}
  half_width: 5
  max_trials: 200
  round: 12
"""


def records(res):
    """[(round name, attributes, fits rows)] of results.h5's /until, and /until's attributes."""
    with h5py.File(res, "r") as f:
        if "until" not in f:
            return [], {}
        u = f["until"]
        out = [(k, {a: s(v) for a, v in u[k].attrs.items()}, u[k]["fits"][:]) for k in sorted(u)]
        return out, {a: s(v) for a, v in u.attrs.items()}


def summary_ids(res):
    with h5py.File(res, "r") as f:
        t = f["summary"][:]
        return [s(x) for x in t["id"]], [s(x) for x in t["status"]], [s(x) for x in t["graph"]]


def dry_ids(yml):
    r = subprocess.run([DCN, "sweep", yml, "--dry-run", "--json"], env=ENV, capture_output=True, text=True)
    return [t["id"] for t in json.loads(r.stdout)["trials"]] if r.returncode == 0 else []


# ---------------------------------------------------------------- 1. dry run and bad sections

BAD = [
    ("until:\n  compare: [a, b]\n  half_width: 5\n  max_trials: 100\n  colour: red\n",
     ":17: until: unknown key 'colour'"),
    ("until:\n  compare: [\"ws:n=8,k=2,p=0.5\", \"ws:n=8,k=2,p=0.5000001\"]\n  half_width: 0\n  max_trials: 100\n",
     ":15: until: half_width must be a positive number"),
    ("until:\n  compare: [\"ws:n=8,k=2,p=0.5\", \"ws:n=8,k=2,p=0.5000001\"]\n  half_width: 5\n  max_trials: 11\n",
     ":13: until: max_trials 11 is less than the 12 trials of the sweep as written"),
    ("until:\n  compare: [\"ws:n=8,k=2,p=0.5\"]\n  half_width: 5\n  max_trials: 100\n",
     ":14: until: compare must be a list of at least two groups"),
    ("until:\n  compare:\n    - {group: \"ws:n=8,k=2,p=0.5\", colour: red}\n    - gnm\n  half_width: 5\n"
     "  max_trials: 100\n", ":15: until: compare: unknown key 'colour'"),
    ("until:\n  compare:\n    - {group: \"ws:n=8,k=2,p=0.5\", seed: 1}\n    - gnm\n  half_width: 5\n"
     "  max_trials: 100\n", ":15: until: compare: 'seed' cannot select"),
    ("until:\n  compare:\n    - \"ws:n=8,k=2,p=0.5\"\n    - {group: \"ws:n=8,k=2,p=0.5\", frozen: true}\n"
     "  half_width: 5\n  max_trials: 100\n", ":16: until: compare: frozen: 'true' is not a value of the sweep"),
    ("until:\n  compare: [\"ws:n=8,k=2,p=0.5\", \"ws:n=8,k=2,p=0.5000001\"]\n  max_trials: 100\n",
     ":13: until: needs the key 'half_width'"),
    ("until:\n  compare:\n    - \"ws:n=8,k=2,p=0.5\"\n    - gnm\n  half_width: 5\n  max_trials: 100\n",
     ":16: until: compare: 'gnm' names no graph of the sweep"),
]


def test_dry_run_and_bad_keys(tmp):
    out = os.path.join(tmp, "dry")
    yml = os.path.join(tmp, "dry.yaml")
    write(yml, same_family(out))
    r = subprocess.run([DCN, "sweep", yml, "--dry-run"], env=ENV, capture_output=True, text=True)
    lines = [x for x in r.stdout.splitlines() if re.match(r"\s*\d+\s+t[0-9a-f]{16}\s+pending\s", x)]
    check(r.returncode == 0 and len(lines) == 12 and "until (" in r.stdout and "half-width is at most 5 accuracy "
          "points" in r.stdout and "the trials above are round 1" in r.stdout and not os.path.exists(out),
          f"--dry-run lists round 1's 12 trials and the rule, writes nothing: exit {r.returncode} "
          f"{r.stdout[-600:]} {r.stderr[-300:]}")
    j = subprocess.run([DCN, "sweep", yml, "--dry-run", "--json"], env=ENV, capture_output=True, text=True)
    try:
        u = json.loads(j.stdout).get("until", {})
    except ValueError:
        u = {}
    check(u.get("half_width") == 5 and u.get("max_trials") == 200 and u.get("round") == 12
          and [g["group"] for g in u.get("compare", [])] == ["ws:n=8,k=2,p=0.5", "ws:n=8,k=2,p=0.5000001"],
          f"--dry-run --json carries the rule: {u}")
    head = same_family(out).split("until:")[0]
    for i, (section, want) in enumerate(BAD):
        bad = os.path.join(tmp, f"bad{i}.yaml")
        bout = os.path.join(tmp, f"bad{i}")
        write(bad, head.replace(out, bout) + section)
        r = subprocess.run([DCN, "sweep", bad, "--dry-run"], env=ENV, capture_output=True, text=True)
        r2 = subprocess.run([DCN, "sweep", bad], env=ENV, capture_output=True, text=True)
        check(r.returncode == 1 and r2.returncode == 1 and f"bad{i}.yaml{want}" in r.stderr
              and f"bad{i}.yaml{want}" in r2.stderr and not os.path.exists(bout),
              f"refused with its file and line ({want.strip(':')}): exit {r.returncode}/{r2.returncode} "
              f"{r.stderr.strip()[-300:]}")
    r = subprocess.run([DCN, "sweep", yml, "--shard", "0/2"], env=ENV, capture_output=True, text=True)
    check(r.returncode == 2 and "not as shards" in r.stderr, f"--shard refused: {r.returncode} {r.stderr.strip()}")


# ---------------------------------------------------------------- 2 and 3. whole runs

def run(yml, log=None):
    r = subprocess.run(MPIRUN + [DCN, "sweep", yml], env=ENV, capture_output=True, text=True, timeout=900)
    if log:
        write(log, r.stderr)
    return r


def check_rounds(name, res, target, budget, verdict):
    recs, top = records(res)
    names = [k for k, _, _ in recs]
    check(names == [f"round_{i:04d}" for i in range(1, len(recs) + 1)] and len(recs) >= 2
          and top.get("rounds") == len(recs),
          f"{name}: every round recorded in /until: {names}, rounds {top.get('rounds')}")
    if not recs:
        return recs
    decisions = [a["decision"] for _, a, _ in recs]
    check(decisions[-1] == "stop" and all(x == "continue" for x in decisions[:-1]) and top.get("stopped") == 1,
          f"{name}: continue until the last round, which stops: {decisions}")
    pred = [(a["next_trials"], b["trials"]) for (_, a, _), (_, b, _) in zip(recs, recs[1:])]
    sizes = [a["trials"] for _, a, _ in recs]
    check(all(p == t for p, t in pred) and all(b > a for a, b in zip(sizes, sizes[1:])),
          f"{name}: each round has the trials the last decision predicted, more than the round before: "
          f"(predicted, run) {pred}")
    last = recs[-1][1]
    fit = recs[-1][2]
    hw = float(fit["half_width"][0])
    check(len(fit) == 1 and hw <= target and bool(fit["met"][0]) and last["trials"] <= budget,
          f"{name}: stopped with the 95% CI half-width {hw:.3f} <= {target} after {last['trials']} trials "
          f"(budget {budget})")
    lo, hi = float(fit["low"][0]), float(fit["high"][0])
    v = s(fit["verdict"][0])
    check(v.startswith(verdict) and (lo <= 0 <= hi) == (verdict == "no difference"),
          f"{name}: the verdict is '{verdict}': {v}")
    return recs


def test_same_family(tmp):
    out = os.path.join(tmp, "same")
    yml = os.path.join(tmp, "same.yaml")
    write(yml, same_family(out))
    round1 = dry_ids(yml)
    t0 = time.time()
    r = run(yml, os.path.join(tmp, "same.log"))
    print(f"      same family under two names: {time.time() - t0:.1f} s", flush=True)
    check(r.returncode == 0, f"the run ends: exit {r.returncode} {r.stderr[-800:] if r.returncode else ''}")
    res = os.path.join(out, "results.h5")
    if r.returncode or not os.path.exists(res):
        return None
    recs = check_rounds("same family", res, 5, 200, "no difference")
    fit = recs[-1][2] if recs else None
    check(fit is not None and float(fit["estimate"][0]) == 0.0,
          "the same graphs under two names: the estimate is exactly 0")
    ids, status, graphs = summary_ids(res)
    check(set(round1) <= set(ids) and all(x == "done" for x in status), f"round 1's {len(round1)} trials are in the "
          f"last round's {len(ids)}, all done")
    g = recs[-1][1]["graph_seeds"] if recs else 0
    want = {f"ws:n=8,k=2,p={p},seed={i}" for p in ("0.5", "0.5000001") for i in range(max(3, g))}
    check(set(graphs) == want, f"graph seeds continue the written 0..2 to 0..{max(3, g) - 1} ({len(set(graphs))} "
          f"graphs)")
    return yml, res


def test_planted(tmp):
    out = os.path.join(tmp, "planted")
    yml = os.path.join(tmp, "planted.yaml")
    write(yml, planted(out))
    t0 = time.time()
    r = run(yml)
    print(f"      frozen against trainable: {time.time() - t0:.1f} s", flush=True)
    check(r.returncode == 0, f"the run ends: exit {r.returncode} {r.stderr[-800:] if r.returncode else ''}")
    if r.returncode == 0:
        check_rounds("frozen vs trainable", os.path.join(out, "results.h5"), 5, 200,
                     "ws:n=8,k=2,p=0.5 [frozen=false] higher")


# ---------------------------------------------------------------- 4. SIGKILL mid-round

def proc_children():
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                kids.setdefault(int(st[st.rindex(")") + 2:].split()[1]), []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def dcn_ranks(mpirun_pid):
    """{world rank: pid} of the dcn processes mpirun started (never mpirun itself)."""
    kids, out, todo = proc_children(), {}, list(proc_children().get(mpirun_pid, []))
    while todo:
        pid = todo.pop()
        todo += kids.get(pid, [])
        try:
            if os.path.realpath(f"/proc/{pid}/exe") != os.path.realpath(DCN):
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        except OSError:
            continue
        if b"OMPI_COMM_WORLD_RANK" in env:
            out[int(env[b"OMPI_COMM_WORLD_RANK"])] = pid
    return out


def done_files(trials):
    out = set()
    for f in sf.trial_files(trials):
        try:
            with h5py.File(f, "r") as h:
                if s(h.attrs["status"]) == "done":
                    out.add(os.path.basename(f)[:-3])
        except OSError:
            pass
    return out


def test_kill(tmp, ref):
    if not ref:
        check(False, "the kill test needs the uninterrupted run of test 2")
        return
    ref_yml, ref_res = ref
    out = os.path.join(tmp, "kill")
    yml = os.path.join(tmp, "kill.yaml")
    write(yml, same_family(out))
    res, trials = os.path.join(out, "results.h5"), os.path.join(out, "trials")
    log1 = open(os.path.join(tmp, "kill-1.log"), "w")
    p = subprocess.Popen(MPIRUN + [DCN, "sweep", yml], env=ENV, stdout=subprocess.DEVNULL, stderr=log1,
                         start_new_session=True)
    killed, t0, state = None, time.time(), ""
    while p.poll() is None and time.time() - t0 < 300:
        try:  # dcn may hold the file while it installs a new version
            recs, _ = records(res) if os.path.exists(res) else ([], {})
        except OSError:
            recs = []
        n = len(done_files(trials)) if len(recs) == 1 else 0
        if len(recs) == 1 and 12 + 2 <= n < 24:  # round 1 decided, round 2 under way
            ranks = dcn_ranks(p.pid)
            if 1 in ranks:
                os.kill(ranks[1], signal.SIGKILL)
                killed, state = ranks[1], f"{n} trial files done, round 1 recorded"
                break
        time.sleep(0.02)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    for pid in dcn_ranks(p.pid).values():
        os.kill(pid, signal.SIGKILL)
    log1.close()
    before = done_files(trials)
    check(killed is not None and p.returncode != 0 and 14 <= len(before) < 24,
          f"rank 1 killed in the middle of round 2 ({state}; mpirun exit {p.returncode}, {len(before)} done after)")
    r = run(yml, os.path.join(tmp, "kill-2.log"))
    ok = r.returncode == 0 and "[until] taking up round 2" in r.stderr
    check(ok, f"the rerun takes up round 2 and ends: exit {r.returncode} {'' if ok else r.stderr[-600:]}")
    want_ids, _, _ = summary_ids(ref_res)
    got = done_files(trials)
    check(got == set(want_ids), f"the trial files are exactly the uninterrupted run's ({len(got)} vs {len(want_ids)}; "
          f"extra {sorted(got - set(want_ids))[:3]}, missing {sorted(set(want_ids) - got)[:3]})")
    logs = open(os.path.join(tmp, "kill-1.log")).read() + r.stderr
    dones = re.findall(r"\] trial \d+ (t[0-9a-f]{16}) done:", logs)
    twice = sorted({x for x in dones if dones.count(x) > 1})
    check(not twice and set(dones) <= set(want_ids) and len(dones) >= len(want_ids) - 1,
          f"each trial trained once: {len(dones)} 'done' lines for {len(want_ids)} trials, twice: {twice[:3]}")
    a, _ = records(ref_res)
    b, _ = records(res)
    keys = ("trials", "graph_seeds", "weight_seeds", "decision", "next_trials", "next_graph_seeds", "next_weight_seeds")
    same = len(a) == len(b) and all(all(ra[k] == rb[k] for k in keys) and
                                    np.allclose([tuple(x) for x in fa[["estimate", "low", "high"]].tolist()],
                                                [tuple(x) for x in fb[["estimate", "low", "high"]].tolist()], rtol=0,
                                                atol=1e-9)
                                    for (_, ra, fa), (_, rb, fb) in zip(a, b))
    check(same and b and b[-1][1]["reason"] == a[-1][1]["reason"],
          f"every round and the final decision equal the uninterrupted run's ({len(b)} vs {len(a)} rounds)")


# ---------------------------------------------------------------- 5. the decision script on synthetic results

def synthetic(tpl, path, rows):
    """results.h5 with /summary rows (graph, weight seed, accuracy in percent) in the table type of tpl."""
    with h5py.File(tpl, "r") as f:
        row = f["summary"][:1]
        attrs = dict(f.attrs)
    t = np.resize(row, len(rows))
    for i, (g, seed, acc) in enumerate(rows):
        t[i]["index"], t[i]["id"], t[i]["graph"], t[i]["seed"] = i, f"t{i:016x}".encode(), g.encode(), seed
        t[i]["test_accuracy"] = acc / 100
        t[i]["status"] = b"done"
    for col in ("graph_family", "base_graph"):
        t[col] = b""
    for col in ("graph_n", "graph_m", "graph_k", "graph_p", "graph_seed", "swaps_per_edge"):
        t[col] = -1
    with h5py.File(path, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        f.create_dataset("summary", data=t)


def decide(tmp, name, tpl, groups, rows, half_width, round_trials=100):
    """until.py decide on synthetic results: groups [(token, [graph specs])], one entry per group."""
    res = os.path.join(tmp, name + ".h5")
    synthetic(tpl, res, rows)
    graphs, entries = [], []
    for i, (_, gs) in enumerate(groups):
        entries.append(dict(index=i, line=3 + i, family="ws" if gs[0].startswith("ws") else "", first=len(graphs),
                            count=len(gs), seeds_written=len(gs) if gs[0].startswith("ws") else 0,
                            seeds=len(gs) if gs[0].startswith("ws") else 0))
        graphs += gs
    seeds = len({r[1] for r in rows})
    inp = dict(mode="decide", sweep="syn.yaml", results=res, round=1, trials=len(rows), round1_trials=len(rows),
               weight_seeds_written=seeds, weight_seeds=seeds,
               rule=dict(line=9, half_width=half_width, max_trials=10 * len(rows), round_trials=round_trials,
                         compare=[dict(token=t, line=9, where={}) for t, _ in groups]),
               design=dict(round=1, graph_seeds=0, weight_seeds=0, grow_entries=[]), entries=entries, graphs=graphs)
    path = os.path.join(tmp, name + ".json")
    write(path, json.dumps(inp))
    rec = os.path.join(tmp, name + ".rec.h5")
    r = subprocess.run(["/usr/bin/python3", UNTIL_PY, "decide", "--input", path, "--record", rec], env=ENV,
                       capture_output=True, text=True)
    if r.returncode:
        check(False, f"{name}: until.py decide: {r.stderr[-600:]}")
        return None, None
    with h5py.File(rec, "r") as h:
        return {k: s(v) for k, v in h["round"].attrs.items()}, h["round"]["fits"][:]


def test_synthetic(tmp, tpl):
    rng = np.random.default_rng(7)
    G, S_ = 6, 3
    ga = [f"ws:n=8,k=2,p=0.5,seed={i}" for i in range(G)]
    gb = [f"ws:n=8,k=2,p=0.25,seed={i}" for i in range(G)]
    rows = [(g, s_, 70 + 2.0 * (g in gb) + eff + rng.normal(0, 1.0)) for g, eff in
            zip(ga + gb, rng.normal(0, 3.0, 2 * G)) for s_ in range(S_)]
    a, fit = decide(tmp, "balanced", tpl, [("ws:n=8,k=2,p=0.5", ga), ("ws:n=8,k=2,p=0.25", gb)], rows, 1.0)
    if a is not None:
        means = {g: np.mean([r[2] for r in rows if r[0] == g]) for g in ga + gb}
        xa, xb = np.array([means[g] for g in ga]), np.array([means[g] for g in gb])
        sp = math.sqrt(((G - 1) * xa.var(ddof=1) + (G - 1) * xb.var(ddof=1)) / (2 * G - 2) * 2 / G)
        q = sst.t.ppf(0.975, 2 * G - 2)
        est = xa.mean() - xb.mean()
        got = (float(fit["estimate"][0]), float(fit["low"][0]), float(fit["high"][0]), float(fit["df"][0]))
        want = (est, est - q * sp, est + q * sp, 2 * G - 2)
        check(np.allclose(got, want, rtol=1e-4, atol=1e-6),
              f"balanced: the recorded CI is the pooled t-interval on graph means (df 2G-2): {got} vs {want}")
        check(a["decision"] == "continue" and float(fit["half_width"][0]) > 1.0 and a["next_trials"] > a["trials"]
              and a["next_trials"] - a["trials"] <= 100 and a["next_graph_seeds"] > G,
              f"balanced, half-width {float(fit['half_width'][0]):.2f} > 1: continue with more graphs within the round "
              f"({a['next_trials'] - a['trials']} more trials, {a['next_graph_seeds']} graph seeds)")
    # one real graph against k null graphs (stats.null_model_test's CI, computed here with numpy)
    k, n = 8, 4
    null = [f"rewire:mouse,swaps_per_edge=10,seed={i}" for i in range(k)]
    rows = [("mouse", j, 75 + rng.normal(0, 1.5)) for j in range(n)]
    rows += [(g, j, 72 + e + rng.normal(0, 1.5)) for g, e in zip(null, rng.normal(0, 2.0, k)) for j in range(n)]
    a, fit = decide(tmp, "null", tpl, [("mouse", ["mouse"]), ("rewire:mouse", null)], rows, 0.5)
    if a is not None:
        obs = np.array([r[2] for r in rows if r[0] == "mouse"])
        by = [np.array([r[2] for r in rows if r[0] == g]) for g in null]
        m = np.array([x.mean() for x in by])
        within = sum(((x - x.mean()) ** 2).sum() for x in by) / sum(len(x) - 1 for x in by)
        se = math.sqrt(m.var(ddof=1) / k + within / n)
        q = sst.t.ppf(0.975, k - 1)
        est = obs.mean() - m.mean()
        got = (float(fit["estimate"][0]), float(fit["low"][0]), float(fit["high"][0]))
        check(np.allclose(got, (est, est - q * se, est + q * se), rtol=1e-9, atol=1e-9),
              f"one graph against {k} null graphs: the CI of (graph - ensemble mean) as computed here: {got} vs "
              f"{(est, est - q * se, est + q * se)}")
    # p < 0.05 but wider than the target: continue; within the target: stop, whatever p
    rows = [(g, s_, 70 + 8.0 * (g in gb[:3]) + eff + rng.normal(0, 1.0)) for g, eff in
            zip(ga[:3] + gb[:3], rng.normal(0, 1.5, 6)) for s_ in range(2)]
    a, fit = decide(tmp, "significant", tpl, [("ws:n=8,k=2,p=0.5", ga[:3]), ("ws:n=8,k=2,p=0.25", gb[:3])], rows, 1.0)
    if a is not None:
        check(float(fit["p"][0]) < 0.05 and float(fit["half_width"][0]) > 1.0 and a["decision"] == "continue",
              f"p = {float(fit['p'][0]):.2g} < 0.05 with half-width {float(fit['half_width'][0]):.2f} > 1: continue "
              f"({a['decision']})")
    a, fit = decide(tmp, "wide-target", tpl, [("ws:n=8,k=2,p=0.5", ga[:3]), ("ws:n=8,k=2,p=0.25", gb[:3])], rows, 50.0)
    if a is not None:
        check(a["decision"] == "stop" and "higher than" in s(fit["verdict"][0]),
              f"half-width within 50: stop ({a['decision']}: {s(fit['verdict'][0])})")


def main():
    need_mnist()
    with tempfile.TemporaryDirectory(prefix="dcn-until-", dir=".") as tmp:
        tmp = os.path.abspath(tmp)
        test_dry_run_and_bad_keys(tmp)
        ref = test_same_family(tmp)
        test_planted(tmp)
        test_kill(tmp, ref)
        if ref:
            test_synthetic(tmp, ref[1])
    for m in failures:
        print("FAIL -", m, flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
