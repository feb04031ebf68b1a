"""npu::dcnv3_dw_conv, the DCNv3 modules' dw_conv branch (depthwise conv, LayerNorm, exact GELU)
as one CPU op, and its backward: against a float64 reference built from torch's functional layers
(autograd through them for the gradients), its argument checks (CPU kernel and fake kernel
alike), and when the modules use it."""

import os
import textwrap

import pytest
import torch
import torch.nn.functional as F
import torch.nn.utils.prune
from child_process import run_python
from test_modules import H_STYLE, ops_called, randomize, run_with_grads

import dcnv3_ascend
from dcnv3_ascend import modules
from dcnv3_ascend.modules import DCNv3, DCNv3_pytorch

assert dcnv3_ascend.HAS_EXTENSION, "these tests check the compiled CPU kernel; build dcnv3_ascend._C first"

EPS = 1e-6


def dw_conv(input, params, eps=EPS):
    return torch.ops.npu.dcnv3_dw_conv(input, *params, eps)


def gelu(v):
    """Exact GELU in float64 as v * erfc(-v / sqrt 2) / 2: F.gelu's v * (1 + erf(v / sqrt 2)) / 2
    cancels to 0 below v = -8 even in float64."""
    return 0.5 * v * torch.special.erfc(-v / 2**0.5)


def reference(input, params, eps=EPS):
    """The module's layers in float64: NHWC -> conv (NCHW) -> LayerNorm (NHWC) -> GELU."""
    weight, bias, norm_weight, norm_bias = (p.double() for p in params)
    k = weight.shape[-1]
    x = F.conv2d(input.double().permute(0, 3, 1, 2), weight, bias, padding=(k - 1) // 2, groups=weight.shape[0])
    x = F.layer_norm(x.permute(0, 2, 3, 1), (input.shape[-1],), norm_weight, norm_bias, eps)
    return gelu(x)


def make_problem(batch, height, width, channels, k, dtype=torch.float32, seed=0, bias_spread=1.0):
    """Input and parameters; norm_bias spread over +-bias_spread puts GELU's inputs in its tails."""
    gen = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    input = randn(batch, height, width, channels)
    params = (randn(channels, 1, k, k) * 0.5, randn(channels), randn(channels) * 2, randn(channels) * bias_spread)
    return input.to(dtype), tuple(p.to(dtype) for p in params)


# (batch, height, width, channels, k): channels below, at and across the vector chunks (12, 80,
# 300), a pixel wider than a GELU block (2048 > 1024), images smaller than the kernel, 1x1 images.
SHAPES = [
    (2, 5, 7, 12, 3),
    (1, 9, 4, 80, 5),
    (1, 3, 3, 7, 1),
    (3, 1, 1, 16, 3),
    (1, 2, 9, 300, 3),
    (1, 3, 2, 2048, 3),
    (1, 6, 5, 33, 7),
    (2, 4, 6, 64, 3),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_float64_matches_the_reference(shape):
    input, params = make_problem(*shape, dtype=torch.float64, seed=sum(shape))
    torch.testing.assert_close(dw_conv(input, params), reference(input, params), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_float32_matches_the_reference(shape):
    input, params = make_problem(*shape, seed=sum(shape))
    out = dw_conv(input, params)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), reference(input, params), rtol=1e-5, atol=1e-5)


def test_float32_gelu_is_accurate_relative_to_its_value():
    """With norm_weight 0 every pixel's output is GELU(norm_bias) whatever the convolution. The
    float kernel's vectorised erfc holds the relative error within 2e-6 from v = -3 up (torch's
    float32 GELU: 6e-5) and within 2e-5 down to v = -13, where GELU(v) is about -8e-38 (torch's
    float32 GELU, whose 1 + erf cancels, returns 0 below v = -5)."""
    channels = 4096
    input, (weight, bias, _, _) = make_problem(1, 3, 2, channels, 3, seed=3)
    v = torch.linspace(-13, 9, channels)
    out = dw_conv(input, (weight, bias, torch.zeros(channels), v)).double()
    want = gelu(v.double()).expand(1, 3, 2, channels)
    bulk = v >= -3
    torch.testing.assert_close(out[..., bulk], want[..., bulk], rtol=2e-6, atol=0)
    torch.testing.assert_close(out[..., ~bulk], want[..., ~bulk], rtol=2e-5, atol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_types_round_a_float32_result(dtype):
    """Half inputs accumulate in float32: the output is the reference on the same (rounded)
    values, rounded once."""
    input, params = make_problem(2, 5, 6, 48, 3, dtype=dtype, seed=4)
    out = dw_conv(input, params)
    assert out.dtype == dtype
    want = reference(input, params).to(dtype)
    # One rounding of the result, plus float32 accumulation: within one unit in the last place.
    torch.testing.assert_close(out.double(), want.double(), rtol=torch.finfo(dtype).eps, atol=1e-3)


def test_non_contiguous_input_and_threads_give_the_same_bits():
    input, params = make_problem(2, 9, 11, 40, 3, seed=5)
    want = dw_conv(input, params)
    strided = input.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    assert not strided.is_contiguous()
    assert torch.equal(dw_conv(strided, params), want)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert torch.equal(dw_conv(input, params), want)
    finally:
        torch.set_num_threads(threads)


def test_nan_spreads_over_the_windows_that_read_it():
    input, params = make_problem(1, 6, 7, 16, 3, seed=6)
    input[0, 2, 3, 5] = float("nan")
    nan_pixels = dw_conv(input, params).isnan().any(-1)[0]
    want = torch.zeros(6, 7, dtype=torch.bool)
    want[1:4, 2:5] = True  # the 3x3 windows around (2, 3)
    assert torch.equal(nan_pixels, want)
    assert dw_conv(input, params).isnan()[0, 1:4, 2:5].all()  # LayerNorm spreads it over the pixel


@pytest.mark.parametrize("channels", [7, 64, 100])
def test_pixels_equal_across_channels_normalise_to_zero(channels):
    """Where a pixel's channels are all equal, LayerNorm gives x_hat = 0 (the mean is that value),
    so the output is GELU(norm_bias), with eps = 0 NaN (0 / 0) as torch's layers, and the input's
    gradient the reference's."""
    _, (_, _, norm_weight, norm_bias) = make_problem(1, 1, 1, channels, 1, seed=11)
    identity = (torch.ones(channels, 1, 1, 1), torch.zeros(channels), norm_weight.float(), norm_bias.float())
    values = torch.tensor([1000.1, -3.3, 13.1, 1e-3, 7e5]).reshape(1, 1, 5, 1)
    input = values.expand(1, 1, 5, channels).contiguous()
    out = dw_conv(input, identity)
    torch.testing.assert_close(out, F.gelu(norm_bias.float()).expand_as(out), rtol=1e-5, atol=1e-6)
    assert dw_conv(input, identity, eps=0.0).isnan().all()
    grad_output = torch.randn(input.shape, generator=torch.Generator().manual_seed(11))
    got = gradients(dw_conv, input, identity, grad_output)
    want = gradients(reference, *as_float64(input, identity), grad_output)
    # 1 / sqrt(eps) = 1000 scales float32 roundings of the gradient up.
    torch.testing.assert_close(got[0].double(), want[0], rtol=1e-5, atol=1e-4)


def test_statistics_past_the_float_range_of_their_sums():
    """Pixels whose sums of squares overflow (float32 from ~1e19, float64 from ~1e154) though
    every value is finite: LayerNorm does not depend on the scale, so neither does the output."""
    input, params = make_problem(1, 4, 5, 16, 3, seed=12)
    want = reference(input, params)
    for big in (1e19, 3e36):  # up to near float32's largest value
        scaled = (input * big, (params[0], params[1] * big, *params[2:]))
        torch.testing.assert_close(
            dw_conv(*scaled, eps=0.0).double(), reference(*scaled, eps=0.0), rtol=1e-5, atol=1e-5
        )
    # float64: a power of two scales every value exactly; the reference then is the unscaled one.
    scale = 2.0**530
    input64, params64 = as_float64(input, params)
    scaled = (input64 * scale, (params64[0], params64[1] * scale, *params64[2:]))
    torch.testing.assert_close(dw_conv(*scaled, eps=0.0), reference(input64, params64, eps=0.0), rtol=1e-12, atol=1e-12)
    assert want.isfinite().all()


def test_variance_plus_a_large_eps_past_the_float_range():
    """A finite variance whose sum with a large eps overflows (float32: a variance of ~1e37 plus
    eps = 3.35e38): 1 / sqrt(variance + eps) is ~5e-20, not 0, so the output is not GELU(norm_bias)
    alone, and the gradients are not 0. float64 alike near 1.8e308, where the reference is the
    same problem scaled by a power of two (LayerNorm is the same for input * s, eps * s^2)."""
    channels, eps = 8, 3.35e38
    input, (_, _, norm_weight, norm_bias) = make_problem(1, 3, 4, channels, 1, seed=13)
    identity = (torch.ones(channels, 1, 1, 1), torch.zeros(channels), norm_weight, norm_bias)
    big = input * 4e18
    grad_output = torch.randn(input.shape, generator=torch.Generator().manual_seed(13))
    torch.testing.assert_close(
        dw_conv(big, identity, eps=eps).double(), reference(big, identity, eps=eps), rtol=1e-5, atol=1e-5
    )
    got = gradients(dw_conv, big, identity, grad_output, eps=eps)
    want = gradients(reference, *as_float64(big, identity), grad_output, eps=eps)
    for name, g, w in zip(GRAD_NAMES, got, want):
        torch.testing.assert_close(g.double(), w, rtol=1e-5, atol=1e-5 * w.abs().max().item(), msg=name)
    scale, eps64 = 2.0**447, 1.7e308  # values ~1e153, variances ~1e307
    big64, identity64 = as_float64(big, identity)
    torch.testing.assert_close(
        dw_conv(big64 * scale, identity64, eps=eps64),
        reference(big64, identity64, eps=eps64 / scale**2),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("shape", [(0, 4, 4, 8), (2, 0, 4, 8), (2, 4, 0, 8)], ids=["batch", "height", "width"])
def test_empty_input_gives_empty_output(shape):
    input = torch.randn(*shape)
    params = (torch.randn(8, 1, 3, 3), torch.randn(8), torch.randn(8), torch.randn(8))
    out = dw_conv(input, params)
    assert out.shape == input.shape and out.dtype == input.dtype


def _bad_calls():
    input, (weight, bias, norm_weight, norm_bias) = make_problem(1, 4, 4, 8, 3)
    good = (input, weight, bias, norm_weight, norm_bias, EPS)

    def with_(index, value):
        args = list(good)
        args[index] = value
        return tuple(args)

    return {
        "3-D input": (with_(0, input[0]), r"input must be \[N, H, W, C\] \(4-D\), got \[4, 4, 8\]"),
        "int input": (with_(0, input.int()), "input dtype must be float32, float64, float16 or bfloat16, got int32"),
        "weight dtype": (
            with_(1, weight.double()),
            r"weight must have the same dtype as input \(float32\), got float64",
        ),
        "weight channels": (
            with_(1, weight[:4]),
            r"weight must be \[C, 1, k, k\] with C = 8 \(input's channels\) and k odd, got \[4, 1, 3, 3\]",
        ),
        "even kernel": (with_(1, torch.randn(8, 1, 2, 2)), r"and k odd, got \[8, 1, 2, 2\]"),
        "non-square kernel": (with_(1, torch.randn(8, 1, 3, 5)), r"and k odd, got \[8, 1, 3, 5\]"),
        "bias size": (with_(2, bias[:7]), r"bias must be \[C\] with C = 8 \(input's channels\), got \[7\]"),
        "norm_weight size": (with_(3, norm_weight[None]), r"norm_weight must be \[C\] with C = 8 .*got \[1, 8\]"),
        "norm_bias dtype": (with_(4, norm_bias.half()), r"norm_bias must have the same dtype as input"),
        "bias None": (with_(2, None), "bias must be a tensor, got None"),
        "negative eps": (with_(5, -1.0), r"eps must be finite and >= 0 in float32 .*, got -1$"),
        "nan eps": (with_(5, float("nan")), r"eps must be finite and >= 0 in float32 .*, got nan$"),
        # finite in double, inf in float32, where float32, float16 and bfloat16 input compute
        "eps beyond float32": (
            with_(5, 1e39),
            r"eps must be finite and >= 0 in float32 \(the accumulation type for float32 input;"
            r" at most about 3\.40282e\+38\), got 1e\+39",
        ),
        "eps beyond float32, float16 input": (
            tuple(a.half() if isinstance(a, torch.Tensor) else a for a in with_(5, 1e39)),
            r"\(the accumulation type for float16 input; .*got 1e\+39",
        ),
        "nan eps, float64 input": (
            tuple(a.double() if isinstance(a, torch.Tensor) else a for a in with_(5, float("nan"))),
            "eps must be finite and >= 0, got nan",
        ),
    }


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("case", list(_bad_calls()))
def test_bad_arguments_are_named(case, device):
    args, message = _bad_calls()[case]
    args = tuple(a.to(device) if isinstance(a, torch.Tensor) else a for a in args)
    with pytest.raises(RuntimeError, match=message):
        torch.ops.npu.dcnv3_dw_conv(*args)


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_float64_input_takes_an_eps_beyond_float32(device):
    input, params = as_float64(*make_problem(1, 4, 4, 8, 3))
    out = dw_conv(input.to(device), tuple(p.to(device) for p in params), eps=1e39)
    assert out.shape == input.shape and out.dtype == torch.float64


def test_layout_without_kernel_is_named():
    input, params = make_problem(1, 4, 4, 8, 3)
    with pytest.raises(NotImplementedError, match=r"npu::dcnv3_dw_conv has no kernel for input on device 'cpu' with"):
        dw_conv(input.to_sparse(), params)


def test_meta_gives_the_input_shape():
    input, params = make_problem(2, 5, 6, 12, 3)
    out = dw_conv(input.to("meta"), tuple(p.to("meta") for p in params))
    assert out.device.type == "meta" and out.shape == input.shape


def as_float64(input, params):
    return input.double(), tuple(p.double() for p in params)


def gradients(fn, input, params, grad_output, eps=EPS):
    """The gradients of (fn(input, params, eps) * grad_output).sum() w.r.t. input and params."""
    leaves = [t.detach().clone().requires_grad_() for t in (input, *params)]
    out = fn(leaves[0], tuple(leaves[1:]), eps)
    return torch.autograd.grad(out, leaves, grad_output.to(out.dtype))


GRAD_NAMES = ("grad_input", "grad_weight", "grad_bias", "grad_norm_weight", "grad_norm_bias")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gradients_match_the_reference(shape, dtype):
    input, params = make_problem(*shape, dtype=dtype, seed=sum(shape) + 1)
    grad_output = torch.randn(shape[:4], generator=torch.Generator().manual_seed(9), dtype=dtype)
    got = gradients(dw_conv, input, params, grad_output)
    want = gradients(reference, *as_float64(input, params), grad_output)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    for name, g, w in zip(GRAD_NAMES, got, want):
        assert g.dtype == dtype and g.shape == w.shape
        # Relative to the gradient's scale: the parameters' gradients sum over every pixel.
        torch.testing.assert_close(g.double(), w, rtol=tol, atol=tol * w.abs().max().item(), msg=name)


@pytest.mark.parametrize("loss", ["sum", "square"])
def test_second_order_gradient_raises(loss):
    """As npu::dcnv3 (test_op_autograd): no silently missing second-order gradient."""
    input, params = make_problem(1, 5, 6, 8, 3, torch.float64, seed=9)
    tensors = [t.requires_grad_() for t in (input, *params)]

    def grads(create_graph):
        out = dw_conv(*tensors[:1], tensors[1:])
        return torch.autograd.grad(getattr(out, loss)().sum(), tensors, create_graph=create_graph)

    first_order = grads(create_graph=False)
    graphed = grads(create_graph=True)
    for got, want in zip(graphed, first_order):
        assert torch.equal(got, want) and got.requires_grad
    with pytest.raises(RuntimeError, match="npu::dcnv3_dw_conv_backward has no derivative"):
        graphed[0].square().sum().backward()
    # torch.autograd.grad towards one input only (once_differentiable's node would be pruned).
    with pytest.raises(RuntimeError, match="npu::dcnv3_dw_conv_backward has no derivative"):
        torch.autograd.grad(graphed[1].sum(), tensors[1], allow_unused=True)


def test_gradient_of_the_backward_op_called_directly_raises():
    """As npu::dcnv3_backward's (test_op_autograd): differentiating its results left .grad None."""
    input, params = make_problem(1, 5, 6, 8, 3, torch.float64, seed=9)
    tensors = [t.requires_grad_() for t in (input, *params)]
    grad_output = torch.randn(input.shape, dtype=input.dtype)
    grads = torch.ops.npu.dcnv3_dw_conv_backward(*tensors, grad_output, EPS)
    assert all(g.requires_grad for g in grads)
    with pytest.raises(RuntimeError, match="npu::dcnv3_dw_conv_backward has no derivative"):
        grads[0].square().sum().backward()


def test_gradcheck():
    input, params = make_problem(1, 4, 3, 5, 3, dtype=torch.float64, seed=11)
    leaves = [t.requires_grad_() for t in (input, *params)]
    assert torch.autograd.gradcheck(lambda *t: torch.ops.npu.dcnv3_dw_conv(*t, EPS), leaves)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_type_gradients(dtype):
    """Half types accumulate in float32 and round each gradient once."""
    input, params = make_problem(2, 5, 6, 48, 3, dtype=dtype, seed=12)
    grad_output = torch.randn(2, 5, 6, 48, generator=torch.Generator().manual_seed(3)).to(dtype)
    got = gradients(dw_conv, input, params, grad_output)
    want = gradients(reference, *as_float64(input, params), grad_output)
    for name, g, w in zip(GRAD_NAMES, got, want):
        assert g.dtype == dtype
        scale = w.abs().max().item()
        torch.testing.assert_close(g.double(), w.to(dtype).double(), rtol=0.02, atol=0.02 * scale, msg=name)


@pytest.mark.parametrize("shape", [(2, 23, 9, 40, 3), (1, 300, 1, 8192, 3)], ids=["blocks", "capped_blocks"])
def test_gradients_do_not_depend_on_threads(shape):
    """The parameters' gradients are summed in blocks of rows fixed by the shape, then in block
    order: the same bits for any thread count. A tall image of wide rows reaches the cap on the
    number of blocks (one row each would be 300)."""
    input, params = make_problem(*shape, seed=13)
    grad_output = torch.randn(shape[:4], generator=torch.Generator().manual_seed(4))
    threads = torch.get_num_threads()
    try:
        runs = []
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            runs.append(torch.ops.npu.dcnv3_dw_conv_backward(input, *params, grad_output, EPS))
    finally:
        torch.set_num_threads(threads)
    for run in runs[1:]:
        for name, a, b in zip(GRAD_NAMES, runs[0], run):
            assert torch.equal(a, b), name
    want = gradients(reference, *as_float64(input, params), grad_output)
    for name, g, w in zip(GRAD_NAMES, runs[0], want):
        torch.testing.assert_close(g.double(), w, rtol=1e-5, atol=1e-5 * w.abs().max().item(), msg=name)


def test_backward_of_an_empty_image_is_zero():
    input = torch.randn(2, 0, 4, 8)
    params = (torch.randn(8, 1, 3, 3), torch.randn(8), torch.randn(8), torch.randn(8))
    grads = torch.ops.npu.dcnv3_dw_conv_backward(input, *params, torch.randn(2, 0, 4, 8), EPS)
    assert grads[0].shape == input.shape
    for g, p in zip(grads[1:], params):
        assert torch.equal(g, torch.zeros_like(p))


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize(
    "grad_output, message",
    [
        (torch.randn(1, 4, 4, 7), r"grad_output must have input's shape \[1, 4, 4, 8\], got \[1, 4, 4, 7\]"),
        (torch.randn(1, 4, 4, 8, dtype=torch.float64), r"grad_output must have the same dtype as input"),
    ],
    ids=["shape", "dtype"],
)
def test_backward_names_a_bad_grad_output(grad_output, message, device):
    input, params = make_problem(1, 4, 4, 8, 3)
    args = [t.to(device) for t in (input, *params, grad_output)]
    with pytest.raises(RuntimeError, match=message):
        torch.ops.npu.dcnv3_dw_conv_backward(*args, EPS)


def test_meta_backward_gives_the_shapes():
    input, params = make_problem(2, 5, 6, 12, 3)
    grads = torch.ops.npu.dcnv3_dw_conv_backward(*[t.to("meta") for t in (input, *params, input)], EPS)
    assert [g.shape for g in grads] == [t.shape for t in (input, *params)]


@pytest.mark.skipif(
    os.environ.get("DCNV3_TEST_LARGE") != "1",
    reason="fills and convolves a 4 GiB image (about a minute); set DCNV3_TEST_LARGE=1 to run",
)
def test_input_past_2_31_elements():
    """The last pixels of an image of 2^31 + 2^16 elements: a 32-bit index would wrap and read
    rows near the start instead of these."""
    height, width, channels = 32769, 32768, 2
    input = torch.zeros(1, height, width, channels, dtype=torch.bfloat16)
    assert input.numel() > 2**31
    corner, params = make_problem(1, 3, 3, channels, 3, dtype=torch.bfloat16, seed=7)
    input[0, -3:, -3:] = corner[0]
    out = dw_conv(input, params)
    # The corner's reference: the same 3x3 pixels, zero beyond the image's last row and column.
    want = reference(corner, params).to(torch.bfloat16)
    assert torch.equal(out[0, -2:, -2:], want[0, 1:, 1:])


# --- The modules ---------------------------------------------------------------------------


def _module_and_input(kwargs, seed=0):
    module = DCNv3(**kwargs)
    randomize(module, seed=seed)
    x = torch.randn(2, 7, 6, kwargs["channels"], generator=torch.Generator().manual_seed(seed))
    return module, x


@pytest.mark.parametrize(
    "kwargs",
    [dict(channels=32, group=4), dict(channels=48, group=3, dw_kernel_size=5, center_feature_scale=True)],
    ids=["default", "dw5_center_scale"],
)
def test_module_fuses_dw_conv_with_the_same_result(kwargs, monkeypatch):
    module, x = _module_and_input(kwargs, seed=1)
    with torch.no_grad():
        names = ops_called(lambda: module(x))
    assert "npu.dcnv3_dw_conv" in names and not {"aten.convolution", "aten.gelu"} & names
    training_names = ops_called(lambda: run_with_grads(module, x))
    assert {"npu.dcnv3_dw_conv", "npu.dcnv3_dw_conv_backward"} <= training_names
    assert not {"aten.convolution", "aten.convolution_backward", "aten.gelu_backward"} & training_names
    fused = run_with_grads(module, x)
    monkeypatch.setattr(modules, "_dw_conv_op_layers", lambda *args: None)
    assert "npu.dcnv3_dw_conv" not in ops_called(lambda: run_with_grads(module, x))
    layers = run_with_grads(module, x)
    torch.testing.assert_close(fused[0], layers[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fused[1], layers[1], rtol=1e-5, atol=1e-5)
    for name in layers[2]:
        torch.testing.assert_close(fused[2][name], layers[2][name], rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize(
    "kwargs",
    [H_STYLE, dict(channels=32, group=4, act_layer="ReLU")],
    ids=["bn_relu", "relu"],
)
def test_module_keeps_branches_the_op_does_not_compute(kwargs):
    module, x = _module_and_input(kwargs, seed=3)
    with torch.no_grad():
        assert "npu.dcnv3_dw_conv" not in ops_called(lambda: module(x))


@pytest.mark.parametrize(
    "swap",
    [
        lambda dw: dw.__setitem__(2, torch.nn.GELU(approximate="tanh")),
        lambda dw: setattr(dw[0], "padding_mode", "reflect"),
        lambda dw: dw.append(torch.nn.Identity()),
    ],
    ids=["tanh_gelu", "reflect_padding", "extra_layer"],
)
def test_module_keeps_a_changed_branch(swap):
    """A branch changed after construction is no longer what the op computes."""
    module, x = _module_and_input(dict(channels=32, group=4), seed=4)
    swap(module.dw_conv)
    with torch.no_grad():
        assert "npu.dcnv3_dw_conv" not in ops_called(lambda: module(x))


def test_module_keeps_a_conv_whose_weight_has_another_kernel_size():
    """A 5x5 weight assigned to the 3x3 conv (kernel_size and padding 3x3's): the layers pad by
    1 and shrink the image, so the offsets no longer fit; the op, which would take the padding
    from the weight and return a full-size result, must not run in their place."""
    module, x = _module_and_input(dict(channels=32, group=4), seed=4)
    module.dw_conv[0].weight = torch.nn.Parameter(torch.randn(32, 1, 5, 5))
    with torch.no_grad(), pytest.raises(RuntimeError, match=r"offset must have shape .* got \[2, 5, 4, 72\]"):
        module(x)


def _halve_output(module, args, output):
    return output / 2


def _prune_conv(dw):
    torch.nn.utils.prune.l1_unstructured(dw[0], "weight", amount=0.5)


@pytest.mark.parametrize(
    "hook",
    [
        lambda dw: dw[0].register_forward_hook(_halve_output),
        lambda dw: dw[1][1].register_forward_pre_hook(lambda module, args: (args[0] * 3,)),
        lambda dw: dw.register_forward_hook(_halve_output),
        lambda dw: dw[2].register_full_backward_hook(lambda module, grad_in, grad_out: (grad_in[0] * 5,)),
        _prune_conv,
        lambda dw: setattr(dw[2], "forward", torch.tanh),
        lambda dw: torch.nn.modules.module.register_module_forward_hook(
            lambda module, args, output: output / 2 if isinstance(module, torch.nn.Conv2d) else None
        ),
    ],
    ids=["conv_hook", "norm_pre_hook", "branch_hook", "act_backward_hook", "pruned_conv", "act_forward", "global"],
)
def test_module_runs_the_hooks_of_its_branch(hook, monkeypatch):
    """Hooks (torch.nn.utils.prune's too) and a replaced forward run as the layers run them:
    the op would skip them."""
    module, x = _module_and_input(dict(channels=32, group=4), seed=5)
    plain = run_with_grads(module, x)
    handle = hook(module.dw_conv)
    try:
        assert "npu.dcnv3_dw_conv" not in ops_called(lambda: run_with_grads(module, x))
        hooked = run_with_grads(module, x)
        # The hook changes the result: the output, or with a backward hook the input's gradient.
        assert not all(torch.equal(a, b) for a, b in zip(hooked[:2], plain[:2]))
        monkeypatch.setattr(modules, "_dw_conv_op_layers", lambda *args: None)
        layers = run_with_grads(module, x)
        torch.testing.assert_close(hooked[0], layers[0], rtol=0, atol=0)
        torch.testing.assert_close(hooked[1], layers[1], rtol=0, atol=0)
    finally:
        if handle is not None:
            handle.remove()


def test_module_under_autocast_keeps_its_layers(monkeypatch):
    """Autocast runs each layer in its own dtype (the conv in bfloat16 here), which one op cannot:
    the module's result is then the layers'."""
    module, x = _module_and_input(dict(channels=32, group=4), seed=6)
    stem = torch.nn.Linear(32, 32)  # bfloat16 activations, float32 parameters

    def run():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return module(stem(x))

    assert "npu.dcnv3_dw_conv" not in ops_called(run)
    out = run()
    monkeypatch.setattr(modules, "_dw_conv_op_layers", lambda *args: None)
    assert torch.equal(out, run()) and out.dtype == torch.bfloat16


def test_pytorch_module_keeps_its_layers():
    module = DCNv3_pytorch(channels=32, group=4)
    with torch.no_grad():
        assert "npu.dcnv3_dw_conv" not in ops_called(lambda: module(torch.randn(1, 5, 5, 32)))


def test_compiled_module_in_inference_matches_eager():
    """torch.compile traces the op through its fake kernel."""
    module, x = _module_and_input(dict(channels=32, group=4), seed=5)
    graphs = []

    def recording_backend(graph_module, example_inputs):
        graphs.append(str(graph_module.graph))
        return graph_module.forward

    torch._dynamo.reset()
    compiled = torch.compile(module, fullgraph=True, backend=recording_backend)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), module(x), rtol=1e-6, atol=1e-6)
    assert len(graphs) == 1 and "npu.dcnv3_dw_conv" in graphs[0] and "conv2d" not in graphs[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_opcheck(dtype):
    """torch.library.opcheck: schema, fake kernels, autograd registration, AOT dispatch."""
    input, params = make_problem(2, 5, 4, 12, 3, dtype=dtype, seed=14)
    leaves = [t.requires_grad_() for t in (input, *params)]
    torch.library.opcheck(torch.ops.npu.dcnv3_dw_conv.default, (*leaves, EPS))
    grad_output = torch.randn(2, 5, 4, 12, dtype=dtype)
    torch.library.opcheck(
        torch.ops.npu.dcnv3_dw_conv_backward.default, (*[t.detach() for t in leaves], grad_output, EPS)
    )


@pytest.mark.parametrize("isa", ["baseline", "avx2"])
def test_each_kernel_build_matches_the_reference(isa):
    """The kernels are compiled once per instruction set and DCNV3_CPU_ISA caps the choice, so the
    builds this machine would otherwise never run are checked too (forward and gradients)."""
    child = textwrap.dedent("""
        import torch
        from test_dw_conv import SHAPES, as_float64, dw_conv, gradients, make_problem, reference

        for shape in SHAPES:
            for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
                input, params = make_problem(*shape, dtype=dtype, seed=sum(shape))
                want = reference(input, params)
                torch.testing.assert_close(dw_conv(input, params).double(), want, rtol=tol, atol=tol)
                grad_output = torch.randn(shape[:4], dtype=dtype, generator=torch.Generator().manual_seed(2))
                got = gradients(dw_conv, input, params, grad_output)
                want = gradients(reference, *as_float64(input, params), grad_output)
                for g, w in zip(got, want):
                    torch.testing.assert_close(g.double(), w, rtol=tol, atol=tol * w.abs().max().item())
        print("ok")
    """)
    proc = run_python(child, timeout=300, DCNV3_CPU_ISA=isa)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr
