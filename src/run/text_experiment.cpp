#include "contra/run/text_experiment.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/augment/text.h"
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/data/text.h"
#include "contra/data/text_loader.h"
#include "contra/data/tokenizer.h"
#include "contra/data/wordnet.h"
#include "contra/data/wordnet_text.h"
#include "contra/eval/retrieval.h"
#include "contra/methods/simcse.h"
#include "contra/run/checkpoints.h"
#include "contra/run/resolve.h"
#include "contra/run/stop_signal.h"
#include "contra/train/checkpoint.h"
#include "contra/train/trainer.h"

namespace contra::run {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Everything a text run reads, after the synset split and data.limit.
struct TextData {
  std::shared_ptr<const data::WordNet> wordnet;  ///< null when nothing needs WordNet
  std::vector<int64_t> train_synsets;            ///< WordNet synsets training may see
  std::vector<std::string> texts;                ///< simcse
  std::vector<data::TextPair> pairs;             ///< simcse_supervised
  data::RetrievalTask task;                      ///< evaluation (when eval.enabled)
};

bool uses_synonyms(const config::RunConfig& cfg) {
  for (const auto& a : cfg.text.augment)
    if (a == "synonym") return true;
  return false;
}

/// with_training = false reads only what evaluation needs.
TextData load_text_data(const config::RunConfig& cfg, bool with_training) {
  TextData d;
  const bool supervised = cfg.method == "simcse_supervised";
  const bool need_wordnet = cfg.eval.enabled ||
                            (with_training && (cfg.data.dataset == "wordnet" ||
                                               (!supervised && uses_synonyms(cfg))));
  if (need_wordnet) {
    d.wordnet = std::make_shared<const data::WordNet>(data::load_wordnet(cfg.text.wordnet_dir));
    const double val = cfg.eval.split == "val" ? cfg.text.val_fraction : 0.0;
    auto split = data::split_synsets(*d.wordnet, cfg.text.test_fraction, val, cfg.text.split_seed);
    d.train_synsets = split.train;
    if (cfg.eval.enabled)
      d.task = data::gloss_retrieval_task(*d.wordnet, cfg.eval.split == "val" ? split.val : split.test);
  }
  if (!with_training) return d;
  if (cfg.data.dataset == "wordnet") {
    if (supervised)
      d.pairs = data::wordnet_pairs(*d.wordnet, d.train_synsets, cfg.text.hard_negatives,
                                    cfg.text.split_seed);
    else
      d.texts = data::wordnet_texts(*d.wordnet, d.train_synsets, cfg.text.split_seed);
  } else if (cfg.data.dataset == "text_corpus") {
    d.texts = data::read_corpus(cfg.data.path);
  } else {
    d.pairs = data::read_pairs(cfg.data.path);
  }
  const auto limit = size_t(cfg.data.limit);
  if (limit > 0 && limit < d.texts.size()) d.texts.resize(limit);
  if (limit > 0 && limit < d.pairs.size()) d.pairs.resize(limit);
  return d;
}

std::string tokenizer_path(const config::RunConfig& cfg, const RunDir& dir) {
  return cfg.text.tokenizer_model.empty() ? dir.file("tokenizer.model") : cfg.text.tokenizer_model;
}

/// The model as initialised for seed cfg.seed: the trained run starts here, and the untrained
/// baseline is exactly this.
methods::SimCSE make_model(const config::RunConfig& cfg, int64_t vocab_size, torch::Device device) {
  torch::manual_seed(cfg.seed);
  methods::SimCSE model(simcse_options(cfg, vocab_size));
  model->to(device);
  return model;
}

/// Encoder features of `texts` in eval mode, batch by batch: [N, width] on the CPU.
torch::Tensor embed_texts(methods::SimCSE& model, const data::Tokenizer& tokenizer,
                          const std::vector<std::string>& texts, const config::RunConfig& cfg,
                          torch::Device device) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<torch::Tensor> parts;
  const size_t b = size_t(cfg.eval.batch_size);
  for (size_t i = 0; i < texts.size(); i += b) {
    std::vector<std::string> chunk(texts.begin() + long(i),
                                   texts.begin() + long(std::min(texts.size(), i + b)));
    parts.push_back(model->features(tokenizer.encode_batch(chunk, cfg.text.max_len).to(device)).cpu());
  }
  model->train(was_training);
  return torch::cat(parts, 0);
}

eval::RetrievalMetrics retrieval(methods::SimCSE& model, const data::Tokenizer& tokenizer,
                                 const data::RetrievalTask& task, const config::RunConfig& cfg,
                                 torch::Device device) {
  auto q = embed_texts(model, tokenizer, task.queries, cfg, device);
  auto d = embed_texts(model, tokenizer, task.documents, cfg, device);
  return eval::retrieval_metrics(q, d, torch::tensor(task.targets, torch::kLong));
}

nlohmann::json metrics_json(const eval::RetrievalMetrics& m) {
  return {{"recall_at_1", m.recall_at_1}, {"recall_at_10", m.recall_at_10}, {"mrr", m.mrr}};
}

/// The evaluation block of summary.json: the trained encoder's metrics at the top level (as
/// knn_acc is for image runs), the baselines in their own objects.
nlohmann::json eval_json(const EvalResult& e) {
  nlohmann::json j = metrics_json(e.trained);
  j["eval_split"] = e.split;
  j["queries"] = e.trained.queries;
  j["documents"] = e.trained.documents;
  j["tfidf"] = metrics_json(e.tfidf);
  j["untrained"] = metrics_json(e.untrained);
  j["eval_s"] = e.eval_s;
  return j;
}

/// TF-IDF and the untrained encoder (fresh from make_model) on the task.
void evaluate_baselines(EvalResult& r, const TextData& data, const data::Tokenizer& tokenizer,
                        const config::RunConfig& cfg, int64_t vocab, torch::Device device) {
  r.tfidf = eval::tfidf_retrieval(data.task.queries, data.task.documents, data.task.targets);
  auto untrained = make_model(cfg, vocab, device);
  r.untrained = retrieval(untrained, tokenizer, data.task, cfg, device);
}

void check_task(const TextData& data) {
  CONTRA_CHECK(!data.task.queries.empty(),
               "the evaluation synsets have no example sentences; raise text.test_fraction "
               "(or text.val_fraction)");
}

}  // namespace

namespace {

/// Trains in `dir` (a new folder, or on resume the interrupted run's).
RunResult train_text_in(const config::RunConfig& cfg, RunDir dir, bool resume) {
  const auto t_start = Clock::now();
  const int threads = set_threads(int(cfg.threads));
  const torch::Device device = resolve_device(cfg.device);
  const bool supervised = cfg.method == "simcse_supervised";
  const auto augment_options = text_augment_options(cfg);

  TextData data = load_text_data(cfg, true);
  if (cfg.eval.enabled) check_task(data);
  if (!resume) dir.write_file("config.yaml", config::to_yaml(cfg));
  const Checkpoints checkpoints(dir.path(), cfg.train.keep_checkpoints);

  // The tokenizer: trained on the training texts only, unless one is given (or, resuming, the
  // run already has it).
  const auto t_tok = Clock::now();
  if (cfg.text.tokenizer_model.empty() && !resume) {
    std::vector<std::string> corpus = data.texts;
    for (const auto& p : data.pairs) {
      corpus.push_back(p.anchor);
      corpus.push_back(p.positive);
    }
    data::train_tokenizer(corpus, dir.file("tokenizer.model"),
                          tokenizer_options(cfg).threads(std::max(1, threads)));
  }
  const auto tokenizer = data::Tokenizer::load(tokenizer_path(cfg, dir));
  const double tokenizer_s = since(t_tok);
  const int64_t vocab = tokenizer.vocab_size();

  EvalResult result_eval;
  if (cfg.eval.enabled) {
    const auto t0 = Clock::now();
    evaluate_baselines(result_eval, data, tokenizer, cfg, vocab, device);
    result_eval.eval_s = since(t0);
  }

  methods::SimCSE model = make_model(cfg, vocab, device);
  auto optimizer = train::make_optimizer(model->parameters(), optimizer_options(cfg));
  train::CheckpointState start;
  int64_t start_skipped = 0;  // steps skipped for non-finite values before the checkpoint
  if (resume) {
    start = checkpoints.load_latest(*model, optimizer.get());
    // Dropout is SimCSE's noise: its generator continues where the checkpoint left it.
    if (auto it = start.extra.find("rng_cpu"); it != start.extra.end()) train::set_cpu_rng_state(it->second);
    if (auto it = start.extra.find("skipped_steps"); it != start.extra.end())
      start_skipped = it->second.item<int64_t>();
    dir.keep_metrics_through(start.step);
  }
  auto loader_options = data::TextLoaderOptions(cfg.train.batch_size)
                            .seed(cfg.seed)
                            .max_len(cfg.text.max_len);
  std::unique_ptr<data::TextLoader> loader;
  if (supervised) {
    loader = std::make_unique<data::TextLoader>(data.pairs, tokenizer, loader_options);
  } else {
    std::shared_ptr<const augment::SynonymTable> synonyms;
    if (uses_synonyms(cfg))
      synonyms = std::make_shared<const augment::SynonymTable>(
          augment::SynonymTable::from_wordnet(*data.wordnet, data.train_synsets));
    loader = std::make_unique<data::TextLoader>(
        data.texts, tokenizer, augment::TextAugmenter(augment_options, synonyms), loader_options);
  }
  loader->seek(start.step);
  const auto schedule = schedule_options(cfg, loader->batches_per_epoch());
  std::printf("contra: %s on %s, %lld training %s, vocabulary %lld, %lld steps of batch %lld, "
              "%d threads, run folder %s\n",
              supervised ? "supervised SimCSE" : "SimCSE", cfg.data.dataset.c_str(),
              (long long)loader->size(), supervised ? "pairs" : "texts", (long long)vocab,
              (long long)schedule.total_steps(), (long long)cfg.train.batch_size, threads,
              dir.path().c_str());
  std::fflush(stdout);

  train::StepSource source;
  source.batches_per_epoch = loader->batches_per_epoch();
  source.wait_seconds = [&] { return loader->wait_seconds(); };
  source.next = [&] {
    data::TextBatch b = loader->next();
    train::StepOutput s;
    s.output = supervised ? model->forward_supervised(b.view1.to(device), b.view2.to(device),
                                                      b.negative.size() > 0 ? b.negative.to(device)
                                                                            : data::TokenBatch{})
                          : model->forward(b.view1.to(device), b.view2.to(device));
    s.pairs = b.view1.size();
    s.epoch = b.epoch;
    return s;
  };
  train::TrainerHooks hooks;
  hooks.on_log = [&](const train::StepRecord& r) {
    dir.append_metrics({{"step", r.stats.step},
                        {"epoch", r.stats.epoch},
                        {"loss", r.stats.loss},
                        {"lr", r.stats.lr},
                        {"pairs_per_s", r.stats.pairs_per_s},
                        {"data_wait", r.stats.data_wait},
                        {"pos_sim", r.diagnostics.positive_sim},
                        {"neg_sim", r.diagnostics.negative_sim},
                        {"top1", r.diagnostics.top1},
                        {"skipped_steps", r.skipped_steps}});
  };
  hooks.on_checkpoint = [&](int64_t step, int64_t epoch, int64_t skipped) {
    train::CheckpointState state{step, epoch, {}};
    state.extra["rng_cpu"] = train::cpu_rng_state();
    state.extra["skipped_steps"] = torch::tensor(skipped, torch::kLong);
    checkpoints.save(*model, optimizer.get(), state);
  };
  StopOnSignal stop;
  auto options = train::TrainerOptions(schedule)
                     .log_every(cfg.train.log_every)
                     .checkpoint_every(cfg.train.checkpoint_every)
                     .interactive(isatty(fileno(stdout)) == 1)
                     .start_step(start.step)
                     .stop(&stop.flag())
                     .nonfinite(train::nonfinite_policy_from_string(cfg.train.nonfinite))
                     .max_skipped_steps(cfg.train.max_skipped_steps)
                     .start_skipped_steps(start_skipped);

  RunResult result;
  result.dir = dir.path();
  if (resume)
    std::printf("resuming at step %lld of %lld\n", (long long)start.step, (long long)schedule.total_steps());
  result.train = train::fit(*model, source, *optimizer, options, hooks);
  if (result.train.interrupted) {
    result.stop_signal = stop.signal();
    std::printf("stopped at step %lld (checkpoint written); continue with: contra train --resume %s\n",
                (long long)result.train.steps, dir.path().c_str());
    std::fflush(stdout);
    return result;
  }
  std::printf("trained %lld steps in %.1f s: %.1f pairs/s\n", (long long)result.train.steps,
              result.train.wall_s, result.train.pairs_per_s);
  std::fflush(stdout);

  nlohmann::json summary = nlohmann::json::object();
  if (cfg.eval.enabled) {
    const auto t0 = Clock::now();
    result_eval.done = true;
    result_eval.retrieval = true;
    result_eval.split = cfg.eval.split;
    result_eval.trained = retrieval(model, tokenizer, data.task, cfg, device);
    result_eval.eval_s += since(t0);
    result.eval = result_eval;
    summary = eval_json(result.eval);
  }
  summary["method"] = cfg.method;
  summary["steps"] = result.train.steps;
  summary["wall_s"] = result.train.wall_s;
  summary["pairs_per_s"] = result.train.pairs_per_s;
  summary["final_loss"] = result.train.final_loss;
  summary["skipped_steps"] = result.train.skipped_steps;
  summary["data_wait_fraction"] = result.train.data_wait_fraction;
  summary["threads"] = threads;
  summary["device"] = cfg.device;
  summary["train_examples"] = loader->size();
  summary["tokenizer"] = tokenizer_path(cfg, dir);
  summary["vocab_size"] = vocab;
  summary["tokenizer_s"] = tokenizer_s;
  summary["total_s"] = since(t_start);
  dir.write_file("summary.json", summary.dump(2) + "\n");
  return result;
}

}  // namespace

RunResult train_and_evaluate_text(const config::RunConfig& cfg, const std::string& run_path) {
  return train_text_in(cfg, RunDir::create(run_path), /*resume=*/false);
}

RunResult resume_text_run(const config::RunConfig& cfg, RunDir dir) {
  return train_text_in(cfg, std::move(dir), /*resume=*/true);
}

EvalResult evaluate_text_run(const config::RunConfig& cfg, RunDir& dir) {
  set_threads(int(cfg.threads));
  const torch::Device device = resolve_device(cfg.device);
  config::RunConfig eval_cfg = cfg;
  eval_cfg.eval.enabled = true;
  TextData data = load_text_data(eval_cfg, false);
  check_task(data);
  const auto tokenizer = data::Tokenizer::load(tokenizer_path(cfg, dir));
  const int64_t vocab = tokenizer.vocab_size();
  const auto t0 = Clock::now();
  EvalResult r;
  r.done = true;
  r.retrieval = true;
  r.split = cfg.eval.split;
  evaluate_baselines(r, data, tokenizer, cfg, vocab, device);
  methods::SimCSE model = make_model(cfg, vocab, device);
  Checkpoints(dir.path(), cfg.train.keep_checkpoints).load_latest(*model, nullptr);
  model->to(device);
  r.trained = retrieval(model, tokenizer, data.task, cfg, device);
  r.eval_s = since(t0);
  nlohmann::json summary = nlohmann::json::object();
  if (std::filesystem::exists(dir.file("summary.json"))) {
    try {
      summary = nlohmann::json::parse(dir.read_file("summary.json"));
    } catch (const nlohmann::json::exception&) {
      summary = nlohmann::json::object();  // rewritten below
    }
  }
  summary.update(eval_json(r));
  dir.write_file("summary.json", summary.dump(2) + "\n");
  return r;
}

}  // namespace contra::run
