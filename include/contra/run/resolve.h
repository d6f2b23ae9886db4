#pragma once
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "contra/augment/pipeline.h"
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
train::OptimizerOptions optimizer_options(const config::RunConfig& cfg);
/// total steps = max_steps if set, else ceil(epochs x batches_per_epoch).
train::ScheduleOptions schedule_options(const config::RunConfig& cfg, int64_t batches_per_epoch);
/// "cpu" or "cuda" (checked to be available).
c10::Device resolve_device(const std::string& name);

}  // namespace contra::run
