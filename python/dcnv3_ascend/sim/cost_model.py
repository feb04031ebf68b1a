"""A per-pipe busy ESTIMATE for each simulated vector core, from the simulator's counts.

The simulator runs every instruction at once, so it measures counts, not time. This module turns
the counts of one core into the cycles each of its pipes is busy, using the constants below; each
constant names where it comes from, and those marked "assumption" have no published figure behind
them. Use the result to compare designs, not as a prediction of hardware time (good to perhaps 2x).

Per core, in cycles of the SoC's clock (clock_mhz in op_host/dcnv3_soc_table.h, the .ini's
cube_freq; 1800 MHz on Ascend910B3):
  MTE2 (GM->UB)   mte2_dma_count * DMA_STARTUP + gm_read_bytes / MTE2_BYTES_PER_CYCLE
  MTE3 (UB->GM)   mte3_dma_count * DMA_STARTUP
                  + (gm_write_bytes + atomic_write_bytes) / MTE3_BYTES_PER_CYCLE
                  (an atomic add reads and writes L2: its bytes count twice)
  V (vector)      vector_repeat_count * VECTOR_CYCLES_PER_REPEAT + vector_instr_count * VECTOR_ISSUE
                  + pipe_barrier_v_count * PIPE_V_DRAIN
  S (scalar)      (dma_count + vector_instr_count + pipe_barrier_v_count) * SCALAR_ISSUE
                  + ub_scalar_access_count * SCALAR_UB_ACCESS + gm_scalar_access_count * SCALAR_GM_ACCESS
  stall           pipe_barrier_all_count * PIPE_ALL_DRAIN (every pipe idles until all drain)

The pipes run concurrently, so a core takes max(pipes) + stall: a lower bound that assumes
perfect overlap (waits on flags that expose a DMA's latency are not modelled), and only the
PipeBarriers written in the kernel count (CANN's --cce-auto-sync inserts more). The pipe with the
largest busy time bounds the core. Blocks beyond the SoC's vector core count run in later waves;
the kernel estimate is the sum over waves of the busiest core of each wave.
"""

import dataclasses

from . import SOC_TABLE

PIPES = ("MTE2", "MTE3", "V", "S")

_INI = "CANN 8.1.RC1 platform_config/Ascend910B3.ini (B1, B2, B4 alike)"
_GUIDE = "asc-devkit docs/zh/guide/算子实践参考/SIMD算子性能优化/内存访问/"


@dataclasses.dataclass(frozen=True)
class Constant:
    name: str
    value: float
    unit: str
    source: str


CONSTANTS = (
    Constant(
        "MTE2_BYTES_PER_CYCLE",
        110,
        "B/cycle",
        f"{_INI} [AICoreMemoryRates] l2_read_rate, read as bytes per cycle per core; "
        "assumes the data is in L2 (l2_size 192 MiB; "
        f"40 cores x 110 B x 1.8 GHz = 7.9 TB/s, {_GUIDE}L2-Cache切分.md gives ~7 TB/s for L2)",
    ),
    Constant("MTE3_BYTES_PER_CYCLE", 64, "B/cycle", f"{_INI} [AICoreMemoryRates] ub_to_l2_rate"),
    Constant(
        "DMA_STARTUP",
        100,
        "cycles per DMA command",
        f"assumption (~56 ns); consistent with {_GUIDE}尽量一次搬运较大的数据块.md: copies of >= 16 KB reach "
        "near-peak bandwidth (at the .ini's ddr_rate of 32 B/cycle a 16 KiB copy takes 512 cycles: 84%)",
    ),
    Constant(
        "VECTOR_CYCLES_PER_REPEAT",
        1,
        "cycles per 256-byte repeat",
        f"{_INI} [AICoreSpec] vec_calc_size=128 (128 fp16 lanes = 256 B per cycle)",
    ),
    Constant("VECTOR_ISSUE", 10, "cycles per vector instruction", "assumption (issue and pipeline start-up)"),
    Constant("PIPE_V_DRAIN", 20, "cycles per PipeBarrier<PIPE_V>", "assumption (vector pipeline depth)"),
    Constant(
        "PIPE_ALL_DRAIN",
        900,
        "cycles per PipeBarrier<PIPE_ALL>",
        "assumption (~0.5 us: a GM round trip of the DMA in flight)",
    ),
    Constant(
        "SCALAR_ISSUE",
        2,
        "cycles per instruction issued to MTE2/MTE3/V",
        "assumption (operand set-up by the scalar unit)",
    ),
    Constant("SCALAR_UB_ACCESS", 10, "cycles per LocalTensor GetValue/SetValue/operator()", "assumption"),
    Constant(
        "SCALAR_GM_ACCESS",
        200,
        "cycles per GlobalTensor GetValue/SetValue",
        "assumption (through the scalar data cache)",
    ),
)
C = {c.name: c.value for c in CONSTANTS}


def pipe_cycles(core):
    """Busy cycles of each pipe, and the stall, of one core given its counters ({name: int})."""
    issued = core["dma_count"] + core["vector_instr_count"] + core["pipe_barrier_v_count"]
    return {
        "MTE2": core["mte2_dma_count"] * C["DMA_STARTUP"] + core["gm_read_bytes"] / C["MTE2_BYTES_PER_CYCLE"],
        "MTE3": core["mte3_dma_count"] * C["DMA_STARTUP"]
        + (core["gm_write_bytes"] + core["atomic_write_bytes"]) / C["MTE3_BYTES_PER_CYCLE"],
        "V": core["vector_repeat_count"] * C["VECTOR_CYCLES_PER_REPEAT"]
        + core["vector_instr_count"] * C["VECTOR_ISSUE"]
        + core["pipe_barrier_v_count"] * C["PIPE_V_DRAIN"],
        "S": issued * C["SCALAR_ISSUE"]
        + core["ub_scalar_access_count"] * C["SCALAR_UB_ACCESS"]
        + core["gm_scalar_access_count"] * C["SCALAR_GM_ACCESS"],
        "stall": core["pipe_barrier_all_count"] * C["PIPE_ALL_DRAIN"],
    }


@dataclasses.dataclass
class Estimate:
    """The estimate of one launch. Times in microseconds."""

    per_core_us: list  # per block: {"MTE2", "MTE3", "V", "S", "stall", "total"}
    busiest_core: int  # block with the largest total
    bound: str  # the pipe with the largest busy time on that block
    busiest_us: float  # that block's total
    kernel_us: float  # sum over waves of each wave's busiest block


def estimate(stats, soc):
    """The per-pipe estimate of a launch from its statistics dict (as dcnv3_forward/backward and
    run_selftest return it) on SoC `soc`."""
    if soc not in SOC_TABLE:
        raise ValueError(f"soc must be one of {sorted(SOC_TABLE)}, got {soc!r}")
    row = SOC_TABLE[soc]
    per_cycle_us = 1.0 / row["clock_mhz"]
    per_core = stats["per_core"]
    keys = list(per_core)
    blocks = len(per_core[keys[0]])
    per_core_us = []
    for b in range(blocks):
        cycles = pipe_cycles({k: per_core[k][b] for k in keys})
        us = {pipe: c * per_cycle_us for pipe, c in cycles.items()}
        us["total"] = max(us[p] for p in PIPES) + us["stall"]
        per_core_us.append(us)
    busiest = max(range(blocks), key=lambda b: per_core_us[b]["total"])
    bound = max(PIPES, key=lambda p: per_core_us[busiest][p])
    wave = row["vector_core_num"]
    kernel_us = sum(max(c["total"] for c in per_core_us[start : start + wave]) for start in range(0, blocks, wave))
    return Estimate(per_core_us, busiest, bound, per_core_us[busiest]["total"], kernel_us)


def constants_text(soc):
    """The model's constants and their sources, one per line, for a report header."""
    lines = [
        f"Cost model (an ESTIMATE, python/dcnv3_ascend/sim/cost_model.py): {soc} clock "
        f"{SOC_TABLE[soc]['clock_mhz']} MHz (op_host/dcnv3_soc_table.h: the .ini's cube_freq)"
    ]
    for c in CONSTANTS:
        lines.append(f"  {c.name:24s} {c.value:>5g} {c.unit}: {c.source}")
    return "\n".join(lines)
