// Items to embed, streamed chunk by chunk: Fashion-MNIST splits, IDX files, image folders, text
// and pairs files.
#include "contra/data/items.h"

#include <filesystem>
#include <optional>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/data/fashion_mnist.h"
#include "contra/data/idx.h"
#include "contra/data/image_folder.h"
#include "contra/data/text.h"

namespace contra::data {
namespace {

/// IDX images (and labels) read in step.
class IdxItems : public ItemStream {
 public:
  IdxItems(const std::string& images, const std::string& labels, const ItemStreamOptions& options,
           std::vector<std::string> classes)
      : images_(images), classes_(std::move(classes)) {
    const auto& d = images_.dims();
    CONTRA_CHECK(d.size() == 3 || d.size() == 4, images,
                 ": expected images [count, rows, cols] or [count, channels, rows, cols], got ",
                 c10::IntArrayRef(d));
    const int64_t c = d.size() == 4 ? d[1] : 1;
    CONTRA_CHECK(c == options.channels && d[d.size() - 2] == options.size && d.back() == options.size,
                 images, ": images are ", d[d.size() - 2], "x", d.back(), " with ", c,
                 " channel(s); the encoder takes ", options.size, "x", options.size, " with ",
                 options.channels);
    if (!labels.empty()) {
      labels_.emplace(labels);
      CONTRA_CHECK(labels_->dims().size() == 1, labels, ": expected 1 dimension (count), got ",
                   c10::IntArrayRef(labels_->dims()));
      CONTRA_CHECK(labels_->size() == images_.size(), "count mismatch: ", images, " has ", images_.size(),
                   " images but ", labels, " has ", labels_->size(), " labels");
    }
  }
  bool is_text() const override { return false; }
  int64_t size() const override { return images_.size(); }
  std::vector<std::string> class_names() const override { return classes_; }
  bool next(int64_t max_items, ItemChunk& out) override {
    out = ItemChunk();
    auto x = images_.next(max_items);
    if (!x.defined()) return false;
    out.images = x.dim() == 3 ? x.unsqueeze(1) : x;
    at::Tensor y = labels_ ? labels_->next(x.size(0)) : at::Tensor();
    for (int64_t i = 0; i < x.size(0); ++i) {
      ItemInfo info;
      info.id = std::to_string(done_ + i);
      if (y.defined()) info.label = y[i].item<int64_t>();
      out.info.push_back(std::move(info));
    }
    done_ += x.size(0);
    return true;
  }

 private:
  IdxStream images_;
  std::optional<IdxStream> labels_;
  std::vector<std::string> classes_;
  int64_t done_ = 0;
};

/// An image folder's files, decoded a chunk at a time.
class FolderItems : public ItemStream {
 public:
  FolderItems(const std::string& root, const ItemStreamOptions& options)
      : root_(root), listing_(list_image_folder(root, /*allow_flat=*/true)), options_(options) {}
  bool is_text() const override { return false; }
  int64_t size() const override { return int64_t(listing_.files.size()); }
  std::vector<std::string> class_names() const override { return listing_.class_names; }
  bool next(int64_t max_items, ItemChunk& out) override {
    out = ItemChunk();
    const int64_t end = std::min(size(), done_ + max_items);
    if (done_ >= end) return false;
    std::vector<std::string> paths;
    for (int64_t i = done_; i < end; ++i) {
      const auto& [path, label] = listing_.files[size_t(i)];
      paths.push_back(path);
      out.info.push_back({std::filesystem::path(path).lexically_relative(root_).string(), path, label});
    }
    out.images = load_images(paths, options_.channels, options_.size);
    done_ = end;
    return true;
  }

 private:
  std::string root_;
  ImageFolderListing listing_;
  ItemStreamOptions options_;
  int64_t done_ = 0;
};

/// Texts of a corpus or a pairs file's column, line by line.
class TextItems : public ItemStream {
 public:
  TextItems(const std::string& path, int column) : reader_(path, column) {}
  bool is_text() const override { return true; }
  int64_t size() const override { return -1; }
  bool next(int64_t max_items, ItemChunk& out) override {
    out = ItemChunk();
    std::string text;
    int64_t line = 0;
    while (out.size() < max_items && reader_.next(text, line)) {
      out.texts.push_back(std::move(text));
      out.info.push_back({"line " + std::to_string(line), "", -1});
    }
    return out.size() > 0;
  }

 private:
  TextLineReader reader_;
};

}  // namespace

std::unique_ptr<ItemStream> open_items(const std::string& spec, const ItemStreamOptions& options) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  CONTRA_CHECK(colon != std::string::npos && !arg.empty(), "data '", spec,
               "': expected KIND:WHAT, one of fashion_mnist:train, fashion_mnist:test, "
               "idx:IMAGES[,LABELS], folder:DIR, text:FILE, pairs:FILE");
  if (kind == "fashion_mnist") {
    CONTRA_CHECK(arg == "train" || arg == "test", "data '", spec, "': the split is train or test");
    const Split split = arg == "train" ? Split::kTrain : Split::kTest;
    const std::string dir = options.fashion_mnist_dir.empty() ? kFashionMnistDefaultDir : options.fashion_mnist_dir;
    return std::make_unique<IdxItems>(fashion_mnist_file(dir, split, false), fashion_mnist_file(dir, split, true),
                                      options, fashion_mnist_classes());
  }
  if (kind == "idx") {
    const auto comma = arg.find(',');
    return std::make_unique<IdxItems>(arg.substr(0, comma),
                                      comma == std::string::npos ? "" : arg.substr(comma + 1), options,
                                      std::vector<std::string>{});
  }
  if (kind == "folder") return std::make_unique<FolderItems>(arg, options);
  if (kind == "text") return std::make_unique<TextItems>(arg, 0);
  if (kind == "pairs") {
    CONTRA_CHECK(options.pairs_column >= 1 && options.pairs_column <= 3,
                 "pairs column must be 1, 2 or 3, got ", options.pairs_column);
    return std::make_unique<TextItems>(arg, options.pairs_column);
  }
  throw Error(c10::str("data '", spec, "': unknown kind '", kind,
                       "' (fashion_mnist, idx, folder, text or pairs)"));
}

}  // namespace contra::data
