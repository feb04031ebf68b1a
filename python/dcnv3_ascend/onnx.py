"""ONNX export of models that use npu::dcnv3 (dcnv3_ascend.modules.DCNv3, DCNv3Function, ...).

Each call of torch.ops.npu.dcnv3 becomes ONE custom-domain node with inputs (input, offset, mask)
in NHWC, one output, and InternImage's 13 attributes (kernel_h, kernel_w, stride_h, stride_w,
pad_h, pad_w, dilation_h, dilation_w, group, group_channels: INT; offset_scale: FLOAT;
im2col_step, remove_center: INT). Two node forms, chosen with `node_form`:

  "dcnv3_ascend" (default)  domain dcnv3_ascend (opset 1), type Dcnv3: this package's own node,
                            named after the Ascend OpType it maps to.
  "mmdeploy"                domain mmdeploy (opset 1), type TRTDCNv3: what InternImage's own
                            DCNv3Function.symbolic writes (mmdeploy's TensorRT plugin reads it).

ATC (framework/onnx_plugin) accepts both. ATC also refuses a model that imports a second opset
while its ordinary nodes have no domain (error E16005), which every exported model does; run
`python -m dcnv3_ascend.onnx --for-atc model.onnx model_atc.onnx` (for_atc below) first.

Usage:
    import dcnv3_ascend.onnx
    dcnv3_ascend.onnx.export(model, (x,), "model.onnx")                 # torch.onnx.export, dynamo=True
    dcnv3_ascend.onnx.export(model, (x,), "model.onnx", dynamo=False)   # legacy TorchScript exporter
    torch.onnx.export(model, (x,), "model.onnx",
                      custom_translation_table=dcnv3_ascend.onnx.custom_translation_table())
"""
import argparse
import dataclasses
import sys

import onnx
import torch

from .attrs import Dcnv3Attrs

# Version of our node's domain (ATC's plugin registers "<domain>::1::<type>").
OPSET_VERSION = 1
# The TorchScript symbolic is registered from this ai.onnx opset up, i.e. for every opset that
# exporter supports (ATC documents opsets 9 to 15, so older opsets matter there).
TORCHSCRIPT_MIN_OPSET = 9


@dataclasses.dataclass(frozen=True)
class NodeForm:
    domain: str
    op_type: str


NODE_FORMS = {
    "dcnv3_ascend": NodeForm("dcnv3_ascend", "Dcnv3"),
    "mmdeploy": NodeForm("mmdeploy", "TRTDCNv3"),
}

# (name, is_float) of the 13 attributes, in npu::dcnv3's order.
ATTRIBUTES = tuple((f.name, f.type is float or f.type == "float") for f in dataclasses.fields(Dcnv3Attrs))


def _form(node_form):
    if node_form not in NODE_FORMS:
        raise ValueError(f"node_form must be one of {', '.join(NODE_FORMS)}, got {node_form!r}")
    return NODE_FORMS[node_form]


def _attribute_values(values):
    """{name: int or float} of the schema-ordered attribute values, typed as the node wants them."""
    return {name: float(v) if is_float else int(v) for (name, is_float), v in zip(ATTRIBUTES, values)}


def register_onnx_schema(node_form="dcnv3_ascend"):
    """Registers the node's OpSchema with the onnx package (once per process), so onnxscript can
    build it and onnx.checker validates its inputs, outputs and attribute types."""
    form = _form(node_form)
    if onnx.defs.has(form.op_type, OPSET_VERSION, form.domain):
        return
    schema = onnx.defs.OpSchema
    attr_type = schema.AttrType
    schema_obj = schema(
        form.op_type, form.domain, OPSET_VERSION,
        doc="DCNv3 (InternImage's deformable convolution v3) sampling, NHWC: input [N, H, W, group*group_channels], "
            "offset [N, H_out, W_out, group*P*2], mask [N, H_out, W_out, group*P] -> [N, H_out, W_out, "
            "group*group_channels], P = kernel_h*kernel_w - remove_center.",
        inputs=[schema.FormalParameter(name, "T") for name in ("input", "offset", "mask")],
        outputs=[schema.FormalParameter("output", "T")],
        type_constraints=[("T", ["tensor(float)", "tensor(float16)", "tensor(bfloat16)", "tensor(double)"],
                           "floating-point tensors, all of one type")],
        attributes=[schema.Attribute(name, attr_type.FLOAT if is_float else attr_type.INT, name, required=True)
                    for name, is_float in ATTRIBUTES],
    )
    onnx.defs.register_schema(schema_obj)


def custom_translation_table(node_form="dcnv3_ascend"):
    """{torch.ops.npu.dcnv3.default: translation} for torch.onnx.export(..., dynamo=True)."""
    import onnxscript

    form = _form(node_form)
    register_onnx_schema(node_form)
    opset = onnxscript.values.Opset(form.domain, OPSET_VERSION)
    node = getattr(opset, form.op_type)

    def dcnv3_to_onnx(input, offset, mask, *attribute_values):
        return node(input, offset, mask, **_attribute_values(attribute_values))

    return {torch.ops.npu.dcnv3.default: dcnv3_to_onnx}


def register_torchscript_symbolic(node_form="dcnv3_ascend"):
    """Registers the npu::dcnv3 symbolic for torch.onnx.export(..., dynamo=False), every opset."""
    from torch.onnx import symbolic_helper

    form = _form(node_form)

    def dcnv3_symbolic(g, input, offset, mask, *attribute_nodes):
        # The attributes reach the symbolic as TorchScript constants; g.op takes typed attributes
        # as name_f=float / name_i=int.
        values = [symbolic_helper._get_const(node, "f" if is_float else "i", name)
                  for (name, is_float), node in zip(ATTRIBUTES, attribute_nodes)]
        attributes = {f"{name}_{'f' if is_float else 'i'}": value
                      for (name, is_float), value in zip(ATTRIBUTES, _attribute_values(values).values())}
        output = g.op(f"{form.domain}::{form.op_type}", input, offset, mask, **attributes)
        sizes = symbolic_helper._get_tensor_sizes(input)
        if sizes is not None and all(isinstance(s, int) for s in sizes[1:3]):
            attrs = Dcnv3Attrs(*values)
            height_out, width_out = attrs.output_size(sizes[1], sizes[2])
            output.setType(input.type().with_sizes([sizes[0], height_out, width_out, sizes[3]]))
        return output

    torch.onnx.register_custom_op_symbolic("npu::dcnv3", dcnv3_symbolic, TORCHSCRIPT_MIN_OPSET)


def export(model, args, f=None, *, node_form="dcnv3_ascend", dynamo=True, **kwargs):
    """torch.onnx.export with npu::dcnv3 exported as one node of `node_form` per call.

    Other keyword arguments go to torch.onnx.export unchanged. Returns what it returns (an
    ONNXProgram for dynamo=True).
    """
    form = _form(node_form)
    if dynamo:
        table = dict(kwargs.pop("custom_translation_table", None) or {})
        table.update(custom_translation_table(node_form))
        return torch.onnx.export(model, args, f, dynamo=True, custom_translation_table=table, **kwargs)
    register_torchscript_symbolic(node_form)
    custom_opsets = dict(kwargs.pop("custom_opsets", None) or {})
    custom_opsets[form.domain] = OPSET_VERSION
    return torch.onnx.export(model, args, f, dynamo=False, custom_opsets=custom_opsets, **kwargs)


def is_dcnv3_node(node):
    """True for a DCNv3 node of either form, in its own domain or (after for_atc) the default one."""
    return any(node.op_type == form.op_type and node.domain in (form.domain, "", "ai.onnx")
               for form in NODE_FORMS.values())


def for_atc(model):
    """A copy of `model` that ATC can parse: DCNv3 nodes (either form) move into the default
    domain and only the default opset stays imported (the ONNX plugin registers
    ai.onnx::<opset>::Dcnv3 and ::TRTDCNv3 for this). Nodes of any other custom domain are an
    error, since ATC could not parse them either way."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    others = sorted({f"{n.domain}::{n.op_type}" for n in out.graph.node
                     if n.domain not in ("", "ai.onnx") and not is_dcnv3_node(n)})
    if others:
        raise ValueError(f"the model has custom-domain nodes other than DCNv3 ({', '.join(others)}); "
                         f"ATC accepts only one imported opset when ordinary nodes have no domain")
    for node in out.graph.node:
        if is_dcnv3_node(node):
            node.domain = ""
    default = [o for o in out.opset_import if o.domain in ("", "ai.onnx")]
    del out.opset_import[:]
    out.opset_import.extend(default)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dcnv3_ascend.onnx",
                                     description="Rewrite an exported DCNv3 ONNX model for ATC (see for_atc).")
    parser.add_argument("--for-atc", nargs=2, metavar=("IN", "OUT"), required=True,
                        help="read IN, write the ATC-parsable model to OUT")
    args = parser.parse_args(argv)
    source, target = args.for_atc
    try:
        model = for_atc(onnx.load(source))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    onnx.save(model, target)
    count = sum(is_dcnv3_node(n) for n in model.graph.node)
    print(f"{target}: {count} DCNv3 node(s) in the default domain, opset {model.opset_import[0].version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
