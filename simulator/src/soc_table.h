// SoCs the simulator can model. Core counts and UB sizes come from CANN 8.1.RC1's platform
// configuration, aarch64-linux/data/platform_config/<SoC>.ini (keys vector_core_cnt and ub_size):
//   Ascend910B1/B2: vector_core_cnt=48, ub_size=196608
//   Ascend910B3/B4: vector_core_cnt=40, ub_size=196608
// All are dav-c220 (Atlas A2) vector cores, the instruction set the simulator emulates. Ascend310P
// (dav-m200) is left out on purpose: it lacks DataCopyPad and others. "Ascend910B3-8core" is a debug
// configuration with the B3's UB and 8 cores, to exercise multi-wave and small-core-count tilings.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "sim/core_context.h"

namespace sim {

inline const std::vector<SocConfig>& SocTable() {
  static const std::vector<SocConfig> table = {
      {"Ascend910B1", 48, 196608},
      {"Ascend910B2", 48, 196608},
      {"Ascend910B3", 40, 196608},
      {"Ascend910B4", 40, 196608},
      {"Ascend910B3-8core", 8, 196608},
  };
  return table;
}

inline const SocConfig& FindSoc(const std::string& name) {
  std::string known;
  for (const SocConfig& s : SocTable()) {
    if (s.name == name) return s;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  throw std::invalid_argument("soc must be one of " + known + ", got '" + name + "'");
}

}  // namespace sim
