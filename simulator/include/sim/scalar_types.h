// The 16-bit float types of the AscendC device compiler (`half`, `bfloat16_t`) as host classes,
// plus the rounding primitives Cast needs. Values are stored as IEEE bit patterns so a GM buffer
// filled by torch (float16 / bfloat16) is read bit-exactly.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace sim {

template <typename To, typename From>
inline To BitCast(const From& v) {
  static_assert(sizeof(To) == sizeof(From), "BitCast needs equal sizes");
  To out;
  std::memcpy(&out, &v, sizeof(To));
  return out;
}

// Rounding directions of Cast (RoundMode maps onto these; CAST_NONE means nearest-even when the
// conversion loses precision).
enum class Rounding { kNearestEven, kFloor, kCeil, kAwayFromZero, kTowardZero, kOdd };

// IEEE binary16.
struct HalfFormat {
  static float ToFloat(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
      const float mag = std::ldexp(static_cast<float>(mant), -24);
      return sign ? -mag : mag;
    }
    if (exp == 31) return BitCast<float>(sign | 0x7f800000u | (mant << 13));
    return BitCast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
  }
  // Round to nearest, ties to even.
  static uint16_t FromFloatNearestEven(float f) {
    uint32_t x = BitCast<uint32_t>(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return static_cast<uint16_t>(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
    if (x < 0x38800000u) {  // below the smallest normal half (2^-14): round in units of 2^-24
      const float scaled = BitCast<float>(x) * 16777216.0f;  // exact (power of two)
      return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
    }
    // Normal: drop 13 mantissa bits with round-half-even, re-biasing the exponent by -112.
    const uint32_t odd = (x >> 13) & 1u;
    x += 0xfffu + odd;
    return static_cast<uint16_t>(sign | ((x - (112u << 23)) >> 13));
  }
};

// bfloat16: the upper half of a float.
struct Bf16Format {
  static float ToFloat(uint16_t b) { return BitCast<float>(static_cast<uint32_t>(b) << 16); }
  static uint16_t FromFloatNearestEven(float f) {
    const uint32_t x = BitCast<uint32_t>(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
  }
};

// Next representable value above/below in a sign-magnitude 16-bit format (NaN excluded).
inline uint16_t NextUp16(uint16_t b) {
  if (b == 0x8000u) return 0x0001u;  // -0 -> smallest positive subnormal
  return (b & 0x8000u) ? static_cast<uint16_t>(b - 1) : static_cast<uint16_t>(b + 1);
}
inline uint16_t NextDown16(uint16_t b) {
  if (b == 0x0000u) return 0x8001u;
  return (b & 0x8000u) ? static_cast<uint16_t>(b + 1) : static_cast<uint16_t>(b - 1);
}

// Rounds a float to a 16-bit format in any direction: take the nearest-even result, find the
// neighbour on the other side of the exact value, and pick between the two.
template <typename Format>
inline uint16_t RoundFloatTo16(float f, Rounding r) {
  const uint16_t nearest = Format::FromFloatNearestEven(f);
  if (std::isnan(f) || r == Rounding::kNearestEven) return nearest;
  const double exact = f;
  const double near_value = Format::ToFloat(nearest);
  if (near_value == exact) return nearest;
  const uint16_t lo = near_value < exact ? nearest : NextDown16(nearest);
  const uint16_t hi = near_value < exact ? NextUp16(nearest) : nearest;
  switch (r) {
    case Rounding::kFloor: return lo;
    case Rounding::kCeil: return hi;
    case Rounding::kTowardZero: return exact > 0 ? lo : hi;
    case Rounding::kOdd: {
      const bool hi_is_inf = std::isinf(Format::ToFloat(hi)), lo_is_inf = std::isinf(Format::ToFloat(lo));
      if (hi_is_inf) return lo;
      if (lo_is_inf) return hi;
      return (lo & 1u) ? lo : hi;
    }
    case Rounding::kAwayFromZero: {
      const double d_lo = exact - Format::ToFloat(lo), d_hi = Format::ToFloat(hi) - exact;
      if (d_lo < d_hi) return lo;
      if (d_hi < d_lo) return hi;
      return exact > 0 ? hi : lo;
    }
    case Rounding::kNearestEven: break;
  }
  return nearest;
}

// Rounds a double holding a float-convertible value to float in any direction.
inline float RoundDoubleToFloat(double v, Rounding r) {
  const float nearest = static_cast<float>(v);  // nearest-even under the default FP environment
  if (std::isnan(v) || r == Rounding::kNearestEven || static_cast<double>(nearest) == v) return nearest;
  const float lo = static_cast<double>(nearest) < v ? nearest : std::nextafter(nearest, -INFINITY);
  const float hi = static_cast<double>(nearest) < v ? std::nextafter(nearest, INFINITY) : nearest;
  switch (r) {
    case Rounding::kFloor: return lo;
    case Rounding::kCeil: return hi;
    case Rounding::kTowardZero: return v > 0 ? lo : hi;
    case Rounding::kOdd: return (BitCast<uint32_t>(lo) & 1u) ? lo : hi;
    case Rounding::kAwayFromZero: {
      const double d_lo = v - lo, d_hi = hi - v;
      if (d_lo != d_hi) return d_lo < d_hi ? lo : hi;
      return v > 0 ? hi : lo;
    }
    case Rounding::kNearestEven: break;
  }
  return nearest;
}

// Rounds a float to an integral float value in the given direction.
inline double RoundToIntegral(double v, Rounding r) {
  switch (r) {
    case Rounding::kFloor: return std::floor(v);
    case Rounding::kCeil: return std::ceil(v);
    case Rounding::kTowardZero: return std::trunc(v);
    case Rounding::kAwayFromZero: return std::round(v);
    case Rounding::kNearestEven: return std::nearbyint(v);
    case Rounding::kOdd: {
      const double t = std::trunc(v);
      return (t == v || std::fmod(t, 2.0) != 0.0) ? t : t + (v > 0 ? 1.0 : -1.0);
    }
  }
  return v;
}

// A 16-bit float value type shaped like the CPU-debug `half` of CANN: implicit conversion from
// and to arithmetic types, arithmetic between two values of the type rounding to nearest-even.
template <typename Format>
class Float16 {
 public:
  Float16() = default;
  Float16(float v) : bits_(Format::FromFloatNearestEven(v)) {}               // NOLINT: implicit like the device type
  Float16(double v) : bits_(Format::FromFloatNearestEven(static_cast<float>(v))) {}  // NOLINT
  Float16(int32_t v) : Float16(static_cast<float>(v)) {}                      // NOLINT
  Float16(uint32_t v) : Float16(static_cast<float>(v)) {}                     // NOLINT
  Float16(int64_t v) : Float16(static_cast<float>(v)) {}                      // NOLINT
  Float16(uint64_t v) : Float16(static_cast<float>(v)) {}                     // NOLINT
  Float16(int16_t v) : Float16(static_cast<float>(v)) {}                      // NOLINT
  Float16(uint16_t v) : Float16(static_cast<float>(v)) {}                     // NOLINT
  Float16(int8_t v) : Float16(static_cast<float>(v)) {}                       // NOLINT
  Float16(uint8_t v) : Float16(static_cast<float>(v)) {}                      // NOLINT

  static Float16 FromBits(uint16_t b) {
    Float16 h;
    h.bits_ = b;
    return h;
  }
  uint16_t Bits() const { return bits_; }

  operator float() const { return Format::ToFloat(bits_); }  // NOLINT
  explicit operator double() const { return Format::ToFloat(bits_); }
  explicit operator int32_t() const { return static_cast<int32_t>(Format::ToFloat(bits_)); }

  Float16 operator+(Float16 o) const { return Float16(float(*this) + float(o)); }
  Float16 operator-(Float16 o) const { return Float16(float(*this) - float(o)); }
  Float16 operator*(Float16 o) const { return Float16(float(*this) * float(o)); }
  Float16 operator/(Float16 o) const { return Float16(float(*this) / float(o)); }
  Float16 operator-() const { return FromBits(static_cast<uint16_t>(bits_ ^ 0x8000u)); }
  Float16& operator+=(Float16 o) { return *this = *this + o; }
  Float16& operator-=(Float16 o) { return *this = *this - o; }
  Float16& operator*=(Float16 o) { return *this = *this * o; }
  Float16& operator/=(Float16 o) { return *this = *this / o; }
  bool operator==(Float16 o) const { return float(*this) == float(o); }
  bool operator!=(Float16 o) const { return float(*this) != float(o); }
  bool operator<(Float16 o) const { return float(*this) < float(o); }
  bool operator>(Float16 o) const { return float(*this) > float(o); }
  bool operator<=(Float16 o) const { return float(*this) <= float(o); }
  bool operator>=(Float16 o) const { return float(*this) >= float(o); }

 private:
  uint16_t bits_ = 0;
};

}  // namespace sim

// Global names, as the device compiler spells them.
using half = sim::Float16<sim::HalfFormat>;
using bfloat16_t = sim::Float16<sim::Bf16Format>;

namespace sim {

template <typename T>
inline constexpr bool kIsFloat16 = std::is_same_v<T, half> || std::is_same_v<T, bfloat16_t>;

// Widening to float for any element type the vector unit handles.
template <typename T>
inline float ToF32(T v) {
  return static_cast<float>(v);
}

}  // namespace sim
