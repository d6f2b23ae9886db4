// contra embed --run DIR --data SPEC --out FILE.npy: a trained encoder's embeddings of a
// collection, streamed chunk by chunk into FILE.npy, FILE.jsonl (one line per row: index, id,
// path, label) and FILE.json (what made them).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "contra/core/error.h"
#include "contra/core/files.h"
#include "contra/data/items.h"
#include "contra/index/npy.h"
#include "contra/run/encoder.h"

namespace contra::app {
namespace {

struct EmbedArgs {
  std::string run, data, out, output = "encoder", device = "cpu";
  int64_t batch = 0, threads = 0;
  int pairs_column = 1;
};

/// A text file streamed to a temporary name and renamed into place by commit().
class AtomicText {
 public:
  explicit AtomicText(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp"), out_(tmp_) {
    CONTRA_CHECK(out_.good(), "cannot write ", tmp_);
  }
  ~AtomicText() {
    if (!committed_) std::filesystem::remove(tmp_);
  }
  std::ofstream& stream() { return out_; }
  void commit() {
    out_.close();
    CONTRA_CHECK(!out_.fail(), "cannot write ", tmp_);
    std::filesystem::rename(tmp_, path_);
    committed_ = true;
  }

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

int run_embed(const EmbedArgs& a) {
  using Clock = std::chrono::steady_clock;
  CONTRA_CHECK(a.out.size() > 4 && a.out.compare(a.out.size() - 4, 4, ".npy") == 0,
               "--out must name a .npy file (FILE.jsonl and FILE.json are written beside it), got '", a.out, "'");
  CONTRA_CHECK(a.output == "encoder" || a.output == "head", "--output must be encoder or head, got '", a.output, "'");
  const auto t0 = Clock::now();
  const Encoder encoder = Encoder::load(a.run, EncoderOptions().device(a.device).head(a.output == "head")
                                                   .batch_size(a.batch).threads(a.threads));
  data::ItemStreamOptions options;
  options.channels = encoder.image_channels();
  options.size = encoder.image_size();
  options.pairs_column = a.pairs_column;
  if (encoder.config().data.dataset == "fashion_mnist") options.fashion_mnist_dir = encoder.config().data.path;
  auto items = data::open_items(a.data, options);
  const bool texts = items->is_text();
  CONTRA_CHECK(texts ? encoder.takes_text() : encoder.takes_images(), "--data ", a.data, " holds ",
               texts ? "text" : "images", ", but the run in ", a.run, " embeds ",
               encoder.takes_text() ? "text" : "images");

  const std::string base = a.out.substr(0, a.out.size() - 4);
  const int64_t dim = texts ? encoder.text_dim() : encoder.dim();
  index::NpyWriter npy(a.out, dim);
  AtomicText ids(base + ".jsonl");
  const int64_t chunk = a.batch > 0 ? a.batch : encoder.config().eval.batch_size;
  const auto classes = items->class_names();
  data::ItemChunk c;
  int64_t n = 0;
  std::printf("embedding %s with %s (%s output, dim %lld)\n", a.data.c_str(), a.run.c_str(),
              a.output.c_str(), (long long)dim);
  std::fflush(stdout);
  while (items->next(chunk, c)) {
    npy.append(texts ? encoder.embed_texts(c.texts) : encoder.embed_images(c.images));
    for (const auto& info : c.info) {
      nlohmann::json line = {{"index", n++}, {"id", info.id}};
      if (!info.path.empty()) line["path"] = info.path;
      line["label"] = info.label;
      if (info.label >= 0 && size_t(info.label) < classes.size()) line["class"] = classes[size_t(info.label)];
      ids.stream() << line.dump() << '\n';
    }
  }
  CONTRA_CHECK(n > 0, "--data ", a.data, ": nothing to embed");
  npy.close();
  ids.commit();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  nlohmann::json meta = encoder.describe();
  meta["data"] = a.data;
  meta["items"] = texts ? "text" : "images";  // which tower (image-text runs) and modality
  meta["dim"] = dim;
  meta["count"] = n;
  meta["embeddings"] = std::filesystem::path(a.out).filename().string();
  meta["ids"] = std::filesystem::path(base + ".jsonl").filename().string();
  meta["class_names"] = classes;
  meta["seconds"] = seconds;
  write_file_atomically(base + ".json", meta.dump(2) + "\n");
  std::printf("embedded %lld items in %.1f s (%.0f items/s): %s, %s.jsonl, %s.json\n", (long long)n, seconds,
              double(n) / seconds, a.out.c_str(), base.c_str(), base.c_str());
  return 0;
}

}  // namespace

Action add_embed(CLI::App& app) {
  auto* cmd = app.add_subcommand("embed", "embed a collection with a trained run's encoder (.npy + .jsonl)");
  auto a = std::make_shared<EmbedArgs>();
  cmd->add_option("--run", a->run, "run folder written by contra train")->required();
  cmd->add_option("--data", a->data,
                  "what to embed: fashion_mnist:train|test, idx:IMAGES[,LABELS], folder:DIR, text:FILE, pairs:FILE")
      ->required();
  cmd->add_option("--out", a->out, "embeddings file FILE.npy (FILE.jsonl, FILE.json beside it)")->required();
  cmd->add_option("--output", a->output, "encoder (features, as evaluated; default) or head (projection head)");
  cmd->add_option("--batch", a->batch, "items per forward pass (default: the run's eval.batch_size)");
  cmd->add_option("--pairs-column", a->pairs_column, "pairs:FILE: the column to embed (1, 2 or 3; default 1)");
  cmd->add_option("--device", a->device, "cpu (default) or cuda");
  cmd->add_option("--threads", a->threads, "intra-op threads (default: the run's setting)");
  return [a]() { return run_embed(*a); };
}

}  // namespace contra::app
