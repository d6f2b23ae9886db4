#include "contra/methods/clip.h"

#include <cmath>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/losses/clip.h"
#include "contra/losses/siglip.h"
#include "contra/losses/tiled.h"

namespace contra::methods {
namespace {
const NameTable<ClipLoss, 2> kClipLossNames = {{"clip", ClipLoss::kClip}, {"siglip", ClipLoss::kSigLip}};

/// CLIP's and SigLIP's initial temperatures (scales 1 / 0.07 and 10).
constexpr double kClipTemperature = 0.07, kSigLipTemperature = 0.1;

torch::Tensor unit_rows(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::normalize(x, F::NormalizeFuncOptions().dim(1).eps(1e-12));
}
}  // namespace

ClipLoss clip_loss_from_string(const std::string& name) { return from_name(kClipLossNames, name, "CLIP loss"); }
std::vector<std::string> clip_loss_names() { return names_of(kClipLossNames); }
std::string to_string(ClipLoss kind) { return name_of(kClipLossNames, kind); }

CLIPImpl::CLIPImpl(CLIPOptions options_) : options(std::move(options_)) {
  const double t0 = options.temperature_init() > 0
                        ? options.temperature_init()
                        : (options.loss() == ClipLoss::kSigLip ? kSigLipTemperature : kClipTemperature);
  CONTRA_CHECK(options.max_scale() >= 1 && std::isfinite(options.max_scale()),
               "clip.max_scale must be >= 1, got ", options.max_scale());
  CONTRA_CHECK(t0 <= 1 && 1 / t0 <= options.max_scale(), "clip.temperature_init (", t0,
               ") must be in [1 / clip.max_scale, 1] = [", 1 / options.max_scale(), ", 1]");
  CONTRA_CHECK(options.embed_dim() >= 1, "model.head_dim must be >= 1, got ", options.embed_dim());
  CONTRA_CHECK(options.tile_size() >= 1, "loss.tile_size must be >= 1, got ", options.tile_size());
  encoder = models::make_encoder(options.image_encoder());
  register_module("encoder", encoder.module);
  head = register_module("head", models::ProjectionHead(
                                     models::ProjectionHeadOptions(encoder.dim, options.embed_dim())
                                         .hidden_dim(options.head_hidden())
                                         .layers(options.head_layers())));
  text_encoder = register_module("text_encoder", models::TextTransformer(options.text_encoder()));
  text_head = register_module("text_head", models::ProjectionHead(
                                               models::ProjectionHeadOptions(text_encoder->output_dim(),
                                                                             options.embed_dim())
                                                   .hidden_dim(options.head_hidden())
                                                   .layers(options.head_layers())));
  logit_scale = register_parameter("logit_scale", torch::full({}, std::log(1.0 / t0)));
  if (options.loss() == ClipLoss::kSigLip)
    logit_bias = register_parameter("logit_bias", torch::full({}, options.bias_init()));
  if (options.channels_last()) to_channels_last(encoder);
}

torch::Tensor CLIPImpl::embed_images(const torch::Tensor& images) {
  return unit_rows(embed_view(encoder, head, images, {options.channels_last(), options.encode_chunk()}));
}

torch::Tensor CLIPImpl::embed_texts(const data::TokenBatch& texts) {
  return unit_rows(text_head->forward(text_encoder->forward(texts.ids, texts.mask)));
}

losses::ContrastiveOutput CLIPImpl::forward(const data::Batch& batch) {
  CONTRA_CHECK(batch.view1.defined() && batch.text1.size() == batch.view1.size(0) && batch.text1.size() >= 1,
               "CLIP needs a batch of images (view1) with one caption each (text1), got ",
               batch.view1.defined() ? batch.view1.size(0) : 0, " images and ", batch.text1.size(), " texts");
  // Named first: the image tower's random state and batch statistics move before the text's.
  auto zi = embed_images(batch.view1);
  auto zt = embed_texts(batch.text1);
  return loss(zi, zt);
}

losses::ContrastiveOutput CLIPImpl::loss(const torch::Tensor& zi, const torch::Tensor& zt) {
  namespace F = losses::functional;
  auto& c = collective();
  const int64_t n = zi.size(0), begin = c.rank() * n, end = begin + n;
  // One process: the identity. Several: every rank's embeddings, this rank's gradient path.
  auto images = c.all_gather_with_grad(zi), texts = c.all_gather_with_grad(zt);
  const auto scale = logit_scale.exp();
  // The embeddings are unit rows: the dot product is their cosine.
  if (options.loss() == ClipLoss::kSigLip)
    return mean_over_ranks(F::siglip_loss_rows(images, texts, begin, end,
                                               losses::SigLipOptions()
                                                   .similarity(losses::Similarity::kDot)
                                                   .scale(scale)
                                                   .bias(logit_bias)),
                           c);
  const int64_t global = images.size(0);
  const bool tiled = options.tiled() == TiledMode::kOn ||
                     (options.tiled() == TiledMode::kAuto && global >= kTiledAutoMinPairs);
  if (tiled)  // the whole global batch on every rank (the same value on each)
    return F::tiled_contrastive(images, texts,
                                losses::TiledContrastiveOptions()
                                    .objective(losses::TiledObjective::kClipSymmetric)
                                    .similarity(losses::Similarity::kDot)
                                    .scale(scale)
                                    .tile_size(options.tile_size()));
  return mean_over_ranks(
      F::clip_loss_rows(images, texts, begin, end,
                        losses::ClipOptions().similarity(losses::Similarity::kDot).scale(scale)),
      c);
}

torch::Tensor CLIPImpl::features(const data::Batch& inputs) {
  if (inputs.view1.defined())
    return encode_features(encoder, inputs.view1, {options.channels_last(), options.encode_chunk()});
  CONTRA_CHECK(inputs.text1.size() > 0, "CLIP features need images (view1) or texts (text1)");
  return text_encoder->forward(inputs.text1.ids, inputs.text1.mask);
}

torch::Tensor CLIPImpl::head_embeddings(const data::Batch& inputs) {
  if (inputs.view1.defined()) return embed_images(inputs.view1);
  CONTRA_CHECK(inputs.text1.size() > 0, "CLIP embeddings need images (view1) or texts (text1)");
  return embed_texts(inputs.text1);
}

std::vector<torch::Tensor> CLIPImpl::trainable_parameters() {
  auto all = parameters();
  if (options.learn_temperature()) return all;
  std::vector<torch::Tensor> out;
  for (const auto& p : all)
    if (!p.is_same(logit_scale) && !(logit_bias.defined() && p.is_same(logit_bias))) out.push_back(p);
  return out;
}

std::vector<torch::Tensor> CLIPImpl::no_decay_parameters() {
  std::vector<torch::Tensor> out = {logit_scale};
  if (logit_bias.defined()) out.push_back(logit_bias);
  return out;
}

void CLIPImpl::after_step(int64_t, int64_t, const losses::ContrastiveOutput&) {
  torch::NoGradGuard no_grad;
  logit_scale.clamp_(0.0, std::log(options.max_scale()));
}

std::vector<std::pair<std::string, double>> CLIPImpl::step_metrics() const {
  const double s = logit_scale.detach().item<double>();
  std::vector<std::pair<std::string, double>> out = {{"logit_scale", std::exp(s)}, {"temperature", std::exp(-s)}};
  if (logit_bias.defined()) out.emplace_back("logit_bias", logit_bias.detach().item<double>());
  return out;
}

}  // namespace contra::methods
