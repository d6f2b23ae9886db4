#include "contra/run/encoder.h"

#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/config/component_keys.h"
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/data/image_folder.h"
#include "contra/run/checkpoints.h"
#include "contra/run/run_dir.h"
#include "contra/run/task.h"

namespace contra {

struct Encoder::Impl {
  run::ResolvedRun run;
  std::unique_ptr<run::Task> task;
  std::shared_ptr<methods::Method> method;
  EncoderOptions options;
  std::string dir;
  int64_t step = 0, dim = 0, text_dim = 0, batch = 0;

  /// Inputs [i, j) of n items, batch by batch, through the encoder or the head.
  at::Tensor embed(int64_t n, const std::function<data::Batch(int64_t, int64_t)>& inputs) {
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> parts;
    for (int64_t i = 0; i < n; i += batch) {
      const data::Batch b = inputs(i, std::min(n, i + batch)).to(run.device);
      parts.push_back((options.head() ? method->head_embeddings(b) : method->features(b)).to(torch::kCPU, torch::kFloat));
    }
    if (parts.empty()) return torch::empty({0, dim});
    return torch::cat(parts);
  }
};

Encoder Encoder::load(const std::string& run_dir, const EncoderOptions& options) {
  CONTRA_CHECK(options.batch_size() >= 0, "batch size must be >= 0, got ", options.batch_size());
  const run::RunDir dir = run::RunDir::open(run_dir);
  const std::string checkpoint = dir.file("checkpoint.pt");
  CONTRA_CHECK(std::filesystem::exists(checkpoint), run_dir,
               ": no checkpoint (checkpoint.pt); the run has not finished a step yet, or this is "
               "not a run folder");
  auto cfg = config::load(dir.file("config.yaml"));
  cfg.device = options.device();
  if (options.threads() > 0) cfg.threads = options.threads();
  auto impl = std::make_shared<Impl>();
  impl->run = run::resolve(cfg);
  impl->options = options;
  impl->dir = std::filesystem::absolute(run_dir).lexically_normal().string();
  impl->batch = options.batch_size() > 0 ? options.batch_size() : cfg.eval.batch_size;
  set_threads(int(cfg.threads));
  config::with_config_keys([&] {
    impl->task = run::make_task(impl->run);
    impl->task->open(dir.path());
    torch::manual_seed(cfg.seed);
    impl->method = impl->task->make_method();
  });
  impl->step = run::Checkpoints(dir.path(), cfg.train.keep_checkpoints).load_latest(*impl->method, nullptr).step;
  impl->method->to(impl->run.device);
  impl->method->eval();
  Encoder e;
  e.impl_ = impl;
  // The embedding size, from one item (image-text runs: the image tower's; the text tower's is
  // the same in the shared space, the head output).
  impl->dim = e.takes_images()
                  ? e.embed_images(torch::zeros({1, e.image_channels(), e.image_size(), e.image_size()}, torch::kUInt8)).size(1)
                  : e.embed_texts({"a"}).size(1);
  impl->text_dim = e.takes_text() ? e.embed_texts({"a"}).size(1) : 0;
  return e;
}

bool Encoder::takes_images() const { return impl_->run.modality != methods::Modality::kText; }
bool Encoder::takes_text() const { return impl_->run.modality != methods::Modality::kImage; }
bool Encoder::shared_space() const {
  return impl_->run.modality == methods::Modality::kImageText && impl_->options.head();
}
int64_t Encoder::image_channels() const { return impl_->task->image_shape().first; }
int64_t Encoder::image_size() const { return impl_->task->image_shape().second; }
int64_t Encoder::dim() const { return impl_->dim; }
int64_t Encoder::text_dim() const { return impl_->text_dim; }

at::Tensor Encoder::embed_images(const at::Tensor& images) const {
  CONTRA_CHECK(takes_images(), "the run in ", impl_->dir, " embeds text, not images");
  CONTRA_CHECK(images.scalar_type() == torch::kUInt8, "images must be uint8 [N, C, S, S], got ",
               images.scalar_type());
  const auto& task = *impl_->task;
  return impl_->embed(images.size(0), [&](int64_t i, int64_t j) {
    return task.eval_inputs(images.slice(0, i, j), {});
  });
}

at::Tensor Encoder::embed_texts(const std::vector<std::string>& texts) const {
  CONTRA_CHECK(takes_text(), "the run in ", impl_->dir, " embeds images, not text");
  const auto& task = *impl_->task;
  return impl_->embed(int64_t(texts.size()), [&](int64_t i, int64_t j) {
    return task.eval_inputs({}, std::vector<std::string>(texts.begin() + i, texts.begin() + j));
  });
}

at::Tensor Encoder::read_images(const std::vector<std::string>& paths) const {
  CONTRA_CHECK(takes_images(), "the run in ", impl_->dir, " embeds text, not images");
  return data::load_images(paths, image_channels(), image_size());
}

const config::RunConfig& Encoder::config() const { return impl_->run.config; }

nlohmann::json Encoder::describe() const {
  const auto& c = impl_->run.config;
  nlohmann::json j = {{"run", impl_->dir},
                      {"method", c.method},
                      {"modality", takes_images() ? (takes_text() ? "image_text" : "image") : "text"},
                      {"output", impl_->options.head() ? "head" : "encoder"},
                      {"dim", impl_->dim},
                      {"checkpoint_step", impl_->step}};
  if (takes_images()) {
    j["encoder"] = c.model.encoder;
    if (takes_text()) j["max_len"] = c.text.max_len;
    j["preprocessing"] = {{"channels", image_channels()},
                          {"size", image_size()},
                          {"mean", c.augment.mean},
                          {"std", c.augment.std},
                          {"resize", "shorter side to size, centre crop (image files)"}};
  } else {
    j["preprocessing"] = {{"max_len", c.text.max_len}};
  }
  return j;
}

}  // namespace contra
