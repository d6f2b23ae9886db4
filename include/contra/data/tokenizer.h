#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/data/batch.h"

namespace contra::data {

/// SentencePiece's segmentation algorithms: "SentencePiece: A simple and language independent
/// subword tokenizer and detokenizer for Neural Text Processing" (Kudo & Richardson, 2018).
enum class TokenizerModel { kUnigram, kBPE };
TokenizerModel tokenizer_model_from_string(const std::string& name);  ///< "unigram" | "bpe"
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> tokenizer_model_names();

struct TokenizerTrainOptions {
  explicit TokenizerTrainOptions(int64_t vocab_size) : vocab_size_(vocab_size) {}
  /// Pieces in the vocabulary, special ones included (required).
  TORCH_ARG(int64_t, vocab_size);
  /// Segmentation algorithm (default unigram).
  TORCH_ARG(TokenizerModel, model) = TokenizerModel::kUnigram;
  /// Fold case while normalising (NFKC + case folding), so "Dog" and "dog" share pieces
  /// (default true).
  TORCH_ARG(bool, lowercase) = true;
  /// Train on at most this many texts, drawn with `seed`; 0 = all (default 200,000).
  TORCH_ARG(int64_t, max_sentences) = 200000;
  /// Share of characters the vocabulary must cover (default 0.9995).
  TORCH_ARG(double, character_coverage) = 0.9995;
  /// Seed of the draw of training texts (default 0).
  TORCH_ARG(uint64_t, seed) = 0;
  /// SentencePiece trainer threads (default 2).
  TORCH_ARG(int64_t, threads) = 2;
};

/// Trains a SentencePiece model on `texts` and writes it to `model_path` (conventionally
/// *.model). Ids: 0 = <pad>, 1 = <unk>, 2 = <s> (prepended to every sequence by encode_batch; the
/// first-token pooling reads it), 3 = </s>. Throws contra::Error for no texts, a vocabulary the
/// texts cannot fill, or an unwritable path.
void train_tokenizer(const std::vector<std::string>& texts, const std::string& model_path,
                     const TokenizerTrainOptions& options);

/// A loaded SentencePiece model: text <-> ids, and padded batches for the text encoder.
/// SentencePiece itself lives in libcontra_spm.so, opened on first use (see
/// src/data/sentencepiece_shim/contra_spm.h for why); it is looked for in $CONTRA_SPM_LIBRARY,
/// next to the running executable, then where the build put it.
class Tokenizer {
 public:
  /// Throws contra::Error naming the file when it is missing or not a SentencePiece model.
  static Tokenizer load(const std::string& model_path);

  /// Pieces' ids of `text` (no <s> / </s>).
  std::vector<int> encode(const std::string& text) const;
  /// The text of `ids` (special ids are skipped).
  std::string decode(const std::vector<int>& ids) const;
  /// Segmented pieces, for inspection ("▁dog", "s").
  std::vector<std::string> pieces(const std::string& text) const;

  /// Encodes texts as [<s>, pieces...] truncated to max_len tokens, padded to the longest row
  /// (L <= max_len). max_len >= 2.
  TokenBatch encode_batch(const std::vector<std::string>& texts, int64_t max_len) const;

  int64_t vocab_size() const;
  int64_t pad_id() const { return pad_id_; }
  int64_t bos_id() const { return bos_id_; }  ///< -1 when the model has none

 private:
  struct Model;
  std::shared_ptr<Model> model_;
  int64_t pad_id_ = 0, bos_id_ = -1, unk_id_ = 0, vocab_size_ = 0;
};

}  // namespace contra::data
