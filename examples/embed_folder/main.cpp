// embed_folder RUN_DIR IMAGE...: embeds image files with a trained contra run's encoder and
// prints each image's embedding size, norm and its nearest other image (cosine).
#include <cstdio>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "contra/core/error.h"
#include "contra/run/encoder.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: embed_folder RUN_DIR IMAGE...\n");
    return 2;
  }
  try {
    const contra::Encoder encoder = contra::Encoder::load(argv[1]);
    const std::vector<std::string> paths(argv + 2, argv + argc);
    const at::Tensor z = encoder.embed_images(encoder.read_images(paths));  // [N, dim]
    const at::Tensor unit = z / z.norm(2, {1}, true).clamp_min(1e-12);
    const at::Tensor sim = unit.matmul(unit.t()).fill_diagonal_(-2.0);
    for (size_t i = 0; i < paths.size(); ++i) {
      const int64_t j = sim[int64_t(i)].argmax().item<int64_t>();
      std::printf("%s dim=%lld norm=%.4f nearest=%s\n", paths[i].c_str(), (long long)z.size(1),
                  z[int64_t(i)].norm().item<double>(), paths.size() > 1 ? paths[size_t(j)].c_str() : "-");
    }
  } catch (const contra::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
