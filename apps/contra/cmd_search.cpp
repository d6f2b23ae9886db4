// contra search --index DIR --query-embeddings Q.npy [-k 10] [--json] [--exact]
//               [--ef-search N] [--nprobe N]
// The query source (here a .npy file) is parsed apart from the search and the printing
// (search_and_print), so other sources of query embeddings can reuse them.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/index/exact.h"
#include "contra/index/faiss_index.h"
#include "contra/index/npy.h"
#include "contra/run/encoder.h"

namespace contra::app {

namespace {

/// The items file's rows (one JSON object per embeddings row), checked against the index.
std::vector<nlohmann::json> search_read_items(const std::string& path, int64_t count) {
  std::ifstream in(path);
  CONTRA_CHECK(in.is_open(), "cannot read the index's items file ", path,
               " (moved? rebuild the index, or put it back)");
  std::vector<nlohmann::json> items;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(path + " line " + std::to_string(items.size() + 1) + " is not JSON: " + e.what());
    }
    CONTRA_CHECK(j.is_object(), path, " line ", items.size() + 1, " is not a JSON object");
    items.push_back(std::move(j));
  }
  CONTRA_CHECK(int64_t(items.size()) == count, path, " has ", items.size(),
               " items, the index has ", count, " vectors");
  return items;
}

/// One item field as text: strings as they are, other values as JSON.
std::string search_field_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void search_print_text(const index::SearchResult& r, const std::vector<nlohmann::json>& items) {
  const auto scores = r.scores.accessor<float, 2>();
  const auto ids = r.ids.accessor<int64_t, 2>();
  for (int64_t q = 0; q < r.ids.size(0); ++q) {
    std::printf("query %lld\n", (long long)q);
    for (int64_t j = 0; j < r.ids.size(1); ++j) {
      const int64_t row = ids[q][j];
      if (row < 0) continue;  // fewer hits than k (approximate indexes)
      std::printf("  %3lld  %8lld  %.6f", (long long)(j + 1), (long long)row, scores[q][j]);
      if (!items.empty()) {
        for (const char* key : {"id", "path", "label", "class"}) {
          const auto& item = items[size_t(row)];
          if (item.contains(key) && !item[key].is_null())
            std::printf("  %s=%s", key, search_field_text(item[key]).c_str());
        }
      }
      std::printf("\n");
    }
  }
}

void search_print_json(const index::SearchResult& r, const std::vector<nlohmann::json>& items) {
  const auto scores = r.scores.accessor<float, 2>();
  const auto ids = r.ids.accessor<int64_t, 2>();
  for (int64_t q = 0; q < r.ids.size(0); ++q) {
    nlohmann::json results = nlohmann::json::array();
    for (int64_t j = 0; j < r.ids.size(1); ++j) {
      const int64_t row = ids[q][j];
      if (row < 0) continue;
      nlohmann::json hit = {{"rank", j + 1}, {"index", row}, {"score", double(scores[q][j])}};
      if (!items.empty())
        for (const char* key : {"id", "path", "label", "class"}) {
          const auto& item = items[size_t(row)];
          if (item.contains(key)) hit[key] = item[key];
        }
      results.push_back(std::move(hit));
    }
    const nlohmann::json line = {{"query", q}, {"results", std::move(results)}};
    std::printf("%s\n", line.dump().c_str());
  }
}

/// The embeddings' metadata written by contra embed (FILE.json beside FILE.npy), or null.
nlohmann::json search_embed_metadata(const std::string& embeddings) {
  if (embeddings.size() < 4) return nullptr;
  const std::string path = embeddings.substr(0, embeddings.size() - 4) + ".json";
  std::ifstream in(path);
  if (!in.is_open()) return nullptr;
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

/// Query images or texts embedded by a run's encoder: `run`, or the one that embedded the
/// index's items (recorded by contra embed), with the same output (encoder or head).
at::Tensor search_embed_queries(const index::IndexInfo& info, std::string run,
                                const std::vector<std::string>& images, const std::vector<std::string>& texts) {
  const auto meta = search_embed_metadata(info.embeddings);
  bool head = false;
  if (meta.is_object() && meta.contains("output")) head = meta["output"] == "head";
  if (run.empty()) {
    CONTRA_CHECK(meta.is_object() && meta.contains("run"), "--query-image and --query-text need --run DIR: the index's "
                 "embeddings (", info.embeddings, ") do not record the run that made them");
    run = meta["run"].get<std::string>();
  }
  const Encoder encoder = Encoder::load(run, EncoderOptions().head(head));
  // An image-text run embeds both, in one space only with the head output: a query of the other
  // modality than the index's items needs that space.
  const bool query_text = images.empty();
  if (meta.is_object() && meta.contains("items") && meta["items"].is_string()) {
    const bool items_text = meta["items"] == "text";
    CONTRA_CHECK(query_text == items_text || !encoder.takes_images() || !encoder.takes_text() ||
                     encoder.shared_space(),
                 "the index holds ", items_text ? "text" : "image", " embeddings of the run's encoder output, "
                 "where images and texts do not compare; a ", query_text ? "text" : "image",
                 " query needs an index of head embeddings (contra embed --output head), the space they share");
  }
  if (!query_text) return encoder.embed_images(encoder.read_images(images));
  return encoder.embed_texts(texts);
}

}  // namespace

void search_and_print(const SearchRequest& req, index::FaissIndex& idx, const at::Tensor& queries) {
  CONTRA_CHECK(req.k >= 1, "-k must be at least 1, got ", req.k);
  const auto& info = idx.info();
  CONTRA_CHECK(queries.size(1) == info.dim, "index built on dimension ", info.dim,
               ", queries have dimension ", queries.size(1));
  index::SearchResult r;
  if (req.exact) {
    CONTRA_CHECK(!info.embeddings.empty() && std::filesystem::is_regular_file(info.embeddings),
                 "--exact searches the index's source embeddings file ",
                 info.embeddings.empty() ? std::string("(none recorded)") : info.embeddings,
                 ", which is missing");
    const auto rows = index::npy_shape(info.embeddings).first;
    CONTRA_CHECK(rows == info.count, info.embeddings, " now has ", rows,
                 " rows; the index was built on ", info.count, " (rebuild the index)");
    r = index::exact_search_npy(info.embeddings, queries, req.k, info.options.metric);
  } else {
    r = idx.search(queries, req.k, {req.ef_search, req.nprobe});
  }
  std::vector<nlohmann::json> items;
  if (!info.ids.empty()) items = search_read_items(info.ids, info.count);
  if (req.json)
    search_print_json(r, items);
  else
    search_print_text(r, items);
}

Action add_search(CLI::App& app) {
  auto* cmd = app.add_subcommand("search", "search an index for the nearest neighbours of query embeddings");
  auto req = std::make_shared<SearchRequest>();
  auto query_file = std::make_shared<std::string>();
  auto query_images = std::make_shared<std::vector<std::string>>();
  auto query_texts = std::make_shared<std::vector<std::string>>();
  auto run = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(0);
  cmd->add_option("--index", req->index_dir, "index folder written by contra index")->required();
  auto* by_file = cmd->add_option("--query-embeddings", *query_file, "queries: float32 [Q, d] .npy file");
  auto* by_image = cmd->add_option("--query-image", *query_images, "query image file(s), embedded by the run");
  auto* by_text = cmd->add_option("--query-text", *query_texts, "query text(s), embedded by the run");
  by_file->excludes(by_image)->excludes(by_text);
  by_image->excludes(by_text);
  cmd->add_option("--run", *run,
                  "run whose encoder embeds --query-image / --query-text (default: the run that embedded "
                  "the index's items)");
  cmd->add_option("-k,--top-k", req->k, "results per query (default 10)");
  cmd->add_flag("--json", req->json, "one JSON object per query (JSON lines)");
  cmd->add_flag("--exact", req->exact,
                "exact search over the index's source embeddings (LibTorch), not FAISS");
  cmd->add_option("--ef-search", req->ef_search, "hnsw: candidate list for this search");
  cmd->add_option("--nprobe", req->nprobe, "ivf: cells visited for this search");
  cmd->add_option("--threads", *threads, "threads (0 = all cores)");
  return [=]() {
    CONTRA_CHECK(req->k >= 1, "-k must be at least 1, got ", req->k);
    CONTRA_CHECK(req->ef_search >= 0 && req->nprobe >= 0,
                 "--ef-search and --nprobe must be at least 1");
    set_threads(*threads);
    index::set_faiss_threads(*threads);
    CONTRA_CHECK(!query_file->empty() || !query_images->empty() || !query_texts->empty(),
                 "give the queries: --query-embeddings FILE.npy, --query-image FILE or --query-text TEXT");
    auto idx = index::FaissIndex::load(req->index_dir);
    const at::Tensor queries = !query_file->empty()
                                   ? index::read_npy(*query_file)
                                   : search_embed_queries(idx.info(), *run, *query_images, *query_texts);
    search_and_print(*req, idx, queries);
    return 0;
  };
}

}  // namespace contra::app
