#include "contra/run/image_text_data.h"

#include "contra/core/error.h"
#include "contra/data/manifest.h"

namespace contra::run {

data::ImageTextDataset read_image_text_dataset(const ResolvedRun& run) {
  const auto& cfg = run.config;
  switch (run.dataset) {
    case data::DatasetKind::kImageTextManifest:
      return data::read_image_text_manifest(cfg.data.path, manifest_options(cfg));
    default: break;
  }
  throw Error("data.dataset " + cfg.data.dataset + " is not a dataset of image-text pairs");
}

}  // namespace contra::run
