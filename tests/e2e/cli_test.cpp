// The command-line tool end to end: bad input gets one clear message and exit code 2; a short
// real run on Fashion-MNIST writes a complete run folder and learns.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../support/process.h"

namespace fs = std::filesystem;

namespace {
using Result = contra::test_support::CliResult;
using contra::test_support::run_cli;
using contra::test_support::temp_dir;
/// Training learned: the trained encoder's kNN accuracy beats the same encoder untrained (the
/// same initialisation), both measured by the run on the same test images (eval.baselines).
/// Raw pixels are printed beside them: a short run does not beat them yet (see README).
void expect_learned(const nlohmann::json& summary) {
  const double trained = summary["knn_acc"].get<double>();
  const double untrained = summary["untrained"]["knn_acc"].get<double>();
  std::printf("[ LEARNED  ] knn_acc trained %.4f, untrained %.4f, raw pixels %.4f\n", trained,
              untrained, summary["raw_pixels"]["knn_acc"].get<double>());
  EXPECT_GT(trained, untrained + 0.03) << summary.dump(2);
  // Retrieval by class among the test images, beside kNN: present, in range, and better too.
  for (const char* key : {"retrieval_recall_at_1", "retrieval_recall_at_5", "retrieval_recall_at_10",
                          "retrieval_map_at_r"}) {
    ASSERT_TRUE(summary.contains(key)) << key;
    EXPECT_GE(summary[key].get<double>(), 0.0);
    EXPECT_LE(summary[key].get<double>(), 1.0);
  }
  EXPECT_LE(summary["retrieval_recall_at_1"].get<double>(), summary["retrieval_recall_at_10"].get<double>());
  EXPECT_GT(summary["retrieval_map_at_r"].get<double>(),
            summary["untrained"]["retrieval_map_at_r"].get<double>()) << summary.dump(2);
}
std::string fashion_config() { return std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml"; }
}  // namespace

TEST(Cli, BadInputGetsOneClearMessageAndExit2) {
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"train /no/such.yaml", "error: cannot read config file '/no/such.yaml'"},
      {"train " + fashion_config() + " --set train.batchsize=8", "did you mean 'train.batch_size'?"},
      {"train " + fashion_config() + " --set loss.temperature=0", "loss.temperature must be > 0, got 0"},
      {"train " + fashion_config() + " --set train.batch_size=1", "train.batch_size must be >= 2, got 1"},
      {"train " + fashion_config() + " --set augment.crop_scale_min=1.5", "augment.crop_scale_min must be in (0, 1], got 1.5"},
      {"train " + fashion_config() + " --set train.epochs=-2", "train.epochs must be >= 0, got -2"},
      {"train " + fashion_config() + " --set train.epochs=two", "train.epochs: expected a number, got 'two'"},
      {"train " + fashion_config() + " --set data.path=/nonexistent --out " + temp_dir("bad_data"), "/nonexistent"},
      {"eval --run /nonexistent/run", "run folder '/nonexistent/run' does not exist"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(r.output.find("Exception raised from"), std::string::npos) << r.output;
  }
}

TEST(Cli, UnknownSubcommandOrMissingArgumentFails) {
  EXPECT_NE(run_cli("").code, 0);
  EXPECT_NE(run_cli("train").code, 0);
  EXPECT_NE(run_cli("fly").code, 0);
}

TEST(Cli, DoctorReportsOpenBlasAndThreads) {
  auto r = run_cli("doctor --threads 2");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("threads    2 intra-op"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("openblas"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("GFLOP/s"), std::string::npos) << r.output;
}

// A few hundred steps on 4,000 real images: the loss must fall and kNN accuracy (on the
// 10,000 test images, bank = the 4,000 training images) must be far above chance (0.1).
TEST(Cli, ShortRealRunLearnsAndWritesRunFolder) {
  auto dir = temp_dir("e2e_run");
  auto r = run_cli("train " + fashion_config() +
               " --set data.limit=4000 --set train.batch_size=128 --set train.epochs=6"
               " --set model.widths=[16,32,64] --set train.log_every=5 --set eval.linear=false"
               " --set threads=2 --out " + dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("run folder: " + dir), std::string::npos) << r.output;
  for (const char* f : {"config.yaml", "metrics.jsonl", "summary.json", "checkpoint.pt"})
    EXPECT_TRUE(fs::exists(fs::path(dir) / f)) << f;

  std::ifstream metrics(fs::path(dir) / "metrics.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(metrics, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_GE(lines.size(), 6u);
  for (const char* key : {"step", "epoch", "loss", "lr", "pairs_per_s"})
    EXPECT_TRUE(lines.front().contains(key)) << key;
  auto mean_loss = [&](size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += lines[i]["loss"].get<double>();
    return s / double(to - from);
  };
  EXPECT_LT(mean_loss(lines.size() - 3, lines.size()), mean_loss(0, 3) - 0.3);

  std::ifstream sf(fs::path(dir) / "summary.json");
  auto summary = nlohmann::json::parse(sf);
  for (const char* key : {"method", "steps", "wall_s", "pairs_per_s", "knn_acc", "linear_acc"})
    EXPECT_TRUE(summary.contains(key)) << key;
  EXPECT_EQ(summary["method"], "simclr");
  EXPECT_EQ(summary["steps"], 6 * (4000 / 128));
  expect_learned(summary);

  // The run folder is never silently overwritten.
  auto again = run_cli("train " + fashion_config() + " --set data.limit=300 --out " + dir);
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.output.find("already exists and is not empty"), std::string::npos) << again.output;

  // contra eval re-evaluates from the folder and gives the same kNN accuracy.
  auto ev = run_cli("eval --run " + dir);
  ASSERT_EQ(ev.code, 0) << ev.output;
  char expect[32];
  std::snprintf(expect, sizeof expect, "knn_acc %.4f", summary["knn_acc"].get<double>());
  EXPECT_NE(ev.output.find(expect), std::string::npos) << ev.output;
}

// MoCo through the CLI: learns on real data with a small batch, logs its momentum and queue,
// and its checkpoint (key encoder and queue included) reloads for evaluation.
TEST(Cli, ShortMoCoRunLearnsAndReloads) {
  auto dir = temp_dir("e2e_moco");
  auto r = run_cli("train " + std::string(CONTRA_SOURCE_DIR) + "/configs/moco_fashion_mnist.yaml" +
               " --set data.limit=2000 --set train.batch_size=32 --set model.encode_chunk=16"
               " --set train.epochs=4 --set moco.queue_size=512 --set model.widths=[16,32,64]"
               " --set train.log_every=10 --set eval.linear=false --set threads=2 --out " + dir);
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream metrics(fs::path(dir) / "metrics.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(metrics, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_GE(lines.size(), 6u);
  EXPECT_DOUBLE_EQ(lines.front()["momentum"].get<double>(), 0.99);
  EXPECT_EQ(lines.back()["queue_filled"].get<double>(), 512.0);
  std::ifstream sf(fs::path(dir) / "summary.json");
  auto summary = nlohmann::json::parse(sf);
  EXPECT_EQ(summary["method"], "moco");
  expect_learned(summary);
  auto ev = run_cli("eval --run " + dir);
  ASSERT_EQ(ev.code, 0) << ev.output;
  char expect[32];
  std::snprintf(expect, sizeof expect, "knn_acc %.4f", summary["knn_acc"].get<double>());
  EXPECT_NE(ev.output.find(expect), std::string::npos) << ev.output;
}

// train.grad_cache=true trains through the gradient cache; its gradients equal the direct
// step's, so a few steps from the same seed end at nearly the same loss (float32 rounding).
TEST(Cli, GradCacheTrainingMatchesDirect) {
  auto final_loss = [](const std::string& dir, bool cache) {
    auto r = run_cli("train " + fashion_config() +
                 " --set data.limit=600 --set train.batch_size=96 --set train.max_steps=3"
                 " --set model.widths=[8,16] --set model.encode_chunk=32 --set eval.enabled=false"
                 " --set threads=2 --set loss.tiled=on --set loss.tile_size=64"
                 " --set train.grad_cache=" + std::string(cache ? "true" : "false") + " --out " + dir);
    EXPECT_EQ(r.code, 0) << r.output;
    std::ifstream sf(fs::path(dir) / "summary.json");
    auto summary = nlohmann::json::parse(sf);
    EXPECT_EQ(summary["steps"], 3);
    return summary["final_loss"].get<double>();
  };
  const double cached = final_loss(temp_dir("e2e_grad_cache"), true);
  const double direct = final_loss(temp_dir("e2e_direct"), false);
  EXPECT_TRUE(std::isfinite(cached));
  EXPECT_NEAR(cached, direct, 1e-3 * std::abs(direct));

  auto bad = run_cli("train " + fashion_config() + " --set train.grad_cache=true --set model.encode_chunk=0");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.output.find("train.grad_cache=true needs model.encode_chunk > 0"), std::string::npos)
      << bad.output;
}
