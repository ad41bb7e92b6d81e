#!/usr/bin/python3
"""Figures (PNG and SVG) and Markdown tables of a dcn sweep's results file (results.h5):

  fig2_curves              paper Figure 2: test ("validation") accuracy and loss per epoch, mean over the
                           done trials of each group with a +-1 sd band
  fig2_steps               training loss and accuracy within epochs (/metrics/steps) against epochs of
                           images seen, per graph family (a family's graph seeds pooled)
  fig3_final_accuracy      paper Figure 3: final test accuracy per dataset and graph, box plot with every
                           trial as a point
  table2_mnist (+ .md)     paper Table 2: MNIST accuracy per graph and frozen/trainable DAG beside the
                           paper's numbers
  table1.md                paper Table 1: graph measures (needs `dcn graph stats`)
  measures_correlation     beyond the paper: accuracy against graph and DAG measures (scatter), with
   (+ correlations.md/.csv) Pearson and Spearman correlations per stratum (dataset, frozen, ...)
  ordering_effect (+ .md)  beyond the paper: spread of accuracy across vertex-order seeds vs across
                           weight seeds, per graph
  index.md                 what was written, and why a figure is empty when the sweep lacks its data

A figure whose data the sweep does not have (e.g. no order-seed axis) is still written, with a note
saying what is missing, so the set of files is the same for every sweep.

Usage: plots.py results.h5 --out DIR [--group-by KEYS] [--dcn PATH]
Groups: default graph,dataset,variant,frozen plus every other configuration key except the seeds that
varies in the sweep (the rows of `dcn report`).
"""
import argparse
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcnresults as R  # noqa: E402
import tables  # noqa: E402

plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 120, "font.size": 9, "axes.grid": True,
                     "grid.alpha": 0.3, "svg.hashsalt": "dcn"})


def save(fig, out, name, written):
    for ext in ("png", "svg"):
        p = os.path.join(out, f"{name}.{ext}")
        fig.savefig(p, bbox_inches="tight")
        written.append(p)
    plt.close(fig)


def empty(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def fig2(path, df, keys, out, written, notes):
    d = R.done(df)
    cur = R.curves(path, list(d["id"]))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8))
    n_lines = 0
    for _, g in d.groupby(keys, sort=False, dropna=False):
        frames = [cur[i] for i in g["id"] if i in cur and len(cur[i])]
        if not frames:
            continue
        label = R.group_label(g.iloc[0], keys) + f" (n={len(frames)})"
        allf = pd.concat(frames)
        for ax, col in ((a1, "test_accuracy"), (a2, "test_loss")):
            st = allf.groupby("epoch")[col].agg(["mean", "std", "count"])
            line, = ax.plot(st.index, st["mean"], marker="o", ms=3, label=label)
            sd = st["std"].fillna(0)
            ax.fill_between(st.index, st["mean"] - sd, st["mean"] + sd, color=line.get_color(), alpha=0.15)
        n_lines += 1
    a2.set(title="Test loss per epoch (mean ± 1 sd over trials)", xlabel="epoch",
           ylabel="test loss (cross-entropy, nats)")
    for ax in (a1, a2):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        if n_lines:  # from 0, so that a one-epoch sweep is a point at 1 rather than alone on ticks 0.945-1.05
            ax.set_xlim(0, max(1.0, ax.get_xlim()[1]))
    lo, hi = a2.get_ylim()
    if n_lines and hi > 0 and hi / max(lo, 1e-12) > 1e3:  # a diverged group would flatten all others
        a2.set_yscale("log")
        a2.set_ylabel("test loss (cross-entropy, nats, log scale)")
    if not n_lines:
        empty(a1, "no done trial with per-epoch metrics")
        notes.append("fig2_curves: no done trials with metrics")
    a1.set(title="Test accuracy per epoch (mean ± 1 sd over trials)", xlabel="epoch", ylabel="test accuracy (%)")
    if n_lines:
        a1.legend(loc="upper center", bbox_to_anchor=(1.1, -0.14), ncol=2, fontsize=8, frameon=False)
    fig.suptitle("Figure 2: learning curves of each group (cf. Roberts et al. 2019, Fig. 2)")
    save(fig, out, "fig2_curves", written)


def family_label(graph):
    """A graph spec without its seed: the family a learning curve is pooled over (61 graphs of 4
    families would be 61 lines)."""
    return re.sub(r"(^|,)seed=\d+", "", str(graph)).strip(",") or str(graph)


def fig2_steps(path, df, keys, out, written, notes):
    """Training loss and accuracy within epochs (/metrics/steps) against epochs of images seen, mean over
    the done trials of each group with a +-1 sd band; groups pool a family's graph seeds."""
    d = R.done(df).copy()
    cur = R.step_curves(path, list(d["id"]))
    d["family"] = d["graph"].map(family_label)
    gkeys = ["family"] + [k for k in keys if k != "graph"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.4))
    n_lines, last = 0, 1.0
    for _, g in d.groupby(gkeys, sort=False, dropna=False):
        frames = [cur[i] for i in g["id"] if i in cur and len(cur[i])]
        if not frames:
            continue
        allf = pd.concat(frames)
        label = R.group_label(g.iloc[0], [k for k in keys if k != "graph"]) if len(keys) > 1 else ""
        label = f"{g.iloc[0]['family']} {label}".strip() + f" (n={len(frames)})"
        for ax, col in ((a1, "train_loss"), (a2, "train_accuracy")):
            st = allf.groupby("step").agg(x=("epochs", "mean"), mean=(col, "mean"), sd=(col, "std"))
            line, = ax.plot(st["x"], st["mean"], lw=1, label=label)
            sd = st["sd"].fillna(0)
            ax.fill_between(st["x"], st["mean"] - sd, st["mean"] + sd, color=line.get_color(), alpha=0.12)
            last = max(last, float(st["x"].max()))
        n_lines += 1
    for ax, name in ((a1, "training loss (cross-entropy)"), (a2, "training accuracy (%)")):
        ax.set(xlabel="epochs of training (images seen / images per epoch)", ylabel=name)
        ax.set_xlim(0, last * 1.02)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    if not n_lines:
        empty(a1, "no done trial with /metrics/steps (trials written before dcn kept it lack it)")
        notes.append("fig2_steps: no done trials with /metrics/steps")
    else:
        a2.legend(fontsize=7, loc="lower right")
    a1.set_title("training loss (mean over a group's trials, ±1 sd)")
    a2.set_title("training accuracy (each point: the steps since the previous one)")
    save(fig, out, "fig2_steps", written)


def fig3(df, keys, out, written, notes):
    d = R.done(df)
    datasets = list(dict.fromkeys(df["dataset"]))
    per = max([1] + [len(d[d["dataset"] == ds].groupby([k for k in keys if k != "dataset"], dropna=False))
                     for ds in datasets])
    fig, axes = plt.subplots(1, max(1, len(datasets)), figsize=(max(6, (1.0 * per + 1.5) * len(datasets)), 5.5),
                             squeeze=False)
    rng = np.random.default_rng(0)  # fixed jitter: the same figure for the same file
    for ax, ds in zip(axes[0], datasets or [None]):
        sub = d[d["dataset"] == ds]
        cats, vals = [], []
        for _, g in sub.groupby([k for k in keys if k != "dataset"], sort=False, dropna=False):
            cats.append(R.group_label(g.iloc[0], keys, drop=("dataset",), wrap=True))
            vals.append(g["acc"].to_numpy())
        if not cats:
            empty(ax, f"{ds}: no done trials")
            notes.append(f"fig3_final_accuracy: no done trials for {ds}")
        else:
            ax.boxplot(vals, labels=cats, showfliers=False, widths=0.5)
            for i, v in enumerate(vals):
                ax.scatter(i + 1 + rng.uniform(-0.12, 0.12, len(v)), v, s=14, alpha=0.7, color="C1", zorder=3,
                           label="one trial" if i == 0 else None)
            ax.tick_params(axis="x", labelsize=7)
            ax.legend(loc="lower right", fontsize=8)
        ax.set(title=f"{ds}", xlabel="graph / model", ylabel="final test accuracy (%)")
    fig.suptitle("Figure 3: distribution of final test accuracy per dataset and graph (box: quartiles, "
                 "whiskers 1.5 IQR; points: trials)")
    save(fig, out, "fig3_final_accuracy", written)


def fig_table2(df, keys, out, written, notes):
    rows = tables.table2_rows(df, keys)
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows) + 2), 5))
    if not rows:
        empty(ax, "no MNIST trials in this sweep")
        notes.append("table2_mnist: no MNIST trials")
    else:
        x = np.arange(len(rows))
        means = [r["mean"] for r in rows]
        sds = [r["sd"] if math.isfinite(r["sd"]) else 0 for r in rows]
        ax.bar(x, np.nan_to_num(means), yerr=sds, capsize=4, color="C0", alpha=0.7, label="this sweep (mean ± sd)")
        for i, r in enumerate(rows):
            ax.scatter(np.full(len(r["acc"]), i), r["acc"], s=10, color="k", zorder=3,
                       label="one trial" if i == 0 else None)
            if r["paper"] is not None:
                ax.scatter([i], [r["paper"]], marker="D", s=50, color="C3", zorder=4,
                           label="paper (Table 2)" if not any(q["paper"] is not None for q in rows[:i]) else None)
        ax.set_xticks(x, [R.wrap_spec(R.short_graph(r['graph'])) + "\n" + r["model"].replace(", ", "\n")
                          for r in rows], fontsize=7)
        ax.legend(loc="lower right", fontsize=8)
    ax.set(title="Table 2: MNIST final test accuracy per graph and DAG training (paper values as diamonds)",
           xlabel="graph / model", ylabel="MNIST test accuracy (%)")
    save(fig, out, "table2_mnist", written)


def measures_table(path, df, stats):
    """One row per done paper trial with its accuracy and every graph and DAG measure."""
    d = R.done(df[df["graph"] != "none"])
    dag = R.dag_measures(path, list(d["id"]))
    rows = []
    for _, r in d.iterrows():
        m = dict(dag.get(r["id"], {}))
        if stats and r["graph"] in stats:
            m.update({f"graph_{k}": v for k, v in stats[r["graph"]].items()})
        m.update(id=r["id"], acc=r["acc"])
        rows.append(m)
    return pd.DataFrame(rows)


def correlations(path, df, keys, stats, out, written, notes):
    strata_keys = [k for k in keys if k not in ("graph",)]
    meas = measures_table(path, df, stats)
    d = R.done(df[df["graph"] != "none"])
    # results files since the topology columns already carry the DAG measures: keep one copy
    d = d.drop(columns=[c for c in meas.columns if c in d.columns and c not in ("id", "acc")]).merge(
        meas.drop(columns=["acc"]), on="id") if len(meas) else None
    measure_cols = [c for c in meas.columns if c not in ("id", "acc")] if len(meas) else []
    rows = []
    if d is not None:
        for _, g in d.groupby(strata_keys, sort=False, dropna=False):
            label = R.group_label(g.iloc[0], strata_keys) or "all"
            for c in measure_cols:
                x = g[c].astype(float)
                ok = np.isfinite(x) & np.isfinite(g["acc"])
                x, y = x[ok], g["acc"][ok]
                varies = len(x) >= 3 and x.nunique() > 1 and y.nunique() > 1
                rows.append(dict(stratum=label, measure=c, n=len(x), graphs=g.loc[ok.index[ok], "graph"].nunique(),
                                 pearson=x.corr(y, method="pearson") if varies else np.nan,
                                 spearman=x.corr(y, method="spearman") if varies else np.nan))
    cor = pd.DataFrame(rows, columns=["stratum", "measure", "n", "graphs", "pearson", "spearman"])
    cor.to_csv(os.path.join(out, "correlations.csv"), index=False)
    written.append(os.path.join(out, "correlations.csv"))
    lines = ["# Accuracy vs graph and DAG measures", "",
             "Correlation of final test accuracy (%) of done trials of the paper variant with each measure, per "
             "stratum (trials that differ only in graph, vertex order and seeds). dag_* are measures of the "
             "trial's own DAG (they vary with the vertex order); graph_* come from `dcn graph stats` and are "
             "constant within a graph, so with few graphs they compare only a handful of points ('graphs' "
             "column). '-': fewer than 3 trials, or a constant measure.", "",
             "| stratum | measure | n trials | graphs | Pearson r | Spearman rho |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for _, r in cor.iterrows():
        f = lambda v: "-" if not np.isfinite(v) else f"{v:.3f}"  # noqa: E731
        lines.append(f"| {r['stratum']} | {r['measure']} | {r['n']} | {r['graphs']} | {f(r['pearson'])} | "
                     f"{f(r['spearman'])} |")
    if stats is None:
        lines += ["", "`dcn graph stats` was not available: only the DAG measures of the results file are used."]
    with open(os.path.join(out, "correlations.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    written.append(os.path.join(out, "correlations.md"))

    # scatter: the measures that vary most across trials, up to 6
    show = []
    if d is not None:
        pref = ["dag_longest_path", "dag_inputs", "dag_outputs", "dag_edges", "graph_average_clustering",
                "graph_average_path_length", "graph_modularity", "graph_average_degree"]
        show = [c for c in pref + measure_cols if c in d and d[c].astype(float).nunique() > 1]
        show = list(dict.fromkeys(show))[:6]
    ncol = min(3, max(1, len(show)))
    nrow = max(1, math.ceil(len(show) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.3 * ncol, 3.6 * nrow), squeeze=False)
    if not show:
        empty(axes[0][0], "no measure varies across the done trials of the paper variant")
        notes.append("measures_correlation: no varying measure")
    for k, c in enumerate(show):
        ax = axes[k // ncol][k % ncol]
        for j, (_, g) in enumerate(d.groupby(strata_keys, sort=False, dropna=False)):
            lab = R.group_label(g.iloc[0], strata_keys) or "all"
            ax.scatter(g[c].astype(float), g["acc"], s=14, alpha=0.75, color=f"C{j % 10}", label=lab)
        sub = cor[cor["measure"] == c]
        r_txt = "; ".join(f"r={p:.2f}, ρ={s:.2f}" for p, s in zip(sub["pearson"], sub["spearman"])
                          if np.isfinite(p))
        ax.set(title=f"{c}" + (f"\n{r_txt}" if r_txt and len(r_txt) < 60 else ""), xlabel=f"{c} (count)"
               if c.startswith("dag_") and c != "dag_density" else c, ylabel="final test accuracy (%)")
        ax.title.set_fontsize(8)
        if c.startswith("dag_") and c != "dag_density":
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    for k in range(len(show), nrow * ncol):
        if show:
            axes[k // ncol][k % ncol].set_visible(False)
    if show:
        axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle("Accuracy against graph and DAG measures (one point per done trial; colour: stratum)")
    fig.tight_layout()
    save(fig, out, "measures_correlation", written)


def ordering(df, keys, out, written, notes):
    """Per graph and stratum: sd of accuracy across order seeds at a fixed weight seed (mean over weight
    seeds) against sd across weight seeds at a fixed order seed (mean over order seeds)."""
    d = R.done(df[df["graph"] != "none"])
    gk = [k for k in keys if k not in ("seed", "order_seed")]
    rows = []
    for _, g in d.groupby(gk, sort=False, dropna=False):
        piv = g.pivot_table(index="seed", columns="order_seed", values="acc", aggfunc="mean")
        if piv.shape[0] < 2 or piv.shape[1] < 2:
            continue
        sd_order = piv.std(axis=1, ddof=1).mean()  # across order seeds, per weight seed
        sd_weight = piv.std(axis=0, ddof=1).mean()  # across weight seeds, per order seed
        rows.append(dict(group=R.group_label(g.iloc[0], gk), label=R.group_label(g.iloc[0], gk, wrap=True),
                         weight_seeds=piv.shape[0], order_seeds=piv.shape[1],
                         trials=len(g), sd_order=sd_order, sd_weight=sd_weight, sd_all=g["acc"].std(ddof=1)))
    t = pd.DataFrame(rows, columns=["group", "label", "weight_seeds", "order_seeds", "trials", "sd_order", "sd_weight", "sd_all"])
    lines = ["# Effect of the vertex ordering", "",
             "Spread (sample sd, percentage points) of final test accuracy across vertex-order seeds at a fixed "
             "weight seed, averaged over weight seeds, against the spread across weight seeds at a fixed order "
             "seed, averaged over order seeds. Comparable values: the ordering matters about as much as the "
             "initialisation.", "",
             "| group | weight seeds | order seeds | trials | sd across orders | sd across weight seeds | sd overall |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for _, r in t.iterrows():
        lines.append(f"| {r['group']} | {r['weight_seeds']} | {r['order_seeds']} | {r['trials']} | "
                     f"{r['sd_order']:.2f} | {r['sd_weight']:.2f} | {r['sd_all']:.2f} |")
    if not len(t):
        lines.append("\nNo group has both at least 2 weight seeds and 2 order seeds (add `order_seeds: 0..4` to "
                     "the sweep).")
    with open(os.path.join(out, "ordering.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    written.append(os.path.join(out, "ordering.md"))
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(t) + 2), 5))
    if not len(t):
        empty(ax, "the sweep has no group with >= 2 weight seeds and >= 2 order seeds")
        notes.append("ordering_effect: no order-seed axis")
    else:
        x = np.arange(len(t))
        ax.bar(x - 0.2, t["sd_order"], 0.4, label="across vertex orders (fixed weight seed)")
        ax.bar(x + 0.2, t["sd_weight"], 0.4, label="across weight seeds (fixed vertex order)")
        ax.set_xticks(x, list(t["label"]), fontsize=7)
        ax.legend(fontsize=8)
    ax.set(title="Effect of the vertex ordering: spread of final test accuracy", xlabel="graph / model",
           ylabel="sd of final test accuracy (percentage points)")
    save(fig, out, "ordering_effect", written)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="aggregate results file of dcn sweep (results.h5)")
    ap.add_argument("--out", required=True, help="folder for the figures and tables (created)")
    ap.add_argument("--group-by", help="comma-separated keys: any trial field of the file's field table "
                                       "(as dcn report --group-by)")
    ap.add_argument("--dcn", help="dcn binary for `dcn graph stats` (default: $DCN_BIN, then dcn on PATH)")
    a = ap.parse_args()
    try:
        meta, df = R.load(a.results)
        keys = R.parse_keys(a.group_by, df)
    except R.ResultsError as e:
        print(f"plots.py: {e}", file=sys.stderr)
        return 1
    os.makedirs(a.out, exist_ok=True)
    stats = R.graph_stats(R.find_dcn(a.dcn), list(dict.fromkeys(df["graph"])))
    written, notes = [], []
    fig2(a.results, df, keys, a.out, written, notes)
    fig2_steps(a.results, df, keys, a.out, written, notes)
    fig3(df, keys, a.out, written, notes)
    fig_table2(df, keys, a.out, written, notes)
    written += tables.write_tables(a.results, a.out, df=df, stats=stats, quiet=True, keys=keys).values()
    correlations(a.results, df, keys, stats, a.out, written, notes)
    ordering(df, keys, a.out, written, notes)
    counts = df["status"].value_counts().to_dict()
    idx = [f"# Figures and tables of {a.results}", "",
           f"{len(df)} trials: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("done", "failed", "running", "pending"))
           + f". Groups: {', '.join(keys)}. Graph measures: "
           + ("dcn graph stats" if stats is not None else "DAG measures only (dcn graph stats unavailable)"), ""]
    idx += [f"- {os.path.basename(p)}" for p in written]
    if notes:
        idx += ["", "Empty or partial (the sweep lacks the data):", ""] + [f"- {n}" for n in notes]
    with open(os.path.join(a.out, "index.md"), "w") as fh:
        fh.write("\n".join(idx) + "\n")
    print(f"plots.py: wrote {len(written) + 1} files to {a.out}" + (f" ({len(notes)} without data)" if notes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
