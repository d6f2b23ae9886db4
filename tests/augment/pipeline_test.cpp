#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "contra/augment/pipeline.h"
#include "contra/core/error.h"

namespace {

using contra::Rng;
using contra::augment::Pipeline;
using contra::augment::PipelineOptions;

// Everything off, mean 0 / std 1: the pipeline must be exactly image / 255.
PipelineOptions identity_options() {
  return PipelineOptions()
      .crop_p(0)
      .flip_p(0)
      .jitter_p(0)
      .grayscale_p(0)
      .blur_p(0)
      .solarize_p(0)
      .mean({0.0})
      .std({1.0});
}

std::vector<uint8_t> ramp_image(int64_t c, int64_t h, int64_t w, int seed = 0) {
  std::vector<uint8_t> img(static_cast<size_t>(c * h * w));
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>((i * 37 + seed * 11) % 256);
  return img;
}

std::vector<float> run_pipeline(const Pipeline& p, const std::vector<uint8_t>& img, int64_t c, int64_t h,
                       int64_t w, uint64_t seed = 1) {
  const int64_t s = p.options().out_size() > 0 ? p.options().out_size() : h;
  std::vector<float> out(static_cast<size_t>(c * s * s), -999.0f);
  Rng rng(seed);
  p.apply(img.data(), c, h, w, out.data(), rng);
  return out;
}

std::string error_of(const PipelineOptions& o) {
  try {
    contra::augment::validate(o);
  } catch (const contra::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(PipelineOps, IdentityReproducesImageExactly) {
  const auto img = ramp_image(3, 9, 9);
  const auto out = run_pipeline(Pipeline(identity_options()), img, 3, 9, 9);
  for (size_t i = 0; i < img.size(); ++i) ASSERT_EQ(out[i], static_cast<float>(img[i]) / 255.0f);
}

TEST(PipelineOps, IdentityMatchesNormalizeImages) {
  const auto img = ramp_image(1, 28, 28);
  auto o = identity_options().mean({0.2860}).std({0.3530});
  const auto out = run_pipeline(Pipeline(o), img, 1, 28, 28);
  at::Tensor t = at::from_blob(const_cast<uint8_t*>(img.data()), {1, 1, 28, 28}, at::kByte);
  at::Tensor ref = contra::augment::normalize_images(t, {0.2860}, {0.3530});
  const float* r = ref.data_ptr<float>();
  for (size_t i = 0; i < img.size(); ++i) {
    ASSERT_EQ(out[i], r[i]) << i;
    ASSERT_FLOAT_EQ(r[i], (img[i] / 255.0f - 0.2860f) / 0.3530f);
  }
}

TEST(PipelineOps, FlipMirrors) {
  const int64_t c = 2, h = 5, w = 5;
  const auto img = ramp_image(c, h, w);
  const auto out = run_pipeline(Pipeline(identity_options().flip_p(1.0)), img, c, h, w);
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        ASSERT_EQ(out[(ch * h + y) * w + x], img[(ch * h + y) * w + (w - 1 - x)] / 255.0f);
}

TEST(PipelineOps, FullScaleUnitRatioCropIsIdentity) {
  const auto img = ramp_image(1, 12, 12);
  auto o = identity_options().crop_p(1).crop_scale_min(1).crop_scale_max(1).crop_ratio_min(1).crop_ratio_max(1);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const auto out = run_pipeline(Pipeline(o), img, 1, 12, 12, seed);
    for (size_t i = 0; i < img.size(); ++i) ASSERT_EQ(out[i], img[i] / 255.0f);
  }
}

TEST(PipelineOps, ResizeToOtherSizeInterpolates) {
  // A horizontal ramp 0, 255 resized 2 -> 4 (half-pixel centres): 0, 63.75, 191.25, 255.
  std::vector<uint8_t> img = {0, 255, 0, 255};
  const auto out = run_pipeline(Pipeline(identity_options().out_size(4)), img, 1, 2, 2);
  const float expect[4] = {0.0f, 0.25f, 0.75f, 1.0f};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) EXPECT_NEAR(out[y * 4 + x], expect[x], 1e-6);
}

TEST(PipelineOps, RandomCropStaysInsideImageRange) {
  // A crop only ever interpolates between pixels, so with a constant image every value is it.
  std::vector<uint8_t> img(28 * 28, 77);
  auto o = identity_options().crop_p(1).crop_scale_min(0.05).crop_scale_max(0.3).flip_p(0.5);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const auto out = run_pipeline(Pipeline(o), img, 1, 28, 28, seed);
    for (float v : out) ASSERT_EQ(v, 77 / 255.0f);
  }
}

TEST(PipelineOps, BrightnessScalesConstantImage) {
  // brightness 0.4 -> factor in [0.6, 1.4]; a constant image stays constant at v * factor.
  std::vector<uint8_t> img(16, 100);
  auto o = identity_options().jitter_p(1).brightness(0.4).contrast(0).saturation(0).hue(0);
  bool saw_change = false;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const auto out = run_pipeline(Pipeline(o), img, 1, 4, 4, seed);
    const float f = out[0] / (100 / 255.0f);
    EXPECT_GE(f, 0.6f - 1e-5f);
    EXPECT_LE(f, 1.4f + 1e-5f);
    for (float v : out) ASSERT_EQ(v, out[0]);
    saw_change |= std::fabs(f - 1.0f) > 1e-3f;
  }
  EXPECT_TRUE(saw_change);
}

TEST(PipelineOps, BrightnessClampsAtOne) {
  std::vector<uint8_t> img(16, 250);
  auto o = identity_options().jitter_p(1).brightness(0.9).contrast(0).saturation(0).hue(0);
  for (uint64_t seed = 0; seed < 20; ++seed)
    for (float v : run_pipeline(Pipeline(o), img, 1, 4, 4, seed)) ASSERT_LE(v, 1.0f);
}

TEST(PipelineOps, ContrastMatchesHandComputedBlend) {
  // Pixels 0 and 200 (mean 100/255). Recover the factor from one pixel, check the other.
  std::vector<uint8_t> img = {0, 200, 0, 200};
  auto o = identity_options().jitter_p(1).brightness(0).contrast(0.4).saturation(0).hue(0);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const auto out = run_pipeline(Pipeline(o), img, 1, 2, 2, seed);
    const float mean = 100 / 255.0f, hi = 200 / 255.0f;
    // out_hi = f * hi + (1 - f) * mean  =>  f = (out_hi - mean) / (hi - mean)
    const float f = (out[1] - mean) / (hi - mean);
    EXPECT_GE(f, 0.6f - 1e-4f);
    EXPECT_LE(f, 1.4f + 1e-4f);
    EXPECT_NEAR(out[0], std::clamp((1 - f) * mean, 0.0f, 1.0f), 1e-5);
    // Mean is preserved when nothing clamps.
    if (f <= 1.0f) EXPECT_NEAR((out[0] + out[1]) / 2, mean, 1e-5);
  }
}

TEST(PipelineOps, ContrastZeroFactorGivesMeanOfRgbLuma) {
  // contrast 1 -> factor in [0, 2]; check the RGB case through the luma mean directly.
  const int64_t n = 4;
  std::vector<uint8_t> img = {255, 255, 0, 0,    // R
                              0,   0,   0, 0,    // G
                              0,   0,   255, 255};  // B
  auto o = identity_options().jitter_p(1).brightness(0).contrast(1.0).saturation(0).hue(0);
  const float luma_mean = (2 * 0.299f + 2 * 0.114f) / 4;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    const auto out = run_pipeline(Pipeline(o), img, 3, 2, 2, seed);
    // G channel is 0 everywhere: out_g = (1 - f) * luma_mean (clamped at 0).
    const float g = out[n];
    // R at pixel 0 is 1: out_r = clamp(f + (1 - f) * luma_mean).
    const float f = 1.0f - g / luma_mean;
    if (g > 0.0f) EXPECT_NEAR(out[0], std::min(1.0f, f + (1 - f) * luma_mean), 1e-5);
  }
}

TEST(PipelineOps, SaturationAndHueAreIdentityOnGrayscale) {
  const auto img = ramp_image(1, 6, 6);
  auto o = identity_options().jitter_p(1).brightness(0).contrast(0).saturation(0.9).hue(0.5);
  const auto out = run_pipeline(Pipeline(o), img, 1, 6, 6);
  for (size_t i = 0; i < img.size(); ++i) ASSERT_EQ(out[i], img[i] / 255.0f);
}

TEST(PipelineOps, HueKeepsGrayPixelsAndRotatesColour) {
  // Pixel 0 gray (100,100,100) stays; pixel 1 pure red changes hue but keeps value and
  // saturation, so its max channel stays 1 and its min stays 0.
  auto o = identity_options().jitter_p(1).brightness(0).contrast(0).saturation(0).hue(0.5);
  bool changed = false;
  std::vector<uint8_t> sq = {100, 255, 100, 255, 100, 0, 100, 0, 100, 0, 100, 0};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const auto out = run_pipeline(Pipeline(o), sq, 3, 2, 2, seed);
    for (int ch = 0; ch < 3; ++ch) EXPECT_NEAR(out[ch * 4 + 0], 100 / 255.0f, 1e-6);
    const float r = out[1], g = out[5], b = out[9];
    EXPECT_NEAR(std::max({r, g, b}), 1.0f, 1e-5);
    EXPECT_NEAR(std::min({r, g, b}), 0.0f, 1e-5);
    changed |= std::fabs(r - 1.0f) > 1e-3f || g > 1e-3f || b > 1e-3f;
  }
  EXPECT_TRUE(changed);
}

TEST(PipelineOps, GrayscaleOfRgbUsesItu601Luma) {
  std::vector<uint8_t> img = {255, 0, 10, 20, 0, 255, 30, 40, 0, 0, 50, 60};
  auto o = identity_options().grayscale_p(1.0);
  const auto out = run_pipeline(Pipeline(o), img, 3, 2, 2);
  for (int i = 0; i < 4; ++i) {
    const float expect = 0.299f * img[i] / 255.0f + 0.587f * img[4 + i] / 255.0f +
                         0.114f * img[8 + i] / 255.0f;
    for (int ch = 0; ch < 3; ++ch) EXPECT_NEAR(out[ch * 4 + i], expect, 1e-6);
  }
  EXPECT_NEAR(out[0], 0.299f, 1e-6);
  EXPECT_NEAR(out[1], 0.587f, 1e-6);
}

TEST(PipelineOps, GrayscaleIsIdentityOnOneChannel) {
  const auto img = ramp_image(1, 5, 5);
  const auto out = run_pipeline(Pipeline(identity_options().grayscale_p(1.0)), img, 1, 5, 5);
  for (size_t i = 0; i < img.size(); ++i) ASSERT_EQ(out[i], img[i] / 255.0f);
}

TEST(PipelineOps, SolarizeInvertsAtOrAboveThreshold) {
  std::vector<uint8_t> img = {0, 100, 128, 255};
  auto o = identity_options().solarize_p(1.0).solarize_threshold(128 / 255.0);
  const auto out = run_pipeline(Pipeline(o), img, 1, 2, 2);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 100 / 255.0f);
  EXPECT_NEAR(out[2], 1.0f - 128 / 255.0f, 1e-7);
  EXPECT_EQ(out[3], 0.0f);
}

TEST(PipelineOps, BlurKeepsConstantImageConstant) {
  std::vector<uint8_t> img(3 * 10 * 10, 90);
  auto o = identity_options().blur_p(1.0).blur_sigma_min(0.5).blur_sigma_max(3.0);
  for (uint64_t seed = 0; seed < 10; ++seed)
    for (float v : run_pipeline(Pipeline(o), img, 3, 10, 10, seed)) ASSERT_NEAR(v, 90 / 255.0f, 1e-6);
}

TEST(PipelineOps, BlurOfImpulseSumsToOneAndIsSymmetric) {
  const int64_t s = 21, mid = 10;
  std::vector<uint8_t> img(s * s, 0);
  img[mid * s + mid] = 255;
  auto o = identity_options().blur_p(1.0).blur_sigma_min(1.5).blur_sigma_max(1.5);
  const auto out = run_pipeline(Pipeline(o), img, 1, s, s);
  double sum = 0.0;
  for (float v : out) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_LT(out[mid * s + mid], 1.0f);
  EXPECT_GT(out[mid * s + mid], out[mid * s + mid + 1]);
  for (int64_t y = 0; y < s; ++y)
    for (int64_t x = 0; x < s; ++x) {
      const float v = out[y * s + x];
      ASSERT_NEAR(v, out[y * s + (s - 1 - x)], 1e-7);
      ASSERT_NEAR(v, out[(s - 1 - y) * s + x], 1e-7);
      ASSERT_NEAR(v, out[x * s + y], 1e-7);
    }
  // Radius ceil(3 * 1.5) = 5: nothing further than 5 pixels away.
  EXPECT_EQ(out[mid * s + mid + 6], 0.0f);
  EXPECT_GT(out[mid * s + mid + 5], 0.0f);
}

TEST(PipelineOps, BlurReflectsAtTheBorder) {
  // Impulse in the corner. With reflect padding (-1 -> 1) pixel 0 is only reached from itself,
  // so out[y][x] = g(x) * g(y) with g the 1-D kernel: g(1) / g(0) = exp(-1 / (2 sigma^2)).
  const int64_t s = 8;
  std::vector<uint8_t> img(s * s, 0);
  img[0] = 255;
  auto o = identity_options().blur_p(1.0).blur_sigma_min(1.0).blur_sigma_max(1.0);
  const auto out = run_pipeline(Pipeline(o), img, 1, s, s);
  const double g0 = std::sqrt(static_cast<double>(out[0]));
  EXPECT_NEAR(out[1] / g0 / g0, std::exp(-0.5), 1e-5);
  EXPECT_NEAR(out[2] / g0 / g0, std::exp(-2.0), 1e-5);
  EXPECT_NEAR(out[s + 1], out[1] * out[1] / out[0], 1e-7);
  EXPECT_EQ(out[4], 0.0f);  // radius 3
}

TEST(PipelineOps, BlurWorksWhenRadiusExceedsImage) {
  std::vector<uint8_t> img = {0, 255, 255, 0, 10, 20, 30, 40, 50};
  auto o = identity_options().blur_p(1.0).blur_sigma_min(5).blur_sigma_max(5);
  for (float v : run_pipeline(Pipeline(o), img, 1, 3, 3)) {
    ASSERT_TRUE(std::isfinite(v));
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 1.0f);
  }
}

TEST(PipelineDeterminism, SameSeedSameOutputDifferentSeedsDiffer) {
  const auto img = ramp_image(3, 16, 16);
  auto o = PipelineOptions().blur_p(0.5).solarize_p(0.3).mean({0.5}).std({0.25});
  Pipeline p(o);
  const auto a = run_pipeline(p, img, 3, 16, 16, 42);
  const auto b = run_pipeline(p, img, 3, 16, 16, 42);
  EXPECT_EQ(a, b);
  int differ = 0;
  for (uint64_t s = 0; s < 10; ++s) differ += run_pipeline(p, img, 3, 16, 16, 1000 + s) != a;
  EXPECT_GE(differ, 9);
}

TEST(PipelineDeterminism, BatchEqualsPerSampleAndIgnoresThreads) {
  const int64_t b = 37, c = 1, h = 28;
  at::Tensor images = at::randint(0, 256, {b, c, h, h}, at::kByte);
  Pipeline p{PipelineOptions().blur_p(0.5).solarize_p(0.2)};
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  at::Tensor one = p(images, 7);
  at::set_num_threads(2);
  at::Tensor two = p(images, 7);
  at::set_num_threads(before);
  ASSERT_EQ(one.sizes(), (at::IntArrayRef{b, c, h, h}));
  EXPECT_TRUE(at::equal(one, two));
  std::vector<float> out(static_cast<size_t>(c * h * h));
  for (int64_t i = 0; i < b; ++i) {
    Rng rng(contra::derive_seed(7, static_cast<uint64_t>(i)));
    p.apply(images[i].data_ptr<uint8_t>(), c, h, h, out.data(), rng);
    at::Tensor ref = at::from_blob(out.data(), {c, h, h}, at::kFloat);
    ASSERT_TRUE(at::equal(one[i], ref)) << "sample " << i;
  }
  EXPECT_FALSE(at::equal(p(images, 8), one));
}

TEST(PipelineDeterminism, OutputFiniteAndInRange) {
  at::Tensor images = at::randint(0, 256, {64, 3, 20, 20}, at::kByte);
  auto o = PipelineOptions().out_size(16).grayscale_p(0.5).blur_p(0.5).solarize_p(0.5)
               .brightness(0.8).contrast(0.8).saturation(0.8).hue(0.5)
               .mean({0.5, 0.4, 0.3}).std({0.2, 0.25, 0.3});
  at::Tensor out = Pipeline(o)(images, 3);
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{64, 3, 16, 16}));
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  // Before normalisation everything is in [0, 1]: undo it per channel.
  const double mean[3] = {0.5, 0.4, 0.3}, stdv[3] = {0.2, 0.25, 0.3};
  for (int c = 0; c < 3; ++c) {
    at::Tensor raw = out.select(1, c) * stdv[c] + mean[c];
    EXPECT_GE(raw.min().item<float>(), -1e-5f);
    EXPECT_LE(raw.max().item<float>(), 1.0f + 1e-5f);
  }
}

TEST(PipelineBatch, NormalizeImagesBroadcastsAndPerChannel) {
  at::Tensor images = at::randint(0, 256, {3, 2, 4, 5}, at::kByte);
  at::Tensor got = contra::augment::normalize_images(images, {0.5, 0.25}, {0.5});
  at::Tensor want = (images.to(at::kFloat) / 255.0 -
                     at::tensor({0.5f, 0.25f}).view({1, 2, 1, 1})) / 0.5;
  EXPECT_TRUE(at::allclose(got, want, 1e-5, 1e-6));
  EXPECT_THROW(contra::augment::normalize_images(images, {0.1, 0.2, 0.3}, {1.0}), contra::Error);
  EXPECT_THROW(contra::augment::normalize_images(images, {0.1}, {0.0}), contra::Error);
  EXPECT_THROW(contra::augment::normalize_images(images.to(at::kFloat), {0.1}, {1.0}),
               contra::Error);
}

TEST(PipelineBatch, EmptyBatchAndOutSize) {
  Pipeline p{PipelineOptions().out_size(12)};
  at::Tensor empty = p(at::zeros({0, 1, 28, 28}, at::kByte), 1);
  EXPECT_EQ(empty.sizes(), (at::IntArrayRef{0, 1, 12, 12}));
  at::Tensor out = p(at::zeros({2, 1, 20, 30}, at::kByte), 1);  // non-square ok with out_size
  EXPECT_EQ(out.sizes(), (at::IntArrayRef{2, 1, 12, 12}));
}

TEST(AugmentValidate, DefaultsAreValid) { EXPECT_NO_THROW(contra::augment::validate(PipelineOptions())); }

TEST(AugmentValidate, MessagesNameFieldValueAndRange) {
  const PipelineOptions d;
  EXPECT_EQ(error_of(PipelineOptions(d).crop_scale_min(0)),
            "augment.crop_scale_min must be in (0, 1], got 0");
  EXPECT_EQ(error_of(PipelineOptions(d).crop_scale_max(1.5)),
            "augment.crop_scale_max must be in (0, 1], got 1.5");
  EXPECT_EQ(error_of(PipelineOptions(d).crop_scale_min(0.9).crop_scale_max(0.5)),
            "augment.crop_scale_min must be <= augment.crop_scale_max, got 0.9 > 0.5");
  EXPECT_EQ(error_of(PipelineOptions(d).crop_ratio_min(0)),
            "augment.crop_ratio_min must be > 0, got 0");
  EXPECT_EQ(error_of(PipelineOptions(d).crop_ratio_min(2).crop_ratio_max(1)),
            "augment.crop_ratio_min must be <= augment.crop_ratio_max, got 2 > 1");
  EXPECT_EQ(error_of(PipelineOptions(d).flip_p(-0.5)), "augment.flip_p must be in [0, 1], got -0.5");
  EXPECT_EQ(error_of(PipelineOptions(d).crop_p(2)), "augment.crop_p must be in [0, 1], got 2");
  EXPECT_EQ(error_of(PipelineOptions(d).jitter_p(-1)), "augment.jitter_p must be in [0, 1], got -1");
  EXPECT_EQ(error_of(PipelineOptions(d).grayscale_p(1.1)),
            "augment.grayscale_p must be in [0, 1], got 1.1");
  EXPECT_EQ(error_of(PipelineOptions(d).blur_p(-0.1)), "augment.blur_p must be in [0, 1], got -0.1");
  EXPECT_EQ(error_of(PipelineOptions(d).solarize_p(3)), "augment.solarize_p must be in [0, 1], got 3");
  EXPECT_EQ(error_of(PipelineOptions(d).brightness(-0.2)), "augment.brightness must be >= 0, got -0.2");
  EXPECT_EQ(error_of(PipelineOptions(d).contrast(-1)), "augment.contrast must be >= 0, got -1");
  EXPECT_EQ(error_of(PipelineOptions(d).saturation(-1)), "augment.saturation must be >= 0, got -1");
  EXPECT_EQ(error_of(PipelineOptions(d).hue(0.6)), "augment.hue must be in [0, 0.5], got 0.6");
  EXPECT_EQ(error_of(PipelineOptions(d).blur_sigma_min(0)),
            "augment.blur_sigma_min must be > 0, got 0");
  EXPECT_EQ(error_of(PipelineOptions(d).blur_sigma_max(-1)),
            "augment.blur_sigma_max must be > 0, got -1");
  EXPECT_EQ(error_of(PipelineOptions(d).blur_sigma_min(3).blur_sigma_max(2)),
            "augment.blur_sigma_min must be <= augment.blur_sigma_max, got 3 > 2");
  EXPECT_EQ(error_of(PipelineOptions(d).solarize_threshold(1.5)),
            "augment.solarize_threshold must be in [0, 1], got 1.5");
  EXPECT_EQ(error_of(PipelineOptions(d).std({0.0})), "augment.std[0] must be > 0, got 0");
  EXPECT_EQ(error_of(PipelineOptions(d).std({0.2, -0.1, 0.3})), "augment.std[1] must be > 0, got -0.1");
  EXPECT_EQ(error_of(PipelineOptions(d).mean({})),
            "augment.mean must have 1 value or one per channel, got none");
  EXPECT_EQ(error_of(PipelineOptions(d).out_size(-1)),
            "augment.out_size must be >= 0 (0 keeps the input size), got -1");
  EXPECT_NE(error_of(PipelineOptions(d).flip_p(std::nan(""))), "");
  EXPECT_THROW(Pipeline(PipelineOptions(d).flip_p(2)), contra::Error);
}

TEST(AugmentValidate, RunTimeChannelAndShapeChecks) {
  Pipeline p{PipelineOptions().mean({0.1, 0.2}).std({0.3})};
  at::Tensor rgb = at::zeros({1, 3, 8, 8}, at::kByte);
  try {
    p(rgb, 0);
    FAIL() << "expected contra::Error";
  } catch (const contra::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "augment.mean has 2 values; it must have 1 or 3 (one per image channel)");
  }
  Pipeline q{PipelineOptions().std({0.3, 0.3})};
  try {
    q(rgb, 0);
    FAIL() << "expected contra::Error";
  } catch (const contra::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "augment.std has 2 values; it must have 1 or 3 (one per image channel)");
  }
  EXPECT_NO_THROW(p(at::zeros({1, 2, 8, 8}, at::kByte), 0));
  const Pipeline def{PipelineOptions{}};
  EXPECT_THROW(def(at::zeros({1, 1, 8, 9}, at::kByte), 0), contra::Error);  // not square
  EXPECT_THROW(def(at::zeros({1, 8, 8}, at::kByte), 0), contra::Error);
  EXPECT_THROW(def(at::zeros({1, 1, 8, 8}, at::kFloat), 0), contra::Error);
}
