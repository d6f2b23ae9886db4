// The shipped CLIP configs on the two Debian image-text datasets (openclipart, Noto colour emoji):
// each loads, trains a few steps on a slice of its data and writes the zero-shot and retrieval
// fields of summary.json, trained and untrained. (How well they learn is BENCHMARKS.md's job.)
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../support/process.h"

using namespace contra::test_support;

namespace {

/// summary.json of 3 steps of configs/`config` on the first 400 training images (empty on failure).
nlohmann::json short_run(const std::string& config, const std::string& name) {
  const std::string out = temp_dir(name);
  const auto r = run_cli("train " + std::string(CONTRA_SOURCE_DIR) + "/configs/" + config +
                         " --set data.limit=400 --set train.max_steps=3 --set train.batch_size=32"
                         " --set report.enabled=false --set threads=1 --out " + out);
  EXPECT_EQ(r.code, 0) << r.output;
  return r.code == 0 ? nlohmann::json::parse(slurp(out + "/summary.json")) : nlohmann::json();
}

/// The shared-space fields of a short run of `config`, trained and untrained; its summary.json.
nlohmann::json short_run_of(const std::string& config, const std::string& name) {
  const auto s = short_run(config, name);
  if (s.is_null()) return s;
  EXPECT_EQ(s["method"], "clip");
  EXPECT_EQ(s["steps"], 3);
  for (const char* key : {"zero_shot_top1", "zero_shot_top5", "i2t_recall_at_10", "t2i_recall_at_10",
                          "i2t_median_rank", "t2i_median_rank"}) {
    EXPECT_TRUE(s.contains(key)) << key;
    EXPECT_TRUE(s["untrained"].contains(key)) << key;
  }
  EXPECT_GE(s["zero_shot_classes"].get<int>(), 5);
  EXPECT_GE(s["zero_shot_top5"].get<double>(), s["zero_shot_top1"].get<double>());
  return s;
}

}  // namespace

// Also SimCLR on the emoji images (BENCHMARKS.md's comparison with the CLIP-trained image
// tower): the same training and evaluation images, the image tower evaluated by kNN.
TEST(ClipCli, EmojiConfigTrainsOnASlice) {
  const auto clip = short_run_of("clip_emoji.yaml", "clip_config_emoji");
  const auto simclr = short_run("simclr_emoji.yaml", "clip_config_simclr_emoji");
  ASSERT_FALSE(clip.is_null());
  ASSERT_FALSE(simclr.is_null());
  EXPECT_EQ(clip["probe_eval_images"], clip["eval_images"]);  // every emoji has a group
  EXPECT_EQ(simclr["method"], "simclr");
  EXPECT_EQ(simclr["train_images"], clip["train_images"]);
  EXPECT_EQ(simclr["eval_images"], clip["eval_images"]);
  EXPECT_GE(simclr["knn_acc"].get<double>(), 0.0);
}

TEST(ClipCli, OpenclipartConfigTrainsOnASlice) {
  const auto s = short_run_of("clip_openclipart.yaml", "clip_config_openclipart");
  ASSERT_FALSE(s.is_null());
  // The unsorted images have no class: the image tower's kNN and linear probe use the others,
  // and summary.json says how many.
  ASSERT_TRUE(s.contains("knn_acc")) << s.dump(2);
  EXPECT_GT(s["probe_eval_images"].get<int64_t>(), 0);
  EXPECT_LT(s["probe_eval_images"].get<int64_t>(), s["eval_images"].get<int64_t>());
  EXPECT_LE(s["probe_train_images"].get<int64_t>(), 400);
}
