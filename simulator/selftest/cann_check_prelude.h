// Force-included by scripts/check_cann.sh when the self-test kernels are syntax-checked against the real
// CANN 8.1 headers, which proves every API call they make has CANN's name and signature.
// It replaces selftest_registry.h (whose include guard it defines) with the two things the kernels
// take from it.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernel_operator.h"

#define SIM_SELFTEST_REGISTRY_H_
#define SIM_SELFTEST(kernel)

namespace sim {
inline int64_t SelftestParam(GM_ADDR params, int i) {
  int64_t v;
  std::memcpy(&v, params + 8 * i, sizeof(v));
  return v;
}
}  // namespace sim
