// State dict files in PyTorch's torch.save format: a zip archive holding data.pkl (a pickle
// whose tensors refer to storages by key) and data/<key> (each storage's raw little-endian
// bytes). Reading runs a small pickle machine that knows only what a state dict pickles to.
#include "contra/run/state_dict_file.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/files.h"

namespace contra::run {
namespace {

/// One value of the pickle machine: what a state dict's pickle holds.
struct PickleValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kStr, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  int64_t i = 0;
  double f = 0;
  std::string s;  ///< kStr; kGlobal: "module.name"
  std::vector<std::shared_ptr<PickleValue>> items;  ///< tuple, list; dict: key, value, key, ...
  at::Tensor tensor;  ///< kStorage (1-D), kTensor
};
using PickleRef = std::shared_ptr<PickleValue>;

PickleRef pickle_value(PickleValue::Kind kind) {
  auto v = std::make_shared<PickleValue>();
  v->kind = kind;
  return v;
}

/// The dtype of a storage class torch.save names (torch.FloatStorage, ...).
std::optional<at::ScalarType> storage_dtype(const std::string& global) {
  static const std::map<std::string, at::ScalarType> kinds = {
      {"torch.FloatStorage", at::kFloat},   {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},     {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},     {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},     {"torch.BoolStorage", at::kBool},
      {"torch.UntypedStorage", at::kByte}};
  auto it = kinds.find(global);
  if (it == kinds.end()) return std::nullopt;
  return it->second;
}

class StateDictUnpickler {
 public:
  StateDictUnpickler(std::string path, caffe2::serialize::PyTorchStreamReader& archive,
                     const char* data, size_t size)
      : path_(std::move(path)), archive_(archive), data_(data), size_(size) {}

  PickleRef run() {
    for (;;) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;      // PROTO
        case 0x95: bytes(8); break;    // FRAME
        case '.': return pop();        // STOP
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case 'N': push(pickle_value(PickleValue::Kind::kNone)); break;
        case 0x88: case 0x89: {        // NEWTRUE, NEWFALSE
          auto v = pickle_value(PickleValue::Kind::kBool);
          v->i = op == 0x88;
          push(v);
          break;
        }
        case 'K': push_int(uint8_t(byte())); break;          // BININT1
        case 'M': push_int(int64_t(little(2))); break;       // BININT2
        case 'J': push_int(int32_t(uint32_t(little(4)))); break;  // BININT
        case 0x8a: {                   // LONG1
          const size_t n = byte();
          CONTRA_CHECK(n <= 8, path_, ": an integer too large for a state dict");
          uint64_t u = n ? little(n) : 0;
          if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~uint64_t(0) << (8 * n);
          push_int(int64_t(u));
          break;
        }
        case 'G': {                    // BINFLOAT (big-endian)
          uint64_t u = 0;
          for (int k = 0; k < 8; ++k) u = (u << 8) | uint8_t(byte());
          auto v = pickle_value(PickleValue::Kind::kFloat);
          std::memcpy(&v->f, &u, sizeof u);
          push(v);
          break;
        }
        case 'X': push_str(bytes(little(4))); break;  // BINUNICODE
        case 0x8c: push_str(bytes(byte())); break;    // SHORT_BINUNICODE
        case 0x8d: push_str(bytes(little(8))); break;  // BINUNICODE8
        case 'B': push_str(bytes(little(4))); break;   // BINBYTES
        case 'C': push_str(bytes(byte())); break;      // SHORT_BINBYTES
        case 'c': {                    // GLOBAL module\nname\n
          auto module = line();
          auto name = line();
          push_global(module + "." + name);
          break;
        }
        case 0x93: {                   // STACK_GLOBAL
          auto name = pop(), module = pop();
          push_global(module->s + "." + name->s);
          break;
        }
        case 'q': memo_[uint8_t(byte())] = top(); break;      // BINPUT
        case 'r': memo_[uint32_t(little(4))] = top(); break;  // LONG_BINPUT
        case 0x94: memo_[uint32_t(memo_.size())] = top(); break;  // MEMOIZE
        case 'h': push(memo(uint8_t(byte()))); break;          // BINGET
        case 'j': push(memo(uint32_t(little(4)))); break;      // LONG_BINGET
        case ')': push(pickle_value(PickleValue::Kind::kTuple)); break;
        case ']': push(pickle_value(PickleValue::Kind::kList)); break;
        case '}': push(pickle_value(PickleValue::Kind::kDict)); break;
        case 't': case 'l': {          // TUPLE, LIST (from the mark)
          auto v = pickle_value(op == 't' ? PickleValue::Kind::kTuple : PickleValue::Kind::kList);
          v->items = pop_to_mark();
          push(v);
          break;
        }
        case 0x85: case 0x86: case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
          auto v = pickle_value(PickleValue::Kind::kTuple);
          v->items.resize(op - 0x84);
          for (size_t k = v->items.size(); k-- > 0;) v->items[k] = pop();
          push(v);
          break;
        }
        case 'a': {                    // APPEND
          auto v = pop();
          top()->items.push_back(v);
          break;
        }
        case 'e': {                    // APPENDS
          auto vs = pop_to_mark();
          auto& list = top()->items;
          list.insert(list.end(), vs.begin(), vs.end());
          break;
        }
        case 's': {                    // SETITEM
          auto value = pop(), key = pop();
          expect_dict(top());
          top()->items.insert(top()->items.end(), {key, value});
          break;
        }
        case 'u': {                    // SETITEMS
          auto kv = pop_to_mark();
          expect_dict(top());
          top()->items.insert(top()->items.end(), kv.begin(), kv.end());
          break;
        }
        case 'b': pop(); break;        // BUILD: an OrderedDict's _metadata; not needed
        case 'Q': push(storage(pop())); break;  // BINPERSID
        case 'R': {                    // REDUCE
          auto args = pop(), callable = pop();
          push(reduce(*callable, *args));
          break;
        }
        default: {
          char code[8];
          std::snprintf(code, sizeof code, "0x%02x", unsigned(op));
          throw Error(c10::str(path_, ": unsupported pickle opcode ", code, " at byte ", pos_ - 1,
                               " (expected a state dict saved with torch.save)"));
        }
      }
    }
  }

 private:
  [[noreturn]] void damaged(const std::string& what) const {
    throw Error(c10::str(path_, ": damaged state dict (", what, ")"));
  }
  char byte() {
    if (pos_ >= size_) damaged("the pickle ends early");
    return data_[pos_++];
  }
  std::string bytes(uint64_t n) {
    if (n > size_ - pos_) damaged("the pickle ends early");
    std::string s(data_ + pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t little(size_t n) {
    uint64_t u = 0;
    for (size_t k = 0; k < n; ++k) u |= uint64_t(uint8_t(byte())) << (8 * k);
    return u;
  }
  std::string line() {
    std::string s;
    for (char ch = byte(); ch != '\n'; ch = byte()) s += ch;
    return s;
  }
  void push(PickleRef v) { stack_.push_back(std::move(v)); }
  void push_int(int64_t i) {
    auto v = pickle_value(PickleValue::Kind::kInt);
    v->i = i;
    push(v);
  }
  void push_str(std::string s) {
    auto v = pickle_value(PickleValue::Kind::kStr);
    v->s = std::move(s);
    push(v);
  }
  void push_global(std::string name) {
    auto v = pickle_value(PickleValue::Kind::kGlobal);
    v->s = std::move(name);
    push(v);
  }
  PickleRef pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) damaged("stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PickleRef top() {
    if (stack_.empty()) damaged("stack underflow");
    return stack_.back();
  }
  PickleRef memo(uint32_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) damaged("unknown memo entry");
    return it->second;
  }
  std::vector<PickleRef> pop_to_mark() {
    if (marks_.empty() || marks_.back() > stack_.size()) damaged("no mark");
    std::vector<PickleRef> items(stack_.begin() + marks_.back(), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void expect_dict(const PickleRef& v) const {
    if (v->kind != PickleValue::Kind::kDict) damaged("items set on something not a dict");
  }
  static const PickleValue& arg(const PickleValue& args, size_t k) {
    static const PickleValue none;
    return k < args.items.size() && args.items[k] ? *args.items[k] : none;
  }
  static std::vector<int64_t> ints(const PickleValue& tuple) {
    std::vector<int64_t> out;
    for (const auto& v : tuple.items) out.push_back(v->i);
    return out;
  }

  /// A persistent id ('storage', storage class, key, location, numel) -> the storage's data.
  PickleRef storage(const PickleRef& pid) {
    if (pid->kind != PickleValue::Kind::kTuple || pid->items.size() < 3 || pid->items[0]->s != "storage")
      damaged("a persistent id that is not a storage");
    const auto dtype = storage_dtype(pid->items[1]->s);
    CONTRA_CHECK(dtype, path_, ": tensors of storage type ", pid->items[1]->s, " are not supported");
    const std::string key = pid->items[2]->s;
    auto& cached = storages_[key];
    if (!cached) {
      const std::string record = "data/" + key;
      CONTRA_CHECK(archive_.hasRecord(record), path_, ": the archive lacks ", record);
      at::DataPtr ptr;
      size_t n = 0;
      std::tie(ptr, n) = archive_.getRecord(record);
      const size_t item = c10::elementSize(*dtype);
      if (n % item != 0) damaged(record + " is not a whole number of elements");
      cached = pickle_value(PickleValue::Kind::kStorage);
      cached->tensor = torch::empty({int64_t(n / item)}, torch::TensorOptions().dtype(*dtype));
      if (n) std::memcpy(cached->tensor.data_ptr(), ptr.get(), n);
    }
    return cached;
  }

  /// What calling `callable(*args)` makes, for the callables a state dict pickles.
  PickleRef reduce(const PickleValue& callable, const PickleValue& args) {
    const std::string& name = callable.s;
    if (callable.kind != PickleValue::Kind::kGlobal || args.kind != PickleValue::Kind::kTuple)
      damaged("a call that is not a class or function with arguments");
    auto first = [&]() {
      if (args.items.empty()) damaged(name + " without arguments");
      return args.items[0];
    };
    if (name == "collections.OrderedDict") return pickle_value(PickleValue::Kind::kDict);
    if (name == "torch.jit._pickle.restore_type_tag") return first();
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state")
      return first();
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      const PickleValue& store = arg(args, 0);
      if (store.kind != PickleValue::Kind::kStorage) damaged("a tensor without storage");
      const auto sizes = ints(arg(args, 2)), strides = ints(arg(args, 3));
      if (sizes.size() != strides.size()) damaged("a tensor's sizes and strides differ in length");
      const int64_t offset = arg(args, 1).i;
      int64_t last = offset;
      for (size_t k = 0; k < sizes.size(); ++k) {
        if (sizes[k] < 0 || strides[k] < 0) damaged("a negative tensor size or stride");
        if (sizes[k] == 0) last = -1;
        if (last < 0 || sizes[k] <= 1 || strides[k] == 0) continue;
        if (sizes[k] - 1 > (std::numeric_limits<int64_t>::max() - last) / strides[k])
          damaged("a tensor reaches past its storage");
        last += (sizes[k] - 1) * strides[k];
      }
      if (offset < 0 || (last >= 0 && last >= store.tensor.numel()))
        damaged("a tensor reaches past its storage");
      auto v = pickle_value(PickleValue::Kind::kTensor);
      v->tensor = torch::empty(sizes, store.tensor.options())
                      .copy_(store.tensor.as_strided(sizes, strides, offset));
      return v;
    }
    throw Error(c10::str(path_, ": holds a ", name.empty() ? "call" : name,
                         " object; expected a state dict (torch.save(model.state_dict(), path))"));
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, PickleRef> memo_;
  std::map<std::string, PickleRef> storages_;
};

}  // namespace

NamedTensors read_state_dict(const std::string& path) {
  std::error_code ec;
  CONTRA_CHECK(std::filesystem::is_regular_file(path, ec), "cannot read state dict file '", path,
               "': no such file");
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw Error(c10::str("cannot read state dict file '", path,
                         "': not a PyTorch zip archive (torch.save writes one since PyTorch 1.6; "
                         "files saved with _use_new_zipfile_serialization=False are not read): ",
                         e.what_without_backtrace()));
  }
  NamedTensors out;
  try {
    CONTRA_CHECK(archive->hasRecord("data.pkl"), "cannot read state dict file '", path,
                 "': the archive has no data.pkl");
    at::DataPtr pickle;
    size_t size = 0;
    std::tie(pickle, size) = archive->getRecord("data.pkl");
    StateDictUnpickler unpickler(path, *archive, static_cast<const char*>(pickle.get()), size);
    const PickleRef root = unpickler.run();
    CONTRA_CHECK(root->kind == PickleValue::Kind::kDict, "state dict file '", path,
                 "' does not hold a dict (save model.state_dict())");
    for (size_t k = 0; k + 1 < root->items.size(); k += 2) {
      const auto& key = *root->items[k];
      const auto& value = *root->items[k + 1];
      CONTRA_CHECK(key.kind == PickleValue::Kind::kStr, "state dict file '", path,
                   "' has a key that is not a string");
      CONTRA_CHECK(value.kind == PickleValue::Kind::kTensor, "state dict file '", path, "': '",
                   key.s, "' is not a tensor (save model.state_dict() itself, not a dict around it)");
      out.emplace_back(key.s, value.tensor);
    }
  } catch (const c10::Error& e) {
    throw Error(c10::str("cannot read state dict file '", path, "': ", e.what_without_backtrace()));
  }
  return out;
}

void write_state_dict(const std::string& path, const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t.detach().to(at::kCPU).contiguous().clone());
  const std::vector<char> bytes = torch::pickle_save(dict);
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace contra::run
