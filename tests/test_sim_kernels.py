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
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward

TOLERANCE = {torch.float32: 2e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}
DTYPES = list(TOLERANCE)
SMALL_SOC = "Ascend910B3-8core"
FETCH_PAIR, FETCH_WINDOW, FETCH_RING = 0, 1, 2


def _attrs(
    k=(3, 3), stride=(1, 1), pad=(1, 1), dilation=(1, 1), group=2, group_channels=16, offset_scale=1.0, remove_center=0
):
    return Dcnv3Attrs(
        kernel_h=k[0],
        kernel_w=k[1],
        stride_h=stride[0],
        stride_w=stride[1],
        pad_h=pad[0],
        pad_w=pad[1],
        dilation_h=dilation[0],
        dilation_w=dilation[1],
        group=group,
        group_channels=group_channels,
        offset_scale=offset_scale,
        remove_center=remove_center,
    )


def _inputs(a, n, h, w, dtype, offset_range, seed):
    """(input, offset, mask, grad_output) in `dtype`, offsets uniform in +-offset_range pixels."""
    gen = torch.Generator().manual_seed(seed)
    ho, wo = a.output_size(h, w)
    points = a.points
    g, c = a.group, a.group_channels
    f64 = dict(generator=gen, dtype=torch.float64)
    tensors = (
        torch.randn(n, h, w, g * c, **f64),
        (torch.rand(n, ho, wo, g * points * 2, **f64) * 2 - 1) * offset_range,
        torch.rand(n, ho, wo, g * points, **f64),
        torch.randn(n, ho, wo, g * c, **f64),
    )
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
    out, fstats = sim.dcnv3_forward(inp, off, msk, a, soc=soc)
    _assert_close("output", out, dcnv3_reference(inp, off, msk, a), dtype)
    (gi, go, gm), bstats = sim.dcnv3_backward(inp, off, msk, gout, a, soc=soc)
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
        a = _attrs(
            k=k,
            stride=(rng.choice([1, 2]), rng.choice([1, 2])),
            pad=(rng.randint(0, 2), rng.randint(0, 2)),
            dilation=(rng.choice([1, 2]), rng.choice([1, 2])),
            group=rng.randint(1, 6),
            group_channels=rng.choice([3, 5, 8, 16, 20, 32]),
            offset_scale=rng.choice([0.5, 1.0, 2.0]),
            remove_center=int(k[0] == k[1] and k[0] > 1 and rng.random() < 0.4),
        )
        n, h, w = rng.choice([1, 2]), rng.randint(1, 10), rng.randint(1, 10)
        if h + 2 * a.pad_h < a.dilation_h * (k[0] - 1) + 1 or w + 2 * a.pad_w < a.dilation_w * (k[1] - 1) + 1:
            continue
        ho, wo = a.output_size(h, w)
        if n * ho * wo * a.group * a.points > max_points:
            continue
        i = len(cases)
        cases.append(
            (a, n, h, w, DTYPES[i % 3], rng.choice([0.5, 3.0, 20.0]), SMALL_SOC if i % 2 else "Ascend910B3", i)
        )
    return cases


@pytest.mark.parametrize(
    "case",
    _sweep_cases(),
    ids=lambda c: (
        f"{c[4]}-{c[1]}x{c[2]}x{c[3]}-G{c[0].group}"
        f"C{c[0].group_channels}-k{c[0].kernel_h}{c[0].kernel_w}-off{c[5]}-{c[6]}"
    ),
)
def test_sweep_matches_reference(case):
    a, n, h, w, dtype, offset_range, soc, seed = case
    _check(a, n, h, w, dtype, offset_range, seed=seed, soc=soc)


@pytest.mark.parametrize("dtype", DTYPES)
def test_internimage_like_layer(dtype):
    """group_channels 16, 3x3, offsets of a few pixels: the shape family the ring of input rows
    targets (8 cores; the 8-row plane fits the ring whole, so tiles span several output rows)."""
    a = _attrs(group=4, group_channels=16)
    fstats, _bstats = _check(a, 1, 8, 9, dtype, offset_range=2.0, seed=7, soc=SMALL_SOC)
    plan = sim.plan_forward(*_inputs(a, 1, 8, 9, dtype, 2.0, 7)[:3], a, soc=SMALL_SOC)
    assert plan["tiling"]["fetch_mode"] == FETCH_RING
    # corners come from the ring in UB: far fewer than one DMA per sampled point
    points = 1 * 8 * 9 * 4 * 9
    assert fstats["dma_count"] < 0.25 * points


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonfinite_and_huge_offsets_contribute_nothing(dtype):
    a = _attrs(group=2, group_channels=8)
    inp, off, msk, gout = _inputs(a, 1, 5, 6, dtype, 2.0, seed=3)
    huge = 1e30 if dtype != torch.float16 else 6e4
    bad = torch.tensor([float("nan"), float("inf"), float("-inf"), huge, -huge], dtype=torch.float64)
    flat = off.reshape(-1)
    flat[::3] = bad.repeat(flat[::3].numel() // bad.numel() + 1)[: flat[::3].numel()].to(dtype)
    _check(a, 1, 5, 6, dtype, tensors=(inp, off, msk, gout))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_wide_groups_split_across_tiles(dtype):
    """24 groups of 20 channels: one position's points exceed the UB, tiles hold a subset of groups,
    and 20 channels break 32-byte alignment (padded window rows, DataCopyPad everywhere)."""
    a = _attrs(group=24, group_channels=20)
    tensors = _inputs(a, 1, 4, 5, dtype, 2.0, seed=11)
    plan = sim.plan_backward(*tensors, a)
    assert plan["tiling"]["tile_groups"] < 24
    _check(a, 1, 4, 5, dtype, tensors=tensors)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_far_offsets_fall_back_to_dma(dtype):
    """A 14x30 map is taller than a tile's window, and offsets up to 10 px leave it: those points
    are fetched by DMA, the others from the window (forward: the ring of input rows), within the
    same tiles."""
    a = _attrs(group=4, group_channels=16)
    tensors = _inputs(a, 1, 14, 30, dtype, 10.0, seed=19)
    plan = sim.plan_forward(*tensors[:3], a, soc=SMALL_SOC)["tiling"]
    assert plan["fetch_mode"] in (FETCH_WINDOW, FETCH_RING) and plan["win_rows"] < 14
    fstats, _ = _check(a, 1, 14, 30, dtype, tensors=tensors, soc=SMALL_SOC)
    points = 14 * 30 * 4 * 9
    # ~1 point in 8 leaves the window (2 DMAs each); the tiles' own loads are far fewer
    assert 0.1 * points < fstats["dma_count"] < 0.5 * points


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_window_taller_than_one_dma(dtype):
    """A 2x1 kernel dilated 5,000 rows on a one-pixel-wide image: a tile's window spans ~5,002 rows
    of one 32-byte block each, more than the 4,095 blocks one DataCopyPad moves (the block count
    would wrap on the device), so the window loads in runs of at most 4,095 rows. Offsets on a
    1/64-pixel grid: fp32 resolves 1/2048 px at row 5,000, so the locations are exact."""
    a = _attrs(k=(2, 1), pad=(0, 0), dilation=(5000, 1), group=1, group_channels=32 // dtype.itemsize)
    inp, off, msk, gout = _inputs(a, 1, 5010, 1, dtype, 0.5, seed=83)
    tensors = (inp, (off.float() * 64).round().to(dtype) / 64, msk, gout)
    t = sim.plan_forward(*tensors[:3], a)["tiling"]
    assert t["fetch_mode"] == FETCH_WINDOW and t["win_rows"] > 4095
    _check(a, 1, 5010, 1, dtype, tensors=tensors)


def test_pair_fetch_when_the_window_does_not_fit():
    """Dilation 8 spreads the taps over 17 rows: no window fits, every corner pair is a DMA."""
    a = _attrs(k=(3, 3), stride=(4, 4), pad=(8, 8), dilation=(8, 8), group=2, group_channels=64)
    tensors = _inputs(a, 1, 26, 26, torch.float32, 3.0, seed=5)
    plan = sim.plan_forward(*tensors[:3], a)
    assert plan["tiling"]["fetch_mode"] == FETCH_PAIR
    fstats, _ = _check(a, 1, 26, 26, torch.float32, tensors=tensors)
    # two row pairs per point whose 2x2 neighbourhood lies inside the image, plus the tile loads
    # (border points fetch only their in-image corners, points outside fetch nothing)
    off = tensors[1].view(1, 7, 7, 2, 9, 2).to(torch.float64)
    taps = torch.tensor([[i, j] for i in range(3) for j in range(3)], dtype=torch.float64) * 8  # kernel_w outer
    base = torch.arange(7, dtype=torch.float64) * 4 - 8
    x = (base.view(1, 1, 7, 1, 1) + taps[:, 0] + off[..., 0]).floor()
    y = (base.view(1, 7, 1, 1, 1) + taps[:, 1] + off[..., 1]).floor()
    inside = ((x >= 0) & (x <= 24) & (y >= 0) & (y <= 24)).sum().item()
    assert inside > 100 and fstats["dma_count"] >= 2 * inside


def test_load_is_balanced_over_cores():
    """169 output positions on 8 cores (position-major order, which the plan picks here): every core
    gets 21 or 22 whole positions and writes exactly their outputs."""
    a = _attrs(group=3, group_channels=8)
    fstats, bstats = _check(a, 1, 13, 13, torch.float32, seed=13, soc=SMALL_SOC)
    assert fstats["block_dim"] == 8 and bstats["block_dim"] == 8
    assert (
        sim.plan_forward(*_inputs(a, 1, 13, 13, torch.float32, 3.0, 13)[:3], a, soc=SMALL_SOC)["tiling"]["group_major"]
        == 0
    )
    position_bytes = 3 * 8 * 4  # one output position
    written = sorted(fstats["per_core"]["gm_write_bytes"])
    assert written == [21 * position_bytes] * 7 + [22 * position_bytes]
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


def _group_major_tiles(plan, height_out, width_out):
    """Tiles of a group-major plan: each core's range cut into runs of at most tile_positions
    positions of one plane, that end with their output row unless they start at column 0."""
    t = plan["tiling"]
    plane, tiles = height_out * width_out, 0
    for c in range(plan["block_dim"]):
        q = (c * t["units_per_core"] + min(c, t["units_remainder"])) * t["split_unit"]
        end = q + (t["units_per_core"] + (c < t["units_remainder"])) * t["split_unit"]
        while q < end:
            left = plane - q % plane if q % width_out == 0 else width_out - q % width_out
            q += min(left, t["tile_positions"], end - q)
            tiles += 1
    return tiles


def _whole_row_tiles(plan, rows, width, group):
    """Tiles of a plan whose cores own whole output rows: per row, position chunks x group chunks."""
    t = plan["tiling"]
    return rows * -(-width // t["tile_positions"]) * -(-group // t["tile_groups"])


def test_window_is_sized_to_the_sampling_points():
    """Offsets within +-0.25 px: a 3x3 tile's points reach 5 input rows and tile_positions + 4
    columns, not the window capacity (nominal area + 4 px margin: 12 rows); the forward's ring loads
    no more than those rows either."""
    a = _attrs(group=4, group_channels=16)
    tensors = _inputs(a, 1, 24, 24, torch.float32, 0.25, seed=23)
    plan = sim.plan_forward(*tensors[:3], a, soc=SMALL_SOC)
    assert plan["tiling"]["fetch_mode"] in (FETCH_WINDOW, FETCH_RING) and plan["tiling"]["win_rows"] == 12
    fstats, _ = _check(a, 1, 24, 24, torch.float32, tensors=tensors, soc=SMALL_SOC)
    tiles_per_row = -(-24 // plan["tiling"]["tile_positions"])
    window_bound = 24 * 5 * (24 + 4 * tiles_per_row) * 4 * 16 * 4  # rows x rows read x columns x G*C fp32
    offset_mask_bytes = sum(t.numel() * 4 for t in tensors[1:3])
    assert fstats["gm_read_bytes"] <= offset_mask_bytes + window_bound


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_tiles_without_valid_samples_load_no_window(dtype):
    """Every offset NaN: no sample is valid, so a tile moves only its offsets, mask and output (no
    ring rows: the 8x8 map takes the ring, group-major tiles of several output rows)."""
    a = _attrs(group=4, group_channels=16)
    inp, off, msk, gout = _inputs(a, 1, 8, 8, dtype, 2.0, seed=29)
    off = torch.full_like(off, float("nan"))
    fstats, _ = _check(a, 1, 8, 8, dtype, tensors=(inp, off, msk, gout), soc=SMALL_SOC)
    plan = sim.plan_forward(inp, off, msk, a, soc=SMALL_SOC)
    assert plan["tiling"]["fetch_mode"] == FETCH_RING
    assert fstats["dma_count"] == 3 * _group_major_tiles(plan, 8, 8)


def test_full_width_window_of_a_group_subset_is_one_dma():
    """8x8 map, 32 groups of 8 channels (position-major window tiles, the plan's choice here): tiles
    hold a subset of the groups (one strided run per pixel), and the window capacity spans the
    image width, so its rows are one run in GM: one DMA per window."""
    a = _attrs(group=32, group_channels=8)
    tensors = _inputs(a, 1, 8, 8, torch.float32, 2.0, seed=31)
    plan = sim.plan_forward(*tensors[:3], a, soc=SMALL_SOC)
    assert plan["tiling"]["fetch_mode"] == FETCH_WINDOW
    assert plan["tiling"]["tile_groups"] < 32 and plan["tiling"]["win_cols"] == 8
    fstats, _ = _check(a, 1, 8, 8, torch.float32, tensors=tensors, soc=SMALL_SOC)
    # offsets, mask, window, output
    assert fstats["dma_count"] == 4 * _whole_row_tiles(plan, 8, 8, 32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_many_points_on_one_pixel_lose_no_update(dtype):
    """Every sampling point of every position lands on the same 2x2 neighbourhood (offsets that
    undo the tap and position displacement, plus a small jitter): the window accumulator and the
    atomic adds must sum hundreds of contributions to the same pixels without losing one."""
    a = _attrs(group=2, group_channels=16)
    n, h, w = 1, 9, 10
    inp, _, msk, gout = _inputs(a, n, h, w, dtype, 0.0, seed=41)
    ho, wo = a.output_size(h, w)
    gen = torch.Generator().manual_seed(43)
    target = torch.tensor([4.3, 5.6], dtype=torch.float64)  # (x, y) every point samples
    wo_idx = torch.arange(wo, dtype=torch.float64).view(1, 1, wo, 1, 1)
    ho_idx = torch.arange(ho, dtype=torch.float64).view(1, ho, 1, 1, 1)
    taps = torch.tensor([[i - 1, j - 1] for i in range(3) for j in range(3)], dtype=torch.float64)  # kernel_w outer
    off = torch.empty(n, ho, wo, a.group, 9, 2, dtype=torch.float64)
    off[..., 0] = target[0] - wo_idx - taps[:, 0]
    off[..., 1] = target[1] - ho_idx - taps[:, 1]
    off += (torch.rand(off.shape, generator=gen, dtype=torch.float64) - 0.5) * 0.2
    off = off.reshape(n, ho, wo, -1).to(dtype)
    _fstats, bstats = _check(a, n, h, w, dtype, tensors=(inp, off, msk, gout), soc=SMALL_SOC)
    # all of it came from the window: no per-point DMA in either direction, only the tiles' own
    points = n * ho * wo * a.group * 9
    assert bstats["dma_count"] < 0.15 * points


@pytest.mark.parametrize("dtype", DTYPES)
def test_offsets_of_20px_leave_the_window(dtype):
    """Offsets of +-20 px on a map larger than a tile's window: most points fall outside it, take
    the per-point atomic DMAs, and mix with window points (group-major: the ring and its
    accumulator ring) that hit the same pixels."""
    a = _attrs(group=4, group_channels=16)
    tensors = _inputs(a, 1, 30, 34, dtype, 20.0, seed=47)
    plan = sim.plan_backward(*tensors, a, soc=SMALL_SOC)["tiling"]
    assert plan["fetch_mode"] in (FETCH_WINDOW, FETCH_RING) and plan["win_rows"] < 30
    _, bstats = _check(a, 1, 30, 34, dtype, tensors=tensors, soc=SMALL_SOC)
    points = 30 * 34 * 4 * 9
    assert bstats["dma_count"] > 0.5 * points  # the fallback really ran


@pytest.mark.parametrize("dims", [(1, 0, 5), (2, 4, 0), (1, 0, 0)], ids=lambda d: "N{}xH{}xW{}".format(*d))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_empty_image_gives_zeros_without_reading_it(dims, dtype):
    """H or W = 0 with padding 2: the op has outputs but no pixel to sample. The host plans an
    ordinary launch; every sample is invalid, the kernels write zeros and read no input byte
    (the simulator refuses any GM access outside the empty input)."""
    n, h, w = dims
    a = _attrs(pad=(2, 2), group=2, group_channels=8)
    inp, off, msk, gout = _inputs(a, n, h, w, dtype, 2.0, seed=53)
    out, fstats = sim.dcnv3_forward(inp, off, msk, a)
    assert out.shape == (n, *a.output_size(h, w), 16) and out.numel() > 0
    assert torch.equal(out, torch.zeros_like(out))
    (gi, go, gm), _bstats = sim.dcnv3_backward(inp, off, msk, gout, a)
    assert gi.shape == inp.shape
    assert torch.equal(go, torch.zeros_like(go)) and torch.equal(gm, torch.zeros_like(gm))
    offset_mask_bytes = (off.numel() + msk.numel()) * dtype.itemsize
    assert fstats["gm_read_bytes"] == offset_mask_bytes  # nothing from the input


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's Inf * 0
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_inf_in_the_input_spreads_as_in_the_reference(dtype):
    """One Inf pixel (at a corner, an edge, inside): outputs and gradients are non-finite exactly
    where the float64 reference's are, and match it elsewhere. Samples whose clamped 2x2 fetch
    holds the Inf pixel without it being one of their corners must stay finite."""
    a = _attrs(group=2, group_channels=8)
    inp, off, msk, gout = _inputs(a, 1, 6, 7, dtype, 3.0, seed=59)
    for y, x in [(0, 0), (0, 5), (4, 3), (2, 3), (5, 6)]:
        bad = inp.clone()
        bad[0, y, x, :] = float("inf")
        out, _ = sim.dcnv3_forward(bad, off, msk, a)
        (gi, go, gm), _ = sim.dcnv3_backward(bad, off, msk, gout, a)
        refs = [dcnv3_reference(bad, off, msk, a), *dcnv3_reference_backward(bad, off, msk, gout, a)]
        for name, got, ref in zip(("output", "grad_input", "grad_offset", "grad_mask"), (out, gi, go, gm), refs):
            ref = ref.to(torch.float64)
            finite = torch.isfinite(ref)
            assert torch.equal(torch.isfinite(got), finite), f"{name}: non-finite pattern differs for Inf at {(y, x)}"
            err = (got.to(torch.float64) - ref)[finite].abs().max().item()
            assert err <= TOLERANCE[dtype] * max(1.0, ref[finite].abs().max().item()), f"{name}: error {err}"


def test_unsupported_group_channels_get_the_host_message():
    """sim.dcnv3_forward/backward run the host's kernel-limit check (as the NPU path does), so an
    unsupported group_channels names the limit instead of failing inside the simulated kernel."""
    a = _attrs(group=1, group_channels=4096)
    inp, off, msk, gout = _inputs(a, 1, 3, 3, torch.float32, 1.0, seed=61)
    with pytest.raises(ValueError, match=r"group_channels=4096 .* at most group_channels=\d+ is supported"):
        sim.dcnv3_forward(inp, off, msk, a)
    with pytest.raises(ValueError, match=r"group_channels=4096 .* backward kernel; at most group_channels"):
        sim.dcnv3_backward(inp, off, msk, gout, a)


# (attrs, (n, h, w, dtype), forward plan, backward plan or None): each plan as (fetch_mode, group_major,
# split_unit, tile_groups) with split_unit G (whole positions) or Wo (whole output rows of a group).
_SPLIT_PATHS = [
    # no window fits: per-point pair DMAs under a split in whole positions, the forward's tiles
    # holding both groups, the backward's one
    (
        _attrs(k=(7, 7), stride=(2, 2), pad=(3, 1), dilation=(3, 3), group=2, group_channels=48, offset_scale=2.0),
        (1, 21, 32, torch.float32),
        (FETCH_PAIR, 0, "G", 2),
        (FETCH_PAIR, 0, "G", 1),
    ),
    # windows, split in whole positions but one group per tile (a 7x7 kernel dilated 3 columns)
    (
        _attrs(k=(7, 7), stride=(2, 1), pad=(0, 0), dilation=(1, 3), group=2, group_channels=1, offset_scale=0.5),
        (1, 8, 133, torch.float16),
        (FETCH_WINDOW, 0, "G", 1),
        (FETCH_WINDOW, 0, "G", 1),
    ),
    # group-major in whole output rows: the forward's ring of one-row tiles, the backward's window
    (
        _attrs(k=(5, 5), stride=(3, 1), pad=(3, 2), group=3, group_channels=1, remove_center=1),
        (1, 11, 20, torch.bfloat16),
        (FETCH_RING, 1, "Wo", 1),
        (FETCH_WINDOW, 1, "Wo", 1),
    ),
    # group-major in whole output rows with the forward's window (a 7x3 kernel, stride 2 columns)
    (
        _attrs(k=(7, 3), stride=(1, 2), pad=(3, 3), group=3, group_channels=4),
        (1, 5, 8, torch.bfloat16),
        (FETCH_WINDOW, 1, "Wo", 1),
        None,
    ),
]


@pytest.mark.parametrize("case", _SPLIT_PATHS, ids=lambda c: f"{c[1][1]}x{c[1][2]}-{str(c[1][3])[6:]}")
def test_split_and_fetch_paths_the_other_tests_miss(case):
    """Work splits and fetch modes found by a seeded random campaign that no other kernel test
    reaches: pair fetch and single-group tiles under a whole-position split, group-major whole-row
    splits of window and one-row ring tiles."""
    a, (n, h, w, dtype), fwd, bwd = case
    tensors = _inputs(a, n, h, w, dtype, 2.0, seed=101)
    _ho, wo = a.output_size(h, w)
    for want, plan in (
        (fwd, sim.plan_forward(*tensors[:3], a, soc=SMALL_SOC)),
        (bwd, sim.plan_backward(*tensors, a, soc=SMALL_SOC)),
    ):
        if want is None:
            continue
        t = plan["tiling"]
        unit = {"G": a.group, "Wo": wo}[want[2]]
        assert (t["fetch_mode"], t["group_major"], t["split_unit"], t["tile_groups"]) == (*want[:2], unit, want[3])
        if want[0] == FETCH_RING:
            assert t["tile_positions"] <= wo  # one-row tiles
    _check(a, n, h, w, dtype, tensors=tensors, soc=SMALL_SOC)


@pytest.mark.parametrize(
    "h,w,k,stride,pad,soc",
    [
        (16, 12, (7, 7), (1, 1), (3, 3), "Ascend910B3"),  # tiles of several output rows
        (12, 9, (3, 3), (1, 1), (1, 1), SMALL_SOC),
        (9, 40, (5, 5), (1, 1), (2, 2), "Ascend910B3"),  # tiles of many columns of one row
    ],
)
def test_locations_within_an_ulp_of_a_pixel_edge_round_as_the_cpu_op(h, w, k, stride, pad, soc):
    """Offsets of -1e-7 .. -5e-7 put every point within an ulp of a pixel edge, where the floor of
    the fp32 location picks which one-sided derivative grad_offset takes. The kernels round the
    location as InternImage's CUDA op and the CPU op do (p0 - half * scale once per position, then
    one add); adding the tile base and the in-tile offset separately rounded twice and gave
    grad_offset errors of 8 to 25 here."""
    a = _attrs(k=k, stride=stride, pad=pad, group=2, group_channels=8)
    inp, _, msk, gout = _inputs(a, 1, h, w, torch.float32, 1.0, seed=3)
    ho, wo = a.output_size(h, w)
    gen = torch.Generator().manual_seed(4)
    off = -torch.randint(1, 6, (1, ho, wo, a.group * a.points * 2), generator=gen).to(torch.float32) * 1e-7
    out, _ = sim.dcnv3_forward(inp, off, msk, a, soc=soc)
    _assert_close("output", out, torch.ops.npu.dcnv3(inp, off, msk, *a.args()), torch.float32)
    grads, _ = sim.dcnv3_backward(inp, off, msk, gout, a, soc=soc)
    expected = torch.ops.npu.dcnv3_backward(inp, off, msk, gout, *a.args())
    for name, actual, want in zip(("grad_input", "grad_offset", "grad_mask"), grads, expected):
        _assert_close(name, actual, want, torch.float32)
