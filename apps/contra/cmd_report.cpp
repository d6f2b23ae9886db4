// contra report --run DIR [--out FILE]  |  contra report --compare DIR1 DIR2 ... [--out FILE]:
// one self-contained HTML page of a run (curves, embedding maps, neighbours, similarities,
// summary, config) or of several runs side by side (see contra/run/report.h).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "contra/core/error.h"
#include "contra/run/report.h"

namespace contra::app {

Action add_report(CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "write an HTML report of a run (or compare runs), viewable offline");
  auto run = std::make_shared<std::string>();
  auto compare = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto options = std::make_shared<run::ReportOptions>();
  auto map_points = std::make_shared<int64_t>(options->map_points());
  auto iterations = std::make_shared<int64_t>(options->tsne_iterations());
  auto curves_only = std::make_shared<bool>(false);
  auto* run_opt = cmd->add_option("--run", *run, "run folder written by contra train");
  auto* compare_opt = cmd->add_option("--compare", *compare, "two or more run folders: curves overlaid, summaries side by side");
  run_opt->excludes(compare_opt);
  cmd->add_option("--out", *out, "HTML file (default: DIR/report.html; with --compare, report-compare.html here)");
  cmd->add_option("--map-points", *map_points, "evaluation items in the PCA and t-SNE maps (a seeded sample; default 5000)");
  cmd->add_option("--tsne-iterations", *iterations, "t-SNE iterations; 0 = PCA map only (default 1000)");
  cmd->add_flag("--curves-only", *curves_only, "curves and tables only: no checkpoint, data or model loaded");
  return [=]() {
    CONTRA_CHECK(!run->empty() || !compare->empty(), "report needs --run DIR or --compare DIR1 DIR2 ...");
    run::ReportResult r;
    if (!compare->empty()) {
      CONTRA_CHECK(compare->size() >= 2, "--compare needs at least 2 run folders, got ", compare->size());
      r = run::write_comparison_report(*compare, out->empty() ? "report-compare.html" : *out);
    } else {
      r = run::write_run_report(*run, *out,
                                run::ReportOptions(*options).map_points(*map_points).tsne_iterations(*iterations)
                                    .curves_only(*curves_only));
    }
    if (!r.note.empty()) std::printf("note: %s\n", r.note.c_str());
    std::printf("report: %s (%lld charts, %.1f s)\n", r.path.c_str(), static_cast<long long>(r.charts), r.seconds);
    return 0;
  };
}

}  // namespace contra::app
