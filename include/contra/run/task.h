#pragma once
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "contra/data/batch.h"
#include "contra/methods/method.h"
#include "contra/run/autotune.h"
#include "contra/run/experiment.h"
#include "contra/run/resolve.h"

namespace contra::run {

/// The evaluation split as the run report (report.h) shows it, from the frozen encoder's
/// features (not the head's).
struct ReportInputs {
  /// Features [N, d] of the evaluation items (images; text: the example sentences), on the CPU.
  torch::Tensor features;
  /// [N] int64: what each item is coloured by in the maps (images: its class; text: the part
  /// of speech of its synset), named by class_names.
  torch::Tensor labels;
  std::vector<std::string> class_names;
  std::string items;                ///< what the items are, e.g. "test images"
  torch::Tensor images;             ///< image runs: [N, C, S, S] uint8, as read
  std::vector<std::string> texts;   ///< text runs: the items
  /// Text runs: what the items retrieve (the definitions), their features [M, d] and each
  /// item's own document [N] (int64).
  std::vector<std::string> documents;
  torch::Tensor document_features, targets;
  /// Positive pairs [P, d] (images: two augmented views of one image; text: a sentence and its
  /// definition) and the item each pair belongs to [P] (int64): first[i] with second[j] of
  /// another item is a negative pair.
  torch::Tensor first, second, pair_items;
  std::string positives;  ///< what a positive pair is, in words
};

/// What a run needs that depends on its modality: the data, the method built for it, the
/// training batches and the evaluation. The run engine (engine.h) does the rest the same way
/// for every modality. One implementation per modality: image_task.cpp, text_task.cpp,
/// image_text_task.cpp.
class Task {
 public:
  virtual ~Task() = default;
  /// Reads the training data (with_training) and what evaluation needs (eval.enabled, or
  /// always when !with_training).
  virtual void load(bool with_training) = 0;
  /// Writes what the run folder must hold before training (text: the tokenizer, trained on the
  /// training texts unless one is given). Called on the leading process only, before open();
  /// never on resume.
  virtual void prepare_folder(const std::string& folder) = 0;
  /// Reads what prepare_folder wrote (every process).
  virtual void open(const std::string& folder) = 0;
  /// Sets the model settings the auto-tuner chooses (model.channels_last, model.encode_chunk)
  /// for the methods make_method builds from now on.
  virtual void use_settings(const TuneSettings& settings) = 0;
  /// The method as initialised by the current random state (the engine seeds it first).
  virtual std::shared_ptr<methods::Method> make_method() = 0;
  /// This process's batches of the training data, from global batch 0.
  virtual std::unique_ptr<data::BatchSource> make_source() = 0;
  /// Raw items as the method's evaluation input, the batch's first input (images [N, C, S, S]
  /// uint8 normalised as the views are; texts tokenized).
  virtual data::Batch eval_inputs(const at::Tensor& images, const std::vector<std::string>& texts) const = 0;
  /// The images the encoder takes: channels and side (text tasks: 0, 0).
  virtual std::pair<int64_t, int64_t> image_shape() const = 0;
  /// Evaluates `method` (frozen encoder, eval mode) on the evaluation split.
  virtual EvalResult evaluate(methods::Method& method) = 0;
  /// The online monitor (eval.monitor_every): metrics.jsonl columns (names starting with
  /// `monitor_`) measured on `method` in eval mode, without gradient, the training mode restored
  /// and no draw from the global generator; an empty object where the modality has none (text).
  /// Images: kNN accuracy on a fixed seeded subset of the training images (monitor_knn_acc).
  /// Image-text: zero-shot top-1 and recall@10 both ways on the evaluation split
  /// (monitor_zero_shot_top1, monitor_i2t_recall_at_10, monitor_t2i_recall_at_10).
  virtual nlohmann::json monitor(methods::Method& method);
  /// The evaluation split, `method`'s features of it and positive pairs, for the run report
  /// (method in eval mode, no gradient; the global generator is left alone).
  virtual ReportInputs report_inputs(methods::Method& method) = 0;
  /// summary.json fields that describe the data (train_images; train_examples, tokenizer, ...).
  virtual nlohmann::json describe() const = 0;
  /// What the start-up line says about the data, e.g. "60000 training images".
  virtual std::string banner() const = 0;
};

/// The task of the run's modality.
std::unique_ptr<Task> make_task(const ResolvedRun& run);
std::unique_ptr<Task> make_image_task(const ResolvedRun& run);
std::unique_ptr<Task> make_text_task(const ResolvedRun& run);
std::unique_ptr<Task> make_image_text_task(const ResolvedRun& run);

/// Features of `inputs` batch by batch in eval mode (the method's train/eval mode restored):
/// `batch(i, j)` makes the inputs of items [i, j); [n, dim] on the CPU. With `head`, the
/// method's head embeddings instead of its features.
torch::Tensor embed_all(methods::Method& method, int64_t n, int64_t batch_size,
                        const std::function<data::Batch(int64_t, int64_t)>& batch,
                        const c10::Device& device, bool head = false);

/// The linear probe (eval.linear's, seeded with `seed`) of evaluation features against training
/// features into `r` (linear_acc, linear_val_acc, linear_l2).
void add_linear_probe(EvalResult& r, const torch::Tensor& train_f, const torch::Tensor& train_y,
                      const torch::Tensor& eval_f, const torch::Tensor& eval_y, uint64_t seed);

/// Geometry of `features` [N, d] (uniformity on a sample seeded with `seed`; alignment from the
/// positive pairs `view1`/`view2`, NaN when they are undefined) and 5-way 1-shot / 5-shot
/// accuracy over 600 episodes (seed `seed`) with `labels` [N], each where at least 5 classes
/// hold 1 + 15 / 5 + 15 items (-1 otherwise).
RepresentationMetrics representation_metrics(const torch::Tensor& features, const torch::Tensor& labels,
                                             const torch::Tensor& view1, const torch::Tensor& view2,
                                             uint64_t seed);

}  // namespace contra::run
