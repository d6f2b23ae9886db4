#pragma once
// The run report: one self-contained HTML page (Chart.js and the images inlined, nothing
// fetched) that shows a run folder: training curves from metrics.jsonl, 2-D maps of the
// evaluation embeddings (PCA and t-SNE), nearest neighbours of a few queries, histograms of
// positive- and negative-pair similarities, summary.json and config.yaml. `contra report`
// writes it, and `contra train` at the end of every run (report.enabled).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/arg.h>

namespace contra::run {

struct ReportOptions {
  /// Evaluation items in the embedding maps: a seeded sample of at most this many (default
  /// 5,000; exact t-SNE costs O(N^2) memory and time per iteration).
  TORCH_ARG(int64_t, map_points) = 5000;
  /// t-SNE gradient-descent iterations (default 1000); 0 = no t-SNE map (PCA only).
  TORCH_ARG(int64_t, tsne_iterations) = 1000;
  /// t-SNE perplexity (default 30; lowered to (N - 1) / 3 for a map of fewer points).
  TORCH_ARG(double, perplexity) = 30.0;
  /// Nearest-neighbour grid: this many seeded queries, each with this many neighbours (default
  /// 8 and 8; text runs: definitions retrieved per query sentence).
  TORCH_ARG(int64_t, queries) = 8;
  TORCH_ARG(int64_t, neighbours) = 8;
  /// Leave out everything that needs the checkpoint (maps, neighbours, histograms): curves and
  /// tables only, without loading data or model (default false).
  TORCH_ARG(bool, curves_only) = false;
};

/// What a report holds and where it went.
struct ReportResult {
  std::string path;         ///< the HTML file written
  bool embeddings = false;  ///< maps, neighbours and histograms are in it
  std::string note;         ///< why they are not (no checkpoint, ...), empty otherwise
  int64_t charts = 0;       ///< Chart.js charts on the page
  double seconds = 0;       ///< time taken (embedding the evaluation split and t-SNE included)
};

/// Writes the report of the run in `run_dir` to `out` (default: run_dir/report.html),
/// atomically. The embeddings come from the newest checkpoint through the run's task (the
/// evaluation split, encoder features); a run without a checkpoint gets curves and tables and
/// a note saying so. Throws contra::Error for a folder that is not a run (no config.yaml), a
/// run without metrics.jsonl, or a malformed metrics line (a half-written last line is skipped).
ReportResult write_run_report(const std::string& run_dir, const std::string& out = "",
                              const ReportOptions& options = {});

/// Writes one page comparing the runs in `run_dirs` (at least 2): their curves overlaid, their
/// summary.json side by side and the config keys where they differ. Throws contra::Error as
/// write_run_report does, and for fewer than 2 folders.
ReportResult write_comparison_report(const std::vector<std::string>& run_dirs, const std::string& out);

}  // namespace contra::run
