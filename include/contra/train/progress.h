#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace contra::train {

/// What one step reports to the user.
struct StepStats {
  int64_t step = 0;  ///< steps done (1-based after the first)
  int64_t total = 0;
  double epoch = 0;
  double loss = 0, lr = 0, pairs_per_s = 0, data_wait = 0;
  double elapsed_s = 0;  ///< training time so far
  /// Remaining time at the average pace so far.
  double eta_s() const { return step > 0 ? elapsed_s / double(step) * double(total - step) : -1; }
};

/// On a terminal: one line redrawn in place (step, loss, lr, pairs/s, ETA). Otherwise (a file, a
/// pipe, CI): a plain log line every `every` steps and at the end.
class Progress {
 public:
  /// out null: prints nothing. interactive: redraw one line (a terminal) or print log lines (anything else).
  Progress(std::FILE* out, int64_t every, bool interactive);
  void update(const StepStats& s);
  /// Ends the redrawn line, if any.
  void finish();
  static std::string format_duration(double seconds);
  static std::string format_line(const StepStats& s);

 private:
  std::FILE* out_;
  int64_t every_;
  bool interactive_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace contra::train
