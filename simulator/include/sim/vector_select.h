// Compare / CompareScalar (write one bit per element, LSB first) and Select (pick per mask bit).
// The count forms of Compare process only whole 256-byte iterations, so count*sizeof(T) must be a
// multiple of 256. Select modes 1 and 2 use the 8 KiB at the top of UB as scratch, so the kernel's
// buffers must leave it free.
#pragma once

#include <cstdint>
#include <cstring>

#include "api_types.h"
#include "vector_arith.h"
#include "vector_engine.h"

namespace sim {

template <typename T>
bool CompareLane(T a, T b, AscendC::CMPMODE mode) {
  const Wide<T> x = static_cast<Wide<T>>(a), y = static_cast<Wide<T>>(b);
  switch (mode) {
    case AscendC::CMPMODE::LT: return x < y;
    case AscendC::CMPMODE::GT: return x > y;
    case AscendC::CMPMODE::EQ: return x == y;
    case AscendC::CMPMODE::LE: return x <= y;
    case AscendC::CMPMODE::GE: return x >= y;
    case AscendC::CMPMODE::NE: return x != y;
  }
  return false;
}

template <typename T>
void RequireCompareCount(const char* op, uint32_t count, AscendC::CMPMODE mode) {
  if (static_cast<uint64_t>(count) * sizeof(T) % 256 != 0)
    Fail("compare-count",
         Msg(op, ": count=", count, " x ", sizeof(T), " B = ", count * sizeof(T),
             " B is not a multiple of 256 B; the hardware compares only whole 256-byte iterations ",
             "and leaves the tail unwritten (use count=", (count * sizeof(T) + 255) / 256 * 256 / sizeof(T), ")"));
  if (std::is_same_v<T, int32_t> && mode != AscendC::CMPMODE::EQ)
    Fail("compare-mode", Msg(op, ": int32_t operands support only CMPMODE::EQ on Atlas A2"));
}

// Writes count/8 mask bytes; `lane(i)` gives the comparison result of element i.
template <typename U, typename Lane>
void WriteMaskBits(U* dst, uint32_t count, Lane lane) {
  uint8_t* bytes = reinterpret_cast<uint8_t*>(dst);
  for (uint32_t j = 0; j < count / 8; ++j) {
    uint8_t v = 0;
    for (uint32_t k = 0; k < 8; ++k) v |= static_cast<uint8_t>(lane(8 * j + k) ? 1u << k : 0u);
    bytes[j] = v;
  }
}

inline bool MaskBit(const uint8_t* mask, uint32_t i) { return (mask[i / 8] >> (i % 8)) & 1u; }

// Select modes 1 and 2 write a 32-byte scratch block at UB offset ub_size - 8 KiB.
inline void RequireSelectScratchFree(const char* op) {
  CoreContext& core = Core();
  const uint32_t reserved_from = core.ub_bytes() - 8192;
  if (core.ub_used() > reserved_from)
    Fail("ub-reserved-area", Msg(op, " in mode 1/2 uses UB [", reserved_from, ", ", reserved_from + 32,
                                 ") as scratch (Atlas A2 reserves the top 8 KiB of UB for it) but the kernel's TPipe "
                                 "buffers reach UB byte ",
                                 core.ub_used(), "; keep InitBuffer totals <= ", reserved_from, " B"));
}

}  // namespace sim

namespace AscendC {

template <typename T, typename U>
void Compare(const LocalTensor<U>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<T>& src1Local,
             CMPMODE cmpMode, uint32_t calCount) {
  static_assert(::sim::kIsOneOf<T, half, float, int32_t>, "Compare on Atlas A2 supports half/float/int32_t sources");
  static_assert(::sim::kIsOneOf<U, int8_t, uint8_t>, "Compare on Atlas A2 writes an int8_t/uint8_t mask");
  ::sim::RequireCompareCount<T>("Compare", calCount, cmpMode);
  const ::sim::MaskRegister kept = ::sim::t_mask_register;
  const bool run =
      ::sim::BeginCountOp("Compare", calCount, dstLocal, calCount / 8,
                          {::sim::Src("src0", src0Local, calCount), ::sim::Src("src1", src1Local, calCount)});
  ::sim::t_mask_register = kept;  // CompareCompute (impl/dav_c220/kernel_operator_vec_cmp_impl.h) never writes it
  if (!run) return;
  const T* a = src0Local.SimData();
  const T* b = src1Local.SimData();
  ::sim::WriteMaskBits(dstLocal.SimData(), calCount,
                       [&](uint32_t i) { return ::sim::CompareLane(a[i], b[i], cmpMode); });
}

template <typename T, typename U>
void CompareScalar(const LocalTensor<U>& dstLocal, const LocalTensor<T>& src0Local, const T src1Scalar, CMPMODE cmpMode,
                   uint32_t calCount) {
  static_assert(::sim::kIsOneOf<T, half, float, int32_t>,
                "CompareScalar on Atlas A2 supports half/float/int32_t sources");
  static_assert(std::is_same_v<U, uint8_t>, "CompareScalar on Atlas A2 writes a uint8_t mask");
  ::sim::RequireCompareCount<T>("CompareScalar", calCount, cmpMode);
  const ::sim::MaskRegister kept = ::sim::t_mask_register;
  const bool run =
      ::sim::BeginCountOp("CompareScalar", calCount, dstLocal, calCount / 8, {::sim::Src("src0", src0Local, calCount)});
  ::sim::t_mask_register = kept;  // nor does CompareScalarCompute: vcmpvs ignores the mask on A2
  if (!run) return;
  const T* a = src0Local.SimData();
  ::sim::WriteMaskBits(dstLocal.SimData(), calCount,
                       [&](uint32_t i) { return ::sim::CompareLane(a[i], src1Scalar, cmpMode); });
}

// Modes 0 and 2: both sources are tensors. Mode 0 reuses the first 256/sizeof(T) mask bits for
// every 256-byte iteration; mode 2 consumes one bit per element.
template <typename T, typename U>
void Select(const LocalTensor<T>& dstLocal, const LocalTensor<U>& selMask, const LocalTensor<T>& src0Local,
            const LocalTensor<T>& src1Local, SELMODE selMode, uint32_t calCount) {
  static_assert(::sim::kFloatType<T>, "Select on Atlas A2 supports half/float");
  static_assert(::sim::kIsOneOf<U, uint8_t, uint16_t, uint32_t, uint64_t>, "Select mask must be uint8/16/32/64");
  if (selMode == SELMODE::VSEL_TENSOR_SCALAR_MODE)
    ::sim::Fail("select-mode",
                "Select with a tensor src1 takes VSEL_CMPMASK_SPR or VSEL_TENSOR_TENSOR_MODE; "
                "VSEL_TENSOR_SCALAR_MODE needs the scalar overload");
  if (selMode == SELMODE::VSEL_TENSOR_TENSOR_MODE) ::sim::RequireSelectScratchFree("Select");
  constexpr uint32_t lanes = 256 / sizeof(T);
  const uint64_t mask_bits = selMode == SELMODE::VSEL_CMPMASK_SPR ? lanes : calCount;
  if (!::sim::BeginCountOp("Select", calCount, dstLocal, static_cast<uint64_t>(calCount) * sizeof(T),
                           {::sim::Src("selMask", selMask, (mask_bits + 8 * sizeof(U) - 1) / (8 * sizeof(U))),
                            ::sim::Src("src0", src0Local, calCount), ::sim::Src("src1", src1Local, calCount)}))
    return;
  const uint8_t* m = reinterpret_cast<const uint8_t*>(selMask.SimData());
  const T* a = src0Local.SimData();
  const T* b = src1Local.SimData();
  T* d = dstLocal.SimData();
  for (uint32_t i = 0; i < calCount; ++i) {
    const uint32_t bit = selMode == SELMODE::VSEL_CMPMASK_SPR ? i % lanes : i;
    d[i] = ::sim::MaskBit(m, bit) ? a[i] : b[i];
  }
}

// Mode 1: mask bit 1 takes src0, 0 takes the scalar.
template <typename T, typename U>
void Select(const LocalTensor<T>& dstLocal, const LocalTensor<U>& selMask, const LocalTensor<T>& src0Local, T src1Local,
            SELMODE selMode, uint32_t calCount) {
  static_assert(::sim::kFloatType<T>, "Select on Atlas A2 supports half/float");
  static_assert(::sim::kIsOneOf<U, uint8_t, uint16_t, uint32_t, uint64_t>, "Select mask must be uint8/16/32/64");
  if (selMode != SELMODE::VSEL_TENSOR_SCALAR_MODE)
    ::sim::Fail("select-mode", "Select with a scalar src1 requires SELMODE::VSEL_TENSOR_SCALAR_MODE");
  ::sim::RequireSelectScratchFree("Select");
  if (!::sim::BeginCountOp("Select", calCount, dstLocal, static_cast<uint64_t>(calCount) * sizeof(T),
                           {::sim::Src("selMask", selMask, (calCount + 8 * sizeof(U) - 1) / (8 * sizeof(U))),
                            ::sim::Src("src0", src0Local, calCount)}))
    return;
  const uint8_t* m = reinterpret_cast<const uint8_t*>(selMask.SimData());
  const T* a = src0Local.SimData();
  T* d = dstLocal.SimData();
  for (uint32_t i = 0; i < calCount; ++i) d[i] = ::sim::MaskBit(m, i) ? a[i] : src1Local;
}

}  // namespace AscendC
