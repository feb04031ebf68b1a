"""ONNX export (dcnv3_ascend.onnx): every DCNv3 layer becomes one custom-domain node with
InternImage's attributes, for both exporters and both node forms; the exported graph runs in
onnxruntime (our op as an onnxruntime-extensions Python custom op) and matches torch; the rewrite
for ATC and its command line."""
import io
import subprocess
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnxruntime_extensions import PyCustomOpDef, get_library_path, onnx_op

import dcnv3_ascend
import dcnv3_ascend.onnx as dcnv3_onnx
from dcnv3_ascend.modules import DCNv3

# Two layers with different attributes, so a swapped or dropped attribute shows.
LAYERS = (
    dict(channels=24, kernel_size=3, pad=2, dilation=2, group=3, offset_scale=0.5),
    dict(channels=24, kernel_size=5, pad=2, group=2, offset_scale=2.0, remove_center=True),
)
BATCH, HEIGHT, WIDTH = 2, 9, 7
IM2COL_STEP = 256  # what InternImage's DCNv3 module passes


def expected_attributes(layer):
    k, group = layer["kernel_size"], layer["group"]
    return dict(kernel_h=k, kernel_w=k, stride_h=1, stride_w=1, pad_h=layer["pad"], pad_w=layer["pad"],
                dilation_h=layer.get("dilation", 1), dilation_w=layer.get("dilation", 1), group=group,
                group_channels=layer["channels"] // group, offset_scale=layer["offset_scale"],
                im2col_step=IM2COL_STEP, remove_center=int(layer.get("remove_center", False)))


@pytest.fixture(scope="module")
def model_and_input():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # group_channels that are not powers of 2
        model = torch.nn.Sequential(*(DCNv3(**layer) for layer in LAYERS)).eval()
    # Larger offsets than the default init so samples cross pixels and the border.
    for layer in model:
        torch.nn.init.normal_(layer.offset.weight, std=0.5)
    return model, torch.randn(BATCH, HEIGHT, WIDTH, LAYERS[0]["channels"])


def export(model, x, node_form, dynamo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation warnings
        if dynamo:
            return dcnv3_onnx.export(model, (x,), node_form=node_form, dynamo=True).model_proto
        f = io.BytesIO()
        dcnv3_onnx.export(model, (x,), f, node_form=node_form, dynamo=False, opset_version=17)
        return onnx.load_from_string(f.getvalue())


@pytest.fixture(scope="module", params=[(form, dynamo) for form in dcnv3_onnx.NODE_FORMS for dynamo in (True, False)],
                ids=lambda p: f"{p[0]}-{'dynamo' if p[1] else 'torchscript'}")
def exported(request, model_and_input):
    node_form, dynamo = request.param
    model, x = model_and_input
    return node_form, export(model, x, node_form, dynamo)


def dcnv3_nodes(model):
    return [n for n in model.graph.node if dcnv3_onnx.is_dcnv3_node(n)]


def tensor_shapes(model):
    """name -> dims of every tensor whose shape the model records."""
    inferred = onnx.shape_inference.infer_shapes(model)
    infos = list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    return {vi.name: [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
            for vi in infos}


def test_one_node_per_layer_with_internimage_attributes(exported):
    node_form, model = exported
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
        assert types == {name: onnx.AttributeProto.FLOAT if name == "offset_scale" else onnx.AttributeProto.INT
                         for name in expected}


def test_node_tensor_shapes(exported):
    _, model = exported
    shapes = tensor_shapes(model)
    for node, layer in zip(dcnv3_nodes(model), LAYERS):
        attrs = expected_attributes(layer)
        points = attrs["kernel_h"] * attrs["kernel_w"] - attrs["remove_center"]
        channels = layer["channels"]
        assert [shapes.get(name) for name in node.input] == [
            [BATCH, HEIGHT, WIDTH, channels],
            [BATCH, HEIGHT, WIDTH, layer["group"] * points * 2],
            [BATCH, HEIGHT, WIDTH, layer["group"] * points],
        ]
        assert shapes.get(node.output[0]) == [BATCH, HEIGHT, WIDTH, channels]


# onnxruntime-extensions runs Python custom ops in its own domain; they call our torch op with the
# node's attributes, so the exported wiring (inputs, attribute values and order) is what is tested.
ORT_DOMAIN = "ai.onnx.contrib"
ORT_ATTRS = {name: PyCustomOpDef.dt_float if is_float else PyCustomOpDef.dt_int64
             for name, is_float in dcnv3_onnx.ATTRIBUTES}


def run_dcnv3_from_ort(input, offset, mask, **attrs):
    values = [attrs[name] for name, _ in dcnv3_onnx.ATTRIBUTES]
    return dcnv3_ascend.dcnv3(torch.from_numpy(input), torch.from_numpy(offset), torch.from_numpy(mask),
                              *values).numpy()


for _form in dcnv3_onnx.NODE_FORMS.values():
    onnx_op(op_type=_form.op_type, inputs=[PyCustomOpDef.dt_float] * 3, outputs=[PyCustomOpDef.dt_float],
            attrs=ORT_ATTRS)(run_dcnv3_from_ort)


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
    session = ort.InferenceSession(in_ort_domain(model).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = torch_model(x).numpy()
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-5)


def test_for_atc_moves_dcnv3_nodes_into_the_single_default_opset(exported):
    _, model = exported
    atc = dcnv3_onnx.for_atc(model)
    assert [o.domain for o in atc.opset_import] == [""]
    assert [o.version for o in atc.opset_import] == [o.version for o in model.opset_import if o.domain == ""]
    assert [(n.domain, n.op_type) for n in atc.graph.node] == [
        ("" if dcnv3_onnx.is_dcnv3_node(n) else n.domain, n.op_type) for n in model.graph.node]
    assert len(dcnv3_nodes(atc)) == len(LAYERS)
    # The input model is left as it was.
    assert {n.domain for n in dcnv3_nodes(model)} != {""}


def test_for_atc_rejects_other_custom_domains():
    node = onnx.helper.make_node("Foo", ["x"], ["y"], domain="other.domain")
    graph = onnx.helper.make_graph([node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17),
                                                         onnx.helper.make_opsetid("other.domain", 1)])
    with pytest.raises(ValueError, match="other.domain::Foo"):
        dcnv3_onnx.for_atc(model)


def test_for_atc_command_line(tmp_path, model_and_input):
    model, x = model_and_input
    source, target = tmp_path / "model.onnx", tmp_path / "model_atc.onnx"
    onnx.save(export(model, x, "dcnv3_ascend", dynamo=True), source)
    result = subprocess.run([sys.executable, "-m", "dcnv3_ascend.onnx", "--for-atc", str(source), str(target)],
                            capture_output=True, text=True, check=True)
    assert f"{len(LAYERS)} DCNv3 node(s) in the default domain" in result.stdout
    written = onnx.load(target)
    assert [o.domain for o in written.opset_import] == [""]
    assert [n.domain for n in dcnv3_nodes(written)] == [""] * len(LAYERS)


def test_unknown_node_form_is_an_error(model_and_input):
    model, x = model_and_input
    with pytest.raises(ValueError, match="node_form must be one of dcnv3_ascend, mmdeploy, got 'trt'"):
        dcnv3_onnx.export(model, (x,), node_form="trt")
