"""DCNv3 / DCNv3_pytorch modules and the functional API: InternImage's constructor, parameter names
and state_dict layout, initialisation, and the two modules agreeing when they share weights."""

import inspect
import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dcnv3_ascend import modules
from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.fallback import dcnv3_fallback
from dcnv3_ascend.functions import DCNv3Function, dcnv3_core_pytorch
from dcnv3_ascend.modules import DCNv3, DCNv3_pytorch
from dcnv3_ascend.reference import dcnv3_reference

MODULES = (DCNv3, DCNv3_pytorch)

# InternImage's state_dict of ops_dcnv3.modules.DCNv3(channels=64, group=4), default config,
# written out by hand from its __init__: (key, shape) in state_dict order.
INTERNIMAGE_KEYS_DEFAULT = [
    ("dw_conv.0.weight", (64, 1, 3, 3)),
    ("dw_conv.0.bias", (64,)),
    ("dw_conv.1.1.weight", (64,)),
    ("dw_conv.1.1.bias", (64,)),  # LayerNorm after to_channels_last
    ("offset.weight", (4 * 9 * 2, 64)),
    ("offset.bias", (4 * 9 * 2,)),
    ("mask.weight", (4 * 9, 64)),
    ("mask.bias", (4 * 9,)),
    ("input_proj.weight", (64, 64)),
    ("input_proj.bias", (64,)),
    ("output_proj.weight", (64, 64)),
    ("output_proj.bias", (64,)),
]
# channels=32, kernel_size=5, dw_kernel_size=3, group=2, norm_layer='BN', act_layer='ReLU',
# center_feature_scale=True, remove_center=True: own parameters come first in a state_dict.
INTERNIMAGE_KEYS_H_STYLE = [
    ("center_feature_scale_proj_weight", (2, 32)),
    ("center_feature_scale_proj_bias", (2,)),
    ("dw_conv.0.weight", (32, 1, 3, 3)),
    ("dw_conv.0.bias", (32,)),
    ("dw_conv.1.0.weight", (32,)),
    ("dw_conv.1.0.bias", (32,)),  # BatchNorm2d before to_channels_last
    ("dw_conv.1.0.running_mean", (32,)),
    ("dw_conv.1.0.running_var", (32,)),
    ("dw_conv.1.0.num_batches_tracked", ()),
    ("offset.weight", (2 * 24 * 2, 32)),
    ("offset.bias", (2 * 24 * 2,)),
    ("mask.weight", (2 * 24, 32)),
    ("mask.bias", (2 * 24,)),
    ("input_proj.weight", (32, 32)),
    ("input_proj.bias", (32,)),
    ("output_proj.weight", (32, 32)),
    ("output_proj.bias", (32,)),
]
H_STYLE = dict(
    channels=32,
    kernel_size=5,
    dw_kernel_size=3,
    pad=2,
    group=2,
    norm_layer="BN",
    act_layer="ReLU",
    center_feature_scale=True,
    remove_center=True,
)


@pytest.mark.parametrize("cls", MODULES)
@pytest.mark.parametrize(
    "kwargs, keys", [({}, INTERNIMAGE_KEYS_DEFAULT), (H_STYLE, INTERNIMAGE_KEYS_H_STYLE)], ids=["default", "h_style"]
)
def test_state_dict_matches_internimage(cls, kwargs, keys):
    state = cls(**kwargs).state_dict()
    assert [(k, tuple(v.shape)) for k, v in state.items()] == keys


@pytest.mark.parametrize("cls", MODULES)
def test_constructor_attributes_match_internimage(cls):
    m = cls(
        channels=48,
        kernel_size=5,
        dw_kernel_size=7,
        stride=1,
        pad=2,
        dilation=1,
        group=3,
        offset_scale=2.0,
        act_layer="SiLU",
        norm_layer="LN",
        center_feature_scale=False,
        remove_center=True,
    )
    assert (m.channels, m.kernel_size, m.dw_kernel_size, m.stride, m.pad, m.dilation) == (48, 5, 7, 1, 2, 1)
    assert (m.group, m.group_channels, m.offset_scale, m.center_feature_scale, m.remove_center) == (
        3,
        16,
        2.0,
        False,
        1,
    )
    assert m.dw_conv[0].padding == (3, 3) and m.dw_conv[0].groups == 48
    assert isinstance(m.dw_conv[2], torch.nn.SiLU)
    assert cls().dw_kernel_size == 3  # defaults to kernel_size


INTERNIMAGE_ARGUMENTS = [
    ("channels", 64),
    ("kernel_size", 3),
    ("dw_kernel_size", None),
    ("stride", 1),
    ("pad", 1),
    ("dilation", 1),
    ("group", 4),
    ("offset_scale", 1.0),
    ("act_layer", "GELU"),
    ("norm_layer", "LN"),
    ("center_feature_scale", False),
    ("remove_center", False),
]


@pytest.mark.parametrize("cls", MODULES)
def test_signature_lists_internimage_arguments(cls):
    """inspect.signature (help(), IDEs) shows InternImage's argument names, order and defaults:
    DCNv3's read (*args, use_dcn_v4_op=False, **kwargs). DCNv3 adds use_dcn_v4_op (InternImage's
    detection and segmentation copies) as a keyword, as those copies' backbones pass it."""
    parameters = list(inspect.signature(cls).parameters.values())
    positional = [(p.name, p.default) for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert positional == INTERNIMAGE_ARGUMENTS
    keyword_only = [(p.name, p.default) for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert keyword_only == ([("use_dcn_v4_op", False)] if cls is DCNv3 else [])
    assert len(parameters) == len(positional) + len(keyword_only)
    layer = cls(*[value for _, value in INTERNIMAGE_ARGUMENTS[:-1]], True)  # positional, as InternImage's
    assert layer.remove_center == 1 and layer.mask.out_features == 4 * 8


@pytest.mark.parametrize("cls", MODULES)
def test_reset_parameters_starts_from_a_plain_grid(cls):
    m = cls(channels=32, group=4)
    for layer in (m.offset, m.mask):
        assert layer.weight.abs().sum() == 0 and layer.bias.abs().sum() == 0
    for layer in (m.input_proj, m.output_proj):
        bound = math.sqrt(6 / (2 * 32))  # xavier_uniform_
        assert layer.bias.abs().sum() == 0 and 0 < layer.weight.abs().max() <= bound


@pytest.mark.parametrize("cls", MODULES)
def test_at_init_the_block_is_a_3x3_mean_filter(cls):
    """Zero offsets and uniform softmax masks: the sampling is a 3x3 mean with zero padding, an
    independent formula for the whole forward."""
    torch.manual_seed(0)
    m = cls(channels=16, group=4).double()
    x = torch.randn(2, 6, 7, 16, dtype=torch.float64)
    projected = m.input_proj(x).permute(0, 3, 1, 2)
    mean = F.avg_pool2d(projected, 3, stride=1, padding=1, count_include_pad=True).permute(0, 2, 3, 1)
    torch.testing.assert_close(m(x), m.output_proj(mean), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", MODULES)
def test_group_channels_not_power_of_two_warns(cls):
    with pytest.warns(UserWarning, match="not a power of 2"):
        cls(channels=48, group=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(channels=64, group=4)


@pytest.mark.parametrize("cls", MODULES)
def test_constructor_errors(cls):
    with pytest.raises(ValueError, match="channels must be divisible by group, got channels=30 and group=4"):
        cls(channels=30, group=4)
    with pytest.raises(ValueError, match="remove_center needs an odd kernel_size, got kernel_size=4"):
        cls(kernel_size=4, remove_center=True)
    # Constructed, with offset and mask layers of no outputs, and failed at the first forward.
    with pytest.raises(ValueError, match=r"^remove_center with kernel_size=1 leaves no sampling point; use .* >= 3$"):
        cls(kernel_size=1, pad=0, remove_center=True)
    for name, value, smallest in [
        ("group", 0, 1),
        ("group", -4, 1),
        ("channels", 64.0, 1),
        ("kernel_size", 3.0, 1),
        ("kernel_size", 0, 1),
        ("stride", 0, 1),
        ("pad", -1, 0),
        ("dilation", 0, 1),
        ("dw_kernel_size", 0, 1),
    ]:
        with pytest.raises(ValueError, match=f"^{name} must be an integer >= {smallest}, got {value!r}$"):
            cls(**{name: value})
    with pytest.raises(
        ValueError, match=r"dw_kernel_size must be odd \(the depthwise conv keeps the image size\), got 4"
    ):
        cls(dw_kernel_size=4)


@pytest.mark.parametrize("cls", MODULES)
def test_constructor_errors_for_values_the_op_cannot_take(cls):
    """Values that used to construct a layer whose first forward failed in torch's allocator, in
    the op's schema ("Expected a value of type 'int' ... found type 'int'"), in the offset
    arithmetic (a str offset_scale) or with a message about another value (None read as NaN)."""
    for name, value in [("kernel_size", 2**40), ("stride", 2**64), ("pad", 2**31), ("dilation", 2**62)]:
        with pytest.raises(
            ValueError, match=rf"^{name} must be <= 2147483647 \(InternImage's op takes it as int\), got"
        ):
            cls(**{name: value})
    for value in ["2", None, float("nan"), float("inf"), [1.0], 1e39, -(2.0**128 - 2.0**103)]:
        with pytest.raises(ValueError, match=rf"^offset_scale must be a finite number, got {re.escape(repr(value))}$"):
            cls(offset_scale=value)
    for value in [2, -1, "yes"]:
        with pytest.raises(ValueError, match=rf"^remove_center must be a bool \(or 0 or 1\), got {value!r}$"):
            cls(remove_center=value)


@pytest.mark.parametrize("cls", MODULES)
@pytest.mark.parametrize("offset_scale", [np.float32(0.5), torch.tensor(0.5), 0.5])
def test_offset_scale_of_any_number_type(cls, offset_scale):
    assert cls(channels=16, group=2, offset_scale=offset_scale).offset_scale == 0.5


@pytest.mark.parametrize("cls", MODULES)
@pytest.mark.parametrize("shape", [(1, 64, 8, 8), (1, 8, 8, 32), (8, 8, 64)], ids=["nchw", "channels", "3d"])
def test_input_not_nhwc_is_named(cls, shape):
    with pytest.raises(ValueError, match=r"input must be \[N, H, W, channels\] \(NHWC\) with channels = 64, got"):
        cls(channels=64)(torch.randn(*shape))


@pytest.mark.parametrize("cls", MODULES)
def test_input_of_the_wrong_kind_is_named(cls):
    """torch said "'list' object has no attribute 'dim'", "mat1 and mat2 must have the same dtype,
    but got Double and Float" or "Tensor on device cpu is not on the expected device meta!"."""
    layer = cls(channels=16, group=2)
    x = torch.randn(2, 5, 6, 16)
    with pytest.raises(ValueError, match=r"^input must be a torch.Tensor \[N, H, W, channels\], got list$"):
        layer(x.tolist())
    with pytest.raises(ValueError, match=r"^input dtype must be the layer's parameters' \(float32\), got float64"):
        layer(x.double())
    with pytest.raises(ValueError, match=r"^input dtype must be the layer's parameters' \(float32\), got int32"):
        layer(x.int())
    with pytest.raises(ValueError, match=r"^input must be on the layer's device \(cpu\), got meta$"):
        layer(x.to("meta"))
    # Still taken: the layer's own dtype, and another one under autocast (the layers cast it).
    assert layer.double()(x.double()).dtype == torch.float64
    layer.float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layer(x).shape == x.shape


@pytest.mark.parametrize("cls", MODULES)
def test_input_smaller_than_the_kernel_is_named_alike(cls):
    """DCNv3_pytorch failed in its depthwise conv ("Calculated padded input size per channel"),
    DCNv3 in the op: both say it as the op does, naming the input's size."""
    layer = cls(channels=8, group=2, kernel_size=5, pad=2)
    with pytest.raises(ValueError, match=r"^input H, W = 0, 6 with pad=2 is smaller than the dilated kernel 5x5 of "):
        layer(torch.randn(1, 0, 6, 8))
    assert layer(torch.randn(0, 1, 1, 8)).shape == (0, 1, 1, 8)  # an empty batch is fine


def randomize(module, seed):
    """Non-zero offset/mask/gating weights (the zero init would hide most of the op)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dtype.is_floating_point:
                scale = 0.5 if name.startswith("offset") else 0.2
                p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale)


def run_with_grads(module, x):
    x = x.detach().requires_grad_()
    out = module(x)
    grad_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype)
    out.backward(grad_out)
    grads = {name: p.grad for name, p in module.named_parameters()}
    return out.detach(), x.grad, grads


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(channels=32, group=4),
        dict(channels=24, group=3, offset_scale=2.0, dw_kernel_size=5),
        H_STYLE,
    ],
    ids=["default", "scale2-dw5", "h_style"],
)
@pytest.mark.parametrize("direction", ["pytorch_to_op", "op_to_pytorch"])
def test_shared_weights_give_the_same_outputs_and_gradients(kwargs, direction):
    source_cls, target_cls = (DCNv3_pytorch, DCNv3) if direction == "pytorch_to_op" else (DCNv3, DCNv3_pytorch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 24/3 = 8 is fine, but keep the test independent of that
        source = source_cls(**kwargs).double()
        target = target_cls(**kwargs).double()
    randomize(source, seed=5)
    target.load_state_dict(source.state_dict())
    x = torch.randn(2, 7, 6, kwargs["channels"], dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    out_s, gx_s, grads_s = run_with_grads(source, x)
    out_t, gx_t, grads_t = run_with_grads(target, x)
    # Offsets of several pixels: some points leave the image, so the range rule is in play.
    assert source.offset(torch.randn(10, kwargs["channels"], dtype=torch.float64)).abs().max() > 1.0
    torch.testing.assert_close(out_t, out_s, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(gx_t, gx_s, rtol=1e-10, atol=1e-10)
    assert grads_t.keys() == grads_s.keys()
    for name in grads_s:
        torch.testing.assert_close(grads_t[name], grads_s[name], rtol=1e-9, atol=1e-10, msg=name)


def test_float32_modules_agree():
    a, b = DCNv3(channels=64, group=4), DCNv3_pytorch(channels=64, group=4)
    randomize(a, seed=9)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 9, 9, 64, generator=torch.Generator().manual_seed(4))
    (out_a, gx_a, _), (out_b, gx_b, _) = run_with_grads(a, x), run_with_grads(b, x)
    assert out_a.dtype == torch.float32
    torch.testing.assert_close(out_a, out_b, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(gx_a, gx_b, rtol=1e-4, atol=1e-4)


# ---- the fused mask softmax on CPU --------------------------------------------------------------


def ops_called(fn):
    """The names of the ops fn() dispatches (forward and backward)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Recorder(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.names = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.names.add(str(func.overloadpacket))
            return func(*args, **(kwargs or {}))

    with Recorder() as recorder:
        fn()
    return recorder.names


@pytest.mark.parametrize("kwargs", [dict(channels=32, group=4), H_STYLE], ids=["default", "h_style"])
def test_cpu_module_fuses_the_mask_softmax_with_the_same_result(kwargs, monkeypatch):
    module = DCNv3(**kwargs)
    randomize(module, seed=6)
    x = torch.randn(2, 7, 6, kwargs["channels"], generator=torch.Generator().manual_seed(1))

    def run():
        module.zero_grad(set_to_none=True)
        return run_with_grads(module, x)

    names = ops_called(run)
    assert "npu.dcnv3_softmax_mask" in names and "npu.dcnv3_softmax_mask_backward" in names
    assert not {"npu.dcnv3", "aten._softmax"} & names
    fused = run()
    monkeypatch.setattr(modules, "_fuses_softmax", lambda x: False)
    assert "npu.dcnv3" in ops_called(run)
    unfused = run()
    torch.testing.assert_close(fused[0], unfused[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fused[1], unfused[1], rtol=1e-5, atol=1e-5)
    assert fused[2].keys() == unfused[2].keys()
    for name in fused[2]:
        torch.testing.assert_close(fused[2][name], unfused[2][name], rtol=1e-4, atol=1e-5, msg=name)


def test_traced_module_keeps_softmax_and_dcnv3():
    """Traced (as the TorchScript ONNX exporter does) the module records softmax + npu::dcnv3,
    the graph ONNX export translates."""
    module = DCNv3(channels=16, group=2).eval()
    x = torch.randn(1, 5, 5, 16)
    graph = str(torch.jit.trace(module, x).inlined_graph)
    assert "npu::dcnv3(" in graph and "softmax" in graph and "dcnv3_softmax_mask" not in graph


def test_traced_pytorch_module_computes_what_the_module_does():
    """torch.jit.trace (so also ONNX's TorchScript exporter) of DCNv3_pytorch failed in the
    fallback's argument checks with "cond must be a bool, but got a Tensor": traced sizes are
    tensors. The trace holds the sizes as constants (torch warns that it does)."""
    module = DCNv3_pytorch(channels=16, group=2).eval()
    randomize(module, seed=12)
    x = torch.randn(2, 5, 6, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module, x)
    torch.testing.assert_close(traced(x), module(x))


def test_fx_traced_module_keeps_softmax_and_dcnv3():
    """torch.fx.symbolic_trace records the layers and npu::dcnv3 (there is no device to choose
    the fused ops by), and the traced module computes what the module does."""
    module = DCNv3(channels=16, group=2).eval()
    randomize(module, seed=9)
    traced = torch.fx.symbolic_trace(module)
    assert "dcnv3_softmax_mask" not in traced.code and "dcnv3_dw_conv" not in traced.code
    x = torch.randn(2, 5, 6, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(traced(x), module(x), rtol=1e-5, atol=1e-6)


def test_exported_module_takes_any_batch_up_to_the_step():
    """A batch bounded by im2col_step always satisfies InternImage's step rule, so exporting with
    a dynamic batch needs no guard on it."""
    module = DCNv3(channels=16, group=2).eval()
    randomize(module, seed=10)
    batch = torch.export.Dim("batch", min=1, max=modules.IM2COL_STEP)
    program = torch.export.export(module, (torch.randn(2, 5, 6, 16),), dynamic_shapes=({0: batch},))
    x = torch.randn(5, 5, 6, 16, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), module(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [DCNv3, DCNv3_pytorch])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "layers"])
def test_empty_batch(cls, fused, monkeypatch):
    if not fused:
        monkeypatch.setattr(modules, "_fuses_softmax", lambda x: False)
    module = cls(channels=16, group=2)
    x = torch.randn(0, 5, 6, 16, requires_grad=True)
    out = module(x)
    out.sum().backward()
    assert out.shape == x.shape and x.grad.shape == x.shape
    assert all(p.grad is not None and not p.grad.any() for p in module.parameters())


@pytest.mark.parametrize(
    "backend, dynamic", [("aot_eager", None), ("inductor", True)], ids=["aot_eager", "inductor-dynamic"]
)
def test_compiled_module_matches_eager(backend, dynamic):
    """The module under torch.compile, fullgraph: traced by aot_eager, and compiled by inductor
    with symbolic batch and image sizes (the op's fake kernel, the module's reshapes and the
    generated code for the layers around the op all take them), on two shapes."""
    module = DCNv3(channels=32, group=4)
    randomize(module, seed=8)
    torch._dynamo.reset()
    compiled = torch.compile(module, fullgraph=True, backend=backend, dynamic=dynamic)
    for seed, shape in enumerate(((1, 6, 6, 32), (2, 5, 7, 32))):
        x = torch.randn(shape, generator=torch.Generator().manual_seed(2 + seed))
        want, got = run_with_grads(module, x), run_with_grads(compiled, x)
        # Float32 rounding, not bits: the graph's Linear layers reach the BLAS through other calls
        # and buffers than eager's (on a Xeon with torch 2.11, a third of the outputs differed by
        # one unit in the last place; torch 2.13 on an AMD EPYC gives equal bits), and inductor
        # generates its own code for the layers around the op.
        torch.testing.assert_close(got[0], want[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(got[1], want[1], rtol=1e-5, atol=1e-6)


# ---- functional API ---------------------------------------------------------------------------

ATTRS = (3, 3, 1, 1, 1, 1, 1, 1, 2, 4, 1.0)  # kernel, stride, pad, dilation (h, w), group, group_channels, scale


def small_inputs(points):
    gen = torch.Generator().manual_seed(3)
    return (
        torch.randn(2, 5, 6, 8, generator=gen, dtype=torch.float64),
        torch.randn(2, 5, 6, 2 * points * 2, generator=gen, dtype=torch.float64) * 2,
        torch.rand(2, 5, 6, 2 * points, generator=gen, dtype=torch.float64),
    )


def test_dcnv3_function_apply_with_and_without_remove_center():
    inputs = small_inputs(9)
    want = dcnv3_reference(*inputs, Dcnv3Attrs(*ATTRS))
    torch.testing.assert_close(DCNv3Function.apply(*inputs, *ATTRS, 256), want)
    torch.testing.assert_close(DCNv3Function.apply(*inputs, *ATTRS, 256, 0), want)
    inputs = small_inputs(8)
    torch.testing.assert_close(
        DCNv3Function.apply(*inputs, *ATTRS, 256, True), dcnv3_reference(*inputs, Dcnv3Attrs(*ATTRS, remove_center=1))
    )


def test_dcnv3_function_is_differentiable():
    leaves = [t.requires_grad_() for t in small_inputs(9)]
    DCNv3Function.apply(*leaves, *ATTRS, 2).sum().backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in leaves)


def test_dcnv3_core_pytorch_has_internimage_signature():
    inputs = small_inputs(8)
    out = dcnv3_core_pytorch(*inputs, *ATTRS, remove_center=1)
    torch.testing.assert_close(out, dcnv3_reference(*inputs, Dcnv3Attrs(*ATTRS, remove_center=1)))
    torch.testing.assert_close(out, dcnv3_fallback(*inputs, Dcnv3Attrs(*ATTRS, im2col_step=2, remove_center=1)))


@pytest.mark.parametrize("cls", MODULES)
@pytest.mark.parametrize(
    "kwargs,sizes",
    [(dict(stride=2), "3x3 output from a 6x6 input.*dw_conv branch at 6x6"), (dict(pad=2), "8x8 output .* at 6x6")],
    ids=["stride2", "pad2"],
)
def test_settings_that_change_the_size_are_named(cls, kwargs, sizes):
    """The layer computes one offset and mask per input pixel (its dw_conv keeps the size), so a
    stride or padding that changes the sampled size cannot work; the op reported it as an offset
    of the wrong shape, an argument the layer's user never passed."""
    layer = cls(channels=16, group=2, **kwargs)
    with pytest.raises(ValueError, match=rf"^{cls.__name__} with kernel_size=3, .*samples a {sizes}"):
        layer(torch.randn(1, 6, 6, 16))


@pytest.mark.parametrize("cls", MODULES)
def test_an_even_kernel_keeps_working(cls):
    """kernel_size=2, pad=0: the op and the (even) dw_conv both give 5x5 from 6x6."""
    assert cls(channels=16, group=2, kernel_size=2, pad=0)(torch.randn(1, 6, 6, 16)).shape == (1, 5, 5, 16)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "dcnv3_function"])
@pytest.mark.parametrize("batch", [257, 300])
def test_batch_above_the_step_that_it_does_not_divide(batch, fused, monkeypatch):
    """InternImage's module always passes im2col_step=256, which its op requires to divide a batch
    above it: DCNv3 refused 300 images with an error about an argument its user never passed,
    while DCNv3_pytorch (same weights) took them. The step does not change the result."""
    if not fused:
        monkeypatch.setattr(modules, "_fuses_softmax", lambda x: False)
    module = DCNv3(channels=8, group=2).eval()
    randomize(module, seed=11)
    pytorch = DCNv3_pytorch(channels=8, group=2).eval()
    pytorch.load_state_dict(module.state_dict())
    x = torch.randn(batch, 3, 3, 8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        torch.testing.assert_close(module(x), pytorch(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", MODULES)
def test_torch_jit_script_says_what_to_use_instead(cls):
    """It failed inside torch.fx.Proxy with "import statements aren't supported", also for a
    model that holds the layer."""
    for model in (cls(channels=16, group=2), nn.Sequential(nn.Identity(), cls(channels=16, group=2))):
        with pytest.raises(
            RuntimeError, match=rf"torch.jit.script cannot compile {cls.__name__}: .* Use torch.jit.trace"
        ):
            torch.jit.script(model)
