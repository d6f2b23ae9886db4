#pragma once
#include "contra/data/image_text.h"
#include "contra/run/resolve.h"

namespace contra::run {

/// Reads the run's image-text dataset (data.dataset, one of data::image_text_dataset_kinds())
/// with the config's reader options: the one place where such a dataset kind meets its reader
/// (a new reader: its DatasetKind in data/kinds, and one case here). Throws contra::Error for a
/// dataset that is not image-text, and whatever the reader throws.
data::ImageTextDataset read_image_text_dataset(const ResolvedRun& run);

}  // namespace contra::run
