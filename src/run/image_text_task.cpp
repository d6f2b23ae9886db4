// The image-text modality (method clip): (image, caption) pairs split by image, one augmented
// view and one drawn caption per image and step, a SentencePiece tokenizer trained into the run
// folder on the training captions; evaluation in the shared space (zero-shot classification,
// image<->text retrieval) and of the image tower's features (kNN, linear probe), trained and
// untrained.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/augment/pipeline.h"
#include "contra/core/error.h"
#include "contra/data/image_text_loader.h"
#include "contra/data/image_text_split.h"
#include "contra/data/tokenizer.h"
#include "contra/data/wordnet_text.h"
#include "contra/eval/cross_modal.h"
#include "contra/eval/knn.h"
#include "contra/eval/linear_probe.h"
#include "contra/eval/zero_shot.h"
#include "contra/methods/clip.h"
#include "contra/run/export.h"
#include "contra/run/image_text_data.h"
#include "contra/run/task.h"

namespace contra::run {
namespace {

using Clock = std::chrono::steady_clock;
double image_text_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// The first `n` images of `d` with their captions, labels and ids.
data::ImageTextDataset image_text_head(const data::ImageTextDataset& d, int64_t n) {
  data::ImageTextDataset out;
  out.images = d.images.slice(0, 0, n).contiguous();
  out.labels = d.labels.slice(0, 0, n).contiguous();
  out.captions.assign(d.captions.begin(), d.captions.begin() + n);
  out.ids.assign(d.ids.begin(), d.ids.begin() + std::min<int64_t>(n, int64_t(d.ids.size())));
  out.class_names = d.class_names;
  return out;
}

/// The images of `d` with a class (>= 0); none where the dataset names no classes.
data::ImageTextDataset labelled_images(const data::ImageTextDataset& d) {
  if (d.class_names.empty() || !d.labels.defined()) return data::select_image_text(d, {});
  const auto rows = (d.labels >= 0).nonzero().squeeze(1).contiguous();
  return data::select_image_text(d, std::vector<int64_t>(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.numel()));
}

class ImageTextTask : public Task {
 public:
  explicit ImageTextTask(const ResolvedRun& run) : run_(run), cfg_(run_.config) {}

  void load(bool with_training) override {
    const bool val = run_.eval_split == data::EvalSplit::kVal;
    auto splits = data::split_image_text(read_image_text_dataset(run_), val ? cfg_.data.val_fraction : 0.0,
                                         cfg_.data.test_fraction, cfg_.data.split_seed);
    train_ = std::move(splits.train);
    evaluation_ = std::move(val ? splits.val : splits.test);
    if (cfg_.data.limit > 0 && cfg_.data.limit < train_.size()) train_ = image_text_head(train_, cfg_.data.limit);
    if (!cfg_.eval.class_names.empty()) {  // the user's zero-shot names, in the dataset's order
      const auto& own = evaluation_.class_names;
      std::string listed;
      for (const auto& name : own) listed += (listed.empty() ? "" : ", ") + name;
      CONTRA_CHECK(cfg_.eval.class_names.size() == own.size(), "eval.class_names has ",
                   cfg_.eval.class_names.size(), " name(s); the dataset has ", own.size(), " classes, in this order: ",
                   listed);
      train_.class_names = evaluation_.class_names = cfg_.eval.class_names;
    }
    if (with_training)
      CONTRA_CHECK(cfg_.train.batch_size <= train_.size(), "train.batch_size (", cfg_.train.batch_size,
                   ") is larger than the training set (", train_.size(), " images)");
    if (cfg_.eval.enabled || !with_training)
      CONTRA_CHECK(evaluation_.size() >= 2, "the ", cfg_.eval.split, " split has ", evaluation_.size(),
                   " image(s); evaluation needs at least 2 (raise data.", val ? "val" : "test", "_fraction)");
  }

  void prepare_folder(const std::string& folder) override {
    if (!cfg_.text.tokenizer_model.empty()) return;
    const auto t0 = Clock::now();
    std::vector<std::string> corpus;
    for (const auto& captions : train_.captions) corpus.insert(corpus.end(), captions.begin(), captions.end());
    data::train_tokenizer(corpus, tokenizer_path(folder),
                          tokenizer_options(cfg_).threads(std::max(1, int(at::get_num_threads()))));
    tokenizer_s_ = image_text_since(t0);
  }

  void open(const std::string& folder) override {
    const auto t0 = Clock::now();
    tokenizer_.emplace(data::Tokenizer::load(tokenizer_path(folder)));
    tokenizer_s_ += image_text_since(t0);
    tokenizer_file_ = tokenizer_path(folder);
  }

  void use_settings(const TuneSettings& settings) override { apply_settings(settings, run_.config); }

  std::shared_ptr<methods::Method> make_method() override {
    auto method = std::make_shared<methods::CLIPImpl>(
        clip_options(cfg_, image_shape().first, tokenizer().vocab_size()));
    if (!cfg_.model.init_from.empty()) {
      const InitReport report = init_encoder_from(*method, cfg_.model.init_from);
      if (!init_reported_) {
        init_reported_ = true;
        std::printf("model.init_from: %lld tensors from %s into the image tower\n",
                    static_cast<long long>(report.loaded), cfg_.model.init_from.c_str());
      }
    }
    return method;
  }

  std::unique_ptr<data::BatchSource> make_source() override {
    return std::make_unique<data::ImageTextLoader>(train_, augment::Pipeline(pipeline_options(cfg_)), tokenizer(),
                                                   data::ImageTextLoaderOptions(run_.global_batch)
                                                       .seed(cfg_.seed)
                                                       .max_len(cfg_.text.max_len)
                                                       .rank(run_.rank)
                                                       .world_size(run_.world_size),
                                                   caption_augmenter());
  }

  /// text.augment applied to each drawn caption (identity by default); synonyms from all of
  /// WordNet (no WordNet synset is evaluated in a CLIP run).
  augment::TextAugmenter caption_augmenter() const {
    const auto options = text_augment_options(cfg_);
    const auto& ops = options.ops();
    std::shared_ptr<const augment::SynonymTable> synonyms;
    if (std::find(ops.begin(), ops.end(), augment::TextOp::kSynonym) != ops.end()) {
      const auto wordnet = data::load_wordnet(cfg_.text.wordnet_dir);
      std::vector<int64_t> all(wordnet.synsets.size());
      for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
      synonyms = std::make_shared<const augment::SynonymTable>(data::synonym_table(wordnet, all));
    }
    return augment::TextAugmenter(options, synonyms);
  }

  data::Batch eval_inputs(const at::Tensor& images, const std::vector<std::string>& texts) const override {
    data::Batch b;
    if (images.defined()) {
      const auto [c, s] = image_shape();
      CONTRA_CHECK(images.dim() == 4 && images.size(1) == c && images.size(2) == s && images.size(3) == s,
                   "this run's image tower takes images [N, ", c, ", ", s, ", ", s, "], got ", images.sizes());
      b.view1 = augment::normalize_images(images, cfg_.augment.mean, cfg_.augment.std);
    }
    if (!texts.empty()) b.text1 = tokenizer().encode_batch(texts, cfg_.text.max_len);
    return b;
  }

  std::pair<int64_t, int64_t> image_shape() const override { return {cfg_.data.channels, cfg_.data.image_size}; }

  EvalResult evaluate(methods::Method& method) override {
    const auto t0 = Clock::now();
    EvalResult r;
    r.done = true;
    r.image_text = true;
    r.split = cfg_.eval.split;
    shared_space(method, r.cross_modal_trained, r.zero_shot_trained, r.zero_shot);
    if (r.zero_shot) r.zero_shot_class_names = evaluation_.class_names;
    // The image tower's features, judged on the images with a class (openclipart's unsorted
    // images have none): kNN against the labelled training images, and the linear probe.
    const auto probe_train = labelled_images(train_), probe_eval = labelled_images(evaluation_);
    r.image_probe = probe_train.size() > 0 && probe_eval.size() > 0;
    r.probe_train_images = probe_train.size();
    r.probe_eval_images = probe_eval.size();
    if (r.image_probe) {
      const auto e0 = Clock::now();
      const auto train_f = image_features(method, probe_train), eval_f = image_features(method, probe_eval);
      r.embed_s = image_text_since(e0);
      r.knn_acc = knn(train_f, probe_train.labels, eval_f, probe_eval.labels);
      if (cfg_.eval.linear) add_linear_probe(r, train_f, probe_train.labels, eval_f, probe_eval.labels, cfg_.seed);
    }
    if (cfg_.eval.baselines) {
      torch::manual_seed(cfg_.seed);  // the initialisation training started from
      auto untrained = make_method();
      untrained->to(run_.device);
      bool labelled = false;
      shared_space(*untrained, r.cross_modal_untrained, r.zero_shot_untrained, labelled);
      r.untrained_measured = true;
      if (r.image_probe)
        r.untrained_knn_acc = knn(image_features(*untrained, probe_train), probe_train.labels,
                                  image_features(*untrained, probe_eval), probe_eval.labels);
    }
    r.eval_s = image_text_since(t0);
    return r;
  }

  /// On the evaluation split (eval.split=val while choosing hyper-parameters): the curve of what
  /// the run is judged by. Embedding in eval mode without gradient leaves training unchanged.
  nlohmann::json monitor(methods::Method& method) override {
    eval::CrossModalMetrics cross;
    eval::ZeroShotMetrics zero_shot;
    bool labelled = false;
    shared_space(method, cross, zero_shot, labelled);
    nlohmann::json m = {{"monitor_i2t_recall_at_10", cross.image_to_text.recall_at_10},
                        {"monitor_t2i_recall_at_10", cross.text_to_image.recall_at_10}};
    if (labelled) m["monitor_zero_shot_top1"] = zero_shot.top1;
    return m;
  }

  ReportInputs report_inputs(methods::Method& method) override {
    ReportInputs r;
    r.features = image_features(method, evaluation_);
    r.labels = evaluation_.labels.clone();
    r.class_names = evaluation_.class_names;
    if ((r.labels < 0).any().item<bool>()) {  // images without a class get one of their own
      r.labels.masked_fill_(r.labels < 0, int64_t(r.class_names.size()));
      r.class_names.push_back("unlabelled");
    }
    r.items = run_.eval_split == data::EvalSplit::kTest ? "test images" : "validation images";
    r.images = evaluation_.images;
    std::vector<std::string> first_captions;
    for (const auto& c : evaluation_.captions) first_captions.push_back(c.front());
    r.first = image_embeddings(method, evaluation_);
    r.second = text_embeddings(method, first_captions);
    r.pair_items = torch::arange(r.first.size(0), torch::kLong);
    r.positives = "an image and its first caption, in the shared space";
    return r;
  }

  nlohmann::json describe() const override {
    int64_t captions = 0;
    for (const auto& c : train_.captions) captions += int64_t(c.size());
    return {{"train_images", train_.size()},
            {"train_captions", captions},
            {"eval_images", evaluation_.size()},
            {"tokenizer", tokenizer_file_},
            {"vocab_size", tokenizer_ ? tokenizer_->vocab_size() : 0},
            {"tokenizer_s", tokenizer_s_}};
  }

  std::string banner() const override {
    int64_t captions = 0;
    for (const auto& c : train_.captions) captions += int64_t(c.size());
    return std::to_string(train_.size()) + " training images with " + std::to_string(captions) +
           " captions, vocabulary " + std::to_string(tokenizer_ ? tokenizer_->vocab_size() : 0);
  }

 private:
  std::string tokenizer_path(const std::string& folder) const {
    return cfg_.text.tokenizer_model.empty() ? folder + "/tokenizer.model" : cfg_.text.tokenizer_model;
  }
  const data::Tokenizer& tokenizer() const {
    TORCH_INTERNAL_ASSERT(tokenizer_, "the image-text task is used before open()");
    return *tokenizer_;
  }

  /// The image tower's features of every image of `d` (kNN, linear probe).
  torch::Tensor image_features(methods::Method& method, const data::ImageTextDataset& d) const {
    return embed_all(method, d.size(), cfg_.eval.batch_size,
                     [&](int64_t i, int64_t j) { return eval_inputs(d.images.slice(0, i, j), {}); }, run_.device);
  }

  /// Shared-space embeddings of images (all of `d`'s) or texts.
  torch::Tensor image_embeddings(methods::Method& method, const data::ImageTextDataset& d) const {
    return embed_all(method, d.size(), cfg_.eval.batch_size,
                     [&](int64_t i, int64_t j) { return eval_inputs(d.images.slice(0, i, j), {}); }, run_.device,
                     /*head=*/true);
  }
  torch::Tensor text_embeddings(methods::Method& method, const std::vector<std::string>& texts) const {
    return embed_all(method, int64_t(texts.size()), cfg_.eval.batch_size,
                     [&](int64_t i, int64_t j) {
                       return eval_inputs({}, std::vector<std::string>(texts.begin() + i, texts.begin() + j));
                     },
                     run_.device, /*head=*/true);
  }

  /// Cross-modal retrieval over the evaluation split and, where its images have classes,
  /// zero-shot classification of those images (`labelled` says whether it was measured).
  void shared_space(methods::Method& method, eval::CrossModalMetrics& cross, eval::ZeroShotMetrics& zero_shot,
                    bool& labelled) const {
    const auto images = image_embeddings(method, evaluation_);
    std::vector<std::string> captions;
    std::vector<int64_t> owner;
    for (int64_t i = 0; i < evaluation_.size(); ++i)
      for (const auto& c : evaluation_.captions[size_t(i)]) captions.push_back(c), owner.push_back(i);
    cross = eval::cross_modal_retrieval(images, text_embeddings(method, captions), torch::tensor(owner, torch::kLong));

    const auto& classes = evaluation_.class_names;
    const auto known = (evaluation_.labels >= 0).nonzero().squeeze(1);
    labelled = !classes.empty() && known.numel() > 0;
    if (!labelled) return;
    std::vector<std::string> prompts;
    std::vector<int64_t> counts;
    for (const auto& name : classes) {
      const auto mine = eval::class_prompts(name, cfg_.eval.prompts);
      prompts.insert(prompts.end(), mine.begin(), mine.end());
      counts.push_back(int64_t(mine.size()));
    }
    zero_shot = eval::zero_shot_accuracy(images.index_select(0, known),
                                         eval::zero_shot_classifier(text_embeddings(method, prompts), counts),
                                         evaluation_.labels.index_select(0, known));
  }

  double knn(const torch::Tensor& train_f, const torch::Tensor& train_labels, const torch::Tensor& eval_f,
             const torch::Tensor& eval_labels) const {
    return eval::knn_accuracy(train_f, train_labels, eval_f, eval_labels,
                              eval::KnnOptions().k(cfg_.eval.knn_k).temperature(cfg_.eval.knn_temperature));
  }

  ResolvedRun run_;
  const config::RunConfig& cfg_;
  data::ImageTextDataset train_, evaluation_;
  std::optional<data::Tokenizer> tokenizer_;
  std::string tokenizer_file_;
  double tokenizer_s_ = 0;
  bool init_reported_ = false;
};

}  // namespace

std::unique_ptr<Task> make_image_text_task(const ResolvedRun& run) { return std::make_unique<ImageTextTask>(run); }

}  // namespace contra::run
