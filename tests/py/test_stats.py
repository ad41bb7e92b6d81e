#!/usr/bin/python3
"""analysis/stats.py against references written out in this file, scipy/statsmodels where they are
not the call the code makes, and answers known by construction.

- Welch's t equals scipy.stats.ttest_ind(equal_var=False) and the Welch-Satterthwaite df by hand;
- Mann-Whitney U equals the count of pairs with a > b (ties 1/2); its p the enumeration of every split
  of the pooled sample (exact cases) or the normal approximation with tie and continuity corrections
  written out (asymptotic cases), to 1e-12;
- Cohen's d equals mean difference over the pooled SD (ddof 1) by hand, and its noncentral-t bounds
  put that d at the 97.5th and 2.5th percentiles; Cliff's delta equals 2U/(nm) - 1 with U counted;
- Spearman's rho is the Pearson r of average ranks computed here, its p the t approximation by hand;
  the bootstrap CI equals the 2.5th/97.5th percentiles of the documented resampling (PCG64 seeded
  with `seed`, pairs) redone one resample at a time with hand ranks, to 1e-12, and agrees with
  scipy.stats.bootstrap (another random stream) within 4 Monte Carlo SDs of a quantile;
- Holm's adjustment equals lists computed by hand (monotone, capped at 1, NaN kept out of m);
- a large known shift gives p < 1e-6 and CIs of Cohen's d and Cliff's delta that hold the true values;
  the CIs cover at about their nominal 95% over seeded repetitions;
- identical distributions: Welch p-values look uniform and the Holm-corrected family of 5 comparisons
  rejects anything in at most ~5% of 200 seeded repetitions;
- the bounded mean CI equals, at both ends to 1e-9, the t interval of the logits (statsmodels'
  DescrStatsW.tconfint_mean) mapped back, and never leaves [0, 1] (near and at the bounds too);
- the variance decomposition equals the textbook balanced ANOVA estimator computed here from mean
  squares, the unbalanced one-way estimator (n0 formula), recovers known components from simulated
  designs (graph-seed sd 0.02, order sd 0, weight sd 0.01; and with the order effect instead of the
  graph effect, which fails if the decomposition swaps components), and handles designs where a
  factor has one level or no residual df is left.
"""
import itertools
import math
import os
import sys
import time

import numpy as np
from scipy import stats as sst
from statsmodels.stats.weightstats import DescrStatsW

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


# ---------------------------------------------------------------- references written out here (no scipy
# test function, no code of analysis/stats.py): counting, enumeration and textbook formulas

def avg_ranks(v):
    """1-based ranks, ties given the mean of their positions: sort, then scan runs of equal values."""
    v = [float(x) for x in v]
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def pearson(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan


def u_by_pairs(a, b):
    """U of the first sample: pairs (x in a, y in b) with x > y, ties counted 1/2."""
    return sum((x > y) + 0.5 * (x == y) for x in a for y in b)


def mwu_exact_p(a, b):
    """Two-sided exact p of U (no ties): every split of the pooled sample into groups of len(a) and
    len(b) is equally likely under H0; p = 2 min(P(U <= u), P(U >= u)), at most 1."""
    pooled = list(a) + list(b)
    n, na = len(pooled), len(a)
    u = u_by_pairs(a, b)
    us = []
    for pick in itertools.combinations(range(n), na):
        rest = sorted(set(range(n)) - set(pick))
        us.append(u_by_pairs([pooled[i] for i in pick], [pooled[i] for i in rest]))
    us = np.array(us)
    return min(1.0, 2 * min(np.mean(us <= u), np.mean(us >= u)))


def mwu_normal_p(a, b):
    """Two-sided p of the normal approximation with tie correction and continuity correction:
    z = (|U - na nb / 2| - 1/2) / sqrt(na nb / 12 ((n + 1) - sum(t^3 - t) / (n (n - 1))))."""
    na, nb = len(a), len(b)
    n = na + nb
    _, t = np.unique(np.concatenate([a, b]), return_counts=True)
    var = na * nb / 12 * ((n + 1) - float((t ** 3 - t).sum()) / (n * (n - 1)))
    z = (abs(u_by_pairs(a, b) - na * nb / 2) - 0.5) / math.sqrt(var)
    return min(1.0, math.erfc(z / math.sqrt(2)))  # 2 (1 - Phi(z))


def cohen_d_by_hand(a, b):
    """(mean_a - mean_b) / pooled SD, the pooled variance with n - 1 weights (ddof 1)."""
    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    ss = sum((x - ma) ** 2 for x in a) + sum((x - mb) ** 2 for x in b)
    return (ma - mb) / math.sqrt(ss / (na + nb - 2))


def spearman_by_hand(x, y):
    """rho = Pearson r of the average ranks; p from t = rho sqrt((n - 2) / (1 - rho^2)), n - 2 df."""
    n = len(x)
    rho = pearson(avg_ranks(x), avg_ranks(y))
    t = rho * math.sqrt((n - 2) / (1 - rho * rho))
    return rho, 2 * sst.t.sf(abs(t), n - 2)


def percentile_linear(values, q):
    """The q-quantile of values, linear between order statistics at position (n - 1) q."""
    s = sorted(values)
    h = (len(s) - 1) * q
    lo = int(math.floor(h))
    return s[lo] + (h - lo) * (s[min(lo + 1, len(s) - 1)] - s[lo])


def bootstrap_by_loop(x, y, n_boot, seed):
    """The documented resampling (n_boot resamples of the pairs drawn by numpy's PCG64 seeded with
    `seed`, n indices a resample, in order), one resample at a time; constant resamples dropped."""
    rng = np.random.default_rng(seed)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rhos = []
    for _ in range(n_boot):
        i = rng.integers(0, len(x), size=len(x))
        r = pearson(avg_ranks(x[i]), avg_ranks(y[i]))
        if not math.isnan(r):
            rhos.append(r)
    return rhos


def logit_t_ci(x, n_test=10000):
    """The 95% t interval of the mean of logit(x) (statsmodels' DescrStatsW.tconfint_mean), x clamped to
    half an image, [0.5 / n_test, 1 - 0.5 / n_test], and mapped back with the logistic function; a bound
    on a clamp value (to 1e-9 relative) stands for 0 or 1."""
    eps = 0.5 / n_test
    z = np.array([math.log(v / (1 - v)) for v in np.clip(np.asarray(x, dtype=float), eps, 1 - eps)])
    lo, hi = DescrStatsW(z).tconfint_mean(alpha=0.05)
    lo, hi = 1 / (1 + math.exp(-lo)), 1 / (1 + math.exp(-hi))
    at_clamp = lambda v: 0.0 if v <= eps * (1 + 1e-9) else 1.0 if v >= 1 - eps * (1 + 1e-9) else v  # noqa: E731
    return at_clamp(lo), at_clamp(hi)


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
    """U by counting pairs; p by enumerating every split (exact) or by the normal approximation with
    tie and continuity corrections written out above, to 1e-12."""
    cases = [(4, 6, 0.5, False, "exact"), (7, 8, 0.2, False, "exact"), (12, 15, 0.8, False, "asymptotic"),
             (6, 5, 0.3, True, "asymptotic"), (20, 9, -0.4, True, "asymptotic")]
    for i, (na, nb, shift, ties, how) in enumerate(cases):
        a, b = samples(10 + i, na, nb, shift, ties=ties)
        if ties:
            b[0] = a[0]  # at least one tie
        m = S.mann_whitney(a, b)
        close(m["statistic"], u_by_pairs(a, b), 1e-12, f"Mann-Whitney U, case {i}: pairs with a > b counted")
        want = mwu_exact_p(a, b) if how == "exact" else mwu_normal_p(a, b)
        close(m["p"], want, 1e-12, f"Mann-Whitney p, case {i} ({how}: " +
              ("every split enumerated" if how == "exact" else "normal, tie and continuity corrections") + ")")
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
    for seed, (na, nb, shift, sd) in enumerate([(40, 40, 3.0, 1.0), (5, 9, 0.7, 2.0), (2, 3, -1.0, 0.5)]):
        x, y = samples(300 + seed, na, nb, shift, sd)
        close(S.cohens_d(x, y)["d"], cohen_d_by_hand(x, y), 1e-12,
              f"Cohen's d ({na} vs {nb}) = mean difference / pooled SD (ddof 1) by hand")
    check(d["low"] <= -3.0 <= d["high"] and d["ci_method"] == "noncentral t",
          f"Cohen's d CI {d['low']:.2f}..{d['high']:.2f} ({d['ci_method']}) holds the true d = -3")
    c = S.cliffs_delta(a, b)
    true_delta = 2 * sst.norm.cdf(-3.0 / math.sqrt(2)) - 1
    check(c["low"] <= true_delta <= c["high"],
          f"Cliff's delta CI {c['low']:.3f}..{c['high']:.3f} holds {true_delta:.3f}")
    close(c["delta"], 2 * u_by_pairs(a, b) / (len(a) * len(b)) - 1, 1e-12, "Cliff's delta = 2U/(nm) - 1, U counted")
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
    k, d_hand = math.sqrt(8 * 9 / 17), cohen_d_by_hand(a, b)
    close(sst.nct.cdf(d_hand * k, 15, d["low"] * k), 0.975, 1e-7, "noncentral-t lower bound (at the d by hand)")
    close(sst.nct.cdf(d_hand * k, 15, d["high"] * k), 0.025, 1e-7, "noncentral-t upper bound (at the d by hand)")


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
    rho, p = spearman_by_hand(x, y)
    close(r["rho"], rho, 1e-12, "Spearman rho = Pearson r of the ranks, by hand")
    close(r["p"], p, 1e-12, "Spearman p from t = rho sqrt((n-2)/(1-rho^2)), by hand")
    # the same resamples drawn one at a time, ranked and correlated by hand: the CI to rounding
    boots = bootstrap_by_loop(x, y, 4000, 1)
    lo, hi = percentile_linear(boots, 0.025), percentile_linear(boots, 0.975)
    close(r["low"], lo, 1e-12, "Spearman bootstrap CI low = 2.5th percentile of a resampling loop by hand")
    close(r["high"], hi, 1e-12, "Spearman bootstrap CI high = 97.5th percentile of a resampling loop by hand")
    # an independent resampler (scipy.stats.bootstrap, its own random stream): equal within Monte Carlo
    # error: a quantile's SD is sqrt(q (1 - q) / B) / f(x_q), f estimated from the loop's distribution
    b = sst.bootstrap((x, y), lambda u, v: pearson(avg_ranks(u), avg_ranks(v)), paired=True, vectorized=False,
                      n_resamples=4000, method="percentile", random_state=np.random.default_rng(2))
    for q, got, ref in ((0.025, r["low"], b.confidence_interval.low), (0.975, r["high"], b.confidence_interval.high)):
        h = 0.01
        dens = 2 * h / (percentile_linear(boots, q + h) - percentile_linear(boots, q - h))
        tol = 4 * math.sqrt(2) * math.sqrt(q * (1 - q) / 4000) / dens  # two estimates, 4 SD
        check(abs(got - ref) <= tol, f"Spearman CI at {q} vs scipy.stats.bootstrap: {got:.4f} vs {ref:.4f} "
              f"(Monte Carlo tolerance {tol:.4f})")
    check(S.spearman(x, y, seed=1)["low"] == S.spearman(x, y, seed=1)["low"], "seeded bootstrap is reproducible")
    check(math.isnan(S.spearman([1, 1, 1, 1], [1, 2, 3, 4])["rho"]), "rho of a constant is NaN")
    a = np.round(rng.normal(size=(50, 17)), 1)  # many ties
    check(np.array_equal(S.rank_rows(a), np.array([avg_ranks(row) for row in a])),
          "vectorised ranks equal average ranks by hand")
    tx, ty = [1, 1, 2, 2, 3, 3], [1, 2, 2, 3, 3, 4]
    tied = S.spearman(tx, ty, n_boot=500)
    close(tied["rho"], spearman_by_hand(tx, ty)[0], 1e-12, "Spearman with ties")
    boots = bootstrap_by_loop(tx, ty, 500, 0)
    check(tied["boot_dropped"] == 500 - len(boots) > 0, f"constant resamples dropped and counted: "
          f"{tied['boot_dropped']} (by hand {500 - len(boots)})")
    close(tied["low"], percentile_linear(boots, 0.025), 1e-12, "tied: CI low over the kept resamples")
    close(tied["high"], percentile_linear(boots, 0.975), 1e-12, "tied: CI high over the kept resamples")


def test_bounded_ci():
    """Both ends of every interval equal the logit t interval computed here (statsmodels' t interval of
    the logits), to 1e-9; and they stay inside [0, 1]."""
    rng = np.random.default_rng(4)
    cases = [[0.99, 1.0], [0.515, 0.95], [1.0, 1.0, 1.0], [0.0, 0.0], [0.0, 1.0], [0.999, 0.9995, 1.0, 1.0],
             list(rng.normal(0.5, 0.02, 50)), list(rng.uniform(0.85, 0.95, 7))]
    for x in cases:
        r = S.bounded_mean_ci(x, n_test=10000)
        lo, hi = logit_t_ci(x, 10000)
        name = f"{x}" if len(x) < 5 else f"{len(x)} values around {np.mean(x):.3f}"
        check(abs(r["low"] - lo) <= 1e-9 and abs(r["high"] - hi) <= 1e-9,
              f"bounded CI of {name}: {r['low']:.9g}..{r['high']:.9g} vs logit t interval {lo:.9g}..{hi:.9g}")
        check(0 <= r["low"] <= r["high"] <= 1, f"bounded CI of {name} inside [0, 1]")
    lo, hi = logit_t_ci([0.9, 0.92, 0.95], 100)
    r = S.bounded_mean_ci([0.9, 0.92, 0.95], n_test=100)
    check(abs(r["low"] - lo) <= 1e-9 and abs(r["high"] - hi) <= 1e-9, "n_test = 100 clamps at 0.005")
    r = S.bounded_mean_ci([0.515, 0.95])
    check(abs(r["mean"] - 0.7325) < 1e-12 and "logit" in r["method"], f"plain mean and the method named: {r['method']}")
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
