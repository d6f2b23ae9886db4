#pragma once
// Embedding matrices as numpy .npy files (format version 1.0): float32, C order, [rows, dim].
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>

#include <ATen/core/Tensor.h>

namespace contra::index {

/// Streams a float32 C-order [rows, dim] .npy file: rows appended in any number of calls, the header
/// (with the final row count) written at close(); written to PATH.tmp and renamed on close, so a crash
/// never leaves a half file under the final name. dim fixed at construction.
///
/// The header is reserved at construction with room for any int64 row count (128 bytes in all, so
/// the data starts at a multiple of 64 bytes as numpy writes it) and patched in at close().
class NpyWriter {
 public:
  NpyWriter(const std::string& path, int64_t dim);
  ~NpyWriter();                         // not closed: removes the temp file
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;
  void append(const at::Tensor& rows);  // [n, dim], any float dtype/device; converted to CPU float32
  void close();                         // header + rename; idempotent
  int64_t rows() const { return rows_; }
  int64_t dim() const { return dim_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_;
  int64_t dim_ = 0, rows_ = 0;
  std::ofstream out_;
  bool closed_ = false;
};

/// Bytes of the header NpyWriter writes (the data starts there).
constexpr int64_t kNpyWriterHeaderBytes = 128;

/// Reads a whole .npy as a float32 [rows, dim] tensor. Accepts little-endian float32, float64 and
/// float16 (converted to float32), C order, 2-D; a 1-D file of shape (dim,) is one row [1, dim].
/// Anything else (not an npy file, Fortran order, another dtype, big-endian, 0-D or 3-D or more,
/// dimension 0, fewer data bytes than the shape needs) is a contra::Error naming the file.
/// Bytes after the data are ignored (as numpy does).
at::Tensor read_npy(const std::string& path);

/// Shape without reading the data: {rows, dim} (a 1-D file is {1, dim}). Same checks as read_npy.
std::pair<int64_t, int64_t> npy_shape(const std::string& path);

/// Reads rows [begin, end) as float32 [end - begin, dim] (for streaming large files);
/// 0 <= begin <= end <= rows.
at::Tensor read_npy_rows(const std::string& path, int64_t begin, int64_t end);

}  // namespace contra::index
