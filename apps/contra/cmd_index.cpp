// contra index --embeddings FILE.npy --out DIR [--type flat|hnsw|ivf] [--metric cosine|ip|l2]
//              [--hnsw-m 32] [--ef-construction 200] [--ef-search 128] [--nlist N] [--nprobe N]
#include <cstdio>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "contra/core/runtime.h"
#include "contra/index/faiss_index.h"

namespace contra::app {

Action add_index(CLI::App& app) {
  auto* cmd = app.add_subcommand("index", "build a FAISS search index over an embeddings file (.npy)");
  struct IndexArgs {
    std::string embeddings, out, type = "flat", metric = "cosine";
    index::IndexOptions options;
    int threads = 0;
  };
  auto a = std::make_shared<IndexArgs>();
  cmd->add_option("--embeddings", a->embeddings, "float32 [N, d] .npy file (contra embed writes one)")
      ->required();
  cmd->add_option("--out", a->out, "index folder to write (index.faiss + index.json)")->required();
  cmd->add_option("--type", a->type,
                  "flat (exact), hnsw (graph; fast, approximate) or ivf (k-means cells) (default flat)");
  cmd->add_option("--metric", a->metric,
                  "cosine (normalised inner product), ip (inner product) or l2 (default cosine)");
  cmd->add_option("--hnsw-m", a->options.hnsw_m, "hnsw: neighbours per node (default 32)");
  cmd->add_option("--ef-construction", a->options.ef_construction,
                  "hnsw: candidate list while building (default 200)");
  cmd->add_option("--ef-search", a->options.ef_search,
                  "hnsw: candidate list while searching, stored in the index (default 128)");
  cmd->add_option("--nlist", a->options.nlist, "ivf: k-means cells (default round(sqrt(N)))");
  cmd->add_option("--nprobe", a->options.nprobe,
                  "ivf: cells visited per query, stored in the index (default nlist / 16)");
  cmd->add_option("--seed", a->options.seed, "ivf: seed of the k-means training sample (default 0)");
  cmd->add_option("--threads", a->threads, "threads (0 = all cores)");
  return [=]() {
    set_threads(a->threads);
    index::set_faiss_threads(a->threads);
    index::IndexOptions o = a->options;
    o.kind = from_name(index::kIndexKindNames, a->type, "index type (--type)");
    o.metric = from_name(index::kMetricNames, a->metric, "metric (--metric)");
    auto built = index::FaissIndex::build(a->embeddings, o);
    built.save(a->out);
    const auto& info = built.info();
    const auto& r = info.options;
    std::string params;
    if (r.kind == index::IndexKind::kHnsw)
      params = "; M " + std::to_string(r.hnsw_m) + ", efConstruction " +
               std::to_string(r.ef_construction) + ", efSearch " + std::to_string(r.ef_search);
    if (r.kind == index::IndexKind::kIvf)
      params = "; nlist " + std::to_string(r.nlist) + ", nprobe " + std::to_string(r.nprobe) +
               ", trained on " + std::to_string(r.train_points) + " vectors";
    std::printf("built %s index (%s%s) over %lld vectors of dimension %lld in %.2f s -> %s\n",
                a->type.c_str(), a->metric.c_str(), params.c_str(), (long long)info.count,
                (long long)info.dim, info.build_seconds, a->out.c_str());
    if (!info.ids.empty())
      std::printf("items: %s\n", info.ids.c_str());
    else
      std::printf("items: none (%s not found; search prints row numbers only)\n",
                  index::items_path_for(info.embeddings).c_str());
    return 0;
  };
}

}  // namespace contra::app
