#!/usr/bin/python3
"""analysis/plan.py (study planning) and `dcn report --plan`.

- The power formula against simulation: for 3 designs (graph-dominated at G = 3, seed-dominated,
  between), plan.py's sizes for 80 % power; 1,000 studies simulated at those sizes from the same
  components, each analysed by the verdict method (analysis/mixed.py: REML fit, Satterthwaite
  contrast, p < 0.05); the simulated power must lie within +-5 points of the stated power, and the
  mean CI half-width of the fits within 4 % of half_width().
- power() against the noncentral t integrated here over the chi-square of the SE (scipy.integrate);
  detectable() inverts it; seeds_needed() says when the graph floor leaves a target unreachable.
- next_design() against a brute-force search over every (G, S), with and without a budget.
- The null-model side: the smallest k for p < 0.05 equals the first k at which stats.null_model_test
  on a planted extreme ensemble reaches it (k = 5 cannot); null_power() against a simulation that
  analyses each study with stats.null_model_test; the k -> infinity limit against a large k.
- `dcn report RESULTS --plan DIR` on a tiny real sweep (WS and G(n, m) graphs, two ordering seeds x
  two weight seeds) and on a planted file with the same /summary layout (two families, and mouse
  against its rewirings): plan.md/.json/.csv written; the components equal R lme4's REML fit;
  every row's G is the smallest with power >= 80 % by scipy's noncentral t from those components,
  trials = 2 G S, core-hours from the mean wall_seconds read here with h5py, the cheapest marked;
  the null-model rows' power agrees with the stats.null_model_test simulation; bad option values
  exit 2 with a message.

Mutations shown to fail this test (see the lead's report): df = 2 G instead of 2 (G - 1) (the G = 3
case's simulated power falls short of the stated one), dropping the 1/S of the seed term (the
seed-dominated cases' simulated power far above the stated).
Environment (ctest): DCN_BIN, DCN_SOURCE_DIR; MNIST in the data folder (tests/run.sh fetches it).
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
from scipy import integrate
from scipy import stats as sst

SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DCN = os.environ.get("DCN_BIN", os.path.join(SRC, "build", "dcn"))
sys.path.insert(0, os.path.join(SRC, "analysis"))
import mixed as M  # noqa: E402
import plan as P  # noqa: E402
import stats as S  # noqa: E402

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1")
failures = []


def check(cond, msg):
    print(("ok   - " if cond else "FAIL - ") + msg, flush=True)
    if not cond:
        failures.append(msg)
    return cond


def run(cmd, timeout=300):
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout)
    print(f"# {' '.join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd))}: rc {r.returncode}, "
          f"{time.time() - t:.1f} s", flush=True)
    return r


# ---------------------------------------------------------------- references computed here

def power_quad(delta, vg, vs, G, S, alpha=0.05):
    """Two-sided power of the graph-level t-test: the estimate ~ N(delta, v), its SE^2 ~ v chi2_df / df
    with df = 2 (G - 1) and v = 2 (vg / G + vs / (G S)); integrated over the chi-square."""
    df, v = 2 * (G - 1), 2 * (vg / G + vs / (G * S))
    c, ncp = sst.t.ppf(1 - alpha / 2, df), delta / math.sqrt(v)

    def f(x):
        s = math.sqrt(x / df)
        return (sst.norm.sf(c * s - ncp) + sst.norm.cdf(-c * s - ncp)) * sst.chi2.pdf(x, df)
    return integrate.quad(f, 0, np.inf, limit=200, epsabs=1e-12)[0]


def power_nct(delta, vg, vs, G, S, alpha=0.05):
    df, v = 2 * (G - 1), 2 * (vg / G + vs / (G * S))
    c, ncp = sst.t.ppf(1 - alpha / 2, df), delta / math.sqrt(v)
    with np.errstate(all="ignore"):
        return float(sst.nct.sf(c, df, ncp) + sst.nct.cdf(-c, df, ncp))


def hw_hand(vg, vs, G, S, level=0.95):
    return sst.t.ppf((1 + level) / 2, 2 * (G - 1)) * math.sqrt(2 * (vg / G + vs / (G * S)))


# ---------------------------------------------------------------- formulas

def test_formulas():
    for delta, vg, vs, G, s in [(2.0, 1.0, 4.0, 13, 2), (6.6, 4.0, 1.0, 3, 2), (1.5, 0.5, 2.0, 9, 4),
                                (0.3, 0.0, 1.0, 2, 1), (5.0, 2.0, 0.0, 40, 3)]:
        got, ref = P.power(delta, vg, vs, G, s), power_quad(delta, vg, vs, G, s)
        check(abs(got - ref) < 1e-7, f"power({delta}, {vg}, {vs}, G={G}, S={s}) = {got:.8f}, integrated {ref:.8f}")
        got, ref = P.half_width(vg, vs, G, s), hw_hand(vg, vs, G, s)
        check(abs(got - ref) < 1e-12 * ref, f"half_width G={G} S={s}: {got:.6f} vs {ref:.6f}")
    check(abs(P.contrast_var(1.0, 4.0, 5, 3) - 2 * (1 / 5 + 4 / 15)) < 1e-15, "contrast_var: 2 (vg/G + vs/(G S))")
    check(abs(P.contrast_var(1.0, 4.0, (4, 6), (2, 3)) - (1 / 4 + 1 / 6 + 4 / 8 + 4 / 18)) < 1e-15,
          "contrast_var of an unbalanced pair (G_A, G_B), (S_A, S_B)")
    d = P.detectable(1.0, 4.0, 3, 3)
    check(abs(power_quad(d, 1.0, 4.0, 3, 3) - 0.8) < 1e-6, f"detectable(G=3, S=3) = {d:.4f} has power 0.8")
    # the floor: with 3 graphs per group and vg = 1, 2 points are never detected with 80 % power
    s = P.seeds_needed(1.0, 4.0, 3, detect=2.0)
    lim = power_nct(2.0, 1.0, 0.0, 3, 1)
    check(s is None and lim < 0.8, f"G = 3: no S reaches 80 % for 2 points (limit {100 * lim:.1f} %)")
    s = P.seeds_needed(1.0, 4.0, 12, detect=2.0)
    check(s is not None and power_nct(2.0, 1.0, 4.0, 12, s) >= 0.8 > power_nct(2.0, 1.0, 4.0, 12, s - 1),
          f"G = 12: the smallest S reaching 80 % is {s}")
    tab = P.plan_table(1.0, 4.0, 10.0, detect=2.0, pilot=(3, 3))
    ap = tab["at_pilot_graphs"]
    check(ap["seeds"] is None and abs(ap["power_limit"] - lim) < 1e-9,
          f"plan_table says the pilot's 3 graphs cannot reach it: {ap}")
    for bad in (dict(detect=-1.0), dict(detect=1.0, half_width_target=1.0), dict(), dict(detect=1.0, target=1.0)):
        try:
            P.plan_table(1.0, 1.0, 1.0, **bad)
            check(False, f"plan_table({bad}) refused")
        except ValueError as e:
            check(True, f"plan_table({bad}) refused: {e}")


# ---------------------------------------------------------------- the power claim, by simulation

CASES = [  # var_graph, var_seed, detect (points), seeds per graph
    (4.0, 1.0, 6.6, 2),   # graph-dominated, G = 3: df 4, where 2 G would be 6
    (1.0, 4.0, 2.0, 2),   # seed-dominated
    (0.5, 2.0, 1.5, 4),   # between, more seeds
]


def simulate(vg, vs, delta, G, S, n, seed):
    """n studies of G graphs per group x S trials, fitted with the verdict's mixed model."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.array(["A", "B"]), G * S)
    graph = np.repeat(np.arange(2 * G), S)
    ps, hws, singular = np.empty(n), np.empty(n), 0
    for i in range(n):
        y = 90.0 + delta * (group == "B") + rng.normal(0, math.sqrt(vg), 2 * G)[graph] + \
            rng.normal(0, math.sqrt(vs), 2 * G * S)
        f = M.fit(y, group, graph)
        c = M.contrast(f, "B", "A")
        ps[i], hws[i] = c["p"], (c["high"] - c["low"]) / 2
        singular += bool(f["singular"])
    return ps, hws, singular


def test_power_simulation(n=1000):
    for k, (vg, vs, delta, s) in enumerate(CASES):
        tab = P.plan_table(vg, vs, 60.0, detect=delta, seeds=[s])
        row = tab["rows"][0]
        G, stated = row["graphs"], row["power"]
        t = time.time()
        ps, hws, sing = simulate(vg, vs, delta, G, s, n, seed=100 + k)
        dt = time.time() - t
        sim = float(np.mean(ps < 0.05))
        check(abs(sim - stated) <= 0.05,
              f"case {k + 1} (var_graph {vg}, var_seed {vs}, {delta} points, S = {s}): planned G = {G}, stated power "
              f"{100 * stated:.1f} %, simulated {100 * sim:.1f} % over {n} mixed-model fits ({sing} singular; "
              f"{1000 * dt / n:.1f} ms per fit)")
        hw, mean_hw = P.half_width(vg, vs, G, s), P.mean_half_width(vg, vs, G, s)
        check(abs(np.mean(hws) / mean_hw - 1) <= 0.03 and abs(np.mean(hws) / hw - 1) <= 0.07,
              f"case {k + 1}: mean CI half-width of the fits {np.mean(hws):.3f}, mean_half_width() {mean_hw:.3f} "
              f"({100 * (np.mean(hws) / mean_hw - 1):+.1f} %; half_width() at the true components {hw:.3f}, "
              f"{100 * (np.mean(hws) / hw - 1):+.1f} %)")


# ---------------------------------------------------------------- next_design

def brute_next(vg, vs, g_now, s_now, target, left, g_hi=400, s_hi=60):
    """Every (G, S) on a grid: the fewest trials reaching the target (ties: more graphs), else the
    smallest half-width within the budget (ties: fewer trials)."""
    g, s = np.meshgrid(np.arange(max(g_now, 2), g_hi), np.arange(s_now, s_hi), indexing="ij")
    g, s = g.ravel(), s.ravel()
    hw = sst.t.ppf(0.975, 2 * (g - 1)) * np.sqrt(2 * (vg / g + vs / (g * s)))
    fits = 2 * (g * s - g_now * s_now) <= left
    ok = fits & (hw <= target)
    if ok.any():
        i = min(np.flatnonzero(ok), key=lambda i: (g[i] * s[i], -g[i]))
    elif fits.any():
        i = min(np.flatnonzero(fits), key=lambda i: (hw[i], g[i] * s[i]))
    else:
        return (g_now, s_now)
    return (int(g[i]), int(s[i]))


def test_next_design():
    for vg, vs, g, s, target, left in [(1.0, 4.0, 3, 2, 1.0, 10 ** 6), (1.0, 4.0, 3, 2, 1.0, 40),
                                       (0.2, 6.0, 4, 3, 1.5, 10 ** 6), (0.2, 6.0, 4, 3, 0.8, 100),
                                       (2.0, 0.3, 5, 2, 1.2, 10 ** 6), (1.0, 1.0, 10, 4, 5.0, 50),
                                       (1.0, 4.0, 3, 2, 1.0, 1)]:
        got = P.next_design(vg, vs, 30.0, g, s, target, left)
        ref = brute_next(vg, vs, g, s, target, left)
        hw = hw_hand(vg, vs, *got) if got[0] >= 2 else math.nan
        check(got == ref, f"next_design(vg {vg}, vs {vs}, now {g} x {s}, target {target}, budget {left}) = {got} "
                          f"(half-width {hw:.3f}), brute force {ref}")


# ---------------------------------------------------------------- one graph against k null graphs

def test_null_model():
    reach = []
    for k in range(2, 30):
        null = np.arange(k, dtype=float)
        r = S.null_model_test([1000.0, 1000.0], np.repeat(null, 2), np.repeat(np.arange(k), 2))
        if r["p"] < 0.05:
            reach.append(k)
    check(reach and reach[0] == P.min_null_graphs(0.05) and reach == list(range(reach[0], 30)),
          f"min_null_graphs(0.05) = {P.min_null_graphs(0.05)}, first k where stats.null_model_test reaches p < 0.05: "
          f"{reach[:1]}")
    check(P.min_null_graphs(0.05) > 5 and P.null_power(50.0, 1.0, 1.0, 5, 3) == 0.0,
          "k = 5 can never give p < 0.05: power 0 however far the real graph lies")
    rng = np.random.default_rng(5)
    agree = True
    for _ in range(200):
        k, s = int(rng.integers(3, 25)), int(rng.integers(1, 4))
        null_y, obs = rng.normal(0, 1, k * s), rng.normal(rng.normal(0, 1.5), 1, s)
        graph = np.repeat(np.arange(k), s)
        ref = S.null_model_test(obs, null_y, graph)["p"]
        means = np.bincount(graph, weights=null_y) / s
        agree &= abs(P.null_pvalues([obs.mean()], means[None, :])[0] - ref) < 1e-12
    check(agree, "null_pvalues equals stats.null_model_test's p on 200 random ensembles")
    for delta, vg, vs, k, s in [(3.0, 1.0, 2.0, 30, 3), (2.5, 0.5, 1.0, 60, 2)]:
        got = P.null_power(delta, vg, vs, k, s)
        n = 1500
        hit = 0
        rng = np.random.default_rng(77)
        graph = np.repeat(np.arange(k), s)
        for _ in range(n):
            null_y = (rng.normal(0, math.sqrt(vg), k)[graph] + rng.normal(0, math.sqrt(vs), k * s))
            obs = delta + rng.normal(0, math.sqrt(vs), s)
            hit += S.null_model_test(obs, null_y, graph)["p"] < 0.05
        ref = hit / n
        check(abs(got - ref) < 0.045, f"null_power({delta}, k={k}, S={s}) = {100 * got:.1f} %, stats.null_model_test "
                                      f"over {n} simulated studies {100 * ref:.1f} %")
    lim = P.null_power_limit(3.0, 1.0, 2.0, 3)
    big = P.null_power(3.0, 1.0, 2.0, 3000, 3, n_sim=3000)
    check(abs(lim - big) < 0.03, f"power as k -> infinity {100 * lim:.1f} %, simulated at k = 3000 {100 * big:.1f} %")
    check(P.null_power_limit(1.5, 1.0, 2.0, 10 ** 9) < 0.01,
          "a real graph 1.5 sd_graph from the null mean is inside the nulls' spread: no S detects it")


# ---------------------------------------------------------------- dcn report --plan

TINY = """output: {out}/pilot/results.h5
graphs:
  - {{family: ws, n: 8, k: 4, p: 0.5, seed: 0..2}}
  - {{family: gnm, n: 8, m: 16, seed: 0..2}}
variants: [paper]
seeds: 0..1
order_seeds: 0..1
epochs: 1
batch: 16
channels: 2
train_limit: 512
test_limit: 200
"""


def summary_frame(path):
    with h5py.File(path, "r") as f:
        s = f["summary"][:]
    d = pd.DataFrame({n: [x.decode() for x in s[n]] if s.dtype[n].kind == "S" else s[n]
                      for n in ("graph", "status", "seed", "order_seed", "test_accuracy", "wall_seconds")})
    d = d[d["status"] == "done"].copy()
    d["acc"] = 100 * d["test_accuracy"]
    d["family"] = [g.split(":")[0] if ":" in g else g for g in d["graph"]]
    return d


def r_components(d, order, tmp):
    """(graph, order, residual) variances from R's lme4 (REML), or None without Rscript/lme4 (a failure:
    the test setup installs them).
    statsmodels' MixedLM is no reference here: on the tiny sweep's boundary fit (ordering variance 0)
    it stops at a REML criterion above lme4's optimum."""
    if not shutil.which("Rscript"):
        return None
    csv, res = os.path.join(tmp, "r-data.csv"), os.path.join(tmp, "r-vc.csv")
    d[["acc", "family", "graph", "order_seed"]].to_csv(csv, index=False)
    term = " + (1 | graph:order_seed)" if order else ""
    code = (f'suppressMessages(library(lme4)); d <- read.csv("{csv}"); d$order_seed <- factor(d$order_seed); '
            f'm <- lmer(acc ~ family + (1 | graph){term}, data = d, REML = TRUE, '
            f'control = lmerControl(optimizer = "bobyqa")); '
            f'v <- as.data.frame(VarCorr(m)); write.csv(v[, c("grp", "vcov")], "{res}", row.names = FALSE)')
    r = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        print("# Rscript/lme4 failed, components not compared:", r.stderr[-300:])
        return None
    v = dict(pd.read_csv(res).values.tolist())
    return v["graph"], v.get("graph:order_seed", 0.0), v["Residual"]


def check_graph_rows(c, d, a, b, what):
    """Every row: smallest G with power >= 0.8 (scipy nct from the reported components), trials, cost."""
    vg, vs = c["fit"]["var_graph"], c["fit"]["var_seed"]
    ta = d[d["family"] == a]["wall_seconds"].mean()
    tb = d[d["family"] == b]["wall_seconds"].mean()
    ok_g = ok_cost = True
    for r in c["rows"]:
        G, s = r["graphs"], r["seeds"]
        ok_g &= power_nct(DETECT, vg, vs, G, s) >= 0.8 and (G == 2 or power_nct(DETECT, vg, vs, G - 1, s) < 0.8)
        ok_g &= abs(r["power"] - power_nct(DETECT, vg, vs, G, s)) < 1e-9
        ok_g &= abs(r["half_width"] - hw_hand(vg, vs, G, s)) < 1e-9 * r["half_width"]
        ok_cost &= r["trials"] == 2 * G * s and abs(r["core_hours"] - G * s * (ta + tb) / 3600) < 1e-9 * r["core_hours"]
    check(ok_g, f"{what}: every row's G is the smallest with power >= 80 % (nct from the components), power and "
                f"half-width equal ({[(r['seeds'], r['graphs']) for r in c['rows']]})")
    check(ok_cost, f"{what}: trials = 2 G S, core-hours = G S (t_A + t_B) / 3600 with t from h5py "
                   f"({ta:.4f} s, {tb:.4f} s)")
    costs = [r["core_hours"] for r in c["rows"]]
    check([r["cheapest"] for r in c["rows"]].count(True) == 1 and c["rows"][int(np.argmin(costs))]["cheapest"],
          f"{what}: the cheapest row is marked")


DETECT = 2.0


def test_report_tiny(tmp):
    yml = os.path.join(tmp, "pilot.yaml")
    with open(yml, "w") as f:
        f.write(TINY.format(out=tmp))
    r = run([DCN, "sweep", yml, "--quiet"])
    path = os.path.join(tmp, "pilot", "results.h5")
    if not check(r.returncode == 0 and os.path.exists(path), f"tiny pilot sweep: {r.stderr[-800:]}"):
        return None
    out = os.path.join(tmp, "plan")
    r = run([DCN, "report", path, "--plan", out, "--detect", str(DETECT), "--compare", "ws,gnm"])
    if not check(r.returncode == 0, f"dcn report --plan exits 0: {r.stderr[-1500:]}"):
        return path
    check(r.stdout.startswith("# dcn report") and "plan.py: wrote plan.md" in r.stderr and
          "study plan files written to" in r.stderr, "stdout stays the report; the plan's summary goes to stderr")
    j = json.load(open(os.path.join(out, "plan.json")))
    md = open(os.path.join(out, "plan.md")).read()
    csv = pd.read_csv(os.path.join(out, "plan.csv"))
    check(len(j["comparisons"]) == 1 and len(csv) == len(P.SEEDS), f"one comparison, {len(P.SEEDS)} CSV rows")
    c = j["comparisons"][0]
    d = summary_frame(path)
    fit = c["fit"]
    ref = r_components(d, True, tmp)
    check(ref is not None, "R lme4 ran (the README's test command installs r-cran-lme4)")
    if ref:
        tol = 1e-3 * d["acc"].var()
        check(fit["var_order"] is not None and all(abs(a - b) < tol for a, b in
                                                   zip((fit["var_graph"], fit["var_order"], fit["var_resid"]), ref)),
              f"components (graph, order, residual) {fit['var_graph']:.4f}, {fit['var_order']:.4f}, "
              f"{fit['var_resid']:.4f}; R lme4 REML {ref[0]:.4f}, {ref[1]:.4f}, {ref[2]:.4f}")
    check(abs(fit["var_seed"] - fit["var_resid"] - fit["var_order"]) < 1e-12, "var_seed = residual + ordering")
    check(c["pilot"]["graphs"] == [3, 3] and c["pilot"]["seeds_per_graph"] == [4, 4], "pilot: 3 graphs x 4 trials")
    check_graph_rows(c, d, "ws", "gnm", "tiny sweep")
    for word in ("noncentral t", "core-hours", "cheapest", "REML", "var_seed"):
        check(word in md, f"plan.md names '{word}'")
    check(list(csv["graphs"]) == [r["graphs"] for r in c["rows"]], "plan.csv rows = plan.json rows")
    r = run([DCN, "report", path, "--plan", os.path.join(tmp, "plan-hw"), "--half-width", "3"])
    if check(r.returncode == 0, f"--half-width 3 without --compare: {r.stderr[-800:]}"):
        c = json.load(open(os.path.join(tmp, "plan-hw", "plan.json")))["comparisons"]
        ok = len(c) == 1 and all(hw_hand(c[0]["fit"]["var_graph"], c[0]["fit"]["var_seed"], r["graphs"], r["seeds"]) <=
                                 3 < (hw_hand(c[0]["fit"]["var_graph"], c[0]["fit"]["var_seed"], r["graphs"] - 1,
                                              r["seeds"]) if r["graphs"] > 2 else math.inf) for r in c[0]["rows"])
        check(ok, "every pair of graph groups with >= 2 graphs; each G is the smallest with half-width <= 3")
    return path


def planted_rows(rng):
    """(graph, seed, order_seed, acc %, seconds): two families of 6 graphs x 3 seeds (var_graph 1,
    var_seed 0.5; gnm 1 point lower), mouse 4 points above its 24 rewirings' mean, 3 seeds each."""
    rows = []
    for fam, shift, secs in (("ws:n=8,k=4,p=0.5", 90.0, 2.0), ("gnm:n=8,m=16", 89.0, 3.0)):
        for g in range(6):
            eff = rng.normal(0, 1.0)
            rows += [(f"{fam},seed={g}", w, 0, shift + eff + rng.normal(0, math.sqrt(0.5)), secs) for w in range(3)]
    rows += [("mouse", w, 0, 94.0 + rng.normal(0, math.sqrt(0.5)), 20.0) for w in range(3)]
    for g in range(24):
        eff = rng.normal(0, 1.0)
        rows += [(f"rewire:mouse,swaps_per_edge=10,seed={g}", w, 0, 90.0 + eff + rng.normal(0, math.sqrt(0.5)), 25.0)
                 for w in range(3)]
    return rows


def write_planted(real, path):
    """A results file with the real one's /summary layout and planted accuracies; the topology columns
    are left missing, so the readers derive them from the graph strings."""
    rows = planted_rows(np.random.default_rng(11))
    with h5py.File(real, "r") as f:
        dtype, attrs, first = f["summary"].dtype, dict(f.attrs), f["summary"][0]
    data = np.zeros(len(rows), dtype=dtype)
    for i, (graph, seed, order, acc, secs) in enumerate(rows):
        rec = first.copy()
        for name in dtype.names:
            kind = dtype.fields[name][0].kind
            if name.startswith("graph_") or name in ("base_graph", "swaps_per_edge", "rewire_swaps") or \
                    name.startswith("dag_") or name in ("nodes", "edges", "clustering", "path_length", "modularity",
                                                        "small_world_sigma", "spectral_radius",
                                                        "algebraic_connectivity"):
                rec[name] = b"" if kind == "S" else (-1 if kind in "iu" else np.nan)
        rec["index"], rec["id"], rec["graph"], rec["seed"], rec["order_seed"] = i, f"t{i:016x}".encode(), \
            graph.encode(), seed, order
        rec["test_accuracy"], rec["best_test_accuracy"], rec["wall_seconds"] = acc / 100, acc / 100, secs
        rec["status"] = b"done"
        data[i] = rec
    with h5py.File(path, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        f.attrs["trials"] = f.attrs["done"] = len(rows)
        f.create_dataset("summary", data=data)
        f.create_group("trials")
    return rows


def test_report_planted(tmp, real):
    path = os.path.join(tmp, "planted.h5")
    write_planted(real, path)
    out = os.path.join(tmp, "plan-planted")
    r = run([DCN, "report", path, "--plan", out, "--detect", "3", "--compare", "ws,gnm,mouse,rewire:mouse"])
    if not check(r.returncode == 0, f"planted file: dcn report --plan exits 0: {r.stderr[-1500:]}"):
        return
    j = json.load(open(os.path.join(out, "plan.json")))
    by = {(c["a"], c["b"]): c for c in j["comparisons"]}
    skipped = {(c["a"], c["b"]) for c in j["skipped"]}
    check(set(by) >= {("ws", "gnm"), ("mouse", "rewire:mouse")} and not skipped,
          f"comparisons planned: {sorted(by)}; skipped {sorted(skipped)}")
    d = summary_frame(path)
    c = by.get(("ws", "gnm"))
    if c:
        sub = d[d["family"].isin(["ws", "gnm"])]
        ref = r_components(sub, False, tmp)
        check(ref is not None, "R lme4 ran for ws vs gnm")
        if ref:
            check(c["fit"]["var_order"] is None and abs(c["fit"]["var_graph"] - ref[0]) < 1e-3 * ref[0] and
                  abs(c["fit"]["var_resid"] - ref[2]) < 1e-3 * ref[2],
                  f"ws vs gnm components {c['fit']['var_graph']:.4f}, {c['fit']['var_resid']:.4f}; R lme4 "
                  f"{ref[0]:.4f}, {ref[2]:.4f} (planted 1, 0.5)")
        global DETECT
        DETECT = 3.0
        check_graph_rows(c, sub, "ws", "gnm", "planted ws vs gnm")
    c = by.get(("mouse", "rewire:mouse"))
    if not c:
        return
    check(c["kind"] == "null model" and c["pilot"]["null_graphs"] == 24 and c["pilot"]["p_reachable"],
          f"mouse vs its 24 rewirings is a null-model plan: {c['pilot']}")
    vg, vs = c["fit"]["var_graph"], c["fit"]["var_seed"]
    reach = [r for r in c["rows"] if r["null_graphs"]]
    check(len(reach) >= 3 and all(r["null_graphs"] >= 20 and r["power"] >= 0.8 and r["trials"] == r["seeds"] *
                                  (r["null_graphs"] + 1) and abs(r["core_hours"] - r["seeds"] *
                                                                 (20.0 + 25.0 * r["null_graphs"]) / 3600) < 1e-9
                                  for r in reach),
          f"null-model rows: k >= 20, power >= 80 %, trials S (k + 1), core-hours from 20 s and 25 s per trial: "
          f"{[(r['seeds'], r['null_graphs']) for r in c['rows']]}")
    for r in c["rows"]:
        lim = P.null_power_limit(3.0, vg, vs, r["seeds"])
        if r["null_graphs"] is None:
            check(lim < 0.85, f"S = {r['seeds']}: unreachable, the k -> infinity limit is {100 * lim:.1f} %")
    r0 = min(reach, key=lambda r: r["null_graphs"])
    rng, n, k, s = np.random.default_rng(3), 1500, r0["null_graphs"], r0["seeds"]
    graph = np.repeat(np.arange(k), s)
    hit = sum(S.null_model_test(3.0 + rng.normal(0, math.sqrt(vs), s), rng.normal(0, math.sqrt(vg), k)[graph] +
                                rng.normal(0, math.sqrt(vs), k * s), graph)["p"] < 0.05 for _ in range(n))
    check(abs(hit / n - r0["power"]) < 0.045, f"S = {s}, k = {k}: stated power {100 * r0['power']:.1f} %, "
                                              f"stats.null_model_test over {n} studies {100 * hit / n:.1f} %")
    md = open(os.path.join(out, "plan.md")).read()
    check("null-model test" in md and "power as k -> infinity" in md, "plan.md has the null-model table")


def test_bad_options(tmp, path):
    h = run([DCN, "report", "--help"])
    check(all(w in h.stdout for w in ("--plan DIR", "--detect D", "--half-width H", "--power P")),
          "dcn report --help describes --plan, --detect, --half-width, --power")
    out = os.path.join(tmp, "bad")
    for args, word in ((["--plan", out, "--detect", "-1"], "positive"),
                       (["--plan", out, "--detect", "1", "--half-width", "2"], "not both"),
                       (["--plan", out], "one target"),
                       (["--detect", "1"], "need --plan"),
                       (["--plan", out, "--detect", "1", "--power", "1.2"], "between 0 and 1"),
                       (["--plan", out, "--detect", "1", "--power", "0"], "between 0 and 1"),
                       (["--plan", out, "--half-width", "1", "--power", "0.9"], "applies to --detect"),
                       (["--plan", out, "--half-width", "0"], "positive")):
        r = run([DCN, "report", path] + args)
        check(r.returncode == 2 and word in r.stderr and not os.path.exists(out),
              f"dcn report {' '.join(args[2:] if args[0] == '--plan' else args)}: exit 2, '{r.stderr.strip()}'")
    r = run([DCN, "report", path, "--plan", out, "--detect", "1", "--compare", "ws,ba"])
    check(r.returncode == 1 and "'ba'" in r.stderr, f"a --compare group without trials: exit 1: "
                                                     f"{r.stderr.strip()[-300:]}")


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="dcn-plan-test-")
    try:
        for t in (test_formulas, test_next_design, test_null_model, test_power_simulation):
            t1 = time.time()
            t()
            print(f"# {t.__name__}: {time.time() - t1:.1f} s")
        if os.access(DCN, os.X_OK):
            real = test_report_tiny(tmp)
            if real:
                test_report_planted(tmp, real)
                test_bad_options(tmp, real)
        else:
            print(f"# {DCN} not built: dcn report --plan not checked")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# {time.time() - t0:.1f} s")
    if failures:
        print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
