// The image-text manifest reader (open_clip's CSV/TSV convention): columns by name, quoted
// fields, several captions per image, labels, paths relative to the manifest; every bad input is
// one contra::Error naming the file and line. And the seeded split by image.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "../support/expect_error.h"
#include "contra/data/image_text_split.h"
#include "contra/data/manifest.h"
#include "data_test_util.h"

#include <stb/stb_image_write.h>  // implementation: tests/support/stb_image_write_impl.cpp

namespace {

namespace fs = std::filesystem;
using namespace contra::data;
using contra::test_support::expect_error;

/// A w x w RGB PNG of one grey level at `path`.
void manifest_png(const fs::path& path, int w, uint8_t level) {
  fs::create_directories(path.parent_path());
  std::vector<uint8_t> px(size_t(w) * w * 3, level);
  ASSERT_NE(stbi_write_png(path.c_str(), w, w, 3, px.data(), w * 3), 0) << path;
}

std::string manifest_file(const fs::path& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

ManifestOptions manifest_options_8px() {
  ManifestOptions o;
  o.size = 8;
  return o;
}

}  // namespace

TEST(Manifest, ReadsQuotedCsvWithSeveralCaptionsPerImage) {
  datatest::TempDir dir;
  manifest_png(dir.path() / "img" / "a.png", 10, 10);
  manifest_png(dir.path() / "img" / "b.png", 12, 200);
  // A byte order mark; quoted fields: a comma, a doubled quote, a line break; CRLF line ends; an
  // empty line; extra columns; the same image on two rows (one written as ./img/a.png).
  const std::string csv =
      "\xEF\xBB\xBFid,title,filepath,kind\r\n"
      "1,\"a dog, sitting\",img/a.png,dog\r\n"
      "2,\"the \"\"best\"\" cat\",img/b.png,cat\r\n"
      "\r\n"
      "3,\"a dog\non two lines\",./img/a.png,dog\r\n";
  auto o = manifest_options_8px();
  o.label_column = "kind";
  auto d = read_image_text_manifest(manifest_file(dir.path(), "pairs.csv", csv), o);
  ASSERT_EQ(d.size(), 2);
  EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
  EXPECT_EQ(d.images[0].max().item<int>(), 10);
  EXPECT_EQ(d.images[1].min().item<int>(), 200);
  ASSERT_EQ(d.captions[0].size(), 2u);
  EXPECT_EQ(d.captions[0][0], "a dog, sitting");
  EXPECT_EQ(d.captions[0][1], "a dog\non two lines");
  EXPECT_EQ(d.captions[1], std::vector<std::string>{"the \"best\" cat"});
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));  // sorted
  EXPECT_EQ(d.labels[0].item<int64_t>(), 1);
  EXPECT_EQ(d.labels[1].item<int64_t>(), 0);
  EXPECT_EQ(d.ids[0], (dir.path() / "img" / "a.png").string());
}

TEST(Manifest, ReadsTsvWithOtherColumnNamesAndNoLabels) {
  datatest::TempDir dir;
  manifest_png(dir.path() / "x.png", 8, 1);
  manifest_png(dir.path() / "y.png", 8, 2);
  const std::string tsv = "image\tcaption\nx.png\tfirst, with a comma\ny.png\t  second  \n" +
                          ("/" + (dir.path() / "x.png").relative_path().string()) + "\tthird\n";
  auto o = manifest_options_8px();
  o.image_column = "image";
  o.caption_column = "caption";
  o.channels = 1;
  auto d = read_image_text_manifest(manifest_file(dir.path(), "m.tsv", tsv), o);
  ASSERT_EQ(d.size(), 2);  // the absolute path is x.png again
  EXPECT_EQ(d.images.size(1), 1);
  EXPECT_EQ(d.captions[0], (std::vector<std::string>{"first, with a comma", "third"}));
  EXPECT_EQ(d.captions[1], std::vector<std::string>{"second"});  // trimmed
  EXPECT_TRUE(d.class_names.empty());
  EXPECT_TRUE((d.labels == -1).all().item<bool>());
  // The separator by name, whatever the extension.
  o.separator = ManifestSeparator::kTab;
  EXPECT_EQ(read_image_text_manifest(manifest_file(dir.path(), "m.txt", tsv), o).size(), 2);
}

TEST(Manifest, BadInputsNameTheFileAndLine) {
  datatest::TempDir dir;
  manifest_png(dir.path() / "a.png", 8, 5);
  std::ofstream(dir.path() / "broken.png", std::ios::binary) << "not an image at all";
  const auto o = manifest_options_8px();
  auto m = [&](const std::string& name, const std::string& text) { return manifest_file(dir.path(), name, text); };
  struct Case {
    std::string path, message;
  };
  const std::string missing = m("missing.csv", "filepath,title\na.png,ok\nnope.png,a caption\n");
  const std::string no_col = m("nocol.csv", "path,title\na.png,x\n");
  const std::string empty_cap = m("emptycap.csv", "filepath,title\na.png,fine\na.png,\"  \"\n");
  const std::string corrupt = m("corrupt.csv", "filepath,title\na.png,x\nbroken.png,y\n");
  const std::string fields = m("fields.csv", "filepath,title\na.png,a dog, sitting\n");
  const std::string quote = m("quote.csv", "filepath,title\na.png,x\na.png,\"never closed\n\n");
  const std::string no_rows = m("header.csv", "filepath,title\n");
  const std::string ext = m("pairs.dat", "filepath,title\na.png,x\n");
  const std::vector<Case> cases = {
      {missing, missing + ":3: image file '" + (dir.path() / "nope.png").string() + "' not found"},
      {no_col, no_col + ":1: the header has no column 'filepath' (its columns: 'path', 'title'); set data.image_column"},
      {empty_cap, empty_cap + ":3: empty caption (column 'title')"},
      {corrupt, corrupt + ":3: " + (dir.path() / "broken.png").string() + ": not a readable PNG/JPEG/BMP image"},
      {fields, fields + ":2: expected 2 fields (as the header), got 3 (quote fields that hold commas"},
      {quote, quote + ":3: a quoted field is never closed"},
      {no_rows, no_rows + ": no rows after the header"},
      {dir.file("absent.csv"), dir.file("absent.csv") + ": manifest not found"},
      {dir.path().string() + "/", "a directory, not a manifest file"},
      {ext, ext + ": cannot tell the separator from the extension '.dat'"},
  };
  for (const auto& c : cases) expect_error([&] { read_image_text_manifest(c.path, o); }, c.message);
  auto labelled = o;
  labelled.label_column = "kind";
  const std::string clash = m("clash.csv", "filepath,title,kind\na.png,x,dog\na.png,y,cat\n");
  expect_error([&] { read_image_text_manifest(clash, labelled); },
               clash + ":3: image 'a.png' has label 'cat' here but 'dog' on line 2");
  const std::string bad_utf8 = m("utf.csv", "filepath,title\na.png,caf\xC3\x28\n");
  expect_error([&] { read_image_text_manifest(bad_utf8, o); }, bad_utf8 + ":2: invalid UTF-8");
}

TEST(ImageTextSplit, SeededByImageAndStratified) {
  ImageTextDataset d;
  const int64_t n = 40;
  d.images = torch::arange(n, torch::kLong).to(torch::kByte).view({n, 1, 1, 1}).expand({n, 1, 2, 2}).contiguous();
  d.labels = torch::arange(n, torch::kLong) % 4;  // 10 per class
  d.class_names = {"a", "b", "c", "d"};
  for (int64_t i = 0; i < n; ++i) {
    d.captions.push_back({"caption " + std::to_string(i), "another " + std::to_string(i)});
    d.ids.push_back("img" + std::to_string(i));
  }
  auto s = split_image_text(d, 0.2, 0.1, 7);
  EXPECT_EQ(s.train.size(), 28);
  EXPECT_EQ(s.val.size(), 8);
  EXPECT_EQ(s.test.size(), 4);
  for (int64_t k = 0; k < 4; ++k) {  // one test and two val images of every class
    EXPECT_EQ((s.test.labels == k).sum().item<int64_t>(), 1);
    EXPECT_EQ((s.val.labels == k).sum().item<int64_t>(), 2);
  }
  // Every image in exactly one split, with its own captions and id.
  std::vector<int> seen(n, 0);
  for (const auto* part : {&s.train, &s.val, &s.test})
    for (int64_t i = 0; i < part->size(); ++i) {
      const int64_t id = part->images[i][0][0][0].item<int64_t>();
      ++seen[size_t(id)];
      EXPECT_EQ(part->captions[size_t(i)][0], "caption " + std::to_string(id));
      EXPECT_EQ(part->ids[size_t(i)], "img" + std::to_string(id));
      EXPECT_EQ(part->labels[i].item<int64_t>(), id % 4);
    }
  for (int x : seen) EXPECT_EQ(x, 1);
  auto again = split_image_text(d, 0.2, 0.1, 7), other = split_image_text(d, 0.2, 0.1, 8);
  EXPECT_EQ(again.test.ids, s.test.ids);
  EXPECT_NE(other.test.ids, s.test.ids);
  expect_error([&] { split_image_text(d, 0.5, 0.5, 0); }, "val_fraction + test_fraction must be < 1");
}
