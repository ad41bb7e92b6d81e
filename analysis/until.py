#!/usr/bin/python3
"""The decisions of a sweep with `until:` (README "dcn sweep"): after each round, refit the named
comparisons and say whether the sweep stops or which design the next round runs.

Run by `dcn sweep` (rank 0), never by hand in normal use:

  until.py check  --input IN.json                  do the compare groups name graphs of the sweep?
  until.py decide --input IN.json --record OUT.h5  refit after a round, decide, write the round's record

IN.json (written by src/sweep/until.c) holds the rule (compare groups with their lines, half_width in
accuracy points, max_trials, round_trials), this round's design, its trial count, and the sweep's
graphs list: each item (family entry, spec, glob) with the graphs it gave and its seed counts.

The fits are graph-level, as `dcn report --compare` makes them (analysis/mixed.py, stats.py):
  both sides several graphs   acc ~ group + (1 | graph) [+ (1 | graph:order_seed)], REML, the
                              contrast's 95% CI with Satterthwaite df (mixed.compare);
  one side a single graph     the null-model test's CI of (the graph's mean - the ensemble's mean):
                              se^2 = sd_null^2 / k + within-graph variance / n_obs, t with k - 1 df
                              (stats.null_model_test). The CI, not the prediction interval: its
                              half-width shrinks as graphs and seeds are added, the prediction
                              interval's never goes below the null graphs' own spread;
  one graph on each side      Welch over the trials (the question is about these two graphs).
A comparison is answered when its CI half-width is at most half_width; the sweep stops when every one
is, in every stratum. P-values are recorded but never stop anything (stopping at p < 0.05 would
inflate the false-positive rate: optional stopping).

The next design: for each comparison the planner (analysis/plan.py next_design; for the null-model
and two-graph cases a local equivalent, plan.py has none) gives the cheapest graphs per group and
trials per graph reaching the target; these bound a search over the sweep's own design (graph seeds
of the growing family entries, values of seeds:) with the sweep's exact trial count, for the cheapest
design predicted to reach every target within the round's budget, else the one with the smallest
predicted half-width relative to its target. A round adds at most round_trials, except that one step
of graphs or of seeds the planner wants is taken even when it alone costs more. Growing entries are the family entries (with a seed key)
holding a graph that a compare group names without pinning its seed. The decision is a function of
the round's results alone, so a rerun decides the same.

The record (OUT.h5, group "round", copied by dcn into results.h5 as /until/round_NNNN): attributes
round, trials, done, failed, graph_seeds, weight_seeds, grow_entries (the design that ran), decision
(stop | continue), reason, comparisons, met, next_graph_seeds, next_weight_seeds, next_grow_entries,
next_trials, half_width, refit_seconds, decided; dataset fits (one row per comparison and stratum).
"""
import argparse
import json
import math
import os
import sys
import time

T_START = time.perf_counter()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats as sst  # noqa: E402

import dcnresults as R  # noqa: E402
import mixed as M  # noqa: E402
import plan as P  # noqa: E402
import stats as S  # noqa: E402
import topology as T  # noqa: E402

LEVEL = 0.95
EXIT_BAD_INPUT = 2  # check: a compare group the sweep does not have (dcn prints the message)


class UntilError(Exception):
    pass


# ---------------------------------------------------------------- groups

def group_name(g):
    where = ", ".join(f"{k}={json.dumps(v)}" for k, v in g["where"].items())
    return g["token"] + (f" [{where}]" if where else "")


def where_mask(d, where):
    m = np.ones(len(d), dtype=bool)
    for k, v in where.items():
        col = d[k]
        if isinstance(v, bool):
            m &= col.astype(bool).to_numpy() == v
        elif isinstance(v, (int, float)):
            m &= np.isclose(col.astype(float).to_numpy(), float(v), rtol=1e-12, atol=0)
        else:
            m &= col.astype(str).to_numpy() == v
    return m


def group_mask(d, g):
    return T.token_mask(d, g["token"]) & where_mask(d, g["where"])


def pins_seed(token):
    return R.parse_graph_spec(token)["seed"] is not None


def graph_frame(graphs):
    """The sweep's graphs as a frame token_mask reads (family, parameters, group from the spec)."""
    df = pd.DataFrame({"graph": list(graphs), "variant": "paper", "id": ""})
    for col in R.DAG_MEASURES:
        df[col] = -1
    return R.topology_frame(df)[0]


def growing_entries(inp):
    """Family entries (with a seed key) holding a graph that a compare group names without pinning
    its seed: their seed lists grow."""
    g = graph_frame(inp["graphs"])
    named = np.zeros(len(g), dtype=bool)
    for grp in inp["rule"]["compare"]:
        if grp["token"] not in ("none", "baseline") and not pins_seed(grp["token"]):
            named |= T.token_mask(g, grp["token"])
    out = []
    for e in inp["entries"]:
        if e["seeds_written"] > 0 and e["family"] and named[e["first"]:e["first"] + e["count"]].any():
            out.append(e["index"])
    return out


def check(inp):
    """Every compare group names a graph of the sweep; else the message dcn prints, with file and line."""
    g = graph_frame(inp["graphs"])
    for grp in inp["rule"]["compare"]:
        if grp["token"] in ("none", "baseline") or T.token_mask(g, grp["token"]).any():
            continue
        groups = ", ".join(sorted(set(g["graph_group"])))
        raise UntilError(f"{inp['sweep']}:{grp['line']}: until: compare: '{grp['token']}' names no graph of the sweep "
                         f"(its graph groups: {groups}; a family such as gnm, family:base such as rewire:mouse, or a "
                         "spec without seed= for all its seeds)")


# ---------------------------------------------------------------- fits

def side_info(s):
    k = int(s["graph"].nunique())
    return dict(graphs=k, trials=len(s), per_graph=len(s) / k if k else 0.0, graph_set=frozenset(s["graph"]))


def fit_mixed(sa, sb):
    both = pd.concat([sa.assign(_g="A"), sb.assign(_g="B")])
    order = both["order_seed"].astype(str).to_numpy() if both["order_seed"].nunique() > 1 else None
    c = M.compare(both["acc"].to_numpy(float), both["_g"].to_numpy(), both["graph"].astype(str).to_numpy(), "A", "B",
                  order=order)
    ok = bool(c.get("fit_ok")) and np.isfinite(c["se"])
    vs = c["var_resid"] + (c["var_order"] or 0.0) if ok else math.nan
    return dict(kind="mixed", method=c["method"], unit="graphs", estimate=c["estimate"], se=c["se"], df=c["df"],
                low=c["low"], high=c["high"], p=c["p"], var_graph=c["var_graph"], var_seed=vs,
                singular=bool(c["singular"]), ok=ok, why=c.get("why", ""))


def fit_null(single, ens, single_is_a):
    r = S.null_model_test(single["acc"].to_numpy(float), ens["acc"].to_numpy(float),
                          ens["graph"].astype(str).to_numpy())
    sign = 1 if single_is_a else -1
    ok = r["k"] >= 2 and np.isfinite(r["se"])
    k, n_obs = r["k"], r["n_obs"]
    # components for planning: within-graph (seed) variance from se^2 = sd^2 / k + within / n_obs, the
    # graph variance from the null means' spread less their seed noise
    within = max(0.0, (r["se"] ** 2 - r["null_sd"] ** 2 / k) * n_obs) if ok else math.nan
    per_null = len(ens) / k if k else math.nan
    vg = max(0.0, r["null_sd"] ** 2 - within / per_null) if ok else math.nan
    lo, hi = sign * r["low"], sign * r["high"]
    return dict(kind="null", method=r["method"] + "; CI of (graph - ensemble mean): se^2 = sd_null^2/k + "
                "within/n_obs, t with k - 1 df", unit="graphs", estimate=sign * r["estimate"], se=r["se"],
                df=k - 1 if k > 1 else math.nan, low=min(lo, hi), high=max(lo, hi), p=r["p"], var_graph=vg,
                var_seed=within, singular=False, ok=ok, why="" if ok else f"k = {k} null graphs")


def fit_two(sa, sb):
    x, y = sa["acc"].to_numpy(float), sb["acc"].to_numpy(float)
    w = S.welch_t(x, y)
    ok = len(x) > 1 and len(y) > 1 and np.isfinite(w["df"])
    se = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y)) if ok else math.nan
    est = float(x.mean() - y.mean()) if len(x) and len(y) else math.nan
    q = sst.t.ppf(1 - (1 - LEVEL) / 2, w["df"]) if ok else math.nan
    return dict(kind="two", method="Welch's t over the trials (one graph on each side)", unit="trials", estimate=est,
                se=se, df=w["df"], low=est - q * se, high=est + q * se, p=w["p"], var_graph=0.0,
                var_seed=float((x.var(ddof=1) + y.var(ddof=1)) / 2) if ok else math.nan, singular=False, ok=ok,
                why="" if ok else "fewer than 2 trials on a side")


def fit_pair(sa, sb):
    ia, ib = side_info(sa), side_info(sb)
    if ia["graphs"] > 1 and ib["graphs"] > 1:
        f = fit_mixed(sa, sb)
    elif ia["graphs"] == 1 and ib["graphs"] > 1:
        f = fit_null(sa, sb, True)
    elif ia["graphs"] > 1 and ib["graphs"] == 1:
        f = fit_null(sb, sa, False)
    elif ia["graphs"] == 1 and ib["graphs"] == 1:
        f = fit_two(sa, sb)
    else:
        f = dict(kind="none", method="-", unit="-", estimate=math.nan, se=math.nan, df=math.nan, low=math.nan,
                 high=math.nan, p=math.nan, var_graph=math.nan, var_seed=math.nan, singular=False, ok=False,
                 why="no done trial on a side")
    f["half_width"] = (f["high"] - f["low"]) / 2 if f["ok"] else math.nan
    f["crossed"] = ia["graph_set"] == ib["graph_set"]  # the same graphs on both sides (e.g. frozen vs not)
    return f, ia, ib


def strata(d, groups):
    """[(label, trials)] as topology.py builds them, with the fields that qualify groups left out of the
    stratum (frozen against trainable compares across that field)."""
    qual = {k for g in groups for k in g["where"]}
    keys = [k for k in T.strata_keys(d, None) if k not in qual]
    return T.build_strata(d, keys, T.label_keys(d, keys))


def comparisons(d, groups):
    out = []
    for label, g in strata(d, groups):
        sides = [(grp, g[group_mask(g, grp)]) for grp in groups]
        for i in range(len(sides)):
            for j in range(i + 1, len(sides)):
                (ga, sa), (gb, sb) = sides[i], sides[j]
                if not len(sa) and not len(sb):
                    continue
                f, ia, ib = fit_pair(sa, sb)
                out.append(dict(f, stratum=label, a=group_name(ga), b=group_name(gb), side_a=ia, side_b=ib,
                                trials_a=sa, trials_b=sb))
    return out


# ---------------------------------------------------------------- the sweep's own design and cost

class Sweep:
    """The round's trials by growing entry, and what a design (G graph seeds per growing entry, S values
    of seeds:) costs: every trial is one (graph, weight seed, other axes) cell of a product, so with
    c_e trials on entry e (n_e graph seeds now) and A on everything else, at S_r seeds now,
    trials(G, S) = S / S_r (A + sum_e c_e max(n_e, G) / n_e)."""

    def __init__(self, inp, df):
        self.grow = growing_entries(inp)
        self.entries = {e["index"]: e for e in inp["entries"]}
        entry_of = {}
        for e in inp["entries"]:
            for spec in inp["graphs"][e["first"]:e["first"] + e["count"]]:
                entry_of.setdefault(spec, e["index"])
        self.entry_of = entry_of
        self.S_r = inp["weight_seeds"]
        counts = df["graph"].map(lambda s: entry_of.get(s, -1)).value_counts()
        self.c = {e: int(counts.get(e, 0)) for e in self.grow}
        self.n = {e: self.entries[e]["seeds"] for e in self.grow}
        self.A = len(df) - sum(self.c.values())
        self.N = len(df)
        self.G_r = min(self.n.values()) if self.grow else 0

    def trials(self, G, S):
        return int(round(S / self.S_r * (self.A + sum(c * max(self.n[e], G) / self.n[e] for e, c in self.c.items()))))

    def graphs(self, side, G):
        """Graphs a comparison's side would hold with G graph seeds per growing entry."""
        if "_per_entry" not in side:
            per_entry = {}
            for spec in side["graph_set"]:
                e = self.entry_of.get(spec, -1)
                per_entry[e] = per_entry.get(e, 0) + 1
            side["_per_entry"] = per_entry
        return sum(m * max(self.n[e], G) / self.n[e] if e in self.n else m for e, m in side["_per_entry"].items())

    def graphs_reaching(self, side, want, G_max):
        """The smallest G in [G_r, G_max] giving the side at least `want` graphs (G_max when none does)."""
        lo, hi = self.G_r, G_max
        if self.graphs(side, hi) < want:
            return hi
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (mid + 1, hi) if self.graphs(side, mid) < want else (lo, mid)
        return lo


def predict(f, sw, G, S):
    """The comparison's CI half-width at the sweep design (G, S): the planner's formula at the fitted
    components, scaled to equal the fitted half-width at the present design (so unbalance and the
    fit's own df carry over)."""
    if not f["ok"]:
        return math.inf
    ka, kb = sw.graphs(f["side_a"], sw.G_r), sw.graphs(f["side_b"], sw.G_r)
    na, nb = sw.graphs(f["side_a"], G), sw.graphs(f["side_b"], G)
    sa, sb = f["side_a"]["per_graph"], f["side_b"]["per_graph"]
    grow_s = S / sw.S_r
    if f["kind"] == "mixed":
        vg = 0.0 if f["crossed"] else f["var_graph"]
        now = P.half_width(vg, f["var_seed"], (ka, kb), (sa, sb))
        new = P.half_width(vg, f["var_seed"], (na, nb), (sa * grow_s, sb * grow_s))
    elif f["kind"] == "null":
        real_a = f["side_a"]["graphs"] == 1
        k_now, k_new = (kb, nb) if real_a else (ka, na)
        s_now = (sb if real_a else sa)
        now = P.null_half_width(f["var_graph"], f["var_seed"], k_now, s_now)
        new = P.null_half_width(f["var_graph"], f["var_seed"], k_new, s_now * grow_s)
    else:
        now, new = 1.0, math.sqrt(1 / grow_s)
    if not (np.isfinite(now) and now > 0 and np.isfinite(new)):
        return math.inf
    return f["half_width"] * new / now


def null_next_design(var_graph, var_seed, k_now, s_now, target, k_max=P.MAX_NULL, s_max=10 ** 6):
    """plan.next_design for one graph against k null graphs (plan.py has none): the (k, S) with the
    fewest trials S (k + 1) whose plan.null_half_width reaches the target, k >= k_now, S >= s_now;
    solved for S at every k at once (t_{k-1}^2 (var_seed (1 + 1/k) / S + var_graph / k) <= target^2).
    (k_max, s_max) when none does."""
    k = np.arange(max(2, int(k_now)), int(k_max) + 1, dtype=float)
    q = sst.t.ppf((1 + LEVEL) / 2, k - 1)
    room = (target / q) ** 2 - var_graph / k
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(room > 0, np.ceil(var_seed * (1 + 1 / k) / np.where(room > 0, room, 1)), np.inf)
    s = np.maximum(s, max(1, int(s_now)))
    ok = np.isfinite(s) & (s <= s_max)
    if not ok.any():
        return int(k_max), int(s_max)
    cost = np.where(ok, s * (k + 1), np.inf)
    i = int(np.argmin(cost))
    return int(k[i]), int(s[i])


def planner_box(f, sw, target):
    """The planner's design for one comparison in the sweep's units: (G graph seeds per growing entry,
    S values of seeds:) that would reach the target by its formula."""
    if not f["ok"]:
        return sw.G_r + 1, sw.S_r
    sa, sb = f["side_a"], f["side_b"]
    per_graph = min(sa["per_graph"], sb["per_graph"])
    if f["kind"] == "mixed":
        vg = 0.0 if f["crossed"] else f["var_graph"]
        # the planner's G counts graphs on the smaller side; its target is scaled like predict()'s
        scale = f["half_width"] / P.half_width(vg, f["var_seed"], (sa["graphs"], sb["graphs"]),
                                               (sa["per_graph"], sb["per_graph"]))
        g, s = P.next_design(vg, f["var_seed"], 1.0, min(sa["graphs"], sb["graphs"]), max(1, int(per_graph)),
                             target / scale if np.isfinite(scale) and scale > 0 else target, None)
        side, want_g = (sa if sa["graphs"] <= sb["graphs"] else sb), g
    elif f["kind"] == "null":
        ens = sb if sa["graphs"] == 1 else sa
        g, s = null_next_design(f["var_graph"], f["var_seed"], ens["graphs"], max(1, int(per_graph)), target)
        side, want_g = ens, g
    else:
        s = math.ceil(per_graph * (f["half_width"] / target) ** 2)
        side, want_g = None, 0
    G = sw.graphs_reaching(side, want_g, sw.G_r + 10 ** 5) if side is not None and sw.grow else sw.G_r
    S_ = max(sw.S_r, math.ceil(sw.S_r * s / per_graph)) if per_graph > 0 else sw.S_r
    return G, S_


class Search:
    """The next round's design (G graph seeds per growing entry, S values of seeds:) in the box from the
    present design to the planner's: trials grow with G and S, predicted half-widths fall, so for each
    S a bisection finds the largest G within a budget and the smallest G predicted to meet every
    target."""

    def __init__(self, fits, sw, rule):
        self.fits, self.sw, self.target = fits, sw, rule["half_width"]
        boxes = [planner_box(f, sw, self.target) for f in fits if not f["met"]]
        self.can_g = bool(sw.grow)
        self.G_hi = max([b[0] for b in boxes] + [sw.G_r]) if self.can_g else sw.G_r
        self.S_hi = max([b[1] for b in boxes] + [sw.S_r])
        if (self.G_hi, self.S_hi) == (sw.G_r, sw.S_r):  # the planner's formula says done, the fit not yet
            self.G_hi, self.S_hi = (sw.G_r + 1 if self.can_g else sw.G_r), sw.S_r + 1
        # a fit without components (too few graphs) needs graphs first
        need = any(not f["ok"] and f["kind"] in ("mixed", "null", "none") for f in fits) and self.can_g
        self.G_lo = sw.G_r + 1 if need else sw.G_r

    def ratio(self, G, S):
        return max(predict(f, self.sw, G, S) / self.target for f in self.fits)

    def largest_within(self, S, cap):
        """The largest G in [G_lo, G_hi] with trials(G, S) <= cap, or None."""
        if self.sw.trials(self.G_lo, S) > cap:
            return None
        lo, hi = self.G_lo, self.G_hi
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if self.sw.trials(mid, S) <= cap else (lo, mid - 1)
        return lo

    def smallest_meeting(self, S, hi):
        """The smallest G in [G_lo, hi] predicted to meet every target, or None."""
        if self.ratio(hi, S) > 1:
            return None
        lo = self.G_lo
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if self.ratio(mid, S) <= 1 else (mid + 1, hi)
        return lo

    def candidates(self, cap):
        """[(trials, ratio, G, S)]: for each S the largest G within cap and the smallest meeting G."""
        sw, out = self.sw, []
        for s in range(sw.S_r, self.S_hi + 1):
            top = self.largest_within(s, cap)
            if top is None:
                break  # trials grow with S too
            if (top, s) == (sw.G_r, sw.S_r):
                continue
            for G in {top, self.smallest_meeting(s, top)} - {None, sw.G_r if s == sw.S_r else None}:
                out.append((sw.trials(G, s), self.ratio(G, s), G, s))
        return out

    def big_steps(self, cands, cap):
        """One more graph seed, one more seed: for each way the planner wants to grow that no design
        within the round grows (its one step costs more than a round), if it fits the budget."""
        sw, out = self.sw, []
        if self.G_hi > sw.G_r and not any(c[2] > sw.G_r for c in cands):
            out.append((max(self.G_lo, sw.G_r + 1), sw.S_r))
        if self.S_hi > sw.S_r and not any(c[3] > sw.S_r for c in cands):
            out.append((self.G_lo, sw.S_r + 1))
        return [(sw.trials(G, S), self.ratio(G, S), G, S) for G, S in out if sw.trials(G, S) <= cap]


def choose(fits, sw, rule):
    """(G, S, why) of the next round: the cheapest design within the round predicted to meet every
    target, else the one with the smallest predicted half-width relative to its target (a round adds at
    most round_trials, or one step of graphs or seeds that costs more when the planner wants it); None
    when no further round fits max_trials."""
    search = Search(fits, sw, rule)
    cands = search.candidates(min(rule["max_trials"], sw.N + rule["round_trials"]))
    cands += search.big_steps(cands, rule["max_trials"])
    if not cands:
        return None
    meeting = [c for c in cands if c[1] <= 1]
    if meeting:
        t, _, G, S = min(meeting, key=lambda c: (c[0], -c[2]))
        return G, S, f"predicted to reach the target ({t - sw.N} more trials)"
    t, r, G, S = min(cands, key=lambda c: (c[1], c[0]))
    over = f", one step larger than the round of {rule['round_trials']}" if t - sw.N > rule["round_trials"] else ""
    return G, S, f"the smallest predicted half-width ({r * search.target:.3g} points, {t - sw.N} more trials{over})"


# ---------------------------------------------------------------- the decision

def verdict(f, target):
    if not f["ok"]:
        return f"not estimable yet ({f['why']})"
    ci = f"{f['estimate']:+.2f} points, 95% CI [{f['low']:.2f}, {f['high']:.2f}], half-width {f['half_width']:.2f}"
    if f["half_width"] > target:
        return f"undecided: {ci} > {target:g}"
    if f["low"] > 0 or f["high"] < 0:
        hi, lo = (f["a"], f["b"]) if f["estimate"] > 0 else (f["b"], f["a"])
        return f"{hi} higher than {lo}: {ci}"
    return f"no difference detected: {ci}, so any difference is within {max(-f['low'], f['high']):.2f} points"


def decide(inp, df):
    rule = inp["rule"]
    target = rule["half_width"]
    d = R.done(df)
    fits = comparisons(d, rule["compare"])
    if not fits:
        raise UntilError(f"{inp['results']}: no done trial in any compare group: nothing to fit")
    for f in fits:
        f["met"] = bool(f["ok"] and f["half_width"] <= target)
        f["verdict"] = verdict(f, target)
    sw = Sweep(inp, df)
    nxt = dict(graph_seeds=inp["design"]["graph_seeds"], weight_seeds=inp["design"]["weight_seeds"],
               grow_entries=list(inp["design"]["grow_entries"]), trials=len(df))
    if all(f["met"] for f in fits):
        decision = "stop"
        reason = f"every contrast's 95% CI half-width is at most {target:g} points: " + "; ".join(
            f"{f['a']} vs {f['b']} ({f['stratum']}): {f['verdict']}" for f in fits)
    else:
        pick = choose(fits, sw, rule)
        if pick is None:
            decision = "stop"
            reason = (f"budget spent: no further round fits max_trials {rule['max_trials']} ({len(df)} trials run); "
                      + "; ".join(f"{f['a']} vs {f['b']} ({f['stratum']}): {f['verdict']}" for f in fits))
        else:
            G, S_, why = pick
            decision = "continue"
            nxt = dict(graph_seeds=int(G) if sw.grow and G > sw.G_r else inp["design"]["graph_seeds"],
                       weight_seeds=int(S_), grow_entries=sw.grow if sw.grow and G > sw.G_r
                       else list(inp["design"]["grow_entries"]), trials=sw.trials(G, S_))
            for f in fits:
                f["predicted"] = predict(f, sw, G, S_)
            open_ = [f for f in fits if not f["met"]]
            graphs = (f"{nxt['graph_seeds']} graph seeds per growing entry" if nxt["graph_seeds"] else
                      "the graphs as written")
            reason = (f"{len(open_)} of {len(fits)} contrasts wider than {target:g} points (widest: "
                      f"{max((f['half_width'] for f in open_ if f['ok']), default=math.inf):.3g}); next round: "
                      f"{graphs}, {S_} values of seeds, {nxt['trials']} trials: {why}")
    return fits, decision, reason, nxt


FIT_COLUMNS = [("stratum", "S128"), ("a", "S256"), ("b", "S256"), ("method", "S256"), ("unit", "S8"),
               ("graphs_a", "i4"), ("graphs_b", "i4"), ("trials_a", "i4"), ("trials_b", "i4"),
               ("estimate", "f8"), ("se", "f8"), ("df", "f8"), ("low", "f8"), ("high", "f8"), ("half_width", "f8"),
               ("met", "i1"), ("p", "f8"), ("var_graph", "f8"), ("var_seed", "f8"), ("singular", "i1"),
               ("predicted_half_width", "f8"), ("verdict", "S512")]


def fit_table(fits):
    t = np.zeros(len(fits), dtype=FIT_COLUMNS)
    for i, f in enumerate(fits):
        row = dict(f, graphs_a=f["side_a"]["graphs"], graphs_b=f["side_b"]["graphs"], trials_a=f["side_a"]["trials"],
                   trials_b=f["side_b"]["trials"], predicted_half_width=f.get("predicted", math.nan))
        for name, kind in FIT_COLUMNS:
            v = row[name]
            t[name][i] = str(v).encode()[:int(kind[1:])] if kind[0] == "S" else v
    return t


def write_record(path, inp, df, fits, decision, reason, nxt, seconds):
    with h5py.File(path, "w") as h:
        g = h.create_group("round")
        a = g.attrs
        a["round"] = inp["round"]
        a["trials"] = len(df)
        a["done"] = int((df["status"] == "done").sum())
        a["failed"] = int((df["status"] == "failed").sum())
        a["graph_seeds"] = inp["design"]["graph_seeds"]
        a["weight_seeds"] = inp["design"]["weight_seeds"]
        a["grow_entries"] = np.array(inp["design"]["grow_entries"], dtype=np.int64)
        a["decision"] = decision
        a["reason"] = reason
        a["comparisons"] = len(fits)
        a["met"] = sum(f["met"] for f in fits)
        a["half_width"] = inp["rule"]["half_width"]
        a["next_graph_seeds"] = nxt["graph_seeds"]
        a["next_weight_seeds"] = nxt["weight_seeds"]
        a["next_grow_entries"] = np.array(nxt["grow_entries"], dtype=np.int64)
        a["next_trials"] = nxt["trials"]
        for k, v in seconds.items():  # import_seconds, read_seconds, refit_seconds (fits and planning)
            a[k] = v
        a["decided"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        g.create_dataset("fits", data=fit_table(fits))


def summary(inp, fits, decision, reason):
    lines = [f"[until] round {inp['round']}: {len(fits)} contrast(s), target 95% CI half-width "
             f"{inp['rule']['half_width']:g} points"]
    for f in fits:
        lines.append(f"[until]   {f['a']} vs {f['b']} ({f['stratum']}; {f['kind']}, {f['side_a']['graphs']} vs "
                     f"{f['side_b']['graphs']} graphs): {f['verdict']}")
    lines.append(f"[until]   decision: {decision}")
    return "\n".join(lines)


def run_decide(inp, record):
    t0 = time.perf_counter()
    _, df = R.load(inp["results"])
    df, _ = R.topology_frame(df, None)
    if len(df) != inp["trials"]:
        raise UntilError(f"{inp['results']}: {len(df)} trials in /summary, round {inp['round']} has {inp['trials']}")
    t1 = time.perf_counter()
    fits, decision, reason, nxt = decide(inp, df)
    t2 = time.perf_counter()
    seconds = dict(import_seconds=t0 - T_START, read_seconds=t1 - t0, refit_seconds=t2 - t1)
    write_record(record, inp, df, fits, decision, reason, nxt, seconds)
    print(summary(inp, fits, decision, reason), file=sys.stderr)
    keep = ("stratum", "a", "b", "kind", "unit", "estimate", "low", "high", "half_width", "met", "p", "var_graph",
            "var_seed", "verdict")
    out = dict(round=inp["round"], decision=decision, reason=reason, next=nxt, **seconds,
               seconds=time.perf_counter() - T_START, fits=[{k: f.get(k) for k in keep} for f in fits])
    print(json.dumps(T.clean(out)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["check", "decide"])
    ap.add_argument("--input", required=True, help="the JSON dcn sweep wrote")
    ap.add_argument("--record", help="decide: the HDF5 file to write the round's record to")
    a = ap.parse_args(argv)
    try:
        with open(a.input) as fh:
            inp = json.load(fh)
        if a.mode == "check":
            check(inp)
            return 0
        if not a.record:
            raise UntilError("decide needs --record FILE")
        run_decide(inp, a.record)
    except UntilError as e:
        print(e, file=sys.stderr)
        return EXIT_BAD_INPUT if a.mode == "check" else 1
    except (R.ResultsError, OSError, KeyError, ValueError) as e:
        print(f"until.py {a.mode}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
