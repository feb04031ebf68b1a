"""Properties of the host tiling plan (op_host/dcnv3_tiling_plan.h), read through the simulator's
binding of PlanForward / PlanBackward: the work split covers every pixel-group (output position x
group) exactly once with balanced ranges, block_dim fits the SoC, tiles fit the unified buffer, and
neither kernel asks for a user workspace (the backward accumulates into its fp32 grad_input output).

The kernels' own walk of these ranges is checked end to end in test_sim_kernels.py.
"""

import dataclasses
import functools
import re
import subprocess

import pytest
import torch
from child_process import run_python
from cpp_driver import build_driver
from test_sim_kernels import _attrs

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip
from dcnv3_ascend.attrs import Dcnv3Attrs

UB_RESERVE = 16 * 1024  # kUbReserveBytes in dcnv3_tiling_plan.h
KEYS = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2}
FETCH_WINDOW, FETCH_RING = 1, 2

# (batch, H, W, group, group_channels, kernel, stride, pad, dilation, remove_center)
SHAPES = [
    # InternImage-T, 224 input: channels 64 * 2^stage, group_channels 16
    (1, 56, 56, 4, 16, 3, 1, 1, 1, 0),
    (1, 28, 28, 8, 16, 3, 1, 1, 1, 0),
    (1, 14, 14, 16, 16, 3, 1, 1, 1, 0),
    (1, 7, 7, 32, 16, 3, 1, 1, 1, 0),
    # InternImage-B stage 4 (G = 56), a batch of 8 at stage 1
    (1, 7, 7, 56, 16, 3, 1, 1, 1, 0),
    (8, 56, 56, 4, 16, 3, 1, 1, 1, 0),
    # odd channels, strides, dilations, remove_center, 5x5, one output position, one pixel wide
    (2, 9, 11, 3, 3, 3, 2, 1, 2, 1),
    (1, 12, 10, 5, 20, 5, 1, 2, 1, 0),
    (1, 3, 3, 2, 8, 3, 1, 0, 1, 0),
    (3, 1, 17, 2, 4, 1, 1, 0, 1, 0),
    # a tap spread (dilation 6) whose window does not fit: per-point DMA fetch
    (1, 40, 40, 2, 64, 5, 1, 12, 6, 0),
]
SOCS = ["Ascend910B3", "Ascend910B3-8core"]


def _problem(shape, dtype):
    n, h, w, g, c, k, s, pad, d, rc = shape
    a = Dcnv3Attrs(
        kernel_h=k,
        kernel_w=k,
        stride_h=s,
        stride_w=s,
        pad_h=pad,
        pad_w=pad,
        dilation_h=d,
        dilation_w=d,
        group=g,
        group_channels=c,
        remove_center=rc,
    )
    (ho, wo), p = a.output_size(h, w), a.points
    # Only shapes matter to the plan: stride-0 expanded views avoid allocating big tensors.
    empty = lambda *size: torch.zeros(1, dtype=dtype).expand(*size)  # noqa: E731
    tensors = (empty(n, h, w, g * c), empty(n, ho, wo, g * p * 2), empty(n, ho, wo, g * p))
    return tensors, a, (n, h, w, ho, wo, g, c, p)


def _plans(shape, dtype, soc):
    (inp, off, msk), attrs, dims = _problem(shape, dtype)
    fwd = sim.plan_forward(inp, off, msk, attrs, soc=soc)
    n, _, _, ho, wo, g, c, _ = dims
    grad = torch.zeros(1, dtype=dtype).expand(n, ho, wo, g * c)
    bwd = sim.plan_backward(inp, off, msk, grad, attrs, soc=soc)
    return fwd, bwd, dims


def _ranges(count, per_core, remainder, cores):
    """The contiguous [begin, end) of each core, as Geometry::Load in the kernel computes them."""
    out = []
    for core in range(cores):
        begin = core * per_core + min(core, remainder)
        out.append((begin, begin + per_core + (1 if core < remainder else 0)))
    return out


def _assert_partition(ranges, total):
    assert ranges[0][0] == 0 and ranges[-1][1] == total
    for (_, end), (begin, _) in zip(ranges, ranges[1:]):
        assert end == begin  # contiguous, no overlap, no gap
    sizes = [e - b for b, e in ranges]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("soc", SOCS)
@pytest.mark.parametrize("dtype", list(KEYS))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_plan_properties(shape, dtype, soc):
    cores, ub = sim.SOCS[soc]
    fwd, bwd, (n, h, w, ho, wo, g, c, _) = _plans(shape, dtype, soc)
    pixel_groups = n * ho * wo * g
    for plan in (fwd, bwd):
        t = plan["tiling"]
        assert 1 <= plan["block_dim"] <= cores
        # no idle core while there is work for it
        assert plan["block_dim"] == min(cores, pixel_groups)
        assert plan["tiling_key"] == KEYS[dtype]
        # pixel-groups; whole positions (position-major) or whole output rows of a group (group-major)
        assert t["split_unit"] in (1, wo if t["group_major"] else g)
        assert t["group_major"] in (0, 1) and (t["tile_groups"] == 1 or not t["group_major"])
        ranges = _ranges(pixel_groups // t["split_unit"], t["units_per_core"], t["units_remainder"], plan["block_dim"])
        _assert_partition(ranges, pixel_groups // t["split_unit"])
        if t["split_unit"] > 1:  # whole positions or rows only when that is balanced to 10 %
            sizes = [e - b for b, e in ranges]
            assert max(sizes) <= 1.1 * pixel_groups / t["split_unit"] / plan["block_dim"]
        # a tile spans several output rows only where the ring holds the whole plane
        several_rows = t["fetch_mode"] == FETCH_RING and t["win_rows"] == h
        assert 1 <= t["tile_positions"] <= (ho * wo if several_rows else wo)
        assert 1 <= t["tile_groups"] <= g
        assert t["channels_pad"] >= c and t["channels_pad"] * dtype.itemsize % 32 == 0
        assert plan["ub_bytes"] <= ub - UB_RESERVE
        if t["fetch_mode"] == FETCH_WINDOW:
            assert 1 <= t["win_rows"] <= h and 1 <= t["win_cols"] <= w
        if t["fetch_mode"] == FETCH_RING:  # group-major tiles of one group, whole rows
            assert t["group_major"] == 1 and t["tile_groups"] == 1
            assert 1 <= t["win_rows"] <= h and t["win_cols"] == w
    assert fwd["workspace_bytes"] == 0 and bwd["workspace_bytes"] == 0


# Edges of the kernels' 8-bit strides and 4095-block DMAs: fp32 rows of 248 channels (31 blocks:
# Gatherb's repeat stride 8 * 31 = 248) and 249 (32 blocks: 256), the widest fp16 rows the backward
# fits, images 4095 and 4096 pixels wide, and 1x1 kernels whose tiles hold many points.
LIMIT_SHAPES = [
    (1, 8, 8, 1, 248, 3, 1, 1, 1, 0),
    (1, 8, 8, 1, 249, 3, 1, 1, 1, 0),
    (1, 8, 8, 1, 240, 3, 1, 1, 1, 0),
    (1, 4, 4095, 2, 1, 1, 1, 0, 1, 0),
    (1, 4, 4096, 1, 8, 3, 1, 1, 1, 0),
    (1, 64, 2000, 4, 1, 1, 1, 0, 1, 0),
    (2, 7, 7, 8, 4, 1, 1, 0, 1, 0),
]


@pytest.mark.parametrize("dtype", list(KEYS))
@pytest.mark.parametrize("shape", SHAPES + LIMIT_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_window_plans_keep_the_kernels_vector_and_dma_limits(shape, dtype):
    """What the kernels cast to 8 or 16 bits without checking (op_kernel/dcnv3_window_place.h):
    Gatherb's destination repeat stride (8 corner-row blocks, uint8), the bounding-box fold's
    repeat stride (npc / 8 blocks, uint8), a window row (or ring run) of at most 4095 DMA blocks,
    and the per-position DMAs' uint16 blockCount."""
    (inp, off, msk), attrs, (n, _, _, ho, wo, g, c, p) = _problem(shape, dtype)
    grad = torch.zeros(1, dtype=dtype).expand(n, ho, wo, g * c)
    plans = []
    for plan in (lambda: sim.plan_forward(inp, off, msk, attrs), lambda: sim.plan_backward(inp, off, msk, grad, attrs)):
        try:
            plans.append(plan())
        except ValueError:  # beyond the UB (wide half-type rows in the backward): no launch
            pass
    assert plans
    for plan in plans:
        t = plan["tiling"]
        assert t["tile_positions"] <= 4095 and t["tile_groups"] <= 4095
        if t["fetch_mode"] == 0:
            continue
        row_blocks = t["channels_pad"] * dtype.itemsize // 32
        npc = -(-p * t["tile_positions"] * t["tile_groups"] // 64) * 64
        assert 8 * row_blocks <= 255 and npc // 8 <= 255
        assert t["win_cols"] * t["tile_groups"] <= 4095
    if dtype == torch.float32 and c in (248, 249):  # 31 blocks a row still gathers from the window
        assert (plans[0]["tiling"]["fetch_mode"] != 0) == (c == 248)


@pytest.mark.parametrize("shape", SHAPES[:5], ids=lambda s: "x".join(map(str, s)))
def test_internimage_layers_use_the_window(shape):
    """InternImage's layers fit an input window (group-major: the ring of input rows, and in the
    backward its fp32 accumulator ring), so corners come from UB rather than per-point DMAs."""
    for dtype in KEYS:
        fwd, bwd, _ = _plans(shape, dtype, "Ascend910B3")
        for plan in (fwd, bwd):
            ring = plan["tiling"]["group_major"] == 1
            assert plan["tiling"]["fetch_mode"] == (FETCH_RING if ring else FETCH_WINDOW)


def test_wide_tap_spread_falls_back_to_pair_fetch():
    fwd, bwd, _ = _plans(SHAPES[-1], torch.float32, "Ascend910B3")
    assert fwd["tiling"]["fetch_mode"] == 0 and bwd["tiling"]["fetch_mode"] == 0


def test_tile_shapes_of_internimage_t():
    """Stage 1: a tile holds many positions of one group. Stage 4 (7x7, G = 32): both kernels' rings
    hold the whole plane, and a tile takes several output rows of one group (forward 5 rows: 35
    positions; backward, whose fp32 accumulator ring shares the UB, 3 rows: 21)."""
    stage1, _, _ = _plans(SHAPES[0], torch.float32, "Ascend910B3")
    assert stage1["tiling"]["tile_positions"] > 4
    fwd4, bwd4, _ = _plans(SHAPES[3], torch.float32, "Ascend910B3")
    t = fwd4["tiling"]
    assert (t["group_major"], t["fetch_mode"], t["tile_groups"], t["win_rows"]) == (1, FETCH_RING, 1, 7)
    assert t["tile_positions"] == 35
    t = bwd4["tiling"]
    assert (t["group_major"], t["fetch_mode"], t["tile_groups"], t["win_rows"]) == (1, FETCH_RING, 1, 7)
    assert t["tile_positions"] == 21


def test_fewer_positions_than_cores_still_uses_every_core():
    """7x7 = 49 positions on 40 cores: both kernels split the 224 output rows of the 32 groups (in
    group-major order), every core gets 5 or 6 (balanced to 7 %)."""
    fwd, bwd, _ = _plans(SHAPES[3], torch.float32, "Ascend910B3")
    for plan in (fwd, bwd):
        t = plan["tiling"]
        assert plan["block_dim"] == 40 and t["group_major"] == 1
        assert (t["split_unit"], t["units_per_core"], t["units_remainder"]) == (7, 5, 24)


def test_window_layers_walk_groups_in_long_runs():
    """InternImage-T stage 1 (56x56, G = 4): group-major order, tiles of one group and several
    positions of a row; contiguous ranges of 5 or 6 of the 224 output rows of one group (forward:
    whole rows are balanced to 7 % and the plan's model finds them cheaper) or of 313 or 314 of the
    12544 pixel-groups (backward)."""
    fwd, bwd, _ = _plans(SHAPES[0], torch.float32, "Ascend910B3")
    for plan, split in ((fwd, (56, 5, 24)), (bwd, (1, 313, 24))):
        t = plan["tiling"]
        assert t["group_major"] == 1 and t["tile_groups"] == 1 and 4 < t["tile_positions"] <= 56
        assert (t["split_unit"], t["units_per_core"], t["units_remainder"]) == split


def test_pair_fetch_layers_split_in_whole_positions():
    """No window fits (dilation 6): position-major order, 40x40 = 1600 positions on 40 cores, 40
    whole positions each."""
    fwd, bwd, _ = _plans(SHAPES[-1], torch.float32, "Ascend910B3")
    for plan in (fwd, bwd):
        t = plan["tiling"]
        assert t["group_major"] == 0
        assert (t["split_unit"], t["units_per_core"], t["units_remainder"]) == (2, 40, 0)


def test_empty_batch_plans_one_idle_core():
    fwd, bwd, _ = _plans((0, 8, 8, 2, 8, 3, 1, 1, 1, 0), torch.float32, "Ascend910B3")
    for plan in (fwd, bwd):
        assert plan["block_dim"] == 1
        assert plan["tiling"]["units_per_core"] == 0 and plan["tiling"]["units_remainder"] == 0


@pytest.mark.parametrize("dims", [(1, 0, 5), (2, 4, 0), (1, 0, 0)], ids=lambda d: "N{}xH{}xW{}".format(*d))
def test_empty_image_plans_an_ordinary_launch(dims):
    """H or W = 0 with padding 2 still has output positions (2 per empty axis): the plan is an
    ordinary pair-fetch one (every pixel-group on some core, no workspace, no window into an empty
    image); the kernels then find no valid sample (test_sim_kernels.py runs them)."""
    n, h, w = dims
    fwd, bwd, (_, _, _, ho, wo, g, _, _) = _plans((n, h, w, 2, 8, 3, 1, 2, 1, 0), torch.float32, "Ascend910B3")
    assert ho * wo > 0
    for plan in (fwd, bwd):
        t = plan["tiling"]
        units = n * ho * wo * g // t["split_unit"]
        _assert_partition(_ranges(units, t["units_per_core"], t["units_remainder"], plan["block_dim"]), units)
        assert plan["workspace_bytes"] == 0 and t["fetch_mode"] == 0


def test_unsupported_group_channels_get_the_host_message():
    """A group whose points do not fit the UB is refused by the host's check, naming the limit."""
    (inp, off, msk), attrs, _ = _problem((1, 8, 8, 1, 4096, 3, 1, 1, 1, 0), torch.float32)
    with pytest.raises(
        ValueError,
        match=r"group_channels=4096 with a 3x3 kernel does not fit .* at most "
        r"group_channels=\d+ is supported",
    ):
        sim.plan_forward(inp, off, msk, attrs)


def test_too_many_points_get_a_message_that_does_not_contradict_itself():
    """Even one channel per group does not fit a 41x41 kernel's 1681 points: the message says so
    instead of offering group_channels=1."""
    (inp, off, msk), attrs, _ = _problem((1, 41, 41, 1, 1, 41, 1, 20, 1, 0), torch.float32)
    with pytest.raises(
        ValueError,
        match=r"41x41 kernel \(1681 sampling points per group\) does not fit .* even "
        r"with group_channels=1",
    ) as info:
        sim.plan_forward(inp, off, msk, attrs)
    assert "at most group_channels" not in str(info.value)


def _expanded(n, h, w, g, c, attrs, dtype=torch.float32):
    """Stride-0 input, offset, mask and grad_output of any size for the plans."""
    (ho, wo), p = attrs.output_size(h, w), attrs.points
    empty = lambda *size: torch.zeros(1, dtype=dtype).expand(*size)  # noqa: E731
    return empty(n, h, w, g * c), empty(n, ho, wo, g * p * 2), empty(n, ho, wo, g * p), empty(n, ho, wo, g * c)


# A 1x1, unpadded, one-group layer of 8 channels unless told otherwise.
_geometry = functools.partial(_attrs, k=(1, 1), pad=(0, 0), group=1, group_channels=8)


def test_ub_layout_sizes_do_not_wrap():
    """The UB layout counts bytes in uint32 (as the kernel does). group_channels = 2^29 made its
    corner data 2^36 bytes, which wrapped to a total that fit, and the plan accepted it; the host
    now refuses it, and names the largest group_channels that really fits (found by bisection:
    counting down from 2^29 took minutes)."""
    attrs = _geometry(group_channels=1 << 29)
    tensors = _expanded(1, 1, 1, 1, 1 << 29, attrs)[:3]
    with pytest.raises(
        ValueError, match=r"group_channels=536870912 .* at most group_channels=(\d+) is supported"
    ) as info:
        sim.plan_forward(*tensors, attrs)
    most = int(re.search(r"at most group_channels=(\d+)", str(info.value)).group(1))
    assert 8 <= most < 4096
    sim.plan_forward(*_expanded(1, 1, 1, 1, most, _geometry(group_channels=most))[:3], _geometry(group_channels=most))
    with pytest.raises(ValueError, match="does not fit"):
        bigger = _geometry(group_channels=most + 1)
        sim.plan_forward(*_expanded(1, 1, 1, 1, most + 1, bigger)[:3], bigger)


def test_kernels_past_uint32_points_are_refused():
    """A 641 x 6,700,417 kernel has 2^32 + 1 points, which the layout took as 1 point (uint32) and
    the plan accepted; its offsets of one position (2^35 bytes) are also more than a DMA stride."""
    attrs = _geometry(k=(641, 6700417), pad=(320, 3350208))
    with pytest.raises(ValueError, match=r"group \* P \* 2 \* 4 bytes .* = 1 \* 4294967297 \* 8 must be < 2\^32"):
        sim.plan_forward(*_expanded(1, 1, 1, 1, 8, attrs)[:3], attrs)


@pytest.mark.parametrize(
    "case",
    [
        # one fp32 image row of 2^32 bytes: the window's row gap wrapped to 0 in the 32-bit stride
        dict(
            w=1 << 24,
            c=64,
            dtype=torch.float32,
            backward=False,
            match=r"input width \* channels \* 4 bytes = 4294967296",
        ),
        # fp16 rows of 2^31 bytes are fine forward; the backward adds them into fp32 grad_input
        dict(w=1 << 24, c=64, dtype=torch.float16, backward=True, match=r"\(the backward's grad_input is fp32\)"),
        # 2^28 groups of 1x2 points: 2^32 bytes of fp32 offsets per position
        dict(g=1 << 28, c=1, kernel=(1, 2), pad=(0, 1), dtype=torch.float32, backward=False, match=r"group \* P \* 2"),
    ],
    ids=["input-row", "grad-input-row", "offset-row"],
)
def test_gm_strides_past_32_bits_are_refused(case):
    """DataCopyPad's GM stride is a 32-bit byte count: rows of the input (fp32 grad_input in the
    backward) and one position's offsets must stay below 2^32 bytes, or the gap between two blocks
    wraps and the DMA reads or adds the wrong pixels."""
    g, c, w = case.get("g", 1), case["c"], case.get("w", 1)
    attrs = _geometry(
        k=case.get("kernel", (1, 1)),
        stride=(1, 1 << 23 if w > 1 else 1),
        pad=case.get("pad", (0, 0)),
        group=g,
        group_channels=c,
    )
    tensors = _expanded(1, 1, w, g, c, attrs, case["dtype"])
    plan = (
        (lambda: sim.plan_backward(*tensors, attrs))
        if case["backward"]
        else (lambda: sim.plan_forward(*tensors[:3], attrs))
    )
    with pytest.raises(ValueError, match=case["match"]):
        plan()
    if case["backward"]:  # the same rows forward are fine
        sim.plan_forward(*tensors[:3], attrs)


def test_padded_extents_past_2_24_are_refused():
    """Sampling locations are fp32: a pad of 2^30 + 1 rounds the first output row's location
    -(2^30 + 1) to -2^30, so an offset of 2^30 moved that point onto row 0 instead of row -1
    (outside: zero). Padded extents past 2^24 are refused; an empty image samples nothing and stays
    accepted."""
    attrs = _geometry(stride=((1 << 30) + 1, 1), pad=((1 << 30) + 1, 0))
    with pytest.raises(ValueError, match=r"input H \+ 2\*pad_h = 1 \+ 2\*1073741825 must be <= 2\^24"):
        sim.plan_forward(*_expanded(1, 1, 1, 1, 8, attrs)[:3], attrs)
    sim.plan_forward(*_expanded(1, 0, 1, 1, 8, attrs)[:3], attrs)
    wide = _geometry(pad=(0, 1 << 23))
    with pytest.raises(ValueError, match=r"input W \+ 2\*pad_w = 1 \+ 2\*8388608 must be <= 2\^24"):
        sim.plan_forward(*_expanded(1, 1, 1, 1, 8, wide)[:3], wide)


# Plans of empty batches and images whose pad makes an output row some 2^32 positions wide: an empty
# batch or image samples nothing, so the 2^24 limit on padded extents does not apply to them.
_WIDE_EMPTY_PLANS = """
from test_tiling_plan import _expanded, _geometry
from dcnv3_ascend import sim
attrs = _geometry(pad=(0, 2**31 - 1), group=64, group_channels=1)
for n, w in ((0, 1), (1, 0)):
    tensors = _expanded(n, 1, w, 64, 1, attrs)
    for plan in (sim.plan_forward(*tensors[:3], attrs), sim.plan_backward(*tensors, attrs)):
        assert plan["tiling"]["width_out"] == w + 2**32 - 2 and plan["tiling"]["tile_positions"] >= 1
print("planned")
"""


def test_planning_time_does_not_grow_with_the_output_width():
    """The tile search stepped the number of pieces an output row is cut into up from 1, one step
    per column, to find the counts that fit: an empty batch with pad_w = 2^31 - 1 and 64 groups
    took about 9 minutes to plan forward (an empty image longer: it also stepped through every
    count that equals the most positions that fit), in the TilingFunc of every launch. The counts
    are now found by division. In a child process, so that a slow plan fails the test."""
    proc = run_python(_WIDE_EMPTY_PLANS, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "planned", proc.stdout + proc.stderr


def test_an_output_of_2_63_positions_splits_without_signed_overflow(tmp_path_factory):
    """An empty image's output may hold up to 2^63 - 1 positions (H = 0 with pad 1 under a 2-tall
    kernel leaves one output row), and the split's rounded-up units per core, units + cores - 1,
    overflowed int64. No torch tensor has such an offset, but GE's shapes can: the plan runs from
    the contract's driver, built to stop at a signed overflow."""
    exe = build_driver(
        tmp_path_factory,
        "contract_shapes_main.cc",
        ["op_host"],
        flags=["-fsanitize=signed-integer-overflow", "-fno-sanitize-recover=all"],
    )
    attrs = dataclasses.replace(_geometry(k=(2, 1), pad=(1, 0), group=1, group_channels=1), im2col_step=1)
    values = ",".join(str(v) for v in attrs.args())
    n = 2**63 - 1
    shapes = [f"{n},0,1,1", f"{n},1,1,4", f"{n},1,1,2"]
    for grad in ([], [f"{n},1,1,1"]):
        result = subprocess.run([str(exe), "--plan", values, *shapes, *grad], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        # every core of each SoC in dcnv3_soc_table.h: 48, 48, 48, 40, 40, 40, 48, 48, 48, 48, 40, 40
        cores = [48] * 3 + [40] * 3 + [48] * 4 + [40] * 2
        assert result.stdout.splitlines() == [f"output={n},1,1,1", "block_dim=" + ",".join(map(str, cores))]


@pytest.mark.parametrize("scale", [1e30, -1e30, 1e15])
def test_huge_offset_scale_keeps_window_fields_in_range(scale):
    """offset_scale 1e30 spread the taps past int64; its double->int64 conversion gave win_rows =
    -2^63 + 10. The spread is cut to the image, which leaves the window the whole image."""
    attrs = _geometry(k=(3, 3), pad=(1, 1), group=2, group_channels=16, offset_scale=scale)
    tensors = _expanded(1, 8, 9, 2, 16, attrs)
    for plan in (sim.plan_forward(*tensors[:3], attrs), sim.plan_backward(*tensors, attrs)):
        t = plan["tiling"]
        assert 0 <= t["win_rows"] <= 8 and 0 <= t["win_cols"] <= 9 and 0 <= t["win_cols_base"] <= 9 + 10


def test_cost_walks_equal_charging_every_tile_of_the_kernels_cursor(tmp_path_factory):
    """The planner's cost walks count repeated tiles (whole planes, periods of output rows, runs
    in a row, group chunks) once and multiply; the host plans on every launch, and walking every
    tile took 62 ms at 1x800x1333. The driver charges every tile the kernel's TileCursor cuts, one
    by one, over a sweep of problems, tile shapes and core ranges: the totals must be identical
    (the model's terms are whole units, so products and sums agree exactly)."""
    exe = build_driver(tmp_path_factory, "plan_cost_walk_main.cc", ["simulator/include", "op_kernel", "op_host"])
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    summary = dict(item.split("=") for item in result.stdout.split("\n")[-2].split())
    assert int(summary["mismatches"]) == 0 and int(summary["cases"]) > 100_000, result.stdout[-2000:]
