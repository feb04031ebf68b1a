// SyncAll's barrier across the cores of one launch, built so the simulator can never hang in it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "errors.h"

namespace sim {

// SyncAll across the cores of a launch. It never deadlocks in the simulator: a core that fails
// aborts everyone, and a core that returns while others wait is reported as the hang it would be.
class CoreBarrier {
 public:
  explicit CoreBarrier(int64_t participants) : participants_(participants) {}

  void Arrive(int64_t core) {
    std::unique_lock<std::mutex> lock(mu_);
    if (aborted_) throw SimAborted();
    if (!finished_.empty()) Fail("syncall-deadlock", DeadlockMessage(finished_.front(), {core}));
    waiting_.push_back(core);
    const uint64_t gen = generation_;
    if (static_cast<int64_t>(waiting_.size()) == participants_) {
      waiting_.clear();
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != gen || aborted_; });
    if (generation_ == gen) {
      if (!deadlock_message_.empty()) Fail("syncall-deadlock", deadlock_message_);
      throw SimAborted();
    }
  }

  // Called once per core when its kernel function returns normally.
  void Finished(int64_t core) {
    std::lock_guard<std::mutex> lock(mu_);
    finished_.push_back(core);
    if (!waiting_.empty() && deadlock_message_.empty()) {
      deadlock_message_ = DeadlockMessage(core, waiting_);
      aborted_ = true;
      cv_.notify_all();
    }
  }

  void Abort() {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_ = true;
    cv_.notify_all();
  }

 private:
  std::string DeadlockMessage(int64_t returned, const std::vector<int64_t>& waiting) const {
    std::string who;
    for (int64_t c : waiting) who += (who.empty() ? "" : ", ") + std::to_string(c);
    return Msg("core ", returned, " returned from the kernel without reaching SyncAll (barrier #", generation_ + 1,
               ") while core(s) ", who,
               " wait in it; on hardware every core must call SyncAll equally often, "
               "so they would wait forever");
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int64_t participants_;
  uint64_t generation_ = 0;
  std::vector<int64_t> waiting_;
  std::vector<int64_t> finished_;
  bool aborted_ = false;
  std::string deadlock_message_;
};

}  // namespace sim
