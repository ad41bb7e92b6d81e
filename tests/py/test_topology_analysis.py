#!/usr/bin/python3
"""analysis/topology.py (and `dcn report --topology`) on a synthetic results.h5 with known answers.

The file has the /summary layout of a real one: the compound type is copied from a one-trial sweep
run here with DCN_BIN (the test fails when that sweep cannot run), which must hold the topology
columns (graph_family, graph_n/m/k/p, graph_seed, base_graph, swaps_per_edge, rewire_swaps, the graph
measures and dag_*) itself. Two strata (trainable, frozen)
hold WS graphs at p = 0.1, 0.5, 0.9 (3 graph seeds x 2 ordering seeds x 3 weight seeds, accuracy
rising by 4 points from p = 0 to 1), C. elegans (95 %), its rewirings (93 %), G(n, m) graphs like it
(95 %), the graph-free baseline and two failed trials. Checked:
- --compare celegans,rewire:celegans,gnm: graph-level verdicts (C. elegans and G(n, m) above the 150
  rewirings; C. elegans against 6 G(n, m) graphs cannot reach p < 0.05 and says so): the null-model
  p equal to a numpy computation here, the mixed model's p, estimate and df equal to the pooled t-test on
  graph means (balanced design), Holm over them by hand; the trial-level Welch p and its Holm equal to
  scipy + a Holm computed here;
  --compare with specs that hold commas (with and without seed=);
- without --compare every pair of graph groups of each stratum, the baseline included;
- the WS p trend: increasing means, CIs inside 0-100 % naming their method, Spearman rho > 0 with a
  bootstrap CI above 0, computed over the 9 graphs' means (equal to scipy's rho on them); measures that
  vary are correlated, a constant one is not;
- the variance decomposition rows (balanced 3 x 2 x 3 design for each WS group);
- PNGs are PNGs, topology.json parses, the CSVs load; an old results file (no topology columns)
  works and says what it derived; a non-HDF5 file, an HDF5 non-results file and a --compare group
  without trials exit non-zero naming the file or group;
- `dcn report --topology DIR --compare ...` and `dcn report --plots DIR` (which runs the topology
  analysis too since the graph varies) when DCN_BIN has the option.
Environment (ctest): DCN_BIN, DCN_SOURCE_DIR.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import pandas as pd
from scipy import stats as sst

SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DCN = os.environ.get("DCN_BIN", os.path.join(SRC, "build", "dcn"))
SCRIPT = os.path.join(SRC, "analysis", "topology.py")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1")
COMPARE = ["celegans", "rewire:celegans", "gnm"]
N_REWIRE = 150
failures = []

# the topology columns of /summary the README's HDF5 layout promises (names and types)
TOPOLOGY_DTYPE = [("graph_family", "S16"), ("graph_n", "<i8"), ("graph_m", "<i8"), ("graph_k", "<i8"),
                  ("graph_p", "<f8"), ("graph_seed", "<i8"), ("base_graph", "S256"), ("swaps_per_edge", "<f8"),
                  ("rewire_swaps", "<i8"), ("nodes", "<f8"), ("edges", "<f8"), ("clustering", "<f8"),
                  ("path_length", "<f8"), ("modularity", "<f8"), ("small_world_sigma", "<f8"),
                  ("spectral_radius", "<f8"), ("algebraic_connectivity", "<f8"), ("dag_inputs", "<i4"),
                  ("dag_outputs", "<i4"), ("dag_longest_path", "<i4")]


def check(cond, msg):
    print(("ok   - " if cond else "FAIL - ") + msg, flush=True)
    if not cond:
        failures.append(msg)
    return cond


def run(cmd, timeout=120):
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout)
    print(f"# {' '.join(os.path.basename(c) if i < 2 else c for i, c in enumerate(cmd))}: rc {r.returncode}, "
          f"{time.time() - t:.1f} s", flush=True)
    return r


def topology(*args):
    return run(["/usr/bin/python3", SCRIPT] + list(args))


# ---------------------------------------------------------------- the synthetic file

def real_layout(tmp):
    """(dtype, root attributes, path) of a real results.h5 from a one-trial sweep of DCN_BIN: the
    synthetic file must have the layout of this dcn, so a dcn that cannot run the sweep fails the test
    (it used to fall back on a hard-coded layout and pass)."""
    yml = os.path.join(tmp, "tiny.yaml")
    with open(yml, "w") as f:
        f.write(f"output: {tmp}/tiny/results.h5\ngraphs: [\"ws:n=6,k=2,p=0.5,seed=1\"]\nvariants: [paper]\n"
                "seeds: [0]\nepochs: 1\nchannels: 2\ntrain_limit: 64\ntest_limit: 32\n")
    path = os.path.join(tmp, "tiny", "results.h5")
    r = run([DCN, "sweep", yml, "--quiet"]) if os.access(DCN, os.X_OK) else None
    if not check(r is not None and r.returncode == 0 and os.path.exists(path),
                 f"a one-trial sweep of {DCN} writes results.h5: {r.stderr[-500:] if r else 'not executable'}"):
        return None
    with h5py.File(path, "r") as f:
        return f["summary"].dtype, dict(f.attrs), path


def with_topology(dtype):
    """The real /summary layout, which must hold every topology column (the test no longer adds them)."""
    missing = [n for n, _ in TOPOLOGY_DTYPE if n not in dtype.names]
    check(not missing, f"/summary of this dcn has the topology columns (missing: {missing})")
    return dtype


def trial(rng, graph, frozen, seed, order_seed, acc, **topo):
    base = dict(graph=graph, dataset="mnist", variant="paper", frozen=int(frozen), order="random",
                order_seed=order_seed, seed=seed, epochs=1, batch=32, lr=0.001, channels=4, train_limit=0,
                test_limit=0, status="done", test_accuracy=round(acc, 4), test_loss=0.3,
                best_test_accuracy=round(acc, 4), best_epoch=1, epochs_done=1, wall_seconds=1.0, host="synthetic",
                nodes=math.nan, edges=math.nan, clustering=math.nan, path_length=math.nan, modularity=math.nan,
                small_world_sigma=math.nan, spectral_radius=math.nan, algebraic_connectivity=math.nan,
                graph_n=-1, graph_m=-1, graph_k=-1, graph_p=math.nan, graph_seed=-1, base_graph="",
                swaps_per_edge=math.nan, rewire_swaps=-1, dag_inputs=int(rng.integers(1, 5)),
                dag_outputs=int(rng.integers(1, 5)), dag_longest_path=int(rng.integers(3, 9)))
    base.update(topo)
    return base


def design(seed=1):
    """Rows of the synthetic sweep (dicts) with the effects the checks expect."""
    rng = np.random.default_rng(seed)
    rows, noise = [], 0.002
    for frozen in (False, True):
        shift = -0.02 if frozen else 0.0
        for p in (0.1, 0.5, 0.9):
            for gs in range(3):
                g_eff = rng.normal(0, 0.004)
                for o in range(2):
                    for w in range(3):
                        rows.append(trial(rng, f"ws:n=16,k=4,p={p},seed={gs}", frozen, w, o,
                                          0.90 + 0.04 * p + shift + g_eff + rng.normal(0, noise), graph_family="ws",
                                          graph_n=16, graph_k=4, graph_p=p, graph_seed=gs, nodes=16, edges=32,
                                          clustering=0.5 * (1 - p) ** 3 + 0.01 * gs, path_length=3 - p,
                                          small_world_sigma=1.0))
        for o in range(2):
            for w in range(4):
                rows.append(trial(rng, "celegans", frozen, w, o, 0.95 + shift + rng.normal(0, noise),
                                  graph_family="celegans", nodes=297, edges=2148, clustering=0.29, path_length=2.46,
                                  small_world_sigma=1.0))
        # enough null graphs for the null-model test to reach p < 0.05 after Holm over 6 comparisons
        for gs in range(N_REWIRE):
            g_eff = rng.normal(0, 0.004)
            for w in range(2):
                rows.append(trial(rng, f"rewire:celegans,swaps_per_edge=10,seed={gs}", frozen, w, 0,
                                  0.93 + shift + g_eff + rng.normal(0, noise), graph_family="rewire", base_graph="celegans",
                                  swaps_per_edge=10.0, graph_seed=gs, rewire_swaps=21480, nodes=297, edges=2148,
                                  clustering=0.05, path_length=2.3, small_world_sigma=1.0))
        for gs in range(6):
            g_eff = rng.normal(0, 0.004)
            for w in range(2):  # as many seeds as each rewiring: balanced
                rows.append(trial(rng, f"gnm:n=297,m=2148,seed={gs}", frozen, w, 0,
                                  0.95 + shift + g_eff + rng.normal(0, noise),
                                  graph_family="gnm", graph_n=297, graph_m=2148, graph_seed=gs, nodes=297, edges=2148,
                                  clustering=0.048, path_length=2.25, small_world_sigma=1.0))
    for w in range(4):
        rows.append(trial(rng, "none", False, w, 0, 0.90 + rng.normal(0, noise), graph_family="none",
                          variant="baseline", dag_inputs=-1, dag_outputs=-1, dag_longest_path=-1))
    for w in (7, 8):  # failed trials never enter the statistics
        rows.append(trial(rng, "celegans", False, w, 0, math.nan, status="failed", reason="loss is NaN",
                          graph_family="celegans"))
    return rows


def write_results(path, dtype, attrs, rows):
    data = np.zeros(len(rows), dtype=dtype)
    for i, r in enumerate(rows):
        r = dict(r, index=i, id=f"t{i:016x}")
        for name in dtype.names:
            if name in r:
                v = r[name]
                if isinstance(v, float) and math.isnan(v) and dtype.fields[name][0].kind in "iu":
                    v = -1  # the writer's "missing" for integer columns
                data[name][i] = v.encode() if isinstance(v, str) else v
    with h5py.File(path, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        done = sum(r["status"] == "done" for r in rows)
        for k, v in (("format_version", 1), ("trials", len(rows)), ("done", done), ("failed", len(rows) - done),
                     ("running", 0), ("pending", 0)):
            f.attrs[k] = v
        f.create_dataset("summary", data=data)
        f.create_group("trials")


# ---------------------------------------------------------------- checks

def holm_by_hand(p):
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def expected_pairs(rows):
    """(stratum frozen, A, B) -> ((acc A, graph A), (acc B, graph B)) in percent, for the --compare groups."""
    done = [r for r in rows if r["status"] == "done"]
    match = {"celegans": lambda r: r["graph"] == "celegans",
             "rewire:celegans": lambda r: r["graph"].startswith("rewire:celegans"),
             "gnm": lambda r: r["graph"].startswith("gnm:")}
    out = {}
    for frozen in (0, 1):
        for i, a in enumerate(COMPARE):
            for b in COMPARE[i + 1:]:
                sides = []
                for g in (a, b):
                    sel = [r for r in done if r["frozen"] == frozen and match[g](r)]
                    sides.append(([100 * r["test_accuracy"] for r in sel], [r["graph"] for r in sel]))
                out[(frozen, a, b)] = tuple(sides)
    return out


def graph_means(acc, graph):
    return np.array([np.mean([x for x, g in zip(acc, graph) if g == k]) for k in dict.fromkeys(graph)])


def graph_level_reference(sa, sb):
    """The graph-level p and A - B computed here: a single graph against an ensemble by the null-model
    test written out with numpy; two ensembles (balanced here: every graph has the same seeds) by the
    pooled t-test on graph means, which the REML mixed model equals for balanced designs."""
    ma, mb = graph_means(*sa), graph_means(*sb)
    if len(ma) > 1 and len(mb) > 1:
        r = sst.ttest_ind(ma, mb, equal_var=True)
        return "mixed", float(r.pvalue), float(ma.mean() - mb.mean()), len(ma) + len(mb) - 2
    single, ens, sign = (ma[0], mb, 1) if len(ma) == 1 else (mb[0], ma, -1)
    mu = ens.mean()
    extreme = int(np.sum(np.abs(ens - mu) >= abs(single - mu)))
    return "null", (1 + extreme) / (1 + len(ens)), sign * (single - mu), len(ens) - 1


def check_outputs(out, what):
    for name in ("topology_trends.png", "topology_measures.png", "topology_comparisons.png", "topology_variance.png"):
        p = os.path.join(out, name)
        ok = os.path.exists(p) and os.path.getsize(p) > 2000
        if check(ok, f"{what}: {name} written"):
            with open(p, "rb") as f:
                check(f.read(8) == b"\x89PNG\r\n\x1a\n", f"{what}: {name} is a PNG")
    for name in ("topology_trends.csv", "topology_correlations.csv", "topology_comparisons.csv",
                 "topology_variance.csv"):
        p = os.path.join(out, name)
        check(os.path.exists(p) and len(pd.read_csv(p)) > 0, f"{what}: {name} has rows")
    md = open(os.path.join(out, "topology.md")).read()
    for word in ("Welch", "Holm", "Mann-Whitney", "noncentral t", "Newcombe", "bootstrap percentile", "logit",
                 "Henderson", "mixed model", "Satterthwaite", "null-model test", "graphs as the unit",
                 "treated as independent"):
        check(word in md, f"{what}: topology.md names the method '{word}'")
    with open(os.path.join(out, "topology.json")) as f:
        return json.load(f), md


def check_compare(j, rows):
    exp = expected_pairs(rows)
    comps = [{k: (math.nan if v is None else v) for k, v in c.items()} for c in j["comparisons"]]  # JSON null: NaN
    check(len(comps) == 6, f"--compare of 3 groups in 2 strata: 6 comparisons, got {len(comps)}")
    p_exp, g_exp = {}, {}
    for c in comps:
        key = (1 if "frozen" in c["stratum"] else 0, c["a"], c["b"])
        if not check(key in exp, f"comparison {key} expected"):
            continue
        (xa, ga), (xb, gb) = exp[key]
        ref = sst.ttest_ind(xa, xb, equal_var=False)
        check(c["n_a"] == len(xa) and c["n_b"] == len(xb), f"{key}: n {c['n_a']}, {c['n_b']} vs {len(xa)}, {len(xb)}")
        check(abs(c["welch_p"] - ref.pvalue) <= 1e-9 * max(ref.pvalue, 1e-300) + 1e-300,
              f"{key}: Welch p {c['welch_p']:.6g} vs scipy {ref.pvalue:.6g}")
        mw = sst.mannwhitneyu(xa, xb, alternative="two-sided")
        check(abs(c["mwu_p"] - mw.pvalue) < 1e-12, f"{key}: Mann-Whitney p {c['mwu_p']:.6g} vs scipy {mw.pvalue:.6g}")
        p_exp[key] = ref.pvalue
        kind, gp, gest, gdf = graph_level_reference((xa, ga), (xb, gb))
        g_exp[key] = gp
        check(c["method"].startswith("linear mixed" if kind == "mixed" else "null-model"),
              f"{key}: graph-level method {kind} ('{c['method'][:40]}...')")
        check(c["graphs_a"] == len(set(ga)) and c["graphs_b"] == len(set(gb)),
              f"{key}: graphs {c['graphs_a']} / {c['graphs_b']} vs {len(set(ga))} / {len(set(gb))}")
        check(abs(c["p"] - gp) <= 1e-5 * gp + 1e-12, f"{key}: graph-level p {c['p']:.6g} vs reference {gp:.6g}")
        check(abs(c["estimate"] - gest) <= 1e-6 * abs(gest) + 1e-9,
              f"{key}: A - B {c['estimate']:.6g} vs reference {gest:.6g}")
        check(abs(c["df"] - gdf) <= 1e-3 * gdf, f"{key}: df {c['df']:.6g} vs {gdf}")
        check(c["low"] <= c["estimate"] <= c["high"], f"{key}: estimate inside its CI")
    keys = list(p_exp)
    holm = dict(zip(keys, holm_by_hand([p_exp[k] for k in keys])))
    gholm = dict(zip(keys, holm_by_hand([g_exp[k] for k in keys])))
    decided = 0
    for c in comps:
        key = (1 if "frozen" in c["stratum"] else 0, c["a"], c["b"])
        if key not in holm:
            continue
        check(abs(c["welch_p_holm"] - holm[key]) <= 1e-9 * holm[key] + 1e-300,
              f"{key}: trial-level Holm p {c['welch_p_holm']:.6g} vs by hand {holm[key]:.6g}")
        check(abs(c["p_holm"] - gholm[key]) <= 1e-5 * gholm[key], f"{key}: Holm p {c['p_holm']:.6g} vs {gholm[key]:.6g}")
        if gholm[key] < 0.05:
            decided += 1
            hi, lo = (c["a"], c["b"]) if c["estimate"] > 0 else (c["b"], c["a"])
            check(c["verdict"].startswith(f"{hi} higher than {lo} ("), f"{key}: verdict '{c['verdict']}'")
        else:
            check(c["verdict"].startswith("no difference detected ("), f"{key}: verdict '{c['verdict']}'")
        if "celegans" == c["a"] and c["b"] == "gnm":  # k = 6 null graphs
            check("unreachable with k = 6" in c["verdict"], f"{key}: says p < 0.05 is unreachable: '{c['verdict']}'")
    check(decided == 4, f"4 comparisons decided (C. elegans and G(n, m) above the rewirings), got {decided}")


def check_trends(j, rows):
    ws = [s for s in j["parameter_trends"] if (s["family"], s["parameter"]) == ("ws", "p")]
    check(len(ws) == 2, f"one WS p curve per stratum, got {len(ws)}")
    check(not [s for s in j["parameter_trends"] if s["parameter"] != "p"], "no trend for constant parameters")
    for s in ws:
        means = [q["mean"] for q in s["points"]]
        check([q["value"] for q in s["points"]] == [0.1, 0.5, 0.9] and means == sorted(means),
              f"{s['stratum']}: mean accuracy rises with p: {[round(m, 2) for m in means]}")
        check(all(0 <= q["low"] <= q["mean"] <= q["high"] <= 100 and q["n"] == 18 and q["graph_seeds"] == 3 and
                  q["weight_seeds"] == 3 for q in s["points"]), f"{s['stratum']}: CIs inside 0-100 %, 18 trials each")
        check("logit" in s["points"][0]["ci_method"], f"the CI names its method: {s['points'][0]['ci_method']}")
        check(s["rho"] > 0.7 and s["low"] > 0 and s["low"] <= s["rho"] <= s["high"] and "bootstrap" in s["ci_method"],
              f"{s['stratum']}: Spearman rho {s['rho']:.2f} [{s['low']:.2f}, {s['high']:.2f}]")
        # the graph is the unit: rho over the 9 graphs' mean accuracies, as scipy computes it here
        frozen = 1 if "frozen" in s["stratum"] else 0
        per = {}
        for r in rows:
            if r["status"] == "done" and r["frozen"] == frozen and r["graph"].startswith("ws:"):
                per.setdefault(r["graph"], []).append((r["graph_p"], 100 * r["test_accuracy"]))
        px = [v[0][0] for v in per.values()]
        ay = [np.mean([a for _, a in v]) for v in per.values()]
        ref = sst.spearmanr(px, ay).correlation
        check(s["graphs"] == 9 == len(per) and abs(s["rho"] - ref) < 1e-12,
              f"{s['stratum']}: rho over {s['graphs']} graphs {s['rho']:.6f}, scipy on graph means {ref:.6f}")
    measures = {c["measure"] for c in j["measure_correlations"]}
    check({"clustering", "path_length", "dag_longest_path"} <= measures, f"varying measures correlated: {measures}")
    check("small_world_sigma" not in measures and "modularity" not in measures, "constant or missing measures skipped")


def check_variance(j):
    rows = {(v["stratum"], v["group"]): v for v in j["variance_components"]}
    v = rows.get(("mnist, trainable", "ws:n=16,k=4,p=0.5"))
    if check(v is not None, f"variance decomposition of ws p=0.5 (rows: {list(rows)[:4]}...)"):
        check(v["balanced"] and (v["graph_seeds"], v["order_seeds"], v["weight_seeds"]) == (3, 2, 3) and v["n"] == 18,
              "ws p=0.5: balanced 3 x 2 x 3 design")
        names = [c["name"] for c in v["components"]]
        check(names == ["graph_seed", "order_seed", "weight_seed"] and v["residual"]["df"] == 10,
              f"components {names}, residual df {v['residual']['df']} (= (6 - 1)(3 - 1))")
        shares = sum(c["share"] for c in v["components"]) + v["residual"]["share"]
        check(abs(shares - 1) < 1e-9, "shares add up to 1")
    check(("mnist, trainable", "all graph groups") in rows, "graph groups pooled per stratum")
    base = [v for v in j["variance_components"] if v["group"] == "none"]
    check(len(base) == 1 and base[0]["residual"]["includes"] == ["weight_seed"],
          "baseline: weight seeds only, as the residual")


def test_synthetic(tmp, dtype, attrs):
    rows = design()
    path = os.path.join(tmp, "synthetic.h5")
    write_results(path, with_topology(dtype), attrs, rows)
    out = os.path.join(tmp, "topo")
    r = topology(path, "--out", out, "--compare", ",".join(COMPARE), "--json")
    if not check(r.returncode == 0, f"topology.py --compare exits 0: {r.stderr[-2000:]}"):
        return path, rows
    j, md = check_outputs(out, "--compare")
    null_png = os.path.join(out, "topology_null.png")
    # celegans against the rewire:celegans and gnm ensembles: two null-model tests, drawn
    check(os.path.exists(null_png) and os.path.getsize(null_png) > 2000 and "topology_null.png" in j["files"]
          and "topology_null.png" in md, "--compare: the null-model tests drawn in topology_null.png and named")
    check(json.loads(r.stdout) == j, "--json prints topology.json")
    check(j["summary"]["done"] == len(rows) - 2, "failed trials are left out")
    check(not j["columns"]["from_graph_spec"], f"topology columns read from the file: {j['columns']}")
    check_compare(j, rows)
    check_trends(j, rows)
    check_variance(j)
    # specs keep their commas inside --compare
    r = topology(path, "--out", os.path.join(tmp, "specs"), "--compare", "ws:n=16,k=4,p=0.1,ws:n=16,k=4,p=0.9,seed=1")
    if check(r.returncode == 0, f"--compare with two WS specs exits 0: {r.stderr[-1000:]}"):
        j = json.load(open(os.path.join(tmp, "specs", "topology.json")))
        check(j["compare"] == ["ws:n=16,k=4,p=0.1", "ws:n=16,k=4,p=0.9,seed=1"],
              f"specs split at groups: {j['compare']}")
        check([(c["n_a"], c["n_b"]) for c in j["comparisons"]] == [(18, 6), (18, 6)],
              "a spec without seed= is every graph seed (18 trials), with seed=1 one graph (6)")
    r = topology(path, "--out", os.path.join(tmp, "all"))
    if check(r.returncode == 0, f"topology.py without --compare exits 0: {r.stderr[-1000:]}"):
        j = json.load(open(os.path.join(tmp, "all", "topology.json")))
        # 3 WS groups, celegans, its rewirings, G(n, m), the baseline: 7 groups, 21 pairs, in 2 strata
        check(len(j["comparisons"]) == 42, f"all pairs of 7 groups in 2 strata: 42, got {len(j['comparisons'])}")
        check(sum(c["b"] == "none" or c["a"] == "none" for c in j["comparisons"]) == 12,
              "the baseline joins both strata")
        check(sorted(s["stratum"] for s in j["strata"]) == ["mnist, frozen", "mnist, trainable"],
              f"strata {[s['stratum'] for s in j['strata']]}")
    return path, rows


def test_old_file(tmp):
    old = os.path.join(SRC, "tests", "reference", "old-format", "results.h5")
    out = os.path.join(tmp, "old")
    r = topology(old, "--out", out)
    if check(r.returncode == 0, f"an old results file without topology columns works: {r.stderr[-1000:]}"):
        md = open(os.path.join(out, "topology.md")).read()
        check("parsed from the graph spec strings" in md and "graph_family" in md, "topology.md says what it derived")
        check("Unavailable in this file" in md and "clustering" in md, "topology.md says which measures are missing")


def test_bad_inputs(tmp, path):
    text = os.path.join(tmp, "notes.h5")
    with open(text, "w") as f:
        f.write("not hdf5\n")
    r = topology(text, "--out", os.path.join(tmp, "bad1"))
    check(r.returncode != 0 and "notes.h5" in r.stderr and "HDF5" in r.stderr, f"non-HDF5 file: {r.stderr.strip()}")
    other = os.path.join(tmp, "other.h5")
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    r = topology(other, "--out", os.path.join(tmp, "bad2"))
    check(r.returncode != 0 and "other.h5" in r.stderr and "not a dcn results file" in r.stderr,
          f"HDF5 non-results file: {r.stderr.strip()}")
    r = topology(path, "--out", os.path.join(tmp, "bad3"), "--compare", "celegans,ba")
    check(r.returncode != 0 and "'ba'" in r.stderr and "synthetic.h5" in r.stderr and "celegans" in r.stderr,
          f"--compare group without trials named, groups listed: {r.stderr.strip()}")
    r = topology(path, "--out", os.path.join(tmp, "bad4"), "--strata", "dataset,colour")
    check(r.returncode != 0 and "colour" in r.stderr, f"unknown stratum key named: {r.stderr.strip()}")
    r = topology("--help")
    check(r.returncode == 0 and "--compare" in r.stdout and "--strata" in r.stdout, "topology.py --help")


def test_dcn_report(tmp, path, real, dtype, attrs):
    h = run([DCN, "report", "--help"])
    check("--topology" in h.stdout and "--compare" in h.stdout, "dcn report --help offers --topology and --compare")
    out = os.path.join(tmp, "report-topo")
    r = run([DCN, "report", path, "--json", "--topology", out, "--compare", ",".join(COMPARE)])
    if check(r.returncode == 0, f"dcn report --topology exits 0: {r.stderr[-1500:]}"):
        json.loads(r.stdout)  # stdout stays the report's JSON
        j = json.load(open(os.path.join(out, "topology.json")))
        check(j["compare"] == COMPARE and len(j["comparisons"]) == 6, "dcn report passes --compare on")
    r = run([DCN, "report", path, "--topology", os.path.join(tmp, "report-bad"), "--compare", "ba"])
    check(r.returncode == 1 and "'ba'" in r.stderr and "topology.py failed" in r.stderr,
          f"dcn report: a --compare group without trials exits 1: {r.stderr.strip()[-400:]}")
    r = run([DCN, "report", path, "--compare", "ba"])
    check(r.returncode == 2, "--compare without --topology or --plots is a usage error")
    # two WS graphs only: plots.py measures every graph with `dcn graph stats`, which the full file
    # would make the slowest step of this test
    small = os.path.join(tmp, "two-graphs.h5")
    write_results(small, with_topology(dtype), attrs,
                  [r for r in design() if r["graph"] in ("ws:n=16,k=4,p=0.1,seed=0", "ws:n=16,k=4,p=0.9,seed=0")])
    pdir = os.path.join(tmp, "report-plots")
    r = run([DCN, "report", small, "--plots", pdir], timeout=300)
    check(r.returncode == 0 and os.path.exists(os.path.join(pdir, "topology.md")) and
          os.path.exists(os.path.join(pdir, "index.md")),
          f"dcn report --plots also runs the topology analysis when the graph varies: {r.stderr[-1000:]}")


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="dcn-topology-test-")
    try:
        layout = real_layout(tmp)
        if layout is None:
            sys.exit(1)
        dtype, attrs, real = layout
        path, _ = test_synthetic(tmp, dtype, attrs)
        test_old_file(tmp)
        test_bad_inputs(tmp, path)
        test_dcn_report(tmp, path, real, dtype, attrs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# total {time.time() - t0:.1f} s")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all topology analysis checks passed")


if __name__ == "__main__":
    main()
