// Runs a kernel on `block_dim` simulated vector cores, one thread per core with its own
// CoreContext. Cores beyond the SoC's vector core count run in later waves, as on hardware. The
// first rule a core breaks is rethrown to the caller after every core has stopped; the others are
// released from SyncAll instead of hanging.
#pragma once

#include <algorithm>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core_context.h"

namespace sim {

struct LaunchConfig {
  int64_t block_dim = 1;
  SocConfig soc;
  uint64_t tiling_key = 0;
  bool check_pipe_hazards = true;
  bool strict = true;  // see strictness.h
};

struct LaunchResult {
  std::vector<CoreStats> per_core;
  std::vector<std::string> warnings;  // lenient-mode reports and position warnings (strictness.h)
};

inline LaunchResult Launch(const LaunchConfig& cfg, const GmRegistry& gm, const std::function<void()>& kernel) {
  if (cfg.block_dim < 1 || cfg.block_dim > 65535)
    throw SimError("launch", Msg("block_dim=", cfg.block_dim, " must be in [1, 65535]"));
  if (cfg.soc.vector_core_num < 1 || cfg.soc.ub_bytes < 8192 || cfg.soc.ub_bytes % 32 != 0)
    throw SimError("launch", Msg("SoC '", cfg.soc.name, "' has an invalid core count or UB size"));
  LaunchState state;
  state.block_dim = cfg.block_dim;
  state.soc = cfg.soc;
  state.tiling_key = cfg.tiling_key;
  state.check_pipe_hazards = cfg.check_pipe_hazards;
  state.rules.strict = cfg.strict;
  state.gm = gm;
  state.barrier = std::make_unique<CoreBarrier>(cfg.block_dim);

  LaunchResult result;
  result.per_core.resize(static_cast<size_t>(cfg.block_dim));
  std::mutex error_mu;
  std::exception_ptr first_error;

  auto run_core = [&](int64_t idx) {
    CoreContext core(&state, idx);
    t_core = &core;
    t_current_core = idx;
    t_rule_log = &state.rules;
    try {
      kernel();
      if (core.atomic.type_name)
        Fail("atomic-left-on", Msg("the kernel returned with SetAtomicAdd<", core.atomic.type_name,
                                   "> still on; "
                                   "call SetAtomicNone() after the atomic copies, or later kernels on this core "
                                   "accumulate into GM by accident"));
      AscendC::HardEvent event;
      int32_t event_id;
      if (core.FirstSetFlag(&event, &event_id))
        Fail("event-left-set", Msg("the kernel returned with SetFlag<HardEvent::", EventName(event), ">(", event_id,
                                   ") never consumed by its WaitFlag; SetFlag and WaitFlag must come in pairs, "
                                   "and a flag left set carries a stale signal into the next kernel on this core"));
      state.barrier->Finished(idx);
    } catch (const SimAborted&) {
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (!first_error) first_error = std::current_exception();
      state.barrier->Abort();
    }
    result.per_core[static_cast<size_t>(idx)] = core.stats();
    t_core = nullptr;
    t_current_core = -1;
    t_rule_log = nullptr;
  };

  const int64_t wave = std::min<int64_t>(cfg.block_dim, cfg.soc.vector_core_num);
  for (int64_t start = 0; start < cfg.block_dim && !first_error; start += wave) {
    std::vector<std::thread> threads;
    for (int64_t idx = start; idx < std::min(cfg.block_dim, start + wave); ++idx) threads.emplace_back(run_core, idx);
    for (std::thread& t : threads) t.join();
  }
  if (first_error) std::rethrow_exception(first_error);
  for (const auto& [rule, seen] : state.rules.warnings)
    result.warnings.push_back(Msg("[", rule, "] ", seen.first, "x, first: ", seen.second));
  return result;
}

}  // namespace sim
