"""ONNX export of models that use npu::dcnv3 (dcnv3_ascend.modules.DCNv3, DCNv3Function, ...).

Importing dcnv3_ascend registers the op's ONNX node with both of torch's exporters
(_onnx_node.py), so the usual call works unchanged:

    torch.onnx.export(model, (x,), "model.onnx")                  # dynamo exporter (torch >= 2.8)
    torch.onnx.export(model, (x,), "model.onnx", dynamo=False)    # TorchScript exporter

Each call of torch.ops.npu.dcnv3 becomes ONE custom-domain node with inputs (input, offset, mask)
in NHWC, one output, and InternImage's 13 attributes under their names (the fields of
dcnv3_ascend.attrs.Dcnv3Attrs; offset_scale is a FLOAT, the others are INT). Two node forms:

  "dcnv3_ascend" (default)  domain dcnv3_ascend (opset 1), type Dcnv3: this package's own node,
                            named after the Ascend OpType it maps to.
  "mmdeploy"                domain mmdeploy (opset 1), type TRTDCNv3: what InternImage's own
                            DCNv3Function.symbolic writes (mmdeploy's TensorRT plugin reads it).

export(..., node_form="mmdeploy") below (or `with node_form("mmdeploy"):` around a plain call)
writes the second. ATC (framework/onnx_plugin) accepts both. ATC also refuses a model that imports
a second opset while its ordinary nodes have no domain (error E16005), which every exported model
does; run `python -m dcnv3_ascend.onnx --for-atc model.onnx model_atc.onnx` (for_atc below) first.
"""

import argparse
import os
import sys

import torch

from . import _onnx_node
from ._cli import check_output_file
from ._onnx_node import NODE_FORMS, OPSET_VERSION, get_node_form, node_form
from ._optional_deps import require
from .attrs import ATTRIBUTE_IS_FLOAT

onnx = require("onnx", "dcnv3_ascend.onnx")

__all__ = ["NODE_FORMS", "OPSET_VERSION", "export", "for_atc", "is_dcnv3_node", "node_form", "register_onnx_schema"]


def register_onnx_schema(form_name="dcnv3_ascend"):
    """Registers the node's OpSchema with the onnx package (once per process), so that
    onnx.checker validates its inputs, outputs and attribute types."""
    form = get_node_form(form_name)
    if onnx.defs.has(form.op_type, OPSET_VERSION, form.domain):
        return
    schema = onnx.defs.OpSchema
    attr_type = schema.AttrType
    schema_obj = schema(
        form.op_type,
        form.domain,
        OPSET_VERSION,
        doc="DCNv3 (InternImage's deformable convolution v3) sampling, NHWC: input [N, H, W, group*group_channels], "
        "offset [N, H_out, W_out, group*P*2], mask [N, H_out, W_out, group*P] -> [N, H_out, W_out, "
        "group*group_channels], P = kernel_h*kernel_w - remove_center.",
        inputs=[schema.FormalParameter(name, "T") for name in ("input", "offset", "mask")],
        outputs=[schema.FormalParameter("output", "T")],
        type_constraints=[
            (
                "T",
                ["tensor(float)", "tensor(float16)", "tensor(bfloat16)", "tensor(double)"],
                "floating-point tensors, all of one type",
            )
        ],
        attributes=[
            schema.Attribute(name, attr_type.FLOAT if is_float else attr_type.INT, name, required=True)
            for name, is_float in ATTRIBUTE_IS_FLOAT.items()
        ],
    )
    onnx.defs.register_schema(schema_obj)


def export(model, args, f=None, *, node_form="dcnv3_ascend", dynamo=True, **kwargs):
    """torch.onnx.export with npu::dcnv3 written as node form `node_form` ("dcnv3_ascend" or
    "mmdeploy"). Other keyword arguments go to torch.onnx.export unchanged; returns what it
    returns (an ONNXProgram for dynamo=True)."""
    with _onnx_node.node_form(node_form):
        return torch.onnx.export(model, args, f, dynamo=dynamo, **kwargs)


def is_dcnv3_node(node):
    """True for a DCNv3 node of either form, in its own domain or (after for_atc) the default one."""
    return any(
        node.op_type == form.op_type and node.domain in (form.domain, "", "ai.onnx") for form in NODE_FORMS.values()
    )


def _all_nodes(graph):
    """The nodes of `graph` and of every subgraph below it (the bodies of If, Loop, Scan), since
    the opset imports that for_atc rewrites hold for those too."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.HasField("g") else attribute.graphs:
                yield from _all_nodes(subgraph)


def for_atc(model):
    """A copy of `model` that ATC can parse: DCNv3 nodes (either form, also inside If, Loop and
    Scan bodies) move into the default domain and only the default opset stays imported (the
    ONNX plugin registers ai.onnx::<opset>::Dcnv3 and ::TRTDCNv3 for this). Nodes of any other
    custom domain are an error, since ATC could not parse them either way."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    others = sorted(
        {
            f"{n.domain}::{n.op_type}"
            for n in _all_nodes(out.graph)
            if n.domain not in ("", "ai.onnx") and not is_dcnv3_node(n)
        }
    )
    if others:
        raise ValueError(
            f"the model has custom-domain nodes other than DCNv3 ({', '.join(others)}); "
            f"ATC accepts only one imported opset when ordinary nodes have no domain"
        )
    for node in _all_nodes(out.graph):
        if is_dcnv3_node(node):
            node.domain = ""
    default = [o for o in out.opset_import if o.domain in ("", "ai.onnx")]
    del out.opset_import[:]
    out.opset_import.extend(default)
    return out


def _load_model(path):
    """onnx.load(path); ValueError saying why when the file is missing or not an ONNX model."""
    from google.protobuf.message import DecodeError  # protobuf comes with onnx, an optional dependency

    if not path:
        raise ValueError("the file name is empty")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory, not an ONNX file")
    try:
        model = onnx.load(path)
    except FileNotFoundError:
        raise ValueError(f"{path!r} does not exist") from None
    except OSError as error:
        raise ValueError(f"cannot read {path!r}: {error.strerror}") from None
    except DecodeError:
        raise ValueError(f"{path!r} is not an ONNX model (protobuf cannot parse it)") from None
    # Protobuf reads an empty file (and some other bytes) as an empty message, without an error.
    if not model.HasField("graph") or not any(o.domain in ("", "ai.onnx") for o in model.opset_import):
        raise ValueError(f"{path!r} is not an ONNX model (no graph or no default-domain opset import)")
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m dcnv3_ascend.onnx", description="Rewrite an exported DCNv3 ONNX model for ATC (see for_atc)."
    )
    parser.add_argument(
        "--for-atc", nargs=2, metavar=("IN", "OUT"), required=True, help="read IN, write the ATC-parsable model to OUT"
    )
    args = parser.parse_args(argv)
    source, target = args.for_atc
    try:
        check_output_file(target)
    except ValueError as error:
        parser.error(f"--for-atc OUT: {error}")
    try:
        model = for_atc(_load_model(source))
    except ValueError as error:
        parser.error(f"--for-atc IN: {error}")
    onnx.save(model, target)
    count = sum(is_dcnv3_node(n) for n in _all_nodes(model.graph))
    print(f"{target}: {count} DCNv3 node(s) in the default domain, opset {model.opset_import[0].version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
