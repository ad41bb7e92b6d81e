#!/usr/bin/python3
"""End-to-end tests of `dcn train` and `dcn eval` for the three model variants, checked with h5py and
an independent PyTorch forward pass:
- paper, baseline, authors: a one-epoch trial on an MNIST subset writes a done trial file whose
  attributes, metrics and weight shapes are what the README documents, and `dcn eval` on it
  reproduces the trial's final test accuracy and loss;
- authors: the defaults are the authors' code's (batch 128, lr 0.01, x - 0.5 inputs, aggregation
  weights N(0,1), only the aggregation weights train); PyTorch, rebuilding the authors' network from
  the trial file's DAG and weights in evaluation mode (BN running statistics), gets dcn's test loss
  and accuracy on the same images;
- `--freeze none` overrides the authors' freezing; bad --normalize is a usage error; the authors
  variant with 1 channel (its stem has C/2) is refused with a message and writes no file;
- `--checkpoint FILE` stopped by SIGTERM after a checkpoint exists and before the last epoch: exit 75,
  the checkpoint kept and no finished file; the same command resumes from it and ends with exactly the
  weights, BN buffers, per-epoch metrics (all but wall-clock seconds) and results of the same trial run
  uninterrupted (the README promises a bit-identical resume), the learning curve /metrics/steps included;
- /metrics/steps: its rows add up to the per-epoch metrics and carry PyTorch LambdaLR's cosine lr.
Needs MNIST in the data folder and PyTorch (tests/run.sh provides both): without them the test fails
and says so."""
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from trial_compare import trial_differences

DCN = os.environ.get("DCN_BIN", "build/dcn")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
failures = []
GRAPH = "ws:n=8,k=4,p=0.75,seed=1"
TEST_LIMIT = 300


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)


def attrs(f):
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def train(out, *args):
    r = subprocess.run([DCN, "train", "--graph", GRAPH, "--channels", "4", "--epochs", "1", "--train-limit", "512",
                        "--test-limit", str(TEST_LIMIT), "--quiet", "--json", "--out", out, *args], env=ENV,
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, f"dcn train {' '.join(args)}: exit {r.returncode}: {r.stderr[-1500:]}")
    return json.loads(r.stdout) if r.returncode == 0 else None


def evaluate(path):
    r = subprocess.run([DCN, "eval", path, "--dataset", "mnist", "--test-limit", str(TEST_LIMIT), "--json"], env=ENV,
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, f"dcn eval {path}: exit {r.returncode}: {r.stderr[-800:]}")
    return json.loads(r.stdout) if r.returncode == 0 else None


MNIST_DIR = None  # the folder dcn reads MNIST from (main() asks `dcn data info mnist`)


def mnist_test(n):
    """The first n MNIST test images and labels, read straight from the IDX files dcn uses."""
    with open(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte"), "rb") as f:
        _, cnt, rows, cols = struct.unpack(">IIII", f.read(16))
        x = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, 1, rows, cols)
    with open(os.path.join(MNIST_DIR, "t10k-labels-idx1-ubyte"), "rb") as f:
        f.read(8)
        y = np.frombuffer(f.read(n), dtype=np.uint8)
    return x, y


def torch_authors_eval(path):
    """Test loss and accuracy of the authors' network rebuilt in PyTorch from a trial file."""
    import torch
    import torch.nn.functional as F
    with h5py.File(path, "r") as f:
        a = attrs(f)
        W = {k: torch.from_numpy(f["weights"][k][()]) for k in f["weights"]}
        Bf = {k: torch.from_numpy(f["buffers"][k][()]) for k in f["buffers"]}
        edges = f["dag/edges"][()]
        n = len(f["dag/vertex"][()])
        outputs = sorted(int(v) for v in f["dag/outputs"][()])
    preds = [[] for _ in range(n)]
    for s, t in edges:
        preds[int(t)].append(int(s))
    for p in preds:
        p.sort()
    C = int(a["channels"])

    def bn(x, name):
        return F.batch_norm(x, Bf[name + ".running_mean"], Bf[name + ".running_var"], W[name + ".gamma"],
                            W[name + ".beta"], training=False, eps=1e-5)

    x8, y = mnist_test(TEST_LIMIT)
    x = (torch.from_numpy(x8.astype(np.float32)) / 255.0 - float(a["data_mean"])) / float(a["data_std"])
    with torch.no_grad():
        h = F.relu(bn(F.conv2d(x, W["stem.conv1.w"], W["stem.conv1.b"], stride=2, padding=1), "stem.bn1"))
        h = bn(F.conv2d(h, W["stem.conv2.w"], W["stem.conv2.b"], stride=2, padding=1), "stem.bn2")
        out = [None] * n
        for v in range(n):
            if not preds[v]:
                z = h
            elif len(preds[v]) == 1:
                z = out[preds[v][0]]
            else:
                s = torch.sigmoid(W[f"node.{v}.agg"])
                z = sum(s[i] * out[u] for i, u in enumerate(preds[v]))
            z = F.conv2d(F.relu(z), W[f"node.{v}.dw"], padding=1, groups=C, stride=1 if preds[v] else 2)
            out[v] = bn(F.conv2d(z, W[f"node.{v}.pw"]), f"node.{v}.bn")
        z = torch.mean(torch.stack([out[v] for v in outputs]), dim=0)
        z = bn(F.conv2d(F.relu(z), W["head.conv.w"], W["head.conv.b"]), "head.bn")
        logits = F.linear(F.adaptive_avg_pool2d(z, 1).flatten(1), W["fc.w"], W["fc.b"])
        yt = torch.from_numpy(y.astype(np.int64))
        loss = F.cross_entropy(logits, yt).item()
        acc = (logits.argmax(1) == yt).double().mean().item()
    return loss, acc


def test_variants(tmp):
    for variant in ("paper", "baseline", "authors"):
        path = os.path.join(tmp, f"{variant}.h5")
        r = train(path, "--variant", variant)
        if r is None:
            continue
        check(r["status"] == "done" and r["variant"] == variant, f"{variant}: done, variant in JSON")
        with h5py.File(path, "r") as f:
            a = attrs(f)
            check(a["status"] == "done" and a["variant"] == variant, f"{variant}: trial attributes")
            acc = f["metrics/test_accuracy"][()]
            check(len(acc) == 1 and abs(acc[-1] - r["test_accuracy"]) < 2e-6, f"{variant}: metrics agree with JSON")
            n_params = sum(f["weights"][k].size for k in f["weights"])
            check(n_params == r["params_total"], f"{variant}: weights hold params_total ({n_params})")
            check(("dag" in f) == (variant != "baseline"), f"{variant}: DAG stored iff the variant has one")
            if variant == "authors":
                C = 4
                check(a["batch"] == 128 and abs(a["lr"] - 0.01) < 1e-12, f"authors defaults batch/lr: {a}")
                check(a["normalize"] == "half" and abs(a["data_mean"] - 0.5) < 1e-7 and a["data_std"] == 1.0,
                      "authors inputs are x - 0.5")
                check(a["agg_init"] == "normal" and a["freeze"] == "stem,nodes,head", f"authors freeze: {a['freeze']}")
                n_agg = sum(f["weights"][k].size for k in f["weights"] if k.endswith(".agg"))
                check(n_agg > 0 and r["params_trainable"] == n_agg,
                      f"authors: only the {n_agg} aggregation weights train ({r['params_trainable']})")
                outs = set(int(v) for v in f["dag/outputs"][()])
                for k in f["weights"]:
                    if k.endswith(".pw"):
                        v = int(k.split(".")[1])
                        check(f["weights"][k].shape == ((4 * C if v in outs else C), C, 1, 1), f"authors {k} shape")
                check(f["weights/head.conv.w"].shape == (1280, 4 * C, 1, 1), "authors head conv 4C -> 1280")
                check(f["weights/stem.conv1.w"].shape == (C // 2, 1, 3, 3), "authors stem conv1 1 -> C/2")
            else:
                check(a["normalize"] == "meanstd" and a["batch"] == 32, f"{variant}: paper protocol defaults")
        e = evaluate(path)
        if e:
            check(abs(e["test_accuracy"] - r["test_accuracy"]) < 2e-6 and abs(e["test_loss"] - r["test_loss"]) < 1e-5,
                  f"{variant}: dcn eval reproduces the trial: {e} vs {r['test_accuracy']}, {r['test_loss']}")
        if variant == "authors" and e:
            loss, acc = torch_authors_eval(path)
            check(abs(acc - e["test_accuracy"]) < 1e-9 and abs(loss - e["test_loss"]) < 1e-4 * max(1, abs(loss)),
                  f"authors: PyTorch on the trial's weights gives loss {loss:.6f} acc {acc:.4f}, "
                  f"dcn {e['test_loss']:.6f} {e['test_accuracy']:.4f}")
            print(f"authors eval: dcn loss {e['test_loss']:.6f} acc {e['test_accuracy']:.4f}, "
                  f"PyTorch loss {loss:.6f} acc {acc:.4f}")


def test_overrides(tmp):
    path = os.path.join(tmp, "authors-all.h5")
    r = train(path, "--variant", "authors", "--freeze", "none", "--batch", "64", "--lr", "0.002")
    if r:
        check(r["params_trainable"] == r["params_total"], "--freeze none trains every authors parameter")
        with h5py.File(path, "r") as f:
            a = attrs(f)
            check(a["batch"] == 64 and abs(a["lr"] - 0.002) < 1e-12 and a["normalize"] == "half",
                  f"explicit options win over the authors defaults: {a['batch']} {a['lr']}")
    r = subprocess.run([DCN, "train", "--normalize", "zscore"], env=ENV, capture_output=True, text=True)
    check(r.returncode == 2 and "--normalize" in r.stderr, f"bad --normalize is a usage error: {r.stderr.strip()}")
    out = os.path.join(tmp, "one-channel.h5")
    r = subprocess.run([DCN, "train", "--variant", "authors", "--channels", "1", "--graph", GRAPH, "--epochs", "1",
                        "--train-limit", "256", "--test-limit", "100", "--quiet", "--out", out], env=ENV,
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 1 and "at least 2 channels" in r.stderr and not os.path.exists(out)
          and not os.path.exists(out + ".tmp"),
          f"authors with 1 channel: a clear error and no file: {r.returncode} {r.stderr.strip()}")
    r = subprocess.run([DCN, "train", "--variant", "author"], env=ENV, capture_output=True, text=True)
    check(r.returncode == 2 and "authors" in r.stderr, f"unknown variant lists the known ones: {r.stderr.strip()}")


def test_checkpoint_resume(tmp):
    epochs = 3
    base = [DCN, "train", "--graph", GRAPH, "--channels", "4", "--epochs", str(epochs), "--train-limit", "4800",
            "--test-limit", str(TEST_LIMIT), "--seed", "3", "--quiet"]
    out, ck = os.path.join(tmp, "resumed.h5"), os.path.join(tmp, "resumed.ckpt.h5")
    cmd = base + ["--out", out, "--checkpoint", ck, "--checkpoint-every", "0.05"]
    p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not os.path.exists(ck) and p.poll() is None and time.time() - t0 < 300:
        time.sleep(0.01)
    running = p.poll() is None
    check(running and os.path.exists(ck), f"a checkpoint exists while the run goes on (running {running})")
    if running:
        p.send_signal(signal.SIGTERM)  # p.pid is dcn itself: no shell in between
    try:
        _, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    m = re.search(r"stopped by a signal at epoch (\d+) step (\d+) \(checkpoint written\)", err)
    check(p.returncode == 75 and m is not None, f"SIGTERM: exit 75 after a checkpoint, got {p.returncode}: {err[-800:]}")
    check(os.path.exists(ck) and not os.path.exists(out) and os.path.exists(out + ".tmp"),
          "after SIGTERM: the checkpoint and the .tmp trial file are kept, no finished trial file")
    if os.path.exists(out + ".tmp"):
        with h5py.File(out + ".tmp", "r") as f:
            check(attrs(f)["status"] == "running", f"the interrupted trial file says running: {attrs(f)['status']}")
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, f"the same command resumes and finishes: exit {r.returncode}: {r.stderr[-800:]}")
    check(not os.path.exists(ck) and not os.path.exists(out + ".tmp"), "checkpoint and .tmp removed at the end")
    if r.returncode != 0 or not m:
        return
    with h5py.File(out, "r") as f:
        a = attrs(f)
    stop_epoch, stop_step = int(m.group(1)), int(m.group(2))
    # resumed inside the epoch it stopped in, after the steps it had done, and before the last epoch, so
    # the epochs after the resume draw their data order from the restored generator
    check(a["status"] == "done" and a["resumed_epoch"] == stop_epoch - 1 and a["resumed_step"] == stop_step
          and 0 < stop_step and stop_epoch < epochs,
          f"resumed where SIGTERM stopped it (epoch {stop_epoch} step {stop_step}) and before the last epoch: "
          f"resumed_epoch {a['resumed_epoch']} resumed_step {a['resumed_step']}")
    print(f"checkpoint resume: SIGTERM stopped the run at epoch {stop_epoch} step {stop_step}", flush=True)
    ref = os.path.join(tmp, "uninterrupted.h5")
    r = subprocess.run(base + ["--out", ref], env=ENV, capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, f"uninterrupted run: exit {r.returncode}: {r.stderr[-800:]}")
    if r.returncode == 0:
        diffs = trial_differences(out, ref)
        check(not diffs, "the resumed trial is not bit-identical to the uninterrupted run: " + "; ".join(diffs[:8])
              + (f"; ... {len(diffs) - 8} more" if len(diffs) > 8 else ""))


def test_resume_at_epoch_end(tmp):
    """One step per epoch (32 images, batch 32), so every checkpoint before a stop is taken after an
    epoch's last step: the resumed epoch runs no step and must still record that step's learning rate
    (it once recorded the base rate: metrics/lr differed from the uninterrupted run's)."""
    base = [DCN, "train", "--graph", GRAPH, "--channels", "4", "--epochs", "40", "--train-limit", "32",
            "--test-limit", "100", "--quiet"]
    out, ck = os.path.join(tmp, "edge.h5"), os.path.join(tmp, "edge.ckpt.h5")
    cmd = base + ["--out", out, "--checkpoint", ck, "--checkpoint-every", "0.001"]
    p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not os.path.exists(ck) and p.poll() is None and time.time() - t0 < 300:
        time.sleep(0.005)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    m = re.search(r"stopped by a signal at epoch (\d+) step 1 ", err)
    check(p.returncode == 75 and m is not None, f"epoch-end stop: exit 75 at an epoch's only step, got "
          f"{p.returncode}: {err[-400:]}")
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    ref = os.path.join(tmp, "edge-ref.h5")
    r2 = subprocess.run(base + ["--out", ref], env=ENV, capture_output=True, text=True, timeout=600)
    check(r.returncode == 0 and r2.returncode == 0, f"epoch-end resume and reference: exit {r.returncode}, {r2.returncode}")
    if r.returncode == 0 and r2.returncode == 0 and m:
        with h5py.File(out, "r") as f:
            a = attrs(f)
        check(a["resumed_step"] == 1, f"resumed after the epoch's last step: resumed_step {a['resumed_step']}")
        diffs = trial_differences(out, ref)
        check(not diffs, "resumed after an epoch's last step, not bit-identical to the uninterrupted run: "
              + "; ".join(diffs[:8]))


def test_step_curve(tmp):
    """/metrics/steps against the per-epoch metrics, which are summed by other code: 101 steps per epoch
    (3232 images, batch 32) x 3 epochs = 303 steps, one row every 2 steps, so one row spans the epoch
    boundary and the last one holds a single step. The rows' losses and correct counts, weighted by the
    steps each covers, must add up to the epochs' (/metrics/train_loss is the mean over each epoch's
    batches); lr is PyTorch LambdaLR's cosine at the row's last step."""
    spe, epochs, batch = 101, 3, 32
    out = os.path.join(tmp, "steps.h5")
    r = subprocess.run([DCN, "train", "--graph", GRAPH, "--channels", "4", "--epochs", str(epochs), "--train-limit",
                        str(spe * batch), "--test-limit", "100", "--quiet", "--out", out], env=ENV,
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, f"step curve run: exit {r.returncode}: {r.stderr[-800:]}")
    if r.returncode != 0:
        return
    with h5py.File(out, "r") as f:
        rows, m = f["metrics/steps"][()], {k: f["metrics"][k][()] for k in ("train_loss", "train_accuracy")}
        per_epoch = int(f["metrics/steps"].attrs["images_per_epoch"])
    total = spe * epochs
    step = rows["step"].astype(np.int64)
    covered = np.diff(np.concatenate([[0], step]))
    check(per_epoch == spe * batch, f"images_per_epoch {per_epoch}, expected {spe * batch}")
    check(len(rows) == 152 and step[-1] == total and covered[-1] == 1 and np.all(covered[:-1] == 2),
          f"one row per 2 steps and a last row of 1 step: {len(rows)} rows, last step {step[-1]}")
    check(np.array_equal(rows["images"], step * batch), "images = steps x batch")
    check(np.array_equal(rows["epoch"], (step + spe - 1) // spe), "a row's epoch is that of its last step")
    loss_rows = float(np.sum(rows["train_loss"] * covered))
    loss_epochs = float(np.sum(m["train_loss"] * spe))
    check(abs(loss_rows - loss_epochs) < 1e-9 * loss_epochs,
          f"step rows' losses sum to the epochs': {loss_rows!r} vs {loss_epochs!r}")
    corr_rows = np.sum(rows["train_accuracy"] * covered * batch)
    corr_epochs = np.sum(m["train_accuracy"] * spe * batch)
    check(abs(corr_rows - corr_epochs) < 1e-6, f"correct counts agree: {corr_rows} vs {corr_epochs}")
    import torch
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda g: 0.5 * (1 + np.cos(np.pi * g / total)))
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    want = np.array(lrs)[step - 1]
    check(np.allclose(rows["lr"], want, rtol=1e-12, atol=1e-15), f"lr at the rows' steps: {rows['lr'][:3]} vs {want[:3]}")


def need_mnist_and_torch():
    """MNIST and PyTorch are what the test command provides: their absence is a failure, not a skip."""
    global MNIST_DIR
    r = subprocess.run([DCN, "data", "info", "mnist", "--json"], env=ENV, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        print(f"FAIL: MNIST is needed and missing (tests/run.sh fetches it; by hand: dcn data fetch mnist): "
              f"{r.stderr.strip()}", flush=True)
        sys.exit(1)
    MNIST_DIR = json.loads(r.stdout)["dir"]
    try:
        import torch  # noqa: F401
    except ImportError as e:
        print(f"FAIL: PyTorch is needed for the reference forward pass and missing (tests/run.sh installs "
              f"python3-torch): {e}", flush=True)
        sys.exit(1)


def main():
    need_mnist_and_torch()
    with tempfile.TemporaryDirectory(prefix="dcn-train-test-") as tmp:
        test_variants(tmp)
        test_overrides(tmp)
        test_checkpoint_resume(tmp)
        test_resume_at_epoch_end(tmp)
        test_step_curve(tmp)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all train/eval checks passed")


if __name__ == "__main__":
    main()
