#include "contra/data/idx.h"

#include <torch/torch.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "contra/core/error.h"

namespace contra::data {
namespace idx_detail {

/// Sequential byte source over a raw or gzip-compressed file. read() returns the number of bytes
/// delivered, fewer than asked only at the end of the data; stream corruption throws.
class Source {
 public:
  explicit Source(const std::string& path) : path_(path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      const int err = errno;
      if (err == ENOENT) throw Error(c10::str(path, ": file not found"));
      throw Error(c10::str(path, ": cannot open: ", std::strerror(err)));
    }
    unsigned char magic[2] = {0, 0};
    const size_t got = std::fread(magic, 1, 2, f);
    gzip_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!gzip_) {
      std::rewind(f);
      file_ = f;
      return;
    }
    std::fclose(f);
    gz_ = gzopen(path.c_str(), "rb");
    if (gz_ == nullptr) throw Error(c10::str(path, ": cannot open gzip stream"));
    gzbuffer(gz_, 1 << 17);
  }
  ~Source() {
    if (file_ != nullptr) std::fclose(file_);
    if (gz_ != nullptr) gzclose(gz_);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  bool gzip() const { return gzip_; }

  /// Bytes left in a raw file (not known for gzip: returns -1).
  int64_t raw_remaining() {
    if (gzip_) return -1;
    const long pos = std::ftell(file_);
    if (pos < 0 || std::fseek(file_, 0, SEEK_END) != 0) return -1;
    const long end = std::ftell(file_);
    std::fseek(file_, pos, SEEK_SET);
    return end < pos ? -1 : static_cast<int64_t>(end - pos);
  }

  size_t read(void* dst, size_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    size_t total = 0;
    while (total < n) {
      const size_t want = std::min<size_t>(n - total, size_t{1} << 30);
      size_t got = 0;
      if (gzip_) {
        const int r = gzread(gz_, out + total, static_cast<unsigned>(want));
        check_gz();
        if (r < 0) throw Error(c10::str(path_, ": corrupt gzip stream"));
        got = static_cast<size_t>(r);
      } else {
        got = std::fread(out + total, 1, want, file_);
        if (got < want && std::ferror(file_)) {
          throw Error(c10::str(path_, ": read error: ", std::strerror(errno)));
        }
      }
      total += got;
      if (got < want) break;
    }
    return total;
  }

 private:
  void check_gz() {
    int errnum = Z_OK;
    const char* msg = gzerror(gz_, &errnum);
    if (errnum == Z_OK || errnum == Z_STREAM_END) return;
    std::string what = msg != nullptr ? msg : "unknown error";
    // zlib prefixes its message with the path; we already lead with it.
    if (what.rfind(path_ + ": ", 0) == 0) what = what.substr(path_.size() + 2);
    if (errnum == Z_BUF_ERROR) {
      throw Error(c10::str(path_, ": truncated gzip stream (", what,
                           "); the file is incomplete, download it again"));
    }
    if (errnum == Z_ERRNO) {
      throw Error(c10::str(path_, ": read error: ", std::strerror(errno)));
    }
    throw Error(c10::str(path_, ": corrupt gzip stream (", what, ")"));
  }

  std::string path_;
  bool gzip_ = false;
  std::FILE* file_ = nullptr;
  gzFile gz_ = nullptr;
};

}  // namespace idx_detail


namespace {

// Sanity limits: the IDX format allows up to 255 dimensions of up to 2^32-1 each; real files
// (MNIST and friends) have 1 to 4 dimensions and well under a gigabyte.
constexpr int kMaxDims = 8;
constexpr uint64_t kMaxDim = static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
constexpr uint64_t kMaxPayloadBytes = uint64_t{1} << 34;  // 16 GiB

const char* type_name(int code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

std::string hex2(int v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", v & 0xFF);
  return buf;
}

std::string shape_string(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s += "x";
    s += std::to_string(dims[i]);
  }
  return s;
}

/// Reads and checks an IDX header: the dimensions and their product in bytes.
std::vector<int64_t> read_idx_header(idx_detail::Source& src, const std::string& path, uint64_t& total) {

  unsigned char head[4];
  const size_t got_head = src.read(head, 4);
  CONTRA_CHECK(got_head == 4, path, ": truncated: file has ", got_head,
               " bytes, too short for an IDX header");
  CONTRA_CHECK(head[0] == 0 && head[1] == 0, path, ": bad magic number ", hex2(head[0]),
               hex2(head[1]).substr(2), hex2(head[2]).substr(2), hex2(head[3]).substr(2),
               " (an IDX file starts with two zero bytes, a type code and a dimension count); ",
               "is this an IDX file?");
  const int type = head[2];
  const int ndims = head[3];
  CONTRA_CHECK(type == 0x08, path, ": unsupported data type ", hex2(type), " (", type_name(type),
               "); only unsigned byte (0x08) IDX files are supported");
  CONTRA_CHECK(ndims >= 1 && ndims <= kMaxDims, path, ": unsupported dimension count ", ndims,
               " (expected 1 to ", kMaxDims, ")");

  std::vector<unsigned char> dim_bytes(static_cast<size_t>(4 * ndims));
  const size_t got_dims = src.read(dim_bytes.data(), dim_bytes.size());
  CONTRA_CHECK(got_dims == dim_bytes.size(), path,
               ": truncated: file ends inside the header (", ndims, " dimensions need ",
               dim_bytes.size(), " bytes, only ", got_dims, " follow)");

  std::vector<int64_t> dims(static_cast<size_t>(ndims));
  total = 1;
  for (int i = 0; i < ndims; ++i) {
    const unsigned char* b = &dim_bytes[static_cast<size_t>(4 * i)];
    const uint64_t d = (uint64_t{b[0]} << 24) | (uint64_t{b[1]} << 16) | (uint64_t{b[2]} << 8) |
                       uint64_t{b[3]};
    CONTRA_CHECK(d > 0, path, ": dimension ", i, " is zero (header dims ",
                 shape_string(std::vector<int64_t>(dims.begin(), dims.begin() + i)),
                 i > 0 ? "x" : "", "0); the file is empty or corrupt");
    CONTRA_CHECK(d <= kMaxDim, path, ": absurd dimension ", i, " = ", d,
                 "; the header is corrupt");
    dims[static_cast<size_t>(i)] = static_cast<int64_t>(d);
    CONTRA_CHECK(total <= kMaxPayloadBytes / d, path, ": absurd dimensions ",
                 shape_string(std::vector<int64_t>(dims.begin(), dims.begin() + i + 1)),
                 " = more than ", kMaxPayloadBytes, " bytes; the header is corrupt");
    total *= d;
  }
  return dims;
}

}  // namespace

at::Tensor read_idx(const std::string& path) {
  idx_detail::Source src(path);
  uint64_t total = 0;
  const std::vector<int64_t> dims = read_idx_header(src, path, total);
  const std::string shape = shape_string(dims);

  at::Tensor out;
  if (!src.gzip()) {
    // Raw: the size is known up front, so check before allocating anything.
    const int64_t remaining = src.raw_remaining();
    if (remaining >= 0) {
      CONTRA_CHECK(static_cast<uint64_t>(remaining) >= total, path, ": truncated: header says ",
                   shape, " = ", total, " bytes but only ", remaining, " follow");
      CONTRA_CHECK(static_cast<uint64_t>(remaining) == total, path, ": header says ", shape,
                   " = ", total, " bytes but ", static_cast<uint64_t>(remaining) - total,
                   " extra bytes follow; the file is corrupt or not an IDX file");
    }
    out = torch::empty(dims, torch::kUInt8);
    const size_t got = src.read(out.data_ptr<uint8_t>(), total);
    CONTRA_CHECK(got == total, path, ": truncated: header says ", shape, " = ", total,
                 " bytes but only ", got, " follow");
  } else {
    // gzip: the decompressed size is unknown, so grow the buffer as data actually arrives
    // rather than trusting the header with a big allocation.
    auto buf = std::make_unique<std::vector<uint8_t>>();
    size_t have = 0;
    while (have < total) {
      const size_t cap = std::min<uint64_t>(total, std::max<uint64_t>(uint64_t{1} << 20, 2 * have));
      buf->resize(cap);
      const size_t want = cap - have;
      const size_t got = src.read(buf->data() + have, want);
      have += got;
      if (got < want) break;
    }
    CONTRA_CHECK(have == total, path, ": truncated: header says ", shape, " = ", total,
                 " bytes but only ", have, " follow");
    buf->shrink_to_fit();
    auto* raw = buf.release();
    out = torch::from_blob(
        raw->data(), dims, [raw](void*) { delete raw; }, torch::kUInt8);
  }

  // Anything after the payload means the header and the data disagree. For gzip this read also
  // reaches the stream's end, where zlib verifies the CRC (and reports corruption).
  unsigned char extra[4096];
  size_t trailing = 0;
  for (;;) {
    const size_t got = src.read(extra, sizeof(extra));
    trailing += got;
    if (got < sizeof(extra)) break;
    if (trailing > (size_t{1} << 20)) break;
  }
  CONTRA_CHECK(trailing == 0, path, ": header says ", shape, " = ", total, " bytes but ",
               trailing > (size_t{1} << 20) ? "more than 1 MiB" : std::to_string(trailing),
               " extra bytes follow; the file is corrupt or not an IDX file");
  return out;
}

}  // namespace contra::data

namespace contra::data {

struct IdxStream::Impl {
  explicit Impl(const std::string& p) : path(p), src(p) {}
  std::string path;
  idx_detail::Source src;
  std::vector<int64_t> dims;
  int64_t item_bytes = 1, read = 0;
};

IdxStream::IdxStream(const std::string& path) : impl_(std::make_unique<Impl>(path)) {
  uint64_t total = 0;
  impl_->dims = read_idx_header(impl_->src, path, total);
  for (size_t i = 1; i < impl_->dims.size(); ++i) impl_->item_bytes *= impl_->dims[i];
}

IdxStream::~IdxStream() = default;

const std::vector<int64_t>& IdxStream::dims() const { return impl_->dims; }

int64_t IdxStream::size() const { return impl_->dims[0]; }

at::Tensor IdxStream::next(int64_t max_items) {
  const int64_t n = std::min(max_items, size() - impl_->read);
  if (n <= 0) return at::Tensor();
  std::vector<int64_t> shape = impl_->dims;
  shape[0] = n;
  auto out = torch::empty(shape, torch::kUInt8);
  const size_t want = size_t(n * impl_->item_bytes);
  const size_t got = impl_->src.read(out.data_ptr<uint8_t>(), want);
  CONTRA_CHECK(got == want, impl_->path, ": truncated: header says ", size(), " items but the data ends at item ",
               impl_->read + int64_t(got) / impl_->item_bytes);
  impl_->read += n;
  return out;
}

}  // namespace contra::data
