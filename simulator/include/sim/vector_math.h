// High-level math APIs built from vector instructions on the hardware; the simulator computes
// their documented result directly. Fmod (asc-devkit 高阶API/数学计算/Fmod): dst = a - Trunc(a / b)
// * b, evaluated in float with one rounding per step like the NORMAL algorithm. The variants
// without sharedTmpBuffer take their scratch from the framework; the scratch is not modelled.
#pragma once

#include <cmath>
#include <cstdint>

#include "api_types.h"
#include "vector_arith.h"
#include "vector_engine.h"

namespace sim {

template <typename T>
void FmodCount(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& a, const AscendC::LocalTensor<T>& b,
               uint32_t count) {
  static_assert(kFloatType<T>, "Fmod on Atlas A2 supports half/float");
  const uint64_t bytes = static_cast<uint64_t>(count) * sizeof(T);
  if (!BeginCountOp("Fmod", count, dst, bytes, {Src("src0", a, count), Src("src1", b, count)})) return;
  T* d = dst.SimData();
  const T* x = a.SimData();
  const T* y = b.SimData();
  for (uint32_t i = 0; i < count; ++i) {
    const float xf = static_cast<float>(x[i]), yf = static_cast<float>(y[i]);
    const float q = std::trunc(xf / yf);
    d[i] = T(xf - q * yf);
  }
}

}  // namespace sim

namespace AscendC {

template <typename T, bool isReuseSource = false>
void Fmod(const LocalTensor<T>& dstTensor, const LocalTensor<T>& src0Tensor, const LocalTensor<T>& src1Tensor,
          const LocalTensor<uint8_t>& sharedTmpBuffer, const uint32_t calCount) {
  ::sim::RequireUbAligned("Fmod", "sharedTmpBuffer", sharedTmpBuffer);
  ::sim::FmodCount(dstTensor, src0Tensor, src1Tensor, calCount);
}

template <typename T, bool isReuseSource = false>
void Fmod(const LocalTensor<T>& dstTensor, const LocalTensor<T>& src0Tensor, const LocalTensor<T>& src1Tensor,
          const LocalTensor<uint8_t>& sharedTmpBuffer) {
  ::sim::RequireUbAligned("Fmod", "sharedTmpBuffer", sharedTmpBuffer);
  ::sim::FmodCount(dstTensor, src0Tensor, src1Tensor, src0Tensor.GetSize());
}

template <typename T, bool isReuseSource = false>
void Fmod(const LocalTensor<T>& dstTensor, const LocalTensor<T>& src0Tensor, const LocalTensor<T>& src1Tensor,
          const uint32_t calCount) {
  ::sim::FmodCount(dstTensor, src0Tensor, src1Tensor, calCount);
}

template <typename T, bool isReuseSource = false>
void Fmod(const LocalTensor<T>& dstTensor, const LocalTensor<T>& src0Tensor, const LocalTensor<T>& src1Tensor) {
  ::sim::FmodCount(dstTensor, src0Tensor, src1Tensor, src0Tensor.GetSize());
}

}  // namespace AscendC
