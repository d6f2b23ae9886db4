#include "contra/data/wordnet_text.h"

#include <unordered_set>

#include "contra/core/error.h"
#include "contra/core/rng.h"

namespace contra::data {
namespace {

template <class T>
void seeded_shuffle(std::vector<T>& v, uint64_t seed) {
  Rng rng(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace

std::vector<std::string> wordnet_texts(const WordNet& wordnet, const std::vector<int64_t>& synsets,
                                       uint64_t seed) {
  std::vector<std::string> texts;
  for (int64_t i : synsets) {
    const Synset& s = wordnet.synsets.at(size_t(i));
    if (!s.definition.empty()) texts.push_back(s.definition);
    for (const auto& e : s.examples) texts.push_back(e);
  }
  seeded_shuffle(texts, derive_seed(seed, 0x7465787473ull /* "texts" */));
  return texts;
}

std::vector<TextPair> wordnet_pairs(const WordNet& wordnet, const std::vector<int64_t>& synsets,
                                    bool hard_negatives, uint64_t seed) {
  std::unordered_set<int64_t> allowed(synsets.begin(), synsets.end());
  std::vector<int64_t> with_definition;
  for (int64_t i : synsets)
    if (!wordnet.synsets.at(size_t(i)).definition.empty()) with_definition.push_back(i);
  std::vector<TextPair> pairs;
  for (int64_t i : synsets) {
    const Synset& s = wordnet.synsets.at(size_t(i));
    if (s.definition.empty()) continue;
    // Other senses of this synset's lemmas, within the allowed synsets.
    std::vector<int64_t> senses;
    if (hard_negatives) {
      std::unordered_set<int64_t> seen = {i};
      for (const auto& l : s.lemmas) {
        auto it = wordnet.lemma_index.find(lemma_key(l));
        if (it == wordnet.lemma_index.end()) continue;
        for (int64_t j : it->second)
          if (allowed.count(j) && !wordnet.synsets[size_t(j)].definition.empty() &&
              seen.insert(j).second)
            senses.push_back(j);
      }
    }
    for (size_t e = 0; e < s.examples.size(); ++e) {
      TextPair p{s.examples[e], s.definition, {}};
      if (hard_negatives && with_definition.size() > 1) {
        Rng rng(derive_seed(seed, uint64_t(i), e));
        int64_t j = i;
        if (!senses.empty()) j = senses[rng.below(senses.size())];
        while (j == i) j = with_definition[rng.below(with_definition.size())];
        p.negative = wordnet.synsets[size_t(j)].definition;
      }
      pairs.push_back(std::move(p));
    }
  }
  seeded_shuffle(pairs, derive_seed(seed, 0x7061697273ull /* "pairs" */));
  return pairs;
}

RetrievalTask gloss_retrieval_task(const WordNet& wordnet, const std::vector<int64_t>& synsets) {
  RetrievalTask task;
  for (int64_t i : synsets) {
    const Synset& s = wordnet.synsets.at(size_t(i));
    if (s.definition.empty()) continue;
    const int64_t doc = int64_t(task.documents.size());
    task.documents.push_back(s.definition);
    task.synsets.push_back(i);
    for (const auto& e : s.examples) {
      task.queries.push_back(e);
      task.targets.push_back(doc);
    }
  }
  return task;
}

augment::SynonymTable synonym_table(const WordNet& wordnet, const std::vector<int64_t>& synsets) {
  augment::SynonymTable t;
  for (int64_t i : synsets) {
    const auto& s = wordnet.synsets.at(size_t(i));
    if (s.lemmas.size() >= 2) t.add(s.lemmas);
  }
  return t;
}

}  // namespace contra::data
