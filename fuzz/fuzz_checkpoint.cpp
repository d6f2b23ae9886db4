// Fuzzes contra::train::load_checkpoint into a tiny model (Linear 3 -> 2, no optimizer), the way
// a checkpoint is damaged in a run folder: the input replaces checkpoint.pt while the .sha256
// written beside the intact checkpoint stays. CONTRA_FUZZ_NO_CHECKSUM=1: no .sha256 (a checkpoint
// from a contra before checksums), so every input reaches LibTorch's reader (see RELIABILITY.md
// for what it finds there).
// CONTRA_FUZZ_WRITE_SEED=<path> ./fuzz_checkpoint writes a valid checkpoint for the seed corpus.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "contra/core/error.h"
#include "contra/train/checkpoint.h"
#include "fuzz_common.h"

namespace {

void save_seed(const std::string& path) {
  torch::manual_seed(0);
  torch::nn::Linear model(3, 2);
  contra::train::CheckpointState state;
  state.step = 7;
  state.epoch = 1;
  state.extra["rng"] = torch::arange(4, torch::kLong);
  contra::train::save_checkpoint(path, *model, nullptr, state);
}

std::string checkpoint_path() { return contra_fuzz::scratch_dir() + "/checkpoint.pt"; }

/// The checksum file of the intact seed checkpoint at checkpoint_path() ("" without checksums).
std::string& intact_checksum() {
  static std::string text;
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  if (const char* out = std::getenv("CONTRA_FUZZ_WRITE_SEED")) {
    save_seed(out);
    std::printf("wrote %s\n", out);
    std::exit(0);
  }
  if (std::getenv("CONTRA_FUZZ_NO_CHECKSUM") == nullptr) {
    save_seed(checkpoint_path());
    std::ifstream in(contra::train::checksum_path(checkpoint_path()), std::ios::binary);
    intact_checksum().assign(std::istreambuf_iterator<char>(in), {});
    if (intact_checksum().empty()) {
      std::fprintf(stderr, "fuzz_checkpoint: save_checkpoint wrote no checksum file\n");
      std::abort();
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = checkpoint_path();
  contra_fuzz::write_file(path, data, size);
  const auto& sum = intact_checksum();
  if (!sum.empty())
    contra_fuzz::write_file(contra::train::checksum_path(path),
                            reinterpret_cast<const uint8_t*>(sum.data()), sum.size());
  torch::nn::Linear model(3, 2);
  try {
    (void)contra::train::load_checkpoint(path, *model, nullptr);
  } catch (const contra::Error&) {
  }
  return 0;
}
