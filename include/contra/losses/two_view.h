#pragma once
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/nt_xent.h"

namespace contra::losses {

/// The objectives a two-view method (SimCLR) can train with.
enum class TwoViewLoss {
  kNTXent,         ///< NT-Xent (Chen et al. 2020)
  kDebiased,       ///< symmetric InfoNCE with the debiased estimator (Chuang et al. 2020)
  kHardNegative,   ///< symmetric InfoNCE with hard-negative weighting (Robinson et al. 2021)
  kSupCon,         ///< supervised contrastive with partial labels (Khosla et al. 2020)
};
/// "nt_xent" | "debiased" | "hard_negative" | "supcon".
TwoViewLoss two_view_loss_from_string(const std::string& name);

/// Whether NT-Xent runs as the tiled, linear-memory pass (losses/tiled.h) or the plain one.
enum class TiledMode {
  kAuto,  ///< tiled from kTiledAutoMinPairs pairs per batch
  kOn,    ///< always tiled
  kOff,   ///< always plain
};
/// "auto" | "on" | "off".
TiledMode tiled_mode_from_string(const std::string& name);

/// Batch size (pairs, N; 2N views) from which TiledMode::kAuto picks the tiled pass. Measured on
/// CPU (bench/run_loss.sh): from here on the tiled pass is the faster of the two, and its memory
/// is linear in N where the plain pass's grows as N^2.
constexpr int64_t kTiledAutoMinPairs = 1024;

struct TwoViewLossOptions {
  /// Which objective (default NT-Xent).
  TORCH_ARG(TwoViewLoss, kind) = TwoViewLoss::kNTXent;
  /// Softmax temperature, > 0 (default 0.5).
  TORCH_ARG(double, temperature) = 0.5;
  /// Similarity between embeddings (default cosine).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
  /// Debiased: class prior tau_plus in [0, 1) (default 0.1).
  TORCH_ARG(double, tau_plus) = 0.1;
  /// Hard-negative: concentration beta >= 0 (default 1).
  TORCH_ARG(double, hard_beta) = 1.0;
  /// NT-Xent: tiled (linear-memory) or plain pass (default auto: by batch size).
  TORCH_ARG(TiledMode, tiled) = TiledMode::kAuto;
  /// Tiled pass: rows per tile, >= 1 (default 1024).
  TORCH_ARG(int64_t, tile_size) = 1024;
};

namespace functional {
/// z1, z2: [N, d] two views of N samples; labels: [N] int64, -1 where unknown (read by
/// supcon only; may be undefined otherwise). The InfoNCE variants are symmetric over the 2N
/// views with NT-Xent's negatives (the other 2N - 2 views), so with tau_plus = 0 or beta = 0
/// they equal NT-Xent, as supcon does when no label is known. Only NT-Xent has a tiled pass:
/// tiled kOn with another kind is an error, kAuto leaves the other kinds plain.
ContrastiveOutput two_view_loss(const at::Tensor& z1, const at::Tensor& z2,
                                const at::Tensor& labels, const TwoViewLossOptions& options);
}  // namespace functional

}  // namespace contra::losses
