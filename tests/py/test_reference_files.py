#!/usr/bin/python3
"""The committed PyTorch reference files (tests/reference/*.h5, read by tests/test_nn.c and
tests/test_model.c) are what their generators write today: each generator runs again here, on copies
of the scripts in a temporary folder (gen_model_reference.py and gen_authors_reference.py write beside
themselves), with OpenBLAS set as when the committed files were written (OPENBLAS_CORETYPE=Haswell, and
OPENBLAS_NUM_THREADS=2, the default on the 2-core machine that wrote them: OpenBLAS splits the authors
head's large products between its threads, and with 1 thread 207 of authors_reference.h5's 358 float
datasets differ, by up to 6.3e-6 of their largest value), and every group, dataset (dtype, shape,
values) and attribute must match. About 8 s for the four files.

Tolerance: the generators are deterministic for a given torch build, OpenBLAS kernel set (their
docstrings) and OpenBLAS thread count, and regenerating here gives byte-identical files, so with the
torch version recorded in a file (its torch_version attribute) every value must be equal. With another
torch version, a value may move by rounding: each float dataset must then lie within the tolerance its
C test grants dcn against it, relative to the dataset's largest magnitude: 1e-5 for nn_reference.h5 (test_nn.c's
TOL_REF), 1e-4 for the model references (test_model.c's parameter tolerance after three Adam steps;
the authors variant's own is 1e-3); a file further off than that is stale and must be regenerated
and committed. Integer datasets and attributes other than torch_version must be equal in any case.
A changed generator that was not rerun, or a reference edited by hand, fails here, while test_nn and
test_model keep passing against the stale file. Needs PyTorch (tests/run.sh installs it)."""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

SRC = os.environ.get("DCN_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
REF = os.path.join(SRC, "tests", "reference")
# (generator, its arguments, the file it writes, tolerance with another torch version)
CASES = [("gen_nn_reference.py", [], "nn_reference.h5", 1e-5),
         ("gen_model_reference.py", [], "model_reference.h5", 1e-4),
         ("gen_model_reference.py", ["--dense"], "model_reference_dense.h5", 1e-4),
         ("gen_authors_reference.py", [], "authors_reference.h5", 1e-4)]
failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def objects(f):
    """name -> ("group" | dtype string and shape) of every object below the root."""
    out = {}
    f.visititems(lambda k, v: out.__setitem__(k, "group" if isinstance(v, h5py.Group) else (v.dtype.str, v.shape)))
    return out


def attrs_of(obj):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in obj.attrs.items() if k != "torch_version"}


def differences(new, old, tol):
    """Differences between a regenerated file and the committed one: structure, attributes, values."""
    out = []
    with h5py.File(new, "r") as a, h5py.File(old, "r") as b:
        oa, ob = objects(a), objects(b)
        if oa != ob:
            only_new, only_old = sorted(set(oa) - set(ob)), sorted(set(ob) - set(oa))
            changed = sorted(k for k in set(oa) & set(ob) if oa[k] != ob[k])
            out.append(f"objects differ: new only {only_new[:4]}, committed only {only_old[:4]}, "
                       f"dtype or shape {changed[:4]}")
        same_torch = a.attrs.get("torch_version") == b.attrs.get("torch_version") == torch.__version__
        for name in ["/"] + sorted(k for k in oa if k in ob):
            if attrs_of(a[name]) != attrs_of(b[name]):
                out.append(f"{name}: attributes {attrs_of(a[name])} vs {attrs_of(b[name])}")
            if oa.get(name) in (None, "group") or oa[name] != ob[name]:
                continue
            x, y = a[name][()], b[name][()]
            if same_torch or x.dtype.kind in "iub":
                if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                    bad = np.argwhere(np.asarray(x != y)).tolist()[:3]
                    out.append(f"{name}: values differ (at {bad})")
            else:
                scale = max(float(np.max(np.abs(y))) if y.size else 0.0, 1e-30)
                worst = float(np.max(np.abs(x.astype(np.float64) - y))) if y.size else 0.0
                if not worst <= tol * scale:
                    out.append(f"{name}: max difference {worst:.3g} > {tol:g} x {scale:.3g}")
    return out, same_torch


with tempfile.TemporaryDirectory(prefix="dcn-reference-") as tmp:
    for f in os.listdir(REF):
        if f.endswith(".py"):
            shutil.copy(os.path.join(REF, f), tmp)
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", OPENBLAS_NUM_THREADS="2")
    for gen, args, out, tol in CASES:
        committed = os.path.join(REF, out)
        new = os.path.join(tmp, out)
        r = subprocess.run([sys.executable, os.path.join(tmp, gen)] + args, cwd=tmp, capture_output=True, text=True,
                           env=env, timeout=300)
        if not check(r.returncode == 0 and os.path.isfile(new), f"{gen} {' '.join(args)} wrote {out}: "
                     f"{(r.stdout + r.stderr)[-300:]}"):
            continue
        diffs, same_torch = differences(new, committed, tol)
        how = (f"equal (torch {torch.__version__}, as recorded)" if same_torch else
               f"within {tol:g} of each dataset's largest value (torch {torch.__version__}, the file records another)")
        check(not diffs, f"tests/reference/{out} regenerated by {gen} {' '.join(args)}: {how} {diffs[:4]}")

for f in failures:
    print("FAIL -", f, flush=True)
sys.exit(1 if failures else 0)
