#!/usr/bin/python3
"""How many graphs and seeds does a topology question need, and what will it cost? Study planning
from a pilot sweep's variance components (analysis/mixed.py) and measured trial times.

The model is the one the verdicts use: accuracy (percent) = group + graph + seed noise, a graph's
effect with variance var_graph, each trial's own noise var_seed. A trial here is a new
(ordering seed, weight seed) pair, so var_seed is the residual variance plus the ordering seed's
component when the pilot varies ordering seeds (with one ordering seed per graph, the ordering is
part of the graph and its variance is in var_graph).

Two groups of G graphs with S trials each (balanced):
  contrast_var = 2 (var_graph / G + var_seed / (G S))
  df           = 2 (G - 1)            (the mixed model's Satterthwaite df of a balanced design)
  power        = P(|T| > t_{1 - alpha/2, df}), T noncentral t with ncp = delta / sqrt(contrast_var)
  half_width   = t_{(1 + level)/2, df} sqrt(contrast_var)
More graphs always help; more seeds only down to the floor 2 var_graph / G.

One real graph against k null graphs (mouse against its rewirings; the null-model test): the real
graph's mean over its S seeds against the k null graphs' means, empirical two-sided
p = (1 + #{null graphs at least as far from the null mean}) / (1 + k). The smallest reachable p is
1 / (1 + k), so k must exceed 1 / alpha - 1; the power at given k and S comes from a seeded
simulation, and no k or S helps once the real graph's difference lies inside the null graphs' own
spread (|delta| < z sqrt(var_graph)).

Functions (pure; variances in points^2, accuracy in percent):
  contrast_var, contrast_df, power, half_width, mean_half_width (the mean half-width a fit reports:
  the SE is estimated, so it is below half_width by E[sqrt(chi2_df / df)], 6 % at G = 3), detectable,
  graphs_needed, seeds_needed, plan_table, next_design (the design the next round of an `until:`
  sweep should reach), null_pvalues, min_null_graphs, null_power, null_power_limit, null_half_width,
  null_graphs_needed, null_plan_table.

As a script (`dcn report RESULTS.h5 --plan DIR --detect D | --half-width H`): for each comparison
(--compare groups, else every pair of graph groups with at least 2 graphs each), within each
stratum as in topology.py, fits the components on the two groups' done trials and writes plan.md,
plan.json and plan.csv into DIR: the graphs per group for each number of seeds per graph, trials,
core-hours (one core per trial, the sweep's default), the cheapest design marked, and what the
pilot itself could detect.

Usage: plan.py results.h5 --out DIR (--detect D | --half-width H) [--power 0.8] [--compare A,B]
       [--strata KEYS] [--seeds 1,2,3,4,5,6,8,10] [--json]
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from scipy import optimize
from scipy import stats as sst

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# mixed, pandas and topology (which loads matplotlib) are imported by the script side only, so that
# the `until:` rounds importing the formulas pay for numpy and scipy alone

ALPHA = 0.05
LEVEL = 0.95
POWER = 0.8
SEEDS = (1, 2, 3, 4, 5, 6, 8, 10)
MAX_GRAPHS = 10 ** 6  # a design beyond this is reported as unreachable
N_SIM = 4000  # simulated studies per null-model power
MAX_NULL = 5000


# ---------------------------------------------------------------- two groups of graphs

def _pair(x):
    """(A, B) from one value for both groups or a pair."""
    if np.ndim(x) == 0:
        return float(x), float(x)
    a, b = x
    return float(a), float(b)


def contrast_var(var_graph, var_seed, graphs, seeds):
    """Variance of the difference of two group means: each group has `graphs` graphs with `seeds`
    trials each (scalars for a balanced design, or pairs (A, B)); a trial is a new (ordering seed,
    weight seed) pair, so var_seed holds the residual and, when ordering seeds vary, their
    component. Balanced: 2 (var_graph / G + var_seed / (G S))."""
    (ga, gb), (sa, sb) = _pair(graphs), _pair(seeds)
    return var_graph * (1 / ga + 1 / gb) + var_seed * (1 / (ga * sa) + 1 / (gb * sb))


def contrast_df(graphs):
    """Degrees of freedom of the graph-level contrast: G_A + G_B - 2 (2 (G - 1) balanced)."""
    ga, gb = _pair(graphs)
    return ga + gb - 2


def power(delta, var_graph, var_seed, G, S, alpha=ALPHA):
    """Probability that the two-sided graph-level test at level alpha detects a true difference of
    delta points between the groups: noncentral t with df 2 (G - 1), ncp delta / sqrt(contrast_var).
    G, S: graphs per group and trials per graph (or pairs (A, B)). NaN when df < 1."""
    df = contrast_df(G)
    if df < 1:
        return math.nan
    v = contrast_var(var_graph, var_seed, G, S)
    crit = sst.t.ppf(1 - alpha / 2, df)
    if v <= 0:
        return 1.0 if delta else alpha
    ncp = abs(delta) / math.sqrt(v)
    with np.errstate(all="ignore"):  # boost's nct warns on some arguments where its values are right
        return float(sst.nct.sf(crit, df, ncp) + sst.nct.cdf(-crit, df, ncp))


def half_width(var_graph, var_seed, G, S, level=LEVEL):
    """Half-width of the level CI of the contrast at the true components:
    t_{(1 + level)/2, 2 (G - 1)} sqrt(contrast_var). NaN when df < 1."""
    df = contrast_df(G)
    if df < 1:
        return math.nan
    return float(sst.t.ppf((1 + level) / 2, df) * math.sqrt(contrast_var(var_graph, var_seed, G, S)))


def mean_half_width(var_graph, var_seed, G, S, level=LEVEL):
    """The mean CI half-width a fit of this balanced design reports: half_width() times
    E[sqrt(chi2_df / df)] = sqrt(2 / df) Gamma((df + 1) / 2) / Gamma(df / 2), since the fit estimates
    the SE (6 % below half_width() at G = 3, 1.4 % at G = 10). Planning uses half_width(), the
    half-width at the true components."""
    df = contrast_df(G)
    if df < 1:
        return math.nan
    c = math.exp(0.5 * math.log(2 / df) + math.lgamma((df + 1) / 2) - math.lgamma(df / 2))
    return c * half_width(var_graph, var_seed, G, S, level)


def detectable(var_graph, var_seed, G, S, target=POWER, alpha=ALPHA):
    """The smallest difference (points) detected with probability `target` by this design."""
    if contrast_df(G) < 1:
        return math.nan
    scale = math.sqrt(contrast_var(var_graph, var_seed, G, S))
    if scale == 0:
        return 0.0
    f = lambda d: power(d, var_graph, var_seed, G, S, alpha) - target  # noqa: E731
    hi = scale
    while f(hi) < 0:
        hi *= 2
    return float(optimize.brentq(f, 0, hi, xtol=1e-10 * scale, rtol=1e-12))


def _meets(var_graph, var_seed, G, S, detect, hw, target, alpha, level):
    if detect is not None:
        return power(detect, var_graph, var_seed, G, S, alpha) >= target
    return half_width(var_graph, var_seed, G, S, level) <= hw


def graphs_needed(var_graph, var_seed, S, detect=None, hw=None, target=POWER, alpha=ALPHA, level=LEVEL,
                  g_min=2, g_max=MAX_GRAPHS):
    """Smallest G in [g_min, g_max] (graphs per group, S trials each) that reaches power `target`
    for `detect` points, or a CI half-width <= hw; None when even g_max does not. Both criteria
    improve monotonically with G, so a doubling search and a bisection find it."""
    g_min = max(2, int(g_min))
    if g_min > g_max:
        return None
    ok = lambda g: _meets(var_graph, var_seed, g, S, detect, hw, target, alpha, level)  # noqa: E731
    if ok(g_min):
        return g_min
    lo, hi = g_min, g_min
    while not ok(hi):
        if hi >= g_max:
            return None
        lo, hi = hi, min(2 * hi, g_max)
    while hi - lo > 1:  # ok(hi), not ok(lo)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def seeds_needed(var_graph, var_seed, G, detect=None, hw=None, target=POWER, alpha=ALPHA, level=LEVEL,
                 s_max=10 ** 6):
    """Smallest S (trials per graph) reaching the target with G graphs per group, or None when the
    graph-to-graph floor (2 var_graph / G) keeps it out of reach however many seeds are added."""
    if contrast_df(G) < 1 or not _meets(var_graph, 0.0, G, 1, detect, hw, target, alpha, level):
        return None  # the limit S -> infinity drops the seed term
    lo, hi = 0, 1
    while not _meets(var_graph, var_seed, G, hi, detect, hw, target, alpha, level):
        if hi >= s_max:
            return None
        lo, hi = hi, min(2 * hi, s_max)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _meets(var_graph, var_seed, G, mid, detect, hw, target, alpha, level) else (mid, hi)
    return hi


def _check_target(detect, hw, target):
    if (detect is None) == (hw is None):
        raise ValueError("give exactly one target: detect (points) or half_width (points)")
    if detect is not None and not (detect > 0 and math.isfinite(detect)):
        raise ValueError(f"detect must be a positive number of points, got {detect}")
    if hw is not None and not (hw > 0 and math.isfinite(hw)):
        raise ValueError(f"half_width must be a positive number of points, got {hw}")
    if not 0 < target < 1:
        raise ValueError(f"power must lie in (0, 1), got {target}")


def _seconds(trial_seconds):
    """Seconds per trial of group A and of group B (one value for both, or a pair)."""
    return _pair(trial_seconds)


def plan_table(var_graph, var_seed, trial_seconds, detect=None, half_width_target=None, target=POWER,
               alpha=ALPHA, level=LEVEL, seeds=SEEDS, pilot=None, g_max=MAX_GRAPHS):
    """For each number of trials per graph S in `seeds`: the smallest number of graphs per group G
    reaching power `target` to detect `detect` points (two-sided, level alpha) or a CI half-width
    <= half_width_target, with the trials (2 G S), core-hours (G S (t_A + t_B) / 3600, one core per
    trial; trial_seconds: mean seconds per trial, one value or a pair for the groups), the achieved
    power (with detect) and half-width. The cheapest design is marked. pilot: (G, S) of the pilot;
    then `at_pilot_graphs` says how many seeds the pilot's graphs would need, or that the
    graph-to-graph floor makes the target unreachable with more seeds alone.
    Returns dict(rows, cheapest (row index or None), at_pilot_graphs, notes)."""
    _check_target(detect, half_width_target, target)
    ta, tb = _seconds(trial_seconds)
    rows = []
    for s in seeds:
        g = graphs_needed(var_graph, var_seed, s, detect, half_width_target, target, alpha, level, g_max=g_max)
        row = dict(seeds=int(s), graphs=g, trials=None, core_hours=None, power=None, half_width=None, cheapest=False)
        if g is not None:
            row.update(trials=2 * g * s, core_hours=g * s * (ta + tb) / 3600,
                       half_width=half_width(var_graph, var_seed, g, s, level))
            if detect is not None:
                row["power"] = power(detect, var_graph, var_seed, g, s, alpha)
        rows.append(row)
    costs = [(r["core_hours"] if ta + tb > 0 else r["trials"], i) for i, r in enumerate(rows) if r["graphs"]]
    cheapest = min(costs)[1] if costs else None
    if cheapest is not None:
        rows[cheapest]["cheapest"] = True
    out = dict(rows=rows, cheapest=cheapest, at_pilot_graphs=None, notes=[])
    if pilot is not None:
        out["at_pilot_graphs"] = _at_pilot(var_graph, var_seed, pilot, detect, half_width_target, target, alpha,
                                           level)
    return out


def _at_pilot(var_graph, var_seed, pilot, detect, hw, target, alpha, level):
    """What the pilot's graphs (G per group) need in seeds, or the limit they cannot pass."""
    g = int(min(_pair(pilot[0])))
    s = seeds_needed(var_graph, var_seed, g, detect, hw, target, alpha, level) if g >= 2 else None
    r = dict(graphs=g, seeds=s, power_limit=None, half_width_floor=None)
    if g >= 2:
        r["half_width_floor"] = half_width(var_graph, 0.0, g, 1, level)
        if detect is not None:
            r["power_limit"] = power(detect, var_graph, 0.0, g, 1, alpha)
    return r


def next_design(var_graph, var_seed, trial_seconds, g_now, s_now, target_half_width, trials_left, level=LEVEL,
                g_max=MAX_GRAPHS, s_max=10 ** 4):
    """The design the next round of an `until:` sweep should reach: (G, S) = graphs per group and
    trials per graph, G >= g_now and S >= s_now (the trials done stay), for a two-group contrast
    whose CI half-width (level) must reach target_half_width (points).

    - If some design reaches the target within trials_left new trials (2 (G S - g_now s_now)), the
      one with the fewest trials (ties: more graphs), as by half_width() at the given components.
    - Otherwise the design within trials_left whose half-width is smallest (ties: fewer trials).
    - (g_now, s_now) when the target is met already or no design fits the budget.

    var_graph, var_seed: components as in contrast_var (var_seed = residual + ordering component
    when ordering seeds vary); g_now: graphs per group now (the smaller group's count when
    unbalanced), s_now: trials per graph now (the smallest); trials_left: budget in trials for both
    groups (None = no limit); trial_seconds: mean seconds per trial (one value, or a pair for the
    groups): every trial costs the same here, so it scales every design's cost alike and does not
    change the choice; it is accepted so callers pass what plan_table takes. g_max caps the graphs
    a family can supply, s_max the seeds per graph."""
    g_now, s_now = max(1, int(g_now)), max(1, int(s_now))
    if not target_half_width > 0:
        raise ValueError(f"target_half_width must be positive, got {target_half_width}")
    _seconds(trial_seconds)
    budget = math.inf if trials_left is None else max(0, int(trials_left))
    have = g_now * s_now
    best = _cheapest_reaching(var_graph, var_seed, g_now, s_now, target_half_width, level, g_max, s_max)
    if best is not None and 2 * (best[0] * best[1] - have) <= budget:
        return best
    return _best_within(var_graph, var_seed, g_now, s_now, budget, level, g_max, s_max)


def _cheapest_reaching(var_graph, var_seed, g_now, s_now, target, level, g_max, s_max):
    """(G, S) with G >= g_now, S >= s_now reaching the half-width with the fewest trials, or None."""
    g_floor = graphs_needed(var_graph, 0.0, 1, hw=target, level=level, g_min=g_now, g_max=g_max)
    if g_floor is None:
        return None
    best = None
    for s in range(s_now, s_max + 1):
        if best is not None and g_floor * s > best[0] * best[1]:
            break  # every later S costs more than the best even at the graph floor
        g = graphs_needed(var_graph, var_seed, s, hw=target, level=level, g_min=g_now, g_max=g_max)
        if g is not None and (best is None or g * s < best[0] * best[1]):
            best = (g, s)
    return best


def _best_within(var_graph, var_seed, g_now, s_now, budget, level, g_max, s_max):
    """(G, S) within the budget with the smallest half-width; (g_now, s_now) if nothing fits."""
    cap = g_now * s_now + budget / 2 if math.isfinite(budget) else g_max * s_max  # G S at most
    best, best_hw = (g_now, s_now), half_width(var_graph, var_seed, g_now, s_now, level)
    best_hw = math.inf if math.isnan(best_hw) else best_hw
    for s in range(s_now, min(s_max, int(cap // g_now)) + 1):
        g = min(g_max, int(cap // s))
        if g < max(g_now, 2):
            continue
        hw = half_width(var_graph, var_seed, g, s, level)
        if hw < best_hw - 1e-12 * best_hw or (abs(hw - best_hw) <= 1e-12 * best_hw and g * s < best[0] * best[1]):
            best, best_hw = (g, s), hw
    return best


# ---------------------------------------------------------------- one real graph against k null graphs

def null_pvalues(obs, null):
    """Empirical two-sided p of the null-model test, vectorised over studies: obs (n,) real graph
    means, null (n, k) null graph means; p = (1 + #{null at least as far from the null graphs' mean
    as obs}) / (1 + k)."""
    obs, null = np.asarray(obs, dtype=float), np.asarray(null, dtype=float)
    centre = null.mean(axis=1)
    dist = np.abs(obs - centre)
    far = np.abs(null - centre[:, None]) >= dist[:, None] * (1 - 1e-12)
    return (1 + far.sum(axis=1)) / (1 + null.shape[1])


def min_null_graphs(alpha=ALPHA):
    """The smallest k for which p < alpha is reachable: the smallest p is 1 / (1 + k)."""
    return int(math.floor(1 / alpha - 1)) + 1


def null_power(delta, var_graph, var_seed, k, S, alpha=ALPHA, n_sim=N_SIM, seed=0):
    """Probability that the null-model test (empirical p < alpha) flags a real graph whose true mean
    lies delta points from the null graphs' population mean, with k null graphs and S trials on every
    graph: seeded simulation of n_sim studies (real graph mean ~ N(delta, var_seed / S), each null
    graph's mean ~ N(0, var_graph + var_seed / S)). 0 when k < min_null_graphs(alpha)."""
    if k < min_null_graphs(alpha):
        return 0.0
    rng = np.random.default_rng(seed)
    obs = delta + math.sqrt(var_seed / S) * rng.standard_normal(n_sim)
    # drawn as (k, n_sim): the first k null graphs of every study are the same for every k, so the
    # power is smooth in k and the search for the smallest k sees no simulation noise between steps
    null = math.sqrt(var_graph + var_seed / S) * rng.standard_normal((int(k), n_sim)).T
    return float(np.mean(null_pvalues(obs, null) < alpha))


def null_power_limit(delta, var_graph, var_seed, S, alpha=ALPHA):
    """The power as k -> infinity: the real graph mean must leave the central 1 - alpha of the null
    graphs' means, sd sqrt(var_graph + var_seed / S). As S grows too it tends to 1 when
    |delta| > z_{1-alpha/2} sqrt(var_graph) and to 0 when below: no design detects a real graph that
    lies inside the null graphs' own spread."""
    z = sst.norm.ppf(1 - alpha / 2)
    sd_null = math.sqrt(var_graph + (var_seed / S if S else 0.0))
    sd_obs = math.sqrt(var_seed / S) if S else 0.0
    if sd_obs == 0:
        return 1.0 if abs(delta) > z * sd_null else 0.0
    return float(sst.norm.cdf((delta - z * sd_null) / sd_obs) + sst.norm.cdf((-delta - z * sd_null) / sd_obs))


def null_half_width(var_graph, var_seed, k, S, level=LEVEL):
    """Half-width of the CI of (real graph mean - null graphs' population mean): variance
    var_seed / S + (var_graph + var_seed / S) / k, t with k - 1 df (the null side's)."""
    if k < 2:
        return math.nan
    v = var_seed / S + (var_graph + var_seed / S) / k
    return float(sst.t.ppf((1 + level) / 2, k - 1) * math.sqrt(v))


def null_graphs_needed(var_graph, var_seed, S, detect=None, hw=None, target=POWER, alpha=ALPHA, level=LEVEL,
                       k_max=MAX_NULL, n_sim=N_SIM, seed=0):
    """Smallest k >= min_null_graphs(alpha) reaching the power (simulated, the same seed for every
    k so that the curve is smooth in k) or the half-width; None when k_max does not (with detect,
    at once when the k -> infinity limit is below the target)."""
    k0 = min_null_graphs(alpha)
    if detect is not None:
        if null_power_limit(detect, var_graph, var_seed, S, alpha) < target:
            return None
        ok = lambda k: null_power(detect, var_graph, var_seed, k, S, alpha, n_sim, seed) >= target  # noqa: E731
    else:
        ok = lambda k: null_half_width(var_graph, var_seed, k, S, level) <= hw  # noqa: E731
    if ok(k0):
        return k0
    lo, hi = k0, k0
    while not ok(hi):
        if hi >= k_max:
            return None
        lo, hi = hi, min(2 * hi, k_max)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def null_plan_table(var_graph, var_seed, trial_seconds, detect=None, half_width_target=None, target=POWER,
                    alpha=ALPHA, level=LEVEL, seeds=SEEDS, k_max=MAX_NULL, n_sim=N_SIM, seed=0):
    """plan_table for one real graph against k null graphs: for each S (trials on every graph), the
    smallest k, the trials (S (k + 1)), core-hours (trial_seconds: one value, or (real, null)), the
    simulated power (with detect), the k -> infinity power limit and the half-width of the CI of
    (real - null mean). Rows with k None are unreachable at that S."""
    _check_target(detect, half_width_target, target)
    t_real, t_null = _seconds(trial_seconds)
    rows = []
    for s in seeds:
        k = null_graphs_needed(var_graph, var_seed, s, detect, half_width_target, target, alpha, level, k_max, n_sim,
                               seed)
        row = dict(seeds=int(s), null_graphs=k, trials=None, core_hours=None, power=None, power_limit=None,
                   half_width=None, cheapest=False)
        if detect is not None:
            row["power_limit"] = null_power_limit(detect, var_graph, var_seed, s, alpha)
        if k is not None:
            row.update(trials=s * (k + 1), core_hours=s * (t_real + k * t_null) / 3600,
                       half_width=null_half_width(var_graph, var_seed, k, s, level))
            if detect is not None:
                row["power"] = null_power(detect, var_graph, var_seed, k, s, alpha, n_sim, seed)
        rows.append(row)
    costs = [(r["core_hours"] if t_real + t_null > 0 else r["trials"], i) for i, r in enumerate(rows)
             if r["null_graphs"]]
    cheapest = min(costs)[1] if costs else None
    if cheapest is not None:
        rows[cheapest]["cheapest"] = True
    return dict(rows=rows, cheapest=cheapest, min_null_graphs=min_null_graphs(alpha),
                power_limit_all_seeds=(1.0 if detect is not None and abs(detect) > sst.norm.ppf(1 - alpha / 2) *
                                       math.sqrt(var_graph) else 0.0) if detect is not None else None)


# ---------------------------------------------------------------- the pilot's comparisons

def _orders_vary(d):
    return bool((d.groupby("graph")["order_seed"].nunique() > 1).any())


def pilot_fit(sa, sb):
    """M.fit on the two groups' done trials (acc in percent; graph; order_seed when it varies within a
    graph): the components, var_seed = residual + ordering component, the mean trial seconds and the
    pilot's design per group (graphs, trials per graph)."""
    import mixed as M
    import pandas as pd
    d = pd.concat([sa.assign(_side="A"), sb.assign(_side="B")])
    order = d["order_seed"].astype(str).to_numpy() if _orders_vary(d) else None
    f = M.fit(d["acc"].to_numpy(float), d["_side"].to_numpy(), d["graph"].astype(str).to_numpy(), order)
    out = dict(fit=f, ok=bool(f.get("ok")), why=f.get("why", ""), notes=list(f.get("notes", [])))
    out["var_graph"], out["var_order"], out["var_resid"] = f["var_graph"], f["var_order"], f["var_resid"]
    out["var_seed"] = f["var_resid"] + (f["var_order"] or 0.0)
    out["singular"] = bool(f.get("singular"))
    out["method"] = f.get("method", "")
    out["seconds"] = (float(sa["wall_seconds"].mean()), float(sb["wall_seconds"].mean()))
    out["graphs"] = (int(sa["graph"].nunique()), int(sb["graph"].nunique()))
    out["seeds"] = (len(sa) / out["graphs"][0], len(sb) / out["graphs"][1])
    out["contrast"] = M.contrast(f, "A", "B") if out["ok"] else None
    return out


def pair_plan(label, a, sa, b, sb, args, m):
    """The plan of one comparison (dict for plan.json), or a dict with `skipped` saying why not."""
    base = dict(stratum=label, a=a, b=b, trials_a=len(sa), trials_b=len(sb), graphs_a=int(sa["graph"].nunique()),
                graphs_b=int(sb["graph"].nunique()))
    if base["graphs_a"] < 2 and base["graphs_b"] < 2:
        return dict(base, skipped="each side is one graph: the difference of two graphs says nothing about their "
                                  "wirings, and no graph-to-graph variance can be estimated")
    if set(sa.index) & set(sb.index):
        return dict(base, skipped="the two groups share trials")
    p = pilot_fit(sa, sb)
    if not p["ok"]:
        return dict(base, skipped=f"no variance components: {p['why']}")
    if not (np.isfinite(p["var_graph"]) and np.isfinite(p["var_seed"])):
        return dict(base, skipped="the mixed model gave no finite variance components (no spread in accuracy?)")
    fit = dict(var_graph=p["var_graph"], var_order=p["var_order"], var_resid=p["var_resid"], var_seed=p["var_seed"],
               singular=p["singular"], method=p["method"], notes=p["notes"])
    out = dict(base, fit=fit, trial_seconds=dict(a=p["seconds"][0], b=p["seconds"][1]), notes=[])
    if p["singular"]:
        out["notes"].append("the pilot's graph variance is estimated as 0 (singular fit): the plan assumes the graphs "
                            "of a group do not differ, which a pilot of few graphs cannot establish")
    res = null_pair(a, b, p, base, args) if min(base["graphs_a"], base["graphs_b"]) < 2 else graphs_pair(p, args, m)
    out["notes"] += res.pop("plan_notes")
    return dict(out, **res)


def graphs_pair(p, args, m):
    vg, vs = p["var_graph"], p["var_seed"]
    tab = plan_table(vg, vs, p["seconds"], args.detect, args.half_width, args.power, seeds=args.seeds,
                     pilot=(p["graphs"], p["seeds"]))
    c = p["contrast"]
    pilot = dict(graphs=list(p["graphs"]), seeds_per_graph=list(p["seeds"]),
                 half_width=half_width(vg, vs, p["graphs"], p["seeds"]),
                 detectable=detectable(vg, vs, p["graphs"], p["seeds"], args.power),
                 estimate=c["estimate"], ci_low=c["low"], ci_high=c["high"], df=c["df"],
                 fitted_half_width=(c["high"] - c["low"]) / 2)
    notes = []
    best = tab["rows"][tab["cheapest"]] if tab["cheapest"] is not None else None
    if best and best["seeds"] == 1:
        two = next((r for r in tab["rows"] if r["seeds"] >= 2 and r["graphs"]), None)
        notes.append("one trial per graph costs least, but leaves graph and seed variance inseparable (no mixed "
                     "model, no further planning from it; the verdict is then the t-test on graph means)"
                     + (f"; the cheapest with {two['seeds']} seeds per graph: {two['graphs']} graphs per group, "
                        f"{two['trials']} trials, {two['core_hours']:.3g} core-hours" if two else ""))
    if args.detect is not None and m > 1 and best:
        g = graphs_needed(vg, vs, best["seeds"], args.detect, None, args.power, ALPHA / m)
        notes.append(f"power at alpha {ALPHA} per comparison; with Holm over the {m} comparisons the first one is "
                     f"tested at {ALPHA}/{m}: at {best['seeds']} seeds per graph that needs {g} graphs per group")
    return dict(kind="graphs", pilot=pilot, rows=tab["rows"], cheapest=tab["cheapest"],
                at_pilot_graphs=tab["at_pilot_graphs"], plan_notes=notes)


def null_pair(a, b, p, base, args):
    """One side one graph: the null-model plan (k null graphs, S trials on every graph)."""
    real_is_a = base["graphs_a"] == 1
    real, null = (a, b) if real_is_a else (b, a)
    secs = p["seconds"] if real_is_a else p["seconds"][::-1]
    k_now = base["graphs_b"] if real_is_a else base["graphs_a"]
    s_now = p["seeds"][1] if real_is_a else p["seeds"][0]
    vg, vs = p["var_graph"], p["var_seed"]
    tab = null_plan_table(vg, vs, secs, args.detect, args.half_width, args.power, seeds=args.seeds)
    pilot = dict(real=real, null=null, null_graphs=k_now, seeds_per_graph=s_now,
                 smallest_p=1 / (1 + k_now), p_reachable=1 / (1 + k_now) < ALPHA,
                 half_width=null_half_width(vg, vs, k_now, s_now))
    if args.detect is not None:
        pilot["power"] = null_power(args.detect, vg, vs, k_now, max(1, round(s_now)))
    notes = []
    if not pilot["p_reachable"]:
        notes.append(f"with k = {k_now} null graphs the smallest empirical p is 1/{k_now + 1} = {1 / (k_now + 1):.3g}: "
                     f"p < {ALPHA} cannot be reached; it needs k >= {tab['min_null_graphs']}")
    if args.detect is not None and not tab["power_limit_all_seeds"]:
        z = sst.norm.ppf(1 - ALPHA / 2)
        notes.append(f"a real graph {args.detect:g} points from the null mean lies inside the null graphs' own spread "
                     f"({z:.2f} x sd_graph = {z * math.sqrt(vg):.3g} points): no number of null graphs or seeds "
                     "detects it with certainty")
    return dict(kind="null model", pilot=pilot, rows=tab["rows"], cheapest=tab["cheapest"],
                min_null_graphs=tab["min_null_graphs"], plan_notes=notes)


def pairs(strata, tokens):
    """[(stratum, a, trials a, b, trials b)]: the --compare groups of each stratum, or every pair of
    graph groups with at least 2 graphs each (the groups topology.py compares)."""
    import topology as T
    out = []
    for label, g in strata:
        if tokens:
            groups = [(t, g[T.token_mask(g, t)]) for t in tokens]
        else:
            groups = [(n, s) for n, s in g.groupby("graph_group", sort=False) if s["graph"].nunique() >= 2]
        groups = [(n, s) for n, s in groups if len(s)]
        out += [(label, a, sa, b, sb) for i, (a, sa) in enumerate(groups) for b, sb in groups[i + 1:]]
    return out


def analyse(path, args):
    import dcnresults as R
    import topology as T
    _, df = R.load(path)
    df, _ = R.topology_frame(df, path)
    keys = T.strata_keys(df, args.strata)
    d = R.done(df)
    tokens = T.split_groups(args.compare)
    T.check_tokens(d, tokens, path)
    strata = T.build_strata(d, keys, T.label_keys(d, keys))
    todo = pairs(strata, tokens)
    comps = [pair_plan(label, a, sa, b, sb, args, len(todo)) for label, a, sa, b, sb in todo]
    target = dict(detect=args.detect, half_width=args.half_width, power=args.power if args.detect else None,
                  alpha=ALPHA, level=LEVEL, seeds=list(args.seeds))
    return dict(file=path, trials=len(df), done=len(d), compare=tokens or None, target=target, methods=METHODS,
                comparisons=[c for c in comps if "skipped" not in c],
                skipped=[c for c in comps if "skipped" in c])


METHODS = {
    "components": "analysis/mixed.py: acc (percent) ~ group + (1 | graph) [+ (1 | graph:order_seed) when ordering "
                  "seeds vary within a graph], REML, on the two groups' done trials; var_seed = residual + ordering "
                  "component (a new trial is a new ordering and weight seed)",
    "power": "two groups of G graphs with S trials each: noncentral t, df 2 (G - 1), ncp delta / sqrt(2 (var_graph / G"
             " + var_seed / (G S))), two-sided alpha 0.05",
    "half_width": "t_{0.975, 2 (G - 1)} sqrt(2 (var_graph / G + var_seed / (G S))), at the pilot's components",
    "null_model": f"one real graph against k null graphs, S trials on each: empirical two-sided p = (1 + #{{null "
                  f"graph means at least as far from their mean as the real one}}) / (1 + k); power by simulation of "
                  f"{N_SIM} studies (numpy PCG64 seed 0), real mean ~ N(delta, var_seed / S), null means ~ N(0, "
                  f"var_graph + var_seed / S); half-width of the CI of (real - null mean): t_{{0.975, k - 1}} "
                  f"sqrt(var_seed / S + (var_graph + var_seed / S) / k)",
    "cost": "core-hours = trials x mean wall_seconds of the group's done trials / 3600 (one core per trial, the "
            "sweep's default of one rank and one OpenBLAS thread per trial)",
}


# ---------------------------------------------------------------- output

def _f(v, digits=2):
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _g(v):
    return "-" if v is None or not np.isfinite(v) else f"{v:.3g}"


def target_text(t):
    if t["detect"] is not None:
        return (f"{100 * t['power']:.0f} % power to detect a difference of {t['detect']:g} points of accuracy "
                f"(two-sided, alpha {t['alpha']})")
    return f"a {100 * t['level']:.0f} % CI half-width of at most {t['half_width']:g} points of accuracy"


def md_components(c):
    fit = c["fit"]
    parts = [f"graph {_g(fit['var_graph'])}"]
    if fit["var_order"] is not None:
        parts.append(f"ordering seed (within graph) {_g(fit['var_order'])}")
    parts.append(f"residual {_g(fit['var_resid'])}")
    return (f"Variance components (points^2; REML, analysis/mixed.py{', singular fit' if fit['singular'] else ''}): "
            f"{', '.join(parts)}; per trial var_seed = {_g(fit['var_seed'])}. Mean trial time: "
            f"{c['a']} {c['trial_seconds']['a']:.3g} s, {c['b']} {c['trial_seconds']['b']:.3g} s.")


def md_graphs(c, t):
    p = c["pilot"]
    lines = [f"Pilot: {p['graphs'][0]} graphs x {p['seeds_per_graph'][0]:.3g} trials ({c['a']}), {p['graphs'][1]} "
             f"graphs x {p['seeds_per_graph'][1]:.3g} trials ({c['b']}). Its contrast {c['a']} - {c['b']}: "
             f"{_f(p['estimate'])} points, 95% CI [{_f(p['ci_low'])}, {_f(p['ci_high'])}] (Satterthwaite df "
             f"{_f(p['df'], 1)}); at its own components the design has a CI half-width of {_f(p['half_width'])} "
             f"points and detects {_f(p['detectable'])} points with {100 * (t['power'] or POWER):.0f} % power.", "",
             md_components(c), "",
             "| seeds per graph | graphs per group | trials | core-hours | power | 95% CI half-width | |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in c["rows"]:
        if r["graphs"] is None:
            lines.append(f"| {r['seeds']} | > {MAX_GRAPHS} | - | - | - | - | unreachable |")
            continue
        pw = f"{100 * r['power']:.1f} %" if r["power"] is not None else "-"
        lines.append(f"| {r['seeds']} | {r['graphs']} | {r['trials']} | {_g(r['core_hours'])} | {pw} | "
                     f"{_f(r['half_width'])} | {'cheapest' if r['cheapest'] else ''} |")
    ap = c["at_pilot_graphs"]
    if ap and ap["graphs"] >= 2:
        if ap["seeds"] is not None:
            lines += ["", f"With the pilot's {ap['graphs']} graphs per group, {ap['seeds']} trials per graph reach the "
                          "target."]
        else:
            lim = (f"power to {100 * ap['power_limit']:.1f} %" if ap["power_limit"] is not None else
                   f"the half-width to {_f(ap['half_width_floor'])} points")
            lines += ["", f"With the pilot's {ap['graphs']} graphs per group no number of seeds reaches the target: "
                          f"the graph-to-graph floor (2 var_graph / G) limits {lim}. Only more graphs help."]
    return lines


def md_null(c, t):
    p = c["pilot"]
    lines = [f"One real graph ({p['real']}) against the ensemble of {p['null']} graphs: the null-model test. Pilot: "
             f"k = {p['null_graphs']} null graphs, {p['seeds_per_graph']:.3g} trials per graph; the smallest "
             f"reachable p is 1/(k + 1) = {p['smallest_p']:.3g}"
             + ("" if p["p_reachable"] else f", so p < {ALPHA} cannot be reached") + "."
             + (f" Its power for {t['detect']:g} points: {100 * p['power']:.1f} % (simulated)."
                if "power" in p else ""), "", md_components(c), "",
             "| seeds per graph | null graphs k | trials | core-hours | power (simulated) | power as k -> infinity | "
             "95% CI half-width (real - null mean) | |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in c["rows"]:
        lim = f"{100 * r['power_limit']:.1f} %" if r["power_limit"] is not None else "-"
        if r["null_graphs"] is None:
            lines.append(f"| {r['seeds']} | - | - | - | - | {lim} | - | unreachable |")
            continue
        pw = f"{100 * r['power']:.1f} %" if r["power"] is not None else "-"
        lines.append(f"| {r['seeds']} | {r['null_graphs']} | {r['trials']} | {_g(r['core_hours'])} | {pw} | {lim} | "
                     f"{_f(r['half_width'])} | {'cheapest' if r['cheapest'] else ''} |")
    return lines


def write_markdown(res, out):
    t = res["target"]
    lines = [f"# Study plan from the pilot {res['file']}", "",
             f"Target: {target_text(t)}. {res['done']} of {res['trials']} trials done (used). For each comparison, "
             "the graphs per group (or null graphs) that reach the target at each number of trials per graph, "
             "the trials and core-hours they cost, and what the pilot itself could detect. A trial is a new "
             "ordering seed and weight seed on a graph. Not-reached rows say \"unreachable\".", "",
             "Methods:", ""] + [f"- {k}: {v}" for k, v in res["methods"].items()] + [""]
    if not res["comparisons"]:
        lines += ["No comparison to plan: no pair of groups with at least 2 graphs on one side "
                  "(--compare names the groups).", ""]
    for c in res["comparisons"]:
        lines += [f"## {c['a']} vs {c['b']} ({c['stratum']})", ""]
        lines += md_null(c, t) if c["kind"] == "null model" else md_graphs(c, t)
        lines += [""] + [f"- {n}" for n in c["notes"] + c["fit"]["notes"]] + [""]
    if res["skipped"]:
        lines += ["## Not planned", ""] + [f"- {c['a']} vs {c['b']} ({c['stratum']}): {c['skipped']}"
                                            for c in res["skipped"]] + [""]
    with open(os.path.join(out, "plan.md"), "w") as fh:
        fh.write("\n".join(lines))


def write_csv(res, out):
    import pandas as pd
    cols = ["stratum", "a", "b", "kind", "var_graph", "var_seed", "seeds", "graphs", "null_graphs", "trials",
            "core_hours", "power", "power_limit", "half_width", "cheapest"]
    rows = [dict(stratum=c["stratum"], a=c["a"], b=c["b"], kind=c["kind"], var_graph=c["fit"]["var_graph"],
                 var_seed=c["fit"]["var_seed"], **r) for c in res["comparisons"] for r in c["rows"]]
    pd.DataFrame(rows, columns=cols).to_csv(os.path.join(out, "plan.csv"), index=False)


def summary(res, out):
    n = len(res["comparisons"])
    lines = [f"plan.py: wrote plan.md, plan.json, plan.csv to {out} ({n} comparison{'' if n == 1 else 's'}; target: "
             f"{target_text(res['target'])})"]
    for c in res["comparisons"]:
        head = f"  {c['a']} vs {c['b']} ({c['stratum']}): "
        if c["cheapest"] is None:
            lines.append(head + "unreachable with the seeds tried")
            continue
        r = c["rows"][c["cheapest"]]
        what = f"{r['graphs']} graphs per group" if c["kind"] == "graphs" else f"{r['null_graphs']} null graphs"
        lines.append(head + f"cheapest {what} x {r['seeds']} trials = {r['trials']} trials, {_g(r['core_hours'])} "
                            f"core-hours (var_graph {_g(c['fit']['var_graph'])}, var_seed {_g(c['fit']['var_seed'])})")
    for c in res["skipped"]:
        lines.append(f"  {c['a']} vs {c['b']} ({c['stratum']}): not planned: {c['skipped']}")
    return "\n".join(lines)


def _seeds(text):
    try:
        v = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: '{text}'")
    if not v or v[0] < 1:
        raise argparse.ArgumentTypeError(f"seeds per graph must be positive integers: '{text}'")
    return v


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="results file of the pilot sweep (results.h5)")
    ap.add_argument("--out", required=True, help="folder for plan.md, plan.json, plan.csv (created)")
    ap.add_argument("--detect", type=float, help="difference to detect, in points of accuracy (percent)")
    ap.add_argument("--half-width", type=float, help="target half-width of the 95%% CI, in points of accuracy")
    ap.add_argument("--power", type=float, default=POWER, help="power to detect --detect (default 0.8)")
    ap.add_argument("--compare", help="comma-separated groups (as topology.py): graph specs, families, family:base")
    ap.add_argument("--strata", help="comma-separated stratum keys (as topology.py)")
    ap.add_argument("--seeds", type=_seeds, default=list(SEEDS), help="trials per graph to tabulate "
                                                                      "(default 1,2,3,4,5,6,8,10)")
    ap.add_argument("--json", action="store_true", help="print plan.json to stdout")
    a = ap.parse_args(argv)
    if (a.detect is None) == (a.half_width is None):
        ap.error("give one target: --detect D or --half-width H (points of accuracy)")
    if a.detect is not None and not (a.detect > 0 and math.isfinite(a.detect)):
        ap.error(f"--detect must be a positive number of points, got {a.detect:g}")
    if a.half_width is not None and not (a.half_width > 0 and math.isfinite(a.half_width)):
        ap.error(f"--half-width must be a positive number of points, got {a.half_width:g}")
    if not 0 < a.power < 1:
        ap.error(f"--power must lie strictly between 0 and 1, got {a.power:g}")
    return a


def main(argv=None):
    a = parse_args(argv)
    import dcnresults as R
    try:
        res = analyse(a.results, a)
    except (R.ResultsError, OSError, KeyError, ValueError) as e:
        print(f"plan.py: {e}" if str(a.results) in str(e) else f"plan.py: {a.results}: {e}", file=sys.stderr)
        return 1
    import topology as T
    os.makedirs(a.out, exist_ok=True)
    write_markdown(res, a.out)
    write_csv(res, a.out)
    text = json.dumps(T.clean(res), indent=1)
    with open(os.path.join(a.out, "plan.json"), "w") as fh:
        fh.write(text + "\n")
    print(text if a.json else summary(res, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
