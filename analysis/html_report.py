#!/usr/bin/python3
"""One self-contained HTML page of a dcn sweep's results file (results.h5), to copy off a cluster and
open anywhere without a network: plots are inline PNG data URIs, styles inline, no external request.
A small inline script makes tables sortable by clicking a column header; the page reads completely
without it.

Sections: the sweep's header (file, dcn version, trial counts, the sweep's YAML); the group table of
`dcn report --json` (run through the dcn binary, so the numbers are the same); per group the accuracy
distribution and the mean learning curve with a +-1 sd band; the topology analysis of
analysis/topology.py (its tables and plots); every trial in one compact table. A sweep still running
gets a note saying so and when the page was made.

Usage: html_report.py results.h5 --out FILE [--dcn PATH] [--group-by KEYS] [--compare GROUPS]
"""
import argparse
import base64
import contextlib
import datetime
import html
import io
import json
import math
import os
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcnresults as R  # noqa: E402
import topology as T  # noqa: E402

T.pyplot()  # the page's figures share the topology figures' style (dpi, font size, grid)

# per-group figures beyond this many groups would make a large sweep's page heavy (each is ~15 kB);
# the overview figures and the tables still cover every group
MAX_GROUP_FIGS = 40
MAX_OVERVIEW_GROUPS = 80
MAX_TOPOLOGY_ROWS = 300
FIG_DPI = 72
STAT_COLS = [("trials", "trials"), ("done", "done"), ("failed", "failed"), ("running", "running"),
             ("pending", "pending"), ("n", "n"), ("mean", "mean"), ("sd", "sd"), ("median", "median"),
             ("q1", "Q1"), ("q3", "Q3"), ("min", "min"), ("max", "max"), ("ci_low", "CI low"),
             ("ci_high", "CI high"), ("best_mean", "best epoch mean")]

CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1250px;
padding:0 1em;color:#222;background:#fff}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0;font-size:12px}th,td{border:1px solid #ccc;padding:2px 5px}
th{background:#eef;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer}tr.failed td{background:#fee}tr.unfinished td{background:#ffd}
.note{border:2px solid #c80;background:#fff4dd;padding:.5em 1em;font-weight:bold}
pre{background:#f6f6f6;padding:.5em;overflow:auto;font-size:12px}img{max-width:100%;height:auto}
.wrap{overflow-x:auto}.small{color:#555;font-size:12px}dl{display:grid;grid-template-columns:max-content auto;gap:0 1em}
dt{font-weight:bold}dd{margin:0}
"""

# Sorts a table.sortable by the clicked column (numbers by data-v when present); no JS, no sorting.
SCRIPT = """
document.documentElement.className+=' js';
document.querySelectorAll('table.sortable').forEach(function(t){
 t.querySelectorAll('thead th').forEach(function(th,i){th.title='click to sort';th.onclick=function(){
  var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),dir=th.dataset.dir==='a'?-1:1;th.dataset.dir=dir>0?'a':'d';
  function v(r){var c=r.cells[i];if(!c)return '';var d=c.getAttribute('data-v');
   return d!==null?(d===''?-Infinity:parseFloat(d)):c.textContent;}
  rows.sort(function(x,y){var a=v(x),c=v(y);return (typeof a==='number'&&typeof c==='number'?a-c:
   String(a).localeCompare(String(c),undefined,{numeric:true}))*dir;});
  rows.forEach(function(r){b.appendChild(r);});};});});
"""


class PageError(R.ResultsError):
    pass


def esc(v):
    return html.escape(str(v), quote=True)


# ---------------------------------------------------------------- inputs

def read_root(path):
    """The root attributes of results.h5 (strings decoded); R.load has checked it is a results file."""
    import h5py
    with h5py.File(path, "r") as f:
        return {k: R._s(v) for k, v in f.attrs.items()}


def dcn_json(dcn, path, group_by):
    """`dcn report RESULTS --json [--group-by KEYS]`: the group table's numbers, from dcn itself."""
    if not dcn:
        raise PageError("no dcn binary for `dcn report --json` (give --dcn PATH or set DCN_BIN)")
    cmd = [dcn, "report", path, "--json"] + (["--group-by", group_by] if group_by else [])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise PageError(f"{' '.join(cmd)} failed (exit status {r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def group_mask(df, g, keys):
    """The trials of one group of dcn's JSON: each key equal by its type in the field table (numbers
    compared as numbers)."""
    m = np.ones(len(df), dtype=bool)
    for k in keys:
        v, col, ty = g.get(k), df[k], R.field_type(k)
        if ty == "bool":
            m &= col.astype(bool).to_numpy() == bool(v)
        elif ty == "string":
            m &= (col.astype(str) == str(v)).to_numpy()
        elif v is None:
            m &= ~np.isfinite(col.astype(float).to_numpy())
        else:
            m &= np.isclose(col.astype(float).to_numpy(), float(v), rtol=1e-12, atol=0)
    return m


def group_name(g, keys):
    return ", ".join(f"{k}={key_text(g[k])}" for k in keys)


def key_text(v):
    """A key value as dcn writes it (JSON true/false, not Python's True/False)."""
    return str(v).lower() if isinstance(v, bool) else str(v)


# ---------------------------------------------------------------- figures

def png_uri(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIG_DPI, bbox_inches="tight", pil_kwargs={"optimize": True})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def img(uri, alt):
    return f'<img src="{uri}" alt="{esc(alt)}">'


def box_with_points(ax, data, labels, vertical=True):
    """Box plot of each accuracy list with every trial as a jittered point."""
    pos = np.arange(1, len(data) + 1)
    keep = [i for i, d in enumerate(data) if len(d)]
    if keep:
        ax.boxplot([data[i] for i in keep], positions=pos[keep], vert=vertical, widths=0.5, showfliers=False)
    rng = np.random.default_rng(0)
    for p, d in zip(pos, data):
        jit = p + rng.uniform(-0.15, 0.15, len(d))
        ax.plot(*((jit, d) if vertical else (d, jit)), "o", ms=3, alpha=0.6, color="C1")
    if vertical:
        ax.set_xticks(pos, labels)
    else:
        ax.set_yticks(pos, labels, fontsize=6)


def mean_curve(ax, frames, label=None):
    """Mean test accuracy per epoch over trials with a +-1 sd band; returns whether anything was drawn."""
    frames = [f for f in frames if len(f) and "test_accuracy" in f]
    if not frames:
        return False
    st = pd.concat(frames).groupby("epoch")["test_accuracy"].agg(["mean", "std"])
    line, = ax.plot(st.index, st["mean"], marker="o", ms=3, label=label)
    sd = st["std"].fillna(0)
    ax.fill_between(st.index, st["mean"] - sd, st["mean"] + sd, color=line.get_color(), alpha=0.2)
    epoch_axis(ax, st.index.max())
    return True


def epoch_axis(ax, last):
    """Integer epoch ticks from 0: a one-epoch run is a point at 1, not a dot on ticks 0.945-1.050."""
    ax.set_xlim(0, max(1.0, float(last)) * 1.04)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


def mean_step_curve(ax, frames, col, label=None):
    """Mean of col over trials at each logged step of /metrics/steps, against epochs (images seen / images
    per epoch); returns whether anything was drawn."""
    frames = [f for f in frames if len(f) and col in f]
    if not frames:
        return False
    st = pd.concat(frames).groupby("step").agg(epochs=("epochs", "mean"), mean=(col, "mean"))
    ax.plot(st["epochs"], st["mean"], lw=1, label=label)
    epoch_axis(ax, st["epochs"].max())
    return True


def group_figure(acc, frames, name):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 2.4), gridspec_kw={"width_ratios": [1, 2.2]})
    if len(acc):
        box_with_points(a1, [acc], [f"n={len(acc)}"])
    else:
        T.empty(a1, "no done trial")
    a1.set_ylabel("final test accuracy (%)")
    if mean_curve(a2, frames):
        a2.set(xlabel="epoch", ylabel="test accuracy (%)", title=f"mean ± 1 sd over {len(frames)} trials")
    else:
        T.empty(a2, "no learning curve (no finished trial file)")
    return img(png_uri(fig), f"accuracy of {name}")


def overview_figures(groups, accs, curves_by_group, keys, steps_by_group=None):
    """All groups in three figures: box plots with points, one mean test-accuracy curve per group, and the
    training loss within epochs (/metrics/steps) per group."""
    shown = list(range(min(len(groups), MAX_OVERVIEW_GROUPS)))
    labels = [f"G{i + 1}" for i in shown]  # the names are in the group table; long ones would crowd the axis
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.3 * len(shown)))
    box_with_points(ax, [accs[i] for i in shown][::-1], labels[::-1], vertical=False)
    ax.set(xlabel="final test accuracy (%) of done trials", title="final test accuracy per group (G1 on top)")
    box = img(png_uri(fig), "final accuracy of every group")
    fig, ax = plt.subplots(figsize=(8, 3.2))
    drawn = sum(mean_curve(ax, curves_by_group[i], label=f"G{i + 1}") for i in shown)
    if drawn and drawn <= 12:
        ax.legend(fontsize=7, ncol=4)
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title="mean test accuracy per epoch, one curve per group")
    note = "" if len(groups) <= MAX_OVERVIEW_GROUPS else (
        f'<p class="small">The figures show the first {MAX_OVERVIEW_GROUPS} of {len(groups)} groups; '
        "the group table has every group.</p>")
    curve = img(png_uri(fig), "mean learning curve of every group")
    if steps_by_group and any(steps_by_group[i] for i in shown):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
        for i in shown:
            mean_step_curve(a1, steps_by_group[i], "train_loss", label=f"G{i + 1}")
            mean_step_curve(a2, steps_by_group[i], "train_accuracy", label=f"G{i + 1}")
        a1.set(xlabel="epochs of training (images seen / images per epoch)", ylabel="training loss",
               title="training loss, mean over trials")
        a2.set(xlabel="epochs of training", ylabel="training accuracy (%)", title="training accuracy, mean over trials")
        if len(shown) <= 12:
            a2.legend(fontsize=7, ncol=3)
        curve += img(png_uri(fig), "training loss and accuracy within epochs of every group")
    return box + curve + note


# ---------------------------------------------------------------- HTML pieces

def num_td(v, digits=2):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return '<td class="n" data-v="">-</td>'
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return f'<td class="n" data-v="{int(v)}">{int(v)}</td>'
    return f'<td class="n" data-v="{float(v)!r}">{float(v):.{digits}f}</td>'


def table(head, rows, cls="sortable", tid=None):
    ths = "".join(f"<th>{esc(h)}</th>" for h in head)
    ident = f' id="{tid}"' if tid else ""
    return (f'<div class="wrap"><table class="{cls}"{ident}><thead><tr>{ths}</tr></thead><tbody>\n'
            + "\n".join(rows) + "\n</tbody></table></div>")


def header_section(path, root, rep, made):
    counts = {k: root.get(k, rep.get(k)) for k in ("trials", "done", "failed", "running", "pending")}
    items = [("file", path), ("dcn version", root.get("dcn_version", "?")), ("sweep file", root.get("sweep_file", "?")),
             ("updated", root.get("updated", "?")), ("page made", made)]
    items += [(k, counts[k]) for k in counts]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    out = [f"<h1>dcn sweep report: {esc(os.path.basename(path))}</h1>", f"<dl>{dl}</dl>"]
    unfinished = int(counts["running"] or 0) + int(counts["pending"] or 0)
    if unfinished:
        out.append(f'<p class="note" id="running-note">This page was made at {esc(made)} while the sweep was still '
                   f"running: {esc(counts['running'])} trials running or interrupted, {esc(counts['pending'])} "
                   "pending. Its numbers will change when the sweep goes on.</p>")
    yaml = root.get("sweep_yaml")
    if yaml:
        out.append(f"<details open><summary>sweep YAML</summary><pre>{esc(yaml)}</pre></details>")
    return "\n".join(out)


def group_section(rep, keys):
    head = ["group"] + keys + [label for _, label in STAT_COLS]
    rows = []
    for i, g in enumerate(rep["groups"]):
        cells = [f'<td><a href="#g{i + 1}">G{i + 1}</a></td>']
        cells += [f"<td>{esc(key_text(g[k]))}</td>" for k in keys]
        cells += [num_td(g.get(c)) for c, _ in STAT_COLS]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join([
        "<h2 id=\"groups\">Groups</h2>",
        f"<p>Final test accuracy (%) of the done trials of each group (trials that differ only in their seeds), "
        f"from <code>dcn report --json</code> (grouped by {esc(', '.join(keys))}). sd: {esc(rep.get('sd', ''))}; "
        f"quantiles: {esc(rep.get('quantiles', ''))}; CI: {esc(rep.get('ci', ''))}. \"-\": not defined.</p>",
        table(head, rows, tid="group-table")])


def per_group_section(rep, keys, df, curves, steps=None):
    groups = rep["groups"]
    masks = [group_mask(df, g, keys) for g in groups]
    done = ((df["status"] == "done") & np.isfinite(df["acc"])).to_numpy()
    accs = [df["acc"].to_numpy()[m & done] for m in masks]
    frames = [[curves[i] for i in df["id"].to_numpy()[m & done] if i in curves] for m in masks]
    steps = steps or {}
    step_frames = [[steps[i] for i in df["id"].to_numpy()[m & done] if i in steps] for m in masks]
    out = ["<h2 id=\"plots\">Accuracy per group</h2>",
           "<p>Box plots: final test accuracy of the done trials, every trial a point. Curves: test accuracy per "
           "epoch (<code>/metrics/test_accuracy</code> of the trial files), mean ± 1 sd over the done trials; "
           "training loss and accuracy within epochs (<code>/metrics/steps</code>: each point the mean over the "
           "steps since the previous one), mean over the done trials.</p>",
           overview_figures(groups, accs, frames, keys, step_frames)]
    # folded: a sweep of many graphs would otherwise push everything else down with near-identical figures
    for i, g in enumerate(groups):
        name = group_name(g, keys)
        fig = group_figure(accs[i], frames[i], name) if i < MAX_GROUP_FIGS else ""
        out.append(f'<details id="g{i + 1}"><summary>G{i + 1}: {esc(name)} ({len(accs[i])} done trials)</summary>'
                   f"{fig}</details>")
    if len(groups) > MAX_GROUP_FIGS:
        out.append(f'<p class="small">Figures for the first {MAX_GROUP_FIGS} groups only, to keep the page small; '
                   "the overview figures and tables cover every group.</p>")
    return "\n".join(out)


# ---------------------------------------------------------------- topology

def run_topology(path, compare):
    """Runs topology.py into a temporary folder: (topology.md text, {png name: data URI}) or an error text."""
    with tempfile.TemporaryDirectory(prefix="dcn-html-topology-") as tmp:
        argv = [path, "--out", tmp] + (["--compare", compare] if compare else [])
        err = io.StringIO()
        with contextlib.redirect_stdout(sys.stderr), contextlib.redirect_stderr(err):
            rc = T.main(argv)
        if rc != 0:
            return None, {}, err.getvalue().strip() or f"topology.py exit status {rc}"
        with open(os.path.join(tmp, "topology.md")) as fh:
            md = fh.read()
        pngs = {}
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".png"):
                with open(os.path.join(tmp, name), "rb") as fh:
                    pngs[name] = "data:image/png;base64," + base64.b64encode(fh.read()).decode("ascii")
        return md, pngs, None


def md_cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def md_table(lines):
    head, body = md_cells(lines[0]), [md_cells(x) for x in lines[2:]]
    rows = ["<tr>" + "".join(f'<td class="n">{esc(c)}</td>' if _numeric(c) else f"<td>{esc(c)}</td>" for c in r)
            + "</tr>" for r in body[:MAX_TOPOLOGY_ROWS]]
    more = len(body) - MAX_TOPOLOGY_ROWS
    # every pair of many graph groups can give 10^5 comparisons: the page keeps its size bound
    note = (f'<p class="small">{more} more rows not shown: <code>dcn report RESULTS --topology DIR</code> writes '
            "them all (topology.md and CSV).</p>") if more > 0 else ""
    return table(head, rows) + note


def _numeric(text):
    try:
        float(text.rstrip(" %"))
        return True
    except ValueError:
        return False


def md_to_html(md):
    """The Markdown topology.py writes (headings, paragraphs, pipe tables, '- ' lists) as escaped HTML."""
    out, lines, i = [], md.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            out.append(md_table(lines[i:j]))
            i = j
            continue
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")) + 2, 4)  # '#' is the page's h3
            out.append(f"<h{level}>{esc(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("- "):
            out.append(f"<ul><li>{esc(line[2:])}</li></ul>")
        elif line.strip():
            out.append(f"<p>{esc(line)}</p>")
        i += 1
    return "\n".join(out)


STUDY_HEADINGS = ("## The study", "## Comparisons", "## Where the variance comes from")
STUDY_PNGS = ("topology_study.png", "topology_comparisons.png", "topology_variance.png")


def split_md(md):
    """topology.md cut at its '## ' headings into (the study's sections, the rest)."""
    lead, rest = [], []
    cur = rest
    for line in md.splitlines():
        if line.startswith("## "):
            cur = lead if line.startswith(STUDY_HEADINGS) else rest
        elif line.startswith("# "):
            continue
        cur.append(line)
    return "\n".join(lead), "\n".join(rest)


def topology_sections(path, compare):
    """(the study: graph groups, verdicts, variance; the rest of the topology analysis), or an error
    note and nothing. The study leads the page of a sweep over several graphs."""
    md, pngs, err = run_topology(path, compare)
    if err:
        return "", "\n".join(['<h2 id="topology">Topology</h2>',
                               f'<p class="note">The topology analysis failed: {esc(err)}</p>'])
    lead_md, rest_md = split_md(md)
    if "Fewer than two groups with done trials" in lead_md:  # one graph: no study to lead with
        lead_md, rest_md = "", lead_md + "\n" + rest_md
    study = ['<h2 id="study">The study: graphs, verdicts, variance</h2>',
             "<p>From <code>analysis/topology.py</code>: every graph's mean accuracy by group, the comparisons "
             "with graphs as the unit (mixed model, or the null-model test for one graph against an "
             "ensemble), and the variance split. The methods are named with each table.</p>",
             "".join(img(pngs[n], n) for n in STUDY_PNGS if n in pngs), md_to_html(lead_md)]
    rest = ['<h2 id="topology">Topology: trends and measures</h2>',
            "<p>Accuracy against family parameters and graph measures (<code>analysis/topology.py</code>).</p>",
            "".join(img(uri, n) for n, uri in pngs.items() if n not in STUDY_PNGS), md_to_html(rest_md)]
    return ("\n".join(study) if lead_md else ""), "\n".join(rest)


# ---------------------------------------------------------------- trials

def trial_columns(df):
    """Configuration columns worth a column: the usual ones always, the rest only when they vary (the
    constant ones are listed once above the table, which keeps 1,000 rows compact)."""
    always = ["graph", "dataset", "variant", "frozen", "seed", "order_seed"]
    present = [k for k in R.ALL_KEYS if k in df]
    vary = [k for k in present if k not in always and df[k].nunique(dropna=False) > 1]
    const = [k for k in present if k not in always and k not in vary]
    return [k for k in always if k in df] + vary, const


def cell(k, v):
    if R.field_type(k) == "bool":
        return f"<td>{'true' if bool(v) else 'false'}</td>"
    if isinstance(v, (float, np.floating)):
        return num_td(float(v), 4) if k == "lr" else f'<td class="n">{float(v):g}</td>'
    if isinstance(v, (int, np.integer)):
        return f'<td class="n">{int(v)}</td>'
    return f"<td>{esc(v)}</td>"


def trial_row(r, cols):
    cls = {"failed": ' class="failed"', "done": ""}.get(r["status"], ' class="unfinished"')
    cells = [f'<td id="{esc(r["id"])}">{esc(r["id"])}</td>'] + [cell(k, r[k]) for k in cols]
    cells += [f"<td>{esc(r['status'])}</td>", num_td(r["acc"]), num_td(r["best_acc"]),
              num_td(float(r["wall_seconds"]), 1) if np.isfinite(r["wall_seconds"]) and r["wall_seconds"] >= 0
              else num_td(None), num_td(int(r["rank"]) if r["rank"] >= 0 else None),
              f"<td>{esc(r['reason'])}</td>"]
    return "<tr" + cls + ">" + "".join(cells) + "</tr>"


def trials_section(df):
    cols, const = trial_columns(df)
    first = df.iloc[0] if len(df) else None
    same = ", ".join(f"{k}={first[k]:g}" if isinstance(first[k], float) else f"{k}={first[k]}" for k in const)
    head = ["id"] + cols + ["status", "final acc %", "best acc %", "wall s", "rank", "failure reason"]
    rows = [trial_row(r, cols) for r in df.to_dict("records")]
    return "\n".join([
        f"<h2 id=\"trials\">Trials ({len(df)})</h2>",
        f"<p>Every trial of /summary. Same for every trial: {esc(same or '-')}. Accuracies: final and best "
        "test accuracy over the epochs; rank: the MPI rank that ran it.</p>",
        table(head, rows, tid="trial-table")])


# ---------------------------------------------------------------- page

def page(path, root, rep, df, curves, compare, steps=None):
    keys = rep["group_by"]
    made = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    study, rest = topology_sections(path, compare)
    nav = ('<p class="small">' + ('<a href="#study">study</a> · ' if study else "") + '<a href="#groups">groups</a> · '
           '<a href="#plots">plots</a> · <a href="#topology">topology</a> · <a href="#trials">trials</a></p>')
    body = [header_section(path, root, rep, made), nav, study, group_section(rep, keys),
            per_group_section(rep, keys, df, curves, steps), rest, trials_section(df)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>dcn report: {esc(os.path.basename(path))}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body></html>\n")


def write_atomic(out, text):
    """A reader (a browser, a copy off the cluster) never sees half a page."""
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="aggregate results file of dcn sweep (results.h5)")
    ap.add_argument("--out", required=True, help="the HTML file to write")
    ap.add_argument("--dcn", help="the dcn binary for `dcn report --json` (default: DCN_BIN, dcn on PATH)")
    ap.add_argument("--group-by", help="comma-separated group keys (as dcn report --group-by)")
    ap.add_argument("--compare", help="groups for the topology comparisons (as dcn report --compare)")
    a = ap.parse_args(argv)
    try:
        _, df = R.load(a.results)
        root = read_root(a.results)
        rep = dcn_json(R.find_dcn(a.dcn), a.results, a.group_by)
        done = df[(df["status"] == "done") & np.isfinite(df["acc"])]
        ids = list(done["id"])
        text = page(a.results, root, rep, df, R.curves(a.results, ids), a.compare, R.step_curves(a.results, ids))
    except (R.ResultsError, OSError, KeyError, ValueError) as e:
        msg = str(e)
        print(f"html_report.py: {msg}" if a.results in msg else f"html_report.py: {a.results}: {msg}",
              file=sys.stderr)
        return 1
    write_atomic(a.out, text)
    print(f"html_report.py: wrote {a.out} ({len(text) / 1e6:.2f} MB, {len(df)} trials, "
          f"{len(rep['groups'])} groups)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
