// Interrupted runs: killed with SIGKILL at an arbitrary step and resumed, or stopped with
// SIGTERM and resumed, a run ends with bitwise the same parameters as an uninterrupted one.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <torch/torch.h>

#include "contra/config/load.h"
#include "contra/run/checkpoints.h"
#include "contra/run/resolve.h"
#include "../support/process.h"

namespace fs = std::filesystem;
using namespace contra;
using namespace contra::test_support;

namespace {

std::vector<std::string> train_args(const std::string& out, bool moco = false) {
  if (moco)  // MoCo: momentum encoder, queue and the shuffle-BN permutations must all carry over
    return {CONTRA_CLI_PATH, "train", std::string(CONTRA_SOURCE_DIR) + "/configs/moco_fashion_mnist.yaml",
            "--set", "data.limit=1024", "--set", "train.batch_size=32", "--set", "train.max_steps=48",
            "--set", "model.widths=[8,16]", "--set", "model.encode_chunk=16", "--set", "train.checkpoint_every=4",
            "--set", "train.log_every=4", "--set", "eval.enabled=false", "--set", "report.enabled=false",
            "--set", "threads=1", "--set", "model.channels_last=true",  // pinned: compared across runs
            "--set", "moco.queue_size=256", "--out", out};
  return {CONTRA_CLI_PATH, "train", std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml",
          "--set", "data.limit=1024", "--set", "train.batch_size=64", "--set", "train.max_steps=48",
          "--set", "model.widths=[8,16]", "--set", "model.encode_chunk=32", "--set", "train.checkpoint_every=4",
          "--set", "train.log_every=4", "--set", "eval.enabled=false", "--set", "report.enabled=false",
          "--set", "threads=1", "--set", "model.channels_last=true",  // pinned: compared across runs
          "--set", "data.workers=2", "--set", "loss.name=hard_negative", "--set", "loss.adaptive=true",
          "--out", out};
}

// Waits until the run has written a checkpoint of at least `step` (or gives up after 300 s).
bool wait_for_checkpoint(const std::string& dir, int64_t step) {
  for (int i = 0; i < 3000; ++i) {
    for (int64_t s = step; s <= 48; s += 4)
      if (fs::exists(dir + "/checkpoint-" + std::to_string(s) + ".pt")) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Parameters and buffers of a run's final checkpoint.
std::vector<std::pair<std::string, torch::Tensor>> final_state(const std::string& dir) {
  auto cfg = config::load(dir + "/config.yaml");
  auto model = run::make_method(cfg, 1);
  auto st = run::Checkpoints(dir, cfg.train.keep_checkpoints).load_latest(*model, nullptr);
  EXPECT_EQ(st.step, 48);
  // A CPU run saves the CPU generator and no CUDA one; no step was skipped.
  EXPECT_EQ(st.extra.count("rng_cpu"), 1u);
  EXPECT_EQ(st.extra.count("rng_cuda"), 0u);
  EXPECT_EQ(st.extra.count("skipped_steps") ? st.extra.at("skipped_steps").item<int64_t>() : -1, 0);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model->named_parameters()) out.emplace_back(p.key(), p.value().clone());
  for (const auto& b : model->named_buffers()) out.emplace_back(b.key(), b.value().clone());
  return out;
}

void expect_bitwise_equal(const std::string& a, const std::string& b) {
  auto x = final_state(a), y = final_state(b);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].first, y[i].first);
    EXPECT_TRUE(torch::equal(x[i].second, y[i].second)) << x[i].first;
  }
}

const std::string& reference_run(bool moco = false) {
  static const std::string simclr_dir = [] {
    auto d = temp_dir("resume_reference");
    EXPECT_EQ(wait_exit(spawn(train_args(d), d + ".log")), 0) << slurp(d + ".log");
    return d;
  }();
  if (!moco) return simclr_dir;
  static const std::string moco_dir = [] {
    auto d = temp_dir("resume_reference_moco");
    EXPECT_EQ(wait_exit(spawn(train_args(d, true), d + ".log")), 0) << slurp(d + ".log");
    return d;
  }();
  return moco_dir;
}

/// Starts the run, kills it with SIGKILL once a checkpoint of step 12 or later exists, and
/// resumes it; the resumed run must really start before the end.
void kill_and_resume(const std::vector<std::string>& args, const std::string& dir) {
  pid_t pid = spawn(args, dir + ".log");
  ASSERT_TRUE(wait_for_checkpoint(dir, 12)) << slurp(dir + ".log");
  kill(pid, SIGKILL);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  ASSERT_EQ(wait_exit(spawn({CONTRA_CLI_PATH, "train", "--resume", dir}, dir + ".resume.log")), 0)
      << slurp(dir + ".resume.log");
  const auto resumed = slurp(dir + ".resume.log");
  const auto at = resumed.find("resuming at step ");
  ASSERT_NE(at, std::string::npos) << resumed;
  EXPECT_LT(std::stoll(resumed.substr(at + 17)), 48) << "killed after the last step";
}

}  // namespace

TEST(Resume, KilledRunResumesToTheSameParameters) {
  const auto& ref = reference_run();
  auto dir = temp_dir("resume_killed");
  ASSERT_NO_FATAL_FAILURE(kill_and_resume(train_args(dir), dir));
  expect_bitwise_equal(ref, dir);
  // metrics.jsonl: one line per logged step, none duplicated by the resume.
  std::ifstream m(dir + "/metrics.jsonl");
  int lines = 0;
  for (std::string l; std::getline(m, l);) ++lines;
  EXPECT_EQ(lines, 48 / 4);
}

TEST(Resume, KilledMoCoRunResumesToTheSameParameters) {
  const auto& ref = reference_run(true);
  auto dir = temp_dir("resume_killed_moco");
  ASSERT_NO_FATAL_FAILURE(kill_and_resume(train_args(dir, true), dir));
  expect_bitwise_equal(ref, dir);  // includes key_encoder.*, key_head.* and queue.*
}

TEST(Resume, SigtermStopsAfterACheckpointAndResumes) {
  const auto& ref = reference_run();
  auto dir = temp_dir("resume_sigterm");
  pid_t pid = spawn(train_args(dir), dir + ".log");
  ASSERT_TRUE(wait_for_checkpoint(dir, 8)) << slurp(dir + ".log");
  kill(pid, SIGTERM);
  const int code = wait_exit(pid);
  if (code == 0) GTEST_SKIP() << "the run finished before the signal arrived";
  EXPECT_EQ(code, 128 + SIGTERM) << slurp(dir + ".log");
  EXPECT_NE(slurp(dir + ".log").find("continue with: contra train --resume"), std::string::npos);
  ASSERT_EQ(wait_exit(spawn({CONTRA_CLI_PATH, "train", "--resume", dir}, dir + ".resume.log")), 0)
      << slurp(dir + ".resume.log");
  expect_bitwise_equal(ref, dir);
}

TEST(Resume, CorruptCheckpointIsReportedWithThePreviousOne) {
  const auto& ref = reference_run();
  auto dir = temp_dir("resume_corrupt");
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(ref)) fs::copy(e.path(), dir + "/" + e.path().filename().string());
  fs::remove(dir + "/checkpoint.pt");
  std::ofstream(dir + "/checkpoint.pt") << "not a checkpoint";
  auto log = dir + ".eval.log";
  EXPECT_EQ(wait_exit(spawn({CONTRA_CLI_PATH, "eval", "--run", dir}, log)), 2);
  const auto text = slurp(log);
  EXPECT_NE(text.find("is corrupt or not a contra checkpoint; the previous checkpoint is"), std::string::npos) << text;
  EXPECT_NE(text.find("checkpoint-48.pt (step 48)"), std::string::npos) << text;
  // keep_checkpoints = 2: only the two newest numbered files remain.
  EXPECT_TRUE(fs::exists(ref + "/checkpoint-44.pt"));
  EXPECT_FALSE(fs::exists(ref + "/checkpoint-40.pt"));
}

namespace {

/// Every tensor under `archive`, by its path of keys (sub-archives recursively).
void collect(torch::serialize::InputArchive& archive, const std::string& prefix,
             std::map<std::string, torch::Tensor>& out) {
  for (const auto& key : archive.keys()) {
    torch::Tensor t;
    torch::serialize::InputArchive sub;
    if (archive.try_read(key, t)) out[prefix + key] = t;
    else if (archive.try_read(key, sub)) collect(sub, prefix + key + "/", out);
  }
}

/// A checkpoint's model parameters and buffers, by key. (The optimizer's state is keyed by
/// parameter addresses in LibTorch 1.13, which differ between processes; a wrong one would
/// show in the parameters after the resumed steps.)
std::map<std::string, torch::Tensor> checkpoint_tensors(const std::string& path) {
  torch::serialize::InputArchive archive, model;
  archive.load_from(path);
  std::map<std::string, torch::Tensor> out;
  if (archive.try_read("model", model)) collect(model, "", out);
  return out;
}

std::vector<std::string> resume_text_args(const std::string& out, const std::string& corpus) {
  // Unsupervised SimCSE on a small corpus: dropout noise and random text augmentations.
  return {CONTRA_CLI_PATH, "train", std::string(CONTRA_SOURCE_DIR) + "/configs/simcse_wordnet.yaml",
          "--set", "data.dataset=text_corpus", "--set", "data.path=" + corpus,
          "--set", "text.augment=[delete,swap,crop]", "--set", "text.vocab_size=60",
          "--set", "text_model.width=32", "--set", "text_model.heads=2", "--set", "text_model.ffn=64",
          "--set", "model.head_dim=16", "--set", "train.batch_size=16", "--set", "train.max_steps=48",
          "--set", "train.checkpoint_every=4", "--set", "train.log_every=4",
          "--set", "eval.enabled=false", "--set", "report.enabled=false",
          "--set", "threads=1", "--out", out};
}

}  // namespace

TEST(Resume, KilledTextRunResumesToTheSameParameters) {
  const auto corpus = temp_dir("resume_text_corpus") + ".txt";
  {
    std::ofstream f(corpus);
    for (int i = 0; i < 400; ++i)
      f << "sentence number " << i % 37 << " about a small dog and a cat and a bird\n";
  }
  auto ref = temp_dir("resume_text_reference");
  ASSERT_EQ(wait_exit(spawn(resume_text_args(ref, corpus), ref + ".log")), 0) << slurp(ref + ".log");
  auto dir = temp_dir("resume_text_killed");
  ASSERT_NO_FATAL_FAILURE(kill_and_resume(resume_text_args(dir, corpus), dir));
  auto a = checkpoint_tensors(ref + "/checkpoint-48.pt"), b = checkpoint_tensors(dir + "/checkpoint-48.pt");
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, t] : a) {
    ASSERT_TRUE(b.count(key)) << key;
    EXPECT_TRUE(torch::equal(t, b[key])) << key;
  }
}
