// Self-test kernels (simulator/selftest/*.cpp) register themselves here under their name so one
// entry point, _sim.run_selftest(name, ...), can run any of them. Each takes four GM buffers and a
// block of int64 parameters, read on the host side the way GET_TILING_DATA reads tiling.
// Besides this header the kernels use only the AscendC API, so they also compile against CANN's
// own headers (cann_check_prelude.h stands in for this file there).
#ifndef SIM_SELFTEST_REGISTRY_H_
#define SIM_SELFTEST_REGISTRY_H_

#include <cstdint>
#include <cstring>
#include <vector>

#include "sim/api_types.h"

namespace sim {

using SelftestKernel = void (*)(GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR, GM_ADDR);

struct Selftest {
  const char* name;
  SelftestKernel kernel;
};

inline std::vector<Selftest>& Selftests() {
  static std::vector<Selftest> all;
  return all;
}

struct SelftestRegistrar {
  SelftestRegistrar(const char* name, SelftestKernel kernel) { Selftests().push_back({name, kernel}); }
};

// Parameter i of the block the test passes (the runner always provides kSelftestParamCount).
constexpr int kSelftestParamCount = 16;
inline int64_t SelftestParam(GM_ADDR params, int i) {
  int64_t v;
  std::memcpy(&v, params + 8 * i, sizeof(v));
  return v;
}

}  // namespace sim

#define SIM_SELFTEST(kernel) static const ::sim::SelftestRegistrar sim_selftest_##kernel(#kernel, kernel)

#endif  // SIM_SELFTEST_REGISTRY_H_
