#!/usr/bin/python3
"""Markdown tables of a dcn sweep's results file, beside the paper's numbers (Roberts et al. 2019):

  table1.md  graph measures of every graph in the sweep (from `dcn graph stats GRAPH --json`) beside
             the paper's Table 1 for WS, C. elegans and mouse visual cortex;
  table2.md  MNIST final test accuracy (%) per graph and frozen/trainable DAG (mean +- sample sd over
             the done trials, with counts) beside the paper's Table 2.

Usage: tables.py results.h5 --out DIR [--dcn PATH]   (also printed to stdout)
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcnresults as R  # noqa: E402


def fmt(v, digits=3):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.{digits}f}"


def table2_rows(df, keys=None):
    """Rows of MNIST trials grouped by graph, variant, frozen and the other group keys (so that e.g. two
    learning rates are not pooled): label, counts, mean and sample sd of done trials, the paper's value."""
    keys = [k for k in (keys or R.default_keys(df)) if k not in ("dataset", "seed", "order_seed")]
    rows = []
    m = df[df["dataset"] == "mnist"]
    if not len(m):
        return rows
    for _, g in m.groupby(keys, sort=False, dropna=False):
        first = g.iloc[0]
        graph, variant, frozen = first["graph"], first["variant"], bool(first["frozen"])
        fam = R.graph_family(graph)
        base = variant == "baseline" or graph == "none"
        d = R.done(g)
        acc = d["acc"].to_numpy()
        paper = R.PAPER_TABLE2.get(("baseline", None) if base else (fam, frozen))
        model = "no graph" if base else ("frozen DAG" if frozen else "trainable DAG")
        if variant not in ("paper", "baseline"):
            model += f" ({variant})"
        extra = R.group_label(first, [k for k in keys if k not in ("graph", "variant", "frozen")])
        if extra:
            model += f", {extra}"
        rows.append(dict(graph=graph, family=fam if not base else "baseline", frozen=frozen, model=model,
                         total=len(g), done=len(d), failed=int((g["status"] == "failed").sum()),
                         unfinished=int(g["status"].isin(["running", "pending"]).sum()), acc=acc,
                         mean=acc.mean() if len(acc) else math.nan,
                         sd=acc.std(ddof=1) if len(acc) > 1 else math.nan, paper=paper))
    return rows


def table2_md(df, keys=None):
    rows = table2_rows(df, keys)
    out = ["# Table 2: MNIST test accuracy (%)", "",
           "Final test accuracy of the done trials, mean +- sample sd; the paper's value (Roberts et al. 2019, "
           "Table 2) where the graph matches (WS, mouse, baseline). Note: the sweep's protocol (epochs, channels, "
           "data limits) may differ from the paper's 50 epochs at C=78 on full MNIST.", "",
           "| graph | model | trials | done | failed | running/pending | accuracy % (mean +- sd) | paper % |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    if not rows:
        out.append("| (no MNIST trials in this sweep) | | | | | | | |")
    for r in rows:
        acc = "-" if not math.isfinite(r["mean"]) else (
            f"{r['mean']:.2f}" + (f" +- {r['sd']:.2f}" if math.isfinite(r["sd"]) else ""))
        out.append(f"| {R.short_graph(r['graph'])} | {r['model']} | {r['total']} | {r['done']} | {r['failed']} | "
                   f"{r['unfinished']} | {acc} | {fmt(r['paper'], 2) if r['paper'] is not None else '-'} |")
    return "\n".join(out) + "\n"


def table1_md(df, stats):
    graphs = [g for g in dict.fromkeys(df["graph"]) if g != "none"]
    out = ["# Table 1: graph measures", ""]
    if stats is None:
        out.append("`dcn graph stats` is not available in this dcn, so graph measures could not be computed; "
                   "the DAG measures of each trial are in correlations.md.")
        return "\n".join(out) + "\n"
    out += ["Measures of each graph of the sweep (dcn graph stats), beside the paper's Table 1 for its graphs. "
            "Modularity is that of dcn's greedy (CNM) partition.", ""]
    cols = []
    for g in graphs:
        cols.append((R.short_graph(g), stats.get(g, {})))
        fam = R.graph_family(g)
        if fam in R.PAPER_TABLE1:
            cols.append((f"paper: {fam}", R.PAPER_TABLE1[fam]))
    out.append("| measure | " + " | ".join(c[0] for c in cols) + " |")
    out.append("| --- |" + " ---: |" * len(cols))
    for m in R.TABLE1_ROWS:
        out.append(f"| {m.replace('_', ' ')} | " + " | ".join(fmt(c[1].get(m)) for c in cols) + " |")
    return "\n".join(out) + "\n"


def write_tables(path, out, dcn=None, df=None, stats=None, quiet=False, keys=None):
    if df is None:
        _, df = R.load(path)
    if stats is None:
        stats = R.graph_stats(R.find_dcn(dcn), [g for g in dict.fromkeys(df["graph"])])
    os.makedirs(out, exist_ok=True)
    files = {}
    for name, text in (("table1.md", table1_md(df, stats)), ("table2.md", table2_md(df, keys))):
        p = os.path.join(out, name)
        with open(p, "w") as f:
            f.write(text)
        files[name] = p
        if not quiet:
            print(text)
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="aggregate results file of dcn sweep (results.h5)")
    ap.add_argument("--out", required=True, help="folder for table1.md and table2.md")
    ap.add_argument("--dcn", help="dcn binary for `dcn graph stats` (default: $DCN_BIN, then dcn on PATH)")
    a = ap.parse_args()
    try:
        write_tables(a.results, a.out, a.dcn)
    except R.ResultsError as e:
        print(f"tables.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
