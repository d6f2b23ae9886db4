// Fuzzes contra::train::load_checkpoint into a tiny model (Linear 3 -> 2, no optimizer).
// CONTRA_FUZZ_WRITE_SEED=<path> ./fuzz_checkpoint writes a valid checkpoint for the seed corpus.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>

#include "contra/core/error.h"
#include "contra/train/checkpoint.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  if (const char* out = std::getenv("CONTRA_FUZZ_WRITE_SEED")) {
    torch::manual_seed(0);
    torch::nn::Linear model(3, 2);
    contra::train::CheckpointState state;
    state.step = 7;
    state.epoch = 1;
    state.extra["rng"] = torch::arange(4, torch::kLong);
    contra::train::save_checkpoint(out, *model, nullptr, state);
    std::printf("wrote %s\n", out);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = contra_fuzz::scratch_dir() + "/checkpoint.pt";
  contra_fuzz::write_file(path, data, size);
  torch::nn::Linear model(3, 2);
  try {
    (void)contra::train::load_checkpoint(path, *model, nullptr);
  } catch (const contra::Error&) {
  }
  return 0;
}
