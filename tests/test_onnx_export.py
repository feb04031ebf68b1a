"""ONNX export: a plain torch.onnx.export (dynamo, and TorchScript at opsets 11, 13 and 17) turns
every DCNv3 layer into one dcnv3_ascend::Dcnv3 node with InternImage's attributes, for every
option of the DCNv3 module; dcnv3_ascend.onnx.export writes InternImage's mmdeploy::TRTDCNv3
instead. Every exported model runs in onnxruntime (our op as an onnxruntime-extensions Python
custom op) and matches torch. Then the rewrite for ATC and its command line."""

import io
import re
import subprocess
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnxruntime_extensions import PyCustomOpDef, get_library_path, onnx_op

import dcnv3_ascend.onnx as dcnv3_onnx
from dcnv3_ascend.attrs import ATTRIBUTE_IS_FLOAT, Dcnv3Attrs
from dcnv3_ascend.modules import DCNv3

# One layer per group of module options, with different attributes each, so that an option that
# breaks the export, or a swapped or dropped attribute, shows.
LAYERS = (
    dict(channels=24, kernel_size=3, pad=2, dilation=2, group=3, offset_scale=0.5),
    dict(channels=24, kernel_size=5, pad=2, group=2, offset_scale=2.0, remove_center=True),
    dict(channels=24, group=6, dw_kernel_size=5, norm_layer="BN", act_layer="ReLU"),
    # Last: ONNX shape inference cannot follow the TorchScript exporter's repeat_interleave at
    # opset 11, so shapes after this layer would be unknown to test_node_tensor_shapes.
    dict(channels=24, group=4, center_feature_scale=True),
)
BATCH, HEIGHT, WIDTH = 2, 9, 7
IM2COL_STEP = 256  # what InternImage's DCNv3 module passes

# (node form, exporter): the default form through torch.onnx.export itself, the mmdeploy form
# through dcnv3_ascend.onnx.export. An int exporter is the TorchScript exporter at that opset.
EXPORTS = [
    ("dcnv3_ascend", "dynamo"),
    ("dcnv3_ascend", 11),
    ("dcnv3_ascend", 13),
    ("dcnv3_ascend", 17),
    ("mmdeploy", "dynamo"),
    ("mmdeploy", 13),
]


def expected_attributes(layer):
    k, group = layer.get("kernel_size", 3), layer["group"]
    pad, dilation = layer.get("pad", 1), layer.get("dilation", 1)
    return dict(
        kernel_h=k,
        kernel_w=k,
        stride_h=1,
        stride_w=1,
        pad_h=pad,
        pad_w=pad,
        dilation_h=dilation,
        dilation_w=dilation,
        group=group,
        group_channels=layer["channels"] // group,
        offset_scale=layer.get("offset_scale", 1.0),
        im2col_step=IM2COL_STEP,
        remove_center=int(layer.get("remove_center", False)),
    )


@pytest.fixture(scope="module")
def model_and_input():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # group_channels that are not powers of 2
        model = torch.nn.Sequential(*(DCNv3(**layer) for layer in LAYERS)).eval()
    # Non-zero offsets (samples cross pixels and the border) and centre-feature-scale gates.
    for layer in model:
        torch.nn.init.normal_(layer.offset.weight, std=0.5)
        torch.nn.init.normal_(layer.mask.weight, std=0.5)
        if layer.center_feature_scale:
            torch.nn.init.normal_(layer.center_feature_scale_proj_weight, std=0.5)
    return model, torch.randn(BATCH, HEIGHT, WIDTH, LAYERS[0]["channels"])


def export(model, x, node_form, exporter):
    """The ModelProto of one export; node_form 'dcnv3_ascend' uses the plain torch.onnx.export."""
    plain = node_form == "dcnv3_ascend"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation warnings
        if exporter == "dynamo":
            if plain:
                return torch.onnx.export(model, (x,)).model_proto
            return dcnv3_onnx.export(model, (x,), node_form=node_form).model_proto
        f = io.BytesIO()
        if plain:
            torch.onnx.export(model, (x,), f, dynamo=False, opset_version=exporter)
        else:
            dcnv3_onnx.export(model, (x,), f, node_form=node_form, dynamo=False, opset_version=exporter)
        return onnx.load_from_string(f.getvalue())


def export_id(param):
    form, exporter = param
    return f"{form}-{'dynamo' if exporter == 'dynamo' else f'torchscript{exporter}'}"


@pytest.fixture(scope="module", params=EXPORTS, ids=export_id)
def exported(request, model_and_input):
    node_form, exporter = request.param
    model, x = model_and_input
    return node_form, export(model, x, node_form, exporter)


def dcnv3_nodes(model):
    return [n for n in model.graph.node if dcnv3_onnx.is_dcnv3_node(n)]


def tensor_shapes(model):
    """name -> dims of every tensor whose shape the model records."""
    inferred = onnx.shape_inference.infer_shapes(model)
    infos = list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    return {
        vi.name: [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        for vi in infos
    }


def test_one_node_per_layer_with_internimage_attributes(exported):
    node_form, model = exported
    # With the node's schema registered, the checker also validates its attribute types.
    dcnv3_onnx.register_onnx_schema(node_form)
    onnx.checker.check_model(model, full_check=True)
    form = dcnv3_onnx.NODE_FORMS[node_form]
    nodes = dcnv3_nodes(model)
    assert len(nodes) == len(LAYERS)
    assert {(o.domain, o.version) for o in model.opset_import if o.domain == form.domain} == {(form.domain, 1)}
    for node, layer in zip(nodes, LAYERS):
        assert (node.domain, node.op_type) == (form.domain, form.op_type)
        assert len(node.input) == 3 and len(node.output) == 1
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        types = {a.name: a.type for a in node.attribute}
        expected = expected_attributes(layer)
        assert attrs == pytest.approx(expected)
        assert types == {
            name: onnx.AttributeProto.FLOAT if name == "offset_scale" else onnx.AttributeProto.INT for name in expected
        }


def test_node_tensor_shapes(exported):
    _, model = exported
    shapes = tensor_shapes(model)
    for node, layer in zip(dcnv3_nodes(model), LAYERS):
        attrs = Dcnv3Attrs(**expected_attributes(layer))
        channels = layer["channels"]
        assert [shapes.get(name) for name in node.input] == [
            [BATCH, HEIGHT, WIDTH, channels],
            [BATCH, HEIGHT, WIDTH, attrs.group * attrs.points * 2],
            [BATCH, HEIGHT, WIDTH, attrs.group * attrs.points],
        ]
        assert shapes.get(node.output[0]) == [BATCH, HEIGHT, WIDTH, channels]


# onnxruntime-extensions runs Python custom ops in its own domain; they call our torch op with the
# node's attributes, so the exported wiring (inputs, attribute values and order) is what is tested.
ORT_DOMAIN = "ai.onnx.contrib"
ORT_ATTRS = {
    name: PyCustomOpDef.dt_float if is_float else PyCustomOpDef.dt_int64
    for name, is_float in ATTRIBUTE_IS_FLOAT.items()
}


def run_dcnv3_from_ort(input, offset, mask, **attrs):
    return torch.ops.npu.dcnv3(
        torch.from_numpy(input), torch.from_numpy(offset), torch.from_numpy(mask), *Dcnv3Attrs(**attrs).args()
    ).numpy()


for _form in dcnv3_onnx.NODE_FORMS.values():
    onnx_op(
        op_type=_form.op_type, inputs=[PyCustomOpDef.dt_float] * 3, outputs=[PyCustomOpDef.dt_float], attrs=ORT_ATTRS
    )(run_dcnv3_from_ort)


def in_ort_domain(model):
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for node in dcnv3_nodes(out):
        node.domain = ORT_DOMAIN
    for opset in out.opset_import:
        if opset.domain in {f.domain for f in dcnv3_onnx.NODE_FORMS.values()}:
            opset.domain = ORT_DOMAIN
    return out


def test_exported_model_runs_in_onnxruntime_and_matches_torch(exported, model_and_input):
    _, model = exported
    torch_model, x = model_and_input
    options = ort.SessionOptions()
    options.register_custom_ops_library(get_library_path())
    session = ort.InferenceSession(
        in_ort_domain(model).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    (result,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = torch_model(x).numpy()
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-5)


def test_node_form_lasts_for_its_block_only(model_and_input):
    model, x = model_and_input
    with dcnv3_onnx.node_form("mmdeploy"):
        inside = export(model[:1], x, "dcnv3_ascend", 13)
    after = export(model[:1], x, "dcnv3_ascend", 13)
    assert [n.op_type for n in dcnv3_nodes(inside)] == ["TRTDCNv3"]
    assert [n.op_type for n in dcnv3_nodes(after)] == ["Dcnv3"]


def test_the_op_is_unchanged_outside_onnx_export(model_and_input):
    # The decomposition that writes the ONNX node applies during torch.onnx.export only.
    model, x = model_and_input
    program = torch.export.export(model[:1], (x,)).run_decompositions(torch._decomp.decomposition_table)
    targets = [n.target for n in program.graph.nodes if n.op == "call_function"]
    assert torch.ops.npu.dcnv3.default in targets
    assert not any("onnx_symbolic" in str(t) for t in targets)


def test_for_atc_moves_dcnv3_nodes_into_the_single_default_opset(exported):
    _, model = exported
    atc = dcnv3_onnx.for_atc(model)
    assert [o.domain for o in atc.opset_import] == [""]
    assert [o.version for o in atc.opset_import] == [o.version for o in model.opset_import if o.domain == ""]
    assert [(n.domain, n.op_type) for n in atc.graph.node] == [
        ("" if dcnv3_onnx.is_dcnv3_node(n) else n.domain, n.op_type) for n in model.graph.node
    ]
    assert len(dcnv3_nodes(atc)) == len(LAYERS)
    # The input model is left as it was.
    assert {n.domain for n in dcnv3_nodes(model)} != {""}


def test_for_atc_rejects_other_custom_domains():
    node = onnx.helper.make_node("Foo", ["x"], ["y"], domain="other.domain")
    graph = onnx.helper.make_graph(
        [node],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", 17), onnx.helper.make_opsetid("other.domain", 1)]
    )
    with pytest.raises(ValueError, match=r"other\.domain::Foo"):
        dcnv3_onnx.for_atc(model)


def test_for_atc_command_line(tmp_path, model_and_input):
    model, x = model_and_input
    source, target = tmp_path / "model.onnx", tmp_path / "model_atc.onnx"
    onnx.save(export(model, x, "dcnv3_ascend", 17), source)
    result = subprocess.run(
        [sys.executable, "-m", "dcnv3_ascend.onnx", "--for-atc", str(source), str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{len(LAYERS)} DCNv3 node(s) in the default domain" in result.stdout
    written = onnx.load(target)
    assert [o.domain for o in written.opset_import] == [""]
    assert [n.domain for n in dcnv3_nodes(written)] == [""] * len(LAYERS)


@pytest.mark.parametrize("name", ["trt", ["mmdeploy"], None])
def test_unknown_node_form_is_an_error(name, model_and_input):
    model, x = model_and_input
    with pytest.raises(ValueError, match=re.escape(f"node_form must be one of dcnv3_ascend, mmdeploy, got {name!r}")):
        dcnv3_onnx.export(model, (x,), node_form=name)


def _identity_model(path):
    """A valid one-node ONNX file (no DCNv3 node) at `path`."""
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), path)
    return str(path)


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing.onnx", "'{path}' does not exist"),
        (".", "'{path}' is a directory, not an ONNX file"),
        ("", "the file name is empty"),
        ("text.onnx", "'{path}' is not an ONNX model (protobuf cannot parse it)"),
        ("empty.onnx", "'{path}' is not an ONNX model (no graph or no default-domain opset import)"),
    ],
)
def test_for_atc_command_line_refuses_bad_input(name, message, tmp_path, capsys):
    (tmp_path / "text.onnx").write_text("not a model")
    (tmp_path / "empty.onnx").write_bytes(b"")  # protobuf reads it as an empty ModelProto
    source, target = str(tmp_path / name) if name else "", tmp_path / "out.onnx"
    with pytest.raises(SystemExit) as exit_info:
        dcnv3_onnx.main(["--for-atc", source, str(target)])
    assert exit_info.value.code == 2
    assert "--for-atc IN: " + message.format(path=source) in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize(
    "name, message",
    [
        ("no_dir/out.onnx", "cannot write '{path}': the directory '{path_dir}' does not exist"),
        (".", "'{path}' is a directory, not a file name"),
        ("", "the file name is empty"),
    ],
)
def test_for_atc_command_line_refuses_bad_output(name, message, tmp_path, capsys):
    source = _identity_model(tmp_path / "in.onnx")
    target = str(tmp_path / name) if name else ""
    with pytest.raises(SystemExit) as exit_info:
        dcnv3_onnx.main(["--for-atc", source, target])
    assert exit_info.value.code == 2
    expected = message.format(path=target, path_dir=tmp_path / "no_dir")
    assert "--for-atc OUT: " + expected in capsys.readouterr().err


def test_for_atc_command_line_writes_a_model_without_dcnv3_nodes(tmp_path, capsys):
    source, target = _identity_model(tmp_path / "in.onnx"), tmp_path / "out.onnx"
    assert dcnv3_onnx.main(["--for-atc", source, str(target)]) == 0
    assert "0 DCNv3 node(s) in the default domain, opset 17" in capsys.readouterr().out
    assert [n.op_type for n in onnx.load(target).graph.node] == ["Identity"]


def test_for_atc_command_line_refuses_other_custom_domains(tmp_path, capsys):
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Foo", ["x"], ["y"], domain="other.domain")],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    opsets = [onnx.helper.make_opsetid("", 17), onnx.helper.make_opsetid("other.domain", 1)]
    onnx.save(onnx.helper.make_model(graph, opset_imports=opsets), tmp_path / "in.onnx")
    with pytest.raises(SystemExit) as exit_info:
        dcnv3_onnx.main(["--for-atc", str(tmp_path / "in.onnx"), str(tmp_path / "out.onnx")])
    assert exit_info.value.code == 2
    assert "--for-atc IN: the model has custom-domain nodes other than DCNv3 (other.domain::Foo)" in (
        capsys.readouterr().err
    )


def _model_with_if(branch_node, domain):
    """A model whose only node is an If; `branch_node` is the then-branch's node."""
    value = onnx.helper.make_tensor_value_info
    branch_out = value(branch_node.output[0], onnx.TensorProto.FLOAT, [1])
    else_node = onnx.helper.make_node("Identity", ["x"], ["e"])
    if_node = onnx.helper.make_node(
        "If",
        ["c"],
        ["y"],
        then_branch=onnx.helper.make_graph([branch_node], "then", [], [branch_out]),
        else_branch=onnx.helper.make_graph([else_node], "else", [], [value("e", onnx.TensorProto.FLOAT, [1])]),
    )
    graph = onnx.helper.make_graph(
        [if_node],
        "g",
        [value(name, onnx.TensorProto.FLOAT, [1]) for name in ("x", "o", "m")]
        + [value("c", onnx.TensorProto.BOOL, [])],
        [value("y", onnx.TensorProto.FLOAT, [1])],
    )
    return onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", 17), onnx.helper.make_opsetid(domain, 1)]
    )


def test_for_atc_rewrites_and_checks_nodes_inside_subgraphs():
    # The opset imports it drops hold for the bodies of If, Loop and Scan as well.
    attrs = dcnv3_onnx._onnx_node.node_attributes(Dcnv3Attrs())
    dcnv3 = onnx.helper.make_node("Dcnv3", ["x", "o", "m"], ["d"], domain="dcnv3_ascend", **attrs)
    atc = dcnv3_onnx.for_atc(_model_with_if(dcnv3, "dcnv3_ascend"))
    (if_node,) = atc.graph.node
    then_branch = next(a.g for a in if_node.attribute if a.name == "then_branch")
    assert [(n.domain, n.op_type) for n in then_branch.node] == [("", "Dcnv3")]
    assert [o.domain for o in atc.opset_import] == [""]
    other = onnx.helper.make_node("Foo", ["x"], ["d"], domain="other.domain")
    with pytest.raises(ValueError, match=r"other\.domain::Foo"):
        dcnv3_onnx.for_atc(_model_with_if(other, "other.domain"))


@pytest.mark.parametrize("exporter", ["dynamo", 17])
def test_dynamic_axes_keep_the_node_output_channels(exporter, model_and_input):
    # With dynamic batch, height and width the node's output still has the input's type, rank
    # and its (static) channel count.
    model, x = model_and_input
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            dims = {0: torch.export.Dim("N"), 1: torch.export.Dim("H", min=4), 2: torch.export.Dim("W", min=4)}
            exported = torch.onnx.export(model[:1], (x,), dynamic_shapes=(dims,)).model_proto
        else:
            f = io.BytesIO()
            dynamic_axes = {"x": {0: "N", 1: "H", 2: "W"}}
            torch.onnx.export(
                model[:1], (x,), f, dynamo=False, opset_version=exporter, input_names=["x"], dynamic_axes=dynamic_axes
            )
            exported = onnx.load_from_string(f.getvalue())
    (node,) = dcnv3_nodes(exported)
    assert tensor_shapes(exported)[node.output[0]] == [None, None, None, LAYERS[0]["channels"]]
