#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "contra/core/error.h"
#include "contra/data/image_folder.h"
#include "data_test_util.h"

#include <stb/stb_image_write.h>  // implementation: tests/support/stb_image_write_impl.cpp

namespace {

namespace fs = std::filesystem;
using contra::data::ImageFolderOptions;
using contra::data::load_image_folder;
using namespace contra::data::datatest;

/// Interleaved w x h x c pixels, filled by f(x, y, ch).
template <class F>
Bytes make_pixels(int w, int h, int c, F f) {
  Bytes p(static_cast<size_t>(w) * h * c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) p[(static_cast<size_t>(y) * w + x) * c + ch] = f(x, y, ch);
  return p;
}

Bytes solid(int w, int h, std::array<uint8_t, 3> rgb) {
  return make_pixels(w, h, 3, [&](int, int, int ch) { return rgb[ch]; });
}

void write_png(const std::string& path, int w, int h, int c, const Bytes& px) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, c, px.data(), w * c), 0) << path;
}
void write_bmp(const std::string& path, int w, int h, int c, const Bytes& px) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_NE(stbi_write_bmp(path.c_str(), w, h, c, px.data()), 0) << path;
}
void write_jpg(const std::string& path, int w, int h, int c, const Bytes& px) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_NE(stbi_write_jpg(path.c_str(), w, h, c, px.data(), 95), 0) << path;
}

ImageFolderOptions opts(int64_t size, int64_t channels, int64_t limit = 0) {
  ImageFolderOptions o;
  o.size = size;
  o.channels = channels;
  o.limit = limit;
  return o;
}

/// Expects every pixel of image [C, S, S] to equal rgb (first C entries), within tol.
void expect_solid(const at::Tensor& img, std::vector<int> rgb, int tol = 0) {
  for (int64_t ch = 0; ch < img.size(0); ++ch) {
    const at::Tensor plane = img[ch].to(torch::kInt32);
    EXPECT_LE(plane.min().item<int>(), rgb[ch] + tol) << "channel " << ch;
    EXPECT_GE(plane.min().item<int>(), rgb[ch] - tol) << "channel " << ch;
    EXPECT_LE(plane.max().item<int>(), rgb[ch] + tol) << "channel " << ch;
    EXPECT_GE(plane.max().item<int>(), rgb[ch] - tol) << "channel " << ch;
  }
}

/// stb_image's RGB -> luma conversion.
int luma(int r, int g, int b) { return (r * 77 + g * 150 + 29 * b) >> 8; }

/// root/cats: red 40x20 PNG, blue 17x33 BMP; root/dogs: gray 8x8 1-channel PNG, green 3x5 PNG.
/// Plus things to ignore: a text file, a hidden folder, a loose file in root.
void make_tree(const TempDir& root) {
  write_png(root.file("cats/a_red.png"), 40, 20, 3, solid(40, 20, {200, 30, 60}));
  write_bmp(root.file("cats/b_blue.BMP"), 17, 33, 3, solid(17, 33, {10, 20, 250}));
  write_png(root.file("dogs/a_gray.png"), 8, 8, 1, Bytes(64, 77));
  write_png(root.file("dogs/b_green.png"), 3, 5, 3, solid(3, 5, {0, 255, 0}));
  write_raw(root.file("dogs/notes.txt"), {'h', 'i'});
  write_png(root.file(".hidden/x.png"), 4, 4, 3, solid(4, 4, {1, 2, 3}));
  write_png(root.file("loose.png"), 4, 4, 3, solid(4, 4, {1, 2, 3}));
}

TEST(ImageFolder, ShapesLabelsClassNames) {
  TempDir root;
  make_tree(root);
  const auto ds = load_image_folder(root.path().string(), opts(16, 3));
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{4, 3, 16, 16}));
  EXPECT_EQ(ds.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(ds.images.is_contiguous());
  EXPECT_EQ(ds.labels.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(ds.labels, torch::tensor({0, 0, 1, 1}, torch::kInt64)));
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"cats", "dogs"}));
  EXPECT_EQ(ds.size(), 4);
}

TEST(ImageFolder, ConstantColourSurvivesResizeRgb) {
  TempDir root;
  make_tree(root);
  const auto ds = load_image_folder(root.path().string(), opts(16, 3));
  expect_solid(ds.images[0], {200, 30, 60});   // 40x20 -> downscale
  expect_solid(ds.images[1], {10, 20, 250});   // 17x33 BMP, non-integer scale
  expect_solid(ds.images[2], {77, 77, 77});    // gray source expanded to RGB
  expect_solid(ds.images[3], {0, 255, 0});     // 3x5 -> upscale
}

TEST(ImageFolder, GrayscaleConversion) {
  TempDir root;
  make_tree(root);
  const auto ds = load_image_folder(root.path().string(), opts(7, 1));
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{4, 1, 7, 7}));
  expect_solid(ds.images[0], {luma(200, 30, 60)});
  expect_solid(ds.images[1], {luma(10, 20, 250)});
  expect_solid(ds.images[2], {77});
  expect_solid(ds.images[3], {luma(0, 255, 0)});
  EXPECT_NE(luma(200, 30, 60), 200);  // really converted, not a channel picked
}

TEST(ImageFolder, LargeDownscaleAveragesAreas) {
  TempDir root;
  // 256x128: left half black, right half white. Shorter side 128 -> 8 (factor 16); the centre
  // 128x128 crop spans columns 64..191, whose boundary at 128 falls exactly between outputs 3|4.
  write_png(root.file("c/split.png"), 256, 128, 1,
            make_pixels(256, 128, 1, [](int x, int, int) { return x < 128 ? 0 : 255; }));
  // A fine checkerboard averages to mid grey (a point sampler would alias to 0 or 255).
  write_png(root.file("c/z_checker.png"), 160, 160, 1,
            make_pixels(160, 160, 1, [](int x, int y, int) { return (x + y) % 2 ? 255 : 0; }));
  const auto ds = load_image_folder(root.path().string(), opts(8, 1));
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{2, 1, 8, 8}));
  const at::Tensor split = ds.images[0][0];
  EXPECT_EQ(split.narrow(1, 0, 4).max().item<int>(), 0);
  EXPECT_EQ(split.narrow(1, 4, 4).min().item<int>(), 255);
  expect_solid(ds.images[1], {128}, 1);
}

TEST(ImageFolder, CentreCropOfTallImage) {
  TempDir root;
  // 10x30: top third red, middle green, bottom blue -> the centre square is all green.
  write_png(root.file("c/tall.png"), 10, 30, 3, make_pixels(10, 30, 3, [](int, int y, int ch) {
              return (y / 10 == ch) ? 255 : 0;
            }));
  const auto ds = load_image_folder(root.path().string(), opts(5, 3));
  expect_solid(ds.images[0], {0, 255, 0});
  // Upscaling the same crop keeps it green too (bilinear never reaches outside the crop).
  expect_solid(load_image_folder(root.path().string(), opts(40, 3)).images[0], {0, 255, 0});
}

TEST(ImageFolder, JpegAndLimit) {
  TempDir root;
  write_jpg(root.file("a/one.jpg"), 24, 24, 3, solid(24, 24, {120, 60, 30}));
  write_jpg(root.file("a/two.jpeg"), 30, 20, 3, solid(30, 20, {120, 60, 30}));
  write_png(root.file("b/three.png"), 9, 9, 3, solid(9, 9, {1, 2, 3}));
  const auto all = load_image_folder(root.path().string(), opts(12, 3));
  ASSERT_EQ(all.size(), 3);
  expect_solid(all.images[0], {120, 60, 30}, 3);  // JPEG is lossy
  expect_solid(all.images[1], {120, 60, 30}, 3);
  const auto two = load_image_folder(root.path().string(), opts(12, 3, 2));
  ASSERT_EQ(two.images.sizes(), (std::vector<int64_t>{2, 3, 12, 12}));
  EXPECT_TRUE(torch::equal(two.images, all.images.narrow(0, 0, 2)));
  EXPECT_EQ(two.class_names, (std::vector<std::string>{"a", "b"}));
}

TEST(ImageFolder, CorruptImageNamesTheFile) {
  TempDir root;
  make_tree(root);
  const std::string bad = root.file("dogs/c_bad.png");
  write_raw(bad, {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
  expect_error_parts([&] { load_image_folder(root.path().string(), opts(8, 3)); }, {bad, "image"});
}

TEST(ImageFolder, TruncatedPngNamesTheFile) {
  TempDir root;
  Bytes px(64 * 64 * 3);
  std::mt19937 rng(3);
  for (auto& b : px) b = static_cast<uint8_t>(rng());
  write_png(root.file("c/full.png"), 64, 64, 3, px);
  const Bytes png = read_all(root.file("c/full.png"));
  const std::string cut = root.file("c/cut.png");
  write_raw(cut, Bytes(png.begin(), png.begin() + png.size() / 2));
  fs::remove(root.file("c/full.png"));
  expect_error_parts([&] { load_image_folder(root.path().string(), opts(8, 3)); },
               {cut, "corrupt"});
  // An empty file with an image name.
  fs::remove(cut);
  write_raw(root.file("c/empty.bmp"), {});
  expect_error_parts([&] { load_image_folder(root.path().string(), opts(8, 3)); },
               {root.file("c/empty.bmp"), "empty"});
}

TEST(ImageFolder, ManyImagesKeepOrderAndReportCorruptOne) {
  TempDir root;
  // Enough files for several parallel chunks; colour encodes the position.
  for (int i = 0; i < 40; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "%s/img%02d.png", i < 25 ? "a" : "b", i);
    const uint8_t v = static_cast<uint8_t>(i * 6);
    write_png(root.file(name), 10 + i, 12, 3, solid(10 + i, 12, {v, static_cast<uint8_t>(255 - v), 7}));
  }
  const auto ds = load_image_folder(root.path().string(), opts(6, 3));
  ASSERT_EQ(ds.size(), 40);
  for (int i = 0; i < 40; ++i) {
    expect_solid(ds.images[i], {i * 6, 255 - i * 6, 7});
    EXPECT_EQ(ds.labels[i].item<int64_t>(), i < 25 ? 0 : 1) << i;
  }
  const std::string bad = root.file("b/img33.png");
  write_raw(bad, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0});
  expect_error_parts([&] { load_image_folder(root.path().string(), opts(6, 3)); }, {bad});
}

TEST(ImageFolder, MissingOrEmptyRoot) {
  TempDir root;
  const std::string missing = root.file("nothing-here");
  expect_error_parts([&] { load_image_folder(missing, opts(8, 3)); }, {missing, "not found"});
  write_raw(root.file("file"), {1});
  expect_error_parts([&] { load_image_folder(root.file("file"), opts(8, 3)); },
               {root.file("file"), "not a directory"});
  TempDir empty;
  expect_error_parts([&] { load_image_folder(empty.path().string(), opts(8, 3)); },
               {empty.path().string(), "no class folders"});
  fs::create_directories(empty.path() / "cls");
  write_raw(empty.file("cls/readme.txt"), {'x'});
  expect_error_parts([&] { load_image_folder(empty.path().string(), opts(8, 3)); },
               {empty.path().string(), "no images"});
}

TEST(ImageFolder, BadOptions) {
  TempDir root;
  make_tree(root);
  expect_error_parts([&] { load_image_folder(root.path().string(), opts(8, 2)); },
               {"channels must be 1 or 3"});
  expect_error_parts([&] { load_image_folder(root.path().string(), opts(0, 3)); }, {"size"});
}

}  // namespace

// Found by fuzz/fuzz_image (UBSan in stb_image 2.27's stbi__build_huffman): a DHT table whose
// 16 code counts sum past 256 wrote past stb's Huffman arrays. The reader now refuses it first.
// fuzz_image found a 346-byte JPEG whose frame header says 12800 x 17936 pixels: stb decoded the
// missing data as zeros for minutes. A file too small for the pixels it claims is refused.
TEST(ImageFolder, HeaderClaimingMorePixelsThanTheFileHoldsIsRefused) {
  TempDir root;
  fs::create_directories(root.path() / "a");
  const std::string path = root.file("a/huge.jpg");
  write_jpg(path, 16, 16, 3, solid(16, 16, {10, 20, 30}));
  std::ifstream in(path, std::ios::binary);
  Bytes jpg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  size_t sof = 0;
  for (size_t i = 0; i + 8 < jpg.size() && sof == 0; ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) sof = i;
  ASSERT_GT(sof, 0u) << "no baseline frame header";
  // Height and width: 12800 x 12800 (big-endian 0x3200 each).
  jpg[sof + 5] = 0x32, jpg[sof + 6] = 0x00, jpg[sof + 7] = 0x32, jpg[sof + 8] = 0x00;
  write_raw(path, jpg);
  expect_error_parts([&] { load_image_folder(root.path().string(), opts(8, 3)); },
                     {path, "corrupt image (its header says 12800x12800 pixels;", "bytes hold at most"});
}

TEST(ImageFolder, JpegHuffmanTableOverflowIsRefused) {
  TempDir root;
  Bytes jpg = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 'J', 'F',  // SOI, a short APP0
               0xFF, 0xC4, 0x00, 0x13, 0x00};                 // DHT, 19 bytes, table 0
  for (int i = 0; i < 16; ++i) jpg.push_back(0xFF);            // 16 x 255 = 4080 codes
  for (int i = 0; i < 64; ++i) jpg.push_back(static_cast<uint8_t>(i));
  fs::create_directories(root.path() / "a");
  const std::string bad = root.file("a/bad.jpg");
  write_raw(bad, jpg);
  expect_error_parts([&] { load_image_folder(root.path().string(), opts(8, 3)); },
               {bad, "corrupt JPEG (a Huffman table declares more than 256 codes)"});
}
