#include "contra/data/image_folder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "contra/core/error.h"
#include "resample.h"

// Only the formats we document; stb reads from memory (we open files ourselves for clear errors).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 15)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace contra::data {
namespace {

namespace fs = std::filesystem;

// Decoded images above this many pixels are refused (a 16k x 16k photo is 768 MiB as RGB).
constexpr int64_t kMaxPixels = int64_t{1} << 28;
constexpr uintmax_t kMaxFileBytes = uintmax_t{1} << 30;

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

std::vector<unsigned char> read_file(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  CONTRA_CHECK(!ec, path, ": cannot read: ", ec.message());
  CONTRA_CHECK(size > 0, path, ": empty file, not an image");
  CONTRA_CHECK(size <= kMaxFileBytes, path, ": file is ", size, " bytes, too large for an image");
  std::ifstream in(path, std::ios::binary);
  CONTRA_CHECK(in.good(), path, ": cannot open: ", std::strerror(errno));
  std::vector<unsigned char> data(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size));
  CONTRA_CHECK(static_cast<uintmax_t>(in.gcount()) == size, path, ": read error (got ",
               in.gcount(), " of ", size, " bytes)");
  return data;
}

/// Resizes pixels (h x w x c, interleaved) so the shorter side is `size`, centre-crops to
/// size x size, and writes planar [c, size, size] to dst.
void resize_center_crop(const unsigned char* pixels, int w, int h, int c, int size, uint8_t* dst) {
  // The centre square of the source, side = shorter side, maps onto the output square.
  const int side = std::min(w, h);
  const int x0 = (w - side) / 2, y0 = (h - side) / 2;
  const detail::Taps tx = detail::make_taps(side, size), ty = detail::make_taps(side, size);

  // Horizontal pass over the needed rows: [side rows][size][c] floats.
  std::vector<float> tmp(static_cast<size_t>(side) * size * c);
  for (int y = 0; y < side; ++y) {
    const unsigned char* row = pixels + (static_cast<size_t>(y0 + y) * w + x0) * c;
    float* trow = tmp.data() + static_cast<size_t>(y) * size * c;
    for (int o = 0; o < size; ++o) {
      const float* wts = tx.weight.data() + static_cast<size_t>(o) * tx.max_taps;
      const int first = tx.first[static_cast<size_t>(o)], n = tx.count[static_cast<size_t>(o)];
      for (int ch = 0; ch < c; ++ch) {
        float acc = 0.0f;
        for (int k = 0; k < n; ++k) acc += wts[k] * row[static_cast<size_t>(first + k) * c + ch];
        trow[static_cast<size_t>(o) * c + ch] = acc;
      }
    }
  }
  // Vertical pass, writing planar output.
  const size_t plane = static_cast<size_t>(size) * size;
  for (int o = 0; o < size; ++o) {
    const float* wts = ty.weight.data() + static_cast<size_t>(o) * ty.max_taps;
    const int first = ty.first[static_cast<size_t>(o)], n = ty.count[static_cast<size_t>(o)];
    for (int x = 0; x < size; ++x) {
      for (int ch = 0; ch < c; ++ch) {
        float acc = 0.0f;
        for (int k = 0; k < n; ++k) {
          acc += wts[k] * tmp[(static_cast<size_t>(first + k) * size + x) * c + ch];
        }
        const float v = std::clamp(std::nearbyint(acc), 0.0f, 255.0f);
        dst[ch * plane + static_cast<size_t>(o) * size + x] = static_cast<uint8_t>(v);
      }
    }
  }
}

/// Debian's stb_image 2.27 trusts the 16 code counts of a JPEG DHT table: more than 256 codes
/// overflow its Huffman arrays (a write past stbi__huffman::size; upstream 2.28 checks it).
/// Walks the JPEG markers the way stb reads them and returns false for such a table.
bool jpeg_huffman_tables_ok(const unsigned char* d, size_t n) {
  // stb takes fill bytes (0xFF) before the SOI marker too: walk anything starting with 0xFF.
  if (n < 2 || d[0] != 0xFF) return true;  // not a JPEG
  size_t i = 0;
  while (i + 1 < n) {
    if (d[i] != 0xFF) {  // entropy-coded data
      ++i;
      continue;
    }
    const unsigned char m = d[i + 1];
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {  // stuffing, TEM, RSTn, SOI
      i += 2;
      continue;
    }
    if (m == 0xD9 || i + 3 >= n) break;  // EOI or end of data
    const size_t len = (size_t{d[i + 2]} << 8) | d[i + 3];
    if (m == 0xC4) {
      // As stb: tables follow each other while the segment's length is not used up, and bytes
      // past the end of the data read as 0.
      long left = static_cast<long>(len) - 2;
      size_t p = i + 4;
      while (left > 0 && p < n) {
        size_t codes = 0;
        for (size_t k = 1; k <= 16 && p + k < n; ++k) codes += d[p + k];
        if (codes > 256) return false;
        p += 17 + codes;
        left -= static_cast<long>(17 + codes);
      }
    }
    i += 2 + std::max<size_t>(len, 2);
  }
  return true;
}

/// The most pixels an image file of `n` bytes can encode. Baseline JPEG spends at least 2 bits
/// (a DC code and an end-of-block) on each 8x8 block of its first component: 256 pixels per byte,
/// taken with 4x slack. PNG's deflate expands at most ~1032:1, and a 1-bit pixel is 1/8 byte:
/// 8,256 pixels per byte, which also bounds BMP (at least 1 bit per pixel).
int64_t max_pixels_in(const unsigned char* d, size_t n) {
  const bool jpeg = n >= 2 && d[0] == 0xFF && d[1] == 0xD8;
  return static_cast<int64_t>(n) * (jpeg ? 1024 : 8256);
}

void load_one(const std::string& path, int channels, int size, uint8_t* dst) {
  const std::vector<unsigned char> data = read_file(path);
  CONTRA_CHECK(jpeg_huffman_tables_ok(data.data(), data.size()), path,
               ": corrupt JPEG (a Huffman table declares more than 256 codes)");
  CONTRA_CHECK(data.size() <= static_cast<size_t>(std::numeric_limits<int>::max()), path,
               ": too large");
  const int len = static_cast<int>(data.size());
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data.data(), len, &w, &h, &comp)) {
    const char* why = stbi_failure_reason();
    throw Error(c10::str(path, ": not a readable PNG/JPEG/BMP image (",
                         why != nullptr ? why : "unknown error", ")"));
  }
  CONTRA_CHECK(w > 0 && h > 0 && static_cast<int64_t>(w) * h <= kMaxPixels, path,
               ": image is ", w, "x", h, " pixels, too large (limit ", kMaxPixels, " pixels)");
  // A header can claim far more pixels than the file holds: stb then decodes the missing data
  // as zeros (JPEG, BMP), minutes of work and gigabytes for a few hundred bytes (fuzz_image).
  const int64_t most = max_pixels_in(data.data(), data.size());
  CONTRA_CHECK(static_cast<int64_t>(w) * h <= most, path, ": corrupt image (its header says ", w, "x",
               h, " pixels; ", data.size(), " bytes hold at most ", most, ")");
  struct Free {
    void operator()(unsigned char* p) const { stbi_image_free(p); }
  };
  std::unique_ptr<unsigned char, Free> pixels(
      stbi_load_from_memory(data.data(), len, &w, &h, &comp, channels));
  if (!pixels) {
    const char* why = stbi_failure_reason();
    throw Error(c10::str(path, ": corrupt or unsupported image (",
                         why != nullptr ? why : "unknown error", ")"));
  }
  resize_center_crop(pixels.get(), w, h, channels, size, dst);
}

}  // namespace

namespace {

void check_image_options(int64_t channels, int64_t size) {
  CONTRA_CHECK(size >= 1 && size <= 4096, "image folder: size must be in 1..4096, got ", size);
  CONTRA_CHECK(channels == 1 || channels == 3, "image folder: channels must be 1 or 3, got ", channels);
}

/// The image files directly in `dir`, sorted.
std::vector<fs::path> images_in(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> found;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!hidden(it->path()) && is_image_name(it->path()) && it->is_regular_file(ec)) {
      found.push_back(it->path());
    }
  }
  CONTRA_CHECK(!ec, dir.string(), ": cannot list: ", ec.message());
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

ImageFolderListing list_image_folder(const std::string& root, bool allow_flat) {
  std::error_code ec;
  CONTRA_CHECK(fs::exists(root, ec), root, ": image folder not found");
  CONTRA_CHECK(fs::is_directory(root, ec), root, ": not a directory (expected root/<class>/<image>)");

  std::vector<fs::path> class_dirs;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!hidden(it->path()) && it->is_directory(ec)) class_dirs.push_back(it->path());
  }
  CONTRA_CHECK(!ec, root, ": cannot list: ", ec.message());
  ImageFolderListing out;
  if (class_dirs.empty() && allow_flat) {
    for (const auto& p : images_in(root)) out.files.emplace_back(p.string(), -1);
    CONTRA_CHECK(!out.files.empty(), root,
                 ": no images (expected .png, .jpg, .jpeg or .bmp files, or class folders of them)");
    return out;
  }
  CONTRA_CHECK(!class_dirs.empty(), root,
               ": no class folders (expected root/<class>/<image>.{png,jpg,jpeg,bmp})");
  std::sort(class_dirs.begin(), class_dirs.end());
  for (size_t k = 0; k < class_dirs.size(); ++k) {
    out.class_names.push_back(class_dirs[k].filename().string());
    for (const auto& p : images_in(class_dirs[k])) out.files.emplace_back(p.string(), static_cast<int64_t>(k));
  }
  CONTRA_CHECK(!out.files.empty(), root, ": no images in its ", class_dirs.size(),
               " class folder(s) (expected .png, .jpg, .jpeg or .bmp files)");
  return out;
}

at::Tensor load_images(const std::vector<std::string>& paths, int64_t channels, int64_t size) {
  check_image_options(channels, size);
  const int64_t n = static_cast<int64_t>(paths.size()), c = channels, s = size;
  auto images = torch::empty({n, c, s, s}, torch::kUInt8);
  uint8_t* img = images.data_ptr<uint8_t>();
  // Decoding is independent per file; at::parallel_for rethrows the first worker exception.
  at::parallel_for(0, n, 8, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      load_one(paths[static_cast<size_t>(i)], static_cast<int>(c), static_cast<int>(s), img + i * c * s * s);
    }
  });
  return images;
}

ImageDataset load_image_folder(const std::string& root, const ImageFolderOptions& options) {
  check_image_options(options.channels, options.size);
  CONTRA_CHECK(options.limit >= 0, "image folder: limit must be >= 0, got ", options.limit);
  ImageFolderListing listing = list_image_folder(root, /*allow_flat=*/false);
  auto& files = listing.files;
  if (options.limit > 0 && static_cast<size_t>(options.limit) < files.size()) {
    files.resize(static_cast<size_t>(options.limit));
  }
  ImageDataset ds;
  ds.class_names = std::move(listing.class_names);
  const int64_t n = static_cast<int64_t>(files.size());
  ds.labels = torch::empty({n}, torch::kInt64);
  std::vector<std::string> paths;
  for (int64_t i = 0; i < n; ++i) {
    ds.labels.data_ptr<int64_t>()[i] = files[static_cast<size_t>(i)].second;
    paths.push_back(files[static_cast<size_t>(i)].first);
  }
  ds.images = load_images(paths, options.channels, options.size);
  return ds;
}

}  // namespace contra::data
