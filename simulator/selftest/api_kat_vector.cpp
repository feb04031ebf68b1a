// Known-answer kernels: the documented examples of the asc-devkit API pages, run through every
// form the simulator offers (count, repeat with continuous mask, repeat with bit mask, strides).
// Driven by tests/test_simulator_kat.py, which cites the page of each example.
#include "selftest_io.h"

using namespace AscendC;
using selftest::Load;
using selftest::Store;

namespace {

template <typename T>
constexpr bool kFloatT = std::is_same_v<T, float> || std::is_same_v<T, half>;
template <typename T>
constexpr bool kInt16T = std::is_same_v<T, int16_t>;

enum KatOp : int64_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMax,
  kMin,
  kAnd,
  kOr,            // two tensors
  kAdds,
  kMuls,
  kMaxs,
  kMins,                               // tensor and scalar
  kAbs,
  kRelu,
  kExp,
  kLn,
  kSqrt,
  kReciprocal,
  kRsqrt,
  kNot,  // one tensor
  kDuplicate,
  kAxpy,
};
enum KatForm : int64_t { kCount, kContinuousMask, kBitMask };

template <typename T>
T Scalar(int64_t raw) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(raw);
  else
    return T(selftest::FloatFromBits(raw));
}

// Calls `op` in the form `form`: `n` is the count (count form) or the continuous mask, `bits`
// the bit mask, `repeat` and `bp` / `up` the repeat parameters.
template <typename T>
void Run(int64_t op, int64_t form, const LocalTensor<T>& z, const LocalTensor<T>& x, const LocalTensor<T>& y, T s,
         int32_t n, uint64_t bits[2], uint8_t repeat, const BinaryRepeatParams& bp, const UnaryRepeatParams& up) {
  const uint64_t m = static_cast<uint64_t>(n);
#define KAT_FORMS(CALL_COUNT, CALL_MASK, CALL_BITS)                                                                    \
  if (form == kCount) {                                                                                                \
    CALL_COUNT;                                                                                                        \
  } else if (form == kContinuousMask) {                                                                                \
    CALL_MASK;                                                                                                         \
  } else {                                                                                                             \
    CALL_BITS;                                                                                                         \
  }
#define KAT_BINARY(NAME) KAT_FORMS(NAME(z, x, y, n), NAME(z, x, y, m, repeat, bp), NAME(z, x, y, bits, repeat, bp))
#define KAT_SCALAR(NAME) KAT_FORMS(NAME(z, x, s, n), NAME(z, x, s, m, repeat, up), NAME(z, x, s, bits, repeat, up))
#define KAT_UNARY(NAME) KAT_FORMS(NAME(z, x, n), NAME(z, x, m, repeat, up), NAME(z, x, bits, repeat, up))
  if constexpr (!kInt16T<T>) {
    switch (op) {
      case kDiv: KAT_BINARY(Div); return;
      case kAbs: KAT_UNARY(Abs); return;
      case kRelu: KAT_UNARY(Relu); return;
      case kExp: KAT_UNARY(Exp); return;
      case kLn: KAT_UNARY(Ln); return;
      case kSqrt: KAT_UNARY(Sqrt); return;
      case kReciprocal: KAT_UNARY(Reciprocal); return;
      case kRsqrt: KAT_UNARY(Rsqrt); return;
      case kAxpy: Axpy(z, x, s, n); return;
      default: break;
    }
  } else {
    switch (op) {
      case kAnd: KAT_BINARY(And); return;
      case kOr: KAT_BINARY(Or); return;
      case kNot: KAT_UNARY(Not); return;
      default: break;
    }
  }
  switch (op) {
    case kAdd: KAT_BINARY(Add); return;
    case kSub: KAT_BINARY(Sub); return;
    case kMul: KAT_BINARY(Mul); return;
    case kMax: KAT_BINARY(Max); return;
    case kMin: KAT_BINARY(Min); return;
    case kAdds: KAT_SCALAR(Adds); return;
    case kMuls: KAT_SCALAR(Muls); return;
    case kMaxs: KAT_SCALAR(Maxs); return;
    case kMins: KAT_SCALAR(Mins); return;
    case kDuplicate:
      KAT_FORMS(Duplicate(z, s, n), Duplicate(z, s, m, repeat, up.dstBlkStride, up.dstRepStride),
                Duplicate(z, s, bits, repeat, up.dstBlkStride, up.dstRepStride));
      return;
    default: break;
  }
#undef KAT_UNARY
#undef KAT_SCALAR
#undef KAT_BINARY
#undef KAT_FORMS
}

// src0 = arg0, src1 = arg1, dst = arg2 (its initial contents stay where nothing is written).
template <typename T>
void Tiles(GM_ADDR a, GM_ADDR b, GM_ADDR out, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const uint32_t len = static_cast<uint32_t>(p(13));
  TPipe pipe;
  TBuf<TPosition::VECCALC> ba, bb, bo;
  pipe.InitBuffer(ba, len * sizeof(T));
  pipe.InitBuffer(bb, len * sizeof(T));
  pipe.InitBuffer(bo, len * sizeof(T));
  LocalTensor<T> x = ba.Get<T>(), y = bb.Get<T>(), z = bo.Get<T>();
  Load(x, a, len);
  Load(y, b, len);
  Load(z, out, len);
  uint64_t bits[2] = {static_cast<uint64_t>(p(3)), static_cast<uint64_t>(p(4))};
  const auto u8 = [&](int i) { return static_cast<uint8_t>(p(i)); };
  const BinaryRepeatParams bp(u8(6), u8(7), u8(8), u8(9), u8(10), u8(11));
  const UnaryRepeatParams up(static_cast<uint16_t>(p(6)), static_cast<uint16_t>(p(7)), u8(9), u8(10));
  Run<T>(p(0), p(2), z, x, y, Scalar<T>(p(12)), static_cast<int32_t>(p(3)), bits, u8(5), bp, up);
  Store(out, z, len);
}

}  // namespace

// params: op, dtype (0 float, 1 half, 2 int16), form, count / continuous mask / mask bits low,
// mask bits high, repeatTime, dstBlk, src0Blk (src for one-source ops), src1Blk, dstRep, src0Rep
// (srcRep), src1Rep, scalar (float bits or integer), tile length in elements.
extern "C" __global__ __aicore__ void api_kat_vector(GM_ADDR a, GM_ADDR b, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  switch (sim::SelftestParam(params, 1)) {
    case 0: Tiles<float>(a, b, out, params); break;
    case 1: Tiles<half>(a, b, out, params); break;
    default: Tiles<int16_t>(a, b, out, params); break;
  }
}
SIM_SELFTEST(api_kat_vector);

// Gatherb of uint16 blocks: arg0 src (params[0] elements), arg1 byte offsets (8 per repeat), arg2
// dst (params[1] elements). params: src length, dst length, repeatTime, dstBlkStride, dstRepStride.
extern "C" __global__ __aicore__ void api_kat_gatherb(GM_ADDR src, GM_ADDR off, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const uint32_t ls = static_cast<uint32_t>(p(0)), ld = static_cast<uint32_t>(p(1));
  const uint8_t repeat = static_cast<uint8_t>(p(2));
  TPipe pipe;
  TBuf<TPosition::VECCALC> bs, bo, bd;
  pipe.InitBuffer(bs, ls * sizeof(uint16_t));
  pipe.InitBuffer(bo, 8u * repeat * sizeof(uint32_t));
  pipe.InitBuffer(bd, ld * sizeof(uint16_t));
  LocalTensor<uint16_t> s = bs.Get<uint16_t>(), d = bd.Get<uint16_t>();
  LocalTensor<uint32_t> o = bo.Get<uint32_t>();
  Load(s, src, ls);
  Load(o, off, 8u * repeat);
  Load(d, out, ld);
  const GatherRepeatParams gp(static_cast<uint8_t>(p(3)), static_cast<uint8_t>(p(4)));
  Gatherb(d, s, o, repeat, gp);
  Store(out, d, ld);
}
SIM_SELFTEST(api_kat_gatherb);

// Cast half (arg0) -> int32_t (arg1), params: RoundMode, count (tiles of 64 elements).
extern "C" __global__ __aicore__ void api_kat_cast_half_int32(GM_ADDR src, GM_ADDR dst, GM_ADDR, GM_ADDR,
                                                              GM_ADDR params) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> bs, bd;
  pipe.InitBuffer(bs, 64 * sizeof(half));
  pipe.InitBuffer(bd, 64 * sizeof(int32_t));
  LocalTensor<half> s = bs.Get<half>();
  LocalTensor<int32_t> d = bd.Get<int32_t>();
  Load(s, src, 64);
  Load(d, dst, 64);
  Cast(d, s, static_cast<RoundMode>(sim::SelftestParam(params, 0)),
       static_cast<uint32_t>(sim::SelftestParam(params, 1)));
  Store(dst, d, 64);
}
SIM_SELFTEST(api_kat_cast_half_int32);

// Brcb of half: arg0 src (params[3] elements) into arg1 dst (params[4] elements). params:
// repeatTime, dstBlkStride, dstRepStride, src length, dst length.
extern "C" __global__ __aicore__ void api_kat_brcb_half(GM_ADDR src, GM_ADDR dst, GM_ADDR, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return static_cast<uint32_t>(sim::SelftestParam(params, i)); };
  TPipe pipe;
  TBuf<TPosition::VECCALC> bs, bd;
  pipe.InitBuffer(bs, p(3) * sizeof(half));
  pipe.InitBuffer(bd, p(4) * sizeof(half));
  LocalTensor<half> s = bs.Get<half>(), d = bd.Get<half>();
  Load(s, src, p(3));
  Load(d, dst, p(4));
  Brcb(d, s, static_cast<uint8_t>(p(0)), BrcbRepeatParams(static_cast<uint16_t>(p(1)), static_cast<uint16_t>(p(2))));
  Store(dst, d, p(4));
}
SIM_SELFTEST(api_kat_brcb_half);

// Select on float tiles of 256 with the given mask bytes: arg0 src0, arg1 src1, arg2 mask (params[3]
// bytes), arg3 dst. params: SELMODE, count, scalar (float bits, mode 1), mask length in bytes.
extern "C" __global__ __aicore__ void api_kat_select(GM_ADDR a, GM_ADDR b, GM_ADDR mask, GM_ADDR out, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const uint32_t mask_len = static_cast<uint32_t>(p(3));
  TPipe pipe;
  TBuf<TPosition::VECCALC> ba, bb, bm, bo;
  pipe.InitBuffer(ba, 256 * sizeof(float));
  pipe.InitBuffer(bb, 256 * sizeof(float));
  pipe.InitBuffer(bm, mask_len);
  pipe.InitBuffer(bo, 256 * sizeof(float));
  LocalTensor<float> x = ba.Get<float>(), y = bb.Get<float>(), z = bo.Get<float>();
  LocalTensor<uint8_t> m = bm.Get<uint8_t>();
  Load(x, a, 256);
  Load(y, b, 256);
  Load(m, mask, mask_len);
  Load(z, out, 256);
  const SELMODE mode = static_cast<SELMODE>(p(0));
  const uint32_t count = static_cast<uint32_t>(p(1));
  if (mode == SELMODE::VSEL_TENSOR_SCALAR_MODE) {
    Select(z, m, x, selftest::FloatFromBits(p(2)), mode, count);
  } else {
    Select(z, m, x, y, mode, count);
  }
  Store(out, z, 256);
}
SIM_SELFTEST(api_kat_select);
