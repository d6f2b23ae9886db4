#pragma once
#include <string>

#include <ATen/core/Tensor.h>

namespace contra::data {

/// Reads an IDX file (the MNIST format), raw or gzip-compressed (detected from the content, not
/// the name). Only unsigned-byte data (type 0x08) is accepted. Returns a contiguous uint8 tensor
/// whose shape is the file's dimensions. Throws contra::Error naming the file and the problem for:
/// a missing or unreadable file, a corrupt or truncated gzip stream, a bad magic number, an
/// unsupported data type, zero or absurd dimensions, or a payload whose size disagrees with them.
at::Tensor read_idx(const std::string& path);

}  // namespace contra::data
