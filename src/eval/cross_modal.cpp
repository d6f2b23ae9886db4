#include "contra/eval/cross_modal.h"

#include <algorithm>
#include <limits>

#include <ATen/ATen.h>

#include "contra/core/error.h"

namespace contra::eval {

namespace {
at::Tensor cross_modal_unit(const at::Tensor& x) {
  auto f = x.to(at::kFloat).cpu();
  return f / f.norm(2, {1}, true).clamp_min(1e-12);
}

void append_ranks(const at::Tensor& ahead, std::vector<int64_t>& ranks) {
  auto a = ahead.to(at::kLong).contiguous();
  const int64_t* p = a.data_ptr<int64_t>();
  for (int64_t i = 0; i < a.numel(); ++i) ranks.push_back(p[i] + 1);
}
}  // namespace

DirectionMetrics direction_metrics(const std::vector<int64_t>& ranks) {
  DirectionMetrics m;
  m.queries = int64_t(ranks.size());
  if (ranks.empty()) return m;
  double r1 = 0, r5 = 0, r10 = 0, sum = 0;
  for (const int64_t r : ranks) {
    TORCH_INTERNAL_ASSERT(r >= 1, "ranks are 1-based");
    r1 += r <= 1;
    r5 += r <= 5;
    r10 += r <= 10;
    sum += double(r);
  }
  const double q = double(ranks.size());
  m.recall_at_1 = r1 / q;
  m.recall_at_5 = r5 / q;
  m.recall_at_10 = r10 / q;
  m.mean_rank = sum / q;
  auto sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  m.median_rank = n % 2 == 1 ? double(sorted[n / 2]) : (double(sorted[n / 2 - 1]) + double(sorted[n / 2])) / 2;
  return m;
}

CrossModalMetrics cross_modal_retrieval(const at::Tensor& images, const at::Tensor& captions,
                                        const at::Tensor& caption_image, int64_t chunk) {
  CONTRA_CHECK(images.dim() == 2 && captions.dim() == 2 && images.size(1) == captions.size(1),
               "cross-modal retrieval needs images [N, d] and captions [T, d], got ", images.sizes(),
               " and ", captions.sizes());
  const int64_t n = images.size(0), t = captions.size(0);
  CONTRA_CHECK(n >= 1 && t >= 1, "cross-modal retrieval needs at least one image and one caption");
  CONTRA_CHECK(caption_image.dim() == 1 && caption_image.size(0) == t,
               "cross-modal retrieval needs one image per caption, got ", caption_image.sizes(), " for ",
               t, " captions");
  auto owner = caption_image.to(at::kLong).cpu().contiguous();
  CONTRA_CHECK(owner.min().item<int64_t>() >= 0 && owner.max().item<int64_t>() < n,
               "caption images must be in [0, ", n, ")");
  CONTRA_CHECK((at::bincount(owner, {}, n) > 0).all().item<bool>(),
               "cross-modal retrieval: every image needs at least one caption");
  const auto im = cross_modal_unit(images), tx = cross_modal_unit(captions);
  const int64_t step = std::max<int64_t>(1, chunk);
  CrossModalMetrics m;
  m.images = n;
  m.captions = t;

  std::vector<int64_t> i2t, t2i;
  for (int64_t b = 0; b < n; b += step) {
    const int64_t e = std::min(n, b + step);
    auto s = at::matmul(im.slice(0, b, e), tx.t());                             // [q, T]
    auto own = owner.unsqueeze(0) == at::arange(b, e, at::kLong).unsqueeze(1);  // [q, T]
    // The best own caption's score, and the other images' captions at least as high.
    auto best = s.masked_fill(own.logical_not(), -std::numeric_limits<float>::infinity()).amax(1, true);
    append_ranks(((s >= best) & own.logical_not()).sum(1), i2t);
  }
  for (int64_t b = 0; b < t; b += step) {
    const int64_t e = std::min(t, b + step);
    auto s = at::matmul(tx.slice(0, b, e), im.t());  // [q, N]
    auto target = s.gather(1, owner.slice(0, b, e).unsqueeze(1));
    append_ranks((s >= target).sum(1) - 1, t2i);
  }
  m.image_to_text = direction_metrics(i2t);
  m.text_to_image = direction_metrics(t2i);
  return m;
}

}  // namespace contra::eval
