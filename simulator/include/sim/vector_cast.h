// Cast between element types with a RoundMode. The (source, destination, mode) combinations are
// the ones the asc-devkit Cast table lists for Atlas A2; others are refused. Converting NaN, Inf or
// a value outside the integer range to an integer has no documented result, so it is refused too.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "api_types.h"
#include "scalar_types.h"
#include "vector_arith.h"
#include "vector_engine.h"

namespace sim {

inline const char* RoundModeName(AscendC::RoundMode m) {
  switch (m) {
    case AscendC::RoundMode::CAST_NONE: return "CAST_NONE";
    case AscendC::RoundMode::CAST_RINT: return "CAST_RINT";
    case AscendC::RoundMode::CAST_FLOOR: return "CAST_FLOOR";
    case AscendC::RoundMode::CAST_CEIL: return "CAST_CEIL";
    case AscendC::RoundMode::CAST_ROUND: return "CAST_ROUND";
    case AscendC::RoundMode::CAST_TRUNC: return "CAST_TRUNC";
    case AscendC::RoundMode::CAST_ODD: return "CAST_ODD";
  }
  return "?";
}

inline Rounding ToRounding(AscendC::RoundMode m) {
  switch (m) {
    case AscendC::RoundMode::CAST_FLOOR: return Rounding::kFloor;
    case AscendC::RoundMode::CAST_CEIL: return Rounding::kCeil;
    case AscendC::RoundMode::CAST_ROUND: return Rounding::kAwayFromZero;
    case AscendC::RoundMode::CAST_TRUNC: return Rounding::kTowardZero;
    case AscendC::RoundMode::CAST_ODD: return Rounding::kOdd;
    case AscendC::RoundMode::CAST_NONE:
    case AscendC::RoundMode::CAST_RINT: return Rounding::kNearestEven;
  }
  return Rounding::kNearestEven;
}

// Bit set of allowed RoundModes for a (Dst, Src) pair on A2; 0 when the pair is not supported.
template <typename Dst, typename Src>
constexpr unsigned AllowedModes() {
  using AscendC::RoundMode;
  constexpr unsigned kNone = 1u << static_cast<int>(RoundMode::CAST_NONE);
  constexpr unsigned kDirected =
      (1u << static_cast<int>(RoundMode::CAST_RINT)) | (1u << static_cast<int>(RoundMode::CAST_FLOOR)) |
      (1u << static_cast<int>(RoundMode::CAST_CEIL)) | (1u << static_cast<int>(RoundMode::CAST_ROUND)) |
      (1u << static_cast<int>(RoundMode::CAST_TRUNC));
  constexpr unsigned kOdd = 1u << static_cast<int>(RoundMode::CAST_ODD);
  if constexpr (std::is_same_v<Src, half> && std::is_same_v<Dst, float>)
    return kNone;
  else if constexpr (std::is_same_v<Src, bfloat16_t> && std::is_same_v<Dst, float>)
    return kNone;
  else if constexpr (std::is_same_v<Src, float> && std::is_same_v<Dst, half>)
    return kNone | kDirected | kOdd;
  else if constexpr (std::is_same_v<Src, float> && std::is_same_v<Dst, bfloat16_t>)
    return kDirected;
  else if constexpr (std::is_same_v<Src, float> && std::is_same_v<Dst, float>)
    return kDirected;
  else if constexpr (std::is_same_v<Src, float> && std::is_same_v<Dst, int32_t>)
    return kDirected;
  else if constexpr (std::is_same_v<Src, float> && std::is_same_v<Dst, int16_t>)
    return kDirected;
  else if constexpr (std::is_same_v<Src, float> && std::is_same_v<Dst, int64_t>)
    return kDirected;
  else if constexpr (std::is_same_v<Src, half> && std::is_same_v<Dst, int32_t>)
    return kDirected;
  else if constexpr (std::is_same_v<Src, half> && std::is_same_v<Dst, int16_t>)
    return kDirected;
  else if constexpr (std::is_same_v<Src, bfloat16_t> && std::is_same_v<Dst, int32_t>)
    return kDirected;
  else if constexpr (std::is_same_v<Src, int32_t> && std::is_same_v<Dst, float>)
    return kNone | kDirected;
  else if constexpr (std::is_same_v<Src, int16_t> && std::is_same_v<Dst, float>)
    return kNone;
  else if constexpr (std::is_same_v<Src, int16_t> && std::is_same_v<Dst, half>)
    return kNone | kDirected;
  else
    return 0;
}

template <typename Dst, typename Src>
Dst ConvertOne(Src v, Rounding r) {
  if constexpr (std::is_integral_v<Dst>) {
    const double x = static_cast<double>(static_cast<float>(v));
    if (!std::isfinite(x))
      Fail("nan-undefined", Msg("Cast of ", x, " to ", TypeName<Dst>(),
                                ": converting NaN/Inf to an integer has no "
                                "documented result on the NPU; select such lanes away before the Cast"));
    const double rounded = RoundToIntegral(x, r);
    if (rounded < static_cast<double>(std::numeric_limits<Dst>::min()) ||
        rounded > static_cast<double>(std::numeric_limits<Dst>::max()))
      Fail("cast-out-of-range", Msg("Cast of ", x, " to ", TypeName<Dst>(),
                                    " is outside the type's range; the NPU "
                                    "result is not documented, clamp the value before the Cast"));
    return static_cast<Dst>(rounded);
  } else if constexpr (std::is_same_v<Dst, float>) {
    if constexpr (std::is_integral_v<Src>)
      return RoundDoubleToFloat(static_cast<double>(v), r);
    else if constexpr (std::is_same_v<Src, float>)
      return static_cast<float>(RoundToIntegral(v, r));
    else
      return static_cast<float>(v);
  } else if constexpr (std::is_same_v<Dst, half>) {
    const float f = std::is_integral_v<Src> ? RoundDoubleToFloat(static_cast<double>(v), Rounding::kNearestEven)
                                            : static_cast<float>(v);
    return half::FromBits(RoundFloatTo16<HalfFormat>(f, r));
  } else {
    static_assert(std::is_same_v<Dst, bfloat16_t>);
    return bfloat16_t::FromBits(RoundFloatTo16<Bf16Format>(static_cast<float>(v), r));
  }
}

}  // namespace sim

namespace AscendC {

template <typename T1, typename T2>
void Cast(const LocalTensor<T1>& dstLocal, const LocalTensor<T2>& srcLocal, const RoundMode& round_mode,
          const uint32_t calCount) {
  constexpr unsigned allowed = ::sim::AllowedModes<T1, T2>();
  static_assert(allowed != 0, "Cast: this (dst, src) type pair is not supported on Atlas A2 (or not by the simulator)");
  if (!(allowed & (1u << static_cast<int>(round_mode))))
    ::sim::Fail("cast-mode", ::sim::Msg("Cast ", ::sim::TypeName<T2>(), " -> ", ::sim::TypeName<T1>(), " with ",
                                        ::sim::RoundModeName(round_mode), " is not supported on Atlas A2"));
  // The Cast page adds to the general rule that widening with overlapping operands may compute
  // wrong results; a narrowing one cannot overlap 100%, so the general rule already refuses it.
  if constexpr (sizeof(T1) > sizeof(T2)) {
    if (calCount > 0)
      ::sim::RequireNoOverlap("Cast (widening)", "Cast", "dst", dstLocal.SimAddr(),
                              static_cast<uint64_t>(calCount) * sizeof(T1), "src", srcLocal.SimAddr(),
                              static_cast<uint64_t>(calCount) * sizeof(T2));
  }
  if (!::sim::BeginCountOp("Cast", calCount, dstLocal, static_cast<uint64_t>(calCount) * sizeof(T1),
                           {::sim::Src("src", srcLocal, calCount)}))
    return;
  const ::sim::Rounding r = ::sim::ToRounding(round_mode);
  T1* d = dstLocal.SimData();
  const T2* s = srcLocal.SimData();
  for (uint32_t i = 0; i < calCount; ++i) d[i] = ::sim::ConvertOne<T1, T2>(s[i], r);
}

}  // namespace AscendC
