"""The DrivingSDK kernels scripts/check_simulator_fidelity.sh runs, one spec each: where its sources
live in a DrivingSDK tree, how its entry function is called, the tiling its op_host would produce
for a shape (re-derived here from reading kernels/<op>/op_host/<op>.cpp, not copied), inputs, and a
PyTorch reference written from the operator's definition.

Platform values the op_hosts read (PlatformAscendC: GetCoreNumAiv(), GetCoreMemSize(UB)) come
from the package's one SoC table, for Ascend910B3.
"""

from dataclasses import dataclass

import numpy as np
import torch

from dcnv3_ascend.sim import SOC_TABLE
from dcnv3_ascend.sim.external import pack_tiling

_SOC = SOC_TABLE["Ascend910B3"]
CORES = _SOC["vector_core_num"]
UB = _SOC["ub_bytes"]


def ceil_div(a, b):
    return (a + b - 1) // b


@dataclass
class Case:
    label: str  # the shape, as printed
    buffers: list  # numpy arrays / None in kernel-argument order (tiling last)
    block_dim: int
    outputs: dict  # name -> function(buffers) giving the simulated result (torch tensor)
    reference: dict  # name -> expected torch tensor (float64)
    atol: float
    expected_rules: tuple = ()  # hardware rules the kernel is known to break for this shape
    note: str = ""
    kernel_bug: str = ""  # set: the unchanged kernel is known to compute this case wrongly


@dataclass
class KernelSpec:
    name: str
    sources: list  # paths inside the DrivingSDK tree to extract
    kernel: str  # the kernel .cpp, inside the tree
    entry: str
    args: list
    tiling_struct: str
    tiling_header: str
    defines: dict
    cases: object  # function() -> list of Case
    # (file, line as written, corrected line): the one-line fix of a known kernel bug, applied to a
    # second temporary copy to show that the simulator computes the corrected kernel right.
    fix: tuple = ()


# ---------------------------------------------------------------------------------------------
# add_relu: x = relu(x + y) in place (the op's output "x" is a reference to input x).
# op_host: coreData = ceil(total / cores) rounded up to 64; coreUsed = ceil(total / coreData); the
# last core takes total % coreData when non-zero; the UB tile is (UB - 20 KiB) / 12 rounded up to
# 32 elements; each core copies coreData / tile whole tiles and a tail.
# ---------------------------------------------------------------------------------------------


def add_relu_tiling(total):
    core_data = ceil_div(ceil_div(total, CORES), 64) * 64
    core_used = ceil_div(total, core_data)
    core_last = total % core_data or core_data
    tile = ceil_div((UB - 20 * 1024) // 12, 32) * 32
    fields = [
        ("uint32_t", core_used),
        ("uint32_t", core_data),
        ("uint32_t", core_data // tile),
        ("uint32_t", core_data % tile),
        ("uint32_t", core_last // tile),
        ("uint32_t", core_last % tile),
        ("uint32_t", total),
        ("uint32_t", tile),
    ]
    return pack_tiling(fields), core_used, core_data, tile


def add_relu_cases():
    cases = []
    for total in (1000, 40 * 2048, 800_000):
        rng = np.random.default_rng(total)
        x = rng.standard_normal(total).astype(np.float32)
        y = rng.standard_normal(total).astype(np.float32)
        want = torch.relu(torch.from_numpy(x) + torch.from_numpy(y)).double()  # one float32 rounding, as AddRelu
        tiling, block_dim, core_data, tile = add_relu_tiling(total)
        loops = core_data > tile
        x_dev = x.copy()
        cases.append(
            Case(
                f"total={total}",
                [x_dev, y, x_dev, None, tiling],
                block_dim,
                {"x": lambda b: torch.from_numpy(b[0])},
                {"x": want},
                atol=0.0,
                # Each core reuses its UB tiles across loop iterations without a V -> MTE2 wait: the next
                # DataCopyPad may overwrite input_x while the previous AddRelu still reads it.
                expected_rules=("ub-pipe-hazard",) if loops else (),
                note="missing V->MTE2 sync between loop iterations (a real bug)" if loops else "",
            )
        )
    return cases


ADD_RELU = KernelSpec(
    name="add_relu",
    sources=["kernels/add_relu/op_kernel", "kernels/add_relu/op_host"],
    kernel="kernels/add_relu/op_kernel/add_relu.cpp",
    entry="add_relu",
    args=["x", "y", "x_ref", "workspace", "tiling"],
    tiling_struct="AddReluTilingData",
    tiling_header="kernels/add_relu/op_host/add_relu_tiling.h",
    defines={"DTYPE_X": "float", "DTYPE_Y": "float"},
    cases=add_relu_cases,
)


# ---------------------------------------------------------------------------------------------
# hypot: z = sqrt(x^2 + y^2). op_host: the length rounded up to 8 floats; one core per 4096
# elements, at most all cores; `former` cores take one 8-float group more; each core's range is cut
# into slices so that 3 queues x 2 buffers of a tile fit in UB - 16 KiB.
# ---------------------------------------------------------------------------------------------


def hypot_tiling(total):
    aligned = ceil_div(total, 8) * 8
    used = min((aligned - 1) // 4096 + 1, CORES)
    groups = aligned // 8
    former_num = groups % used
    base = groups // used
    former_len = (base + (1 if former_num else 0)) * 8
    tail_len = base * 8

    def split(length):
        slices = length * 3 * 4 * 2 // (UB - 16 * 1024) + 1
        tile = ceil_div(length // slices, 8) * 8
        num = 0 if tile == 0 else length // tile + (1 if length % tile else 0)
        remain = 0 if num == 0 else length - (num - 1) * tile
        return tile, num, remain

    ft, fn, fr = split(former_len)
    tt, tn, tr = split(tail_len)
    fields = [
        ("uint32_t", former_num),
        ("uint32_t", used - former_num),
        ("uint64_t", former_len),
        ("uint32_t", tail_len),
        ("uint32_t", ft),
        ("uint32_t", tt),
        ("uint32_t", fn),
        ("uint32_t", tn),
        ("uint32_t", fr),
        ("uint32_t", tr),
    ]
    return pack_tiling(fields), used


def hypot_cases():
    cases = []
    for total in (4096 * 3 + 8, 40 * 4096 + 800, 1_146_880):
        rng = np.random.default_rng(total)
        x = rng.standard_normal(total).astype(np.float32) * 10
        y = rng.standard_normal(total).astype(np.float32) * 10
        z = np.full(total, np.nan, np.float32)
        tiling, used = hypot_tiling(total)
        want = torch.hypot(torch.from_numpy(x).double(), torch.from_numpy(y).double())
        cases.append(
            Case(
                f"total={total}",
                [x, y, z, None, tiling],
                used,
                {"z": lambda b: torch.from_numpy(b[2])},
                {"z": want},
                atol=2e-5,
            )
        )
    return cases


HYPOT = KernelSpec(
    name="hypot",
    sources=["kernels/hypot/op_kernel", "kernels/hypot/op_host"],
    kernel="kernels/hypot/op_kernel/hypot.cpp",
    entry="hypot",
    args=["input", "other", "out", "workspace", "tiling"],
    tiling_struct="HypotTilingData",
    tiling_header="kernels/hypot/op_host/hypot_tiling.h",
    defines={},
    cases=hypot_cases,
)


# ---------------------------------------------------------------------------------------------
# fused_bias_leaky_relu_v2: out = leaky_relu(x + bias, slope) * scale, bias already broadcast to
# x's shape by the Python wrapper. op_host: tasks of 32 KiB (8192 floats); average = tasks / cores,
# remainder = tasks % cores; all cores when average > 0, else one per task.
# ---------------------------------------------------------------------------------------------


def fused_bias_leaky_relu_tiling(total, slope, scale, single_block=8192):
    tasks = ceil_div(total, single_block)
    average, remainder = tasks // CORES, tasks % CORES
    used = CORES if average else remainder
    fields = [
        ("float", slope),
        ("float", scale),
        ("uint32_t", used),
        ("uint32_t", average),
        ("uint32_t", remainder),
        ("uint32_t", total),
        ("uint32_t", single_block),
    ]
    return pack_tiling(fields), used


def fused_bias_leaky_relu_cases():
    cases = []
    for shape in ((1, 5, 64, 128), (2, 83, 64, 64)):
        rng = np.random.default_rng(shape[1])
        x = rng.standard_normal(shape).astype(np.float32)
        bias_c = rng.standard_normal(shape[1]).astype(np.float32)
        bias = np.ascontiguousarray(np.broadcast_to(bias_c.reshape(1, -1, 1, 1), shape)).astype(np.float32)
        out = np.full(shape, np.nan, np.float32)
        slope, scale = 0.2, 2**0.5
        tiling, used = fused_bias_leaky_relu_tiling(x.size, slope, scale)
        ref = torch.nn.functional.leaky_relu(torch.from_numpy(x).double() + torch.from_numpy(bias).double(), slope)
        cases.append(
            Case(
                f"x={list(shape)}",
                [x, bias, out, None, tiling],
                used,
                {"out": lambda b: torch.from_numpy(b[2])},
                {"out": ref * np.float32(scale)},
                atol=2e-6,
            )
        )
    return cases


FUSED_BIAS_LEAKY_RELU = KernelSpec(
    name="fused_bias_leaky_relu_v2",
    sources=["kernels/fused_bias_leaky_relu/op_kernel", "kernels/fused_bias_leaky_relu/op_host"],
    kernel="kernels/fused_bias_leaky_relu/op_kernel/fused_bias_leaky_relu_v2.cpp",
    entry="fused_bias_leaky_relu_v2",
    args=["x", "bias", "output", "workspace", "tiling"],
    tiling_struct="FusedBiasLeakyReluV2TilingData",
    tiling_header="kernels/fused_bias_leaky_relu/op_host/fused_bias_leaky_relu_v2_tiling.h",
    defines={"DTYPE_X": "float"},
    cases=fused_bias_leaky_relu_cases,
)


# ---------------------------------------------------------------------------------------------
# grid_sampler2d_v2: bilinear grid_sample of NHWC input with an NHW2 grid into NHWC' output whose
# channels are rounded up to 8. op_host: tasks = N * Hout * Wout output points, ceil(tasks / cores)
# per core (the last core the remainder); points per loop = (UB - 10 KiB - the corner/group
# buffers) / (40 * 4 B) rounded down to 8; channel groups of 32 points (C <= 64) or 16 (C <= 128).
# ---------------------------------------------------------------------------------------------


def grid_sampler_tiling(n, h_in, w_in, c, h_out, w_out, padding, align_corners):
    tasks = n * h_out * w_out
    per_core = ceil_div(tasks, CORES)
    remained = per_core if tasks % per_core == 0 else tasks % per_core
    used = ceil_div(tasks, per_core)
    c_aligned = ceil_div(c, 8) * 8
    group = 32 if c <= 64 else (16 if c <= 128 else 1)
    extra = c_aligned * 4 * 4 * group * (2 * 2 + 1)
    per_loop = (UB - 10 * 1024 - extra) // (40 * 4) // 8 * 8
    fields = [
        ("int64_t", 0),
        ("int64_t", padding),
        ("bool", align_corners),
        ("int32_t", n),
        ("int32_t", c),
        ("int32_t", h_in),
        ("int32_t", w_in),
        ("int32_t", h_out),
        ("int32_t", w_out),
        ("int32_t", per_core),
        ("int32_t", used),
        ("int32_t", c_aligned),
        ("int32_t", per_loop),
        ("int32_t", per_core // per_loop),
        ("int32_t", per_core % per_loop),
        ("int32_t", remained // per_loop),
        ("int32_t", remained % per_loop),
        ("int32_t", 4),
        ("int32_t", group),
    ]
    return pack_tiling(fields), used, c_aligned


PADDING = {0: "zeros", 1: "border", 2: "reflection"}

# ReflectCoord floors `flip` in place (float -> float) and then converts tmpInt, which nothing
# ever writes, back into `flip`: the reflection count is whatever the UB held (the simulator's
# poison 0xFF.. reads as -1), so every point takes the mirrored branch. Casting the floor into
# tmpInt, as the next line expects, makes the kernel match torch.
REFLECT_BUG = "ReflectCoord converts the never-written tmpInt into flip"
REFLECT_FIX = (
    "kernels/grid_sampler2d_v2/op_kernel/grid_sampler2d_v2.cpp",
    "Cast(flip, flip, RoundMode::CAST_FLOOR, alignedTaskNumPerLoop_);",
    "Cast(tmpInt, flip, RoundMode::CAST_FLOOR, alignedTaskNumPerLoop_);",
)


def grid_sampler_cases():
    cases = []
    shapes = [  # n, h_in, w_in, c, h_out, w_out, padding, align_corners
        (1, 8, 8, 8, 4, 4, 0, False),
        (2, 16, 24, 32, 12, 20, 0, True),
        (2, 16, 24, 32, 12, 20, 1, False),
        (1, 20, 30, 96, 40, 30, 0, False),
        (1, 40, 40, 16, 100, 120, 1, True),
        (1, 12, 12, 16, 10, 10, 2, False),
        (1, 12, 12, 16, 10, 10, 2, True),
    ]
    for n, h_in, w_in, c, h_out, w_out, padding, align in shapes:
        rng = np.random.default_rng(h_out * w_out + c)
        x = rng.standard_normal((n, c, h_in, w_in)).astype(np.float32)
        grid = rng.uniform(-1.15, 1.15, (n, h_out, w_out, 2)).astype(np.float32)
        tiling, used, c_aligned = grid_sampler_tiling(n, h_in, w_in, c, h_out, w_out, padding, align)
        x_trans = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        y_trans = np.full((n, h_out, w_out, c_aligned), np.nan, np.float32)
        ref = torch.nn.functional.grid_sample(
            torch.from_numpy(x).double(),
            torch.from_numpy(grid).double(),
            mode="bilinear",
            padding_mode=PADDING[padding],
            align_corners=align,
        )
        cases.append(
            Case(
                f"x=[{n},{c},{h_in},{w_in}] grid=[{n},{h_out},{w_out},2] {PADDING[padding]} align={int(align)}",
                [x_trans, grid, y_trans, None, tiling],
                used,
                {"y": lambda b, c=c: torch.from_numpy(b[2][..., :c]).permute(0, 3, 1, 2)},
                {"y": ref},
                atol=2e-5,
                kernel_bug=REFLECT_BUG if padding == 2 else "",
            )
        )
    return cases


GRID_SAMPLER2D_V2 = KernelSpec(
    name="grid_sampler2d_v2",
    sources=["kernels/grid_sampler2d_v2/op_kernel", "kernels/grid_sampler2d_v2/op_host"],
    kernel="kernels/grid_sampler2d_v2/op_kernel/grid_sampler2d_v2.cpp",
    entry="grid_sampler2d_v2",
    args=["x_trans", "grid", "y_trans", "workspace", "tiling"],
    tiling_struct="GridSampler2dV2TilingData",
    tiling_header="kernels/grid_sampler2d_v2/op_host/grid_sampler2d_v2_tiling.h",
    defines={},
    cases=grid_sampler_cases,
    fix=REFLECT_FIX,
)

KERNELS = [ADD_RELU, HYPOT, FUSED_BIAS_LEAKY_RELU, GRID_SAMPLER2D_V2]
