#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "contra/core/error.h"
#include "contra/data/image_text_cache.h"
#include "contra/data/openclipart.h"
#include "data_test_util.h"

#include <stb/stb_image_write.h>  // implementation: tests/support/stb_image_write_impl.cpp

namespace {

namespace fs = std::filesystem;
using contra::data::load_openclipart;
using contra::data::openclipart_captions;
using contra::data::OpenclipartOptions;
using contra::data::parse_svg_metadata;
using namespace contra::data::datatest;

const char* const kDebianOpenclipart = "/usr/share/openclipart";

/// An SVG as the package writes them: the work's metadata beside its agents' titles.
std::string clip_svg(const std::string& work) {
  return R"(<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:cc="http://web.resource.org/cc/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <title>svg's own title</title>
  <metadata><rdf:RDF><cc:Work rdf:about="">)" +
         work + R"(</cc:Work></rdf:RDF></metadata><rect width="1" height="1"/></svg>)";
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

/// w x h RGBA PNG filled by f(x, y) -> {r, g, b, a}.
template <class F>
void write_rgba_png(const fs::path& path, int w, int h, F f) {
  fs::create_directories(path.parent_path());
  Bytes px(static_cast<size_t>(w) * h * 4);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::array<uint8_t, 4> p = f(x, y);
      std::copy(p.begin(), p.end(), px.begin() + (static_cast<size_t>(y) * w + x) * 4);
    }
  ASSERT_NE(stbi_write_png(path.string().c_str(), w, h, 4, px.data(), w * 4), 0) << path;
}

/// A small package: animals/cat.png (40 x 20: left half transparent, right half red) with
/// metadata, animals/birds/owl.png (opaque blue, no SVG), unsorted/thing.png, and a link
/// from buildings/ to the cat (skipped).
void make_small_package(const fs::path& root) {
  write_rgba_png(root / "png/animals/cat.png", 40, 20, [](int x, int) {
    return x < 20 ? std::array<uint8_t, 4>{0, 0, 0, 0} : std::array<uint8_t, 4>{255, 0, 0, 255};
  });
  write_rgba_png(root / "png/animals/birds/owl_jane_doe_01.png", 8, 8,
                 [](int, int) { return std::array<uint8_t, 4>{0, 0, 255, 255}; });
  write_rgba_png(root / "png/unsorted/thing.png", 4, 4,
                 [](int, int) { return std::array<uint8_t, 4>{0, 255, 0, 128}; });
  fs::create_directories(root / "png/buildings");
  fs::create_symlink("../animals/cat.png", root / "png/buildings/cat.png");
  write_text(root / "svg/animals/cat.svg",
             clip_svg("<dc:title>Cat &amp; mouse</dc:title><dc:description>A cat, see "
                      "http://example.org</dc:description><dc:subject><rdf:Bag><rdf:li>pet</rdf:li>"
                      "<rdf:li>hash</rdf:li></rdf:Bag></dc:subject>"));
}

OpenclipartOptions small_options(const fs::path& root, int64_t size) {
  OpenclipartOptions o;
  o.root = root.string();
  o.size = size;
  o.cache = false;
  return o;
}

TEST(OpenclipartMetadata, WorkTitleNotTheAgentsTitles) {
  const auto m = parse_svg_metadata(clip_svg(R"(
      <dc:title>Fish &amp; chips &lt;3 &#233;&#xE9;</dc:title>
      <dc:description>Fried   fish
        and chips</dc:description>
      <dc:subject><rdf:Bag><rdf:li></rdf:li><rdf:li>food</rdf:li><rdf:li>fish, dinner</rdf:li></rdf:Bag></dc:subject>
      <dc:publisher><cc:Agent><dc:title>public domain</dc:title></cc:Agent></dc:publisher>
      <dc:creator><cc:Agent><dc:title>Jane Doe</dc:title></cc:Agent></dc:creator>)"));
  EXPECT_EQ(m.title, "Fish & chips <3 \xC3\xA9\xC3\xA9");
  EXPECT_EQ(m.description, "Fried fish and chips");
  EXPECT_EQ(m.keywords, (std::vector<std::string>{"food", "fish", "dinner"}));
  EXPECT_EQ(m.creator, "Jane Doe");
}

TEST(OpenclipartMetadata, MissingPartsAreEmpty) {
  const auto none = parse_svg_metadata("<svg><rect/></svg>");
  EXPECT_TRUE(none.title.empty() && none.description.empty() && none.keywords.empty());
  // The creator comes before the title: the agent's title is still not the work's.
  const auto m = parse_svg_metadata(clip_svg(
      "<dc:creator><cc:Agent><dc:title>Someone</dc:title></cc:Agent></dc:creator><dc:description/>"));
  EXPECT_EQ(m.title, "");
  EXPECT_EQ(m.creator, "Someone");
  EXPECT_TRUE(m.keywords.empty());
  EXPECT_TRUE(parse_svg_metadata("").title.empty());
  EXPECT_TRUE(parse_svg_metadata("<svg><metadata><cc:Work><dc:title>unclosed").title.empty());
}

TEST(OpenclipartMetadata, AltTitlesLatin1CdataAndOtherPrefixes) {
  EXPECT_EQ(parse_svg_metadata(clip_svg(R"(<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Owl</rdf:li>
      <rdf:li xml:lang="de">Eule</rdf:li></rdf:Alt></dc:title>)")).title, "Owl");
  EXPECT_EQ(parse_svg_metadata(std::string("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><svg>"
                                           "<metadata><cc:Work><dc:title>caf\xE9</dc:title>"
                                           "</cc:Work></metadata></svg>")).title,
            "caf\xC3\xA9");
  EXPECT_EQ(parse_svg_metadata(clip_svg("<dc:title><![CDATA[a <b> & c]]></dc:title>")).title, "a <b> & c");
  EXPECT_EQ(parse_svg_metadata("<svg><metadata><ns0:Work><ns1:title>Tree</ns1:title>"
                               "<ns1:subject>leaf; branch</ns1:subject></ns0:Work></metadata></svg>")
                .keywords,
            (std::vector<std::string>{"leaf", "branch"}));
}

TEST(OpenclipartCaptions, NameFileWordsKeywordsDescription) {
  contra::data::SvgMetadata m;
  m.title = "Flag_of_Brazil";
  m.description = "Flag of Brazil, from www.example.org";
  m.keywords = {"flags", "hash", "america", "Flags", "signs_and_symbols"};
  m.creator = "Rodrigo Tjader";
  const auto c = openclipart_captions(m, "flag_of_brazil_rodrigo_t1", {}, "flags");
  EXPECT_EQ(c, (std::vector<std::string>{"Flag of Brazil",
                                         "Flag of Brazil: flags, america, signs and symbols",
                                         "flags, america, signs and symbols", "Flag of Brazil, from"}));
}

TEST(OpenclipartCaptions, GenericTitleGivesWayToTheFileName) {
  contra::data::SvgMetadata m;
  m.title = "Lemon SVG theme";
  m.keywords = {"icon"};
  const auto c = openclipart_captions(m, "messagebox_warning", {"lemon svg theme"}, "x");
  EXPECT_EQ(c, (std::vector<std::string>{"messagebox warning", "messagebox warning: icon", "icon"}));
  contra::data::SvgMetadata nicu;
  nicu.title = "Clipart by Nicu Buculei - jigsaw_red_10";
  nicu.keywords = {"0x93a3a4c", "jigsaw"};
  EXPECT_EQ(openclipart_captions(nicu, "jigsaw_blue_15", {}, "x"),
            (std::vector<std::string>{"jigsaw red 10", "jigsaw blue", "jigsaw red 10: jigsaw", "jigsaw"}));
  // Nothing usable: the stem, then the fallback.
  EXPECT_EQ(openclipart_captions({}, "42", {}, "jigsaw"), (std::vector<std::string>{"jigsaw"}));
  contra::data::SvgMetadata junk;
  junk.title = "  ---  ";
  junk.description = "http://example.org";
  EXPECT_EQ(openclipart_captions(junk, "tree_01", {}, "x"), (std::vector<std::string>{"tree"}));
}

TEST(OpenclipartCaptions, FileWordsDropNumbersAndTheCreator) {
  using contra::data::openclipart_file_words;
  EXPECT_EQ(openclipart_file_words("tigre04_architetto_franc_01", "Architetto Francesco Rollandin"), "tigre04");
  EXPECT_EQ(openclipart_file_words("bicycle_philippe_colin_01", "Philippe Colin"), "bicycle");
  EXPECT_EQ(openclipart_file_words("Jigsaw-Blue.15", ""), "jigsaw blue");
  EXPECT_EQ(openclipart_file_words("colin_portrait", "Philippe Colin"), "colin portrait");
  EXPECT_EQ(openclipart_file_words("flag_of_brazil_rodrigo_t1", "Rodrigo Tjader"), "flag of brazil");
  EXPECT_EQ(openclipart_file_words("3d_box_v2", ""), "3d box");
}

TEST(Openclipart, SmallPackageImagesLabelsCaptions) {
  TempDir dir;
  make_small_package(dir.path());
  const auto ds = load_openclipart(small_options(dir.path(), 8));
  ASSERT_EQ(ds.size(), 3);  // the link is skipped
  EXPECT_EQ(ds.ids, (std::vector<std::string>{"animals/birds/owl_jane_doe_01.png", "animals/cat.png",
                                              "unsorted/thing.png"}));
  // Classes: the folders but "unsorted" (label -1); "buildings" holds only a link.
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"animals", "buildings"}));
  EXPECT_EQ(ds.labels[0].item<int64_t>(), 0);
  EXPECT_EQ(ds.labels[1].item<int64_t>(), 0);
  EXPECT_EQ(ds.labels[2].item<int64_t>(), -1);
  EXPECT_EQ(ds.captions[1], (std::vector<std::string>{"Cat & mouse", "cat", "Cat & mouse: pet", "pet", "A cat, see"}));
  EXPECT_EQ(ds.captions[0], (std::vector<std::string>{"owl jane doe"}));  // no SVG: its file name
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{3, 3, 8, 8}));
  // The cat (40 x 20) is letterboxed: 8 x 4 placed at rows 2..5 on white; its transparent left
  // half is white, its right half red.
  const auto cat = ds.images[1];
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      const bool red = y >= 2 && y < 6 && x >= 4;
      EXPECT_EQ(cat[0][y][x].item<uint8_t>(), 255) << x << "," << y;
      EXPECT_EQ(cat[1][y][x].item<uint8_t>(), red ? 0 : 255) << x << "," << y;
      EXPECT_EQ(cat[2][y][x].item<uint8_t>(), red ? 0 : 255) << x << "," << y;
    }
  }
  // Half-transparent green over white.
  EXPECT_EQ(ds.images[2][0][3][3].item<uint8_t>(), 127);
  EXPECT_EQ(ds.images[2][1][3][3].item<uint8_t>(), 255);
  EXPECT_EQ(ds.images[0][2][4][4].item<uint8_t>(), 255);
  EXPECT_EQ(ds.images[0][0][4][4].item<uint8_t>(), 0);
}

TEST(Openclipart, LimitSpreadsOverTheListing) {
  TempDir dir;
  make_small_package(dir.path());
  auto o = small_options(dir.path(), 4);
  o.limit = 2;
  const auto ds = load_openclipart(o);
  EXPECT_EQ(ds.ids, (std::vector<std::string>{"animals/birds/owl_jane_doe_01.png", "animals/cat.png"}));
  o.threads = 1;
  o.limit = 0;
  const auto one = load_openclipart(o);
  o.threads = 3;
  EXPECT_TRUE(torch::equal(one.images, load_openclipart(o).images));
}

TEST(Openclipart, CacheIsWrittenReadAndRebuiltWhenDamagedOrStale) {
  TempDir dir;
  make_small_package(dir.path() / "pkg");
  auto o = small_options(dir.path() / "pkg", 8);
  o.cache = true;
  o.cache_dir = (dir.path() / "cache").string();
  const fs::path file = dir.path() / "cache" / "openclipart-8.bin";
  const auto first = load_openclipart(o);
  ASSERT_TRUE(fs::exists(file));
  const auto second = load_openclipart(o);
  EXPECT_TRUE(torch::equal(first.images, second.images));
  EXPECT_EQ(first.captions, second.captions);
  // The second load read the file: a changed (but whole) cache file with the same key is
  // what it returns. The key is in the JSON header after the magic and its length.
  {
    const Bytes bytes = read_all(file.string());
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data() + 8, 8);
    const auto header = nlohmann::json::parse(bytes.begin() + 16, bytes.begin() + 16 + static_cast<std::ptrdiff_t>(header_len));
    auto marked = first;
    marked.captions[0][0] = "from the cache";
    contra::data::write_image_text_cache(file.string(), header.at("key").get<std::string>(), marked);
    EXPECT_EQ(load_openclipart(o).captions[0][0], "from the cache");
    contra::data::write_image_text_cache(file.string(), header.at("key").get<std::string>(), first);
  }
  // Damage one byte in the middle: the cache is rebuilt, not trusted.
  {
    Bytes bytes = read_all(file.string());
    bytes[bytes.size() / 2] ^= 0x5A;
    write_raw(file.string(), bytes);
  }
  const auto rebuilt = load_openclipart(o);
  EXPECT_TRUE(torch::equal(first.images, rebuilt.images));
  EXPECT_EQ(first.captions, rebuilt.captions);
  // ... and written again whole.
  Bytes healed = read_all(file.string());
  // Truncated: rebuilt too.
  healed.resize(healed.size() - 10);
  write_raw(file.string(), healed);
  EXPECT_EQ(load_openclipart(o).ids, first.ids);
  EXPECT_GT(fs::file_size(file), healed.size());
  // A source file changes: the key no longer matches and the new image is decoded.
  write_rgba_png(dir.path() / "pkg/png/animals/birds/owl_jane_doe_01.png", 8, 8,
                 [](int, int) { return std::array<uint8_t, 4>{0, 255, 0, 255}; });
  const auto changed = load_openclipart(o);
  EXPECT_EQ(changed.images[0][1][4][4].item<uint8_t>(), 255);
  EXPECT_EQ(changed.images[0][2][4][4].item<uint8_t>(), 0);
  // A limited load uses the complete cache (and never writes one).
  o.limit = 1;
  const auto before = fs::last_write_time(file);
  EXPECT_EQ(load_openclipart(o).ids, std::vector<std::string>{"animals/birds/owl_jane_doe_01.png"});
  EXPECT_EQ(fs::last_write_time(file), before);
}

TEST(Openclipart, CacheFileContentIsTrustedOnlyWithItsKey) {
  TempDir dir;
  contra::data::ImageTextDataset ds;
  ds.images = torch::full({2, 3, 4, 4}, 7, torch::kUInt8);
  ds.labels = torch::tensor({0, -1}, torch::kInt64);
  ds.captions = {{"a", "b"}, {"c"}};
  ds.class_names = {"k"};
  ds.ids = {"x", "y"};
  const std::string path = dir.file("sub/c.bin");
  contra::data::write_image_text_cache(path, "key 1", ds);
  const auto back = contra::data::read_image_text_cache(path, "key 1");
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(torch::equal(back->images, ds.images));
  EXPECT_TRUE(torch::equal(back->labels, ds.labels));
  EXPECT_EQ(back->captions, ds.captions);
  EXPECT_EQ(back->class_names, ds.class_names);
  EXPECT_EQ(back->ids, ds.ids);
  EXPECT_FALSE(contra::data::read_image_text_cache(path, "key 2").has_value());
  EXPECT_FALSE(contra::data::read_image_text_cache(dir.file("missing.bin"), "key 1").has_value());
  Bytes bytes = read_all(path);
  for (size_t at : {size_t{0}, size_t{20}, bytes.size() - 1}) {
    Bytes bad = bytes;
    bad[at] ^= 1;
    write_raw(path, bad);
    EXPECT_FALSE(contra::data::read_image_text_cache(path, "key 1").has_value()) << "byte " << at;
  }
  write_raw(path, Bytes(bytes.begin(), bytes.begin() + 30));
  EXPECT_FALSE(contra::data::read_image_text_cache(path, "key 1").has_value());
}

TEST(Openclipart, BadInputsNameTheFile) {
  TempDir dir;
  expect_error_parts([&] { load_openclipart(small_options(dir.path() / "nowhere", 8)); },
                     {(dir.path() / "nowhere" / "png").string(), "not found"});
  fs::create_directories(dir.path() / "png");
  expect_error_parts([&] { load_openclipart(small_options(dir.path(), 8)); }, {"no category folders"});
  fs::create_directories(dir.path() / "png/animals");
  expect_error_parts([&] { load_openclipart(small_options(dir.path(), 8)); }, {"no PNG images"});
  write_text(dir.path() / "png/animals/broken.png", "\x89PNG\r\n\x1a\n but then nothing");
  expect_error_parts([&] { load_openclipart(small_options(dir.path(), 8)); },
                     {"animals/broken.png", "corrupt"});
  write_text(dir.path() / "png/animals/broken.png", "GIF89a");
  expect_error_parts([&] { load_openclipart(small_options(dir.path(), 8)); },
                     {"animals/broken.png", "not a PNG"});
  auto o = small_options(dir.path(), 0);
  expect_error_parts([&] { load_openclipart(o); }, {"size", "1..1024", "0"});
  o.size = 8;
  o.limit = -1;
  expect_error_parts([&] { load_openclipart(o); }, {"limit", ">= 0"});
}

TEST(Openclipart, DebianSvgMetadataOfAKnownFile) {
  const std::string svg = std::string(kDebianOpenclipart) + "/svg/science/scale_01.svg";
  const Bytes bytes = read_all(svg);
  ASSERT_FALSE(bytes.empty()) << svg << " (Debian's openclipart-svg)";
  const auto m = parse_svg_metadata(std::string(bytes.begin(), bytes.end()));
  EXPECT_EQ(m.title, "scale");
  EXPECT_EQ(m.keywords, (std::vector<std::string>{"tool", "mass", "scale", "work"}));
  EXPECT_EQ(m.creator, "Feth AREZKI");
}

TEST(Openclipart, DebianPackageLimited) {
  OpenclipartOptions o;
  o.limit = 48;
  o.cache = false;  // decode these 48 now (a complete cache, when there is one, would serve them)
  const auto ds = load_openclipart(o);
  ASSERT_EQ(ds.size(), 48);
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{48, 3, 32, 32}));
  EXPECT_EQ(ds.class_names.size(), 21u);
  EXPECT_NE(std::find(ds.class_names.begin(), ds.class_names.end(), "signs and symbols"), ds.class_names.end());
  std::map<int64_t, int> per_class;
  for (int64_t i = 0; i < ds.size(); ++i) ++per_class[ds.labels[i].item<int64_t>()];
  EXPECT_GE(per_class.size(), 8u);  // spread over the listing, not the first folder only
  for (const auto& caps : ds.captions) {
    ASSERT_FALSE(caps.empty());
    for (const auto& c : caps) EXPECT_FALSE(c.empty());
  }
  // Clipart on white: the corners are mostly white.
  const auto corners = ds.images.index({torch::indexing::Slice(), torch::indexing::Slice(), 0, 0});
  EXPECT_GT(corners.eq(255).to(torch::kFloat).mean().item<float>(), 0.5f);
}

/// The whole package, through the default cache (data/image_text_cache.h): about two minutes
/// of decoding on two cores the first time on a machine, well under a second after that.
TEST(Openclipart, DebianPackageFull) {
  const auto ds = load_openclipart(OpenclipartOptions());
  // Debian 12's openclipart 0.18+dfsg-19: 6,900 PNG files (and 1,221 links, skipped).
  ASSERT_EQ(ds.size(), 6900);
  std::map<std::string, int64_t> per_class;
  for (int64_t i = 0; i < ds.size(); ++i) {
    const int64_t l = ds.labels[i].item<int64_t>();
    ++per_class[l < 0 ? "-" : ds.class_names[static_cast<size_t>(l)]];
  }
  EXPECT_EQ(per_class["animals"], 286);
  EXPECT_EQ(per_class["computer icons"], 1797);
  EXPECT_EQ(per_class["signs and symbols"], 1004);
  EXPECT_EQ(per_class["-"], 150);  // unsorted/
  const auto at = [&](const std::string& id) {
    const auto it = std::find(ds.ids.begin(), ds.ids.end(), id);
    EXPECT_NE(it, ds.ids.end()) << id;
    return it == ds.ids.end() ? std::vector<std::string>{} : ds.captions[static_cast<size_t>(it - ds.ids.begin())];
  };
  EXPECT_EQ(at("science/scale_01.png"), (std::vector<std::string>{"scale", "scale: tool, mass, work", "tool, mass, work"}));
  // A collection's title ("Lemon SVG theme", 411 icons) gives way to the file name.
  EXPECT_EQ(at("computer/icons/lemon-theme/actions/messagebox_warning.png")[0], "messagebox warning");
  const std::set<std::string> ids(ds.ids.begin(), ds.ids.end());
  EXPECT_EQ(ids.size(), 6900u);
}

}  // namespace
