#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/nt_xent.h"
#include "contra/losses/similarity.h"

namespace contra::losses {

/// Exact contrastive losses in memory linear in the batch, after "Breaking the Memory Barrier:
/// Near Infinite Batch Size Scaling for Contrastive Loss" (Inf-CL, Cheng et al., 2024).
///
/// The [rows, cols] similarity matrix is never stored: it is computed tile by tile
/// (tile_size x tile_size) while each anchor's running log-sum-exp (and running maximum, for the
/// top1 diagnostic) is kept; backward recomputes each tile and turns it into gradients on the
/// spot. Extra memory: O(N d) for the embeddings' gradients plus a few tiles; nothing O(N^2).
///
/// The loss is split as mean_i(lse_i) - mean_i(pos_i / t): the positive term is an ordinary
/// differentiable O(N d) expression, the log-sum-exp terms are one custom autograd function.
/// NT-Xent's similarity matrix is symmetric, so only the tiles on and above the diagonal are
/// computed, each serving its rows and (by symmetry) its columns: half the work of a plain pass.
enum class TiledObjective {
  kNTXent,         ///< z1, z2: two views of N samples; 2N anchors, negatives the other 2N - 2
  kInfoNCE,        ///< z1 queries, z2 keys; query i's positive is key i, negatives the other keys
  kClipSymmetric,  ///< z1 images, z2 texts; mean of the image->text and text->image losses
};

/// How CPU threads share the work (on CUDA the GPU parallelises within each tile).
enum class TileThreads {
  kWithinTile,   ///< tiles one after another; each product and element-wise pass is threaded
  kAcrossTiles,  ///< at::parallel_for over tiles, one thread per tile, per-thread accumulators
};

struct TiledContrastiveOptions {
  /// Which loss (default NT-Xent).
  TORCH_ARG(TiledObjective, objective) = TiledObjective::kNTXent;
  /// Softmax temperature, > 0 (default 0.5). Not used when `scale` is defined.
  TORCH_ARG(double, temperature) = 0.5;
  /// The learned form: logits = scale * similarity, `scale` a one-element floating tensor > 0
  /// (CLIP's exp(logit_scale)) that may require gradient, which the pass then computes along
  /// with the embeddings' (one more product per tile in backward). Undefined: logits =
  /// similarity / temperature (default undefined).
  TORCH_ARG(at::Tensor, scale) = {};
  /// Similarity between embeddings (default cosine; every Similarity, each equal to the plain
  /// losses' similarity_matrix in value and gradient).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
  /// Rows (and columns) per tile, >= 1 (default 1024: about 4 MB per float32 tile).
  TORCH_ARG(int64_t, tile_size) = 1024;
  /// CPU threading of the tile pass (default kWithinTile: as fast as kAcrossTiles on 2 cores
  /// within measurement noise, and it needs no per-thread copies of the gradients, which
  /// kAcrossTiles keeps: threads x (N d) extra values).
  TORCH_ARG(TileThreads, threads) = TileThreads::kWithinTile;
};

namespace functional {
/// z1, z2: [N, d] of one floating dtype and device, finite, N >= 2; row i of each belongs to
/// sample (pair) i. Returns the same loss (scalar mean) and diagnostics as the plain nt_xent,
/// info_nce (in-batch keys only) and clip_loss, without an [N, N] matrix. Works on any device.
/// Double backward is not supported (backward runs without building a graph).
ContrastiveOutput tiled_contrastive(const at::Tensor& z1, const at::Tensor& z2,
                                    const TiledContrastiveOptions& options = {});
}  // namespace functional

}  // namespace contra::losses
