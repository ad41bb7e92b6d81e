#!/usr/bin/python3
"""The catalogue of bad inputs: one entry per bad graph, dataset, sweep file, command line or results
file, each with the command, the input (generated in a temporary folder), the expected exit status
(2 for usage errors, 1 for runtime errors) and substrings the message must contain (the file, line or
option, and the problem). Every run must also stay sane: no sanitizer report, no signal, bounded time.

    tests/py/test_bad_inputs.py               run the checks (ctest: py_test_bad_inputs)
    tests/py/test_bad_inputs.py --markdown    also print the catalogue as a Markdown table
                                              (tests/BAD_INPUTS.md), with the messages dcn printed

Environment: DCN_BIN (the dcn executable), DCN_SOURCE_DIR, DCN_DATA_DIR. The results-file entries need
MNIST in the data folder ($DCN_DATA_DIR, else <source>/data/cache; tests/run.sh fetches it with
`dcn data fetch mnist`): without it the test fails, naming the folder."""
import gzip
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from sweep_files import trial_file, trial_files

DCN = os.environ.get("DCN_BIN", "build/dcn")
SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
failures = []
rows = []  # (category, input, command, status, message) for --markdown


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)


def write(path, data, mode="w"):
    with open(path, mode) as f:
        f.write(data)
    return path


def idx(arr):
    arr = np.asarray(arr, dtype=np.uint8)
    return bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.tobytes()


def dataset_dir(tmp, name, labels_train=None, gz_truncate=False, bad_magic=False):
    """A four-file IDX dataset folder (8 train / 4 test images of 28x28), optionally damaged."""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte": idx(rng.integers(0, 256, (8, 28, 28))),
             "train-labels-idx1-ubyte": idx(labels_train if labels_train is not None else np.arange(8) % 2),
             "t10k-images-idx3-ubyte": idx(rng.integers(0, 256, (4, 28, 28))),
             "t10k-labels-idx1-ubyte": idx(np.arange(4) % 2)}
    if bad_magic:
        files["train-images-idx3-ubyte"] = b"\x1f\x00\x08\x03" + files["train-images-idx3-ubyte"][4:]
    for base, data in files.items():
        if gz_truncate and base == "train-images-idx3-ubyte":
            write(os.path.join(d, base + ".gz"), gzip.compress(data, mtime=0)[:200], "wb")
        else:
            write(os.path.join(d, base), data, "wb")
    return d


def run(cmd, timeout=120, env=None):
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env or ENV, capture_output=True, text=True, errors="replace", timeout=timeout)
    return r, time.monotonic() - t0


def entry(category, what, cmd, status, needles, env=None, max_seconds=60, display=None):
    """Runs cmd and checks its exit status, that stderr names every needle, and that it stayed sane."""
    r, secs = run(cmd, env=env)
    err = r.stderr.strip()
    shown = display or " ".join(os.path.basename(c) if os.path.isabs(c) and c != DCN else c
                                for c in ["dcn"] + cmd[1:])
    label = f"{category}: {what}"
    check(r.returncode == status, f"{label}: exit status {r.returncode}, expected {status} ({shown}): {err[-400:]}")
    for n in needles:
        check(n in err, f"{label}: message lacks '{n}': {err[-400:]}")
    check("Sanitizer" not in err and "Segmentation" not in err and "Aborted" not in err and r.returncode >= 0,
          f"{label}: crashed: {err[-600:]}")
    check(secs < max_seconds, f"{label}: took {secs:.1f} s (limit {max_seconds})")
    line = next((l for l in err.splitlines() if l.startswith("dcn")), err.splitlines()[0] if err else "")
    rows.append((category, what, shown, r.returncode, line))
    print(f"ok {r.returncode == status and all(n in err for n in needles)}: {label}: {line[:160]}", flush=True)
    return r


def graphs(tmp):
    def g(name, text, mode="w"):
        return write(os.path.join(tmp, name), text, mode)

    p = g("malformed.graphml", '<graphml><graph><node id="a"></graph></graphml>\n')
    entry("graph", "malformed XML (mismatched tag)", [DCN, "graph", "stats", p], 1,
          ["malformed.graphml:1", "malformed XML"])
    p = g("laughs.graphml", '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
          + "".join(f' <!ENTITY lol{i} "{"&lol%s;" % (i - 1 if i > 1 else "") * 10}">\n' for i in range(1, 10))
          + ']>\n<graphml><graph><node id="&lol9;"/></graph></graphml>\n')
    entry("graph", "GraphML with entity declarations (billion laughs)", [DCN, "graph", "stats", p], 1,
          ["laughs.graphml:3", "entity declarations are not accepted"], max_seconds=10)
    p = g("unknown_node.graphml", '<graphml><graph>\n<node id="a"/><node id="b"/>\n'
          '<edge source="a" target="zz"/>\n</graph></graphml>\n')
    entry("graph", "GraphML edge naming an unknown node", [DCN, "graph", "stats", p], 1,
          ["unknown_node.graphml:3", "unknown node 'zz'"])
    # 10^7 edges (310 MB), written in large chunks
    p = os.path.join(tmp, "huge.graphml")
    with open(p, "w") as f:
        f.write('<graphml><graph edgedefault="undirected"><node id="a"/><node id="b"/>\n')
        chunk = '<edge source="a" target="b"/>\n' * 100000
        for _ in range(100):
            f.write(chunk)
        f.write("</graph></graphml>\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    entry("graph", "GraphML with 10^7 edges (310 MB)", [DCN, "graph", "stats", p], 1,
          ["huge.graphml", "exceed the GraphML limit", "edge list"], max_seconds=30)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    check(peak < 1.5 * 2**20 or peak == before, f"GraphML of 10^7 edges: peak RSS {peak / 1024:.0f} MiB")
    os.remove(p)
    p = g("latin1.graphml", b'<?xml version="1.0" encoding="UTF-8"?>\n<graphml><graph><node id="caf\xe9"/>'
          b'</graph></graphml>\n', "wb")
    entry("graph", "GraphML with non-UTF-8 node names", [DCN, "graph", "stats", p], 1,
          ["latin1.graphml:2", "not proper UTF-8"])
    p = g("shift_jis.graphml", b'<?xml version="1.0" encoding="Shift_JIS"?>\n<graphml><graph><node id="a\x94\x31'
          b'\xff\xfe"/></graph></graphml>\n', "wb")
    entry("graph", "GraphML whose bytes do not match its declared encoding", [DCN, "graph", "stats", p], 1,
          ["shift_jis.graphml:", "input conversion failed"])
    # the same names in GML are accepted, and the GraphML export stays valid UTF-8 (U+FFFD)
    p = g("latin1.gml", b'graph [ node [ id 0 label "caf\xe9" ] node [ id 1 label "b" ] '
          b'edge [ source 0 target 1 ] ]\n', "wb")
    out = os.path.join(tmp, "latin1-dag.graphml")
    r, _ = run([DCN, "graph", "dag", p, "--out", out])
    check(r.returncode == 0, f"GML with non-UTF-8 labels loads and exports: {r.stderr[-300:]}")
    entry("graph", "GraphML exported from a GML with non-UTF-8 labels (reads back)", [DCN, "graph", "stats", out],
          0, [], display="dcn graph stats latin1-dag.graphml")
    p = g("unterminated.gml", "graph [\n  node [ id 0 ]\n  node [ id 1\n")
    entry("graph", "GML with an unterminated list", [DCN, "graph", "stats", p], 1,
          ["unterminated.gml:", "unterminated list", "never closed"])
    p = g("empty.graphml", "<graphml><graph/></graphml>\n")
    entry("graph", "0-node GraphML", [DCN, "graph", "stats", p], 1, ["empty.graphml", "no nodes"])
    p = g("empty.gml", "graph [ ]\n")
    entry("graph", "0-node GML", [DCN, "graph", "stats", p], 1, ["empty.gml", "no nodes"])
    p = g("empty.el", "# nothing\n")
    entry("graph", "0-node edge list", [DCN, "graph", "stats", p], 1, ["empty.el", "no nodes"])
    p = g("negative.el", "0 1\n1 -2\n")
    entry("graph", "edge list with a negative id", [DCN, "graph", "stats", p], 1,
          ["negative.el:2", "negative node id -2"])
    p = g("sparse.el", "0 1\n0 99999999\n")
    entry("graph", "edge list with a huge id (10^8 vertices from 20 bytes)", [DCN, "graph", "stats", p], 1,
          ["sparse.el:2", "node id 99999999 is over the limit of 10000000 vertices"], max_seconds=10)
    p = g("huge_header.txt", "100000000\n0\n")
    entry("graph", "RandWire .txt declaring 10^8 nodes", [DCN, "graph", "stats", p], 1,
          ["huge_header.txt:1", "100000000 nodes exceed the limit 10000000"], max_seconds=10)
    p = g("short.txt", "4\n3\n0 1\n1 2\n")
    entry("graph", "RandWire .txt with fewer edges than declared", [DCN, "graph", "stats", p], 1,
          ["short.txt", "2 edges, but line 2 declares 3"])
    entry("graph", "missing graph file", [DCN, "graph", "stats", os.path.join(tmp, "nothere.graphml")], 1,
          ["nothere.graphml", "cannot open"])
    entry("graph", "unknown generator key", [DCN, "graph", "stats", "ws:n=32,q=1"], 1,
          ["ws:n=32,q=1", "unknown key 'q'"])


def datasets(tmp):
    d = dataset_dir(tmp, "truncgz", gz_truncate=True)
    entry("dataset", "truncated .gz IDX file", [DCN, "data", "info", d], 1,
          ["train-images-idx3-ubyte.gz", "truncated"])
    d = dataset_dir(tmp, "badmagic", bad_magic=True)
    entry("dataset", "IDX file with a bad magic number", [DCN, "data", "info", d], 1,
          ["train-images-idx3-ubyte", "bad magic"])
    d = dataset_dir(tmp, "mismatch", labels_train=np.arange(7) % 2)
    entry("dataset", "label count differs from image count", [DCN, "data", "info", d], 1,
          ["train-labels-idx1-ubyte", "7 labels", "8 images"])
    entry("dataset", "missing dataset folder", [DCN, "data", "info", os.path.join(tmp, "nodata")], 1,
          ["nodata", "no such folder"])
    empty = os.path.join(tmp, "empty-data-dir")
    os.makedirs(empty)
    entry("dataset", "--dataset kmnist without its files",
          [DCN, "train", "--dataset", "kmnist", "--data-dir", empty, "--epochs", "1", "--quiet"], 1,
          ["kmnist", "not found", "codh.rois.ac.jp"], display="dcn train --dataset kmnist --data-dir EMPTY ...")


SWEEP_OK = """output: {out}/results.h5
graphs: ["ws:n=4,k=2,p=0,seed=0"]
epochs: 1
channels: 1
batch: 8
train_limit: 16
test_limit: 16
"""


def sweeps(tmp):
    p = write(os.path.join(tmp, "unknown_key.yaml"), "output: r/results.h5\ngraphs: [celegans]\nepoch: 3\n")
    entry("sweep", "unknown key", [DCN, "sweep", p, "--dry-run"], 1, ["unknown_key.yaml:3", "unknown key 'epoch'"])
    p = write(os.path.join(tmp, "bad_value.yaml"), "output: r/results.h5\nseeds: [0, 1]\nlr: -0.1\n")
    entry("sweep", "bad value", [DCN, "sweep", p, "--dry-run"], 1, ["bad_value.yaml:3", "lr: '-0.1'"])
    p = write(os.path.join(tmp, "bad_range.yaml"), "output: r/results.h5\nseeds: 9..2\n")
    entry("sweep", "bad range", [DCN, "sweep", p, "--dry-run"], 1, ["bad_range.yaml:2", "bad range '9..2'"])
    p = write(os.path.join(tmp, "syntax.yaml"), "output: r/results.h5\ngraphs: [celegans, mouse\nseeds: 0\n")
    entry("sweep", "YAML syntax error", [DCN, "sweep", p, "--dry-run"], 1, ["syntax.yaml:", "YAML error"])
    p = write(os.path.join(tmp, "no_output.yaml"), "graphs: [celegans]\n")
    entry("sweep", "missing 'output'", [DCN, "sweep", p, "--dry-run"], 1, ["no_output.yaml", "'output'"])
    entry("sweep", "missing sweep file", [DCN, "sweep", os.path.join(tmp, "nothere.yaml"), "--dry-run"], 1,
          ["nothere.yaml", "cannot open"])
    # a glob takes only regular files with a graph extension: a folder (even one named like a graph file)
    # and a file of another extension are named, the graph file is not; each used to become a trial
    d = os.path.join(tmp, "globbed")
    os.makedirs(os.path.join(d, "dir.gml"))
    write(os.path.join(d, "a.txt"), "0 1\n1 2\n")
    write(os.path.join(d, "notes.md"), "not a graph\n")
    p = write(os.path.join(tmp, "glob.yaml"), f'output: r/results.h5\ngraphs:\n  - celegans\n  - "{d}/*"\n')
    r = entry("sweep", "glob matching a folder and a non-graph file", [DCN, "sweep", p, "--dry-run"], 1,
              ["glob.yaml:4", f"'{d}/*'", "2 of the 3 matches", "dir.gml (a folder)", "notes.md (no graph extension)",
               ".graphml .xml .gml .txt"])
    check("a.txt" not in r.stderr, f"glob: the graph file a.txt is not named as bad: {r.stderr[-300:]}")
    # swaps_per_edge is bounded like n and m: 10^6 on mouse used to take 28 s in --dry-run alone
    p = write(os.path.join(tmp, "swaps.yaml"), "output: r/results.h5\ngraphs:\n"
              "  - {family: rewire, graph: mouse, swaps_per_edge: 1000000, seed: 0}\n")
    entry("sweep", "swaps_per_edge over its bound", [DCN, "sweep", p, "--dry-run"], 1,
          ["swaps.yaml:3", "'swaps_per_edge' needs a number in 0..1000, got '1000000'"], max_seconds=5)
    p = write(os.path.join(tmp, "devnull.yaml"), SWEEP_OK.format(out="/dev/null/x"))
    entry("sweep", "output folder that cannot be created (/dev/null/x/results.h5)", [DCN, "sweep", p], 1,
          ["/dev/null/x", "cannot create the folder"])


def command_lines(tmp):
    entry("command line", "unknown option", [DCN, "graph", "stats", "celegans", "--frob"], 2, ["--frob", "unknown option"])
    entry("command line", "bad number", [DCN, "train", "--epochs", "x"], 2, ["--epochs", "'x' is not a positive integer"])
    entry("command line", "zero epochs", [DCN, "train", "--epochs", "0"], 2, ["--epochs", "'0' is not a positive integer"])
    entry("command line", "bad number (float option)", [DCN, "train", "--lr", "1e999"], 2,
          ["--lr", "'1e999' is not a positive number"])
    entry("command line", "unknown subcommand", [DCN, "frob"], 2, ["unknown command 'frob'"])
    entry("command line", "missing option value", [DCN, "train", "--graph"], 2, ["--graph", "needs a value"])
    entry("command line", "missing argument", [DCN, "eval"], 2, ["need a trial file"])
    entry("command line", "missing argument", [DCN, "report"], 2, ["dcn report"])
    entry("command line", "unknown --order", [DCN, "train", "--order", "sideways"], 2, ["sideways"])


def results_files(tmp):
    entry("results file", "dcn report on a missing file", [DCN, "report", os.path.join(tmp, "nothere.h5")], 1,
          ["nothere.h5", "cannot open the results file"])
    p = write(os.path.join(tmp, "text.h5"), "not HDF5\n")
    entry("results file", "dcn report on a non-HDF5 file", [DCN, "report", p], 1, ["text.h5", "not an HDF5 file"])
    p = os.path.join(tmp, "other.h5")
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    entry("results file", "dcn report on an HDF5 file that is not a results file", [DCN, "report", p], 1,
          ["other.h5", "not a dcn results file"])
    p = os.path.join(tmp, "list_version.h5")
    with h5py.File(p, "w") as f:
        f.attrs["format_version"] = np.array([1, 2, 3])
        f["summary"] = np.zeros(1, dtype=[("id", "S4")])
    entry("results file", "dcn report: format_version is a list (fuzz finding)", [DCN, "report", p], 1,
          ["list_version.h5", "unreadable format_version"])

    # a real results file and trial file from a one-trial sweep: it needs MNIST, which the README's test
    # command (tests/run.sh) fetches, so its absence is a failure of this test, not a skip
    data_dir = os.environ.get("DCN_DATA_DIR") or os.path.join(SRC, "data", "cache")
    r, _ = run([DCN, "data", "info", "mnist", "--train-limit", "16", "--test-limit", "16"])
    if r.returncode != 0:
        msg = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit status {r.returncode}"
        check(False, f"the 11 results-file entries need MNIST in the data folder {data_dir} "
                     f"($DCN_DATA_DIR, else <source>/data/cache): run `dcn data fetch mnist` "
                     f"(tests/run.sh does); dcn said: {msg}")
        return
    out = os.path.join(tmp, "tiny")
    yml = write(os.path.join(tmp, "tiny.yaml"), SWEEP_OK.format(out=out))
    r, secs = run([DCN, "sweep", yml], timeout=300)
    res = os.path.join(out, "results.h5")
    tdir = os.path.join(out, "trials")
    trials = trial_files(tdir)
    status = ""
    if trials:
        with h5py.File(trials[0], "r") as f:
            status = f.attrs.get("status", b"")
            status = status.decode() if isinstance(status, bytes) else str(status)
    if r.returncode != 0 or not os.path.exists(res) or status != "done":
        check(False, f"tiny sweep for the 11 results-file entries: exit status {r.returncode}, trial files "
                     f"{[os.path.basename(t) for t in trials]}, status '{status}' (need one done trial; "
                     f"data folder {data_dir}): {r.stderr[-600:]}")
        return
    trial = trials[0]

    def copy_with(src, name, **attrs):
        dst = os.path.join(tmp, name)
        shutil.copy(src, dst)
        with h5py.File(dst, "r+") as f:
            for k, v in attrs.items():
                if k in f.attrs:
                    del f.attrs[k]
                f.attrs[k] = v
        return dst

    p = os.path.join(tmp, "results_truncated.h5")
    with open(res, "rb") as f, open(p, "wb") as g:
        g.write(f.read()[:4096])
    entry("results file", "truncated results file", [DCN, "report", p], 1,
          ["results_truncated.h5", "damaged or truncated"])
    p = copy_with(res, "results_v2.h5", format_version=np.int64(2))
    entry("results file", "results file of a newer format_version", [DCN, "report", p], 1,
          ["results_v2.h5", "format_version 2 is newer"])
    entry("results file", "dcn report on a trial file", [DCN, "report", trial], 1,
          [os.path.basename(trial), "a dcn trial file, not a sweep's results file"],
          display="dcn report trials/AB/ID.h5")
    p = copy_with(trial, "trial_v2.h5", format_version=np.int64(2))
    entry("results file", "dcn eval on a trial file of a newer format_version",
          [DCN, "eval", p, "--dataset", "mnist", "--test-limit", "16"], 1,
          ["trial_v2.h5", "newer dcn", "format version 2"])
    p = copy_with(trial, "trial_running.h5", status="running")
    entry("results file", "dcn eval on an unfinished trial",
          [DCN, "eval", p, "--dataset", "mnist", "--test-limit", "16"], 1,
          ["trial_running.h5", "status is 'running'"])
    p = copy_with(trial, "trial_list_attr.h5", format_version=np.array([1, 1, 1], dtype=np.int64))
    entry("results file", "dcn eval: format_version is a list (fuzz finding)",
          [DCN, "eval", p, "--dataset", "mnist"], 1, ["trial_list_attr.h5", "holds 3 values"])
    p = copy_with(trial, "trial_channels0.h5", channels=np.int64(0))
    entry("results file", "dcn eval on a trial file recording 0 channels",
          [DCN, "eval", p, "--dataset", "mnist", "--test-limit", "16"], 1, ["trial_channels0.h5", "channels", "not a positive integer"])
    p = os.path.join(tmp, "summary_huge.h5")
    with h5py.File(p, "w") as f:
        f.attrs["format_version"] = np.int64(1)
        dt = np.dtype([("id", "S24"), ("graph", "S8"), ("dataset", "S8"), ("variant", "S8"), ("frozen", "<i4"),
                       ("seed", "<u8"), ("test_accuracy", "<f8"), ("best_test_accuracy", "<f8"), ("status", "S8")])
        f.create_dataset("summary", shape=(10**12,), dtype=dt, chunks=(1024,))  # no chunk is ever written
    entry("results file", "results file whose /summary declares 10^12 rows", [DCN, "report", p], 1,
          ["summary_huge.h5", "declares 1000000000000 rows"], max_seconds=10)
    p = os.path.join(tmp, "trial_no_weights.h5")
    shutil.copy(trial, p)
    with h5py.File(p, "r+") as f:
        del f["weights"]
    entry("results file", "dcn eval on a trial file without /weights",
          [DCN, "eval", p, "--dataset", "mnist", "--test-limit", "16"], 1, ["trial_no_weights.h5", "/weights"])


def markdown(tmp):
    print("| | input | command | exit | message |\n| --- | --- | --- | --- | --- |")
    for cat, what, cmd, rc, msg in rows:
        msg = re.sub(re.escape(tmp) + r"/[a-z_]+/", "", msg).replace("|", "\\|")
        print(f"| {cat} | {what} | `{cmd}` | {rc} | `{msg}` |")


def main():
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dcn-bad-inputs-") as tmp:
        for part in (graphs, datasets, sweeps, command_lines, results_files):
            d = os.path.join(tmp, part.__name__)
            os.makedirs(d)
            part(d)
        print(f"{len(rows)} entries in {time.monotonic() - t0:.1f} s")
        if "--markdown" in sys.argv:
            markdown(tmp)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all bad-input checks passed")


if __name__ == "__main__":
    main()
