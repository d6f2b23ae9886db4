// `contra train` as two processes on loopback (the environment torchrun sets) against one
// process with the whole batch: the same losses, the same first update (gradients) and the same
// parameters after several steps, for SimCLR with global negatives, MoCo, SimCSE and CLIP. And a
// job whose rank 1 is killed: rank 0 stops within the timeout, names rank 1, and its checkpoint
// loads.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "../support/fashion_manifest.h"
#include "../support/process.h"
#include "contra/config/load.h"
#include "contra/dist/group.h"
#include "contra/run/checkpoints.h"
#include "contra/run/engine.h"
#include "contra/run/resolve.h"
#include "contra/train/checkpoint.h"

using namespace contra;
using namespace contra::test_support;
namespace fs = std::filesystem;

namespace {

constexpr int kSteps = 4;

std::vector<std::string> args(const std::string& out, bool moco, int steps = kSteps,
                              const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a = {
      CONTRA_CLI_PATH, "train",
      std::string(CONTRA_SOURCE_DIR) + (moco ? "/configs/moco_fashion_mnist.yaml" : "/configs/fashion_mnist.yaml"),
      "--set", "data.limit=512", "--set", "train.batch_size=32",
      "--set", "train.max_steps=" + std::to_string(steps), "--set", "model.widths=[8,16]",
      // Ghost batch norm in chunks of 8: each rank's 16 samples are two of the single process's
      // chunks, so batch-norm statistics agree.
      "--set", "model.encode_chunk=8", "--set", "model.channels_last=true", "--set", "train.checkpoint_every=1",
      "--set", "train.keep_checkpoints=1000", "--set", "train.log_every=1",
      "--set", "eval.enabled=false", "--set", "report.enabled=false",
      "--set", "threads=1", "--set", "dist.timeout_s=20",
      "--out", out};
  if (moco) a.insert(a.end() - 2, {"--set", "moco.queue_size=128"});
  for (const auto& e : extra) a.insert(a.end() - 2, {"--set", e});
  return a;
}

/// Unsupervised SimCSE on WordNet: no dropout (its masks depend on the rows a process holds), so
/// the views come from seeded word deletion and swaps, which the loader draws per row.
std::vector<std::string> text_args(const std::string& out) {
  return {CONTRA_CLI_PATH, "train", std::string(CONTRA_SOURCE_DIR) + "/configs/simcse_wordnet.yaml",
          "--set", "data.limit=1024", "--set", "text.vocab_size=300", "--set", "train.batch_size=32",
          "--set", "train.max_steps=" + std::to_string(kSteps), "--set", "text_model.dropout=0",
          "--set", "text.augment=[delete, swap]", "--set", "optim.name=sgd", "--set", "optim.lr=0.5",
          "--set", "train.checkpoint_every=1", "--set", "train.keep_checkpoints=1000",
          "--set", "train.log_every=1", "--set", "eval.enabled=false", "--set", "report.enabled=false",
          "--set", "threads=1",
          "--set", "dist.timeout_s=60", "--out", out};
}

/// Method clip on a manifest of 256 Fashion-MNIST images: chunks of 8 images per encoder pass
/// (each rank's 16 are two of the single process's chunks), no dropout in the text tower; SGD
/// (Adam's first step, lr x sign(gradient), would magnify float noise in near-zero gradients).
std::vector<std::string> clip_dist_args(const std::string& out) {
  static const std::string manifest = write_fashion_manifest(temp_dir("dist_clip_manifest"), 256);
  return {CONTRA_CLI_PATH, "train", std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml",
          "--set", "method=clip", "--set", "loss.name=clip", "--set", "data.dataset=image_text_manifest",
          "--set", "data.path=" + manifest, "--set", "data.label_column=label", "--set", "data.channels=1",
          "--set", "data.image_size=28", "--set", "model.widths=[8,16]", "--set", "model.encode_chunk=8", "--set", "model.channels_last=true",
          "--set", "model.head_layers=1", "--set", "model.head_dim=16", "--set", "text.vocab_size=60",
          "--set", "text_model.width=32", "--set", "text_model.heads=2", "--set", "text_model.layers=1",
          "--set", "text_model.ffn=64", "--set", "text_model.dropout=0", "--set", "optim.name=sgd",
          "--set", "optim.lr=0.5", "--set", "train.batch_size=32",
          "--set", "train.max_steps=" + std::to_string(kSteps), "--set", "train.checkpoint_every=1",
          "--set", "train.keep_checkpoints=1000", "--set", "train.log_every=1", "--set", "eval.enabled=false",
          "--set", "threads=1", "--set", "dist.timeout_s=60", "--out", out};
}

std::vector<std::string> rank_env(int rank, int port) {
  return {"RANK=" + std::to_string(rank), "LOCAL_RANK=" + std::to_string(rank), "WORLD_SIZE=2",
          "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port)};
}

/// Runs the job on two processes; both must exit 0.
void run_two(const std::vector<std::string>& a, const std::string& out) {
  const int port = free_port();
  pid_t r0 = spawn(a, out + ".rank0.log", rank_env(0, port));
  pid_t r1 = spawn(a, out + ".rank1.log", rank_env(1, port));
  EXPECT_EQ(wait_exit(r0), 0) << slurp(out + ".rank0.log");
  EXPECT_EQ(wait_exit(r1), 0) << slurp(out + ".rank1.log");
}

std::vector<double> losses(const std::string& dir) {
  std::vector<double> out;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["loss"]);
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> state_at(const std::string& dir, int step,
                                                             bool bn_stats) {
  auto model = run::method_for_run(dir);
  train::load_checkpoint(dir + "/checkpoint-" + std::to_string(step) + ".pt", *model, nullptr);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model->named_parameters()) out.emplace_back(p.key(), p.value().clone());
  // Buffers too (MoCo's queue of keys), except batch-norm running statistics: one process
  // updates them over all 2 x 4 chunks of a step in sequence, each rank over its own 2 x 2, and
  // the ranks' means are saved: close, not equal, and used only by evaluation.
  for (const auto& b : model->named_buffers())
    if (b.value().is_floating_point() && (bn_stats || b.key().find("running_") == std::string::npos))
      out.emplace_back(b.key(), b.value().clone());
  return out;
}

/// final_atol: the tolerance after the last step (the first step is always held to 1e-5).
void expect_same_training(const std::string& one, const std::string& two, bool bn_stats = false,
                          double final_atol = 1e-5) {
  auto a = losses(one), b = losses(two);
  ASSERT_EQ(a.size(), size_t(kSteps));
  ASSERT_EQ(b.size(), size_t(kSteps)) << "rank 0 alone writes one metrics line per step";
  for (int i = 0; i < kSteps; ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * std::abs(a[i])) << "step " << i + 1;
  for (int step : {1, kSteps}) {  // step 1: the first update is lr x the gradients
    auto x = state_at(one, step, bn_stats), y = state_at(two, step, bn_stats);
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i)
      EXPECT_TRUE(torch::allclose(x[i].second, y[i].second, 1e-4, step == 1 ? 1e-5 : final_atol))
          << x[i].first << " at step " << step << ": max difference "
          << (x[i].second - y[i].second).abs().max().item<double>();
  }
}

}  // namespace

TEST(DistCli, TwoProcessesTrainAsOneWithTheWholeBatch_SimCLR) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  auto one = temp_dir("dist_simclr_one"), two = temp_dir("dist_simclr_two");
  ASSERT_EQ(wait_exit(spawn(args(one, false), one + ".log")), 0) << slurp(one + ".log");
  run_two(args(two, false), two);
  expect_same_training(one, two);
  auto summary = nlohmann::json::parse(slurp(two + "/summary.json"));
  EXPECT_EQ(summary["world_size"], 2);
  EXPECT_GT(summary["comm_s"].get<double>(), 0.0);
}

/// One process against two, for SimCLR with these settings.
void expect_two_train_as_one(const std::string& name, const std::vector<std::string>& extra) {
  auto one = temp_dir("dist_" + name + "_one"), two = temp_dir("dist_" + name + "_two");
  ASSERT_EQ(wait_exit(spawn(args(one, false, kSteps, extra), one + ".log")), 0) << slurp(one + ".log");
  run_two(args(two, false, kSteps, extra), two);
  expect_same_training(one, two);
}

TEST(DistCli, TwoProcessesTrainAsOneWithTheWholeBatch_InfoNCEFamily) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  // Each rank scores its own anchors, DCLW's weights normalised over the global batch.
  expect_two_train_as_one("dclw", {"loss.name=decoupled", "loss.decoupled_sigma=0.5"});
}

TEST(DistCli, TwoProcessesTrainAsOneWithTheWholeBatch_WholeBatchObjective) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  // Supervised contrastive (half the labels known, gathered) scores the whole batch on every rank.
  expect_two_train_as_one("supcon", {"loss.name=supcon", "loss.label_fraction=0.5"});
}

TEST(DistCli, TwoProcessesTrainAsOneWithTheWholeBatch_SyncBatchNorm) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  // Batch norm over whole views (no chunks): one process normalises over the 32 samples, two
  // processes with dist.sync_bn over their 2 x 16; the running statistics agree too.
  auto one = temp_dir("dist_syncbn_one"), two = temp_dir("dist_syncbn_two");
  ASSERT_EQ(wait_exit(spawn(args(one, false, kSteps, {"model.encode_chunk=0"}), one + ".log")), 0)
      << slurp(one + ".log");
  run_two(args(two, false, kSteps, {"model.encode_chunk=0", "dist.sync_bn=true"}), two);
  // Synchronised batch norm computes the statistics by another formula (float64 sums) than
  // LibTorch's kernel: the first update agrees to 1e-5, and float32 rounding grows to ~2e-4 by
  // step 4 (the unit test DistGroup.SyncBatchNormOnHalves... holds the math to 1e-9 in float64).
  expect_same_training(one, two, /*bn_stats=*/true, /*final_atol=*/1e-3);
}

TEST(DistCli, TwoProcessesTrainAsOneWithTheWholeBatch_MoCo) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  auto one = temp_dir("dist_moco_one"), two = temp_dir("dist_moco_two");
  ASSERT_EQ(wait_exit(spawn(args(one, true), one + ".log")), 0) << slurp(one + ".log");
  run_two(args(two, true), two);
  expect_same_training(one, two);  // includes the key encoder and the queue's keys
}

TEST(DistCli, TwoProcessesTrainAsOneWithTheWholeBatch_SimCSE) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  if (!fs::exists("/usr/share/wordnet/data.noun")) GTEST_SKIP() << "WordNet is not installed";
  // Rank 0 trains the tokenizer into the folder, the others read it; each rank scores its own
  // anchors against every rank's positives.
  auto one = temp_dir("dist_simcse_one"), two = temp_dir("dist_simcse_two");
  ASSERT_EQ(wait_exit(spawn(text_args(one), one + ".log")), 0) << slurp(one + ".log");
  run_two(text_args(two), two);
  EXPECT_TRUE(fs::exists(two + "/tokenizer.model"));  // written once, by rank 0
  expect_same_training(one, two);
  EXPECT_EQ(nlohmann::json::parse(slurp(two + "/summary.json"))["world_size"], 2);
}

TEST(DistCli, TwoProcessesTrainAsOneWithTheWholeBatch_CLIP) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  if (!have_fashion_mnist()) GTEST_SKIP() << "no Fashion-MNIST";
  // Global negatives (each rank's image and text embeddings gathered with gradient, each rank
  // scoring its own pairs) and the learned temperature, averaged like any gradient.
  auto one = temp_dir("dist_clip_one"), two = temp_dir("dist_clip_two");
  ASSERT_EQ(wait_exit(spawn(clip_dist_args(one), one + ".log")), 0) << slurp(one + ".log");
  run_two(clip_dist_args(two), two);
  EXPECT_TRUE(fs::exists(two + "/tokenizer.model"));
  expect_same_training(one, two);
}

TEST(DistCli, KilledRankStopsTheOthersWithItsName) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  auto dir = temp_dir("dist_killed");
  auto a = args(dir, false, 400, {"dist.timeout_s=10"});
  const int port = free_port();
  pid_t r0 = spawn(a, dir + ".rank0.log", rank_env(0, port));
  pid_t r1 = spawn(a, dir + ".rank1.log", rank_env(1, port));
  bool started = false;
  for (int i = 0; i < 1200 && !started; ++i) {
    started = fs::exists(dir + "/checkpoint-3.pt");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(started) << slurp(dir + ".rank0.log");
  kill(r1, SIGKILL);
  EXPECT_EQ(wait_exit(r1), 128 + SIGKILL);
  // Rank 0 must stop by itself (dist.timeout_s bounds its wait); if it hung, ctest's timeout
  // would fail this test.
  EXPECT_EQ(wait_exit(r0), 2) << slurp(dir + ".rank0.log");
  const auto log = slurp(dir + ".rank0.log");
  EXPECT_NE(log.find("rank 1 is gone"), std::string::npos) << log;
  // The last checkpoint is whole: it loads.
  auto cfg = config::load(dir + "/config.yaml");
  auto model = run::make_method(cfg, 1);
  auto st = run::Checkpoints(dir, cfg.train.keep_checkpoints).load_latest(*model, nullptr);
  EXPECT_GE(st.step, 3);
}
