// Detects missing intra-core synchronisation. On hardware the MTE2 (GM->UB), MTE3 (UB->GM), V
// (vector) and S (scalar) pipes run concurrently; the simulator runs every instruction to
// completion at once, so a kernel that forgot a SetFlag/WaitFlag would pass here and fail on the
// NPU. Each pipe keeps a vector clock of what it knows has completed on the other pipes;
// SetFlag/WaitFlag, TQue EnQue/DeQue and Alloc/Free, PipeBarrier and SyncAll move that knowledge.
// Every UB access is checked against the last writer and readers of the 32-byte blocks it touches.
//
// The scalar pipe takes part: LocalTensor GetValue / operator() read UB on S, SetValue writes it,
// so UB written by MTE2 or V and read by the scalar unit needs MTE2_S / V_S, and a scalar write
// read by V or MTE3 needs S_V / S_MTE3 (the way CANN's own library code fences them, e.g.
// ReduceSumImpl and SoftSyncAllImpl in impl/dav_c220). S after S is program order.
//
// Vector after vector: on Atlas A2 the V pipe does not order dependent instructions by itself. The
// asc-devkit pages 同步控制/核内同步/PipeBarrier(ISASI).md (Add then Mul reading its result needs
// PipeBarrier<PIPE_V>) and 核内同步/关键特性说明.md (硬件保证的同步: V after V is hardware-ordered on
// Ascend 950 only; TPipe-TQue inserts no single-pipe sync) leave it to --cce-auto-sync, which CANN
// adds (compile_op.py _add_op_compile_options_by_customized_json) unless the op disables it
// ("auto_sync": false). So a vector instruction that reads or writes
// a block an earlier one wrote (RAW, WAW), or writes a block an earlier one read (WAR), needs
// PipeBarrier<PIPE_V> or PIPE_ALL (or SyncAll, or a V_V flag) in between; one instruction reading and writing
// the same blocks (Add(x, x, y)) is ordered by the hardware. The blocks are those the existing
// tracking records (a repeat form's span of enabled lanes), and the clocks above carry the barrier.
//
// The same docs say auto-sync also inserts V<->S, MTE2<->S and MTE3<->S syncs around
// GetValue/SetValue/operator(); that page describes a newer toolkit than CANN 8.1 and the option
// can be switched off per op, so the simulator requires those fences too. Both are bug risks on
// hardware built with auto-sync and wrong results without it, so they are class (b) rules
// (strictness.h), ub-vector-hazard and ub-scalar-hazard: errors in strict mode (our kernels),
// warnings in lenient mode (production kernels built with auto-sync, which the DrivingSDK fidelity
// check runs: grid_sampler2d_v2 reads Cast results with GetValue without a V_S fence).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "api_types.h"
#include "errors.h"
#include "strictness.h"

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

// The HardEvent's spelling in messages, in the enum's order (kernel_event.h).
inline const char* EventName(AscendC::HardEvent e) {
  static const char* const kNames[] = {
      "MTE2_MTE1", "MTE1_MTE2", "MTE1_M",    "M_MTE1",    "MTE2_V",   "V_MTE2",   "MTE3_V",   "V_MTE3", "M_V",
      "V_M",       "V_V",       "MTE3_MTE1", "MTE1_MTE3", "MTE1_V",   "MTE2_M",   "M_MTE2",   "V_MTE1", "M_FIX",
      "FIX_M",     "MTE3_MTE2", "MTE2_MTE3", "S_V",       "V_S",      "S_MTE2",   "MTE2_S",   "S_MTE3", "MTE3_S",
      "MTE2_FIX",  "FIX_MTE2",  "FIX_S",     "M_S",       "FIX_MTE3", "MTE1_FIX", "FIX_MTE1", "FIX_FIX"};
  const int i = static_cast<int>(e);
  return i < static_cast<int>(sizeof(kNames) / sizeof(kNames[0])) ? kNames[i] : "?";
}

// Source and destination pipe of a HardEvent the vector core has; false for cube-side events.
inline bool EventPipes(AscendC::HardEvent e, Pipe* src, Pipe* dst) {
  using AscendC::HardEvent;
  switch (e) {
    case HardEvent::MTE2_V:
      *src = Pipe::kMte2;
      *dst = Pipe::kV;
      return true;
    case HardEvent::V_MTE2:
      *src = Pipe::kV;
      *dst = Pipe::kMte2;
      return true;
    case HardEvent::MTE3_V:
      *src = Pipe::kMte3;
      *dst = Pipe::kV;
      return true;
    case HardEvent::V_MTE3:
      *src = Pipe::kV;
      *dst = Pipe::kMte3;
      return true;
    case HardEvent::V_V:
      *src = Pipe::kV;
      *dst = Pipe::kV;
      return true;
    case HardEvent::MTE3_MTE2:
      *src = Pipe::kMte3;
      *dst = Pipe::kMte2;
      return true;
    case HardEvent::MTE2_MTE3:
      *src = Pipe::kMte2;
      *dst = Pipe::kMte3;
      return true;
    case HardEvent::S_V:
      *src = Pipe::kS;
      *dst = Pipe::kV;
      return true;
    case HardEvent::V_S:
      *src = Pipe::kV;
      *dst = Pipe::kS;
      return true;
    case HardEvent::S_MTE2:
      *src = Pipe::kS;
      *dst = Pipe::kMte2;
      return true;
    case HardEvent::MTE2_S:
      *src = Pipe::kMte2;
      *dst = Pipe::kS;
      return true;
    case HardEvent::S_MTE3:
      *src = Pipe::kS;
      *dst = Pipe::kMte3;
      return true;
    case HardEvent::MTE3_S:
      *src = Pipe::kMte3;
      *dst = Pipe::kS;
      return true;
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
    if (bytes == 0) return;
    for (uint32_t b = addr / 32, e = (addr + bytes + 31) / 32; b < e && b < blocks_.size(); ++b) {
      Block& blk = blocks_[b];
      if (blk.w_pipe != kNone && !(blk.w_pipe == static_cast<uint8_t>(p) && blk.w_seq == seq))
        CheckOrdered(clocks, p, op, static_cast<Pipe>(blk.w_pipe), blk.w_seq, blk.w_op, "reads", "written", b);
      uint64_t& last = blk.r_seq[static_cast<int>(p)];
      if (p == Pipe::kV && last != seq) {  // keep the previous vector reader for the WAR check
        blk.v_prev_seq = last;
        blk.v_prev_op = blk.r_op[static_cast<int>(p)];
      }
      last = seq;
      blk.r_op[static_cast<int>(p)] = op;
    }
  }

  void Write(const PipeClocks& clocks, Pipe p, uint64_t seq, const char* op, uint32_t addr, uint32_t bytes) {
    if (bytes == 0) return;
    for (uint32_t b = addr / 32, e = (addr + bytes + 31) / 32; b < e && b < blocks_.size(); ++b) {
      Block& blk = blocks_[b];
      if (blk.w_pipe != kNone && !(blk.w_pipe == static_cast<uint8_t>(p) && blk.w_seq == seq))
        CheckOrdered(clocks, p, op, static_cast<Pipe>(blk.w_pipe), blk.w_seq, blk.w_op, "writes", "written", b);
      // A scalar load has completed before the scalar unit issues anything after it, so reads by
      // S need no fence against later writes (CANN's ReduceTailCompute, impl/dav_c220/
      // kernel_operator_vec_reduce_impl.h, reads dst with GetValue and lets the next vector
      // reduce overwrite it unsynchronised).
      for (int q = 0; q < kPipeCount; ++q) {
        if (blk.r_seq[q] != 0 && q != static_cast<int>(p) && q != static_cast<int>(Pipe::kS))
          CheckOrdered(clocks, p, op, static_cast<Pipe>(q), blk.r_seq[q], blk.r_op[q], "writes", "read", b);
      }
      // Vector after vector: the latest reader other than this instruction (an in-place Add(x, x, y)
      // reads and writes its own blocks, which the hardware orders).
      if (p == Pipe::kV) {
        const int v = static_cast<int>(Pipe::kV);
        const bool own = blk.r_seq[v] == seq;
        const uint64_t r_seq = own ? blk.v_prev_seq : blk.r_seq[v];
        if (r_seq != 0)
          CheckOrdered(clocks, p, op, Pipe::kV, r_seq, own ? blk.v_prev_op : blk.r_op[v], "writes", "read", b);
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
    uint64_t r_seq[kPipeCount] = {};
    const char* r_op[kPipeCount] = {};
    uint64_t v_prev_seq = 0;  // the vector reader before r_seq[kV] (0: none)
    const char* v_prev_op = nullptr;
  };

  // Scalar after scalar is ordered by program order; a pipe after itself otherwise only by
  // PipeBarrier (the docs require PipeBarrier<PIPE_MTE2> between overlapping GM->UB copies and
  // PipeBarrier<PIPE_V> between dependent vector instructions), PIPE_ALL or a V_V flag.
  static void CheckOrdered(const PipeClocks& clocks, Pipe p, const char* op, Pipe q, uint64_t q_seq, const char* q_op,
                           const char* verb, const char* past, uint32_t block) {
    if (p == q && p == Pipe::kS) return;
    if (clocks.Known(p, q) >= q_seq) return;
    std::string fix;
    if (p == q) {
      fix = Msg("insert PipeBarrier<PIPE_", PipeName(p), ">() between the two ",
                p == Pipe::kV ? "instructions" : "copies");
    } else {
      fix = Msg("insert SetFlag<HardEvent::", PipeName(q), "_", PipeName(p), ">(id) after the ", PipeName(q),
                " instruction and WaitFlag<HardEvent::", PipeName(q), "_", PipeName(p), ">(id) before this one",
                p == Pipe::kS || q == Pipe::kS
                    ? " (TQue EnQue/DeQue do not order the scalar unit)"
                    : " (or pass the tensor through a TQue EnQue/DeQue or AllocTensor/FreeTensor that does it)");
    }
    const bool scalar = p == Pipe::kS || q == Pipe::kS, vector = p == Pipe::kV && q == Pipe::kV;
    (scalar || vector ? BugRisk : Fail)(
        scalar   ? "ub-scalar-hazard"
        : vector ? "ub-vector-hazard"
                 : "ub-pipe-hazard",
        Msg(PipeName(p), " instruction ", op, " ", verb, " UB bytes [", block * 32, ", ", block * 32 + 32, ") ", past,
            " by ", PipeName(q), " instruction ", (q_op ? q_op : "?"), " without synchronisation; ",
            vector ? "on Atlas A2 a vector instruction may start before an earlier one's UB accesses finish "
                     "(PipeBarrier(ISASI).md) and only --cce-auto-sync would insert the barrier"
                   : "the pipes run concurrently on hardware",
            ", so ", fix));
  }

  std::vector<Block> blocks_;
};

}  // namespace sim
