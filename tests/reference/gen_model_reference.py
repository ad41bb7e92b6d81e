#!/usr/bin/python3
"""Writes tests/reference/model_reference.h5: a whole small DCN (paper variant) trained for three
Adam steps by PyTorch, the reference that tests/test_model.c checks dcn's model against (loss,
the parameters each step started from, each step's exact gradients recomputed in float64 from them
(float64.py), parameters and BN running statistics after the steps).

The model is the same as ../shared/peers/torch_dcn.py's (stem conv 3x3/s2 + BN + ReLU; per node:
sigmoid-weighted sum of predecessors when in-degree > 1, ReLU, depthwise 3x3, pointwise 1x1, BN;
sink = mean of the output nodes; ReLU, flatten, linear), written out here so tensor names match
dcn's. Regenerate with:

    /usr/bin/python3 tests/reference/gen_model_reference.py
    /usr/bin/python3 tests/reference/gen_model_reference.py --dense

--dense writes model_reference_dense.h5 instead: 14 nodes with in-degrees up to 10 and a node read by 12
consumers, so that dcn's kernels that take inputs (and consumers' gradients) four and two at a time
are checked with every remainder, which the 8-node DAG (in-degree and out-degree at most 3) does not reach.

(Debian python3-torch 1.13, python3-h5py). The output is deterministic for a given torch build and
OpenBLAS kernel set: the committed files were written with OPENBLAS_CORETYPE=Haswell.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from float64 import grads_float64

torch.manual_seed(1234)
torch.set_num_threads(1)

C, B, K, STEPS, LR = 4, 4, 10, 3, 0.01
# 8 nodes in topological order; edges (s, t) with s < t. Node 0 and 1 are inputs (in-degree 0),
# node 3 has in-degree 1, nodes 4, 6 and 7 aggregate several inputs; 5 and 7 are outputs, and
# node 2 is an isolated input+output node.
N = 8
EDGES = [(0, 3), (0, 4), (1, 4), (3, 4), (3, 5), (1, 6), (4, 6), (0, 7), (4, 7), (6, 7)]
DENSE = "--dense" in sys.argv[1:]
if DENSE:
    # inputs 0 and 1; in-degrees 10 (node 12: 0 and 3..11), 6 (node 13), 3 (node 6), 2 and 1; node 0 feeds
    # 12 nodes and node 1 feeds 7; node 13 is the only output
    N = 14
    EDGES = sorted({(0, t) for t in range(2, 14)} | {(1, t) for t in (3, 5, 6, 7, 9, 11, 13)} | {(2, 13), (3, 6)}
                   | {(t, 12) for t in range(3, 12)} | {(5, 13), (8, 13), (12, 13)})
preds = [[] for _ in range(N)]
succ = [0] * N
for s, t in EDGES:
    preds[t].append(s)
    succ[s] += 1
for p in preds:
    p.sort()
outputs = [v for v in range(N) if succ[v] == 0]

params = {}


def P(name, t):
    t = t.detach().clone().requires_grad_(True)
    params[name] = t
    return t


def uniform(shape, fan_in):
    b = 1.0 / np.sqrt(fan_in)
    return (torch.rand(shape) * 2 - 1) * b


P("stem.conv.w", uniform((C, 1, 3, 3), 9))
P("stem.bn.gamma", 1 + 0.1 * torch.randn(C))
P("stem.bn.beta", 0.1 * torch.randn(C))
buffers = {"stem.bn.running_mean": torch.zeros(C), "stem.bn.running_var": torch.ones(C)}
for v in range(N):
    if len(preds[v]) > 1:
        P(f"node.{v}.agg", torch.randn(len(preds[v])))
    P(f"node.{v}.dw", uniform((C, 1, 3, 3), 9))
    P(f"node.{v}.pw", uniform((C, C, 1, 1), C))
    P(f"node.{v}.bn.gamma", 1 + 0.1 * torch.randn(C))
    P(f"node.{v}.bn.beta", 0.1 * torch.randn(C))
    buffers[f"node.{v}.bn.running_mean"] = torch.zeros(C)
    buffers[f"node.{v}.bn.running_var"] = torch.ones(C)
P("fc.w", uniform((K, C * 14 * 14), C * 14 * 14))
P("fc.b", uniform((K,), C * 14 * 14))

initial = {k: v.detach().numpy().copy() for k, v in params.items()}


def bn(x, name):
    return F.batch_norm(x, buffers[name + ".running_mean"], buffers[name + ".running_var"],
                        params[name + ".gamma"], params[name + ".beta"], training=True, momentum=0.1, eps=1e-5)


def forward(x):
    x = F.relu(bn(F.conv2d(x, params["stem.conv.w"], stride=2, padding=1), "stem.bn"))
    y = [None] * N
    for v in range(N):
        if not preds[v]:
            a = x
        elif len(preds[v]) == 1:
            a = y[preds[v][0]]
        else:
            s = torch.sigmoid(params[f"node.{v}.agg"])
            a = sum(s[i] * y[u] for i, u in enumerate(preds[v]))
        h = F.conv2d(F.relu(a), params[f"node.{v}.dw"], padding=1, groups=C)
        h = F.conv2d(h, params[f"node.{v}.pw"])
        y[v] = bn(h, f"node.{v}.bn")
    out = sum(y[v] for v in outputs) / len(outputs)
    return F.linear(F.relu(out).flatten(1), params["fc.w"], params["fc.b"])


opt = torch.optim.Adam(list(params.values()), lr=LR, betas=(0.9, 0.999), eps=1e-8)
xs = torch.randn(STEPS, B, 1, 28, 28)
ys = torch.randint(0, K, (STEPS, B))
losses, grads, before = [], [], []
for s in range(STEPS):
    opt.zero_grad()
    before.append({k: v.detach().numpy().copy() for k, v in params.items()})
    loss = F.cross_entropy(forward(xs[s]), ys[s])
    loss.backward()
    losses.append(loss.item())
    grads.append(grads_float64(params, buffers, before[s], lambda dt: F.cross_entropy(forward(xs[s].to(dt)), ys[s]),
                               set(params)))
    opt.step()

path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "model_reference_dense.h5" if DENSE else "model_reference.h5")
with h5py.File(path, "w") as f:
    f.attrs["channels"], f.attrs["batch"], f.attrs["classes"] = C, B, K
    f.attrs["steps"], f.attrs["lr"], f.attrs["nodes"] = STEPS, LR, N
    f.attrs["torch_version"] = str(torch.__version__)
    f["edges"] = np.array(EDGES, dtype=np.int32)
    f["x"] = xs.numpy()
    f["y"] = ys.numpy().astype(np.int32)
    f["loss"] = np.array(losses, dtype=np.float64)
    for k, v in initial.items():
        f[f"initial/{k}"] = v
    for s in range(STEPS):
        for k, v in grads[s].items():
            f[f"grad{s}/{k}"] = v
        if s > 0:  # the parameters the step started from: test_model loads them before comparing its gradients
            for k, v in before[s].items():
                f[f"params{s}/{k}"] = v
    for k, v in params.items():
        f[f"final/{k}"] = v.detach().numpy()
    for k, v in buffers.items():
        f[f"final_buffers/{k}"] = v.numpy()
print("wrote", path, "losses", losses)
