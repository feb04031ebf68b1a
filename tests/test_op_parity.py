"""The CPU kernel of torch.ops.npu.dcnv3 (forward and backward) against the float64 loop
reference, over a seeded random sweep and the edge cases: half types, non-contiguous inputs,
NaN/Inf offsets, empty batch, determinism and indexing past 2^31 elements."""

import os
import random
import subprocess
import sys
import textwrap

import pytest
import torch
from child_process import run_python
from op_cases import make_inputs, random_problem

import dcnv3_ascend
from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward

assert dcnv3_ascend.HAS_EXTENSION, "these tests check the compiled CPU kernel; build dcnv3_ascend._C first"

SWEEP = 40


def forward(input, offset, mask, attrs):
    return torch.ops.npu.dcnv3(input, offset, mask, *attrs.args())


def backward(input, offset, mask, grad_output, attrs):
    return torch.ops.npu.dcnv3_backward(input, offset, mask, grad_output, *attrs.args())


@pytest.mark.parametrize("case", range(SWEEP))
def test_sweep_float64(case):
    attrs, batch, height, width = random_problem(random.Random(case))
    # Offsets up to +-20 px: many samples leave the image or straddle its border.
    input, offset, mask = make_inputs(attrs, batch, height, width, offset_range=20.0 if case % 2 else 3.0, seed=case)
    out = forward(input, offset, mask, attrs)
    torch.testing.assert_close(out, dcnv3_reference(input, offset, mask, attrs), rtol=1e-12, atol=1e-12)
    grad_output = torch.randn_like(out)
    got = backward(input, offset, mask, grad_output, attrs)
    want = dcnv3_reference_backward(input, offset, mask, grad_output, attrs)
    for name, g, w in zip(("grad_input", "grad_offset", "grad_mask"), got, want):
        torch.testing.assert_close(g, w, rtol=1e-11, atol=1e-11, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("case", range(0, SWEEP, 4))
def test_sweep_float32(case):
    attrs, batch, height, width = random_problem(random.Random(case))
    input, offset, mask = make_inputs(attrs, batch, height, width, dtype=torch.float32, seed=case)
    out = forward(input, offset, mask, attrs)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), dcnv3_reference(input, offset, mask, attrs), rtol=1e-4, atol=1e-4)
    grad_output = torch.randn_like(out)
    got = backward(input, offset, mask, grad_output, attrs)
    want = dcnv3_reference_backward(input, offset, mask, grad_output, attrs)
    for g, w in zip(got, want):
        assert g.dtype == torch.float32
        torch.testing.assert_close(g.double(), w, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("isa", ["baseline", "avx2"])
def test_each_kernel_build_matches_reference(isa):
    """The kernels are compiled once per instruction set (portable baseline; AVX2 and AVX-512 on
    x86-64, the best the CPU runs picked at run time); DCNV3_CPU_ISA caps the choice, so the builds
    this machine would otherwise never run are checked too (the rest of the suite runs the best)."""
    child = textwrap.dedent("""
        import random, torch
        from dcnv3_ascend.attrs import Dcnv3Attrs
        from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward
        from op_cases import make_inputs, random_problem

        def check(attrs, batch, height, width, dtype, seed):
            tol = 1e-11 if dtype == torch.float64 else 1e-4
            input, offset, mask = make_inputs(attrs, batch, height, width, dtype=dtype, offset_range=8.0, seed=seed)
            out = torch.ops.npu.dcnv3(input, offset, mask, *attrs.args())
            ref = dcnv3_reference(input, offset, mask, attrs)
            torch.testing.assert_close(out.double(), ref, rtol=tol, atol=tol)
            grad_output = torch.randn_like(out)
            got = torch.ops.npu.dcnv3_backward(input, offset, mask, grad_output, *attrs.args())
            want = dcnv3_reference_backward(input, offset, mask, grad_output, attrs)
            for g, w in zip(got, want):
                torch.testing.assert_close(g.double(), w, rtol=tol, atol=tol)

        for case in range(0, 40, 3):
            attrs, batch, height, width = random_problem(random.Random(case))
            check(attrs, batch, height, width, torch.float64 if case % 2 else torch.float32, case)
        # An image of 2^17 elements and more: the backward works on group-major copies.
        check(Dcnv3Attrs(group=16, group_channels=16, stride_h=4, stride_w=4), 1, 40, 13, torch.float32, 7)
        half = [t.half() for t in make_inputs(attrs, batch, height, width, seed=1)]
        torch.testing.assert_close(torch.ops.npu.dcnv3(*half, *attrs.args()).float(),
                                   torch.ops.npu.dcnv3(*[t.float() for t in half], *attrs.args()),
                                   rtol=4e-3, atol=4e-3)
        print("ok")
    """)
    proc = run_python("import dcnv3_ascend\n" + child, timeout=120, DCNV3_CPU_ISA=isa)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr


def test_unknown_cpu_isa_is_named_in_the_error():
    child = (
        "import torch, dcnv3_ascend\n"
        "from dcnv3_ascend.attrs import Dcnv3Attrs\n"
        "attrs = Dcnv3Attrs(group=1, group_channels=8)\n"
        "x, offset, mask = torch.zeros(1, 3, 3, 8), torch.zeros(1, 3, 3, 18), torch.zeros(1, 3, 3, 9)\n"
        "torch.ops.npu.dcnv3(x, offset, mask, *attrs.args())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", child],
        env=dict(os.environ, DCNV3_CPU_ISA="sse9"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "DCNV3_CPU_ISA: expected baseline, avx2 or avx512, got 'sse9'" in proc.stderr


# Each half type against the float32 kernel on the same (rounded) inputs: the locations are
# computed in float32 from the same values, so only accumulation and the final rounding differ.
# Tolerances: a few units of the type's epsilon relative to the outputs' scale.
HALF_TOLERANCE = {torch.float16: 4e-3, torch.bfloat16: 3e-2}


# The second problem's image (2^17 elements and more) makes the backward work on copies of it.
@pytest.mark.parametrize("group,group_channels,batch,height", [(4, 16, 2, 11), (8, 32, 1, 40)])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_types_against_float32(dtype, group, group_channels, batch, height):
    attrs = Dcnv3Attrs(group=group, group_channels=group_channels, offset_scale=1.0)
    tensors = make_inputs(attrs, batch, height, 13, dtype=dtype, offset_range=4.0, seed=3)
    as_float = [t.float() for t in tensors]
    out = forward(*tensors, attrs)
    want = forward(*as_float, attrs)
    assert out.dtype == dtype
    tol = HALF_TOLERANCE[dtype] * want.abs().max().item()
    torch.testing.assert_close(out.float(), want, rtol=0, atol=tol)
    grad_output = torch.randn(out.shape).to(dtype)
    got = backward(*tensors, grad_output, attrs)
    want = backward(*as_float, grad_output.float(), attrs)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        torch.testing.assert_close(g.float(), w, rtol=0, atol=HALF_TOLERANCE[dtype] * w.abs().max().item())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_forward_is_the_float32_result_rounded(dtype):
    """On inputs whose sums float32 holds exactly (integer pixels, offsets in quarter pixels,
    masks in eighths), the forward in a half type is the float32 forward rounded to that type, to
    the bit: round to nearest even (ties included) and NaN kept, through the vectorised
    conversions (F16C, bfloat16 lane shifts) and their remainders (40 channels a group are chunks
    of 32 and 8 lanes)."""
    attrs = Dcnv3Attrs(group=2, group_channels=40, offset_scale=1.0)
    gen = torch.Generator().manual_seed(5)
    h_out, w_out = attrs.output_size(9, 10)
    input = torch.randint(-256, 257, (1, 9, 10, attrs.channels), generator=gen).to(dtype)
    input[0, 4, 4, :7] = float("nan")
    offset = (torch.randint(-16, 17, (1, h_out, w_out, attrs.group * attrs.points * 2), generator=gen) / 4).to(dtype)
    mask = (torch.randint(0, 9, (1, h_out, w_out, attrs.group * attrs.points), generator=gen) / 8).to(dtype)
    out = forward(input, offset, mask, attrs)
    exact = forward(input.float(), offset.float(), mask.float(), attrs)
    rounded = exact.to(dtype)
    assert out.isnan().any() and (rounded.float() != exact).any()  # NaN and rounding both exercised
    torch.testing.assert_close(out, rounded, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("threads", [1, 2])
def test_forward_segments_of_many_points_cross_batch_items(threads):
    """The forward samples at most 4096 points of positions at a time: 32 groups of 9 points make
    segments of 14 positions, which here span the 15 positions of two batch items unevenly."""
    attrs = Dcnv3Attrs(group=32, group_channels=2)
    input, offset, mask = make_inputs(attrs, 2, 3, 5, seed=11)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out = forward(input, offset, mask, attrs)
    finally:
        torch.set_num_threads(previous)
    torch.testing.assert_close(out, dcnv3_reference(input, offset, mask, attrs), rtol=1e-12, atol=1e-12)


def test_non_contiguous_inputs_match_contiguous():
    attrs = Dcnv3Attrs(group=2, group_channels=3)
    input, offset, mask = make_inputs(attrs, 2, 6, 7, seed=5)
    # An NHWC view of an NCHW tensor, and offset/mask as strided slices of wider tensors.
    input_nc = input.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    offset_nc = torch.stack([offset, torch.full_like(offset, 1e9)], dim=-1)[..., 0]
    mask_nc = mask.transpose(1, 2).contiguous().transpose(1, 2)
    grad_nc = torch.randn(2, 7, 6, 6, dtype=torch.float64).transpose(1, 2)
    grad_output = grad_nc.contiguous()
    assert not any(t.is_contiguous() for t in (input_nc, offset_nc, mask_nc, grad_nc))
    assert torch.equal(forward(input_nc, offset_nc, mask_nc, attrs), forward(input, offset, mask, attrs))
    for g, w in zip(
        backward(input_nc, offset_nc, mask_nc, grad_nc, attrs), backward(input, offset, mask, grad_output, attrs)
    ):
        assert torch.equal(g, w)


def test_nan_and_inf_offsets_contribute_zero():
    attrs = Dcnv3Attrs(group=2, group_channels=4)
    input, offset, mask = make_inputs(attrs, 1, 5, 6, seed=7)
    flat = offset.view(-1)
    flat[0::7] = float("nan")
    flat[1::11] = float("inf")
    flat[2::13] = -float("inf")
    out = forward(input, offset, mask, attrs)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, dcnv3_reference(input, offset, mask, attrs), rtol=1e-12, atol=1e-12)
    grad_output = torch.randn_like(out)
    grads = backward(input, offset, mask, grad_output, attrs)
    for g, w in zip(grads, dcnv3_reference_backward(input, offset, mask, grad_output, attrs)):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    # A point with a non-finite offset gets zero offset and mask gradients.
    bad_points = ~torch.isfinite(offset.view(1, 5, 6, -1, 2)).all(dim=-1)
    assert bad_points.any()
    assert (grads[1].view(1, 5, 6, -1, 2)[bad_points] == 0).all()
    assert (grads[2].view(1, 5, 6, -1)[bad_points] == 0).all()


@pytest.mark.parametrize("offset_scale", [0.3, 1.7, 1e-3])
def test_float64_keeps_an_offset_scale_not_exact_in_float32(offset_scale):
    """offset_scale is a double in the schema: float64 tensors must not see it rounded to float32
    (which moved the samples by ~1e-8 px and the results by up to ~5e-6)."""
    attrs = Dcnv3Attrs(group=2, group_channels=5, offset_scale=offset_scale)
    input, offset, mask = make_inputs(attrs, 2, 6, 7, offset_range=20.0, seed=3)
    out = forward(input, offset, mask, attrs)
    assert (out - dcnv3_reference(input, offset, mask, attrs)).abs().max() <= 1e-12
    grad_output = torch.randn_like(out)
    got = backward(input, offset, mask, grad_output, attrs)
    for g, w in zip(got, dcnv3_reference_backward(input, offset, mask, grad_output, attrs)):
        assert (g - w).abs().max() <= 1e-12


def test_infinite_mask_gives_inf_as_internimage():
    """InternImage's op adds mask * (bilinear value): an infinite mask gives +-inf (NaN only where
    the value is 0), not inf * 0 = NaN from a corner of zero weight."""
    attrs = Dcnv3Attrs(group=2, group_channels=3)
    input, offset, mask = make_inputs(attrs, 1, 5, 6, seed=5)
    offset = offset.round()  # integer locations: three of each point's four weights are 0
    mask.view(-1)[::5] = float("inf")
    mask.view(-1)[2::7] = -float("inf")
    out = forward(input, offset, mask, attrs)
    want = dcnv3_reference(input, offset, mask, attrs)
    assert torch.isinf(want).any() and not want.isnan().all()
    torch.testing.assert_close(out, want, rtol=1e-12, atol=1e-12, equal_nan=True)
    # grad_mask does not involve the mask: it stays the reference's, finite.
    grad_mask = backward(input, offset, mask, torch.ones_like(out), attrs)[2]
    want_grad_mask = dcnv3_reference_backward(input, offset, mask, torch.ones_like(out), attrs)[2]
    assert torch.isfinite(grad_mask).all()
    torch.testing.assert_close(grad_mask, want_grad_mask, rtol=1e-12, atol=1e-12)


def test_empty_batch():
    attrs = Dcnv3Attrs(group=2, group_channels=4, stride_h=2)
    input, offset, mask = make_inputs(attrs, 0, 5, 6)
    out = forward(input, offset, mask, attrs)
    assert out.shape == (0, 3, 6, 8)
    grads = backward(input, offset, mask, out, attrs)
    assert [g.shape for g in grads] == [input.shape, offset.shape, mask.shape]


# The backward shares a batch item's groups among as many tasks as there are threads (batch 1,
# 8 groups, 3 output rows: ranges of 8, 4+4 and 2+3+3 groups at 1, 2 and 3 threads, which also
# sample different segments of positions at once: 28 positions for 8 groups, 56 for 4), splits a
# group's channels into blocks where there are few (batch, group) pairs (group=1, 64 channels:
# 4 blocks), and on images from 2^17 elements works on copies laid out group by group (20 rows of
# 512 channels in 4 blocks of 32; 40 rows of 16 groups of 16 channels, shared 16, 8+8 and 5+5+6).
# Each problem's gradients must be the same bits at any thread count and on every repeat, and
# still match the float64 reference.
@pytest.mark.parametrize(
    "attrs,batch,height",
    [
        (Dcnv3Attrs(group=8, group_channels=16), 1, 3),
        (Dcnv3Attrs(group=3, group_channels=8, stride_h=2), 2, 12),
        (Dcnv3Attrs(group=1, group_channels=64), 1, 17),
        (Dcnv3Attrs(group=4, group_channels=128), 1, 20),
        (Dcnv3Attrs(group=16, group_channels=16, stride_h=4, stride_w=4), 1, 40),
    ],
    ids=["batch1_group8", "batch2_group3", "group1_channel_blocks", "copied_channel_blocks", "copied_group_ranges"],
)
@pytest.mark.parametrize("op", ["dcnv3_backward", "dcnv3_softmax_mask_backward"])
def test_backward_is_deterministic_across_runs_and_threads(attrs, batch, height, op):
    input, offset, mask = make_inputs(attrs, batch, height, 13, dtype=torch.float32, offset_range=3.0, seed=11)
    h_out, w_out = attrs.output_size(height, 13)
    grad_output = torch.randn(batch, h_out, w_out, attrs.channels, generator=torch.Generator().manual_seed(5))
    threads = torch.get_num_threads()
    results = []
    try:
        for n_threads in (1, 2, 3, 1, 3, 2):
            torch.set_num_threads(n_threads)
            results.append(getattr(torch.ops.npu, op)(input, offset, mask, grad_output, *attrs.args()))
    finally:
        torch.set_num_threads(threads)
    for other in results[1:]:
        for g, w in zip(other, results[0]):
            assert torch.equal(g, w)
    logits = mask.double()
    if op == "dcnv3_softmax_mask_backward":
        # The reference takes the probabilities; the logits' gradient is then their Jacobian's.
        logits = logits.requires_grad_()
        prob = torch.softmax(logits.view(batch, h_out, w_out, attrs.group, -1), -1).view_as(mask)
        want = dcnv3_reference_backward(input.double(), offset.double(), prob.detach(), grad_output.double(), attrs)
        want = (*want[:2], torch.autograd.grad(prob, logits, want[2])[0])
    else:
        want = dcnv3_reference_backward(input.double(), offset.double(), logits, grad_output.double(), attrs)
    for g, w in zip(results[0], want):
        torch.testing.assert_close(g.double(), w, rtol=1e-4, atol=1e-4)


def _far_corner_problem(dtype):
    """An input past 2^31 elements whose far corner is sampled: 1x1 kernel with strides spanning
    the image, so the output is 2x2 and position (1, 1) reads pixels (H-2..H-1, W-2..W-1).
    The input is left uninitialised except for the 2x2 pixel blocks at the four image corners,
    which hold everything the four output positions may read: the test stays cheap in memory
    and time, and a wrong (e.g. 32-bit wrapped) index reads garbage."""
    height, width = 65536, 32770  # 2^31 + 2^17 elements, 1 channel
    attrs = Dcnv3Attrs(
        kernel_h=1, kernel_w=1, stride_h=height - 1, stride_w=width - 1, pad_h=0, pad_w=0, group=1, group_channels=1
    )
    input = torch.empty(1, height, width, 1, dtype=dtype)
    assert input.numel() > 2**31
    for rows in (slice(0, 2), slice(height - 2, height)):
        for cols in (slice(0, 2), slice(width - 2, width)):
            input[0, rows, cols, 0] = 0
    input[0, height - 2 :, width - 2 :, 0] = torch.tensor([[1.0, 2.0], [4.0, 8.0]])
    offset = torch.zeros(1, 2, 2, 2, dtype=dtype)
    offset[0, 1, 1] = torch.tensor([-0.25, -0.5])  # (x, y): loc = (H - 1.5, W - 1.25)
    mask = torch.ones(1, 2, 2, 1, dtype=dtype)
    return attrs, input, offset, mask


def test_input_past_2_31_elements_forward():
    attrs, input, offset, mask = _far_corner_problem(torch.bfloat16)
    out = forward(input, offset, mask, attrs)
    # Bilinear weights at (lh, lw) = (0.5, 0.75): 0.125*1 + 0.375*2 + 0.125*4 + 0.375*8 = 4.375.
    assert out[0, 1, 1, 0].item() == 4.375
    assert out[0, 0, 0, 0].item() == 0 and out[0, 1, 0, 0].item() == 0 and out[0, 0, 1, 0].item() == 0


def test_image_wider_than_int32_forward():
    """Floors past int32 (an image 2^31 + 2^24 + 257 pixels wide), which the sampler must not
    convert through int32 as it does on narrower images. Position 0 samples x = 2^31 + 2^24 (exact
    in bfloat16 and float; the width must round above it in float, where the spacing is 256);
    position 1, based at x = 2^31 - 1 (2^31 in float), samples x = 0 through an offset of -2^31.
    The input is uninitialised but for the pixels read."""
    far = 2**31 + 2**24
    attrs = Dcnv3Attrs(kernel_h=1, kernel_w=1, stride_w=2**31 - 1, pad_h=0, pad_w=0, group=1, group_channels=1)
    input = torch.empty(1, 1, far + 257, 1, dtype=torch.bfloat16)
    input[0, 0, :2, 0] = torch.tensor([7.0, 11.0])
    input[0, 0, far : far + 2, 0] = torch.tensor([3.0, 5.0])
    offset = torch.tensor([[[[far, 0.0, -(2.0**31), 0.0]]]], dtype=torch.bfloat16).view(1, 1, 2, 2)
    mask = torch.ones(1, 1, 2, 1, dtype=torch.bfloat16)
    out = forward(input, offset, mask, attrs)
    # Integer locations: each output is its top-left corner's value.
    assert out.flatten().tolist() == [3.0, 7.0]


@pytest.mark.skipif(
    os.environ.get("DCNV3_TEST_LARGE") != "1",
    reason="zero-fills an 8 GiB grad_input (~10 s); set DCNV3_TEST_LARGE=1 to run",
)
def test_input_past_2_31_elements_backward():
    attrs, input, offset, mask = _far_corner_problem(torch.float32)
    grad_output = torch.zeros(1, 2, 2, 1)
    grad_output[0, 1, 1, 0] = 1.0
    grad_input, grad_offset, grad_mask = backward(input, offset, mask, grad_output, attrs)
    h, w = input.shape[1:3]
    far = grad_input[0, h - 2 :, w - 2 :, 0]
    assert torch.equal(far, torch.tensor([[0.125, 0.375], [0.125, 0.375]]))
    assert grad_input.sum().item() == 1.0
    assert grad_mask[0, 1, 1, 0].item() == 4.375
    # d/dloc_w = hh*(v01-v00) + lh*(v11-v10) = 0.5*1 + 0.5*4; d/dloc_h = hw*(v10-v00) + lw*(v11-v01).
    assert grad_offset[0, 1, 1].tolist() == [2.5, 0.25 * 3 + 0.75 * 6]
