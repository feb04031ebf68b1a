// The vector mask register of a core and its two modes (asc-devkit 掩码操作: SetMaskNorm,
// SetMaskCount, SetVectorMask, ResetMask). Every repeat-form vector instruction executes under the
// register: with isSetMask=true the API first writes its mask argument into it (CANN 8.1
// AscendCUtils::SetMask<T, true>), with isSetMask=false it uses whatever the register holds and the
// mask argument (MASK_PLACEHOLDER) is ignored (SetMask<T, false> returns at once, kernel_utils.h).
//   Normal mode: (maskHigh, maskLow) is a per-iteration lane mask, `repeatTimes` iterations run.
//   Counter mode: maskLow counts the elements of the whole instruction; the iteration count is
//   inferred (repeatTimes is ignored, and may exceed 255), the last iteration taking the remainder.
// Count-form instructions (first n elements) switch to counter mode themselves and leave the
// register reset to all ones in normal mode (SetMaskCount ... ResetMask(); SetMaskNorm()); Gather
// and CreateVecIndex leave their last mask, Compare and CompareScalar leave it alone
// (vector_select.h), Brcb and Gatherb reset it (vector_gather.h).
#pragma once

#include <cstdint>
#include <vector>

#include "errors.h"

namespace AscendC {

enum class MaskMode : uint8_t { NORMAL = 0, COUNTER };

constexpr uint64_t MASK_PLACEHOLDER = 0;
constexpr uint64_t MASK_PLACEHOLDER_LIST[2] = {0, 0};
const uint64_t FULL_MASK = 0xffffffffffffffff;

}  // namespace AscendC

namespace sim {

struct MaskRegister {
  bool counter = false;
  uint64_t high = ~0ull;
  uint64_t low = ~0ull;
};

// The register of the calling core. Each simulated core runs on a thread of its own, created
// afresh by every launch, so a thread-local register starts each core in the reset state.
inline thread_local MaskRegister t_mask_register;

inline void WriteMaskRegister(uint64_t high, uint64_t low) {
  t_mask_register.high = high;
  t_mask_register.low = low;
}

// AscendCUtils::SetMask<T>(len): the first `len` lanes of an iteration.
template <typename T>
void WriteContinuousMask(uint64_t len) {
  constexpr uint64_t lanes = 256 / sizeof(T), full = ~0ull;
  if (len == 64)
    WriteMaskRegister(0, full);
  else if (len == lanes || len >= 128)
    WriteMaskRegister(full, full);
  else if (len > 64)
    WriteMaskRegister((1ull << (len - 64)) - 1, full);
  else
    WriteMaskRegister(0, (1ull << len) - 1);
}

// What a count-form instruction leaves behind.
inline void ResetAfterCountForm() { t_mask_register = MaskRegister{}; }

// A run of iterations sharing one lane mask: iterations [first, first + repeat).
struct MaskedIterations {
  uint64_t low = 0, high = 0;
  uint32_t first = 0, repeat = 0;
};

// The iterations an instruction of `repeat_times` iterations over `lanes` lanes runs under the
// current register. Lanes 64.. exist only for 16-bit types, where maskHigh covers them.
inline std::vector<MaskedIterations> ActiveIterations(uint32_t lanes, uint32_t repeat_times) {
  const MaskRegister& m = t_mask_register;
  const uint64_t full_low = lanes >= 64 ? ~0ull : (1ull << lanes) - 1;
  const uint64_t full_high = lanes > 64 ? (lanes >= 128 ? ~0ull : (1ull << (lanes - 64)) - 1) : 0;
  if (!m.counter) {
    return {{m.low & full_low, m.high & full_high, 0, repeat_times}};
  }
  std::vector<MaskedIterations> runs;
  const uint64_t whole = m.low / lanes, tail = m.low % lanes;
  // No 255 limit here: repeatTimes is not used in counter mode (SetMaskCount.md: the vector unit
  // infers the iterations), and CANN 8.1's count forms issue one instruction for any count
  // (dav_c220 kernel_operator_vec_binary_impl.h, AddImpl: set_vector_mask(0, calCount); vadd(..., 1, ...)).
  // 65,535 iterations are 16 MiB per operand, past any UB: stop rather than walk them.
  if (whole > 65535)
    Fail("sim-unsupported", Msg("counter mode with ", m.low, " elements: ", whole,
                                " iterations are more than any UB holds; the simulator does not walk them"));
  if (whole > 0) runs.push_back({full_low, full_high, 0, static_cast<uint32_t>(whole)});
  if (tail > 0) {
    const uint64_t low = tail >= 64 ? ~0ull : (1ull << tail) - 1;
    const uint64_t high = tail > 64 ? (1ull << (tail - 64)) - 1 : 0;
    runs.push_back({low, high, static_cast<uint32_t>(whole), 1});
  }
  return runs;
}

}  // namespace sim

namespace AscendC {

inline void SetMaskCount() { ::sim::t_mask_register.counter = true; }
inline void SetMaskNorm() { ::sim::t_mask_register.counter = false; }

template <typename T, MaskMode mode = MaskMode::NORMAL>
static inline void SetVectorMask(const uint64_t maskHigh, const uint64_t maskLow) {
  ::sim::WriteMaskRegister(maskHigh, maskLow);
}

template <typename T, MaskMode mode = MaskMode::NORMAL>
static inline void SetVectorMask(int32_t len) {
  if constexpr (mode == MaskMode::COUNTER) {
    ::sim::WriteMaskRegister(0, static_cast<uint64_t>(static_cast<int64_t>(len)));
  } else {
    ::sim::WriteContinuousMask<T>(static_cast<uint64_t>(len));
  }
}

inline void ResetMask() { ::sim::WriteMaskRegister(FULL_MASK, FULL_MASK); }

}  // namespace AscendC
