// The shipped CLIP configs on the two Debian image-text datasets (openclipart, Noto colour emoji):
// each loads, trains a few steps on a slice of its data and writes the zero-shot and retrieval
// fields of summary.json, trained and untrained. (How well they learn is BENCHMARKS.md's job.)
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../support/process.h"

using namespace contra::test_support;

namespace {

void short_run_of(const std::string& config, const std::string& name) {
  const std::string out = temp_dir(name);
  const auto r = run_cli("train " + std::string(CONTRA_SOURCE_DIR) + "/configs/" + config +
                         " --set data.limit=400 --set train.max_steps=3 --set train.batch_size=32"
                         " --set report.enabled=false --set threads=1 --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto s = nlohmann::json::parse(slurp(out + "/summary.json"));
  EXPECT_EQ(s["method"], "clip");
  EXPECT_EQ(s["steps"], 3);
  for (const char* key : {"zero_shot_top1", "zero_shot_top5", "i2t_recall_at_10", "t2i_recall_at_10",
                          "i2t_median_rank", "t2i_median_rank"}) {
    ASSERT_TRUE(s.contains(key)) << key;
    ASSERT_TRUE(s["untrained"].contains(key)) << key;
  }
  EXPECT_GE(s["zero_shot_classes"].get<int>(), 5);
  EXPECT_GE(s["zero_shot_top5"].get<double>(), s["zero_shot_top1"].get<double>());
}

}  // namespace

TEST(ClipCli, EmojiConfigTrainsOnASlice) { short_run_of("clip_emoji.yaml", "clip_config_emoji"); }

TEST(ClipCli, OpenclipartConfigTrainsOnASlice) {
  short_run_of("clip_openclipart.yaml", "clip_config_openclipart");
}
