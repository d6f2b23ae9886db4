// The text modality: WordNet, a corpus or a pairs file; a SentencePiece tokenizer trained into
// the run folder; WordNet gloss retrieval against TF-IDF and the untrained encoder.
#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/data/text.h"
#include "contra/data/text_loader.h"
#include "contra/data/tokenizer.h"
#include "contra/data/wordnet.h"
#include "contra/data/wordnet_text.h"
#include "contra/eval/retrieval.h"
#include "contra/methods/simcse.h"
#include "contra/run/task.h"

namespace contra::run {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

class TextTask : public Task {
 public:
  explicit TextTask(const ResolvedRun& run)
      : run_(run), cfg_(run_.config), augment_(text_augment_options(cfg_)) {}

  void load(bool with_training) override {
    const bool eval = cfg_.eval.enabled || !with_training;
    if (eval || (with_training && (run_.dataset == data::DatasetKind::kWordNet ||
                                   (!supervised() && uses_synonyms()))))
      load_wordnet(eval);
    if (!with_training) return;
    switch (run_.dataset) {
      case data::DatasetKind::kWordNet:
        if (supervised())
          pairs_ = data::wordnet_pairs(*wordnet_, train_synsets_, cfg_.text.hard_negatives,
                                       cfg_.text.split_seed);
        else
          texts_ = data::wordnet_texts(*wordnet_, train_synsets_, cfg_.text.split_seed);
        break;
      case data::DatasetKind::kTextCorpus: texts_ = data::read_corpus(cfg_.data.path); break;
      default: pairs_ = data::read_pairs(cfg_.data.path); break;
    }
    const auto limit = size_t(cfg_.data.limit);
    if (limit > 0 && limit < texts_.size()) texts_.resize(limit);
    if (limit > 0 && limit < pairs_.size()) pairs_.resize(limit);
  }

  void prepare_folder(const std::string& folder) override {
    if (!cfg_.text.tokenizer_model.empty()) return;
    const auto t0 = Clock::now();
    std::vector<std::string> corpus = texts_;
    for (const auto& p : pairs_) {
      corpus.push_back(p.anchor);
      corpus.push_back(p.positive);
    }
    data::train_tokenizer(corpus, tokenizer_path(folder),
                          tokenizer_options(cfg_).threads(std::max(1, int(at::get_num_threads()))));
    tokenizer_s_ = since(t0);
  }

  void open(const std::string& folder) override {
    const auto t0 = Clock::now();
    tokenizer_.emplace(data::Tokenizer::load(tokenizer_path(folder)));
    tokenizer_s_ += since(t0);
    tokenizer_file_ = tokenizer_path(folder);
  }

  void use_settings(const TuneSettings& settings) override { apply_settings(settings, run_.config); }

  std::shared_ptr<methods::Method> make_method() override {
    return std::make_shared<methods::SimCSEImpl>(simcse_options(cfg_, tokenizer().vocab_size()));
  }

  std::unique_ptr<data::BatchSource> make_source() override {
    auto options = data::TextLoaderOptions(run_.global_batch)
                       .seed(cfg_.seed)
                       .max_len(cfg_.text.max_len)
                       .rank(run_.rank)
                       .world_size(run_.world_size);
    if (supervised()) return std::make_unique<data::TextLoader>(pairs_, tokenizer(), options);
    std::shared_ptr<const augment::SynonymTable> synonyms;
    if (uses_synonyms())
      synonyms = std::make_shared<const augment::SynonymTable>(
          data::synonym_table(*wordnet_, train_synsets_));
    return std::make_unique<data::TextLoader>(texts_, tokenizer(),
                                              augment::TextAugmenter(augment_, synonyms), options);
  }

  data::Batch eval_inputs(const at::Tensor& images, const std::vector<std::string>& texts) const override {
    CONTRA_CHECK(!images.defined(), "this run's encoder takes text, not images");
    data::Batch b;
    b.text1 = tokenizer().encode_batch(texts, cfg_.text.max_len);
    return b;
  }

  std::pair<int64_t, int64_t> image_shape() const override { return {0, 0}; }

  EvalResult evaluate(methods::Method& method) override;

  ReportInputs report_inputs(methods::Method& method) override {
    ReportInputs r;
    r.items = std::string("example sentences of the ") +
              (run_.eval_split == data::EvalSplit::kVal ? "validation" : "held-out") + " synsets";
    r.texts = task_.queries;
    r.documents = task_.documents;
    r.features = features(method, task_.queries);
    r.document_features = features(method, task_.documents);
    r.targets = torch::tensor(task_.targets, torch::kLong);
    // Coloured by part of speech (thousands of synsets would be thousands of colours).
    r.class_names = {"noun", "verb", "adjective", "adverb"};
    std::vector<int64_t> pos;
    for (const int64_t doc : task_.targets) {
      switch (wordnet_->synsets.at(size_t(task_.synsets.at(size_t(doc)))).pos) {
        case data::PartOfSpeech::kNoun: pos.push_back(0); break;
        case data::PartOfSpeech::kVerb: pos.push_back(1); break;
        case data::PartOfSpeech::kAdjective:
        case data::PartOfSpeech::kAdjectiveSatellite: pos.push_back(2); break;
        case data::PartOfSpeech::kAdverb: pos.push_back(3); break;
      }
    }
    r.labels = torch::tensor(pos, torch::kLong);
    r.first = r.features;
    r.second = r.document_features.index_select(0, r.targets);
    r.pair_items = r.targets;
    r.positives = "an example sentence and its synset's definition";
    return r;
  }

  nlohmann::json describe() const override {
    return {{"train_examples", int64_t(supervised() ? pairs_.size() : texts_.size())},
            {"tokenizer", tokenizer_file_},
            {"vocab_size", tokenizer_ ? tokenizer_->vocab_size() : 0},
            {"tokenizer_s", tokenizer_s_}};
  }

  std::string banner() const override {
    return std::to_string(supervised() ? pairs_.size() : texts_.size()) + " training " +
           (supervised() ? "pairs" : "texts") + ", vocabulary " +
           std::to_string(tokenizer_ ? tokenizer_->vocab_size() : 0);
  }

 private:
  bool supervised() const { return run_.method == methods::MethodKind::kSimCSESupervised; }
  bool uses_synonyms() const {
    const auto& ops = augment_.ops();
    return std::find(ops.begin(), ops.end(), augment::TextOp::kSynonym) != ops.end();
  }
  std::string tokenizer_path(const std::string& folder) const {
    return cfg_.text.tokenizer_model.empty() ? folder + "/tokenizer.model" : cfg_.text.tokenizer_model;
  }
  const data::Tokenizer& tokenizer() const {
    TORCH_INTERNAL_ASSERT(tokenizer_, "the text task is used before open()");
    return *tokenizer_;
  }

  void load_wordnet(bool eval) {
    wordnet_ = std::make_shared<const data::WordNet>(data::load_wordnet(cfg_.text.wordnet_dir));
    const bool val = run_.eval_split == data::EvalSplit::kVal;
    auto split = data::split_synsets(*wordnet_, cfg_.text.test_fraction,
                                     val ? cfg_.text.val_fraction : 0.0, cfg_.text.split_seed);
    train_synsets_ = split.train;
    if (!eval) return;
    task_ = data::gloss_retrieval_task(*wordnet_, val ? split.val : split.test);
    CONTRA_CHECK(!task_.queries.empty(),
                 "the evaluation synsets have no example sentences; raise text.test_fraction "
                 "(or text.val_fraction)");
  }

  /// Encoder features of `texts` in eval mode: [N, width] on the CPU.
  torch::Tensor features(methods::Method& method, const std::vector<std::string>& texts) const {
    return embed_all(method, int64_t(texts.size()), cfg_.eval.batch_size,
                     [&](int64_t i, int64_t j) {
                       return eval_inputs({}, std::vector<std::string>(texts.begin() + i, texts.begin() + j));
                     },
                     run_.device);
  }

  /// Gloss retrieval, and into `rep` the geometry of the query (example sentence) features and
  /// few-shot accuracy with their synsets as classes (where 5 synsets have enough examples).
  eval::RetrievalMetrics retrieval(methods::Method& method, RepresentationMetrics& rep, double& rep_s) const {
    const auto queries = features(method, task_.queries);
    const auto targets = torch::tensor(task_.targets, torch::kLong);
    const auto g0 = Clock::now();
    if (queries.size(0) >= 2) rep = representation_metrics(queries, targets, {}, {}, cfg_.seed);
    rep_s += since(g0);
    return eval::retrieval_metrics(queries, features(method, task_.documents), targets);
  }

  ResolvedRun run_;
  const config::RunConfig& cfg_;
  augment::TextAugmentOptions augment_;
  std::shared_ptr<const data::WordNet> wordnet_;  ///< null when nothing needs WordNet
  std::vector<int64_t> train_synsets_;            ///< WordNet synsets training may see
  std::vector<std::string> texts_;                ///< unsupervised examples
  std::vector<data::TextPair> pairs_;             ///< supervised examples
  data::RetrievalTask task_;                      ///< evaluation
  std::optional<data::Tokenizer> tokenizer_;
  std::string tokenizer_file_;
  double tokenizer_s_ = 0;
};

/// The trained encoder, TF-IDF and the untrained encoder (the same initialisation: seed `seed`)
/// on the same queries and documents.
EvalResult TextTask::evaluate(methods::Method& method) {
  const auto t0 = Clock::now();
  EvalResult r;
  r.done = true;
  r.retrieval = true;
  r.split = cfg_.eval.split;
  r.tfidf = eval::tfidf_retrieval(task_.queries, task_.documents, task_.targets);
  torch::manual_seed(cfg_.seed);
  auto untrained = make_method();
  untrained->to(run_.device);
  r.untrained = retrieval(*untrained, r.rep_untrained, r.geometry_s);
  r.trained = retrieval(method, r.rep_trained, r.geometry_s);
  r.eval_s = since(t0);
  return r;
}

}  // namespace

std::unique_ptr<Task> make_text_task(const ResolvedRun& run) { return std::make_unique<TextTask>(run); }

}  // namespace contra::run
