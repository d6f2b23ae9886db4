// contra embed, index and search from a real (tiny) run: the files embed writes, agreement with
// the contra::Encoder API, a query image finding itself, and each bad input's message + exit 2.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "contra/data/fashion_mnist.h"
#include "contra/index/npy.h"
#include "contra/run/encoder.h"
#include "../support/process.h"

#include <stb/stb_image_write.h>  // implementation: tests/support/stb_image_write_impl.cpp

namespace {

/// An IDX file of `x` ([N, 28, 28] or [N] uint8).
void embed_test_write_idx(const std::string& path, const torch::Tensor& x) {
  std::ofstream out(path, std::ios::binary);
  const char head[4] = {0, 0, 0x08, char(x.dim())};
  out.write(head, 4);
  for (int64_t d : x.sizes()) {
    const unsigned char b[4] = {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)};
    out.write(reinterpret_cast<const char*>(b), 4);
  }
  auto c = x.contiguous();
  out.write(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
}

int64_t embed_test_lines(const std::string& path) {
  std::ifstream in(path);
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

}  // namespace

TEST(Cli, EmbedIndexAndSearchFromARun) {
  using contra::test_support::run_cli;
  const std::string dir = contra::test_support::temp_dir("embed_cli");
  std::filesystem::create_directories(dir);
  const std::string run = dir + "/run";
  auto r = run_cli("train " + std::string(CONTRA_SOURCE_DIR) +
                   "/configs/fashion_mnist.yaml --set train.max_steps=3 --set train.batch_size=64"
                   " --set data.limit=512 --set eval.enabled=false --set report.enabled=false --out " + run);
  ASSERT_EQ(r.code, 0) << r.output;

  // 200 test images and labels as IDX files.
  const auto test = contra::data::load_fashion_mnist(contra::data::kFashionMnistDefaultDir,
                                                     contra::data::Split::kTest, 200);
  embed_test_write_idx(dir + "/img", test.images.squeeze(1));
  embed_test_write_idx(dir + "/lab", test.labels.to(torch::kUInt8));
  const std::string data = "idx:" + dir + "/img," + dir + "/lab";
  r = run_cli("embed --run " + run + " --data " + data + " --out " + dir + "/e.npy --batch 64");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto e = contra::index::read_npy(dir + "/e.npy");
  ASSERT_EQ(e.sizes(), torch::IntArrayRef({200, 1024}));
  EXPECT_EQ(embed_test_lines(dir + "/e.jsonl"), 200);
  std::ifstream first_line(dir + "/e.jsonl");
  std::string line;
  std::getline(first_line, line);
  const auto item0 = nlohmann::json::parse(line);
  EXPECT_EQ(item0["index"], 0);
  EXPECT_EQ(item0["label"], test.labels[0].item<int64_t>());
  const auto meta = nlohmann::json::parse(std::ifstream(dir + "/e.json"));
  EXPECT_EQ(meta["output"], "encoder");
  EXPECT_EQ(meta["count"], 200);
  EXPECT_EQ(meta["checkpoint_step"], 3);

  // The same numbers as the library's encoder, in other chunks.
  const auto encoder = contra::Encoder::load(run, contra::EncoderOptions().batch_size(50));
  EXPECT_TRUE(torch::allclose(encoder.embed_images(test.images), e, 1e-4, 1e-5));

  // The projection head instead: head_dim columns.
  r = run_cli("embed --run " + run + " --data " + data + " --out " + dir + "/h.npy --output head");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(contra::index::read_npy(dir + "/h.npy").size(1), 128);

  // Index the embeddings; test image 7 as a PNG file finds itself first.
  r = run_cli("index --embeddings " + dir + "/e.npy --out " + dir + "/idx --type flat");
  ASSERT_EQ(r.code, 0) << r.output;
  auto px = test.images[7][0].contiguous();
  ASSERT_NE(stbi_write_png((dir + "/q.png").c_str(), 28, 28, 1, px.data_ptr<uint8_t>(), 28), 0);
  r = run_cli("search --index " + dir + "/idx --query-image " + dir + "/q.png -k 3 --json");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto hits = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(hits["results"][0]["index"], 7) << r.output;
  EXPECT_NEAR(hits["results"][0]["score"].get<double>(), 1.0, 1e-4);

  // Bad input: one message, exit 2.
  std::filesystem::create_directories(dir + "/nockpt");
  std::filesystem::copy_file(run + "/config.yaml", dir + "/nockpt/config.yaml");
  std::ofstream(dir + "/t.txt") << "a sentence\n";
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"embed --run " + dir + "/nockpt --data " + data + " --out " + dir + "/x.npy", "no checkpoint"},
      {"embed --run " + run + " --data text:" + dir + "/t.txt --out " + dir + "/x.npy", "holds text, but the run"},
      {"embed --run " + run + " --data " + data + " --out " + dir + "/x.bin", "--out must name a .npy file"},
      {"embed --run " + run + " --data idx:" + dir + "/none --out " + dir + "/x.npy", "file not found"},
      {"search --index " + dir + "/idx --query-text hello", "embeds images, not text"},
  };
  for (const auto& c : cases) {
    r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.npy"));  // nothing half-written
}
