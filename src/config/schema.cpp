#include "contra/config/schema.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "contra/augment/text.h"
#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/core/runtime.h"
#include "contra/data/kinds.h"
#include "contra/data/manifest.h"
#include "contra/data/tokenizer.h"
#include "contra/losses/similarity.h"
#include "contra/methods/objective.h"
#include "contra/methods/registry.h"
#include "contra/models/encoder.h"
#include "contra/models/text_transformer.h"
#include "contra/negatives/sampling.h"
#include "contra/negatives/triplets.h"
#include "contra/train/optimizer.h"
#include "contra/train/schedule.h"
#include "contra/train/trainer.h"

namespace contra::config {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// An allowed interval; open ends exclude the bound.
struct Range {
  double lo = -kInf, hi = kInf;
  bool lo_open = false, hi_open = false;
  bool contains(double v) const {
    // Infinities too: to_yaml could not print them back as YAML, and no setting means them.
    if (!std::isfinite(v)) return false;
    bool ok_lo = lo_open ? v > lo : v >= lo;
    bool ok_hi = hi_open ? v < hi : v <= hi;
    return ok_lo && ok_hi;
  }
  std::string describe() const {
    std::ostringstream s;
    if (hi == kInf) {
      s << (lo_open ? "> " : ">= ") << lo;
    } else {
      s << "in " << (lo_open ? "(" : "[") << lo << ", " << hi << (hi_open ? ")" : "]");
    }
    return s.str();
  }
};
const Range kAny{};
const Range kNonNeg{0, kInf};
const Range kPositive{0, kInf, true};
const Range kProb{0, 1};
Range at_least(double lo) { return Range{lo, kInf}; }

std::string scalar_text(const YAML::Node& v) {
  if (v.IsScalar()) return "'" + v.Scalar() + "'";
  if (v.IsSequence()) return "a list";
  if (v.IsMap()) return "a map";
  return "nothing";
}

template <class T>
T parse_one(const YAML::Node& v, const std::string& key, const char* what) {
  CONTRA_CHECK(v.IsScalar(), key, ": expected ", what, ", got ", scalar_text(v));
  try {
    return v.as<T>();
  } catch (const YAML::Exception&) {
    throw Error(c10::str(key, ": expected ", what, ", got ", scalar_text(v)));
  }
}

template <class T>
T parse_number(const YAML::Node& v, const std::string& key, const Range& range) {
  const char* what = std::is_integral<T>::value ? "an integer" : "a number";
  T x = parse_one<T>(v, key, what);
  CONTRA_CHECK(range.contains(double(x)), key, " must be ", range.describe(), ", got ",
               v.Scalar());
  return x;
}

template <class T>
std::string fmt(const T& x) {
  std::ostringstream s;
  s.precision(std::numeric_limits<double>::max_digits10);
  s << x;
  return s.str();
}

template <class T>
std::string fmt_list(const std::vector<T>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? ", " : "") + fmt(xs[i]);
  return out + "]";
}

template <class T, class Ref>
Field number(std::string key, Ref ref, Range range, std::string doc) {
  return Field{key, std::move(doc),
               [key, ref, range](RunConfig& c, const YAML::Node& v) {
                 ref(c) = parse_number<T>(v, key, range);
               },
               [ref](const RunConfig& c) { return fmt(ref(const_cast<RunConfig&>(c))); }};
}

template <class T, class Ref>
Field list(std::string key, Ref ref, Range range, std::string doc) {
  return Field{key, std::move(doc),
               [key, ref, range](RunConfig& c, const YAML::Node& v) {
                 std::vector<T> out;
                 if (v.IsSequence()) {
                   for (size_t i = 0; i < v.size(); ++i)
                     out.push_back(parse_number<T>(v[i], key + "[" + std::to_string(i) + "]", range));
                 } else {
                   out.push_back(parse_number<T>(v, key, range));
                 }
                 CONTRA_CHECK(!out.empty(), key, ": expected a non-empty list");
                 ref(c) = out;
               },
               [ref](const RunConfig& c) { return fmt_list(ref(const_cast<RunConfig&>(c))); }};
}

template <class Ref>
Field flag(std::string key, Ref ref, std::string doc) {
  return Field{key, std::move(doc),
               [key, ref](RunConfig& c, const YAML::Node& v) {
                 ref(c) = parse_one<bool>(v, key, "true or false");
               },
               [ref](const RunConfig& c) {
                 return std::string(ref(const_cast<RunConfig&>(c)) ? "true" : "false");
               }};
}

/// A setting that is either "auto" (unset: chosen by the run, see run/autotune.h) or a value
/// that `parse` reads; `print` writes a set value back.
template <class T, class Ref, class Parse, class Print>
Field or_auto(std::string key, Ref ref, Parse parse, Print print, std::string doc) {
  return Field{key, std::move(doc),
               [key, ref, parse](RunConfig& c, const YAML::Node& v) {
                 if (v.IsScalar() && v.Scalar() == "auto") {
                   ref(c) = std::nullopt;
                   return;
                 }
                 ref(c) = parse(v, key);
               },
               [ref, print](const RunConfig& c) {
                 const std::optional<T>& x = ref(const_cast<RunConfig&>(c));
                 return x ? print(*x) : std::string("auto");
               }};
}

/// auto | true | false.
template <class Ref>
Field flag_or_auto(std::string key, Ref ref, std::string doc) {
  return or_auto<bool>(
      std::move(key), ref,
      [](const YAML::Node& v, const std::string& k) { return parse_one<bool>(v, k, "auto, true or false"); },
      [](bool x) { return std::string(x ? "true" : "false"); }, std::move(doc));
}

/// auto | an integer in `range`.
template <class Ref>
Field integer_or_auto(std::string key, Ref ref, Range range, std::string doc) {
  return or_auto<int64_t>(
      std::move(key), ref,
      [range](const YAML::Node& v, const std::string& k) {
        CONTRA_CHECK(v.IsScalar(), k, ": expected auto or an integer, got ", scalar_text(v));
        int64_t x = 0;
        try {
          x = v.as<int64_t>();
        } catch (const YAML::Exception&) {
          throw Error(c10::str(k, ": expected auto or an integer, got ", scalar_text(v)));
        }
        CONTRA_CHECK(range.contains(double(x)), k, " must be auto or ", range.describe(), ", got ", v.Scalar());
        return x;
      },
      [](int64_t x) { return fmt(x); }, std::move(doc));
}

/// A string field; `choices` empty means any text.
template <class Ref>
Field text(std::string key, Ref ref, std::vector<std::string> choices, std::string doc) {
  return Field{key, std::move(doc),
               [key, ref, choices](RunConfig& c, const YAML::Node& v) {
                 auto s = parse_one<std::string>(v, key, "a string");
                 if (!choices.empty() &&
                     std::find(choices.begin(), choices.end(), s) == choices.end()) {
                   throw Error(c10::str(key, ": unknown value '", s, "'; valid: ", join_names(choices)));
                 }
                 ref(c) = s;
               },
               [ref](const RunConfig& c) {
                 YAML::Emitter e;
                 e << YAML::DoubleQuoted << ref(const_cast<RunConfig&>(c));
                 return std::string(e.c_str());
               }};
}

/// A list of names, each from `choices`.
template <class Ref>
Field names(std::string key, Ref ref, std::vector<std::string> choices, std::string doc) {
  return Field{key, std::move(doc),
               [key, ref, choices](RunConfig& c, const YAML::Node& v) {
                 std::vector<std::string> out;
                 auto one = [&](const YAML::Node& n, const std::string& where) {
                   auto s = parse_one<std::string>(n, where, "a name");
                   if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
                     throw Error(c10::str(key, ": unknown value '", s, "'; valid: ", join_names(choices)));
                   }
                   out.push_back(s);
                 };
                 if (v.IsSequence()) {
                   for (size_t i = 0; i < v.size(); ++i) one(v[i], key + "[" + std::to_string(i) + "]");
                 } else {
                   one(v, key);
                 }
                 CONTRA_CHECK(!out.empty(), key, ": expected a non-empty list");
                 ref(c) = out;
               },
               [ref](const RunConfig& c) {
                 YAML::Emitter e;
                 e << YAML::Flow << ref(const_cast<RunConfig&>(c));
                 return std::string(e.c_str());
               }};
}

/// A list of free texts; `check` (may be null) throws for a bad item, given it and its key.
template <class Ref>
Field texts(std::string key, Ref ref, std::function<void(const std::string&, const std::string&)> check,
            std::string doc, bool may_be_empty = false) {
  return Field{key, std::move(doc),
               [key, ref, check, may_be_empty](RunConfig& c, const YAML::Node& v) {
                 std::vector<std::string> out;
                 auto one = [&](const YAML::Node& n, const std::string& where) {
                   auto s = parse_one<std::string>(n, where, "a string");
                   if (check) check(s, where);
                   out.push_back(s);
                 };
                 if (v.IsSequence()) {
                   for (size_t i = 0; i < v.size(); ++i) one(v[i], key + "[" + std::to_string(i) + "]");
                 } else {
                   one(v, key);
                 }
                 CONTRA_CHECK(may_be_empty || !out.empty(), key, ": expected a non-empty list");
                 ref(c) = out;
               },
               [ref](const RunConfig& c) {
                 YAML::Emitter e;
                 e << YAML::Flow << YAML::BeginSeq;
                 for (const auto& s : ref(const_cast<RunConfig&>(c))) e << YAML::DoubleQuoted << s;
                 e << YAML::EndSeq;
                 return std::string(e.c_str());
               }};
}

/// A zero-shot prompt template holds "{}" exactly once.
void check_prompt_template(const std::string& prompt, const std::string& where) {
  const size_t at = prompt.find("{}");
  CONTRA_CHECK(at != std::string::npos && prompt.find("{}", at + 2) == std::string::npos, where,
               ": prompt template '", prompt, "' must hold \"{}\" once (where the class name goes)");
}

/// A zero-shot class name is not blank, nor is any of its '|'-separated alternatives.
void check_class_name(const std::string& name, const std::string& where) {
  CONTRA_CHECK(name.find_first_not_of(" \t") != std::string::npos, where, ": a class name must not be empty");
  // Alternatives separated by '|' (eval::class_name_alternatives): none of them blank.
  size_t from = 0;
  for (size_t bar = name.find('|'); ; bar = name.find('|', from)) {
    const auto part = name.substr(from, bar == std::string::npos ? std::string::npos : bar - from);
    CONTRA_CHECK(part.find_first_not_of(" \t") != std::string::npos, where, ": class name '", name,
                 "' has an empty alternative (names are separated by '|')");
    if (bar == std::string::npos) break;
    from = bar + 1;
  }
}

#define REF(path) [](RunConfig& c) -> auto& { return c.path; }

std::vector<Field> build_fields() {
  std::vector<Field> f;
  f.push_back(number<uint64_t>("seed", REF(seed), kNonNeg, "seed for weights, data order and augmentation"));
  f.push_back(number<int64_t>("threads", REF(threads), kNonNeg, "intra-op threads; 0 = all cores"));
  f.push_back(text("device", REF(device), device_names(), "where the model runs"));
  f.push_back(text("method", REF(method), methods::method_names(), "training framework"));

  f.push_back(text("data.dataset", REF(data.dataset), data::dataset_kind_names(), "dataset reader"));
  f.push_back(text("data.path", REF(data.path), {}, "dataset folder (IDX files, or one subfolder per class), or text file (text_corpus: one text per line; text_pairs: anchor<TAB>positive[<TAB>negative])"));
  f.push_back(number<int64_t>("data.limit", REF(data.limit), kNonNeg, "use the first N training images (texts, pairs); 0 = all"));
  f.push_back(number<int64_t>("data.image_size", REF(data.image_size), at_least(4), "image_folder, image-text datasets: side after resizing, pixels"));
  f.push_back(number<int64_t>("data.channels", REF(data.channels), Range{1, 3}, "image_folder, image-text datasets: 1 (gray) or 3 (RGB)"));
  f.push_back(text("data.test_path", REF(data.test_path), {}, "image_folder: folder of the evaluation split"));
  f.push_back(number<int64_t>("data.workers", REF(data.workers), Range{1, 64}, "augmentation threads"));
  f.push_back(number<int64_t>("data.prefetch", REF(data.prefetch), Range{1, 64}, "batches prepared ahead, per worker"));
  f.push_back(text("data.image_column", REF(data.image_column), {}, "image_text_manifest: header name of the image path column (paths relative to the manifest's folder)"));
  f.push_back(text("data.caption_column", REF(data.caption_column), {}, "image_text_manifest: header name of the caption column (several rows per image: several captions)"));
  f.push_back(text("data.label_column", REF(data.label_column), {}, "image_text_manifest: header name of the class-name column (zero-shot labels); empty = none"));
  f.push_back(text("data.separator", REF(data.separator), data::manifest_separator_names(), "image_text_manifest: field separator (auto: .tsv tab, .csv comma)"));
  f.push_back(number<double>("data.test_fraction", REF(data.test_fraction), Range{0, 1, true, true}, "image-text datasets: share of the images held out for evaluation (split by image, stratified by class)"));
  f.push_back(number<double>("data.val_fraction", REF(data.val_fraction), Range{0, 1, false, true}, "image-text datasets: share of the images held out of training when eval.split=val"));
  f.push_back(number<uint64_t>("data.split_seed", REF(data.split_seed), kNonNeg, "image-text datasets: seed of the split by image"));

  f.push_back(number<int64_t>("augment.out_size", REF(augment.out_size), kNonNeg, "view side in pixels; 0 = input size"));
  f.push_back(number<double>("augment.crop_p", REF(augment.crop_p), kProb, "probability of a random resized crop"));
  f.push_back(number<double>("augment.crop_scale_min", REF(augment.crop_scale_min), Range{0, 1, true}, "smallest crop area fraction"));
  f.push_back(number<double>("augment.crop_scale_max", REF(augment.crop_scale_max), Range{0, 1, true}, "largest crop area fraction"));
  f.push_back(number<double>("augment.crop_ratio_min", REF(augment.crop_ratio_min), kPositive, "smallest crop aspect ratio"));
  f.push_back(number<double>("augment.crop_ratio_max", REF(augment.crop_ratio_max), kPositive, "largest crop aspect ratio"));
  f.push_back(number<double>("augment.flip_p", REF(augment.flip_p), kProb, "probability of a horizontal flip"));
  f.push_back(number<double>("augment.jitter_p", REF(augment.jitter_p), kProb, "probability of colour jitter"));
  f.push_back(number<double>("augment.brightness", REF(augment.brightness), kProb, "brightness factor range 1 +- x"));
  f.push_back(number<double>("augment.contrast", REF(augment.contrast), kProb, "contrast factor range 1 +- x"));
  f.push_back(number<double>("augment.saturation", REF(augment.saturation), kProb, "saturation factor range 1 +- x"));
  f.push_back(number<double>("augment.hue", REF(augment.hue), Range{0, 0.5}, "hue shift range +- x turns"));
  f.push_back(number<double>("augment.grayscale_p", REF(augment.grayscale_p), kProb, "probability of grayscale"));
  f.push_back(number<double>("augment.blur_p", REF(augment.blur_p), kProb, "probability of Gaussian blur"));
  f.push_back(number<double>("augment.blur_sigma_min", REF(augment.blur_sigma_min), kPositive, "smallest blur sigma, pixels"));
  f.push_back(number<double>("augment.blur_sigma_max", REF(augment.blur_sigma_max), kPositive, "largest blur sigma, pixels"));
  f.push_back(number<double>("augment.solarize_p", REF(augment.solarize_p), kProb, "probability of solarize"));
  f.push_back(number<double>("augment.solarize_threshold", REF(augment.solarize_threshold), kProb, "solarize values >= threshold"));
  f.push_back(list<double>("augment.mean", REF(augment.mean), kAny, "normalisation mean (one or per channel)"));
  f.push_back(list<double>("augment.std", REF(augment.std), kPositive, "normalisation std (one or per channel)"));

  f.push_back(text("model.encoder", REF(model.encoder), models::encoder_kind_names(), "encoder architecture"));
  f.push_back(list<int64_t>("model.widths", REF(model.widths), at_least(1), "convnet: channels of each conv block"));
  f.push_back(number<int64_t>("model.pool_grid", REF(model.pool_grid), Range{1, 7}, "convnet: final average-pool grid side (1 = global)"));
  f.push_back(flag("model.fuse_bn_relu", REF(model.fuse_bn_relu), "convnet: batch norm + ReLU fused (two sweeps each way instead of three) in training on the CPU, channels-last (same results up to float rounding; not faster than LibTorch's where measured); false = LibTorch's batch norm, then ReLU"));
  f.push_back(flag("model.small_stem", REF(model.small_stem), "resnet: 3x3 stride-1 stem, no max-pool"));
  f.push_back(number<int64_t>("model.base_width", REF(model.base_width), at_least(1), "resnet: channels of the first stage"));
  f.push_back(number<int64_t>("model.head_layers", REF(model.head_layers), at_least(1), "projection head linear layers"));
  f.push_back(number<int64_t>("model.head_hidden", REF(model.head_hidden), at_least(1), "projection head hidden size"));
  f.push_back(number<int64_t>("model.head_dim", REF(model.head_dim), at_least(1), "embedding size"));
  f.push_back(flag("model.head_batch_norm", REF(model.head_batch_norm), "batch norm in the projection head"));
  f.push_back(integer_or_auto("model.encode_chunk", REF(model.encode_chunk), kNonNeg, "images per encoder pass (batch-norm group); 0 = whole view; auto = measured before training among 64 (the default), 32, 128 and 0 (cached per machine and model shape)"));
  f.push_back(flag_or_auto("model.channels_last", REF(model.channels_last), "channels-last memory format for convolutions; auto = measured before training against plain NCHW (cached per machine and model shape; true where not measured)"));
  f.push_back(flag("model.parallel_views", REF(model.parallel_views), "encode and back-propagate the two views at once, each on its own thread (one intra-op thread each) instead of one after the other on all threads; simclr, CPU"));
  f.push_back(text("model.init_from", REF(model.init_from), {}, "PyTorch state dict file (torch.save(model.state_dict()), torchvision names) the image encoder starts from; empty = random"));

  f.push_back(text("text.wordnet_dir", REF(text.wordnet_dir), {}, "WordNet database folder (data.* and index.* files)"));
  f.push_back(text("text.tokenizer_model", REF(text.tokenizer_model), {}, "SentencePiece model file; empty = train one into the run folder"));
  f.push_back(number<int64_t>("text.vocab_size", REF(text.vocab_size), at_least(8), "vocabulary size of a tokenizer trained for the run"));
  f.push_back(text("text.tokenizer_type", REF(text.tokenizer_type), data::tokenizer_model_names(), "SentencePiece algorithm of a trained tokenizer"));
  f.push_back(number<int64_t>("text.tokenizer_sentences", REF(text.tokenizer_sentences), kNonNeg, "training texts drawn to train the tokenizer; 0 = all"));
  f.push_back(flag("text.lowercase", REF(text.lowercase), "a trained tokenizer folds case"));
  f.push_back(number<int64_t>("text.max_len", REF(text.max_len), Range{2, 4096}, "tokens per sequence, <s> included; longer texts are truncated"));
  f.push_back(names("text.augment", REF(text.augment), augment::text_op_names(), "text augmentations, applied in order to each view (clip: to each drawn caption)"));
  f.push_back(number<double>("text.delete_p", REF(text.delete_p), Range{0, 1, false, true}, "delete: probability of deleting each word"));
  f.push_back(number<double>("text.crop_fraction", REF(text.crop_fraction), Range{0, 1, true}, "crop: share of the words the kept span holds"));
  f.push_back(number<int64_t>("text.swap_n", REF(text.swap_n), kNonNeg, "swap: adjacent word swaps per view"));
  f.push_back(number<double>("text.synonym_p", REF(text.synonym_p), kProb, "synonym: probability of replacing each word that has WordNet synonyms"));
  f.push_back(number<double>("text.test_fraction", REF(text.test_fraction), Range{0, 1, true, true}, "share of WordNet synsets held out for evaluation"));
  f.push_back(number<double>("text.val_fraction", REF(text.val_fraction), Range{0, 1, false, true}, "share of WordNet synsets held out of training when eval.split=val"));
  f.push_back(number<uint64_t>("text.split_seed", REF(text.split_seed), kNonNeg, "seed of the WordNet synset split"));
  f.push_back(flag("text.hard_negatives", REF(text.hard_negatives), "simcse_supervised on wordnet: another sense of a shared lemma as hard negative"));

  f.push_back(number<int64_t>("text_model.width", REF(text_model.width), at_least(1), "Transformer width"));
  f.push_back(number<int64_t>("text_model.layers", REF(text_model.layers), at_least(1), "Transformer blocks"));
  f.push_back(number<int64_t>("text_model.heads", REF(text_model.heads), at_least(1), "attention heads (must divide width)"));
  f.push_back(number<int64_t>("text_model.ffn", REF(text_model.ffn), at_least(1), "feed-forward hidden size"));
  f.push_back(number<double>("text_model.dropout", REF(text_model.dropout), Range{0, 1, false, true}, "dropout (the noise of SimCSE's views)"));
  f.push_back(text("text_model.pooling", REF(text_model.pooling), models::text_pooling_names(), "sentence vector: mean over tokens or the first (<s>) token"));

  f.push_back(text("loss.name", REF(loss.name), methods::all_loss_names(), "contrastive loss"));
  f.push_back(number<double>("loss.tau_plus", REF(loss.tau_plus), Range{0, 1, false, true}, "debiased, hcl: class prior tau_plus"));
  f.push_back(number<double>("loss.hard_beta", REF(loss.hard_beta), kNonNeg, "hard_negative, hcl: concentration beta"));
  f.push_back(flag("loss.adaptive", REF(loss.adaptive), "hard_negative, hcl: adapt beta to the similarity gap (AdaptiveHardness)"));
  f.push_back(number<double>("loss.adaptive_beta_max", REF(loss.adaptive_beta_max), kNonNeg, "adaptive: largest beta"));
  f.push_back(number<double>("loss.adaptive_gap_low", REF(loss.adaptive_gap_low), kAny, "adaptive: smoothed gap where beta starts to rise"));
  f.push_back(number<double>("loss.adaptive_gap_high", REF(loss.adaptive_gap_high), kAny, "adaptive: smoothed gap where beta reaches its maximum"));
  f.push_back(number<double>("loss.adaptive_rate", REF(loss.adaptive_rate), kPositive, "adaptive: largest change of beta per step"));
  f.push_back(number<double>("loss.decoupled_sigma", REF(loss.decoupled_sigma), kNonNeg, "decoupled: DCLW weighting width (0 = plain DCL)"));
  f.push_back(number<double>("loss.margin", REF(loss.margin), kNonNeg, "triplet margin; width of the semi_hard band"));
  f.push_back(text("loss.mining", REF(loss.mining), negatives::triplet_mining_names(), "triplet: which triplets"));
  f.push_back(flag("loss.semi_hard_inclusive", REF(loss.semi_hard_inclusive), "triplet: semi_hard band closed at the margin (pytorch-metric-learning's semihard)"));
  f.push_back(flag("loss.triplet_normalize", REF(loss.triplet_normalize), "triplet: L2-normalise embeddings before the similarity (pytorch-metric-learning's default distance)"));
  f.push_back(flag("loss.triplet_average_nonzero", REF(loss.triplet_average_nonzero), "triplet: average over the non-zero losses (else over every mined triplet)"));
  f.push_back(flag("loss.triplet_labels", REF(loss.triplet_labels), "triplet: views of the same class are positives (loss.label_fraction of the labels used)"));
  f.push_back(text("loss.negatives", REF(loss.negatives), negatives::negative_sampling_names(), "which negatives each view uses"));
  f.push_back(number<int64_t>("loss.num_negatives", REF(loss.num_negatives), at_least(1), "random / hardest: negatives per view"));
  f.push_back(number<double>("loss.neg_threshold", REF(loss.neg_threshold), kAny, "threshold: keep negatives with similarity above this"));
  f.push_back(number<double>("loss.label_fraction", REF(loss.label_fraction), kProb, "supcon, triplet_labels: share of training labels used (rest unlabeled)"));
  f.push_back(number<double>("loss.temperature", REF(loss.temperature), kPositive, "softmax temperature (method clip learns its own: clip.temperature_init)"));
  f.push_back(text("loss.similarity", REF(loss.similarity), losses::similarity_names(), "similarity of embeddings (euclidean: -|a-b|^2, l2: -|a-b|)"));
  f.push_back(text("loss.tiled", REF(loss.tiled), methods::tiled_mode_names(), "nt_xent, clip: tiled pass, memory linear in the batch (auto: from 1024 pairs)"));
  f.push_back(number<int64_t>("loss.tile_size", REF(loss.tile_size), at_least(1), "tiled pass: rows and columns per tile"));

  f.push_back(number<int64_t>("moco.queue_size", REF(moco.queue_size), at_least(1), "moco: keys in the negatives queue"));
  f.push_back(number<double>("moco.momentum", REF(moco.momentum), kProb, "moco: key-encoder momentum"));
  f.push_back(flag("moco.momentum_cosine", REF(moco.momentum_cosine), "moco: raise the momentum to 1 on a cosine schedule"));
  f.push_back(flag("moco.symmetric", REF(moco.symmetric), "moco: both views serve as queries"));
  f.push_back(flag("moco.shuffle_bn", REF(moco.shuffle_bn), "moco: encode keys from a shuffled batch"));
  f.push_back(flag("moco.in_batch_negatives", REF(moco.in_batch_negatives), "moco: the batch's other keys as negatives too"));

  f.push_back(number<double>("clip.temperature_init", REF(clip.temperature_init), Range{0, 1}, "clip: initial temperature of the learned scale (logit_scale = log(1 / t)); 0 = the loss's own: 0.07 (clip), 0.1 (siglip)"));
  f.push_back(number<double>("clip.max_scale", REF(clip.max_scale), at_least(1), "clip: logit_scale is clamped to [0, log(max_scale)] after every step"));
  f.push_back(number<double>("clip.bias_init", REF(clip.bias_init), kAny, "clip with loss siglip: initial value of the learned bias"));
  f.push_back(flag("clip.learn_temperature", REF(clip.learn_temperature), "clip: learn the scale (and siglip's bias); false keeps the initial values"));

  f.push_back(text("optim.name", REF(optim.name), train::optimizer_kind_names(), "optimizer"));
  f.push_back(number<double>("optim.lr", REF(optim.lr), kPositive, "peak learning rate at batch 256"));
  f.push_back(text("optim.lr_scaling", REF(optim.lr_scaling), train::lr_scaling_names(), "how lr scales with batch size / 256"));
  f.push_back(number<double>("optim.momentum", REF(optim.momentum), Range{0, 1, false, true}, "momentum (sgd, lars)"));
  f.push_back(number<double>("optim.weight_decay", REF(optim.weight_decay), kNonNeg, "weight decay (not on biases and norms)"));
  f.push_back(number<double>("optim.beta1", REF(optim.beta1), Range{0, 1, false, true}, "adamw beta1"));
  f.push_back(number<double>("optim.beta2", REF(optim.beta2), Range{0, 1, false, true}, "adamw beta2"));
  f.push_back(number<double>("optim.eps", REF(optim.eps), kPositive, "adamw epsilon"));
  f.push_back(number<double>("optim.lars_eta", REF(optim.lars_eta), kPositive, "lars trust coefficient"));
  f.push_back(number<double>("optim.warmup_epochs", REF(optim.warmup_epochs), kNonNeg, "linear warm-up length, epochs"));
  f.push_back(number<double>("optim.min_lr_ratio", REF(optim.min_lr_ratio), kProb, "final lr as a fraction of the peak"));

  f.push_back(number<double>("train.epochs", REF(train.epochs), kNonNeg, "training length in epochs"));
  f.push_back(number<int64_t>("train.max_steps", REF(train.max_steps), kNonNeg, "stop after N steps; 0 = by epochs"));
  f.push_back(number<double>("train.time_budget", REF(train.time_budget), kNonNeg, "minutes from start to the last step: the run measures its speed and sets its length to fit (epochs ignored, max_steps a cap); 0 = off"));
  f.push_back(number<int64_t>("train.batch_size", REF(train.batch_size), at_least(2), "samples per step"));
  f.push_back(number<int64_t>("train.log_every", REF(train.log_every), at_least(1), "steps between metrics lines"));
  f.push_back(number<int64_t>("train.checkpoint_every", REF(train.checkpoint_every), kNonNeg, "steps between checkpoints; 0 = at the end"));
  f.push_back(number<int64_t>("train.keep_checkpoints", REF(train.keep_checkpoints), at_least(1), "newest checkpoint-<step>.pt files kept"));
  f.push_back(flag("train.grad_cache", REF(train.grad_cache), "gradient cache: batches larger than memory, chunks of model.encode_chunk"));
  f.push_back(text("train.nonfinite", REF(train.nonfinite), train::nonfinite_policy_names(), "a NaN or infinite loss or gradient stops the run, or skips the step (no update)"));
  f.push_back(number<int64_t>("train.max_skipped_steps", REF(train.max_skipped_steps), kNonNeg, "train.nonfinite=skip: steps skipped in the whole run before it stops"));

  f.push_back(number<double>("dist.timeout_s", REF(dist.timeout_s), Range{0.1, 86400}, "several processes: seconds to wait for the other ranks before stopping"));
  f.push_back(flag("dist.sync_bn", REF(dist.sync_bn), "several processes: batch norm with every rank's batch statistics"));

  f.push_back(flag("eval.enabled", REF(eval.enabled), "evaluate after training (kNN, linear probe; text: WordNet gloss retrieval)"));
  f.push_back(text("eval.split", REF(eval.split), data::eval_split_names(), "test set, or val_size training images held out (text: the text.val_fraction synsets)"));
  f.push_back(number<int64_t>("eval.val_size", REF(eval.val_size), at_least(1), "held-out training images when split=val"));
  f.push_back(number<int64_t>("eval.knn_k", REF(eval.knn_k), at_least(1), "kNN neighbours"));
  f.push_back(number<double>("eval.knn_temperature", REF(eval.knn_temperature), kPositive, "kNN vote temperature"));
  f.push_back(flag("eval.linear", REF(eval.linear), "run the linear probe"));
  f.push_back(flag("eval.baselines", REF(eval.baselines), "also evaluate the untrained encoder (images: and kNN on raw pixels)"));
  f.push_back(number<int64_t>("eval.batch_size", REF(eval.batch_size), at_least(1), "images (texts) per embedding batch"));
  f.push_back(number<int64_t>("eval.monitor_every", REF(eval.monitor_every), at_least(0), "steps between online monitor values in metrics.jsonl: image runs monitor_knn_acc (kNN on a fixed sample of training images); clip runs monitor_zero_shot_top1, monitor_i2t_recall_at_10 and monitor_t2i_recall_at_10 on the evaluation split; 0 = off"));
  f.push_back(texts("eval.class_names", REF(eval.class_names), check_class_name, "clip: zero-shot class names, one per class in the dataset's order (the run log and summary.json zero_shot_class_names list them); several names for one class separated by '|' are averaged as the templates are (\"animals | animal | pet\"); [] = the dataset's own", /*may_be_empty=*/true));
  f.push_back(texts("eval.prompts", REF(eval.prompts), check_prompt_template, "clip: zero-shot prompt templates, \"{}\" = the class name; a class's text embedding is the normalised mean of its templates'"));

  f.push_back(flag("report.enabled", REF(report.enabled), "write report.html (curves, embedding maps, neighbours, similarities; see contra report) into the run folder at the end of training"));
  f.push_back(number<int64_t>("report.map_points", REF(report.map_points), Range{3, 20000}, "evaluation items (a seeded sample) in the report's PCA and exact t-SNE maps; t-SNE's time grows with the square"));
  return f;
}
#undef REF

/// The methods with a property of the registry (e.g. &MethodInfo::grad_cache), joined.
std::string methods_where(bool methods::MethodInfo::*property) {
  std::vector<std::string> out;
  for (const auto& m : methods::method_registry())
    if (m.*property) out.emplace_back(m.name);
  std::string text;
  for (size_t i = 0; i < out.size(); ++i)
    text += (i == 0 ? "" : i + 1 == out.size() ? " and " : ", ") + out[i];
  return text;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const std::vector<Field>& fields() {
  static const std::vector<Field> table = build_fields();
  return table;
}

std::string nearest_key(const std::string& key) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& f : fields()) {
    // Compare with the full key and with its last part, so "batchsize" finds train.batch_size.
    auto leaf = f.key.substr(f.key.rfind('.') + 1);
    size_t d = std::min(edit_distance(key, f.key), edit_distance(key, leaf) + 1);
    if (d < best_d) best_d = d, best = f.key;
  }
  return best;
}

void validate(const RunConfig& c) {
  const auto& a = c.augment;
  CONTRA_CHECK(a.crop_scale_min <= a.crop_scale_max, "augment.crop_scale_min (", a.crop_scale_min,
               ") must be <= augment.crop_scale_max (", a.crop_scale_max, ")");
  CONTRA_CHECK(a.crop_ratio_min <= a.crop_ratio_max, "augment.crop_ratio_min (", a.crop_ratio_min,
               ") must be <= augment.crop_ratio_max (", a.crop_ratio_max, ")");
  CONTRA_CHECK(a.blur_sigma_min <= a.blur_sigma_max, "augment.blur_sigma_min (", a.blur_sigma_min,
               ") must be <= augment.blur_sigma_max (", a.blur_sigma_max, ")");
  CONTRA_CHECK(a.mean.size() == a.std.size(), "augment.mean and augment.std must have the same length (",
               a.mean.size(), " vs ", a.std.size(), ")");
  CONTRA_CHECK(c.train.epochs > 0 || c.train.max_steps > 0,
               "train.epochs must be > 0 (or set train.max_steps), got ", c.train.epochs);
  const auto& l = c.loss;
  CONTRA_CHECK(!l.adaptive || l.name == "hard_negative" || l.name == "hcl",
               "loss.adaptive needs loss.name hard_negative or hcl, got ", l.name);
  CONTRA_CHECK(l.adaptive_gap_low < l.adaptive_gap_high, "loss.adaptive_gap_low (",
               l.adaptive_gap_low, ") must be < loss.adaptive_gap_high (", l.adaptive_gap_high, ")");
  CONTRA_CHECK(l.negatives == "all" || (l.name != "supcon" && l.name != "triplet"),
               "loss.negatives ", l.negatives, " applies to nt_xent, debiased, hard_negative, "
               "decoupled and hcl, not to ", l.name);
  // Triplet options on another loss would be silently ignored: refused instead.
  CONTRA_CHECK(l.name == "triplet" || !(l.triplet_labels || l.triplet_normalize || l.semi_hard_inclusive ||
                                        !l.triplet_average_nonzero),
               "loss.triplet_labels, triplet_normalize, triplet_average_nonzero and "
               "semi_hard_inclusive apply to loss.name triplet, not to ", l.name);
  CONTRA_CHECK(!l.semi_hard_inclusive || l.mining == "semi_hard",
               "loss.semi_hard_inclusive applies to loss.mining semi_hard, not to ", l.mining);
  CONTRA_CHECK(l.negatives != "semi_hard" || l.margin > 0,
               "loss.margin must be > 0 for loss.negatives semi_hard, got ", l.margin);
  if (c.method == "moco") {
    CONTRA_CHECK(l.name != "supcon" && l.name != "triplet", "method moco needs an InfoNCE loss "
                 "(nt_xent, debiased, hard_negative, decoupled, hcl), got loss.name ", l.name);
    // queue_size / keys >= batch_size is queue_size >= keys * batch_size without overflow.
    const int64_t keys = c.moco.symmetric ? 2 : 1;
    CONTRA_CHECK(c.moco.queue_size / keys >= c.train.batch_size, "moco.queue_size (",
                 c.moco.queue_size, ") must be >= the keys enqueued per step (",
                 static_cast<uint64_t>(keys) * static_cast<uint64_t>(c.train.batch_size), ")");
    const auto chunk = c.model.encode_chunk;  // auto: the tuner keeps to the valid chunks
    CONTRA_CHECK(!c.moco.shuffle_bn || !chunk || (*chunk >= 1 && *chunk < c.train.batch_size),
                 "moco.shuffle_bn needs model.encode_chunk in [1, train.batch_size), got ",
                 chunk.value_or(0), " with batch ", c.train.batch_size);
  }
  CONTRA_CHECK(l.tiled != "on" || (l.name == "nt_xent" && l.negatives == "all") || l.name == "clip",
               "loss.tiled=on needs loss.name=nt_xent with loss.negatives=all, or loss.name=clip (the "
               "other objectives have no tiled pass), got loss.name=", l.name, ", loss.negatives=", l.negatives);
  CONTRA_CHECK(!c.train.grad_cache || c.model.encode_chunk.value_or(1) > 0,
               "train.grad_cache=true needs model.encode_chunk > 0 (the chunk size), got 0");
  const auto& method = methods::method_info(c.method);
  // Refused rather than ignored: only some methods' losses have a tiled pass or take a
  // negatives policy (the registry says which).
  CONTRA_CHECK(l.tiled != "on" || method.tiled_loss, "loss.tiled=on needs method ",
               methods_where(&methods::MethodInfo::tiled_loss), " (", c.method, " has no tiled pass)");
  CONTRA_CHECK(l.negatives == "all" || method.negatives_policy, "loss.negatives ", l.negatives,
               " applies to methods ", methods_where(&methods::MethodInfo::negatives_policy),
               ", not to ", c.method);
  CONTRA_CHECK(!c.train.grad_cache || method.grad_cache,
               "train.grad_cache=true supports method ", methods_where(&methods::MethodInfo::grad_cache),
               ", got ", c.method);
  if (c.model.parallel_views) {
    // The step needs the method's split (embed a chunk, loss of the embeddings), as the gradient
    // cache does; it replaces the gradient cache's step, and runs its two threads on the CPU.
    CONTRA_CHECK(method.grad_cache, "model.parallel_views=true supports method ",
                 methods_where(&methods::MethodInfo::grad_cache), ", got ", c.method);
    CONTRA_CHECK(!c.train.grad_cache, "model.parallel_views=true and train.grad_cache=true are two "
                 "different steps: choose one");
    CONTRA_CHECK(c.device == "cpu", "model.parallel_views=true runs on the CPU, got device ", c.device);
    CONTRA_CHECK(!c.dist.sync_bn, "model.parallel_views=true cannot synchronise batch norm "
                 "(dist.sync_bn=true): its second view's running statistics are updated later");
  }
  const bool text_method = method.modality == methods::Modality::kText;
  const bool image_text_method = method.modality == methods::Modality::kImageText;
  const auto datasets = methods::dataset_names(method);
  CONTRA_CHECK(std::find(datasets.begin(), datasets.end(), c.data.dataset) != datasets.end(),
               "data.dataset '", c.data.dataset, "' does not go with method ", c.method,
               "; valid: ", join_names(datasets));
  CONTRA_CHECK(std::find(method.losses.begin(), method.losses.end(), c.loss.name) != method.losses.end(),
               "loss.name '", c.loss.name, "' does not go with method ", c.method, "; valid: ",
               join_names(method.losses));
  CONTRA_CHECK(!text_method || c.model.init_from.empty(), "model.init_from applies to image "
               "encoders; method ", c.method, " trains a text encoder");
  if (text_method || image_text_method)
    CONTRA_CHECK(c.text_model.width % c.text_model.heads == 0, "text_model.heads (",
                 c.text_model.heads, ") must divide text_model.width (", c.text_model.width, ")");
  if (image_text_method) {
    CONTRA_CHECK(c.data.test_fraction + c.data.val_fraction < 1, "data.test_fraction (",
                 c.data.test_fraction, ") + data.val_fraction (", c.data.val_fraction, ") must be < 1");
    CONTRA_CHECK(c.eval.split != "val" || c.data.val_fraction > 0,
                 "eval.split is val but data.val_fraction is 0");
    CONTRA_CHECK(l.similarity == "cosine", "method ", c.method, " compares L2-normalised embeddings "
                 "(cosine similarity at a learned scale); loss.similarity must be cosine, got ", l.similarity);
    const double t0 = c.clip.temperature_init;
    CONTRA_CHECK(t0 == 0 || t0 * c.clip.max_scale >= 1, "clip.temperature_init (", t0,
                 ") must be 0 (the loss's own) or at least 1 / clip.max_scale (", 1 / c.clip.max_scale, ")");
  }
  if (text_method) {
    CONTRA_CHECK(c.text.test_fraction + c.text.val_fraction < 1, "text.test_fraction (",
                 c.text.test_fraction, ") + text.val_fraction (", c.text.val_fraction,
                 ") must be < 1");
    CONTRA_CHECK(c.eval.split != "val" || c.text.val_fraction > 0,
                 "eval.split is val but text.val_fraction is 0");
    CONTRA_CHECK(c.method != "simcse_supervised" || c.loss.name == "info_nce" ||
                     c.data.dataset != "wordnet" || !c.text.hard_negatives,
                 "text.hard_negatives needs loss.name info_nce (or set text.hard_negatives=false)");
  }
  if (c.data.dataset == "image_folder" || image_text_method)
    CONTRA_CHECK(c.data.channels == 1 || c.data.channels == 3, "data.channels must be 1 or 3, got ",
                 c.data.channels);
}

}  // namespace contra::config
