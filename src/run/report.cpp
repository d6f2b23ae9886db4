// The run report's entry points: gather, write the page, write the file atomically.
#include "contra/run/report.h"

#include <chrono>
#include <filesystem>

#include "contra/core/error.h"
#include "contra/core/files.h"
#include "report_parts.h"

namespace contra::run {
namespace {

double report_elapsed(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

namespace report_detail {
std::string chartjs_version() {
  // The build's banner comment: "/*! * Chart.js v3.9.1 ...".
  const std::string head = std::string(chartjs_source()).substr(0, 300);
  const auto at = head.find("Chart.js v");
  if (at == std::string::npos) return "(version unknown)";
  const auto begin = at + 9, end = head.find_first_of(" \n\r*", begin);
  return head.substr(begin, end - begin);
}
}  // namespace report_detail

ReportResult write_run_report(const std::string& run_dir, const std::string& out, const ReportOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto run = report_detail::gather_run(run_dir, options);
  ReportResult r;
  r.path = out.empty() ? (std::filesystem::path(run_dir) / "report.html").string() : out;
  const std::string page = report_detail::run_page(run, r.charts);
  write_file_atomically(r.path, page);
  r.embeddings = run.embeddings;
  r.note = run.embeddings ? "" : run.note;
  r.seconds = report_elapsed(t0);
  return r;
}

ReportResult write_comparison_report(const std::vector<std::string>& run_dirs, const std::string& out) {
  CONTRA_CHECK(run_dirs.size() >= 2, "--compare needs at least 2 run folders, got ", run_dirs.size());
  CONTRA_CHECK(!out.empty(), "the comparison needs an output file");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<report_detail::RunReport> runs;
  for (const auto& dir : run_dirs) runs.push_back(report_detail::gather_run(dir, ReportOptions().curves_only(true)));
  ReportResult r;
  r.path = out;
  write_file_atomically(r.path, report_detail::comparison_page(runs, r.charts));
  r.seconds = report_elapsed(t0);
  return r;
}

}  // namespace contra::run
