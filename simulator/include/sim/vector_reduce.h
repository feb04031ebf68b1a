// ReduceSum (count form): the sum of the first `count` elements lands in dst[0]. The hardware sums
// each 256-byte iteration as a binary tree in the element type, then the per-iteration sums again
// as a tree, using the work tensor for them; the simulator does the same, so half-precision
// rounding matches in kind.
#pragma once

#include <cstdint>
#include <vector>

#include "api_types.h"
#include "vector_arith.h"
#include "vector_engine.h"

namespace sim {

// Pairwise sum of v[0..n) in the element type T (each addition rounds to T).
template <typename T>
T TreeSum(std::vector<T> v) {
  if (v.empty()) return T(0.0f);
  while (v.size() > 1) {
    std::vector<T> next((v.size() + 1) / 2);
    for (size_t i = 0; i < v.size() / 2; ++i)
      next[i] = T(static_cast<float>(v[2 * i]) + static_cast<float>(v[2 * i + 1]));
    if (v.size() % 2) next.back() = v.back();
    v.swap(next);
  }
  return v[0];
}

}  // namespace sim

namespace AscendC {

template <typename T, bool isSetMask = true>
void ReduceSum(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const LocalTensor<T>& workLocal,
               const int32_t count) {
  static_assert(::sim::kFloatType<T>, "ReduceSum on Atlas A2 supports half/float");
  const char* op = "ReduceSum";
  // CANN 8.1 checks this range itself (basic_api/inner_interface/inner_kernel_operator_vec_reduce_intf.cppm,
  // ASCENDC_CHECK_VALUE_RANGE(count, 1, TOTAL_UB_SIZE / sizeof(T))): unlike most count forms, 0 is an error.
  if (count < 1 || static_cast<int64_t>(count) * static_cast<int64_t>(sizeof(T)) > ::sim::Core().ub_bytes())
    ::sim::Fail("vector-count",
                ::sim::Msg(op, ": count=", count, " is outside [1, ", ::sim::Core().ub_bytes() / sizeof(T),
                           "] (CANN 8.1 inner_kernel_operator_vec_reduce_intf.cppm checks it)"));
  ::sim::RequireUbAligned(op, "work", workLocal);
  constexpr int64_t per_repeat = 256 / sizeof(T), per_block = 32 / sizeof(T);
  const int64_t repeats = count <= 0 ? 0 : (count + per_repeat - 1) / per_repeat;
  const int64_t work_need = (repeats + per_block - 1) / per_block * per_block;
  if (count > 0 && workLocal.GetSize() < static_cast<uint64_t>(work_need))
    ::sim::Fail("reduce-work-size",
                ::sim::Msg(op, ": count=", count, " needs a work tensor of at least ", work_need,
                           " elements (one per 256-byte iteration, rounded up to 32 B), got ", workLocal.GetSize()));
  if (!::sim::BeginCountOp(op, count, dstLocal, sizeof(T), {::sim::Src("src", srcLocal, count)},
                           {{workLocal.SimAddr(), static_cast<uint64_t>(work_need) * sizeof(T)}}))
    return;
  const T* s = srcLocal.SimData();
  std::vector<T> partial(repeats);
  for (int64_t r = 0; r < repeats; ++r) {
    const int64_t n = std::min<int64_t>(per_repeat, count - r * per_repeat);
    partial[r] = ::sim::TreeSum(std::vector<T>(s + r * per_repeat, s + r * per_repeat + n));
  }
  T* w = workLocal.SimData();
  for (int64_t r = 0; r < repeats; ++r) w[r] = partial[r];
  dstLocal.SimData()[0] = ::sim::TreeSum(partial);
}

}  // namespace AscendC
