#include "contra/train/checkpoint.h"

#include <cstdio>
#include <filesystem>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::train {

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
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  CONTRA_CHECK(!ec, "cannot move checkpoint into place at '", path, "': ", ec.message());
}

CheckpointState load_checkpoint(const std::string& path, torch::nn::Module& model,
                                Optimizer* optimizer) {
  CONTRA_CHECK(std::filesystem::is_regular_file(path), "checkpoint '", path, "' does not exist");
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
