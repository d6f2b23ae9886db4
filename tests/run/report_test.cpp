// The run report from run folders written by hand (no training): curves grouped from the
// metrics.jsonl columns, the summary and config on the page, nothing fetched from a network,
// a run without checkpoint, a comparison, and bad input (one clear message each).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "../support/expect_error.h"
#include "../support/process.h"
#include "contra/config/load.h"
#include "contra/run/report.h"

using namespace contra;
using namespace contra::test_support;
namespace fs = std::filesystem;

namespace {

void report_test_write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// A finished-looking run folder without checkpoint: config.yaml (seed `seed`), metrics.jsonl
/// with `lines` lines (SimCLR's columns, hard_beta, a monitor value on every 4th, a skipped
/// step's null loss) and a summary with a baseline object.
std::string report_test_run(const std::string& name, uint64_t seed, int lines) {
  const std::string dir = temp_dir(name);
  fs::create_directories(dir);
  config::RunConfig cfg;
  cfg.seed = seed;
  report_test_write(dir + "/config.yaml", config::to_yaml(cfg));
  std::string metrics;
  for (int i = 1; i <= lines; ++i) {
    nlohmann::json j = {{"step", 10 * i},       {"epoch", 0.1 * i},  {"loss", 5.0 - 0.1 * i},
                        {"lr", 0.3},            {"pairs_per_s", 200}, {"data_wait", 0.01},
                        {"pos_sim", 0.9},       {"neg_sim", 0.1},     {"top1", 0.05 * i},
                        {"active", 1.0},        {"skipped_steps", 0}, {"hard_beta", 0.5},
                        {"custom_column", i}};
    if (i == 3) j["loss"] = nullptr;
    if (i % 4 == 0) j["monitor_knn_acc"] = 0.5 + 0.01 * i;
    metrics += j.dump() + "\n";
  }
  report_test_write(dir + "/metrics.jsonl", metrics);
  nlohmann::json summary = {{"method", "simclr"}, {"steps", 10 * lines}, {"knn_acc", 0.8 + 0.01 * double(seed)},
                            {"knn_k", 200},        {"knn_temperature", 0.1}, {"eval_split", "test"},
                            {"eval_features", "encoder"}, {"untrained", {{"knn_acc", 0.7}}}};
  report_test_write(dir + "/summary.json", summary.dump(2));
  return dir;
}

/// The canvas ids on a page, in order.
std::vector<std::string> report_test_canvases(const std::string& page) {
  std::vector<std::string> ids;
  const std::regex canvas("<canvas id=\"([^\"]+)\">");
  for (std::sregex_iterator it(page.begin(), page.end(), canvas), end; it != end; ++it) ids.push_back((*it)[1]);
  return ids;
}

void report_test_offline(const std::string& page) {
  for (const char* remote : {"src=\"http", "href=\"http", "src='http", "href='http", "url(http", "@import"})
    EXPECT_EQ(page.find(remote), std::string::npos) << remote;
  EXPECT_EQ(page.find("<script src"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
}

}  // namespace

TEST(Report, RunWithoutCheckpointGetsCurvesAndTables) {
  const auto dir = report_test_run("report_curves", 0, 12);
  const auto r = run::write_run_report(dir);
  EXPECT_EQ(r.path, dir + "/report.html");
  EXPECT_FALSE(r.embeddings);
  EXPECT_NE(r.note.find("no checkpoint"), std::string::npos) << r.note;
  const std::string page = slurp(r.path);
  EXPECT_FALSE(fs::exists(r.path + ".tmp"));
  report_test_offline(page);
  // Loss, learning rate, throughput (pairs/s + data wait), similarities, accuracy (top-1 and the
  // monitor), hardness, active, skipped steps and the unknown column: 9 charts, no maps.
  const auto ids = report_test_canvases(page);
  EXPECT_EQ(int64_t(ids.size()), r.charts);
  EXPECT_EQ(r.charts, 9);
  for (const char* title : {"Loss", "Learning rate", "Throughput and data wait", "Accuracy", "Hardness \u03b2",
                            "custom_column"})
    EXPECT_NE(page.find(std::string("<figcaption>") + title + "</figcaption>"), std::string::npos) << title;
  EXPECT_EQ(page.find("map-tsne"), std::string::npos);
  EXPECT_NE(page.find("no checkpoint (checkpoint.pt)"), std::string::npos);
  // The data: the skipped step's loss is a gap (null); the monitor is drawn with markers.
  EXPECT_NE(page.find("[30,null]"), std::string::npos);
  EXPECT_NE(page.find("\"label\":\"online kNN monitor (monitor_knn_acc)\",\"points\":[[40,0.54]"), std::string::npos);
  // The summary (settings included) and the config as written.
  EXPECT_NE(page.find("<td>knn_temperature</td><td>0.1</td>"), std::string::npos);
  EXPECT_NE(page.find("<th>untrained</th>"), std::string::npos);
  EXPECT_NE(page.find("<td>knn_acc</td><td>0.8</td><td>0.7</td>"), std::string::npos);
  EXPECT_NE(page.find("dataset: &quot;fashion_mnist&quot;"), std::string::npos);
  // The ready flag is set by the script at the end, never by the markup.
  EXPECT_NE(page.find("<body data-ready=\"0\">"), std::string::npos);
  EXPECT_NE(page.find("document.body.dataset.ready = '1'"), std::string::npos);
  EXPECT_NE(page.find("window.onerror"), std::string::npos);
  EXPECT_NE(page.find("Chart.js v"), std::string::npos);
  // --out elsewhere.
  const auto other = run::write_run_report(dir, dir + "/elsewhere.html", run::ReportOptions().curves_only(true));
  EXPECT_TRUE(fs::exists(dir + "/elsewhere.html"));
  EXPECT_NE(other.note.find("curves and tables only"), std::string::npos);
}

TEST(Report, TextInTheRunCannotBreakThePage) {
  const auto dir = report_test_run("report_escape", 0, 3);
  // A summary string that would close the script element or open a tag if written raw.
  report_test_write(dir + "/summary.json", R"({"method": "</script><b>x", "steps": 3})");
  const auto r = run::write_run_report(dir);
  const std::string page = slurp(r.path);
  EXPECT_EQ(page.find("</script><b>"), std::string::npos);
  EXPECT_NE(page.find("&lt;/script&gt;&lt;b&gt;x"), std::string::npos);
}

TEST(Report, HalfWrittenLastLineIsSkippedAMalformedLineIsAnError) {
  const auto dir = report_test_run("report_lines", 0, 5);
  std::ofstream(dir + "/metrics.jsonl", std::ios::app) << "{\"step\": 60, \"loss\": 4.";
  const auto r = run::write_run_report(dir);
  EXPECT_NE(slurp(r.path).find("incomplete"), std::string::npos);
  std::string text = slurp(dir + "/metrics.jsonl");
  text.insert(text.find('\n') + 1, "not json\n");
  report_test_write(dir + "/metrics.jsonl", text);
  test_support::expect_error([&] { run::write_run_report(dir); }, "metrics.jsonl:2: not a metrics line");
}

TEST(Report, BadFoldersGetOneClearMessage) {
  const auto empty = temp_dir("report_not_a_run");
  fs::create_directories(empty);
  test_support::expect_error([&] { run::write_run_report(empty); }, "is not a contra run folder (no config.yaml)");
  test_support::expect_error([&] { run::write_run_report(empty + "/missing"); }, "does not exist");
  const auto dir = report_test_run("report_no_metrics", 0, 2);
  fs::remove(dir + "/metrics.jsonl");
  test_support::expect_error([&] { run::write_run_report(dir); }, "has no metrics.jsonl");
  test_support::expect_error([&] { run::write_comparison_report({dir}, "x.html"); }, "at least 2 run folders");
  const auto ok = report_test_run("report_ok", 0, 2);
  test_support::expect_error([&] { run::write_run_report(ok, "", run::ReportOptions().map_points(-1)); }, "must be >= 0");
}

TEST(Report, ComparisonOverlaysCurvesAndShowsWhatDiffers) {
  const auto a = report_test_run("report_cmp_a", 0, 8), b = report_test_run("report_cmp_b", 3, 6);
  const std::string out = temp_dir("report_cmp_out") + ".html";
  const auto r = run::write_comparison_report({a, b}, out);
  const std::string page = slurp(out);
  report_test_offline(page);
  EXPECT_EQ(r.charts, 9);
  EXPECT_EQ(int64_t(report_test_canvases(page).size()), r.charts);
  const std::string name_a = fs::path(a).filename().string(), name_b = fs::path(b).filename().string();
  // One series per run in the loss chart; two columns per run in the similarity chart.
  EXPECT_NE(page.find("\"label\":\"" + name_a + "\""), std::string::npos);
  EXPECT_NE(page.find("\"label\":\"" + name_b + ": negative pairs (neg_sim)\""), std::string::npos);
  // Summaries side by side, the baseline flattened; the differing config key, and only it.
  EXPECT_NE(page.find("<td>knn_acc</td><td>0.8</td><td>0.83</td>"), std::string::npos);
  EXPECT_NE(page.find("<td>untrained.knn_acc</td><td>0.7</td><td>0.7</td>"), std::string::npos);
  EXPECT_NE(page.find("<td>seed</td><td>0</td><td>3</td>"), std::string::npos);
  EXPECT_EQ(page.find("<td>train.epochs</td>"), std::string::npos);
}
