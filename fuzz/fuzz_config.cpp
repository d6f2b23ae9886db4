// Fuzzes contra::config::load (YAML config through the schema and validation).
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = contra_fuzz::scratch_dir() + "/config.yaml";
  contra_fuzz::write_file(path, data, size);
  try {
    contra::config::RunConfig cfg = contra::config::load(path);
    // Round trip: whatever load accepts, to_yaml must print and load must accept again.
    const std::string text = contra::config::to_yaml(cfg);
    contra_fuzz::write_file(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
    (void)contra::config::load(path);
  } catch (const contra::Error&) {
  }
  return 0;
}
