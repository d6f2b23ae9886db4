#pragma once
// A minimal seeded split of image-text data by image, written for the clip method's branch; the
// paired-data readers' branch has its own data::split_image_text of the same signature (one of
// the two is kept when they meet).
#include <cstdint>

#include "contra/data/image_text.h"

namespace contra::data {

/// Splits `d` by image into train, val and test: every caption goes where its image goes, so no
/// image is seen in training and evaluated. Stratified where labels exist: each label (and the
/// unlabelled images, -1, as one more group) is shuffled with a seed derived from `seed` and its
/// label, and round(test_fraction x its size) of its images go to test, round(val_fraction x
/// its size) to val, the rest to train. Each split keeps `d`'s order, its class names and ids.
/// The same (d, fractions, seed) always gives the same split. Throws contra::Error for fractions
/// outside [0, 1) or summing to 1 or more.
ImageTextSplits split_image_text(const ImageTextDataset& d, double val_fraction, double test_fraction,
                                 uint64_t seed);

}  // namespace contra::data
