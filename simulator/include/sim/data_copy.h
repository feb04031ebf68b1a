// DataCopy and DataCopyPad between GM and UB (and UB to UB). Semantics and limits follow the
// asc-devkit docs for Atlas A2: UB addresses 32-byte aligned; the contiguous form moves whole
// 32-byte blocks (the hardware silently drops a tail, the simulator refuses it); DataCopyPad pads
// every block to 32 bytes in UB and drops the padding on the way out. Each call is one DMA command
// in the statistics; UB->GM copies accumulate when SetAtomicAdd is on.
#pragma once

#include <cstdint>
#include <cstring>
#include <mutex>

#include "api_types.h"
#include "buffer_position.h"
#include "core_context.h"
#include "operand_checks.h"
#include "overlap_rules.h"
#include "tensors.h"

namespace sim {

// GM <- UB store of n elements, atomic-add when the core's atomic mode is on.
template <typename T>
void StoreToGm(T* gm, const T* ub, uint64_t n) {
  CoreContext& core = Core();
  if (!core.atomic.type_name) {
    std::memcpy(gm, ub, n * sizeof(T));
    return;
  }
  if (std::strcmp(core.atomic.type_name, TypeName<T>()) != 0)
    Fail("atomic-type-mismatch", Msg("a UB->GM copy of ", TypeName<T>(), " data while SetAtomicAdd<",
                                     core.atomic.type_name, "> is on; the accumulation type must match the data"));
  std::lock_guard<std::mutex> lock(core.launch().atomic_mutex);
  for (uint64_t i = 0; i < n; ++i) {
    T acc, add;
    std::memcpy(&acc, gm + i, sizeof(T));
    std::memcpy(&add, ub + i, sizeof(T));
    if constexpr (kIsFloat16<T>) {
      acc = T(static_cast<float>(acc) + static_cast<float>(add));
    } else if constexpr (std::is_floating_point_v<T>) {
      acc = acc + add;
    } else {
      acc = static_cast<T>(static_cast<std::make_unsigned_t<T>>(acc) + static_cast<std::make_unsigned_t<T>>(add));
    }
    std::memcpy(gm + i, &acc, sizeof(T));
  }
}

inline void CountDma(uint64_t read_bytes, uint64_t write_bytes) { RecordDma(read_bytes, write_bytes); }

template <typename T>
void RequireGmElementAligned(const char* op, const T* gm) {
  if (reinterpret_cast<uintptr_t>(gm) % sizeof(T) != 0)
    Fail("gm-address-unaligned", Msg(op, ": GM address ", static_cast<const void*>(gm), " is not aligned to sizeof(",
                                     TypeName<T>(), ") = ", sizeof(T)));
}

inline void RequireContiguousLength(const char* op, uint64_t count, size_t elem) {
  if (count * elem % 32 != 0)
    Fail("datacopy-length-unaligned", Msg(op, ": count=", count, " elements x ", elem, " B = ", count * elem,
                                          " B is not a multiple of 32 B; the "
                                          "hardware rounds the length down to ",
                                          count * elem / 32 * 32,
                                          " B and silently drops the tail (use "
                                          "DataCopyPad for unaligned lengths)"));
}

// The count forms build DataCopyParams with `blockLen = calCount / (32 / sizeof(T))`, and blockLen is
// uint16_t (basic_api/inner_interface/inner_kernel_operator_data_copy_intf.cppm), so a copy of more
// than 65535 blocks (2 MiB) would move blockLen % 65536 blocks on the NPU.
inline void RequireBlockLenFits(const char* op, uint64_t count, size_t elem) {
  const uint64_t blocks = count * elem / 32;
  if (blocks > 65535)
    Fail("count-narrowing", Msg(op, ": count=", count, " is ", blocks,
                                " blocks of 32 B, but CANN 8.1 passes it as "
                                "the uint16_t DataCopyParams::blockLen (basic_api/inner_interface/inner_kernel_"
                                "operator_data_copy_intf.cppm), so the NPU would copy ",
                                blocks % 65536, " blocks"));
}

// Limits shared by the block-strided forms. A zero count or length is a no-op on A2, but it almost
// always means a 16-bit counter wrapped, so the simulator refuses it; skip the call instead.
inline void RequireBlockCount(const char* op, uint64_t block_count) {
  if (block_count < 1 || block_count > 4095)
    Fail("datacopy-params", Msg(op, ": blockCount=", block_count, " is outside [1, 4095]",
                                block_count == 0 ? " (A2 treats 0 as a no-op, which usually means a uint16 counter "
                                                   "wrapped; skip the call instead)"
                                                 : ""));
}

// Strided GM->UB copy of whole 32-byte blocks (DataCopyParams form, units of 32 B).
template <typename T>
void GmToUbBlocks(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::GlobalTensor<T>& src,
                  uint64_t count, uint64_t block_bytes, uint64_t gm_pitch, uint64_t ub_pitch) {
  RequireUbAligned(op, "dst", dst);
  RequireGmElementAligned(op, src.SimAddr());
  const uint64_t gm_span = (count - 1) * gm_pitch + block_bytes, ub_span = (count - 1) * ub_pitch + block_bytes;
  RequireUbSpan(op, "dst", dst, ub_span);
  src.SimCheck(op, 0, gm_span);
  const PipeOp pop = BeginOp(Pipe::kMte2, op);
  uint8_t* ub = Core().ub() + dst.SimAddr();
  const uint8_t* gm = reinterpret_cast<const uint8_t*>(src.SimAddr());
  for (uint64_t i = 0; i < count; ++i) {
    TrackUbWrite(pop, static_cast<uint32_t>(dst.SimAddr() + i * ub_pitch), block_bytes);
    TrackGm(pop.pipe, pop.seq, op, false, gm + i * gm_pitch, block_bytes);
    std::memcpy(ub + i * ub_pitch, gm + i * gm_pitch, block_bytes);
  }
  CountDma(count * block_bytes, 0);
}

// Strided UB->GM copy; `block_bytes` may be unaligned for DataCopyPad.
template <typename T>
void UbToGmBlocks(const char* op, const AscendC::GlobalTensor<T>& dst, const AscendC::LocalTensor<T>& src,
                  uint64_t count, uint64_t block_bytes, uint64_t ub_pitch, uint64_t gm_pitch) {
  RequireUbAligned(op, "src", src);
  const uint64_t gm_span = (count - 1) * gm_pitch + block_bytes, ub_span = (count - 1) * ub_pitch + block_bytes;
  RequireUbSpan(op, "src", src, ub_span);
  dst.SimCheck(op, 0, gm_span);
  const PipeOp pop = BeginOp(Pipe::kMte3, op);
  const uint8_t* ub = Core().ub() + src.SimAddr();
  uint8_t* gm = reinterpret_cast<uint8_t*>(dst.SimAddr());
  for (uint64_t i = 0; i < count; ++i) {
    TrackUbRead(pop, static_cast<uint32_t>(src.SimAddr() + i * ub_pitch), block_bytes);
    TrackGm(pop.pipe, pop.seq, op, true, gm + i * gm_pitch, block_bytes);
    StoreToGm(reinterpret_cast<T*>(gm + i * gm_pitch), reinterpret_cast<const T*>(ub + i * ub_pitch),
              block_bytes / sizeof(T));
  }
  CountDma(0, count * block_bytes);
}

// UB->UB copy (vector pipe) of whole 32-byte blocks. Its pages describe no overlap constraint, so
// no source block may share a byte with a destination block (overlap_rules.h); the blocks of each
// side ascend (pitch >= block), so one sweep over both finds any shared byte.
template <typename T>
void UbToUbBlocks(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src,
                  uint64_t count, uint64_t block_bytes, uint64_t src_pitch, uint64_t dst_pitch) {
  RequireUbAligned(op, "dst", dst);
  RequireUbAligned(op, "src", src);
  RequireUbSpan(op, "dst", dst, (count - 1) * dst_pitch + block_bytes);
  RequireUbSpan(op, "src", src, (count - 1) * src_pitch + block_bytes);
  for (uint64_t i = 0, j = 0; i < count && j < count;) {
    const uint64_t s = src.SimAddr() + i * src_pitch, d = dst.SimAddr() + j * dst_pitch;
    if (s + block_bytes <= d)
      ++i;
    else if (d + block_bytes <= s)
      ++j;
    else
      RequireNoOverlap(op, "DataCopy(UB->UB)", Msg("dst block ", j).c_str(), d, block_bytes,
                       Msg("src block ", i).c_str(), s, block_bytes);
  }
  const PipeOp pop = BeginOp(Pipe::kV, op);
  uint8_t* ub = Core().ub();
  for (uint64_t i = 0; i < count; ++i) {
    TrackUbRead(pop, static_cast<uint32_t>(src.SimAddr() + i * src_pitch), block_bytes);
    TrackUbWrite(pop, static_cast<uint32_t>(dst.SimAddr() + i * dst_pitch), block_bytes);
    std::memcpy(ub + dst.SimAddr() + i * dst_pitch, ub + src.SimAddr() + i * src_pitch, block_bytes);
  }
  RecordVector(RepeatsFor(count * block_bytes));
}

template <typename T>
void RequirePadBlockLen(const char* op, uint64_t block_len) {
  if (block_len < 1 || block_len > 2097151 || block_len % sizeof(T) != 0)
    Fail("datacopy-params", Msg(op, ": blockLen=", block_len, " B must be in [1, 2097151] and a multiple of sizeof(",
                                TypeName<T>(), ") = ", sizeof(T)));
}

template <typename T>
void DataCopyPadGmToUb(const AscendC::LocalTensor<T>& dst, const AscendC::GlobalTensor<T>& src,
                       const AscendC::DataCopyExtParams& p, const AscendC::DataCopyPadExtParams<T>& pad) {
  const char* op = "DataCopyPad(GM->UB)";
  CheckPosition(op, "dst", dst, {AscendC::TPosition::VECIN, AscendC::TPosition::VECOUT});
  RequireBlockCount(op, p.blockCount);
  RequirePadBlockLen<T>(op, p.blockLen);
  const uint64_t left = pad.leftPadding * sizeof(T), right = pad.rightPadding * sizeof(T);
  if (left > 32 || right > 32)
    Fail("datacopy-params", Msg(op, ": leftPadding=", static_cast<int>(pad.leftPadding),
                                " and rightPadding=", static_cast<int>(pad.rightPadding), " elements of ", sizeof(T),
                                " B; each side may pad at most 32 B"));
  RequireUbAligned(op, "dst", dst);
  const uint64_t padded = RoundUp32(left + p.blockLen + right);
  const uint64_t ub_pitch = padded + static_cast<uint64_t>(p.dstStride) * 32;
  const uint64_t gm_pitch = static_cast<uint64_t>(p.blockLen) + p.srcStride;
  const uint64_t count = p.blockCount;
  RequireUbSpan(op, "dst", dst, (count - 1) * ub_pitch + padded, /*whole_blocks=*/true);
  src.SimCheck(op, 0, (count - 1) * gm_pitch + p.blockLen);
  const PipeOp pop = BeginOp(Pipe::kMte2, op);
  uint8_t* ub = Core().ub() + dst.SimAddr();
  const uint8_t* gm = reinterpret_cast<const uint8_t*>(src.SimAddr());
  const bool no_padding = pad.leftPadding == 0 && pad.rightPadding == 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t* block = ub + i * ub_pitch;
    TrackUbWrite(pop, static_cast<uint32_t>(dst.SimAddr() + i * ub_pitch), padded);
    TrackGm(pop.pipe, pop.seq, op, false, gm + i * gm_pitch, p.blockLen);
    std::memcpy(block + left, gm + i * gm_pitch, p.blockLen);
    // Padding holds paddingValue when isPad, otherwise undefined data (poisoned as 0xFF = NaN).
    // The dummy tail up to 32 B repeats the block's first element when there is no padding.
    for (uint64_t off = 0; off < padded; off += sizeof(T)) {
      const bool is_data = off >= left && off < left + p.blockLen;
      if (is_data) continue;
      const bool is_dummy = off >= left + p.blockLen + right;
      if (is_dummy && no_padding) {
        std::memcpy(block + off, block, sizeof(T));
      } else if (pad.isPad) {
        std::memcpy(block + off, &pad.paddingValue, sizeof(T));
      } else {
        std::memset(block + off, 0xFF, sizeof(T));
      }
    }
  }
  CountDma(count * p.blockLen, 0);
}

template <typename T>
void DataCopyPadUbToGm(const AscendC::GlobalTensor<T>& dst, const AscendC::LocalTensor<T>& src,
                       const AscendC::DataCopyExtParams& p) {
  const char* op = "DataCopyPad(UB->GM)";
  CheckPosition(op, "src", src, {AscendC::TPosition::VECIN, AscendC::TPosition::VECOUT});
  RequireBlockCount(op, p.blockCount);
  RequirePadBlockLen<T>(op, p.blockLen);
  UbToGmBlocks(op, dst, src, p.blockCount, p.blockLen, RoundUp32(p.blockLen) + static_cast<uint64_t>(p.srcStride) * 32,
               static_cast<uint64_t>(p.blockLen) + p.dstStride);
}

inline void RequireBlockParams(const char* op, const AscendC::DataCopyParams& p) {
  RequireBlockCount(op, p.blockCount);
  if (p.blockLen == 0)
    Fail("datacopy-params",
         Msg(op, ": blockLen=0 (in 32-byte blocks); A2 treats it as a no-op, skip the call instead"));
}

}  // namespace sim

namespace AscendC {

template <typename T>
void DataCopy(const LocalTensor<T>& dstLocal, const GlobalTensor<T>& srcGlobal, const uint32_t calCount) {
  ::sim::RequireBlockLenFits("DataCopy(GM->UB)", calCount, sizeof(T));
  ::sim::CheckPosition("DataCopy(GM->UB)", "dst", dstLocal, {TPosition::VECIN});
  ::sim::RequireContiguousLength("DataCopy(GM->UB)", calCount, sizeof(T));
  if (calCount == 0) return;
  ::sim::GmToUbBlocks("DataCopy(GM->UB)", dstLocal, srcGlobal, 1, static_cast<uint64_t>(calCount) * sizeof(T), 0, 0);
}

template <typename T>
void DataCopy(const GlobalTensor<T>& dstGlobal, const LocalTensor<T>& srcLocal, const uint32_t calCount) {
  ::sim::RequireBlockLenFits("DataCopy(UB->GM)", calCount, sizeof(T));
  ::sim::CheckPosition("DataCopy(UB->GM)", "src", srcLocal, {TPosition::VECOUT});
  ::sim::RequireContiguousLength("DataCopy(UB->GM)", calCount, sizeof(T));
  if (calCount == 0) return;
  ::sim::RequireGmElementAligned("DataCopy(UB->GM)", dstGlobal.SimAddr());
  ::sim::UbToGmBlocks("DataCopy(UB->GM)", dstGlobal, srcLocal, 1, static_cast<uint64_t>(calCount) * sizeof(T), 0, 0);
}

template <typename T>
void DataCopy(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const uint32_t calCount) {
  ::sim::RequireBlockLenFits("DataCopy(UB->UB)", calCount, sizeof(T));
  ::sim::CheckPosition("DataCopy(UB->UB)", "src", srcLocal, {TPosition::VECIN, TPosition::VECCALC});
  ::sim::CheckPosition("DataCopy(UB->UB)", "dst", dstLocal, {TPosition::VECCALC, TPosition::VECOUT});
  ::sim::RequireContiguousLength("DataCopy(UB->UB)", calCount, sizeof(T));
  if (calCount == 0) return;
  ::sim::UbToUbBlocks("DataCopy(UB->UB)", dstLocal, srcLocal, 1, static_cast<uint64_t>(calCount) * sizeof(T), 0, 0);
}

template <typename T>
void DataCopy(const LocalTensor<T>& dstLocal, const GlobalTensor<T>& srcGlobal, const DataCopyParams& repeatParams) {
  ::sim::CheckPosition("DataCopy(GM->UB)", "dst", dstLocal, {TPosition::VECIN});
  const char* op = "DataCopy(GM->UB, DataCopyParams)";
  ::sim::RequireBlockParams(op, repeatParams);
  const uint64_t block = static_cast<uint64_t>(repeatParams.blockLen) * 32;
  ::sim::GmToUbBlocks(op, dstLocal, srcGlobal, repeatParams.blockCount, block,
                      block + static_cast<uint64_t>(repeatParams.srcStride) * 32,
                      block + static_cast<uint64_t>(repeatParams.dstStride) * 32);
}

template <typename T>
void DataCopy(const GlobalTensor<T>& dstGlobal, const LocalTensor<T>& srcLocal, const DataCopyParams& repeatParams) {
  ::sim::CheckPosition("DataCopy(UB->GM)", "src", srcLocal, {TPosition::VECOUT});
  const char* op = "DataCopy(UB->GM, DataCopyParams)";
  ::sim::RequireBlockParams(op, repeatParams);
  ::sim::RequireGmElementAligned(op, dstGlobal.SimAddr());
  const uint64_t block = static_cast<uint64_t>(repeatParams.blockLen) * 32;
  ::sim::UbToGmBlocks(op, dstGlobal, srcLocal, repeatParams.blockCount, block,
                      block + static_cast<uint64_t>(repeatParams.srcStride) * 32,
                      block + static_cast<uint64_t>(repeatParams.dstStride) * 32);
}

template <typename T>
void DataCopy(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const DataCopyParams& repeatParams) {
  ::sim::CheckPosition("DataCopy(UB->UB)", "src", srcLocal, {TPosition::VECIN, TPosition::VECCALC});
  ::sim::CheckPosition("DataCopy(UB->UB)", "dst", dstLocal, {TPosition::VECCALC, TPosition::VECOUT});
  const char* op = "DataCopy(UB->UB, DataCopyParams)";
  ::sim::RequireBlockParams(op, repeatParams);
  const uint64_t block = static_cast<uint64_t>(repeatParams.blockLen) * 32;
  ::sim::UbToUbBlocks(op, dstLocal, srcLocal, repeatParams.blockCount, block,
                      block + static_cast<uint64_t>(repeatParams.srcStride) * 32,
                      block + static_cast<uint64_t>(repeatParams.dstStride) * 32);
}

template <typename T>
void DataCopyPad(const LocalTensor<T>& dstLocal, const GlobalTensor<T>& srcGlobal,
                 const DataCopyExtParams& dataCopyParams, const DataCopyPadExtParams<T>& padParams) {
  ::sim::DataCopyPadGmToUb(dstLocal, srcGlobal, dataCopyParams, padParams);
}

template <typename T>
void DataCopyPad(const GlobalTensor<T>& dstGlobal, const LocalTensor<T>& srcLocal,
                 const DataCopyExtParams& dataCopyParams) {
  ::sim::DataCopyPadUbToGm(dstGlobal, srcLocal, dataCopyParams);
}

// Older overloads: DataCopyParams with blockLen in bytes, padding value as raw bits.
template <typename T>
void DataCopyPad(const LocalTensor<T>& dstLocal, const GlobalTensor<T>& srcGlobal, const DataCopyParams& dataCopyParams,
                 const DataCopyPadParams& padParams) {
  T value;
  std::memcpy(&value, &padParams.paddingValue, sizeof(T));
  ::sim::DataCopyPadGmToUb(
      dstLocal, srcGlobal,
      DataCopyExtParams(dataCopyParams.blockCount, dataCopyParams.blockLen, dataCopyParams.srcStride,
                        dataCopyParams.dstStride, 0),
      DataCopyPadExtParams<T>(padParams.isPad, padParams.leftPadding, padParams.rightPadding, value));
}

template <typename T>
void DataCopyPad(const GlobalTensor<T>& dstGlobal, const LocalTensor<T>& srcLocal,
                 const DataCopyParams& dataCopyParams) {
  ::sim::DataCopyPadUbToGm(dstGlobal, srcLocal,
                           DataCopyExtParams(dataCopyParams.blockCount, dataCopyParams.blockLen,
                                             dataCopyParams.srcStride, dataCopyParams.dstStride, 0));
}

}  // namespace AscendC
