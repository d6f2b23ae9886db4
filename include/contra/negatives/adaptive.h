#pragma once
#include <cstdint>
#include <vector>

#include <torch/arg.h>

namespace contra::negatives {

/// Adaptive negative hardness: a controller for the concentration beta of hard-negative
/// weighted InfoNCE ("Contrastive Learning with Hard Negative Samples", Robinson et al., 2021),
/// driven by what the loss measures each step. Fixed beta is a trade-off: hard negatives help
/// once the embedding separates samples, but early on (or when training is unstable) they
/// concentrate the gradient on false negatives and noise. The rule, applied after every step
/// with that step's loss L and positive-negative similarity gap g = mean s+ - mean s-:
///   1. smooth:   G <- m G + (1 - m) g,  E <- m E + (1 - m) L  (first step: G = g, E = L);
///   2. unstable: if L is not finite or L > (1 + spike) E_before, then beta <- backoff * beta
///                and beta may not rise for `cooldown` steps;
///   3. otherwise beta moves towards the target
///                beta* = beta_max * clamp((G - gap_low) / (gap_high - gap_low), 0, 1)
///                by at most `rate` per step (only downwards during a cooldown).
/// So hardness rises as the views of a sample separate from the rest (the model learns) and
/// falls when the loss jumps. beta starts at 0: plain InfoNCE.
struct AdaptiveHardnessOptions {
  /// Largest beta the controller may choose, >= 0 (default 1).
  TORCH_ARG(double, beta_max) = 1.0;
  /// Smoothed gap at which beta* starts to rise from 0 (default 0.3; similarity units).
  TORCH_ARG(double, gap_low) = 0.3;
  /// Smoothed gap at which beta* reaches beta_max, > gap_low (default 0.8).
  TORCH_ARG(double, gap_high) = 0.8;
  /// Largest change of beta per step, > 0 (default 0.01).
  TORCH_ARG(double, rate) = 0.01;
  /// Smoothing factor m of the moving averages, in [0, 1) (default 0.9).
  TORCH_ARG(double, smoothing) = 0.9;
  /// A loss above (1 + spike) times its moving average counts as unstable, > 0 (default 0.5).
  TORCH_ARG(double, spike) = 0.5;
  /// Factor beta is multiplied by when unstable, in [0, 1) (default 0.5).
  TORCH_ARG(double, backoff) = 0.5;
  /// Steps after an instability during which beta does not rise (default 50).
  TORCH_ARG(int64_t, cooldown) = 50;
};

class AdaptiveHardness {
 public:
  /// Throws contra::Error for options out of range.
  explicit AdaptiveHardness(AdaptiveHardnessOptions options);
  /// Feeds one step's loss and gap; returns the beta for the next step.
  double update(double loss, double gap);
  double beta() const { return beta_; }
  /// Steps seen and instabilities detected so far.
  int64_t steps() const { return steps_; }
  int64_t instabilities() const { return instabilities_; }
  /// Everything the controller remembers, for checkpoints; restore() takes it back.
  std::vector<double> state() const;
  void restore(const std::vector<double>& state);

 private:
  AdaptiveHardnessOptions options_;
  double beta_ = 0.0, gap_avg_ = 0.0, loss_avg_ = 0.0;
  int64_t steps_ = 0, instabilities_ = 0, cooldown_left_ = 0;
};

}  // namespace contra::negatives
