#include "contra/methods/simclr.h"

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
  if (options.channels_last()) {
    for (auto& p : encoder.module->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

losses::ContrastiveOutput SimCLRImpl::forward(const torch::Tensor& view1,
                                              const torch::Tensor& view2) {
  auto x = torch::cat({view1, view2}, 0);
  if (options.channels_last()) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  auto z = head->forward(encoder.forward(x));
  auto halves = z.chunk(2, 0);
  return losses::functional::nt_xent(halves[0], halves[1], options.loss());
}

torch::Tensor SimCLRImpl::features(const torch::Tensor& images) {
  auto x = options.channels_last() ? images.contiguous(at::MemoryFormat::ChannelsLast) : images;
  return encoder.forward(x);
}

}  // namespace contra::methods
