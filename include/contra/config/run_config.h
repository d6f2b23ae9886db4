#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace contra::config {

/// The one typed tree of settings and the single source of defaults. Keys in YAML and --set are
/// the dotted paths of these fields (e.g. train.batch_size); see schema.h for ranges and docs.
/// Choice fields hold a validated name; components get enums from them at the edge.
struct DataConfig {
  /// fashion_mnist | image_folder (simclr); wordnet | text_corpus (simcse);
  /// wordnet | text_pairs (simcse_supervised); image_text_manifest (clip)
  std::string dataset = "fashion_mnist";
  std::string path = "/usr/share/datasets/fashion-mnist";  ///< folder, or text file (text_*)
  int64_t limit = 0;         ///< use the first N training images (or texts, pairs); 0 = all
  int64_t image_size = 32;   ///< image_folder and image-text datasets: resized side in pixels
  int64_t channels = 3;      ///< image_folder and image-text datasets: 1 or 3
  std::string test_path;     ///< image_folder only: folder of the evaluation split
  int64_t workers = 1;       ///< augmentation threads
  int64_t prefetch = 4;      ///< batches prepared ahead per worker
  /// image_text_manifest (open_clip's CSV/TSV convention): the columns of image paths, captions
  /// and (optional, empty = none) class names, and the separator (auto | tab | comma).
  std::string image_column = "filepath";
  std::string caption_column = "title";
  std::string label_column;
  std::string separator = "auto";
  /// Image-text datasets: shares of the images held out for testing and (when eval.split = val)
  /// for validation, split by image with split_seed, stratified by class.
  double test_fraction = 0.1;
  double val_fraction = 0.1;
  uint64_t split_seed = 0;
};

struct AugmentConfig {
  int64_t out_size = 0;
  double crop_p = 1.0, crop_scale_min = 0.2, crop_scale_max = 1.0;
  double crop_ratio_min = 0.75, crop_ratio_max = 4.0 / 3.0;
  double flip_p = 0.5;
  double jitter_p = 0.8, brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.1;
  double grayscale_p = 0.2;
  double blur_p = 0.0, blur_sigma_min = 0.1, blur_sigma_max = 2.0;
  double solarize_p = 0.0, solarize_threshold = 0.5;
  std::vector<double> mean{0.2860}, std{0.3530};
};

struct ModelConfig {
  std::string encoder = "convnet";  ///< convnet | resnet18 | resnet34 | resnet50
  std::vector<int64_t> widths{32, 64, 128, 256};
  int64_t pool_grid = 1;  ///< convnet: final average-pool grid side
  /// convnet: batch norm + ReLU fused (two sweeps over memory each way instead of three) in
  /// training on the CPU, channels-last (models/batch_norm_relu.h); the same model and results up
  /// to float rounding. Off by default: not faster than LibTorch's layers where measured.
  bool fuse_bn_relu = false;
  bool small_stem = true;
  int64_t base_width = 64;
  int64_t head_layers = 2, head_hidden = 512, head_dim = 128;
  bool head_batch_norm = false;
  /// Channels-last memory format for the convolutions; unset = auto: chosen by the run's
  /// measurement (run/autotune.h) before training, kDefaultChannelsLast where not measured.
  std::optional<bool> channels_last;
  /// Images per encoder pass (ghost batch norm); 0 = whole view; unset = auto: chosen by the
  /// run's measurement, kDefaultEncodeChunk where not measured.
  std::optional<int64_t> encode_chunk;
  static constexpr bool kDefaultChannelsLast = true;
  static constexpr int64_t kDefaultEncodeChunk = 64;
  /// The values in effect: the setting, or the default where it is auto (unresolved).
  bool channels_last_or_default() const { return channels_last.value_or(kDefaultChannelsLast); }
  int64_t encode_chunk_or_default() const { return encode_chunk.value_or(kDefaultEncodeChunk); }
  /// Encode the two views at once on two worker threads of one intra-op thread each, each
  /// back-propagating its own view (methods/parallel_views.h); simclr on the CPU.
  bool parallel_views = false;
  std::string init_from;  ///< state dict file (torchvision names) the image encoder starts from
};

/// Text runs (method simcse, simcse_supervised): data, tokenizer, augmentations, WordNet split.
struct TextConfig {
  std::string wordnet_dir = "/usr/share/wordnet";  ///< WordNet database (evaluation, synonyms)
  std::string tokenizer_model;       ///< SentencePiece model; empty = train one into the run
  int64_t vocab_size = 8000;         ///< when training the tokenizer
  std::string tokenizer_type = "unigram";  ///< unigram | bpe
  int64_t tokenizer_sentences = 200000;    ///< texts drawn to train the tokenizer; 0 = all
  bool lowercase = true;             ///< tokenizer folds case
  int64_t max_len = 32;              ///< tokens per sequence, <s> included
  std::vector<std::string> augment{"dropout"};  ///< dropout | delete | crop | swap | synonym (clip: applied to captions)
  double delete_p = 0.1;
  double crop_fraction = 0.8;
  int64_t swap_n = 1;
  double synonym_p = 0.1;
  double test_fraction = 0.1;  ///< WordNet synsets held out for evaluation
  double val_fraction = 0.1;   ///< synsets held out of training when eval.split = val
  uint64_t split_seed = 0;
  bool hard_negatives = true;  ///< simcse_supervised on wordnet: another sense as hard negative
};

/// The Transformer text encoder.
struct TextModelConfig {
  int64_t width = 128, layers = 2, heads = 4, ffn = 512;
  double dropout = 0.1;
  std::string pooling = "mean";  ///< mean | first
};

struct LossConfig {
  std::string name = "nt_xent";  ///< nt_xent | debiased | hard_negative | supcon | decoupled | triplet | hcl | info_nce (text) | clip | siglip (clip)
  double tau_plus = 0.1;         ///< debiased, hcl: class prior
  double hard_beta = 1.0;        ///< hard_negative, hcl: concentration
  bool adaptive = false;         ///< hard_negative, hcl: beta chosen by AdaptiveHardness
  double adaptive_beta_max = 1.0, adaptive_gap_low = 0.3, adaptive_gap_high = 0.8;
  double adaptive_rate = 0.01;
  double decoupled_sigma = 0.0;          ///< decoupled: DCLW width (0 = DCL)
  double margin = 0.2;                   ///< triplet margin; semi_hard negatives' band
  std::string mining = "semi_hard";      ///< triplet: batch_all | batch_hard | semi_hard | hard | violating
  bool semi_hard_inclusive = false;      ///< triplet: semi-hard band closed at the margin (PML)
  bool triplet_normalize = false;        ///< triplet: L2-normalised embeddings (PML's distance)
  bool triplet_average_nonzero = true;   ///< triplet: mean over non-zero losses (else all)
  bool triplet_labels = false;           ///< triplet: same-class views are positives
  std::string negatives = "all";         ///< all | random | hardest | threshold | semi_hard
  int64_t num_negatives = 16;            ///< random / hardest: negatives per view
  double neg_threshold = 0.5;            ///< threshold: similarity above which negatives count
  double label_fraction = 0.1;   ///< supcon, triplet_labels: share of training images whose label is used
  double temperature = 0.5;
  std::string similarity = "cosine";  ///< cosine | dot | euclidean
  std::string tiled = "auto";  ///< nt_xent, clip: auto | on | off (tiled linear-memory pass)
  int64_t tile_size = 1024;    ///< tiled pass: rows per tile
};

struct MoCoConfig {
  int64_t queue_size = 4096;     ///< keys in the queue
  double momentum = 0.99;        ///< key-encoder EMA momentum
  bool momentum_cosine = false;  ///< raise momentum to 1 on a cosine schedule
  bool symmetric = true;         ///< both views as queries
  bool shuffle_bn = true;        ///< keys encoded from a shuffled batch (ghost BN groups)
  bool in_batch_negatives = false;  ///< the batch's other keys as negatives too
};

/// Method clip: the learned temperature (logits = exp(logit_scale) x cosine similarity).
struct ClipConfig {
  double temperature_init = 0.0;  ///< initial temperature; 0 = the loss's own (clip 0.07, siglip 0.1)
  double max_scale = 100.0;       ///< logit_scale clamped to [0, log(max_scale)] after every step
  double bias_init = -10.0;       ///< siglip: initial bias
  bool learn_temperature = true;  ///< false: the scale (and bias) stay at their initial values
};

struct OptimConfig {
  std::string name = "sgd";           ///< sgd | adamw | lars
  double lr = 0.3;                    ///< at batch 256; scaled by lr_scaling
  std::string lr_scaling = "linear";  ///< linear | sqrt | none
  double momentum = 0.9;
  double weight_decay = 5e-4;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  ///< adamw
  double lars_eta = 0.001;                        ///< lars trust coefficient
  double warmup_epochs = 0.0;
  double min_lr_ratio = 0.0;  ///< final lr as a fraction of the peak
};

struct TrainConfig {
  double epochs = 1.0;
  int64_t max_steps = 0;  ///< stop after this many steps when > 0
  /// Minutes from start to the last step; > 0: the run measures its speed and chooses its
  /// length (epochs ignored, max_steps an upper bound). 0 = off.
  double time_budget = 0;
  int64_t batch_size = 256;
  int64_t log_every = 20;
  int64_t checkpoint_every = 0;  ///< steps; 0 = only at the end
  int64_t keep_checkpoints = 2;  ///< checkpoint-<step>.pt files kept (the newest)
  bool grad_cache = false;  ///< gradient cache: embed without graph, back-propagate per chunk
  std::string nonfinite = "stop";  ///< stop | skip: what a NaN or infinite loss or gradient does
  int64_t max_skipped_steps = 10;  ///< nonfinite=skip: skips allowed in the whole run
};

struct EvalConfig {
  bool enabled = true;         ///< evaluate after training
  std::string split = "test";  ///< test | val (val holds val_size training images out)
  int64_t val_size = 10000;
  int64_t knn_k = 200;
  double knn_temperature = 0.1;
  bool linear = true;
  int64_t batch_size = 1000;
  /// Also evaluate what training is measured against: the encoder as initialised (same seed),
  /// and for images kNN on the raw pixels (summary.json: untrained, raw_pixels).
  bool baselines = true;
  /// Online monitor: kNN accuracy of the encoder on a fixed seeded subset of the training images
  /// (bank of up to 5,000, up to 1,000 other images as queries) at the first metrics line at or
  /// after every monitor_every steps (metrics.jsonl monitor_knn_acc); image-text runs: zero-shot
  /// top-1 and recall@10 both ways on the evaluation split (monitor_zero_shot_top1, ...); 0 = off.
  int64_t monitor_every = 200;
  /// Method clip: zero-shot prompt templates, "{}" standing for the class name; each class's
  /// text embedding is the normalised mean of its templates' normalised embeddings.
  std::vector<std::string> prompts{"a photo of a {}.", "a picture of a {}.", "a drawing of a {}.", "{}"};
  /// Method clip: the zero-shot class names, one per class in the dataset's order, in place of
  /// the dataset's own (empty: the dataset's).
  std::vector<std::string> class_names;
};

struct DistConfig {
  /// Seconds the rendezvous and each collective wait for the other processes before the run
  /// stops with a message naming the rank that is missing.
  double timeout_s = 300;
  /// Synchronised batch norm: training batches normalised with every rank's statistics (per
  /// model.encode_chunk chunk; with encode_chunk 0, the whole global batch's, as one process).
  bool sync_bn = false;
};

struct ReportConfig {
  /// Write report.html (curves, embedding maps, neighbours, similarity histograms, summary and
  /// config; see contra report) into the run folder at the end of training.
  bool enabled = true;
  /// Evaluation items in its PCA and t-SNE maps (a seeded sample); exact t-SNE costs O(N^2)
  /// per iteration.
  int64_t map_points = 5000;
};

struct RunConfig {
  uint64_t seed = 0;
  int64_t threads = 0;  ///< intra-op threads; 0 = all cores
  std::string device = "cpu";  ///< cpu | cuda
  std::string method = "simclr";  ///< simclr | moco | simcse | simcse_supervised | clip
  DataConfig data;
  AugmentConfig augment;
  ModelConfig model;
  TextConfig text;
  TextModelConfig text_model;
  LossConfig loss;
  MoCoConfig moco;
  ClipConfig clip;
  OptimConfig optim;
  TrainConfig train;
  EvalConfig eval;
  DistConfig dist;
  ReportConfig report;
};

}  // namespace contra::config
