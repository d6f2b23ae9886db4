#include "contra/losses/tiled.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::losses::functional {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

/// Which anchors a tile pass serves.
enum class Mode : int64_t {
  kRows = 0,  ///< rows of a only (InfoNCE: queries)
  kBoth = 1,  ///< rows of a and columns of b (CLIP)
  kSelf = 2,  ///< a == b with the diagonal masked; tiles on and above the diagonal serve their
              ///< rows and, by symmetry, their columns (NT-Xent)
};

/// Everything a tile pass needs besides the tensors.
struct Plan {
  Mode mode = Mode::kRows;
  /// kDot, kNegSquaredEuclidean or kNegEuclidean (cosine arrives L2-normalised and runs as kDot).
  Similarity sim = Similarity::kDot;
  double inv_t = 1.0;      ///< 1 / temperature
  int64_t tile = 1024;
  int64_t half = 0;        ///< kSelf: N, anchor i's positive is i +- N; otherwise 0 (positive i)
  bool across_tiles = false;

  /// The similarity needs the squared norms (-|a - b|^2 or -|a - b|).
  bool euclidean() const {
    return sim == Similarity::kNegSquaredEuclidean || sim == Similarity::kNegEuclidean;
  }
};

/// The floor of the squared distance under the square root, as similarity_matrix's: the
/// gradient of sqrt stays finite at 0 (a self-similarity).
constexpr double kMinSquaredDistance = 1e-12;

/// Anchors [lo, hi) whose positive partner is anchor + off.
struct Segment {
  int64_t lo, hi, off;
};

std::vector<Segment> segments(const Plan& p, int64_t n) {
  if (p.mode == Mode::kSelf) return {{0, p.half, p.half}, {p.half, 2 * p.half, -p.half}};
  return {{0, n, 0}};
}

struct TileIndex {
  int64_t i, j;  ///< block row, block column
};

std::vector<TileIndex> tile_list(const Plan& p, int64_t na, int64_t nb) {
  const int64_t bi = (na + p.tile - 1) / p.tile, bj = (nb + p.tile - 1) / p.tile;
  std::vector<TileIndex> out;
  for (int64_t i = 0; i < bi; ++i) {
    for (int64_t j = p.mode == Mode::kSelf ? i : 0; j < bj; ++j) {
      // A 1 x 1 diagonal tile holds only a masked self-similarity: nothing to add.
      if (p.mode == Mode::kSelf && i == j && std::min(p.tile, na - i * p.tile) == 1) continue;
      out.push_back({i, j});
    }
  }
  return out;
}

/// The tile's geometry: rows [r0, r0 + nr) of a against rows [c0, c0 + nc) of b.
struct TileGeom {
  int64_t r0, nr, c0, nc;
  bool diag;  ///< kSelf diagonal tile: self-similarity masked, rows only
  bool cols;  ///< the tile also serves its columns' anchors
};

TileGeom geometry(const Plan& p, TileIndex t, int64_t na, int64_t nb) {
  TileGeom g;
  g.r0 = t.i * p.tile;
  g.nr = std::min(p.tile, na - g.r0);
  g.c0 = t.j * p.tile;
  g.nc = std::min(p.tile, nb - g.c0);
  g.diag = p.mode == Mode::kSelf && t.i == t.j;
  g.cols = p.mode == Mode::kBoth || (p.mode == Mode::kSelf && !g.diag);
  return g;
}

/// Similarities of one tile, [nr, nc], by the same formulas as similarity_matrix. For the
/// Euclidean forms, `keep` receives where no clamp held the squared distance (where gradients
/// flow, as through similarity_matrix's clamp_min: at and above the floor).
Tensor tile_sims(const Plan& p, const Tensor& a, const Tensor& b, const Tensor& aa,
                 const Tensor& bb, Tensor* keep) {
  if (!p.euclidean()) return torch::mm(a, b.t());
  auto d2 = torch::addmm(aa.unsqueeze(1) + bb.unsqueeze(0), a, b.t(), /*beta=*/1, /*alpha=*/-2);
  if (p.sim == Similarity::kNegEuclidean) {
    // similarity_matrix: -sqrt(max(max(d2, 0), 1e-12)); both clamps pass the gradient where
    // d2 >= 1e-12.
    if (keep) *keep = d2 >= kMinSquaredDistance;
    return d2.clamp_min_(kMinSquaredDistance).sqrt_().neg_();
  }
  if (keep) *keep = d2 >= 0;
  return d2.clamp_min_(0).neg_();
}

/// Copies the positive similarities that fall inside tile `s` into pos[anchor]. Anchors run
/// along s's rows (starting at row0), their partners along its columns (starting at col0).
void copy_positives(const Tensor& s, int64_t row0, int64_t col0, const std::vector<Segment>& segs,
                    const Tensor& pos) {
  for (const auto& sg : segs) {
    const int64_t lo = std::max({row0, sg.lo, col0 - sg.off});
    const int64_t hi = std::min({row0 + s.size(0), sg.hi, col0 + s.size(1) - sg.off});
    if (lo >= hi) continue;
    pos.narrow(0, lo, hi - lo)
        .copy_(s.narrow(0, lo - row0, hi - lo).narrow(1, lo + sg.off - col0, hi - lo).diagonal());
  }
}

/// Folds tile `s` (similarities, masked entries -inf) into the running log-sum-exp of the
/// logits s / t and the running maximum similarity along `dim` (1: per row, 0: per column).
void fold(const Tensor& s, int64_t dim, double inv_t, const Tensor& lse, const Tensor& mx) {
  auto m = s.amax(dim, /*keepdim=*/true);
  auto tile_lse = (s - m).mul_(inv_t).exp_().sum(dim).log_().add_(m.squeeze(dim), inv_t);
  lse.copy_(torch::logaddexp(lse, tile_lse));
  mx.copy_(torch::maximum(mx, m.squeeze(dim)));
}

/// One worker's running values in the forward pass.
struct ForwardAcc {
  Tensor lse_row, lse_col;  ///< [Na], [Nb] log-sum-exp of logits (kSelf: the same tensor)
  Tensor max_row, max_col;  ///< running maximum similarity (kSelf: the same tensor)
  Tensor valid_sum;         ///< double scalar: sum of the similarities that enter the loss
};

ForwardAcc make_forward_acc(const Plan& p, const Tensor& a, int64_t nb) {
  ForwardAcc acc;
  acc.lse_row = torch::full({a.size(0)}, kNegInf, a.options());
  acc.max_row = torch::full({a.size(0)}, kNegInf, a.options());
  if (p.mode == Mode::kSelf) {
    acc.lse_col = acc.lse_row;
    acc.max_col = acc.max_row;
  } else {
    acc.lse_col = torch::full({nb}, kNegInf, a.options());
    acc.max_col = torch::full({nb}, kNegInf, a.options());
  }
  acc.valid_sum = torch::zeros({}, a.options().dtype(torch::kDouble));
  return acc;
}

/// Inputs of a pass, detached; aa / bb are squared norms (Euclidean only).
struct Inputs {
  Tensor a, b, aa, bb;
};

Inputs make_inputs(const Plan& p, const Tensor& a, const Tensor& b) {
  Inputs in{a.detach(), b.detach(), {}, {}};
  if (p.euclidean()) {
    in.aa = in.a.pow(2).sum(1);
    in.bb = p.mode == Mode::kSelf ? in.aa : in.b.pow(2).sum(1);
  }
  return in;
}

void forward_tile(const Plan& p, const Inputs& in, const TileGeom& g,
                  const std::vector<Segment>& row_segs, const std::vector<Segment>& col_segs,
                  ForwardAcc& acc, const Tensor& pos_row, const Tensor& pos_col) {
  auto s = tile_sims(p, in.a.narrow(0, g.r0, g.nr), in.b.narrow(0, g.c0, g.nc),
                     p.euclidean() ? in.aa.narrow(0, g.r0, g.nr) : Tensor(),
                     p.euclidean() ? in.bb.narrow(0, g.c0, g.nc) : Tensor(), nullptr);
  copy_positives(s, g.r0, g.c0, row_segs, pos_row);
  if (g.cols) copy_positives(s.t(), g.c0, g.r0, col_segs, pos_col);
  auto total = s.sum(torch::kDouble);
  if (g.diag) total -= s.diagonal().sum(torch::kDouble);
  // kSelf: an off-diagonal tile stands for itself and its mirror image.
  acc.valid_sum.add_(total, p.mode == Mode::kSelf && !g.diag ? 2.0 : 1.0);
  if (g.diag) s.diagonal().fill_(kNegInf);
  fold(s, 1, p.inv_t, acc.lse_row.narrow(0, g.r0, g.nr), acc.max_row.narrow(0, g.r0, g.nr));
  if (g.cols)
    fold(s, 0, p.inv_t, acc.lse_col.narrow(0, g.c0, g.nc), acc.max_col.narrow(0, g.c0, g.nc));
}

/// Gradients of sum_i g_row[i] lse_row[i] + sum_j g_col[j] lse_col[j] from one tile, added
/// into grad_a / grad_b (kSelf: the same tensor).
/// With `grad_scale` defined, also adds d(...)/d(1/t) = sum_ij h_ij s_ij (h: the softmax
/// weights times the incoming gradients, s: the tile's similarities) into it.
void backward_tile(const Plan& p, const Inputs& in, const TileGeom& g, const Tensor& lse_row,
                   const Tensor& lse_col, const Tensor& g_row, const Tensor& g_col,
                   const Tensor& grad_a, const Tensor& grad_b, const Tensor& grad_scale) {
  auto a = in.a.narrow(0, g.r0, g.nr), b = in.b.narrow(0, g.c0, g.nc);
  Tensor keep;
  auto logits = tile_sims(p, a, b, p.euclidean() ? in.aa.narrow(0, g.r0, g.nr) : Tensor(),
                          p.euclidean() ? in.bb.narrow(0, g.c0, g.nc) : Tensor(), &keep)
                    .mul_(p.inv_t);
  if (g.diag) logits.diagonal().fill_(kNegInf);
  // d loss / d logit = g_row[i] softmax_row + g_col[j] softmax_col; the positives' -1 terms
  // belong to the separate positive expression.
  auto h = (logits - lse_row.narrow(0, g.r0, g.nr).unsqueeze(1))
               .exp_()
               .mul_(g_row.narrow(0, g.r0, g.nr).unsqueeze(1));
  if (g.cols)
    h.add_((logits - lse_col.narrow(0, g.c0, g.nc).unsqueeze(0))
               .exp_()
               .mul_(g_col.narrow(0, g.c0, g.nc).unsqueeze(0)));
  if (grad_scale.defined()) {
    // The similarities are logits / inv_t; masked entries (-inf) carry h = 0 and add nothing.
    auto sims = logits / p.inv_t;
    if (g.diag) sims.diagonal().fill_(0);
    grad_scale.add_((h * sims).sum().to(grad_scale.scalar_type()));
  }
  h.mul_(p.inv_t);  // d loss / d similarity
  if (p.sim == Similarity::kNegEuclidean) {
    // s = -sqrt(d2): d s / d(-d2) = 1 / (2 sqrt(d2)) = -1 / (2 s) = -inv_t / (2 logit). Masked
    // entries (logit -inf) have h = 0 and stay 0; h becomes d loss / d(-d2).
    h.div_(logits).mul_(-0.5 * p.inv_t);
  }
  auto ga = grad_a.narrow(0, g.r0, g.nr), gb = grad_b.narrow(0, g.c0, g.nc);
  if (p.euclidean()) {
    // -d2_ij = -|a_i - b_j|^2: d / d a_i = 2 (b_j - a_i), d / d b_j = 2 (a_i - b_j).
    h.masked_fill_(keep.logical_not(), 0);
    ga.addmm_(h, b, 1, 2).addcmul_(a, h.sum(1, true), -2);
    gb.addmm_(h.t(), a, 1, 2).addcmul_(b, h.sum(0).unsqueeze(1), -2);
  } else {
    ga.addmm_(h, b);
    gb.addmm_(h.t(), a);
  }
}

/// Runs fn(tile, worker) over all tiles: in order on worker 0, or spread over at::parallel_for
/// workers (each with its own accumulators, merged by the caller).
template <class Fn>
void for_each_tile(const Plan& p, const std::vector<TileIndex>& tiles, Fn fn) {
  if (!p.across_tiles) {
    for (const auto& t : tiles) fn(t, 0);
    return;
  }
  at::parallel_for(0, int64_t(tiles.size()), 1, [&](int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;  // grad mode is thread-local; the workers' default is on
    const int worker = at::get_thread_num();
    for (int64_t k = begin; k < end; ++k) fn(tiles[size_t(k)], worker);
  });
}

int workers(const Plan& p) { return p.across_tiles ? std::max(1, at::get_num_threads()) : 1; }

void save_plan(AutogradContext* ctx, const Plan& p) {
  ctx->saved_data["mode"] = int64_t(p.mode);
  ctx->saved_data["sim"] = int64_t(p.sim);
  ctx->saved_data["inv_t"] = p.inv_t;
  ctx->saved_data["tile"] = p.tile;
  ctx->saved_data["half"] = p.half;
  ctx->saved_data["across_tiles"] = p.across_tiles;
}

Plan load_plan(AutogradContext* ctx) {
  Plan p;
  p.mode = Mode(ctx->saved_data["mode"].toInt());
  p.sim = Similarity(ctx->saved_data["sim"].toInt());
  p.inv_t = ctx->saved_data["inv_t"].toDouble();
  p.tile = ctx->saved_data["tile"].toInt();
  p.half = ctx->saved_data["half"].toInt();
  p.across_tiles = ctx->saved_data["across_tiles"].toBool();
  return p;
}

/// The log-sum-exp terms of the loss as one autograd function.
/// Outputs: lse_row [Na], lse_col [Nb] (kSelf: [0], lse_row covers every anchor), and,
/// without gradient, max_row, max_col (largest similarity each anchor sees, positive included),
/// pos_row, pos_col (each anchor's positive similarity as the tiles computed it), valid_sum.
struct TiledLogSumExp : public torch::autograd::Function<TiledLogSumExp> {
  /// scale_var: the one-element tensor whose value p.inv_t is (its gradient is computed when
  /// it requires one).
  static variable_list forward(AutogradContext* ctx, const Tensor& a_var, const Tensor& b_var,
                               const Tensor& scale_var, const Plan& p) {
    const auto in = make_inputs(p, a_var, b_var);
    const int64_t na = in.a.size(0), nb = in.b.size(0);
    const auto tiles = tile_list(p, na, nb);
    const auto row_segs = segments(p, na), col_segs = segments(p, nb);
    auto pos_row = torch::zeros({na}, in.a.options());
    auto pos_col = p.mode == Mode::kSelf ? pos_row : torch::zeros({nb}, in.a.options());

    std::vector<ForwardAcc> accs;
    for (int w = 0; w < workers(p); ++w) accs.push_back(make_forward_acc(p, in.a, nb));
    for_each_tile(p, tiles, [&](TileIndex t, int w) {
      forward_tile(p, in, geometry(p, t, na, nb), row_segs, col_segs, accs[size_t(w)], pos_row,
                   pos_col);
    });
    ForwardAcc r = accs[0];
    if (accs.size() > 1) {
      auto stack = [&](Tensor ForwardAcc::*field) {
        std::vector<Tensor> parts;
        for (auto& acc : accs) parts.push_back(acc.*field);
        return torch::stack(parts);
      };
      r.lse_row = stack(&ForwardAcc::lse_row).logsumexp(0);
      r.max_row = stack(&ForwardAcc::max_row).amax(0);
      if (p.mode != Mode::kSelf) {
        r.lse_col = stack(&ForwardAcc::lse_col).logsumexp(0);
        r.max_col = stack(&ForwardAcc::max_col).amax(0);
      }
      r.valid_sum = stack(&ForwardAcc::valid_sum).sum();
    }
    Tensor lse_col = r.lse_col, max_col = r.max_col;
    if (p.mode == Mode::kSelf) {
      lse_col = torch::empty({0}, in.a.options());
      max_col = torch::empty({0}, in.a.options());
      pos_col = torch::empty({0}, in.a.options());
    }
    save_plan(ctx, p);
    ctx->save_for_backward({a_var, p.mode == Mode::kSelf ? Tensor() : b_var, r.lse_row, lse_col});
    ctx->saved_data["scale_grad"] = scale_var.requires_grad();
    ctx->mark_non_differentiable({r.max_row, max_col, pos_row, pos_col, r.valid_sum});
    return {r.lse_row, lse_col, r.max_row, max_col, pos_row, pos_col, r.valid_sum};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const Plan p = load_plan(ctx);
    const auto saved = ctx->get_saved_variables();
    const bool self = p.mode == Mode::kSelf;
    const auto in = make_inputs(p, saved[0], self ? saved[0] : saved[1]);
    const Tensor lse_row = saved[2].detach(), lse_col = self ? lse_row : saved[3].detach();
    auto zeros_if_undefined = [](const Tensor& g, const Tensor& like) {
      return g.defined() ? g.detach() : torch::zeros_like(like);
    };
    const Tensor g_row = zeros_if_undefined(grads[0], lse_row);
    const Tensor g_col = self ? g_row : zeros_if_undefined(grads[1], lse_col);
    const int64_t na = in.a.size(0), nb = in.b.size(0);
    const auto tiles = tile_list(p, na, nb);

    const bool scale_grad = ctx->saved_data["scale_grad"].toBool();
    std::vector<std::pair<Tensor, Tensor>> acc;  // per worker: grad_a, grad_b
    std::vector<Tensor> acc_scale;               // per worker: d / d inv_t (double)
    for (int w = 0; w < workers(p); ++w) {
      auto ga = torch::zeros_like(in.a);
      acc.emplace_back(ga, self ? ga : torch::zeros_like(in.b));
      acc_scale.push_back(scale_grad ? torch::zeros({}, in.a.options().dtype(torch::kDouble)) : Tensor());
    }
    for_each_tile(p, tiles, [&](TileIndex t, int w) {
      backward_tile(p, in, geometry(p, t, na, nb), lse_row, lse_col, g_row, g_col,
                    acc[size_t(w)].first, acc[size_t(w)].second, acc_scale[size_t(w)]);
    });
    Tensor grad_a = acc[0].first, grad_b = acc[0].second, grad_scale = acc_scale[0];
    for (size_t w = 1; w < acc.size(); ++w) {
      grad_a.add_(acc[w].first);
      if (!self) grad_b.add_(acc[w].second);
      if (scale_grad) grad_scale.add_(acc_scale[w]);
    }
    if (scale_grad) grad_scale = grad_scale.to(in.a.scalar_type());
    // kSelf: a and b are the same input; its whole gradient goes to the first.
    return {grad_a, self ? Tensor() : grad_b, grad_scale, Tensor()};
  }
};

/// Row-wise similarity of paired rows, [N, d] x [N, d] -> [N], same formulas as the tiles.
Tensor pair_scores(const Tensor& a, const Tensor& b, const Plan& p) {
  auto dot = (a * b).sum(1);
  if (!p.euclidean()) return dot;
  auto d2 = (a.pow(2).sum(1) + b.pow(2).sum(1) - 2 * dot).clamp_min(0);
  return p.sim == Similarity::kNegEuclidean ? -d2.clamp_min(kMinSquaredDistance).sqrt() : -d2;
}

const char* objective_name(TiledObjective o) {
  switch (o) {
    case TiledObjective::kNTXent: return "NT-Xent";
    case TiledObjective::kInfoNCE: return "InfoNCE";
    case TiledObjective::kClipSymmetric: return "CLIP";
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled TiledObjective");
}

}  // namespace

ContrastiveOutput tiled_contrastive(const at::Tensor& z1, const at::Tensor& z2,
                                    const TiledContrastiveOptions& options) {
  const char* name = objective_name(options.objective());
  const bool learned = options.scale().defined();
  if (learned)
    CONTRA_CHECK(options.scale().numel() == 1 && options.scale().is_floating_point(), "the tiled ", name,
                 " pass's scale must be one floating-point value, got shape ", options.scale().sizes());
  const double t = learned ? 1.0 / options.scale().detach().item<double>() : options.temperature();
  if (learned)
    CONTRA_CHECK(t > 0 && std::isfinite(t), "the tiled ", name, " pass's scale must be > 0 and finite, got ",
                 1.0 / t);
  else
    CONTRA_CHECK(t > 0 && std::isfinite(t), "loss.temperature must be > 0, got ", t);
  CONTRA_CHECK(options.tile_size() >= 1, "loss.tile_size must be >= 1, got ",
               options.tile_size());
  CONTRA_CHECK(z1.defined() && z2.defined() && z1.dim() == 2 && z1.sizes() == z2.sizes(),
               "tiled ", name, " needs two [N, d] embeddings of equal shape, got ",
               z1.defined() ? z1.sizes() : at::IntArrayRef{}, " and ",
               z2.defined() ? z2.sizes() : at::IntArrayRef{});
  CONTRA_CHECK(z1.is_floating_point() && z1.scalar_type() == z2.scalar_type() &&
                   z1.device() == z2.device(),
               "tiled ", name, " needs floating-point embeddings of one dtype on one device, got ",
               z1.scalar_type(), " on ", z1.device(), " and ", z2.scalar_type(), " on ",
               z2.device());
  const int64_t n = z1.size(0);
  CONTRA_CHECK(n >= 2, "tiled ", name, " needs at least 2 samples per batch (one negative), got ",
               n);
  CONTRA_CHECK(torch::isfinite(z1).all().item<bool>() && torch::isfinite(z2).all().item<bool>(),
               "tiled ", name, " embeddings contain NaN or Inf");

  Tensor a = z1, b = z2;
  if (options.similarity() == Similarity::kCosine) {
    namespace F = torch::nn::functional;
    a = F::normalize(z1, F::NormalizeFuncOptions().dim(1).eps(1e-12));
    b = F::normalize(z2, F::NormalizeFuncOptions().dim(1).eps(1e-12));
  }
  Plan plan;
  switch (options.similarity()) {
    case Similarity::kCosine:  // a and b are unit rows now: cosine is their dot product
    case Similarity::kDot: plan.sim = Similarity::kDot; break;
    case Similarity::kNegSquaredEuclidean:
    case Similarity::kNegEuclidean: plan.sim = options.similarity(); break;
  }
  plan.inv_t = 1.0 / t;
  // The scale as an autograd input of the tile pass (a constant when not learned), and its
  // value for the differentiable positive terms.
  const Tensor scale = learned ? options.scale().reshape({}) : torch::full({}, plan.inv_t, a.options());
  plan.tile = options.tile_size();
  plan.across_tiles = options.threads() == TileThreads::kAcrossTiles && z1.device().is_cpu();

  ContrastiveOutput out;
  Tensor top1, pos_mean, neg_mean;  // diagnostics, read back in one transfer
  const auto dbl = torch::kDouble;
  switch (options.objective()) {
    case TiledObjective::kNTXent: {
      plan.mode = Mode::kSelf;
      plan.half = n;
      auto z = torch::cat({a, b}, 0);  // [2N, d]
      auto r = TiledLogSumExp::apply(z, z, scale, plan);
      auto pos = pair_scores(z, z.roll(n, 0), plan);  // [2N]
      out.loss = (r[0] - pos * scale).mean();
      top1 = (r[4] >= r[2]).to(dbl).mean();
      pos_mean = r[4].to(dbl).mean();
      neg_mean = (r[6] - r[4].to(dbl).sum()) / (double(2 * n) * double(2 * n - 2));
      break;
    }
    case TiledObjective::kInfoNCE: {
      plan.mode = Mode::kRows;
      auto r = TiledLogSumExp::apply(a, b, scale, plan);
      auto pos = pair_scores(a, b, plan);
      out.loss = (r[0] - pos * scale).mean();
      top1 = (r[4] >= r[2]).to(dbl).mean();
      pos_mean = r[4].to(dbl).mean();
      neg_mean = (r[6] - r[4].to(dbl).sum()) / (double(n) * double(n - 1));
      break;
    }
    case TiledObjective::kClipSymmetric: {
      plan.mode = Mode::kBoth;
      auto r = TiledLogSumExp::apply(a, b, scale, plan);
      auto pos = pair_scores(a, b, plan) * scale;
      out.loss = ((r[0] - pos).mean() + (r[1] - pos).mean()) / 2;
      top1 = ((r[4] >= r[2]).to(dbl).mean() + (r[5] >= r[3]).to(dbl).mean()) / 2;
      pos_mean = r[4].to(dbl).mean();
      neg_mean = (r[6] - r[4].to(dbl).sum()) / (double(n) * double(n - 1));
      break;
    }
  }
  auto diag = torch::stack({pos_mean, neg_mean, top1}).detach().cpu();
  out.positive_sim = diag[0].item<double>();
  out.negative_sim = diag[1].item<double>();
  out.top1 = diag[2].item<double>();
  return out;
}

}  // namespace contra::losses::functional
