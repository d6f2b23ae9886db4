#include "contra/train/progress.h"


#include <cmath>

#include <c10/util/StringUtil.h>

namespace contra::train {

Progress::Progress(std::FILE* out, int64_t every, bool interactive)
    : out_(out), every_(every < 1 ? 1 : every), interactive_(interactive) {}

std::string Progress::format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

std::string Progress::format_line(const StepStats& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "step %lld/%lld epoch %.2f loss %.4f lr %.4g %.1f pairs/s data-wait %.0f%% ETA %s",
                (long long)s.step, (long long)s.total, s.epoch, s.loss, s.lr, s.pairs_per_s,
                100.0 * s.data_wait, format_duration(s.eta_s()).c_str());
  return buf;
}

void Progress::update(const StepStats& s) {
  if (out_ == nullptr) return;
  const bool last = s.step >= s.total;
  if (interactive_) {
    auto now = std::chrono::steady_clock::now();
    if (!last && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    const int width = 24;
    int filled = s.total > 0 ? int(width * double(s.step) / double(s.total)) : 0;
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(out_, "\r[%s] %s\033[K", bar.c_str(), format_line(s).c_str());
    std::fflush(out_);
    dirty_ = true;
    if (last) finish();
    return;
  }
  if (s.step % every_ == 0 || last) {
    std::fprintf(out_, "%s\n", format_line(s).c_str());
    std::fflush(out_);
  }
}

void Progress::finish() {
  if (out_ == nullptr) return;
  if (dirty_) std::fprintf(out_, "\n");
  dirty_ = false;
  std::fflush(out_);
}

}  // namespace contra::train
