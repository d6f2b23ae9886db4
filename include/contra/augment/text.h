#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/arg.h>

#include "contra/core/rng.h"

namespace contra::data {
struct WordNet;
}

namespace contra::augment {

/// Text view-making operations, applied in the order listed, each to whitespace-separated words.
enum class TextOp {
  kDropout,   ///< identity: the views differ only by the encoder's dropout (SimCSE's default:
              ///< "SimCSE: Simple Contrastive Learning of Sentence Embeddings", Gao et al., 2021)
  kDelete,    ///< delete each word with probability delete_p (at least one word is kept)
  kCrop,      ///< keep a random contiguous span of round(crop_fraction x words) words (>= 1)
  kSwap,      ///< swap_n times, swap a random pair of adjacent words
  kSynonym,   ///< replace each word having WordNet synonyms, with probability synonym_p, by
              ///< another lemma of one of its synsets ("EDA", Wei & Zou, 2019)
};
/// "dropout" | "delete" | "crop" | "swap" | "synonym"; otherwise contra::Error
/// "unknown text augmentation '<name>'; valid: dropout, delete, crop, swap, synonym".
TextOp text_op_from_string(const std::string& name);
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> text_op_names();
std::string to_string(TextOp op);

struct TextAugmentOptions {
  /// Operations in the order applied (default {dropout}: no change to the text).
  TORCH_ARG(std::vector<TextOp>, ops) = std::vector<TextOp>{TextOp::kDropout};
  /// kDelete: probability of deleting each word, in [0, 1) (default 0.1).
  TORCH_ARG(double, delete_p) = 0.1;
  /// kCrop: share of the words the span keeps, in (0, 1] (default 0.8).
  TORCH_ARG(double, crop_fraction) = 0.8;
  /// kSwap: number of adjacent swaps, >= 0 (default 1).
  TORCH_ARG(int64_t, swap_n) = 1;
  /// kSynonym: probability of replacing each word that has synonyms, in [0, 1] (default 0.1).
  TORCH_ARG(double, synonym_p) = 0.1;
};

/// Throws contra::Error naming the option (text.<name>), the value and the allowed range.
void validate(const TextAugmentOptions& options);

/// Word -> synonym sets, from WordNet synsets: a word maps to each synset (of those given) that
/// holds it and has another lemma. Lemmas are stored with spaces for underscores.
class SynonymTable {
 public:
  /// Adds one synonym set (lemmas with spaces or underscores).
  void add(const std::vector<std::string>& lemmas);
  /// The synonym sets holding `word` (case-insensitive), or nullptr.
  const std::vector<int64_t>* sets_of(const std::string& word) const;
  const std::vector<std::string>& lemmas(int64_t set) const { return sets_[size_t(set)]; }
  size_t words() const { return by_word_.size(); }

 private:
  std::vector<std::vector<std::string>> sets_;
  std::unordered_map<std::string, std::vector<int64_t>> by_word_;
};

class TextAugmenter {
 public:
  /// `synonyms` is required when the ops include kSynonym.
  explicit TextAugmenter(TextAugmentOptions options,
                         std::shared_ptr<const SynonymTable> synonyms = nullptr);

  /// One view of `text` (words re-joined with single spaces unless the ops are only kDropout,
  /// which returns the text unchanged). Deterministic given rng's state.
  std::string apply(const std::string& text, Rng& rng) const;
  /// The view of row `row` of a batch seeded `seed`: apply with Rng(derive_seed(seed, row)), so a
  /// row's view does not depend on which process or batch slice computes it.
  std::string apply_row(const std::string& text, uint64_t seed, int64_t row) const;
  /// Views of a batch: text i is apply_row(texts[i], seed, i).
  std::vector<std::string> operator()(const std::vector<std::string>& texts, uint64_t seed) const;

  /// True when every op is kDropout (the text is passed through).
  bool is_identity() const;
  const TextAugmentOptions& options() const { return options_; }

 private:
  TextAugmentOptions options_;
  std::shared_ptr<const SynonymTable> synonyms_;
};

}  // namespace contra::augment
