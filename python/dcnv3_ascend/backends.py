"""Every implementation of DCNv3 behind one interface, for verify and bench.

  cpu       torch.ops.npu.dcnv3 / dcnv3_backward on CPU tensors (our C++ kernel)
  fallback  dcnv3_fallback (grid_sample), gradients by torch.autograd
  sim       the AscendC kernels run by the CPU simulator (dcnv3_ascend.sim)
  npu       torch.ops.npu.dcnv3 / dcnv3_backward on an Ascend NPU through torch_npu

A backend computes on `backend.device`: its methods take tensors there and return tensors there
of the same dtype (callers move them with .to(backend.device) and .cpu(); only npu is not the
CPU). That keeps host copies out of bench's timings. `available()` never raises: it says why a
backend cannot run here (no torch_npu, no device, extension not built).
"""

import importlib
import importlib.util

import torch

ALL_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)
# float64 is not an Ascend dtype: the AscendC kernels, hence sim and npu, do not take it.
ASCEND_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _import_error(module):
    """Imports `module`; returns "" on success, else a one-line reason."""
    try:
        importlib.import_module(module)
    except Exception as e:  # a broken build raises more than ImportError (e.g. undefined symbols)
        return f"cannot import {module}: {type(e).__name__}: {e}"
    return ""


def _registered_op_error(dispatch_key):
    """ "" when npu::dcnv3 and npu::dcnv3_backward have a kernel for dispatch_key, else why not."""
    error = _import_error("dcnv3_ascend._ops")
    if error:
        return error
    from . import _ops

    # Without the extension the ops run the grid_sample fallback: that is not this backend.
    if not _ops.HAS_EXTENSION:
        return f"the compiled extension is not in use: {_ops.FALLBACK_REASON}"
    for op in ("npu::dcnv3", "npu::dcnv3_backward"):
        try:
            registered = torch._C._dispatch_has_kernel_for_dispatch_key(op, dispatch_key)
        except RuntimeError as e:  # the op itself is not defined
            return str(e)
        if not registered:
            return f"{op} has no {dispatch_key} kernel registered"
    return ""


class Backend:
    """Interface of one implementation. Subclasses set name, description, dtypes and device."""

    name = ""
    description = ""
    dtypes = ALL_DTYPES
    device = "cpu"

    def available(self):
        """(True, "") when this backend can run here, else (False, reason)."""
        return True, ""

    def forward(self, input, offset, mask, attrs):
        """DCNv3 output for tensors on self.device and a Dcnv3Attrs (inference: no autograd)."""
        raise NotImplementedError

    def backward(self, input, offset, mask, grad_output, attrs):
        """(grad_input, grad_offset, grad_mask) for tensors on self.device."""
        raise NotImplementedError

    def forward_backward(self, input, offset, mask, grad_output, attrs):
        """One training step, as a model runs it: (output, grad_input, grad_offset, grad_mask)."""
        return (self.forward(input, offset, mask, attrs), *self.backward(input, offset, mask, grad_output, attrs))

    def synchronize(self):
        """Waits for queued device work (a timer needs it; CPU backends return at once)."""


class CpuBackend(Backend):
    name = "cpu"
    description = "torch.ops.npu.dcnv3 C++ CPU kernel"

    def available(self):
        error = _registered_op_error("CPU")
        return not error, error

    def forward(self, input, offset, mask, attrs):
        return torch.ops.npu.dcnv3(input, offset, mask, *attrs.args())

    def backward(self, input, offset, mask, grad_output, attrs):
        return tuple(torch.ops.npu.dcnv3_backward(input, offset, mask, grad_output, *attrs.args()))


class FallbackBackend(Backend):
    name = "fallback"
    description = "grid_sample fallback, autograd gradients"

    def available(self):
        error = _import_error("dcnv3_ascend.fallback")
        return not error, error

    def forward(self, input, offset, mask, attrs):
        from .fallback import dcnv3_fallback

        with torch.no_grad():
            return dcnv3_fallback(input, offset, mask, attrs)

    def backward(self, input, offset, mask, grad_output, attrs):
        return self.forward_backward(input, offset, mask, grad_output, attrs)[1:]

    def forward_backward(self, input, offset, mask, grad_output, attrs):
        # One autograd graph for both passes, as training runs it (backward alone must rebuild it).
        from .fallback import dcnv3_fallback

        leaves = [t.detach().requires_grad_() for t in (input, offset, mask)]
        with torch.enable_grad():
            out = dcnv3_fallback(*leaves, attrs)
            grads = torch.autograd.grad(out, leaves, grad_output, allow_unused=True)
        # A tensor that no valid sampling point reads gets no graph edge: its gradient is 0.
        return (out.detach(), *(torch.zeros_like(t) if g is None else g for t, g in zip(leaves, grads)))


class SimBackend(Backend):
    name = "sim"
    dtypes = ASCEND_DTYPES

    def __init__(self, soc="Ascend910B3"):
        self.soc = soc
        self.description = f"op_kernel/*.cpp (AscendC) on the CPU simulator, {soc} configuration"

    def available(self):
        error = _import_error("dcnv3_ascend.sim")
        if error:
            return False, error
        from . import sim

        missing = [f for f in ("dcnv3_forward", "dcnv3_backward") if not hasattr(sim, f)]
        if missing:
            return False, f"dcnv3_ascend.sim has no {', '.join(missing)} (simulator not built?)"
        return True, ""

    def forward(self, input, offset, mask, attrs):
        from . import sim

        out, _ = sim.dcnv3_forward(input, offset, mask, attrs, soc=self.soc)
        return out

    def backward(self, input, offset, mask, grad_output, attrs):
        from . import sim

        grads, _ = sim.dcnv3_backward(input, offset, mask, grad_output, attrs, soc=self.soc)
        return tuple(grads)


class NpuBackend(Backend):
    name = "npu"
    description = "torch.ops.npu.dcnv3 on an Ascend NPU (torch_npu)"
    dtypes = ASCEND_DTYPES
    device = "npu"

    def available(self):
        if importlib.util.find_spec("torch_npu") is None:
            return False, "torch_npu is not installed"
        error = _import_error("torch_npu")
        if error:
            return False, error
        if not torch.npu.is_available():
            return False, "torch_npu found no NPU device"
        error = _registered_op_error("PrivateUse1")
        return not error, error

    def forward(self, input, offset, mask, attrs):
        return torch.ops.npu.dcnv3(input, offset, mask, *attrs.args())

    def backward(self, input, offset, mask, grad_output, attrs):
        return tuple(torch.ops.npu.dcnv3_backward(input, offset, mask, grad_output, *attrs.args()))

    def synchronize(self):
        torch.npu.synchronize()


BACKENDS = {b.name: b for b in (CpuBackend(), FallbackBackend(), SimBackend(), NpuBackend())}


def available_backends():
    """The registered backends that can run on this machine, in registry order."""
    return [b for b in BACKENDS.values() if b.available()[0]]
