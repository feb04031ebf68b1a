// The two classes of rule. Class (a), what the hardware rejects or computes wrongly, always fails
// (Fail in errors.h). Class (b), what the hardware executes harmlessly but what is a bug risk in
// code we write (reading past a tensor view inside UB, a GM access past the SetGlobalBuffer size
// but inside the real allocation), fails in strict mode, which this project's kernels and tests
// use, and is reported as a warning in lenient mode, which runs third-party production kernels
// (scripts/check_simulator_fidelity.sh). Advisory rules (Warn) are warnings in both modes.
#pragma once

#include <mutex>
#include <string>

#include "core_context.h"
#include "errors.h"

namespace sim {

// Records a warning of the launch; repeated warnings of one rule are counted, the first kept.
inline void Warn(const char* rule, const std::string& message) {
  CoreContext& c = Core();
  LaunchState& launch = c.launch();
  std::lock_guard<std::mutex> lock(launch.warnings_mutex);
  auto& seen = launch.warnings[rule];
  if (seen.first++ == 0) seen.second = Msg("core ", c.block_idx(), ": ", message);
}

// A class (b) rule: an error in strict mode, a warning in lenient mode.
inline void BugRisk(const char* rule, const std::string& message) {
  if (Core().launch().strict) Fail(rule, message + " (harmless on the hardware, refused in strict mode as a bug risk)");
  Warn(rule, message);
}

}  // namespace sim
