#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace contra::data {

/// What one embedded item is: a stable id, its file (images of a folder) and label (-1 unknown).
struct ItemInfo {
  std::string id, path;
  int64_t label = -1;
};

/// A chunk of items read from an ItemStream: images [n, C, S, S] uint8 or texts, and their info.
struct ItemChunk {
  at::Tensor images;
  std::vector<std::string> texts;
  std::vector<ItemInfo> info;
  int64_t size() const { return int64_t(info.size()); }
};

/// Items to embed, read chunk by chunk so that memory does not grow with their number.
class ItemStream {
 public:
  virtual ~ItemStream() = default;
  virtual bool is_text() const = 0;
  /// Items in all (-1 when it is only known at the end: text files).
  virtual int64_t size() const = 0;
  /// Replaces `out` with the next up to `max_items` items; false when none are left.
  virtual bool next(int64_t max_items, ItemChunk& out) = 0;
  /// Label names, label order (empty when the source has none).
  virtual std::vector<std::string> class_names() const { return {}; }
};

struct ItemStreamOptions {
  /// Images come out with this many channels (1 or 3) and side (image folders are resized to
  /// it; IDX images must have it).
  int64_t channels = 1, size = 28;
  /// Where fashion_mnist:<split> reads.
  std::string fashion_mnist_dir;
  /// pairs:FILE: the column embedded (1 anchor, 2 positive, 3 hard negative).
  int pairs_column = 1;
};

/// Opens the items a spec names:
///   fashion_mnist:train | fashion_mnist:test  the split's images and labels
///   idx:IMAGES[,LABELS]                       an IDX image file [N, S, S] (and labels [N])
///   folder:DIR                                DIR/<class>/<image> (labels = class order) or DIR/<image>
///   text:FILE                                 one text per line (blank lines skipped)
///   pairs:FILE                                a pairs file's column `pairs_column`
/// Ids: the item's number in its source (fashion_mnist, idx), its path under DIR (folder), its
/// line number (text, pairs). Throws contra::Error for an unknown kind or what the source cannot
/// read.
std::unique_ptr<ItemStream> open_items(const std::string& spec, const ItemStreamOptions& options);

}  // namespace contra::data
