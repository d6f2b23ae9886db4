// Fuzzes contra::config::load (YAML config through the schema and validation).
#include <cstdio>
#include <cstdlib>

#include "contra/config/load.h"
#include "contra/core/error.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = contra_fuzz::scratch_dir() + "/config.yaml";
  contra_fuzz::write_file(path, data, size);
  contra::config::RunConfig cfg;
  try {
    cfg = contra::config::load(path);
  } catch (const contra::Error&) {
    return 0;
  }
  // Round trip (a run folder's config.yaml is to_yaml's output and resume reloads it): whatever
  // load accepts, to_yaml must print so that load accepts it again and prints it the same.
  const std::string text = contra::config::to_yaml(cfg);
  contra_fuzz::write_file(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  try {
    const std::string again = contra::config::to_yaml(contra::config::load(path));
    if (again != text) {
      std::fprintf(stderr, "round trip changed the config:\n%s\n---\n%s\n", text.c_str(),
                   again.c_str());
      std::abort();
    }
  } catch (const contra::Error& e) {
    std::fprintf(stderr, "to_yaml output does not load again: %s\n%s\n", e.what(), text.c_str());
    std::abort();
  }
  return 0;
}
