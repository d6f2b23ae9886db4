#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "contra/augment/pipeline.h"
#include "contra/augment/text.h"
#include "contra/config/run_config.h"
#include "contra/data/kinds.h"
#include "contra/data/manifest.h"
#include "contra/data/tokenizer.h"
#include "contra/methods/method.h"
#include "contra/methods/registry.h"
#include "contra/methods/clip.h"
#include "contra/methods/simclr.h"
#include "contra/methods/simcse.h"
#include "contra/negatives/adaptive.h"
#include "contra/train/optimizer.h"
#include "contra/train/schedule.h"
#include "contra/train/trainer.h"

namespace contra::run {

/// A run's configuration resolved once, at its start: every closed choice as an enum, the
/// device, the batch as the job and as this process see it, the scaled learning rate and the
/// other derived values. The run layer reads this, never the config's strings.
struct ResolvedRun {
  config::RunConfig config;  ///< as given (written to config.yaml; typed component options read it)
  methods::MethodKind method = methods::MethodKind::kSimCLR;
  methods::Modality modality = methods::Modality::kImage;
  data::DatasetKind dataset = data::DatasetKind::kFashionMNIST;
  data::EvalSplit eval_split = data::EvalSplit::kTest;
  c10::Device device = c10::Device(c10::kCPU);
  int64_t rank = 0, world_size = 1;
  /// train.batch_size is the job's batch; each process makes batch / world_size rows of it.
  int64_t global_batch = 0, rank_batch = 0;
  /// The optimizer with its learning rate scaled to the global batch (optim.lr_scaling).
  train::OptimizerOptions optimizer = train::OptimizerOptions(train::OptimizerKind::kSGD);
  train::NonFinitePolicy nonfinite = train::NonFinitePolicy::kStop;
  bool grad_cache = false;  ///< the gradient cache trainer strategy
  bool parallel_views = false;  ///< the two views at once on two threads (model.parallel_views)
  bool lead() const { return rank == 0; }
  /// total steps = max_steps if set, else ceil(epochs x batches_per_epoch); warm-up in steps.
  train::ScheduleOptions schedule(int64_t batches_per_epoch) const;
};

/// Resolves `cfg` for process `rank` of `world_size`. Throws contra::Error for what only the
/// pairing with the job can show (a batch that does not split over the processes, a method
/// that cannot run on several, an unavailable device).
ResolvedRun resolve(const config::RunConfig& cfg, int64_t rank = 0, int64_t world_size = 1);

/// Typed component options from the config: the one place where names become enums.
augment::PipelineOptions pipeline_options(const config::RunConfig& cfg);
methods::SimCLROptions simclr_options(const config::RunConfig& cfg, int64_t in_channels);
/// The configured image method (simclr | moco) for images of `in_channels` channels, with the
/// adaptive-hardness controller when loss.adaptive is set.
std::shared_ptr<methods::TwoViewMethod> make_method(const config::RunConfig& cfg, int64_t in_channels);
/// The adaptive-hardness controller's options (loss.adaptive_*).
negatives::AdaptiveHardnessOptions adaptive_options(const config::RunConfig& cfg);
/// Text runs: the encoder for a vocabulary of `vocab_size` pieces, the method, the view ops and
/// the tokenizer trained when text.tokenizer_model is empty.
models::TextTransformerOptions text_encoder_options(const config::RunConfig& cfg, int64_t vocab_size);
methods::SimCSEOptions simcse_options(const config::RunConfig& cfg, int64_t vocab_size);
augment::TextAugmentOptions text_augment_options(const config::RunConfig& cfg);
/// Image-text runs (method clip): the image tower for `in_channels` channels and the text tower
/// for `vocab_size` pieces, the projections, the learned scale and the loss; and how an
/// image_text_manifest is read.
methods::CLIPOptions clip_options(const config::RunConfig& cfg, int64_t in_channels, int64_t vocab_size);
data::ManifestOptions manifest_options(const config::RunConfig& cfg);
data::TokenizerTrainOptions tokenizer_options(const config::RunConfig& cfg);
train::OptimizerOptions optimizer_options(const config::RunConfig& cfg);
/// total steps = max_steps if set, else ceil(epochs x batches_per_epoch).
train::ScheduleOptions schedule_options(const config::RunConfig& cfg, int64_t batches_per_epoch);

}  // namespace contra::run
