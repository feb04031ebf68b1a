"""Registers npu::dcnv3 and npu::dcnv3_backward: kernels, fake kernels and autograd.

The schemas and the CPU/NPU kernels come from the compiled extension dcnv3_ascend._C. When it
cannot be imported (or DCNV3_ASCEND_FORCE_FALLBACK=1), the same schemas are defined here and the
grid_sample fallback (fallback.py) becomes the kernel for every device, with a one-time warning.

Registered here once, for both paths (the pytorch/extension-cpp pattern):
  * fake kernels (output shapes from _checks.py), for meta tensors, torch.compile and export;
  * the autograd formula of npu::dcnv3, whose backward calls npu::dcnv3_backward, so
    torch.compile traces the backward as one op.
"""
import importlib.util
import os
import warnings

import torch

from . import _checks

FORCE_FALLBACK_ENV = "DCNV3_ASCEND_FORCE_FALLBACK"

# Kept in step with python/csrc/dcnv3_schema.cpp; tests/test_op_fallback.py compares the two.
_ATTRS_SCHEMA = ("int kernel_h, int kernel_w, int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h, "
                 "int dilation_w, int group, int group_channels, float offset_scale, int im2col_step, "
                 "int remove_center")
DCNV3_SCHEMA = f"dcnv3(Tensor input, Tensor offset, Tensor mask, {_ATTRS_SCHEMA}) -> Tensor"
DCNV3_BACKWARD_SCHEMA = (f"dcnv3_backward(Tensor input, Tensor offset, Tensor mask, Tensor grad_output, "
                         f"{_ATTRS_SCHEMA}) -> (Tensor grad_input, Tensor grad_offset, Tensor grad_mask)")

# torch_npu owns the `npu` namespace (TORCH_LIBRARY); it must register before our fragment.
if importlib.util.find_spec("torch_npu") is not None:
    import torch_npu  # noqa: F401


def _load_extension():
    """Imports dcnv3_ascend._C; returns (loaded, why not)."""
    if os.environ.get(FORCE_FALLBACK_ENV, "") == "1":
        return False, f"{FORCE_FALLBACK_ENV}=1"
    try:
        from . import _C  # noqa: F401
    except ImportError as error:
        return False, f"dcnv3_ascend._C could not be imported ({error})"
    return True, ""


HAS_EXTENSION, FALLBACK_REASON = _load_extension()

# Holds the Python registrations alive for the life of the process.
_lib = torch.library.Library("npu", "FRAGMENT")


def _register_fallback():
    from .attrs import Dcnv3Attrs
    from .fallback import dcnv3_fallback

    warned = []

    def warn_once():
        if not warned:
            warned.append(True)
            warnings.warn(f"dcnv3_ascend: using the slow grid_sample fallback for npu::dcnv3: {FALLBACK_REASON}. "
                          "Build the extension with `pip install .` (or `python setup.py build_ext --inplace`).",
                          RuntimeWarning, stacklevel=3)

    def dcnv3_kernel(input, offset, mask, *attrs):
        warn_once()
        return dcnv3_fallback(input, offset, mask, Dcnv3Attrs(*attrs))

    def dcnv3_backward_kernel(input, offset, mask, grad_output, *attrs):
        warn_once()
        # The vector-Jacobian product of the fallback, by autograd.
        with torch.enable_grad():
            leaves = [t.detach().requires_grad_() for t in (input, offset, mask)]
            out = dcnv3_fallback(*leaves, Dcnv3Attrs(*attrs))
            grads = torch.autograd.grad(out, leaves, grad_output, allow_unused=True)
        return tuple(torch.zeros_like(t) if g is None else g for t, g in zip(leaves, grads))

    _lib.define(DCNV3_SCHEMA)
    _lib.define(DCNV3_BACKWARD_SCHEMA)
    _lib.impl("dcnv3", dcnv3_kernel, "CompositeExplicitAutograd")
    _lib.impl("dcnv3_backward", dcnv3_backward_kernel, "CompositeExplicitAutograd")


def _no_kernel(op_name):
    """A kernel for every backend the extension has none for: names the device instead of the
    dispatcher's generic 'Could not run ... with arguments from the X backend'."""

    def kernel(input, *args):
        built = "cpu, npu" if _has_npu_kernel() else "cpu"
        raise NotImplementedError(
            f"npu::{op_name} has no kernel for input on device '{input.device}' with layout {input.layout}: "
            f"this build of dcnv3_ascend has kernels for strided tensors on {built} (and meta tensors). "
            f"For npu, build it where torch_npu is importable; for other devices set {FORCE_FALLBACK_ENV}=1 "
            "to use the grid_sample fallback.")

    return kernel


def _has_npu_kernel():
    return torch._C._dispatch_has_kernel_for_dispatch_key("npu::dcnv3", "PrivateUse1")


if HAS_EXTENSION:
    _lib.impl("dcnv3", _no_kernel("dcnv3"), "CompositeExplicitAutograd")
    _lib.impl("dcnv3_backward", _no_kernel("dcnv3_backward"), "CompositeExplicitAutograd")
else:
    _register_fallback()


@torch.library.register_fake("npu::dcnv3", lib=_lib)
def _dcnv3_fake(input, offset, mask, *attrs):
    pb = _checks.check_dcnv3_args(input, offset, mask, None, *attrs)
    return input.new_empty((pb.batch, pb.height_out, pb.width_out, pb.channels))


@torch.library.register_fake("npu::dcnv3_backward", lib=_lib)
def _dcnv3_backward_fake(input, offset, mask, grad_output, *attrs):
    _checks.check_dcnv3_args(input, offset, mask, grad_output, *attrs)
    return input.new_empty(input.shape), offset.new_empty(offset.shape), mask.new_empty(mask.shape)


def _setup_context(ctx, inputs, output):
    input, offset, mask, *attrs = inputs
    ctx.save_for_backward(input, offset, mask)
    ctx.attrs = attrs


def _backward(ctx, grad_output):
    input, offset, mask = ctx.saved_tensors
    grads = torch.ops.npu.dcnv3_backward(input, offset, mask, grad_output, *ctx.attrs)
    return (*grads, *([None] * len(ctx.attrs)))


torch.library.register_autograd("npu::dcnv3", _backward, setup_context=_setup_context, lib=_lib)
