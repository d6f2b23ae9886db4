#include "contra/data/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include <ATen/ATen.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/core/rng.h"

namespace contra::data {
namespace {

const NameTable<TokenizerModel, 2> kModelNames = {{"unigram", TokenizerModel::kUnigram},
                                                 {"bpe", TokenizerModel::kBPE}};

/// Feeds SentencePiece's trainer from memory, so no temporary corpus file is needed.
class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<const std::string*>& texts) : texts_(texts) {}
  bool done() const override { return i_ >= texts_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return *texts_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<const std::string*>& texts_;
  size_t i_ = 0;
};

}  // namespace

TokenizerModel tokenizer_model_from_string(const std::string& name) {
  return from_name(kModelNames, name, "tokenizer model");
}

void train_tokenizer(const std::vector<std::string>& texts, const std::string& model_path,
                     const TokenizerTrainOptions& o) {
  CONTRA_CHECK(!texts.empty(), "tokenizer: no texts to train on");
  CONTRA_CHECK(o.vocab_size() >= 8, "tokenizer vocabulary size must be >= 8, got ", o.vocab_size());
  CONTRA_CHECK(o.max_sentences() >= 0, "tokenizer max_sentences must be >= 0, got ",
               o.max_sentences());
  std::string prefix = model_path;
  const std::string ext = ".model";
  CONTRA_CHECK(prefix.size() > ext.size() &&
                   prefix.compare(prefix.size() - ext.size(), ext.size(), ext) == 0,
               "tokenizer model path must end in .model, got '", model_path, "'");
  prefix.resize(prefix.size() - ext.size());

  // A seeded draw without replacement when there are more texts than max_sentences.
  std::vector<const std::string*> chosen;
  chosen.reserve(texts.size());
  for (const auto& t : texts) chosen.push_back(&t);
  const size_t keep = o.max_sentences() > 0 ? std::min(texts.size(), size_t(o.max_sentences()))
                                            : texts.size();
  if (keep < chosen.size()) {
    Rng rng(derive_seed(o.seed(), 0x73706d /* "spm" */));
    for (size_t i = 0; i < keep; ++i) std::swap(chosen[i], chosen[i + rng.below(chosen.size() - i)]);
    chosen.resize(keep);
  }

  const std::unordered_map<std::string, std::string> args = {
      {"model_prefix", prefix},
      {"vocab_size", std::to_string(o.vocab_size())},
      {"model_type", name_of(kModelNames, o.model())},
      {"character_coverage", std::to_string(o.character_coverage())},
      {"normalization_rule_name", o.lowercase() ? "nmt_nfkc_cf" : "nmt_nfkc"},
      {"pad_id", "0"},
      {"unk_id", "1"},
      {"bos_id", "2"},
      {"eos_id", "3"},
      {"num_threads", std::to_string(std::max<int64_t>(1, o.threads()))},
      {"input_sentence_size", "0"},
      {"hard_vocab_limit", "false"},
      {"minloglevel", "1"},
  };
  VectorIterator it(chosen);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it);
  CONTRA_CHECK(status.ok(), "tokenizer training failed: ", status.ToString());
  // The vocabulary listing is only for people; the .model file holds everything.
  std::error_code ec;
  std::filesystem::remove(prefix + ".vocab", ec);
}

TokenBatch TokenBatch::to(const at::Device& device) const {
  return {ids.to(device), mask.to(device)};
}

Tokenizer Tokenizer::load(const std::string& model_path) {
  CONTRA_CHECK(std::filesystem::is_regular_file(model_path), "tokenizer model '", model_path,
               "' does not exist");
  Tokenizer t;
  t.sp_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = t.sp_->Load(model_path);
  CONTRA_CHECK(status.ok(), "tokenizer model '", model_path,
               "' is not a SentencePiece model: ", status.ToString());
  // Models trained elsewhere may lack <pad>: any id works, the mask hides it.
  t.pad_id_ = t.sp_->pad_id() >= 0 ? t.sp_->pad_id() : t.sp_->unk_id();
  t.bos_id_ = t.sp_->bos_id();
  return t;
}

std::vector<int> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  CONTRA_CHECK(status.ok(), "tokenizer: cannot encode text: ", status.ToString());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string text;
  const auto status = sp_->Decode(ids, &text);
  CONTRA_CHECK(status.ok(), "tokenizer: cannot decode ids: ", status.ToString());
  return text;
}

std::vector<std::string> Tokenizer::pieces(const std::string& text) const {
  std::vector<std::string> out;
  const auto status = sp_->Encode(text, &out);
  CONTRA_CHECK(status.ok(), "tokenizer: cannot encode text: ", status.ToString());
  return out;
}

TokenBatch Tokenizer::encode_batch(const std::vector<std::string>& texts, int64_t max_len) const {
  CONTRA_CHECK(max_len >= 2, "tokenizer: max_len must be >= 2, got ", max_len);
  std::vector<std::vector<int>> rows(texts.size());
  int64_t longest = 1;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto& r = rows[i];
    if (bos_id_ >= 0) r.push_back(int(bos_id_));
    const auto ids = encode(texts[i]);
    r.insert(r.end(), ids.begin(), ids.end());
    // An empty text without <s> still needs one real position: <unk> stands for it.
    if (r.empty()) r.push_back(sp_->unk_id());
    if (int64_t(r.size()) > max_len) r.resize(size_t(max_len));
    longest = std::max<int64_t>(longest, int64_t(r.size()));
  }
  const int64_t b = int64_t(texts.size());
  TokenBatch out;
  out.ids = at::full({b, longest}, pad_id_, at::TensorOptions(at::kLong));
  out.mask = at::zeros({b, longest}, at::TensorOptions(at::kBool));
  auto* ids = out.ids.data_ptr<int64_t>();
  auto* mask = out.mask.data_ptr<bool>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& r = rows[size_t(i)];
    for (size_t j = 0; j < r.size(); ++j) {
      ids[i * longest + int64_t(j)] = r[j];
      mask[i * longest + int64_t(j)] = true;
    }
  }
  return out;
}

int64_t Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }

}  // namespace contra::data
