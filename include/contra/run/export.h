#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

#include "contra/methods/method.h"
#include "contra/run/state_dict_file.h"

namespace contra::run {

/// Each state name of an image encoder (parameters and buffers, in PyTorch's state_dict order)
/// with its name in stock PyTorch: for a ResNet, torchvision's resnet18/34/50 names
/// (stem.0 -> conv1, stages.<i> -> layer<s>.<b>, body.0/1/3/4/6/7 -> conv1/bn1/conv2/bn2/conv3/bn3,
/// shortcut -> downsample); for the ConvNet its own names (docs/EXPORT.md builds the same module
/// in Python). A ResNet with base width other than 64 has no torchvision counterpart: Error.
std::vector<std::pair<std::string, std::string>> pytorch_names(const torch::nn::Module& encoder);

/// The encoder's state under its pytorch_names: CPU, contiguous, float32 (counters int64).
NamedTensors pytorch_state(const torch::nn::Module& encoder);

/// What export_run wrote.
struct ExportResult {
  std::string weights, metadata;  ///< FILE.pt and FILE.json
  int64_t step = 0;               ///< the checkpoint's step
  int64_t tensors = 0;
};

/// Writes the encoder of the newest checkpoint of the image run in `run_dir` as `format`
/// ("pytorch": a state dict torch.load reads) to `out`, and beside it `out` with the extension
/// .json: the encoder's shape, the evaluation preprocessing, the torchvision keys left out, the
/// run and the step. Both atomically. Text runs, a run without checkpoint, another format: Error.
ExportResult export_run(const std::string& run_dir, const std::string& format, const std::string& out);

/// What init_encoder_from used of its file.
struct InitReport {
  int64_t loaded = 0;
  std::vector<std::string> ignored;  ///< the file's keys the encoder has no use for (fc.*)
};

/// Loads the state dict file `path` (see read_state_dict; names as pytorch_names) into the
/// image encoder of `method` (its `encoder` module, and `key_encoder` where it has one: MoCo).
/// A key the encoder needs that is missing (num_batches_tracked may be), a shape mismatch, an
/// unreadable file: Error naming the file and the key.
InitReport init_encoder_from(methods::Method& method, const std::string& path);

}  // namespace contra::run
