#pragma once
#include <string>
#include <vector>

namespace contra::data {

/// The datasets contra reads (data.dataset).
enum class DatasetKind {
  kFashionMNIST,  ///< IDX files (Debian's dataset-fashion-mnist)
  kImageFolder,   ///< one subfolder per class of PNG/JPEG/BMP images
  kWordNet,       ///< WordNet's definitions and examples (Debian's wordnet-base)
  kTextCorpus,    ///< one text per line
  kTextPairs,     ///< anchor<TAB>positive[<TAB>negative] lines
  kImageTextManifest,  ///< a CSV/TSV manifest of image paths and captions (data/manifest.h)
  kOpenclipart,        ///< Debian's openclipart: PNGs, SVG metadata captions (data/openclipart.h)
  kEmoji,              ///< the Noto colour emoji with CLDR captions (data/emoji.h)
};
DatasetKind dataset_kind_from_string(const std::string& name);
std::string to_string(DatasetKind kind);
/// The valid names, in order.
std::vector<std::string> dataset_kind_names();
/// The datasets of image-text pairs (read into data::ImageTextDataset), in order, the first
/// being the default: what method clip trains on.
std::vector<DatasetKind> image_text_dataset_kinds();

/// Where evaluation draws its queries (eval.split).
enum class EvalSplit {
  kTest,  ///< the test split (only reported, never tuned on)
  kVal,   ///< held out of the training data, for choosing hyper-parameters
};
EvalSplit eval_split_from_string(const std::string& name);
std::string to_string(EvalSplit split);
std::vector<std::string> eval_split_names();

}  // namespace contra::data
