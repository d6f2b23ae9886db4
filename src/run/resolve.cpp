#include "contra/run/resolve.h"

#include <cmath>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/methods/moco.h"

namespace contra::run {

augment::PipelineOptions pipeline_options(const config::RunConfig& cfg) {
  const auto& a = cfg.augment;
  auto o = augment::PipelineOptions()
               .out_size(a.out_size)
               .crop_p(a.crop_p)
               .crop_scale_min(a.crop_scale_min)
               .crop_scale_max(a.crop_scale_max)
               .crop_ratio_min(a.crop_ratio_min)
               .crop_ratio_max(a.crop_ratio_max)
               .flip_p(a.flip_p)
               .jitter_p(a.jitter_p)
               .brightness(a.brightness)
               .contrast(a.contrast)
               .saturation(a.saturation)
               .hue(a.hue)
               .grayscale_p(a.grayscale_p)
               .blur_p(a.blur_p)
               .blur_sigma_min(a.blur_sigma_min)
               .blur_sigma_max(a.blur_sigma_max)
               .solarize_p(a.solarize_p)
               .solarize_threshold(a.solarize_threshold)
               .mean(a.mean)
               .std(a.std);
  augment::validate(o);
  return o;
}

namespace {

/// The two-view objective a config names, with each objective's own parameters.
methods::TwoViewLossOptions two_view_loss_options(const config::LossConfig& l) {
  auto o = methods::TwoViewLossOptions()
               .kind(methods::two_view_loss_from_string(l.name))
               .temperature(l.temperature)
               .similarity(losses::similarity_from_string(l.similarity));
  // An adaptive run starts from plain InfoNCE; the controller raises beta.
  o.tau_plus(l.tau_plus).hard_beta(l.adaptive ? 0.0 : l.hard_beta).decoupled_sigma(l.decoupled_sigma);
  o.margin(l.margin).mining(negatives::triplet_mining_from_string(l.mining));
  o.semi_hard_inclusive(l.semi_hard_inclusive).triplet_normalize(l.triplet_normalize);
  o.triplet_average_nonzero(l.triplet_average_nonzero).triplet_labels(l.triplet_labels);
  o.negatives(negatives::NegativeSamplingOptions()
                  .kind(negatives::negative_sampling_from_string(l.negatives))
                  .num_negatives(l.num_negatives)
                  .threshold(l.neg_threshold)
                  .margin(l.margin));
  return o.tiled(methods::tiled_mode_from_string(l.tiled)).tile_size(l.tile_size);
}

}  // namespace

namespace {
/// The image encoder a config describes, for images of `in_channels` channels.
models::EncoderSpec image_encoder_spec(const config::RunConfig& cfg, int64_t in_channels) {
  models::EncoderSpec spec;
  spec.kind = models::encoder_kind_from_string(cfg.model.encoder);
  spec.in_channels = in_channels;
  spec.widths = cfg.model.widths;
  spec.pool_grid = cfg.model.pool_grid;
  spec.small_stem = cfg.model.small_stem;
  spec.base_width = cfg.model.base_width;
  spec.fuse_bn_relu = cfg.model.fuse_bn_relu;
  return spec;
}
}  // namespace

methods::CLIPOptions clip_options(const config::RunConfig& cfg, int64_t in_channels, int64_t vocab_size) {
  return methods::CLIPOptions(image_encoder_spec(cfg, in_channels), text_encoder_options(cfg, vocab_size),
                              cfg.model.head_dim)
      .head_layers(cfg.model.head_layers)
      .head_hidden(cfg.model.head_hidden)
      .loss(methods::clip_loss_from_string(cfg.loss.name))
      .temperature_init(cfg.clip.temperature_init)
      .max_scale(cfg.clip.max_scale)
      .bias_init(cfg.clip.bias_init)
      .learn_temperature(cfg.clip.learn_temperature)
      .tiled(methods::tiled_mode_from_string(cfg.loss.tiled))
      .tile_size(cfg.loss.tile_size)
      .channels_last(cfg.model.channels_last_or_default())
      .encode_chunk(cfg.model.encode_chunk_or_default());
}

data::ManifestOptions manifest_options(const config::RunConfig& cfg) {
  data::ManifestOptions o;
  o.image_column = cfg.data.image_column;
  o.caption_column = cfg.data.caption_column;
  o.label_column = cfg.data.label_column;
  o.separator = data::manifest_separator_from_string(cfg.data.separator);
  o.size = cfg.data.image_size;
  o.channels = cfg.data.channels;
  return o;
}

methods::SimCLROptions simclr_options(const config::RunConfig& cfg, int64_t in_channels) {
  return methods::SimCLROptions(image_encoder_spec(cfg, in_channels), cfg.model.head_dim)
      .head_hidden(cfg.model.head_hidden)
      .head_layers(cfg.model.head_layers)
      .head_batch_norm(cfg.model.head_batch_norm)
      .channels_last(cfg.model.channels_last_or_default())
      .encode_chunk(cfg.model.encode_chunk_or_default())
      .loss(two_view_loss_options(cfg.loss));
}

std::shared_ptr<methods::TwoViewMethod> make_method(const config::RunConfig& cfg,
                                                   int64_t in_channels) {
  auto network = simclr_options(cfg, in_channels);
  std::shared_ptr<methods::TwoViewMethod> method;
  switch (methods::method_info(cfg.method).kind) {
    case methods::MethodKind::kSimCLR:
      method = std::make_shared<methods::SimCLRImpl>(network);
      break;
    case methods::MethodKind::kMoCo:
      method = std::make_shared<methods::MoCoImpl>(methods::MoCoOptions(network)
                                                       .queue_size(cfg.moco.queue_size)
                                                       .momentum(cfg.moco.momentum)
                                                       .momentum_cosine(cfg.moco.momentum_cosine)
                                                       .symmetric(cfg.moco.symmetric)
                                                       .shuffle_bn(cfg.moco.shuffle_bn)
                                                       .in_batch_negatives(cfg.moco.in_batch_negatives));
      break;
    default:
      throw Error("method " + cfg.method + " does not train on images");
  }
  if (cfg.loss.adaptive) method->enable_adaptive(adaptive_options(cfg));
  return method;
}

negatives::AdaptiveHardnessOptions adaptive_options(const config::RunConfig& cfg) {
  return negatives::AdaptiveHardnessOptions()
      .beta_max(cfg.loss.adaptive_beta_max)
      .gap_low(cfg.loss.adaptive_gap_low)
      .gap_high(cfg.loss.adaptive_gap_high)
      .rate(cfg.loss.adaptive_rate);
}

models::TextTransformerOptions text_encoder_options(const config::RunConfig& cfg,
                                                    int64_t vocab_size) {
  const auto& m = cfg.text_model;
  return models::TextTransformerOptions(vocab_size)
      .width(m.width)
      .layers(m.layers)
      .heads(m.heads)
      .ffn(m.ffn)
      .max_len(cfg.text.max_len)
      .dropout(m.dropout)
      .pooling(models::text_pooling_from_string(m.pooling));
}

methods::SimCSEOptions simcse_options(const config::RunConfig& cfg, int64_t vocab_size) {
  return methods::SimCSEOptions(text_encoder_options(cfg, vocab_size), cfg.model.head_dim)
      .head_hidden(cfg.model.head_hidden)
      .head_layers(cfg.model.head_layers)
      .loss(methods::simcse_loss_from_string(cfg.loss.name))
      .temperature(cfg.loss.temperature)
      .similarity(losses::similarity_from_string(cfg.loss.similarity));
}

augment::TextAugmentOptions text_augment_options(const config::RunConfig& cfg) {
  std::vector<augment::TextOp> ops;
  for (const auto& name : cfg.text.augment) ops.push_back(augment::text_op_from_string(name));
  augment::TextAugmentOptions o;
  o.ops(ops).delete_p(cfg.text.delete_p).crop_fraction(cfg.text.crop_fraction);
  o.swap_n(cfg.text.swap_n).synonym_p(cfg.text.synonym_p);
  augment::validate(o);
  return o;
}

data::TokenizerTrainOptions tokenizer_options(const config::RunConfig& cfg) {
  const auto& t = cfg.text;
  return data::TokenizerTrainOptions(t.vocab_size)
      .model(data::tokenizer_model_from_string(t.tokenizer_type))
      .lowercase(t.lowercase)
      .max_sentences(t.tokenizer_sentences)
      .seed(cfg.seed);
}

train::OptimizerOptions optimizer_options(const config::RunConfig& cfg) {
  const auto& o = cfg.optim;
  double lr = train::scale_lr(o.lr, cfg.train.batch_size,
                              train::lr_scaling_from_string(o.lr_scaling));
  return train::OptimizerOptions(train::optimizer_kind_from_string(o.name))
      .lr(lr)
      .momentum(o.momentum)
      .weight_decay(o.weight_decay)
      .beta1(o.beta1)
      .beta2(o.beta2)
      .eps(o.eps)
      .lars_eta(o.lars_eta);
}

train::ScheduleOptions schedule_options(const config::RunConfig& cfg, int64_t batches_per_epoch) {
  int64_t total = cfg.train.max_steps > 0
                      ? cfg.train.max_steps
                      : int64_t(std::ceil(cfg.train.epochs * double(batches_per_epoch)));
  CONTRA_CHECK(total >= 1, "the run has no steps: train.epochs (", cfg.train.epochs,
               ") x ", batches_per_epoch, " batches per epoch rounds to 0");
  int64_t warmup = int64_t(std::llround(cfg.optim.warmup_epochs * double(batches_per_epoch)));
  return train::ScheduleOptions(optimizer_options(cfg).lr(), total)
      .warmup_steps(warmup)
      .min_lr_ratio(cfg.optim.min_lr_ratio);
}

ResolvedRun resolve(const config::RunConfig& cfg, int64_t rank, int64_t world_size) {
  ResolvedRun r;
  r.config = cfg;
  const auto& info = methods::method_info(cfg.method);
  r.method = info.kind;
  r.modality = info.modality;
  r.dataset = data::dataset_kind_from_string(cfg.data.dataset);
  r.eval_split = data::eval_split_from_string(cfg.eval.split);
  r.device = device_from_string(cfg.device);
  r.rank = rank;
  r.world_size = world_size;
  CONTRA_CHECK(world_size == 1 || info.distributed, "several processes (WORLD_SIZE=", world_size,
               ") are not supported by method ", cfg.method);
  r.global_batch = cfg.train.batch_size;
  CONTRA_CHECK(r.global_batch % world_size == 0, "train.batch_size (", r.global_batch,
               ") is the global batch and must be a multiple of the number of processes (",
               world_size, ")");
  r.rank_batch = r.global_batch / world_size;
  r.optimizer = optimizer_options(cfg);
  r.nonfinite = train::nonfinite_policy_from_string(cfg.train.nonfinite);
  r.grad_cache = cfg.train.grad_cache;
  r.parallel_views = cfg.model.parallel_views;
  return r;
}

train::ScheduleOptions ResolvedRun::schedule(int64_t batches_per_epoch) const {
  return schedule_options(config, batches_per_epoch);
}

}  // namespace contra::run
