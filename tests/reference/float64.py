"""The exact gradients that tests/test_model.c compares dcn against: each step's gradients computed
again in float64 from the float32 parameters and inputs that step started from.

PyTorch's own float32 gradients are off from these by up to 6e-4 on the authors' model (relative,
with a floor of 1e-3 of the tensor's largest: the test's measure until 2026-12-02), by different
amounts with OpenBLAS's Haswell and AVX-512 kernels. Against them, dcn's float32 rounding and
PyTorch's added up to the test's 1e-3 tolerance; against the float64 ones only dcn's own counts."""
import torch


def grads_float64(params, buffers, start, loss_of, trainable):
    """start: {name: float32 array} the step's parameters; loss_of(dtype) runs the step's forward on
    the module's params/buffers dicts, which are swapped in place for float64 copies meanwhile (so the
    generators' forward functions need no change), then restored, BN running statistics included."""
    saved_p, saved_b = dict(params), dict(buffers)
    params.clear()
    params.update({k: torch.tensor(v, dtype=torch.float64, requires_grad=k in trainable) for k, v in start.items()})
    for k in buffers:
        buffers[k] = saved_b[k].double().clone()
    loss_of(torch.float64).backward()
    out = {k: v.grad.numpy().copy() for k, v in params.items() if v.grad is not None}
    params.clear()
    params.update(saved_p)
    buffers.update(saved_b)
    return out
