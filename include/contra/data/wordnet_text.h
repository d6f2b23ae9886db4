#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "contra/augment/text.h"
#include "contra/data/text.h"
#include "contra/data/wordnet.h"

namespace contra::data {

/// Texts, pairs and the gloss-retrieval task made from a set of WordNet synsets (indices into
/// WordNet::synsets, e.g. one part of a SynsetSplit).

/// Unsupervised training texts: each synset's definition and each of its examples, in a seeded
/// order (so a prefix is a random sample).
std::vector<std::string> wordnet_texts(const WordNet& wordnet, const std::vector<int64_t>& synsets,
                                       uint64_t seed);

/// Supervised pairs (example, definition of its synset), one per example, in a seeded order. With
/// hard_negatives, each pair also gets the definition of another synset from `synsets` that
/// shares a lemma with the anchor's synset (another sense of the same word; chosen with the
/// seed), or of a random synset from `synsets` when none does.
std::vector<TextPair> wordnet_pairs(const WordNet& wordnet, const std::vector<int64_t>& synsets,
                                    bool hard_negatives, uint64_t seed);

/// Gloss retrieval: documents are the definitions of `synsets` (those with one); queries are
/// their examples; targets[q] is the document of query q's synset; synsets[k] is document k's
/// synset (index into WordNet::synsets).
struct RetrievalTask {
  std::vector<std::string> queries, documents;
  std::vector<int64_t> targets;
  std::vector<int64_t> synsets;
};
RetrievalTask gloss_retrieval_task(const WordNet& wordnet, const std::vector<int64_t>& synsets);

/// The synonym sets (lemmas of each synset with two or more) of `synsets` only (e.g. the training
/// split, so that held-out synsets never shape training views).
augment::SynonymTable synonym_table(const WordNet& wordnet, const std::vector<int64_t>& synsets);

}  // namespace contra::data
