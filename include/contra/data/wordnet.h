#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace contra::data {

/// WordNet 3.0's database files (Debian: wordnet-base, /usr/share/wordnet), format wndb(5WN):
/// data.{noun,verb,adj,adv} hold one synset per line, index.* the senses of each lemma.
inline const char* kWordNetDefaultDir = "/usr/share/wordnet";

enum class PartOfSpeech { kNoun, kVerb, kAdjective, kAdjectiveSatellite, kAdverb };
/// The letter WordNet and NLTK use: n, v, a, s, r.
char pos_letter(PartOfSpeech pos);

struct Synset {
  /// "<first lemma>.<pos letter>.<sense>", e.g. "dog.n.01": the sense number is the synset's
  /// position among its first lemma's senses in index.<pos> (NLTK's names). Empty when the
  /// index files were not read.
  std::string name;
  PartOfSpeech pos = PartOfSpeech::kNoun;
  /// Byte offset of the line in data.<pos>: WordNet's synset id within its file.
  uint32_t offset = 0;
  /// Lemmas as written in the file: underscores for spaces ("domestic_dog"), case kept, the
  /// adjective markers "(a)", "(p)", "(ip)" removed.
  std::vector<std::string> lemmas;
  /// The gloss without its examples: the parts not in double quotes, joined with "; ".
  std::string definition;
  /// The gloss's quoted example sentences, quotes removed, in order.
  std::vector<std::string> examples;
};

/// Parses one synset line of data.<pos> (without its newline). `file` and `line` only label
/// errors: contra::Error "<file>:<line>: malformed synset line: <what is wrong>", or
/// "<file>:<line>: invalid UTF-8 at byte <k>".
Synset parse_synset_line(const std::string& text, const std::string& file, int64_t line);

/// Splits a gloss into its definition and its quoted examples (';' inside quotes does not split).
void split_gloss(const std::string& gloss, std::string& definition,
                 std::vector<std::string>& examples);

struct WordNet {
  /// All synsets, in file order: nouns, verbs, adjectives, adverbs.
  std::vector<Synset> synsets;
  /// Lemma in lower case with underscores ("domestic_dog") -> indices of the synsets holding it.
  std::unordered_map<std::string, std::vector<int64_t>> lemma_index;

  /// The synset called `name` ("dog.n.01"), or nullptr.
  const Synset* find(const std::string& name) const;
  /// Index of the synset called `name`, or -1.
  int64_t index_of(const std::string& name) const;

 private:
  friend WordNet load_wordnet(const std::string& dir);
  std::unordered_map<std::string, int64_t> by_name_;
};

/// Reads data.{noun,verb,adj,adv} and index.{noun,verb,adj,adv} from `dir`. Throws contra::Error
/// naming the file for a missing file, and "<file>:<line>: ..." for a malformed line.
WordNet load_wordnet(const std::string& dir = kWordNetDefaultDir);

/// Lower case with spaces as underscores: the lemma_index key of a word or lemma.
std::string lemma_key(const std::string& word);

/// A seeded split of synsets into train, validation and held-out test sets. Each synset's set is
/// decided by a hash of (seed, part of speech, offset), so it does not depend on the order of
/// loading or on which other synsets exist.
struct SynsetSplit {
  std::vector<int64_t> train, val, test;  ///< indices into WordNet::synsets, ascending
};
SynsetSplit split_synsets(const WordNet& wordnet, double test_fraction, double val_fraction,
                          uint64_t seed);

}  // namespace contra::data
