// Elementwise vector arithmetic: binary (Add ... Or), tensor-scalar (Adds ... Mins), unary (Abs
// ...), Duplicate, Axpy and CreateVecIndex, in the count form and the masked repeat form. Half
// types compute in float and round to nearest-even per instruction; integers wrap. Data types are
// limited to what each instruction supports on Atlas A2 (a wrong type does not compile).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "api_types.h"
#include "scalar_types.h"
#include "tensors.h"
#include "vector_engine.h"

namespace sim {

template <typename T, typename... Ts>
inline constexpr bool kIsOneOf = (std::is_same_v<T, Ts> || ...);

template <typename T>
inline constexpr bool kArithType = kIsOneOf<T, int16_t, half, int32_t, float>;
template <typename T>
inline constexpr bool kFloatType = kIsOneOf<T, half, float>;
template <typename T>
inline constexpr bool kBitwiseType = kIsOneOf<T, int16_t, uint16_t>;
template <typename T>
inline constexpr bool kReluType = kIsOneOf<T, half, int32_t, float>;
template <typename T>
inline constexpr bool kAddReluType = kIsOneOf<T, int16_t, half, float>;

// The arithmetic type an element computes in: float for the float types, int64 for integers.
template <typename T>
using Wide = std::conditional_t<std::is_integral_v<T>, int64_t, float>;

template <typename T>
T Narrow(Wide<T> v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<std::make_unsigned_t<T>>(static_cast<uint64_t>(v)));  // wraps
  } else {
    return T(v);
  }
}

template <typename T>
T LoadUb(uint64_t addr) {
  T v;
  std::memcpy(&v, Core().ub() + addr, sizeof(T));
  return v;
}
template <typename T>
void StoreUb(uint64_t addr, T v) {
  std::memcpy(Core().ub() + addr, &v, sizeof(T));
}

// Max/Min with a NaN operand have no documented result on the NPU; a kernel must not rely on one.
template <typename W>
void RejectNan(const char* op, W a, W b) {
  if constexpr (std::is_floating_point_v<W>) {
    if (std::isnan(a) || std::isnan(b))
      Fail("nan-undefined", Msg(op,
                                " got a NaN operand; its result is not documented for the NPU, so the kernel "
                                "must not depend on it (select NaN lanes away with Compare/Select first)"));
  }
}

// The CANN 8.1 header declaring Duplicate's narrow repeat parameters (NarrowArg messages).
inline constexpr const char* kDuplicateHeader = "kernel_operator_vec_duplicate_intf.h";

// Count form, one or two sources.
template <typename T, typename F>
void BinaryCount(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& a,
                 const AscendC::LocalTensor<T>& b, int64_t count, F f) {
  if (!BeginCountOp(op, count, dst, count * sizeof(T), {Src("src0", a, count), Src("src1", b, count)})) return;
  T* d = dst.SimData();
  const T* x = a.SimData();
  const T* y = b.SimData();
  for (int64_t i = 0; i < count; ++i) d[i] = Narrow<T>(f(static_cast<Wide<T>>(x[i]), static_cast<Wide<T>>(y[i])));
}

template <typename T, typename F>
void UnaryCount(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& a, int64_t count,
                F f) {
  if (!BeginCountOp(op, count, dst, count * sizeof(T), {Src("src", a, count)})) return;
  T* d = dst.SimData();
  const T* x = a.SimData();
  for (int64_t i = 0; i < count; ++i) d[i] = Narrow<T>(f(static_cast<Wide<T>>(x[i])));
}

// Repeat form, one or two sources.
template <typename T, typename F>
void BinaryRepeat(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& a,
                  const AscendC::LocalTensor<T>& b, uint32_t repeat, const AscendC::BinaryRepeatParams& p, F f) {
  RunRepeat<T, 3>(op,
                  {Rep("dst", dst, p.dstBlkStride, p.dstRepStride), Rep("src0", a, p.src0BlkStride, p.src0RepStride),
                   Rep("src1", b, p.src1BlkStride, p.src1RepStride)},
                  repeat, [&](const LaneMask& m, uint32_t lanes, auto addr) {
                    T out[128];
                    for (uint32_t e = 0; e < lanes; ++e)
                      if (m.On(e))
                        out[e] = Narrow<T>(f(static_cast<Wide<T>>(LoadUb<T>(addr(1, e))),
                                             static_cast<Wide<T>>(LoadUb<T>(addr(2, e)))));
                    for (uint32_t e = 0; e < lanes; ++e)
                      if (m.On(e)) StoreUb<T>(addr(0, e), out[e]);
                  });
}

template <typename T, typename F>
void UnaryRepeat(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& a, uint32_t repeat,
                 const AscendC::UnaryRepeatParams& p, F f) {
  RunRepeat<T, 2>(op, {Rep("dst", dst, p.dstBlkStride, p.dstRepStride), Rep("src", a, p.srcBlkStride, p.srcRepStride)},
                  repeat, [&](const LaneMask& m, uint32_t lanes, auto addr) {
                    T out[128];
                    for (uint32_t e = 0; e < lanes; ++e)
                      if (m.On(e)) out[e] = Narrow<T>(f(static_cast<Wide<T>>(LoadUb<T>(addr(1, e)))));
                    for (uint32_t e = 0; e < lanes; ++e)
                      if (m.On(e)) StoreUb<T>(addr(0, e), out[e]);
                  });
}

}  // namespace sim

namespace AscendC {

// Defines the count form and both repeat forms of a two-source instruction. `EXPR` computes one
// lane from `a` and `b` (float for float types, int64 for integers).
#define SIM_BINARY_OP(NAME, TYPE_OK, TYPES, EXPR)                                                                      \
  template <typename T>                                                                                                \
  void NAME(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<T>& src1Local,          \
            const int32_t& calCount) {                                                                                 \
    static_assert(TYPE_OK<T>, #NAME " on Atlas A2 supports " TYPES);                                                   \
    ::sim::BinaryCount(#NAME, dstLocal, src0Local, src1Local, calCount, [](auto a, auto b) { return EXPR; });          \
  }                                                                                                                    \
  template <typename T, bool isSetMask = true>                                                                         \
  void NAME(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<T>& src1Local,          \
            uint64_t mask, ::sim::U8Arg repeatTimes, const BinaryRepeatParams& repeatParams) {                         \
    static_assert(TYPE_OK<T>, #NAME " on Atlas A2 supports " TYPES);                                                   \
    ::sim::ApplyMask<T, isSetMask>(#NAME, mask);                                                                       \
    ::sim::BinaryRepeat(#NAME, dstLocal, src0Local, src1Local,                                                         \
                        repeatTimes.Checked(#NAME, "repeatTimes", "kernel_operator_vec_binary_intf.h"), repeatParams,  \
                        [](auto a, auto b) { return EXPR; });                                                          \
  }                                                                                                                    \
  template <typename T, bool isSetMask = true>                                                                         \
  void NAME(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<T>& src1Local,          \
            uint64_t mask[], ::sim::U8Arg repeatTimes, const BinaryRepeatParams& repeatParams) {                       \
    static_assert(TYPE_OK<T>, #NAME " on Atlas A2 supports " TYPES);                                                   \
    ::sim::ApplyMask<T, isSetMask>(#NAME, mask);                                                                       \
    ::sim::BinaryRepeat(#NAME, dstLocal, src0Local, src1Local,                                                         \
                        repeatTimes.Checked(#NAME, "repeatTimes", "kernel_operator_vec_binary_intf.h"), repeatParams,  \
                        [](auto a, auto b) { return EXPR; });                                                          \
  }

SIM_BINARY_OP(Add, ::sim::kArithType, "int16_t/half/int32_t/float", a + b)
SIM_BINARY_OP(Sub, ::sim::kArithType, "int16_t/half/int32_t/float", a - b)
SIM_BINARY_OP(Mul, ::sim::kArithType, "int16_t/half/int32_t/float", a* b)
SIM_BINARY_OP(Div, ::sim::kFloatType, "half/float", a / b)
SIM_BINARY_OP(Max, ::sim::kArithType, "int16_t/half/int32_t/float", (::sim::RejectNan("Max", a, b), a > b ? a : b))
SIM_BINARY_OP(Min, ::sim::kArithType, "int16_t/half/int32_t/float", (::sim::RejectNan("Min", a, b), a < b ? a : b))
SIM_BINARY_OP(And, ::sim::kBitwiseType, "int16_t/uint16_t", a& b)
SIM_BINARY_OP(Or, ::sim::kBitwiseType, "int16_t/uint16_t", a | b)
// dst = max(src0 + src1, 0), one rounding (AddRelu page of asc-devkit, 复合计算).
SIM_BINARY_OP(AddRelu, ::sim::kAddReluType, "int16_t/half/float", (a + b > 0 ? a + b : decltype(a + b)(0)))
#undef SIM_BINARY_OP

// Tensor-scalar instructions: the scalar has the tensor's element type.
// The count form with isSetMask=false issues one iteration under the mask register as it stands
// (CANN 8.1 AddsImpl and friends), normally a counter-mode count set with SetVectorMask.
#define SIM_SCALAR_OP(NAME, TYPE_OK, TYPES, EXPR)                                                                      \
  template <typename T, bool isSetMask = true>                                                                         \
  void NAME(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const T& scalarValue,                      \
            const int32_t& calCount) {                                                                                 \
    static_assert(TYPE_OK<T>, #NAME " on Atlas A2 supports " TYPES);                                                   \
    const ::sim::Wide<T> s = static_cast<::sim::Wide<T>>(scalarValue);                                                 \
    if constexpr (!isSetMask) {                                                                                        \
      ::sim::UnaryRepeat(#NAME, dstLocal, srcLocal, 1, UnaryRepeatParams(), [s](auto a) { return EXPR; });             \
    } else {                                                                                                           \
      ::sim::UnaryCount(#NAME, dstLocal, srcLocal, calCount, [s](auto a) { return EXPR; });                            \
    }                                                                                                                  \
  }                                                                                                                    \
  template <typename T, bool isSetMask = true>                                                                         \
  void NAME(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const T& scalarValue, uint64_t mask,       \
            ::sim::U8Arg repeatTimes, const UnaryRepeatParams& repeatParams) {                                         \
    static_assert(TYPE_OK<T>, #NAME " on Atlas A2 supports " TYPES);                                                   \
    const ::sim::Wide<T> s = static_cast<::sim::Wide<T>>(scalarValue);                                                 \
    ::sim::ApplyMask<T, isSetMask>(#NAME, mask);                                                                       \
    ::sim::UnaryRepeat(#NAME, dstLocal, srcLocal,                                                                      \
                       repeatTimes.Checked(#NAME, "repeatTimes", "kernel_operator_vec_binary_scalar_intf.h"),          \
                       repeatParams, [s](auto a) { return EXPR; });                                                    \
  }                                                                                                                    \
  template <typename T, bool isSetMask = true>                                                                         \
  void NAME(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const T& scalarValue, uint64_t mask[],     \
            ::sim::U8Arg repeatTimes, const UnaryRepeatParams& repeatParams) {                                         \
    static_assert(TYPE_OK<T>, #NAME " on Atlas A2 supports " TYPES);                                                   \
    const ::sim::Wide<T> s = static_cast<::sim::Wide<T>>(scalarValue);                                                 \
    ::sim::ApplyMask<T, isSetMask>(#NAME, mask);                                                                       \
    ::sim::UnaryRepeat(#NAME, dstLocal, srcLocal,                                                                      \
                       repeatTimes.Checked(#NAME, "repeatTimes", "kernel_operator_vec_binary_scalar_intf.h"),          \
                       repeatParams, [s](auto a) { return EXPR; });                                                    \
  }

SIM_SCALAR_OP(Adds, ::sim::kArithType, "int16_t/half/int32_t/float", a + s)
SIM_SCALAR_OP(Muls, ::sim::kArithType, "int16_t/half/int32_t/float", a* s)
SIM_SCALAR_OP(Maxs, ::sim::kArithType, "int16_t/half/int32_t/float", (::sim::RejectNan("Maxs", a, s), a > s ? a : s))
SIM_SCALAR_OP(Mins, ::sim::kArithType, "int16_t/half/int32_t/float", (::sim::RejectNan("Mins", a, s), a < s ? a : s))
// dst = src >= 0 ? src : src * scalar (LeakyRelu page of asc-devkit, 基础算术).
SIM_SCALAR_OP(LeakyRelu, ::sim::kFloatType, "half/float", (a >= 0 ? a : a * s))
#undef SIM_SCALAR_OP

#define SIM_UNARY_OP(NAME, TYPE_OK, TYPES, EXPR)                                                                       \
  template <typename T>                                                                                                \
  void NAME(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const int32_t& calCount) {                 \
    static_assert(TYPE_OK<T>, #NAME " on Atlas A2 supports " TYPES);                                                   \
    ::sim::UnaryCount(#NAME, dstLocal, srcLocal, calCount, [](auto a) { return EXPR; });                               \
  }                                                                                                                    \
  template <typename T, bool isSetMask = true>                                                                         \
  void NAME(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, uint64_t mask, ::sim::U8Arg repeatTimes,   \
            const UnaryRepeatParams& repeatParams) {                                                                   \
    static_assert(TYPE_OK<T>, #NAME " on Atlas A2 supports " TYPES);                                                   \
    ::sim::ApplyMask<T, isSetMask>(#NAME, mask);                                                                       \
    ::sim::UnaryRepeat(#NAME, dstLocal, srcLocal,                                                                      \
                       repeatTimes.Checked(#NAME, "repeatTimes", "kernel_operator_vec_unary_intf.h"), repeatParams,    \
                       [](auto a) { return EXPR; });                                                                   \
  }                                                                                                                    \
  template <typename T, bool isSetMask = true>                                                                         \
  void NAME(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, uint64_t mask[], ::sim::U8Arg repeatTimes, \
            const UnaryRepeatParams& repeatParams) {                                                                   \
    static_assert(TYPE_OK<T>, #NAME " on Atlas A2 supports " TYPES);                                                   \
    ::sim::ApplyMask<T, isSetMask>(#NAME, mask);                                                                       \
    ::sim::UnaryRepeat(#NAME, dstLocal, srcLocal,                                                                      \
                       repeatTimes.Checked(#NAME, "repeatTimes", "kernel_operator_vec_unary_intf.h"), repeatParams,    \
                       [](auto a) { return EXPR; });                                                                   \
  }

SIM_UNARY_OP(Abs, ::sim::kFloatType, "half/float", std::fabs(a))
SIM_UNARY_OP(Relu, ::sim::kReluType, "half/int32_t/float", (a > 0 ? a : decltype(a)(0)))
SIM_UNARY_OP(Exp, ::sim::kFloatType, "half/float", std::exp(a))
SIM_UNARY_OP(Ln, ::sim::kFloatType, "half/float", std::log(a))
SIM_UNARY_OP(Sqrt, ::sim::kFloatType, "half/float", std::sqrt(a))
SIM_UNARY_OP(Reciprocal, ::sim::kFloatType, "half/float", 1.0f / a)
SIM_UNARY_OP(Rsqrt, ::sim::kFloatType, "half/float", 1.0f / std::sqrt(a))
SIM_UNARY_OP(Not, ::sim::kBitwiseType, "int16_t/uint16_t", ~a)
#undef SIM_UNARY_OP

template <typename T>
inline constexpr bool kSimDuplicateType =
    ::sim::kIsOneOf<T, int16_t, uint16_t, half, bfloat16_t, int32_t, uint32_t, float>;

template <typename T>
void Duplicate(const LocalTensor<T>& dstLocal, const T& scalarValue, const int32_t& calCount) {
  static_assert(kSimDuplicateType<T>,
                "Duplicate on Atlas A2 supports int16_t/uint16_t/half/bfloat16_t/int32_t/uint32_t/float");
  if (!::sim::BeginCountOp("Duplicate", calCount, dstLocal, static_cast<uint64_t>(calCount) * sizeof(T), {})) return;
  T* d = dstLocal.SimData();
  for (int32_t i = 0; i < calCount; ++i) d[i] = scalarValue;
}

template <typename T>
void SimDuplicateRepeat(const LocalTensor<T>& dst, const T& value, uint8_t repeatTimes, uint16_t dstBlockStride,
                        uint8_t dstRepeatStride) {
  ::sim::RunRepeat<T, 1>("Duplicate", {::sim::Rep("dst", dst, dstBlockStride, dstRepeatStride)}, repeatTimes,
                         [&](const ::sim::LaneMask& m, uint32_t lanes, auto addr) {
                           for (uint32_t e = 0; e < lanes; ++e)
                             if (m.On(e)) ::sim::StoreUb<T>(addr(0, e), value);
                         });
}

template <typename T, bool isSetMask = true>
void Duplicate(const LocalTensor<T>& dstLocal, const T& scalarValue, uint64_t mask, ::sim::U8Arg repeatTimes,
               ::sim::U16Arg dstBlockStride, ::sim::U8Arg dstRepeatStride) {
  static_assert(kSimDuplicateType<T>,
                "Duplicate on Atlas A2 supports int16_t/uint16_t/half/bfloat16_t/int32_t/uint32_t/float");
  ::sim::ApplyMask<T, isSetMask>("Duplicate", mask);
  SimDuplicateRepeat(dstLocal, scalarValue, repeatTimes.Checked("Duplicate", "repeatTimes", ::sim::kDuplicateHeader),
                     dstBlockStride.Checked("Duplicate", "dstBlockStride", ::sim::kDuplicateHeader),
                     dstRepeatStride.Checked("Duplicate", "dstRepeatStride", ::sim::kDuplicateHeader));
}

template <typename T, bool isSetMask = true>
void Duplicate(const LocalTensor<T>& dstLocal, const T& scalarValue, uint64_t mask[], ::sim::U8Arg repeatTimes,
               ::sim::U16Arg dstBlockStride, ::sim::U8Arg dstRepeatStride) {
  static_assert(kSimDuplicateType<T>,
                "Duplicate on Atlas A2 supports int16_t/uint16_t/half/bfloat16_t/int32_t/uint32_t/float");
  ::sim::ApplyMask<T, isSetMask>("Duplicate", mask);
  SimDuplicateRepeat(dstLocal, scalarValue, repeatTimes.Checked("Duplicate", "repeatTimes", ::sim::kDuplicateHeader),
                     dstBlockStride.Checked("Duplicate", "dstBlockStride", ::sim::kDuplicateHeader),
                     dstRepeatStride.Checked("Duplicate", "dstRepeatStride", ::sim::kDuplicateHeader));
}

// dst += src * scalar. With a float dst and half src the operands must not overlap at all (Axpy
// page, 约束说明); otherwise the general rule of overlap_rules.h.
template <typename T, typename U>
void Axpy(const LocalTensor<T>& dstLocal, const LocalTensor<U>& srcLocal, const U& scalarValue,
          const int32_t& calCount) {
  static_assert((std::is_same_v<T, U> && ::sim::kFloatType<T>) || (std::is_same_v<T, float> && std::is_same_v<U, half>),
                "Axpy on Atlas A2 supports (dst, src) = (half, half), (float, float), (float, half)");
  if constexpr (!std::is_same_v<T, U>) {
    const uint64_t db = static_cast<uint64_t>(calCount) * sizeof(T), sb = static_cast<uint64_t>(calCount) * sizeof(U);
    ::sim::RequireNoOverlap("Axpy (half src, float dst)", "Axpy", "dst", dstLocal.SimAddr(), db, "src",
                            srcLocal.SimAddr(), sb);
  }
  if (!::sim::BeginCountOp(
          "Axpy", calCount, dstLocal, static_cast<uint64_t>(calCount) * sizeof(T),
          {::sim::Src("src", srcLocal, calCount), ::sim::Src("dst (accumulated)", dstLocal, calCount)}))
    return;
  T* d = dstLocal.SimData();
  const U* x = srcLocal.SimData();
  const float s = static_cast<float>(scalarValue);
  for (int32_t i = 0; i < calCount; ++i) d[i] = T(static_cast<float>(x[i]) * s + static_cast<float>(d[i]));
}

// CANN 8.1 (impl/dav_c220/kernel_operator_vec_createvecindex_impl.h, CreateVecIndexOneBlk; the
// interface is declared __in_pipe__(S)) stores the first 32-byte block with scalar SetValue, whole
// even for a shorter count, fences S_V, and derives the rest from it by vector Adds. So that block
// is a scalar write: after an earlier vector or DMA access to it the kernel needs V_S / MTE2_S, as
// for any SetValue.
template <typename T>
void CreateVecIndex(LocalTensor<T> dstLocal, const T& firstValue, uint32_t calCount) {
  static_assert(::sim::kArithType<T>, "CreateVecIndex on Atlas A2 supports int16_t/half/int32_t/float");
  const char* op = "CreateVecIndex";
  ::sim::RequireUbAligned(op, "dst", dstLocal);
  if (calCount == 0) return;  // documented as a no-op on A2
  constexpr uint32_t kBlock = 32 / sizeof(T);
  ::sim::RequireDestSpan(op, dstLocal, static_cast<uint64_t>(std::max(calCount, kBlock)) * sizeof(T));
  T* d = dstLocal.SimData();
  ::sim::CoreContext& c = ::sim::Core();
  for (uint32_t i = 0; i < kBlock; ++i) ::sim::RecordUbScalarAccess();
  const ::sim::PipeOp block = ::sim::BeginOp(::sim::Pipe::kS, "CreateVecIndex (SetValue of its first block)");
  ::sim::TrackUbWrite(block, dstLocal.SimAddr(), 32);
  // CreateVecIndexOneBlk: SetValue(i, static_cast<float>(firstValue) + static_cast<float>(i)), a
  // float sum for every T, so an int32_t start beyond 2^24 is rounded before the store.
  for (uint32_t i = 0; i < kBlock; ++i)
    d[i] = ::sim::Narrow<T>(static_cast<::sim::Wide<T>>(static_cast<float>(firstValue) + static_cast<float>(i)));
  c.clocks.Absorb(::sim::Pipe::kV, c.clocks.Signal(::sim::Pipe::kS));  // its own S_V fence
  if (calCount <= kBlock) return;
  if (!::sim::BeginCountOp(op, calCount - kBlock, dstLocal[kBlock],
                           static_cast<uint64_t>(calCount - kBlock) * sizeof(T), {::sim::Src("dst", dstLocal, kBlock)}))
    return;
  // CreateVecIndexCalc then derives each element by Adds in T from the one a block before (+kBlock)
  // within the first repeat, from the one a repeat before (+kRepeat) after it.
  constexpr uint32_t kRepeat = 256 / sizeof(T);
  for (uint32_t i = kBlock; i < calCount; ++i) {
    const uint32_t step = i < kRepeat ? kBlock : kRepeat;
    d[i] = ::sim::Narrow<T>(static_cast<::sim::Wide<T>>(d[i - step]) + static_cast<::sim::Wide<T>>(step));
  }
  // Its Adds (blocks 2..8, then whole repeats, each with a tail) set their own masks and reset
  // nothing: the last one's stays in the register.
  const uint32_t last = calCount > kRepeat    ? (calCount % kRepeat != 0 ? calCount % kRepeat : kRepeat)
                        : calCount == kRepeat ? kBlock
                                              : (calCount % kBlock != 0 ? calCount % kBlock : kBlock);
  ::sim::WriteContinuousMask<T>(last);
}

}  // namespace AscendC
