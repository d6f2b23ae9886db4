#include "contra/run/image_text_data.h"

#include "contra/core/error.h"
#include "contra/data/emoji.h"
#include "contra/data/manifest.h"
#include "contra/data/openclipart.h"

namespace contra::run {

data::ImageTextDataset read_image_text_dataset(const ResolvedRun& run) {
  const auto& cfg = run.config;
  CONTRA_CHECK(run.dataset == data::DatasetKind::kImageTextManifest || cfg.data.channels == 3,
               "data.dataset ", cfg.data.dataset, " has colour images: data.channels must be 3, got ",
               cfg.data.channels);
  switch (run.dataset) {
    case data::DatasetKind::kImageTextManifest:
      return data::read_image_text_manifest(cfg.data.path, manifest_options(cfg));
    case data::DatasetKind::kOpenclipart: {  // data.path: the package's root folder
      data::OpenclipartOptions o;
      o.root = cfg.data.path;
      o.size = cfg.data.image_size;
      o.limit = cfg.data.limit;
      data::validate(o);
      return data::load_openclipart(o);
    }
    case data::DatasetKind::kEmoji: {  // data.path: the colour emoji font
      data::EmojiOptions o;
      o.font = cfg.data.path;
      o.size = cfg.data.image_size;
      o.limit = cfg.data.limit;
      data::validate(o);
      return data::load_emoji(o);
    }
    default: break;
  }
  throw Error("data.dataset " + cfg.data.dataset + " is not a dataset of image-text pairs");
}

}  // namespace contra::run
