#include "contra/methods/method.h"

#include <torch/torch.h>

namespace contra::methods {

losses::ContrastiveOutput TwoViewMethod::forward(const data::Batch& batch) {
  return forward(batch.view1, batch.view2, batch.label);
}

torch::Tensor TwoViewMethod::features(const data::Batch& inputs) { return features(inputs.view1); }

void TwoViewMethod::after_step(int64_t step, int64_t total_steps,
                               const losses::ContrastiveOutput& out) {
  after_step(step, total_steps);
  if (adaptive_)
    objective().hard_beta(adaptive_->update(out.loss.item<double>(), out.positive_sim - out.negative_sim));
}

std::vector<std::pair<std::string, double>> TwoViewMethod::step_metrics() const {
  auto out = method_metrics();
  const auto kind = objective().kind();
  if (kind == TwoViewLoss::kHardNegative || kind == TwoViewLoss::kHCL) out.emplace_back("hard_beta", objective().hard_beta());
  return out;
}

MethodState TwoViewMethod::state() const {
  MethodState s;
  if (adaptive_) s.controller = adaptive_->state();
  return s;
}

void TwoViewMethod::load_state(const MethodState& state) {
  if (!adaptive_ || state.controller.empty()) return;
  adaptive_->restore(state.controller);
  objective().hard_beta(adaptive_->beta());
}

void TwoViewMethod::enable_adaptive(const negatives::AdaptiveHardnessOptions& options) {
  adaptive_.emplace(options);
}

namespace {
torch::Tensor layout(const torch::Tensor& x, const EmbedOptions& o) {
  return o.channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
}

/// fn over pieces of o.chunk rows of x (all of x when chunk <= 0), concatenated.
template <class Fn>
torch::Tensor in_chunks(const torch::Tensor& view, const EmbedOptions& o, Fn fn) {
  auto x = layout(view, o);
  if (o.chunk <= 0 || o.chunk >= x.size(0)) return fn(x);
  std::vector<torch::Tensor> parts;
  for (const auto& piece : x.split(o.chunk, 0)) parts.push_back(fn(piece));
  return torch::cat(parts, 0);
}
}  // namespace

torch::Tensor embed_view(const models::Encoder& encoder, models::ProjectionHead& head,
                         const torch::Tensor& view, const EmbedOptions& o) {
  return in_chunks(view, o, [&](const torch::Tensor& x) { return head->forward(encoder.forward(x)); });
}

// In chunks too: in eval mode each sample's features are its own, and small batches keep the
// convolutions' working set in cache (1,000 images at once ran 5x slower than 128 at a time).
torch::Tensor encode_features(const models::Encoder& encoder, const torch::Tensor& images,
                              const EmbedOptions& o) {
  return in_chunks(images, o, [&](const torch::Tensor& x) { return encoder.forward(x); });
}

void to_channels_last(const models::Encoder& encoder) {
  for (auto& p : encoder.module->parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

}  // namespace contra::methods
