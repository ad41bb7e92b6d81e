#!/usr/bin/python3
"""Does the graph's topology change accuracy? Statistics of a dcn sweep's results file (results.h5)
over its graph families (ws, er, ba, gnm, rewire, celegans, mouse, files, the graph-free baseline):

  parameter trends   accuracy against each family parameter that varies (ws p, ba m, ...): mean with a
                     95% CI over the graph, ordering and weight seeds at each value, and Spearman's
                     rho of the trend over the graphs (each graph's mean), one curve per stratum
  measure trends     accuracy against each graph and DAG measure that varies: Spearman's rho over
                     graphs (graph measures) or DAGs (DAG measures) with a bootstrap CI per stratum
  study              each group's mean with a 95% CI over its graphs, and a figure of every graph's mean
  comparisons        pairs of graph groups in each stratum with graphs as the unit: a linear mixed model
                     (REML, Satterthwaite df; analysis/mixed.py) when both hold several graphs, the
                     null-model test (z, empirical p with k null graphs) when one side is one graph, Welch
                     over trials when both are one graph; Holm over all comparisons, a verdict at alpha
                     0.05 and the difference the design detects with 80 % power. Trial-level Welch,
                     Mann-Whitney, Cohen's d and Cliff's delta follow, labelled as treating trials as
                     independent
  variance           accuracy variance split into graph seed, vertex-ordering seed and weight seed
                     (random-effects ANOVA) per stratum and graph group: does the ordering matter?

Only done trials are used; accuracies are in percent. A stratum is one configuration of everything
but the graph and the seeds (dataset, variant, frozen, order, epochs, lr, ...; --strata to choose);
a graph group is a graph spec without its graph seed (ws:n=32,k=4,p=0.25 = every seed of it). The
baseline (graph "none") joins every stratum whose other settings it shares.

--compare A,B,C names the groups to compare (every pair, in each stratum) instead of all graph
groups: a graph spec (ws:n=32,k=4,p=0.25 = all its seeds, add seed=3 for one), a family (gnm, ws,
celegans, none) or family:base (rewire:celegans = every rewiring of celegans). A spec keeps its
commas: an item key=value after a spec continues it (ws:n=32,k=4,p=0.25,celegans is two groups).

Writes to DIR: topology.md, topology.json, topology_{study,trends,correlations,comparisons,variance}.csv
and topology_{study,trends,measures,comparisons,variance}.png (always the same files; a figure without data
says so). Results files written before /summary had the topology columns still work: family and
parameters come from the graph spec strings, DAG measures from /trials/<id>/dag, and the graph
measures are missing (topology.md says which columns came from where).

Usage: topology.py results.h5 --out DIR [--compare A,B,C] [--strata KEYS] [--json]
"""
import argparse
import itertools
import json
import math
import os
import sys

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcnresults as R  # noqa: E402
import mixed as M  # noqa: E402
import stats as S  # noqa: E402
from scipy import special  # noqa: E402
from scipy import stats as sst  # noqa: E402

ALPHA = 0.05
POWER = 0.8  # for the difference a design could have detected
N_BOOT = 2000
# settings a graph-free model does not use: the baseline joins strata that differ only in these
GRAPH_ONLY = {"variant", "frozen", "order", "freeze", "agg_init"}
TEST_SET = {"mnist": 10000, "fashion": 10000, "kmnist": 10000}



def pyplot():
    """matplotlib's pyplot, loaded on first use: the analyses import this module for its groups and
    tests, and pyplot alone costs 0.35 s of an until: round's 1 s budget."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 110, "font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
    return plt


class UsageError(R.ResultsError):
    pass


# ---------------------------------------------------------------- strata and groups

def strata_keys(df, text):
    keys = [k for k in R.STRATUM_FIELDS if k in df]
    if not text:
        return keys
    want = [k for k in text.split(",") if k]
    bad = [k for k in want if k not in keys]
    if bad:
        raise UsageError(f"--strata: unknown key(s) {', '.join(bad)}; keys of this file: {', '.join(keys)}")
    return want


def is_baseline(df):
    return (df["graph_family"] == "none") | (df["variant"] == "baseline")


def label_keys(d, keys):
    """The stratum keys worth printing: those that vary among the done trials (dataset always)."""
    graph = d[~is_baseline(d)]
    return [k for k in keys if k == "dataset" or (k in graph and graph[k].nunique() > 1)]


def stratum_label(row, keys):
    parts = []
    for k in keys:
        v = row[k]
        if k == "frozen":
            parts.append("frozen" if bool(v) else "trainable")
        elif k in ("dataset", "variant", "order"):
            parts.append(str(v))
        else:
            parts.append(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(parts) or "all"


def build_strata(d, keys, shown):
    """[(label, trials)]: the graph trials of each configuration plus the baseline trials that share
    its settings other than GRAPH_ONLY ones; baseline trials that match no graph stratum form their own."""
    base, graph = d[is_baseline(d)], d[~is_baseline(d)]
    shared = [k for k in keys if k not in GRAPH_ONLY]
    out, used = [], set()
    for _, g in groupby(graph, keys):
        if not len(g):
            continue
        first = g.iloc[0]
        m = np.ones(len(base), dtype=bool)
        for k in shared:
            m &= (base[k] == first[k]).to_numpy()
        used.update(base.index[m])
        out.append((stratum_label(first, shown), pd.concat([g, base[m]])))
    rest = base.drop(index=list(used))
    for _, g in groupby(rest, shared):
        if len(g):
            out.append((stratum_label(g.iloc[0], [k for k in shown if k not in GRAPH_ONLY]) + " (baseline only)", g))
    return out


def _same(a, b):
    if isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    return a is not None and b is not None and np.isfinite(b) and abs(float(a) - float(b)) <= 1e-9 * max(1, abs(a))


def token_mask(d, token):
    """Trials a --compare token names: a family, family:base, or a graph spec (its given parameters
    must match; without seed= every graph seed matches), or the exact graph string (a file)."""
    t = token.strip()
    fam = d["graph_family"].astype(str)
    if t in ("none", "baseline"):
        return is_baseline(d).to_numpy()
    if t in R.FAMILIES:
        return (fam == t).to_numpy()
    head, colon, rest = t.partition(":")
    if colon and head in R.FAMILIES and "=" not in rest:
        return ((fam == head) & (d["base_graph"].astype(str) == rest)).to_numpy()
    exact = (d["graph"] == t) | (d["graph_group"] == t)
    p = R.parse_graph_spec(t)
    if p["family"] in ("file", "celegans", "mouse", "none"):
        return exact.to_numpy()
    m = (fam == p["family"]).to_numpy()
    if p["base"] is not None:
        m &= (d["base_graph"].astype(str) == p["base"]).to_numpy()
    for key, col in (("n", "graph_n"), ("m", "graph_m"), ("k", "graph_k"), ("p", "graph_p"), ("seed", "graph_seed"),
                     ("swaps_per_edge", "swaps_per_edge")):
        if p[key] is not None:
            m &= np.array([_same(p[key], v) for v in d[col]])
    return m | exact.to_numpy()


def split_groups(text):
    """--compare's list: commas separate groups, except that a key=value item after a spec continues
    it ("ws:n=32,k=4,p=0.25,celegans" is two groups)."""
    out = []
    for item in (x.strip() for x in (text or "").split(",")):
        if not item:
            continue
        if out and "=" in item and ":" not in item and ":" in out[-1]:
            out[-1] += "," + item
        else:
            out.append(item)
    return out


def groupby(df, keys):
    """df.groupby(keys) for any number of keys (none: one group; one: no 1-tuple warning)."""
    if not keys:
        return [(None, df)] if len(df) else []
    return df.groupby(keys if len(keys) > 1 else keys[0], sort=False, dropna=False)


def check_tokens(d, tokens, path):
    for t in tokens:
        if not token_mask(d, t).any():
            groups = ", ".join(sorted(set(d["graph_group"])))
            fams = ", ".join(sorted(set(d["graph_family"].astype(str))))
            raise UsageError(f"{path}: --compare group '{t}' has no done trial; groups with done trials: {groups} "
                             f"(families: {fams}; family:base for rewirings, e.g. rewire:celegans)")


# ---------------------------------------------------------------- analyses

def n_test(row):
    limit = int(row["test_limit"]) if "test_limit" in row and np.isfinite(row["test_limit"]) else 0
    full = TEST_SET.get(str(row["dataset"]), 10000)
    return min(limit, full) if limit > 0 else full


def mean_ci(acc_pct, ntest):
    r = S.bounded_mean_ci(np.asarray(acc_pct) / 100, n_test=ntest)
    return dict(n=r["n"], mean=100 * r["mean"], low=100 * r["low"], high=100 * r["high"], ci_method=r["method"])


def varied_params(d):
    """[(family, parameter)] for each family parameter that takes more than one value."""
    out = []
    for fam, params in R.FAMILY_PARAMS.items():
        sub = d[d["graph_family"] == fam]
        for p in params:
            if sub[param_col(p)].dropna().nunique() > 1:
                out.append((fam, p))
    return out


def param_col(p):
    return "swaps_per_edge" if p == "swaps_per_edge" else "graph_" + p


def trend_points(fam, p, label, name, s):
    """Mean accuracy with its bounded CI at each value of parameter p (pooled over the seeds)."""
    pts = []
    for x, gx in s.groupby(param_col(p), sort=True):
        pts.append(dict(family=fam, parameter=p, stratum=label, series=name, value=float(x),
                        graph_seeds=int(gx["graph_seed"].nunique()), weight_seeds=int(gx["seed"].nunique()),
                        order_seeds=int(gx["order_seed"].nunique()), **mean_ci(gx["acc"], n_test(gx.iloc[0]))))
    return pts


def fixed_label(others, key):
    """'n=16, k=4': the family's other parameters, constant along one curve."""
    vals = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{c.replace('graph_', '')}={v:g}" if isinstance(v, float) else f"{c}={v}"
                     for c, v in zip(others, vals) if not (isinstance(v, float) and math.isnan(v)))


def unit_means(g, cols, keys):
    """Mean of each column over the trials of each unit (a graph, or a graph's DAG: graph x order seed):
    the seeds of a unit are repeated measures of it, so a correlation across units counts each once."""
    return g.groupby(keys, sort=False)[cols].mean()


def trends(strata, d):
    """Per varied (family, parameter), stratum and setting of the family's other parameters: mean
    accuracy with its CI at each value, and Spearman's rho over the graphs (each graph's mean accuracy)."""
    rows, series = [], []
    for fam, p in varied_params(d):
        others = [param_col(q) for q in R.FAMILY_PARAMS[fam] if q != p] + (["base_graph"] if fam == "rewire" else [])
        for label, g in strata:
            sub = g[(g["graph_family"] == fam) & g[param_col(p)].notna()]
            for okey, s in groupby(sub, others):
                if s[param_col(p)].nunique() < 2:
                    continue
                fixed = fixed_label(others, okey)
                name = label + (f"; {fixed}" if fixed else "")
                pts = trend_points(fam, p, label, name, s)
                rows += pts
                u = unit_means(s, [param_col(p), "acc"], ["graph"])
                sp = S.spearman(u[param_col(p)], u["acc"], n_boot=N_BOOT, seed=0)
                series.append(dict(family=fam, parameter=p, stratum=label, series=name, n=len(s), graphs=len(u),
                                   unit="graphs", rho=sp["rho"], p=sp["p"], low=sp["low"], high=sp["high"],
                                   ci_method=sp["method"].replace("pairs", "graphs"), points=pts))
    return rows, series


def correlations(strata):
    """Spearman's rho of accuracy with every measure that varies, per stratum (graph trials only), over
    units: graphs for a graph measure, DAGs (graph x order seed) for a DAG measure."""
    rows = []
    for label, g in strata:
        g = g[g["graph_family"] != "none"]
        for m in R.GRAPH_MEASURES + R.DAG_MEASURES:
            keys = ["graph"] if m in R.GRAPH_MEASURES else ["graph", "order_seed"]
            x = g[m].astype(float)
            ok = x.notna() & g["acc"].notna()
            u = unit_means(g[ok].assign(**{m: x[ok]}), [m, "acc"], keys)
            if len(u) < 3 or u[m].nunique() < 2:
                continue
            sp = S.spearman(u[m], u["acc"], n_boot=N_BOOT, seed=0)
            rows.append(dict(stratum=label, measure=m, n=int(ok.sum()), graphs=int(g.loc[ok, "graph"].nunique()),
                             units=len(u), unit="graphs" if len(keys) == 1 else "DAGs (graph x order seed)",
                             rho=sp["rho"], p=sp["p"], low=sp["low"], high=sp["high"],
                             ci_method=sp["method"].replace("pairs", "units"), boot_dropped=sp["boot_dropped"]))
    return rows


def pairs_in(g, tokens):
    """[(name_a, trials_a, name_b, trials_b)] of one stratum: the --compare groups, or every graph group."""
    if tokens:
        groups = [(t, g[token_mask(g, t)]) for t in tokens]
    else:
        groups = [(name, s) for name, s in g.groupby("graph_group", sort=False)]
    groups = [(n, s) for n, s in groups if len(s)]
    return [(a, sa, b, sb) for (a, sa), (b, sb) in itertools.combinations(groups, 2)]


def trial_level(a, sa, b, sb):
    """Trial-level tests and effect sizes ("trials treated as independent"): kept for reference, never
    the verdict when graphs vary within a group."""
    x, y = sa["acc"].to_numpy(), sb["acc"].to_numpy()
    w, u = S.welch_t(x, y), S.mann_whitney(x, y)
    d, c = S.cohens_d(x, y), S.cliffs_delta(x, y)
    return dict(n_a=len(x), n_b=len(y), mean_a=float(np.mean(x)), mean_b=float(np.mean(y)),
                sd_a=float(np.std(x, ddof=1)) if len(x) > 1 else math.nan,
                sd_b=float(np.std(y, ddof=1)) if len(y) > 1 else math.nan,
                welch_t=w["statistic"], welch_df=w["df"], welch_p=w["p"], mwu_u=u["statistic"], mwu_p=u["p"],
                mwu_method=u.get("p_method", "-"), cohens_d=d["d"], d_low=d["low"], d_high=d["high"],
                d_ci_method=d["ci_method"], cliffs_delta=c["delta"], delta_low=c["low"], delta_high=c["high"])


def detectable(se, df, alpha=ALPHA, power=POWER):
    """The difference a two-sided test at alpha detects with the given power: (t_{1-alpha/2} + t_power) SE
    at the contrast's df (the usual minimal detectable difference)."""
    if not (np.isfinite(se) and np.isfinite(df) and df > 0):
        return math.nan
    return float((sst.t.ppf(1 - alpha / 2, df) + sst.t.ppf(power, df)) * se)


def logit_pct(acc):
    return special.logit(np.clip(np.asarray(acc, dtype=float) / 100, 0.5e-4, 1 - 0.5e-4))


def graph_level_mixed(sa, sb):
    """Both groups hold several graphs: accuracy ~ group + (1 | graph) [+ (1 | graph:order_seed)], REML,
    Satterthwaite df; the same on the logit scale."""
    both = pd.concat([sa.assign(_g="A"), sb.assign(_g="B")])
    order = both["order_seed"].astype(str).to_numpy() if both["order_seed"].nunique() > 1 else None
    graph = both["graph"].astype(str).to_numpy()
    c = M.compare(both["acc"].to_numpy(), both["_g"].to_numpy(), graph, "A", "B", order=order)
    lg = M.compare(logit_pct(both["acc"]), both["_g"].to_numpy(), graph, "A", "B", order=order)
    return dict(method=c["method"], unit="graphs", estimate=c["estimate"], se=c["se"], df=c["df"], low=c["low"],
                high=c["high"], p=c["p"], var_graph=c["var_graph"], var_order=c["var_order"],
                var_resid=c["var_resid"], singular=c["singular"], fit_notes=c["notes"] + ([c["why"]] if c.get("why") else []),
                logit_estimate=lg["estimate"], logit_low=lg["low"], logit_high=lg["high"], logit_p=lg["p"],
                detectable=detectable(c["se"], c["df"]))


def graph_level_null(single, ens, single_is_a):
    """One side is a single graph, the other an ensemble of graphs: the null-model test."""
    r = S.null_model_test(single["acc"].to_numpy(), ens["acc"].to_numpy(), ens["graph"].astype(str).to_numpy(),
                          alpha=ALPHA)
    sign = 1 if single_is_a else -1
    lo, hi = sign * r["low"], sign * r["high"]
    notes = []
    if not r["reachable"]:
        notes.append(f"k = {r['k']} null graphs: the smallest reachable p is 1/(k+1) = {r['p_min']:.3g}, so p < "
                     f"{ALPHA} cannot be reached (k >= {math.ceil(1 / ALPHA)} needed)")
    if r["k"] and not (r["seeds_null_min"] == r["seeds_null_max"] == r["seeds_obs"]):
        notes.append(f"the real graph has {r['seeds_obs']} trials, the null graphs {r['seeds_null_min']}-"
                     f"{r['seeds_null_max']}: its mean is not as noisy as theirs, which the test assumes")
    return dict(method=r["method"], unit="graphs", estimate=sign * r["estimate"], se=r["se"],
                df=r["k"] - 1 if r["k"] > 1 else math.nan, low=min(lo, hi), high=max(lo, hi), p=r["p"], k=r["k"],
                z=sign * r["z"], p_min=r["p_min"], reachable=r["reachable"], pi_low=r["pi_low"], pi_high=r["pi_high"],
                null_mean=r["null_mean"], null_sd=r["null_sd"], obs_mean=r["obs_mean"], fit_notes=notes,
                detectable=detectable(r["se"], r["k"] - 1) if r["reachable"] else math.nan)


def graph_level_two(sa, sb):
    """One graph on each side: the question is about these two graphs, so their trials are the unit."""
    w = S.welch_t(sa["acc"].to_numpy(), sb["acc"].to_numpy())
    na, nb = len(sa), len(sb)
    se = math.sqrt(sa["acc"].var(ddof=1) / na + sb["acc"].var(ddof=1) / nb) if na > 1 and nb > 1 else math.nan
    est = float(sa["acc"].mean() - sb["acc"].mean())
    q = sst.t.ppf(1 - ALPHA / 2, w["df"]) if np.isfinite(w["df"]) else math.nan
    return dict(method="Welch's t over the trials (one graph on each side: the comparison is of these two graphs, "
                       "their weight seeds are the replicates)", unit="trials", estimate=est, se=se, df=w["df"],
                low=est - q * se, high=est + q * se, p=w["p"], fit_notes=[], detectable=detectable(se, w["df"]))


def compare_pair(label, a, sa, b, sb):
    ga, gb = int(sa["graph"].nunique()), int(sb["graph"].nunique())
    if ga > 1 and gb > 1:
        g = graph_level_mixed(sa, sb)
    elif ga == 1 and gb > 1:
        g = graph_level_null(sa, sb, True)
    elif ga > 1 and gb == 1:
        g = graph_level_null(sb, sa, False)
    else:
        g = graph_level_two(sa, sb)
    return dict(stratum=label, a=a, b=b, graphs_a=ga, graphs_b=gb, **g, **trial_level(a, sa, b, sb))


def verdict(r):
    hp = r["p_holm"]
    how = "mixed model" if r["method"].startswith("linear mixed") else (
        "null-model test, k = %d" % r["k"] if r["method"].startswith("null-model") else "Welch over trials")
    if not np.isfinite(hp):
        why = "; ".join(r.get("fit_notes") or []) or "fewer than 2 graphs or trials on a side, or no spread"
        return f"not testable ({why})"
    if hp < ALPHA:
        hi, lo = (r["a"], r["b"]) if r["estimate"] > 0 else (r["b"], r["a"])
        return f"{hi} higher than {lo} ({how}, Holm p = {hp:.3g})"
    text = f"no difference detected ({how}, Holm p = {hp:.3g}"
    if r.get("reachable") is False:
        text += f"; p < {ALPHA} unreachable with k = {r['k']}"
    elif np.isfinite(r.get("detectable", math.nan)):
        text += f"; 80 % power at {r['detectable']:.2g} pp"
    return text + ")"


def comparisons(strata, tokens):
    rows = [compare_pair(label, *pair) for label, g in strata for pair in pairs_in(g, tokens)]
    for col in ("p", "welch_p", "mwu_p"):
        adj = S.holm([r[col] for r in rows])
        for r, v in zip(rows, adj):
            r[col + "_holm"] = float(v)
    for r in rows:
        r["verdict"] = verdict(r)
    return rows


def decompose(label, group, g):
    r = S.seed_variance(g["acc"].to_numpy(), g["graph_seed"].fillna(-1).to_numpy(), g["order_seed"].to_numpy(),
                        g["seed"].to_numpy(), group=g["graph_group"].to_numpy() if group == "all graph groups" else None)
    levels = dict(graph_seeds=int(g["graph_seed"].fillna(-1).nunique()), order_seeds=int(g["order_seed"].nunique()),
                  weight_seeds=int(g["seed"].nunique()))
    cells = g.groupby([g["graph_seed"].fillna(-1), "order_seed", "seed"]).size()
    full = len(cells) == levels["graph_seeds"] * levels["order_seeds"] * levels["weight_seeds"]
    return dict(r, stratum=label, group=group, balanced=bool(full and cells.nunique() == 1), **levels)


def variance(d, keys, shown):
    """Per stratum (the trials' own configuration) and graph group, where a seed axis varies; plus the
    graph groups of a stratum pooled (each group its own fixed mean) when there are several."""
    out = []
    for _, g in groupby(d, keys):
        label = stratum_label(g.iloc[0], shown if not is_baseline(g).all() else
                              [k for k in shown if k not in GRAPH_ONLY])
        fit = []
        for name, s in g.groupby("graph_group", sort=False):
            seeds_vary = any(s[c].nunique() > 1 for c in ("graph_seed", "order_seed", "seed"))
            if len(s) >= 3 and seeds_vary:
                fit.append(name)
                out.append(decompose(label, name, s))
        if len(fit) > 1:
            out.append(decompose(label, "all graph groups", g[g["graph_group"].isin(fit)]))
    return out


# ---------------------------------------------------------------- output

def clean(v):
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def f(v, digits=2):
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def fp(v):
    return "-" if v is None or not np.isfinite(v) else f"{v:.3g}"


def ci(lo, hi, digits=2):
    return "-" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def var_rows(v):
    """(name, variance, share) of each component, the residual last with what it absorbs."""
    rows = [(c["name"], c["variance"], c["share"]) for c in v["components"]]
    res = v["residual"]
    name = "residual" + (f" (= {', '.join(res['includes'])}: no df left to separate it)" if res["includes"] else
                         " (weight seed x network)")
    return rows + [(name, res["variance"], res["share"])]


def save(fig, out, name, written):
    p = os.path.join(out, name)
    fig.savefig(p, bbox_inches="tight")
    pyplot().close(fig)
    written.append(p)


def empty(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def fig_trends(series, out, written):
    panels = list(dict.fromkeys((s["family"], s["parameter"]) for s in series))
    ncol = min(3, max(1, len(panels)))
    nrow = max(1, math.ceil(len(panels) / ncol))
    fig, axes = pyplot().subplots(nrow, ncol, figsize=(5 * ncol, 3.8 * nrow), squeeze=False)
    if not panels:
        empty(axes[0][0], "no family parameter (ws p, ba m, ...) takes more than one value among the done trials")
    for i, (fam, p) in enumerate(panels):
        ax = axes[i // ncol][i % ncol]
        for j, s in enumerate(x for x in series if (x["family"], x["parameter"]) == (fam, p)):
            pts = s["points"]
            xs = np.array([q["value"] for q in pts])
            ys = np.array([q["mean"] for q in pts])
            lo = np.array([q["low"] for q in pts])
            hi = np.array([q["high"] for q in pts])
            err = np.maximum(0, np.vstack([np.nan_to_num(ys - lo), np.nan_to_num(hi - ys)]))
            ax.errorbar(xs, ys, yerr=err, marker="o", ms=4, capsize=3, color=f"C{j % 10}",
                        label=f"{s['series']} (rho {f(s['rho'])} {ci(s['low'], s['high'])})")
        ax.set(title=f"{fam}: accuracy against {p}", xlabel=p, ylabel="final test accuracy (%)")
        ax.legend(fontsize=7)
    for k in range(len(panels), nrow * ncol):
        if panels:
            axes[k // ncol][k % ncol].set_visible(False)
    fig.suptitle("Accuracy against family parameters: mean and 95% CI over graph, ordering and weight seeds "
                 "(Student t on the logit scale)", fontsize=9)
    save(fig, out, "topology_trends.png", written)


def fig_measures(strata, cors, out, written):
    measures = list(dict.fromkeys(c["measure"] for c in cors))
    ncol = min(3, max(1, len(measures)))
    nrow = max(1, math.ceil(len(measures) / ncol))
    fig, axes = pyplot().subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow), squeeze=False)
    if not measures:
        empty(axes[0][0], "no graph or DAG measure varies among the done trials of any stratum")
    for i, m in enumerate(measures):
        ax = axes[i // ncol][i % ncol]
        for j, (label, g) in enumerate(strata):
            c = next((c for c in cors if c["measure"] == m and c["stratum"] == label), None)
            if c is None:
                continue
            g = g[g["graph_family"] != "none"]
            ax.scatter(g[m].astype(float), g["acc"], s=12, alpha=0.7, color=f"C{j % 10}",
                       label=f"{label}: rho {f(c['rho'])} {ci(c['low'], c['high'])}")
        ax.set(title=m, xlabel=m, ylabel="final test accuracy (%)")
        ax.legend(fontsize=6)
    for k in range(len(measures), nrow * ncol):
        if measures:
            axes[k // ncol][k % ncol].set_visible(False)
    fig.suptitle("Accuracy against graph and DAG measures (one point per trial; Spearman rho over graphs or DAGs, "
                 f"bootstrap percentile 95% CI, {N_BOOT} resamples)", fontsize=9)
    fig.tight_layout()
    save(fig, out, "topology_measures.png", written)


def fig_comparisons(comps, out, written, limit=80):
    """Each comparison's graph-level estimate (A - B, pp) with its 95 % CI; red where Holm p < 0.05."""
    show = comps[:limit]
    fig, ax = pyplot().subplots(figsize=(8, max(2.5, 0.32 * len(show) + 1.2)))
    if not show:
        empty(ax, "no pair of groups to compare in any stratum")
    else:
        y = np.arange(len(show))[::-1]
        est = np.array([c["estimate"] for c in show], dtype=float)
        lo = np.array([c["low"] for c in show], dtype=float)
        hi = np.array([c["high"] for c in show], dtype=float)
        colors = np.array(["C3" if np.isfinite(c["p_holm"]) and c["p_holm"] < ALPHA else "C0" for c in show])
        ok = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
        ax.errorbar(est[ok], y[ok], xerr=np.maximum(0, np.vstack([est[ok] - lo[ok], hi[ok] - est[ok]])), fmt="none",
                    ecolor="0.5", capsize=3)
        ax.scatter(est[ok], y[ok], c=colors[ok], zorder=3)
        for yi in y[~ok]:
            ax.text(0, yi, "not testable", ha="center", va="center", fontsize=7, color="0.4")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(y, [f"{c['a']} vs {c['b']} [{short_method(c)}]\n{c['stratum']}" for c in show], fontsize=6)
        ax.set_xlabel("A - B (accuracy points) with 95% CI, graphs as the unit; red: Holm p < 0.05")
    title = "Graph-level comparisons" + (f" (first {limit} of {len(comps)})" if len(comps) > limit else "")
    ax.set_title(title)
    save(fig, out, "topology_comparisons.png", written)


def short_method(c):
    if c["method"].startswith("linear mixed"):
        return "mixed model"
    if c["method"].startswith("null-model"):
        return f"null model, k={c['k']}"
    return "trials"


def study_groups(strata, tokens, limit=12):
    """[(stratum, [(group, trials)])] for the study figure: the --compare groups, else every graph group."""
    out = []
    for label, g in strata:
        if tokens:
            groups = [(t, g[token_mask(g, t)]) for t in tokens]
        else:
            groups = list(g.groupby("graph_group", sort=False))
        groups = [(n, s) for n, s in groups if len(s)][:limit]
        if len(groups) > 1:
            out.append((label, groups))
    return out


def group_estimate(s):
    """A group's mean accuracy and 95 % CI with graphs as the unit (t over the graph means); a single
    graph: over its trials (logit-scale t, bounded)."""
    means = s.groupby("graph")["acc"].mean().to_numpy()
    if len(means) > 1:
        m, sd = float(means.mean()), float(means.std(ddof=1))
        q = sst.t.ppf(1 - ALPHA / 2, len(means) - 1) * sd / math.sqrt(len(means))
        return m, m - q, m + q
    r = mean_ci(s["acc"], n_test(s.iloc[0]))
    return r["mean"], r["low"], r["high"]


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def fig_study(groups_by_stratum, out, written, max_panels=4):
    """One point per graph (its mean over seeds, bar: its seeds' range) by group, with the group's
    estimate and 95 % CI beside it: what a study's verdicts rest on."""
    panels = groups_by_stratum[:max_panels]
    widest = max([len(g) for _, g in panels] or [1])
    fig, axes = pyplot().subplots(len(panels) or 1, 1, figsize=(max(9, 1.25 * widest), 3.8 * max(1, len(panels))),
                                  squeeze=False)
    if not panels:
        empty(axes[0][0], "fewer than two groups with done trials in every stratum")
    for ax, (label, groups) in zip(axes[:, 0], panels):
        for i, (name, s) in enumerate(groups):
            per = s.groupby("graph")["acc"].agg(["mean", "min", "max"])
            xs = i + np.linspace(-0.25, 0.05, len(per)) if len(per) > 1 else np.array([i - 0.1])
            ax.vlines(xs, per["min"], per["max"], color=f"C{i % 10}", alpha=0.5, lw=1)
            ax.scatter(xs, per["mean"], s=14, color=f"C{i % 10}", zorder=3)
            m, lo, hi = group_estimate(s)
            if np.isfinite(lo) and np.isfinite(hi):
                # the plain mean can sit a rounding error outside a logit-scale CI of identical values
                ax.errorbar([i + 0.2], [m], yerr=[[max(0.0, m - lo)], [max(0.0, hi - m)]], fmt="D", color="k", ms=5,
                            capsize=4)
            else:
                ax.scatter([i + 0.2], [m], marker="D", color="k", s=20)
        ax.set_xticks(range(len(groups)), [f"{R.wrap_spec(n, 16)}\n{plural(s['graph'].nunique(), 'graph')}, "
                                           f"{plural(len(s), 'trial')}" for n, s in groups], fontsize=7)
        ax.set(ylabel="final test accuracy (%)", title=label)
    fig.suptitle("Each graph's mean accuracy over its seeds (dot; bar: range of its seeds), and each group's mean "
                 "with its 95% CI (black; graphs as the unit)", fontsize=9)
    fig.tight_layout()
    save(fig, out, "topology_study.png", written)


def null_pairs(strata, tokens):
    """[(stratum, single graph group, its trials, ensemble group, its trials)]: the null-model tests."""
    out = []
    for label, g in strata:
        for a, sa, b, sb in pairs_in(g, tokens):
            ga, gb = sa["graph"].nunique(), sb["graph"].nunique()
            if ga == 1 and gb > 1:
                out.append((label, a, sa, b, sb))
            elif gb == 1 and ga > 1:
                out.append((label, b, sb, a, sa))
    return out


def fig_null(pairs, out, written, max_panels=9):
    """Each null-model test as its picture: the k null graphs' means (one dot each, stacked as a dot
    histogram), the 95 % prediction interval of one more null graph (shaded), the null mean (dashed) and
    the real graph's mean with its 95 % CI over its trials (red)."""
    pairs = pairs[:max_panels]
    if not pairs:
        return
    cols = min(3, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    fig, axes = pyplot().subplots(rows, cols, figsize=(4.2 * cols, 2.9 * rows), squeeze=False)
    for ax in axes.flat[len(pairs):]:
        ax.set_visible(False)
    for ax, (label, real, sr, null, sn) in zip(axes.flat, pairs):
        r = S.null_model_test(sr["acc"].to_numpy(), sn["acc"].to_numpy(), sn["graph"].astype(str).to_numpy(),
                              alpha=ALPHA)
        means = np.sort(sn.groupby("graph")["acc"].mean().to_numpy())
        width = max(float(means.max() - means.min()) / 12, 1e-3)
        bins = np.floor((means - means.min()) / width)
        level = np.array([np.sum(bins[:i] == bins[i]) for i in range(len(means))])
        ax.scatter(means.min() + (bins + 0.5) * width, level + 1, s=22, color="C0", zorder=3,
                   label=f"{plural(len(means), 'null graph')} (mean over its seeds)")
        if np.isfinite(r["pi_low"]):
            ax.axvspan(r["pi_low"], r["pi_high"], color="C0", alpha=0.12, label="95% prediction interval")
        ax.axvline(r["null_mean"], color="C0", ls="--", lw=1)
        m = mean_ci(sr["acc"], n_test(sr.iloc[0]))
        ax.axvline(m["mean"], color="C3", lw=2, label=f"{real} ({plural(len(sr), 'trial')}; band: 95% CI)")
        if np.isfinite(m["low"]):
            ax.axvspan(m["low"], m["high"], color="C3", alpha=0.15)
        ax.set_ylim(0, max(level.max() + 2, 3))
        ax.set_yticks([])
        ax.set(xlabel="final test accuracy (%)",
               title=f"{real} vs {null} ({label})\nz = {r['z']:.2f}, empirical p = {r['p']:.3g} (k = {r['k']})")
        ax.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    save(fig, out, "topology_null.png", written)


def fig_variance(var, out, written):
    fig, ax = pyplot().subplots(figsize=(8, max(2.5, 0.4 * len(var) + 1.2)))
    if not var:
        empty(ax, "no stratum has more than one graph seed, ordering seed or weight seed")
    else:
        colors = {"graph_seed": "C0", "order_seed": "C1", "weight_seed": "C2"}
        y = np.arange(len(var))[::-1]
        for yi, v in zip(y, var):
            left = 0.0
            for (name, _, share), key in zip(var_rows(v), [c["name"] for c in v["components"]] + [None]):
                share = share if np.isfinite(share) else 0.0
                absorbed = v["residual"]["includes"] if key is None else []
                key = key or (f"residual (= {absorbed[0]})" if absorbed else "residual (weight seed x network)")
                ax.barh(yi, share, left=left, color=colors.get(absorbed[0] if absorbed else key, "0.6"),
                        hatch="//" if absorbed else None, label=key)
                left += share
        h, lab = ax.get_legend_handles_labels()
        uniq = dict(zip(lab, h))
        ax.legend(uniq.values(), uniq.keys(), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
        ax.set_yticks(y, [f"{v['group']}\n{v['stratum']}" for v in var], fontsize=6)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of accuracy variance (random-effects ANOVA, method of moments)")
    ax.set_title("Variance of accuracy: graph seed, vertex-ordering seed, weight seed")
    save(fig, out, "topology_variance.png", written)


def md_columns(info):
    out = []
    if info["from_file"]:
        out.append("Topology columns read from /summary: " + ", ".join(info["from_file"]) + ".")
    if info["from_graph_spec"]:
        out.append("Not in this file (written before /summary had them), parsed from the graph spec strings: "
                   + ", ".join(info["from_graph_spec"]) + ".")
    if info["from_trials_dag"]:
        out.append("Computed from /trials/<id>/dag: " + ", ".join(info["from_trials_dag"]) + ".")
    if info["unavailable"]:
        out.append("Unavailable in this file (skipped): " + ", ".join(info["unavailable"]) + ".")
    return out


def md_trends(series):
    out = ["## Accuracy against family parameters", "",
           "Mean final test accuracy (%) of the done trials at each parameter value, pooled over graph, ordering "
           "and weight seeds; 95% CI: Student t on the logit scale, back-transformed (stays inside 0-100 %). "
           f"Trend: Spearman's rho over the graphs (each graph's mean accuracy over its seeds: the graph is the "
           f"unit), 95% CI by bootstrap percentile ({N_BOOT} resamples of graphs, seed 0). Figure: "
           "topology_trends.png.", ""]
    if not series:
        return out + ["No family parameter (ws p, ba m, ...) takes more than one value among the done trials.", ""]
    out += ["| family | parameter | series | value | n | graph seeds | weight seeds | mean | 95% CI |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in series:
        for q in s["points"]:
            out.append(f"| {s['family']} | {s['parameter']} | {s['series']} | {q['value']:g} | {q['n']} | "
                       f"{q['graph_seeds']} | {q['weight_seeds']} | {f(q['mean'])} | {ci(q['low'], q['high'])} |")
    out += ["", "| family | parameter | series | trials | graphs (the unit) | Spearman rho | 95% CI (bootstrap) | p |",
            "| --- | --- | --- | ---: | ---: | ---: | --- | ---: |"]
    out += [f"| {s['family']} | {s['parameter']} | {s['series']} | {s['n']} | {s['graphs']} | {f(s['rho'], 3)} | "
            f"{ci(s['low'], s['high'], 3)} | {fp(s['p'])} |" for s in series]
    return out + [""]


def md_correlations(cors):
    out = ["## Accuracy against graph and DAG measures", "",
           "Spearman's rho of final test accuracy with each measure that varies, per stratum, over units: a "
           "graph measure is constant within a graph, so the unit is the graph (its mean accuracy over its "
           "seeds); a DAG measure, within a graph's DAG, so the unit is graph x order seed. 95% CI: bootstrap "
           f"percentile, {N_BOOT} resamples of units, seed 0. p: Spearman's t approximation. Figure: "
           "topology_measures.png (every trial a point).", ""]
    if not cors:
        return out + ["No measure varies among the done graph trials of any stratum (or fewer than 3 trials).", ""]
    out += ["| stratum | measure | trials | graphs | unit | units | rho | 95% CI | p |",
            "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | ---: |"]
    out += [f"| {c['stratum']} | {c['measure']} | {c['n']} | {c['graphs']} | {c['unit']} | {c['units']} | {f(c['rho'], 3)} | "
            f"{ci(c['low'], c['high'], 3)} | {fp(c['p'])} |" for c in cors]
    return out + [""]


def md_comparisons(comps, tokens):
    what = ("the groups named by --compare (" + ", ".join(tokens) + ")" if tokens else
            "every pair of graph groups (a spec without its seed; the baseline 'none' included)")
    out = ["## Comparisons: graphs as the unit", "",
           f"Within each stratum, {what}. The question is about wirings, so the unit of replication is the "
           "graph: a graph's seeds are repeated measures of it, not independent samples of its family. "
           "When both groups hold several graphs: a linear mixed model, accuracy ~ group + (1 | graph) "
           "(+ (1 | graph:order_seed) when order seeds vary), fitted by REML to the trials of the two groups, "
           "the contrast's df by Satterthwaite (as R's lmerTest), with its variance components (pp^2). "
           "When one side is a single graph and the other an ensemble (mouse against rewire:mouse): the "
           "null-model test, the graph's mean over its seeds against the k null graphs' means (z, empirical "
           "two-sided p = (1 + #{null at least as extreme}) / (1 + k), 95% prediction interval of one more "
           "null graph's mean); its CI is that of the difference from the ensemble mean. One graph on each "
           f"side: Welch's t over their trials. Holm-Bonferroni over the {len(comps)} comparisons; verdict at "
           "alpha 0.05. 'detectable': the difference this design detects with 80% power, (t_0.975 + t_0.8) SE. "
           "The same mixed model on the logit scale (logit of the accuracy fraction) is given beside it. "
           "Figure: topology_comparisons.png; the graphs themselves: topology_study.png; each null-model test drawn "
           "(the null graphs' means, the prediction interval, the real graph): topology_null.png.", ""]
    if not comps:
        return out + ["No stratum has two groups with done trials.", ""]
    out += ["| stratum | A | B | method | graphs A / B | trials A / B | A - B (pp) [95% CI] | df | p | Holm p | "
            "var graph / order / seed (pp^2) | detectable (pp) | logit-scale A - B, p | verdict |",
            "| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- | --- |"]
    for c in comps:
        comp = "-"
        if c["method"].startswith("linear mixed"):
            vo = "-" if c["var_order"] is None else f"{c['var_order']:.4f}"
            comp = f"{c['var_graph']:.4f} / {vo} / {c['var_resid']:.4f}" + (" (singular)" if c["singular"] else "")
        elif c["method"].startswith("null-model"):
            comp = (f"z = {f(c['z'])}; null sd {f(c['null_sd'], 3)}; PI [{f(c['pi_low'])}, {f(c['pi_high'])}]")
        lg = (f"{c['logit_estimate']:.3f} [{c['logit_low']:.3f}, {c['logit_high']:.3f}], p {fp(c['logit_p'])}"
              if "logit_estimate" in c and np.isfinite(c["logit_estimate"]) else "-")
        out.append(f"| {c['stratum']} | {c['a']} | {c['b']} | {short_method(c)} | {c['graphs_a']} / {c['graphs_b']} | "
                   f"{c['n_a']} / {c['n_b']} | {f(c['estimate'], 3)} {ci(c['low'], c['high'], 3)} | {f(c['df'], 1)} | "
                   f"{fp(c['p'])} | {fp(c['p_holm'])} | {comp} | {f(c['detectable'], 3)} | {lg} | {c['verdict']} |")
    notes = [f"- {c['a']} vs {c['b']} ({c['stratum']}): {n}" for c in comps for n in c.get("fit_notes") or []]
    out += [""] + notes + ([""] if notes else [])
    out += ["### Trials treated as independent (for reference, not the verdict)", "",
            "The same pairs with every trial counted as an independent sample: Welch's t, Mann-Whitney U "
            "(Holm over the table, per test), Cohen's d (pooled SD, noncentral t CI) and Cliff's delta "
            "(score CI, Newcombe 2006). When graphs vary within a group this is pseudo-replication: it "
            "overstates the evidence by about the design effect 1 + (seeds - 1) ICC.", "",
            "| stratum | A | B | n A | n B | mean A | mean B | Welch t (df) | p | Holm p | MWU U | p | Holm p | "
            "Cohen's d [95% CI] | Cliff's delta [95% CI] |",
            "| --- | --- | --- |" + " ---: |" * 10 + " --- | --- |"]
    for c in comps:
        mark = " (normal approx.)" if c["d_ci_method"].startswith("normal") else ""
        out.append(f"| {c['stratum']} | {c['a']} | {c['b']} | {c['n_a']} | {c['n_b']} | {f(c['mean_a'])} | "
                   f"{f(c['mean_b'])} | {f(c['welch_t'])} ({f(c['welch_df'], 1)}) | {fp(c['welch_p'])} | "
                   f"{fp(c['welch_p_holm'])} | {f(c['mwu_u'], 1)} | {fp(c['mwu_p'])} | {fp(c['mwu_p_holm'])} | "
                   f"{f(c['cohens_d'])} {ci(c['d_low'], c['d_high'])}{mark} | {f(c['cliffs_delta'])} "
                   f"{ci(c['delta_low'], c['delta_high'])} |")
    return out + [""]


def md_variance(var):
    out = ["## Where the variance comes from: graph seed, vertex ordering, weight seed", "",
           "Random-effects model of final test accuracy (%) per stratum and graph group: graph seed, ordering "
           "seed nested in the graph seed (one order seed permutes each graph differently), weight seed "
           "crossed with both (it fixes the stem initialisation and the data order on every network), "
           "and the residual (the weight seed x network interaction: dcn is deterministic, so it is "
           "weight-seed variation specific to one graph and ordering). Fitted by the ANOVA method of moments "
           "with sequential sums of squares (Henderson's Method III, in that order); balanced and unbalanced "
           "designs (for unbalanced ones the estimates depend on that order); negative estimates set to 0 "
           "(marked *). 'all graph groups' pools the groups of a stratum, each with its own mean. A factor with "
           "one level is not estimated; when no residual df is left, the last factor is the residual. "
           "Figure: topology_variance.png.", ""]
    if not var:
        return out + ["No stratum has more than one graph seed, ordering seed or weight seed.", ""]
    out += ["| stratum | graph group | n | graph seeds | order seeds | weight seeds | balanced | component | "
            "variance (pp^2) | sd (pp) | share |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for v in var:
        trunc = set(v["truncated"])
        for i, (name, val, share) in enumerate(var_rows(v)):
            head = (f"| {v['stratum']} | {v['group']} | {v['n']} | {v['graph_seeds']} | {v['order_seeds']} | "
                    f"{v['weight_seeds']} | {'yes' if v['balanced'] else 'no'} |") if i == 0 else "| | | | | | | |"
            sd = math.sqrt(val) if np.isfinite(val) else math.nan
            out.append(f"{head} {name}{' *' if name in trunc else ''} | {f(val, 4)} | {f(sd, 3)} | "
                       f"{f(100 * share, 1) + ' %' if np.isfinite(share) else '-'} |")
    return out + [""]


def study_rows(groups_by_stratum):
    rows = []
    for label, groups in groups_by_stratum:
        for name, s in groups:
            m, lo, hi = group_estimate(s)
            per = s.groupby("graph").size()
            rows.append(dict(stratum=label, group=name, graphs=int(len(per)), trials=int(len(s)),
                             seeds_min=int(per.min()), seeds_max=int(per.max()), mean=m, low=lo, high=hi,
                             unit="graphs" if len(per) > 1 else "trials (one graph)"))
    return rows


def md_study(rows):
    out = ["## The study: groups of graphs", "",
           "Each group's mean accuracy (%) with its 95% CI. Graphs are the unit: the CI is Student t over the "
           "graphs' means (each graph's mean over its seeds); for a group of one graph, over its trials (logit "
           "scale, bounded). Figure: topology_study.png (every graph's mean and its seeds' range).", ""]
    if not rows:
        return out + ["Fewer than two groups with done trials in every stratum.", ""]
    out += ["| stratum | group | graphs | trials | seeds per graph | mean | 95% CI | unit |",
            "| --- | --- | ---: | ---: | --- | ---: | --- | --- |"]
    for r in rows:
        seeds = str(r["seeds_min"]) if r["seeds_min"] == r["seeds_max"] else f"{r['seeds_min']}-{r['seeds_max']}"
        out.append(f"| {r['stratum']} | {r['group']} | {r['graphs']} | {r['trials']} | {seeds} | {f(r['mean'])} | "
                   f"{ci(r['low'], r['high'])} | {r['unit']} |")
    return out + [""]


def write_markdown(path, out, res, info, tokens):
    d = res["summary"]
    lines = [f"# Topology analysis of {path}", "",
             f"{d['trials']} trials, {d['done']} done (used); {d['strata']} strata "
             f"(keys: {', '.join(res['strata_keys'])}).",
             ""] + md_columns(info) + [""]
    lines += md_study(res["study"]) + md_comparisons(res["comparisons"], tokens)
    lines += md_variance(res["variance_components"])
    lines += md_trends(res["parameter_trends"]) + md_correlations(res["measure_correlations"])
    if res["notes"]:
        lines += ["## Notes", ""] + [f"- {n}" for n in res["notes"]] + [""]
    p = os.path.join(out, "topology.md")
    with open(p, "w") as fh:
        fh.write("\n".join(lines))
    return p


def write_csvs(out, res, written):
    flat_var = [dict(stratum=v["stratum"], group=v["group"], n=v["n"], graph_seeds=v["graph_seeds"],
                     order_seeds=v["order_seeds"], weight_seeds=v["weight_seeds"], balanced=v["balanced"],
                     component=name, variance=val, share=share, method=v["method"])
                for v in res["variance_components"] for name, val, share in var_rows(v)]
    tables = {"topology_trends.csv": (res["parameter_trend_points"], ["family", "parameter", "stratum", "series",
                                                                      "value", "n", "mean", "low", "high"]),
              "topology_correlations.csv": (res["measure_correlations"], ["stratum", "measure", "n", "rho"]),
              "topology_comparisons.csv": (res["comparisons"], ["stratum", "a", "b", "verdict"]),
              "topology_study.csv": (res["study"], ["stratum", "group", "graphs", "trials", "mean", "low", "high"]),
              "topology_variance.csv": (flat_var, ["stratum", "group", "component", "variance", "share"])}
    for name, (rows, cols) in tables.items():
        p = os.path.join(out, name)
        pd.DataFrame(rows, columns=None if rows else cols).to_csv(p, index=False)
        written.append(p)


METHODS = {
    "mean_ci": "Student t interval (n-1 df) of the mean logit accuracy, back-transformed; accuracies clamped to "
               "[0.5/N_test, 1 - 0.5/N_test]; point estimate: plain mean",
    "spearman_ci": f"bootstrap percentile, {N_BOOT} resamples of (x, accuracy) pairs, numpy PCG64 seed 0",
    "welch": "Welch's t-test, Welch-Satterthwaite df, two-sided",
    "mann_whitney": "scipy.stats.mannwhitneyu, two-sided, default method (exact for n <= 8 without ties)",
    "multiplicity": "Holm-Bonferroni over all comparisons of the run, for each test separately",
    "verdict": f"Holm-adjusted graph-level p < {ALPHA}: mixed model (REML, Satterthwaite df) when both groups "
               "hold several graphs, null-model test (empirical p, k null graphs) when one side is one graph, "
               "Welch over trials when both sides are one graph",
    "mixed_model": "acc ~ group + (1 | graph) [+ (1 | graph:order_seed)], REML, Satterthwaite df (lmerTest's "
                   "method); fitted per comparison to its two groups' trials; also on the logit scale",
    "null_model": "graph mean vs k null-graph means: z (sd ddof 1), empirical two-sided p = (1 + #extreme)/(1 + k), "
                  "95% prediction interval mean +- t_{k-1} sd sqrt(1 + 1/k)",
    "trial_level": "Welch, Mann-Whitney, Cohen's d, Cliff's delta with trials treated as independent (reference only)",
    "cohens_d": "pooled SD; 95% CI by noncentral-t inversion (normal approximation with the Hedges-Olkin "
                "variance if that fails, as marked per row)",
    "cliffs_delta": "95% CI: score interval on the Hanley-McNeil variance (Newcombe 2006, method 5)",
    "variance": "random-effects ANOVA, method of moments, sequential SS (Henderson III): graph seed, order seed "
                "within graph seed, weight seed, residual; unbalanced designs supported; negatives set to 0",
}


def analyse(path, df, info, keys, tokens):
    d = R.done(df)
    shown = label_keys(d, keys)
    strata = build_strata(d, keys, shown)
    points, series = trends(strata, d)
    res = dict(file=path, summary=dict(trials=len(df), done=len(d), strata=len(strata)), strata_keys=keys,
               columns=info, methods=METHODS, compare=tokens or None,
               strata=[dict(stratum=label, trials=len(g), groups=sorted(set(g["graph_group"]))) for label, g in strata],
               parameter_trends=series, parameter_trend_points=points, measure_correlations=correlations(strata),
               comparisons=comparisons(strata, tokens), variance_components=variance(d, keys, shown), notes=[])
    res["study"] = study_rows(study_groups(strata, tokens))
    if not len(d):
        res["notes"].append("no done trial: nothing to analyse")
    if info["from_graph_spec"]:
        res["notes"].append("this results file predates the topology columns of /summary: family and parameters "
                            "come from the graph spec strings and the graph measures are skipped")
    return res, strata


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="aggregate results file of dcn sweep (results.h5)")
    ap.add_argument("--out", required=True, help="folder for topology.md/.json, the CSVs and PNGs (created)")
    ap.add_argument("--compare", help="comma-separated groups to compare pairwise: graph specs, families, "
                                      "family:base (e.g. celegans,rewire:celegans,gnm)")
    ap.add_argument("--strata", help="comma-separated stratum keys (default: every configuration field but the "
                                     "graph and the seeds: " + ",".join(R.STRATUM_FIELDS) + ")")
    ap.add_argument("--json", action="store_true", help="print topology.json to stdout")
    a = ap.parse_args(argv)
    tokens = split_groups(a.compare)
    try:
        _, df = R.load(a.results)
        df, info = R.topology_frame(df, a.results)
        keys = strata_keys(df, a.strata)
        check_tokens(R.done(df), tokens, a.results)
    except (R.ResultsError, OSError, KeyError, ValueError) as e:
        print(f"topology.py: {e}" if str(a.results) in str(e) else f"topology.py: {a.results}: {e}", file=sys.stderr)
        return 1
    res, strata = analyse(a.results, df, info, keys, tokens)
    os.makedirs(a.out, exist_ok=True)
    written = []
    fig_trends(res["parameter_trends"], a.out, written)
    fig_measures(strata, res["measure_correlations"], a.out, written)
    fig_study(study_groups(strata, tokens), a.out, written)
    fig_comparisons(res["comparisons"], a.out, written)
    fig_null(null_pairs(strata, tokens), a.out, written)
    fig_variance(res["variance_components"], a.out, written)
    write_csvs(a.out, res, written)
    res["files"] = [os.path.basename(p) for p in written] + ["topology.md", "topology.json"]
    written.append(write_markdown(a.results, a.out, res, info, tokens))
    text = json.dumps(clean(res), indent=1)
    with open(os.path.join(a.out, "topology.json"), "w") as fh:
        fh.write(text + "\n")
    if a.json:
        print(text)
    else:
        print(f"topology.py: wrote {len(written) + 1} files to {a.out} ({len(res['comparisons'])} comparisons, "
              f"{len(res['variance_components'])} variance decompositions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
