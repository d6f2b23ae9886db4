// The per-machine auto-tuner: candidate space, decision, coordinate search, cache and the
// measurement on a run's real model (run/autotune.h).
#include "contra/run/autotune.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/files.h"
#include "contra/core/runtime.h"
#include "contra/data/image_text_cache.h"
#include "contra/methods/grad_cache.h"
#include "contra/run/resolve.h"
#include "contra/run/task.h"
#include "contra/train/checkpoint.h"

namespace contra::run {
namespace {

constexpr int kAutotuneCacheVersion = 1;
constexpr size_t kAutotuneCacheEntries = 64;

/// The candidate chunks in the order measured, the default first.
const std::vector<int64_t> kAutotuneChunks{config::ModelConfig::kDefaultEncodeChunk, 32, 128, 0};

/// /proc/cpuinfo's first "model name" and the flags that select kernels.
std::pair<std::string, std::string> autotune_cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string model, flags;
  for (std::string line; std::getline(in, line) && (model.empty() || flags.empty());) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(name.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (name == "model name" && model.empty()) model = value;
    if (name == "flags" && flags.empty()) {
      static const std::set<std::string> kept{"avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
                                              "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                                              "amx_tile", "amx_bf16", "avx_vnni"};
      std::istringstream words(value);
      for (std::string w; words >> w;)
        if (kept.count(w)) flags += (flags.empty() ? "" : " ") + w;
    }
  }
  return {model.empty() ? "unknown" : model, flags};
}

std::string autotune_env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

TuneSettings settings_from_json(const nlohmann::json& j) {
  TuneSettings s;
  s.channels_last = j.at("channels_last").get<bool>();
  s.encode_chunk = j.at("encode_chunk").get<int64_t>();
  return s;
}

/// The file's entries (an empty list when it does not exist); throws on a malformed file.
nlohmann::json autotune_entries(const std::string& path) {
  if (!std::filesystem::exists(path)) return nlohmann::json::array();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str());  // throws for bad JSON
  CONTRA_CHECK(j.is_object() && j.value("version", 0) == kAutotuneCacheVersion && j.contains("entries") &&
                   j["entries"].is_array(),
               "not an autotune cache of version ", kAutotuneCacheVersion);
  return j["entries"];
}

double autotune_seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

nlohmann::json to_json(const TuneSettings& s) {
  return {{"channels_last", s.channels_last}, {"encode_chunk", s.encode_chunk}};
}

std::string describe(const TuneSettings& s) {
  return c10::str("channels_last=", s.channels_last ? "true" : "false", " encode_chunk=", s.encode_chunk);
}

void apply_settings(const TuneSettings& s, config::RunConfig& cfg) {
  cfg.model.channels_last = s.channels_last;
  cfg.model.encode_chunk = s.encode_chunk;
}

TuneSpace tune_space(const config::RunConfig& cfg, methods::Modality modality, int64_t rank_batch,
                     bool grad_cache) {
  TuneSpace space;
  const auto& m = cfg.model;
  space.explicit_channels_last = m.channels_last.has_value();
  space.explicit_encode_chunk = m.encode_chunk.has_value();
  space.channels_last = {m.channels_last_or_default()};
  space.encode_chunk = {m.encode_chunk_or_default()};
  // Text encoders have no convolutions and no chunked image passes: nothing to tune.
  if (modality == methods::Modality::kText) return space;
  if (!m.channels_last) space.channels_last.push_back(!config::ModelConfig::kDefaultChannelsLast);
  if (m.encode_chunk || grad_cache) return space;
  const bool shuffle_bn = cfg.method == "moco" && cfg.moco.shuffle_bn;  // chunks in [1, batch)
  auto valid = [&](int64_t k) { return !shuffle_bn || (k >= 1 && k < rank_batch); };
  // A chunk of the whole view or more is the whole view (0), measured once.
  auto effective = [&](int64_t k) { return k == 0 || k >= rank_batch ? 0 : k; };
  std::vector<int64_t> chunks;
  std::set<int64_t> seen;
  for (int64_t k : kAutotuneChunks)
    if (valid(k) && seen.insert(effective(k)).second) chunks.push_back(k);
  if (shuffle_bn && chunks.empty() && rank_batch >= 2) chunks.push_back(rank_batch / 2);
  CONTRA_CHECK(!chunks.empty(), "model.encode_chunk=auto: no valid chunk for method ", cfg.method,
               " with ", rank_batch, " images per view and process; set model.encode_chunk");
  space.encode_chunk = chunks;
  return space;
}

nlohmann::json to_json(const TuneResult& r) {
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& c : r.candidates) {
    auto j = to_json(c.settings);
    j["steps_per_s"] = c.steps_per_s;
    candidates.push_back(j);
  }
  return {{"cached", r.cached},
          {"seconds", r.seconds},
          {"complete", r.complete},
          {"candidates", candidates},
          {"chosen", to_json(r.chosen)},
          {"explicit", {{"channels_last", r.explicit_channels_last}, {"encode_chunk", r.explicit_encode_chunk}}}};
}

TuneResult tune_result_from_json(const nlohmann::json& j) {
  try {
    TuneResult r;
    r.cached = j.at("cached").get<bool>();
    r.seconds = j.at("seconds").get<double>();
    r.complete = j.at("complete").get<bool>();
    for (const auto& c : j.at("candidates")) r.candidates.push_back({settings_from_json(c), c.at("steps_per_s").get<double>()});
    r.chosen = settings_from_json(j.at("chosen"));
    r.explicit_channels_last = j.at("explicit").at("channels_last").get<bool>();
    r.explicit_encode_chunk = j.at("explicit").at("encode_chunk").get<bool>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(c10::str("a malformed autotune record: ", e.what()));
  }
}

size_t pick_candidate(const std::vector<double>& steps_per_s, double min_gain) {
  TORCH_INTERNAL_ASSERT(!steps_per_s.empty());
  size_t best = 0;
  for (size_t i = 1; i < steps_per_s.size(); ++i)
    if (steps_per_s[i] > steps_per_s[best]) best = i;
  return steps_per_s[best] > steps_per_s[0] * (1 + min_gain) ? best : 0;
}

TuneResult coordinate_search(const TuneSpace& space,
                             const std::function<double(const TuneSettings&)>& measure,
                             const std::function<double()>& now, const TuneOptions& options) {
  TuneResult r;
  r.explicit_channels_last = space.explicit_channels_last;
  r.explicit_encode_chunk = space.explicit_encode_chunk;
  r.chosen = space.start();
  if (!space.measured()) return r;
  const double t0 = now();
  // The speed of `s`: measured once, reused by later coordinates; nullopt once out of time.
  auto speed = [&](const TuneSettings& s) -> std::optional<double> {
    for (const auto& c : r.candidates)
      if (c.settings == s) return c.steps_per_s;
    if (!r.candidates.empty() && now() - t0 >= options.max_seconds) return std::nullopt;
    r.candidates.push_back({s, measure(s)});
    return r.candidates.back().steps_per_s;
  };
  // One coordinate: the incumbent (the current choice) first, then the other values.
  auto search = [&](auto values, auto field) {
    if (values.size() < 2) return;
    std::vector<TuneSettings> tried{r.chosen};
    std::vector<double> speeds;
    const auto incumbent = speed(r.chosen);
    if (!incumbent) {
      r.complete = false;
      return;
    }
    speeds.push_back(*incumbent);
    for (const auto& v : values) {
      TuneSettings s = r.chosen;
      s.*field = v;
      if (s == r.chosen) continue;
      const auto x = speed(s);
      if (!x) {
        r.complete = false;
        break;
      }
      tried.push_back(s);
      speeds.push_back(*x);
    }
    r.chosen = tried[pick_candidate(speeds, options.min_gain)];
  };
  search(space.channels_last, &TuneSettings::channels_last);
  search(space.encode_chunk, &TuneSettings::encode_chunk);
  r.seconds = now() - t0;
  return r;
}

double time_steps(const std::function<void()>& step, int warmup, int timed,
                  const std::function<double()>& now) {
  for (int i = 0; i < warmup; ++i) step();
  const double t0 = now();
  for (int i = 0; i < timed; ++i) step();
  const double dt = now() - t0;
  return dt > 0 ? double(timed) / dt : 1e12;
}

std::string autotune_cache_path() {
  return (std::filesystem::path(data::default_cache_dir()) / "autotune.json").string();
}

nlohmann::json machine_key() {
  const auto [model, flags] = autotune_cpu_description();
  const KernelIsa isa = kernel_isa();
  return {{"cpu", model},
          {"flags", flags},
          {"onednn", isa.onednn},
          {"openblas_core", isa.openblas_core},
          {"ONEDNN_MAX_CPU_ISA", autotune_env("ONEDNN_MAX_CPU_ISA")},
          {"DNNL_MAX_CPU_ISA", autotune_env("DNNL_MAX_CPU_ISA")},
          {"OPENBLAS_CORETYPE", autotune_env("OPENBLAS_CORETYPE")},
          {"threads", at::get_num_threads()}};
}

nlohmann::json model_key(const ResolvedRun& run, std::pair<int64_t, int64_t> image_shape,
                         const TuneSpace& space) {
  const auto& c = run.config;
  const int64_t side = c.augment.out_size > 0 ? c.augment.out_size : image_shape.second;
  return {{"method", c.method},
          {"encoder", c.model.encoder},
          {"widths", c.model.widths},
          {"pool_grid", c.model.pool_grid},
          {"fuse_bn_relu", c.model.fuse_bn_relu},
          {"small_stem", c.model.small_stem},
          {"base_width", c.model.base_width},
          {"head", {c.model.head_layers, c.model.head_hidden, c.model.head_dim, c.model.head_batch_norm}},
          {"text_model", {c.text_model.width, c.text_model.layers, c.text_model.heads, c.text_model.ffn, c.text.max_len}},
          {"image", {image_shape.first, side}},
          {"rank_batch", run.rank_batch},
          {"world_size", run.world_size},
          {"device", c.device},
          {"loss", c.loss.name},
          {"grad_cache", run.grad_cache},
          {"channels_last", space.channels_last},
          {"encode_chunk", space.encode_chunk}};
}

std::optional<TuneResult> read_cached_tune(const std::string& path, const nlohmann::json& key,
                                           std::string* warning) {
  try {
    for (const auto& e : autotune_entries(path))
      if (e.at("key") == key) {
        TuneResult r = tune_result_from_json(e.at("result"));
        r.cached = true;
        return r;
      }
  } catch (const std::exception& e) {
    if (warning) *warning = c10::str("the autotune cache ", path, " could not be read (", e.what(), "); measuring again");
  }
  return std::nullopt;
}

void write_cached_tune(const std::string& path, const nlohmann::json& key, const TuneResult& result,
                       std::string* warning) {
  try {
    nlohmann::json entries = nlohmann::json::array();
    try {
      for (const auto& e : autotune_entries(path))
        if (e.is_object() && e.contains("key") && e["key"] != key) entries.push_back(e);
    } catch (const std::exception&) {
      // A corrupt file is replaced.
    }
    entries.push_back({{"key", key}, {"result", to_json(result)}});
    while (entries.size() > kAutotuneCacheEntries) entries.erase(entries.begin());
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_file_atomically(path, nlohmann::json{{"version", kAutotuneCacheVersion}, {"entries", entries}}.dump(1) + "\n");
  } catch (const std::exception& e) {
    if (warning) *warning = c10::str("the autotune cache ", path, " could not be written (", e.what(), ")");
  }
}

TuneResult run_autotune(Task& task, const ResolvedRun& run, const TuneSpace& space,
                        const TuneOptions& options, const std::string& cache_path,
                        const TuneTimer& timer) {
  if (!space.measured()) {
    TuneResult r = coordinate_search(space, nullptr, nullptr, options);
    task.use_settings(r.chosen);
    return r;
  }
  const nlohmann::json key = {{"machine", machine_key()}, {"model", model_key(run, task.image_shape(), space)}};
  std::string warning;
  if (!cache_path.empty()) {
    if (auto hit = read_cached_tune(cache_path, key, &warning)) {
      std::printf("autotune: %s (cached in %s)\n", describe(hit->chosen).c_str(), cache_path.c_str());
      std::fflush(stdout);
      hit->explicit_channels_last = space.explicit_channels_last;
      hit->explicit_encode_chunk = space.explicit_encode_chunk;
      task.use_settings(hit->chosen);
      return *hit;
    }
    if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  // Nothing the run draws later may change: the generators are put back after measuring, and
  // each candidate is a fresh method (its own parameters, batch-norm statistics, gradients).
  const at::Tensor cpu_rng = train::cpu_rng_state();
  const at::Tensor cuda_rng = run.device.is_cuda() ? train::cuda_rng_state(run.device) : at::Tensor();
  std::optional<data::Batch> batch;
  const TuneTimer time_it = timer ? timer : [&options](const TuneSettings&, const std::function<void()>& step) {
    const auto clock0 = std::chrono::steady_clock::now();
    return time_steps(step, options.warmup_steps, options.timed_steps,
                      [clock0] { return autotune_seconds_since(clock0); });
  };
  auto measure = [&](const TuneSettings& s) {
    task.use_settings(s);
    auto method = task.make_method();
    method->to(run.device);
    method->train();
    if (!batch) batch = task.make_source()->next().to(run.device);  // after make_method, as in training
    auto step = [&] {
      method->zero_grad();
      if (run.grad_cache) {
        auto split = method->split_step(*batch);
        CONTRA_CHECK(split.has_value(), "train.grad_cache: method ", run.config.method, " has no split step");
        methods::grad_cache_step(*split);
      } else {
        method->forward(*batch).loss.backward();
      }
    };
    const double speed = time_it(s, step);
    std::printf("autotune: %s: %.3g steps/s\n", describe(s).c_str(), speed);
    std::fflush(stdout);
    return speed;
  };
  const auto clock0 = std::chrono::steady_clock::now();
  TuneResult r;
  try {
    r = coordinate_search(space, measure, [clock0] { return autotune_seconds_since(clock0); }, options);
  } catch (...) {
    train::set_cpu_rng_state(cpu_rng);
    if (cuda_rng.defined()) train::set_cuda_rng_state(run.device, cuda_rng);
    throw;
  }
  train::set_cpu_rng_state(cpu_rng);
  if (cuda_rng.defined()) train::set_cuda_rng_state(run.device, cuda_rng);
  task.use_settings(r.chosen);
  std::printf("autotune: chose %s (%zu candidates measured in %.1f s%s)\n", describe(r.chosen).c_str(),
              r.candidates.size(), r.seconds, r.complete ? "" : ", stopped by the time bound");
  std::fflush(stdout);
  if (!cache_path.empty()) {
    warning.clear();
    write_cached_tune(cache_path, key, r, &warning);
    if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  return r;
}

}  // namespace contra::run
