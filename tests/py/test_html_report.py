#!/usr/bin/python3
"""`dcn report results.h5 --html page.html` (analysis/html_report.py) checked in headless Chromium.

A tiny real sweep (2 WS graphs x 2 seeds x lr 0.003 / 1e30, so some trials fail with a NaN loss; the
sweep's YAML holds markup in a comment, to check the escaping) is run in two steps:
- partial (shard 0/2): the page must carry the "still running" note;
- complete: Chromium, with the network namespace unshared (`unshare -n`, so no request could leave),
  dumps the DOM: every group and trial id is there, the group table's numbers equal `dcn report
  --json` (data-v exactly, the text to 2 decimals), the inline script ran; a --window-size=1280,2000
  screenshot is a 1280 x 2000 PNG with many colours (plots drawn, not a blank page).
A sweep over groups of graphs (the 1,000-trial file below: 2 WS groups of 25 graphs) leads with the
study (the figure of every graph's mean, the mixed-model verdict, trial-level tests labelled as such)
before the group table, and folds the per-group figures in <details>.
Static checks on the file itself: both tables present without JavaScript, every src/href/url() a
data: URI or an #anchor, the YAML's markup escaped. Bad inputs exit 1 naming the file. Last, a
1,000-trial synthetic results file (copies of the real rows, linked to the real trial files) must
give a page under 5 MB.
Needs Chromium (Debian: apt-get install chromium; jobs/setup.sh --for test installs it): without it
the test fails. Environment (ctest): DCN_BIN, DCN_SOURCE_DIR; MNIST in the data folder.
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DCN = os.environ.get("DCN_BIN", os.path.join(SRC, "build", "dcn"))
SCRIPT = os.path.join(SRC, "analysis", "html_report.py")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1")
STATS = ["trials", "done", "failed", "running", "pending", "n", "mean", "sd", "median", "q1", "q3", "min", "max",
         "ci_low", "ci_high", "best_mean"]
MARKUP = '# <b id="injected">not bold</b> & "quoted"'
failures = []


def check(cond, msg):
    print(("ok   - " if cond else "FAIL - ") + msg, flush=True)
    if not cond:
        failures.append(msg)
    return cond


def run(cmd, timeout=120):
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout)
    print(f"# {' '.join(os.path.basename(c) if i < 1 else c for i, c in enumerate(cmd))[:160]}: rc {r.returncode}, "
          f"{time.time() - t:.1f} s", flush=True)
    return r


def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("FAIL - no chromium on PATH: apt-get install chromium (or jobs/setup.sh --for test)")
        sys.exit(1)
    return exe


def browse(exe, profile, page, *args):
    """Chromium headless without a network: unshare -n gives it a namespace with no interface but lo."""
    cmd = ["unshare", "-n", exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--user-data-dir={profile}", "--no-first-run"] + list(args) + ["file://" + os.path.abspath(page)]
    return run(cmd, timeout=60)


# ---------------------------------------------------------------- the sweep

def write_sweep(tmp):
    yml = os.path.join(tmp, "html.yaml")
    with open(yml, "w") as f:
        f.write(f"""{MARKUP}
output: {tmp}/sweep/results.h5
graphs: ["ws:n=8,k=4,p=0.75,seed=1", "ws:n=8,k=4,p=0.25,seed=2"]
variants: [paper]
seeds: 0..1
lr: [0.003, 1e30]
epochs: 2
channels: 4
train_limit: 96
test_limit: 64
""")
    return yml


def sweep(yml, *extra):
    r = run([DCN, "sweep", yml, "--quiet"] + list(extra), timeout=300)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
        sys.exit(1)


def report_html(res, out):
    r = run([DCN, "report", res, "--html", out], timeout=600)  # a bound against hangs, not a speed test: a loaded 2-core machine took 130 s
    check(r.returncode == 0 and os.path.exists(out), f"dcn report --html {os.path.basename(out)} exits 0"
          + ("" if r.returncode == 0 else f": {r.stderr[-1500:]}"))
    return open(out, encoding="utf-8").read() if os.path.exists(out) else ""


# ---------------------------------------------------------------- parsing the page

class Tables(html.parser.HTMLParser):
    """Rows of each table with an id: [[(text, data-v or None), ...], ...] (the header row included)."""

    def __init__(self):
        super().__init__()
        self.tables, self.cur, self.cell, self.html_class = {}, None, None, ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_class = a.get("class") or ""
        elif tag == "table" and a.get("id"):
            self.cur = self.tables.setdefault(a["id"], [])
        elif tag == "tr" and self.cur is not None:
            self.cur.append([])
        elif tag in ("td", "th") and self.cur is not None:
            self.cell = [[], a.get("data-v")]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.cur[-1].append(("".join(self.cell[0]).strip(), self.cell[1]))
            self.cell = None
        elif tag == "table":
            self.cur = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0].append(data)


def parse(text):
    p = Tables()
    p.feed(text)
    return p


def key_text(v):
    return str(v).lower() if isinstance(v, bool) else str(v)


def check_group_table(rows, rep, where):
    if not check(len(rows) == len(rep["groups"]) + 1, f"{where}: one group row per group of --json"):
        return
    keys = rep["group_by"]
    head = [t for t, _ in rows[0]]
    check(head[1:1 + len(keys)] == keys, f"{where}: key columns {head[1:1 + len(keys)]}")
    bad = []
    for g, row in zip(rep["groups"], rows[1:]):
        got = [t for t, _ in row[1:1 + len(keys)]]
        if got != [key_text(g[k]) for k in keys]:
            bad.append(f"keys {got}")
        for (text, v), s in zip(row[1 + len(keys):], STATS):
            want = g[s]
            if want is None:
                ok = text == "-" and v == ""
            elif isinstance(want, int):
                ok = text == str(want) and int(v) == want
            else:
                ok = float(v) == want and text == f"{want:.2f}"
            if not ok:
                bad.append(f"{s}: page {text!r}/{v!r} vs json {want!r}")
    check(not bad, f"{where}: every number equals dcn report --json {bad[:5]}")


def external_refs(text):
    """src=, href= and url() values that are neither data: URIs nor #anchors."""
    refs = re.findall(r"""(?:\bsrc|\bhref)\s*=\s*["']?([^"'\s>]*)""", text, re.I)
    refs += re.findall(r"""url\(\s*["']?([^"')]*)""", text, re.I)
    return [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]


# ---------------------------------------------------------------- checks

def check_static(text, res, rep):
    check('id="group-table"' in text and 'id="trial-table"' in text,
          "both tables are in the static HTML (no JavaScript needed)")
    check("<script src" not in text.lower(), "no external script")
    bad = external_refs(text)
    check(not bad and "http://" not in text and "https://" not in text, f"no external reference: {bad[:5]}")
    check(MARKUP not in text and "&lt;b id=&quot;injected&quot;&gt;not bold&lt;/b&gt; &amp;" in text,
          "the sweep YAML's markup is escaped")
    with h5py.File(res, "r") as f:
        ids = [x.decode() for x in f["summary"]["id"]]
    check(all(i in text for i in ids), "every trial id is in the static HTML")
    check(text.count("<img src=\"data:image/png;base64,") >= len(rep["groups"]) + 2, "plots are inline PNGs")


def check_dom(exe, tmp, page, res, rep):
    r = browse(exe, os.path.join(tmp, "profile"), page, "--dump-dom")
    if not check(r.returncode == 0 and "<table" in r.stdout, "chromium --dump-dom works" + ("" if r.returncode == 0 else f": {r.stderr[-800:]}")):
        return
    p = parse(r.stdout)
    check("js" in p.html_class.split(), "the inline script ran (no error stopped it)")
    check(not re.search(r'<b id="injected"', r.stdout), "no element from the YAML's markup in the DOM")
    check_group_table(p.tables.get("group-table", []), rep, "DOM group table")
    rows = p.tables.get("trial-table", [])
    with h5py.File(res, "r") as f:
        s = f["summary"][:]
    ids = {x.decode() for x in s["id"]}
    check({row[0][0] for row in rows[1:]} == ids, "the trial table has every trial id, once")
    head = [t for t, _ in rows[0]] if rows else []
    if "failure reason" in head and "status" in head:
        reasons = [row[head.index("failure reason")][0] for row in rows[1:]
                   if row[head.index("status")][0] == "failed"]
        check(len(reasons) == int(np.sum(s["status"] == b"failed")) and all("NaN" in x for x in reasons),
              f"failed trials show their reason: {reasons}")
    for i, g in enumerate(rep["groups"]):
        check(f'id="g{i + 1}"' in r.stdout, f"group G{i + 1} has its section")


def check_screenshot(exe, tmp, page):
    import matplotlib.image
    shot = os.path.join(tmp, "shot.png")
    r = browse(exe, os.path.join(tmp, "profile"), page, "--window-size=1280,2000", f"--screenshot={shot}")
    if not check(r.returncode == 0 and os.path.exists(shot), "chromium --screenshot works" + ("" if r.returncode == 0 else f": {r.stderr[-800:]}")):
        return
    a = matplotlib.image.imread(shot)
    check(a.shape[:2] == (2000, 1280), f"screenshot is 1280 x 2000: {a.shape}")
    colours = len(np.unique((a[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    check(colours > 300, f"the screenshot is not blank ({colours} distinct colours)")


def check_bad_inputs(tmp):
    text = os.path.join(tmp, "notes.h5")
    with open(text, "w") as f:
        f.write("not hdf5\n")
    out = os.path.join(tmp, "bad.html")
    r = run([DCN, "report", text, "--html", out])
    check(r.returncode == 1 and "notes.h5" in r.stderr and not os.path.exists(out), f"non-HDF5 input: {r.stderr}")
    other = os.path.join(tmp, "other.h5")
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    r = run(["/usr/bin/python3", SCRIPT, other, "--out", out, "--dcn", DCN])
    check(r.returncode == 1 and "other.h5" in r.stderr and "not a dcn results file" in r.stderr
          and not os.path.exists(out), f"HDF5 non-results input: {r.stderr}")


# ---------------------------------------------------------------- 1,000 trials

def fake_big(res, n=1000, graphs=50):
    """big.h5 beside res: n copies of its rows over `graphs` WS graph seeds (so groups multiply), each
    linked to the trial file of the row it copies, so that the learning curves are read too."""
    big = os.path.join(os.path.dirname(res), "big.h5")
    with h5py.File(res, "r") as f:
        src, attrs = f["summary"][:], dict(f.attrs)
        links = {k: f["trials"].get(k, getlink=True) for k in f["trials"]}
    rows = np.resize(src, n)
    for j in range(n):
        old = rows[j]["id"].decode()
        rows[j]["index"], rows[j]["id"] = j, f"t{j:016x}".encode()
        p = 0.75 if j // len(src) % 2 == 0 else 0.25  # two groups of graphs in each stratum: a mixed model
        rows[j]["graph"] = f"ws:n=8,k=4,p={p},seed={j % graphs}".encode()
        rows[j]["graph_seed"] = j % graphs
        if "graph_p" in rows.dtype.names:
            rows[j]["graph_p"] = p
        rows[j]["file"] = links[old].filename.encode() if old in links else b""
    with h5py.File(big, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        f.attrs["trials"] = n
        for st in ("done", "failed", "running", "pending"):
            f.attrs[st] = int(np.sum(rows["status"] == st.encode()))
        f["summary"] = rows
        t = f.create_group("trials")
        for r, o in zip(rows, np.resize(src, n)):
            if o["id"].decode() in links:
                t[r["id"].decode()] = h5py.ExternalLink(links[o["id"].decode()].filename, "/")
    return big


def check_big(res):
    big = fake_big(res)
    out = os.path.join(os.path.dirname(res), "big.html")
    t = time.time()
    text = report_html(big, out)
    size = os.path.getsize(out) if text else 0
    print(f"# 1,000-trial page: {size / 1e6:.2f} MB ({size / 1000:.0f} bytes per trial), {time.time() - t:.1f} s")
    check(0 < size < 5e6, f"a 1,000-trial page is under 5 MB ({size / 1e6:.2f} MB)")
    check(text.count('<tr class="failed">') == int(np.sum(h5py.File(big, "r")["summary"]["status"] == b"failed")),
          "every failed trial of the big file has its row")
    # a sweep over groups of graphs leads with the study: the graphs figure, the graph-level verdicts
    study, groups = text.find('id="study"'), text.find('id="groups"')
    check(0 <= study < groups, f"the study comes before the group table (at {study} and {groups})")
    lead = text[study:groups]
    check('alt="topology_study.png"' in lead, "the study leads with the figure of every graph's mean")
    check("mixed model" in lead and "Satterthwaite" in lead, "its verdict is the mixed model's (25 graphs a group)")
    check("treated as independent" in lead, "trial-level tests are labelled as treating trials as independent")
    n_groups = len(re.findall(r'<details id="g\d+">', text))
    check(n_groups >= 2 and '<h3 id="g' not in text, f"per-group sections folded in <details> ({n_groups})")


def main():
    exe = chromium()
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="dcn-html-test-") as tmp:
        yml = write_sweep(tmp)
        res = os.path.join(tmp, "sweep", "results.h5")
        sweep(yml, "--shard", "0/2")
        text = report_html(res, os.path.join(tmp, "partial.html"))
        check('id="running-note"' in text and "still" in text, "a partial sweep's page says it was still running")
        sweep(yml)
        page = os.path.join(tmp, "page.html")
        text = report_html(res, page)
        print(f"# 8-trial page: {len(text.encode()) / 1e6:.2f} MB")
        check('id="running-note"' not in text, "a complete sweep's page has no running note")
        rep = json.loads(run([DCN, "report", res, "--json"]).stdout)
        check_group_table(parse(text).tables.get("group-table", []), rep, "static group table")
        check_static(text, res, rep)
        check_dom(exe, tmp, page, res, rep)
        check_screenshot(exe, tmp, page)
        check_bad_inputs(tmp)
        check_big(res)
    print(f"# {time.time() - t0:.1f} s in all")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all html report checks passed")


if __name__ == "__main__":
    main()
