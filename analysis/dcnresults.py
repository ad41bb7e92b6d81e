"""Reading a dcn sweep's aggregate results file (results.h5, written by `dcn sweep`) for the
analysis scripts: the /summary table as a pandas DataFrame, per-epoch metrics and DAG measures of
each trial, graph measures from `dcn graph stats`, and the paper's numbers to compare with.

Layout (README.md, src/sweep/results.c): / attributes (format_version, ...), /summary (one row per
trial, fixed-length byte strings), /trials/<id>/ (trial attributes, metrics/, dag/).
"""
import json
import os
import shutil
import subprocess

import h5py
import numpy as np
import pandas as pd

FORMAT_VERSION = 1  # the newest results format these scripts know (DCN_TRIAL_FORMAT_VERSION)

# ---------------------------------------------------------------- the trial fields
# dcn's table of trial fields (include/dcn/fields.h) reaches these scripts through results.h5: its root
# attribute trial_fields is a JSON list of {name, type, sweep_key, unit, default, config}, one per
# /summary column of a trial field. Files written before that attribute existed get HISTORICAL_FIELDS.

# The fields of results files without trial_fields (dcn before the attribute; format_version 1, layouts
# 1 and 2), as they were then: a fallback for those files only, never extended. load() keeps the ones
# the file's /summary has (older files lack some).
HISTORICAL_FIELDS = [
    dict(name="graph", type="string", sweep_key="graphs", unit="", default="ws:n=32,k=4,p=0.75,seed=0",
         config=True),
    dict(name="dataset", type="string", sweep_key="datasets", unit="", default="mnist", config=True),
    dict(name="variant", type="string", sweep_key="variants", unit="", default="paper", config=True),
    dict(name="frozen", type="bool", sweep_key="frozen", unit="", default="false", config=True),
    dict(name="order", type="string", sweep_key="orders", unit="", default="random", config=True),
    dict(name="order_seed", type="uint64", sweep_key="order_seeds", unit="", default="0", config=False),
    dict(name="seed", type="uint64", sweep_key="seeds", unit="", default="0", config=False),
    dict(name="epochs", type="int", sweep_key="epochs", unit="epochs", default="50", config=True),
    dict(name="batch", type="int", sweep_key="batch", unit="images", default="32", config=True),
    dict(name="lr", type="double", sweep_key="lr", unit="", default="0.001", config=True),
    dict(name="channels", type="int", sweep_key="channels", unit="channels", default="78", config=True),
    dict(name="train_limit", type="int", sweep_key="train_limit", unit="images", default="0", config=True),
    dict(name="test_limit", type="int", sweep_key="test_limit", unit="images", default="0", config=True),
    dict(name="freeze", type="string", sweep_key="freeze", unit="", default="", config=True),
    dict(name="agg_init", type="string", sweep_key="agg_init", unit="", default="", config=True),
    dict(name="normalize", type="string", sweep_key="normalize", unit="", default="", config=True),
]
FIELD_TYPES = ("string", "int", "uint64", "double", "bool")

PAPER_KEYS = ["graph", "dataset", "variant", "frozen"]  # the paper's Table 2 cells, always grouped by
# Derived from the field table of the file load() read last (the scripts read one file per run; before
# any, HISTORICAL_FIELDS), updated in place so that `from dcnresults import ALL_KEYS` and R.ALL_KEYS
# both follow it:
FIELDS = []          # the table: list of dicts as above
ALL_KEYS = []        # every trial field: the group keys
CONFIG_KEYS = []     # configuration keys beyond PAPER_KEYS (the default grouping adds those that vary)
STRATUM_FIELDS = []  # configuration fields that define a stratum: all but the graph and the seeds


def use_fields(fields):
    """Makes fields (a trial_fields list) the table FIELDS, ALL_KEYS, CONFIG_KEYS and STRATUM_FIELDS
    describe."""
    FIELDS[:] = [dict(f) for f in fields]
    ALL_KEYS[:] = [f["name"] for f in fields]
    CONFIG_KEYS[:] = [f["name"] for f in fields if f["config"] and f["name"] not in PAPER_KEYS]
    STRATUM_FIELDS[:] = [f["name"] for f in fields if f["config"] and f["name"] != "graph"]


use_fields(HISTORICAL_FIELDS)


def field_type(name):
    """The type of trial field `name` in the current table ("string", "int", "uint64", "double",
    "bool"), None when it is not a trial field."""
    return next((f["type"] for f in FIELDS if f["name"] == name), None)


def read_fields(path, attrs, columns):
    """The field table of a results file: its trial_fields attribute, or HISTORICAL_FIELDS (those among
    the /summary columns) when it has none. A damaged attribute is an error naming the file."""
    text = attrs.get("trial_fields")
    if text is None:
        return [f for f in HISTORICAL_FIELDS if f["name"] in columns]
    try:
        fields = json.loads(_s(text))
    except ValueError as e:
        raise ResultsError(f"{path}: root attribute trial_fields is not valid JSON ({e})")
    if not isinstance(fields, list):
        raise ResultsError(f"{path}: root attribute trial_fields is not a JSON list")
    for i, f in enumerate(fields):
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or f.get("type") not in FIELD_TYPES \
                or not isinstance(f.get("config"), bool):
            raise ResultsError(f"{path}: trial_fields entry {i} is not {{name, type ({', '.join(FIELD_TYPES)}), "
                               f"config (true/false), ...}}: {f!r}")
        if f["name"] not in columns:
            raise ResultsError(f"{path}: trial_fields names '{f['name']}', which /summary has no column for")
    return fields


# Table 2 of the paper: MNIST validation accuracy (%); key (graph family, frozen), None = baseline
PAPER_TABLE2 = {
    ("baseline", None): 98.01,
    ("WS", True): 97.05,
    ("WS", False): 99.27,
    ("mouse", True): 98.24,
    ("mouse", False): 99.30,
}
# Table 1 of the paper (graph measures), in `dcn graph stats --json` names where they exist
PAPER_TABLE1 = {
    "WS": {"nodes": 32, "edges": 64, "average_path_length": 4.387, "average_clustering": 0.5,
           "connected_components": 1, "diameter": 8, "average_degree": 4, "modularity": 0.562},
    "celegans": {"nodes": 297, "edges": 2148, "average_path_length": 2.455, "average_clustering": 0.308,
                 "connected_components": 1, "diameter": 5, "average_degree": 14.465, "modularity": 0.373},
    "mouse": {"nodes": 195, "edges": 214, "average_path_length": 4.271, "average_clustering": 0.124,
              "connected_components": 3, "diameter": 8, "average_degree": 1.097, "modularity": 0.752},
}
TABLE1_ROWS = ["nodes", "edges", "average_path_length", "average_clustering", "connected_components", "diameter",
               "average_degree", "modularity"]


class ResultsError(Exception):
    pass


def _s(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def graph_family(graph):
    """Paper name of a graph spec: 'baseline' (no graph), 'WS', 'mouse', 'celegans', or None."""
    g = str(graph)
    low = g.lower()
    base = os.path.basename(low)
    if low == "none":
        return "baseline"
    if low.startswith("ws:") or low == "ws" or base.startswith("ws"):
        return "WS"
    if "mouse" in low:
        return "mouse"
    if "elegans" in low:
        return "celegans"
    return None


def short_graph(graph):
    """A label for plots: the generator spec, or a file's base name, 'no graph' for the baseline."""
    g = str(graph)
    if g == "none":
        return "no graph (baseline)"
    if "/" in g:
        return os.path.basename(g)
    return g


def load(path):
    """Returns (meta, df): root attributes and the /summary table (one row per trial, strings decoded,
    boolean fields such as frozen as bool, accuracies in percent in acc/best_acc). The file's field table
    (read_fields) is in df.attrs["trial_fields"] and becomes the one ALL_KEYS etc. describe."""
    if not os.path.exists(path):
        raise ResultsError(f"{path}: no such file")
    if not h5py.is_hdf5(path):
        raise ResultsError(f"{path}: not an HDF5 file")
    with h5py.File(path, "r") as f:
        if "summary" not in f or "format_version" not in f.attrs:
            raise ResultsError(f"{path}: not a dcn results file (no /summary table or format_version)")
        version = int(f.attrs["format_version"])
        if version > FORMAT_VERSION:
            raise ResultsError(f"{path}: format_version {version} is newer than these scripts know ({FORMAT_VERSION})")
        meta = {k: _s(v) for k, v in f.attrs.items()}
        s = f["summary"][:]
    fields = read_fields(path, meta, s.dtype.names)
    use_fields(fields)
    df = pd.DataFrame({name: [_s(x) for x in s[name]] if s.dtype[name].kind == "S" else s[name]
                       for name in s.dtype.names})
    for fd in fields:
        if fd["type"] == "bool":
            df[fd["name"]] = df[fd["name"]].astype(bool)
    df.attrs["trial_fields"] = fields
    df["acc"] = 100 * df["test_accuracy"].astype(float)
    df["best_acc"] = 100 * df["best_test_accuracy"].astype(float)
    df["family"] = [graph_family(g) for g in df["graph"]]
    return meta, df


def _fields_of(df):
    return df.attrs.get("trial_fields", FIELDS)


def default_keys(df):
    """graph, dataset, variant, frozen plus each other configuration key (not a seed) that varies (the
    rule of `dcn report`, so that groups match its rows)."""
    config = [f["name"] for f in _fields_of(df) if f["config"] and f["name"] not in PAPER_KEYS]
    return PAPER_KEYS + [k for k in config if k in df and df[k].nunique() > 1]


def parse_keys(text, df):
    if not text:
        return default_keys(df)
    keys = [k for k in text.split(",") if k]
    names = [f["name"] for f in _fields_of(df)]
    bad = [k for k in keys if k not in names]
    if bad:
        raise ResultsError(f"unknown group key(s) {bad}; keys: {', '.join(names)}")
    return keys


def wrap_spec(text, width=14):
    """Breaks a long generator spec ("ws:n=32,k=4,p=0.75,seed=1") after commas for axis labels."""
    lines, cur = [], ""
    for part in str(text).split(","):
        piece = part if not cur else "," + part
        if cur and len(cur) + len(piece) > width:
            lines.append(cur + ",")
            cur = part
        else:
            cur += piece
    return "\n".join(lines + [cur])


def group_label(row, keys, drop=(), wrap=False):
    """Human label of a group: its key values, e.g. "ws:n=8,..., mnist, frozen, lr=0.003"; with wrap, one
    line per key and long graph specs broken (for axis tick labels)."""
    parts = []
    for k in keys:
        if k in drop:
            continue
        v = row[k]
        if k == "graph":
            parts.append((wrap_spec(short_graph(v)).replace(" (", "\n(")) if wrap else short_graph(v))
        elif k == "frozen":
            if row["variant"] != "baseline":
                parts.append("frozen" if v else "trainable")
        elif k == "variant":
            if v != "paper" and row["graph"] != "none":
                parts.append(str(v))
        else:
            parts.append(f"{k}={v:g}" if isinstance(v, float) else (str(v) if k == "dataset" else f"{k}={v}"))
    return ("\n" if wrap else ", ").join(parts)


def done(df):
    return df[(df["status"] == "done") & np.isfinite(df["acc"])]


def curves(path, ids):
    """Per-epoch metrics of the given trials: {id: DataFrame(epoch, test_accuracy %, test_loss, ...)}."""
    out = {}
    with h5py.File(path, "r") as f:
        for i in ids:
            g = f.get(f"trials/{i}/metrics")
            if g is None:
                continue
            # /metrics/steps is the within-epoch table (step_curves)
            d = {k: g[k][:] for k in g.keys() if k != "steps"}
            frame = pd.DataFrame(d)
            for k in ("test_accuracy", "train_accuracy"):
                if k in frame:
                    frame[k] = 100 * frame[k]
            out[i] = frame
    return out


def step_curves(path, ids):
    """The learning curve within epochs (/metrics/steps) of the given trials: {id: DataFrame(step, images,
    epoch, train_loss, train_accuracy %, lr, epochs)}, where epochs = images / images per epoch (a
    fraction: 0.5 is half-way through the first epoch). Trials written before dcn kept it are left out."""
    out = {}
    with h5py.File(path, "r") as f:
        for i in ids:
            ds = f.get(f"trials/{i}/metrics/steps")
            if ds is None or not ds.dtype.names:
                continue
            frame = pd.DataFrame({k: ds[k] for k in ds.dtype.names})
            per_epoch = float(ds.attrs.get("images_per_epoch", 0)) or float("nan")
            frame["train_accuracy"] = 100 * frame["train_accuracy"]
            frame["epochs"] = frame["images"] / per_epoch
            out[i] = frame
    return out


def dag_measures(path, ids):
    """Measures of each trial's DAG from /trials/<id>/dag: nodes, edges, inputs, outputs, longest path
    (in edges; positions are a topological order since every edge goes from a lower position to a
    higher one), edge density. {id: dict}; trials without a DAG (baseline) are absent."""
    out = {}
    with h5py.File(path, "r") as f:
        for i in ids:
            g = f.get(f"trials/{i}/dag")
            if g is None or "edges" not in g:
                continue
            e = np.asarray(g["edges"][:]).reshape(-1, 2)
            n = len(g["vertex"][:]) if "vertex" in g else int(e.max() + 1 if len(e) else 0)
            depth = np.zeros(n, dtype=int)
            for s, t in e[np.argsort(e[:, 0], kind="stable")]:
                depth[t] = max(depth[t], depth[s] + 1)
            out[i] = {
                "dag_nodes": n,
                "dag_edges": len(e),
                "dag_inputs": len(g["inputs"][:]) if "inputs" in g else np.nan,
                "dag_outputs": len(g["outputs"][:]) if "outputs" in g else np.nan,
                "dag_longest_path": int(depth.max()) if n else 0,
                "dag_density": len(e) / (n * (n - 1) / 2) if n > 1 else np.nan,
            }
    return out


def find_dcn(explicit=None):
    for c in (explicit, os.environ.get("DCN_BIN"), shutil.which("dcn")):
        if c and os.access(c, os.X_OK):
            return c
    return None


def graph_stats(dcn, graphs, timeout=300):
    """`dcn graph stats GRAPH --json` for each graph (None when dcn or its graph command is missing or
    a graph fails): {graph: dict of numeric measures}. Small-world references are skipped (--nrand 0)
    because they cost seconds per graph and are not in the paper's Table 1."""
    if not dcn:
        return None
    try:
        r = subprocess.run([dcn, "graph", "stats", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    out = {}
    for g in graphs:
        if g == "none":
            continue
        try:
            r = subprocess.run([dcn, "graph", "stats", g, "--json", "--nrand", "0"], capture_output=True,
                               text=True, timeout=timeout)
            d = json.loads(r.stdout) if r.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, ValueError):
            d = None
        if d is None:
            continue
        m = {k: float(v) for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
             and k not in ("seconds", "louvain_seed", "small_world_nrand", "path_sources")}
        # the paper's names for what dcn reports under networkx's names
        for src, dst in (("number_of_nodes", "nodes"), ("number_of_edges", "edges"),
                         ("number_connected_components", "connected_components"),
                         ("modularity_greedy", "modularity")):
            if src in m and dst not in m:
                m[dst] = m[src]
        out[g] = m
    return out


# ---------------------------------------------------------------- graph topology of each trial
# /summary gained these columns with the graph families (ws, er, ba, gnm, rewire, ...); older files
# lack them, so topology_frame derives what the graph spec string holds and says what it could not.

FAMILIES = ["ws", "er", "ba", "gnm", "rewire", "celegans", "mouse", "file", "none"]
FAMILY_PARAMS = {"ws": ["n", "k", "p"], "er": ["n", "p"], "ba": ["n", "m"], "gnm": ["n", "m"],
                 "rewire": ["swaps_per_edge"]}
SPEC_COLUMNS = {"graph_family": "family", "base_graph": "base", "graph_n": "n", "graph_m": "m", "graph_k": "k",
                "graph_p": "p", "graph_seed": "seed", "swaps_per_edge": "swaps_per_edge"}
GRAPH_MEASURES = ["nodes", "edges", "clustering", "path_length", "modularity", "small_world_sigma",
                  "spectral_radius", "algebraic_connectivity"]
DAG_MEASURES = ["dag_inputs", "dag_outputs", "dag_longest_path"]
GENERATORS = ("ws", "er", "ba", "gnm")
REWIRE_PARAM_KEYS = ("n", "k", "p", "m")  # belong to a generated base graph, never to the rewiring


def _num(text):
    try:
        v = float(text)
    except ValueError:
        return text
    return int(v) if v.is_integer() and "." not in text and "e" not in text.lower() else v


def _kv(items):
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        out[k.strip()] = _num(v.strip())
    return out


def _rewire_parts(rest):
    """'mouse,swaps_per_edge=10,seed=2' -> ('mouse', {...}): the rewiring's own key=value items are
    peeled from the right (one of each key), so that a generated base keeps its own seed."""
    items = rest.split(",")
    own = {}
    while len(items) > 1 and "=" in items[-1]:
        k = items[-1].partition("=")[0].strip()
        if k in own or k in REWIRE_PARAM_KEYS:
            break
        own.update(_kv([items.pop()]))
    return ",".join(items), own


def parse_graph_spec(spec):
    """Family, base graph, parameters and seed of a graph spec, and its group: the spec without the
    graph seed (the trials of one graph configuration over its seeds). Keys: family, base, n, m, k, p,
    seed, swaps_per_edge (None when the spec has no such part), group."""
    s = str(spec).strip()
    out = dict(family="file", base=None, n=None, m=None, k=None, p=None, seed=None, swaps_per_edge=None, group=s)
    head, colon, rest = s.partition(":")
    if s.lower() in ("none", "celegans", "mouse"):
        out["family"] = s.lower()
    elif colon and head in GENERATORS:
        items = [x for x in rest.split(",") if x]
        params = _kv(items)
        out.update(family=head, **{k: params.get(k) for k in ("n", "m", "k", "p", "seed")})
        out["group"] = head + ":" + ",".join(x for x in items if x.partition("=")[0].strip() != "seed")
    elif colon and head == "rewire":
        base, own = _rewire_parts(rest)
        out.update(family="rewire", base=base, seed=own.get("seed"), swaps_per_edge=own.get("swaps_per_edge"))
        kept = [f"{k}={v}" for k, v in own.items() if k != "seed"]
        out["group"] = "rewire:" + ",".join([base] + kept[::-1])
    return out


def _missing(v):
    if v is None:
        return True
    if isinstance(v, (bytes, str)):
        return v in ("", b"")
    try:
        return not np.isfinite(v) or v == -1
    except TypeError:
        return False


def _spec_columns(df, parsed, info):
    for col, key in SPEC_COLUMNS.items():
        derived = [p[key] for p in parsed]
        if col in df:
            have = list(df[col])
            df[col] = [d if _missing(h) else h for h, d in zip(have, derived)]
            info["from_file"].append(col)
        else:
            df[col] = derived
            info["from_graph_spec"].append(col)
        if col not in ("graph_family", "base_graph"):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["graph_group"] = [p["group"] for p in parsed]


def _measure_columns(df, path, info):
    for col in GRAPH_MEASURES:
        if col in df:
            df[col] = df[col].astype(float).where(df[col].astype(float) != -1)
            info["from_file"].append(col)
        else:
            df[col] = np.nan
            info["unavailable"].append(col)
    missing = [c for c in DAG_MEASURES if c not in df]
    for col in DAG_MEASURES:
        if col in df:
            df[col] = df[col].astype(float).where(df[col].astype(float) >= 0)
            info["from_file"].append(col)
    if missing:
        dag = dag_measures(path, list(df["id"])) if path else {}
        for col in missing:
            df[col] = [float(dag[i][col]) if i in dag else np.nan for i in df["id"]]
            (info["from_trials_dag"] if dag else info["unavailable"]).append(col)


def topology_frame(df, path=None):
    """Adds to a /summary DataFrame (from load) the topology columns, whether or not the file has them:
    graph_family, base_graph, graph_n/m/k/p, graph_seed, swaps_per_edge (from the file, any missing
    value filled from the graph spec string; numeric, NaN when absent), graph_group (the spec without
    its graph seed), the graph measures (NaN when the file has none) and the DAG measures (from
    /trials/<id>/dag of `path` when the file has no columns for them). Returns (df, info): info lists
    the columns taken from_file, from_graph_spec, from_trials_dag and unavailable."""
    df = df.copy()
    info = {"from_file": [], "from_graph_spec": [], "from_trials_dag": [], "unavailable": []}
    _spec_columns(df, [parse_graph_spec(g) for g in df["graph"]], info)
    _measure_columns(df, path, info)
    return df, info
