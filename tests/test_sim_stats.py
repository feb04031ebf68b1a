"""The simulator's per-core statistics on a kernel whose counts are worked out by hand
(simulator/selftest/stats_counts.cpp): per-pipe DMA counts and bytes, atomic copies, vector
instructions and 256-byte repeats, explicit PipeBarriers and scalar UB accesses."""

import numpy as np

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip

_sim = sim._sim


def run_stats_counts(block_dim):
    data = np.arange(256, dtype=np.float32)
    out = np.zeros(256 * block_dim, np.float32)
    acc = np.zeros(16, np.float32)
    stats = _sim.run_selftest("stats_counts", [data, out, acc], [], block_dim=block_dim)
    return stats, data, out, acc


# Per core i (the vector block runs i + 1 times):
#   MTE2: DataCopy 256 floats (1024 B) + DataCopyPad 2 blocks x 20 B = 2 DMAs, 1064 B
#   MTE3: DataCopy 1024 B + atomic DataCopyPad 64 B = 2 DMAs (1 atomic), 1088 B
#   vector per round: Adds 256 floats (4 repeats), Muls 100 floats (400 B: 2 repeats),
#     Cast 256 float -> half (widest operand 1024 B: 4 repeats), Add repeatTime 3 = 4 instrs, 13 repeats
#   barriers: 4 PIPE_V per round (one after each vector instruction), 2 PIPE_ALL
#   scalar UB: 2 GetValue + SetValue + operator() = 4
def expected_core(i):
    rounds = i + 1
    return dict(
        dma_count=4,
        mte2_dma_count=2,
        mte3_dma_count=2,
        atomic_dma_count=1,
        atomic_write_bytes=64,
        gm_read_bytes=1024 + 40,
        gm_write_bytes=1024 + 64,
        gm_scalar_access_count=0,
        ub_scalar_access_count=4,
        vector_instr_count=4 * rounds,
        vector_repeat_count=13 * rounds,
        pipe_barrier_v_count=4 * rounds,
        pipe_barrier_all_count=2,
        ub_peak_bytes=1024 + 64 + 512,
    )


def test_stats_count_each_pipe_per_core():
    stats, _data, _out, _acc = run_stats_counts(block_dim=3)
    for key in expected_core(0):
        per_core = [expected_core(i)[key] for i in range(3)]
        assert stats["per_core"][key] == per_core, key
        total = max(per_core) if key == "ub_peak_bytes" else sum(per_core)
        assert stats[key] == total, key


def test_stats_kernel_computes_what_it_counts():
    _stats, data, out, acc = run_stats_counts(block_dim=2)
    # Core i: f = data, then i + 1 rounds of f = 2 * (f + 1) on the first 64 floats (Muls by 1 and
    # the Cast leave f unchanged), f[2] = f[0] + f[1], f[3] = 0; acc sums f[:16] of both cores.
    for i in range(2):
        f = data.astype(np.float64)
        for _ in range(i + 1):
            f = f + 1
            f[:192] = 2 * f[:192]
        f[2] = f[0] + f[1]
        f[3] = 0
        np.testing.assert_array_equal(out[256 * i : 256 * (i + 1)], f.astype(np.float32))
    expected_acc = sum(out[256 * i : 256 * i + 16].astype(np.float64) for i in range(2))
    np.testing.assert_array_equal(acc, expected_acc.astype(np.float32))
