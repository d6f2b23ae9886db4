// The run engine in process (no CLI): one path for images and text, its run folder, and the
// gradient cache as a step strategy that changes nothing but memory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "../support/process.h"
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/run/engine.h"
#include "contra/run/experiment.h"
#include "contra/train/checkpoint.h"

using namespace contra;
using namespace contra::test_support;
namespace fs = std::filesystem;

namespace {

config::RunConfig image_cfg(std::vector<std::string> sets) {
  std::vector<std::string> base = {"data.limit=256", "train.batch_size=32", "train.max_steps=3",
                                   "model.widths=[4,8]", "model.head_hidden=32", "model.head_dim=16",
                                   "eval.enabled=false", "report.enabled=false", "train.log_every=1", "threads=1",
                                   // pinned (runs are compared); the Autotune tests set auto
                                   "model.channels_last=true", "model.encode_chunk=64"};
  base.insert(base.end(), sets.begin(), sets.end());
  return config::load(std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml", base);
}

std::vector<nlohmann::json> metrics(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::vector<torch::Tensor> parameters_of(const std::string& dir) {
  auto method = run::method_for_run(dir);
  train::load_checkpoint(dir + "/checkpoint.pt", *method, nullptr);
  std::vector<torch::Tensor> out;
  for (const auto& p : method->parameters()) out.push_back(p.clone());
  return out;
}

}  // namespace

TEST(Engine, ImageRunWritesItsFolder) {
  auto dir = temp_dir("engine_image");
  auto r = run::train_and_evaluate(image_cfg({"loss.name=hard_negative", "loss.adaptive=true"}), dir);
  EXPECT_EQ(r.train.steps, 3);
  EXPECT_FALSE(r.eval.done);
  const auto lines = metrics(dir);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2]["step"], 3);
  EXPECT_TRUE(lines[0].contains("hard_beta"));  // the method's own column
  auto summary = nlohmann::json::parse(slurp(dir + "/summary.json"));
  EXPECT_EQ(summary["method"], "simclr");
  EXPECT_EQ(summary["train_images"], 256);
  EXPECT_GT(summary["parameters"].get<int64_t>(), 0);
  EXPECT_TRUE(fs::exists(dir + "/checkpoint-3.pt"));
  EXPECT_TRUE(fs::exists(dir + "/config.yaml"));
}

TEST(Engine, TextRunTakesTheSamePath) {
  if (!fs::exists("/usr/share/wordnet/data.noun")) GTEST_SKIP() << "WordNet is not installed";
  auto dir = temp_dir("engine_text");
  auto cfg = config::load(std::string(CONTRA_SOURCE_DIR) + "/configs/simcse_wordnet.yaml",
                          {"data.limit=512", "text.vocab_size=300", "train.batch_size=16",
                           "train.max_steps=2", "train.log_every=1", "eval.enabled=false",
                           "report.enabled=false"});
  auto r = run::train_and_evaluate(cfg, dir);
  EXPECT_EQ(r.train.steps, 2);
  EXPECT_EQ(metrics(dir).size(), 2u);
  auto summary = nlohmann::json::parse(slurp(dir + "/summary.json"));
  EXPECT_EQ(summary["method"], "simcse");
  EXPECT_EQ(summary["train_examples"], 512);
  EXPECT_EQ(summary["vocab_size"], 300);
  EXPECT_TRUE(fs::exists(dir + "/tokenizer.model"));
  EXPECT_EQ(parameters_of(dir).size(), run::method_for_run(dir)->parameters().size());
}

TEST(Engine, GradientCacheIsAStepStrategyWithTheSameResult) {
  // Ghost batch norm in chunks of 8 either way: the cache changes memory, not the gradients.
  auto plain = temp_dir("engine_plain"), cached = temp_dir("engine_cached");
  run::train_and_evaluate(image_cfg({"model.encode_chunk=8"}), plain);
  run::train_and_evaluate(image_cfg({"model.encode_chunk=8", "train.grad_cache=true"}), cached);
  const auto a = metrics(plain), b = metrics(cached);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-5) << "step " << i + 1;
  const auto x = parameters_of(plain), y = parameters_of(cached);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_TRUE(torch::allclose(x[i], y[i], 1e-4, 1e-5)) << i;
}

TEST(Engine, ParallelViewsIsAStepStrategyWithTheSameResult) {
  // threads=1: the two workers run the same one-thread kernels as the plain step. Loss and
  // batch-norm statistics match to the bit on the first step; later steps follow parameters whose
  // gradients were summed in another order (per view first), so they match closely.
  auto plain = temp_dir("engine_views_plain"), parallel = temp_dir("engine_views_parallel");
  run::train_and_evaluate(image_cfg({"model.encode_chunk=8"}), plain);
  run::train_and_evaluate(image_cfg({"model.encode_chunk=8", "model.parallel_views=true"}), parallel);
  const auto a = metrics(plain), b = metrics(parallel);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a[0]["loss"].get<double>(), b[0]["loss"].get<double>());
  for (size_t i = 1; i < a.size(); ++i)
    EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-5) << "step " << i + 1;
  const auto x = parameters_of(plain), y = parameters_of(parallel);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_TRUE(torch::allclose(x[i], y[i], 1e-4, 1e-5)) << i;
}

TEST(Engine, ABadConfigPairingIsRefusedBeforeTraining) {
  auto dir = temp_dir("engine_bad");
  // The gradient cache needs a method whose step splits: MoCo's does not.
  try {
    run::train_and_evaluate(image_cfg({"method=moco", "model.encode_chunk=8", "moco.queue_size=256",
                                       "train.grad_cache=true"}),
                            dir);
    ADD_FAILURE() << "no error";
  } catch (const contra::Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.grad_cache=true supports method simclr"), std::string::npos)
        << e.what();
  }
}

TEST(Engine, OnlineMonitorChangesNothingInTraining) {
  // The monitor embeds a fixed sample of training images in eval mode at steps 2 and 4 (log
  // lines every step): the same parameters and batch-norm statistics as without it, to the bit.
  auto off = temp_dir("engine_monitor_off"), on = temp_dir("engine_monitor_on");
  run::train_and_evaluate(image_cfg({"train.max_steps=4", "eval.monitor_every=0"}), off);
  run::train_and_evaluate(image_cfg({"train.max_steps=4", "eval.monitor_every=2"}), on);
  const auto lines_off = metrics(off), lines_on = metrics(on);
  ASSERT_EQ(lines_on.size(), 4u);
  for (size_t i = 0; i < lines_on.size(); ++i) {
    EXPECT_FALSE(lines_off[i].contains("monitor_knn_acc"));
    EXPECT_EQ(lines_on[i].contains("monitor_knn_acc"), i == 1 || i == 3) << "step " << i + 1;
    EXPECT_EQ(lines_on[i]["loss"].get<double>(), lines_off[i]["loss"].get<double>()) << "step " << i + 1;
  }
  const double acc = lines_on[3]["monitor_knn_acc"].get<double>();
  EXPECT_GE(acc, 0.0);
  EXPECT_LE(acc, 1.0);
  auto state_of = [](const std::string& dir) {
    auto method = run::method_for_run(dir);
    train::load_checkpoint(dir + "/checkpoint.pt", *method, nullptr);
    std::vector<torch::Tensor> out;
    for (const auto& p : method->parameters()) out.push_back(p.clone());
    for (const auto& b : method->buffers()) out.push_back(b.clone());
    return out;
  };
  const auto x = state_of(off), y = state_of(on);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_TRUE(torch::equal(x[i], y[i])) << i;
}
