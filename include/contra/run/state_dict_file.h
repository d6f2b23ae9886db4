#pragma once
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace contra::run {

/// A PyTorch state dict: names and tensors, in the file's order.
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

/// Reads a state dict saved by Python's `torch.save(model.state_dict(), path)` (the zip format
/// PyTorch writes since 1.6; an OrderedDict or a plain dict of tensors) or by write_state_dict.
/// Tensors come back on the CPU, contiguous, in their saved dtype. A missing or unreadable file,
/// the legacy (non-zip) format or a pickle that is not a dict of tensors: contra::Error naming
/// the file. (LibTorch's own pickle_load does not read Python's OrderedDict state dicts.)
NamedTensors read_state_dict(const std::string& path);

/// Writes `tensors` (copied to the CPU, contiguous) as a file Python's `torch.load` reads as a
/// dict of tensors, atomically (temporary file + rename).
void write_state_dict(const std::string& path, const NamedTensors& tensors);

}  // namespace contra::run
