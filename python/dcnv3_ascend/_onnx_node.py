"""The ONNX node of npu::dcnv3, registered with both of torch's exporters when dcnv3_ascend is
imported, so that a plain `torch.onnx.export(model, args, f)` writes it (with or without dynamo).

Each call becomes ONE custom-domain node with inputs (input, offset, mask) in NHWC, one output,
and InternImage's 13 attributes named as in Dcnv3Attrs (offset_scale FLOAT, the others INT).

  dynamo exporter (torch >= 2.8)  the exporter decomposes every op it has no ONNX function for
      with torch's decomposition table; ours for npu::dcnv3 rewrites it, during torch.onnx.export
      only, into torch.onnx.ops.symbolic, torch's public way for an op to describe its own node.
      Outside an ONNX export it keeps the op (torch.export, torch.compile and make_fx see
      npu::dcnv3 unchanged).
  TorchScript exporter (dynamo=False)  a symbolic registered for npu::dcnv3 from opset 9 up
      (ATC documents ONNX opsets 9 to 15).

Only torch is needed here; the onnx package is needed by the exporters themselves, not by import.
"""

import contextlib
import dataclasses

import torch

from . import _ops
from .attrs import ATTRIBUTE_IS_FLOAT, Dcnv3Attrs

# Version of our node's domain (ATC's plugin registers "<domain>::1::<type>").
OPSET_VERSION = 1
TORCHSCRIPT_MIN_OPSET = 9


@dataclasses.dataclass(frozen=True)
class NodeForm:
    domain: str
    op_type: str


NODE_FORMS = {
    # This package's own node, named after the Ascend OpType it maps to.
    "dcnv3_ascend": NodeForm("dcnv3_ascend", "Dcnv3"),
    # What InternImage's DCNv3Function.symbolic writes (mmdeploy's TensorRT plugin reads it).
    "mmdeploy": NodeForm("mmdeploy", "TRTDCNv3"),
}
DEFAULT_NODE_FORM = "dcnv3_ascend"

# The form both exporters write now; node_form() changes it for the length of a `with` block.
_current_form = [NODE_FORMS[DEFAULT_NODE_FORM]]


def get_node_form(name):
    """The NodeForm called `name`; ValueError naming the choices otherwise."""
    # A str test first: `in` on the dict raises an unnamed TypeError for a list or other unhashable.
    if not isinstance(name, str) or name not in NODE_FORMS:
        raise ValueError(f"node_form must be one of {', '.join(NODE_FORMS)}, got {name!r}")
    return NODE_FORMS[name]


@contextlib.contextmanager
def node_form(name):
    """Within the block, exports write DCNv3 as node form `name` ("dcnv3_ascend" or "mmdeploy")."""
    form = get_node_form(name)
    _current_form.append(form)
    try:
        yield form
    finally:
        _current_form.pop()


def node_attributes(attrs):
    """{name: value} of a Dcnv3Attrs, each value typed as the node stores it (int or float)."""
    return {
        name: float(value) if ATTRIBUTE_IS_FLOAT[name] else int(value)
        for name, value in dataclasses.asdict(attrs).items()
    }


def _dcnv3_decomposition(input, offset, mask, *attribute_values):
    if not torch.onnx.is_in_onnx_export():
        # FakeTensorMode itself (not a tracer above it) consults torch's decomposition table
        # before an op's fake kernel when shapes are symbolic (torch.compile(dynamic=True)), and
        # takes any answer: give it the fake kernel's. A tracer (make_fx, run_decompositions)
        # takes NotImplemented as "keep the op".
        modes = torch._C._TorchDispatchModeKey
        if torch._C._get_dispatch_mode(modes.FAKE) is not None and torch._C._get_dispatch_mode(modes.PROXY) is None:
            return _ops._dcnv3_fake(input, offset, mask, *attribute_values)
        return NotImplemented
    attrs = Dcnv3Attrs(*attribute_values)
    form = _current_form[-1]
    height_out, width_out = attrs.output_size(input.shape[1], input.shape[2])
    return torch.onnx.ops.symbolic(
        f"{form.domain}::{form.op_type}",
        (input, offset, mask),
        node_attributes(attrs),
        dtype=input.dtype,
        shape=(input.shape[0], height_out, width_out, input.shape[3]),
        version=OPSET_VERSION,
    )


def _dcnv3_torchscript_symbolic(g, input, offset, mask, *attribute_nodes):
    from torch.onnx import symbolic_helper

    # The attributes reach the symbolic as TorchScript constants.
    attrs = Dcnv3Attrs(
        *(
            symbolic_helper._get_const(node, "f" if ATTRIBUTE_IS_FLOAT[name] else "i", name)
            for name, node in zip(ATTRIBUTE_IS_FLOAT, attribute_nodes)
        )
    )
    form = _current_form[-1]
    # g.op takes typed attributes as name_f=float / name_i=int.
    typed = {
        f"{name}_{'f' if ATTRIBUTE_IS_FLOAT[name] else 'i'}": value for name, value in node_attributes(attrs).items()
    }
    output = g.op(f"{form.domain}::{form.op_type}", input, offset, mask, **typed)
    sizes = symbolic_helper._get_tensor_sizes(input)
    if sizes is not None:
        # A dynamic axis (None) stays unknown in the output, but its type, rank and channels are
        # still written: without them the exporter names every output dimension afresh.
        height_out, width_out = (None, None) if None in sizes[1:3] else attrs.output_size(sizes[1], sizes[2])
        output.setType(input.type().with_sizes([sizes[0], height_out, width_out, sizes[3]]))
    return output


def register():
    """Registers the node with both exporters (once, from dcnv3_ascend's import)."""
    if hasattr(torch.onnx, "ops") and hasattr(torch.onnx.ops, "symbolic"):
        torch._decomp.register_decomposition(torch.ops.npu.dcnv3.default)(_dcnv3_decomposition)
    torch.onnx.register_custom_op_symbolic("npu::dcnv3", _dcnv3_torchscript_symbolic, TORCHSCRIPT_MIN_OPSET)
