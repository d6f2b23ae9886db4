#include "contra/train/checkpoint.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <openssl/evp.h>
#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::train {
namespace {

/// Writes `text` to `path` through a temporary file and a rename (never half a file).
void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw Error(c10::str("cannot write '", tmp, "' (disk full or not writable?)"));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  CONTRA_CHECK(!ec, "cannot move '", tmp, "' into place at '", path, "': ", ec.message());
}

/// The SHA-256 named in a checksum file: its first word, 64 hex digits (sha256sum's format,
/// "<hex>  <file name>"). Empty when the file holds no such word.
std::string read_checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string word;
  in >> word;
  if (word.size() != 64) return {};
  for (char& c : word) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    c = char(std::tolower(static_cast<unsigned char>(c)));
  }
  return word;
}

/// Before LibTorch parses the file: its SHA-256 must equal the one saved beside it. LibTorch
/// 1.13's reader can crash (SEGV) or allocate whatever size a damaged archive claims
/// (fuzz/findings/), so a truncated or bit-flipped checkpoint must never reach it.
void verify_checksum(const std::string& path) {
  const std::string sums = checksum_path(path);
  // A checkpoint without a checksum file was written by a contra from before checksums (or
  // copied without it): it still loads, unverified, as it did then; LibTorch's reader is its
  // only check. Every checkpoint this contra writes has one (save_checkpoint puts the checksum
  // file in place before the checkpoint).
  if (!std::filesystem::exists(sums)) return;
  const std::string want = read_checksum(sums);
  CONTRA_CHECK(!want.empty(), "checkpoint '", path, "' cannot be verified: its checksum file '",
               sums, "' holds no SHA-256 (64 hex digits); the checkpoint is corrupt or not a "
               "contra checkpoint");
  const std::string got = sha256_file(path);
  CONTRA_CHECK(got == want, "checkpoint '", path, "' (SHA-256 ", got.substr(0, 16),
               "..., but '", sums, "' says ", want.substr(0, 16),
               "...: truncated or damaged since it was written, or copied without its .sha256 "
               "file) is corrupt or not a contra checkpoint");
}

}  // namespace

std::string checksum_path(const std::string& checkpoint_path) {
  return checkpoint_path + ".sha256";
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CONTRA_CHECK(in.is_open(), "cannot read '", path, "'");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  TORCH_INTERNAL_ASSERT(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1,
                        "OpenSSL cannot start a SHA-256 digest");
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    const auto n = in.gcount();
    if (n > 0)
      TORCH_INTERNAL_ASSERT(EVP_DigestUpdate(ctx.get(), buf.data(), size_t(n)) == 1,
                            "OpenSSL SHA-256 update failed");
  }
  CONTRA_CHECK(in.eof(), "cannot read '", path, "' to the end");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  TORCH_INTERNAL_ASSERT(EVP_DigestFinal_ex(ctx.get(), digest, &len) == 1 && len == 32,
                        "OpenSSL SHA-256 final failed");
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

at::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const at::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// Context::defaultGenerator(Device) is the same call in LibTorch 1.13 and 2.x; a CPU-only build
// compiles it and throws at run time, which only a CUDA run reaches.
at::Tensor cuda_rng_state(const c10::Device& device) {
  TORCH_INTERNAL_ASSERT(device.is_cuda(), "cuda_rng_state needs a CUDA device, got ", device);
  auto gen = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cuda_rng_state(const c10::Device& device, const at::Tensor& state) {
  TORCH_INTERNAL_ASSERT(device.is_cuda(), "set_cuda_rng_state needs a CUDA device, got ", device);
  auto gen = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

void save_checkpoint(const std::string& path, torch::nn::Module& model, const Optimizer* optimizer,
                     const CheckpointState& state) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive opt_archive;
    optimizer->save(opt_archive);
    archive.write("optimizer", opt_archive);
  }
  archive.write("step", torch::tensor(state.step, torch::kLong), /*is_buffer=*/true);
  archive.write("epoch", torch::tensor(state.epoch, torch::kLong), true);
  archive.write("format_version", torch::tensor(int64_t(1), torch::kLong), true);
  if (!state.extra.empty()) {
    torch::serialize::OutputArchive extra;
    for (const auto& [name, value] : state.extra) extra.write(name, value, /*is_buffer=*/true);
    archive.write("extra", extra);
  }
  const std::string tmp = path + ".tmp";
  try {
    archive.save_to(tmp);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    throw Error(c10::str("cannot write checkpoint '", tmp, "' (disk full or not writable?)"));
  }
  // The checksum of the bytes on disk goes into place first, the checkpoint after it: a crash
  // in between leaves a checksum the old file (if any) fails, never a new checkpoint without
  // its checksum. sha256sum's format: `sha256sum -c` checks the file in its folder.
  const std::string name = std::filesystem::path(path).filename().string();
  try {
    write_atomically(checksum_path(path), sha256_file(tmp) + "  " + name + "\n");
  } catch (const Error&) {
    std::remove(tmp.c_str());
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  CONTRA_CHECK(!ec, "cannot move checkpoint into place at '", path, "': ", ec.message());
}

CheckpointState load_checkpoint(const std::string& path, torch::nn::Module& model,
                                Optimizer* optimizer) {
  CONTRA_CHECK(std::filesystem::is_regular_file(path), "checkpoint '", path, "' does not exist");
  verify_checksum(path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception&) {
    throw Error(c10::str("checkpoint '", path, "' is corrupt or not a contra checkpoint"));
  }
  CheckpointState state;
  // LibTorch's load silently replaces a tensor of another shape: compare shapes ourselves.
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  for (const auto& p : model.named_parameters()) shapes.emplace_back(p.key(), p.value().sizes().vec());
  for (const auto& b : model.named_buffers()) shapes.emplace_back(b.key(), b.value().sizes().vec());
  try {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    auto params = model.named_parameters();
    auto buffers = model.named_buffers();
    for (const auto& [name, sizes] : shapes) {
      const auto* t = params.find(name);
      if (!t) t = buffers.find(name);
      CONTRA_CHECK(t && t->sizes().vec() == sizes, "checkpoint '", path,
                   "' does not match this model: '", name, "' has shape ",
                   t ? t->sizes() : c10::IntArrayRef{}, " in the file but ", c10::IntArrayRef(sizes),
                   " in the model (another architecture or config?)");
    }
    if (optimizer) {
      torch::serialize::InputArchive opt_archive;
      archive.read("optimizer", opt_archive);
      optimizer->load(opt_archive);
    }
    torch::Tensor step, epoch;
    archive.read("step", step, true);
    archive.read("epoch", epoch, true);
    state.step = step.item<int64_t>();
    state.epoch = epoch.item<int64_t>();
    torch::serialize::InputArchive extra;
    if (archive.try_read("extra", extra)) {
      for (const auto& name : extra.keys()) {
        torch::Tensor value;
        extra.read(name, value, true);
        state.extra[name] = value;
      }
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception&) {
    throw Error(c10::str("checkpoint '", path,
                         "' does not match this model (another architecture or config?)"));
  }
  return state;
}

}  // namespace contra::train
