#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contra/config/run_config.h"
#include "contra/methods/registry.h"

namespace contra::run {

class Task;
struct ResolvedRun;

/// The per-machine auto-tuner (model.channels_last: auto, model.encode_chunk: auto): before
/// training, a few candidate settings are timed on the run's own model and batch shape and the
/// fastest kept, unless it is not clearly faster than the default. The choice is cached per
/// machine and model shape (autotune_cache_path), written into the run folder's config.yaml (so
/// a resumed run, evaluation and export build the same model) and reported in the log, the
/// checkpoint and summary.json (`autotune`).
///
/// What is tuned and why these candidates:
/// - channels_last {true (the default), false}: oneDNN's channels-last convolutions win where
///   its AVX-512 kernels run and lose on some AVX2-only CPUs (plain NCHW was 18% faster on a
///   Zen 3). Conv encoders only: image and image-text runs.
/// - encode_chunk {64 (the default), 32, 128, 0 = whole view}: the images per encoder pass (and
///   batch-norm group). Chunks that equal the whole view are dropped as duplicates; MoCo with
///   shuffle_bn keeps to [1, batch); not tuned with train.grad_cache (there it is the memory
///   bound the user chose; auto means 64). Changing it changes the batch-norm groups, which is
///   what the chosen setting itself changes.
/// The thread split (threads vs data.workers) is not tuned: the intra-op thread count changes
/// the order of floating-point sums in some kernels, so the results would depend on the
/// machine's measurement; and measuring it honestly needs the loader running for more steps
/// than its prefetch depth (many seconds per candidate).

/// One candidate setting.
struct TuneSettings {
  bool channels_last = config::ModelConfig::kDefaultChannelsLast;
  int64_t encode_chunk = config::ModelConfig::kDefaultEncodeChunk;
  bool operator==(const TuneSettings& o) const {
    return channels_last == o.channels_last && encode_chunk == o.encode_chunk;
  }
};
nlohmann::json to_json(const TuneSettings& s);
/// e.g. "channels_last=true encode_chunk=64".
std::string describe(const TuneSettings& s);

/// The candidates of each setting, the default (kept unless another is clearly faster) first.
/// One candidate: the setting is fixed (given explicitly, or without effect on this run).
struct TuneSpace {
  std::vector<bool> channels_last{config::ModelConfig::kDefaultChannelsLast};
  std::vector<int64_t> encode_chunk{config::ModelConfig::kDefaultEncodeChunk};
  bool explicit_channels_last = false;  ///< set in the config (else auto, or not applicable)
  bool explicit_encode_chunk = false;
  /// Whether anything is to be measured.
  bool measured() const { return channels_last.size() > 1 || encode_chunk.size() > 1; }
  TuneSettings start() const { return {channels_last.front(), encode_chunk.front()}; }
};

/// The space of a run: `rank_batch` images per view per process; with `grad_cache` the chunk is
/// not tuned. Throws contra::Error when auto leaves no valid chunk (MoCo's shuffle_bn with a
/// batch of 1).
TuneSpace tune_space(const config::RunConfig& cfg, methods::Modality modality, int64_t rank_batch,
                     bool grad_cache);

/// Bounds of the measurement.
struct TuneOptions {
  int warmup_steps = 2;       ///< untimed forward+backward steps per candidate
  int timed_steps = 3;        ///< timed steps per candidate
  double max_seconds = 15;    ///< no candidate is started once this much time has passed
  /// A candidate replaces the current choice only when more than this share faster (noise).
  double min_gain = 0.05;
};

/// One candidate's measured speed.
struct TuneMeasurement {
  TuneSettings settings;
  double steps_per_s = 0;
};

/// The tuner's outcome, as the log, the checkpoint, the cache and summary.json record it.
struct TuneResult {
  bool cached = false;      ///< taken from the cache file (nothing measured)
  double seconds = 0;       ///< spent measuring
  bool complete = true;     ///< every candidate measured (false: stopped by max_seconds)
  std::vector<TuneMeasurement> candidates;  ///< in the order measured
  TuneSettings chosen;
  bool explicit_channels_last = false, explicit_encode_chunk = false;
};
nlohmann::json to_json(const TuneResult& r);
/// The inverse of to_json; throws contra::Error for a malformed record.
TuneResult tune_result_from_json(const nlohmann::json& j);

/// The decision, from measurements only: the index of the chosen candidate among
/// `steps_per_s`, whose first entry is the incumbent (the current choice). The fastest wins
/// when it is more than `min_gain` faster than the incumbent, else the incumbent stays; among
/// equal speeds the earlier candidate wins. Deterministic: same measurements, same answer.
size_t pick_candidate(const std::vector<double>& steps_per_s, double min_gain);

/// Coordinate search over `space`: channels_last first, then encode_chunk. For each setting
/// with several candidates, every candidate value is measured with the other setting at its
/// current choice (the incumbent's measurement is reused when the same settings were measured
/// before), and pick_candidate decides. `measure(settings)` returns steps/s; `now()` is a clock
/// in seconds: once options.max_seconds have passed since the start, no further candidate is
/// measured and the choices so far stand (complete = false). At most 1 + 1 + 3 = 5
/// measurements.
TuneResult coordinate_search(const TuneSpace& space,
                             const std::function<double(const TuneSettings&)>& measure,
                             const std::function<double()>& now, const TuneOptions& options);

/// Runs `step` `warmup` times untimed, then `timed` times between two readings of `now()`
/// (seconds); returns steps per second (a huge value when no time passed).
double time_steps(const std::function<void()>& step, int warmup, int timed,
                  const std::function<double()>& now);

/// The cache file: autotune.json in data::default_cache_dir() ($XDG_CACHE_HOME/contra, else
/// ~/.cache/contra).
std::string autotune_cache_path();

/// What a measurement depends on besides the model: the CPU (model name, the vector ISA flags
/// that select kernels), the ISA oneDNN and OpenBLAS actually use (core/runtime.h kernel_isa),
/// the environment variables that restrict them, and the intra-op thread count.
nlohmann::json machine_key();
/// What it depends on in the run: method, encoder and widths, head, image shape after
/// augmentation, per-process batch, processes, device, loss, gradient cache, and the space.
nlohmann::json model_key(const ResolvedRun& run, std::pair<int64_t, int64_t> image_shape,
                         const TuneSpace& space);

/// The cached result for `key` in the file at `path`; nullopt when absent. A file that cannot be
/// read or parsed is no error: `warning` (when given) is set and nullopt returned.
std::optional<TuneResult> read_cached_tune(const std::string& path, const nlohmann::json& key,
                                           std::string* warning = nullptr);
/// Adds (or replaces) `key`'s result in the file, atomically; the newest 64 entries are kept.
/// A file that cannot be written only sets `warning`.
void write_cached_tune(const std::string& path, const nlohmann::json& key, const TuneResult& result,
                       std::string* warning = nullptr);

/// A timer for run_autotune: given a candidate and one step of it, returns its steps/s (the
/// real one: time_steps with the options' step counts on a steady clock).
using TuneTimer = std::function<double(const TuneSettings&, const std::function<void()>& step)>;

/// The tuner of a run (leading process), after task.open(): with space.measured(), looks the
/// machine and model up in the cache at `cache_path` (empty: no cache) and otherwise measures
/// each candidate on a throwaway method that `task` builds with the candidate's settings,
/// forward and backward (the gradient cache's step where the run uses it) on one batch from a
/// fresh source of the task (its batch 0; no draw from any generator of the run), then restores
/// the global generators. Prints one line per candidate and the choice. The task is left with
/// the chosen settings applied.
TuneResult run_autotune(Task& task, const ResolvedRun& run, const TuneSpace& space,
                        const TuneOptions& options, const std::string& cache_path,
                        const TuneTimer& timer = nullptr);

/// Writes `s` into the config's model settings.
void apply_settings(const TuneSettings& s, config::RunConfig& cfg);

}  // namespace contra::run
