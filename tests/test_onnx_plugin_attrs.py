"""The ATC plugin's attribute reading (framework/onnx_plugin/onnx_attr_json.h and
dcnv3_onnx_attrs.h), compiled with g++ (no CANN needed) and fed the JSON GE writes for a node's
attributes. GE's Pb2Json differs across CANN versions: "type" is the enum number or its name, "f"
is a number or "%g" text, and a zero "i"/"f" is left out. Nodes come from our exporter and from
hand-made variants."""

import io
import json
import subprocess
import warnings

import numpy as np
import onnx
import pytest
import torch
from cpp_driver import build_driver
from onnx import AttributeProto

import dcnv3_ascend.onnx as dcnv3_onnx
from dcnv3_ascend.attrs import ATTRIBUTE_IS_FLOAT, Dcnv3Attrs
from dcnv3_ascend.modules import DCNv3

NAMES = list(ATTRIBUTE_IS_FLOAT)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    return build_driver(tmp_path_factory, "onnx_plugin_attrs_main.cc", ["framework/onnx_plugin", "op_host"])


def read(driver, text):
    """(attributes dict, None) or (None, error message) as the plugin reads `text`."""
    result = subprocess.run([str(driver)], input=text, capture_output=True, text=True)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0:
        assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: "), result
        return None, lines[0][len("error: ") :]
    values = dict(line.split("=", 1) for line in lines)
    assert list(values) == NAMES
    return {name: float(v) if name == "offset_scale" else int(v) for name, v in values.items()}, None


def ge_json(attributes, type_as_name=False, float_as_text=False):
    """What GE's Pb2Json writes for a node's AttributeProto list (zero scalars left out)."""
    items = []
    for a in attributes:
        item = {"name": a.name, "type": AttributeProto.AttributeType.Name(a.type) if type_as_name else int(a.type)}
        if a.type == AttributeProto.INT and a.i != 0:
            item["i"] = a.i
        if a.type == AttributeProto.FLOAT and a.f != 0:
            item["f"] = f"{a.f:g}" if float_as_text else a.f
        items.append(item)
    return json.dumps({"attribute": items}, indent=2)


def make_attributes(**values):
    attrs = dict(Dcnv3Attrs(group=2, group_channels=8).__dict__, **values)
    return [onnx.helper.make_attribute(name, attrs[name]) for name in NAMES if attrs[name] is not None]


@pytest.fixture(scope="module")
def exported_node():
    """A DCNv3 node as our exporter writes it (TorchScript exporter: the faster one)."""
    model = DCNv3(channels=16, kernel_size=3, pad=1, group=2, offset_scale=0.1).eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcnv3_onnx.export(model, (torch.randn(1, 5, 5, 16),), f, node_form="mmdeploy", dynamo=False, opset_version=17)
    (node,) = [n for n in onnx.load_from_string(f.getvalue()).graph.node if dcnv3_onnx.is_dcnv3_node(n)]
    return node


@pytest.mark.parametrize("type_as_name", [False, True])
@pytest.mark.parametrize("float_as_text", [False, True])
def test_exported_node(driver, exported_node, type_as_name, float_as_text):
    attrs, error = read(driver, ge_json(exported_node.attribute, type_as_name, float_as_text))
    assert error is None
    assert attrs == dict(
        kernel_h=3,
        kernel_w=3,
        stride_h=1,
        stride_w=1,
        pad_h=1,
        pad_w=1,
        dilation_h=1,
        dilation_w=1,
        group=2,
        group_channels=8,
        offset_scale=pytest.approx(float(np.float32(0.1))),
        im2col_step=256,
        remove_center=0,
    )


def test_zero_values_that_ge_leaves_out(driver):
    text = ge_json(make_attributes(pad_h=0, pad_w=0, offset_scale=0.0, remove_center=0))
    assert '"pad_h"' in text and '"i": 0' not in text and '"f"' not in text
    attrs, error = read(driver, text)
    assert error is None
    assert (attrs["pad_h"], attrs["pad_w"], attrs["offset_scale"], attrs["remove_center"]) == (0, 0, 0.0, 0)
    assert attrs["kernel_h"] == 3 and attrs["group"] == 2


def test_remove_center_may_be_absent(driver):
    """InternImage exports from before DCNv3 1.1 have no remove_center."""
    attrs, error = read(driver, ge_json(make_attributes(remove_center=None)))
    assert error is None and attrs["remove_center"] == 0


def test_remove_center_and_exact_int64(driver):
    attrs, error = read(
        driver,
        ge_json(make_attributes(kernel_h=5, kernel_w=5, pad_h=2, pad_w=2, remove_center=1, im2col_step=2**40 + 1)),
    )
    assert error is None
    assert (attrs["kernel_h"], attrs["remove_center"], attrs["im2col_step"]) == (5, 1, 2**40 + 1)


@pytest.mark.parametrize(
    "attributes, message",
    [
        (make_attributes(kernel_w=None), "DCNv3 node has no attribute 'kernel_w'"),
        (make_attributes(offset_scale=2), "attribute 'offset_scale' must be of type FLOAT, got INT"),
        (make_attributes(group=0), "group must be >= 1, got 0"),
        (
            make_attributes(kernel_h=4, kernel_w=4, remove_center=1),
            "remove_center=1 needs a square kernel of odd size, got kernel_h=4, kernel_w=4",
        ),
        (make_attributes(pad_h=-1), "pad_h must be >= 0, got -1"),
        (
            make_attributes(kernel_h=2**32),
            "kernel_h must be <= 2147483647 (InternImage's op takes it as int), got 4294967296",
        ),
        (
            make_attributes(kernel_h=1, kernel_w=1, remove_center=1),
            "remove_center=1 with a 1x1 kernel leaves no sampling point; use kernel_h = kernel_w >= 3",
        ),
    ],
)
def test_invalid_attributes_are_named(driver, attributes, message):
    attrs, error = read(driver, ge_json(attributes))
    assert attrs is None and error == message


def test_json_syntax(driver):
    """Escapes, unknown fields and values of every JSON kind are read or skipped correctly."""
    items = json.loads(ge_json(make_attributes()))["attribute"]
    items.append(
        {
            "name": 'note\u00e9"x',
            "type": 3,
            "s": "a\\b\n",
            "ints": [1, -2, 3e2],
            "t": {"dims": [1, 2]},
            "flag": True,
            "nothing": None,
        }
    )
    attrs, error = read(driver, json.dumps({"attribute": items}, ensure_ascii=True))
    assert error is None and attrs["group_channels"] == 8


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '{"attribute": [{"name": "kernel_h", "i": 3}',
            "attribute JSON is malformed: expected ',' or ']' at offset 43",
        ),
        ('{"attribute": {}}', 'attribute JSON must be an object with an "attribute" array'),
        ('{"attribute": [{"i": 3}]}', 'every entry of "attribute" must be an object with a string "name"'),
        (
            '{"attribute": [{"name": "kernel_h", "i": 3.5}]}',
            "attribute 'kernel_h': \"i\" must be an integer, got '3.5'",
        ),
        (
            '{"attribute": [{"name": "offset_scale", "f": "x1"}]}',
            "attribute 'offset_scale': \"f\" is not a number: 'x1'",
        ),
        ('{"attribute": []} x', "attribute JSON is malformed: unexpected text after the JSON value at offset 18"),
        # strtoul read these as -1, 0x0f and 0x12, and the string went on with junk bytes.
        (
            '{"attribute": [{"name": "\\u-001"}]}',
            "attribute JSON is malformed: \\u escape needs four hex digits at offset 27",
        ),
        (
            '{"attribute": [{"name": "\\u 0ff"}]}',
            "attribute JSON is malformed: \\u escape needs four hex digits at offset 27",
        ),
        (
            '{"attribute": [{"name": "\\u12zz"}]}',
            "attribute JSON is malformed: \\u escape needs four hex digits at offset 29",
        ),
    ],
)
def test_malformed_json(driver, text, message):
    attrs, error = read(driver, text)
    assert attrs is None and error == message


def test_unicode_escapes_take_either_case_of_hex_digits(driver):
    """\\u006B and \\u006b both spell 'k' (the reader checks the four digits itself now)."""
    text = ge_json(make_attributes())
    for escaped in ("\\u006B", "\\u006b"):
        attrs, error = read(driver, text.replace('"kernel_h"', f'"{escaped}ernel_h"'))
        assert error is None and attrs == read(driver, text)[0]
