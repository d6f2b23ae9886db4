// The image modality: Fashion-MNIST, an image folder or the images of an image-text dataset
// (captions unused, the image-text task's split by image), two augmented views per image, kNN
// and linear-probe evaluation of the frozen encoder.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/augment/pipeline.h"
#include "contra/core/error.h"
#include "contra/core/rng.h"
#include "contra/data/fashion_mnist.h"
#include "contra/data/image_folder.h"
#include "contra/data/image_text_split.h"
#include "contra/data/kinds.h"
#include "contra/data/loader.h"
#include "contra/eval/knn.h"
#include "contra/eval/linear_probe.h"
#include "contra/eval/retrieval.h"
#include "contra/run/export.h"
#include "contra/run/image_text_data.h"
#include "contra/run/task.h"

namespace contra::run {
namespace {

using Clock = std::chrono::steady_clock;

data::ImageDataset slice(const data::ImageDataset& d, int64_t begin, int64_t end) {
  data::ImageDataset out;
  out.images = d.images.slice(0, begin, end).contiguous();
  out.labels = d.labels.slice(0, begin, end).contiguous();
  out.class_names = d.class_names;
  return out;
}

/// Mixed supervision: keeps each label with probability `fraction` (seeded per sample), -1
/// elsewhere. Only the contrastive loss sees the result; evaluation keeps every label.
torch::Tensor keep_label_fraction(const torch::Tensor& labels, double fraction, uint64_t seed) {
  auto out = labels.clone();
  auto* y = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < out.numel(); ++i)
    if (!Rng(derive_seed(seed, uint64_t(i), 0x6c6162656c73ull /* "labels" */)).bernoulli(fraction))
      y[i] = -1;
  return out;
}

/// `take` of the indices 0..n-1 (all when take >= n), a seeded draw without replacement (a
/// partial Fisher-Yates on contra::Rng: the global generator is left alone), in the order drawn.
std::vector<int64_t> image_task_sample(int64_t n, int64_t take, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  take = std::min(take, n);
  Rng rng(seed);
  for (int64_t i = 0; i < take; ++i)
    std::swap(order[size_t(i)], order[size_t(i + int64_t(rng.below(uint64_t(n - i))))]);
  order.resize(size_t(take));
  return order;
}

data::ImageDataset image_task_subset(const data::ImageDataset& d, const std::vector<int64_t>& rows) {
  const auto index = torch::tensor(rows, torch::kLong);
  data::ImageDataset out;
  out.images = d.images.index_select(0, index).contiguous();
  out.labels = d.labels.index_select(0, index).contiguous();
  out.class_names = d.class_names;
  return out;
}

/// Evaluation images whose two augmented views measure alignment (a seeded sample).
constexpr int64_t kAlignmentImages = 5000;
/// The online monitor's kNN bank and queries, drawn once from the training images.
constexpr int64_t kMonitorBank = 5000, kMonitorQueries = 1000;

class ImageTask : public Task {
 public:
  explicit ImageTask(const ResolvedRun& run) : run_(run), cfg_(run_.config) {}

  void load(bool with_training) override {
    data::ImageDataset train, test;
    const bool want_test = run_.eval_split == data::EvalSplit::kTest;
    const auto image_text = data::image_text_dataset_kinds();
    const bool from_image_text = std::count(image_text.begin(), image_text.end(), run_.dataset) > 0;
    if (from_image_text) {
      std::tie(train, test) = read_image_text_images();
    } else {
      train = read(data::Split::kTrain);
      if (want_test) test = read(data::Split::kTest);
    }
    if (!want_test && !from_image_text) {
      const int64_t n = train.size(), v = cfg_.eval.val_size;
      CONTRA_CHECK(v < n, "eval.val_size (", v, ") must be smaller than the training set (", n, ")");
      test = slice(train, n - v, n);
      train = slice(train, 0, n - v);
    }
    if (cfg_.data.limit > 0 && cfg_.data.limit < train.size()) train = slice(train, 0, cfg_.data.limit);
    if (with_training)
      CONTRA_CHECK(cfg_.train.batch_size <= train.size(), "train.batch_size (", cfg_.train.batch_size,
                   ") is larger than the training set (", train.size(), " images)");
    train_ = std::move(train);
    evaluation_ = std::move(test);
  }

  void prepare_folder(const std::string&) override {}
  void open(const std::string&) override {}

  void use_settings(const TuneSettings& settings) override { apply_settings(settings, run_.config); }

  std::shared_ptr<methods::Method> make_method() override {
    // Fashion-MNIST is grayscale; an image folder is read with data.channels.
    auto method = run::make_method(cfg_, image_shape().first);
    if (!cfg_.model.init_from.empty()) start_from_file(*method);
    const auto& objective = method->objective();
    objective_uses_labels_ = objective.kind() == methods::TwoViewLoss::kSupCon ||
                             (objective.kind() == methods::TwoViewLoss::kTriplet &&
                              objective.triplet_labels());
    return method;
  }

  std::unique_ptr<data::BatchSource> make_source() override {
    data::ImageDataset contrastive = train_;  // shares the images
    if (objective_uses_labels_)
      contrastive.labels = keep_label_fraction(train_.labels, cfg_.loss.label_fraction, cfg_.seed);
    return std::make_unique<data::TwoViewLoader>(contrastive, augment::Pipeline(pipeline_options(cfg_)),
                                                 data::LoaderOptions(run_.global_batch)
                                                     .seed(cfg_.seed)
                                                     .workers(cfg_.data.workers)
                                                     .prefetch(cfg_.data.prefetch)
                                                     .rank(run_.rank)
                                                     .world_size(run_.world_size));
  }

  data::Batch eval_inputs(const at::Tensor& images, const std::vector<std::string>& texts) const override {
    CONTRA_CHECK(texts.empty(), "this run's encoder takes images, not text");
    const auto [c, s] = image_shape();
    CONTRA_CHECK(images.dim() == 4 && images.size(1) == c && images.size(2) == s && images.size(3) == s,
                 "this run's encoder takes images [N, ", c, ", ", s, ", ", s, "], got ", images.sizes());
    data::Batch b;
    b.view1 = augment::normalize_images(images, cfg_.augment.mean, cfg_.augment.std);
    return b;
  }

  std::pair<int64_t, int64_t> image_shape() const override {
    // Fashion-MNIST is 28x28 grayscale; an image folder is read with data.channels, data.image_size.
    if (run_.dataset == data::DatasetKind::kFashionMNIST) return {1, 28};
    return {cfg_.data.channels, cfg_.data.image_size};
  }

  EvalResult evaluate(methods::Method& method) override {
    EvalResult r;
    r.done = true;
    r.split = cfg_.eval.split;
    r.knn_k = cfg_.eval.knn_k;
    r.knn_temperature = cfg_.eval.knn_temperature;
    const auto t0 = Clock::now();
    CONTRA_CHECK((train_.labels >= 0).all().item<bool>() && (evaluation_.labels >= 0).all().item<bool>(),
                 "evaluation needs labels for every image");
    auto train_f = features(method, train_), eval_f = features(method, evaluation_);
    r.embed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    r.knn_acc = knn(train_f, eval_f);
    r.class_retrieval = true;
    r.retrieval_trained = eval::class_retrieval(eval_f, evaluation_.labels);
    {
      const auto g0 = Clock::now();
      const auto [v1, v2] = view_pairs([&](const torch::Tensor& v) { return features_of_views(method, v); });
      r.rep_trained = representation_metrics(eval_f, evaluation_.labels, v1, v2, cfg_.seed);
      r.geometry_s = std::chrono::duration<double>(Clock::now() - g0).count();
    }
    if (cfg_.eval.linear) add_linear_probe(r, train_f, train_.labels, eval_f, evaluation_.labels, cfg_.seed);
    if (cfg_.eval.baselines) {
      torch::manual_seed(cfg_.seed);  // the initialisation training started from
      auto untrained = make_method();
      untrained->to(run_.device);
      const auto untrained_eval = features(*untrained, evaluation_), pixels_eval = pixels(evaluation_);
      r.untrained_knn_acc = knn(features(*untrained, train_), untrained_eval);
      r.pixels_knn_acc = knn(pixels(train_), pixels_eval);
      r.retrieval_untrained = eval::class_retrieval(untrained_eval, evaluation_.labels);
      r.retrieval_pixels = eval::class_retrieval(pixels_eval, evaluation_.labels);
      const auto g0 = Clock::now();
      const auto [u1, u2] = view_pairs([&](const torch::Tensor& v) { return features_of_views(*untrained, v); });
      r.rep_untrained = representation_metrics(untrained_eval, evaluation_.labels, u1, u2, cfg_.seed);
      const auto [p1, p2] = view_pairs([&](const torch::Tensor& v) { return pixel_features(v); });
      r.rep_pixels = representation_metrics(pixels_eval, evaluation_.labels, p1, p2, cfg_.seed);
      r.geometry_s += std::chrono::duration<double>(Clock::now() - g0).count();
    }
    r.eval_s = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
  }

  nlohmann::json monitor(methods::Method& method) override {
    if (!monitor_bank_.images.defined()) {
      // Drawn once, with the run's seed: queries first, the bank from the other images.
      const int64_t n = train_.size();
      if (n < 2 || !(train_.labels >= 0).all().item<bool>()) return nlohmann::json::object();
      const int64_t queries = std::min(kMonitorQueries, n / 2);
      const auto order = image_task_sample(n, queries + std::min(kMonitorBank, n - queries),
                                           derive_seed(cfg_.seed, 0x6d6f6e69746f72ull /* "monitor" */));
      auto query_rows = std::vector<int64_t>(order.begin(), order.begin() + queries);
      auto bank_rows = std::vector<int64_t>(order.begin() + queries, order.end());
      std::sort(query_rows.begin(), query_rows.end());
      std::sort(bank_rows.begin(), bank_rows.end());
      monitor_queries_ = image_task_subset(train_, query_rows);
      monitor_bank_ = image_task_subset(train_, bank_rows);
    }
    return {{"monitor_knn_acc",
             eval::knn_accuracy(features(method, monitor_bank_), monitor_bank_.labels,
                                features(method, monitor_queries_), monitor_queries_.labels,
                                eval::KnnOptions().k(cfg_.eval.knn_k).temperature(cfg_.eval.knn_temperature))}};
  }

  ReportInputs report_inputs(methods::Method& method) override {
    ReportInputs r;
    r.features = features(method, evaluation_);
    r.labels = evaluation_.labels;
    r.class_names = evaluation_.class_names;
    r.items = run_.eval_split == data::EvalSplit::kTest ? "test images" : "validation images";
    r.images = evaluation_.images;
    // The pairs alignment is measured on (summary.json alignment): the same seeded sample.
    std::tie(r.first, r.second) =
        view_pairs([&](const torch::Tensor& v) { return features_of_views(method, v); });
    r.pair_items = torch::arange(r.first.size(0), torch::kLong);
    r.positives = "two augmented views of one image (the run's augmentations)";
    return r;
  }

  nlohmann::json describe() const override {
    return {{"train_images", train_.size()}, {"eval_images", evaluation_.size()}};
  }

  std::string banner() const override { return std::to_string(train_.size()) + " training images"; }

 private:
  /// The images of an image-text dataset, split as the image-text task splits them (same
  /// data.val_fraction, data.test_fraction, data.split_seed), so that an image method and clip
  /// train and evaluate on the same images.
  std::pair<data::ImageDataset, data::ImageDataset> read_image_text_images() const {
    const bool val = run_.eval_split == data::EvalSplit::kVal;
    auto splits = data::split_image_text(read_image_text_dataset(run_), val ? cfg_.data.val_fraction : 0.0,
                                         cfg_.data.test_fraction, cfg_.data.split_seed);
    const auto images_of = [](const data::ImageTextDataset& d) {
      data::ImageDataset out;
      out.images = d.images;
      out.labels = d.labels;
      out.class_names = d.class_names;
      return out;
    };
    return {images_of(splits.train), images_of(val ? splits.val : splits.test)};
  }

  data::ImageDataset read(data::Split split) const {
    if (run_.dataset == data::DatasetKind::kFashionMNIST)
      return data::load_fashion_mnist(cfg_.data.path, split);
    CONTRA_CHECK(split == data::Split::kTrain || !cfg_.data.test_path.empty(),
                 "data.test_path must name the evaluation folder when data.dataset is "
                 "image_folder and eval.split is test (or set eval.split=val)");
    auto opts = data::ImageFolderOptions();
    opts.size = cfg_.data.image_size;
    opts.channels = cfg_.data.channels;
    return data::load_image_folder(split == data::Split::kTrain ? cfg_.data.path : cfg_.data.test_path,
                                   opts);
  }

  /// kNN accuracy (eval.knn_k, eval.knn_temperature) of the evaluation split against the
  /// training split, from their features.
  double knn(const torch::Tensor& train_f, const torch::Tensor& eval_f) const {
    return eval::knn_accuracy(
        train_f, train_.labels, eval_f, evaluation_.labels,
        eval::KnnOptions().k(cfg_.eval.knn_k).temperature(cfg_.eval.knn_temperature));
  }

  /// The images themselves as features, normalised as the views are and area-averaged to at
  /// most kMaxPixelFeatures values each (Fashion-MNIST's 784 stay as they are; 224x224 RGB
  /// would take 30 GB for 50,000 images), batch by batch: [n, <= kMaxPixelFeatures].
  torch::Tensor pixels(const data::ImageDataset& d) const {
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < d.size(); i += cfg_.eval.batch_size)
      parts.push_back(pixel_features(augment::normalize_images(
          d.images.slice(0, i, std::min(d.size(), i + cfg_.eval.batch_size)), cfg_.augment.mean,
          cfg_.augment.std)));
    return torch::cat(parts);
  }

  /// Normalised images [n, C, H, W] float as pixel features: area-averaged to at most
  /// kMaxPixelFeatures values each, [n, <= kMaxPixelFeatures].
  static torch::Tensor pixel_features(torch::Tensor x) {
    constexpr double kMaxPixelFeatures = 4096;
    const int64_t c = x.size(1), h = x.size(2), w = x.size(3);
    const int64_t side = std::max<int64_t>(1, static_cast<int64_t>(std::sqrt(kMaxPixelFeatures / double(c))));
    if (h * w * c > kMaxPixelFeatures)
      x = torch::adaptive_avg_pool2d(x, {std::min(h, side), std::min(w, side)});
    return x.flatten(1);
  }

  /// Frozen-encoder features of already normalised views [n, C, S, S] (one batch).
  torch::Tensor features_of_views(methods::Method& method, const torch::Tensor& views) const {
    return embed_all(method, views.size(0), views.size(0),
                     [&](int64_t, int64_t) {
                       data::Batch b;
                       b.view1 = views;
                       return b;
                     },
                     run_.device);
  }

  /// Positive pairs for alignment: two views of each of a seeded sample of up to
  /// kAlignmentImages evaluation images, made by the run's augmentation pipeline (its own
  /// seeds, derived from the run seed) eval.batch_size images at a time, each embedded by
  /// `embed`: ([n, d], [n, d]).
  std::pair<torch::Tensor, torch::Tensor> view_pairs(
      const std::function<torch::Tensor(const torch::Tensor&)>& embed) const {
    const uint64_t seed = derive_seed(cfg_.seed, 0x616c69676eull /* "align" */);
    const auto sample = image_task_subset(evaluation_, image_task_sample(evaluation_.size(), kAlignmentImages, seed));
    const augment::Pipeline pipeline(pipeline_options(cfg_));
    std::vector<torch::Tensor> first, second;
    for (int64_t i = 0; i < sample.size(); i += cfg_.eval.batch_size) {
      const auto images = sample.images.slice(0, i, std::min(sample.size(), i + cfg_.eval.batch_size));
      first.push_back(embed(pipeline(images, derive_seed(seed, uint64_t(i), 1))));
      second.push_back(embed(pipeline(images, derive_seed(seed, uint64_t(i), 2))));
    }
    return {torch::cat(first), torch::cat(second)};
  }

  /// Frozen-encoder features of all images, normalised as the views are.
  torch::Tensor features(methods::Method& method, const data::ImageDataset& d) const {
    return embed_all(method, d.size(), cfg_.eval.batch_size,
                     [&](int64_t i, int64_t j) { return eval_inputs(d.images.slice(0, i, j), {}); },
                     run_.device);
  }

  /// Loads model.init_from into the method's encoder; says once what it used and ignored.
  void start_from_file(methods::Method& method) {
    const InitReport report = init_encoder_from(method, cfg_.model.init_from);
    if (init_reported_) return;
    init_reported_ = true;
    std::string ignored;
    for (const auto& key : report.ignored) ignored += (ignored.empty() ? "" : ", ") + key;
    std::printf("model.init_from: %lld tensors from %s%s%s\n", static_cast<long long>(report.loaded),
                cfg_.model.init_from.c_str(), ignored.empty() ? "" : "; ignored: ", ignored.c_str());
  }

  ResolvedRun run_;
  const config::RunConfig& cfg_;
  data::ImageDataset train_, evaluation_;
  data::ImageDataset monitor_bank_, monitor_queries_;  ///< chosen at the first monitor()
  bool objective_uses_labels_ = false;
  bool init_reported_ = false;
};

}  // namespace

std::unique_ptr<Task> make_image_task(const ResolvedRun& run) {
  return std::make_unique<ImageTask>(run);
}

}  // namespace contra::run
