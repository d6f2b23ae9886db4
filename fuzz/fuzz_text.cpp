// Fuzzes the text readers: contra::data::read_corpus, read_pairs and load_wordnet. The first
// byte picks the reader; for WordNet the rest is split at the first NUL into the data.<pos>
// and index.<pos> files (the same pair for all four parts of speech). Only contra::Error is an
// expected outcome.
#include <ATen/Parallel.h>

#include <cstring>
#include <string>

#include "contra/core/error.h"
#include "contra/data/text.h"
#include "contra/data/wordnet.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int reader = data[0] % 3;
  ++data;
  --size;
  const std::string dir = contra_fuzz::scratch_dir();
  try {
    if (reader == 0) {
      contra_fuzz::write_file(dir + "/corpus.txt", data, size);
      volatile size_t n = contra::data::read_corpus(dir + "/corpus.txt").size();
      (void)n;
    } else if (reader == 1) {
      contra_fuzz::write_file(dir + "/pairs.tsv", data, size);
      volatile size_t n = contra::data::read_pairs(dir + "/pairs.tsv").size();
      (void)n;
    } else {
      const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
      const size_t data_size = nul ? size_t(nul - data) : size;
      const uint8_t* index = nul ? nul + 1 : data + size;
      const size_t index_size = size - data_size - (nul ? 1 : 0);
      for (const char* pos : {"noun", "verb", "adj", "adv"}) {
        contra_fuzz::write_file(dir + "/data." + pos, data, data_size);
        contra_fuzz::write_file(dir + "/index." + pos, index, index_size);
      }
      auto wn = contra::data::load_wordnet(dir);
      volatile size_t n = wn.synsets.size();
      (void)n;
    }
  } catch (const contra::Error&) {
  }
  return 0;
}
