// GatherMask (asc-devkit 比较与选择/GatherMask): keep the elements of src0 whose gather-mask bit is
// 1 and write them packed to dst; rsvdCnt returns how many were kept. The mask is a built-in
// pattern (src1Pattern 1..7, the same in every iteration) or a tensor of bits consumed
// continuously within an iteration, src1RepeatStride blocks apart between iterations. Normal mode
// (reduceMode=false) runs gatherMaskParams.repeatTimes iterations of 256 bytes; the mask argument
// is ignored. Counter mode is not simulated. Like the CANN implementation (dav_c220
// kernel_operator_vec_gather_mask_impl.h) it leaves the mask register at (0, mask) in normal mode.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "api_types.h"
#include "vector_arith.h"
#include "vector_engine.h"
#include "vector_mask.h"

namespace AscendC {

struct GatherMaskParams {
  GatherMaskParams() {}
  GatherMaskParams(const uint8_t src0BlockStrideIn, const uint16_t repeatTimesIn, const uint16_t src0RepeatStrideIn,
                   const uint8_t src1RepeatStrideIn)
      : src0BlockStride(src0BlockStrideIn),
        repeatTimes(repeatTimesIn),
        src0RepeatStride(src0RepeatStrideIn),
        src1RepeatStride(src1RepeatStrideIn) {}
  uint8_t src0BlockStride = DEFAULT_BLK_STRIDE;
  uint16_t repeatTimes = 0;
  uint16_t src0RepeatStride = DEFAULT_REPEAT_STRIDE;
  uint8_t src1RepeatStride = DEFAULT_REPEAT_STRIDE;
};

enum class GatherMaskMode : uint8_t { VERSION_V1 = 0, VERSION_V2 = 1 };
const GatherMaskMode defaultGatherMaskMode = GatherMaskMode::VERSION_V2;

}  // namespace AscendC

namespace sim {

// Built-in pattern p (1..7) for lane e: 1 even lanes, 2 odd lanes, 3..6 lane e % 4 == p - 3, 7 all.
inline bool PatternBit(uint8_t pattern, uint32_t e) {
  if (pattern == 1) return e % 2 == 0;
  if (pattern == 2) return e % 2 == 1;
  if (pattern == 7) return true;
  return e % 4 == static_cast<uint32_t>(pattern - 3);
}

// The overlap rule of GatherMask's page (overlap_rules.h): it refers to the general rule, but its
// own example (GatherMask.md:298) packs 4 iterations in place, dst = src0, with a documented result,
// so within an iteration the unit reads its source before writing and a kept lane may land on any
// lane of its own iteration. What stays is the general rule across iterations: kept element j lands
// at dst + j, written by the iteration that read it (kept_in[j]), and no kept source lane may read
// what an earlier iteration wrote. The lanes the pattern drops do not reach dst, so what they read
// does not matter; nor do lanes past src0's or dst's view (reading past a view is class (b),
// ub-read-beyond-view): they are the tail of the last iteration, which the kernel does not use
// (DrivingSDK's grid_sampler2d_v2 rounds its GatherMask up to whole iterations that way, its dst
// the buffer after src0).
template <typename T, typename Lane, typename Bit>
void RequireGatherMaskOverlapRule(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src0,
                                  const std::vector<uint32_t>& kept_in, Lane lane_addr, Bit bit) {
  const uint64_t lo = dst.SimAddr(), hi = lo + std::min<uint64_t>(kept_in.size() * sizeof(T), dst.SimBytes());
  const uint64_t src_lo = src0.SimAddr(), src_hi = src_lo + src0.SimBytes();
  constexpr uint32_t lanes = 256 / sizeof(T);
  for (uint32_t r = 0; !kept_in.empty() && r <= kept_in.back(); ++r)
    for (uint32_t e = 0; e < lanes; ++e) {
      if (!bit(r, e)) continue;
      const uint64_t a = lane_addr(r, e);
      if (a < src_lo || a >= src_hi || a < lo || a >= hi) continue;
      const uint64_t j = (a - lo) / sizeof(T);
      if (kept_in[j] < r)
        Fail("ub-iteration-overlap",
             Msg("GatherMask: src0 lane ", e, " of iteration ", r, " reads UB address ", a,
                 ", which dst wrote in iteration ", kept_in[j], " (通用地址重叠约束, GatherMask.md:250)"));
    }
}

// `bit(r, e)` says whether lane e of iteration r is kept.
template <typename T, typename Bit>
void RunGatherMask(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src0, bool reduceMode,
                   uint32_t mask, const AscendC::GatherMaskParams& p, uint64_t& rsvdCnt, Bit bit,
                   std::vector<std::pair<uint32_t, uint64_t>> extra_reads) {
  static_assert(kIsOneOf<T, half, bfloat16_t, uint16_t, int16_t, float, uint32_t, int32_t>,
                "GatherMask on Atlas A2 supports half/bfloat16_t/uint16_t/int16_t/float/uint32_t/int32_t");
  const char* op = "GatherMask";
  RequireUbAligned(op, "dst", dst);
  RequireUbAligned(op, "src0", src0);
  if (reduceMode)
    Fail("not-simulated", "GatherMask with reduceMode=true (counter mode) is not simulated; use reduceMode=false");
  if (p.repeatTimes > 255)
    Fail("vector-repeat", Msg(op, ": repeatTimes=", p.repeatTimes,
                              " exceeds 255 (the hardware limit of repeatTime, asc-devkit SIMD计算说明/高维切分)"));
  constexpr uint32_t lanes = 256 / sizeof(T), per_block = 32 / sizeof(T);
  auto lane_addr = [&](uint32_t r, uint32_t e) {
    return src0.SimAddr() +
           (static_cast<uint64_t>(r) * p.src0RepeatStride + static_cast<uint64_t>(e / per_block) * p.src0BlockStride) *
               32 +
           (e % per_block) * sizeof(T);
  };
  uint64_t src_lo = UINT64_MAX, src_hi = 0;
  for (uint32_t r = 0; r < p.repeatTimes; ++r)
    for (uint32_t e = 0; e < lanes; ++e) {
      src_lo = std::min(src_lo, lane_addr(r, e));
      src_hi = std::max<uint64_t>(src_hi, lane_addr(r, e) + sizeof(T));
    }
  if (p.repeatTimes > 0 && src_hi > src0.SimAddr() + src0.SimBytes())
    RequireSourceSpan(op, "src0", src0.SimAddr(), src_hi - src0.SimAddr(), src0.SimBytes());
  std::vector<T> kept;
  std::vector<uint32_t> kept_in;  // the iteration that reads (and writes) kept element j
  for (uint32_t r = 0; r < p.repeatTimes; ++r)
    for (uint32_t e = 0; e < lanes; ++e)
      if (bit(r, e)) {
        kept.push_back(LoadUb<T>(lane_addr(r, e)));
        kept_in.push_back(r);
      }
  rsvdCnt = kept.size();
  RequireGatherMaskOverlapRule(dst, src0, kept_in, lane_addr, bit);
  WriteMaskRegister(0, mask);
  t_mask_register.counter = false;
  if (p.repeatTimes == 0) return;
  const uint64_t dst_bytes = kept.size() * sizeof(T);
  RequireDestSpan(op, dst, dst_bytes);
  const PipeOp pop = BeginOp(Pipe::kV, op);
  TrackUbRead(pop, static_cast<uint32_t>(src_lo), src_hi - src_lo);
  for (const auto& [addr, bytes] : extra_reads) TrackUbRead(pop, addr, bytes);
  TrackUbWrite(pop, dst.SimAddr(), dst_bytes);
  CountVectorInstr(p.repeatTimes);
  if (!kept.empty()) std::memcpy(Core().ub() + dst.SimAddr(), kept.data(), dst_bytes);
}

}  // namespace sim

namespace AscendC {

template <typename T, GatherMaskMode mode = defaultGatherMaskMode>
void GatherMask(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const uint8_t src1Pattern,
                const bool reduceMode, const uint32_t mask, const GatherMaskParams& gatherMaskParams,
                uint64_t& rsvdCnt) {
  if (src1Pattern < 1 || src1Pattern > 7)
    ::sim::Fail("gather-mask-pattern", ::sim::Msg("GatherMask: src1Pattern=", static_cast<int>(src1Pattern),
                                                  " must be in [1, 7] on Atlas A2"));
  ::sim::RunGatherMask(dstLocal, src0Local, reduceMode, mask, gatherMaskParams, rsvdCnt,
                       [&](uint32_t, uint32_t e) { return ::sim::PatternBit(src1Pattern, e); }, {});
}

// The pattern tensor has uint16_t elements for 16-bit data and uint32_t elements for 32-bit data.
template <typename T, typename U, GatherMaskMode mode = defaultGatherMaskMode>
void GatherMask(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<U>& src1Pattern,
                const bool reduceMode, const uint32_t mask, const GatherMaskParams& gatherMaskParams,
                uint64_t& rsvdCnt) {
  static_assert(sizeof(T) == sizeof(U) && ::sim::kIsOneOf<U, uint16_t, uint32_t>,
                "GatherMask: the pattern tensor is uint16_t for 16-bit data and uint32_t for 32-bit data");
  ::sim::RequireUbAligned("GatherMask", "src1Pattern", src1Pattern);
  constexpr uint32_t lanes = 256 / sizeof(T);
  const uint64_t pattern_bytes =
      gatherMaskParams.repeatTimes == 0
          ? 0
          : (gatherMaskParams.repeatTimes - 1ull) * gatherMaskParams.src1RepeatStride * 32 + lanes / 8;
  ::sim::RequireUbSpan("GatherMask", "src1Pattern", src1Pattern, pattern_bytes);
  const uint8_t* bits = ::sim::Core().ub() + src1Pattern.SimAddr();
  ::sim::RunGatherMask(dstLocal, src0Local, reduceMode, mask, gatherMaskParams, rsvdCnt,
                       [&](uint32_t r, uint32_t e) {
                         const uint8_t* iteration =
                             bits + static_cast<uint64_t>(r) * gatherMaskParams.src1RepeatStride * 32;
                         return ((iteration[e / 8] >> (e % 8)) & 1u) != 0;
                       },
                       {{src1Pattern.SimAddr(), pattern_bytes}});
}

}  // namespace AscendC
