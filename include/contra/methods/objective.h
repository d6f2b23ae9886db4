#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/info_nce.h"
#include "contra/losses/nt_xent.h"
#include "contra/losses/triplet.h"
#include "contra/methods/collective.h"
#include "contra/negatives/sampling.h"
#include "contra/negatives/triplets.h"

namespace contra::methods {

/// The objectives a two-view method (SimCLR) can train with: a loss from losses/ plus a
/// negatives policy from negatives/, wired here (miner -> mask or indices -> loss).
enum class TwoViewLoss {
  kNTXent,         ///< NT-Xent (Chen et al. 2020)
  kDebiased,       ///< symmetric InfoNCE with the debiased estimator (Chuang et al. 2020)
  kHardNegative,   ///< symmetric InfoNCE with hard-negative weighting (Robinson et al. 2021)
  kSupCon,         ///< supervised contrastive with partial labels (Khosla et al. 2020)
  kDecoupled,      ///< symmetric decoupled contrastive loss, DCL/DCLW (Yeh et al. 2022)
  kTriplet,        ///< triplet loss with margin over mined triplets of the 2N views
  /// Debiasing and hard-negative weighting together: HCL's full estimator (Robinson et al.
  /// 2021, "Contrastive Learning with Hard Negative Samples", with tau_plus and beta), as the
  /// authors' code computes it (losses/info_nce.h gives the formula).
  kHCL,
};
/// "nt_xent" | "debiased" | "hard_negative" | "supcon" | "decoupled" | "triplet" | "hcl".
TwoViewLoss two_view_loss_from_string(const std::string& name);
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> two_view_loss_names();
std::string to_string(TwoViewLoss kind);

/// Whether NT-Xent runs as the tiled, linear-memory pass (losses/tiled.h) or the plain one.
enum class TiledMode {
  kAuto,  ///< tiled from kTiledAutoMinPairs pairs per batch
  kOn,    ///< always tiled
  kOff,   ///< always plain
};
/// "auto" | "on" | "off".
TiledMode tiled_mode_from_string(const std::string& name);
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> tiled_mode_names();

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
  TORCH_ARG(losses::Similarity, similarity) = losses::Similarity::kCosine;
  /// Debiased and hcl: class prior tau_plus in [0, 1) (default 0.1).
  TORCH_ARG(double, tau_plus) = 0.1;
  /// Hard-negative and hcl: concentration beta >= 0 (default 1).
  TORCH_ARG(double, hard_beta) = 1.0;
  /// Decoupled: DCLW weighting width sigma >= 0 (default 0: plain DCL).
  TORCH_ARG(double, decoupled_sigma) = 0.0;
  /// Triplet: margin (also the semi-hard band of the negative sampler) (default 0.2).
  TORCH_ARG(double, margin) = 0.2;
  /// Triplet: which triplets (default semi-hard).
  TORCH_ARG(negatives::TripletMining, mining) = negatives::TripletMining::kSemiHard;
  /// Triplet: semi-hard band closed at the margin (pytorch-metric-learning's) (default false).
  TORCH_ARG(bool, semi_hard_inclusive) = false;
  /// Triplet: L2-normalised embeddings before the similarity (PML's default distance)
  /// (default false).
  TORCH_ARG(bool, triplet_normalize) = false;
  /// Triplet: average over the non-zero losses (PML's AvgNonZeroReducer, Hermans et al.) or over
  /// every mined triplet (default true).
  TORCH_ARG(bool, triplet_average_nonzero) = true;
  /// Triplet: positives are views of the same class where the label is known (supervised
  /// metric learning), views of the same sample elsewhere (default false: sample only).
  TORCH_ARG(bool, triplet_labels) = false;
  /// Which negatives each view uses, for nt_xent, debiased, hard_negative and decoupled
  /// (default all: the other 2N - 2 views).
  TORCH_ARG(negatives::NegativeSamplingOptions, negatives) = {};
  /// NT-Xent: tiled (linear-memory) or plain pass (default auto: by batch size).
  TORCH_ARG(TiledMode, tiled) = TiledMode::kAuto;
  /// Tiled pass: rows per tile, >= 1 (default 1024).
  TORCH_ARG(int64_t, tile_size) = 1024;
};

/// The InfoNCE options an InfoNCE-family objective stands for (nt_xent: plain, debiased,
/// hard_negative, decoupled); throws for supcon and triplet.
losses::InfoNCEOptions info_nce_options(const TwoViewLossOptions& options);

/// The mean of two directions' outputs (symmetric losses): loss and every diagnostic.
losses::ContrastiveOutput average(const losses::ContrastiveOutput& a,
                                  const losses::ContrastiveOutput& b);

/// InfoNCE with the negatives policy applied: the sampler picks from the pooled similarities
/// (computed without gradient), the loss runs on its mask. kAll passes no mask.
losses::ContrastiveOutput sampled_info_nce(const at::Tensor& queries, const at::Tensor& keys,
                                           const losses::InfoNCEOptions& options,
                                           const negatives::NegativeSamplingOptions& sampling,
                                           const at::Tensor& bank = {},
                                           const at::Tensor& per_query_negatives = {});

/// Labels of the 2N views of N samples for triplet mining: a view's class where `labels` ([N],
/// -1 where unknown) knows it and `use_classes` is set, its sample's id (past every class id)
/// elsewhere, so an unlabelled view's only positive is its other view.
at::Tensor triplet_view_labels(const at::Tensor& labels, int64_t n, bool use_classes,
                               const c10::Device& device);

/// Mined triplet loss over a batch: embeddings [N, d], labels [N] int64 >= 0 (equal = positive).
/// Diagnostics: mean similarity of positive and negative pairs, top1 = share of rows whose most
/// similar other row is a positive, active = share of anchors in a triplet of non-zero loss.
losses::ContrastiveOutput mined_triplet_loss(const at::Tensor& embeddings,
                                             const at::Tensor& labels,
                                             const losses::TripletOptions& loss,
                                             const negatives::TripletMinerOptions& miner);

/// z1, z2: [N, d] two views of N samples; labels: [N] int64, -1 where unknown (read by
/// supcon, and triplet with triplet_labels; may be undefined otherwise). The InfoNCE variants are symmetric over the 2N
/// views with NT-Xent's negatives (the other 2N - 2 views), so with tau_plus = 0 or beta = 0
/// they equal NT-Xent, as supcon does when no label is known. Triplet: the 2N views labelled by
/// sample, so each view's positive is its other view and every other view is a negative.
/// Only NT-Xent over all negatives has a tiled pass: tiled kOn otherwise is an error, kAuto
/// leaves the others plain. A negatives policy other than kAll with supcon or triplet is an
/// error (neither has a use for it).
losses::ContrastiveOutput two_view_loss(const at::Tensor& z1, const at::Tensor& z2,
                                        const at::Tensor& labels, const TwoViewLossOptions& options);

/// What every rank logs when each computed the loss of its own anchors: the loss value and the
/// diagnostics averaged over the ranks (the global batch's, as the ranks hold equal shares),
/// while the gradient stays that of this rank's own loss (the gradient all-reduce averages the
/// ranks' gradients into the global one). One process: `local` unchanged.
losses::ContrastiveOutput mean_over_ranks(const losses::ContrastiveOutput& local, Collective& c);

/// The two-view loss of the global batch when each rank holds a slice z1, z2 [n, d] (labels
/// [n]). One process: two_view_loss. Several: the embeddings are gathered with gradient; the
/// InfoNCE family (nt_xent, debiased, hard_negative, decoupled) with a sampler that keeps every
/// anchor (all, random, hardest) scores only this rank's 2n anchors against all 2G views (1/W
/// of the work, memory O(n G)); supcon, triplet, the threshold and semi-hard samplers and
/// loss.tiled=on score the whole global batch on every rank (exact, W times the loss's work).
/// A random sampler draws other (equally distributed) subsets than one process would. Either way
/// every rank returns the global loss value and diagnostics, and the averaged gradients equal
/// one process's with the whole batch.
losses::ContrastiveOutput global_two_view_loss(const at::Tensor& z1, const at::Tensor& z2,
                                               const at::Tensor& labels,
                                               const TwoViewLossOptions& options, Collective& c);

}  // namespace contra::methods
