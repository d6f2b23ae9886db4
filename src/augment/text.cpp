// Text augmentations: word-level ops on whitespace-separated words, seeded per text.
#include "contra/augment/text.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/core/words.h"

namespace contra::augment {
namespace {

const NameTable<TextOp, 5> kOpNames = {{"dropout", TextOp::kDropout},
                                       {"delete", TextOp::kDelete},
                                       {"crop", TextOp::kCrop},
                                       {"swap", TextOp::kSwap},
                                       {"synonym", TextOp::kSynonym}};

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string spaces_for_underscores(std::string s) {
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

bool is_word_char(char c) {
  // Letters, digits, and any byte of a multi-byte UTF-8 character.
  return std::isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80) ||
         c == '-' || c == '\'';
}

void delete_words(std::vector<std::string>& words, double p, Rng& rng) {
  if (words.empty()) return;
  std::vector<std::string> kept;
  for (auto& w : words)
    if (!rng.bernoulli(p)) kept.push_back(std::move(w));
  if (kept.empty()) {
    // Never an empty view: keep one word, chosen at random.
    const uint64_t i = rng.below(words.size());
    kept.push_back(std::move(words[i]));
  }
  words = std::move(kept);
}

void crop_words(std::vector<std::string>& words, double fraction, Rng& rng) {
  const size_t n = words.size();
  if (n == 0) return;
  const size_t len = std::clamp<size_t>(size_t(std::llround(fraction * double(n))), 1, n);
  const size_t start = rng.below(n - len + 1);
  words = std::vector<std::string>(words.begin() + long(start), words.begin() + long(start + len));
}

void swap_words(std::vector<std::string>& words, int64_t times, Rng& rng) {
  if (words.size() < 2) return;
  for (int64_t t = 0; t < times; ++t) {
    const uint64_t i = rng.below(words.size() - 1);
    std::swap(words[i], words[i + 1]);
  }
}

void replace_synonyms(std::vector<std::string>& words, double p, const SynonymTable& table,
                      Rng& rng) {
  for (auto& w : words) {
    // Keep punctuation around the word: "(dog)," -> "(" + "dog" + "),".
    size_t b = 0, e = w.size();
    while (b < e && !is_word_char(w[b])) ++b;
    while (e > b && !is_word_char(w[e - 1])) --e;
    if (b == e) continue;
    const std::string core = w.substr(b, e - b);
    const auto* sets = table.sets_of(core);
    if (!sets || !rng.bernoulli(p)) continue;
    const auto& lemmas = table.lemmas((*sets)[rng.below(sets->size())]);
    std::vector<const std::string*> others;
    const std::string key = lower(core);
    for (const auto& l : lemmas)
      if (lower(l) != key) others.push_back(&l);
    if (others.empty()) continue;
    w = w.substr(0, b) + *others[rng.below(others.size())] + w.substr(e);
  }
}

}  // namespace

TextOp text_op_from_string(const std::string& name) {
  return from_name(kOpNames, name, "text augmentation");
}

std::vector<std::string> text_op_names() { return names_of(kOpNames); }
std::string to_string(TextOp op) { return name_of(kOpNames, op); }

void validate(const TextAugmentOptions& o) {
  CONTRA_CHECK(o.delete_p() >= 0 && o.delete_p() < 1, "text.delete_p must be in [0, 1), got ",
               o.delete_p());
  CONTRA_CHECK(o.crop_fraction() > 0 && o.crop_fraction() <= 1,
               "text.crop_fraction must be in (0, 1], got ", o.crop_fraction());
  CONTRA_CHECK(o.swap_n() >= 0, "text.swap_n must be >= 0, got ", o.swap_n());
  CONTRA_CHECK(o.synonym_p() >= 0 && o.synonym_p() <= 1, "text.synonym_p must be in [0, 1], got ",
               o.synonym_p());
  CONTRA_CHECK(!o.ops().empty(), "text.augment must name at least one augmentation (dropout for none)");
}

void SynonymTable::add(const std::vector<std::string>& lemmas) {
  const int64_t id = int64_t(sets_.size());
  std::vector<std::string> set;
  for (const auto& l : lemmas) set.push_back(spaces_for_underscores(l));
  for (const auto& l : set) {
    auto& ids = by_word_[lower(l)];
    if (ids.empty() || ids.back() != id) ids.push_back(id);
  }
  sets_.push_back(std::move(set));
}

const std::vector<int64_t>* SynonymTable::sets_of(const std::string& word) const {
  auto it = by_word_.find(lower(word));
  return it == by_word_.end() ? nullptr : &it->second;
}

TextAugmenter::TextAugmenter(TextAugmentOptions options, std::shared_ptr<const SynonymTable> synonyms)
    : options_(std::move(options)), synonyms_(std::move(synonyms)) {
  validate(options_);
  const auto& ops = options_.ops();
  CONTRA_CHECK(synonyms_ || std::find(ops.begin(), ops.end(), TextOp::kSynonym) == ops.end(),
               "text augmentation synonym needs a synonym table (WordNet)");
}

bool TextAugmenter::is_identity() const {
  for (TextOp op : options_.ops())
    if (op != TextOp::kDropout) return false;
  return true;
}

std::string TextAugmenter::apply(const std::string& text, Rng& rng) const {
  if (is_identity()) return text;
  auto words = split_words(text);
  for (TextOp op : options_.ops()) {
    switch (op) {
      case TextOp::kDropout: break;
      case TextOp::kDelete: delete_words(words, options_.delete_p(), rng); break;
      case TextOp::kCrop: crop_words(words, options_.crop_fraction(), rng); break;
      case TextOp::kSwap: swap_words(words, options_.swap_n(), rng); break;
      case TextOp::kSynonym: replace_synonyms(words, options_.synonym_p(), *synonyms_, rng); break;
    }
  }
  return join_words(words);
}

std::vector<std::string> TextAugmenter::operator()(const std::vector<std::string>& texts,
                                                   uint64_t seed) const {
  std::vector<std::string> out(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) out[i] = apply_row(texts[i], seed, int64_t(i));
  return out;
}

std::string TextAugmenter::apply_row(const std::string& text, uint64_t seed, int64_t row) const {
  Rng rng(derive_seed(seed, uint64_t(row)));
  return apply(text, rng);
}

}  // namespace contra::augment
