// How the simulator reports a broken hardware rule: one exception type carrying the rule name,
// so Python sees "[rule] core N: what happened, with the values" and tests can tell rules apart.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace sim {

// A kernel broke a rule the hardware (or its documented API contract) imposes.
class SimError : public std::runtime_error {
 public:
  SimError(std::string rule, const std::string& message)
      : std::runtime_error("[" + rule + "] " + message), rule_(std::move(rule)) {}
  const std::string& rule() const { return rule_; }

 private:
  std::string rule_;
};

// Thrown into the other cores of a launch once one core has failed, so that none of them waits
// forever in SyncAll. It is never the error a launch reports.
class SimAborted : public std::runtime_error {
 public:
  SimAborted() : std::runtime_error("aborted because another core failed") {}
};

// Builds a message from streamable parts: Msg("blockLen=", n, " is not a multiple of ", 4).
template <typename... Parts>
std::string Msg(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

// The simulated core this thread runs (set by Launch), -1 outside a launch.
inline thread_local int64_t t_current_core = -1;

// Reports a broken rule on the calling core.
[[noreturn]] inline void Fail(const char* rule, const std::string& message) {
  if (t_current_core >= 0) throw SimError(rule, Msg("core ", t_current_core, ": ", message));
  throw SimError(rule, message);
}

}  // namespace sim
