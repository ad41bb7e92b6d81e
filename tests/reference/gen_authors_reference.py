#!/usr/bin/python3
"""Writes tests/reference/authors_reference.h5: the authors' code variant of a small DCN trained for
three Adam steps by PyTorch, the reference tests/test_model.c checks dcn's `authors` variant against
(loss, the parameters each step started from, each step's exact gradients recomputed in float64 from them
(float64.py), the final parameters and BN running statistics).

The network follows the authors' repository (nick11roberts/connectomics-learning, CElegansNN/model),
written out here so tensor names match dcn's:
  stem: conv 3x3 s2 (1 -> C/2, bias), BN, ReLU, conv 3x3 s2 (C/2 -> C, bias), BN      -> C x 7 x 7
  node: sigmoid-weighted sum of predecessors (in-degree > 1), ReLU, depthwise 3x3 (stride 2 for
        input nodes), pointwise 1x1 (C -> C; C -> 4C for output nodes), BN             -> . x 4 x 4
  sink: mean of the output nodes; head: ReLU, conv 1x1 (4C -> 1280, bias), BN, global average pool,
        linear (1280 -> classes); log-softmax + NLL (= cross-entropy).
Every parameter trains here (the authors train only the aggregation weights; freezing is tested
separately), so every gradient is checked, except the three convolution biases that a batch norm
follows (stem.conv1.b, stem.conv2.b, head.conv.b): BN in training mode subtracts the batch mean, so
their true gradient is exactly zero and both sides compute rounding noise (~1e-9), which Adam would
blow up to steps of +-lr. They stay fixed here; the test checks that dcn's gradient for them is
zero to rounding and zeroes it before its Adam step. Regenerate with

    /usr/bin/python3 tests/reference/gen_authors_reference.py

(Debian python3-torch 1.13, python3-h5py). The output is deterministic for a given torch build and
OpenBLAS kernel set: the committed files were written with OPENBLAS_CORETYPE=Haswell.
"""
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from float64 import grads_float64

torch.manual_seed(4321)
torch.set_num_threads(1)

C, B, K, STEPS, LR, HEAD = 4, 4, 10, 3, 0.01, 1280
C2, OC = C // 2, 4 * C
# the same 8-node DAG as model_reference.h5: inputs 0, 1, 2 (2 is isolated: input and output),
# outputs 2, 5, 7
N = 8
EDGES = [(0, 3), (0, 4), (1, 4), (3, 4), (3, 5), (1, 6), (4, 6), (0, 7), (4, 7), (6, 7)]
preds = [[] for _ in range(N)]
succ = [0] * N
for s, t in EDGES:
    preds[t].append(s)
    succ[s] += 1
for p in preds:
    p.sort()
outputs = [v for v in range(N) if succ[v] == 0]

params, buffers = {}, {}


def P(name, t):
    params[name] = t.detach().clone().requires_grad_(True)


def uniform(shape, fan_in):
    b = 1.0 / np.sqrt(fan_in)
    return (torch.rand(shape) * 2 - 1) * b


def BN(name, n):
    P(name + ".gamma", 1 + 0.1 * torch.randn(n))
    P(name + ".beta", 0.1 * torch.randn(n))
    buffers[name + ".running_mean"] = torch.zeros(n)
    buffers[name + ".running_var"] = torch.ones(n)


P("stem.conv1.w", uniform((C2, 1, 3, 3), 9))
P("stem.conv1.b", uniform((C2,), 9))
BN("stem.bn1", C2)
P("stem.conv2.w", uniform((C, C2, 3, 3), C2 * 9))
P("stem.conv2.b", uniform((C,), C2 * 9))
BN("stem.bn2", C)
for v in range(N):
    oc = OC if v in outputs else C
    if len(preds[v]) > 1:
        P(f"node.{v}.agg", torch.randn(len(preds[v])))
    P(f"node.{v}.dw", uniform((C, 1, 3, 3), 9))
    P(f"node.{v}.pw", uniform((oc, C, 1, 1), C))
    BN(f"node.{v}.bn", oc)
P("head.conv.w", uniform((HEAD, OC, 1, 1), OC))
P("head.conv.b", uniform((HEAD,), OC))
BN("head.bn", HEAD)
P("fc.w", uniform((K, HEAD), HEAD))
P("fc.b", uniform((K,), HEAD))

BIAS_BEFORE_BN = ["stem.conv1.b", "stem.conv2.b", "head.conv.b"]
for k in BIAS_BEFORE_BN:
    params[k].requires_grad_(False)
initial = {k: v.detach().numpy().copy() for k, v in params.items()}


def bn(x, name):
    return F.batch_norm(x, buffers[name + ".running_mean"], buffers[name + ".running_var"],
                        params[name + ".gamma"], params[name + ".beta"], training=True, momentum=0.1, eps=1e-5)


def forward(x):
    x = F.relu(bn(F.conv2d(x, params["stem.conv1.w"], params["stem.conv1.b"], stride=2, padding=1), "stem.bn1"))
    x = bn(F.conv2d(x, params["stem.conv2.w"], params["stem.conv2.b"], stride=2, padding=1), "stem.bn2")
    y = [None] * N
    for v in range(N):
        if not preds[v]:
            a = x
        elif len(preds[v]) == 1:
            a = y[preds[v][0]]
        else:
            s = torch.sigmoid(params[f"node.{v}.agg"])
            a = sum(s[i] * y[u] for i, u in enumerate(preds[v]))
        h = F.conv2d(F.relu(a), params[f"node.{v}.dw"], padding=1, groups=C, stride=2 if not preds[v] else 1)
        h = F.conv2d(h, params[f"node.{v}.pw"])
        y[v] = bn(h, f"node.{v}.bn")
    out = torch.mean(torch.stack([y[v] for v in outputs]), dim=0)
    h = bn(F.conv2d(F.relu(out), params["head.conv.w"], params["head.conv.b"]), "head.bn")
    h = F.adaptive_avg_pool2d(h, (1, 1)).flatten(1)
    return F.log_softmax(F.linear(h, params["fc.w"], params["fc.b"]), dim=1)


opt = torch.optim.Adam([v for k, v in params.items() if k not in BIAS_BEFORE_BN], lr=LR, betas=(0.9, 0.999), eps=1e-8)
xs = torch.randn(STEPS, B, 1, 28, 28)
ys = torch.randint(0, K, (STEPS, B))
losses, grads, before = [], [], []
for s in range(STEPS):
    opt.zero_grad()
    before.append({k: v.detach().numpy().copy() for k, v in params.items()})
    loss = F.nll_loss(forward(xs[s]), ys[s])
    loss.backward()
    losses.append(loss.item())
    grads.append(grads_float64(params, buffers, before[s], lambda dt: F.nll_loss(forward(xs[s].to(dt)), ys[s]),
                               set(params) - set(BIAS_BEFORE_BN)))
    opt.step()

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "authors_reference.h5")
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
