"""The vector mask register of the simulator against the asc-devkit documentation.

Pages (docs/zh/api/SIMD-API/基础API/Memory矢量计算/掩码操作/): SetVectorMask.md (Normal mode: a
bit mask or the first `len` lanes per iteration; Counter mode: the element count of the whole
instruction; "该接口仅在矢量计算API的isSetMask模板参数为false时生效"), SetMaskCount.md (the iteration
count is inferred in counter mode), SetMaskNorm.md, ResetMask.md. CANN 8.1 kernel_utils.h:
SetMask<T, false> returns at once, so an instruction called with isSetMask=false and
MASK_PLACEHOLDER runs under the register as it stands; count-form instructions end with
ResetMask(); SetMaskNorm() (kernel_operator_vec_binary_scalar_impl.h, AddsImpl).

Kernel: simulator/selftest/api_mask_register.cpp.
"""

import numpy as np

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip

_sim = sim._sim

N = 256


def run(scenario):
    x = np.arange(N, dtype=np.float32)
    y = 1000 + np.arange(N, dtype=np.float32)
    z = np.full(N, -1.0, np.float32)
    _sim.run_selftest("api_mask_register", [x, y, z], [scenario])
    return x, y, z


def test_placeholder_runs_under_the_bit_mask_set_by_set_vector_mask():
    # The case the issue found: the placeholder (0) used to be decoded as a mask of its own.
    x, _, z = run(0)
    want = np.full(N, -1.0, np.float32)
    want[:4] = x[:4] + 2
    np.testing.assert_array_equal(z, want)
    assert z[1] == 3.0  # x[1] + 2, not a value computed from the placeholder


def test_counter_mode_count_overrides_repeat_times():
    x, y, z = run(1)
    want = np.full(N, -1.0, np.float32)
    want[:100] = x[:100] + y[:100]  # 100 elements = one full and one partial 64-lane iteration
    np.testing.assert_array_equal(z, want)


def test_instruction_with_set_mask_leaves_its_mask_in_the_register():
    x, _, z = run(2)
    want = np.full(N, -1.0, np.float32)
    want[:16] = 3 * x[:16]
    want[64:80] = 3 * x[64:80]
    np.testing.assert_array_equal(z, want)


def test_count_form_resets_the_register():
    x, _, z = run(3)
    want = np.full(N, -1.0, np.float32)
    want[:64] = x[:64] + 2
    np.testing.assert_array_equal(z, want)


def test_count_form_with_set_mask_false_uses_the_counter():
    # SetVectorMask page, "Counter模式和tensor前n个数据计算接口配合使用": Adds(dst, src, num, 1)
    # after SetVectorMask(128) processes 128 elements, whatever calCount says.
    x, _, z = run(4)
    want = np.full(N, -1.0, np.float32)
    want[:70] = x[:70] + 2
    np.testing.assert_array_equal(z, want)


def test_normal_mode_example_of_the_set_vector_mask_page():
    # Add(dst, src0, src1, MASK_PLACEHOLDER, 1, {2, 2, 2, 8, 8, 8}) with a full bit mask: the 8
    # blocks of the one iteration are 2 blocks apart, so blocks 0, 2, ..., 14 (8 floats each).
    x, y, z = run(5)
    want = np.full(N, -1.0, np.float32)
    for blk in range(0, 16, 2):
        sl = slice(8 * blk, 8 * blk + 8)
        want[sl] = x[sl] + y[sl]
    np.testing.assert_array_equal(z, want)


def _first_lanes_plus_two(x, lanes):
    want = np.full(N, -1.0, np.float32)
    want[:lanes] = x[:lanes] + 2
    return want


def test_brcb_resets_the_register():
    # BrcbImpl (impl/dav_c220/kernel_operator_vec_brcb_impl.h) calls ResetMask() before vbrcb.
    x, _, z = run(6)
    np.testing.assert_array_equal(z, _first_lanes_plus_two(x, 64))


def test_count_form_gather_leaves_its_tail_mask():
    # GatherImpl sets the mask of each call (64 lanes, then the tail of 8) and resets nothing.
    x, _, z = run(7)
    np.testing.assert_array_equal(z, _first_lanes_plus_two(x, 8))


def test_count_form_create_vec_index_leaves_its_last_mask():
    # CreateVecIndexCalc ends with a repeat-form Adds over the tail (100 - 64 = 36 lanes).
    x, _, z = run(8)
    np.testing.assert_array_equal(z, _first_lanes_plus_two(x, 36))


def test_count_form_compare_scalar_leaves_the_register_alone():
    # CompareScalarCompute (impl/dav_c220/kernel_operator_vec_cmp_impl.h) never writes the mask.
    x, _, z = run(9)
    np.testing.assert_array_equal(z, _first_lanes_plus_two(x, 4))


def test_counter_mode_runs_past_255_iterations_in_one_instruction():
    # 16,400 floats = 256 full 64-lane iterations and a 16-lane tail: one instruction on hardware,
    # which the simulator once refused as "at most 255 iterations".
    n, length = 16_400, 16_448
    z = np.arange(length, dtype=np.float32)
    stats = _sim.run_selftest("api_counter_mode_long", [z], [n, length])
    want = np.arange(length, dtype=np.float32)
    want[:n] += 2
    np.testing.assert_array_equal(z, want)
    assert (stats["vector_instr_count"], stats["vector_repeat_count"]) == (1, 257)
