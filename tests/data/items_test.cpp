// Streamed items for contra embed: IDX files item by item, image folders (class folders or flat),
// text and pairs files line by line, and the specs' bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "contra/data/idx.h"
#include "contra/data/items.h"
#include "data_test_util.h"

#include <stb/stb_image_write.h>  // implementation: tests/support/stb_image_write_impl.cpp

namespace {

using contra::data::ItemChunk;
using contra::data::ItemStreamOptions;
using contra::data::open_items;
using namespace contra::data::datatest;

/// Every chunk of a stream, `step` items at a time.
std::vector<ItemChunk> items_drain(const std::string& spec, const ItemStreamOptions& o, int64_t step) {
  auto s = open_items(spec, o);
  std::vector<ItemChunk> out;
  ItemChunk c;
  while (s->next(step, c)) out.push_back(c);
  return out;
}

void items_write_text(const std::string& path, const std::string& body) {
  std::ofstream(path, std::ios::binary) << body;
}

}  // namespace

TEST(Items, IdxStreamsChunksThatReassembleTheFile) {
  TempDir dir;
  const Bytes px = iota_bytes(7 * 28 * 28, 3);
  write_gz(dir.file("img.gz"), idx_bytes({7, 28, 28}, px));
  write_raw(dir.file("lab"), idx_bytes({7}, {0, 1, 2, 3, 4, 5, 6}));
  const auto whole = contra::data::read_idx(dir.file("img.gz"));
  const auto chunks = items_drain("idx:" + dir.file("img.gz") + "," + dir.file("lab"), {}, 3);
  ASSERT_EQ(chunks.size(), 3u);  // 3 + 3 + 1
  EXPECT_EQ(chunks[2].size(), 1);
  std::vector<torch::Tensor> parts;
  for (const auto& c : chunks) parts.push_back(c.images);
  EXPECT_TRUE(torch::equal(torch::cat(parts), whole.unsqueeze(1)));
  EXPECT_EQ(chunks[1].info[2].id, "5");
  EXPECT_EQ(chunks[1].info[2].label, 5);
  // Without labels: -1.
  EXPECT_EQ(items_drain("idx:" + dir.file("img.gz"), {}, 10)[0].info[6].label, -1);
}

TEST(Items, IdxBadInput) {
  TempDir dir;
  write_raw(dir.file("img"), idx_bytes({2, 28, 28}, iota_bytes(2 * 28 * 28)));
  write_raw(dir.file("short"), idx_bytes({3, 28, 28}, iota_bytes(2 * 28 * 28)));
  write_raw(dir.file("lab3"), idx_bytes({3}, {0, 1, 2}));
  write_raw(dir.file("small"), idx_bytes({2, 14, 14}, iota_bytes(2 * 14 * 14)));
  expect_error_parts([&] { items_drain("idx:" + dir.file("img") + "," + dir.file("lab3"), {}, 8); },
                     {"count mismatch", "has 2 images but", "has 3 labels"});
  expect_error_parts([&] { items_drain("idx:" + dir.file("short"), {}, 8); },
                     {"short", "truncated", "says 3 items", "ends at item 2"});
  expect_error_parts([&] { items_drain("idx:" + dir.file("small"), {}, 8); },
                     {"images are 14x14 with 1 channel(s); the encoder takes 28x28 with 1"});
}

TEST(Items, ImageFoldersWithClassesOrFlat) {
  TempDir dir;
  const Bytes px(16 * 16 * 3, 128);
  std::filesystem::create_directories(dir.file("cls/b"));
  std::filesystem::create_directories(dir.file("cls/a"));
  std::filesystem::create_directories(dir.file("flat"));
  for (const char* f : {"cls/a/1.png", "cls/a/2.png", "cls/b/3.png", "flat/x.png", "flat/y.png"})
    ASSERT_NE(stbi_write_png(dir.file(f).c_str(), 16, 16, 3, px.data(), 16 * 3), 0);
  ItemStreamOptions o;
  o.channels = 3;
  o.size = 8;
  auto s = open_items("folder:" + dir.file("cls"), o);
  EXPECT_EQ(s->size(), 3);
  EXPECT_EQ(s->class_names(), (std::vector<std::string>{"a", "b"}));
  const auto chunks = items_drain("folder:" + dir.file("cls"), o, 2);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].images.sizes(), torch::IntArrayRef({2, 3, 8, 8}));
  EXPECT_EQ(chunks[1].info[0].id, "b/3.png");
  EXPECT_EQ(chunks[1].info[0].label, 1);
  const auto flat = items_drain("folder:" + dir.file("flat"), o, 8);
  ASSERT_EQ(flat.size(), 1u);
  EXPECT_EQ(flat[0].info[1].id, "y.png");
  EXPECT_EQ(flat[0].info[1].label, -1);
  std::ofstream(dir.file("flat/z.png")) << "not an image";
  expect_error_parts([&] { items_drain("folder:" + dir.file("flat"), o, 8); }, {"z.png", "not a readable"});
}

TEST(Items, TextAndPairsLineByLine) {
  TempDir dir;
  items_write_text(dir.file("corpus.txt"), "first text\n\n  \nsecond text\r\nthird\n");
  items_write_text(dir.file("pairs.tsv"), "a1\tp1\tn1\n\na2\tp2\tn2\n");
  const auto c = items_drain("text:" + dir.file("corpus.txt"), {}, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].texts, (std::vector<std::string>{"first text", "second text"}));
  EXPECT_EQ(c[0].info[1].id, "line 4");
  EXPECT_EQ(c[1].texts, (std::vector<std::string>{"third"}));
  ItemStreamOptions o;
  o.pairs_column = 2;
  EXPECT_EQ(items_drain("pairs:" + dir.file("pairs.tsv"), o, 8)[0].texts, (std::vector<std::string>{"p1", "p2"}));
  o.pairs_column = 3;
  EXPECT_EQ(items_drain("pairs:" + dir.file("pairs.tsv"), o, 8)[0].texts, (std::vector<std::string>{"n1", "n2"}));
  items_write_text(dir.file("bad.tsv"), "a\tb\nc\t\n");
  expect_error_parts([&] { items_drain("pairs:" + dir.file("bad.tsv"), {}, 8); }, {"bad.tsv:2", "column 2 is empty"});
  items_write_text(dir.file("empty.txt"), "\n \n");
  expect_error_parts([&] { items_drain("text:" + dir.file("empty.txt"), {}, 8); }, {"empty.txt", "has no text"});
}

TEST(Items, BadSpecs) {
  expect_error_parts([] { open_items("fashion_mnist", {}); }, {"expected KIND:WHAT"});
  expect_error_parts([] { open_items("fashion_mnist:val", {}); }, {"the split is train or test"});
  expect_error_parts([] { open_items("csv:x", {}); }, {"unknown kind 'csv'"});
  expect_error_parts([] { open_items("text:/no/such.txt", {}); }, {"cannot read text file '/no/such.txt'"});
  expect_error_parts([] { open_items("folder:/no/such", {}); }, {"/no/such", "not found"});
  expect_error_parts([] { open_items("idx:/no/such", {}); }, {"/no/such", "file not found"});
}
