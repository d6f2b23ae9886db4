// libcontra_spm.so: SentencePiece behind the C interface of contra_spm.h. No LibTorch here.
#include "contra_spm.h"

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

struct ContraSpm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

void set_error(char* err, int err_len, const std::string& message) {
  if (!err || err_len <= 0) return;
  const size_t n = std::min(message.size(), size_t(err_len - 1));
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

class ArrayIterator : public sentencepiece::SentenceIterator {
 public:
  ArrayIterator(const char* const* texts, int64_t n) : texts_(texts), n_(n) { load(); }
  bool done() const override { return i_ >= n_; }
  void Next() override {
    ++i_;
    load();
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void load() {
    if (i_ < n_) value_ = texts_[i_];
  }
  const char* const* texts_;
  int64_t n_, i_ = 0;
  std::string value_;
};

}  // namespace

extern "C" {

ContraSpm* contra_spm_load(const char* path, char* err, int err_len) {
  auto* sp = new ContraSpm;
  const auto status = sp->processor.Load(path);
  if (!status.ok()) {
    set_error(err, err_len, status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

void contra_spm_free(ContraSpm* sp) { delete sp; }

void contra_spm_info(const ContraSpm* sp, int* vocab, int* pad, int* unk, int* bos, int* eos) {
  *vocab = sp->processor.GetPieceSize();
  *pad = sp->processor.pad_id();
  *unk = sp->processor.unk_id();
  *bos = sp->processor.bos_id();
  *eos = sp->processor.eos_id();
}

int contra_spm_encode(ContraSpm* sp, const char* text, int len, int* ids, int cap) {
  std::vector<int> out;
  if (!sp->processor.Encode(std::string_view(text, size_t(len)), &out).ok()) return -1;
  for (size_t i = 0; i < out.size() && int(i) < cap; ++i) ids[i] = out[i];
  return int(out.size());
}

int contra_spm_decode(ContraSpm* sp, const int* ids, int n, char* out, int cap) {
  std::string text;
  if (!sp->processor.Decode(std::vector<int>(ids, ids + n), &text).ok()) return -1;
  std::memcpy(out, text.data(), std::min(text.size(), size_t(cap > 0 ? cap : 0)));
  return int(text.size());
}

const char* contra_spm_piece(const ContraSpm* sp, int id) {
  if (id < 0 || id >= sp->processor.GetPieceSize()) return nullptr;
  return sp->processor.IdToPiece(id).c_str();
}

int contra_spm_train(const char* const* keys, const char* const* values, int n_args,
                     const char* const* texts, int64_t n_texts, char* err, int err_len) {
  std::unordered_map<std::string, std::string> args;
  for (int i = 0; i < n_args; ++i) args[keys[i]] = values[i];
  ArrayIterator it(texts, n_texts);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it);
  if (!status.ok()) {
    set_error(err, err_len, status.ToString());
    return -1;
  }
  return 0;
}

}  // extern "C"
