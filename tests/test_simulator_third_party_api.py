"""APIs the simulator gained to run third-party production kernels unchanged, each against the
example or definition of its asc-devkit page (docs/zh/api/SIMD-API/...):

- AddRelu: 基础API/Memory矢量计算/复合计算/AddRelu.md (src0 [1 -2 3 ...], src1 [1 3 -4 ...] -> [2 1 0 ...];
  int16_t/half/float on Atlas A2)
- LeakyRelu: 基础API/Memory矢量计算/基础算术/LeakyRelu.md (src >= 0 ? src : scalar * src)
- GatherMask: 基础API/Memory矢量计算/比较与选择/GatherMask.md (pattern 2 over [1 .. 256] with
  {1, 4, 8, 0} in place -> [2 4 ... 256], rsvdCnt 128; patterns 1..7; a user pattern tensor)
- Fmod: 高阶API/数学计算/Fmod接口/Fmod.md (Fmod(2.0, 1.5) = 0.5, Fmod(-3.0, 1.1) = -0.8,
  [-2.56 .. 2.55] mod 2)
- GetSFFValue (CANN 8.1 name ScalarGetSFFValue): 基础API/标量计算/GetSFFValue.md
- set_flag / wait_flag / pipe_barrier: CANN tikicpulib stub_fun.h signatures; they feed the same
  pipe-hazard bookkeeping as SetFlag/WaitFlag. ASSERT: kernel_macros.h (CPU debug aborts).

Kernels: simulator/selftest/api_third_party.cpp.
"""

import numpy as np
import pytest
import torch

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip

_sim = sim._sim

F32_BITS = lambda v: int(np.array(v, np.float32).view(np.uint32))  # noqa: E731


def fused(op, x, y, count, slope=0.0):
    z = np.full_like(x, -7)
    _sim.run_selftest("api_fused_binary", [x, y, z], [op, count, x.size, F32_BITS(slope)])
    return z


@pytest.mark.parametrize("op,dtype", [(0, np.float32), (1, np.float16), (2, np.int16)])
def test_add_relu_documented_example(op, dtype):
    head0, head1 = [1, -2, 3], [1, 3, -4]
    x = np.zeros(128, dtype)
    y = np.zeros(128, dtype)
    x[:3], y[:3] = head0, head1
    x[-1], y[-1] = -6, 5  # the page's last pair: -6 + 5 -> 0
    rng = np.random.default_rng(3)
    x[3:-1] = rng.integers(-50, 50, 124)
    y[3:-1] = rng.integers(-50, 50, 124)
    z = fused(op, x, y, 100)
    assert list(z[:3]) == [2, 1, 0]
    want = np.maximum(x.astype(np.float64) + y, 0).astype(dtype)
    np.testing.assert_array_equal(z[:100], want[:100])
    assert (z[100:] == -7).all()


def test_leaky_relu_matches_its_definition():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(128).astype(np.float32)
    z = fused(3, x, np.zeros_like(x), 96, slope=0.2)
    want = torch.nn.functional.leaky_relu(torch.from_numpy(x), 0.2).numpy()
    np.testing.assert_allclose(z[:96], want[:96], rtol=1e-7, atol=0)
    assert (z[96:] == -7).all()


def test_fmod_documented_examples():
    x = np.zeros(512, np.float32)
    y = np.full(512, 2.0, np.float32)
    x[0], y[0] = 2.0, 1.5
    x[1], y[1] = -3.0, 1.1
    sweep = np.round(np.arange(-256, 256) * 0.01, 2).astype(np.float32)  # [-2.56 .. 2.55]
    x[2:], y[2:] = sweep[2:], 2.0
    z = fused(4, x, y, 512)
    assert z[0] == 0.5
    np.testing.assert_allclose(z[1], -0.8, atol=1e-6)
    np.testing.assert_allclose(z[2:], np.fmod(sweep[2:].astype(np.float64), 2.0), atol=1e-6)


def gather_mask(pattern, repeat, blk=1, rep=8, src1_rep=0, in_place=False, pattern_words=None, reduce=False):
    src = np.arange(1, 513, dtype=np.float32)
    pat = np.zeros(64, np.uint32) if pattern_words is None else pattern_words
    out = np.full(512, -1.0, np.float32)
    cnt = np.zeros(4, np.int64)
    _sim.run_selftest(
        "api_gather_mask", [src, pat, out, cnt], [pattern, repeat, blk, rep, src1_rep, int(in_place), int(reduce)]
    )
    return src, out, int(cnt[0])


@pytest.mark.parametrize(
    "kwargs,rule,text",
    [
        (dict(pattern=8, repeat=1), "gather-mask-pattern", "src1Pattern=8 must be in [1, 7]"),
        (dict(pattern=1, repeat=300, rep=0), "vector-repeat", "repeatTimes=300 exceeds 255"),
        (dict(pattern=1, repeat=1, reduce=True), "not-simulated", "reduceMode=true"),
    ],
)
def test_gather_mask_rules(kwargs, rule, text):
    with pytest.raises(_sim.SimulatorError) as err:
        gather_mask(**kwargs)
    assert str(err.value).startswith(f"[{rule}] core 0:") and text in str(err.value), str(err.value)


def test_gather_mask_documented_example_pattern_2_in_place():
    _src, out, kept = gather_mask(2, 4, in_place=True)
    assert kept == 128
    np.testing.assert_array_equal(out[:128], np.arange(2, 257, 2, dtype=np.float32))


@pytest.mark.parametrize(
    "pattern,lanes", [(1, [0, 2]), (2, [1, 3]), (3, [0]), (4, [1]), (5, [2]), (6, [3]), (7, [0, 1, 2, 3])]
)
def test_gather_mask_builtin_patterns(pattern, lanes):
    src, out, kept = gather_mask(pattern, 2, rep=16)  # iterations 16 blocks (128 floats) apart
    idx = [r * 128 + e for r in range(2) for e in range(64) if e % 4 in lanes]
    assert kept == len(idx)
    np.testing.assert_array_equal(out[:kept], src[idx])
    assert (out[kept:] == -1).all()


def test_gather_mask_pattern_tensor_with_src1_repeat_stride():
    words = np.zeros(64, np.uint32)
    words[0:2] = 0x99999999  # the page's user pattern: lanes 0 and 3 of every four
    words[8:10] = 0x0000FFFF  # iteration 1 reads 1 block (8 words) further: lanes 0..15 and 32..47
    src, out, kept = gather_mask(0, 2, src1_rep=1, pattern_words=words)
    it0 = [e for e in range(64) if e % 4 in (0, 3)]
    it1 = [64 + e for e in range(64) if e % 32 < 16]
    assert kept == len(it0) + len(it1)
    np.testing.assert_array_equal(out[:kept], src[it0 + it1])


def builtins(scenario):
    x = np.arange(64, dtype=np.float32)
    out = np.zeros(64, np.float32)
    res = np.zeros(8, np.int64)
    stats = _sim.run_selftest("api_builtins", [x, np.zeros(8, np.float32), out, res], [scenario])
    return x, out, res, stats


@pytest.mark.parametrize("scenario", [0, 2])
def test_raw_flags_and_barriers_synchronise(scenario):
    x, out, _, _ = builtins(scenario)
    np.testing.assert_array_equal(out, 3 * x)


def test_missing_wait_flag_is_a_pipe_hazard():
    with pytest.raises(_sim.SimulatorError, match=r"\[ub-pipe-hazard\].*Muls"):
        builtins(1)


def test_failed_assert_stops_the_kernel():
    with pytest.raises(_sim.SimulatorError, match=r"\[kernel-assert\] core 0: ASSERT\(scenario != 3"):
        builtins(3)


def test_scalar_get_sff_value_documented_examples():
    _, _, res, _ = builtins(4)
    assert list(res[:5]) == [-1, -1, 0, 8, 8]
