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
  // Geometry and few-shot accuracy: present and in range for the trained encoder and both
  // baselines (alignment in [0, 4], uniformity in [-8, 0] at t = 2, few-shot above 5-way chance).
  for (const auto* where : {&summary, &summary["untrained"], &summary["raw_pixels"]}) {
    const auto& s = *where;
    for (const char* key : {"alignment", "uniformity", "effective_rank", "feature_std", "feature_std_reference",
                            "fewshot_5way_1shot", "fewshot_5way_5shot", "fewshot_5way_1shot_ci95",
                            "fewshot_5way_5shot_ci95"})
      ASSERT_TRUE(s.contains(key) && s[key].is_number()) << key << "\n" << s.dump(2);
    EXPECT_GE(s["alignment"].get<double>(), 0.0);
    EXPECT_LE(s["alignment"].get<double>(), 4.0);
    EXPECT_GE(s["uniformity"].get<double>(), -8.0);
    EXPECT_LE(s["uniformity"].get<double>(), 0.0);
    EXPECT_GE(s["effective_rank"].get<double>(), 1.0);
    EXPECT_GT(s["feature_std"].get<double>(), 0.0);
    EXPECT_LE(s["feature_std"].get<double>(), 1.0);
    for (const char* key : {"fewshot_5way_1shot", "fewshot_5way_5shot"}) {
      EXPECT_GT(s[key].get<double>(), 0.2) << key;
      EXPECT_LE(s[key].get<double>(), 1.0) << key;
    }
    for (const char* key : {"fewshot_5way_1shot_ci95", "fewshot_5way_5shot_ci95"}) {
      EXPECT_GT(s[key].get<double>(), 0.0) << key;
      EXPECT_LT(s[key].get<double>(), 0.05) << key;
    }
  }
  std::printf("[ GEOMETRY ] alignment %.4f uniformity %.4f effective_rank %.1f feature_std %.4f (ref %.4f) "
              "fewshot 1-shot %.4f +- %.4f 5-shot %.4f +- %.4f; geometry_s %.2f of eval_s %.2f\n",
              summary["alignment"].get<double>(), summary["uniformity"].get<double>(),
              summary["effective_rank"].get<double>(), summary["feature_std"].get<double>(),
              summary["feature_std_reference"].get<double>(), summary["fewshot_5way_1shot"].get<double>(),
              summary["fewshot_5way_1shot_ci95"].get<double>(), summary["fewshot_5way_5shot"].get<double>(),
              summary["fewshot_5way_5shot_ci95"].get<double>(), summary["geometry_s"].get<double>(),
              summary["eval_s"].get<double>());
  EXPECT_GT(summary["fewshot_5way_5shot"].get<double>(), summary["fewshot_5way_1shot"].get<double>());
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
               " --set eval.monitor_every=50 --set report.map_points=500 --set threads=2 --out " + dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("run folder: " + dir), std::string::npos) << r.output;
  for (const char* f : {"config.yaml", "metrics.jsonl", "summary.json", "checkpoint.pt", "report.html"})
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
  // The online kNN monitor: on the lines of steps 50, 100, 150 (every 50 steps), in [0, 1].
  for (const auto& line : lines) {
    const bool monitored = line["step"].get<int64_t>() % 50 == 0;
    ASSERT_EQ(line.contains("monitor_knn_acc"), monitored) << line.dump();
    if (!monitored) continue;
    std::printf("[ MONITOR  ] step %lld monitor_knn_acc %.4f\n", (long long)line["step"].get<int64_t>(),
                line["monitor_knn_acc"].get<double>());
    EXPECT_GT(line["monitor_knn_acc"].get<double>(), 0.1);
    EXPECT_LE(line["monitor_knn_acc"].get<double>(), 1.0);
  }

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
               " --set train.log_every=10 --set eval.linear=false --set report.enabled=false --set threads=2"
               " --out " + dir);
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
                 " --set model.widths=[8,16] --set model.encode_chunk=32 --set eval.enabled=false --set report.enabled=false"
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
