// Detects unsynchronised global-memory accesses, per 32-byte line with byte masks:
//  - across cores: between two SyncAll barriers, a byte one core writes may not be read or written
//    by another core (atomic adds from several cores to the same bytes are fine). On hardware the
//    order of such accesses is undefined; in the simulator it would depend on thread timing.
//  - within a core: a GM->UB copy (MTE2) reading bytes an earlier UB->GM copy (MTE3) wrote needs
//    MTE3->MTE2 synchronisation; two overlapping non-atomic UB->GM copies need
//    PipeBarrier<PIPE_MTE3>; a UB->GM copy overwriting bytes an MTE2 copy read needs MTE2->MTE3.
// Scalar accesses (GetValue/SetValue) take part in the cross-core check only; the compiler orders
// them against the DMA pipes of their own core.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "errors.h"
#include "gm_registry.h"
#include "pipe_hazards.h"

namespace sim {

struct GmAccess {
  int64_t core;
  Pipe pipe;
  uint64_t seq;  // the core's instruction number on `pipe`
  bool write;
  bool atomic;
  const char* op;
};

class GmRaces {
 public:
  // Records bytes [addr, addr + bytes) accessed by `a` in the core's SyncAll epoch `epoch`;
  // `clocks` are the accessing core's pipe clocks.
  void Access(const GmAccess& a, uint64_t epoch, const PipeClocks& clocks, uintptr_t addr, uint64_t bytes,
              const GmRegistry& gm) {
    if (bytes == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    for (uintptr_t line = addr / 32; line <= (addr + bytes - 1) / 32; ++line) {
      const uintptr_t lo = std::max<uintptr_t>(addr, line * 32), hi = std::min<uintptr_t>(addr + bytes, line * 32 + 32);
      const uint32_t mask =
          static_cast<uint32_t>(((hi - lo) == 32 ? ~0ull : ((1ull << (hi - lo)) - 1)) << (lo - line * 32));
      Line& state = lines_[line];
      if (state.epoch != epoch) {  // accesses before the last SyncAll are ordered
        state.epoch = epoch;
        state.entries.clear();
      }
      for (const Entry& e : state.entries) {
        if (e.mask & mask) Check(a, e, clocks, line * 32 + __builtin_ctz(e.mask & mask), gm);
      }
      Record(&state, a, mask);
    }
  }

 private:
  struct Entry {
    GmAccess access;
    uint32_t mask;
  };
  struct Line {
    uint64_t epoch = 0;
    std::vector<Entry> entries;
  };

  static void Check(const GmAccess& a, const Entry& e, const PipeClocks& clocks, uintptr_t byte, const GmRegistry& gm) {
    const GmAccess& b = e.access;
    if (!a.write && !b.write) return;
    if (a.write && b.write && a.atomic && b.atomic) return;  // atomic adds commute
    const std::string where = Msg("GM ", gm.Describe(byte));
    if (a.core != b.core) {
      Fail("gm-race", Msg(a.op, (a.write ? " writes " : " reads "), where, " which core ", b.core, " ",
                          (b.write ? (b.atomic ? "atomically added to" : "wrote") : "read"), " (", b.op,
                          ") since the last SyncAll; the order of the two is undefined on hardware, so give the "
                          "cores disjoint GM or put a SyncAll between the accesses"));
    }
    if (a.pipe == Pipe::kS || b.pipe == Pipe::kS) return;
    if (clocks.Known(a.pipe, b.pipe) >= b.seq) return;
    const std::string fix = a.pipe == b.pipe
                                ? Msg("PipeBarrier<PIPE_", PipeName(a.pipe), ">()")
                                : Msg("SetFlag/WaitFlag<HardEvent::", PipeName(b.pipe), "_", PipeName(a.pipe), ">");
    Fail("gm-pipe-hazard",
         Msg(PipeName(a.pipe), " instruction ", a.op, (a.write ? " writes " : " reads "), where, " which this core's ",
             PipeName(b.pipe), " instruction ", b.op, (b.write ? " wrote" : " read"),
             " without synchronisation; insert ", fix, " between them"));
  }

  // Keeps the latest access per byte and kind: a newer access of the same core, pipe and kind
  // supersedes the older one on the bytes it covers.
  static void Record(Line* state, const GmAccess& a, uint32_t mask) {
    std::vector<Entry>& entries = state->entries;
    for (size_t i = 0; i < entries.size();) {
      const GmAccess& b = entries[i].access;
      if (b.core == a.core && b.pipe == a.pipe && b.write == a.write && b.atomic == a.atomic) {
        entries[i].mask &= ~mask;
        if (entries[i].mask == 0) {
          entries[i] = entries.back();
          entries.pop_back();
          continue;
        }
      }
      ++i;
    }
    entries.push_back({a, mask});
  }

  std::mutex mu_;
  std::unordered_map<uintptr_t, Line> lines_;
};

}  // namespace sim
