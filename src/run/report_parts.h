// The run report's parts (private to src/run): what is gathered from a run folder
// (report_data.cpp, report_metrics.cpp), the images it inlines (report_png.cpp) and the pages
// written from it (report_html.cpp). The entry points are in contra/run/report.h.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "contra/run/report.h"

namespace contra::run::report_detail {

/// One numeric column of metrics.jsonl: the step and value of every line that has it (null, a
/// skipped step's loss, as nullopt: a gap in the curve).
struct Curve {
  std::string column;
  std::vector<int64_t> steps;
  std::vector<std::optional<double>> values;
};

struct RunMetrics {
  std::vector<Curve> curves;  ///< in order of first appearance
  int64_t lines = 0;          ///< lines read
  std::string note;           ///< e.g. a half-written last line that was skipped
};

/// Reads metrics.jsonl: one JSON object per line, numeric columns become curves ("step" is the
/// x axis, "epoch" is left out). Throws contra::Error naming file and line for a malformed line
/// (a malformed last line, a run killed while writing it, is skipped with a note).
RunMetrics read_metrics(const std::string& path);

/// A 2-D map of the evaluation items: one point per item, coloured by label.
struct ScatterMap {
  std::string id, title, note;
  std::vector<double> x, y;
  std::vector<int64_t> labels;  ///< indices into RunReport::class_names
};

/// One item of the neighbour grid: an image (base64 PNG) or a text.
struct GridItem {
  std::string png_base64, text;
  int64_t label = 0;
  double similarity = 0;
  bool same = false;  ///< same class as the query (text: the query's own definition)
};

struct QueryRow {
  GridItem query;
  std::vector<GridItem> neighbours;
  int64_t target_rank = 0;  ///< text runs: rank of the query's own definition (1 = first)
};

/// Histograms of positive- and negative-pair cosine similarities over [-1, 1].
struct SimilarityHistogram {
  std::vector<double> edges;               ///< bins + 1 edges
  std::vector<double> positive, negative;  ///< share of the pairs in each bin
  double positive_mean = 0, negative_mean = 0;
  int64_t positives = 0, negatives = 0;
  std::string positives_are;  ///< what a positive pair is, in words
};

/// Everything one run's page shows.
struct RunReport {
  std::string dir, name;
  nlohmann::json summary;  ///< summary.json, or null when the run has none (not finished)
  std::string config_yaml;
  RunMetrics metrics;
  bool embeddings = false;
  std::string note;  ///< why there are no embeddings (no checkpoint, ...)
  int64_t checkpoint_step = 0;
  bool images = false;      ///< an image run (else text)
  std::string items;        ///< what the evaluation items are ("test images")
  int64_t item_count = 0;   ///< evaluation items embedded
  std::vector<std::string> class_names;
  std::vector<ScatterMap> maps;
  std::vector<QueryRow> neighbours;
  SimilarityHistogram histogram;
  double embed_s = 0, tsne_s = 0;
};

/// Reads the run folder (config, metrics, summary) and, unless options.curves_only() or there
/// is no checkpoint (then `note` says so), embeds its evaluation split with the newest
/// checkpoint and computes maps, neighbours and histograms.
RunReport gather_run(const std::string& dir, const ReportOptions& options);

/// The pages: HTML with Chart.js inlined; `charts` is set to the number of charts drawn.
std::string run_page(const RunReport& run, int64_t& charts);
std::string comparison_page(const std::vector<RunReport>& runs, int64_t& charts);

/// An 8-bit image, rows of width x channels bytes (channels 1 or 3), as PNG, base64-encoded.
/// (report_png.cpp: stb_image_write, compiled on its own, without the LibTorch header.)
std::string png_base64(const unsigned char* pixels, int width, int height, int channels);
std::string base64(const std::string& bytes);

/// Chart.js's UMD build (from Debian's libjs-chart.js, inlined at build time) and its version.
const char* chartjs_source();
std::string chartjs_version();

}  // namespace contra::run::report_detail
