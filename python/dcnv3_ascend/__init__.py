"""DCNv3 (InternImage's deformable convolution v3) as the torch op torch.ops.npu.dcnv3.

Importing the package registers npu::dcnv3 and npu::dcnv3_backward (see _ops.py): the CPU
kernel and, when built with torch_npu, the Ascend NPU kernel; fake kernels and autograd; and the
op's ONNX node for both of torch's exporters (_onnx_node.py).
Submodules (modules, functions, compat, models, reference, fallback, sim, onnx, bench, verify, ...) load on first
use, so a missing optional piece never breaks `import dcnv3_ascend`.
"""

import importlib

import torch

from . import _checks, _onnx_node, _ops  # noqa: F401  (importing _ops registers the op and its kernels)
from ._ops import HAS_EXTENSION
from .attrs import ATTRIBUTE_IS_FLOAT, Dcnv3Attrs

# A plain torch.onnx.export of a model using the op writes its ONNX node (_onnx_node.py).
_onnx_node.register()

__version__ = "0.1.0"

__all__ = ["HAS_EXTENSION", "__version__", "dcnv3", "dcnv3_backward"]

_SUBMODULES = (
    "modules",
    "functions",
    "compat",
    "reference",
    "fallback",
    "sim",
    "bench",
    "verify",
    "models",
    "onnx",
    "backends",
    "shapes",
    "attrs",
    "plot",
)


def dcnv3(input, offset, mask, *attrs, **named_attrs):
    """DCNv3 forward: torch.ops.npu.dcnv3 with the attributes of Dcnv3Attrs (kernel_h=3,
    kernel_w=3, stride_h=1, stride_w=1, pad_h=1, pad_w=1, dilation_h=1, dilation_w=1, group=1,
    group_channels=16, offset_scale=1.0, im2col_step=256, remove_center=0), by position or by
    name, defaults taken from there. NHWC layouts:

    input [N, H, W, group*group_channels], offset [N, H_out, W_out, group*P*2] ((x, y) pairs),
    mask [N, H_out, W_out, group*P], with P = kernel_h*kernel_w - remove_center;
    returns [N, H_out, W_out, group*group_channels]. Differentiable.
    """
    return torch.ops.npu.dcnv3(input, offset, mask, *_checked_args(attrs, named_attrs))


def dcnv3_backward(input, offset, mask, grad_output, *attrs, **named_attrs):
    """Gradients of dcnv3 for grad_output: (grad_input, grad_offset, grad_mask); attributes as
    for dcnv3."""
    return torch.ops.npu.dcnv3_backward(input, offset, mask, grad_output, *_checked_args(attrs, named_attrs))


def _checked_args(attrs, named_attrs):
    """The op's attribute arguments. offset_scale must be a number: args() makes it a float, which
    would run "2" as 2.0. An integer past int64 is refused here by the op's own check, which names
    the attribute and its limit: the schema refuses it with torch's "Expected a value of type 'int'
    ... but instead found type 'int'", which says neither. The integer attributes must be integers:
    the schema truncates a float tensor, so stride_h=tensor(1.5) would run as 1. Other values are
    left to the op, which checks them all."""
    checked = Dcnv3Attrs(*attrs, **named_attrs)
    _checks.number("offset_scale", checked.offset_scale)
    for name, is_float in ATTRIBUTE_IS_FLOAT.items():
        if not is_float:
            _checks.integer(name, getattr(checked, name))
    args = checked.args()
    # validate_attrs refuses every such value, as each integer attribute is bounded by 2^63-1 or
    # less and from below by 0 or 1; only then, as the op repeats its checks anyway.
    if any(isinstance(a, int) and not -(2**63) <= a <= _checks.INT64_MAX for a in args):
        _checks.validate_attrs(checked)
    return args


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
