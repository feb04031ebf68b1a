// Checks and bookkeeping shared by every instruction that touches UB: 32-byte alignment, staying
// inside the tensor view, no partial overlap, and recording the access for the hazard checker.
#pragma once

#include <cstdint>

#include "core_context.h"
#include "tensors.h"

namespace sim {

inline uint64_t RoundUp32(uint64_t n) { return (n + 31u) / 32u * 32u; }

template <typename T>
void RequireUbAligned(const char* op, const char* operand, const AscendC::LocalTensor<T>& t) {
  t.RequireValid(op);
  if (t.SimAddr() % 32 != 0)
    Fail("ub-address-unaligned",
         Msg(op, ": ", operand, " is at UB address ", t.SimAddr(),
             ", not a multiple of 32 bytes (the hardware requires 32-byte aligned UB operands)"));
}

// `bytes` from the tensor's start must lie inside its view. Block-granular instructions (DMA
// padding) may use the view rounded up to whole 32-byte blocks.
template <typename T>
void RequireUbSpan(const char* op, const char* operand, const AscendC::LocalTensor<T>& t, uint64_t bytes,
                   bool whole_blocks = false) {
  const uint64_t have = whole_blocks ? RoundUp32(t.SimBytes()) : t.SimBytes();
  if (bytes > have)
    Fail("ub-out-of-bounds",
         Msg(op, ": ", operand, " needs ", bytes, " B from UB address ", t.SimAddr(), " but the tensor holds ", have,
             " B (", t.GetSize(), " elements of ", sizeof(T), " B)"));
}

// Source and destination of one elementwise instruction must coincide exactly or not overlap
// ("100% overlap or none", the general address-overlap rule of the vector unit).
inline void RequireNoPartialOverlap(const char* op, const char* a_name, uint32_t a, uint64_t a_bytes,
                                    const char* b_name, uint32_t b, uint64_t b_bytes) {
  const bool overlap = a < b + b_bytes && b < a + a_bytes;
  if (overlap && !(a == b && a_bytes == b_bytes))
    Fail("ub-partial-overlap", Msg(op, ": ", a_name, " UB [", a, ", ", a + a_bytes, ") partially overlaps ", b_name,
                                   " UB [", b, ", ", b + b_bytes, "); operands must coincide exactly or be disjoint"));
}

// One instruction on one pipe, for the hazard checker.
struct PipeOp {
  Pipe pipe;
  uint64_t seq;
  const char* name;
};

inline PipeOp BeginOp(Pipe p, const char* name) {
  CoreContext& c = Core();
  return {p, c.clocks.Issue(p), name};
}
inline void TrackUbRead(const PipeOp& op, uint32_t addr, uint64_t bytes) {
  CoreContext& c = Core();
  if (c.check_hazards()) c.hazards().Read(c.clocks, op.pipe, op.seq, op.name, addr, static_cast<uint32_t>(bytes));
}
inline void TrackUbWrite(const PipeOp& op, uint32_t addr, uint64_t bytes) {
  CoreContext& c = Core();
  if (c.check_hazards()) c.hazards().Write(c.clocks, op.pipe, op.seq, op.name, addr, static_cast<uint32_t>(bytes));
}

// Records the 32-byte blocks an instruction touches one by one, merging runs of adjacent blocks:
// a strided or gathering instruction touches its blocks, not the whole span between them (the
// passes of a Gatherb or Brcb loop write interleaved blocks of one buffer).
class BlockRuns {
 public:
  BlockRuns(const PipeOp& op, bool write) : op_(op), write_(write) {}
  BlockRuns(const BlockRuns&) = delete;
  BlockRuns& operator=(const BlockRuns&) = delete;
  ~BlockRuns() { Flush(); }
  // The block holding UB byte `addr`.
  void Add(uint64_t addr) {
    const uint64_t block = addr / 32 * 32;
    if (bytes_ != 0 && block >= start_ && block < start_ + bytes_) return;
    if (bytes_ != 0 && block == start_ + bytes_) {
      bytes_ += 32;
      return;
    }
    Flush();
    start_ = block;
    bytes_ = 32;
  }

 private:
  void Flush() {
    if (bytes_ == 0) return;
    (write_ ? TrackUbWrite : TrackUbRead)(op_, static_cast<uint32_t>(start_), bytes_);
    bytes_ = 0;
  }
  PipeOp op_;
  bool write_;
  uint64_t start_ = 0, bytes_ = 0;
};

// Human-readable element type names for messages and atomic type matching.
template <typename T>
constexpr const char* TypeName() {
  if constexpr (std::is_same_v<T, float>)
    return "float";
  else if constexpr (std::is_same_v<T, half>)
    return "half";
  else if constexpr (std::is_same_v<T, bfloat16_t>)
    return "bfloat16_t";
  else if constexpr (std::is_same_v<T, int32_t>)
    return "int32_t";
  else if constexpr (std::is_same_v<T, uint32_t>)
    return "uint32_t";
  else if constexpr (std::is_same_v<T, int16_t>)
    return "int16_t";
  else if constexpr (std::is_same_v<T, uint16_t>)
    return "uint16_t";
  else if constexpr (std::is_same_v<T, int8_t>)
    return "int8_t";
  else if constexpr (std::is_same_v<T, uint8_t>)
    return "uint8_t";
  else if constexpr (std::is_same_v<T, int64_t>)
    return "int64_t";
  else if constexpr (std::is_same_v<T, uint64_t>)
    return "uint64_t";
  else
    return "other";
}

}  // namespace sim
