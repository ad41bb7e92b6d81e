#!/usr/bin/python3
"""Writes tests/reference/nn_reference.h5: PyTorch results that tests/test_nn.c checks the layer
kernels of include/dcn/nn.h against.

Regenerate (deterministic; commit the file it writes):
    /usr/bin/python3 tests/reference/gen_nn_reference.py [out.h5]
(Debian python3-torch 1.13, python3-h5py, numpy.)

Layout: one group per case, e.g. /conv2d_s2 with datasets in, w, b, out, dout, din, dw, db and
integer attributes for the shapes (B, C, H, W, OC, K, S, P, bias...). Inputs are float32; the
expected values are computed in float64 from those same float32 values and stored as float32, so
they are as exact as a float file can be, and the C test measures only its own rounding. Adam is
the exception: it runs torch.optim.Adam in float32, the arithmetic dcn must match.
"""
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(20190901)
OUT = sys.argv[1] if len(sys.argv) > 1 else __file__.rsplit("/", 1)[0] + "/nn_reference.h5"


def r32(*shape, scale=1.0, offset=0.0):
    """random float32 values, returned as a float64 tensor holding exactly those values"""
    return (torch.randn(*shape) * scale + offset).float().double()


def put(grp, **arrays):
    for k, v in arrays.items():
        if isinstance(v, torch.Tensor):
            v = v.detach().numpy()
        dtype = np.int32 if np.asarray(v).dtype.kind in "iu" else np.float32
        grp.create_dataset(k, data=np.asarray(v, dtype=dtype), track_times=False)


def attrs(g, **kv):
    for k, v in kv.items():
        g.attrs[k] = np.int32(v) if isinstance(v, (int, bool)) else np.float64(v)


def backward(out, *leaves):
    """gradients of sum(out * dout) for a random dout"""
    dout = r32(*out.shape)
    grads = torch.autograd.grad(out, leaves, dout)
    return dout, grads


def new_group(f, name):
    """a group without modification times, so that the file is byte-for-byte reproducible"""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(f.id, name.encode(), gcpl=gcpl))


def open_file(path):
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V110, h5py.h5f.LIBVER_V110)  # readable by HDF5 1.10
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    return h5py.File(h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl))


def conv_case(f, name, B, C, H, W, OC, K, S, P, bias):
    g = new_group(f, name)
    x = r32(B, C, H, W).requires_grad_()
    w = r32(OC, C, K, K, scale=0.5).requires_grad_()
    b = r32(OC).requires_grad_() if bias else None
    out = F.conv2d(x, w, b, stride=S, padding=P)
    leaves = (x, w, b) if bias else (x, w)
    dout, grads = backward(out, *leaves)
    put(g, **{"in": x, "w": w, "out": out, "dout": dout, "din": grads[0], "dw": grads[1]})
    if bias:
        put(g, b=b, db=grads[2])
    attrs(g, B=B, C=C, H=H, W=W, OC=OC, K=K, S=S, P=P, bias=int(bias))


def dw_case(f, name, B, C, H, W, S):
    g = new_group(f, name)
    x = r32(B, C, H, W).requires_grad_()
    w = r32(C, 1, 3, 3, scale=0.5).requires_grad_()
    out = F.conv2d(x, w, None, stride=S, padding=1, groups=C)
    dout, (dx, dw) = backward(out, x, w)
    put(g, **{"in": x, "w": w, "out": out, "dout": dout, "din": dx, "dw": dw})
    attrs(g, B=B, C=C, H=H, W=W, S=S)


def pw_case(f, name, B, C, HW, OC, bias):
    g = new_group(f, name)
    x = r32(B, C, HW).requires_grad_()
    w = r32(OC, C, scale=0.5).requires_grad_()
    b = r32(OC).requires_grad_() if bias else None
    out = F.conv2d(x.view(B, C, HW, 1), w.view(OC, C, 1, 1), b).view(B, OC, HW)
    leaves = (x, w, b) if bias else (x, w)
    dout, grads = backward(out, *leaves)
    put(g, **{"in": x, "w": w, "out": out, "dout": dout, "din": grads[0], "dw": grads[1]})
    if bias:
        put(g, b=b, db=grads[2])
    attrs(g, B=B, C=C, HW=HW, OC=OC, bias=int(bias))


def bn_train_case(f, name, B, C, HW, offset, scale):
    g = new_group(f, name)
    eps, momentum = 1e-5, 0.1
    x = r32(B, C, HW, scale=scale, offset=offset).requires_grad_()
    gamma = r32(C, scale=0.5, offset=1.0).requires_grad_()
    beta = r32(C).requires_grad_()
    rm0 = r32(C)
    rv0 = r32(C).abs() + 0.5
    rm, rv = rm0.clone(), rv0.clone()
    out = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=momentum, eps=eps)
    dout, (dx, dgamma, dbeta) = backward(out, x, gamma, beta)
    xd = x.detach()
    mean = xd.mean(dim=(0, 2))
    rstd = 1.0 / torch.sqrt(xd.var(dim=(0, 2), unbiased=False) + eps)
    put(g, **{"in": x, "gamma": gamma, "beta": beta, "rm0": rm0, "rv0": rv0, "out": out,
              "mean": mean, "rstd": rstd, "rm1": rm, "rv1": rv, "dout": dout, "din": dx,
              "dgamma": dgamma, "dbeta": dbeta})
    attrs(g, B=B, C=C, HW=HW, eps=eps, momentum=momentum)


def bn_eval_case(f, name, B, C, HW):
    g = new_group(f, name)
    eps = 1e-5
    x, gamma, beta = r32(B, C, HW, scale=2.0, offset=1.0), r32(C, offset=1.0), r32(C)
    rm, rv = r32(C), r32(C).abs() + 0.5
    out = F.batch_norm(x, rm, rv, gamma, beta, training=False, eps=eps)
    put(g, **{"in": x, "gamma": gamma, "beta": beta, "rm": rm, "rv": rv, "out": out})
    attrs(g, B=B, C=C, HW=HW, eps=eps)


def relu_case(f, name, n):
    g = new_group(f, name)
    x = r32(n)
    x[::7] = 0.0  # exact zeros: the gradient there is 0, as in torch
    x.requires_grad_()
    out = F.relu(x)
    dout, (dx,) = backward(out, x)
    put(g, **{"in": x, "out": out, "dout": dout, "din": dx})
    attrs(g, n=n)


def linear_case(f, name, B, IC, OC, bias):
    g = new_group(f, name)
    x = r32(B, IC).requires_grad_()
    w = r32(OC, IC, scale=0.3).requires_grad_()
    b = r32(OC).requires_grad_() if bias else None
    out = F.linear(x, w, b)
    leaves = (x, w, b) if bias else (x, w)
    dout, grads = backward(out, *leaves)
    put(g, **{"in": x, "w": w, "out": out, "dout": dout, "din": grads[0], "dw": grads[1]})
    if bias:
        put(g, b=b, db=grads[2])
    attrs(g, B=B, IC=IC, OC=OC, bias=int(bias))


def gap_case(f, name, B, C, HW):
    g = new_group(f, name)
    x = r32(B, C, HW).requires_grad_()
    out = x.mean(dim=2)
    dout, (dx,) = backward(out, x)
    put(g, **{"in": x, "out": out, "dout": dout, "din": dx})
    attrs(g, B=B, C=C, HW=HW)


def xent_case(f, name, B, K):
    g = new_group(f, name)
    z = r32(B, K, scale=3.0)
    z[1] += 200.0  # exp() of these would overflow without the max shift
    z.requires_grad_()
    labels = torch.randint(0, K, (B,))
    labels[0] = int(z[0].argmax())  # at least one correct prediction
    loss = F.cross_entropy(z, labels)
    (dz,) = torch.autograd.grad(loss, (z,))
    probs = torch.softmax(z.detach(), dim=1)
    correct = int((z.detach().argmax(dim=1) == labels).sum())
    put(g, logits=z, labels=labels, probs=probs, dlogits=dz, loss=loss.reshape(1))
    attrs(g, B=B, K=K, correct=correct)


def adam_case(f, name, n, steps, lr):
    g = new_group(f, name)
    p = torch.randn(n).float().requires_grad_()
    put(g, p0=p)
    opt = torch.optim.Adam([p], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    grads = []
    for t in range(steps):
        gr = torch.randn(n).float()
        gr[0] = 1e-6 * (t + 1)  # tiny gradient: v is tiny and eps placement matters
        grads.append(gr)
        p.grad = gr.clone()
        opt.step()
        put(g, **{f"p{t + 1}": p})
    st = opt.state[p]
    put(g, **{"g": torch.stack(grads), "m": st["exp_avg"], "v": st["exp_avg_sq"]})
    attrs(g, n=n, steps=steps, lr=lr, beta1=0.9, beta2=0.999, eps=1e-8)


with open_file(OUT) as f:
    f.attrs["generator"] = "tests/reference/gen_nn_reference.py"
    f.attrs["torch_version"] = str(torch.__version__)
    conv_case(f, "conv2d_s1", B=2, C=3, H=5, W=7, OC=4, K=3, S=1, P=1, bias=True)
    conv_case(f, "conv2d_s2", B=2, C=3, H=7, W=6, OC=5, K=3, S=2, P=1, bias=False)
    conv_case(f, "conv2d_stem", B=3, C=1, H=8, W=8, OC=6, K=3, S=2, P=1, bias=True)
    conv_case(f, "conv2d_k1", B=2, C=4, H=4, W=5, OC=3, K=1, S=1, P=0, bias=True)
    conv_case(f, "conv2d_k5s3", B=2, C=2, H=9, W=8, OC=3, K=5, S=3, P=2, bias=False)
    dw_case(f, "dw_s1", B=2, C=3, H=5, W=7, S=1)
    dw_case(f, "dw_s1_14", B=2, C=2, H=14, W=14, S=1)
    dw_case(f, "dw_s2", B=2, C=3, H=7, W=6, S=2)
    dw_case(f, "dw_s2_odd", B=2, C=2, H=6, W=9, S=2)
    dw_case(f, "dw_tiny_s1", B=2, C=2, H=2, W=1, S=1)
    dw_case(f, "dw_tiny_s2", B=1, C=2, H=1, W=2, S=2)
    pw_case(f, "pw", B=2, C=5, HW=12, OC=4, bias=False)
    pw_case(f, "pw_bias", B=3, C=3, HW=7, OC=6, bias=True)
    bn_train_case(f, "bn_train", B=3, C=4, HW=10, offset=0.5, scale=2.0)
    bn_train_case(f, "bn_train_offset", B=2, C=3, HW=9, offset=300.0, scale=0.05)
    bn_eval_case(f, "bn_eval", B=2, C=3, HW=6)
    relu_case(f, "relu", n=40)
    linear_case(f, "linear", B=3, IC=7, OC=4, bias=True)
    linear_case(f, "linear_nobias", B=2, IC=5, OC=3, bias=False)
    gap_case(f, "gap", B=2, C=3, HW=10)
    xent_case(f, "xent", B=6, K=7)
    adam_case(f, "adam", n=25, steps=3, lr=0.01)
print(OUT)
