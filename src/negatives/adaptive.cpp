#include "contra/negatives/adaptive.h"

#include <algorithm>
#include <cmath>

#include "contra/core/error.h"

namespace contra::negatives {

AdaptiveHardness::AdaptiveHardness(AdaptiveHardnessOptions o) : options_(o) {
  CONTRA_CHECK(o.beta_max() >= 0 && std::isfinite(o.beta_max()),
               "loss.adaptive_beta_max must be >= 0, got ", o.beta_max());
  CONTRA_CHECK(std::isfinite(o.gap_low()) && std::isfinite(o.gap_high()) && o.gap_low() < o.gap_high(),
               "loss.adaptive_gap_low (", o.gap_low(), ") must be < loss.adaptive_gap_high (",
               o.gap_high(), ")");
  CONTRA_CHECK(o.rate() > 0 && std::isfinite(o.rate()), "loss.adaptive_rate must be > 0, got ",
               o.rate());
  CONTRA_CHECK(o.smoothing() >= 0 && o.smoothing() < 1,
               "adaptive smoothing must be in [0, 1), got ", o.smoothing());
  CONTRA_CHECK(o.spike() > 0, "adaptive spike must be > 0, got ", o.spike());
  CONTRA_CHECK(o.backoff() >= 0 && o.backoff() < 1, "adaptive backoff must be in [0, 1), got ",
               o.backoff());
  CONTRA_CHECK(o.cooldown() >= 0, "adaptive cooldown must be >= 0, got ", o.cooldown());
}

std::vector<double> AdaptiveHardness::state() const {
  return {beta_, gap_avg_, loss_avg_, double(steps_), double(instabilities_), double(cooldown_left_)};
}

void AdaptiveHardness::restore(const std::vector<double>& s) {
  CONTRA_CHECK(s.size() == 6, "adaptive controller state must hold 6 values, got ", s.size());
  beta_ = s[0], gap_avg_ = s[1], loss_avg_ = s[2];
  steps_ = int64_t(s[3]), instabilities_ = int64_t(s[4]), cooldown_left_ = int64_t(s[5]);
}

double AdaptiveHardness::update(double loss, double gap) {
  const auto& o = options_;
  const bool first = steps_ == 0;
  ++steps_;
  const bool unstable = !std::isfinite(loss) || (!first && loss > (1 + o.spike()) * loss_avg_);
  if (std::isfinite(loss)) loss_avg_ = first ? loss : o.smoothing() * loss_avg_ + (1 - o.smoothing()) * loss;
  if (std::isfinite(gap)) gap_avg_ = first ? gap : o.smoothing() * gap_avg_ + (1 - o.smoothing()) * gap;
  if (unstable) {
    ++instabilities_;
    beta_ *= o.backoff();
    cooldown_left_ = o.cooldown();
    return beta_;
  }
  const double x = std::clamp((gap_avg_ - o.gap_low()) / (o.gap_high() - o.gap_low()), 0.0, 1.0);
  const double target = o.beta_max() * x;
  double move = std::clamp(target - beta_, -o.rate(), o.rate());
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    move = std::min(move, 0.0);
  }
  beta_ = std::max(0.0, beta_ + move);
  return beta_;
}

}  // namespace contra::negatives
