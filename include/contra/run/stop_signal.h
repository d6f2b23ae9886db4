#pragma once
#include <atomic>

namespace contra::run {

/// While alive, SIGINT and SIGTERM set a flag instead of killing the process, so the training
/// loop can finish its step, write a checkpoint and return; the previous handlers come back on
/// destruction. A second signal while stopping exits at once (the last checkpoint stays whole).
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
  const std::atomic<bool>& flag() const;
  /// The signal that raised the flag (0: none).
  int signal() const;
};

}  // namespace contra::run
