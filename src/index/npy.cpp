#include "contra/index/npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include <ATen/ATen.h>

#include "contra/core/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the .npy reader and writer assume a little-endian machine");

namespace contra::index {

namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";  // 6 bytes

/// What a .npy header says, checked.
struct NpyLayout {
  int64_t rows = 0, dim = 0;
  at::ScalarType dtype = at::kFloat;
  int64_t item = 4;         // bytes per value
  int64_t data_offset = 0;  // where the values start
};

/// The header dict numpy writes for float32 [rows, dim], padded with spaces and '\n' so that
/// magic + version + length + dict is `total` bytes.
std::string npy_writer_header(int64_t rows, int64_t dim, int64_t total) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) +
                     ", " + std::to_string(dim) + "), }";
  const int64_t room = total - 10;
  TORCH_INTERNAL_ASSERT(int64_t(dict.size()) + 1 <= room, "npy header room too small");
  dict.append(size_t(room - int64_t(dict.size()) - 1), ' ');
  dict.push_back('\n');
  std::string h(kNpyMagic, 6);
  h.push_back('\x01');
  h.push_back('\x00');
  h.push_back(char(room & 0xff));
  h.push_back(char((room >> 8) & 0xff));
  return h + dict;
}

/// The text after `'key':` (spaces skipped) in a header dict, or npos.
size_t npy_value_at(const std::string& dict, const std::string& key) {
  for (const char* quote : {"'", "\""}) {
    const std::string k = std::string(quote) + key + quote;
    size_t p = dict.find(k);
    if (p == std::string::npos) continue;
    p += k.size();
    while (p < dict.size() && dict[p] == ' ') ++p;
    if (p >= dict.size() || dict[p] != ':') return std::string::npos;
    ++p;
    while (p < dict.size() && dict[p] == ' ') ++p;
    return p;
  }
  return std::string::npos;
}

NpyLayout npy_read_layout(const std::string& path, std::ifstream& in) {
  CONTRA_CHECK(in.is_open(), "cannot open embeddings file ", path);
  const auto size = int64_t(std::filesystem::file_size(path));
  char pre[10] = {};
  in.read(pre, 10);
  CONTRA_CHECK(in.gcount() == 10 && std::memcmp(pre, kNpyMagic, 6) == 0, path,
               " is not a .npy file (no \\x93NUMPY magic at its start)");
  const int major = static_cast<unsigned char>(pre[6]);
  CONTRA_CHECK(major >= 1 && major <= 3, path, ": unsupported .npy format version ", major);
  int64_t header_len = 0, prefix = 10;
  if (major == 1) {
    header_len = int64_t(static_cast<unsigned char>(pre[8])) |
                 (int64_t(static_cast<unsigned char>(pre[9])) << 8);
  } else {
    char more[2] = {};
    in.read(more, 2);
    CONTRA_CHECK(in.gcount() == 2, path, " is truncated (inside the .npy header)");
    header_len = int64_t(static_cast<unsigned char>(pre[8])) |
                 (int64_t(static_cast<unsigned char>(pre[9])) << 8) |
                 (int64_t(static_cast<unsigned char>(more[0])) << 16) |
                 (int64_t(static_cast<unsigned char>(more[1])) << 24);
    prefix = 12;
  }
  CONTRA_CHECK(prefix + header_len <= size, path, " is truncated (the .npy header says ",
               header_len, " bytes, the file has ", size - prefix, " after the prefix)");
  std::string dict(size_t(header_len), '\0');
  in.read(dict.data(), header_len);
  CONTRA_CHECK(in.gcount() == header_len, path, " is truncated (inside the .npy header)");

  NpyLayout l;
  l.data_offset = prefix + header_len;
  // descr
  size_t p = npy_value_at(dict, "descr");
  CONTRA_CHECK(p != std::string::npos && p < dict.size() && (dict[p] == '\'' || dict[p] == '"'),
               path, ": the .npy header has no 'descr'");
  const size_t q = dict.find(dict[p], p + 1);
  CONTRA_CHECK(q != std::string::npos, path, ": the .npy header's 'descr' is not a string");
  const std::string descr = dict.substr(p + 1, q - p - 1);
  const bool little = !descr.empty() && (descr[0] == '<' || descr[0] == '=');
  const std::string kind = little ? descr.substr(1) : descr;
  CONTRA_CHECK(!(descr.size() > 1 && descr[0] == '>'), path, ": dtype '", descr,
               "' is big-endian; embeddings must be little-endian float32 (or float64/float16)");
  if (little && kind == "f4") {
    l.dtype = at::kFloat, l.item = 4;
  } else if (little && kind == "f8") {
    l.dtype = at::kDouble, l.item = 8;
  } else if (little && kind == "f2") {
    l.dtype = at::kHalf, l.item = 2;
  } else {
    CONTRA_CHECK(false, path, ": dtype '", descr,
                 "' is not supported; embeddings must be float32 ('<f4'; float64 and float16 are "
                 "converted)");
  }
  // fortran_order
  p = npy_value_at(dict, "fortran_order");
  CONTRA_CHECK(p != std::string::npos, path, ": the .npy header has no 'fortran_order'");
  CONTRA_CHECK(dict.compare(p, 5, "False") == 0, path,
               " is in Fortran (column-major) order; save it C-ordered "
               "(numpy.ascontiguousarray)");
  // shape
  p = npy_value_at(dict, "shape");
  CONTRA_CHECK(p != std::string::npos && p < dict.size() && dict[p] == '(', path,
               ": the .npy header has no 'shape' tuple");
  const size_t close = dict.find(')', p);
  CONTRA_CHECK(close != std::string::npos, path, ": the .npy header's 'shape' is not closed");
  std::vector<int64_t> shape;
  std::string number;
  for (size_t i = p + 1; i <= close; ++i) {
    const char c = dict[i];
    if (c >= '0' && c <= '9') {
      number.push_back(c);
      CONTRA_CHECK(number.size() <= 18, path, ": the .npy shape holds a number too large");
    } else if (c == ',' || c == ')') {
      if (!number.empty()) shape.push_back(std::stoll(number));
      number.clear();
    } else if (c != ' ' && c != 'L') {
      CONTRA_CHECK(false, path, ": cannot read the .npy shape '", dict.substr(p, close - p + 1),
                   "'");
    }
  }
  CONTRA_CHECK(shape.size() == 1 || shape.size() == 2, path, " holds a ", shape.size(),
               "-D array; embeddings must be 2-D [rows, dim] (or 1-D: one row)");
  l.rows = shape.size() == 2 ? shape[0] : 1;
  l.dim = shape.back();
  CONTRA_CHECK(l.dim >= 1, path, " has dimension 0");
  const int64_t max_values = std::numeric_limits<int64_t>::max() / 8;
  CONTRA_CHECK(l.rows <= max_values / l.dim, path, ": the .npy shape is too large");
  const int64_t need = l.rows * l.dim * l.item;
  CONTRA_CHECK(size - l.data_offset >= need, path, " is truncated: shape (", l.rows, ", ", l.dim,
               ") needs ", need, " bytes of data, the file has ", size - l.data_offset);
  return l;
}

/// Opens `path` and reads its layout (contra::Error naming the file for anything unreadable).
NpyLayout npy_open(const std::string& path, std::ifstream& in) {
  CONTRA_CHECK(std::filesystem::is_regular_file(path), "embeddings file ", path,
               std::filesystem::exists(path) ? " is not a regular file" : " does not exist");
  in.open(path, std::ios::binary);
  return npy_read_layout(path, in);
}

}  // namespace

NpyWriter::NpyWriter(const std::string& path, int64_t dim)
    : path_(path), tmp_(path + ".tmp"), dim_(dim) {
  CONTRA_CHECK(dim >= 1, "embeddings dimension must be at least 1, got ", dim, " (", path, ")");
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  CONTRA_CHECK(out_.is_open(), "cannot write ", tmp_, ": ", std::strerror(errno));
  // Room for the largest row count; patched in at close().
  const std::string h = npy_writer_header(std::numeric_limits<int64_t>::max(), dim_,
                                          kNpyWriterHeaderBytes);
  out_.write(h.data(), std::streamsize(h.size()));
  CONTRA_CHECK(out_.good(), "cannot write ", tmp_);
}

NpyWriter::~NpyWriter() {
  if (closed_) return;
  out_.close();
  std::error_code ec;
  std::filesystem::remove(tmp_, ec);
}

void NpyWriter::append(const at::Tensor& rows) {
  CONTRA_CHECK(!closed_, "NpyWriter for ", path_, ": append after close");
  CONTRA_CHECK(rows.dim() == 2 && rows.size(1) == dim_, "NpyWriter for ", path_,
               ": rows must be [n, ", dim_, "], got ", rows.sizes());
  CONTRA_CHECK(rows.is_floating_point(), "NpyWriter for ", path_,
               ": rows must be a floating-point tensor, got ", rows.scalar_type());
  if (rows.size(0) == 0) return;
  auto f = rows.detach().to(at::kCPU, at::kFloat).contiguous();
  out_.write(reinterpret_cast<const char*>(f.data_ptr<float>()),
             std::streamsize(f.numel() * int64_t(sizeof(float))));
  CONTRA_CHECK(out_.good(), "cannot write ", tmp_, " (disk full?)");
  rows_ += rows.size(0);
}

void NpyWriter::close() {
  if (closed_) return;
  out_.seekp(0);
  const std::string h = npy_writer_header(rows_, dim_, kNpyWriterHeaderBytes);
  out_.write(h.data(), std::streamsize(h.size()));
  out_.flush();
  CONTRA_CHECK(out_.good(), "cannot write ", tmp_, " (disk full?)");
  out_.close();
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  CONTRA_CHECK(!ec, "cannot rename ", tmp_, " to ", path_, ": ", ec.message());
  closed_ = true;
}

std::pair<int64_t, int64_t> npy_shape(const std::string& path) {
  std::ifstream in;
  const auto l = npy_open(path, in);
  return {l.rows, l.dim};
}

at::Tensor read_npy_rows(const std::string& path, int64_t begin, int64_t end) {
  std::ifstream in;
  const auto l = npy_open(path, in);
  CONTRA_CHECK(0 <= begin && begin <= end && end <= l.rows, path, ": rows [", begin, ", ", end,
               ") out of range; the file has ", l.rows);
  auto t = at::empty({end - begin, l.dim}, at::TensorOptions().dtype(l.dtype));
  const int64_t bytes = (end - begin) * l.dim * l.item;
  in.seekg(std::streamoff(l.data_offset + begin * l.dim * l.item));
  in.read(static_cast<char*>(t.data_ptr()), std::streamsize(bytes));
  CONTRA_CHECK(in.gcount() == bytes, path, " is truncated (reading rows ", begin, " to ", end, ")");
  return l.dtype == at::kFloat ? t : t.to(at::kFloat);
}

at::Tensor read_npy(const std::string& path) {
  const auto [rows, dim] = npy_shape(path);
  (void)dim;
  return read_npy_rows(path, 0, rows);
}

}  // namespace contra::index
