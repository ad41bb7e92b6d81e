#!/usr/bin/python3
"""analysis/mixed.py against R (lme4 + lmerTest) and against answers known by construction; the
null-model test of analysis/stats.py against a hand computation.

- Against R: six data sets (balanced; unbalanced in graphs per group and trials per graph; order
  seeds nested in graphs; a singular fit whose graph variance lme4 estimates as 0; three groups with
  the contrast between two of them; accuracies with a residual sd of 0.002) are written to CSV and
  fitted by ONE Rscript run of tests/py/lmer_reference.R (lmer, REML, Satterthwaite; the contrast
  both as a releveled coefficient and through lmerTest::contest). Estimates and SEs agree to 1e-4
  relative, df and p to 1e-3, variance components to 1e-4 (1e-8 absolute for a component that is
  0); isSingular and the REML criterion agree too (lme4's optimiser is tightened in the R script so
  that it is a reference to 1e-4). A missing Rscript or lmerTest is a failure, not a skip: the
  README's test command installs them.
- Balanced designs: the contrast equals Student's t-test on the graph means (df = G_A + G_B - 2),
  scipy.stats.ttest_ind, a second reference that shares nothing with R.
- False positives: 2,000 seeded studies with graph-to-graph and seed variance and no group effect
  (balanced, 2 groups x 5 graphs x 3 seeds; and 1,000 of an unbalanced variant): the mixed-model
  contrast's rate of p < 0.05 lies in [3.5 %, 6.5 %]; the trial-level Welch rate on the same data is
  printed and must be higher.
- Null-model test: z, empirical p, k and the prediction interval equal numpy by hand on a planted
  ensemble (a tie with a null graph counts as at least as far); k = 5 and k = 19 say p < 0.05 is
  out of reach, k = 20 that it is not; an observed graph far outside gives p = 1/(k+1).
"""
import csv
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import stats as sst

SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "analysis"))
import mixed  # noqa: E402
import stats as S  # noqa: E402

R_SCRIPT = os.path.join(SRC, "tests", "py", "lmer_reference.R")
failures = []


def check(cond, msg):
    print(("ok   - " if cond else "FAIL - ") + msg, flush=True)
    if not cond:
        failures.append(msg)
    return cond


def rel(a, b, tol, what, abs_zero=None):
    """|a - b| <= tol |b|; for a reference of 0 (within abs_zero), |a| <= abs_zero."""
    if abs_zero is not None and abs(b) <= abs_zero:
        return check(abs(a) <= abs_zero, f"{what}: {a:.10g} vs R {b:.10g} (abs {abs_zero:g})")
    ok = np.isfinite(a) and abs(a - b) <= tol * abs(b)
    return check(ok, f"{what}: {a:.10g} vs R {b:.10g} (rel {abs(a - b) / abs(b) if b else math.inf:.1e}, tol {tol:g})")


# ---- data sets ----

def nested(rng, groups, n_graphs, trials, mu, sd_graph, sd_resid, order_seeds=None, sd_order=0.0):
    """Trials of random-intercept graphs: group mean + graph effect (+ graph:order effect) + noise.
    trials: per graph, an int or a callable rng -> int. Graph labels are unique across groups."""
    rows = []
    gid = 0
    for g, ng, m in zip(groups, n_graphs, mu):
        for _ in range(ng):
            ug = rng.normal(0, sd_graph)
            name = f"{g}_g{gid}"
            gid += 1
            for o in range(order_seeds or 1):
                uo = rng.normal(0, sd_order) if order_seeds else 0.0
                nt = trials(rng) if callable(trials) else trials
                for _ in range(nt):
                    rows.append((m + ug + uo + rng.normal(0, sd_resid), g, name, o))
    y = np.array([r[0] for r in rows])
    return dict(y=y, group=np.array([r[1] for r in rows]), graph=np.array([r[2] for r in rows]),
                order=np.array([r[3] for r in rows]) if order_seeds else None)


def singular_set(rng):
    """Every graph of a group has exactly the group's mean (within-graph noise centred per graph), so the
    between-graph spread is below what the noise alone would give and REML puts the graph variance at 0."""
    rows = []
    for g, m, ng in (("A", 0.91, 4), ("B", 0.90, 5)):
        for k in range(ng):
            e = rng.normal(0, 0.01, 3 + k % 2)
            for v in m + e - e.mean():
                rows.append((v, g, f"{g}{k}"))
    return dict(y=np.array([r[0] for r in rows]), group=np.array([r[1] for r in rows]),
                graph=np.array([r[2] for r in rows]), order=None)


def data_sets():
    rng = np.random.default_rng(20260426)
    sets = {}
    sets["balanced"] = (nested(rng, ["A", "B"], [5, 5], 4, [0.92, 0.905], 0.02, 0.01), "A", "B")
    sets["unbalanced"] = (nested(rng, ["A", "B"], [4, 7], lambda r: int(r.integers(2, 7)), [0.88, 0.9], 0.015, 0.012),
                          "B", "A")
    d = nested(rng, ["A", "B"], [4, 5], 2, [0.93, 0.92], 0.012, 0.006, order_seeds=3, sd_order=0.008)
    keep = rng.random(len(d["y"])) > 0.15  # a few trials lost: unbalanced cells
    sets["order"] = ({k: (v[keep] if v is not None else None) for k, v in d.items()}, "A", "B")
    sets["singular"] = (singular_set(rng), "A", "B")
    sets["three_groups"] = (nested(rng, ["A", "B", "C"], [3, 5, 4], lambda r: int(r.integers(2, 5)),
                                   [0.9, 0.92, 0.89], 0.01, 0.01), "C", "B")
    # accuracies as fractions with a seed sd of 0.2 points (MNIST-like): sigma ~ 0.002, where finite
    # differences with an absolute step floor gave df in the thousands
    sets["small_sd"] = (nested(rng, ["A", "B"], [4, 5], lambda r: int(r.integers(2, 5)), [0.98, 0.981], 0.003, 0.002),
                        "A", "B")
    return sets


# ---- against R ----

def run_r(sets, tmp):
    with open(os.path.join(tmp, "sets.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "a", "b", "order"])
        for name, (d, a, b) in sets.items():
            w.writerow([name, a, b, int(d["order"] is not None)])
            with open(os.path.join(tmp, name + ".csv"), "w", newline="") as g:
                wg = csv.writer(g)
                wg.writerow(["acc", "group", "graph"] + (["order"] if d["order"] is not None else []))
                for i in range(len(d["y"])):
                    wg.writerow([repr(float(d["y"][i])), d["group"][i], d["graph"][i]]
                                + ([int(d["order"][i])] if d["order"] is not None else []))
    rscript = shutil.which("Rscript")
    if not check(rscript is not None, "Rscript on PATH (Debian r-base-core r-cran-lme4 r-cran-lmertest)"):
        return None
    t0 = time.time()
    r = subprocess.run([rscript, "--vanilla", R_SCRIPT, tmp], capture_output=True, text=True, timeout=300)
    print(f"# Rscript: {time.time() - t0:.1f} s", flush=True)
    if not check(r.returncode == 0, "Rscript lmer_reference.R exits 0 (lme4 and lmerTest installed)"
                 + ("" if r.returncode == 0 else f": {r.returncode} {r.stderr.strip()[-800:]}")):
        return None
    out = {}
    for row in csv.DictReader(r.stdout.splitlines()):
        out[(row["name"], row["route"])] = {k: (float(v) if v not in ("NA", "") else None)
                                            for k, v in row.items() if k not in ("name", "route")}
    return out


def test_against_r():
    sets = data_sets()
    tmp = tempfile.mkdtemp(prefix="dcn_mixed_")
    try:
        ref = run_r(sets, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if ref is None:
        return
    check(len(ref) == 2 * len(sets), f"R answered for every data set and route: {sorted(ref)}")
    for name, (d, a, b) in sets.items():
        f = mixed.fit(d["y"], d["group"], d["graph"], d["order"])
        c = mixed.contrast(f, a, b)
        rc, rt = ref.get((name, "coef")), ref.get((name, "contest"))
        if not check(rc is not None and rt is not None and f["ok"], f"{name}: fitted here and in R ({f.get('why')})"):
            continue
        # R's two routes to the contrast agree with each other (the reference is self-consistent)
        check(all(abs(rc[k] - rt[k]) <= 1e-6 * abs(rc[k]) for k in ("estimate", "se", "df", "p")),
              f"{name}: R's releveled coefficient and contest(L) agree")
        print(f"# {name}: n={len(d['y'])} est {c['estimate']:.6g} se {c['se']:.6g} df {c['df']:.6g} p {c['p']:.6g}; "
              f"R df {rc['df']:.6g} p {rc['p']:.6g}; var_graph {f['var_graph']:.4g} (R {rc['var_graph']:.4g})")
        rel(c["estimate"], rc["estimate"], 1e-4, f"{name}: estimate")
        rel(c["se"], rc["se"], 1e-4, f"{name}: SE")
        rel(c["df"], rc["df"], 1e-3, f"{name}: Satterthwaite df")
        rel(c["p"], rc["p"], 1e-3, f"{name}: p")
        rel(c["t"], rc["t"], 1e-4, f"{name}: t")
        rel(f["var_graph"], rc["var_graph"], 1e-4, f"{name}: graph variance", abs_zero=1e-8)
        rel(f["var_resid"], rc["var_resid"], 1e-4, f"{name}: residual variance")
        if d["order"] is not None:
            check(f["var_order"] is not None and rc["var_order"] is not None, f"{name}: both fit a graph:order term")
            if f["var_order"] is not None and rc["var_order"] is not None:
                rel(f["var_order"], rc["var_order"], 1e-4, f"{name}: graph:order variance", abs_zero=1e-8)
        # lme4 stops at its optimiser's tolerance: the criterion here may be lower, never higher
        check(f["deviance"] <= rc["reml_crit"] + 1e-7 and f["deviance"] >= rc["reml_crit"] - 1e-5,
              f"{name}: REML criterion {f['deviance']:.10g} vs lme4's REMLcrit {rc['reml_crit']:.10g} "
              f"(diff {f['deviance'] - rc['reml_crit']:.1e})")
        check(bool(f["singular"]) == bool(rc["singular"]), f"{name}: singular {f['singular']} as R's isSingular "
                                                              f"{bool(rc['singular'])}")
    check(ref.get(("singular", "coef"), {}).get("singular") == 1, "the singular data set is singular for lme4")
    check(not any(ref[(n, "coef")]["singular"] for n in sets if n != "singular"),
          "the other data sets are not singular for lme4")


# ---- second reference: balanced designs and the t-test on graph means ----

def test_ttest_on_graph_means():
    rng = np.random.default_rng(7)
    for case, (ga, gb, s, sdg) in enumerate([(5, 5, 3, 0.02), (4, 6, 2, 0.03), (8, 8, 5, 0.01)]):
        d = nested(rng, ["A", "B"], [ga, gb], s, [0.9, 0.91], sdg, 0.01)
        c = mixed.compare(d["y"], d["group"], d["graph"], "A", "B")
        means = {g: d["y"][d["graph"] == g].mean() for g in np.unique(d["graph"])}
        ma = [v for g, v in means.items() if g.startswith("A_")]
        mb = [v for g, v in means.items() if g.startswith("B_")]
        r = sst.ttest_ind(ma, mb, equal_var=True)
        check(not c["singular"] and c["var_graph"] > 0, f"balanced case {case}: graph variance positive "
                                                       f"({c['var_graph']:.3g})")
        tag = f"balanced case {case} ({ga}+{gb} graphs x {s})"
        check(abs(c["estimate"] - (np.mean(ma) - np.mean(mb))) <= 1e-10, f"{tag}: estimate = difference of graph means")
        check(abs(c["df"] - (ga + gb - 2)) <= 1e-4 * (ga + gb - 2), f"{tag}: df {c['df']:.8g} = {ga + gb - 2}")
        check(abs(c["t"] - r.statistic) <= 1e-5 * abs(r.statistic), f"{tag}: t {c['t']:.8g} = {r.statistic:.8g}")
        check(abs(c["p"] - r.pvalue) <= 1e-4 * r.pvalue, f"{tag}: p {c['p']:.8g} = {r.pvalue:.8g}")


# ---- false positives ----

def simulate(rng, n_sim, n_graphs, seeds, sd_graph, sd_seed):
    """n_sim studies at once: y[sim, trial] for the design given by graphs per group and seeds per graph
    (a list per graph); no group effect."""
    per_graph = np.concatenate([np.asarray(s) for s in seeds])
    graph = np.repeat(np.arange(len(per_graph)), per_graph)
    group = np.repeat(np.repeat(["A", "B"], n_graphs), per_graph)
    y = rng.normal(0, sd_graph, (n_sim, len(per_graph)))[:, graph] + rng.normal(0, sd_seed, (n_sim, len(graph)))
    return y, group, graph.astype(str)


def fp_rates(name, y, group, graph):
    t0 = time.time()
    p = np.array([mixed.contrast(mixed.fit(row, group, graph), "A", "B")["p"] for row in y])
    dt = time.time() - t0
    welch = sst.ttest_ind(y[:, group == "A"], y[:, group == "B"], axis=1, equal_var=False).pvalue
    rate, wrate = float(np.mean(p < 0.05)), float(np.mean(welch < 0.05))
    print(f"# {name}: {len(y)} studies, mixed fits {dt:.1f} s ({1e3 * dt / len(y):.1f} ms per fit); "
          f"graph-level rate {100 * rate:.2f} %, trial-level Welch rate {100 * wrate:.2f} %", flush=True)
    check(np.all(np.isfinite(p)), f"{name}: every fit gave a p-value")
    check(0.035 <= rate <= 0.065, f"{name}: graph-level false-positive rate {100 * rate:.2f} % in [3.5, 6.5] %")
    check(wrate > rate, f"{name}: trial-level Welch rate {100 * wrate:.2f} % above the graph-level "
                        f"{100 * rate:.2f} % (trials are not independent)")


def test_false_positives():
    rng = np.random.default_rng(2026)
    # percent points: graph sd 0.3, seed sd 0.2 (ICC 0.69); 2 groups x 5 graphs x 3 seeds
    fp_rates("balanced 5+5 graphs x 3 seeds", *simulate(rng, 2000, [5, 5], [[3] * 10], 0.3, 0.2))
    # unbalanced: 3 against 6 graphs, 2-5 seeds each
    seeds = [[2, 5, 3], [4, 2, 3, 5, 2, 4]]
    # 1,000 studies only: the fits take ~20 ms each on 2 busy cores and the test must stay near a minute
    fp_rates("unbalanced 3+6 graphs x 2-5 seeds", *simulate(rng, 1000, [3, 6], seeds, 0.3, 0.2))


# ---- null-model test ----

def test_null_model():
    if not check(hasattr(S, "null_model_test"), "analysis/stats.py has null_model_test"):
        return
    rng = np.random.default_rng(11)
    k, s = 20, 3
    null_graph = np.repeat(np.arange(k), s)
    # values on a 2^-12 grid: sums of a graph's trials are exact in any order, so a tie below is a tie
    grid = lambda v: np.round(v * 4096) / 4096  # noqa: E731
    null_y = grid(0.9 + rng.normal(0, 0.01, k)[null_graph] + rng.normal(0, 0.005, k * s))
    obs = grid(0.9 + 0.012 + rng.normal(0, 0.005, s))
    r = S.null_model_test(obs, null_y, null_graph)
    m = np.array([null_y[null_graph == g].mean() for g in range(k)])  # by hand
    mu, sd = m.mean(), m.std(ddof=1)
    z = (obs.mean() - mu) / sd
    p = (1 + np.sum(np.abs(m - mu) >= abs(obs.mean() - mu))) / (1 + k)
    half = sst.t.ppf(0.975, k - 1) * sd * math.sqrt(1 + 1 / k)
    print(f"# planted ensemble: k {k}, z {z:.4f}, p {p:.4f}, PI [{mu - half:.5f}, {mu + half:.5f}]; got {r}")
    check(r.get("k") == k, f"k named: {r.get('k')}")
    check(abs(r.get("z", math.nan) - z) <= 1e-9 * abs(z), f"z {r.get('z')} = {z}")
    check(abs(r.get("p", math.nan) - p) <= 1e-12, f"empirical p {r.get('p')} = {p}")
    for key, want in (("pi_low", mu - half), ("pi_high", mu + half)):
        got = r.get(key, math.nan)
        check(abs(got - want) <= 1e-12, f"prediction interval of one more null graph's mean: {key} {got} = {want}")
    check(bool(r.get("reachable")) is True, "k = 20: p < 0.05 is reachable (1/21)")
    # the difference's CI: ensemble mean's variance plus the observed graph's seed noise (pooled within)
    within = np.sum((null_y - m[null_graph]) ** 2) / (k * (s - 1))
    se = math.sqrt(sd ** 2 / k + within / s)
    check(abs(r.get("estimate", math.nan) - (obs.mean() - mu)) <= 1e-12,
          f"difference {r.get('estimate')} = {obs.mean() - mu}")
    check(abs(r.get("se", math.nan) - se) <= 1e-12 * se, f"difference's SE {r.get('se')} = {se}")
    g19 = np.repeat(np.arange(19), s)
    r19 = S.null_model_test(obs, rng.normal(0.9, 0.01, 19 * s), g19)
    check(r19.get("k") == 19 and bool(r19.get("reachable")) is False, "k = 19: 1/20 is not below 0.05, unreachable")
    # a tie counts as "at least as far": the observed trials are those of the null graph farthest out
    far_g = int(np.argmax(np.abs(m - mu)))
    tie = S.null_model_test(null_y[null_graph == far_g], null_y, null_graph)
    check(abs(tie.get("p", math.nan) - 2 / (k + 1)) <= 1e-12, f"observed equal to the farthest null graph: "
                                                                f"p = 2/(k+1) = {2 / (k + 1):.6f} ({tie.get('p')})")
    # k = 5: smallest p is 1/6
    g5 = np.repeat(np.arange(5), s)
    y5 = 0.9 + rng.normal(0, 0.01, 5)[g5] + rng.normal(0, 0.005, 5 * s)
    r5 = S.null_model_test(np.full(s, 0.5), y5, g5)
    check(r5.get("k") == 5 and bool(r5.get("reachable")) is False, f"k = 5 says p < 0.05 cannot be reached: {r5}")
    check(abs(r5.get("p", math.nan) - 1 / 6) <= 1e-12, f"k = 5, observed far outside: p = 1/6 ({r5.get('p')})")
    far = S.null_model_test(np.full(s, 0.5), null_y, null_graph)
    check(abs(far.get("p", math.nan) - 1 / (k + 1)) <= 1e-12, f"k = {k}, observed far outside: p = 1/{k + 1} "
                                                                f"({far.get('p')})")


TESTS = [test_against_r, test_ttest_on_graph_means, test_null_model, test_false_positives]


def main():
    t0 = time.time()
    for t in TESTS:
        t1 = time.time()
        t()
        print(f"# {t.__name__}: {time.time() - t1:.1f} s", flush=True)
    print(f"# total {time.time() - t0:.1f} s")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all mixed-model checks passed")


if __name__ == "__main__":
    main()
