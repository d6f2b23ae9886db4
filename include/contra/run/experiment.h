#pragma once
#include <optional>
#include <string>

#include "contra/config/run_config.h"
#include "contra/eval/cross_modal.h"
#include "contra/eval/geometry.h"
#include "contra/eval/zero_shot.h"
#include "contra/eval/retrieval.h"
#include "contra/run/autotune.h"
#include "contra/run/time_budget.h"
#include "contra/train/trainer.h"

namespace contra::run {

/// What one set of frozen features looks like (eval/geometry.h) and how well it serves 5-way
/// few-shot classification (eval/fewshot.h) on the evaluation split.
struct RepresentationMetrics {
  bool measured = false;
  /// alignment is NaN (null in summary.json) where no positive pairs were embedded (text).
  eval::GeometryMetrics geometry;
  /// 5-way 1-shot and 5-shot accuracy over 600 episodes and their 95% CI half-widths; -1: not
  /// measured (fewer than 5 classes with 16 / 20 items).
  double fewshot_1shot = -1, fewshot_1shot_ci95 = -1, fewshot_5shot = -1, fewshot_5shot_ci95 = -1;
};

struct EvalResult {
  bool done = false;
  std::string split;  ///< "test" or "val"
  /// The settings measured with: the features evaluated ("encoder": the encoder's output, not
  /// the projection head's) and, image runs, the kNN's k and temperature (cosine similarity).
  std::string features = "encoder";
  int64_t knn_k = 0;
  double knn_temperature = 0;
  double knn_acc = 0, linear_acc = -1, linear_val_acc = -1, linear_l2 = 0;
  double embed_s = 0, eval_s = 0;
  double geometry_s = 0;  ///< of eval_s: geometry and few-shot (views embedded, all features)
  /// Image runs with eval.baselines: kNN accuracy of the untrained encoder (the same
  /// initialisation) and of the raw pixels, same protocol (-1: not measured).
  double untrained_knn_acc = -1, pixels_knn_acc = -1;
  /// Image runs: retrieval by class among the evaluation images (each queries the others), for
  /// the trained encoder and, with eval.baselines, the untrained one and the raw pixels.
  bool class_retrieval = false;
  eval::ClassRetrievalMetrics retrieval_trained, retrieval_untrained, retrieval_pixels;
  /// Text runs: WordNet gloss retrieval with the trained encoder, and the baselines (TF-IDF, the
  /// same encoder untrained) on the same queries and documents.
  bool retrieval = false;
  eval::RetrievalMetrics trained, tfidf, untrained;
  /// Geometry and few-shot accuracy of the trained encoder's features and, with
  /// eval.baselines, of the untrained encoder's and (images) the raw pixels.
  RepresentationMetrics rep_trained, rep_untrained, rep_pixels;
  /// Image-text runs: cross-modal retrieval in the shared space and, where the evaluation
  /// images have classes, zero-shot classification (zero_shot); for the trained towers and,
  /// with eval.baselines (untrained_measured), the towers as initialised. Where images have
  /// classes (image_probe), knn_acc, linear_acc and untrained_knn_acc are the image tower's, on
  /// the images with a class (probe_train_images, probe_eval_images).
  bool image_text = false, zero_shot = false, image_probe = false, untrained_measured = false;
  int64_t probe_train_images = 0, probe_eval_images = 0;
  std::vector<std::string> zero_shot_class_names;  ///< the names the zero-shot prompts used
  eval::ZeroShotMetrics zero_shot_trained, zero_shot_untrained;
  eval::CrossModalMetrics cross_modal_trained, cross_modal_untrained;
};

struct RunResult {
  std::string dir;
  int stop_signal = 0;  ///< the signal that stopped training early (0: ran to the end)
  train::TrainSummary train;
  /// train.time_budget: how the run's length was chosen (unset without a budget).
  std::optional<TimeBudgetPlan> time_budget;
  /// model.channels_last / model.encode_chunk: the auto-tuner's record (explicit settings as such).
  std::optional<TuneResult> autotune;
  EvalResult eval;
};

/// Trains the configured method in a new run folder (config.yaml, metrics.jsonl, checkpoints),
/// evaluates the frozen encoder, writes summary.json. Prints progress to stdout. SIGINT/SIGTERM
/// stop it after a checkpoint (result.train.interrupted; no evaluation).
/// Image methods evaluate kNN and the linear probe; text methods WordNet gloss retrieval against
/// TF-IDF and the untrained encoder (text runs also train a tokenizer into the folder). Under a
/// launcher (torchrun's RANK, WORLD_SIZE, ...) this process is one rank of the job.
RunResult train_and_evaluate(const config::RunConfig& cfg, const std::string& run_dir);

/// Continues a run from its folder's config.yaml and checkpoint.pt: model, optimizer, schedule,
/// random state, data position and controllers, so the result equals an uninterrupted run.
RunResult resume_run(const std::string& run_dir);

/// Re-evaluates a finished run from its folder (config.yaml + checkpoint.pt) and updates its
/// summary.json with the new accuracies (text runs: retrieval metrics).
EvalResult evaluate_run(const std::string& run_dir);

}  // namespace contra::run
