// Helpers for the API self-test kernels: move a whole buffer between GM and a UB tile with
// properly synchronised DMAs, so each test kernel states only the instruction it exercises.
#pragma once

#include "kernel_operator.h"
#include "selftest_registry.h"

namespace selftest {

using namespace AscendC;

// A UB tile filled from GM buffer `gm` (elements * sizeof(T) must be a multiple of 32 B), ready
// for vector instructions.
template <typename T>
void Load(const LocalTensor<T>& tile, GM_ADDR gm, uint32_t elements) {
  GlobalTensor<T> g;
  g.SetGlobalBuffer(reinterpret_cast<__gm__ T*>(gm), elements);
  DataCopy(tile, g, elements);
  SetFlag<HardEvent::MTE2_V>(0);
  WaitFlag<HardEvent::MTE2_V>(0);
}

// Stores a tile the vector unit wrote back to GM buffer `gm`.
template <typename T>
void Store(GM_ADDR gm, const LocalTensor<T>& tile, uint32_t elements) {
  SetFlag<HardEvent::V_MTE3>(0);
  WaitFlag<HardEvent::V_MTE3>(0);
  GlobalTensor<T> g;
  g.SetGlobalBuffer(reinterpret_cast<__gm__ T*>(gm), elements);
  DataCopy(g, tile, elements);
}

inline float FloatFromBits(int64_t bits) {
  const uint32_t b = static_cast<uint32_t>(bits);
  float f;
  std::memcpy(&f, &b, sizeof(f));
  return f;
}

}  // namespace selftest
