#include "contra/run/experiment.h"

#include <filesystem>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "contra/config/load.h"
#include "contra/dist/group.h"
#include "contra/run/engine.h"
#include "contra/run/run_dir.h"
#include "contra/run/summary.h"

namespace contra::run {
namespace {

/// Runs `body` as one process of the job the environment describes (torchrun's RANK,
/// WORLD_SIZE, ...), or alone; an error on this rank is left in the store for the others to name.
RunResult in_world(const config::RunConfig& cfg,
                   const std::function<RunResult(const ResolvedRun&, const std::shared_ptr<dist::Group>&)>& body) {
  const dist::WorldInfo world = dist::world_from_env();
  if (!world.distributed()) return body(resolve(cfg), nullptr);
  dist::GroupOptions options;
  options.timeout = std::chrono::milliseconds(int64_t(cfg.dist.timeout_s * 1000));
  auto group = dist::Group::create(world, options);
  try {
    return body(resolve(cfg, world.rank, world.world_size), group);
  } catch (const std::exception& e) {
    group->report_error(e.what());
    throw;
  }
}

}  // namespace

RunResult train_and_evaluate(const config::RunConfig& cfg, const std::string& run_path) {
  return in_world(cfg, [&](const ResolvedRun& run, const std::shared_ptr<dist::Group>& group) {
    // Rank 0 names and creates the folder (a default name holds its clock); the others follow.
    std::optional<RunDir> dir;
    if (run.lead()) dir.emplace(RunDir::create(run_path));
    const std::string path = group ? group->share_from_rank0("run_dir", run_path) : run_path;
    return run_engine(run, std::move(dir), path, /*resume=*/false, group);
  });
}

RunResult resume_run(const std::string& run_path) {
  RunDir dir = RunDir::open(run_path);
  const auto cfg = config::load(dir.file("config.yaml"));
  return in_world(cfg, [&](const ResolvedRun& run, const std::shared_ptr<dist::Group>& group) {
    std::optional<RunDir> lead_dir;
    if (run.lead()) lead_dir.emplace(dir);
    return run_engine(run, std::move(lead_dir), run_path, /*resume=*/true, group);
  });
}

EvalResult evaluate_run(const std::string& run_path) {
  RunDir dir = RunDir::open(run_path);
  const ResolvedRun run = resolve(config::load(dir.file("config.yaml")));
  EvalResult r = evaluate_checkpoint(run, dir);
  nlohmann::json summary = nlohmann::json::object();
  if (std::filesystem::exists(dir.file("summary.json"))) {
    try {
      summary = nlohmann::json::parse(dir.read_file("summary.json"));
    } catch (const nlohmann::json::exception&) {
      summary = nlohmann::json::object();  // rewritten below
    }
  }
  summary.update(eval_json(r));
  dir.write_file("summary.json", summary.dump(2) + "\n");
  return r;
}

}  // namespace contra::run
