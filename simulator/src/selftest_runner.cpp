// Runs a registered self-test kernel on caller-provided buffers (numpy arrays, modified in place).
#include "selftest_runner.h"

#include <stdexcept>
#include <string>

#include "selftest_registry.h"
#include "sim/launch.h"
#include "soc_table.h"

namespace sim {

std::vector<std::string> SelftestNames() {
  std::vector<std::string> names;
  for (const Selftest& t : Selftests()) names.push_back(t.name);
  return names;
}

LaunchResult RunSelftest(const std::string& name, const std::vector<HostBuffer>& buffers,
                         const std::vector<int64_t>& params, const SelftestOptions& options) {
  SelftestKernel kernel = nullptr;
  for (const Selftest& t : Selftests())
    if (name == t.name) kernel = t.kernel;
  if (!kernel) throw std::invalid_argument("no self-test kernel named '" + name + "'");
  if (buffers.size() > 4) throw std::invalid_argument("a self-test takes at most 4 buffers");
  if (params.size() > static_cast<size_t>(kSelftestParamCount))
    throw std::invalid_argument("a self-test takes at most " + std::to_string(kSelftestParamCount) + " parameters");

  std::vector<int64_t> param_block(kSelftestParamCount, 0);
  std::copy(params.begin(), params.end(), param_block.begin());
  GmRegistry gm;
  GM_ADDR args[4] = {nullptr, nullptr, nullptr, nullptr};
  for (size_t i = 0; i < buffers.size(); ++i) {
    gm.Add("arg" + std::to_string(i), buffers[i].data, buffers[i].bytes);
    args[i] = static_cast<GM_ADDR>(buffers[i].data);
  }
  gm.Add("params", param_block.data(), param_block.size() * sizeof(int64_t));
  GM_ADDR p = reinterpret_cast<GM_ADDR>(param_block.data());

  LaunchConfig cfg;
  cfg.block_dim = options.block_dim;
  cfg.soc = FindSoc(options.soc);
  cfg.tiling_key = options.tiling_key;
  cfg.check_pipe_hazards = options.check_pipe_hazards;
  cfg.strict = options.strict;
  return Launch(cfg, gm, [&] { kernel(args[0], args[1], args[2], args[3], p); });
}

}  // namespace sim
