#include "contra/methods/grad_cache.h"

#include <mutex>
#include <vector>

#include <ATen/Context.h>
#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::methods {
namespace {

/// The default generators' states that one chunk's forward starts from.
struct RngState {
  torch::Tensor cpu, device;
};

at::Generator device_generator(const torch::Device& d) {
  return at::globalContext().defaultGenerator(d);
}

RngState capture(const torch::Device& d) {
  RngState s;
  {
    auto gen = at::globalContext().defaultGenerator(at::kCPU);
    std::lock_guard<std::mutex> lock(gen.mutex());
    s.cpu = gen.get_state();
  }
  if (d.is_cuda()) {
    auto gen = device_generator(d);
    std::lock_guard<std::mutex> lock(gen.mutex());
    s.device = gen.get_state();
  }
  return s;
}

void restore(const RngState& s, const torch::Device& d) {
  {
    auto gen = at::globalContext().defaultGenerator(at::kCPU);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(s.cpu);
  }
  if (d.is_cuda()) {
    auto gen = device_generator(d);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(s.device);
  }
}

}  // namespace

losses::ContrastiveOutput grad_cache_backward(const EmbedFn& embed, const torch::Tensor& view1,
                                              const torch::Tensor& view2, const PairLossFn& loss,
                                              const GradCacheOptions& options,
                                              torch::nn::Module* stateful) {
  const int64_t chunk = options.chunk_size();
  CONTRA_CHECK(chunk >= 1, "gradient cache chunk size must be >= 1, got ", chunk);
  CONTRA_CHECK(view1.defined() && view2.defined() && view1.dim() >= 1 &&
                   view1.sizes() == view2.sizes(),
               "gradient cache needs two views of equal shape, got ",
               view1.defined() ? view1.sizes() : at::IntArrayRef{}, " and ",
               view2.defined() ? view2.sizes() : at::IntArrayRef{});
  const torch::Device device = view1.device();
  const std::vector<torch::Tensor> views = {view1, view2};

  // Buffers before the first pass, so that running statistics are updated once, by the second.
  std::vector<torch::Tensor> buffers, saved;
  if (stateful) {
    torch::NoGradGuard no_grad;
    for (auto& b : stateful->buffers()) {
      buffers.push_back(b);
      saved.push_back(b.clone());
    }
  }

  // Pass 1: embeddings without a graph, remembering where each chunk's randomness started.
  std::vector<std::vector<torch::Tensor>> pieces(2);
  std::vector<std::vector<RngState>> states(2);
  std::vector<torch::Tensor> z(2);
  {
    torch::NoGradGuard no_grad;
    for (size_t v = 0; v < 2; ++v) {
      pieces[v] = views[v].split(chunk, 0);
      std::vector<torch::Tensor> parts;
      for (const auto& piece : pieces[v]) {
        states[v].push_back(capture(device));
        parts.push_back(embed(piece));
      }
      z[v] = torch::cat(parts, 0);
    }
    for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(saved[i]);
  }

  // The loss and its gradient with respect to the embeddings (leaves of a small graph).
  auto z1 = z[0].detach().requires_grad_(true), z2 = z[1].detach().requires_grad_(true);
  losses::ContrastiveOutput out = loss(z1, z2);
  out.loss.backward();
  CONTRA_CHECK(z1.grad().defined() && z2.grad().defined(),
               "gradient cache: the loss does not depend on both views' embeddings");
  const std::vector<torch::Tensor> grads = {z1.grad(), z2.grad()};

  // Pass 2: each chunk again, with its graph, back-propagating its slice of the cached gradient.
  for (size_t v = 0; v < 2; ++v) {
    int64_t start = 0;
    for (size_t k = 0; k < pieces[v].size(); ++k) {
      restore(states[v][k], device);
      auto zc = embed(pieces[v][k]);
      const int64_t n = zc.size(0);
      torch::autograd::backward({zc}, {grads[v].narrow(0, start, n)});
      start += n;
    }
  }
  out.loss = out.loss.detach();
  return out;
}

losses::ContrastiveOutput grad_cache_step(const SplitStep& split) {
  return grad_cache_backward(split.embed, split.view1, split.view2, split.loss,
                             GradCacheOptions(split.chunk), split.stateful);
}

losses::ContrastiveOutput simclr_grad_cache(SimCLRImpl& model, const torch::Tensor& view1,
                                            const torch::Tensor& view2,
                                            const torch::Tensor& labels) {
  data::Batch batch;
  batch.view1 = view1;
  batch.view2 = view2;
  batch.label = labels;
  return grad_cache_step(*model.split_step(batch));
}

}  // namespace contra::methods
