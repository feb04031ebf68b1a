"""Semantics of the AscendC API the simulator implements, checked against numpy/torch references
written from the asc-devkit documentation: DataCopy/DataCopyPad layouts (strides, padding, dummy
fill), Gather byte offsets, Cast rounding modes, Compare bit masks and Select modes, Brcb,
CreateVecIndex, ReduceSum, Axpy, elementwise and masked repeat forms, atomic adds across cores,
SyncAll, TQue synchronisation, tiling-key dispatch, InitOutput and the launch statistics.

The kernels are simulator/selftest/api_*.cpp, run through _sim.run_selftest.
"""

import dataclasses

import numpy as np
import pytest
import torch

from dcnv3_ascend import sim  # built by setup.py; a missing build must fail, not skip
from dcnv3_ascend.attrs import Dcnv3Attrs

_sim = sim._sim

F32_BITS = lambda v: int(np.array(v, np.float32).view(np.uint32))  # noqa: E731
RNG = np.random.default_rng(1234)


def run(name, *buffers, params=(), block_dim=1, tiling_key=0, soc="Ascend910B3"):
    return _sim.run_selftest(name, list(buffers), list(params), block_dim=block_dim, soc=soc, tiling_key=tiling_key)


def bf16_bits(values):
    return torch.tensor(values, dtype=torch.float32).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def bf16_values(bits):
    return torch.from_numpy(bits.view(np.int16).copy()).view(torch.bfloat16).float().numpy()


# ---------------------------------------------------------------------------------------------
# DataCopyPad and DataCopy layouts
# ---------------------------------------------------------------------------------------------


def datacopypad_in_model(src, tile, count, block_len, src_stride, dst_stride, left, right, is_pad, pad_value):
    """UB tile after DataCopyPad GM->UB for float data, as documented: each block is
    [left pad][block_len bytes of data][right pad][dummy up to 32 B]; padding holds pad_value when
    is_pad (else undefined: NaN here); the dummy repeats the block's first element when there is no
    padding. Blocks are dst_stride 32-byte blocks apart in UB and src_stride bytes apart in GM."""
    out = tile.copy()
    n = block_len // 4
    padded = -(-(left + n + right) // 8) * 8
    for i in range(count):
        ub = i * (padded + dst_stride * 8)
        gm = i * (n + src_stride // 4)
        block = np.full(padded, np.nan, np.float32)
        block[left : left + n] = src[gm : gm + n]
        if is_pad:
            block[:left] = pad_value
            block[left + n : left + n + right] = pad_value
        if left == 0 and right == 0:
            block[n:] = block[0]
        elif is_pad:
            block[left + n + right :] = pad_value
        out[ub : ub + padded] = block
    return out


@pytest.mark.parametrize(
    "count,block_len,src_stride,dst_stride,left,right,is_pad",
    [
        (2, 20, 8, 1, 0, 0, False),  # unaligned blocks, dummy = first element, GM and UB gaps
        (3, 16, 0, 0, 1, 3, True),  # left/right padding with a value, exactly 32 B per block
        (1, 52, 0, 0, 0, 2, True),  # padding then a dummy tail filled with the padding value
        (2, 24, 4, 2, 2, 0, False),  # padding without isPad: undefined (NaN) padding and dummy
    ],
)
def test_datacopypad_gm_to_ub(count, block_len, src_stride, dst_stride, left, right, is_pad):
    src = np.arange(1, 65, dtype=np.float32)
    tile = np.full(64, -7.0, np.float32)
    params = (count, block_len, src_stride, dst_stride, left, right, int(is_pad), F32_BITS(0.5), tile.size)
    expected = datacopypad_in_model(src, tile, count, block_len, src_stride, dst_stride, left, right, is_pad, 0.5)
    stats = run("api_datacopypad_in", src, tile, params=params)
    np.testing.assert_array_equal(tile, expected)
    assert stats["gm_read_bytes"] == count * block_len + 64 * 4  # the pad copy plus the tile load
    assert stats["dma_count"] == 3


def test_datacopypad_ub_to_gm_drops_padding():
    tile = np.arange(1, 65, dtype=np.float32)
    dst = np.full(64, -1.0, np.float32)
    # 3 blocks of 12 B (3 floats); each starts a 32-byte block (+1 block gap) in UB, 4 B apart in GM.
    run("api_datacopypad_out", tile, dst, params=(3, 12, 1, 4, tile.size))
    expected = np.full(64, -1.0, np.float32)
    for i in range(3):
        expected[i * 4 : i * 4 + 3] = tile[i * 16 : i * 16 + 3]
    np.testing.assert_array_equal(dst, expected)


def test_datacopy_block_strides():
    src = np.arange(128, dtype=np.float32)
    dst = np.full(128, -1.0, np.float32)
    # GM->UB: 3 blocks of 1 x 32 B, GM gap 1 block, UB gap 0; UB->GM: 1 block of 3 x 32 B, contiguous.
    run("api_datacopy_strided", src, dst, params=(3, 1, 1, 0, 1, 3, 0, 0, 32))
    expected = np.full(128, -1.0, np.float32)
    expected[:24] = np.concatenate([src[0:8], src[16:24], src[32:40]])
    np.testing.assert_array_equal(dst, expected)


@pytest.mark.parametrize("count,blocks,src_gap,dst_gap", [(3, 2, 1, 3), (2, 2, 0, 6)])
def test_datacopy_ub_to_ub_block_gaps(count, blocks, src_gap, dst_gap):
    # CANN 8.1 impl/dav_c220/kernel_operator_data_copy_impl.h passes DataCopyParams to
    # copy_ubuf_to_ubuf as they are: blockLen and both strides in 32-byte blocks, the strides being
    # the gaps between consecutive blocks (the second case is dcnv3_grad.cpp's g4 row repetition).
    src = np.arange(128, dtype=np.float32)
    dst = np.zeros(128, np.float32)
    run("api_datacopy_ub_strided", src, dst, params=(count, blocks, src_gap, dst_gap, 128))
    expected = np.full(128, -1.0, np.float32)
    n = 8 * blocks
    for i in range(count):
        s, d = 8 * i * (blocks + src_gap), 8 * i * (blocks + dst_gap)
        expected[d : d + n] = src[s : s + n]
    np.testing.assert_array_equal(dst, expected)


# ---------------------------------------------------------------------------------------------
# Gather, Brcb, CreateVecIndex, ReduceSum
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_gather_uses_byte_offsets(dtype):
    size = np.dtype(dtype).itemsize
    src = RNG.standard_normal(64).astype(dtype)
    index = RNG.integers(0, 60, 32)
    base = 2 * size  # the base address shifts every index by two elements
    offsets = (index * size).astype(np.uint32)
    out = np.zeros(64, dtype)
    run("api_gather", src, offsets, out, params=(int(dtype == np.float16), 32, base, 64, 32))
    np.testing.assert_array_equal(out[:32], src[index + 2])
    np.testing.assert_array_equal(out[32:], 0)


def test_brcb_fills_one_block_per_element():
    src = np.arange(1, 33, dtype=np.float32)
    dst = np.full(512, -1.0, np.float32)
    repeat, blk, rep = 2, 2, 16
    run("api_brcb", src, dst, params=(repeat, blk, rep, 32, 512))
    expected = np.full(512, -1.0, np.float32)
    for r in range(repeat):
        for j in range(8):
            start = (r * rep + j * blk) * 8
            expected[start : start + 8] = src[8 * r + j]
    np.testing.assert_array_equal(dst, expected)


@pytest.mark.parametrize(
    "code,dtype,first", [(0, np.float32, 2.5), (1, np.float16, -3.0), (2, np.int32, -5), (3, np.int16, 7)]
)
def test_create_vec_index(code, dtype, first):
    out = np.full(64, 99, dtype)
    first_param = F32_BITS(first) if code < 2 else first
    run("api_create_vec_index", out, params=(code, first_param, 40, 64))
    np.testing.assert_array_equal(out[:40], (first + np.arange(40)).astype(dtype))
    np.testing.assert_array_equal(out[40:], 99)


def cann_create_vec_index(first, count, dtype):
    # CANN 8.1 impl/dav_c220/kernel_operator_vec_createvecindex_impl.h: the first 32-byte block by
    # SetValue(i, float(first) + float(i)), then Adds in the element type, from the element a block
    # before within the first 256-byte repeat and a repeat before after it.
    dtype = np.dtype(dtype)
    per_block, per_repeat = 32 // dtype.itemsize, 256 // dtype.itemsize
    out = np.empty(max(count, per_block), dtype)
    for i in range(per_block):
        value = np.float32(first) + np.float32(i)
        out[i] = int(value) if dtype.kind == "i" else value
    for i in range(per_block, count):
        step = per_block if i < per_repeat else per_repeat
        out[i] = out[i - step] + dtype.type(step)
    return out[:count]


@pytest.mark.parametrize(
    "code,dtype,first",
    [(2, np.int32, 16777217), (2, np.int32, -33554433), (0, np.float32, 0.1), (1, np.float16, 1000.5)],
)
def test_create_vec_index_rounds_like_cann(code, dtype, first):
    # An int32_t start beyond 2^24 goes through a float sum (16777217 + 1 stores 16777216), and the
    # float types accumulate by repeated Adds; the simulator follows the same steps.
    out = np.full(128, 99, dtype)
    first_param = F32_BITS(first) if code < 2 else first
    run("api_create_vec_index", out, params=(code, first_param, 100, 128))
    np.testing.assert_array_equal(out[:100], cann_create_vec_index(first, 100, dtype))
    np.testing.assert_array_equal(out[100:], 99)


@pytest.mark.parametrize("dtype,count,rtol", [(np.float32, 1000, 1e-6), (np.float16, 300, 2e-3), (np.float32, 5, 0)])
def test_reduce_sum_writes_dst0(dtype, count, rtol):
    per_block = 32 // np.dtype(dtype).itemsize
    src = RNG.uniform(0.0, 1.0, 1024).astype(dtype)
    out = np.full(per_block, -1, dtype)
    work = 32
    run("api_reduce_sum", src, out, params=(int(dtype == np.float16), count, 1024, work))
    exact = src[:count].astype(np.float64).sum()
    assert abs(float(out[0]) - exact) <= rtol * exact + 1e-7
    np.testing.assert_array_equal(out[1:], -1)


def test_reduce_sum_refuses_a_small_work_tensor():
    src = np.ones(1024, np.float32)
    out = np.zeros(8, np.float32)
    # 1000 floats = 16 iterations of 64 -> 16 partial sums -> work needs 16 elements.
    with pytest.raises(sim.SimulatorError, match=r"\[reduce-work-size\].*at least 16"):
        run("api_reduce_sum", src, out, params=(0, 1000, 1024, 8))


# ---------------------------------------------------------------------------------------------
# Cast
# ---------------------------------------------------------------------------------------------

CAST_NONE, CAST_RINT, CAST_FLOOR, CAST_CEIL, CAST_ROUND, CAST_TRUNC, CAST_ODD = range(7)
T_F32, T_F16, T_BF16, T_I32 = range(4)
TIES = np.array(
    [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, -0.7, 0.7, 1.2, -3.9999, 3.9999, 0.0, -0.0, 7.0, -7.0], np.float32
)
TIES = np.tile(TIES, 4)


def cast(src, src_code, dst, dst_code, mode, count=None):
    count = src.size if count is None else count
    run("api_cast", src, dst, params=(src_code, dst_code, mode, count, src.size, dst.size))
    return dst


@pytest.mark.parametrize(
    "mode,fn",
    [
        (CAST_FLOOR, np.floor),
        (CAST_CEIL, np.ceil),
        (CAST_TRUNC, np.trunc),
        (CAST_RINT, np.rint),
        (CAST_ROUND, lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5)),  # half away from zero
    ],
)
def test_cast_float_to_int32_modes(mode, fn):
    out = cast(TIES, T_F32, np.zeros(TIES.size, np.int32), T_I32, mode)
    np.testing.assert_array_equal(out, fn(TIES.astype(np.float64)).astype(np.int32))


def test_cast_float_floor_to_float_and_negative_floor():
    out = cast(TIES, T_F32, np.zeros(TIES.size, np.float32), T_F32, CAST_FLOOR)
    np.testing.assert_array_equal(out, np.floor(TIES))
    assert out[6] == -2.0 and out[7] == -1.0  # floor of -1.2 and -0.7


def test_cast_float_to_half_rounding_modes():
    values = RNG.standard_normal(64).astype(np.float32) * 100
    rne = cast(values, T_F32, np.zeros(64, np.float16), T_F16, CAST_RINT)
    np.testing.assert_array_equal(rne, values.astype(np.float16))  # numpy rounds to nearest-even
    floor = cast(values, T_F32, np.zeros(64, np.float16), T_F16, CAST_FLOOR).astype(np.float64)
    ceil = cast(values, T_F32, np.zeros(64, np.float16), T_F16, CAST_CEIL).astype(np.float64)
    trunc = cast(values, T_F32, np.zeros(64, np.float16), T_F16, CAST_TRUNC).astype(np.float64)
    v = values.astype(np.float64)
    assert np.all(floor <= v) and np.all(ceil >= v)
    # floor and ceil are adjacent halves around every inexact value
    inexact = floor != v
    np.testing.assert_array_equal(
        np.nextafter(floor.astype(np.float16), np.float16(np.inf))[inexact], ceil.astype(np.float16)[inexact]
    )
    np.testing.assert_array_equal(trunc, np.where(v > 0, floor, ceil))


def test_cast_half_ties_round_to_even():
    # 2049 is halfway between halves 2048 and 2050: nearest-even gives 2048, ROUND (away) 2050.
    values = np.tile(np.array([2049.0, 2051.0, -2049.0, 65520.0], np.float32), 16)
    rint = cast(values, T_F32, np.zeros(64, np.float16), T_F16, CAST_RINT)
    away = cast(values, T_F32, np.zeros(64, np.float16), T_F16, CAST_ROUND)
    np.testing.assert_array_equal(rint[:4], np.array([2048.0, 2052.0, -2048.0, np.inf], np.float16))
    np.testing.assert_array_equal(away[:3], np.array([2050.0, 2052.0, -2050.0], np.float16))


def test_cast_bfloat16_round_trip():
    values = RNG.standard_normal(64).astype(np.float32)
    bits = cast(values, T_F32, np.zeros(64, np.uint16), T_BF16, CAST_RINT)
    np.testing.assert_array_equal(bits, bf16_bits(values))  # torch rounds to nearest-even
    back = cast(bits, T_BF16, np.zeros(64, np.float32), T_F32, CAST_NONE)
    np.testing.assert_array_equal(back, bf16_values(bits))


def test_cast_half_and_int32_to_float_exact():
    halves = RNG.standard_normal(64).astype(np.float16)
    np.testing.assert_array_equal(
        cast(halves, T_F16, np.zeros(64, np.float32), T_F32, CAST_NONE), halves.astype(np.float32)
    )
    ints = RNG.integers(-1 << 20, 1 << 20, 64).astype(np.int32)
    np.testing.assert_array_equal(
        cast(ints, T_I32, np.zeros(64, np.float32), T_F32, CAST_NONE), ints.astype(np.float32)
    )


def test_cast_count_leaves_the_tail():
    out = cast(TIES, T_F32, np.full(TIES.size, 42, np.int32), T_I32, CAST_FLOOR, count=10)
    np.testing.assert_array_equal(out[10:], 42)


# ---------------------------------------------------------------------------------------------
# Compare / CompareScalar / Select / And on masks
# ---------------------------------------------------------------------------------------------

CMP = {
    "LT": (0, np.less),
    "GT": (1, np.greater),
    "EQ": (2, np.equal),
    "LE": (3, np.less_equal),
    "GE": (4, np.greater_equal),
    "NE": (5, np.not_equal),
}
SEL_CMPMASK, SEL_SCALAR, SEL_TENSOR = 0, 1, 2


def compare_select(a, b, cmp, selmode=-1, scalar=None, sel_scalar=0.0):
    out = np.full(a.size, -9, a.dtype)
    mask = np.zeros(max(32, a.size // 8), np.uint8)
    params = (
        int(a.dtype == np.float16),
        a.size,
        CMP[cmp][0],
        int(scalar is not None),
        F32_BITS(scalar if scalar is not None else 0.0),
        selmode,
        F32_BITS(sel_scalar),
        a.size,
    )
    run("api_compare_select", a, b, out, mask, params=params)
    return out, mask[: a.size // 8]


@pytest.mark.parametrize("cmp", list(CMP))
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_compare_writes_little_endian_bits(cmp, dtype):
    n = 256 // np.dtype(dtype).itemsize * 2
    a = RNG.integers(-3, 4, n).astype(dtype)
    b = RNG.integers(-3, 4, n).astype(dtype)
    a[:4] = [np.nan, 1, np.nan, 0]
    b[:4] = [1, np.nan, np.nan, 0]
    _, mask = compare_select(a, b, cmp)
    with np.errstate(invalid="ignore"):
        expected = np.packbits(CMP[cmp][1](a, b), bitorder="little")
    np.testing.assert_array_equal(mask, expected)


def test_compare_scalar_and_select_modes():
    a = RNG.standard_normal(128).astype(np.float32)
    b = RNG.standard_normal(128).astype(np.float32)
    gt = a > 0.25
    out, mask = compare_select(a, b, "GT", selmode=SEL_TENSOR, scalar=0.25)
    np.testing.assert_array_equal(mask, np.packbits(gt, bitorder="little"))
    np.testing.assert_array_equal(out, np.where(gt, a, b))
    out, _ = compare_select(a, b, "GT", selmode=SEL_SCALAR, scalar=0.25, sel_scalar=-5.0)
    np.testing.assert_array_equal(out, np.where(gt, a, np.float32(-5.0)))


def test_select_mode0_reuses_the_first_iteration_of_mask_bits():
    # VSEL_CMPMASK_SPR: every 256-byte iteration (64 floats) uses the same first 64 mask bits.
    a = RNG.standard_normal(128).astype(np.float32)
    b = RNG.standard_normal(128).astype(np.float32)
    out, _mask = compare_select(a, b, "LT", selmode=SEL_CMPMASK)
    lt = a < b
    np.testing.assert_array_equal(out, np.where(np.tile(lt[:64], 2), a, b))


def test_and_of_masks_as_uint16():
    x = RNG.integers(0, 256, 64).astype(np.uint8)
    y = RNG.integers(0, 256, 64).astype(np.uint8)
    out = np.zeros(64, np.uint8)
    run("api_mask_and", x, y, out, params=(64,))
    np.testing.assert_array_equal(out, x & y)


# ---------------------------------------------------------------------------------------------
# Elementwise arithmetic, Axpy, repeat forms
# ---------------------------------------------------------------------------------------------

OPS = {
    "Add": 0,
    "Sub": 1,
    "Mul": 2,
    "Div": 3,
    "Max": 4,
    "Min": 5,
    "Adds": 6,
    "Muls": 7,
    "Maxs": 8,
    "Mins": 9,
    "Abs": 10,
    "Duplicate": 11,
    "And": 12,
    "Or": 13,
    "Relu": 14,
    "Not": 15,
}
DTYPE_CODES = {np.float32: 0, np.float16: 1, np.int32: 2, np.int16: 3, np.uint16: 4}


def elementwise(op, a, b, scalar=0, count=None):
    count = a.size if count is None else count
    out = np.full(a.size, 77, a.dtype)
    dtype = a.dtype.type
    scalar_param = F32_BITS(scalar) if dtype in (np.float32, np.float16) else int(scalar)
    run("api_elementwise", a, b, out, params=(OPS[op], count, DTYPE_CODES[dtype], scalar_param, a.size))
    return out


FLOAT_OPS = {
    "Add": lambda a, b, s: a + b,
    "Sub": lambda a, b, s: a - b,
    "Mul": lambda a, b, s: a * b,
    "Div": lambda a, b, s: a / b,
    "Max": lambda a, b, s: np.maximum(a, b),
    "Min": lambda a, b, s: np.minimum(a, b),
    "Adds": lambda a, b, s: a + s,
    "Muls": lambda a, b, s: a * s,
    "Maxs": lambda a, b, s: np.maximum(a, s),
    "Mins": lambda a, b, s: np.minimum(a, s),
    "Abs": lambda a, b, s: np.abs(a),
    "Duplicate": lambda a, b, s: np.full_like(a, s),
    "Relu": lambda a, b, s: np.maximum(a, 0),
}


@pytest.mark.parametrize("op", list(FLOAT_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float_elementwise(op, dtype):
    a = RNG.standard_normal(128).astype(dtype)
    b = (RNG.standard_normal(128) + 3).astype(dtype)
    scalar = np.float32(1.75)
    out = elementwise(op, a, b, scalar, count=100)
    # Half ops compute in float and round once, as numpy does for float16 inputs.
    expected = FLOAT_OPS[op](a, b, dtype(scalar)).astype(dtype)
    np.testing.assert_array_equal(out[:100], expected[:100])
    np.testing.assert_array_equal(out[100:], 77)


@pytest.mark.parametrize("dtype", [np.int32, np.int16])
def test_integer_ops_wrap(dtype):
    info = np.iinfo(dtype)
    a = np.full(64, info.max, dtype)
    b = np.arange(64, dtype=dtype)
    np.testing.assert_array_equal(elementwise("Add", a, b), (a.astype(np.int64) + b).astype(dtype))
    np.testing.assert_array_equal(elementwise("Muls", b, a, scalar=3), (b * 3).astype(dtype))


def test_bitwise_on_uint16():
    a = RNG.integers(0, 1 << 16, 64).astype(np.uint16)
    b = RNG.integers(0, 1 << 16, 64).astype(np.uint16)
    np.testing.assert_array_equal(elementwise("And", a, b), a & b)
    np.testing.assert_array_equal(elementwise("Or", a, b), a | b)
    np.testing.assert_array_equal(elementwise("Not", a, b), ~a)


@pytest.mark.parametrize(
    "mode,dst_dtype,src_dtype", [(0, np.float32, np.float32), (1, np.float16, np.float16), (2, np.float32, np.float16)]
)
def test_axpy_accumulates(mode, dst_dtype, src_dtype):
    dst = RNG.standard_normal(128).astype(dst_dtype)
    src = RNG.standard_normal(128).astype(src_dtype)
    out = np.zeros(128, dst_dtype)
    run("api_axpy", dst, src, out, params=(mode, 100, F32_BITS(0.5), 128, 128))
    expected = (src[:100].astype(np.float64) * 0.5 + dst[:100]).astype(dst_dtype)
    np.testing.assert_allclose(
        out[:100].astype(np.float64), expected.astype(np.float64), rtol=1e-3 if mode == 1 else 1e-6
    )
    np.testing.assert_array_equal(out[100:], dst[100:])


def test_add_repeat_form_with_strides_and_masks():
    a = np.arange(512, dtype=np.float32)
    b = np.full(512, 1000.0, np.float32)
    out = np.full(512, -1.0, np.float32)
    # 2 iterations; continuous mask of 20 lanes; src0 blocks 2 apart; dst iterations 16 blocks apart.
    run("api_add_repeat", a, b, out, params=(20, 2, 1, 2, 1, 16, 8, 8, 512, 0))
    expected = np.full(512, -1.0, np.float32)
    for r in range(2):
        for e in range(20):
            blk, lane = divmod(e, 8)
            expected[(r * 16 + blk) * 8 + lane] = a[(r * 8 + blk * 2) * 8 + lane] + 1000.0
    np.testing.assert_array_equal(out, expected)
    # bit mask: only lanes 0, 9 and 62 of one iteration
    out = np.full(512, -1.0, np.float32)
    run("api_add_repeat", a, b, out, params=(0, 1, 1, 1, 1, 8, 8, 8, 512, (1 << 0) | (1 << 9) | (1 << 62)))
    expected = np.full(512, -1.0, np.float32)
    expected[[0, 9, 62]] = a[[0, 9, 62]] + 1000.0
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------------------------------------
# Multi-core behaviour, queues, tiling key, InitOutput, statistics
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 2])
def test_atomic_add_across_cores(code):
    cores = 12
    rows = RNG.integers(-8, 9, (cores, 64)).astype(np.float32)  # small integers: every order is exact
    expected = rows.sum(axis=0) + 5
    if code == 0:
        acc, src = np.full(64, 5.0, np.float32), rows
        got = lambda: acc  # noqa: E731
    elif code == 1:
        acc, src = np.full(64, 5.0, np.float16), rows.astype(np.float16)
        got = lambda: acc.astype(np.float32)  # noqa: E731
    else:
        acc, src = bf16_bits(np.full(64, 5.0)), bf16_bits(rows.reshape(-1))
        got = lambda: bf16_values(acc)  # noqa: E731
    # 12 cores on the 8-core debug SoC: two waves, as on hardware.
    stats = run("api_atomic_add", src.reshape(-1), acc, params=(code,), block_dim=cores, soc="Ascend910B3-8core")
    np.testing.assert_array_equal(got(), expected)
    assert stats["gm_write_bytes"] == cores * 64 * src.itemsize
    assert stats["per_core"]["dma_count"] == [2] * cores


def test_sync_all_is_a_barrier():
    cores = 8
    ws = np.zeros(8 * cores, np.float32)
    out = np.zeros(8 * cores, np.float32)
    run("api_sync_all", ws, out, block_dim=cores)
    expected = np.repeat((np.arange(cores) + 1) % cores + 1, 8).astype(np.float32)
    np.testing.assert_array_equal(out, expected)


def test_queue_pipeline_synchronises_itself():
    x = RNG.standard_normal(64 * 6).astype(np.float32)
    out = np.zeros_like(x)
    stats = run("api_queue_pipeline", x, out, params=(x.size,))
    np.testing.assert_array_equal(out, x * 2 + 1)
    assert stats["dma_count"] == 12 and stats["vector_instr_count"] == 12


@pytest.mark.parametrize("key", [0, 1, 2])
def test_tiling_key_dispatch(key):
    out = np.zeros(8, np.float32)
    stats = run("api_tiling_key", out, tiling_key=key)
    np.testing.assert_array_equal(out, key)
    assert stats["tiling_key"] == key


def test_init_output_fills_in_bursts():
    out = np.zeros(3000, np.float32)
    stats = run("api_init_output", out, params=(3000, F32_BITS(2.5)))
    np.testing.assert_array_equal(out, 2.5)
    # At most 255 blocks (2040 floats) per copy: 3000 floats take 2 DMAs.
    assert stats["dma_count"] == 2 and stats["gm_write_bytes"] == 12000


def test_statistics_count_exactly():
    x = np.arange(64, dtype=np.float32)
    out = np.zeros(64, np.float32)
    stats = run("api_stats", x, out)
    expected = dict(
        block_dim=1,
        dma_count=3,
        gm_read_bytes=256,
        gm_write_bytes=256,
        vector_instr_count=2,
        gm_scalar_access_count=4,
        ub_peak_bytes=2 * 224 + 1024,
    )
    for key, value in expected.items():
        assert stats[key] == value, (key, stats[key], value)
        if key != "block_dim":
            assert stats["per_core"][key] == [value], key
    np.testing.assert_array_equal(out[:63], (x[:63] + 1) * 2)
    assert out[63] == 0 + 1 + 2


def test_socs_table():
    assert sim.SOCS["Ascend910B3"] == (40, 196608)
    assert sim.SOCS["Ascend910B1"] == (48, 196608) and sim.SOCS["Ascend910B2"] == (48, 196608)
    assert sim.SOCS["Ascend910B3-8core"] == (8, 196608)


# ---------------------------------------------------------------------------------------------
# The DCNv3 harness's Python surface (argument checks, statistics, plan dict)
# ---------------------------------------------------------------------------------------------

ATTRS = Dcnv3Attrs(group=2, group_channels=8)


def dcnv3_inputs(dtype=torch.float32, mask_last=18):
    gen = torch.Generator().manual_seed(0)
    return (
        torch.randn(1, 4, 5, 16, generator=gen).to(dtype),
        torch.randn(1, 4, 5, 36, generator=gen).to(dtype),
        torch.rand(1, 4, 5, mask_last, generator=gen).to(dtype),
    )


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda x, o, m: (x.double(), o, m), "input has dtype torch.float64"),
        (lambda x, o, m: (x, o.half(), m), "offset has dtype torch.float16 but input has torch.float32"),
        (lambda x, o, m: (x, o, m[..., :17]), r"mask must have shape \[N, H_out, W_out, group\*P\] = \[1, 4, 5, 18\]"),
        (lambda x, o, m: (x[..., :15], o, m), "input channels"),
    ],
)
def test_dcnv3_forward_rejects_bad_tensors(change, message):
    with pytest.raises(ValueError, match=message):
        sim.dcnv3_forward(*change(*dcnv3_inputs()), ATTRS)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors is in prototype stage")
@pytest.mark.parametrize(
    "convert,message",
    [
        (lambda t: torch.nested.nested_tensor(list(t)), r"got a nested tensor with layout torch.strided$"),
        (
            lambda t: torch.nested.nested_tensor(list(t), layout=torch.jagged),
            r"got a nested tensor with layout torch.jagged$",
        ),
        (lambda t: t.to_sparse(), r"got a tensor with layout torch.sparse_coo$"),
    ],
    ids=["nested", "jagged", "sparse"],
)
def test_dcnv3_rejects_tensors_of_another_layout(convert, message):
    """They failed in reshape/view/contiguous with messages that did not name the argument."""
    x, o, m = dcnv3_inputs()
    with pytest.raises(ValueError, match=r"^offset must be a dense \(strided\) tensor for the simulator, " + message):
        sim.dcnv3_forward(x, convert(o), m, ATTRS)


def test_dcnv3_rejects_bad_attributes_and_soc():
    with pytest.raises(ValueError, match="remove_center must be 0 or 1, got 2"):
        sim.dcnv3_forward(*dcnv3_inputs(), dataclasses.replace(ATTRS, remove_center=2))
    with pytest.raises(ValueError, match="kernel_h must be an int"):
        sim.dcnv3_forward(*dcnv3_inputs(), dataclasses.replace(ATTRS, kernel_h=3.0))
    with pytest.raises(ValueError, match="offset_scale must be a float, got '1'"):
        sim.dcnv3_forward(*dcnv3_inputs(), dataclasses.replace(ATTRS, offset_scale="1"))
    with pytest.raises(ValueError, match=r"attrs must be a dcnv3_ascend\.attrs\.Dcnv3Attrs, got dict"):
        sim.plan_forward(*dcnv3_inputs(), dataclasses.asdict(ATTRS))
    with pytest.raises(ValueError, match="soc must be one of"):
        sim.dcnv3_forward(*dcnv3_inputs(), ATTRS, soc="Ascend310P3")
    x, o, m = dcnv3_inputs()
    with pytest.raises(ValueError, match="grad_output must have shape"):
        sim.dcnv3_backward(x, o, m, torch.zeros(1, 4, 5, 8), ATTRS)


def test_dcnv3_statistics_layout():
    out, stats = sim.dcnv3_forward(*dcnv3_inputs(torch.float16), ATTRS, soc="Ascend910B3-8core")
    assert out.dtype == torch.float16 and out.shape == (1, 4, 5, 16)
    plan = sim.plan_forward(*dcnv3_inputs(torch.float16), ATTRS, soc="Ascend910B3-8core")
    assert stats["block_dim"] == plan["block_dim"] <= 8 and stats["tiling_key"] == plan["tiling_key"] == 1
    for key in ("gm_read_bytes", "gm_write_bytes", "dma_count", "gm_scalar_access_count", "vector_instr_count"):
        assert len(stats["per_core"][key]) == stats["block_dim"]
        assert stats[key] == sum(stats["per_core"][key])
    assert stats["ub_peak_bytes"] == max(stats["per_core"]["ub_peak_bytes"]) <= 196608
    assert stats["gm_write_bytes"] >= out.numel() * 2  # every output element written at least once
    assert {"block_dim", "tiling_key", "workspace_bytes", "ub_bytes", "tiling"} <= set(plan)
    assert plan["tiling"]["group_channels"] == 8 and plan["tiling"]["batch"] == 1
