#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace contra::run {
struct EvalResult;
}

namespace at {
class Tensor;
}

namespace contra::index {
class FaissIndex;
}

namespace contra::app {

/// Each subcommand registers its options on `app` and returns the action to run when chosen.
/// The action returns the process exit code.
using Action = std::function<int()>;
Action add_train(CLI::App& app);
Action add_eval(CLI::App& app);
Action add_doctor(CLI::App& app);
Action add_tokenizer(CLI::App& app);
Action add_embed(CLI::App& app);
Action add_index(CLI::App& app);
Action add_search(CLI::App& app);
Action add_export(CLI::App& app);
Action add_report(CLI::App& app);

/// The evaluation's figures: kNN and linear probe (images) or gloss retrieval (text), then the
/// baselines measured beside them.
void print_eval(const run::EvalResult& r);

/// How contra search searches and prints, whatever made the queries (--query-embeddings now; a
/// trained run's encoder for --query-image / --query-text can produce them the same way).
struct SearchRequest {
  std::string index_dir;
  int64_t k = 10;
  bool json = false;        ///< one JSON object per query (JSON lines) instead of text
  bool exact = false;       ///< exact_search over the index's source embeddings instead of FAISS
  int64_t ef_search = 0;    ///< hnsw override (0: the index's)
  int64_t nprobe = 0;       ///< ivf override (0: the index's)
};

/// Searches the index in `req.index_dir` for queries [Q, d] and prints each query's top k (with
/// the items' id / path / label when the index has an items file). contra::Error on bad input.
void search_and_print(const SearchRequest& req, index::FaissIndex& index, const at::Tensor& queries);

}  // namespace contra::app
