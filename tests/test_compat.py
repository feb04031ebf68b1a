"""install_ops_dcnv3: InternImage's import paths resolve to this package, and model code written
the InternImage way (a core op picked by name from ops_dcnv3.modules) runs on it."""

import importlib
import importlib.util
import re
import sys
import textwrap
import types

import numpy as np
import pytest
import torch

from dcnv3_ascend import _layers, functions, modules
from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.compat import install_ops_dcnv3
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward

SHIM_NAMES = (
    "ops_dcnv3",
    "ops_dcnv3.modules",
    "ops_dcnv3.modules.dcnv3",
    "ops_dcnv3.functions",
    "ops_dcnv3.functions.dcnv3_func",
    "DCNv3",
)


# The InternImage-style model file the last test writes and imports.
MODEL_MODULE = "internimage_style_model"


@pytest.fixture
def shim():
    """Installs the shim, and removes it and the model file imported through it afterwards."""
    install_ops_dcnv3()
    yield
    for name in SHIM_NAMES + (MODEL_MODULE,):
        sys.modules.pop(name, None)


def test_internimage_imports_resolve_to_this_package(shim):
    import ops_dcnv3.modules.dcnv3 as dcnv3_file
    from ops_dcnv3 import modules as opsm
    from ops_dcnv3.functions import DCNv3Function, dcnv3_core_pytorch
    from ops_dcnv3.functions.dcnv3_func import DCNv3Function as DCNv3FunctionFromFile

    assert opsm.DCNv3 is modules.DCNv3 and opsm.DCNv3_pytorch is modules.DCNv3_pytorch
    assert DCNv3Function is DCNv3FunctionFromFile is functions.DCNv3Function
    assert dcnv3_core_pytorch is functions.dcnv3_core_pytorch
    assert dcnv3_file is modules and dcnv3_file.build_norm_layer is _layers.build_norm_layer
    assert importlib.import_module("ops_dcnv3").modules is opsm


def test_shim_modules_have_specs(shim):
    """importlib.util.find_spec answers for them as for imported modules (it raises on a module
    without __spec__)."""
    for name in SHIM_NAMES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.name == sys.modules[name].__name__


def test_detection_and_segmentation_signatures(shim):
    """InternImage's detection and segmentation ops_dcnv3: every DCNv3 layer gets use_dcn_v4_op,
    and dcnv3_core_pytorch ends at offset_scale. use_dcn_v4_op=True samples as DCNv3 does."""
    from ops_dcnv3 import modules as opsm
    from ops_dcnv3.functions import dcnv3_core_pytorch

    kwargs = dict(
        channels=32,
        kernel_size=3,
        stride=1,
        pad=1,
        dilation=1,
        group=4,
        offset_scale=1.0,
        act_layer="GELU",
        norm_layer="LN",
        dw_kernel_size=None,
        center_feature_scale=False,
    )
    layers = [opsm.DCNv3(**kwargs, use_dcn_v4_op=flag).double() for flag in (False, True)]
    assert [layer.use_dcn_v4_op for layer in layers] == [False, True]
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in layers[0].parameters():
            p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.3)
    layers[1].load_state_dict(layers[0].state_dict())
    x = torch.randn(1, 6, 5, 32, generator=gen, dtype=torch.float64)
    assert torch.equal(layers[0](x), layers[1](x))

    input, offset, mask = (torch.rand(1, 5, 4, n, generator=gen, dtype=torch.float64) for n in (8, 36, 18))
    want = dcnv3_reference(input, offset, mask, Dcnv3Attrs(3, 3, 1, 1, 1, 1, 1, 1, 2, 4, 1.0))
    torch.testing.assert_close(dcnv3_core_pytorch(input, offset, mask, 3, 3, 1, 1, 1, 1, 1, 1, 2, 4, 1.0), want)


def test_core_pytorch_raises_value_error_as_internimage():
    """InternImage's dcnv3_core_pytorch raises ValueError for remove_center with a kernel that is
    not square and odd; ours too (and RuntimeError, as the ops)."""
    input, offset, mask = torch.rand(1, 5, 5, 8), torch.rand(1, 5, 5, 56), torch.rand(1, 5, 5, 28)
    with pytest.raises(ValueError, match="remove_center=1 needs a square kernel of odd size") as error:
        functions.dcnv3_core_pytorch(input, offset, mask, 3, 5, 1, 1, 1, 2, 1, 1, 2, 4, 1.0, 1)
    assert isinstance(error.value, RuntimeError)


def test_core_pytorch_takes_numpy_and_tensor_integers_as_internimage():
    """InternImage's dcnv3_core_pytorch does plain arithmetic on its attributes, so NumPy and
    one-element tensor integers work there; ours failed in torch._check ("cond must be a bool")."""
    gen = torch.Generator().manual_seed(3)
    input, offset, mask = (torch.rand(1, 5, 4, n, generator=gen, dtype=torch.float64) for n in (8, 36, 18))
    ints = (3, 3, 1, 1, 1, 1, 1, 1, 2, 4)
    want = functions.dcnv3_core_pytorch(input, offset, mask, *ints, 1.0)
    torch.testing.assert_close(want, dcnv3_reference(input, offset, mask, Dcnv3Attrs(*ints, 1.0)))
    for convert in (np.int64, np.int32, torch.tensor):
        got = functions.dcnv3_core_pytorch(input, offset, mask, *map(convert, ints), np.float32(1.0), convert(0))
        torch.testing.assert_close(got, want, rtol=0, atol=0)


# (call, what it must say): each of these used to run, truncating 0.5 to 0 or converting "2".
NON_INTEGER_OR_NON_NUMBER_ATTRS = [
    (
        "core_pytorch kernel_h=3.0",
        lambda t: functions.dcnv3_core_pytorch(*t, 3.0, 3, 1, 1, 1, 1, 1, 1, 2, 4, 1.0),
        "kernel_h must be an integer, got 3.0",
    ),
    (
        "core_pytorch remove_center=0.5",
        lambda t: functions.dcnv3_core_pytorch(*t, 3, 3, 1, 1, 1, 1, 1, 1, 2, 4, 1.0, 0.5),
        "remove_center must be an integer, got 0.5",
    ),
    (
        "core_pytorch offset_scale='2'",
        lambda t: functions.dcnv3_core_pytorch(*t, 3, 3, 1, 1, 1, 1, 1, 1, 2, 4, "2"),
        "offset_scale must be a finite number, got '2'",
    ),
    (
        "DCNv3Function remove_center=0.5",
        lambda t: functions.DCNv3Function.apply(*t, 3, 3, 1, 1, 1, 1, 1, 1, 2, 4, 1.0, 64, 0.5),
        "remove_center must be an integer, got 0.5",
    ),
    (
        # The schema converts a float tensor to an int: this ran with stride_h=1.
        "DCNv3Function stride_h=tensor(1.5)",
        lambda t: functions.DCNv3Function.apply(*t, 3, 3, torch.tensor(1.5), 1, 1, 1, 1, 1, 2, 4, 1.0, 64),
        "stride_h must be an integer, got tensor(1.5000)",
    ),
    (
        "DCNv3Function offset_scale='2'",
        lambda t: functions.DCNv3Function.apply(*t, 3, 3, 1, 1, 1, 1, 1, 1, 2, 4, "2", 64),
        "offset_scale must be a finite number, got '2'",
    ),
]


@pytest.mark.parametrize(
    "call,message",
    [c[1:] for c in NON_INTEGER_OR_NON_NUMBER_ATTRS],
    ids=[c[0] for c in NON_INTEGER_OR_NON_NUMBER_ATTRS],
)
def test_functions_name_non_integer_and_non_number_attributes(call, message):
    tensors = (torch.rand(1, 5, 4, 8), torch.rand(1, 5, 4, 36), torch.rand(1, 5, 4, 18))
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call(tensors)


def test_extension_module_names_non_integer_and_non_number_attributes(shim):
    import DCNv3

    input, offset, mask, grad_output = (torch.rand(1, 5, 4, n) for n in (8, 36, 18, 8))
    attrs = (3, 3, 1, 1, 1, 1, 1, 1, 2, 4)
    for call, message in [
        (lambda: DCNv3.dcnv3_forward(input, offset, mask, *attrs, 1.0, 64, 0.5), "remove_center must be an integer"),
        (lambda: DCNv3.dcnv3_forward(input, offset, mask, *attrs, "2", 64), "offset_scale must be a finite number"),
        (
            lambda: DCNv3.dcnv3_backward(input, offset, mask, *attrs, 1.0, grad_output, 64, 0.5),
            "remove_center must be an integer",
        ),
        (
            lambda: DCNv3.dcnv3_forward(input, offset, mask, *attrs, 1.0, torch.tensor(0.5)),
            "im2col_step must be an integer",
        ),
        (
            lambda: DCNv3.dcnv3_backward(input, offset, mask, *attrs[:8], torch.tensor(2.5), 4, 1.0, grad_output, 64),
            "group must be an integer",
        ),
    ]:
        with pytest.raises(ValueError, match=message):
            call()


def test_dcnv3_extension_module_signatures(shim):
    import DCNv3

    gen = torch.Generator().manual_seed(0)
    input = torch.randn(2, 5, 4, 6, generator=gen, dtype=torch.float64)
    offset = torch.randn(2, 5, 4, 3 * 9 * 2, generator=gen, dtype=torch.float64) * 2
    mask = torch.rand(2, 5, 4, 3 * 9, generator=gen, dtype=torch.float64)
    grad_output = torch.randn(2, 5, 4, 6, generator=gen, dtype=torch.float64)
    attrs = (3, 3, 1, 1, 1, 1, 1, 1, 3, 2, 1.0)
    want = dcnv3_reference(input, offset, mask, Dcnv3Attrs(*attrs, im2col_step=2))
    # Extension 1.0 had no remove_center argument; 1.1 has it.
    torch.testing.assert_close(DCNv3.dcnv3_forward(input, offset, mask, *attrs, 2), want)
    torch.testing.assert_close(DCNv3.dcnv3_forward(input, offset, mask, *attrs, 2, 0), want)
    # Backward takes grad_output after the attributes and returns a list.
    grads = DCNv3.dcnv3_backward(input, offset, mask, *attrs, grad_output, 2, 0)
    assert isinstance(grads, list) and len(grads) == 3
    for got, expected in zip(
        grads, dcnv3_reference_backward(input, offset, mask, grad_output, Dcnv3Attrs(*attrs, im2col_step=2))
    ):
        torch.testing.assert_close(got, expected)


def test_install_is_idempotent(shim):
    entries = {name: sys.modules[name] for name in SHIM_NAMES}
    install_ops_dcnv3()
    assert all(sys.modules[name] is module for name, module in entries.items())


@pytest.mark.parametrize("name", ["ops_dcnv3", "DCNv3"])
def test_install_refuses_to_replace_a_real_ops_package(monkeypatch, name):
    monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    with pytest.raises(RuntimeError, match=f"module '{name}' is already imported.*before importing InternImage"):
        install_ops_dcnv3()
    assert "ops_dcnv3.modules" not in sys.modules


# Written the way InternImage's classification/models/intern_image.py builds a block (core op
# chosen by name from `opsm`, keyword arguments as there, deform weights reset via isinstance),
# without timm (DropPath is the identity at drop_path=0 anyway).
INTERNIMAGE_STYLE_MODEL = textwrap.dedent("""
    import torch.nn as nn
    from ops_dcnv3 import modules as opsm


    class MLPLayer(nn.Module):
        def __init__(self, in_features, hidden_features):
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden_features, in_features)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))


    class InternImageLayer(nn.Module):
        def __init__(self, core_op, channels, groups, mlp_ratio=4., offset_scale=1.0):
            super().__init__()
            self.norm1 = nn.Sequential(nn.LayerNorm(channels, eps=1e-6))
            self.dcn = core_op(channels=channels, kernel_size=3, stride=1, pad=1, dilation=1, group=groups,
                               offset_scale=offset_scale, act_layer='GELU', norm_layer='LN', dw_kernel_size=None,
                               center_feature_scale=False, remove_center=False)
            self.drop_path = nn.Identity()
            self.norm2 = nn.Sequential(nn.LayerNorm(channels, eps=1e-6))
            self.mlp = MLPLayer(channels, int(channels * mlp_ratio))

        def forward(self, x):
            x = x + self.drop_path(self.dcn(self.norm1(x)))
            return x + self.drop_path(self.mlp(self.norm2(x)))


    class TinyInternImage(nn.Module):
        def __init__(self, core_op='DCNv3', channels=32, groups=4, depth=2):
            super().__init__()
            self.core_op = core_op
            self.blocks = nn.ModuleList(
                [InternImageLayer(getattr(opsm, core_op), channels, groups) for _ in range(depth)])
            self.apply(self._init_deform_weights)

        def _init_deform_weights(self, m):
            if isinstance(m, getattr(opsm, self.core_op)):
                m._reset_parameters()

        def forward(self, x):
            for blk in self.blocks:
                x = blk(x)
            return x
""")


def test_internimage_style_model_runs_on_both_core_ops(shim, tmp_path, monkeypatch):
    (tmp_path / f"{MODEL_MODULE}.py").write_text(INTERNIMAGE_STYLE_MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    model_file = importlib.import_module(MODEL_MODULE)

    torch.manual_seed(0)
    op_model = model_file.TinyInternImage(core_op="DCNv3").double()
    ref_model = model_file.TinyInternImage(core_op="DCNv3_pytorch").double()
    assert isinstance(op_model.blocks[0].dcn, modules.DCNv3)
    assert isinstance(ref_model.blocks[0].dcn, modules.DCNv3_pytorch)
    # Trained-looking weights (the reset leaves offsets at zero), shared by both models.
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in op_model.parameters():
            p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.3)
    ref_model.load_state_dict(op_model.state_dict())

    x = torch.randn(2, 6, 5, 32, generator=gen, dtype=torch.float64)
    outs = []
    for model in (op_model, ref_model):
        out = model(x)
        out.square().sum().backward()
        outs.append((out.detach(), [p.grad for p in model.parameters()]))
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-10, atol=1e-10)
    for got, expected in zip(outs[0][1], outs[1][1]):
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)
