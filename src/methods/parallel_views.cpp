#include "contra/methods/parallel_views.h"

#include <vector>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/models/batch_norm.h"

namespace contra::methods {
namespace {

/// One view's embeddings, chunk by chunk as the method's forward embeds it.
torch::Tensor embed_view_in_chunks(const SplitStep& split, const torch::Tensor& view) {
  if (split.chunk >= view.size(0)) return split.embed(view);
  std::vector<torch::Tensor> parts;
  for (const auto& piece : view.split(split.chunk, 0)) parts.push_back(split.embed(piece));
  return torch::cat(parts, 0);
}

/// Runs the two tasks on the two workers at once, or here one after the other.
void run_pair(OneThreadWorkers* workers, const std::function<void()>& first,
              const std::function<void()>& second) {
  if (workers) {
    workers->run({first, second});
  } else {
    first();
    second();
  }
}

}  // namespace

losses::ContrastiveOutput parallel_views_step(const SplitStep& split, OneThreadWorkers* workers) {
  CONTRA_CHECK(!workers || workers->size() >= 2, "parallel views need 2 worker threads, got ",
               workers ? workers->size() : 0);
  CONTRA_CHECK(split.embed && split.loss && split.chunk >= 1, "parallel views: incomplete split step");
  CONTRA_CHECK(split.view1.defined() && split.view2.defined() && split.view1.dim() >= 1 &&
                   split.view1.sizes() == split.view2.sizes(),
               "parallel views need two views of equal shape, got ",
               split.view1.defined() ? split.view1.sizes() : at::IntArrayRef{}, " and ",
               split.view2.defined() ? split.view2.sizes() : at::IntArrayRef{});
  CONTRA_CHECK(split.view1.device().is_cpu(), "parallel views run on the CPU, got views on ",
               split.view1.device());

  models::DeferredBatchNormStats held_back;  // view 2's running-statistics updates
  torch::Tensor z1, z2;
  run_pair(
      workers, [&] { z1 = embed_view_in_chunks(split, split.view1); },
      [&] {
        models::DeferBatchNormStats defer(held_back);
        z2 = embed_view_in_chunks(split, split.view2);
      });

  // The loss on leaves that stand for the embeddings: its backward stops there.
  auto leaf1 = z1.detach().requires_grad_(true), leaf2 = z2.detach().requires_grad_(true);
  losses::ContrastiveOutput out = split.loss(leaf1, leaf2);
  out.loss.backward();
  CONTRA_CHECK(leaf1.grad().defined() && leaf2.grad().defined(),
               "parallel views: the loss does not depend on both views' embeddings");
  const torch::Tensor g1 = leaf1.grad(), g2 = leaf2.grad();

  run_pair(
      workers, [&] { torch::autograd::backward({z1}, {g1}); },
      [&] {
        held_back.replay();  // after view 1's updates, which its forward pass made
        torch::autograd::backward({z2}, {g2});
      });
  out.loss = out.loss.detach();
  return out;
}

}  // namespace contra::methods
