// Device-compiler builtins and small helpers that AscendC kernels outside this project use: the
// raw synchronisation intrinsics (set_flag / wait_flag / pipe_barrier, as in CANN's tikicpulib
// stub_fun.h), the raw mask intrinsics, ASSERT (kernel_macros.h), scalar bit utilities
// (kernel_operator_scalar_intf.h), and the constants and rounding helpers of CANN 8.1's
// kernel_utils_constants.h / kernel_utils_ceil_oom_que.h. Each maps onto the simulator's API.
#pragma once

#include <cstdint>

#include "api_types.h"
#include "errors.h"
#include "sync_atomic.h"
#include "vector_mask.h"

namespace sim {

// The HardEvent of a (source pipe, destination pipe) pair, or MAX when the vector core has none.
inline AscendC::HardEvent EventOfPipes(pipe_t src, pipe_t dst) {
  using AscendC::HardEvent;
  struct Pair {
    pipe_t src, dst;
    HardEvent event;
  };
  static constexpr Pair kPairs[] = {
      {PIPE_MTE2, PIPE_V, HardEvent::MTE2_V},
      {PIPE_V, PIPE_MTE2, HardEvent::V_MTE2},
      {PIPE_MTE3, PIPE_V, HardEvent::MTE3_V},
      {PIPE_V, PIPE_MTE3, HardEvent::V_MTE3},
      {PIPE_V, PIPE_V, HardEvent::V_V},
      {PIPE_MTE3, PIPE_MTE2, HardEvent::MTE3_MTE2},
      {PIPE_MTE2, PIPE_MTE3, HardEvent::MTE2_MTE3},
      {PIPE_S, PIPE_V, HardEvent::S_V},
      {PIPE_V, PIPE_S, HardEvent::V_S},
      {PIPE_S, PIPE_MTE2, HardEvent::S_MTE2},
      {PIPE_MTE2, PIPE_S, HardEvent::MTE2_S},
      {PIPE_S, PIPE_MTE3, HardEvent::S_MTE3},
      {PIPE_MTE3, PIPE_S, HardEvent::MTE3_S},
  };
  for (const Pair& p : kPairs)
    if (p.src == src && p.dst == dst) return p.event;
  return HardEvent::MAX;
}

// SetFlag/WaitFlag take the event as a template argument; the intrinsics take it at run time.
template <bool kSet>
void FlagByPipes(const char* op, pipe_t src, pipe_t dst, int32_t id) {
  using AscendC::HardEvent;
  switch (EventOfPipes(src, dst)) {
    // clang-format off: the case list stays a table
#define SIM_FLAG_CASE(E) \
  case HardEvent::E: kSet ? AscendC::SetFlag<HardEvent::E>(id) : AscendC::WaitFlag<HardEvent::E>(id); return;
    SIM_FLAG_CASE(MTE2_V) SIM_FLAG_CASE(V_MTE2) SIM_FLAG_CASE(MTE3_V) SIM_FLAG_CASE(V_MTE3) SIM_FLAG_CASE(V_V)
    SIM_FLAG_CASE(MTE3_MTE2) SIM_FLAG_CASE(MTE2_MTE3) SIM_FLAG_CASE(S_V) SIM_FLAG_CASE(V_S) SIM_FLAG_CASE(S_MTE2)
    SIM_FLAG_CASE(MTE2_S) SIM_FLAG_CASE(S_MTE3) SIM_FLAG_CASE(MTE3_S)
    // clang-format on
#undef SIM_FLAG_CASE
                default : Fail("event-invalid", Msg(op, "(", static_cast<int>(src), ", ", static_cast<int>(dst), ", ",
                                                    id, "): no event between these pipes on the vector core"));
  }
}

}  // namespace sim

inline void set_flag(pipe_t pipe, pipe_t tpipe, event_t pipeID) {
  ::sim::FlagByPipes<true>("set_flag", pipe, tpipe, static_cast<int32_t>(pipeID));
}
inline void wait_flag(pipe_t pipe, pipe_t tpipe, event_t pipeID) {
  ::sim::FlagByPipes<false>("wait_flag", pipe, tpipe, static_cast<int32_t>(pipeID));
}
inline void pipe_barrier(pipe_t pipe) {
  switch (pipe) {
    case PIPE_ALL: AscendC::PipeBarrier<PIPE_ALL>(); break;
    case PIPE_V: AscendC::PipeBarrier<PIPE_V>(); break;
    case PIPE_MTE2: AscendC::PipeBarrier<PIPE_MTE2>(); break;
    case PIPE_MTE3: AscendC::PipeBarrier<PIPE_MTE3>(); break;
    case PIPE_S: AscendC::PipeBarrier<PIPE_S>(); break;
    default:
      ::sim::Fail("pipe-barrier", ::sim::Msg("pipe_barrier(", static_cast<int>(pipe), "): not a vector-core pipe"));
  }
}

inline void set_mask_count() { AscendC::SetMaskCount(); }
inline void set_mask_norm() { AscendC::SetMaskNorm(); }
inline void set_vector_mask(uint64_t maskHigh, uint64_t maskLow) { ::sim::WriteMaskRegister(maskHigh, maskLow); }

// The device build compiles ASSERT away (kernel_macros.h); CANN's CPU debug build aborts on it.
// The simulator, like the CPU debug build, refuses a kernel whose own assertion fails.
#define ASSERT(x)                                                                                                      \
  do {                                                                                                                 \
    if (!(x)) ::sim::Fail("kernel-assert", ::sim::Msg("ASSERT(", #x, ") failed in ", __func__));                       \
  } while (0)

namespace AscendC {

const uint8_t B16_DATA_NUM_PER_BLOCK = 16;
const uint8_t B32_DATA_NUM_PER_BLOCK = 8;
const int32_t B16_DATA_NUM_PER_REPEAT = 128;
const int32_t B32_DATA_NUM_PER_REPEAT = 64;
const uint32_t BRCB_BROADCAST_NUMBER = 8;

inline uint32_t DivCeil(uint32_t a, uint32_t b) { return (a + b - 1) / b; }
inline uint32_t AlignUp(uint32_t a, uint32_t b) { return DivCeil(a, b) * b; }

// Position of the first bit equal to countValue (0 or 1), counting from the least significant
// bit; -1 when there is none (ScalarGetSFFValue page of asc-devkit, 标量计算).
template <int countValue>
inline int64_t ScalarGetSFFValue(uint64_t valueIn) {
  static_assert(countValue == 0 || countValue == 1, "ScalarGetSFFValue: countValue must be 0 or 1");
  const uint64_t v = countValue == 1 ? valueIn : ~valueIn;
  if (v == 0) return -1;
  int64_t i = 0;
  while (((v >> i) & 1u) == 0) ++i;
  return i;
}

}  // namespace AscendC
