#pragma once
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "contra/augment/pipeline.h"
#include "contra/augment/text.h"
#include "contra/data/tokenizer.h"
#include "contra/methods/simcse.h"
#include "contra/config/run_config.h"
#include "contra/negatives/adaptive.h"
#include "contra/methods/method.h"
#include "contra/methods/simclr.h"
#include "contra/train/optimizer.h"
#include "contra/train/schedule.h"

namespace contra::run {

/// The one place where config names become typed component options and derived values
/// (scaled learning rate, step counts) are computed.
augment::PipelineOptions pipeline_options(const config::RunConfig& cfg);
methods::SimCLROptions simclr_options(const config::RunConfig& cfg, int64_t in_channels);
/// The configured method (simclr | moco) for images of `in_channels` channels.
std::shared_ptr<methods::TwoViewMethod> make_method(const config::RunConfig& cfg, int64_t in_channels);
/// The adaptive-hardness controller's options (loss.adaptive_*).
negatives::AdaptiveHardnessOptions adaptive_options(const config::RunConfig& cfg);
/// Text runs: the encoder for a vocabulary of `vocab_size` pieces, the method, the view ops and
/// the tokenizer trained when text.tokenizer_model is empty.
models::TextTransformerOptions text_encoder_options(const config::RunConfig& cfg, int64_t vocab_size);
methods::SimCSEOptions simcse_options(const config::RunConfig& cfg, int64_t vocab_size);
augment::TextAugmentOptions text_augment_options(const config::RunConfig& cfg);
data::TokenizerTrainOptions tokenizer_options(const config::RunConfig& cfg);
/// True for the text methods (simcse, simcse_supervised).
bool is_text_method(const std::string& method);
train::OptimizerOptions optimizer_options(const config::RunConfig& cfg);
/// total steps = max_steps if set, else ceil(epochs x batches_per_epoch).
train::ScheduleOptions schedule_options(const config::RunConfig& cfg, int64_t batches_per_epoch);
/// "cpu" or "cuda" (checked to be available).
c10::Device resolve_device(const std::string& name);

}  // namespace contra::run
