// The per-machine auto-tuner: the decision from measurements (a fake timer and clock), the
// candidate space, the cache (a corrupt file is measured again), the config's auto values, and
// a tuned run that equals the same settings given explicitly.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "../support/process.h"
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/run/autotune.h"
#include "contra/run/experiment.h"
#include "contra/run/run_state.h"

using namespace contra;
using namespace contra::test_support;
namespace fs = std::filesystem;

namespace {

/// Speeds by setting, for a fake timer; a clock that advances `tick` seconds per reading.
struct AutotuneFake {
  std::map<std::pair<bool, int64_t>, double> speed;
  double tick = 1, t = 0;
  std::vector<run::TuneSettings> asked;
  std::function<double(const run::TuneSettings&)> measure() {
    return [this](const run::TuneSettings& s) {
      asked.push_back(s);
      return speed.at({s.channels_last, s.encode_chunk});
    };
  }
  std::function<double()> clock() {
    return [this] { return t += tick; };
  }
};

run::TuneSpace autotune_full_space() {
  run::TuneSpace space;
  space.channels_last = {true, false};
  space.encode_chunk = {64, 32, 128, 0};
  return space;
}

config::RunConfig autotune_cfg(std::vector<std::string> sets) {
  std::vector<std::string> base = {"data.limit=256", "train.batch_size=64", "train.max_steps=3",
                                   "model.widths=[4,8]", "model.head_hidden=32", "model.head_dim=16",
                                   "eval.enabled=false", "report.enabled=false", "train.log_every=1",
                                   "threads=1", "model.channels_last=auto", "model.encode_chunk=auto"};
  base.insert(base.end(), sets.begin(), sets.end());
  return config::load(std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml", base);
}

std::vector<double> autotune_losses(const std::string& dir) {
  std::vector<double> out;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["loss"].get<double>());
  return out;
}

nlohmann::json autotune_summary(const std::string& dir) {
  return nlohmann::json::parse(slurp(dir + "/summary.json"))["autotune"];
}

}  // namespace

TEST(Autotune, PickKeepsTheIncumbentUnlessClearlyFaster) {
  EXPECT_EQ(run::pick_candidate({10.0}, 0.05), 0u);
  EXPECT_EQ(run::pick_candidate({10.0, 10.4, 9.0}, 0.05), 0u);   // 4% is noise
  EXPECT_EQ(run::pick_candidate({10.0, 10.6, 11.0}, 0.05), 2u);  // the fastest, 10% faster
  EXPECT_EQ(run::pick_candidate({10.0, 12.0, 12.0}, 0.05), 1u);  // a tie: the earlier
  EXPECT_EQ(run::pick_candidate({10.0, 10.6}, 0.0), 1u);
}

TEST(Autotune, CoordinateSearchPicksTheHandWorkedAnswerAndIsDeterministic) {
  AutotuneFake fake;
  // channels_last: false is 20% faster than the default. Then, channels-last off: chunk 32 is
  // only 2.5% faster than 64 (noise), 128 is 8.3% faster, the whole view slower -> 128.
  fake.speed = {{{true, 64}, 10.0}, {{false, 64}, 12.0}, {{false, 32}, 12.3}, {{false, 128}, 13.0},
                {{false, 0}, 9.0},  {{true, 32}, 99.0}, {{true, 128}, 99.0}, {{true, 0}, 99.0}};
  run::TuneOptions options;
  const auto r = run::coordinate_search(autotune_full_space(), fake.measure(), fake.clock(), options);
  EXPECT_EQ(r.chosen, (run::TuneSettings{false, 128}));
  EXPECT_TRUE(r.complete);
  ASSERT_EQ(r.candidates.size(), 5u);  // (false, 64) is measured once, reused as the incumbent
  const std::vector<run::TuneSettings> order{{true, 64}, {false, 64}, {false, 32}, {false, 128}, {false, 0}};
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(r.candidates[i].settings, order[i]) << i;
    EXPECT_EQ(r.candidates[i].steps_per_s, fake.speed.at({order[i].channels_last, order[i].encode_chunk}));
  }
  EXPECT_EQ(fake.asked.size(), 5u);
  // Same measurements, same answer.
  AutotuneFake again;
  again.speed = fake.speed;
  EXPECT_EQ(run::coordinate_search(autotune_full_space(), again.measure(), again.clock(), options).chosen,
            r.chosen);
  // Nothing clearly faster: the defaults stay.
  AutotuneFake flat;
  for (const auto& [k, v] : fake.speed) flat.speed[k] = 10.0 + (k.second == 32 ? 0.3 : 0.0);
  EXPECT_EQ(run::coordinate_search(autotune_full_space(), flat.measure(), flat.clock(), options).chosen,
            (run::TuneSettings{true, 64}));
}

TEST(Autotune, TheTimeBoundStopsMeasuring) {
  AutotuneFake fake;
  fake.speed = {{{true, 64}, 10.0}, {{false, 64}, 12.0}, {{false, 32}, 20.0}, {{false, 128}, 30.0}, {{false, 0}, 40.0}};
  // Each reading of the clock is 4 s later: start at 4; before the 2nd, 3rd and 4th candidates
  // 8, 12, 16 (4, 8, 12 s spent: go on); before the 5th 20 (16 s >= 15: stop).
  fake.tick = 4;
  run::TuneOptions options;
  const auto r = run::coordinate_search(autotune_full_space(), fake.measure(), fake.clock(), options);
  EXPECT_FALSE(r.complete);
  ASSERT_EQ(r.candidates.size(), 4u);
  EXPECT_EQ(r.candidates[3].settings, (run::TuneSettings{false, 128}));
  EXPECT_EQ(r.chosen, (run::TuneSettings{false, 128}));  // the best of what was measured
}

TEST(Autotune, TimeStepsCountsOnlyTheTimedSteps) {
  int calls = 0;
  double t = 0;
  const double speed = run::time_steps([&] { ++calls; t += 0.5; }, 2, 4, [&] { return t; });
  EXPECT_EQ(calls, 6);
  EXPECT_DOUBLE_EQ(speed, 2.0);  // 4 steps in 2 s
}

TEST(Autotune, SpaceFollowsTheConfigAndTheRun) {
  using methods::Modality;
  const auto auto_cfg = autotune_cfg({});
  auto s = run::tune_space(auto_cfg, Modality::kImage, 256, false);
  EXPECT_EQ(s.channels_last, (std::vector<bool>{true, false}));
  EXPECT_EQ(s.encode_chunk, (std::vector<int64_t>{64, 32, 128, 0}));
  EXPECT_TRUE(s.measured());
  // 64 images per view: 128 and 0 are the whole view, measured once (as 64's twin, 0, is).
  EXPECT_EQ(run::tune_space(auto_cfg, Modality::kImage, 64, false).encode_chunk, (std::vector<int64_t>{64, 32}));
  // Explicit values win; text encoders have nothing to tune; the gradient cache keeps its chunk.
  const auto fixed = autotune_cfg({"model.channels_last=false", "model.encode_chunk=16"});
  s = run::tune_space(fixed, Modality::kImage, 256, false);
  EXPECT_FALSE(s.measured());
  EXPECT_EQ(s.start(), (run::TuneSettings{false, 16}));
  EXPECT_TRUE(s.explicit_channels_last && s.explicit_encode_chunk);
  EXPECT_FALSE(run::tune_space(auto_cfg, Modality::kText, 256, false).measured());
  s = run::tune_space(auto_cfg, Modality::kImage, 256, true);
  EXPECT_EQ(s.encode_chunk, (std::vector<int64_t>{64}));
  EXPECT_EQ(s.channels_last.size(), 2u);
  // MoCo's shuffle-BN needs chunks in [1, batch).
  const auto moco = autotune_cfg({"method=moco", "moco.queue_size=4096"});
  EXPECT_EQ(run::tune_space(moco, Modality::kImage, 100, false).encode_chunk, (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(run::tune_space(moco, Modality::kImage, 32, false).encode_chunk, (std::vector<int64_t>{16}));
}

TEST(Autotune, ConfigTakesAutoFromYamlAndSet) {
  const auto d = config::load("");
  EXPECT_FALSE(d.model.channels_last.has_value());  // auto is the default
  EXPECT_FALSE(d.model.encode_chunk.has_value());
  const auto c = config::load("", {"model.channels_last=false", "model.encode_chunk=0"});
  EXPECT_EQ(c.model.channels_last, std::optional<bool>(false));
  EXPECT_EQ(c.model.encode_chunk, std::optional<int64_t>(0));
  const std::string yaml = config::to_yaml(d);
  EXPECT_NE(yaml.find("channels_last: auto"), std::string::npos);
  EXPECT_NE(yaml.find("encode_chunk: auto"), std::string::npos);
  const std::string folder = temp_dir("autotune_cfg");
  fs::create_directories(folder);
  const std::string path = folder + "/c.yaml";
  std::ofstream(path) << "model:\n  channels_last: true\n  encode_chunk: auto\n";
  const auto y = config::load(path);
  EXPECT_EQ(y.model.channels_last, std::optional<bool>(true));
  EXPECT_FALSE(y.model.encode_chunk.has_value());
  auto error = [](const std::vector<std::string>& sets) {
    try {
      config::load("", sets);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(error({"model.channels_last=maybe"}).find("expected auto, true or false"), std::string::npos);
  EXPECT_NE(error({"model.encode_chunk=-1"}).find("model.encode_chunk must be auto or >= 0"), std::string::npos);
}

TEST(Autotune, CacheRoundTripsAndACorruptFileIsNoError) {
  const std::string path = temp_dir("autotune_cache") + "/sub/autotune.json";
  const nlohmann::json key = {{"machine", run::machine_key()}, {"model", {{"m", 1}}}};
  EXPECT_FALSE(run::read_cached_tune(path, key).has_value());
  run::TuneResult r;
  r.seconds = 1.5;
  r.candidates = {{{true, 64}, 3.0}, {{false, 64}, 4.0}};
  r.chosen = {false, 64};
  std::string warning;
  run::write_cached_tune(path, key, r, &warning);
  EXPECT_EQ(warning, "");
  const auto hit = run::read_cached_tune(path, key);
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(hit->cached);
  EXPECT_EQ(hit->chosen, r.chosen);
  ASSERT_EQ(hit->candidates.size(), 2u);
  EXPECT_EQ(hit->candidates[1].steps_per_s, 4.0);
  EXPECT_FALSE(run::read_cached_tune(path, {{"machine", "another"}, {"model", {{"m", 1}}}}).has_value());
  std::ofstream(path) << "{\"version\": 1, \"entries\": [tru";
  EXPECT_FALSE(run::read_cached_tune(path, key, &warning).has_value());
  EXPECT_NE(warning.find("could not be read"), std::string::npos);
  warning.clear();
  run::write_cached_tune(path, key, r, &warning);  // the corrupt file is replaced
  EXPECT_EQ(warning, "");
  EXPECT_TRUE(run::read_cached_tune(path, key).has_value());
  // The machine key names what selects the kernels.
  const auto m = run::machine_key();
  for (const char* field : {"cpu", "flags", "onednn", "openblas_core", "ONEDNN_MAX_CPU_ISA", "OPENBLAS_CORETYPE", "threads"})
    EXPECT_TRUE(m.contains(field)) << field;
}

TEST(Autotune, TheRecordSurvivesTheCheckpoint) {
  run::RunState s;
  run::TuneResult r;
  r.seconds = 2;
  r.candidates = {{{true, 64}, 3.0}};
  r.chosen = {true, 32};
  r.explicit_encode_chunk = true;
  s.autotune = r;
  const auto back = run::from_checkpoint_state(run::to_checkpoint_state(s));
  ASSERT_TRUE(back.autotune.has_value());
  EXPECT_EQ(run::to_json(*back.autotune), run::to_json(r));
}

TEST(Autotune, ATunedRunEqualsTheSameSettingsGivenExplicitly) {
  const std::string cache = temp_dir("autotune_xdg");
  ASSERT_EQ(setenv("XDG_CACHE_HOME", cache.c_str(), 1), 0);
  const std::string tuned = temp_dir("autotune_tuned"), given = temp_dir("autotune_given"),
                    again = temp_dir("autotune_again"), corrupt = temp_dir("autotune_corrupt");
  run::train_and_evaluate(autotune_cfg({}), tuned);
  const auto a = autotune_summary(tuned);
  EXPECT_FALSE(a["cached"].get<bool>());
  EXPECT_GE(a["candidates"].size(), 2u);  // channels_last both ways, chunks 64 and 32
  for (const auto& c : a["candidates"]) EXPECT_GT(c["steps_per_s"].get<double>(), 0);
  EXPECT_FALSE(a["explicit"]["channels_last"].get<bool>());
  const bool channels_last = a["chosen"]["channels_last"].get<bool>();
  const int64_t chunk = a["chosen"]["encode_chunk"].get<int64_t>();
  // The folder's config holds the choice: a resumed run and `contra eval` build the same model.
  const auto saved = config::load(tuned + "/config.yaml");
  EXPECT_EQ(saved.model.channels_last, std::optional<bool>(channels_last));
  EXPECT_EQ(saved.model.encode_chunk, std::optional<int64_t>(chunk));
  EXPECT_TRUE(fs::exists(cache + "/contra/autotune.json"));

  // Measuring left nothing behind: the same settings given explicitly train bit for bit alike.
  run::train_and_evaluate(autotune_cfg({"model.channels_last=" + std::string(channels_last ? "true" : "false"),
                                        "model.encode_chunk=" + std::to_string(chunk)}),
                          given);
  const auto la = autotune_losses(tuned), lb = autotune_losses(given);
  ASSERT_EQ(la.size(), 3u);
  EXPECT_EQ(la, lb);
  const auto b = autotune_summary(given);
  EXPECT_TRUE(b["explicit"]["channels_last"].get<bool>());
  EXPECT_TRUE(b["explicit"]["encode_chunk"].get<bool>());
  EXPECT_EQ(b["candidates"].size(), 0u);

  // The same machine and model again: from the cache, nothing measured, the same choice.
  run::train_and_evaluate(autotune_cfg({}), again);
  const auto c = autotune_summary(again);
  EXPECT_TRUE(c["cached"].get<bool>());
  EXPECT_EQ(c["chosen"], a["chosen"]);
  EXPECT_EQ(autotune_losses(again), la);

  // A corrupt cache file: a warning, measured again, and the run goes on.
  std::ofstream(cache + "/contra/autotune.json") << "not json";
  run::train_and_evaluate(autotune_cfg({}), corrupt);
  EXPECT_FALSE(autotune_summary(corrupt)["cached"].get<bool>());
  unsetenv("XDG_CACHE_HOME");
}
