#include "contra/methods/simclr.h"

#include <algorithm>

#include <torch/torch.h>

namespace contra::methods {

SimCLRImpl::SimCLRImpl(SimCLROptions options_) : options(std::move(options_)) {
  encoder = models::make_encoder(options.encoder());
  register_module("encoder", encoder.module);
  head = register_module(
      "head", models::ProjectionHead(models::ProjectionHeadOptions(encoder.dim, options.head_dim())
                                         .hidden_dim(options.head_hidden())
                                         .layers(options.head_layers())
                                         .batch_norm(options.head_batch_norm())));
  if (options.channels_last()) to_channels_last(encoder);
}

losses::ContrastiveOutput SimCLRImpl::forward(const torch::Tensor& view1,
                                              const torch::Tensor& view2,
                                              const torch::Tensor& labels) {
  // Separate passes per view: one pass over 2B mixes the views' batch statistics and, on CPU,
  // is slower (the working set falls out of cache).
  // Named first: argument evaluation order is unspecified, and view 1 must go first so that
  // random draws (dropout) and running-statistics updates happen in a fixed order.
  auto z1 = embed_view(view1);
  auto z2 = embed_view(view2);
  // Several processes: global negatives (every rank's embeddings).
  return global_two_view_loss(z1, z2, labels, options.loss(), collective());
}

torch::Tensor SimCLRImpl::embed_view(const torch::Tensor& view) {
  return methods::embed_view(encoder, head, view, {options.channels_last(), options.encode_chunk()});
}

torch::Tensor SimCLRImpl::embed_chunk(const torch::Tensor& chunk) {
  return head->forward(encoder.forward(chunk));
}

torch::Tensor SimCLRImpl::features(const torch::Tensor& images) {
  return encode_features(encoder, images, {options.channels_last(), options.encode_chunk()});
}

std::optional<SplitStep> SimCLRImpl::split_step(const data::Batch& batch) {
  SplitStep split;
  split.chunk = options.encode_chunk() > 0 ? options.encode_chunk()
                                           : std::max<int64_t>(1, batch.view1.size(0));
  auto layout = [&](const torch::Tensor& v) {
    return options.channels_last() ? v.contiguous(at::MemoryFormat::ChannelsLast) : v;
  };
  split.view1 = layout(batch.view1);
  split.view2 = layout(batch.view2);
  split.embed = [this](const torch::Tensor& x) { return embed_chunk(x); };
  const torch::Tensor labels = batch.label;
  split.loss = [this, labels](const torch::Tensor& z1, const torch::Tensor& z2) {
    return global_two_view_loss(z1, z2, labels, options.loss(), collective());  // as forward()
  };
  split.stateful = this;
  return split;
}

}  // namespace contra::methods
