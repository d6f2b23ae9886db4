#pragma once
#include <cstdint>
#include <vector>

#include "contra/data/image_text.h"

namespace contra::data {

/// Throws contra::Error (naming `what`, e.g. the reader) unless `dataset` keeps
/// ImageTextDataset's promises: images [N, C, S, S] uint8, N captions lists, each non-empty with
/// no empty caption, labels [N] int64 in -1..classes-1, N ids.
void check_image_text(const ImageTextDataset& dataset, const char* what);

/// The images `indices` of `dataset` (in that order) with their captions, labels and ids; the
/// class names are kept whole. Indices must be in 0..N-1.
ImageTextDataset select_image_text(const ImageTextDataset& dataset, const std::vector<int64_t>& indices);

/// `count` of `n` items spread evenly over them (floor(i * n / count)), for limits that keep
/// every part of a sorted listing; all of them when count is 0 or >= n.
std::vector<int64_t> spread_indices(int64_t n, int64_t count);

/// Splits by image: every caption goes where its image goes. Stratified by label (images
/// labelled -1 are one more stratum): each class is shuffled with its own seeded generator and
/// gives floor(n_k * fraction) images to validation and to test; the images the floors leave
/// over go to the classes with the largest remainders, first to those with none in that split,
/// until validation holds round(N * val_fraction) and test round(N * test_fraction) images. A
/// class keeps at least one training image. Each split keeps the dataset's order. Deterministic
/// for a seed (no threads involved). Throws contra::Error for fractions outside [0, 1) or
/// summing to 1 or more.
ImageTextSplits split_image_text(const ImageTextDataset& dataset, double val_fraction,
                                 double test_fraction, uint64_t seed);

}  // namespace contra::data
