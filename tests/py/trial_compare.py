"""Shared by the resume tests (test_sweep.py, test_train_cli.py): what differs between two trial files
of the same configuration, for the README's promise that a resumed trial is bit-identical to one run
uninterrupted. Not a test itself (ctest registers only test_*.py)."""
import h5py
import numpy as np

RESULT_ATTRS = ("status", "epochs_done", "test_accuracy", "test_loss", "best_test_accuracy", "best_epoch",
                "params_total", "params_trainable")


def trial_differences(path, ref_path):
    """What differs between two trial files: every /weights and /buffers array bit for bit, every
    /metrics array but the wall-clock seconds, and the final results."""
    diffs = []
    with h5py.File(path, "r") as f, h5py.File(ref_path, "r") as g:
        for group in ("weights", "buffers", "metrics"):
            mine = set(f[group].keys()) if group in f else set()
            ref = set(g[group].keys()) if group in g else set()
            if not ref:
                diffs.append(f"the reference has no /{group}")
            if mine != ref:
                diffs.append(f"/{group} names differ: {sorted(mine ^ ref)}")
            for k in sorted(mine & ref):
                if group == "metrics" and k == "seconds":
                    continue  # wall-clock time of each epoch
                x, y = f[group][k][()], g[group][k][()]
                if x.dtype.names and x.dtype == y.dtype and x.shape == y.shape:
                    # a table (/metrics/steps): each column on its own
                    for name in x.dtype.names:
                        if not np.array_equal(x[name], y[name]):
                            n = int(np.count_nonzero(x[name] != y[name]))
                            diffs.append(f"{group}/{k}.{name}: {n} of {x.size} values differ")
                    continue
                if x.dtype != y.dtype or x.shape != y.shape:
                    diffs.append(f"{group}/{k}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}")
                elif not np.array_equal(x, y):
                    d = np.abs(x.astype(np.float64) - y.astype(np.float64))
                    diffs.append(f"{group}/{k}: {int(np.count_nonzero(d))} of {x.size} values differ "
                                 f"(max |diff| {d.max():.3g})")
        for k in RESULT_ATTRS:
            a, b = f.attrs.get(k), g.attrs.get(k)
            if a is None or b is None or not np.array_equal(np.asarray(a), np.asarray(b)):
                diffs.append(f"attribute {k}: {a!r} vs {b!r}")
    return diffs
