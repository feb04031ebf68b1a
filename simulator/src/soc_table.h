// SoCs the simulator can model: every row of op_host/dcnv3_soc_table.h (the package's one SoC
// table; all dav-c220 vector cores, the instruction set the simulator emulates), plus
// "Ascend910B3-8core", a debug configuration with the B3's UB and clock and 8 cores, to exercise
// multi-wave and small-core-count tilings. Ascend310P (dav-m200) is left out on purpose: it lacks
// DataCopyPad and others.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "dcnv3_soc_table.h"
#include "sim/core_context.h"

namespace sim {

inline const std::vector<SocConfig>& SocTable() {
  static const std::vector<SocConfig> table = [] {
    std::vector<SocConfig> rows;
#define SIM_SOC_ROW(name, unit, cores, ub, mhz) rows.push_back({name, unit, cores, ub, mhz});
    DCNV3_SOC_TABLE(SIM_SOC_ROW)
#undef SIM_SOC_ROW
    for (const SocConfig& s : std::vector<SocConfig>(rows)) {
      if (s.name == "Ascend910B3") rows.push_back({"Ascend910B3-8core", s.compute_unit, 8, s.ub_bytes, s.clock_mhz});
    }
    return rows;
  }();
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
