#include "contra/methods/moco.h"

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/models/momentum.h"

namespace contra::methods {
namespace {

models::ProjectionHead make_head(const SimCLROptions& o, int64_t in_dim) {
  return models::ProjectionHead(models::ProjectionHeadOptions(in_dim, o.head_dim())
                                    .hidden_dim(o.head_hidden())
                                    .layers(o.head_layers())
                                    .batch_norm(o.head_batch_norm()));
}

}  // namespace

MoCoImpl::MoCoImpl(MoCoOptions options_) : options(std::move(options_)) {
  const auto& net = options.network();
  CONTRA_CHECK(options.momentum() >= 0 && options.momentum() <= 1,
               "moco.momentum must be in [0, 1], got ", options.momentum());
  CONTRA_CHECK(options.queue_size() >= 1, "moco.queue_size must be >= 1, got ",
               options.queue_size());
  info_nce_options(net.loss());  // throws for supcon / triplet
  CONTRA_CHECK(net.loss().tiled() != TiledMode::kOn,
               "loss.tiled=on needs method simclr (MoCo's loss against its queue has no tiled pass)");
  momentum_now_ = options.momentum();
  encoder = models::make_encoder(net.encoder());
  key_encoder = models::make_encoder(net.encoder());
  register_module("encoder", encoder.module);
  register_module("key_encoder", key_encoder.module);
  head = register_module("head", make_head(net, encoder.dim));
  key_head = register_module("key_head", make_head(net, encoder.dim));
  queue = register_module("queue", negatives::KeyQueue(options.queue_size(), net.head_dim()));
  if (net.channels_last()) {
    to_channels_last(encoder);
    to_channels_last(key_encoder);
  }
  models::copy_into(*key_encoder.module, *encoder.module);
  models::copy_into(*key_head, *head);
}

EmbedOptions MoCoImpl::embed_options() const {
  return {options.network().channels_last(), options.network().encode_chunk()};
}

torch::Tensor MoCoImpl::embed_keys(const torch::Tensor& view) {
  torch::NoGradGuard no_grad;
  auto& c = collective();
  const int64_t b = view.size(0), chunk = options.network().encode_chunk();
  if (!options.shuffle_bn()) return c.all_gather(embed_view(key_encoder, key_head, view, embed_options()));
  // Shuffling BN: the key encoder sees the global batch in a random order, so the samples that
  // share its batch-norm statistics are not those that share the query encoder's. With several
  // ranks, each encodes its slice of the shuffled global batch (rank 0's order on every rank).
  CONTRA_CHECK(c.size() > 1 || (chunk >= 1 && chunk < b),
               "moco.shuffle_bn needs model.encode_chunk in [1, batch), got encode_chunk ", chunk,
               " with batch ", b, " (keys and queries would share batch-norm statistics)");
  auto all = c.all_gather(view);
  const int64_t n = all.size(0);
  auto perm = torch::randperm(n, torch::TensorOptions().dtype(torch::kLong).device(view.device()));
  c.broadcast_(perm);
  auto mine = perm.slice(0, c.rank() * b, (c.rank() + 1) * b);
  auto keys = c.all_gather(embed_view(key_encoder, key_head, all.index_select(0, mine), embed_options()));
  return torch::empty_like(keys).index_copy_(0, perm, keys);  // row perm[i] <- keys[i]
}

losses::ContrastiveOutput MoCoImpl::forward(const torch::Tensor& view1, const torch::Tensor& view2,
                                            const torch::Tensor& /*labels*/) {
  auto& c = collective();
  const int64_t n = view1.size(0), b = n * c.size();  // this rank's batch, the global batch
  const int64_t per_step = options.symmetric() ? 2 * b : b;
  CONTRA_CHECK(options.queue_size() >= per_step, "moco.queue_size (", options.queue_size(),
               ") must be >= the keys enqueued per step (", per_step,
               c.size() > 1 ? " = global batch " : " = batch ", b,
               options.symmetric() ? " x 2 views)" : ")");
  const bool in_batch = options.in_batch_negatives();
  auto opts = info_nce_options(options.network().loss()).in_batch(in_batch);
  const auto& sampling = options.network().loss().negatives();
  auto bank = queue->keys().detach();
  // Keys are the global batch's (every rank's). With the queue as the negatives, each rank
  // scores its own queries against their keys and the ranks' losses are averaged; in-batch
  // negatives must be the global batch's keys, so then every rank scores every rank's queries.
  auto queries = [&](const torch::Tensor& q) { return in_batch ? c.all_gather_with_grad(q) : q; };
  auto positives = [&](const torch::Tensor& k) {
    return in_batch ? k : k.slice(0, c.rank() * n, (c.rank() + 1) * n);
  };
  auto q1 = embed_view(encoder, head, view1, embed_options());
  auto k2 = embed_keys(view2);
  auto out = sampled_info_nce(queries(q1), positives(k2), opts, sampling, bank);
  if (options.symmetric()) {
    auto q2 = embed_view(encoder, head, view2, embed_options());
    auto k1 = embed_keys(view1);
    out = average(out, sampled_info_nce(queries(q2), positives(k1), opts, sampling, bank));
    pending_keys_ = torch::cat({k2, k1});
  } else {
    pending_keys_ = k2;
  }
  return in_batch ? out : mean_over_ranks(out, c);
}

void MoCoImpl::after_step(int64_t step, int64_t total_steps) {
  momentum_now_ = models::momentum_at(options.momentum(), step, total_steps, options.momentum_cosine());
  models::momentum_update(*key_encoder.module, *encoder.module, momentum_now_);
  models::momentum_update(*key_head, *head, momentum_now_);
  if (pending_keys_.defined()) queue->enqueue(pending_keys_);
  pending_keys_ = torch::Tensor();
}

torch::Tensor MoCoImpl::features(const torch::Tensor& images) {
  return encode_features(encoder, images, embed_options());
}

torch::Tensor MoCoImpl::head_embeddings_of(const torch::Tensor& images) {
  return methods::embed_view(encoder, head, images, embed_options());
}

std::vector<torch::Tensor> MoCoImpl::trainable_parameters() {
  auto p = encoder.module->parameters();
  for (auto& t : head->parameters()) p.push_back(t);
  return p;
}

std::vector<std::pair<std::string, double>> MoCoImpl::method_metrics() const {
  return {{"momentum", momentum_now_}, {"queue_filled", double(queue->filled())}};
}

}  // namespace contra::methods
