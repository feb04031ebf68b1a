"""The grid_sample fallback against the float64 loop reference: forward, autograd gradients
against the analytic reference backward, the range rule, NaN/Inf offsets, dtypes and layouts."""

import dataclasses
import math
import random

import pytest
import torch

from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.fallback import dcnv3_fallback
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward
from dcnv3_ascend.shapes import Case, make_grad_output, make_inputs

KERNELS = ((1, 1), (3, 3), (5, 5), (3, 5))
STRIDES = (1, 2)
PADS = (0, 1, 2)
DILATIONS = (1, 2)
GROUPS = (1, 2, 3, 4, 8, 16)
GROUP_CHANNELS = (1, 2, 3, 7, 16, 64)
OFFSET_SCALES = (0.5, 1.0, 2.0)
OFFSET_RANGES = (1.0, 3.0, 20.0)
# The reference loop costs ~30 us per sampling point (forward + backward): cap each case.
MAX_SAMPLES = 1500


def random_case(rng, index):
    kernel_h, kernel_w = rng.choice(KERNELS)
    attrs = Dcnv3Attrs(
        kernel_h=kernel_h,
        kernel_w=kernel_w,
        stride_h=rng.choice(STRIDES),
        stride_w=rng.choice(STRIDES),
        pad_h=rng.choice(PADS),
        pad_w=rng.choice(PADS),
        dilation_h=rng.choice(DILATIONS),
        dilation_w=rng.choice(DILATIONS),
        group=rng.choice(GROUPS),
        group_channels=rng.choice(GROUP_CHANNELS),
        offset_scale=rng.choice(OFFSET_SCALES),
        im2col_step=rng.choice((1, 64)),
        # remove_center with 1x1 (no points at all) is rejected: tested below.
        remove_center=int(kernel_h == kernel_w and kernel_h > 1 and kernel_h % 2 == 1 and rng.random() < 0.5),
    )
    # The smallest input with an output, plus a few pixels, shrunk until the reference is cheap.
    min_h = max(1, attrs.dilation_h * (kernel_h - 1) + 1 - 2 * attrs.pad_h)
    min_w = max(1, attrs.dilation_w * (kernel_w - 1) + 1 - 2 * attrs.pad_w)
    case = Case(
        f"sweep{index}",
        rng.choice((1, 2)),
        min_h + rng.randrange(6),
        min_w + rng.randrange(6),
        attrs,
        offset_range=rng.choice(OFFSET_RANGES),
    )
    while sample_count(case) > MAX_SAMPLES and (case.height > min_h or case.width > min_w or case.batch > 1):
        case = dataclasses.replace(case, batch=1, height=max(min_h, case.height - 1), width=max(min_w, case.width - 1))
    return case


def sample_count(case):
    return case.output_points * case.attrs.group * case.attrs.points


SWEEP = [random_case(random.Random(1234 + i), i) for i in range(40)]


def test_sweep_covers_every_listed_value():
    want = dict(
        stride_h=STRIDES,
        stride_w=STRIDES,
        pad_h=PADS,
        pad_w=PADS,
        dilation_h=DILATIONS,
        dilation_w=DILATIONS,
        group=GROUPS,
        group_channels=GROUP_CHANNELS,
        offset_scale=OFFSET_SCALES,
        remove_center=(0, 1),
    )
    seen = {name: {getattr(c.attrs, name) for c in SWEEP} for name in want}
    assert seen == {name: set(values) for name, values in want.items()}
    assert {(c.attrs.kernel_h, c.attrs.kernel_w) for c in SWEEP} == set(KERNELS)
    assert {c.offset_range for c in SWEEP} == set(OFFSET_RANGES)


def forward_and_grads(case, input, offset, mask, grad_output):
    leaves = [t.detach().requires_grad_() for t in (input, offset, mask)]
    out = dcnv3_fallback(*leaves, case.attrs)
    out.backward(grad_output)
    return out.detach(), [t.grad for t in leaves]


def assert_matches_reference(case, input, offset, mask, grad_output, tol):
    out, grads = forward_and_grads(case, input, offset, mask, grad_output)
    want = dcnv3_reference(input, offset, mask, case.attrs)
    want_grads = dcnv3_reference_backward(input, offset, mask, grad_output, case.attrs)
    torch.testing.assert_close(out.double(), want, rtol=tol, atol=tol, msg=lambda m: f"output: {m}")
    for name, got, expected in zip(("grad_input", "grad_offset", "grad_mask"), grads, want_grads):
        torch.testing.assert_close(got.double(), expected, rtol=tol, atol=tol, msg=lambda m, n=name: f"{n}: {m}")
    return out, grads


@pytest.mark.parametrize("case", SWEEP, ids=lambda c: c.name)
def test_sweep_float64_matches_reference(case):
    input, offset, mask = make_inputs(case, torch.float64)
    grad_output = make_grad_output(case, torch.float64)
    assert_matches_reference(case, input, offset, mask, grad_output, tol=1e-10)


@pytest.mark.parametrize("case", SWEEP[:8], ids=lambda c: c.name)
def test_sweep_float32_matches_reference(case):
    # Inputs are float32-valued, so the reference sees the same numbers; the only error is float32
    # arithmetic, which grows with the location magnitude (offsets of up to 20 px times scale 2).
    input, offset, mask = make_inputs(case, torch.float32)
    grad_output = make_grad_output(case, torch.float32)
    assert_matches_reference(case, input, offset, mask, grad_output, tol=2e-4)


def test_points_on_the_range_limits_get_no_gradient():
    """loc_h = -1, loc_w = -1, loc_h = H and loc_w = W exactly: grid_sample alone would give a
    non-zero offset gradient at -1 (the far corner is inside); the op gives none."""
    case = Case("limits", 1, 4, 5, Dcnv3Attrs(kernel_h=1, kernel_w=1, pad_h=0, pad_w=0, group=1, group_channels=2))
    input, _, _ = make_inputs(case, torch.float64)
    offset = torch.full((1, 4, 5, 2), 0.25, dtype=torch.float64)
    offset[0, 0, 2] = torch.tensor([0.25, -1.0], dtype=torch.float64)  # loc_h = -1
    offset[0, 1, 0] = torch.tensor([-1.0, 0.25], dtype=torch.float64)  # loc_w = -1
    offset[0, 3, 1] = torch.tensor([0.5, 1.0], dtype=torch.float64)  # loc_h = 4 = H
    offset[0, 2, 4] = torch.tensor([1.0, 0.5], dtype=torch.float64)  # loc_w = 5 = W
    mask = torch.ones(1, 4, 5, 1, dtype=torch.float64)
    grad_output = torch.ones(1, 4, 5, 2, dtype=torch.float64)
    out, (_, grad_offset, grad_mask) = assert_matches_reference(case, input, offset, mask, grad_output, tol=1e-12)
    for h, w in ((0, 2), (1, 0), (3, 1), (2, 4)):
        assert out[0, h, w].abs().sum() == 0
        assert grad_offset[0, h, w].abs().sum() == 0 and grad_mask[0, h, w].abs().sum() == 0
    assert grad_offset.abs().sum() > 0


@pytest.mark.parametrize(
    "height, width, attrs",
    [
        (7, 13, Dcnv3Attrs(group=2, group_channels=3)),
        (56, 28, Dcnv3Attrs(group=1, group_channels=2, stride_h=2, stride_w=2)),
        (11, 9, Dcnv3Attrs(group=2, group_channels=2, dilation_h=2, dilation_w=2, pad_h=2, pad_w=2, offset_scale=0.5)),
    ],
    ids=["7x13", "56x28-stride2", "11x9-dilation2-scale0.5"],
)
def test_points_exactly_on_pixels_take_the_cuda_gradient(height, width, attrs):
    """Zero offsets (InternImage's initialisation) put every point exactly on a pixel, where the
    bilinear offset gradient is one-sided. The op takes the cell at and after the pixel; a float
    round trip through grid_sample coordinates that lands an ulp short would take the cell before
    it and give a different gradient, for image sides that are not powers of two."""
    case = Case("on_pixels", 1, height, width, attrs)
    input, offset, mask = make_inputs(case, torch.float32)
    offset = torch.zeros_like(offset)
    grad_output = make_grad_output(case, torch.float32)
    assert_matches_reference(case, input, offset, mask, grad_output, tol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_nonfinite_offsets_contribute_nothing(dtype):
    case = Case(
        "nonfinite",
        2,
        6,
        7,
        Dcnv3Attrs(group=3, group_channels=4, offset_scale=2.0),
        offset_range=3.0,
        nonfinite_offsets=True,
    )
    input, offset, mask = make_inputs(case, dtype)
    grad_output = make_grad_output(case, dtype)
    assert not offset.isfinite().all()
    out, grads = assert_matches_reference(
        case, input, offset, mask, grad_output, tol=1e-10 if dtype == torch.float64 else 1e-4
    )
    assert out.isfinite().all() and all(g.isfinite().all() for g in grads)
    # Both coordinates of a point with one non-finite coordinate get zero gradient.
    bad_points = (~offset.isfinite()).view(*offset.shape[:3], -1, 2).any(-1)
    assert grads[1].view(*offset.shape[:3], -1, 2)[bad_points].abs().sum() == 0
    assert grads[2][bad_points].abs().sum() == 0


@pytest.mark.parametrize("dtype, tol", [(torch.float16, 2e-2), (torch.bfloat16, 1e-1)])
def test_half_types_keep_dtype_and_accumulate_in_float32(dtype, tol):
    case = Case("half", 1, 7, 6, Dcnv3Attrs(group=4, group_channels=16), offset_range=2.0)
    input, offset, mask = make_inputs(case, dtype)
    grad_output = make_grad_output(case, dtype)
    out, grads = assert_matches_reference(case, input, offset, mask, grad_output, tol=tol)
    assert out.dtype == dtype and all(g.dtype == dtype for g in grads)


def test_non_contiguous_inputs():
    case = Case("strided", 2, 5, 6, Dcnv3Attrs(group=2, group_channels=3), offset_range=2.0)
    input, offset, mask = make_inputs(case, torch.float64)
    # Same values, other strides: NCHW storage seen as NHWC, and a batch-reversed view.
    strided = [t.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1) for t in (input, offset, mask)]
    flipped = [t.flip(0).contiguous().flip(0) for t in (input, offset, mask)]
    want = dcnv3_reference(input, offset, mask, case.attrs)
    for args in (strided, flipped):
        assert not args[0].is_contiguous() or args is flipped
        torch.testing.assert_close(dcnv3_fallback(*args, case.attrs), want, rtol=1e-12, atol=1e-12)


def test_empty_batch_and_no_points():
    attrs = Dcnv3Attrs(group=2, group_channels=3)
    input, offset, mask = make_inputs(Case("empty", 0, 4, 4, attrs), torch.float64)
    out = dcnv3_fallback(input, offset, mask, attrs)
    assert out.shape == (0, 4, 4, 6)
    # A 1x1 kernel with its centre removed would sample nothing: rejected, as by the op (issue 12).
    attrs = Dcnv3Attrs(kernel_h=1, kernel_w=1, pad_h=0, pad_w=0, group=2, group_channels=3, remove_center=1)
    input = torch.randn(1, 3, 4, 6, dtype=torch.float64)
    offset = torch.zeros(1, 3, 4, 0, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="remove_center=1 with a 1x1 kernel leaves no sampling point"):
        dcnv3_fallback(input, offset, offset, attrs)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(group=3), "input channels \\(last dim\\) must equal group\\*group_channels"),
        (dict(remove_center=1, kernel_w=5), "remove_center=1 needs a square kernel of odd size"),
        (dict(stride_h=0), "stride_h must be >= 1, got 0"),
        (dict(offset_scale=math.inf), "offset_scale must be finite"),
        (dict(im2col_step=3), "im2col_step must divide the batch size"),
    ],
)
def test_bad_arguments_are_named(change, message):
    case = Case("bad", 4, 5, 5, Dcnv3Attrs(group=2, group_channels=4))
    input, offset, mask = make_inputs(case, torch.float32)
    with pytest.raises(RuntimeError, match=message):
        dcnv3_fallback(input, offset, mask, dataclasses.replace(case.attrs, **change))


def test_bad_offset_shape_is_named():
    case = Case("bad", 1, 5, 5, Dcnv3Attrs(group=2, group_channels=4))
    input, offset, mask = make_inputs(case, torch.float32)
    with pytest.raises(RuntimeError, match="offset must have shape \\[N, H_out, W_out, group\\*P\\*2\\]"):
        dcnv3_fallback(input, offset[..., :-2], mask, case.attrs)
