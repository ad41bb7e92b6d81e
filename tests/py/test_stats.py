#!/usr/bin/python3
"""analysis/stats.py against scipy and against answers known by construction.

- Welch's t, Mann-Whitney U and Spearman's rho equal scipy.stats (ttest_ind(equal_var=False),
  mannwhitneyu, spearmanr) on exact, asymptotic and tied samples; the Spearman bootstrap CI agrees
  with scipy.stats.bootstrap (paired, percentile) to Monte Carlo error;
- Holm's adjustment equals lists computed by hand (monotone, capped at 1, NaN kept out of m);
- a large known shift gives p < 1e-6 and CIs of Cohen's d and Cliff's delta that hold the true values;
  the CIs cover at about their nominal 95% over seeded repetitions;
- identical distributions: Welch p-values look uniform and the Holm-corrected family of 5 comparisons
  rejects anything in at most ~5% of 200 seeded repetitions;
- the bounded mean CI never leaves [0, 1] ([0.99, 1.0], the two-trial [0.515, 0.95], all 0 or all 1);
- the variance decomposition equals the textbook balanced ANOVA estimator computed here from mean
  squares, the unbalanced one-way estimator (n0 formula), recovers known components from simulated
  designs (graph-seed sd 0.02, order sd 0, weight sd 0.01; and with the order effect instead of the
  graph effect, which fails if the decomposition swaps components), and handles designs where a
  factor has one level or no residual df is left.
"""
import math
import os
import sys
import time

import numpy as np
from scipy import stats as sst

SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "analysis"))
import stats as S  # noqa: E402

failures = []


def check(cond, msg):
    print(("ok   - " if cond else "FAIL - ") + msg, flush=True)
    if not cond:
        failures.append(msg)
    return cond


def close(a, b, tol, what):
    return check(a is not None and b is not None and abs(a - b) <= tol * max(1.0, abs(b)),
                 f"{what}: {a!r} vs {b!r} (tol {tol:g})")


def samples(seed, na, nb, shift=0.0, sd=1.0, ties=False):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, sd, na), rng.normal(shift, sd, nb)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    return a, b


def test_welch():
    for seed, (na, nb, shift) in enumerate([(5, 7, 0.3), (20, 9, 1.0), (3, 3, 0.0), (40, 60, -0.2)]):
        a, b = samples(seed, na, nb, shift, sd=1 + seed)
        a *= 0.5 + seed  # unequal variances
        w = S.welch_t(a, b)
        r = sst.ttest_ind(a, b, equal_var=False)
        close(w["statistic"], r.statistic, 1e-12, f"Welch t, case {seed}")
        close(w["p"], r.pvalue, 1e-10, f"Welch p, case {seed}")
        va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
        close(w["df"], (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1)), 1e-12, f"Welch df, case {seed}")
    check(math.isnan(S.welch_t([1.0], [2.0, 3.0])["p"]), "Welch p is NaN with one value in a group")
    check(math.isnan(S.welch_t([1.0, 1.0], [1.0, 1.0])["p"]), "Welch p is NaN with no spread")


def test_mann_whitney():
    cases = [(4, 6, 0.5, False, "exact"), (12, 15, 0.8, False, "asymptotic"), (6, 5, 0.3, True, "asymptotic")]
    for i, (na, nb, shift, ties, how) in enumerate(cases):
        a, b = samples(10 + i, na, nb, shift, ties=ties)
        if ties:
            b[0] = a[0]  # at least one tie
        m = S.mann_whitney(a, b)
        r = sst.mannwhitneyu(a, b, alternative="two-sided")
        close(m["statistic"], float(r.statistic), 1e-12, f"Mann-Whitney U, case {i}")
        close(m["p"], float(r.pvalue), 1e-12, f"Mann-Whitney p, case {i}")
        check(m["p_method"] == how, f"Mann-Whitney case {i} names the {how} method: {m['p_method']}")


def test_holm():
    got = S.holm([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> raised to 0.06 (monotone)
    check(np.allclose(got, [0.03, 0.06, 0.06, 0.02]), f"Holm by hand: {got}")
    got = S.holm([0.5, 0.6, 0.001])
    check(np.allclose(got, [1.0, 1.0, 0.003]), f"Holm caps at 1: {got}")
    got = S.holm([0.02, float("nan"), 0.01])
    check(np.allclose(got[[0, 2]], [0.02, 0.02]) and math.isnan(got[1]), f"Holm leaves NaN out of m: {got}")
    check(len(S.holm([])) == 0, "Holm of an empty family")


def test_large_shift():
    a, b = samples(99, 40, 40, shift=3.0)
    check(S.welch_t(a, b)["p"] < 1e-6, "Welch p < 1e-6 for a 3 SD shift")
    check(S.mann_whitney(a, b)["p"] < 1e-6, "Mann-Whitney p < 1e-6 for a 3 SD shift")
    d = S.cohens_d(a, b)
    check(d["low"] <= -3.0 <= d["high"] and d["ci_method"] == "noncentral t",
          f"Cohen's d CI {d['low']:.2f}..{d['high']:.2f} ({d['ci_method']}) holds the true d = -3")
    c = S.cliffs_delta(a, b)
    true_delta = 2 * sst.norm.cdf(-3.0 / math.sqrt(2)) - 1
    check(c["low"] <= true_delta <= c["high"],
          f"Cliff's delta CI {c['low']:.3f}..{c['high']:.3f} holds {true_delta:.3f}")
    u = sst.mannwhitneyu(a, b).statistic
    close(c["delta"], 2 * u / (len(a) * len(b)) - 1, 1e-12, "Cliff's delta = 2U/(nm) - 1")
    # complete separation: the interval must stay informative (not the point [1, 1])
    c = S.cliffs_delta([3, 4, 5], [0, 1, 2])
    check(c["delta"] == 1 and c["high"] == 1 and 0 <= c["low"] < 0.9, f"separated samples: CI {c['low']:.3f}..1")


def test_coverage():
    """95% CIs of d and delta cover their true values in about 95% of 400 seeded repetitions."""
    true_d, cover_d, cover_c = 0.8, 0, 0
    true_delta = 2 * sst.norm.cdf(true_d / math.sqrt(2)) - 1
    reps = 400
    for s in range(reps):
        a, b = samples(1000 + s, 12, 10, shift=-true_d)
        d, c = S.cohens_d(a, b), S.cliffs_delta(a, b)
        cover_d += d["low"] <= true_d <= d["high"]
        cover_c += c["low"] <= true_delta <= c["high"]
    check(0.92 <= cover_d / reps <= 0.98, f"Cohen's d CI coverage {cover_d / reps:.3f} (nominal 0.95)")
    check(0.91 <= cover_c / reps <= 0.99, f"Cliff's delta CI coverage {cover_c / reps:.3f} (nominal 0.95)")
    # the noncentral-t bounds are what they claim: P(T <= t | nc_low) = 0.975, P(T <= t | nc_high) = 0.025
    a, b = samples(7, 8, 9, shift=-1.0)
    d = S.cohens_d(a, b)
    k = math.sqrt(8 * 9 / 17)
    close(sst.nct.cdf(d["d"] * k, 15, d["low"] * k), 0.975, 1e-7, "noncentral-t lower bound")
    close(sst.nct.cdf(d["d"] * k, 15, d["high"] * k), 0.025, 1e-7, "noncentral-t upper bound")


def test_null_family():
    """Identical distributions: p uniform-ish, Holm keeps the family-wise error near 5%."""
    reps, family, any_reject, ps = 200, 5, 0, []
    for s in range(reps):
        p = [S.welch_t(*samples(5000 + s * family + j, 8, 8))["p"] for j in range(family)]
        ps += p
        any_reject += bool((S.holm(p) < 0.05).any())
    check(any_reject / reps <= 0.08, f"Holm family-wise false-positive rate {any_reject / reps:.3f} <= 0.05 + slack")
    ks = sst.kstest(ps, "uniform")
    check(ks.pvalue > 0.001, f"null Welch p-values uniform (KS p = {ks.pvalue:.3g})")


def test_spearman():
    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    y = 0.6 * x + rng.normal(size=30)
    r = S.spearman(x, y, n_boot=4000, seed=1)
    ref = sst.spearmanr(x, y)
    close(r["rho"], ref.correlation, 1e-12, "Spearman rho")
    close(r["p"], ref.pvalue, 1e-12, "Spearman p")
    b = sst.bootstrap((x, y), lambda u, v: sst.spearmanr(u, v).correlation, paired=True, vectorized=False,
                      n_resamples=4000, method="percentile", random_state=np.random.default_rng(2))
    close(r["low"], b.confidence_interval.low, 0.05, "Spearman bootstrap CI low vs scipy.stats.bootstrap")
    close(r["high"], b.confidence_interval.high, 0.05, "Spearman bootstrap CI high vs scipy.stats.bootstrap")
    check(S.spearman(x, y, seed=1)["low"] == S.spearman(x, y, seed=1)["low"], "seeded bootstrap is reproducible")
    check(math.isnan(S.spearman([1, 1, 1, 1], [1, 2, 3, 4])["rho"]), "rho of a constant is NaN")
    a = np.round(rng.normal(size=(50, 17)), 1)  # many ties
    check(np.array_equal(S.rank_rows(a), sst.rankdata(a, axis=1)), "vectorised ranks equal scipy's rankdata")
    tied = S.spearman([1, 1, 2, 2, 3, 3], [1, 2, 2, 3, 3, 4], n_boot=500)
    close(tied["rho"], sst.spearmanr([1, 1, 2, 2, 3, 3], [1, 2, 2, 3, 3, 4]).correlation, 1e-12, "Spearman with ties")
    check(tied["boot_dropped"] > 0 and np.isfinite(tied["low"]), "constant resamples dropped and counted")


def test_bounded_ci():
    for x in ([0.99, 1.0], [0.515, 0.95], [1.0, 1.0, 1.0], [0.0, 0.0], [0.0, 1.0], [0.999, 0.9995, 1.0, 1.0]):
        r = S.bounded_mean_ci(x, n_test=10000)
        inside = 0 <= r["low"] <= r["high"] <= 1
        check(inside and r["low"] <= max(x) and r["high"] >= min(x) - 1e-12,
              f"bounded CI of {x}: {r['low']:.6g}..{r['high']:.6g} inside [0, 1]")
    r = S.bounded_mean_ci([0.515, 0.95])
    t = S.bounded_mean_ci([0.515, 0.95])["mean"]
    check(abs(t - 0.7325) < 1e-12 and "logit" in r["method"], f"plain mean and the method named: {r['method']}")
    rng = np.random.default_rng(4)
    x = rng.normal(0.5, 0.02, 50)
    r = S.bounded_mean_ci(x)
    half = sst.t.ppf(0.975, 49) * x.std(ddof=1) / math.sqrt(50)
    close(r["low"], x.mean() - half, 2e-3, "away from the bounds the logit interval is close to the plain t one")
    check(math.isnan(S.bounded_mean_ci([0.9])["low"]), "one value: no CI")


# ---------------------------------------------------------------- variance components

def balanced(seed, ng, no, nw, sd_g, sd_o, sd_w, sd_e):
    """Simulated accuracies: graph effect, order effect within graph seed, weight main effect, noise."""
    rng = np.random.default_rng(seed)
    g_eff, o_eff = rng.normal(0, sd_g, ng), rng.normal(0, sd_o, (ng, no))
    w_eff = rng.normal(0, sd_w, nw)
    g, o, w = [a.ravel() for a in np.meshgrid(np.arange(ng), np.arange(no), np.arange(nw), indexing="ij")]
    y = 0.9 + g_eff[g] + o_eff[g, o] + w_eff[w] + rng.normal(0, sd_e, len(g))
    return y, g, o, w


def comps(r):
    out = {c["name"]: c["variance"] for c in r["components"]}
    out["residual"] = r["residual"]["variance"]
    return out


def test_textbook_balanced():
    ng, no, nw = 5, 3, 4
    y, g, o, w = balanced(11, ng, no, nw, 0.02, 0.01, 0.005, 0.01)
    c = comps(S.seed_variance(y, g, o, w))
    cube = y.reshape(ng, no, nw)
    m = cube.mean()
    ms_g = no * nw * ((cube.mean(axis=(1, 2)) - m) ** 2).sum() / (ng - 1)
    ms_o = nw * ((cube.mean(axis=2) - cube.mean(axis=(1, 2))[:, None]) ** 2).sum() / (ng * (no - 1))
    ss_w = ng * no * ((cube.mean(axis=(0, 1)) - m) ** 2).sum()
    ss_tot = ((cube - m) ** 2).sum()
    ss_e = ss_tot - ms_g * (ng - 1) - ms_o * ng * (no - 1) - ss_w
    ms_e = ss_e / ((ng * no - 1) * (nw - 1))
    close(c["residual"], ms_e, 1e-9, "residual = MS_error")
    close(c["weight_seed"], max(0, (ss_w / (nw - 1) - ms_e) / (ng * no)), 1e-9, "weight seed = (MS_W - MS_e)/(ng no)")
    close(c["order_seed"], max(0, (ms_o - ms_e) / nw), 1e-9, "order seed = (MS_O(G) - MS_e)/nw")
    close(c["graph_seed"], max(0, (ms_g - ms_o) / (no * nw)), 1e-9, "graph seed = (MS_G - MS_O(G))/(no nw)")


def test_unbalanced_oneway():
    rng = np.random.default_rng(12)
    sizes = [2, 5, 3, 7, 4]
    lab = np.repeat(np.arange(5), sizes)
    y = rng.normal(0, 1, 5)[lab] + rng.normal(0, 0.5, len(lab))
    r = S.variance_components(y, [("g", lab)])
    n, a = len(y), len(sizes)
    means = np.array([y[lab == i].mean() for i in range(a)])
    ms_a = sum(s * (mu - y.mean()) ** 2 for s, mu in zip(sizes, means)) / (a - 1)
    ms_e = sum(((y[lab == i] - means[i]) ** 2).sum() for i in range(a)) / (n - a)
    n0 = (n - sum(s * s for s in sizes) / n) / (a - 1)
    close(r["residual"]["variance"], ms_e, 1e-9, "unbalanced one-way: residual = MS_within")
    close(r["components"][0]["raw"], (ms_a - ms_e) / n0, 1e-9, "unbalanced one-way: (MS_A - MS_e)/n0")
    check("Henderson" in r["method"], f"method named: {r['method']}")


def test_recovery():
    """Averages over 40 simulated balanced designs recover the true variances (graph-seed sd 0.02,
    order sd 0, weight sd 0.01 per trial), then the same with the order effect instead of the graph's."""
    for label, sd_g, sd_o in (("graph effect", 0.02, 0.0), ("order effect", 0.0, 0.02)):
        est = [comps(S.seed_variance(*balanced(200 + s, 8, 4, 5, sd_g, sd_o, 0.0, 0.01))) for s in range(40)]
        mean = {k: np.mean([e[k] for e in est]) for k in est[0]}
        weight_total = mean["weight_seed"] + mean["residual"]
        tol = 0.2 * 0.02 ** 2
        check(abs(mean["graph_seed"] - sd_g ** 2) <= tol + (2e-5 if sd_g == 0 else 0),
              f"{label}: graph-seed variance {mean['graph_seed']:.2e} vs {sd_g ** 2:.1e}")
        check(abs(mean["order_seed"] - sd_o ** 2) <= tol + (2e-5 if sd_o == 0 else 0),
              f"{label}: order-seed variance {mean['order_seed']:.2e} vs {sd_o ** 2:.1e}")
        check(abs(weight_total - 1e-4) <= 0.15e-4, f"{label}: weight-seed variance {weight_total:.2e} vs 1.0e-04")
        big = "graph_seed" if sd_g else "order_seed"
        small = "order_seed" if sd_g else "graph_seed"
        check(mean[big] > 10 * mean[small], f"{label}: {big} dominates {small} (not swapped)")
    # a weight effect shared by every network shows as the weight-seed main effect, not the residual
    est = [comps(S.seed_variance(*balanced(300 + s, 4, 3, 8, 0.0, 0.0, 0.01, 0.002))) for s in range(40)]
    w = np.mean([e["weight_seed"] for e in est])
    check(abs(w - 1e-4) <= 0.25e-4, f"shared weight effect: weight_seed {w:.2e} vs 1.0e-04")
    check(np.mean([e["residual"] for e in est]) < 1e-5, "shared weight effect: residual small")


def test_degenerate_designs():
    rng = np.random.default_rng(5)
    # only weight seeds vary (one graph, one ordering): every trial its own seed, so it is the residual
    r = S.seed_variance(rng.normal(0.9, 0.01, 6), [0] * 6, [0] * 6, np.arange(6))
    check(not r["components"] and r["residual"]["includes"] == ["weight_seed"] and
          set(r["not_varied"]) == {"graph_seed", "order_seed"},
          f"weight seeds only: {r['residual']}, {r['not_varied']}")
    # graph seeds only: each trial its own graph; the residual is the graph-seed variance
    r = S.seed_variance(rng.normal(0.9, 0.01, 5), np.arange(5), [0] * 5, [0] * 5)
    check(r["residual"]["includes"] == ["graph_seed"],
          f"graph seeds only: residual includes {r['residual']['includes']}")
    # identical accuracies: zero variance everywhere, no NaN share of rounding noise
    y, g, o, w = balanced(6, 3, 2, 2, 0, 0, 0, 0)
    r = S.seed_variance(np.full(len(y), 0.9), g, o, w)
    check(all(c["variance"] == 0 for c in r["components"]) and r["residual"]["variance"] == 0,
          "constant accuracies: every component 0")
    # unbalanced: drop trials from a balanced design; still finite, non-negative
    y, g, o, w = balanced(7, 4, 3, 3, 0.02, 0.01, 0.0, 0.01)
    keep = np.random.default_rng(8).random(len(y)) > 0.3
    r = S.seed_variance(y[keep], g[keep], o[keep], w[keep])
    check(all(c["variance"] >= 0 for c in r["components"]) and np.isfinite(r["residual"]["variance"]),
          "unbalanced design: finite, non-negative components")
    # graph groups as fixed effects: a big difference between groups is not graph-seed variance
    grp = np.where(g < 2, "A", "B")
    r = S.seed_variance(y + np.where(grp == "A", 0.5, 0), g, o, w, group=grp)
    check(comps(r)["graph_seed"] < 0.01, f"group means are fixed effects: graph_seed {comps(r)['graph_seed']:.2e}")


def main():
    t0 = time.time()
    for t in (test_welch, test_mann_whitney, test_holm, test_large_shift, test_coverage, test_null_family,
              test_spearman, test_bounded_ci, test_textbook_balanced, test_unbalanced_oneway, test_recovery,
              test_degenerate_designs):
        t1 = time.time()
        t()
        print(f"# {t.__name__}: {time.time() - t1:.1f} s", flush=True)
    print(f"# total {time.time() - t0:.1f} s")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all stats checks passed")


if __name__ == "__main__":
    main()
