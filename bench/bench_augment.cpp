// Two-view augmentation speed on one core, comparable with the torchvision peer
// (bench/peers/simclr_peer.py --aug-bench N --threads 1: N calls of "two views of image i % 60000").
//
//   bench_augment [--n N] [--random] [--dir DIR]
//
// --random uses random 28x28 uint8 images instead of Fashion-MNIST (no data files needed).
// Prints
//   AUG contra two-view images_per_s_per_core=...            (the peer's recipe, per image)
//   AUG contra two-view-batch images_per_s_per_core=...      (same recipe via Pipeline::operator())
//   AUG contra two-view-full images_per_s_per_core=...       (+ blur p 0.5, solarize p 0.2)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "bench_cli.h"
#include "contra/augment/pipeline.h"
#include "contra/core/error.h"
#include "contra/data/fashion_mnist.h"

namespace {

using contra::augment::Pipeline;
using contra::augment::PipelineOptions;
using Clock = std::chrono::steady_clock;

// The peer's recipe: RandomResizedCrop(28, 0.2-1), flip, ColorJitter(0.4, 0.4) p 0.8, normalise.
PipelineOptions peer_recipe() {
  return PipelineOptions()
      .out_size(28)
      .crop_scale_min(0.2)
      .crop_scale_max(1.0)
      .flip_p(0.5)
      .jitter_p(0.8)
      .brightness(0.4)
      .contrast(0.4)
      .saturation(0.0)
      .hue(0.0)
      .grayscale_p(0.0)
      .blur_p(0.0)
      .solarize_p(0.0)
      .mean({0.2860})
      .std({0.3530});
}

// N two-view augmentations, one image at a time as the peer does; returns images/s.
double time_per_image(const Pipeline& p, const at::Tensor& images, int64_t n, double* checksum) {
  const int64_t count = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t s = p.options().out_size() > 0 ? p.options().out_size() : h;
  std::vector<float> v1(static_cast<size_t>(c * s * s)), v2(v1.size());
  const uint8_t* src = images.data_ptr<uint8_t>();
  double sum = 0.0;
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* img = src + (i % count) * c * h * w;
    contra::Rng r1(contra::derive_seed(1, static_cast<uint64_t>(i), 1));
    p.apply(img, c, h, w, v1.data(), r1);
    contra::Rng r2(contra::derive_seed(1, static_cast<uint64_t>(i), 2));
    p.apply(img, c, h, w, v2.data(), r2);
    sum += v1[static_cast<size_t>(i) % v1.size()] + v2[0];
  }
  const double el = std::chrono::duration<double>(Clock::now() - t0).count();
  *checksum += sum;
  return static_cast<double>(n) / el;
}

// The same through the batch entry point (batches of 256, two calls per batch).
double time_batched(const Pipeline& p, const at::Tensor& images, int64_t n, double* checksum) {
  const int64_t bs = 256, count = images.size(0);
  double sum = 0.0;
  int64_t done = 0;
  const auto t0 = Clock::now();
  for (uint64_t b = 0; done < n; ++b) {
    const int64_t start = done % count;
    const int64_t len = std::min({bs, n - done, count - start});
    at::Tensor batch = images.narrow(0, start, len);
    at::Tensor a = p(batch, contra::derive_seed(2, b, 1));
    at::Tensor c = p(batch, contra::derive_seed(2, b, 2));
    sum += a.data_ptr<float>()[0] + c.data_ptr<float>()[0];
    done += len;
  }
  const double el = std::chrono::duration<double>(Clock::now() - t0).count();
  *checksum += sum;
  return static_cast<double>(n) / el;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = 100000;
  bool random = false;
  std::string dir = contra::data::kFashionMnistDefaultDir;
  CLI::App app{"Two-view augmentation speed on one core (contra's pipeline)"};
  app.add_option("--n", n, "two-view augmentations to time")
      ->capture_default_str()
      ->check(contra::bench::at_least(1));
  app.add_flag("--random", random, "random 28x28 images instead of Fashion-MNIST");
  app.add_option("--dir", dir, "Fashion-MNIST folder")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help: 0; bad input: the message, then 2
  }
  at::set_num_threads(1);

  at::Tensor images;
  try {
    if (random) {
      images = at::randint(0, 256, {60000, 1, 28, 28}, at::kByte);
    } else {
      images = contra::data::load_fashion_mnist(dir, contra::data::Split::kTrain).images;
    }
  } catch (const contra::Error& e) {
    std::fprintf(stderr, "bench_augment: %s\n", e.what());
    return 2;
  }
  images = images.contiguous();
  std::printf("AUG data=%s images=%lld shape=[%lld,%lld,%lld] n=%lld threads=%d\n",
              random ? "random" : "fashion-mnist", static_cast<long long>(images.size(0)),
              static_cast<long long>(images.size(1)), static_cast<long long>(images.size(2)),
              static_cast<long long>(images.size(3)), static_cast<long long>(n),
              at::get_num_threads());

  const Pipeline peer(peer_recipe());
  const Pipeline full(peer_recipe().blur_p(0.5).solarize_p(0.2));
  double checksum = 0.0;
  time_per_image(peer, images, std::min<int64_t>(n, 5000), &checksum);  // warm-up
  const double per_image = time_per_image(peer, images, n, &checksum);
  const double batched = time_batched(peer, images, n, &checksum);
  const double full_rate = time_per_image(full, images, n, &checksum);
  std::printf("AUG contra two-view images_per_s_per_core=%.1f\n", per_image);
  std::printf("AUG contra two-view-batch images_per_s_per_core=%.1f\n", batched);
  std::printf("AUG contra two-view-full(blur0.5,solarize0.2) images_per_s_per_core=%.1f\n",
              full_rate);
  std::printf("AUG checksum=%.3f\n", checksum);
  return 0;
}
