// Synchronisation (SetFlag/WaitFlag, PipeBarrier, SyncAll), DMA atomics (SetAtomicAdd,
// SetAtomicNone), system variables (GetBlockIdx, GetBlockNum, GetUserWorkspace) and InitOutput.
#pragma once

#include <cstdint>
#include <cstring>

#include "api_types.h"
#include "core_context.h"
#include "data_copy.h"
#include "kernel_type.h"
#include "operand_checks.h"
#include "tensors.h"
#include "vector_arith.h"

namespace sim {

inline void CheckEvent(const char* op, AscendC::HardEvent e, int32_t id, Pipe* src, Pipe* dst) {
  if (!EventPipes(e, src, dst))
    Fail("event-invalid", Msg(op, "<HardEvent::", EventName(e),
                              ">: not an event of the vector core (it has the "
                              "S, V, MTE2 and MTE3 pipes only)"));
  if (id < 0 || id > 7)
    Fail("event-id-range", Msg(op, "<HardEvent::", EventName(e), ">(", id, "): event ids are 0..7 on Atlas A2"));
}

}  // namespace sim

namespace AscendC {

template <HardEvent event>
void SetFlag(int32_t eventID) {
  ::sim::Pipe src, dst;
  ::sim::CheckEvent("SetFlag", event, eventID, &src, &dst);
  ::sim::CoreContext& core = ::sim::Core();
  ::sim::CoreContext::Flag& f = core.flag(event, eventID);
  // SetFlag and WaitFlag must come in pairs (asc-devkit 核内同步/SetFlag-WaitFlag(ISASI).md, 约束说明):
  // the flag is one bit, so a second SetFlag before the WaitFlag is lost and the pipe that waits
  // twice hangs, or a later WaitFlag consumes the wrong signal.
  if (f.set)
    ::sim::Fail("event-set-twice",
                ::sim::Msg("SetFlag<HardEvent::", ::sim::EventName(event), ">(", eventID,
                           ") while the previous SetFlag of that event and id has not been consumed; call "
                           "WaitFlag<HardEvent::",
                           ::sim::EventName(event), ">(", eventID, ") in between (flags are single bits)"));
  f.set = true;
  f.snapshot = core.clocks.Signal(src);
}

template <HardEvent event>
void WaitFlag(int32_t eventID) {
  ::sim::Pipe src, dst;
  ::sim::CheckEvent("WaitFlag", event, eventID, &src, &dst);
  ::sim::CoreContext& core = ::sim::Core();
  ::sim::CoreContext::Flag& f = core.flag(event, eventID);
  if (!f.set)
    ::sim::Fail("waitflag-unset",
                ::sim::Msg("WaitFlag<HardEvent::", ::sim::EventName(event), ">(", eventID,
                           ") with no pending SetFlag<HardEvent::", ::sim::EventName(event), ">(", eventID,
                           "); on hardware the ", ::sim::PipeName(dst), " pipe would wait forever"));
  f.set = false;
  if (dst == ::sim::Pipe::kS) {
    // The scalar unit issues every instruction in program order; while it waits, nothing later
    // reaches any pipe, so every pipe's later instructions are ordered after the signal.
    for (::sim::Pipe p : {::sim::Pipe::kMte2, ::sim::Pipe::kMte3, ::sim::Pipe::kV, ::sim::Pipe::kS})
      core.clocks.Absorb(p, f.snapshot);
  } else {
    core.clocks.Absorb(dst, f.snapshot);
  }
}

template <pipe_t pipe>
void PipeBarrier() {
  ::sim::CoreContext& core = ::sim::Core();
  switch (pipe) {
    case PIPE_ALL:
      core.clocks.BarrierAll();
      ++core.stats().pipe_barrier_all_count;
      break;
    case PIPE_V:
      core.clocks.Barrier(::sim::Pipe::kV);
      ++core.stats().pipe_barrier_v_count;
      break;
    case PIPE_MTE2: core.clocks.Barrier(::sim::Pipe::kMte2); break;
    case PIPE_MTE3: core.clocks.Barrier(::sim::Pipe::kMte3); break;
    case PIPE_S: ::sim::Fail("pipe-barrier", "PipeBarrier<PIPE_S> is not supported (scalar order is kept by hardware)");
    default:
      ::sim::Fail("pipe-barrier",
                  ::sim::Msg("PipeBarrier<", static_cast<int>(pipe), ">: not a pipe of the vector core"));
  }
}

// Hardware all-core barrier (also a full pipe barrier on every core). Every launched core must be
// resident at once, so block_dim may not exceed the vector core count, and the kernel must be of a
// type CANN builds with the FFTS address (kernel_type.h).
template <bool isAIVOnly = true>
void SyncAll() {
  static_assert(isAIVOnly, "the simulator runs vector-only kernels: use SyncAll<true>()");
  ::sim::RequireHardSyncKernelType();
  ::sim::CoreContext& core = ::sim::Core();
  ::sim::LaunchState& launch = core.launch();
  if (launch.block_dim > launch.soc.vector_core_num)
    ::sim::Fail("syncall-oversubscribed",
                ::sim::Msg("SyncAll with block_dim=", launch.block_dim, " on ", launch.soc.name, " which has ",
                           launch.soc.vector_core_num,
                           " vector cores; cores "
                           "beyond that start only when others finish, so the barrier never opens"));
  core.clocks.BarrierAll();
  launch.barrier->Arrive(core.block_idx());
  ++core.sync_epoch;
}

template <typename T>
void SetAtomicAdd() {
  static_assert(::sim::kIsOneOf<T, float, half, bfloat16_t, int8_t, int16_t, int32_t>,
                "SetAtomicAdd on Atlas A2 supports float/half/bfloat16_t/int8_t/int16_t/int32_t");
  ::sim::Core().atomic = {::sim::TypeName<T>()};
}

inline void SetAtomicNone() { ::sim::Core().atomic = {}; }

inline int64_t GetBlockIdx() { return ::sim::Core().block_idx(); }
inline int64_t GetBlockNum() { return ::sim::Core().launch().block_dim; }

// The simulator gives the kernel its user workspace only (no system workspace in front).
inline GM_ADDR GetUserWorkspace(GM_ADDR workspace) { return workspace; }

// Fills gm[0, size) with `value` the way CANN does: Duplicate into the free UB above the TPipe
// buffers, then UB->GM copies of at most 255 blocks each (atomic if an atomic mode is on).
template <typename T>
void InitOutput(GlobalTensor<T> gmWorkspaceAddr, uint32_t size, T value = 0) {
  ::sim::CoreContext& core = ::sim::Core();
  const uint32_t free_bytes = (core.ub_bytes() - core.ub_used()) / 32 * 32;
  const uint32_t max_burst = MAX_REPEAT_TIMES * ONE_BLK_SIZE / sizeof(T);
  const uint32_t pop = std::min<uint32_t>(free_bytes / sizeof(T), max_burst);
  if (size == 0) return;
  if (pop == 0)
    ::sim::Fail("ub-capacity", "InitOutput needs free UB above the TPipe buffers as scratch but none is left");
  gmWorkspaceAddr.SimCheck("InitOutput", 0, static_cast<uint64_t>(size) * sizeof(T));
  T* scratch = reinterpret_cast<T*>(core.ub() + core.ub_used());
  for (uint32_t i = 0; i < pop; ++i) scratch[i] = value;
  ::sim::RecordVector(::sim::RepeatsFor(static_cast<uint64_t>(pop) * sizeof(T)));  // the Duplicate
  for (uint32_t done = 0; done < size; done += pop) {
    const uint32_t n = std::min(pop, size - done);
    const ::sim::PipeOp op = ::sim::BeginOp(::sim::Pipe::kMte3, "InitOutput");
    ::sim::TrackGm(op.pipe, op.seq, op.name, true, gmWorkspaceAddr.SimAddr() + done,
                   static_cast<uint64_t>(n) * sizeof(T));
    ::sim::StoreToGm(gmWorkspaceAddr.SimAddr() + done, scratch, n);
    ::sim::CountDma(0, static_cast<uint64_t>(n) * sizeof(T));
  }
}

}  // namespace AscendC
