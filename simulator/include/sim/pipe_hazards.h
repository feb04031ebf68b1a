// Detects missing intra-core synchronisation. On hardware the MTE2 (GM->UB), MTE3 (UB->GM) and V
// (vector) pipes run concurrently; the simulator runs every instruction to completion at once, so
// a kernel that forgot a SetFlag/WaitFlag would pass here and fail on the NPU. Each pipe keeps a
// vector clock of what it knows has completed on the other pipes; SetFlag/WaitFlag, TQue
// EnQue/DeQue and Alloc/Free, PipeBarrier and SyncAll move that knowledge. Every UB access is
// checked against the last writer and readers of the 32-byte blocks it touches.
//
// Not checked, because CANN's compiler (--cce-auto-sync, on by default) inserts these itself:
// V after V, and anything involving the scalar pipe S (GetValue/SetValue).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "api_types.h"
#include "errors.h"

namespace sim {

enum class Pipe : uint8_t { kMte2 = 0, kMte3 = 1, kV = 2, kS = 3 };
constexpr int kPipeCount = 4;

inline const char* PipeName(Pipe p) {
  switch (p) {
    case Pipe::kMte2: return "MTE2";
    case Pipe::kMte3: return "MTE3";
    case Pipe::kV: return "V";
    case Pipe::kS: return "S";
  }
  return "?";
}

// Source and destination pipe of a HardEvent the vector core has; false for cube-side events.
inline bool EventPipes(AscendC::HardEvent e, Pipe* src, Pipe* dst) {
  using AscendC::HardEvent;
  switch (e) {
    case HardEvent::MTE2_V: *src = Pipe::kMte2; *dst = Pipe::kV; return true;
    case HardEvent::V_MTE2: *src = Pipe::kV; *dst = Pipe::kMte2; return true;
    case HardEvent::MTE3_V: *src = Pipe::kMte3; *dst = Pipe::kV; return true;
    case HardEvent::V_MTE3: *src = Pipe::kV; *dst = Pipe::kMte3; return true;
    case HardEvent::V_V: *src = Pipe::kV; *dst = Pipe::kV; return true;
    case HardEvent::MTE3_MTE2: *src = Pipe::kMte3; *dst = Pipe::kMte2; return true;
    case HardEvent::MTE2_MTE3: *src = Pipe::kMte2; *dst = Pipe::kMte3; return true;
    case HardEvent::S_V: *src = Pipe::kS; *dst = Pipe::kV; return true;
    case HardEvent::V_S: *src = Pipe::kV; *dst = Pipe::kS; return true;
    case HardEvent::S_MTE2: *src = Pipe::kS; *dst = Pipe::kMte2; return true;
    case HardEvent::MTE2_S: *src = Pipe::kMte2; *dst = Pipe::kS; return true;
    case HardEvent::S_MTE3: *src = Pipe::kS; *dst = Pipe::kMte3; return true;
    case HardEvent::MTE3_S: *src = Pipe::kMte3; *dst = Pipe::kS; return true;
    default: return false;
  }
}

using ClockSnapshot = std::array<uint64_t, kPipeCount>;

class PipeClocks {
 public:
  uint64_t Issue(Pipe p) { return ++issued_[Idx(p)]; }
  // What a SetFlag on `src` promises: everything src issued so far, plus what src already knew.
  ClockSnapshot Signal(Pipe src) const {
    ClockSnapshot s = known_[Idx(src)];
    s[Idx(src)] = issued_[Idx(src)];
    return s;
  }
  void Absorb(Pipe dst, const ClockSnapshot& s) {
    for (int q = 0; q < kPipeCount; ++q) known_[Idx(dst)][q] = std::max(known_[Idx(dst)][q], s[q]);
  }
  void Barrier(Pipe p) { known_[Idx(p)][Idx(p)] = issued_[Idx(p)]; }
  void BarrierAll() {
    for (auto& row : known_) row = issued_;
  }
  uint64_t Known(Pipe by, Pipe of) const { return known_[Idx(by)][Idx(of)]; }

 private:
  static int Idx(Pipe p) { return static_cast<int>(p); }
  ClockSnapshot issued_{};
  std::array<ClockSnapshot, kPipeCount> known_{};
};

// Last writer and last reader per pipe of every 32-byte UB block.
class UbHazards {
 public:
  explicit UbHazards(uint32_t ub_bytes) : blocks_(ub_bytes / 32) {}

  void Read(const PipeClocks& clocks, Pipe p, uint64_t seq, const char* op, uint32_t addr, uint32_t bytes) {
    if (bytes == 0 || p == Pipe::kS) return;
    for (uint32_t b = addr / 32, e = (addr + bytes + 31) / 32; b < e && b < blocks_.size(); ++b) {
      Block& blk = blocks_[b];
      if (blk.w_pipe != kNone) CheckOrdered(clocks, p, op, static_cast<Pipe>(blk.w_pipe), blk.w_seq, blk.w_op,
                                            "reads", "written", b);
      blk.r_seq[static_cast<int>(p)] = seq;
      blk.r_op[static_cast<int>(p)] = op;
    }
  }

  void Write(const PipeClocks& clocks, Pipe p, uint64_t seq, const char* op, uint32_t addr, uint32_t bytes) {
    if (bytes == 0 || p == Pipe::kS) return;
    for (uint32_t b = addr / 32, e = (addr + bytes + 31) / 32; b < e && b < blocks_.size(); ++b) {
      Block& blk = blocks_[b];
      if (blk.w_pipe != kNone) CheckOrdered(clocks, p, op, static_cast<Pipe>(blk.w_pipe), blk.w_seq, blk.w_op,
                                            "writes", "written", b);
      for (int q = 0; q < 3; ++q) {
        if (blk.r_seq[q] != 0 && q != static_cast<int>(p))
          CheckOrdered(clocks, p, op, static_cast<Pipe>(q), blk.r_seq[q], blk.r_op[q], "writes", "read", b);
      }
      blk.w_pipe = static_cast<uint8_t>(p);
      blk.w_seq = seq;
      blk.w_op = op;
    }
  }

 private:
  static constexpr uint8_t kNone = 0xff;
  struct Block {
    uint64_t w_seq = 0;
    const char* w_op = nullptr;
    uint8_t w_pipe = kNone;
    uint64_t r_seq[3] = {0, 0, 0};
    const char* r_op[3] = {nullptr, nullptr, nullptr};
  };

  // Vector after vector is ordered by the compiler; a DMA pipe after itself is ordered only by
  // PipeBarrier (the docs require PipeBarrier<PIPE_MTE2> between overlapping GM->UB copies).
  static void CheckOrdered(const PipeClocks& clocks, Pipe p, const char* op, Pipe q, uint64_t q_seq,
                           const char* q_op, const char* verb, const char* past, uint32_t block) {
    if (p == Pipe::kV && q == Pipe::kV) return;
    if (clocks.Known(p, q) >= q_seq) return;
    std::string fix;
    if (p == q) {
      fix = Msg("insert PipeBarrier<PIPE_", PipeName(p), ">() between the two copies");
    } else {
      fix = Msg("insert SetFlag<HardEvent::", PipeName(q), "_", PipeName(p), ">(id) after the ", PipeName(q),
                " instruction and WaitFlag<HardEvent::", PipeName(q), "_", PipeName(p), ">(id) before this one",
                " (or pass the tensor through a TQue EnQue/DeQue or AllocTensor/FreeTensor that does it)");
    }
    Fail("ub-pipe-hazard", Msg(PipeName(p), " instruction ", op, " ", verb, " UB bytes [", block * 32, ", ",
                               block * 32 + 32, ") ", past, " by ", PipeName(q), " instruction ", (q_op ? q_op : "?"),
                               " without synchronisation; the pipes run concurrently on hardware, so ", fix));
  }

  std::vector<Block> blocks_;
};

}  // namespace sim
