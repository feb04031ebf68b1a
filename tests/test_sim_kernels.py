"""The AscendC kernels (op_kernel/dcnv3.cpp, dcnv3_grad.cpp), run unchanged in the CPU simulator,
against the float64 reference loop (dcnv3_ascend.reference).

Inputs are drawn in float64, rounded to the kernel dtype, and the reference runs on the rounded
values, so the tolerances below measure only the kernels' own arithmetic:
  float32  2e-5 of the largest reference magnitude (fp32 accumulation of ~4P products)
  float16  2e-3  (one final rounding to fp16, 2^-11 relative, over fp32 accumulation)
  bfloat16 1.6e-2 (one final rounding to bf16, 2^-8 relative)
The same bounds apply to output, grad_input, grad_offset and grad_mask.
"""
import random

import pytest
import torch

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip
from dcnv3_ascend.attrs import Dcnv3Attrs
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward  # noqa: E402

TOLERANCE = {torch.float32: 2e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}
DTYPES = list(TOLERANCE)
SMALL_SOC = "Ascend910B3-8core"
FETCH_PAIR, FETCH_WINDOW = 0, 1


def _attrs(k=(3, 3), stride=(1, 1), pad=(1, 1), dilation=(1, 1), group=2, group_channels=16, offset_scale=1.0,
           remove_center=0):
    return Dcnv3Attrs(kernel_h=k[0], kernel_w=k[1], stride_h=stride[0], stride_w=stride[1], pad_h=pad[0],
                      pad_w=pad[1], dilation_h=dilation[0], dilation_w=dilation[1], group=group,
                      group_channels=group_channels, offset_scale=offset_scale, remove_center=remove_center)


def _inputs(a, n, h, w, dtype, offset_range, seed):
    """(input, offset, mask, grad_output) in `dtype`, offsets uniform in +-offset_range pixels."""
    gen = torch.Generator().manual_seed(seed)
    ho, wo = a.output_size(h, w)
    points = a.points
    g, c = a.group, a.group_channels
    f64 = dict(generator=gen, dtype=torch.float64)
    tensors = (torch.randn(n, h, w, g * c, **f64),
               (torch.rand(n, ho, wo, g * points * 2, **f64) * 2 - 1) * offset_range,
               torch.rand(n, ho, wo, g * points, **f64),
               torch.randn(n, ho, wo, g * c, **f64))
    return [t.to(dtype) for t in tensors]


def _assert_close(name, actual, expected, dtype):
    assert actual.dtype == dtype, f"{name}: dtype {actual.dtype}, expected {dtype}"
    expected = expected.to(torch.float64)
    scale = max(1.0, expected.abs().max().item()) if expected.numel() else 1.0
    tol = TOLERANCE[dtype] * scale
    assert torch.isfinite(actual).all(), f"{name}: non-finite values"
    err = (actual.to(torch.float64) - expected).abs().max().item() if expected.numel() else 0.0
    assert err <= tol, f"{name}: max error {err:.3e} > {tol:.3e} (dtype {dtype}, scale {scale:.3g})"


def _check(a, n, h, w, dtype, offset_range=3.0, seed=0, soc="Ascend910B3", tensors=None):
    """Runs both kernels and compares every output with the reference; returns the two stats."""
    inp, off, msk, gout = tensors if tensors is not None else _inputs(a, n, h, w, dtype, offset_range, seed)
    out, fstats = sim.dcnv3_forward(inp, off, msk, *a.args(), soc=soc)
    _assert_close("output", out, dcnv3_reference(inp, off, msk, a), dtype)
    (gi, go, gm), bstats = sim.dcnv3_backward(inp, off, msk, gout, *a.args(), soc=soc)
    ref_gi, ref_go, ref_gm = dcnv3_reference_backward(inp, off, msk, gout, a)
    _assert_close("grad_input", gi, ref_gi, dtype)
    _assert_close("grad_offset", go, ref_go, dtype)
    _assert_close("grad_mask", gm, ref_gm, dtype)
    return fstats, bstats


def _sweep_cases(count=24, seed=2024, max_points=2500):
    """Seeded random problems: kernels 1x1..5x5, strides, dilations, pads, remove_center, offset
    scales, groups, group_channels that break 32-byte alignment (3, 5, 20), offsets up to 20 px."""
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        k = rng.choice([(3, 3), (3, 3), (1, 1), (5, 5), (3, 5)])
        a = _attrs(k=k, stride=(rng.choice([1, 2]), rng.choice([1, 2])), pad=(rng.randint(0, 2), rng.randint(0, 2)),
                   dilation=(rng.choice([1, 2]), rng.choice([1, 2])), group=rng.randint(1, 6),
                   group_channels=rng.choice([3, 5, 8, 16, 20, 32]), offset_scale=rng.choice([0.5, 1.0, 2.0]),
                   remove_center=int(k[0] == k[1] and k[0] > 1 and rng.random() < 0.4))
        n, h, w = rng.choice([1, 2]), rng.randint(1, 10), rng.randint(1, 10)
        if h + 2 * a.pad_h < a.dilation_h * (k[0] - 1) + 1 or w + 2 * a.pad_w < a.dilation_w * (k[1] - 1) + 1:
            continue
        ho, wo = a.output_size(h, w)
        if n * ho * wo * a.group * a.points > max_points:
            continue
        i = len(cases)
        cases.append((a, n, h, w, DTYPES[i % 3], rng.choice([0.5, 3.0, 20.0]), SMALL_SOC if i % 2 else "Ascend910B3", i))
    return cases


@pytest.mark.parametrize("case", _sweep_cases(), ids=lambda c: f"{c[4]}-{c[1]}x{c[2]}x{c[3]}-G{c[0].group}"
                         f"C{c[0].group_channels}-k{c[0].kernel_h}{c[0].kernel_w}-off{c[5]}-{c[6]}")
def test_sweep_matches_reference(case):
    a, n, h, w, dtype, offset_range, soc, seed = case
    _check(a, n, h, w, dtype, offset_range, seed=seed, soc=soc)


@pytest.mark.parametrize("dtype", DTYPES)
def test_internimage_like_layer(dtype):
    """group_channels 16, 3x3, offsets of a few pixels: the shape family the window fetch targets
    (8 cores, so that each core has whole output rows to tile)."""
    a = _attrs(group=4, group_channels=16)
    fstats, bstats = _check(a, 1, 8, 9, dtype, offset_range=2.0, seed=7, soc=SMALL_SOC)
    plan = sim.plan_forward(*_inputs(a, 1, 8, 9, dtype, 2.0, 7)[:3], *a.args(), soc=SMALL_SOC)
    assert plan["tiling"]["fetch_mode"] == FETCH_WINDOW
    # corners come from the UB window: far fewer than one DMA per sampled point
    points = 1 * 8 * 9 * 4 * 9
    assert fstats["dma_count"] < 0.25 * points


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonfinite_and_huge_offsets_contribute_nothing(dtype):
    a = _attrs(group=2, group_channels=8)
    inp, off, msk, gout = _inputs(a, 1, 5, 6, dtype, 2.0, seed=3)
    huge = 1e30 if dtype != torch.float16 else 6e4
    bad = torch.tensor([float("nan"), float("inf"), float("-inf"), huge, -huge], dtype=torch.float64)
    flat = off.reshape(-1)
    flat[::3] = bad.repeat(flat[::3].numel() // bad.numel() + 1)[:flat[::3].numel()].to(dtype)
    _check(a, 1, 5, 6, dtype, tensors=(inp, off, msk, gout))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_wide_groups_split_across_tiles(dtype):
    """24 groups of 20 channels: one position's points exceed the UB, tiles hold a subset of groups,
    and 20 channels break 32-byte alignment (padded window rows, DataCopyPad everywhere)."""
    a = _attrs(group=24, group_channels=20)
    tensors = _inputs(a, 1, 4, 5, dtype, 2.0, seed=11)
    plan = sim.plan_backward(*tensors, *a.args())
    assert plan["tiling"]["tile_groups"] < 24
    _check(a, 1, 4, 5, dtype, tensors=tensors)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_far_offsets_fall_back_to_dma(dtype):
    """A 14x30 map is taller and wider than a tile's window, and offsets up to 10 px leave it: those
    points are fetched by DMA, the others from the window, within the same tiles."""
    a = _attrs(group=4, group_channels=16)
    tensors = _inputs(a, 1, 14, 30, dtype, 10.0, seed=19)
    plan = sim.plan_forward(*tensors[:3], *a.args(), soc=SMALL_SOC)["tiling"]
    assert plan["fetch_mode"] == FETCH_WINDOW and plan["win_rows"] < 14 and plan["win_cols"] < 30
    fstats, _ = _check(a, 1, 14, 30, dtype, tensors=tensors, soc=SMALL_SOC)
    points = 14 * 30 * 4 * 9
    # ~1 point in 8 leaves the window (2 DMAs each); the tiles' own loads are far fewer
    assert 0.1 * points < fstats["dma_count"] < 0.5 * points


def test_pair_fetch_when_the_window_does_not_fit():
    """Dilation 8 spreads the taps over 17 rows: no window fits, every corner pair is a DMA."""
    a = _attrs(k=(3, 3), stride=(4, 4), pad=(8, 8), dilation=(8, 8), group=2, group_channels=64)
    tensors = _inputs(a, 1, 26, 26, torch.float32, 3.0, seed=5)
    plan = sim.plan_forward(*tensors[:3], *a.args())
    assert plan["tiling"]["fetch_mode"] == FETCH_PAIR
    fstats, _ = _check(a, 1, 26, 26, torch.float32, tensors=tensors)
    points = 7 * 7 * 2 * 9
    assert fstats["dma_count"] >= 2 * points  # two row pairs per point, plus the tile loads


def test_load_is_balanced_over_cores():
    """143 output positions on 8 cores: every core gets 17 or 18 whole positions and writes exactly
    their outputs."""
    a = _attrs(group=3, group_channels=8)
    fstats, bstats = _check(a, 1, 11, 13, torch.float32, seed=13, soc=SMALL_SOC)
    assert fstats["block_dim"] == 8 and bstats["block_dim"] == 8
    position_bytes = 3 * 8 * 4  # one output position
    written = sorted(fstats["per_core"]["gm_write_bytes"])
    assert written == [17 * position_bytes] + [18 * position_bytes] * 7
    work = fstats["per_core"]["vector_instr_count"]
    assert max(work) <= 1.5 * (sum(work) / len(work))


def test_fewer_positions_than_cores():
    """3x3 = 9 output positions x 4 groups on 8 cores: split by pixel-group, every core writes 4
    or 5 of the 36 (cutting positions where its range ends)."""
    a = _attrs(group=4, group_channels=16)
    fstats, bstats = _check(a, 1, 3, 3, torch.float16, seed=17, soc=SMALL_SOC)
    assert fstats["block_dim"] == 8 and bstats["block_dim"] == 8
    pg_bytes = 16 * 2
    assert sorted(fstats["per_core"]["gm_write_bytes"]) == [4 * pg_bytes] * 4 + [5 * pg_bytes] * 4


def _whole_row_tiles(plan, rows, width, group):
    """Tiles of a plan whose cores own whole output rows: per row, position chunks x group chunks."""
    t = plan["tiling"]
    return rows * -(-width // t["tile_positions"]) * -(-group // t["tile_groups"])


def test_window_is_sized_to_the_sampling_points():
    """Offsets within +-0.25 px: a 3x3 tile's points reach 5 input rows and tile_positions + 4
    columns, not the window capacity (nominal area + 4 px margin: 12 rows)."""
    a = _attrs(group=4, group_channels=16)
    tensors = _inputs(a, 1, 24, 24, torch.float32, 0.25, seed=23)
    plan = sim.plan_forward(*tensors[:3], *a.args(), soc=SMALL_SOC)
    assert plan["tiling"]["fetch_mode"] == FETCH_WINDOW and plan["tiling"]["win_rows"] == 12
    fstats, _ = _check(a, 1, 24, 24, torch.float32, tensors=tensors, soc=SMALL_SOC)
    tiles_per_row = -(-24 // plan["tiling"]["tile_positions"])
    window_bound = 24 * 5 * (24 + 4 * tiles_per_row) * 4 * 16 * 4  # rows x rows read x columns x G*C fp32
    offset_mask_bytes = sum(t.numel() * 4 for t in tensors[1:3])
    assert fstats["gm_read_bytes"] <= offset_mask_bytes + window_bound


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_tiles_without_valid_samples_load_no_window(dtype):
    """Every offset NaN: no sample is valid, so a tile moves only its offsets, mask and output."""
    a = _attrs(group=4, group_channels=16)
    inp, off, msk, gout = _inputs(a, 1, 8, 8, dtype, 2.0, seed=29)
    off = torch.full_like(off, float("nan"))
    fstats, _ = _check(a, 1, 8, 8, dtype, tensors=(inp, off, msk, gout), soc=SMALL_SOC)
    plan = sim.plan_forward(inp, off, msk, *a.args(), soc=SMALL_SOC)
    assert fstats["dma_count"] == 3 * _whole_row_tiles(plan, 8, 8, 4)


def test_full_width_window_of_a_group_subset_is_one_dma():
    """8x8 map, 32 groups: tiles hold a subset of the groups (one strided run per pixel), and the
    window capacity spans the image width, so its rows are one run in GM: one DMA per window."""
    a = _attrs(group=32, group_channels=16)
    tensors = _inputs(a, 1, 8, 8, torch.float32, 2.0, seed=31)
    plan = sim.plan_forward(*tensors[:3], *a.args(), soc=SMALL_SOC)
    assert plan["tiling"]["tile_groups"] < 32 and plan["tiling"]["win_cols"] == 8
    fstats, _ = _check(a, 1, 8, 8, torch.float32, tensors=tensors, soc=SMALL_SOC)
    # offsets, mask, window, output
    assert fstats["dma_count"] == 4 * _whole_row_tiles(plan, 8, 8, 32)
