// Well-behaved kernels exercising elementwise vector instructions, checked against numpy by
// tests/test_simulator_api.py.
#include "selftest_io.h"

using namespace AscendC;
using selftest::Load;
using selftest::Store;

namespace {

// Which instructions accept which element type on Atlas A2 (asc-devkit data-type tables).
template <typename T>
constexpr bool kArith =
    std::is_same_v<T, float> || std::is_same_v<T, half> || std::is_same_v<T, int32_t> || std::is_same_v<T, int16_t>;
template <typename T>
constexpr bool kFloat = std::is_same_v<T, float> || std::is_same_v<T, half>;
template <typename T>
constexpr bool kBitwise = std::is_same_v<T, int16_t> || std::is_same_v<T, uint16_t>;

enum Op : int64_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMax,
  kMin,
  kAdds,
  kMuls,
  kMaxs,
  kMins,
  kAbs,
  kDuplicate,
  kAnd,
  kOr,
  kRelu,
  kNot
};

template <typename T>
T ScalarParam(int64_t raw) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(raw);
  else
    return T(selftest::FloatFromBits(raw));
}

// out[:count] = op(a, b) on tiles of `len` elements; the rest of out keeps its GM contents.
template <typename T>
void Elementwise(GM_ADDR a, GM_ADDR b, GM_ADDR out, int64_t op, int32_t count, uint32_t len, int64_t scalar_raw) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> ba, bb, bo;
  pipe.InitBuffer(ba, len * sizeof(T));
  pipe.InitBuffer(bb, len * sizeof(T));
  pipe.InitBuffer(bo, len * sizeof(T));
  LocalTensor<T> x = ba.Get<T>(), y = bb.Get<T>(), z = bo.Get<T>();
  Load(x, a, len);
  Load(y, b, len);
  Load(z, out, len);
  const T s = ScalarParam<T>(scalar_raw);
  if constexpr (kArith<T>) {
    switch (op) {
      case kAdd: Add(z, x, y, count); break;
      case kSub: Sub(z, x, y, count); break;
      case kMul: Mul(z, x, y, count); break;
      case kMax: Max(z, x, y, count); break;
      case kMin: Min(z, x, y, count); break;
      case kAdds: Adds(z, x, s, count); break;
      case kMuls: Muls(z, x, s, count); break;
      case kMaxs: Maxs(z, x, s, count); break;
      case kMins: Mins(z, x, s, count); break;
      default: break;
    }
  }
  if constexpr (kFloat<T>) {
    if (op == kDiv) Div(z, x, y, count);
    if (op == kAbs) Abs(z, x, count);
    if (op == kRelu) Relu(z, x, count);
  }
  if constexpr (kBitwise<T>) {
    if (op == kAnd) And(z, x, y, count);
    if (op == kOr) Or(z, x, y, count);
    if (op == kNot) Not(z, x, count);
  }
  if (op == kDuplicate) Duplicate(z, s, count);
  Store(out, z, len);
}

}  // namespace

// params: op, count, dtype (0 float, 1 half, 2 int32, 3 int16, 4 uint16), scalar (float bits or
// integer), tile length.
extern "C" __global__ __aicore__ void api_elementwise(GM_ADDR a, GM_ADDR b, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const int32_t count = static_cast<int32_t>(p(1));
  const uint32_t len = static_cast<uint32_t>(p(4));
  switch (p(2)) {
    case 0: Elementwise<float>(a, b, out, p(0), count, len, p(3)); break;
    case 1: Elementwise<half>(a, b, out, p(0), count, len, p(3)); break;
    case 2: Elementwise<int32_t>(a, b, out, p(0), count, len, p(3)); break;
    case 3: Elementwise<int16_t>(a, b, out, p(0), count, len, p(3)); break;
    default: Elementwise<uint16_t>(a, b, out, p(0), count, len, p(3)); break;
  }
}
SIM_SELFTEST(api_elementwise);

// Repeat (masked, strided) Add on float tiles of `len`: params mask (continuous; 0 means bit mode
// with mask bits params[9]), repeat, dstBlk, src0Blk, src1Blk, dstRep, src0Rep, src1Rep, len, bits.
extern "C" __global__ __aicore__ void api_add_repeat(GM_ADDR a, GM_ADDR b, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const uint32_t len = static_cast<uint32_t>(p(8));
  TPipe pipe;
  TBuf<TPosition::VECCALC> ba, bb, bo;
  pipe.InitBuffer(ba, len * sizeof(float));
  pipe.InitBuffer(bb, len * sizeof(float));
  pipe.InitBuffer(bo, len * sizeof(float));
  LocalTensor<float> x = ba.Get<float>(), y = bb.Get<float>(), z = bo.Get<float>();
  Load(x, a, len);
  Load(y, b, len);
  Load(z, out, len);
  const BinaryRepeatParams rp(static_cast<uint8_t>(p(2)), static_cast<uint8_t>(p(3)), static_cast<uint8_t>(p(4)),
                              static_cast<uint8_t>(p(5)), static_cast<uint8_t>(p(6)), static_cast<uint8_t>(p(7)));
  if (p(0) > 0) {
    Add(z, x, y, static_cast<uint64_t>(p(0)), static_cast<uint8_t>(p(1)), rp);
  } else {
    uint64_t mask[2] = {static_cast<uint64_t>(p(9)), 0};
    Add(z, x, y, mask, static_cast<uint8_t>(p(1)), rp);
  }
  Store(out, z, len);
}
SIM_SELFTEST(api_add_repeat);

// dst (arg0 tile, accumulated) += src * scalar, stored to arg2. params: mode (0 float/float,
// 1 half/half, 2 float dst with half src), count, scalar (float bits), dst length, src length.
template <typename T, typename U>
void AxpyTiles(GM_ADDR dst, GM_ADDR src, GM_ADDR out, int32_t count, float scalar, uint32_t ld, uint32_t ls) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> bd, bs;
  pipe.InitBuffer(bd, ld * sizeof(T));
  pipe.InitBuffer(bs, ls * sizeof(U));
  LocalTensor<T> d = bd.Get<T>();
  LocalTensor<U> s = bs.Get<U>();
  Load(d, dst, ld);
  Load(s, src, ls);
  Axpy(d, s, U(scalar), count);
  Store(out, d, ld);
}

extern "C" __global__ __aicore__ void api_axpy(GM_ADDR dst, GM_ADDR src, GM_ADDR out, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const int32_t count = static_cast<int32_t>(p(1));
  const float scalar = selftest::FloatFromBits(p(2));
  const uint32_t ld = static_cast<uint32_t>(p(3)), ls = static_cast<uint32_t>(p(4));
  switch (p(0)) {
    case 0: AxpyTiles<float, float>(dst, src, out, count, scalar, ld, ls); break;
    case 1: AxpyTiles<half, half>(dst, src, out, count, scalar, ld, ls); break;
    default: AxpyTiles<float, half>(dst, src, out, count, scalar, ld, ls); break;
  }
}
SIM_SELFTEST(api_axpy);

// CreateVecIndex into a tile of arg0. params: dtype (0 float, 1 half, 2 int32, 3 int16), first
// value (float bits for float types), count, tile length.
template <typename T>
void IndexTile(GM_ADDR out, int64_t first_raw, uint32_t count, uint32_t len) {
  TPipe pipe;
  TBuf<TPosition::VECCALC> b;
  pipe.InitBuffer(b, len * sizeof(T));
  LocalTensor<T> t = b.Get<T>();
  Load(t, out, len);
  SetFlag<HardEvent::MTE2_S>(0);  // CreateVecIndex stores its first block by scalar SetValue
  WaitFlag<HardEvent::MTE2_S>(0);
  CreateVecIndex(t, ScalarParam<T>(first_raw), count);
  Store(out, t, len);
}

extern "C" __global__ __aicore__ void api_create_vec_index(GM_ADDR out, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR params) {
  auto p = [&](int i) { return sim::SelftestParam(params, i); };
  const uint32_t count = static_cast<uint32_t>(p(2)), len = static_cast<uint32_t>(p(3));
  switch (p(0)) {
    case 0: IndexTile<float>(out, p(1), count, len); break;
    case 1: IndexTile<half>(out, p(1), count, len); break;
    case 2: IndexTile<int32_t>(out, p(1), count, len); break;
    default: IndexTile<int16_t>(out, p(1), count, len); break;
  }
}
SIM_SELFTEST(api_create_vec_index);
