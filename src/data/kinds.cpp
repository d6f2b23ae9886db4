#include "contra/data/kinds.h"

#include "contra/core/names.h"

namespace contra::data {
namespace {
const NameTable<DatasetKind, 8> kDatasetNames = {{"fashion_mnist", DatasetKind::kFashionMNIST},
                                                 {"image_folder", DatasetKind::kImageFolder},
                                                 {"wordnet", DatasetKind::kWordNet},
                                                 {"text_corpus", DatasetKind::kTextCorpus},
                                                 {"text_pairs", DatasetKind::kTextPairs},
                                                 {"image_text_manifest", DatasetKind::kImageTextManifest},
                                                 {"openclipart", DatasetKind::kOpenclipart},
                                                 {"emoji", DatasetKind::kEmoji}};
const NameTable<EvalSplit, 2> kSplitNames = {{"test", EvalSplit::kTest}, {"val", EvalSplit::kVal}};
}  // namespace

DatasetKind dataset_kind_from_string(const std::string& name) {
  return from_name(kDatasetNames, name, "dataset");
}
std::string to_string(DatasetKind kind) { return name_of(kDatasetNames, kind); }
std::vector<std::string> dataset_kind_names() { return names_of(kDatasetNames); }

std::vector<DatasetKind> image_text_dataset_kinds() { return {DatasetKind::kImageTextManifest, DatasetKind::kOpenclipart, DatasetKind::kEmoji}; }

EvalSplit eval_split_from_string(const std::string& name) {
  return from_name(kSplitNames, name, "evaluation split");
}
std::string to_string(EvalSplit split) { return name_of(kSplitNames, split); }
std::vector<std::string> eval_split_names() { return names_of(kSplitNames); }

}  // namespace contra::data
