"""torch.ops.npu.dcnv3_softmax_mask, npu::dcnv3 on softmax(mask) over each group's points with
the softmax inside the CPU kernel: against the float64 reference (the softmax and its Jacobian
taken by torch in float64), gradcheck, opcheck, fake tensors, torch.compile, and agreement with
softmax + npu::dcnv3 in float32 and for non-finite logits."""

import pytest
import torch
from functorch.compile import make_boxed_func
from op_cases import make_inputs
from torch._dynamo.backends.common import aot_autograd
from torch._subclasses.fake_tensor import FakeTensorMode

import dcnv3_ascend
from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward

assert dcnv3_ascend.HAS_EXTENSION, "these tests check the compiled CPU kernel; build dcnv3_ascend._C first"

# (attrs, batch, height, width). The first two split grad's channels into blocks (fewer than 16
# (batch, group) pairs and group_channels > 16), whose partial sums meet the softmax Jacobian
# in a separate pass; the others keep one block.
SAMPLES = [
    (Dcnv3Attrs(group=1, group_channels=40), 1, 5, 6),
    (
        Dcnv3Attrs(kernel_h=3, kernel_w=5, stride_h=2, pad_h=0, pad_w=2, group=2, group_channels=33, offset_scale=0.3),
        2,
        6,
        7,
    ),
    (Dcnv3Attrs(dilation_h=2, dilation_w=2, pad_h=2, pad_w=2, group=3, group_channels=2, offset_scale=0.5), 1, 5, 5),
    (
        Dcnv3Attrs(
            kernel_h=5,
            kernel_w=5,
            pad_h=2,
            pad_w=2,
            group=2,
            group_channels=3,
            remove_center=1,
            offset_scale=2.0,
            im2col_step=1,
        ),
        2,
        4,
        5,
    ),
]


def inputs(index, dtype=torch.float64, requires_grad=False):
    """(input, offset, logits, attrs) of SAMPLES[index]; logits spread over +-3."""
    attrs, batch, height, width = SAMPLES[index]
    input, offset, mask = make_inputs(attrs, batch, height, width, offset_range=2.5, seed=index)
    logits = (mask * 6 - 3).to(dtype)
    tensors = [t.to(dtype).requires_grad_(requires_grad) for t in (input, offset, logits)]
    return (*tensors, attrs)


def softmax_mask(logits, attrs):
    return logits.unflatten(-1, (attrs.group, attrs.points)).softmax(-1).flatten(-2)


def fused(input, offset, logits, attrs):
    return torch.ops.npu.dcnv3_softmax_mask(input, offset, logits, *attrs.args())


def unfused(input, offset, logits, attrs):
    return torch.ops.npu.dcnv3(input, offset, softmax_mask(logits, attrs), *attrs.args())


@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_matches_float64_reference(index):
    input, offset, logits, attrs = inputs(index)
    out = fused(input, offset, logits, attrs)
    # The reference samples with the probabilities; the logits' gradient is the reference's mask
    # gradient through torch's float64 softmax.
    leaf = logits.clone().requires_grad_()
    prob = softmax_mask(leaf, attrs)
    torch.testing.assert_close(out, dcnv3_reference(input, offset, prob.detach(), attrs), rtol=1e-12, atol=1e-12)
    grad_output = torch.randn_like(out)
    got = torch.ops.npu.dcnv3_softmax_mask_backward(input, offset, logits, grad_output, *attrs.args())
    grad_input, grad_offset, grad_prob = dcnv3_reference_backward(input, offset, prob.detach(), grad_output, attrs)
    (grad_logits,) = torch.autograd.grad(prob, leaf, grad_prob)
    for name, g, w in zip(("grad_input", "grad_offset", "grad_mask"), got, (grad_input, grad_offset, grad_logits)):
        torch.testing.assert_close(g, w, rtol=1e-11, atol=1e-11, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_gradcheck_float64(index):
    input, offset, logits, attrs = inputs(index, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda i, o, m: fused(i, o, m, attrs), (input, offset, logits), eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=True
    )


@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_float32_matches_softmax_then_dcnv3(index):
    input, offset, logits, attrs = inputs(index, torch.float32, requires_grad=True)
    outs, grads = [], []
    for fn in (fused, unfused):
        out = fn(input, offset, logits, attrs)
        outs.append(out)
        grads.append(torch.autograd.grad(out, (input, offset, logits), torch.ones_like(out) + out.detach()))
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    for g, w in zip(*grads):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


# float32 runs the kernel's own vectorised exponential (float64 calls std::exp): within a few
# units in the last place of torch's.
NON_FINITE_TOLERANCE = {torch.float64: (1e-12, 1e-11), torch.float32: (2e-6, 2e-6)}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_logits_as_torch_softmax(bad, dtype):
    """A NaN or +inf logit makes its group's probabilities NaN in torch.softmax (a -inf one
    gives probability 0); the fused op gives the same outputs and gradients, NaN where they are."""
    out_tol, grad_tol = NON_FINITE_TOLERANCE[dtype]
    input, offset, logits, attrs = inputs(2, dtype, requires_grad=False)
    offset.requires_grad_()
    logits[0, 1, 2, : attrs.points] = bad  # a whole group
    logits[0, 3, 1, attrs.points + 4] = bad  # one point of another group
    logits.requires_grad_()
    outs, grads = [], []
    for fn in (fused, unfused):
        out = fn(input, offset, logits, attrs)
        outs.append(out)
        grads.append(torch.autograd.grad(out, (offset, logits), torch.ones_like(out)))
    if bad != float("-inf"):
        assert outs[0].isnan().any()
    torch.testing.assert_close(outs[0], outs[1], rtol=out_tol, atol=out_tol, equal_nan=True)
    for g, w in zip(*grads):
        torch.testing.assert_close(g, w, rtol=grad_tol, atol=grad_tol, equal_nan=True)


@pytest.mark.parametrize("spread", [1.0, 40.0])
def test_float32_softmax_over_the_exponentials_range(spread):
    """Logits spread so that shifted values cover exp's float range, down to where it is
    subnormal or 0 (below -87.3): the fused float32 op agrees with torch.softmax + npu::dcnv3."""
    input, offset, logits, attrs = inputs(2, torch.float32)
    logits = torch.randn(logits.shape, generator=torch.Generator().manual_seed(7)) * spread
    # One group's shifted logits straddle the range's ends: 0, -1e-3, -20, -86.5, -87.5, -88, -103.5, -200, -inf.
    edges = [0.0, -1e-3, -20.0, -86.5, -87.5, -88.0, -103.5, -200.0, float("-inf")]
    logits[0, 2, 3, : attrs.points] = torch.tensor(edges[: attrs.points]) + 5.0
    logits.requires_grad_()
    outs, grads = [], []
    for fn in (fused, unfused):
        out = fn(input, offset, logits, attrs)
        outs.append(out)
        grads.append(torch.autograd.grad(out, (logits,), torch.ones_like(out) + out.detach()))
    torch.testing.assert_close(outs[0], outs[1], rtol=2e-6, atol=2e-6)
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("index", range(len(SAMPLES)))
def test_opcheck(index, dtype):
    input, offset, logits, attrs = inputs(index, dtype, requires_grad=True)
    torch.library.opcheck(torch.ops.npu.dcnv3_softmax_mask.default, (input, offset, logits, *attrs.args()))


def test_opcheck_backward_op():
    input, offset, logits, attrs = inputs(1)
    grad_output = torch.randn_like(fused(input, offset, logits, attrs))
    torch.library.opcheck(
        torch.ops.npu.dcnv3_softmax_mask_backward.default, (input, offset, logits, grad_output, *attrs.args())
    )


def test_fake_tensors_match_real_outputs():
    input, offset, logits, attrs = inputs(1, torch.float32)
    out = fused(input, offset, logits, attrs)
    grads = torch.ops.npu.dcnv3_softmax_mask_backward(input, offset, logits, out, *attrs.args())
    with FakeTensorMode() as mode:
        fakes = [mode.from_tensor(t) for t in (input, offset, logits)]
        fake_out = fused(*fakes, attrs)
        fake_grads = torch.ops.npu.dcnv3_softmax_mask_backward(*fakes, fake_out, *attrs.args())
    for fake, real in zip((fake_out, *fake_grads), (out, *grads)):
        assert (fake.shape, fake.dtype, fake.stride()) == (real.shape, real.dtype, real.stride())


def test_bad_mask_names_the_argument():
    input, offset, logits, attrs = inputs(2)
    with pytest.raises(RuntimeError, match="mask"):
        fused(input, offset, logits[..., :-1], attrs)


@pytest.mark.parametrize("dynamic", [False, True])
def test_compiled_forward_backward_matches_eager(dynamic):
    torch._dynamo.reset()
    graphs = []

    def record(kind):
        def compiler(gm, example_inputs):
            graphs.append((kind, gm.code))
            return make_boxed_func(gm.forward)

        return compiler

    attrs = SAMPLES[2][0]
    layer = lambda i, o, m: fused(i, o, m, attrs)  # noqa: E731
    compiled = torch.compile(
        layer,
        fullgraph=True,
        dynamic=dynamic,
        backend=aot_autograd(fw_compiler=record("forward"), bw_compiler=record("backward")),
    )
    for seed, (batch, height) in enumerate(((1, 5), (2, 7))):
        input, offset, mask = make_inputs(attrs, batch, height, 6, dtype=torch.float32, seed=seed)
        tensors = [t.requires_grad_() for t in (input, offset, mask * 4)]
        results = []
        for fn in (layer, compiled):
            out = fn(*tensors)
            results.append((out, torch.autograd.grad(out, tensors, torch.ones_like(out) + out.detach())))
        (want, want_grads), (got, got_grads) = results
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        for g, w in zip(got_grads, want_grads):
            torch.testing.assert_close(g, w, rtol=0, atol=0)
    assert any(kind == "forward" and "npu.dcnv3_softmax_mask.default" in code for kind, code in graphs)
    assert any(kind == "backward" and "npu.dcnv3_softmax_mask_backward.default" in code for kind, code in graphs)
