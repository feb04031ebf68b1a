"""The kernels' ring of input rows (fetch mode kFetchRing, op_kernel/dcnv3_ring.h; the backward adds an
fp32 grad_input accumulator ring of the same geometry, flushed as rows leave it), run in the
simulator against the float64 reference: slots that wrap around, points that leave the ring, many
points on one pixel, non-finite offsets, and core ranges that start and end inside an output row or
an (n, g) plane."""

import pytest
import torch
from test_sim_kernels import DTYPES, FETCH_RING, SMALL_SOC, _assert_close, _attrs, _check, _inputs

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip
from dcnv3_ascend.reference import dcnv3_reference, dcnv3_reference_backward
from dcnv3_ascend.shapes import layer_cases
from dcnv3_ascend.sim import report


def _ring_plan(a, tensors, soc=SMALL_SOC):
    """The forward's plan, after checking that both kernels take the ring."""
    assert sim.plan_backward(*tensors, a, soc=soc)["tiling"]["fetch_mode"] == FETCH_RING
    plan = sim.plan_forward(*tensors[:3], a, soc=soc)
    assert plan["tiling"]["fetch_mode"] == FETCH_RING, plan["tiling"]
    return plan


def _input_bytes_read(fstats, tensors):
    """GM bytes the forward read from the input: all reads less the offsets and masks (read once)."""
    return fstats["gm_read_bytes"] - sum(t.numel() * t.element_size() for t in tensors[1:3])


@pytest.mark.parametrize("dtype", DTYPES)
def test_ring_wraps_around_a_tall_plane(dtype):
    """A 40-row map and a 12-row ring: each core walks 20 output rows of a plane, so its ring slots
    are reused (rows past the last slot wrap to the first); every input row is still read about once
    per core and plane instead of once per tile."""
    a = _attrs(group=4, group_channels=16)
    n, h, w = 1, 40, 24
    tensors = _inputs(a, n, h, w, dtype, 2.0, seed=61)
    t = _ring_plan(a, tensors)["tiling"]
    assert t["win_rows"] < h and t["win_cols"] == w
    assert t["units_per_core"] * t["split_unit"] // w > t["win_rows"]  # a core walks more rows than the ring holds
    fstats, bstats = _check(a, n, h, w, dtype, tensors=tensors, soc=SMALL_SOC)
    input_bytes = tensors[0].numel() * tensors[0].element_size()
    assert _input_bytes_read(fstats, tensors) <= 1.5 * input_bytes  # 1.25x measured
    # the backward's accumulator ring adds each fp32 grad_input row about once per core and plane
    # too (a window per tile added 12 rows per output row)
    assert bstats["atomic_write_bytes"] <= 1.5 * tensors[0].numel() * 4  # 1.25x measured


@pytest.mark.parametrize("dtype", DTYPES)
def test_points_leaving_the_ring_take_pair_dmas(dtype):
    """Offsets of +-20 px on a 30-row map: most points' 2x2 leave the ring and are fetched by the
    pair DMAs, in the same tiles as the points the ring serves."""
    a = _attrs(group=4, group_channels=16)
    tensors = _inputs(a, 1, 30, 34, dtype, 20.0, seed=67)
    assert _ring_plan(a, tensors)["tiling"]["win_rows"] < 30
    fstats, _ = _check(a, 1, 30, 34, dtype, tensors=tensors, soc=SMALL_SOC)
    points = 30 * 34 * 4 * 9
    assert fstats["dma_count"] > 0.5 * points  # the fallback really ran


@pytest.mark.parametrize("dtype", DTYPES)
def test_many_points_on_one_pixel_come_from_the_ring(dtype):
    """Every sampling point of every position lands on the same 2x2 neighbourhood: all of them are
    served from the ring (no per-point DMA), and the sums are those of the reference."""
    a = _attrs(group=4, group_channels=16)
    n, h, w = 1, 20, 20
    inp, _, msk, gout = _inputs(a, n, h, w, dtype, 0.0, seed=71)
    ho, wo = a.output_size(h, w)
    gen = torch.Generator().manual_seed(73)
    target = torch.tensor([8.3, 9.6], dtype=torch.float64)  # (x, y) every point samples
    wo_idx = torch.arange(wo, dtype=torch.float64).view(1, 1, wo, 1, 1)
    ho_idx = torch.arange(ho, dtype=torch.float64).view(1, ho, 1, 1, 1)
    taps = torch.tensor([[i - 1, j - 1] for i in range(3) for j in range(3)], dtype=torch.float64)  # kernel_w outer
    off = torch.empty(n, ho, wo, a.group, 9, 2, dtype=torch.float64)
    off[..., 0] = target[0] - wo_idx - taps[:, 0]
    off[..., 1] = target[1] - ho_idx - taps[:, 1]
    off += (torch.rand(off.shape, generator=gen, dtype=torch.float64) - 0.5) * 0.2
    tensors = (inp, off.reshape(n, ho, wo, -1).to(dtype), msk, gout)
    _ring_plan(a, tensors)
    fstats, _ = _check(a, n, h, w, dtype, tensors=tensors, soc=SMALL_SOC)
    # the target's rows are inside every output row's ring capacity (12 of 20 rows): only the tiles'
    # own DMAs (offsets, mask, output, ring rows), no per-point one
    points = n * ho * wo * a.group * 9
    assert fstats["dma_count"] < 0.05 * points


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonfinite_offsets_in_the_ring(dtype):
    """NaN, +-Inf and huge offsets among ordinary ones: those samples contribute nothing and do not
    disturb the ring's placement for the others."""
    a = _attrs(group=4, group_channels=16)
    n, h, w = 1, 20, 20
    inp, off, msk, gout = _inputs(a, n, h, w, dtype, 2.0, seed=79)
    huge = 1e30 if dtype != torch.float16 else 6e4
    bad = torch.tensor([float("nan"), float("inf"), float("-inf"), huge, -huge], dtype=torch.float64)
    flat = off.reshape(-1)
    flat[::5] = bad.repeat(flat[::5].numel() // bad.numel() + 1)[: flat[::5].numel()].to(dtype)
    tensors = (inp, off, msk, gout)
    _ring_plan(a, tensors)
    _check(a, n, h, w, dtype, tensors=tensors, soc=SMALL_SOC)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES)
def test_core_ranges_start_inside_rows_and_planes(dtype, stride):
    """3 groups of 19x19 outputs (stride 1 or 2) over 8 cores, which the plan splits in pixel-groups
    (57 rows make no whole-row split balanced to 10 %): ranges begin and end inside output rows
    and inside (n, g) planes, so a core's ring (12 of 19 rows) starts empty mid-plane
    and its tiles move on to the next plane's rows (ring reset)."""
    # 32 channels: with 16, the fp32 stride-1 backward's plan prefers window tiles (its accumulator
    # ring leaves room for 10-position tiles against 19 in window mode)
    a = _attrs(group=3, group_channels=32, stride=(stride, stride))
    n, h, w = 1, 19 * stride, 19 * stride
    tensors = _inputs(a, n, h, w, dtype, 3.0, seed=83 + stride)
    t = _ring_plan(a, tensors)["tiling"]
    ho, wo = a.output_size(h, w)
    plane = ho * wo
    assert t["split_unit"] == 1 and t["win_rows"] < h
    starts = [c * t["units_per_core"] + min(c, t["units_remainder"]) for c in range(8)]
    assert any(s % plane and s % wo for s in starts)  # some core starts inside a row of a plane
    assert any(s // plane != (s + t["units_per_core"]) // plane for s in starts)  # ... and crosses planes
    _check(a, n, h, w, dtype, tensors=tensors, soc=SMALL_SOC)


@pytest.mark.parametrize("whole_rows", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_tiles_of_several_rows_on_a_small_plane(dtype, whole_rows):
    """Small maps (InternImage's 7x7 stage 4) fit the ring whole, so a tile runs over several output
    rows of its plane (from column 0; a tile that starts inside a row ends with it). With 11 groups
    of 7x7 (77 output rows on 8 cores) the plan splits whole rows; with 5 groups (35 rows, not
    balanced to 10 % in whole rows) pixel-groups, so ranges start inside rows and their first tile
    is a partial row. Each core reads each plane it touches about once."""
    g, size = (11, 7) if whole_rows else (5, 7)
    a = _attrs(group=g, group_channels=16)
    tensors = _inputs(a, 1, size, size, dtype, 2.0, seed=89 + g)
    t = _ring_plan(a, tensors)["tiling"]
    assert t["win_rows"] == size and t["tile_positions"] > size
    assert t["split_unit"] == (size if whole_rows else 1)
    if not whole_rows:
        assert any((c * t["units_per_core"] + min(c, t["units_remainder"])) % size for c in range(8))
    fstats, _ = _check(a, 1, size, size, dtype, tensors=tensors, soc=SMALL_SOC)
    input_bytes = tensors[0].numel() * tensors[0].element_size()
    planes_touched = 1 + (g * size * size) / 8 / (size * size)  # per core, at most
    assert _input_bytes_read(fstats, tensors) <= 8 * planes_touched / g * input_bytes


@pytest.mark.parametrize("dtype", DTYPES)
def test_internimage_7x7_layers_read_near_the_minimum(dtype):
    """Issue 9's forward target on InternImage's smallest layers (T and B stage 4, 7x7, offsets
    randn * 2 px, as sim.report draws them): GM traffic at most 3x the op's minimum (13.7x when
    every position-major tile loaded its own window) at no more DMAs per point (0.030-0.037 then)."""
    cases = {c.name: c for c in layer_cases()}
    for name in ("T-stage4", "B-stage4"):
        fwd, _, _ = report.run_case(cases[name], dtype, "Ascend910B3")
        assert fwd.x_min <= 3.0, (name, fwd.x_min)
        assert fwd.dma_per_point <= 0.037, (name, fwd.dma_per_point)


@pytest.mark.parametrize(
    "attrs, size",
    [
        (dict(stride=(2, 2)), (11, 11)),
        (dict(remove_center=1), (12, 9)),
        (dict(stride=(2, 1), remove_center=1), (9, 10)),
    ],
    ids=["stride2", "remove_center", "stride2x1_remove_center"],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_tiles_of_several_rows_with_strides_and_no_centre(dtype, attrs, size):
    """The per-point tables of tiles that span output rows (row i / Wo times stride_h, column i % Wo
    times stride_w, the tap of each point with the centre skipped) against the reference."""
    a = _attrs(group=6, group_channels=16, **attrs)
    h, w = size
    tensors = _inputs(a, 1, h, w, dtype, 2.0, seed=97)
    t = _ring_plan(a, tensors)["tiling"]
    assert t["win_rows"] == h and t["tile_positions"] > t["width_out"]
    _check(a, 1, h, w, dtype, tensors=tensors, soc=SMALL_SOC)


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_collisions_across_the_ring_wrap(dtype):
    """Every point of every position samples the 2x2 at rows 23-24 of a 40-row map: with a 12-row ring
    row 23 sits in the last slot and row 24 in slot 0, so the backward adds the second row of every
    point served into the accumulator's copy of slot 0, which must reach grad_input row 24 when the
    ring drops that row; many points per pixel, no update lost, in every dtype."""
    a = _attrs(group=4, group_channels=16)
    n, h, w = 1, 40, 24
    inp, _, msk, gout = _inputs(a, n, h, w, dtype, 0.0, seed=89)
    ho, wo = a.output_size(h, w)
    gen = torch.Generator().manual_seed(97)
    wo_idx = torch.arange(wo, dtype=torch.float64).view(1, 1, wo, 1, 1)
    ho_idx = torch.arange(ho, dtype=torch.float64).view(1, ho, 1, 1, 1)
    taps = torch.tensor([[i - 1, j - 1] for i in range(3) for j in range(3)], dtype=torch.float64)  # kernel_w outer
    off = torch.empty(n, ho, wo, a.group, 9, 2, dtype=torch.float64)
    off[..., 0] = 11.3 - wo_idx - taps[:, 0]
    off[..., 1] = 23.4 - ho_idx - taps[:, 1]
    off += (torch.rand(off.shape, generator=gen, dtype=torch.float64) - 0.5) * 0.2
    tensors = (inp, off.reshape(n, ho, wo, -1).to(dtype), msk, gout)
    assert _ring_plan(a, tensors)["tiling"]["win_rows"] == 12
    _, bstats = _check(a, n, h, w, dtype, tensors=tensors, soc=SMALL_SOC)
    # the points of the output rows whose ring reaches rows 23-24 come from UB, the others take 2
    # atomic DMAs each: 1.45 atomic DMAs per point measured, 2 if the ring served none
    points = n * ho * wo * a.group * 9
    assert bstats["atomic_dma_count"] < 1.6 * points


@pytest.mark.parametrize("dtype", DTYPES)
def test_accumulator_rows_wider_than_a_repeat_stride(dtype):
    """140 px x 16 channels: one fp32 accumulator row is 8,960 B, more than the 255 blocks (8,160 B)
    an 8-bit repeat stride spans, so the backward adds each point's 2x2 with one Add per slot row
    (its two pixels as the repeats) instead of one Add with a stride of one image row."""
    a = _attrs(group=4, group_channels=16)
    tensors = _inputs(a, 1, 3, 140, dtype, 2.0, seed=71)
    t = sim.plan_backward(*tensors, a)["tiling"]
    assert t["fetch_mode"] == FETCH_RING and 140 * t["channels_pad"] * 4 > 255 * 32
    _check(a, 1, 3, 140, dtype, tensors=tensors)


@pytest.mark.parametrize(
    "kernel,dtype,group", [("forward", torch.float16, 8), ("backward", torch.float32, 2)], ids=["forward", "backward"]
)
def test_ring_slots_of_rows_past_2_24_pixels(kernel, dtype, group):
    """A 64-px plane of 268,144 rows, output rows 3,000 input rows apart: the last two output rows
    sample rows whose first pixel index (h * W) is past 2^24, where fp32 no longer holds every
    integer. The ring's slot arithmetic runs in fp32, so it must form a point's place in the ring
    from its slot (h - lo + phase, a few rows), never from h * W + w (which rounds odd columns to
    their neighbours there: both kernels then read the wrong pixels). Offsets on a quarter-pixel grid:
    fp32 resolves 1/32 px at these rows, so every location is exact and only the slots are tested."""
    a = _attrs(stride=(3000, 1), group=group, group_channels=1)
    h, w = (1 << 24) // 64 + 6000, 64
    inp, off, msk, gout = _inputs(a, 1, h, w, dtype, 2.0, seed=73)
    tensors = (inp, (off * 4).round() / 4, msk, gout)
    if kernel == "forward":
        assert sim.plan_forward(*tensors[:3], a)["tiling"]["fetch_mode"] == FETCH_RING
        out, _ = sim.dcnv3_forward(*tensors[:3], a)
        _assert_close("output", out, dcnv3_reference(*tensors[:3], a), dtype)
        return
    assert sim.plan_backward(*tensors, a)["tiling"]["fetch_mode"] == FETCH_RING
    grads, _ = sim.dcnv3_backward(*tensors, a)
    for name, actual, expected in zip(
        ("grad_input", "grad_offset", "grad_mask"), grads, dcnv3_reference_backward(*tensors, a)
    ):
        _assert_close(name, actual, expected, dtype)


def test_sampling_locations_stay_exact_up_to_2_24_rows():
    """The kernels compute sampling locations in fp32, exact for integers up to 2^24. A 1x1 kernel
    with a stride of H - 1 samples the first and the last row: at H = 2^24 that is row 2^24 - 1;
    at H = 2^24 + 2 it would be row 2^24 + 1, which fp32 rounds to 2^24 (the kernel returned the
    row above). That shape is refused, naming the argument and the limit."""
    for h in (1 << 24, (1 << 24) + 2):
        a = _attrs(k=(1, 1), stride=(h - 1, 1), pad=(0, 0), group=1, group_channels=1)
        inp = (torch.arange(h) % 1000).to(torch.float32).view(1, h, 1, 1)  # each row its own value
        off, msk = torch.zeros(1, 2, 1, 2), torch.ones(1, 2, 1, 1)
        if h > 1 << 24:
            with pytest.raises(ValueError, match=r"input H \+ 2\*pad_h = 16777218 \+ 2\*0 must be <= 2\^24"):
                sim.dcnv3_forward(inp, off, msk, a)
            continue
        out, _ = sim.dcnv3_forward(inp, off, msk, a)
        assert out.flatten().tolist() == [0.0, float((h - 1) % 1000)]
        _assert_close("output", out, dcnv3_reference(inp, off, msk, a), torch.float32)
