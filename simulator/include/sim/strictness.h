// The two classes of rule. Class (a), what the hardware rejects or computes wrongly, always fails
// (Fail in errors.h). Class (b), what the hardware executes harmlessly but what is a bug risk in
// code we write (reading past a tensor view inside UB, a GM access past the SetGlobalBuffer size
// but inside the real allocation), fails in strict mode, which this project's kernels and tests
// use, and is reported as a warning in lenient mode, which runs third-party production kernels
// (scripts/check_simulator_fidelity.sh). Advisory rules (Warn) are warnings in both modes.
//
// The decision needs only the launch's mode and its warnings (RuleLog), not the core's state, so
// this header sits below core_context.h and every checker (pipe_hazards.h too) can include it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "errors.h"

namespace sim {

// The mode and warnings of one launch, shared by its cores.
struct RuleLog {
  bool strict = true;
  std::mutex mutex;
  std::map<std::string, std::pair<uint64_t, std::string>> warnings;  // rule -> (times, first message)
};

// The RuleLog of the launch this thread runs a core of (set by Launch, with t_current_core).
inline thread_local RuleLog* t_rule_log = nullptr;

inline RuleLog& CurrentRuleLog() {
  if (!t_rule_log) throw SimError("no-core", "AscendC API called outside a simulated kernel launch");
  return *t_rule_log;
}

// Records a warning of the launch; repeated warnings of one rule are counted, the first kept.
inline void Warn(const char* rule, const std::string& message) {
  RuleLog& log = CurrentRuleLog();
  std::lock_guard<std::mutex> lock(log.mutex);
  auto& seen = log.warnings[rule];
  if (seen.first++ == 0) seen.second = Msg("core ", t_current_core, ": ", message);
}

// A class (b) rule: an error in strict mode, a warning in lenient mode.
inline void BugRisk(const char* rule, const std::string& message) {
  if (CurrentRuleLog().strict)
    Fail(rule, message + " (harmless on the hardware, refused in strict mode as a bug risk)");
  Warn(rule, message);
}

}  // namespace sim
