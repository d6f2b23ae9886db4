#include <gtest/gtest.h>
#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/data/idx.h"
#include "data_test_util.h"

namespace {

using contra::data::read_idx;
using namespace contra::data::datatest;

TEST(Idx, ReadsRawThreeDims) {
  TempDir dir;
  const std::string path = dir.file("images-idx3-ubyte");
  write_raw(path, idx_bytes({2, 3, 4}, iota_bytes(24, 5)));
  const at::Tensor t = read_idx(path);
  ASSERT_EQ(t.scalar_type(), torch::kUInt8);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t[0][0][0].item<int64_t>(), 5);
  EXPECT_EQ(t[1][2][3].item<int64_t>(), 5 + 23);
  EXPECT_EQ(t[1][0][1].item<int64_t>(), 5 + 13);
}

TEST(Idx, ReadsGzipOneDimRegardlessOfName) {
  TempDir dir;
  // The name has no .gz: gzip is detected from the content.
  const std::string path = dir.file("labels-idx1-ubyte");
  const Bytes payload = iota_bytes(300, 200);  // wraps around 255
  write_gz(path, idx_bytes({300}, payload));
  ASSERT_EQ(read_all(path).at(0), 0x1f);
  const at::Tensor t = read_idx(path);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{300}));
  for (int i = 0; i < 300; ++i) ASSERT_EQ(t[i].item<int64_t>(), payload[i]) << i;
}

TEST(Idx, GzipAndRawAgreeOnLargerPayload) {
  TempDir dir;
  // Bigger than the reader's first 1 MiB chunk so the growing buffer is exercised.
  Bytes payload(3 * 1000 * 1000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>((i * 7919) >> 3);
  const Bytes file = idx_bytes({3, 1000, 1000}, payload);
  write_raw(dir.file("a"), file);
  write_gz(dir.file("a.gz"), file);
  const at::Tensor raw = read_idx(dir.file("a"));
  const at::Tensor gz = read_idx(dir.file("a.gz"));
  ASSERT_EQ(raw.sizes(), (std::vector<int64_t>{3, 1000, 1000}));
  EXPECT_TRUE(torch::equal(raw, gz));
  EXPECT_EQ(raw[2][999][999].item<int64_t>(), payload.back());
}

TEST(Idx, MissingFile) {
  TempDir dir;
  const std::string path = dir.file("nope-idx3-ubyte.gz");
  expect_error_parts([&] { read_idx(path); }, {path, "not found"});
}

TEST(Idx, EmptyAndShortFiles) {
  TempDir dir;
  write_raw(dir.file("empty"), {});
  expect_error_parts([&] { read_idx(dir.file("empty")); }, {dir.file("empty"), "too short"});
  write_raw(dir.file("short"), {0, 0, 8, 3, 0, 0});
  expect_error_parts([&] { read_idx(dir.file("short")); },
               {dir.file("short"), "truncated", "inside the header"});
}

TEST(Idx, BadMagic) {
  TempDir dir;
  const std::string path = dir.file("notidx");
  write_raw(path, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  expect_error_parts([&] { read_idx(path); }, {path, "bad magic number 0x68656C6C", "IDX"});
  // Also through gzip.
  write_gz(path + ".gz", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  expect_error_parts([&] { read_idx(path + ".gz"); }, {path + ".gz", "bad magic"});
}

TEST(Idx, UnsupportedType) {
  TempDir dir;
  const std::string path = dir.file("floats");
  write_raw(path, idx_bytes({2}, Bytes(8, 0), 0x0D));
  expect_error_parts([&] { read_idx(path); },
               {path, "unsupported data type 0x0D", "float32", "only unsigned byte"});
}

TEST(Idx, ZeroAndAbsurdDimensions) {
  TempDir dir;
  write_raw(dir.file("zerodims"), {0, 0, 8, 0});
  expect_error_parts([&] { read_idx(dir.file("zerodims")); }, {"dimension count 0"});
  write_raw(dir.file("zerosize"), idx_bytes({5, 0, 28}, {}));
  expect_error_parts([&] { read_idx(dir.file("zerosize")); }, {dir.file("zerosize"), "dimension 1 is zero"});
  // 4e9 x 4e9 x 4e9 with a tiny payload: must be refused before any allocation.
  write_raw(dir.file("huge"), idx_bytes({4000000000u, 4000000000u, 4000000000u}, {1, 2, 3}));
  expect_error_parts([&] { read_idx(dir.file("huge")); }, {dir.file("huge"), "absurd"});
  write_raw(dir.file("big"), idx_bytes({60000, 60000, 60000}, {1, 2, 3}));
  expect_error_parts([&] { read_idx(dir.file("big")); }, {dir.file("big"), "absurd dimensions"});
  // Same through gzip (unknown size up front).
  write_gz(dir.file("big.gz"), idx_bytes({1000000, 1000, 10}, {1, 2, 3}));
  expect_error_parts([&] { read_idx(dir.file("big.gz")); },
               {dir.file("big.gz"), "truncated", "1000000x1000x10 = 10000000000 bytes",
                "only 3 follow"});
}

TEST(Idx, TruncatedPayload) {
  TempDir dir;
  const Bytes file = idx_bytes({60, 28, 28}, iota_bytes(1000));
  write_raw(dir.file("raw"), file);
  expect_error_parts([&] { read_idx(dir.file("raw")); },
               {dir.file("raw"), "truncated: header says 60x28x28 = 47040 bytes but only 1000 follow"});
  // A complete gzip stream whose content is short: the IDX payload is what is truncated.
  write_gz(dir.file("gz"), file);
  expect_error_parts([&] { read_idx(dir.file("gz")); },
               {dir.file("gz"), "truncated: header says 60x28x28 = 47040 bytes but only 1000 follow"});
}

TEST(Idx, TrailingBytes) {
  TempDir dir;
  write_raw(dir.file("raw"), idx_bytes({4}, iota_bytes(10)));
  expect_error_parts([&] { read_idx(dir.file("raw")); }, {dir.file("raw"), "4 bytes but 6 extra"});
  write_gz(dir.file("gz"), idx_bytes({4}, iota_bytes(10)));
  expect_error_parts([&] { read_idx(dir.file("gz")); }, {dir.file("gz"), "4 bytes but 6 extra"});
}

TEST(Idx, GzipCutInHalf) {
  TempDir dir;
  Bytes payload(20000);
  std::mt19937 rng(1);
  for (auto& b : payload) b = static_cast<uint8_t>(rng() & 0x3f);  // poorly compressible
  write_gz(dir.file("full.gz"), idx_bytes({20, 1000}, payload));
  const Bytes gz = read_all(dir.file("full.gz"));
  ASSERT_GT(gz.size(), 1000u);
  write_raw(dir.file("half.gz"), Bytes(gz.begin(), gz.begin() + gz.size() / 2));
  expect_error_parts([&] { read_idx(dir.file("half.gz")); },
               {dir.file("half.gz"), "truncated gzip stream", "download it again"});
  // Only the trailer (CRC + size) missing: all data arrives but the stream is incomplete.
  write_raw(dir.file("notrailer.gz"), Bytes(gz.begin(), gz.end() - 8));
  expect_error_parts([&] { read_idx(dir.file("notrailer.gz")); },
               {dir.file("notrailer.gz"), "truncated gzip stream"});
  // Just the magic.
  write_raw(dir.file("magic.gz"), {0x1f, 0x8b});
  expect_error_parts([&] { read_idx(dir.file("magic.gz")); }, {dir.file("magic.gz"), "gzip"});
}

TEST(Idx, GzipCorrupt) {
  TempDir dir;
  // Garbage after the gzip magic.
  write_raw(dir.file("garbage.gz"), {0x1f, 0x8b, 'g', 'a', 'r', 'b', 'a', 'g', 'e', '!', '!', '!',
                                     1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  expect_error_parts([&] { read_idx(dir.file("garbage.gz")); },
               {dir.file("garbage.gz"), "corrupt gzip stream"});
  // A flipped byte inside the deflate data or the CRC.
  write_gz(dir.file("ok.gz"), idx_bytes({5000}, iota_bytes(5000)));
  Bytes gz = read_all(dir.file("ok.gz"));
  gz[gz.size() - 6] ^= 0xff;  // inside the CRC32 trailer
  write_raw(dir.file("badcrc.gz"), gz);
  expect_error_parts([&] { read_idx(dir.file("badcrc.gz")); },
               {dir.file("badcrc.gz"), "corrupt gzip stream", "incorrect data check"});
}

}  // namespace
