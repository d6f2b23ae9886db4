// PipelineOptions validation: every message names the config key (augment.<field>), the bad
// value and the allowed range.
#include <cmath>
#include <string>

#include "contra/augment/pipeline.h"
#include "contra/core/error.h"

namespace contra::augment {

namespace {

void check_probability(double v, const char* name) {
  CONTRA_CHECK(v >= 0.0 && v <= 1.0, "augment.", name, " must be in [0, 1], got ", v);
}

void check_nonnegative(double v, const char* name) {
  CONTRA_CHECK(v >= 0.0 && std::isfinite(v), "augment.", name, " must be >= 0, got ", v);
}

void check_ordered(double lo, double hi, const char* lo_name, const char* hi_name) {
  CONTRA_CHECK(lo <= hi, "augment.", lo_name, " must be <= augment.", hi_name, ", got ", lo,
               " > ", hi);
}

}  // namespace

void validate(const PipelineOptions& o) {
  CONTRA_CHECK(o.out_size() >= 0, "augment.out_size must be >= 0 (0 keeps the input size), got ",
               o.out_size());

  check_probability(o.crop_p(), "crop_p");
  CONTRA_CHECK(o.crop_scale_min() > 0.0 && o.crop_scale_min() <= 1.0,
               "augment.crop_scale_min must be in (0, 1], got ", o.crop_scale_min());
  CONTRA_CHECK(o.crop_scale_max() > 0.0 && o.crop_scale_max() <= 1.0,
               "augment.crop_scale_max must be in (0, 1], got ", o.crop_scale_max());
  check_ordered(o.crop_scale_min(), o.crop_scale_max(), "crop_scale_min", "crop_scale_max");
  CONTRA_CHECK(o.crop_ratio_min() > 0.0 && std::isfinite(o.crop_ratio_min()),
               "augment.crop_ratio_min must be > 0, got ", o.crop_ratio_min());
  CONTRA_CHECK(o.crop_ratio_max() > 0.0 && std::isfinite(o.crop_ratio_max()),
               "augment.crop_ratio_max must be > 0, got ", o.crop_ratio_max());
  check_ordered(o.crop_ratio_min(), o.crop_ratio_max(), "crop_ratio_min", "crop_ratio_max");

  check_probability(o.flip_p(), "flip_p");
  check_probability(o.jitter_p(), "jitter_p");
  check_nonnegative(o.brightness(), "brightness");
  check_nonnegative(o.contrast(), "contrast");
  check_nonnegative(o.saturation(), "saturation");
  CONTRA_CHECK(o.hue() >= 0.0 && o.hue() <= 0.5, "augment.hue must be in [0, 0.5], got ",
               o.hue());
  check_probability(o.grayscale_p(), "grayscale_p");

  check_probability(o.blur_p(), "blur_p");
  CONTRA_CHECK(o.blur_sigma_min() > 0.0 && std::isfinite(o.blur_sigma_min()),
               "augment.blur_sigma_min must be > 0, got ", o.blur_sigma_min());
  CONTRA_CHECK(o.blur_sigma_max() > 0.0 && std::isfinite(o.blur_sigma_max()),
               "augment.blur_sigma_max must be > 0, got ", o.blur_sigma_max());
  check_ordered(o.blur_sigma_min(), o.blur_sigma_max(), "blur_sigma_min", "blur_sigma_max");

  check_probability(o.solarize_p(), "solarize_p");
  CONTRA_CHECK(o.solarize_threshold() >= 0.0 && o.solarize_threshold() <= 1.0,
               "augment.solarize_threshold must be in [0, 1], got ", o.solarize_threshold());

  CONTRA_CHECK(!o.mean().empty(), "augment.mean must have 1 value or one per channel, got none");
  CONTRA_CHECK(!o.std().empty(), "augment.std must have 1 value or one per channel, got none");
  for (size_t i = 0; i < o.mean().size(); ++i) {
    CONTRA_CHECK(std::isfinite(o.mean()[i]), "augment.mean[", i, "] must be finite, got ",
                 o.mean()[i]);
  }
  for (size_t i = 0; i < o.std().size(); ++i) {
    CONTRA_CHECK(o.std()[i] > 0.0 && std::isfinite(o.std()[i]), "augment.std[", i,
                 "] must be > 0, got ", o.std()[i]);
  }
}

}  // namespace contra::augment
