"""Registers npu::dcnv3, npu::dcnv3_softmax_mask and their backward ops: kernels, fake kernels
and autograd; and npu::dcnv3_dw_conv and its backward op, the modules' dw_conv branch on CPU.

npu::dcnv3_softmax_mask(input, offset, mask, ...) is npu::dcnv3(input, offset, softmax(mask))
with the softmax over each group's points (what the DCNv3 modules do), in one kernel on CPU; its
backward returns the gradient of the logits.

The schemas, the CPU/NPU kernels and the autograd formulas (dcnv3_autograd.cpp: each backward
calls its backward op, so torch.compile traces it as one op) come from the compiled extension
dcnv3_ascend._C. When it cannot be imported (or DCNV3_ASCEND_FORCE_FALLBACK=1), the same schemas
and formulas are defined here and the grid_sample fallback (fallback.py) becomes the kernel for
every device, with a one-time warning.

Registered here once, for both paths (the pytorch/extension-cpp pattern): fake kernels (output
shapes from _checks.py), for meta tensors, torch.compile and export.
"""

import importlib.util
import os
import warnings

import torch
from torch.autograd import forward_ad
from torch.nested._internal.nested_tensor import NestedTensor

from . import _checks
from ._layers import softmax_over_points
from .attrs import ATTRIBUTE_IS_FLOAT, Dcnv3Attrs

FORCE_FALLBACK_ENV = "DCNV3_ASCEND_FORCE_FALLBACK"

# "int kernel_h, ..., float offset_scale, ...", from Dcnv3Attrs as python/csrc/dcnv3_schema.cpp builds
# it from the contract; tests/test_op_fallback.py compares the two.
_ATTRS_SCHEMA = ", ".join(f"{'float' if is_float else 'int'} {name}" for name, is_float in ATTRIBUTE_IS_FLOAT.items())
DCNV3_SCHEMA = f"dcnv3(Tensor input, Tensor offset, Tensor mask, {_ATTRS_SCHEMA}) -> Tensor"
_GRADS_SCHEMA = "(Tensor grad_input, Tensor grad_offset, Tensor grad_mask)"
DCNV3_BACKWARD_SCHEMA = (
    f"dcnv3_backward(Tensor input, Tensor offset, Tensor mask, Tensor grad_output, {_ATTRS_SCHEMA}) -> {_GRADS_SCHEMA}"
)
DCNV3_SOFTMAX_MASK_SCHEMA = f"dcnv3_softmax_mask(Tensor input, Tensor offset, Tensor mask, {_ATTRS_SCHEMA}) -> Tensor"
DCNV3_SOFTMAX_MASK_BACKWARD_SCHEMA = (
    f"dcnv3_softmax_mask_backward(Tensor input, Tensor offset, Tensor mask, "
    f"Tensor grad_output, {_ATTRS_SCHEMA}) -> {_GRADS_SCHEMA}"
)
# The DCNv3 modules' dw_conv branch (depthwise conv, LayerNorm, exact GELU) on NHWC input as one
# op, and its backward (the gradients of the input and the four parameters).
_DW_CONV_PARAMS = "Tensor input, Tensor weight, Tensor bias, Tensor norm_weight, Tensor norm_bias"
DCNV3_DW_CONV_SCHEMA = f"dcnv3_dw_conv({_DW_CONV_PARAMS}, float eps) -> Tensor"
DCNV3_DW_CONV_BACKWARD_SCHEMA = (
    f"dcnv3_dw_conv_backward({_DW_CONV_PARAMS}, Tensor grad_output, float eps) -> (Tensor grad_input, "
    "Tensor grad_weight, Tensor grad_bias, Tensor grad_norm_weight, Tensor grad_norm_bias)"
)
# (forward op, its backward op) of each pair.
OP_PAIRS = (("dcnv3", "dcnv3_backward"), ("dcnv3_softmax_mask", "dcnv3_softmax_mask_backward"))
# Every op this module registers, in schema order (python/csrc/dcnv3_schema.cpp).
OP_NAMES = (*(name for pair in OP_PAIRS for name in pair), "dcnv3_dw_conv", "dcnv3_dw_conv_backward")

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
    from .fallback import dcnv3_fallback

    def dcnv3_softmax_mask_fallback(input, offset, mask, attrs):
        return dcnv3_fallback(input, offset, softmax_over_points(mask, attrs.group), attrs)

    warned = []

    def warn_once():
        if not warned:
            warned.append(True)
            warnings.warn(
                f"dcnv3_ascend: using the slow grid_sample fallback for npu::dcnv3: {FALLBACK_REASON}. "
                "Build the extension with `pip install .` (or `python setup.py build_ext --inplace`).",
                RuntimeWarning,
                stacklevel=3,
            )

    # The kernels return contiguous tensors, as the fake kernels (and the extension's) do: the
    # fallback's own strides (a permuted view; the gradients of strided inputs) failed inductor's
    # stride assertions and opcheck.
    def forward_kernel(forward):
        def kernel(input, offset, mask, *attrs):
            warn_once()
            return forward(input, offset, mask, Dcnv3Attrs(*attrs)).contiguous()

        return kernel

    def backward_kernel(forward):
        def kernel(input, offset, mask, grad_output, *attrs):
            warn_once()
            # The vector-Jacobian product of the fallback, by autograd.
            with torch.enable_grad():
                leaves = [t.detach().requires_grad_() for t in (input, offset, mask)]
                out = forward(*leaves, Dcnv3Attrs(*attrs))
                grads = torch.autograd.grad(out, leaves, grad_output, allow_unused=True)
            return tuple(t.new_zeros(t.shape) if g is None else g.contiguous() for t, g in zip(leaves, grads))

        return kernel

    for schema in (DCNV3_SCHEMA, DCNV3_BACKWARD_SCHEMA, DCNV3_SOFTMAX_MASK_SCHEMA, DCNV3_SOFTMAX_MASK_BACKWARD_SCHEMA):
        _lib.define(schema)
    for (name, backward_name), forward in zip(OP_PAIRS, (dcnv3_fallback, dcnv3_softmax_mask_fallback)):
        _lib.impl(name, forward_kernel(forward), "CompositeExplicitAutograd")
        _lib.impl(backward_name, backward_kernel(forward), "CompositeExplicitAutograd")
    _lib.define(DCNV3_DW_CONV_SCHEMA)
    _lib.define(DCNV3_DW_CONV_BACKWARD_SCHEMA)
    # The layers the op stands for; autograd goes through them here.
    _lib.impl("dcnv3_dw_conv", _dw_conv_layers, "CompositeImplicitAutograd")
    _lib.impl("dcnv3_dw_conv_backward", _dw_conv_layers_backward, "CompositeImplicitAutograd")


def _dw_conv_layers(input, weight, bias, norm_weight, norm_bias, eps):
    """npu::dcnv3_dw_conv as the module's layers compute it (NHWC in and out)."""
    _checks.check_dw_conv_args(input, weight, bias, norm_weight, norm_bias, None, eps)
    if input.numel() == 0:
        # torch's conv rejects an empty image and zero channels (groups=0). The result is empty,
        # and every parameter's gradient zero, as the extension's kernel gives them.
        return input + sum(p.sum() for p in (weight, bias, norm_weight, norm_bias)) * 0
    k = weight.shape[-1]
    x = torch.nn.functional.conv2d(
        input.permute(0, 3, 1, 2), weight, bias, padding=(k - 1) // 2, groups=weight.shape[0]
    )
    x = torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (input.shape[-1],), norm_weight, norm_bias, eps)
    return torch.nn.functional.gelu(x)


def _dw_conv_layers_backward(input, weight, bias, norm_weight, norm_bias, grad_output, eps):
    """npu::dcnv3_dw_conv_backward by autograd through the layers."""
    _checks.check_dw_conv_args(input, weight, bias, norm_weight, norm_bias, grad_output, eps)
    with torch.enable_grad():
        leaves = [t.detach().requires_grad_() for t in (input, weight, bias, norm_weight, norm_bias)]
        out = _dw_conv_layers(*leaves, eps)
        return torch.autograd.grad(out, leaves, grad_output)


def _no_kernel(op_name):
    """A kernel for every backend the extension has none for: names the argument and its device
    instead of the dispatcher's generic 'Could not run ... with arguments from the X backend'.
    The dispatcher picks the backend from all tensor arguments, so the one to blame may be any of
    them (a sparse offset, a quantized input), not necessarily `input`."""

    def kernel(*args):
        name, tensor = _argument_without_kernel(op_name, args)
        quantized = f" and quantized dtype {tensor.dtype}" if tensor.is_quantized else ""
        nested = " (a nested tensor)" if tensor.is_nested else ""
        if HAS_EXTENSION:
            built = "cpu, npu" if _has_npu_kernel(op_name) else "cpu"
            takes = (
                f"this build of dcnv3_ascend has kernels for dense strided, non-quantized tensors on {built} "
                f"(and meta tensors). For npu, build it where torch_npu is importable; for other devices set "
                f"{FORCE_FALLBACK_ENV}=1 to use the grid_sample fallback."
            )
        else:
            takes = "this build of dcnv3_ascend runs the grid_sample fallback, which takes dense strided tensors."
        raise NotImplementedError(
            f"npu::{op_name} has no kernel for {name} on device '{tensor.device}' with layout {tensor.layout}"
            f"{nested}{quantized}: {takes}"
        )

    return kernel


def _no_kernel_dispatch(op_name):
    """_no_kernel as a __torch_dispatch__ rule of a tensor subclass."""
    kernel = _no_kernel(op_name)
    return lambda mode, func, types, args, kwargs: kernel(*args)


def _argument_without_kernel(op_name, args):
    """(name, tensor) of the first tensor argument of the op that no kernel of this build takes:
    nested, not strided, quantized, or on a device other than cpu, npu and meta. The first tensor when
    none is (the dispatcher had its own reason)."""
    schema = getattr(torch.ops.npu, op_name).default._schema
    tensors = [(a.name, v) for a, v in zip(schema.arguments, args) if isinstance(v, torch.Tensor)]
    for name, t in tensors:
        if t.is_nested or t.layout != torch.strided or t.is_quantized or t.device.type not in ("cpu", "meta", "npu"):
            return name, t
    return tensors[0]


def _has_npu_kernel(op_name):
    return torch._C._dispatch_has_kernel_for_dispatch_key(f"npu::{op_name}", "PrivateUse1")


def _dcnv3_fake(input, offset, mask, *attrs):
    pb = _checks.check_dcnv3_args(input, offset, mask, None, Dcnv3Attrs(*attrs))
    return input.new_empty((pb.batch, pb.height_out, pb.width_out, pb.channels))


def _dcnv3_backward_fake(input, offset, mask, grad_output, *attrs):
    _checks.check_dcnv3_args(input, offset, mask, grad_output, Dcnv3Attrs(*attrs))
    return input.new_empty(input.shape), offset.new_empty(offset.shape), mask.new_empty(mask.shape)


def _fallback_autograd(name, backward_name):
    """The Autograd kernel of a fallback op: its backward op as the derivative, as the extension's
    C++ autograd (dcnv3_autograd.cpp) has. Not torch.library.register_autograd's, which runs the op
    without the formula unless an input requires grad: a forward-mode tangent (torch.func.jvp,
    jacfwd, torch.autograd.forward_ad) then silently came out zero. It raises instead, as the
    extension's does."""
    op = getattr(torch.ops.npu, name).default

    class Formula(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            with torch._C._AutoDispatchBelowAutograd():
                output = op(*args)
            _setup_context(ctx, args, output)
            return output

        backward = staticmethod(_backward_formula(backward_name))

    def kernel(*args):
        tensors = args[:3]
        if any(forward_ad.unpack_dual(t).tangent is not None for t in tensors):
            raise RuntimeError(
                f"npu::{name} has no forward-mode derivative: forward-mode AD (torch.func.jvp, jacfwd, "
                "torch.autograd.forward_ad) cannot pass through this op"
            )
        if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
            return Formula.apply(*args)
        with torch._C._AutoDispatchBelowAutograd():
            return op(*args)

    return kernel


def _fallback_backward_autograd(backward_name):
    """The Autograd kernel of a fallback backward op, as ApplyBackwardAutograd in
    dcnv3_autograd.cpp: called directly on tensors that require grad, its gradients raise when
    differentiated (torch's fallback for an op without one only warned, and left them None)."""
    op = getattr(torch.ops.npu, backward_name).default

    def kernel(keyset, *args):
        # A redispatch, not torch._C._AutoDispatchBelowAutograd: the fallback's backward kernel
        # runs autograd inside.
        grads = op.redispatch(keyset & torch._C._after_autograd_keyset, *args)
        return _once_differentiable(grads, args[:4], f"npu::{backward_name}")

    return kernel


def _setup_context(ctx, inputs, output):
    input, offset, mask, *attrs = inputs
    ctx.save_for_backward(input, offset, mask)
    ctx.attrs = attrs


def _backward_formula(backward_name):
    backward_op = getattr(torch.ops.npu, backward_name)

    def backward(ctx, grad_output):
        input, offset, mask = ctx.saved_tensors
        with torch.no_grad():
            grads = backward_op(input, offset, mask, grad_output, *ctx.attrs)
        grads = _once_differentiable(grads, (input, offset, mask, grad_output), f"npu::{backward_name}")
        return (*grads, *([None] * len(ctx.attrs)))

    return backward


def _once_differentiable(grads, depends_on, backward_op):
    """The gradients as dcnv3_autograd.cpp's OnceDifferentiable returns them: under create_graph,
    from a node that raises when a second-order gradient reaches it (the backward ops have no
    derivative) and whose inputs include what they depend on, instead of silently lacking one."""
    if not torch.is_grad_enabled() or not any(t.requires_grad for t in depends_on):
        return grads
    error = torch._C._functions.DelayedError(
        f"{backward_op} has no derivative: a second-order gradient (create_graph=True, e.g. a gradient penalty) "
        "cannot pass through this op",
        len(grads) + len(depends_on),
    )
    return error(*grads, *depends_on)[: len(grads)]


def _dw_conv_fake(input, weight, bias, norm_weight, norm_bias, eps):
    _checks.check_dw_conv_args(input, weight, bias, norm_weight, norm_bias, None, eps)
    return input.new_empty(input.shape)


def _dw_conv_backward_fake(input, weight, bias, norm_weight, norm_bias, grad_output, eps):
    _checks.check_dw_conv_args(input, weight, bias, norm_weight, norm_bias, grad_output, eps)
    return tuple(t.new_empty(t.shape) for t in (input, weight, bias, norm_weight, norm_bias))


if not HAS_EXTENSION:
    _register_fallback()
else:
    torch.library.register_fake("npu::dcnv3_dw_conv", _dw_conv_fake, lib=_lib)
    torch.library.register_fake("npu::dcnv3_dw_conv_backward", _dw_conv_backward_fake, lib=_lib)
    for _name in OP_NAMES:
        _lib.impl(_name, _no_kernel(_name), "CompositeExplicitAutograd")
# Nested tensors reach neither the kernels nor the fallback: the strided ones dispatch to the
# nested keys below (with grad, the autograd kernel would call sizes() on them and fail with
# "NestedTensorImpl doesn't support sizes"), the jagged ones to their tensor subclass. The
# fallback's registration covers every backend, so sparse and MKL-DNN tensors, which would fail
# inside it ("reshape is not implemented for sparse tensors"), are refused too.
_NO_KERNEL_KEYS = ("AutogradNestedTensor", "NestedTensorCPU", "NestedTensorMeta", "NestedTensorPrivateUse1")
if not HAS_EXTENSION:
    _NO_KERNEL_KEYS += ("SparseCPU", "SparseCUDA", "SparseCsrCPU", "SparseCsrCUDA", "MkldnnCPU")
for _name in OP_NAMES:
    for _key in _NO_KERNEL_KEYS:
        _lib.impl(_name, _no_kernel(_name), _key)
    torch.library.register_torch_dispatch(f"npu::{_name}", NestedTensor, _no_kernel_dispatch(_name), lib=_lib)
for _name, _backward_name in OP_PAIRS:
    if not HAS_EXTENSION:
        # The extension registers the same formula in C++ (dcnv3_autograd.cpp).
        _lib.impl(_name, _fallback_autograd(_name, _backward_name), "Autograd")
        _lib.impl(_backward_name, _fallback_backward_autograd(_backward_name), "Autograd", with_keyset=True)
    torch.library.register_fake(f"npu::{_name}", _dcnv3_fake, lib=_lib)
    torch.library.register_fake(f"npu::{_backward_name}", _dcnv3_backward_fake, lib=_lib)
