// contra report end to end: a short real run, its report opened in headless Chromium (every
// chart drawn, no script error, a screenshot kept under the build folder), a deliberately broken
// copy that must not get the ready flag, a comparison page, the report written by train, a
// report that cannot be written leaving the run complete, and bad input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "../support/process.h"

namespace fs = std::filesystem;
using contra::test_support::run_cli;
using contra::test_support::slurp;
using contra::test_support::temp_dir;

namespace {

/// Debian's chromium on PATH, or "" (scripts/install-deps.sh installs it).
std::string report_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && fs::exists(fs::path(d) / "chromium")) return (fs::path(d) / "chromium").string();
  return "";
}

/// Runs headless Chromium on `html` (a fresh profile each time, no network needed) with
/// `what` (--dump-dom, --screenshot=...), enough virtual time for the scripts; stdout.
std::string report_browse(const std::string& chromium, const std::string& html, const std::string& what) {
  const std::string profile = temp_dir("report_chromium_profile");
  fs::create_directories(profile);
  const std::string cmd = "timeout 240 " + chromium +
                          " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars"
                          " --user-data-dir=" + profile + " --virtual-time-budget=30000 " + what + " file://" +
                          fs::absolute(html).string() + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[65536];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  fs::remove_all(profile);
  return out;
}

/// What the rendered DOM says: the body's flags and the canvases.
struct ReportDom {
  bool found = false;
  std::string ready, errors;
  int charts = -1;
  int canvases = 0, rendered = 0;
};

ReportDom report_read_dom(const std::string& dom) {
  ReportDom d;
  std::smatch m;
  if (!std::regex_search(dom, m, std::regex("<body([^>]*)>"))) return d;
  d.found = true;
  const std::string body = m[1];
  std::smatch a;
  if (std::regex_search(body, a, std::regex("data-ready=\"([^\"]*)\""))) d.ready = a[1];
  if (std::regex_search(body, a, std::regex("data-errors=\"([^\"]*)\""))) d.errors = a[1];
  if (std::regex_search(body, a, std::regex("data-charts=\"([0-9]+)\""))) d.charts = std::stoi(a[1]);
  const std::regex canvas("<canvas[^>]*>");
  for (std::sregex_iterator it(dom.begin(), dom.end(), canvas), end; it != end; ++it) {
    ++d.canvases;
    if (it->str().find("data-rendered=\"1\"") != std::string::npos) ++d.rendered;
  }
  return d;
}

/// The number in "report: PATH (N charts, ...".
int report_printed_charts(const std::string& output) {
  std::smatch m;
  return std::regex_search(output, m, std::regex("report: \\S+ \\(([0-9]+) charts")) ? std::stoi(m[1]) : -1;
}

void report_expect_offline(const std::string& page) {
  for (const char* remote : {"src=\"http", "href=\"http", "src='http", "href='http", "url(http"})
    EXPECT_EQ(page.find(remote), std::string::npos) << remote;
}

}  // namespace

TEST(ReportBrowser, ShortRunReportRendersEveryChartOffline) {
  const std::string chromium = report_chromium();
  ASSERT_FALSE(chromium.empty()) << "chromium is not installed: scripts/install-deps.sh installs it (Debian "
                                    "package chromium); the report's browser test needs it";
  const std::string dir = temp_dir("report_run");
  auto train = run_cli("train " + std::string(CONTRA_SOURCE_DIR) +
                       "/configs/fashion_mnist.yaml --set data.limit=512 --set train.batch_size=64"
                       " --set train.max_steps=8 --set model.widths=[8,16] --set train.log_every=1"
                       " --set eval.linear=false --set eval.baselines=false --set eval.monitor_every=4"
                       " --set report.map_points=300 --set threads=2 --out " + dir);
  ASSERT_EQ(train.code, 0) << train.output;
  // train wrote the report at the end (report.enabled defaults to true).
  EXPECT_NE(train.output.find("report: " + dir + "/report.html"), std::string::npos) << train.output;
  ASSERT_TRUE(fs::exists(dir + "/report.html"));
  // The evaluation's settings are in summary.json, and so on the page.
  const std::string summary = slurp(dir + "/summary.json");
  for (const char* key : {"\"knn_k\": 200", "\"knn_temperature\": 0.1", "\"knn_similarity\": \"cosine\"",
                          "\"eval_features\": \"encoder\"", "\"eval_split\": \"test\""})
    EXPECT_NE(summary.find(key), std::string::npos) << key << "\n" << summary;

  auto rep = run_cli("report --run " + dir + " --map-points 800 --tsne-iterations 500");
  ASSERT_EQ(rep.code, 0) << rep.output;
  std::printf("[ REPORT   ] %s", rep.output.c_str());
  const int charts = report_printed_charts(rep.output);
  // loss, lr, throughput, similarities, accuracy (top-1 + monitor), active, skipped steps;
  // PCA, t-SNE; the similarity histogram.
  EXPECT_EQ(charts, 10) << rep.output;
  const std::string html = dir + "/report.html";
  const std::string page = slurp(html);
  report_expect_offline(page);
  EXPECT_NE(page.find("monitor_knn_acc"), std::string::npos);
  EXPECT_NE(page.find("data:image/png;base64,iVBORw0KGgo"), std::string::npos);  // PNG signature
  EXPECT_NE(page.find("<td class=\"same\">"), std::string::npos);
  EXPECT_NE(page.find("800 of the 10000 test images"), std::string::npos);
  EXPECT_NE(page.find("<td>knn_k</td><td>200</td>"), std::string::npos);

  const ReportDom dom = report_read_dom(report_browse(chromium, html, "--dump-dom"));
  ASSERT_TRUE(dom.found) << "chromium printed no DOM";
  EXPECT_EQ(dom.errors, "");
  EXPECT_EQ(dom.ready, "1");
  EXPECT_EQ(dom.canvases, charts);
  EXPECT_EQ(dom.rendered, charts);
  EXPECT_EQ(dom.charts, charts);

  // A screenshot as the test's artifact, beside the build.
  const fs::path artifacts = fs::path(CONTRA_CLI_PATH).parent_path() / "test-artifacts";
  fs::create_directories(artifacts);
  const fs::path png = artifacts / "report.png";
  fs::remove(png);
  report_browse(chromium, html, "--window-size=1280,2600 --screenshot=" + png.string());
  ASSERT_TRUE(fs::exists(png)) << "chromium wrote no screenshot";
  EXPECT_GT(fs::file_size(png), 20000u);
  std::printf("[ ARTIFACT ] %s\n", png.string().c_str());

  // The check can fail: a page whose script breaks is never ready, and says why.
  std::string broken = page;
  const std::string hook = "Chart.defaults.animation = false;";
  ASSERT_NE(broken.find(hook), std::string::npos);
  broken.replace(broken.find(hook), hook.size(), hook + " report_test_undefined_function();");
  const std::string broken_html = dir + "/broken.html";
  std::ofstream(broken_html) << broken;
  const ReportDom bad = report_read_dom(report_browse(chromium, broken_html, "--dump-dom"));
  ASSERT_TRUE(bad.found);
  EXPECT_EQ(bad.ready, "0");
  EXPECT_NE(bad.errors.find("report_test_undefined_function"), std::string::npos) << bad.errors;
  EXPECT_EQ(bad.rendered, 0);

  // A comparison with a copy of the run's files without its checkpoint.
  const std::string copy = temp_dir("report_run_copy");
  fs::create_directories(copy);
  for (const char* f : {"config.yaml", "metrics.jsonl", "summary.json"}) fs::copy_file(dir + "/" + f, copy + "/" + f);
  const std::string compare_html = temp_dir("report_compare") + ".html";
  auto cmp = run_cli("report --compare " + dir + " " + copy + " --out " + compare_html);
  ASSERT_EQ(cmp.code, 0) << cmp.output;
  report_expect_offline(slurp(compare_html));
  const ReportDom cdom = report_read_dom(report_browse(chromium, compare_html, "--dump-dom"));
  EXPECT_EQ(cdom.errors, "");
  EXPECT_EQ(cdom.ready, "1");
  EXPECT_EQ(cdom.rendered, report_printed_charts(cmp.output));
  EXPECT_EQ(cdom.rendered, 7);

  // The copy has no checkpoint: curves and tables, and the page says so.
  auto nock = run_cli("report --run " + copy);
  ASSERT_EQ(nock.code, 0) << nock.output;
  EXPECT_NE(nock.output.find("note: no checkpoint"), std::string::npos) << nock.output;
  EXPECT_NE(slurp(copy + "/report.html").find("no checkpoint (checkpoint.pt)"), std::string::npos);
}

// The report is written last; when it cannot be written (here report.html is a folder that
// cannot be replaced), train warns and the run is complete all the same.
TEST(ReportBrowser, ReportFailureAtTheEndOfTrainLeavesTheRunComplete) {
  const std::string dir = temp_dir("report_fail");
  auto train = run_cli("train " + std::string(CONTRA_SOURCE_DIR) +
                       "/configs/fashion_mnist.yaml --set data.limit=256 --set train.batch_size=64"
                       " --set train.max_steps=4 --set train.checkpoint_every=2 --set model.widths=[8,16]"
                       " --set eval.enabled=false --set report.map_points=100 --set threads=2 --out " + dir);
  ASSERT_EQ(train.code, 0) << train.output;
  fs::remove(dir + "/report.html");
  fs::remove(dir + "/summary.json");
  fs::create_directories(dir + "/report.html/in-the-way");
  // Resuming a finished run trains no step, then ends as every run does: summary, report.
  auto resumed = run_cli("train --resume " + dir);
  EXPECT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("warning: the run report could not be written"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("contra report --run " + dir), std::string::npos) << resumed.output;
  EXPECT_TRUE(fs::exists(dir + "/summary.json"));
  EXPECT_TRUE(fs::exists(dir + "/checkpoint.pt"));
}

TEST(ReportInput, BadInputGetsOneClearMessageAndExit2) {
  const std::string empty = temp_dir("report_cli_empty");
  fs::create_directories(empty);
  const std::string no_metrics = temp_dir("report_cli_no_metrics");
  fs::create_directories(no_metrics);
  std::ofstream(no_metrics + "/config.yaml") << "seed: 0\n";
  const std::pair<std::string, std::string> cases[] = {
      {"report", "report needs --run DIR or --compare DIR1 DIR2"},
      {"report --run /no/such/run", "run folder '/no/such/run' does not exist"},
      {"report --run " + empty, "is not a contra run folder (no config.yaml)"},
      {"report --run " + no_metrics, "has no metrics.jsonl: the run has not logged a step yet"},
      {"report --compare " + no_metrics, "--compare needs at least 2 run folders, got 1"},
      {"report --compare " + empty + " " + no_metrics, "is not a contra run folder"},
      {"report --run " + empty + " --compare " + empty + " " + empty, "excludes"},
      {"report --run " + no_metrics + " --map-points 50000", "at most 20000 map points"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  }
}
