// What the run report shows, gathered from a run folder: its files, and the evaluation split
// embedded with the newest checkpoint through the run's task (maps, neighbours, histograms).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/config/component_keys.h"
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/core/rng.h"
#include "contra/core/runtime.h"
#include "contra/eval/pca.h"
#include "contra/eval/tsne.h"
#include "contra/run/checkpoints.h"
#include "contra/run/run_dir.h"
#include "contra/run/task.h"
#include "report_parts.h"

namespace fs = std::filesystem;

namespace contra::run::report_detail {
namespace {

using ReportClock = std::chrono::steady_clock;

double report_seconds_since(ReportClock::time_point t0) {
  return std::chrono::duration<double>(ReportClock::now() - t0).count();
}

/// `take` distinct indices of 0..n-1 (all when take >= n), a seeded partial Fisher-Yates,
/// sorted when `sorted`.
std::vector<int64_t> report_sample(int64_t n, int64_t take, uint64_t seed, bool sorted) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  take = std::min(take, n);
  Rng rng(seed);
  for (int64_t i = 0; i < take; ++i)
    std::swap(order[size_t(i)], order[size_t(i + int64_t(rng.below(uint64_t(n - i))))]);
  order.resize(size_t(take));
  if (sorted) std::sort(order.begin(), order.end());
  return order;
}

torch::Tensor report_unit_rows(const torch::Tensor& x) {
  return torch::nn::functional::normalize(
      x.to(torch::kFloat), torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
}

/// Coordinates rounded to 4 decimals: the page stays small, the map looks the same.
double report_round(double v) { return std::round(v * 1e4) / 1e4; }

ScatterMap report_map(std::string id, std::string title, const torch::Tensor& xy, const std::vector<int64_t>& labels) {
  ScatterMap m;
  m.id = std::move(id);
  m.title = std::move(title);
  const auto c = xy.to(torch::kDouble).contiguous();
  const double* p = c.data_ptr<double>();
  for (int64_t i = 0; i < c.size(0); ++i) {
    m.x.push_back(report_round(p[2 * i]));
    m.y.push_back(report_round(p[2 * i + 1]));
  }
  m.labels = labels;
  return m;
}

/// Map labels: the item's class, with one extra class for items without one (label < 0).
std::vector<int64_t> report_labels(const torch::Tensor& labels, std::vector<std::string>& names) {
  const auto l = labels.to(torch::kLong).contiguous();
  const int64_t* p = l.data_ptr<int64_t>();
  int64_t top = l.numel() ? l.max().item<int64_t>() : -1;
  for (int64_t k = int64_t(names.size()); k <= top; ++k) names.push_back("class " + std::to_string(k));
  std::vector<int64_t> out(size_t(l.numel()));
  bool unlabelled = false;
  for (int64_t i = 0; i < l.numel(); ++i) {
    out[size_t(i)] = p[i];
    unlabelled = unlabelled || p[i] < 0;
  }
  if (unlabelled) {
    const int64_t none = int64_t(names.size());
    names.push_back("no label");
    for (auto& v : out)
      if (v < 0) v = none;
  }
  return out;
}

/// PCA and t-SNE of a seeded sample of the items' (L2-normalised) features.
void report_maps(RunReport& r, const ReportInputs& in, const std::vector<int64_t>& labels,
                 const ReportOptions& o, uint64_t seed) {
  const int64_t n = in.features.size(0);
  const auto rows = report_sample(n, o.map_points(), derive_seed(seed, 0x6d6170ull /* "map" */), true);
  const auto x = report_unit_rows(in.features.index_select(0, torch::tensor(rows, torch::kLong)));
  std::vector<int64_t> sample_labels;
  for (const int64_t i : rows) sample_labels.push_back(labels[size_t(i)]);
  const std::string sample = int64_t(rows.size()) < n
                                 ? std::to_string(rows.size()) + " of the " + std::to_string(n) + " " + r.items +
                                       " (a seeded sample)"
                                 : "all " + std::to_string(n) + " " + r.items;
  if (x.size(0) < 3 || x.size(1) < 2) {
    r.note = "too few evaluation items for a map";
    return;
  }
  const auto pca = eval::pca(x, 2);
  ScatterMap p = report_map("map-pca", "PCA", pca.scores, sample_labels);
  p.note = sample + ", L2-normalised encoder features; the two components explain " +
           c10::str(std::round(1000 * pca.explained.sum().item<double>()) / 10) + "% of the variance";
  r.maps.push_back(std::move(p));
  const double perplexity = std::min(o.perplexity(), double(x.size(0) - 1) / 3.0);
  if (o.tsne_iterations() == 0 || perplexity <= 1.0) return;
  const auto t0 = ReportClock::now();
  const auto y = eval::tsne(x, eval::TsneOptions()
                                   .perplexity(perplexity)
                                   .iterations(o.tsne_iterations())
                                   .seed(derive_seed(seed, 0x74736e65ull /* "tsne" */)));
  r.tsne_s = report_seconds_since(t0);
  ScatterMap t = report_map("map-tsne", "t-SNE", y, sample_labels);
  t.note = sample + ", exact t-SNE: perplexity " + c10::str(perplexity) + ", " +
           std::to_string(o.tsne_iterations()) + " iterations, " + c10::str(std::round(r.tsne_s * 10) / 10) + " s";
  r.maps.push_back(std::move(t));
}

/// [C, H, W] uint8 image as base64 PNG, area-averaged to at most 96 pixels a side (a page of
/// 72 full-size 224x224 photos would weigh megabytes).
std::string report_png(const torch::Tensor& chw) {
  constexpr int64_t kThumbnail = 96;
  torch::Tensor image = chw;
  const int64_t h = chw.size(1), w = chw.size(2), side = std::max(h, w);
  if (side > kThumbnail) {
    namespace F = torch::nn::functional;
    const std::vector<int64_t> size{std::max<int64_t>(1, h * kThumbnail / side), std::max<int64_t>(1, w * kThumbnail / side)};
    image = F::interpolate(chw.unsqueeze(0).to(torch::kFloat), F::InterpolateFuncOptions().size(size).mode(torch::kArea))
                .squeeze(0).round().clamp(0, 255).to(torch::kUInt8);
  }
  const auto hwc = image.permute({1, 2, 0}).contiguous();
  return png_base64(hwc.data_ptr<uint8_t>(), int(hwc.size(1)), int(hwc.size(0)), int(hwc.size(2)));
}

/// Image runs: seeded queries and their nearest other evaluation images by cosine similarity.
void report_image_neighbours(RunReport& r, const ReportInputs& in, const std::vector<int64_t>& labels,
                             const ReportOptions& o, uint64_t seed) {
  const int64_t n = in.features.size(0);
  const int64_t k = std::min(o.neighbours(), n - 1);
  if (o.queries() <= 0 || k <= 0) return;
  const auto x = report_unit_rows(in.features);
  const auto queries = report_sample(n, o.queries(), derive_seed(seed, 0x7175657279ull /* "query" */), false);
  const auto q = torch::tensor(queries, torch::kLong);
  auto sims = torch::mm(x.index_select(0, q), x.t());
  sims.scatter_(1, q.unsqueeze(1), -std::numeric_limits<float>::infinity());  // not itself
  const auto [top, nearest] = sims.topk(k, 1);
  const auto images = in.images.to(torch::kUInt8);
  for (size_t a = 0; a < queries.size(); ++a) {
    QueryRow row;
    row.query.png_base64 = report_png(images[queries[a]]);
    row.query.label = labels[size_t(queries[a])];
    for (int64_t b = 0; b < k; ++b) {
      GridItem item;
      const int64_t j = nearest[int64_t(a)][b].item<int64_t>();
      item.png_base64 = report_png(images[j]);
      item.label = labels[size_t(j)];
      item.similarity = top[int64_t(a)][b].item<double>();
      item.same = item.label == row.query.label;
      row.neighbours.push_back(std::move(item));
    }
    r.neighbours.push_back(std::move(row));
  }
}

/// Text runs: seeded query sentences and the definitions they retrieve first.
void report_text_neighbours(RunReport& r, const ReportInputs& in, const std::vector<int64_t>& labels,
                            const ReportOptions& o, uint64_t seed) {
  const int64_t n = in.features.size(0), m = in.document_features.size(0);
  const int64_t k = std::min(o.neighbours(), m);
  if (o.queries() <= 0 || k <= 0) return;
  const auto queries = report_sample(n, o.queries(), derive_seed(seed, 0x7175657279ull /* "query" */), false);
  const auto q = torch::tensor(queries, torch::kLong);
  const auto sims = torch::mm(report_unit_rows(in.features.index_select(0, q)),
                              report_unit_rows(in.document_features).t());
  const auto [top, nearest] = sims.topk(k, 1);
  for (size_t a = 0; a < queries.size(); ++a) {
    QueryRow row;
    const int64_t target = in.targets[queries[a]].item<int64_t>();
    row.query.text = in.texts[size_t(queries[a])];
    row.query.label = labels[size_t(queries[a])];
    // Rank of the query's own definition; ties count against it, as the evaluation does.
    const double own = sims[int64_t(a)][target].item<double>();
    row.target_rank = (sims[int64_t(a)] >= own).sum().item<int64_t>();
    for (int64_t b = 0; b < k; ++b) {
      GridItem item;
      const int64_t j = nearest[int64_t(a)][b].item<int64_t>();
      item.text = in.documents[size_t(j)];
      item.similarity = top[int64_t(a)][b].item<double>();
      item.same = j == target;
      row.neighbours.push_back(std::move(item));
    }
    r.neighbours.push_back(std::move(row));
  }
}

/// Cosine similarities of the positive pairs and of as many negative pairs (first[i] with the
/// second of another item, a seeded pairing), binned over [-1, 1].
void report_histogram(RunReport& r, const ReportInputs& in, uint64_t seed) {
  constexpr int64_t kBins = 50;
  const auto a = report_unit_rows(in.first), b = report_unit_rows(in.second);
  const int64_t p = a.size(0);
  if (p < 2) return;
  const auto positive = (a * b).sum(1);
  const auto perm = report_sample(p, p, derive_seed(seed, 0x6e6567ull /* "neg" */), false);
  const auto partner = torch::tensor(perm, torch::kLong);
  const auto items = in.pair_items.to(torch::kLong);
  const auto differ = items.ne(items.index_select(0, partner));
  const auto negative = (a * b.index_select(0, partner)).sum(1).masked_select(differ);
  SimilarityHistogram& h = r.histogram;
  h.positives_are = in.positives;
  h.positives = p;
  h.negatives = negative.numel();
  h.positive_mean = positive.mean().item<double>();
  h.negative_mean = h.negatives ? negative.mean().item<double>() : 0.0;
  for (int64_t k = 0; k <= kBins; ++k) h.edges.push_back(-1.0 + 2.0 * double(k) / double(kBins));
  const auto share = [&](const torch::Tensor& s) {
    std::vector<double> out(size_t(kBins), 0.0);
    if (s.numel() == 0) return out;
    const auto bins = ((s.to(torch::kDouble).clamp(-1.0, 1.0) + 1.0) / 2.0 * double(kBins)).floor().clamp(0, kBins - 1).to(torch::kLong);
    const auto counts = torch::bincount(bins, {}, kBins);
    for (int64_t k = 0; k < kBins; ++k) out[size_t(k)] = report_round(double(counts[k].item<int64_t>()) / double(s.numel()));
    return out;
  };
  h.positive = share(positive);
  h.negative = share(negative);
}

/// Embeds the evaluation split with the newest checkpoint and fills maps, neighbours and the
/// histogram.
void report_embeddings(RunReport& r, const RunDir& dir, const ReportOptions& o) {
  const auto t0 = ReportClock::now();
  const ResolvedRun run = resolve(config::load(dir.file("config.yaml")));
  const auto& cfg = run.config;
  set_threads(int(cfg.threads));
  std::unique_ptr<Task> task;
  std::shared_ptr<methods::Method> method;
  config::with_config_keys([&] {
    task = make_task(run);
    task->load(/*with_training=*/false);
    task->open(dir.path());
    torch::manual_seed(cfg.seed);
    method = task->make_method();
  });
  r.checkpoint_step = Checkpoints(dir.path(), cfg.train.keep_checkpoints).load_latest(*method, nullptr).step;
  method->to(run.device);
  method->eval();
  const ReportInputs in = task->report_inputs(*method);
  r.embed_s = report_seconds_since(t0);
  r.images = in.images.defined();
  r.items = in.items;
  r.item_count = in.features.size(0);
  r.class_names = in.class_names;
  const auto labels = report_labels(in.labels, r.class_names);
  const uint64_t seed = derive_seed(cfg.seed, 0x7265706f7274ull /* "report" */);
  report_maps(r, in, labels, o, seed);
  if (r.images)
    report_image_neighbours(r, in, labels, o, seed);
  else
    report_text_neighbours(r, in, labels, o, seed);
  report_histogram(r, in, seed);
  r.embeddings = true;
}

}  // namespace

RunReport gather_run(const std::string& path, const ReportOptions& o) {
  CONTRA_CHECK(o.map_points() >= 0 && o.tsne_iterations() >= 0 && o.queries() >= 0 && o.neighbours() >= 0,
               "report: map points, t-SNE iterations, queries and neighbours must be >= 0");
  CONTRA_CHECK(o.map_points() <= 20000, "report: at most 20000 map points (exact t-SNE holds an N x N matrix), got ",
               o.map_points());
  CONTRA_CHECK(o.perplexity() > 1, "report: the t-SNE perplexity must be > 1, got ", o.perplexity());
  const RunDir dir = RunDir::open(path);
  RunReport r;
  r.dir = fs::absolute(path).lexically_normal().string();
  if (!r.dir.empty() && r.dir.back() == '/') r.dir.pop_back();
  r.name = fs::path(r.dir).filename().string();
  r.config_yaml = dir.read_file("config.yaml");
  CONTRA_CHECK(fs::exists(dir.file("metrics.jsonl")), "'", path,
               "' has no metrics.jsonl: the run has not logged a step yet");
  r.metrics = read_metrics(dir.file("metrics.jsonl"));
  if (fs::exists(dir.file("summary.json"))) {
    try {
      r.summary = nlohmann::json::parse(dir.read_file("summary.json"));
    } catch (const nlohmann::json::exception& e) {
      CONTRA_CHECK(false, dir.file("summary.json"), " is not valid JSON: ", e.what());
    }
  }
  if (o.curves_only()) {
    r.note = "curves and tables only (no embeddings asked for)";
  } else if (!fs::exists(dir.file("checkpoint.pt"))) {
    r.note = "no checkpoint (checkpoint.pt) in the run folder yet: the embedding maps, neighbours and "
             "similarity histograms need one; curves and tables only";
  } else {
    report_embeddings(r, dir, o);
  }
  return r;
}

}  // namespace contra::run::report_detail
