// Well-behaved kernels exercising Cast, Compare/CompareScalar/Select, Gather, Brcb and ReduceSum,
// checked against numpy by tests/test_simulator_api.py.
#include "selftest_io.h"

using namespace AscendC;
using selftest::Load;
using selftest::Store;

namespace {

// Cast arg0 (tile of ls elements of S) into arg1 (tile of ld elements of D).
template <typename D, typename S>
void CastTiles(GM_ADDR src, GM_ADDR dst, RoundMode mode, uint32_t count, uint32_t ls, uint32_t ld) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> bs, bd;
  pipe.InitBuffer(bs, ls * sizeof(S));
  pipe.InitBuffer(bd, ld * sizeof(D));
  LocalTensor<S> s = bs.Get<S>();
  LocalTensor<D> d = bd.Get<D>();
  Load(s, src, ls);
  Load(d, dst, ld);
  Cast(d, s, mode, count);
  Store(dst, d, ld);
}

}  // namespace

// Cast between the pairs the tests cover. params: src type, dst type (0 float, 1 half,
// 2 bfloat16_t, 3 int32_t), RoundMode, count, len_src, len_dst.
extern "C" __global__ __aicore__ void api_cast(GM_ADDR src, GM_ADDR dst, GM_ADDR, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const RoundMode mode = static_cast<RoundMode>(p(2));
  const uint32_t count = static_cast<uint32_t>(p(3)), ls = static_cast<uint32_t>(p(4)),
                 ld = static_cast<uint32_t>(p(5));
  switch (p(0) * 10 + p(1)) {
    case 0: CastTiles<float, float>(src, dst, mode, count, ls, ld); break;
    case 1: CastTiles<half, float>(src, dst, mode, count, ls, ld); break;
    case 2: CastTiles<bfloat16_t, float>(src, dst, mode, count, ls, ld); break;
    case 3: CastTiles<int32_t, float>(src, dst, mode, count, ls, ld); break;
    case 10: CastTiles<float, half>(src, dst, mode, count, ls, ld); break;
    case 20: CastTiles<float, bfloat16_t>(src, dst, mode, count, ls, ld); break;
    case 30: CastTiles<float, int32_t>(src, dst, mode, count, ls, ld); break;
    default: break;
  }
}
SIM_SELFTEST(api_cast);

// mask = Compare(a, b) or CompareScalar(a, scalar); out = Select(mask, a, b or scalar). Tiles of
// len; mask bytes go to arg3 (len/8 bytes, at least 32). params: type (0 float, 1 half), count,
// CMPMODE, compare against scalar (0/1), compare scalar (float bits), SELMODE (-1: no Select),
// select scalar (float bits), len.
template <typename T>
void CompareSelect(GM_ADDR a, GM_ADDR b, GM_ADDR out, GM_ADDR mask_out, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const uint32_t count = static_cast<uint32_t>(p(1)), len = static_cast<uint32_t>(p(7));
  const uint32_t mask_bytes = std::max<uint32_t>(32, len / 8);
  TPipe pipe;
  TBuf<TPosition::VECCALC> ba, bb, bo, bm;
  pipe.InitBuffer(ba, len * sizeof(T));
  pipe.InitBuffer(bb, len * sizeof(T));
  pipe.InitBuffer(bo, len * sizeof(T));
  pipe.InitBuffer(bm, mask_bytes);
  LocalTensor<T> x = ba.Get<T>(), y = bb.Get<T>(), z = bo.Get<T>();
  LocalTensor<uint8_t> m = bm.Get<uint8_t>();
  Load(x, a, len);
  Load(y, b, len);
  Load(z, out, len);
  Load(m, mask_out, mask_bytes);
  const CMPMODE cmp = static_cast<CMPMODE>(p(2));
  if (p(3) != 0) {
    CompareScalar(m, x, T(selftest::FloatFromBits(p(4))), cmp, count);
  } else {
    Compare(m, x, y, cmp, count);
  }
  PipeBarrier<PIPE_V>();  // Select reads the mask just written
  if (p(5) == static_cast<int64_t>(SELMODE::VSEL_TENSOR_SCALAR_MODE)) {
    Select(z, m, x, T(selftest::FloatFromBits(p(6))), SELMODE::VSEL_TENSOR_SCALAR_MODE, count);
  } else if (p(5) >= 0) {
    Select(z, m, x, y, static_cast<SELMODE>(p(5)), count);
  }
  Store(out, z, len);
  Store(mask_out, m, mask_bytes);
}

extern "C" __global__ __aicore__ void api_compare_select(GM_ADDR a, GM_ADDR b, GM_ADDR out, GM_ADDR mask,
                                                         GM_ADDR params) {
  if (sim::SelftestParam(params, 0) == 0) {
    CompareSelect<float>(a, b, out, mask, params);
  } else {
    CompareSelect<half>(a, b, out, mask, params);
  }
}
SIM_SELFTEST(api_compare_select);

// And of two uint8 masks viewed as uint16 (the way kernels combine Compare results): arg0 & arg1
// into arg2, params: bytes.
extern "C" __global__ __aicore__ void api_mask_and(GM_ADDR a, GM_ADDR b, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  const uint32_t bytes = static_cast<uint32_t>(sim::SelftestParam(params, 0));
  TPipe pipe;
  TBuf<TPosition::VECCALC> ba, bb;
  pipe.InitBuffer(ba, bytes);
  pipe.InitBuffer(bb, bytes);
  LocalTensor<uint8_t> x = ba.Get<uint8_t>(), y = bb.Get<uint8_t>();
  Load(x, a, bytes);
  Load(y, b, bytes);
  And(x.ReinterpretCast<uint16_t>(), x.ReinterpretCast<uint16_t>(), y.ReinterpretCast<uint16_t>(),
      static_cast<int32_t>(bytes / 2));
  Store(out, x, bytes);
}
SIM_SELFTEST(api_mask_and);

// out[i] = src at byte (base + offsets[i]). arg0 src tile (len), arg1 uint32 offsets (len_off),
// arg2 out tile (len). params: type (0 float, 1 half), count, base, len, len_off.
template <typename T>
void GatherTiles(GM_ADDR src, GM_ADDR offsets, GM_ADDR out, uint32_t count, uint32_t base, uint32_t len, uint32_t lo) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> bs, bo, bd;
  pipe.InitBuffer(bs, len * sizeof(T));
  pipe.InitBuffer(bo, lo * sizeof(uint32_t));
  pipe.InitBuffer(bd, len * sizeof(T));
  LocalTensor<T> s = bs.Get<T>(), d = bd.Get<T>();
  LocalTensor<uint32_t> o = bo.Get<uint32_t>();
  Load(s, src, len);
  Load(o, offsets, lo);
  Load(d, out, len);
  Gather(d, s, o, base, count);
  Store(out, d, len);
}

extern "C" __global__ __aicore__ void api_gather(GM_ADDR src, GM_ADDR offsets, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return static_cast<uint32_t>(sim::SelftestParam(params, i)); };
  if (p(0) == 0) {
    GatherTiles<float>(src, offsets, out, p(1), p(2), p(3), p(4));
  } else {
    GatherTiles<half>(src, offsets, out, p(1), p(2), p(3), p(4));
  }
}
SIM_SELFTEST(api_gather);

// Brcb from arg0 (len_src floats) into arg1 (len_dst floats). params: repeat, dstBlkStride,
// dstRepStride, len_src, len_dst.
extern "C" __global__ __aicore__ void api_brcb(GM_ADDR src, GM_ADDR dst, GM_ADDR, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return static_cast<uint32_t>(sim::SelftestParam(params, i)); };
  TPipe pipe;
  TBuf<TPosition::VECCALC> bs, bd;
  pipe.InitBuffer(bs, p(3) * sizeof(float));
  pipe.InitBuffer(bd, p(4) * sizeof(float));
  LocalTensor<float> s = bs.Get<float>(), d = bd.Get<float>();
  Load(s, src, p(3));
  Load(d, dst, p(4));
  Brcb(d, s, static_cast<uint8_t>(p(0)), BrcbRepeatParams(static_cast<uint16_t>(p(1)), static_cast<uint16_t>(p(2))));
  Store(dst, d, p(4));
}
SIM_SELFTEST(api_brcb);

// ReduceSum of the first count elements of arg0 (tile of len) into element 0 of arg1 (a 32-byte
// tile); the work tensor is params[3] elements. params: type (0 float, 1 half), count, len, work.
template <typename T>
void SumTile(GM_ADDR src, GM_ADDR out, int32_t count, uint32_t len, uint32_t work) {
  constexpr uint32_t out_len = 32 / sizeof(T);
  TPipe pipe;
  TBuf<TPosition::VECCALC> bs, bw, bo;
  pipe.InitBuffer(bs, len * sizeof(T));
  pipe.InitBuffer(bw, work * sizeof(T));
  pipe.InitBuffer(bo, 32);
  LocalTensor<T> s = bs.Get<T>(), w = bw.Get<T>(), o = bo.Get<T>();
  Load(s, src, len);
  Load(o, out, out_len);
  ReduceSum(o, s, w, count);
  Store(out, o, out_len);
}

extern "C" __global__ __aicore__ void api_reduce_sum(GM_ADDR src, GM_ADDR out, GM_ADDR, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  if (p(0) == 0) {
    SumTile<float>(src, out, static_cast<int32_t>(p(1)), static_cast<uint32_t>(p(2)), static_cast<uint32_t>(p(3)));
  } else {
    SumTile<half>(src, out, static_cast<int32_t>(p(1)), static_cast<uint32_t>(p(2)), static_cast<uint32_t>(p(3)));
  }
}
SIM_SELFTEST(api_reduce_sum);
