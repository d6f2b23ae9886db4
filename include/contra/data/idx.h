#pragma once
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace contra::data {

/// Reads an IDX file (the MNIST format), raw or gzip-compressed (detected from the content, not
/// the name). Only unsigned-byte data (type 0x08) is accepted. Returns a contiguous uint8 tensor
/// whose shape is the file's dimensions. Throws contra::Error naming the file and the problem for:
/// a missing or unreadable file, a corrupt or truncated gzip stream, a bad magic number, an
/// unsupported data type, zero or absurd dimensions, or a payload whose size disagrees with them.
at::Tensor read_idx(const std::string& path);

/// An IDX file read item by item (the first dimension), raw or gzip-compressed, so that memory
/// does not grow with the file: the same header checks as read_idx; a file shorter than its
/// header says is reported when next() reaches the end of the data.
class IdxStream {
 public:
  explicit IdxStream(const std::string& path);
  ~IdxStream();
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;
  /// The header's dimensions; dims()[0] items.
  const std::vector<int64_t>& dims() const;
  int64_t size() const;
  /// The next up to `max_items` items: [n, dims[1:]...] uint8; undefined after the last.
  at::Tensor next(int64_t max_items);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace contra::data
