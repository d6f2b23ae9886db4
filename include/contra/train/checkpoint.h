#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <torch/nn/module.h>

#include "contra/train/optimizer.h"

namespace contra::train {

struct CheckpointState {
  int64_t step = 0;
  int64_t epoch = 0;
  /// Anything else a run needs to continue exactly (random generator states, controllers),
  /// by name; saved and restored as they are.
  std::map<std::string, at::Tensor> extra;
};

/// The default CPU random generator's state, and setting it back (dropout, MoCo's shuffle, ...).
at::Tensor cpu_rng_state();
void set_cpu_rng_state(const at::Tensor& state);

/// The default CUDA random generator's state of `device` (a CUDA device; index -1 = the current
/// one), and setting it back. Throws where LibTorch was built without CUDA.
at::Tensor cuda_rng_state(const c10::Device& device);
void set_cuda_rng_state(const c10::Device& device, const at::Tensor& state);

/// Writes model (parameters and buffers), optimizer state and progress to `path` atomically:
/// a temporary file in the same folder, then rename, so a crash never leaves a half file.
/// Beside it, checksum_path(path) holds the file's SHA-256 (sha256sum's format), put in place
/// (also atomically) just before the checkpoint. optimizer may be null (model only).
void save_checkpoint(const std::string& path, torch::nn::Module& model, const Optimizer* optimizer,
                     const CheckpointState& state);

/// Restores what save_checkpoint wrote into a model of the same architecture. Throws
/// contra::Error naming the file for a missing or corrupt file or a different architecture.
/// The file's SHA-256 is checked against its checksum file before LibTorch reads it, so a
/// truncated or damaged checkpoint is an error, never a crash inside LibTorch's reader. A
/// checkpoint without a checksum file (written by a contra from before checksums) loads
/// unverified.
CheckpointState load_checkpoint(const std::string& path, torch::nn::Module& model,
                                Optimizer* optimizer);

/// Where a checkpoint's SHA-256 is kept: `checkpoint_path` + ".sha256".
std::string checksum_path(const std::string& checkpoint_path);

/// The SHA-256 of a file's bytes, 64 lowercase hex digits (OpenSSL's libcrypto). Throws
/// contra::Error naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace contra::train
