#!/usr/bin/python3
"""The trial-field table (DCN_TRIAL_FIELDS, include/dcn/fields.h) reaches every reader.

1. A tiny sweep (WS n=8, 2 channels, 256 images, 1 epoch) varying agg_init, freeze and normalize:
   - `dcn report --json` is valid JSON whose key values have the types of the /summary columns as h5py
     reads them (strings as strings, numbers as numbers, frozen as true/false), whose groups are the
     distinct (freeze, agg_init, normalize) of /summary with their trial counts, and whose default
     grouping pools the seeds and equals analysis/dcnresults.py's default_keys;
   - `--html` writes the page, and html_report.group_mask finds each JSON group's trials;
   - `--plots DIR --group-by freeze,agg_init,normalize` writes the figures;
   - results.h5 carries the table (root attribute trial_fields), which dcnresults.load reads; the old
     file format without it (tests/reference/old-format) falls back to the historical list; a damaged
     attribute is an error naming the file.
2. A scratch build of the source tree with two dummy fields appended to DCN_TRIAL_FIELDS by sed and no
   other edit (a string with a quote and a backslash in a value, and a double with a unit): a sweep
   over them shows both in `dcn report --json` with their types, in `--plots --group-by`, and in
   dcnresults.load (the unchanged Python of this tree); a sweep that leaves them at their defaults
   keeps the trial ids of the real build.
Environment (ctest): DCN_BIN, DCN_SOURCE_DIR; MNIST in the data folder ($DCN_DATA_DIR, else
<source>/data/cache); cmake and a compiler for the scratch build (about 20-40 s on 2 cores).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

SRC = os.path.abspath(os.environ.get("DCN_SOURCE_DIR",
                                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))
DCN = os.environ.get("DCN_BIN", os.path.join(SRC, "build", "dcn"))
DATA = os.environ.get("DCN_DATA_DIR") or os.path.join(SRC, "data", "cache")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1",
           DCN_DATA_DIR=DATA)
sys.path.insert(0, os.path.join(SRC, "analysis"))
import dcnresults as R  # noqa: E402

TINY = """graphs: ["ws:n=8,k=4,p=0.75,seed=1"]
epochs: 1
channels: 2
batch: 16
train_limit: 256
test_limit: 64
"""
# how h5py's dtype kinds of /summary columns map to the JSON types dcn report must write
JSON_TYPE = {"S": str, "i": int, "u": int, "f": (int, float)}
DUMMY = ['    X(dummy_tag, STR, "dummy_tags", "dummy-tag", "", "", 0, 16, NULL, "a test field")',
         '    X(dummy_scale, DOUBLE, "dummy_scales", "dummy-scale", "1", "widgets", 0, 0, NULL, "a test field")']
DUMMY_TAGS = ["plain", 'q"b\\s']
failures = []


def check(cond, msg):
    print(("ok   - " if cond else "FAIL - ") + msg, flush=True)
    if not cond:
        failures.append(msg)
    return cond


def run(cmd, timeout=300, cwd=None):
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout, cwd=cwd)
    print(f"# {' '.join(os.path.basename(c) if i < 1 else c for i, c in enumerate(cmd))[:150]}: rc {r.returncode}, "
          f"{time.time() - t:.1f} s", flush=True)
    return r


def sweep(dcn, tmp, name, axes):
    yml = os.path.join(tmp, name + ".yaml")
    with open(yml, "w") as f:
        f.write(f"output: {tmp}/{name}/results.h5\n" + TINY + axes)
    r = run([dcn, "sweep", yml, "--quiet"])
    if not check(r.returncode == 0, f"sweep {name} runs" + ("" if r.returncode == 0 else ": " + r.stderr[-1500:])):
        sys.exit(1)
    return yml, os.path.join(tmp, name, "results.h5")


def report_json(dcn, res, *extra):
    r = run([dcn, "report", res, "--json"] + list(extra))
    try:
        return json.loads(r.stdout) if r.returncode == 0 else None
    except ValueError as e:
        print(r.stdout[:2000])
        check(False, f"dcn report --json{''.join(' ' + x for x in extra)} is valid JSON: {e}")
        return None


def summary(res):
    with h5py.File(res, "r") as f:
        return f["summary"][:]


def value(s, name, i):
    v = s[name][i]
    return v.decode() if s.dtype[name].kind == "S" else v.item()


def check_types(rep, s, what):
    """Every key of every group has the JSON type of its /summary column (frozen: a boolean)."""
    bad = []
    for g in rep["groups"]:
        for k in rep["group_by"]:
            want = bool if k == "frozen" else JSON_TYPE[s.dtype[k].kind]
            v = g[k]
            if not isinstance(v, want) or (want is not bool and isinstance(v, bool)):
                bad.append((k, v))
    check(not bad, f"{what}: every key value has its column's JSON type (bad: {bad[:4]})")


def check_groups(rep, s, keys, what):
    """dcn's groups are the distinct values of keys in /summary (read by h5py), with their counts."""
    want = {}
    for i in range(len(s)):
        t = tuple(value(s, k, i) for k in keys)
        want[t] = want.get(t, 0) + 1
    got = {tuple(g[k] for k in keys): g["trials"] for g in rep["groups"]}
    check(got == want, f"{what}: groups and trial counts equal those of /summary ({len(want)} groups)"
          + ("" if got == want else f": got {got}, want {want}"))


# ---------------------------------------------------------------- 1. the sweep over the later fields

def test_sweep(tmp):
    yml, res = sweep(DCN, tmp, "later", 'seeds: 0..1\nagg_init: [zero, normal]\nfreeze: ["", stem]\n'
                                         'normalize: [meanstd, half]\n')
    s = summary(res)
    check(len(s) == 16 and all(x == b"done" for x in s["status"]), f"the sweep has 16 done trials ({len(s)})")
    rep = report_json(DCN, res)
    if check(rep is not None, "dcn report --json (default grouping) is valid JSON"):
        check_types(rep, s, "default grouping")
        check_groups(rep, s, rep["group_by"], "default grouping")
        check(set(["freeze", "agg_init", "normalize"]) <= set(rep["group_by"]) and "seed" not in rep["group_by"]
              and all(g["trials"] == 2 for g in rep["groups"]),
              f"the default grouping has the varying freeze, agg_init, normalize and pools the 2 seeds "
              f"({rep['group_by']})")
        _, df = R.load(res)
        check(R.default_keys(df) == rep["group_by"],
              f"dcnresults.default_keys {R.default_keys(df)} equals dcn report's {rep['group_by']}")
    keys = ["freeze", "agg_init", "normalize", "frozen", "seed", "lr", "epochs"]
    rep = report_json(DCN, res, "--group-by", ",".join(keys))
    if check(rep is not None, f"dcn report --json --group-by {','.join(keys)} is valid JSON"):
        check_types(rep, s, "--group-by " + ",".join(keys))
        check_groups(rep, s, [k for k in keys if k != "frozen"], "--group-by " + ",".join(keys))
    check_html(res, tmp)
    check_plots(DCN, res, os.path.join(tmp, "plots"), "freeze,agg_init,normalize")
    check_table(res, s)
    return yml


def check_html(res, tmp):
    page = os.path.join(tmp, "page.html")
    r = run([DCN, "report", res, "--html", page])
    check(r.returncode == 0 and os.path.exists(page),
          "dcn report --html exits 0" + ("" if r.returncode == 0 else ": " + r.stderr[-1500:]))
    text = open(page, encoding="utf-8").read() if os.path.exists(page) else ""
    check("agg_init=normal" in text and "normalize=half" in text and "freeze=stem" in text,
          "the page names the groups by freeze, agg_init and normalize")
    import html_report
    _, df = R.load(res)
    rep = report_json(DCN, res)
    if rep:
        got = [int(html_report.group_mask(df, g, rep["group_by"]).sum()) for g in rep["groups"]]
        check(got == [g["trials"] for g in rep["groups"]], f"html_report.group_mask finds each group's trials {got}")


def check_plots(dcn, res, out, keys):
    r = run([dcn, "report", res, "--plots", out, "--group-by", keys])
    idx = os.path.join(out, "index.md")
    text = open(idx).read() if os.path.exists(idx) else ""
    check(r.returncode == 0 and f"Groups: {keys.replace(',', ', ')}." in text
          and os.path.exists(os.path.join(out, "fig3_final_accuracy.png")),
          f"dcn report --plots DIR --group-by {keys} writes the figures" + ("" if r.returncode == 0 else ": "
                                                                              + r.stderr[-1500:]))


def check_table(res, s):
    """trial_fields lists the /summary columns between id and status, with their types; load() takes it."""
    with h5py.File(res, "r") as f:
        text = f.attrs.get("trial_fields")
    if not check(text is not None, "results.h5 has the root attribute trial_fields"):
        return
    table = json.loads(text)
    names = list(s.dtype.names)
    cols = names[names.index("id") + 1:names.index("status")]
    check([t["name"] for t in table] == cols, f"trial_fields names the trial-field columns of /summary ({cols})")
    kind = {"string": "S", "int": "i", "uint64": "u", "double": "f", "bool": "i"}
    check(all(s.dtype[t["name"]].kind == kind[t["type"]] for t in table), "each field's type is its column's")
    check([t["name"] for t in table if not t["config"]] == ["order_seed", "seed"],
          "the seeds, and only they, are not configuration keys")
    _, df = R.load(res)
    check(R.ALL_KEYS == cols and df.attrs["trial_fields"] == table
          and R.STRATUM_FIELDS == [c for c in cols if c not in ("graph", "seed", "order_seed")],
          "dcnresults takes ALL_KEYS and STRATUM_FIELDS from it")
    # the old format has no trial_fields: the historical list, restricted to its columns
    old = os.path.join(SRC, "tests", "reference", "old-format", "results.h5")
    _, odf = R.load(old)
    ocols = list(summary(old).dtype.names)
    check(sorted(R.ALL_KEYS) == sorted(c for c in ocols if c in [f["name"] for f in R.HISTORICAL_FIELDS])
          and "freeze" not in R.ALL_KEYS and odf["frozen"].dtype == bool,
          f"the old format falls back to the historical fields it has ({R.ALL_KEYS})")
    try:
        R.parse_keys("freeze", odf)
        check(False, "--group-by freeze on the old format (no such column) is an error")
    except R.ResultsError as e:
        check("freeze" in str(e), f"--group-by freeze on the old format is an error: {e}")
    bad = os.path.join(os.path.dirname(res), "bad.h5")
    shutil.copy(res, bad)
    with h5py.File(bad, "a") as f:
        f.attrs["trial_fields"] = "[{\"name\": \"graph\""
    try:
        R.load(bad)
        check(False, "a damaged trial_fields is an error")
    except R.ResultsError as e:
        check(bad in str(e) and "trial_fields" in str(e), f"a damaged trial_fields is an error naming the file: {e}")


# ---------------------------------------------------------------- 2. a field added to the table

def copy_tree(dst):
    """The source tree without build folders, data cache or results: git's files (tracked and new),
    or, outside a git checkout, a copy that skips them."""
    r = subprocess.run(["git", "-C", SRC, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       capture_output=True)
    if r.returncode == 0 and r.stdout:
        for rel in r.stdout.decode().split("\0"):
            if rel and os.path.isfile(os.path.join(SRC, rel)):
                os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
                shutil.copy2(os.path.join(SRC, rel), os.path.join(dst, rel))
        return
    def skip(folder, names):
        # only the top level's build and results folders and data/cache: src/sweep/results.c must come
        top = os.path.samefile(folder, SRC)
        return [n for n in names if n in (".git", "__pycache__")
                or (top and (n.startswith("build") or n.startswith("results")))
                or (n == "cache" and os.path.samefile(folder, os.path.join(SRC, "data")))]
    shutil.copytree(SRC, dst, ignore=skip, dirs_exist_ok=True)


def scratch_build(tmp):
    tree, build = os.path.join(tmp, "tree"), os.path.join(tmp, "build")
    copy_tree(tree)
    header = os.path.join(tree, "include", "dcn", "fields.h")
    # the macro ends at its first line without a trailing backslash: continue it there with the dummies
    sed = (r"/^#define DCN_TRIAL_FIELDS(X)/,/[^\\]$/{/[^\\]$/s/$/ \\\n" + DUMMY[0].replace("\\", "\\\\")
           + r" \\\n" + DUMMY[1].replace("\\", "\\\\") + "/}")
    r = run(["sed", "-i", sed, header])
    text = open(header).read()
    if not check(r.returncode == 0 and all(d + (" \\" if i == 0 else "\n") in text for i, d in enumerate(DUMMY)),
                 f"sed appends the dummy fields to DCN_TRIAL_FIELDS: {r.stderr}"):
        sys.exit(1)
    cmake = shutil.which("cmake")
    if not check(cmake is not None, "cmake is on PATH for the scratch build"):
        sys.exit(1)
    t = time.time()
    r = run([cmake, "-S", tree, "-B", build, "-DCMAKE_BUILD_TYPE=Release"], timeout=600)
    if r.returncode == 0:
        r = run(["make", "-C", build, "-j2", "dcn"], timeout=900)
    secs = time.time() - t
    if not check(r.returncode == 0, f"the scratch build with the dummy fields compiles with no other edit "
                                    f"({secs:.0f} s)" + ("" if r.returncode == 0 else (r.stdout + r.stderr)[-3000:])):
        sys.exit(1)
    print(f"# scratch build (configure + make dcn, -j2): {secs:.1f} s")
    return os.path.join(build, "dcn")


def test_dummy(tmp, later_yml):
    dcn = scratch_build(tmp)
    tags = ", ".join("'" + t.replace("'", "''") + "'" for t in DUMMY_TAGS)
    _, res = sweep(dcn, tmp, "dummy", f"dummy_tags: [{tags}]\ndummy_scales: [1, 2.5]\n")
    s = summary(res)
    check(sorted({value(s, "dummy_tag", i) for i in range(len(s))}) == sorted(DUMMY_TAGS)
          and sorted({value(s, "dummy_scale", i) for i in range(len(s))}) == [1.0, 2.5],
          "/summary has the dummy columns with the sweep's values")
    rep = report_json(dcn, res)
    if check(rep is not None, "dcn report --json of the dummy sweep is valid JSON"):
        check("dummy_tag" in rep["group_by"] and "dummy_scale" in rep["group_by"],
              f"the default grouping has the dummy fields that vary ({rep['group_by']})")
        check(sorted(g["dummy_tag"] for g in rep["groups"]) == sorted(DUMMY_TAGS * 2)
              and sorted(g["dummy_scale"] for g in rep["groups"]) == [1, 1, 2.5, 2.5],
              "dcn report --json writes the string field as JSON strings (quote and backslash escaped) and the "
              "double as numbers")
        check_types(rep, s, "dummy sweep")
    check_plots(dcn, res, os.path.join(tmp, "dummy-plots"), "dummy_tag,dummy_scale")
    _, df = R.load(res)
    check(sorted(set(df["dummy_tag"])) == sorted(DUMMY_TAGS) and R.field_type("dummy_scale") == "double"
          and R.field_type("dummy_tag") == "string", "dcnresults.load reads the dummy fields with their types")
    check({"dummy_tag", "dummy_scale"} <= set(R.ALL_KEYS) and {"dummy_tag", "dummy_scale"} <= set(R.STRATUM_FIELDS)
          and R.parse_keys("dummy_tag,dummy_scale", df) == ["dummy_tag", "dummy_scale"],
          "dcnresults takes the dummy fields as group keys and stratum fields")
    unit = {f["name"]: f["unit"] for f in df.attrs["trial_fields"]}
    check(unit.get("dummy_scale") == "widgets", "the unit of the table reaches Python")
    # a field at its default stays out of the canonical string: the ids of a sweep without it are unchanged
    ids = [json.loads(run([b, "sweep", later_yml, "--dry-run", "--json"]).stdout)["trials"] for b in (DCN, dcn)]
    check([t["id"] for t in ids[0]] == [t["id"] for t in ids[1]] and len(ids[0]) == 16,
          "the scratch build gives the real build's trial ids to a sweep that leaves the dummies at their default")


def main():
    if not os.path.isdir(os.path.join(DATA, "mnist")):
        print(f"FAIL - no data folder {DATA}: run `dcn data fetch mnist`")
        return 1
    t = time.time()
    with tempfile.TemporaryDirectory(prefix="dcn-fields-") as tmp:
        yml = test_sweep(tmp)
        test_dummy(tmp, yml)
    print(f"# {time.time() - t:.1f} s")
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
