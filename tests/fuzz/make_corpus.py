#!/usr/bin/python3
"""Writes the binary seed corpora of the fuzz targets (tests/fuzz/run.sh calls it when they are missing):
  corpus/idx/       tiny IDX files (plain and gzip, valid and near-valid) and "DSET" datasets
  corpus/trial_h5/  'R' + tiny HDF5 files written with h5py: a finished trial file of the fuzz target's
                    small model (fuzz_entry.h: 3 nodes, 1 channel, 8x8 inputs, 2 classes), an unfinished
                    one, one of a newer format, a results file with a /summary table, a results file of a
                    newer format, an HDF5 file that is neither; plus a few byte strings for the target's
                    builder mode (any first byte but 'R').
Usage: make_corpus.py [CORPUS_DIR]   (default: tests/fuzz/corpus next to this script)"""
import gzip
import io
import os
import struct
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")

# the small model's tensors (names and shapes as the model writes them)
WEIGHTS = {"stem.conv.w": (1, 1, 3, 3), "stem.bn.gamma": (1,), "stem.bn.beta": (1,)}
for i in range(3):
    if i == 2:
        WEIGHTS["node.2.agg"] = (2,)
    WEIGHTS.update({f"node.{i}.dw": (1, 1, 3, 3), f"node.{i}.pw": (1, 1, 1, 1), f"node.{i}.bn.gamma": (1,),
                    f"node.{i}.bn.beta": (1,)})
WEIGHTS.update({"fc.w": (2, 16), "fc.b": (2,)})
BUFFERS = {f"{p}.bn.{s}": (1,) for p in ["stem", "node.0", "node.1", "node.2"] for s in ["running_mean", "running_var"]}


def save(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    assert len(data) < 4096 or target == "trial_h5", (name, len(data))
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx(arr):
    arr = np.asarray(arr, dtype=np.uint8)
    return bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.tobytes()


def h5bytes(fill):
    """An HDF5 file built by fill(h5py.File) in the earliest format (what dcn writes), as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "f.h5")
        with h5py.File(p, "w", libver="earliest") as f:
            fill(f)
        with open(p, "rb") as f:
            return f.read()


def trial(f, status="done", version=1, weights=True):
    a = f.attrs
    a["format_version"] = np.int64(version)
    for k, v in {"dcn_version": "0.1.0", "graph": "ws:n=3,k=2,p=0,seed=0", "dataset": "mnist",
                 "variant": "paper", "order": "identity", "status": status}.items():
        a[k] = v
    for k, v in {"channels": 1, "order_seed": 0, "batch": 1}.items():
        a[k] = np.int64(v)
    a["data_mean"] = 0.13
    a["data_std"] = 0.31
    f.create_dataset("metrics/test_accuracy", data=np.array([0.5]))
    if weights:
        for name, shape in WEIGHTS.items():
            f.create_dataset("weights/" + name, data=np.full(shape, 0.5, dtype=np.float32))
        for name, shape in BUFFERS.items():
            f.create_dataset("buffers/" + name, data=np.ones(shape, dtype=np.float32))


def results(f, version=1):
    f.attrs["format_version"] = np.int64(version)
    f.attrs["dcn_version"] = "0.1.0"
    f.attrs["updated"] = "2024-01-01T00:00:00"
    dt = np.dtype([("index", "<i4"), ("id", "S24"), ("graph", "S64"), ("dataset", "S16"), ("variant", "S16"),
                   ("frozen", "<i4"), ("seed", "<u8"), ("order", "S16"), ("lr", "<f8"), ("status", "S16"),
                   ("test_accuracy", "<f8"), ("best_test_accuracy", "<f8"), ("epochs_done", "<i4"),
                   ("reason", "S32")])
    rows = np.zeros(3, dtype=dt)
    rows["index"] = [0, 1, 2]
    rows["id"] = [b"t0000000000000001", b"t0000000000000002", b"t0000000000000003"]
    rows["graph"] = b"ws:n=32,k=4,p=0.75,seed=1"
    rows["dataset"] = b"mnist"
    rows["variant"] = [b"paper", b"paper", b"baseline"]
    rows["seed"] = [0, 1, 0]
    rows["order"] = b"random"
    rows["lr"] = 0.001
    rows["status"] = [b"done", b"failed", b"running"]
    rows["test_accuracy"] = [0.9, np.nan, np.nan]
    rows["best_test_accuracy"] = [0.91, np.nan, np.nan]
    f.create_dataset("summary", data=rows)


def main():
    # ---- IDX ----
    imgs = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    labels = np.array([0, 1])
    save("idx", "images.idx", idx(imgs))
    save("idx", "labels.idx", idx(labels))
    save("idx", "images.idx.gz", gzip.compress(idx(imgs), mtime=0))
    save("idx", "truncated.gz", gzip.compress(idx(imgs), mtime=0)[:-12])
    save("idx", "bad_magic.idx", b"\x01\x02\x08\x01" + idx(labels)[4:])
    save("idx", "float_type.idx", b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00")
    save("idx", "trailing.idx", idx(labels) + b"\x00")
    save("idx", "4d.idx", idx(np.zeros((1, 2, 2, 2))))
    sep = b"\n--SPLIT--\n"
    save("idx", "dataset", b"DSET" + sep.join([idx(imgs), idx(labels), idx(imgs[:1]), idx(labels[:1])]))
    save("idx", "dataset_gz", b"DSET" + sep.join([b"Z" + gzip.compress(idx(imgs), mtime=0), idx(labels),
                                                  idx(imgs), idx(np.array([1, 0]))]))
    save("idx", "dataset_mismatch", b"DSET" + sep.join([idx(imgs), idx(np.array([0, 1, 2])), idx(imgs),
                                                        idx(np.array([5, 0]))]))
    save("idx", "dataset_missing", b"DSET" + sep.join([idx(imgs), idx(labels)]))

    # ---- HDF5 (raw mode: 'R' + file bytes) ----
    save("trial_h5", "trial_done.h5", b"R" + h5bytes(trial))
    save("trial_h5", "trial_running.h5", b"R" + h5bytes(lambda f: trial(f, status="running", weights=False)))
    save("trial_h5", "trial_v2.h5", b"R" + h5bytes(lambda f: trial(f, version=2, weights=False)))
    save("trial_h5", "results.h5", b"R" + h5bytes(results))
    save("trial_h5", "results_v99.h5", b"R" + h5bytes(lambda f: results(f, version=99)))
    save("trial_h5", "other.h5", b"R" + h5bytes(lambda f: f.create_dataset("x", data=np.arange(3))))
    # ---- builder mode: byte programs (see fuzz_build_h5) ----
    save("trial_h5", "build_attrs", bytes([0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 1, 4, 0, 5, 5, 100, 111, 110, 101, 33]))
    save("trial_h5", "build_tensor", bytes([0, 2, 0, 0, 0, 1, 3, 2, 1, 5, 0, 1, 1, 1, 2, 2, 2, 3, 3]))
    save("trial_h5", "build_summary", bytes([0, 4, 0, 0, 0] + [0] * 22 + [0, 3] + list(range(1, 200))))
    save("trial_h5", "build_links", bytes([0, 6, 0, 2, 7, 1, 3, 6, 3, 4, 5, 0, 0, 0, 1, 4, 2, 1, 2, 3]))
    sizes = {n: os.path.getsize(os.path.join(OUT, "trial_h5", n)) for n in os.listdir(os.path.join(OUT, "trial_h5"))}
    print("corpus written to", OUT, "; trial_h5 sizes:", sizes)


if __name__ == "__main__":
    main()
