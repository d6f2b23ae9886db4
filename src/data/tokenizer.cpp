#include "contra/data/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include <dlfcn.h>

#include <ATen/ATen.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/core/rng.h"
#include "sentencepiece_shim/contra_spm.h"

namespace contra::data {
namespace {

const NameTable<TokenizerModel, 2> kModelNames = {{"unigram", TokenizerModel::kUnigram},
                                                 {"bpe", TokenizerModel::kBPE}};

/// The functions of libcontra_spm.so, opened once per process.
struct Spm {
  decltype(&contra_spm_load) load;
  decltype(&contra_spm_free) free;
  decltype(&contra_spm_info) info;
  decltype(&contra_spm_encode) encode;
  decltype(&contra_spm_decode) decode;
  decltype(&contra_spm_piece) piece;
  decltype(&contra_spm_train) train;
};

/// dlopen with RTLD_DEEPBIND (without it SentencePiece binds to LibTorch's libprotobuf and fails
/// a protobuf CHECK). AddressSanitizer's dlopen interceptor aborts on that flag
/// (google/sanitizers#611: a deep-bound library may bypass the sanitizer's malloc), so a sanitized
/// build (scripts/sanitize.sh) calls glibc's own dlopen; there the shim links the sanitizer
/// runtimes first, which keeps SentencePiece on the sanitizer's allocator (CMakeLists.txt).
void* dlopen_deep(const char* path) {
  constexpr int kFlags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
#ifdef __SANITIZE_ADDRESS__
  using Dlopen = void* (*)(const char*, int);
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  auto real = libc ? reinterpret_cast<Dlopen>(dlsym(libc, "dlopen")) : nullptr;
  return real ? real(path, kFlags) : nullptr;
#else
  return dlopen(path, kFlags);
#endif
}

std::vector<std::string> library_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("CONTRA_SPM_LIBRARY")) out.push_back(env);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((exe.parent_path() / "libcontra_spm.so").string());
#ifdef CONTRA_SPM_INSTALLED_LIBDIR
  // An installed contra under any prefix: PREFIX/bin/contra and PREFIX/<libdir>/libcontra_spm.so.
  if (!ec) out.push_back((exe.parent_path().parent_path() / CONTRA_SPM_INSTALLED_LIBDIR / "libcontra_spm.so").string());
#endif
#ifdef CONTRA_SPM_LIBRARY_PATH
  out.push_back(CONTRA_SPM_LIBRARY_PATH);  // the build tree
#endif
#ifdef CONTRA_SPM_INSTALLED_PATH
  out.push_back(CONTRA_SPM_INSTALLED_PATH);  // where cmake --install puts it (default prefix)
#endif
  return out;
}

const Spm& spm() {
  static Spm lib;
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    void* handle = nullptr;
    std::string tried;
    for (const auto& path : library_candidates()) {
      if (!std::filesystem::exists(path)) {
        tried += "\n  " + path + ": not found";
        continue;
      }
      handle = dlopen_deep(path.c_str());
      if (handle) break;
      const char* why = dlerror();  // null if nothing was recorded
      tried += "\n  " + path + ": " + (why ? why : "cannot be opened");
    }
    if (!handle) {
      error = "cannot load libcontra_spm.so (SentencePiece; set CONTRA_SPM_LIBRARY to its path):" + tried;
      return;
    }
    auto sym = [&](const char* name) {
      void* f = dlsym(handle, name);
      if (!f && error.empty()) error = std::string("libcontra_spm.so lacks ") + name;
      return f;
    };
    lib.load = reinterpret_cast<decltype(lib.load)>(sym("contra_spm_load"));
    lib.free = reinterpret_cast<decltype(lib.free)>(sym("contra_spm_free"));
    lib.info = reinterpret_cast<decltype(lib.info)>(sym("contra_spm_info"));
    lib.encode = reinterpret_cast<decltype(lib.encode)>(sym("contra_spm_encode"));
    lib.decode = reinterpret_cast<decltype(lib.decode)>(sym("contra_spm_decode"));
    lib.piece = reinterpret_cast<decltype(lib.piece)>(sym("contra_spm_piece"));
    lib.train = reinterpret_cast<decltype(lib.train)>(sym("contra_spm_train"));
  });
  CONTRA_CHECK(error.empty(), error);
  return lib;
}

}  // namespace

struct Tokenizer::Model {
  ContraSpm* sp = nullptr;
  ~Model() {
    if (sp) spm().free(sp);
  }
};

TokenizerModel tokenizer_model_from_string(const std::string& name) {
  return from_name(kModelNames, name, "tokenizer model");
}

std::vector<std::string> tokenizer_model_names() { return names_of(kModelNames); }

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
  std::vector<const char*> chosen;
  chosen.reserve(texts.size());
  for (const auto& t : texts) chosen.push_back(t.c_str());
  const size_t keep = o.max_sentences() > 0 ? std::min(texts.size(), size_t(o.max_sentences()))
                                            : texts.size();
  if (keep < chosen.size()) {
    Rng rng(derive_seed(o.seed(), 0x73706d /* "spm" */));
    for (size_t i = 0; i < keep; ++i) std::swap(chosen[i], chosen[i + rng.below(chosen.size() - i)]);
    chosen.resize(keep);
  }

  const std::vector<std::pair<std::string, std::string>> args = {
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
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : args) keys.push_back(k.c_str()), values.push_back(v.c_str());
  char err[512] = {0};
  const int rc = spm().train(keys.data(), values.data(), int(args.size()), chosen.data(),
                             int64_t(chosen.size()), err, sizeof err);
  CONTRA_CHECK(rc == 0, "tokenizer training failed: ", err);
  // The vocabulary listing is only for people; the .model file holds everything.
  std::error_code ec;
  std::filesystem::remove(prefix + ".vocab", ec);
}

Tokenizer Tokenizer::load(const std::string& model_path) {
  CONTRA_CHECK(std::filesystem::is_regular_file(model_path), "tokenizer model '", model_path,
               "' does not exist");
  Tokenizer t;
  t.model_ = std::make_shared<Model>();
  char err[512] = {0};
  t.model_->sp = spm().load(model_path.c_str(), err, sizeof err);
  CONTRA_CHECK(t.model_->sp, "tokenizer model '", model_path, "' is not a SentencePiece model: ",
               err);
  int vocab = 0, pad = -1, unk = 0, bos = -1, eos = -1;
  spm().info(t.model_->sp, &vocab, &pad, &unk, &bos, &eos);
  t.vocab_size_ = vocab;
  t.unk_id_ = unk;
  // Models trained elsewhere may lack <pad>: any id works, the mask hides it.
  t.pad_id_ = pad >= 0 ? pad : unk;
  t.bos_id_ = bos;
  return t;
}

std::vector<int> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids(text.size() + 8);
  int n = spm().encode(model_->sp, text.data(), int(text.size()), ids.data(), int(ids.size()));
  if (n > int(ids.size())) {
    ids.resize(size_t(n));
    n = spm().encode(model_->sp, text.data(), int(text.size()), ids.data(), int(ids.size()));
  }
  CONTRA_CHECK(n >= 0, "tokenizer: cannot encode text '", text, "'");
  ids.resize(size_t(n));
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  for (int id : ids)
    CONTRA_CHECK(id >= 0 && id < vocab_size_, "tokenizer: id ", id, " is outside the vocabulary (",
                 vocab_size_, " pieces)");
  std::string text(ids.size() * 8 + 16, '\0');
  int n = spm().decode(model_->sp, ids.data(), int(ids.size()), text.data(), int(text.size()));
  if (n > int(text.size())) {
    text.resize(size_t(n));
    n = spm().decode(model_->sp, ids.data(), int(ids.size()), text.data(), int(text.size()));
  }
  CONTRA_CHECK(n >= 0, "tokenizer: cannot decode ids");
  text.resize(size_t(n));
  return text;
}

std::vector<std::string> Tokenizer::pieces(const std::string& text) const {
  std::vector<std::string> out;
  for (int id : encode(text)) out.emplace_back(spm().piece(model_->sp, id));
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
    if (r.empty()) r.push_back(int(unk_id_));
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

int64_t Tokenizer::vocab_size() const { return vocab_size_; }

}  // namespace contra::data
