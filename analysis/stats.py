"""Statistics for comparing dcn trials: pure functions on numpy arrays (no I/O), each returning a dict
that names its method, so that every number a report prints can say how it was computed.

  welch_t              Welch's unequal-variance t-test (Welch-Satterthwaite df), two-sided
  mann_whitney         Mann-Whitney U, two-sided, scipy's default choice of exact or asymptotic p
  holm                 Holm-Bonferroni step-down adjustment of a family of p-values
  cohens_d             Cohen's d (pooled SD) with a noncentral-t 95% CI (normal approximation as fallback)
  cliffs_delta         Cliff's delta with a score-type 95% CI on the Hanley-McNeil variance (Newcombe 2006)
  spearman             Spearman's rho with a seeded bootstrap percentile 95% CI (pairs resampled)
  rank_rows            average ranks along rows (vectorised rankdata, for the bootstrap)
  bounded_mean_ci      mean of accuracies with a 95% CI inside [0, 1] (Student t on the logit scale)
  variance_components  random-effects ANOVA (method of moments, Henderson III sequential fitting)
  seed_variance        the above for graph seed, ordering seed within graph seed and weight seed
  null_model_test      one graph against k null graphs: z, empirical p (k named), prediction interval

Accuracies are fractions in [0, 1] here; callers convert to percent for display.
"""
import math

import numpy as np
from scipy import optimize, special
from scipy import stats as sst

LEVEL = 0.95


def _arr(x):
    a = np.asarray(x, dtype=float).ravel()
    return a[np.isfinite(a)]


def _nan_result(method, **extra):
    d = dict(extra)
    d["method"] = method
    return d


# ---------------------------------------------------------------- two-sample tests

def welch_t(a, b):
    """Welch's t-test (unequal variances), two-sided: t = (mean_a - mean_b) / sqrt(va/na + vb/nb) with
    the Welch-Satterthwaite degrees of freedom. Returns statistic, df, p (NaN when a side has fewer
    than 2 values or both variances are 0)."""
    method = "Welch's t-test (unequal variances, Welch-Satterthwaite df), two-sided"
    a, b = _arr(a), _arr(b)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return _nan_result(method, statistic=math.nan, df=math.nan, p=math.nan)
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    if va + vb == 0:
        return _nan_result(method, statistic=math.nan, df=math.nan, p=math.nan)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va ** 2 / (na - 1) if va else 0.0) + (vb ** 2 / (nb - 1) if vb else 0.0))
    p = 2 * sst.t.sf(abs(t), df)
    return _nan_result(method, statistic=float(t), df=float(df), p=float(p))


def _mwu_method(a, b):
    # scipy 1.10's rule for method="auto": exact unless both samples exceed 8 or there are ties
    if len(a) > 8 and len(b) > 8:
        return "asymptotic"
    return "asymptotic" if len(np.unique(np.concatenate([a, b]))) < len(a) + len(b) else "exact"


def mann_whitney(a, b):
    """Mann-Whitney U test, two-sided (scipy.stats.mannwhitneyu with its default method choice: exact
    distribution for small samples without ties, else the normal approximation with tie and
    continuity correction). U counts pairs with a > b (ties count 1/2)."""
    a, b = _arr(a), _arr(b)
    if len(a) < 1 or len(b) < 1:
        return _nan_result("Mann-Whitney U, two-sided", statistic=math.nan, p=math.nan)
    r = sst.mannwhitneyu(a, b, alternative="two-sided")
    how = _mwu_method(a, b)
    return _nan_result(f"Mann-Whitney U, two-sided ({how} p, scipy default choice)", statistic=float(r.statistic),
                       p=float(r.pvalue), p_method=how)


def holm(pvalues):
    """Holm-Bonferroni step-down adjustment: the i-th smallest of m p-values becomes
    max over j <= i of min(1, (m - j + 1) p_(j)). NaN p-values stay NaN and are not counted in m.
    Returns a numpy array in the input order."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


# ---------------------------------------------------------------- effect sizes

def _nct_bound(t, df, q):
    """Noncentrality nc with P(T <= t | nc) = q (decreasing in nc): bracket, then Brent's method."""
    f = lambda nc: sst.nct.cdf(t, df, nc) - q  # noqa: E731
    lo, hi, step = t - 1.0, t + 1.0, 1.0
    for _ in range(60):
        flo, fhi = f(lo), f(hi)
        if not (np.isfinite(flo) and np.isfinite(fhi)):
            return math.nan
        if flo >= 0 >= fhi:
            return optimize.brentq(f, lo, hi, xtol=1e-10)
        step *= 2
        if flo < 0:
            lo -= step
        if fhi > 0:
            hi += step
    return math.nan


def cohens_d(a, b, level=LEVEL):
    """Cohen's d = (mean_a - mean_b) / pooled SD (pooled with n-1 weights, no small-sample
    correction). CI: exact noncentral-t inversion (t = d sqrt(na nb / (na + nb)), df = na + nb - 2);
    if that fails numerically, the normal approximation with Hedges & Olkin's variance
    (na + nb)/(na nb) + d^2 / (2 (na + nb)). The method used is in the result."""
    a, b = _arr(a), _arr(b)
    na, nb = len(a), len(b)
    method = "Cohen's d (pooled SD)"
    if na < 2 or nb < 2:
        return _nan_result(method, d=math.nan, low=math.nan, high=math.nan, ci_method="-")
    sp = math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if sp == 0:
        return _nan_result(method, d=math.nan, low=math.nan, high=math.nan, ci_method="- (both SDs 0)")
    d = (a.mean() - b.mean()) / sp
    scale = math.sqrt(na * nb / (na + nb))
    alpha = 1 - level
    hi = _nct_bound(d * scale, na + nb - 2, alpha / 2)
    lo = _nct_bound(d * scale, na + nb - 2, 1 - alpha / 2)
    if np.isfinite(lo) and np.isfinite(hi):
        return _nan_result(method, d=float(d), low=lo / scale, high=hi / scale, ci_method="noncentral t")
    se = math.sqrt((na + nb) / (na * nb) + d * d / (2 * (na + nb)))
    z = sst.norm.ppf(1 - alpha / 2)
    return _nan_result(method, d=float(d), low=d - z * se, high=d + z * se,
                       ci_method="normal approximation (Hedges-Olkin variance)")


def _hanley_mcneil_var(theta, na, nb):
    """Variance of the AUC estimate theta = P(a > b) under Hanley & McNeil's (1982) exponential model."""
    q1 = theta * (1 - theta) ** 2 / (2 - theta)  # Q1 - theta^2
    q2 = theta ** 2 * (1 - theta) / (1 + theta)  # Q2 - theta^2
    return (theta * (1 - theta) + (na - 1) * q1 + (nb - 1) * q2) / (na * nb)


def cliffs_delta(a, b, level=LEVEL):
    """Cliff's delta = P(a > b) - P(a < b) over all pairs, with a score-type CI: the bounds of
    theta = (delta + 1) / 2 solve (theta - theta_hat)^2 = z^2 V(theta), V the Hanley-McNeil variance
    (Newcombe 2006, 'Confidence intervals for an effect size measure based on the Mann-Whitney
    statistic', method 5 with the exact group sizes), mapped back to delta = 2 theta - 1. Unlike a
    bootstrap or Cliff's variance formula it stays informative when the samples do not overlap
    (delta = +-1)."""
    a, b = _arr(a), _arr(b)
    na, nb = len(a), len(b)
    method = "Cliff's delta; CI: score interval on the Hanley-McNeil variance (Newcombe 2006, method 5)"
    if na < 1 or nb < 1:
        return _nan_result(method, delta=math.nan, low=math.nan, high=math.nan)
    diff = np.sign(a[:, None] - b[None, :])
    delta = float(diff.mean())
    th = (delta + 1) / 2
    z = sst.norm.ppf(1 - (1 - level) / 2)
    f = lambda t: (t - th) ** 2 - z * z * _hanley_mcneil_var(t, na, nb)  # noqa: E731
    return _nan_result(method, delta=delta, low=2 * _score_root(f, th, 0.0) - 1, high=2 * _score_root(f, th, 1.0) - 1)


def _score_root(f, th, end):
    """The root of f between th and end (0 or 1). f(th) = -z^2 V(th) < 0 except at th = 0 or 1, where
    V vanishes: then start just inside, where f is negative again (V is O(distance) there)."""
    if th == end:
        return end
    inner = th if f(th) < 0 else th + 1e-9 * (1 if end > th else -1)
    if f(inner) >= 0:
        return th
    if f(end) <= 0:
        return end
    return optimize.brentq(f, min(inner, end), max(inner, end), xtol=1e-12)


# ---------------------------------------------------------------- correlation

def _rowwise_pearson(x, y):
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (x * y).sum(axis=1) / np.where(den > 0, den, 1), np.nan)


def rank_rows(a):
    """Average ranks (1-based, ties get the mean of their positions) along the last axis of a 2-D
    array: scipy.stats.rankdata(method="average", axis=1) without its per-row Python loop."""
    rows, n = a.shape
    order = np.argsort(a, axis=1, kind="mergesort")
    s = np.take_along_axis(a, order, axis=1)
    idx = np.broadcast_to(np.arange(n), (rows, n))
    start = np.ones((rows, n), dtype=bool)
    start[:, 1:] = s[:, 1:] != s[:, :-1]
    end = np.ones((rows, n), dtype=bool)
    end[:, :-1] = start[:, 1:]
    first = np.maximum.accumulate(np.where(start, idx, 0), axis=1)
    last = np.minimum.accumulate(np.where(end, idx, n - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((rows, n))
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=1)
    return ranks


def spearman(x, y, n_boot=2000, seed=0, level=LEVEL):
    """Spearman's rho (scipy.stats.spearmanr, with its t-approximation p) and a bootstrap percentile CI:
    n_boot resamples of the (x, y) pairs with numpy's PCG64 seeded by `seed`; resamples in which x or y
    is constant (rho undefined) are dropped and counted in boot_dropped."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    method = f"Spearman's rho; CI: bootstrap percentile, {n_boot} resamples of pairs, seed {seed}"
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return _nan_result(method, rho=math.nan, p=math.nan, low=math.nan, high=math.nan, n=n, boot_dropped=0)
    r = sst.spearmanr(x, y)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    boots = _rowwise_pearson(rank_rows(x[idx]), rank_rows(y[idx]))
    good = boots[np.isfinite(boots)]
    alpha = 1 - level
    lo, hi = (np.quantile(good, [alpha / 2, 1 - alpha / 2]) if len(good) else (math.nan, math.nan))
    return _nan_result(method, rho=float(r.correlation), p=float(r.pvalue), low=float(lo), high=float(hi), n=n,
                       boot_dropped=int(n_boot - len(good)))


# ---------------------------------------------------------------- a mean inside [0, 1]

def bounded_mean_ci(x, n_test=10000, level=LEVEL):
    """Mean of accuracies (fractions) with a 95% CI that stays inside [0, 1]: a Student t interval
    (n-1 df) of the mean of logit(x), transformed back with the logistic function. Values are clamped
    to [0.5/n_test, 1 - 0.5/n_test] first (half an image of the n_test test images), so that 0 and 1
    have finite logits; a bound that lands on a clamp value is reported as the 0 or 1 it stands for.
    The interval is for the logit-scale mean, the point estimate is the plain mean; with one value,
    or none, the CI is NaN."""
    x = _arr(x)
    n = len(x)
    eps = 0.5 / max(1, int(n_test or 10000))
    method = (f"Student t interval on the logit scale, back-transformed (values clamped to "
              f"[{eps:g}, {1 - eps:g}])")
    if n == 0:
        return _nan_result(method, mean=math.nan, low=math.nan, high=math.nan, n=0)
    mean = float(x.mean())
    if n < 2:
        return _nan_result(method, mean=mean, low=math.nan, high=math.nan, n=n)
    z = special.logit(np.clip(x, eps, 1 - eps))
    half = sst.t.ppf(1 - (1 - level) / 2, n - 1) * z.std(ddof=1) / math.sqrt(n)
    lo, hi = special.expit(z.mean() - half), special.expit(z.mean() + half)
    # a bound at the clamp stands for the 0 or 1 that was clamped (all-1 samples give [1, 1])
    unclamp = lambda v: 0.0 if v <= eps * (1 + 1e-9) else 1.0 if v >= 1 - eps * (1 + 1e-9) else float(v)  # noqa: E731
    return _nan_result(method, mean=mean, low=unclamp(lo), high=unclamp(hi), n=n)


# ---------------------------------------------------------------- variance components

def _indicator(labels):
    _, inv = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    z = np.zeros((len(inv), inv.max() + 1 if len(inv) else 0))
    z[np.arange(len(inv)), inv] = 1.0
    return z


def _basis(x):
    """Orthonormal basis of the column space of x (SVD with a relative rank tolerance)."""
    if x.shape[1] == 0:
        return x
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return u[:, s > s.max() * max(x.shape) * 1e-12]


def _sequential(y, fixed, zs):
    """Sequential (type I) sums of squares after `fixed`, their ranks, and the coefficients
    c[k][r] = tr((P_k - P_{k-1}) Z_r Z_r') of each component r in each E[SS_k]."""
    bases = [_basis(fixed)]
    for z in zs:
        bases.append(_basis(np.hstack([fixed] + zs[:len(bases)])))
    proj = lambda q, m: float(np.sum((q.T @ m) ** 2))  # noqa: E731  ||Q'M||_F^2
    ss = [proj(bases[k + 1], y[:, None]) - proj(bases[k], y[:, None]) for k in range(len(zs))]
    rank = [bases[k + 1].shape[1] - bases[k].shape[1] for k in range(len(zs))]
    coef = [[proj(bases[k + 1], zr) - proj(bases[k], zr) for zr in zs] for k in range(len(zs))]
    resid_ss = float(y @ y) - proj(bases[-1], y[:, None])
    return ss, rank, coef, resid_ss, len(y) - bases[-1].shape[1]


def _estimable(y, fixed, zs):
    """Drops factors that add no column (not varied, or confounded with earlier ones) and, when no
    residual degree of freedom is left, the last factor (its variation is then the residual's: listed
    in the second return value)."""
    keep, into_residual = list(range(len(zs))), []
    while True:
        ss, rank, coef, rss, rdf = _sequential(y, fixed, [zs[i] for i in keep])
        zero = [i for i, r in zip(keep, rank) if r == 0]
        if zero:
            keep = [i for i in keep if i not in zero]
            continue
        if rdf == 0 and keep:
            into_residual.append(keep.pop())
            continue
        return keep, into_residual, (ss, rank, coef, rss, rdf)


def variance_components(y, factors, fixed=None, residual_name="residual"):
    """Random-effects model y = X b + sum_r Z_r u_r + e fitted by the ANOVA method of moments with
    sequential sums of squares (Henderson's Method III, fitting constants in the given order): each
    SS_k (the reduction from adding factor k) is set equal to its expectation
    sum_{r>=k} tr((P_k - P_{k-1}) Z_r Z_r') s2_r + rank_k s2_e and the triangular system is solved.
    Balanced and unbalanced designs are supported: for balanced nested or crossed designs this is
    the classic ANOVA estimator; for unbalanced ones it is unbiased but depends on the fitting order.
    Negative estimates are reported as 0 (truncated, the others not re-estimated; listed in
    `truncated`). factors: [(name, labels)]; fixed: design matrix of fixed effects (default: an
    intercept). Returns components (name, variance, share, levels, df), the residual (with `includes`:
    factors it absorbs because no residual df was left), not_varied (factors that add nothing: one
    level, or confounded with earlier ones) and the method."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    fixed = np.ones((n, 1)) if fixed is None else np.asarray(fixed, dtype=float)
    names = [f[0] for f in factors]
    zs = [_indicator(f[1]) for f in factors]
    keep, into_residual, (ss, rank, coef, rss, rdf) = _estimable(y, fixed, zs)
    # estimates within rounding of 0 (e.g. identical accuracies) are 0, not tiny shares of nothing
    tiny = 1e-12 * max(1.0, float(np.mean(y * y))) if n else 0.0
    raw = [0.0 if abs(v) < tiny else v for v in _solve(ss, rank, coef, rss, rdf)]
    comps, truncated = [], []
    for j, i in enumerate(keep):
        v = raw[j]
        if v < 0:
            truncated.append(names[i])
        comps.append(dict(name=names[i], variance=max(0.0, v), raw=v, levels=zs[i].shape[1], df=rank[j], ss=ss[j]))
    resid = dict(name=residual_name, variance=raw[-1], raw=raw[-1], df=rdf, ss=rss,
                 includes=[names[i] for i in into_residual])
    dropped = [names[i] for i in range(len(names)) if i not in keep and i not in into_residual]
    total = sum(c["variance"] for c in comps) + (resid["variance"] if np.isfinite(resid["variance"]) else 0)
    for c in comps + [resid]:
        c["share"] = c["variance"] / total if total > 0 and np.isfinite(c["variance"]) else math.nan
    return dict(components=comps, residual=resid, total=total, n=n, not_varied=dropped, truncated=truncated,
                method="random-effects ANOVA, method of moments with sequential sums of squares (Henderson III; "
                       "fitting order: " + ", ".join(names) + "); negative estimates set to 0")


def _solve(ss, rank, coef, rss, rdf):
    """Back substitution of the triangular moment equations; the last entry is the residual."""
    s2e = rss / rdf if rdf > 0 else math.nan
    k = len(ss)
    est = [0.0] * k
    for i in reversed(range(k)):
        rest = sum(coef[i][r] * est[r] for r in range(i + 1, k))
        est[i] = (ss[i] - rank[i] * (s2e if rdf > 0 else 0.0) - rest) / coef[i][i]
    return est + [s2e]


def seed_variance(y, graph_seed, order_seed, weight_seed, group=None):
    """Variance of accuracy due to the graph seed, the vertex-ordering seed (nested in the graph seed:
    the same order seed permutes different graphs differently) and the weight seed (crossed: one weight
    seed gives the same stem initialisation and data order on every network of one width), by
    variance_components in that fitting order. The residual is the weight seed x network interaction
    (dcn is deterministic, so it is weight-seed variation specific to one graph and ordering); the
    total weight-seed variance is weight_seed + residual. group: optional labels of fixed groups
    (e.g. graph configurations pooled with their own means)."""
    gs = np.asarray(graph_seed).astype(str)
    go = np.char.add(np.char.add(gs, "/"), np.asarray(order_seed).astype(str))
    fixed = None
    if group is not None:
        grp = np.asarray(group).astype(str)
        fixed = _indicator(grp)
        gs = np.char.add(np.char.add(grp, "|"), gs)
        go = np.char.add(np.char.add(grp, "|"), go)
    return variance_components(y, [("graph_seed", gs), ("order_seed", go), ("weight_seed", weight_seed)],
                               fixed=fixed, residual_name="residual")


# ---------------------------------------------------------------- one graph against its null ensemble

def null_model_test(obs, null_y, null_graph, level=LEVEL, alpha=0.05):
    """One real graph against an ensemble of k null graphs (network science's null-model test, as
    motif z-scores: Milo et al. 2002): each graph's accuracy is the mean over its trials; z = (x_obs -
    mean_null) / sd_null (ddof 1); the empirical two-sided p = (1 + #{null graphs at least as far from
    mean_null as x_obs}) / (1 + k); the prediction interval of one more null graph's mean is
    mean_null +- t_{k-1} sd_null sqrt(1 + 1/k). The smallest p this k can give is 1 / (1 + k), so
    p < alpha is reachable only when 1 / (1 + k) < alpha (k >= 20 at 0.05): `reachable` says so.
    `estimate` is x_obs - mean_null; its CI (the uncertainty of the ensemble mean plus the observed
    graph's own seed noise, t with k - 1 df) is what a precision target applies to. obs: the real
    graph's trial accuracies; null_y, null_graph: the null trials and their graph ids."""
    obs = _arr(obs)
    null_y = np.asarray(null_y, dtype=float)
    null_graph = np.asarray(null_graph).astype(str)
    keep = np.isfinite(null_y)
    labels, inv = np.unique(null_graph[keep], return_inverse=True)
    k = len(labels)
    means = np.bincount(inv, weights=null_y[keep], minlength=k) / np.maximum(np.bincount(inv, minlength=k), 1)
    seeds = np.bincount(inv, minlength=k)
    method = (f"null-model test: the graph's mean over its {len(obs)} trials against the means of k = {k} null graphs; "
              "z-score, empirical two-sided p = (1 + #{null at least as extreme}) / (1 + k)")
    out = _nan_result(method, k=k, n_obs=len(obs), obs_mean=float(obs.mean()) if len(obs) else math.nan,
                      null_mean=float(means.mean()) if k else math.nan, null_sd=math.nan, z=math.nan, p=math.nan,
                      extreme=0, p_min=1.0 / (1 + k), reachable=bool(1.0 / (1 + k) < alpha), pi_low=math.nan,
                      pi_high=math.nan, estimate=math.nan, se=math.nan, low=math.nan, high=math.nan,
                      seeds_obs=len(obs), seeds_null_min=int(seeds.min()) if k else 0,
                      seeds_null_max=int(seeds.max()) if k else 0)
    if not len(obs) or k < 2:
        return out
    mu, sd = float(means.mean()), float(means.std(ddof=1))
    x = float(obs.mean())
    dev = abs(x - mu)
    extreme = int(np.sum(np.abs(means - mu) >= dev * (1 - 1e-12)))
    q = sst.t.ppf(1 - (1 - level) / 2, k - 1)
    # the difference's variance: the ensemble mean's (sd^2 / k) and the observed graph's seed noise,
    # estimated by the null graphs' within-graph variance (the observed graph has too few trials)
    within = _within_var(null_y[keep], inv, k)
    se = math.sqrt(sd * sd / k + (within / len(obs) if np.isfinite(within) else 0.0))
    out.update(null_sd=sd, z=(x - mu) / sd if sd > 0 else math.nan, p=(1 + extreme) / (1 + k), extreme=extreme,
               pi_low=mu - q * sd * math.sqrt(1 + 1 / k), pi_high=mu + q * sd * math.sqrt(1 + 1 / k),
               estimate=x - mu, se=se, low=x - mu - q * se, high=x - mu + q * se)
    return out


def _within_var(y, inv, k):
    """Pooled within-graph variance of the null trials (NaN when no graph has two trials)."""
    n = np.bincount(inv, minlength=k)
    m = np.bincount(inv, weights=y, minlength=k) / np.maximum(n, 1)
    ss = float(np.sum((y - m[inv]) ** 2))
    df = int(np.sum(n - 1))
    return ss / df if df > 0 else math.nan
