// The state of one simulated vector core (its UB, statistics, flags, atomic mode, pipe clocks)
// and of the launch it belongs to (GM buffers, SyncAll barrier, atomic lock). Each core runs on
// its own thread and finds its context through a thread-local pointer, as kernel code calls free
// functions (GetBlockIdx, DataCopy, ...) without passing any handle.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api_types.h"
#include "core_barrier.h"
#include "errors.h"
#include "gm_races.h"
#include "gm_registry.h"
#include "pipe_hazards.h"
#include "strictness.h"

namespace sim {

// One row of the SoC table (op_host/dcnv3_soc_table.h).
struct SocConfig {
  std::string name;
  std::string compute_unit;
  int64_t vector_core_num = 0;
  int64_t ub_bytes = 0;
  int64_t clock_mhz = 0;
};

// Per-core counters. DMA counters count DataCopy/DataCopyPad commands between GM and UB (and the
// copies InitOutput issues), split by pipe: MTE2 carries GM->UB, MTE3 UB->GM; atomic_* are the
// MTE3 copies made while SetAtomicAdd was on. Scalar GM accesses (GlobalTensor GetValue/SetValue)
// and scalar UB accesses (LocalTensor GetValue/SetValue/operator()) are separate. A vector
// instruction executes vector_repeat_count 256-byte repeats: repeatTime in the repeat form, the
// bytes of its widest operand over 256 (rounded up) in the count form. Barriers count the
// PipeBarrier calls written in the kernel only; those CANN's compiler inserts itself
// (--cce-auto-sync, e.g. between dependent vector instructions) are not modelled.
struct CoreStats {
  uint64_t gm_read_bytes = 0;
  uint64_t gm_write_bytes = 0;
  uint64_t dma_count = 0;
  uint64_t mte2_dma_count = 0;
  uint64_t mte3_dma_count = 0;
  uint64_t atomic_dma_count = 0;
  uint64_t atomic_write_bytes = 0;
  uint64_t gm_scalar_access_count = 0;
  uint64_t ub_scalar_access_count = 0;
  uint64_t vector_instr_count = 0;
  uint64_t vector_repeat_count = 0;
  uint64_t pipe_barrier_v_count = 0;
  uint64_t pipe_barrier_all_count = 0;
  uint64_t ub_peak_bytes = 0;
};

// Shared by the cores of one launch.
struct LaunchState {
  int64_t block_dim = 1;
  SocConfig soc;
  uint64_t tiling_key = 0;
  bool check_pipe_hazards = true;  // UB pipe hazards and GM races
  RuleLog rules;                   // strict: bug-risk rules fail (strictness.h); lenient: they warn
  GmRegistry gm;
  GmRaces gm_races;
  std::mutex atomic_mutex;  // serialises atomic-add DMAs into GM
  std::unique_ptr<CoreBarrier> barrier;
};

// The element type an atomic DMA accumulates in (SetAtomicAdd<T>).
struct AtomicMode {
  const char* type_name = nullptr;  // null: atomics off
};

// One UB allocation made by TPipe::InitBuffer, kept to explain capacity errors.
struct UbAllocation {
  std::string what;
  uint32_t begin = 0;
  uint32_t bytes = 0;
};

class CoreContext {
 public:
  CoreContext(LaunchState* launch, int64_t block_idx)
      : launch_(launch),
        block_idx_(block_idx),
        ub_(static_cast<size_t>(launch->soc.ub_bytes), 0xFF),  // uninitialised UB reads as NaN
        hazards_(static_cast<uint32_t>(launch->soc.ub_bytes)) {}

  LaunchState& launch() { return *launch_; }
  int64_t block_idx() const { return block_idx_; }
  CoreStats& stats() { return stats_; }
  uint8_t* ub() { return ub_.data(); }
  uint32_t ub_bytes() const { return static_cast<uint32_t>(ub_.size()); }

  // UB allocation by TPipe (bump allocator from address 0).
  uint32_t ub_used() const { return ub_used_; }
  uint32_t AllocateUb(const std::string& what, uint32_t bytes) {
    if (static_cast<uint64_t>(ub_used_) + bytes > ub_.size()) {
      std::string list;
      for (const UbAllocation& a : allocations_) list += Msg("\n  ", a.what, ": ", a.bytes, " B at ", a.begin);
      Fail("ub-capacity", Msg("InitBuffer of ", what, " needs ", bytes, " B but only ", ub_.size() - ub_used_,
                              " of the ", ub_.size(), " B UB of ", launch_->soc.name,
                              " are left; allocated so far:", list.empty() ? std::string(" nothing") : list));
    }
    const uint32_t begin = ub_used_;
    ub_used_ += bytes;
    allocations_.push_back({what, begin, bytes});
    if (ub_used_ > stats_.ub_peak_bytes) stats_.ub_peak_bytes = ub_used_;
    return begin;
  }
  void ResetUb() {
    ub_used_ = 0;
    allocations_.clear();
  }
  int live_pipes = 0;
  void* current_pipe = nullptr;  // the live AscendC::TPipe
  int next_queue_id = 1;
  int buffers_in_pipe = 0;  // TPipe manages at most 64 buffers

  AtomicMode atomic;
  KernelMetaType kernel_type = KERNEL_TYPE_MAX;  // KERNEL_TASK_TYPE_DEFAULT; MAX: none declared

  PipeClocks clocks;
  uint64_t sync_epoch = 0;  // SyncAll barriers passed
  UbHazards& hazards() { return hazards_; }
  bool check_hazards() const { return launch_->check_pipe_hazards; }

  // Hardware event flags are single bits: SetFlag sets, WaitFlag waits until set and clears.
  // The snapshot of the signalling pipe's clock travels with the flag.
  struct Flag {
    bool set = false;
    ClockSnapshot snapshot{};
  };
  Flag& flag(AscendC::HardEvent e, int32_t id) { return flags_[static_cast<int>(e)][id]; }
  // The first flag still set (SetFlag without its WaitFlag), as event and id; false if none.
  bool FirstSetFlag(AscendC::HardEvent* e, int32_t* id) const {
    for (int ev = 0; ev < static_cast<int>(AscendC::HardEvent::MAX); ++ev)
      for (int32_t i = 0; i < 8; ++i)
        if (flags_[ev][i].set) {
          *e = static_cast<AscendC::HardEvent>(ev);
          *id = i;
          return true;
        }
    return false;
  }

 private:
  LaunchState* launch_;
  int64_t block_idx_;
  std::vector<uint8_t> ub_;
  uint32_t ub_used_ = 0;
  std::vector<UbAllocation> allocations_;
  CoreStats stats_;
  UbHazards hazards_;
  Flag flags_[static_cast<int>(AscendC::HardEvent::MAX)][8];
};

inline thread_local CoreContext* t_core = nullptr;

// The calling core; kernel API used outside a simulated launch is a programming error.
inline CoreContext& Core() {
  if (!t_core) throw SimError("no-core", "AscendC API called outside a simulated kernel launch");
  return *t_core;
}

// Statistics hooks the API implementations call (see CoreStats for what each counts).
inline void RecordDma(uint64_t read_bytes, uint64_t write_bytes) {
  CoreContext& c = Core();
  CoreStats& s = c.stats();
  ++s.dma_count;
  s.gm_read_bytes += read_bytes;
  s.gm_write_bytes += write_bytes;
  if (read_bytes) ++s.mte2_dma_count;
  if (write_bytes) {
    ++s.mte3_dma_count;
    if (c.atomic.type_name) {
      ++s.atomic_dma_count;
      s.atomic_write_bytes += write_bytes;
    }
  }
}

// One vector instruction of `repeats` 256-byte repeats.
inline void RecordVector(uint64_t repeats) {
  CoreStats& s = Core().stats();
  ++s.vector_instr_count;
  s.vector_repeat_count += repeats;
}

// Repeats a count-form instruction needs for an operand of `bytes`.
inline uint64_t RepeatsFor(uint64_t bytes) { return (bytes + 255) / 256; }

inline void RecordUbScalarAccess() { ++Core().stats().ub_scalar_access_count; }

// Records a GM access of `bytes` at `addr` for the race and pipe-hazard checks (UB->GM writes
// count as atomic while an atomic mode is on).
inline void TrackGm(Pipe pipe, uint64_t seq, const char* op, bool write, const void* addr, uint64_t bytes) {
  CoreContext& c = Core();
  if (!c.check_hazards()) return;
  const GmAccess access{c.block_idx(), pipe, seq, write, write && c.atomic.type_name != nullptr, op};
  c.launch().gm_races.Access(access, c.sync_epoch, c.clocks, reinterpret_cast<uintptr_t>(addr), bytes, c.launch().gm);
}

inline uint64_t CurrentTilingKey() { return Core().launch().tiling_key; }

}  // namespace sim
