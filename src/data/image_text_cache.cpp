#include "contra/data/image_text_cache.h"

#include <torch/torch.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "contra/core/error.h"
#include "contra/core/files.h"
#include "contra/core/rng.h"

namespace contra::data {
namespace {

namespace fs = std::filesystem;

// File layout: magic (8 bytes), header length (u64), header (JSON: key, shape, captions,
// labels, class names, ids), image bytes (u64 length, then N*C*S*S bytes), CRC-32 of all
// that precedes it (u32). Integers little-endian as written by this machine's std::memcpy on
// x86/ARM; a file from a machine of the other byte order fails the checksum or the header.
constexpr char kCacheMagic[8] = {'C', 'O', 'N', 'T', 'R', 'A', 'I', 'T'};

void cache_put_u64(std::string& out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}

bool cache_get_u64(const std::string& in, size_t& at, uint64_t& v) {
  if (in.size() < 8 || at > in.size() - 8) return false;
  std::memcpy(&v, in.data() + at, 8);
  at += 8;
  return true;
}

uint32_t cache_crc(const char* data, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

std::string default_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return (fs::path(xdg) / "contra").string();
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return (fs::path(home) / ".cache" / "contra").string();
  return ".contra-cache";
}

std::string files_fingerprint(const std::vector<std::string>& paths) {
  uint64_t h = mix64(paths.size());
  for (const auto& p : paths) {
    std::error_code ec;
    const auto status = fs::status(p, ec);
    int64_t size = -1, mtime = 0;
    if (!ec && fs::is_regular_file(status)) {
      size = static_cast<int64_t>(fs::file_size(p, ec));
      if (ec) size = -1;
      const auto t = fs::last_write_time(p, ec);
      if (!ec) mtime = static_cast<int64_t>(t.time_since_epoch().count());
    }
    for (unsigned char c : p) h = mix64(h ^ c);
    h = mix64(h ^ static_cast<uint64_t>(size));
    h = mix64(h ^ static_cast<uint64_t>(mtime));
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

void write_image_text_cache(const std::string& path, const std::string& key,
                            const ImageTextDataset& dataset) {
  const at::Tensor images = dataset.images.contiguous();
  TORCH_INTERNAL_ASSERT(images.dim() == 4 && images.scalar_type() == torch::kUInt8);
  const int64_t n = images.size(0);
  TORCH_INTERNAL_ASSERT(static_cast<int64_t>(dataset.captions.size()) == n &&
                        static_cast<int64_t>(dataset.ids.size()) == n && dataset.labels.numel() == n);
  nlohmann::json header;
  header["key"] = key;
  header["shape"] = {n, images.size(1), images.size(2), images.size(3)};
  header["captions"] = dataset.captions;
  const at::Tensor labels = dataset.labels.to(torch::kInt64).contiguous();
  header["labels"] = std::vector<int64_t>(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + n);
  header["class_names"] = dataset.class_names;
  header["ids"] = dataset.ids;
  const std::string text = header.dump();
  const auto image_bytes = static_cast<size_t>(images.numel());
  std::string out;
  out.reserve(8 + 8 + text.size() + 8 + image_bytes + 4);
  out.append(kCacheMagic, 8);
  cache_put_u64(out, text.size());
  out += text;
  cache_put_u64(out, image_bytes);
  out.append(reinterpret_cast<const char*>(images.data_ptr<uint8_t>()), image_bytes);
  const uint32_t crc = cache_crc(out.data(), out.size());
  char b[4];
  std::memcpy(b, &crc, 4);
  out.append(b, 4);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  CONTRA_CHECK(!ec, "cannot create the cache folder '", fs::path(path).parent_path().string(), "': ", ec.message());
  write_file_atomically(path, out);
}

std::optional<ImageTextDataset> read_image_text_cache(const std::string& path,
                                                      const std::string& key) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec || size < 8 + 8 + 8 + 4 || size > (uintmax_t{1} << 40)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return std::nullopt;
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) return std::nullopt;
  if (bytes.size() < 8 + 8 + 8 + 4 || std::memcmp(bytes.data(), kCacheMagic, 8) != 0) return std::nullopt;
  uint32_t stored_crc = 0;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
  if (cache_crc(bytes.data(), bytes.size() - 4) != stored_crc) return std::nullopt;
  size_t at = 8;
  uint64_t header_len = 0, image_len = 0;
  if (!cache_get_u64(bytes, at, header_len) || header_len > bytes.size() - at) return std::nullopt;
  const std::string_view header_text(bytes.data() + at, static_cast<size_t>(header_len));
  at += static_cast<size_t>(header_len);
  if (!cache_get_u64(bytes, at, image_len) || image_len != bytes.size() - 4 - at) return std::nullopt;
  try {
    const auto header = nlohmann::json::parse(header_text);
    if (header.at("key").get<std::string>() != key) return std::nullopt;
    const auto shape = header.at("shape").get<std::vector<int64_t>>();
    if (shape.size() != 4) return std::nullopt;
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d < 0 || d > (int64_t{1} << 31)) return std::nullopt;
      numel *= d;
    }
    if (static_cast<uint64_t>(numel) != image_len) return std::nullopt;
    const int64_t n = shape[0];
    ImageTextDataset ds;
    ds.captions = header.at("captions").get<std::vector<std::vector<std::string>>>();
    const auto labels = header.at("labels").get<std::vector<int64_t>>();
    ds.class_names = header.at("class_names").get<std::vector<std::string>>();
    ds.ids = header.at("ids").get<std::vector<std::string>>();
    if (static_cast<int64_t>(ds.captions.size()) != n || static_cast<int64_t>(labels.size()) != n ||
        static_cast<int64_t>(ds.ids.size()) != n) {
      return std::nullopt;
    }
    for (const auto& caps : ds.captions) {
      if (caps.empty()) return std::nullopt;
      for (const auto& c : caps)
        if (c.empty()) return std::nullopt;
    }
    const auto classes = static_cast<int64_t>(ds.class_names.size());
    for (int64_t l : labels)
      if (l < -1 || l >= classes) return std::nullopt;
    ds.labels = torch::tensor(labels, torch::kInt64);
    if (n == 0) ds.labels = torch::empty({0}, torch::kInt64);
    ds.images = torch::empty(shape, torch::kUInt8);
    std::memcpy(ds.images.data_ptr<uint8_t>(), bytes.data() + at, static_cast<size_t>(image_len));
    return ds;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace contra::data
