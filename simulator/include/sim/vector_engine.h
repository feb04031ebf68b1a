// The two execution shapes of a vector instruction. The count form ("first n elements") runs over
// contiguous operands; the repeat form runs `repeatTime` iterations of 256 bytes, each made of 8
// blocks of 32 bytes placed by block and repeat strides, with a per-iteration element mask. Both
// check alignment and bounds, record the accesses for the hazard checker and count one vector
// instruction.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core_context.h"
#include "operand_checks.h"
#include "overlap_rules.h"
#include "strictness.h"
#include "tensors.h"
#include "vector_mask.h"

namespace sim {

// A parameter CANN declares with a narrow unsigned type (`const uint8_t repeatTimes`, `const
// uint16_t dstBlockStride`, ...). C++ converts a wider argument silently, so on the NPU a repeat
// count of 300 runs 44 iterations; this type keeps the caller's value so the simulator can refuse
// it ([count-narrowing]). It converts to the narrow type like the real parameter.
template <typename Narrow>
class NarrowArg {
 public:
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I> || std::is_enum_v<I>>>
  NarrowArg(I v) : value_(static_cast<int64_t>(v)) {}  // NOLINT: implicit, as the real parameter
  operator Narrow() const { return static_cast<Narrow>(value_); }
  // The value as the hardware sees it, after checking the caller's value fits.
  // `header` is the basic_api/interface/ header of CANN 8.1 that declares the parameter.
  Narrow Checked(const char* op, const char* name, const char* header) const {
    if (value_ < 0 || value_ > static_cast<int64_t>(std::numeric_limits<Narrow>::max()))
      Fail("count-narrowing", Msg(op, ": ", name, "=", value_, " does not fit the ", sizeof(Narrow) * 8,
                                  "-bit "
                                  "unsigned parameter CANN 8.1 declares (basic_api/interface/",
                                  header,
                                  "); the NPU "
                                  "would use ",
                                  static_cast<uint64_t>(static_cast<Narrow>(value_)), " instead. Split the call"));
    return static_cast<Narrow>(value_);
  }

 private:
  int64_t value_;
};
using U8Arg = NarrowArg<uint8_t>;
using U16Arg = NarrowArg<uint16_t>;

inline void RequireCount(const char* op, int64_t count) {
  if (count < 0) Fail("vector-count", Msg(op, ": count=", count, " is negative"));
}

inline void CountVectorInstr(uint64_t repeats) { RecordVector(repeats); }

// An operand of a vector instruction reaching past its tensor view. UB is flat: the hardware reads
// the neighbouring bytes harmlessly (the common "round the count up to 256 B" CompareScalar
// pattern), and writes them as told (GatherMask's data-dependent count; whether that clobbers a live
// value shows in the results, which lenient mode keeps computing). Class (b); past the end of UB
// it is an error in every mode.
inline void RequireOperandSpan(const char* rule, const char* op, const char* name, uint64_t addr, uint64_t bytes,
                               uint64_t view_bytes) {
  if (addr + bytes > Core().ub_bytes())
    Fail("ub-out-of-bounds", Msg(op, ": ", name, " needs ", bytes, " B from UB address ", addr,
                                 ", past the end of the ", Core().ub_bytes(), " B UB"));
  BugRisk(rule, Msg(op, ": ", name, " needs ", bytes, " B from UB address ", addr, " but the tensor holds ", view_bytes,
                    " B"));
}
inline void RequireSourceSpan(const char* op, const char* name, uint64_t addr, uint64_t bytes, uint64_t view_bytes) {
  RequireOperandSpan("ub-read-beyond-view", op, name, addr, bytes, view_bytes);
}
template <typename T>
void RequireDestSpan(const char* op, const AscendC::LocalTensor<T>& dst, uint64_t bytes) {
  dst.RequireValid(op);
  if (bytes > dst.SimBytes())
    RequireOperandSpan("ub-write-beyond-view", op, "dst", dst.SimAddr(), bytes, dst.SimBytes());
}

// Validates a count-form instruction with destination `dst` (dst_bytes written) and sources
// given as (name, address, bytes read, bytes in the view), then records the accesses (plus any
// scratch areas the instruction clobbers). Returns false for count == 0, a documented no-op.
template <typename D>
bool BeginCountOp(const char* op, int64_t count, const AscendC::LocalTensor<D>& dst, uint64_t dst_bytes,
                  std::initializer_list<std::tuple<const char*, uint32_t, uint64_t, uint64_t>> srcs,
                  std::initializer_list<std::pair<uint32_t, uint64_t>> scratch_writes = {}) {
  ResetAfterCountForm();
  RequireCount(op, count);
  RequireUbAligned(op, "dst", dst);
  for (const auto& src : srcs) {
    if (std::get<1>(src) % 32 != 0)
      Fail("ub-address-unaligned",
           Msg(op, ": ", std::get<0>(src), " is at UB address ", std::get<1>(src),
               ", not a multiple of 32 bytes (the hardware requires 32-byte aligned UB operands)"));
  }
  if (count == 0) return false;  // documented as a no-op on A2
  RequireDestSpan(op, dst, dst_bytes);
  const bool overlap_ok = OverlapOf(op).permission != OverlapPermission::kNone;
  for (const auto& [name, addr, bytes, view_bytes] : srcs) {
    if (bytes > view_bytes) RequireSourceSpan(op, name, addr, bytes, view_bytes);
    // Bytes past an operand's view (class b above) belong to lanes the kernel does not use, so the
    // overlap rules apply to the parts inside the views.
    const uint64_t dst_in_view = std::min<uint64_t>(dst_bytes, dst.SimBytes()),
                   src_in_view = std::min(bytes, view_bytes);
    if (overlap_ok)
      RequireNoPartialOverlap(op, "dst", dst.SimAddr(), dst_in_view, name, addr, src_in_view);
    else
      RequireNoOverlap(op, op, "dst", dst.SimAddr(), dst_in_view, name, addr, src_in_view);
  }
  const PipeOp pop = BeginOp(Pipe::kV, op);
  for (const auto& src : srcs) TrackUbRead(pop, std::get<1>(src), std::get<2>(src));
  TrackUbWrite(pop, dst.SimAddr(), dst_bytes);
  for (const auto& [addr, bytes] : scratch_writes) TrackUbWrite(pop, addr, bytes);
  uint64_t widest = dst_bytes;
  for (const auto& src : srcs) widest = std::max(widest, std::get<2>(src));
  CountVectorInstr(RepeatsFor(widest));
  return true;
}

// A source operand of a count-form op: name, tensor, element count read.
template <typename T>
std::tuple<const char*, uint32_t, uint64_t, uint64_t> Src(const char* name, const AscendC::LocalTensor<T>& t,
                                                          uint64_t elements) {
  t.RequireValid(name);
  return {name, t.SimAddr(), elements * sizeof(T), t.SimBytes()};
}

// Per-iteration lane mask of the repeat form: bit i enables element i of the 256-byte iteration.
struct LaneMask {
  uint64_t lo = 0, hi = 0;
  bool On(uint32_t e) const { return e < 64 ? (lo >> e) & 1u : (hi >> (e - 64)) & 1u; }
};

template <typename T>
LaneMask ContinuousMask(const char* op, uint64_t mask) {
  constexpr uint64_t lanes = 256 / sizeof(T);
  if (mask < 1 || mask > lanes)
    Fail("vector-mask",
         Msg(op, ": continuous mask=", mask, " must be in [1, ", lanes, "] for ", sizeof(T), "-byte elements"));
  LaneMask m;
  m.lo = mask >= 64 ? ~0ull : ((1ull << mask) - 1);
  m.hi = mask >= 128 ? ~0ull : (mask > 64 ? ((1ull << (mask - 64)) - 1) : 0);
  return m;
}

template <typename T>
LaneMask BitMask(const char* op, const uint64_t mask[]) {
  LaneMask m{mask[0], sizeof(T) == 2 ? mask[1] : 0};
  if (m.lo == 0 && m.hi == 0) Fail("vector-mask", Msg(op, ": bit mask is all zero"));
  return m;
}

// isSetMask=true: the instruction writes its mask argument into the mask register first (after
// checking it); isSetMask=false: the argument is a placeholder and the register is used as is.
template <typename T, bool isSetMask>
void ApplyMask(const char* op, uint64_t mask) {
  if constexpr (isSetMask) {
    ContinuousMask<T>(op, mask);
    WriteContinuousMask<T>(mask);
  }
}
template <typename T, bool isSetMask>
void ApplyMask(const char* op, const uint64_t mask[]) {
  if constexpr (isSetMask) {
    BitMask<T>(op, mask);
    WriteMaskRegister(mask[1], mask[0]);
  }
}

// Placement of one operand in the repeat form, strides in 32-byte blocks.
struct RepeatOperand {
  const char* name;
  uint32_t addr;
  uint64_t view_bytes;
  uint32_t blk_stride;
  uint32_t rep_stride;
};

template <typename T>
RepeatOperand Rep(const char* name, const AscendC::LocalTensor<T>& t, uint32_t blk, uint32_t rep) {
  t.RequireValid(name);
  return {name, t.SimAddr(), t.SimBytes(), blk, rep};
}

// The address-overlap rule of the repeat form, as `op`'s page states it (overlap_rules.h). Under
// the general rule a source lane may share UB only with the destination lane of the same element
// within its iteration (src == dst, "100% overlap"), and no source lane may read what an earlier
// iteration wrote, since the vector unit may fetch it before that write lands; the APIs with the
// accumulation exception (half, int32_t or float) may read through src1 what an earlier iteration
// wrote when src1RepStride or dstRepStride is 0. (Every API that runs through RunRepeat with a
// source refers to the general rule; the repeat forms whose pages forbid overlap, Brcb and Gatherb,
// check it themselves.) Lanes the mask disables are neither read nor written, so only enabled lanes
// count. `lane(k, r, e)` is the byte address of lane e of operand k (0: dst) in iteration r.
template <typename T, size_t N, typename Lane>
void RequireRepeatOverlapRule(const char* op, const std::array<RepeatOperand, N>& ops,
                              const std::vector<MaskedIterations>& runs, uint32_t lanes, Lane lane) {
  // first iteration that writes each destination address, sorted by address
  std::vector<std::pair<uint64_t, uint32_t>> writes;
  for (const MaskedIterations& run : runs) {
    const LaneMask mask{run.low, run.high};
    for (uint32_t r = run.first; r < run.first + run.repeat; ++r)
      for (uint32_t e = 0; e < lanes; ++e)
        if (mask.On(e)) writes.emplace_back(lane(0, r, e), r);
  }
  std::sort(writes.begin(), writes.end());
  const bool chain_ok = OverlapOf(op).permission == OverlapPermission::kAccumulate &&
                        (std::is_same_v<T, half> || std::is_same_v<T, int32_t> || std::is_same_v<T, float>);
  for (size_t k = 1; k < N; ++k) {
    const bool exempt = chain_ok && k == 2 && (ops[2].rep_stride == 0 || ops[0].rep_stride == 0);
    for (const MaskedIterations& run : runs) {
      const LaneMask mask{run.low, run.high};
      for (uint32_t r = run.first; r < run.first + run.repeat; ++r)
        for (uint32_t e = 0; e < lanes; ++e) {
          if (!mask.On(e)) continue;
          const uint64_t a = lane(k, r, e);
          const auto hit = std::lower_bound(writes.begin(), writes.end(), std::make_pair(a, uint32_t{0}));
          if (hit == writes.end() || hit->first != a) continue;
          if (hit->second < r && !exempt)
            Fail("ub-iteration-overlap",
                 Msg(op, ": ", ops[k].name, " lane ", e, " of iteration ", r, " reads UB address ", a,
                     ", which dst wrote in iteration ", hit->second,
                     "; the vector unit does not order a later iteration's sources after an earlier one's "
                     "destination (通用地址重叠约束)"));
          if (hit->second == r && lane(0, r, e) != a)
            Fail("ub-partial-overlap",
                 Msg(op, ": ", ops[k].name, " lane ", e, " of iteration ", r, " reads UB address ", a,
                     ", which another dst lane of that iteration "
                     "writes; within an iteration a source must overlap dst 100% or not at all"));
        }
    }
  }
}

// Runs `repeat` iterations under the mask register (vector_mask.h); `body(mask, lanes, addr)`
// computes the lanes of one iteration that `mask` enables, `addr(k, e)` giving the byte address
// of lane e in operand k (operand 0 is the destination). Iterations run in order, each reading its
// sources before writing, as the hardware does.
template <typename T, size_t N, typename Body>
void RunRepeat(const char* op, std::array<RepeatOperand, N> ops, uint32_t repeat, Body body) {
  for (const RepeatOperand& o : ops) {
    if (o.addr % 32 != 0)
      Fail("ub-address-unaligned", Msg(op, ": ", o.name, " is at UB address ", o.addr, ", not a multiple of 32 bytes"));
  }
  if (repeat > 255) Fail("vector-repeat", Msg(op, ": repeatTime=", repeat, " exceeds 255"));
  constexpr uint32_t lanes = 256 / sizeof(T), per_block = 32 / sizeof(T);
  const std::vector<MaskedIterations> runs = ActiveIterations(lanes, repeat);
  auto lane_addr = [&](const RepeatOperand& o, uint32_t r, uint32_t e) -> uint64_t {
    return o.addr +
           (static_cast<uint64_t>(r) * o.rep_stride + static_cast<uint64_t>(e / per_block) * o.blk_stride) * 32 +
           (e % per_block) * sizeof(T);
  };
  const PipeOp pop = BeginOp(Pipe::kV, op);
  std::array<uint64_t, N> lo_of{}, hi_of{};
  for (size_t k = 0; k < N; ++k) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (const MaskedIterations& run : runs) {
      const LaneMask mask{run.low, run.high};
      for (uint32_t r = run.first; r < run.first + run.repeat; ++r)
        for (uint32_t e = 0; e < lanes; ++e)
          if (mask.On(e)) {
            lo = std::min(lo, lane_addr(ops[k], r, e));
            hi = std::max(hi, lane_addr(ops[k], r, e) + sizeof(T));
          }
    }
    lo_of[k] = lo;
    hi_of[k] = hi;
    if (lo == UINT64_MAX) continue;
    if (hi > ops[k].addr + ops[k].view_bytes)
      RequireOperandSpan(k == 0 ? "ub-write-beyond-view" : "ub-read-beyond-view", op, ops[k].name, ops[k].addr,
                         hi - ops[k].addr, ops[k].view_bytes);
    // the blocks holding an enabled lane, not the span: strided operands skip blocks
    BlockRuns touched(pop, k == 0);
    for (const MaskedIterations& run : runs) {
      const LaneMask mask{run.low, run.high};
      bool block_on[8] = {};
      for (uint32_t e = 0; e < lanes; ++e) block_on[e / per_block] = block_on[e / per_block] || mask.On(e);
      for (uint32_t r = run.first; r < run.first + run.repeat; ++r)
        for (uint32_t j = 0; j < 8; ++j)
          if (block_on[j]) touched.Add(lane_addr(ops[k], r, j * per_block));
    }
  }
  // the lane-by-lane overlap check only where a source's span meets the destination's
  for (size_t k = 1; k < N; ++k) {
    if (lo_of[k] < hi_of[0] && lo_of[0] < hi_of[k]) {
      RequireRepeatOverlapRule<T>(op, ops, runs, lanes,
                                  [&](size_t m, uint32_t r, uint32_t e) { return lane_addr(ops[m], r, e); });
      break;
    }
  }
  for (const MaskedIterations& run : runs) {
    const LaneMask mask{run.low, run.high};
    for (uint32_t r = run.first; r < run.first + run.repeat; ++r)
      body(mask, lanes, [&](size_t k, uint32_t e) { return lane_addr(ops[k], r, e); });
  }
  uint64_t iterations = 0;  // in counter mode the counter's, not repeatTime
  for (const MaskedIterations& run : runs) iterations += run.repeat;
  CountVectorInstr(iterations);
}

}  // namespace sim
