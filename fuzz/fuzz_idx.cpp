// Fuzzes contra::data::read_idx (raw and gzip IDX). Only contra::Error is an expected outcome.
#include <ATen/Parallel.h>

#include "contra/core/error.h"
#include "contra/data/idx.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = contra_fuzz::scratch_dir() + "/input.idx";
  contra_fuzz::write_file(path, data, size);
  try {
    at::Tensor t = contra::data::read_idx(path);
    // Touch the payload so a short buffer shows up under ASan.
    volatile int64_t sum = t.sum().item<int64_t>();
    (void)sum;
  } catch (const contra::Error&) {
  }
  return 0;
}
