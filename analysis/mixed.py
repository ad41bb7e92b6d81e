"""Linear mixed models for graph-level comparisons: accuracy ~ group + (1 | graph) [+ (1 | graph:order)],
fitted by REML, with Satterthwaite degrees of freedom for a contrast of two groups. Pure numpy/scipy,
no I/O; R's lme4 + lmerTest (Debian r-cran-lme4, r-cran-lmertest) are the reference
(tests/py/test_mixed.py compares estimates, SEs, df, p and variance components).

  fit(y, group, graph, order=None)   REML fit; fixed effects: one mean per group
  contrast(fit, a, b, level)         mean(a) - mean(b): estimate, SE, Satterthwaite df, t, p, CI

Why written here rather than taken from statsmodels: statsmodels' MixedLM reports Wald z, not the
small-sample t with Satterthwaite df that lmerTest gives, and a study compares a few graphs per group,
where z is anti-conservative. The random effects here are nested intercepts, so the covariance
matrix is block-diagonal by graph with compound symmetry inside each block: the REML criterion needs
only per-cell sums (closed-form inverses and determinants, Searle, Casella & McCulloch 1992, ch. 3),
which keeps a fit of 10^4 trials in milliseconds where a dense n x n matrix would not fit.

Satterthwaite follows lmerTest 3.1 (Kuznetsova, Brockhoff & Christensen 2017): the variance
parameters are lme4's (theta = random-effect SD / residual SD, sigma = residual SD); their covariance
is twice the pseudo-inverse of the Hessian of the REML deviance in those parameters (eigenvalues
below 1e-8 dropped), and df = 2 (L C L')^2 / (g' A g) with g the gradient of L C L' in them. Both
derivatives are taken here by Richardson-extrapolated central differences of the closed-form criterion.
"""
import math
import os

# many tiny matrices: OpenBLAS threads only add wake-up latency (3 ms per 2 x 2 inverse measured with
# the cores busy); takes effect when this module is the first to load numpy
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from scipy import optimize  # noqa: E402
from scipy import stats as sst  # noqa: E402

LEVEL = 0.95
SINGULAR_TOL = 1e-4  # lme4's isSingular(): a theta below this counts as 0


class Design:
    """Per-cell sums of a nested random-intercept design (cells: graph, or graph x order)."""

    def __init__(self, y, group, graph, order=None):
        # centred: the sums of squares below then lose no digits to cancellation (y ~ 97 % would cost
        # six), which the numerical derivatives of the criterion need
        y = np.asarray(y, dtype=float)
        self.shift = float(y.mean()) if len(y) else 0.0
        self.y = y - self.shift
        n = len(self.y)
        group = np.asarray(group).astype(str)
        graph = np.asarray(graph).astype(str)
        self.groups = list(dict.fromkeys(group.tolist()))
        gi = np.array([self.groups.index(g) for g in group]) if n else np.zeros(0, int)
        self.x = np.zeros((n, len(self.groups)))
        self.x[np.arange(n), gi] = 1.0
        gr_labels, self.gr = np.unique(graph, return_inverse=True)
        self.n_graph = len(gr_labels)
        cell_key = graph if order is None else np.char.add(np.char.add(graph, "\x1f"), np.asarray(order).astype(str))
        _, cell = np.unique(cell_key, return_inverse=True)
        self.n_cell_levels = int(cell.max()) + 1 if n else 0
        self.has_order = order is not None
        # sums per cell: trials, X rows, y; and each cell's graph
        self.nc = np.bincount(cell, minlength=self.n_cell_levels).astype(float)
        self.sx = np.zeros((self.n_cell_levels, len(self.groups)))
        np.add.at(self.sx, cell, self.x)
        self.sy = np.bincount(cell, weights=self.y, minlength=self.n_cell_levels)
        self.cell_graph = np.zeros(self.n_cell_levels, dtype=int)
        self.cell_graph[cell] = self.gr
        self.xtx, self.xty, self.yty = self.x.T @ self.x, self.x.T @ self.y, float(self.y @ self.y)
        self.n, self.p = n, len(self.groups)
        self.graph_groups = {g: int(len(set(self.gr[gi == i]))) for i, g in enumerate(self.groups)}
        self.group_trials = {g: int((gi == i).sum()) for i, g in enumerate(self.groups)}

    def parts(self, sg, so, se):
        """X'V^-1X, X'V^-1y, y'V^-1y and log|V| for V = se I + so (cells' J) + sg (graphs' J)."""
        d = se + self.nc * so
        b = so / d
        # W = se I + so blockdiag(J): Q(u, v) = (u'v - sum_c b_c U_c V_c) / se
        qxx = (self.xtx - (self.sx * b[:, None]).T @ self.sx) / se
        qxy = (self.xty - (self.sx * (b * self.sy)[:, None]).sum(0)) / se
        qyy = (self.yty - float((b * self.sy * self.sy).sum())) / se
        # W^-1 1 on cell c is 1/d_c: r_g(u) = sum_{c in g} U_c / d_c, A_g = sum_{c in g} n_c / d_c
        rx = np.zeros((self.n_graph, self.p))
        np.add.at(rx, self.cell_graph, self.sx / d[:, None])
        ry = np.bincount(self.cell_graph, weights=self.sy / d, minlength=self.n_graph)
        a = np.bincount(self.cell_graph, weights=self.nc / d, minlength=self.n_graph)
        w = sg / (1.0 + sg * a)
        m = qxx - (rx * w[:, None]).T @ rx
        mv = qxy - (rx * (w * ry)[:, None]).sum(0)
        q = qyy - float((w * ry * ry).sum())
        logdet = float(((self.nc - 1) * math.log(se)).sum() + np.log(d).sum() + np.log1p(sg * a).sum())
        return m, mv, q, logdet


def _sd(design, theta, sigma):
    tg = theta[0] if len(theta) else 0.0  # no theta: one trial per graph, the graph term left out
    to = theta[1] if design.has_order else 0.0
    s2 = sigma * sigma
    return tg * tg * s2, to * to * s2, s2


def reml_deviance(design, theta, sigma):
    """-2 REML log-likelihood at lme4's variance parameters (theta relative SDs, sigma residual SD)."""
    sg, so, se = _sd(design, theta, sigma)
    m, mv, q, logdet = design.parts(sg, so, se)
    sign, ldm = np.linalg.slogdet(m)
    if sign <= 0:
        return math.inf
    ypy = q - float(mv @ np.linalg.solve(m, mv))
    return logdet + ldm + ypy + (design.n - design.p) * math.log(2 * math.pi)


def _profiled(design, theta):
    """REML deviance with sigma^2 profiled out (lme4's criterion), and sigma^2's estimate."""
    sg, so, se = _sd(design, theta, 1.0)
    m, mv, q, logdet = design.parts(sg, so, se)
    sign, ldm = np.linalg.slogdet(m)
    if sign <= 0:
        return math.inf, math.nan
    s2 = (q - float(mv @ np.linalg.solve(m, mv))) / (design.n - design.p)
    if not s2 > 0:
        return math.inf, math.nan
    return logdet + ldm + (design.n - design.p) * (1 + math.log(2 * math.pi * s2)), s2


def _optimise(design, k):
    """theta >= 0 minimising the profiled REML deviance. The search runs over r = theta^2 (variance
    ratios): the deviance is even in theta, so theta = 0 is always a stationary point where a bounded
    quasi-Newton search in theta can stop although the minimum is inside; in r the boundary has its
    true slope. It starts from the best point of a coarse grid (r = 0 and 1e-3 ... 1e2 per ratio),
    then the faces with a ratio that ends near 0 fixed at 0 are compared."""
    f = lambda r: _profiled(design, np.sqrt(np.maximum(r, 0)))[0]  # noqa: E731
    axis = np.concatenate([[0.0], np.logspace(-3, 2, 11)])
    grid = np.array(np.meshgrid(*[axis] * k)).reshape(k, -1).T
    start = min(grid, key=f)
    best = _minimise(f, k, [], start)
    near = [i for i in range(k) if best[1][i] < 1e-4]
    for zero in ([near] if near else []) + ([[i] for i in near] if len(near) > 1 else []):
        cand = _minimise(f, k, zero, start)
        if cand[0] < best[0] - 1e-12:
            best = cand
    theta = np.sqrt(best[1])
    return _polish(design, theta, lambda t: _profiled(design, t)[0])


def _minimise(f, k, zero, start):
    """The free ratios from the grid's best point: bounded Brent for one (a decade either side of the
    start, whose grid neighbours are half a decade away), bounded Powell for two. Both derivative-free:
    scipy 1.10's L-BFGS-B prints "ascent direction" lines to stdout on this flat criterion."""
    free = [i for i in range(k) if i not in zero]
    if not free:
        return f(np.zeros(k)), np.zeros(k)

    def g(rf):
        return f(_put(np.zeros(k), free, rf))

    x0 = np.asarray(start, dtype=float)[free]
    if len(free) == 1:
        x = x0[0]
        lo, hi = (x / 10, x * 10) if x > 0 else (0.0, 1e-2)
        r = optimize.minimize_scalar(lambda v: g(np.array([v])), bounds=(lo, hi), method="bounded",
                                     options=dict(xatol=1e-12, maxiter=500))
        best = min((float(r.fun), float(r.x)), (g(np.zeros(1)), 0.0))
        return best[0], _put(np.zeros(k), free, [best[1]])
    r = optimize.minimize(g, np.maximum(x0, 1e-3), method="Powell", bounds=[(0, None)] * len(free),
                          options=dict(xtol=1e-10, ftol=1e-15, maxiter=20000))
    return float(r.fun), _put(np.zeros(k), free, np.maximum(r.x, 0))


def _polish(design, t, f):
    """Newton steps on the free (positive) thetas with a central-difference gradient and Hessian, so
    that estimates agree with lme4's to its convergence tolerance rather than to L-BFGS-B's."""
    t = t.copy()
    free = [i for i in range(len(t)) if t[i] > 1e-6]
    for _ in range(8):
        if not free:
            break
        gr, h = _grad_hess(lambda u: f(_put(t, free, u)), t[free], 1e-4)
        try:
            step = np.linalg.solve(h, gr)
        except np.linalg.LinAlgError:
            break
        new = t[free] - step
        if np.any(new <= 0) or f(_put(t, free, new)) > f(t) + 1e-12:
            break
        t[free] = new
        if np.max(np.abs(step)) < 1e-10:
            break
    return t


def _put(t, idx, vals):
    u = t.copy()
    u[idx] = vals
    return u


def _grad_hess(fun, x, rel):
    k = len(x)
    h = rel * np.maximum(np.abs(x), 1e-2)
    f0 = fun(x)
    gr, hs = np.zeros(k), np.zeros((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h[i]
        fp, fm = fun(x + e), fun(x - e)
        gr[i] = (fp - fm) / (2 * h[i])
        hs[i, i] = (fp - 2 * f0 + fm) / h[i] ** 2
        for j in range(i):
            e2 = np.zeros(k)
            e2[j] = h[j]
            hs[i, j] = hs[j, i] = (fun(x + e + e2) - fun(x + e - e2) - fun(x - e + e2) + fun(x - e - e2)) / (4 * h[i] * h[j])
    return gr, hs


def _richardson(fun, x, i, j, h0, levels=3):
    """d^2 fun / dx_i dx_j (or d fun / dx_i when j is None) by central differences at steps h0 / 2^l,
    Richardson-extrapolated (error O(h^2) per level removed)."""
    def one(h):
        if j is None:
            e = np.zeros(len(x))
            e[i] = h
            return (fun(x + e) - fun(x - e)) / (2 * h)
        if i == j:
            e = np.zeros(len(x))
            e[i] = h
            return (fun(x + e) - 2 * fun(x) + fun(x - e)) / (h * h)
        ei, ej = np.zeros(len(x)), np.zeros(len(x))
        ei[i], ej[j] = h, h
        return (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej) + fun(x - ei - ej)) / (4 * h * h)

    t = [one(h0 / 2 ** lv) for lv in range(levels)]
    for m in range(1, levels):
        t = [(4 ** m * t[q + 1] - t[q]) / (4 ** m - 1) for q in range(len(t) - 1)]
    return t[0]


def _steps(vp):
    # 5 % of each parameter, 3 Richardson levels: agrees with lmerTest's df to 1e-6 on the test data,
    # where steps of 0.1 % already lose digits to rounding. The floor of 0.05 is for the thetas (ratios,
    # possibly 0); sigma is in accuracy units and can be 0.002 (seed sd of 0.2 points), where a floored
    # step would pass through 0 and give df in the thousands: its step is 5 % of itself
    return np.array([5e-2 * max(abs(v), 0.05) for v in vp[:-1]] + [5e-2 * abs(vp[-1])])


def _vcov_beta(design, vp):
    sg, so, se = _sd(design, vp[:-1], vp[-1])
    m = design.parts(sg, so, se)[0]
    return np.linalg.inv(m)


def _satterthwaite_parts(design, vp):
    """A = 2 pinv(H) (covariance of the variance parameters) and the Jacobian of cov(beta)."""
    k = len(vp)
    hs = _steps(vp)
    dev = lambda v: reml_deviance(design, v[:-1], v[-1])  # noqa: E731
    hess = np.zeros((k, k))
    for i in range(k):
        for j in range(i + 1):
            hess[i, j] = hess[j, i] = _richardson(dev, vp, i, j, min(hs[i], hs[j]))
    ev, vec = np.linalg.eigh(hess)
    pos = ev > 1e-8
    a = 2 * (vec[:, pos] / ev[pos]) @ vec[:, pos].T
    jac = []
    for i in range(k):
        jac.append(_richardson_matrix(lambda v: _vcov_beta(design, v), vp, i, hs[i]))
    return a, jac, ev


def _richardson_matrix(fun, x, i, h0, levels=3):
    def one(h):
        e = np.zeros(len(x))
        e[i] = h
        return (fun(x + e) - fun(x - e)) / (2 * h)

    t = [one(h0 / 2 ** lv) for lv in range(levels)]
    for m in range(1, levels):
        t = [(4 ** m * t[q + 1] - t[q]) / (4 ** m - 1) for q in range(len(t) - 1)]
    return t[0]


def _nan_fit(design, why):
    return dict(ok=False, why=why, groups=design.groups, n_graphs=design.graph_groups, n_trials=design.group_trials,
                var_graph=math.nan, var_order=None if not design.has_order else math.nan, var_resid=math.nan,
                singular=False, beta={}, method=METHOD)


METHOD = ("linear mixed model acc ~ group + (1 | graph){order}, REML; contrast df by Satterthwaite "
          "(lmerTest's method)")


def fit(y, group, graph, order=None):
    """REML fit of y ~ group + (1 | graph), plus (1 | graph:order) when `order` is given. Returns a dict:
    groups, beta (group -> mean), vcov (of beta, in the order of groups), var_graph, var_order (None
    when not in the model), var_resid, theta, sigma, singular (a theta below 1e-4, as lme4's
    isSingular), n_graphs and n_trials per group, deviance (REML criterion), ok/why, method. The
    design must leave the graph term identifiable: more graphs than groups and more trials than graphs
    (with order, more trials than graph x order cells, else the order term is dropped: see `notes`)."""
    notes = []
    d = Design(y, group, graph, order)
    if order is not None and d.n_cell_levels >= d.n:
        notes.append("every graph x order seed cell has one trial: the order term is not separable from the "
                     "residual and is left out (the residual includes it)")
        d = Design(y, group, graph, None)
    if order is not None and d.has_order and d.n_cell_levels == d.n_graph:
        notes.append("one order seed per graph: the order term is confounded with the graph term and left out")
        d = Design(y, group, graph, None)
    if d.p < 1 or d.n_graph <= d.p:
        return dict(_nan_fit(d, f"{d.n_graph} graphs for {d.p} groups: no graph-to-graph variance is estimable"),
                    notes=notes)
    if not np.ptp(d.y) > 0:
        return dict(_nan_fit(d, "every accuracy is the same: no spread to estimate a variance from"), notes=notes)
    if d.n <= d.n_graph:
        # graphs are then the trials: ordinary least squares over graphs, exact df n - p, and the one
        # variance holds graph and seed variation together
        notes.append("one trial per graph: graph and seed variance are not separable; the graph term is left out "
                     "and the residual holds both (a t-test over graphs)")
    k = 0 if d.n <= d.n_graph else 2 if d.has_order else 1
    theta = _optimise(d, k) if k else np.zeros(0)
    crit, s2 = _profiled(d, theta)
    sigma = math.sqrt(s2)
    vp = np.concatenate([theta, [sigma]])
    sg, so, se = _sd(d, theta, sigma)
    m, mv, _, _ = d.parts(sg, so, se)
    vcov = np.linalg.inv(m)
    beta = vcov @ mv
    a, jac, ev = _satterthwaite_parts(d, vp)
    return dict(ok=True, why="", groups=d.groups, beta=dict(zip(d.groups, (beta + d.shift).tolist())), vcov=vcov,
                var_graph=sg if k else math.nan, var_order=so if d.has_order else None, var_resid=se,
                theta=theta.tolist(), sigma=sigma,
                singular=bool(k and np.any(theta < SINGULAR_TOL)), n_graphs=d.graph_groups, n_trials=d.group_trials,
                deviance=crit, vcov_varpar=a, jac=jac, hessian_eigenvalues=ev.tolist(), notes=notes,
                method=METHOD.format(order=" + (1 | graph:order_seed)" if d.has_order else ""))


def contrast(f, a, b, level=LEVEL):
    """mean(a) - mean(b) from a fit: estimate, se, Satterthwaite df, t, two-sided p, CI at `level`."""
    out = dict(a=a, b=b, method=f.get("method", METHOD), estimate=math.nan, se=math.nan, df=math.nan, t=math.nan,
               p=math.nan, low=math.nan, high=math.nan)
    if not f.get("ok"):
        out["why"] = f.get("why", "")
        return out
    gs = f["groups"]
    lv = np.zeros(len(gs))
    lv[gs.index(a)], lv[gs.index(b)] = 1.0, -1.0
    est = float(lv @ np.array([f["beta"][g] for g in gs]))
    var = float(lv @ f["vcov"] @ lv)
    grad = np.array([float(lv @ j @ lv) for j in f["jac"]])
    denom = float(grad @ f["vcov_varpar"] @ grad)
    df = 2 * var * var / denom if denom > 0 else math.inf
    se = math.sqrt(var)
    t = est / se if se > 0 else math.nan
    p = float(2 * sst.t.sf(abs(t), df)) if np.isfinite(t) else math.nan
    q = sst.t.ppf(1 - (1 - level) / 2, df)
    out.update(estimate=est, se=se, df=float(df), t=float(t), p=p, low=est - q * se, high=est + q * se)
    return out


def compare(y, group, graph, a, b, order=None, level=LEVEL):
    """Fit on the trials of groups a and b only, then their contrast; with the fit's variance components."""
    group = np.asarray(group).astype(str)
    keep = (group == a) | (group == b)
    sub = lambda v: None if v is None else np.asarray(v)[keep]  # noqa: E731
    f = fit(np.asarray(y, dtype=float)[keep], group[keep], sub(graph), sub(order))
    c = contrast(f, a, b, level)
    c.update(var_graph=f["var_graph"], var_order=f["var_order"], var_resid=f["var_resid"], singular=f["singular"],
             n_graphs=f["n_graphs"], n_trials=f["n_trials"], notes=f.get("notes", []), fit_ok=f["ok"])
    return c
