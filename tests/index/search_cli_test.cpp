// contra index + contra search end to end, and each bad input's message with exit code 2.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "contra/index/npy.h"
#include "../support/process.h"

using contra::test_support::run_cli;
using contra::test_support::temp_dir;

namespace {

/// DIR/emb.npy: 60 unit vectors of dimension 8 (rows 0..59), and DIR/emb.jsonl with their items.
void search_cli_write_embeddings(const std::string& dir) {
  std::filesystem::create_directories(dir);
  torch::manual_seed(5);
  auto x = torch::randn({60, 8});
  x = x / x.norm(2, {1}, true);
  contra::index::NpyWriter w(dir + "/emb.npy", 8);
  w.append(x.slice(0, 0, 25));
  w.append(x.slice(0, 25));
  w.close();
  std::ofstream items(dir + "/emb.jsonl");
  for (int i = 0; i < 60; ++i)
    items << nlohmann::json{{"index", i}, {"id", "item" + std::to_string(i)},
                            {"path", "images/" + std::to_string(i) + ".png"}, {"label", i % 3}}
                 .dump()
          << "\n";
  contra::index::NpyWriter q(dir + "/queries.npy", 8);
  q.append(x.slice(0, 10, 13));  // rows 10, 11, 12 as queries
  q.close();
  contra::index::NpyWriter q4(dir + "/queries4.npy", 4);
  q4.append(torch::ones({2, 4}));
  q4.close();
}

std::vector<nlohmann::json> search_cli_json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace

TEST(SearchCli, IndexThenSearchEndToEnd) {
  const auto dir = temp_dir("search_cli");
  search_cli_write_embeddings(dir);
  std::vector<nlohmann::json> exact_lines;  // the reference, from the flat index's folder
  for (const char* type : {"flat", "hnsw", "ivf"}) {
    SCOPED_TRACE(type);
    const bool flat = std::string(type) == "flat";
    const std::string idx = dir + "/index_" + type;
    auto built = run_cli("index --embeddings " + dir + "/emb.npy --out " + idx + " --type " + type +
                         " --nlist 4 --threads 1");
    ASSERT_EQ(built.code, 0) << built.output;
    EXPECT_NE(built.output.find(std::string("built ") + type + " index (cosine"), std::string::npos)
        << built.output;
    EXPECT_NE(built.output.find("over 60 vectors of dimension 8"), std::string::npos) << built.output;
    EXPECT_NE(built.output.find("items: "), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(idx + "/index.faiss"));
    EXPECT_TRUE(std::filesystem::exists(idx + "/index.json"));

    if (flat) {
      auto text = run_cli("search --index " + idx + " --query-embeddings " + dir + "/queries.npy -k 3");
      ASSERT_EQ(text.code, 0) << text.output;
      EXPECT_NE(text.output.find("query 0\n    1        10  1.0000"), std::string::npos)
          << text.output;
      EXPECT_NE(text.output.find("id=item10  path=images/10.png  label=1"), std::string::npos)
          << text.output;
      // --exact: exact_search over the source embeddings that index.json names.
      auto exact = run_cli("search --index " + idx + " --query-embeddings " + dir +
                           "/queries.npy -k 4 --json --exact");
      ASSERT_EQ(exact.code, 0) << exact.output;
      exact_lines = search_cli_json_lines(exact.output);
    }
    ASSERT_EQ(exact_lines.size(), 3u);

    auto js = run_cli("search --index " + idx + " --query-embeddings " + dir +
                      "/queries.npy -k 4 --json --nprobe 4 --ef-search 16");
    ASSERT_EQ(js.code, 0) << js.output;
    const auto lines = search_cli_json_lines(js.output);
    ASSERT_EQ(lines.size(), 3u) << js.output;
    for (int q = 0; q < 3; ++q) {
      const auto& r = lines[size_t(q)];
      EXPECT_EQ(r["query"], q);
      ASSERT_EQ(r["results"].size(), 4u);
      const auto& top = r["results"][0];
      EXPECT_EQ(top["rank"], 1);
      EXPECT_EQ(top["index"], 10 + q);
      EXPECT_EQ(top["id"], "item" + std::to_string(10 + q));
      EXPECT_EQ(top["path"], "images/" + std::to_string(10 + q) + ".png");
      EXPECT_EQ(top["label"], (10 + q) % 3);
      EXPECT_NEAR(top["score"].get<double>(), 1.0, 1e-5);
      // All probed (nprobe = nlist) or small enough to be exact: the same ranking as --exact.
      for (int j = 0; j < 4; ++j) {
        EXPECT_EQ(r["results"][j]["index"], exact_lines[size_t(q)]["results"][j]["index"]);
        EXPECT_NEAR(r["results"][j]["score"].get<double>(),
                    exact_lines[size_t(q)]["results"][j]["score"].get<double>(), 1e-5);
      }
    }
  }
}

TEST(SearchCli, BadInputsNameTheProblemAndExit2) {
  const auto dir = temp_dir("search_cli_bad");
  search_cli_write_embeddings(dir);
  const std::string idx = dir + "/index";
  ASSERT_EQ(run_cli("index --embeddings " + dir + "/emb.npy --out " + idx).code, 0);
  std::ofstream(dir + "/garbage.npy") << "not numpy";
  {
    std::ofstream out(dir + "/ints.npy", std::ios::binary);
    std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 8), }";
    while ((dict.size() + 11) % 64) dict += ' ';
    dict += '\n';
    out.write("\x93NUMPY\x01\x00", 8);
    out.put(char(dict.size())).put('\0');
    out << dict << std::string(32, '\0');
  }
  const std::string q = " --query-embeddings " + dir + "/queries.npy";
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"search --index " + dir + "/nowhere" + q, "missing index folder " + dir + "/nowhere"},
      {"search --index " + dir + q, "missing FAISS file " + dir + "/index.faiss"},
      {"search --index " + idx + " --query-embeddings " + dir + "/queries4.npy",
       "index built on dimension 8, queries have dimension 4"},
      {"search --index " + idx + " --query-embeddings " + dir + "/garbage.npy",
       dir + "/garbage.npy is not a .npy file"},
      {"search --index " + idx + " --query-embeddings " + dir + "/ints.npy",
       dir + "/ints.npy: dtype '<i4' is not supported"},
      {"search --index " + idx + q + " -k 0", "-k must be at least 1, got 0"},
      {"index --embeddings " + dir + "/emb.npy --out " + dir + "/i3 --type annoy",
       "unknown index type (--type) 'annoy'; valid: flat, hnsw, ivf"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find("error: " + c.message), std::string::npos) << c.args << "\n" << r.output;
  }
  // --exact needs the source embeddings, which has moved.
  std::filesystem::rename(dir + "/emb.npy", dir + "/moved.npy");
  auto r = run_cli("search --index " + idx + q + " --exact");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--exact searches the index's source embeddings file"), std::string::npos)
      << r.output;
}
