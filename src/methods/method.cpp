#include "contra/methods/method.h"

#include <torch/torch.h>

namespace contra::methods {
namespace {
torch::Tensor layout(const torch::Tensor& x, const EmbedOptions& o) {
  return o.channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
}
}  // namespace

torch::Tensor embed_view(const models::Encoder& encoder, models::ProjectionHead& head,
                         const torch::Tensor& view, const EmbedOptions& o) {
  auto x = layout(view, o);
  if (o.chunk <= 0 || o.chunk >= x.size(0)) return head->forward(encoder.forward(x));
  std::vector<torch::Tensor> parts;
  for (const auto& piece : x.split(o.chunk, 0)) parts.push_back(head->forward(encoder.forward(piece)));
  return torch::cat(parts, 0);
}

torch::Tensor encode_features(const models::Encoder& encoder, const torch::Tensor& images,
                              const EmbedOptions& o) {
  return encoder.forward(layout(images, o));
}

void to_channels_last(const models::Encoder& encoder) {
  for (auto& p : encoder.module->parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

}  // namespace contra::methods
