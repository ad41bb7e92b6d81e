#!/usr/bin/python3
"""The refit time of an `until:` sweep's decision (analysis/until.py decide) at 10^4 trials.

    until_refit.py --dcn build/dcn --out DIR [--trials 10000] [--repeat 3]

Makes a results.h5 of TRIALS synthetic trials whose /summary has the layout of the dcn build given
(one tiny real sweep of 2 trials supplies the table's type): two graph groups of the same WS family
(the same family under two names), TRIALS / 20 graphs each with 10 weight seeds, accuracy = 70 points
+ a graph effect (sd 2) + seed noise (sd 3). Then times `until.py decide` on it, as dcn runs it after
a round: the whole process (interpreter, imports, reading results.h5, fits, planning, the record) and
reading results.h5 (read_seconds), and the fits and planning alone (refit_seconds), as the record
holds them. A second case puts one graph (as mouse would
be) against TRIALS / 10 - 1 null graphs. Prints one JSON object.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np


def template(dcn, d, env):
    """A real results.h5 of 2 tiny trials: its /summary row type and root attributes."""
    yml = os.path.join(d, "template.yaml")
    with open(yml, "w") as f:
        f.write(f"output: {d}/template/results.h5\ngraphs: [\"ws:n=8,k=2,p=0.5,seed=0\"]\nvariants: [paper]\n"
                "seeds: 0..1\nepochs: 1\nchannels: 2\nbatch: 16\ntrain_limit: 64\ntest_limit: 64\n")
    r = subprocess.run([dcn, "sweep", yml, "--quiet"], env=env, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"until_refit.py: the template sweep failed: {r.stderr[-500:]}")
    return os.path.join(d, "template", "results.h5")


def synthetic(tpl, path, graphs_by_group, seeds, rng, offset):
    """results.h5 with one row per (graph, weight seed); offset[group] shifts a group's mean."""
    with h5py.File(tpl, "r") as f:
        row = f["summary"][:1]
        attrs = dict(f.attrs)
    specs = [(grp, g) for grp, gs in graphs_by_group for g in gs]
    n = len(specs) * seeds
    t = np.resize(row, n)
    effect = {g: rng.normal(0, 2.0) for _, g in specs}
    i = 0
    for grp, g in specs:
        for s in range(seeds):
            t[i]["index"] = i
            t[i]["id"] = f"t{i:016x}".encode()
            t[i]["graph"] = g.encode()
            t[i]["seed"] = s
            t[i]["test_accuracy"] = (70 + offset.get(grp, 0.0) + effect[g] + rng.normal(0, 3.0)) / 100
            i += 1
    for col in ("graph_family", "base_graph"):  # let the spec strings speak (parse_graph_spec)
        if col in t.dtype.names:
            t[col] = b""
    for col in ("graph_n", "graph_m", "graph_k", "graph_p", "graph_seed", "swaps_per_edge"):
        if col in t.dtype.names:
            t[col] = -1
    with h5py.File(path, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        f.attrs["trials"] = n
        f.create_dataset("summary", data=t)
    return n


def case(name, tpl, d, groups, seeds, compare, python, script, repeat):
    rng = np.random.default_rng(1)
    res = os.path.join(d, name + ".h5")
    n = synthetic(tpl, res, groups, seeds, rng, {})
    graphs = [g for _, gs in groups for g in gs]
    entries, first = [], 0
    for i, (_, gs) in enumerate(groups):
        entries.append(dict(index=i, line=3 + i, family="ws" if gs[0].startswith("ws") else "rewire" if
                            gs[0].startswith("rewire") else "", seeds_written=len(gs) if len(gs) > 1 else 0,
                            seeds=len(gs) if len(gs) > 1 else 0, first=first, count=len(gs)))
        first += len(gs)
    inp = dict(mode="decide", sweep="bench.yaml", results=res, round=1, trials=n, round1_trials=n,
               weight_seeds_written=seeds, weight_seeds=seeds,
               rule=dict(line=9, half_width=0.1, max_trials=2 * n, round_trials=n // 10,
                         compare=[dict(token=c, line=9, where={}) for c in compare]),
               design=dict(round=1, graph_seeds=0, weight_seeds=0, grow_entries=[]), entries=entries, graphs=graphs)
    path = os.path.join(d, name + ".json")
    with open(path, "w") as f:
        json.dump(inp, f)
    walls, fits, reads, imports = [], [], [], []
    for _ in range(repeat):
        rec = os.path.join(d, name + ".rec.h5")
        t0 = time.time()
        r = subprocess.run([python, script, "decide", "--input", path, "--record", rec], capture_output=True, text=True)
        walls.append(time.time() - t0)
        if r.returncode:
            sys.exit(f"until_refit.py: until.py decide failed: {r.stderr[-800:]}")
        with h5py.File(rec, "r") as h:
            fits.append(float(h["round"].attrs["refit_seconds"]))
            reads.append(float(h["round"].attrs["read_seconds"]))
            imports.append(float(h["round"].attrs["import_seconds"]))
            decision = h["round"].attrs["decision"]
    return dict(trials=n, graphs=len(graphs), wall_seconds=min(walls), import_seconds=min(imports),
                read_seconds=min(reads), refit_seconds=min(fits), decision=str(decision))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dcn", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--trials", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    src = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    script = os.path.join(src, "analysis", "until.py")
    os.makedirs(a.out, exist_ok=True)
    tpl = template(a.dcn, a.out, env)
    k = a.trials // 20
    two = [("a", [f"ws:n=8,k=2,p=0.5,seed={i}" for i in range(k)]),
           ("b", [f"ws:n=8,k=2,p=0.5000001,seed={1000 + i}" for i in range(k)])]
    null = [("real", ["mouse"]), ("null", [f"rewire:mouse,swaps_per_edge=10,seed={i}" for i in range(2 * k - 1)])]
    out = dict(mixed=case("mixed", tpl, a.out, two, 10, ["ws:n=8,k=2,p=0.5", "ws:n=8,k=2,p=0.5000001"],
                          "/usr/bin/python3", script, a.repeat),
               null_model=case("null", tpl, a.out, null, 10, ["mouse", "rewire:mouse"], "/usr/bin/python3", script,
                               a.repeat))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
