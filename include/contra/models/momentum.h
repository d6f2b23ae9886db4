#pragma once
#include <cstdint>

#include <torch/nn/module.h>

namespace contra::models {

/// Momentum (EMA) copies of a network, as MoCo's key encoder (He et al., 2020) and BYOL's target
/// network (Grill et al., 2020) use them. `target` and `online` must have the same architecture.

/// Copies online's parameters and buffers into target and stops gradients to target's
/// parameters (requires_grad = false). Throws contra::Error for a different architecture.
void copy_into(torch::nn::Module& target, const torch::nn::Module& online);

/// target <- m * target + (1 - m) * online, for parameters only (buffers such as batch-norm
/// running statistics follow target's own forward passes, as in MoCo). m in [0, 1]; no gradient.
void momentum_update(torch::nn::Module& target, const torch::nn::Module& online, double m);

/// The momentum at `step` of `total_steps`: `base` throughout, or with cosine = true BYOL's
/// schedule from base up to 1: 1 - (1 - base) (cos(pi step / total) + 1) / 2.
double momentum_at(double base, int64_t step, int64_t total_steps, bool cosine);

}  // namespace contra::models
