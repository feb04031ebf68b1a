// Gather (element gather inside UB by byte offsets), Gatherb (32-byte block gather by byte
// offsets) and Brcb (broadcast each of 8 elements per iteration into a whole 32-byte block).
#pragma once

#include <algorithm>
#include <cstdint>

#include "api_types.h"
#include "vector_arith.h"
#include "vector_engine.h"

namespace AscendC {

// dst[i] = element at byte (srcBaseAddr + srcOffset[i]) of src. Offsets must be element-aligned
// and stay inside the src tensor; src and dst must not overlap (overlap_rules.h).
template <typename T>
void Gather(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const LocalTensor<uint32_t>& srcOffsetLocal,
            const uint32_t srcBaseAddr, const uint32_t count) {
  static_assert(::sim::kIsOneOf<T, int16_t, uint16_t, half, bfloat16_t, int32_t, uint32_t, float>,
                "Gather on Atlas A2 supports int16_t/uint16_t/half/bfloat16_t/int32_t/uint32_t/float");
  const char* op = "Gather";
  ::sim::RequireCount(op, count);
  ::sim::RequireUbAligned(op, "dst", dstLocal);
  ::sim::RequireUbAligned(op, "src", srcLocal);
  ::sim::RequireUbAligned(op, "srcOffset", srcOffsetLocal);
  if (count == 0) return;
  // basic_api/inner_interface/inner_kernel_operator_vec_gather_intf.cppm (__CCE_AICORE__ < 300):
  // `const uint8_t repeatTimes = count / elementCountSingleRepeat;`, then one tail repeat.
  constexpr uint32_t lanes = 256 / sizeof(T);
  if (count / lanes > 255)
    ::sim::Fail("count-narrowing",
                ::sim::Msg(op, ": count=", count, " is ", count / lanes, " full repeats of ", lanes,
                           " elements, but "
                           "CANN 8.1 computes the repeat count as uint8_t (basic_api/inner_interface/inner_kernel_"
                           "operator_vec_gather_intf.cppm), so Atlas A2 would run ",
                           (count / lanes) % 256, " of them and silently skip elements; gather at most ", 255 * lanes,
                           " elements per call"));
  const uint64_t db = static_cast<uint64_t>(count) * sizeof(T);
  ::sim::RequireUbSpan(op, "dst", dstLocal, db);
  ::sim::RequireUbSpan(op, "srcOffset", srcOffsetLocal, static_cast<uint64_t>(count) * sizeof(uint32_t));
  // The Gather page (约束说明) states the alignment of srcBaseAddr and of every srcOffset separately
  // and warns that a misaligned base silently shifts the data (数据发生错位). CANN 8.1 GatherImpl
  // (impl/dav_c220/kernel_operator_vec_gather_impl.h) adds srcBaseAddr to the src address it
  // hands vgather; whether the hardware tolerates a misaligned base whose sums with the offsets
  // are aligned is not documented, so the page's rule is enforced as stated. With the base
  // aligned, the per-element check below covers the offsets.
  if (srcBaseAddr % sizeof(T) != 0)
    ::sim::Fail("gather-offset",
                ::sim::Msg("Gather: srcBaseAddr=", srcBaseAddr, " B is not a multiple of sizeof(T) = ", sizeof(T),
                           "; the Gather page requires the base and each srcOffset to be element-aligned on their "
                           "own (a misaligned base shifts the gathered data)"));
  const uint64_t src_bytes = srcLocal.SimBytes();
  const uint32_t* off = srcOffsetLocal.SimData();
  uint64_t lo = UINT64_MAX, hi = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t byte = static_cast<uint64_t>(srcBaseAddr) + off[i];
    if (byte % sizeof(T) != 0)
      ::sim::Fail("gather-offset", ::sim::Msg("Gather: element ", i, " has byte offset srcBaseAddr ", srcBaseAddr,
                                              " + srcOffset ", off[i], " = ", byte, ", not a multiple of sizeof(T) = ",
                                              sizeof(T), " (offsets are in bytes, not elements)"));
    if (byte + sizeof(T) > src_bytes)
      ::sim::Fail("gather-offset",
                  ::sim::Msg("Gather: element ", i, " reads byte ", byte, " of src, which holds only ", src_bytes,
                             " B (", srcLocal.GetSize(), " elements; offsets are in bytes)"));
    lo = std::min(lo, byte);
    hi = std::max(hi, byte + sizeof(T));
  }
  // The elements actually gathered and the destination must not share memory.
  const uint64_t s0 = srcLocal.SimAddr() + lo, s1 = srcLocal.SimAddr() + hi;
  ::sim::RequireNoOverlap(op, op, "dst", dstLocal.SimAddr(), db, "the gathered src bytes", s0, s1 - s0);
  const ::sim::PipeOp pop = ::sim::BeginOp(::sim::Pipe::kV, op);
  ::sim::TrackUbRead(pop, srcOffsetLocal.SimAddr(), static_cast<uint64_t>(count) * sizeof(uint32_t));
  {
    ::sim::BlockRuns gathered(pop, false);
    for (uint32_t i = 0; i < count; ++i) gathered.Add(srcLocal.SimAddr() + static_cast<uint64_t>(srcBaseAddr) + off[i]);
  }
  ::sim::TrackUbWrite(pop, dstLocal.SimAddr(), db);
  ::sim::CountVectorInstr(::sim::RepeatsFor(static_cast<uint64_t>(count) * sizeof(uint32_t)));
  T* d = dstLocal.SimData();
  const uint8_t* s = reinterpret_cast<const uint8_t*>(srcLocal.SimData());
  for (uint32_t i = 0; i < count; ++i) std::memcpy(d + i, s + srcBaseAddr + off[i], sizeof(T));
  // Unlike the other count forms it runs in normal mode and resets nothing (GatherImpl calls
  // AscendCUtils::SetMask<T>(mask) for the full repeats, then for the tail): its last mask stays.
  ::sim::WriteContinuousMask<T>(count % lanes != 0 ? count % lanes : lanes);
}

// For iteration r and j < 8: copy the 32-byte block at byte offset[8r + j] of src to block
// (r*dstRepStride + j*dstBlkStride) of dst. Offsets must land on 32-byte boundaries inside src.
template <typename T>
void Gatherb(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, const LocalTensor<uint32_t>& offsetLocal,
             ::sim::U8Arg repeatArg, const GatherRepeatParams& repeatParams) {
  static_assert(::sim::kIsOneOf<T, uint16_t, uint32_t>, "Gatherb on Atlas A2 supports uint16_t/uint32_t");
  const char* op = "Gatherb";
  const uint8_t repeatTimes = repeatArg.Checked(op, "repeatTimes", "kernel_operator_vec_gather_intf.h");
  ::sim::RequireUbAligned(op, "dst", dstLocal);
  ::sim::RequireUbAligned(op, "src", src0Local);
  ::sim::RequireUbAligned(op, "offset", offsetLocal);
  ResetMask();  // GatherbImpl (impl/dav_c220/kernel_operator_vec_gather_impl.h) does, before vgatherb
  if (repeatTimes == 0) return;
  const uint32_t count = 8u * repeatTimes;
  ::sim::RequireUbSpan(op, "offset", offsetLocal, count * sizeof(uint32_t));
  const uint64_t blk = repeatParams.dstBlkStride == 0 ? 1 : repeatParams.dstBlkStride;
  const uint64_t dst_span = ((repeatTimes - 1ull) * repeatParams.dstRepStride + 7 * blk + 1) * 32;
  ::sim::RequireUbSpan(op, "dst", dstLocal, dst_span);
  const uint64_t src_bytes = ::sim::RoundUp32(src0Local.SimBytes());
  const uint32_t* off = offsetLocal.SimData();
  uint64_t lo = UINT64_MAX, hi = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if ((src0Local.SimAddr() + static_cast<uint64_t>(off[i])) % 32 != 0)
      ::sim::Fail("gather-offset",
                  ::sim::Msg(op, ": offset[", i, "] = ", off[i], " B puts the block at UB address ",
                             src0Local.SimAddr() + static_cast<uint64_t>(off[i]), ", not on a 32-byte boundary"));
    if (static_cast<uint64_t>(off[i]) + 32 > src_bytes)
      ::sim::Fail("gather-offset",
                  ::sim::Msg(op, ": offset[", i, "] = ", off[i], " B reads past the src tensor (", src_bytes, " B)"));
    lo = std::min<uint64_t>(lo, off[i]);
    hi = std::max<uint64_t>(hi, off[i] + 32ull);
  }
  const uint64_t s0 = src0Local.SimAddr() + lo, s1 = src0Local.SimAddr() + hi;
  ::sim::RequireNoOverlap(op, op, "dst", dstLocal.SimAddr(), dst_span, "the gathered src blocks", s0, s1 - s0);
  const ::sim::PipeOp pop = ::sim::BeginOp(::sim::Pipe::kV, op);
  ::sim::TrackUbRead(pop, offsetLocal.SimAddr(), count * sizeof(uint32_t));
  {
    ::sim::BlockRuns gathered(pop, false), written(pop, true);
    for (uint32_t i = 0; i < count; ++i) {
      gathered.Add(src0Local.SimAddr() + static_cast<uint64_t>(off[i]));
      written.Add(dstLocal.SimAddr() +
                  ((i / 8) * static_cast<uint64_t>(repeatParams.dstRepStride) + (i % 8) * blk) * 32);
    }
  }
  ::sim::CountVectorInstr(repeatTimes);
  uint8_t* ub = ::sim::Core().ub();
  for (uint32_t r = 0; r < repeatTimes; ++r) {
    for (uint32_t j = 0; j < 8; ++j) {
      const uint64_t d = dstLocal.SimAddr() + (r * static_cast<uint64_t>(repeatParams.dstRepStride) + j * blk) * 32;
      std::memcpy(ub + d, ub + src0Local.SimAddr() + off[8 * r + j], 32);
    }
  }
}

// For iteration r and j < 8: fill the 32-byte block at (r*dstRepStride + j*dstBlkStride) blocks
// with src[8r + j].
template <typename T>
void Brcb(const LocalTensor<T>& dstLocal, const LocalTensor<T>& src0Local, ::sim::U8Arg repeatArg,
          const BrcbRepeatParams& repeatParams) {
  static_assert(::sim::kIsOneOf<T, int16_t, uint16_t, half, bfloat16_t, int32_t, uint32_t, float>,
                "Brcb on Atlas A2 supports int16_t/uint16_t/half/bfloat16_t/int32_t/uint32_t/float");
  const char* op = "Brcb";
  const uint8_t repeatTimes = repeatArg.Checked(op, "repeatTimes", "kernel_operator_vec_brcb_intf.h");
  ::sim::RequireUbAligned(op, "dst", dstLocal);
  ::sim::RequireUbAligned(op, "src", src0Local);
  ResetMask();  // BrcbImpl (impl/dav_c220/kernel_operator_vec_brcb_impl.h) does, before vbrcb
  if (repeatTimes == 0) return;
  if (repeatParams.dstBlkStride == 0)
    ::sim::Fail("vector-stride", "Brcb: dstBlkStride=0 is undefined behaviour on the hardware");
  const uint64_t src_bytes = static_cast<uint64_t>(repeatTimes) * 8 * sizeof(T);
  if (src_bytes > src0Local.SimBytes())
    ::sim::RequireSourceSpan(op, "src", src0Local.SimAddr(), src_bytes, src0Local.SimBytes());
  const uint64_t last_block =
      (static_cast<uint64_t>(repeatTimes) - 1) * repeatParams.dstRepStride + 7ull * repeatParams.dstBlkStride;
  const uint64_t dst_span = (last_block + 1) * 32;
  ::sim::RequireUbSpan(op, "dst", dstLocal, dst_span);
  ::sim::RequireNoOverlap(op, op, "dst", dstLocal.SimAddr(), dst_span, "src", src0Local.SimAddr(), src_bytes);
  const ::sim::PipeOp pop = ::sim::BeginOp(::sim::Pipe::kV, op);
  ::sim::TrackUbRead(pop, src0Local.SimAddr(), src_bytes);
  {
    ::sim::BlockRuns written(pop, true);
    for (uint64_t r = 0; r < repeatTimes; ++r)
      for (uint64_t j = 0; j < 8; ++j)
        written.Add(dstLocal.SimAddr() + (r * repeatParams.dstRepStride + j * repeatParams.dstBlkStride) * 32);
  }
  ::sim::CountVectorInstr(repeatTimes);
  const T* s = src0Local.SimData();
  uint8_t* d = reinterpret_cast<uint8_t*>(dstLocal.SimData());
  constexpr uint32_t per_block = 32 / sizeof(T);
  for (uint32_t r = 0; r < repeatTimes; ++r) {
    for (uint32_t j = 0; j < 8; ++j) {
      T* block = reinterpret_cast<T*>(d + (static_cast<uint64_t>(r) * repeatParams.dstRepStride +
                                           static_cast<uint64_t>(j) * repeatParams.dstBlkStride) *
                                              32);
      for (uint32_t k = 0; k < per_block; ++k) block[k] = s[8 * r + j];
    }
  }
}

}  // namespace AscendC
