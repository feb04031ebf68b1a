"""The float64 golden model against hand-computed cases and against its own finite differences."""

import math

import pytest
import torch

from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward
from dcnv3_ascend.shapes import Case, make_inputs


def run(attrs, input, offset, mask):
    return dcnv3_reference(input, offset, mask, attrs)


def run_backward(attrs, input, offset, mask, grad_output):
    return dcnv3_reference_backward(input, offset, mask, grad_output, attrs)


def linear_image(height, width, channels):
    """input[0, h, w, c] = 10*h + w in every channel: bilinear sampling at (loc_h, loc_w) with all
    four corners inside returns exactly 10*loc_h + loc_w, so expected values are written by hand."""
    h = torch.arange(height, dtype=torch.float64).view(1, -1, 1, 1)
    w = torch.arange(width, dtype=torch.float64).view(1, 1, -1, 1)
    return (10 * h + w).expand(1, height, width, channels).contiguous()


# ---- hand-computed forward cases -------------------------------------------------------------

# A 2x2 image, 1x1 kernel, no padding: each output pixel samples once at (ho + off_y, wo + off_x).
TINY = Dcnv3Attrs(kernel_h=1, kernel_w=1, pad_h=0, pad_w=0, group=1, group_channels=1)
TINY_IMAGE = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64).view(1, 2, 2, 1)


@pytest.mark.parametrize(
    "pixel, off_xy, mask, expected",
    [
        # (0,0) sampled at (h=0.25, w=0.5): 0.75*(0.5*1 + 0.5*2) + 0.25*(0.5*3 + 0.5*4) = 2.0, times mask 2.
        ((0, 0), (0.5, 0.25), 2.0, 4.0),
        # (1,1) sampled at (h=0.5, w=1.5): w1 = 2 is outside, so only the w=1 column counts, with weight 0.5.
        ((1, 1), (0.5, -0.5), 1.0, 0.5 * (0.5 * 2.0 + 0.5 * 4.0)),
        # (0,0) sampled at (h=-0.5, w=0): the row h=-1 is outside; half of input[0,0].
        ((0, 0), (0.0, -0.5), 1.0, 0.5),
        # Exactly on the range limits: loc_h = -1, loc_w = W and loc_h = H contribute nothing.
        ((0, 0), (0.0, -1.0), 1.0, 0.0),
        ((0, 1), (1.0, 0.0), 1.0, 0.0),
        ((1, 0), (0.0, 1.0), 1.0, 0.0),
        # Far outside, and NaN / Inf offsets: nothing.
        ((1, 1), (-7.0, 0.0), 1.0, 0.0),
        ((0, 0), (math.nan, 0.0), 1.0, 0.0),
        ((0, 0), (0.0, math.inf), 1.0, 0.0),
        ((0, 0), (-math.inf, 0.0), 1.0, 0.0),
    ],
)
def test_tiny_image_single_sample(pixel, off_xy, mask, expected):
    offset = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
    masks = torch.zeros(1, 2, 2, 1, dtype=torch.float64)
    offset[0, pixel[0], pixel[1]] = torch.tensor(off_xy, dtype=torch.float64)
    masks[0, pixel[0], pixel[1]] = mask
    out = run(TINY, TINY_IMAGE, offset, masks)
    assert out[0, pixel[0], pixel[1], 0].item() == pytest.approx(expected, abs=1e-12)
    # The other pixels have mask 0.
    others = [out[0, h, w, 0].item() for h in range(2) for w in range(2) if (h, w) != pixel]
    assert others == [0.0, 0.0, 0.0]


def test_point_order_kernel_w_outer_with_remove_center():
    """Point p of a 3x3 window with the centre removed is (i, j) = p-th of kernel_w outer, kernel_h
    inner, skipping (1, 1); at output (1, 1) with pad 1 it reads input[j, i] = 10*j + i."""
    attrs = Dcnv3Attrs(group=1, group_channels=1, remove_center=1)
    image = linear_image(3, 3, 1)
    offset = torch.zeros(1, 3, 3, 16, dtype=torch.float64)
    expected = [0.0, 10.0, 20.0, 1.0, 21.0, 2.0, 12.0, 22.0]
    for p, value in enumerate(expected):
        mask = torch.zeros(1, 3, 3, 8, dtype=torch.float64)
        mask[0, 1, 1, p] = 1.0
        assert run(attrs, image, offset, mask)[0, 1, 1, 0].item() == value


def test_offset_scale_scales_dilation_grid_and_offsets():
    """dilation 2 and offset_scale 0.5: around the window centre p0, point (i, j) sits at
    p0 + (i*2 - 2)*0.5 + off*0.5, i.e. a unit grid, shifted by half the offset."""
    attrs = Dcnv3Attrs(group=2, group_channels=2, dilation_h=2, dilation_w=2, pad_h=2, pad_w=2, offset_scale=0.5)
    image = linear_image(6, 7, attrs.channels)
    h_out, w_out = attrs.output_size(6, 7)
    assert (h_out, w_out) == (6, 7)
    off_x, off_y = 0.4, -0.6
    offset = torch.tensor([off_x, off_y], dtype=torch.float64).repeat(1, h_out, w_out, attrs.group * 9)
    ho, wo = 2, 3  # p0 = (2, 3): every point stays inside the image
    for g in range(attrs.group):
        for p in range(9):
            i, j = divmod(p, 3)
            mask = torch.zeros(1, h_out, w_out, attrs.group * 9, dtype=torch.float64)
            mask[0, ho, wo, g * 9 + p] = 0.5
            loc_h = ho + (j - 1) + off_y * 0.5
            loc_w = wo + (i - 1) + off_x * 0.5
            out = run(attrs, image, offset, mask)[0, ho, wo]
            want = torch.zeros(attrs.channels, dtype=torch.float64)
            want[g * 2 : (g + 1) * 2] = 0.5 * (10 * loc_h + loc_w)
            torch.testing.assert_close(out, want, rtol=0, atol=1e-12)


def test_stride_and_padding_place_the_window():
    """stride 2, pad 0, 3x3, zero offsets, uniform masks 1/9: output (ho, wo) is the mean of the
    window at rows 2*ho..2*ho+2, columns 2*wo..2*wo+2 of the linear image."""
    attrs = Dcnv3Attrs(group=1, group_channels=1, stride_h=2, stride_w=2, pad_h=0, pad_w=0)
    h_out, w_out = attrs.output_size(7, 5)
    assert (h_out, w_out) == (3, 2)
    offset = torch.zeros(1, h_out, w_out, 18, dtype=torch.float64)
    mask = torch.full((1, h_out, w_out, 9), 1.0 / 9, dtype=torch.float64)
    out = run(attrs, linear_image(7, 5, 1), offset, mask)[0, :, :, 0]
    want = torch.tensor(
        [[10 * (2 * ho + 1) + (2 * wo + 1) for wo in range(w_out)] for ho in range(h_out)], dtype=torch.float64
    )
    torch.testing.assert_close(out, want, rtol=0, atol=1e-12)


# ---- hand-computed backward -----------------------------------------------------------------


def test_backward_on_linear_image_by_hand():
    """On the linear image d value/d loc_w = 1 and d value/d loc_h = 10 per channel, so
    grad_offset = offset_scale * m * sum_c(grad_out) * (1, 10) and grad_mask = sum_c grad_out * value."""
    attrs = Dcnv3Attrs(group=1, group_channels=3, offset_scale=2.0)
    image = linear_image(6, 6, 3)
    h_out, w_out = attrs.output_size(6, 6)
    offset = torch.zeros(1, h_out, w_out, 18, dtype=torch.float64)
    # Point 0 of output (2, 2): base = p0 - 1*offset_scale = (0, 0), loc = (0 + 0.2*2, 0 + 0.15*2).
    offset[0, 2, 2, 0:2] = torch.tensor([0.15, 0.2], dtype=torch.float64)
    mask = torch.zeros(1, h_out, w_out, 9, dtype=torch.float64)
    mask[0, 2, 2, 0] = 0.75
    grad_out = torch.zeros(1, h_out, w_out, 3, dtype=torch.float64)
    grad_out[0, 2, 2] = torch.tensor([1.0, -2.0, 4.0])
    grad_input, grad_offset, grad_mask = run_backward(attrs, image, offset, mask, grad_out)
    loc_h, loc_w = 0.4, 0.3
    assert grad_offset[0, 2, 2, 0].item() == pytest.approx(2.0 * 0.75 * 3.0 * 1.0)
    assert grad_offset[0, 2, 2, 1].item() == pytest.approx(2.0 * 0.75 * 3.0 * 10.0)
    assert grad_mask[0, 2, 2, 0].item() == pytest.approx(3.0 * (10 * loc_h + loc_w))
    # grad_input: the four corners (0,0) (0,1) (1,0) (1,1) get bilinear weight * m * grad_out.
    weights = {(0, 0): 0.6 * 0.7, (0, 1): 0.6 * 0.3, (1, 0): 0.4 * 0.7, (1, 1): 0.4 * 0.3}
    want = torch.zeros_like(image)
    for (h, w), weight in weights.items():
        want[0, h, w] = weight * 0.75 * grad_out[0, 2, 2]
    torch.testing.assert_close(grad_input, want, rtol=0, atol=1e-12)


def test_backward_is_zero_on_the_range_limit_and_for_nan():
    """loc_h = -1 exactly: the sample is outside, so no gradient reaches anything (although the
    bilinear formula alone would give d/d loc_h = input[0, w] there). NaN offsets likewise."""
    offset = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
    offset[0, 0, 0] = torch.tensor([0.25, -1.0], dtype=torch.float64)
    offset[0, 0, 1] = torch.tensor([math.nan, 0.0], dtype=torch.float64)
    mask = torch.ones(1, 2, 2, 1, dtype=torch.float64)
    grad_out = torch.ones(1, 2, 2, 1, dtype=torch.float64)
    grad_input, grad_offset, grad_mask = run_backward(TINY, TINY_IMAGE, offset, mask, grad_out)
    assert grad_offset[0, 0].abs().sum().item() == 0.0
    assert grad_mask[0, 0].abs().sum().item() == 0.0
    # Only the two valid samples at (1, 0) and (1, 1) (both on a pixel) reach the input.
    torch.testing.assert_close(grad_input[0, :, :, 0], torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64))


# ---- backward against finite differences of the forward -------------------------------------


def numeric_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    flat, grad_flat = x.view(-1), grad.view(-1)
    for k in range(flat.numel()):
        saved = flat[k].item()
        flat[k] = saved + eps
        plus = f()
        flat[k] = saved - eps
        minus = f()
        flat[k] = saved
        grad_flat[k] = (plus - minus) / (2 * eps)
    return grad


# Offsets of +-4 px put some points outside the image, so the range rule is exercised too.
@pytest.mark.parametrize(
    "case",
    [
        Case("3x3", 1, 3, 4, Dcnv3Attrs(group=2, group_channels=2), offset_range=4.0),
        Case(
            "stride-dilation-scale-remove_center",
            2,
            4,
            3,
            Dcnv3Attrs(
                stride_h=2, pad_h=2, dilation_w=2, pad_w=2, group=1, group_channels=3, offset_scale=2.0, remove_center=1
            ),
            offset_range=4.0,
        ),
        Case(
            "1x3-halfscale",
            1,
            4,
            5,
            Dcnv3Attrs(kernel_h=1, kernel_w=3, pad_h=0, pad_w=1, group=2, group_channels=1, offset_scale=0.5),
            offset_range=4.0,
        ),
    ],
    ids=lambda case: case.name,
)
def test_backward_matches_finite_differences(case):
    attrs = case.attrs
    input, offset, mask = make_inputs(case, torch.float64, seed=7)
    grad_out = torch.randn(
        run(attrs, input, offset, mask).shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3)
    )

    def loss():
        return (run(attrs, input, offset, mask) * grad_out).sum().item()

    analytic = run_backward(attrs, input, offset, mask, grad_out)
    for name, tensor, grad in zip(("input", "offset", "mask"), (input, offset, mask), analytic):
        torch.testing.assert_close(grad, numeric_gradient(loss, tensor), rtol=1e-6, atol=1e-7, msg=name)
    assert analytic[1].abs().sum() > 0 and analytic[0].abs().sum() > 0


def test_shape_errors_name_the_argument():
    case = Case("small", 1, 5, 6, Dcnv3Attrs(group=2, group_channels=3))
    input, offset, mask = make_inputs(case, torch.float64)
    with pytest.raises(ValueError, match="offset must have shape"):
        run(case.attrs, input, offset[..., :-2], mask)
    with pytest.raises(ValueError, match="mask must have shape"):
        run(case.attrs, input, offset, mask[..., :-1])
    with pytest.raises(ValueError, match="group\\*group_channels"):
        run(case.attrs, input[..., :-1], offset, mask)
