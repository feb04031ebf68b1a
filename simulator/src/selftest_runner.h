// Host-side entry for the self-test kernels, free of pybind11 and of the kernel API macros.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/launch.h"

namespace sim {

struct HostBuffer {
  void* data;
  uint64_t bytes;
};

struct SelftestOptions {
  int64_t block_dim = 1;
  std::string soc = "Ascend910B3";
  uint64_t tiling_key = 0;
  bool check_pipe_hazards = true;
  bool strict = true;  // class (b) rules fail (sim/strictness.h)
};

std::vector<std::string> SelftestNames();

LaunchResult RunSelftest(const std::string& name, const std::vector<HostBuffer>& buffers,
                         const std::vector<int64_t>& params, const SelftestOptions& options);

}  // namespace sim
