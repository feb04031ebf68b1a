"""The verify/bench problem set: InternImage layer facts and the seeded input generator."""

import math

import pytest
import torch

from dcnv3_ascend.shapes import INTERNIMAGE_MODELS, edge_cases, layer_cases, make_grad_output, make_inputs

DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def by_name(cases):
    return {c.name: c for c in cases}


def test_internimage_layer_facts():
    cases = by_name(layer_cases())
    assert len(cases) == 6 * 4
    t1, h4, l2 = cases["T-stage1"], cases["H-stage4"], cases["L-stage2"]
    assert (t1.height, t1.width, t1.attrs.group, t1.attrs.group_channels, t1.layers) == (56, 56, 4, 16, 4)
    assert (h4.height, h4.attrs.group, h4.attrs.group_channels, h4.layers) == (7, 80, 32, 6)
    assert l2.attrs.offset_scale == 2.0 and l2.attrs.channels == 320
    for model in INTERNIMAGE_MODELS:
        for stage in range(4):
            case = cases[f"{model.name}-stage{stage + 1}"]
            assert case.attrs.channels == model.channels * 2**stage
            a = case.attrs
            assert (a.kernel_h, a.kernel_w, a.stride_h, a.pad_h, a.dilation_h, a.im2col_step) == (3, 3, 1, 1, 1, 256)
            assert case.output_size == (case.height, case.width)
    # 18 + 4 + 4 + 4 DCNv3 layers in InternImage-T.
    assert sum(c.layers for c in cases.values() if c.name.startswith("T-")) == 30


def test_crop_keeps_the_layer_and_says_so():
    t1 = by_name(layer_cases(batch=2))["T-stage1"]
    crop = t1.cropped(8)
    assert (crop.batch, crop.height, crop.width, crop.attrs) == (2, 8, 8, t1.attrs)
    assert crop.note == "8x8 crop of 56x56" and crop.output_points == 2 * 64
    assert by_name(layer_cases())["T-stage4"].cropped(8).note == "full size"


@pytest.mark.parametrize("dtype", DTYPES)
def test_make_inputs_is_seeded_and_well_formed(dtype):
    case = by_name(edge_cases())["kernel3x5_mixed"]
    input, offset, mask = make_inputs(case, dtype, seed=3)
    h_out, w_out = case.output_size
    p = case.attrs.points
    assert input.shape == (1, 10, 11, 24) and offset.shape == (1, h_out, w_out, 3 * p * 2)
    assert mask.shape == (1, h_out, w_out, 3 * p)
    assert input.dtype == offset.dtype == mask.dtype == dtype
    assert all(torch.equal(a, b) for a, b in zip((input, offset, mask), make_inputs(case, dtype, seed=3)))
    assert not torch.equal(input, make_inputs(case, dtype, seed=4)[0])
    assert torch.equal(make_grad_output(case, dtype, 3), make_grad_output(case, dtype, 3))
    # Softmax over each group's points, as InternImage computes the mask (up to dtype rounding).
    sums = mask.double().view(1, h_out, w_out, 3, p).sum(-1)
    assert torch.allclose(sums, torch.ones_like(sums), atol=4 * p * torch.finfo(dtype).eps)
    assert offset.abs().max() <= case.offset_range + 0.1


def test_nonfinite_offsets_case_has_nan_and_both_infinities():
    offset = make_inputs(by_name(edge_cases())["nonfinite_offsets"], torch.float32)[1]
    assert offset.isnan().any() and (offset == math.inf).any() and (offset == -math.inf).any()
    assert offset.isfinite().float().mean() > 0.8


@pytest.mark.parametrize("case_name", ["large_offsets_20px", "offset_scale_0.5", "offset_scale_2", "kernel5_dilation2"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_sampling_locations_stay_off_integers(case_name, dtype):
    # Recomputes the DCNv3 sampling locations point by point (kernel_w outer, kernel_h inner).
    case = by_name(edge_cases())[case_name]
    a = case.attrs
    offset = make_inputs(case, dtype)[1].double().view(case.batch, *case.output_size, a.group, a.points, 2)
    half_w = (a.dilation_w * (a.kernel_w - 1)) >> 1
    half_h = (a.dilation_h * (a.kernel_h - 1)) >> 1
    p = 0
    for i in range(a.kernel_w):
        for j in range(a.kernel_h):
            loc_w = -half_w * a.offset_scale + (i * a.dilation_w + offset[..., p, 0]) * a.offset_scale
            loc_h = -half_h * a.offset_scale + (j * a.dilation_h + offset[..., p, 1]) * a.offset_scale
            for loc in (loc_w, loc_h):
                assert (loc - loc.round()).abs().min() >= 2.0**-10
            p += 1
