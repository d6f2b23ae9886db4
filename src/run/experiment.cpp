#include "contra/run/experiment.h"

#include <chrono>
#include <cstdio>
#include <csignal>
#include <filesystem>
#include <functional>
#include <optional>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/augment/pipeline.h"
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/core/rng.h"
#include "contra/core/runtime.h"
#include "contra/data/fashion_mnist.h"
#include "contra/data/image_folder.h"
#include "contra/data/loader.h"
#include "contra/dist/group.h"
#include "contra/dist/reducer.h"
#include "contra/models/batch_norm.h"
#include "contra/eval/knn.h"
#include "contra/eval/linear_probe.h"
#include "contra/methods/grad_cache.h"
#include "contra/methods/simclr.h"
#include "contra/run/checkpoints.h"
#include "contra/run/run_dir.h"
#include "contra/run/stop_signal.h"
#include "contra/run/resolve.h"
#include "contra/run/text_experiment.h"
#include "contra/train/checkpoint.h"

namespace contra::run {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

data::ImageDataset slice(const data::ImageDataset& d, int64_t begin, int64_t end) {
  data::ImageDataset out;
  out.images = d.images.slice(0, begin, end).contiguous();
  out.labels = d.labels.slice(0, begin, end).contiguous();
  out.class_names = d.class_names;
  return out;
}

/// Frozen-encoder features of all images, in eval mode, batch by batch.
torch::Tensor embed(methods::TwoViewMethod& model, const data::ImageDataset& d,
                    const config::RunConfig& cfg, torch::Device device) {
  torch::NoGradGuard no_grad;
  model.eval();
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < d.size(); i += cfg.eval.batch_size) {
    auto u8 = d.images.slice(0, i, std::min(d.size(), i + cfg.eval.batch_size));
    auto x = augment::normalize_images(u8, cfg.augment.mean, cfg.augment.std).to(device);
    parts.push_back(model.features(x).to(torch::kCPU));
  }
  model.train();
  return torch::cat(parts, 0);
}

EvalResult evaluate(methods::TwoViewMethod& model, const Datasets& data, const config::RunConfig& cfg,
                    torch::Device device) {
  EvalResult r;
  r.done = true;
  r.split = cfg.eval.split;
  auto t0 = Clock::now();
  CONTRA_CHECK((data.train.labels >= 0).all().item<bool>() &&
                   (data.evaluation.labels >= 0).all().item<bool>(),
               "evaluation needs labels for every image");
  auto train_f = embed(model, data.train, cfg, device);
  auto eval_f = embed(model, data.evaluation, cfg, device);
  r.embed_s = since(t0);
  r.knn_acc = eval::knn_accuracy(
      train_f, data.train.labels, eval_f, data.evaluation.labels,
      eval::KnnOptions().k(cfg.eval.knn_k).temperature(cfg.eval.knn_temperature));
  if (cfg.eval.linear) {
    auto probe = eval::linear_probe(train_f, data.train.labels, eval_f, data.evaluation.labels,
                                    eval::LinearProbeOptions().seed(cfg.seed));
    r.linear_acc = probe.test_accuracy;
    r.linear_val_acc = probe.val_accuracy;
    r.linear_l2 = probe.l2;
  }
  r.eval_s = since(t0);
  return r;
}

/// Mixed supervision: keeps each label with probability `fraction` (seeded per sample), -1
/// elsewhere. Only the contrastive loss sees the result; evaluation keeps every label.
torch::Tensor keep_label_fraction(const torch::Tensor& labels, double fraction, uint64_t seed) {
  auto out = labels.clone();
  auto* y = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < out.numel(); ++i)
    if (!Rng(derive_seed(seed, uint64_t(i), 0x6c6162656c73ull /* "labels" */)).bernoulli(fraction))
      y[i] = -1;
  return out;
}

nlohmann::json eval_json(const EvalResult& e) {
  nlohmann::json j;
  j["eval_split"] = e.split;
  j["knn_acc"] = e.knn_acc;
  j["linear_acc"] = e.linear_acc >= 0 ? nlohmann::json(e.linear_acc) : nlohmann::json();
  j["linear_l2"] = e.linear_l2;
  j["linear_val_acc"] = e.linear_val_acc >= 0 ? nlohmann::json(e.linear_val_acc) : nlohmann::json();
  j["embed_s"] = e.embed_s;
  j["eval_s"] = e.eval_s;
  return j;
}

}  // namespace

Datasets load_datasets(const config::RunConfig& cfg) {
  Datasets out;
  data::ImageDataset train, test;
  const bool want_test = cfg.eval.split == "test";
  if (cfg.data.dataset == "fashion_mnist") {
    train = data::load_fashion_mnist(cfg.data.path, data::Split::kTrain);
    if (want_test) test = data::load_fashion_mnist(cfg.data.path, data::Split::kTest);
  } else {
    auto opts = data::ImageFolderOptions();
    opts.size = cfg.data.image_size;
    opts.channels = cfg.data.channels;
    train = data::load_image_folder(cfg.data.path, opts);
    if (want_test) {
      CONTRA_CHECK(!cfg.data.test_path.empty(),
                   "data.test_path must name the evaluation folder when data.dataset is "
                   "image_folder and eval.split is test (or set eval.split=val)");
      test = data::load_image_folder(cfg.data.test_path, opts);
    }
  }
  if (!want_test) {
    const int64_t n = train.size(), v = cfg.eval.val_size;
    CONTRA_CHECK(v < n, "eval.val_size (", v, ") must be smaller than the training set (", n, ")");
    test = slice(train, n - v, n);
    train = slice(train, 0, n - v);
  }
  if (cfg.data.limit > 0 && cfg.data.limit < train.size()) train = slice(train, 0, cfg.data.limit);
  CONTRA_CHECK(cfg.train.batch_size <= train.size(), "train.batch_size (", cfg.train.batch_size,
               ") is larger than the training set (", train.size(), " images)");
  out.train = std::move(train);
  out.evaluation = std::move(test);
  return out;
}

namespace {

/// Trains in the run folder `path`. With a process group, every rank trains its shard of each
/// global batch and only rank 0 (which alone has `dir`) writes the folder and evaluates.
RunResult train_in(const config::RunConfig& cfg, std::optional<RunDir> dir, const std::string& path,
                   bool resume, const std::shared_ptr<dist::Group>& group) {
  const bool lead = !group || group->rank() == 0;
  const int64_t world = group ? group->size() : 1;
  const auto t_start = Clock::now();
  const int threads = set_threads(int(cfg.threads));
  torch::manual_seed(cfg.seed);
  const torch::Device device = resolve_device(cfg.device);

  Datasets data = load_datasets(cfg);
  if (lead && !resume) dir->write_file("config.yaml", config::to_yaml(cfg));
  const Checkpoints checkpoints(path, cfg.train.keep_checkpoints);

  const int64_t channels = data.train.images.size(1);
  std::shared_ptr<methods::TwoViewMethod> model = make_method(cfg, channels);
  model->to(device);
  auto optimizer = train::make_optimizer(model->trainable_parameters(), optimizer_options(cfg));
  train::CheckpointState start;
  int64_t start_skipped = 0;  // steps skipped for non-finite values before the checkpoint
  if (resume) {  // every rank reads the checkpoint (several machines: a shared run folder)
    start = checkpoints.load_latest(*model, optimizer.get());
    if (auto it = start.extra.find("rng_cpu"); it != start.extra.end()) train::set_cpu_rng_state(it->second);
    // A CUDA run's dropout and shuffles draw on the GPU's generator; a checkpoint from a CPU run
    // (or from before it was saved) has none, and the generator keeps its seed.
    if (auto it = start.extra.find("rng_cuda"); it != start.extra.end() && device.is_cuda())
      train::set_cuda_rng_state(device, it->second);
    if (auto it = start.extra.find("skipped_steps"); it != start.extra.end())
      start_skipped = it->second.item<int64_t>();
    if (lead) dir->keep_metrics_through(start.step);
  }
  std::optional<dist::GradientReducer> reducer;
  if (group) {
    dist::broadcast_module(*model, *group);  // one initial state, whatever each rank drew
    model->set_collective(group);
    if (cfg.dist.sync_bn) models::synchronise_batch_norm(*model, group);
    reducer.emplace(model->trainable_parameters(), group);
  }

  data::ImageDataset contrastive = data.train;  // shares the images
  if (model->objective().kind() == methods::TwoViewLoss::kSupCon)
    contrastive.labels = keep_label_fraction(data.train.labels, cfg.loss.label_fraction, cfg.seed);
  data::TwoViewLoader loader(contrastive, augment::Pipeline(pipeline_options(cfg)),
                             data::LoaderOptions(cfg.train.batch_size)
                                 .seed(cfg.seed)
                                 .workers(cfg.data.workers)
                                 .prefetch(cfg.data.prefetch)
                                 .rank(group ? group->rank() : 0)
                                 .world_size(world),
                             /*start_batch=*/start.step);
  const auto schedule = schedule_options(cfg, loader.batches_per_epoch());
  if (lead) {
    std::printf("contra: %s on %s, %lld training images, %lld steps of batch %lld, %d threads, "
                "run folder %s\n",
                cfg.method.c_str(), cfg.data.dataset.c_str(), (long long)data.train.size(),
                (long long)schedule.total_steps(), (long long)cfg.train.batch_size, threads,
                path.c_str());
    if (group)
      std::printf("%lld processes (c10d, Gloo): %lld samples of each batch per process\n",
                  (long long)world, (long long)(cfg.train.batch_size / world));
    std::fflush(stdout);
  }

  train::TrainerHooks hooks;
  if (cfg.train.grad_cache) {
    auto* simclr = dynamic_cast<methods::SimCLRImpl*>(model.get());
    CONTRA_CHECK(simclr != nullptr, "train.grad_cache supports method simclr, not ", cfg.method);
    hooks.loss_and_backward = [&, simclr](const data::TwoViewBatch& b) {
      return methods::simclr_grad_cache(*simclr, b.view1.to(device), b.view2.to(device),
                                        b.label.to(device));
    };
  } else {
    hooks.loss = [&](const data::TwoViewBatch& b) {
      return model->forward(b.view1.to(device), b.view2.to(device), b.label.to(device));
    };
  }
  std::optional<negatives::AdaptiveHardness> adaptive;
  if (cfg.loss.adaptive) {
    adaptive.emplace(adaptive_options(cfg));
    if (auto it = start.extra.find("adaptive"); it != start.extra.end()) {
      auto t = it->second.to(torch::kDouble).contiguous();
      adaptive->restore(std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel()));
      model->objective().hard_beta(adaptive->beta());
    }
  }
  if (reducer) {
    hooks.after_backward = [&] { reducer->average(); };
    hooks.agree_stop = [&](bool asked) { return group->any(asked); };
  }
  hooks.after_step = [&](int64_t step, const losses::ContrastiveOutput& out) {
    if (group) group->mark_step(step);
    model->after_step(step, schedule.total_steps());
    if (adaptive)
      model->objective().hard_beta(
          adaptive->update(out.loss.item<double>(), out.positive_sim - out.negative_sim));
  };
  if (lead) hooks.on_log = [&](const train::StepRecord& r) {
    nlohmann::json line = {{"step", r.stats.step},
                           {"epoch", r.stats.epoch},
                           {"loss", r.stats.loss},
                           {"lr", r.stats.lr},
                           {"pairs_per_s", r.stats.pairs_per_s},
                           {"data_wait", r.stats.data_wait},
                           {"pos_sim", r.diagnostics.positive_sim},
                           {"neg_sim", r.diagnostics.negative_sim},
                           {"top1", r.diagnostics.top1},
                           {"active", r.diagnostics.active},
                           {"skipped_steps", r.skipped_steps}};
    // The beta that the next step uses (hard_negative runs, fixed or adaptive).
    if (model->objective().kind() == methods::TwoViewLoss::kHardNegative)
      line["hard_beta"] = model->objective().hard_beta();
    for (const auto& [name, value] : model->step_metrics()) line[name] = value;
    if (group) line["comm_s"] = group->comm_seconds();
    dir->append_metrics(line);
  };
  hooks.on_checkpoint = [&](int64_t step, int64_t epoch, int64_t skipped) {
    if (group) dist::average_buffers(*model, *group);
    if (!lead) return;
    train::CheckpointState state{step, epoch, {}};
    state.extra["rng_cpu"] = train::cpu_rng_state();
    if (device.is_cuda()) state.extra["rng_cuda"] = train::cuda_rng_state(device);
    state.extra["skipped_steps"] = torch::tensor(skipped, torch::kLong);
    if (adaptive) {
      auto s = adaptive->state();
      state.extra["adaptive"] = torch::tensor(s, torch::kDouble);
    }
    checkpoints.save(*model, optimizer.get(), state);
  };
  StopOnSignal stop;
  auto options = train::TrainerOptions(schedule)
                     .log_every(cfg.train.log_every)
                     .checkpoint_every(cfg.train.checkpoint_every)
                     .interactive(isatty(fileno(stdout)) == 1)
                     .start_step(start.step)
                     .stop(&stop.flag())
                     .world_size(world)
                     .quiet(!lead)
                     .nonfinite(train::nonfinite_policy_from_string(cfg.train.nonfinite))
                     .max_skipped_steps(cfg.train.max_skipped_steps)
                     .start_skipped_steps(start_skipped);

  RunResult result;
  result.dir = path;
  if (resume && lead)
    std::printf("resuming at step %lld of %lld\n", (long long)start.step, (long long)schedule.total_steps());
  result.train = train::fit(*model, loader, *optimizer, options, hooks);
  if (result.train.interrupted) {
    result.stop_signal = stop.signal() != 0 ? stop.signal() : SIGTERM;  // a rank that was told by another
    if (lead) std::printf("stopped at step %lld (checkpoint written); continue with: contra train --resume %s\n",
                (long long)result.train.steps, path.c_str());
    std::fflush(stdout);
    return result;
  }
  if (!lead) {  // rank 0 evaluates and writes the summary; wait for it to finish
    group->finish();
    return result;
  }
  std::printf("trained %lld steps in %.1f s: %.1f pairs/s, data wait %.1f%%\n",
              (long long)result.train.steps, result.train.wall_s, result.train.pairs_per_s,
              100.0 * result.train.data_wait_fraction);
  std::fflush(stdout);
  nlohmann::json summary = nlohmann::json::object();
  if (cfg.eval.enabled) {
    result.eval = evaluate(*model, data, cfg, device);
    summary = eval_json(result.eval);
  }
  summary["method"] = cfg.method;
  summary["steps"] = result.train.steps;
  summary["wall_s"] = result.train.wall_s;
  summary["pairs_per_s"] = result.train.pairs_per_s;
  summary["final_loss"] = result.train.final_loss;
  summary["skipped_steps"] = result.train.skipped_steps;
  summary["data_wait_fraction"] = result.train.data_wait_fraction;
  summary["threads"] = threads;
  summary["device"] = cfg.device;
  summary["train_images"] = data.train.size();
  int64_t parameters = 0;
  for (const auto& p : model->trainable_parameters()) parameters += p.numel();
  summary["parameters"] = parameters;  // trained ones (what the gradient all-reduce moves)
  summary["total_s"] = since(t_start);
  if (group) {
    summary["world_size"] = world;
    summary["comm_s"] = group->comm_seconds();
    summary["comm_fraction"] = result.train.wall_s > 0 ? group->comm_seconds() / result.train.wall_s : 0.0;
  }
  dir->write_file("summary.json", summary.dump(2) + "\n");
  if (group) group->finish();
  return result;
}


/// Runs `body` as one process of the job the environment describes (torchrun's RANK,
/// WORLD_SIZE, ...), or alone; an error on this rank is left in the store for the others to name.
RunResult in_world(const config::RunConfig& cfg,
                   const std::function<RunResult(const std::shared_ptr<dist::Group>&)>& body) {
  const dist::WorldInfo world = dist::world_from_env();
  if (!world.distributed()) return body(nullptr);
  CONTRA_CHECK(!is_text_method(cfg.method), "several processes (WORLD_SIZE=", world.world_size,
               ") support the image methods simclr and moco, not ", cfg.method);
  dist::GroupOptions options;
  options.timeout = std::chrono::milliseconds(int64_t(cfg.dist.timeout_s * 1000));
  auto group = dist::Group::create(world, options);
  try {
    return body(group);
  } catch (const std::exception& e) {
    group->report_error(e.what());
    throw;
  }
}

}  // namespace

RunResult train_and_evaluate(const config::RunConfig& cfg, const std::string& run_path) {
  if (is_text_method(cfg.method) && !dist::world_from_env().distributed())
    return train_and_evaluate_text(cfg, run_path);
  return in_world(cfg, [&](const std::shared_ptr<dist::Group>& group) {
    // Rank 0 names and creates the folder (a default name holds its clock); the others follow.
    std::optional<RunDir> dir;
    if (!group || group->rank() == 0) dir.emplace(RunDir::create(run_path));
    const std::string path = group ? group->share_from_rank0("run_dir", run_path) : run_path;
    return train_in(cfg, std::move(dir), path, /*resume=*/false, group);
  });
}

RunResult resume_run(const std::string& run_path) {
  RunDir dir = RunDir::open(run_path);
  const auto cfg = config::load(dir.file("config.yaml"));
  if (is_text_method(cfg.method) && !dist::world_from_env().distributed())
    return resume_text_run(cfg, std::move(dir));
  return in_world(cfg, [&](const std::shared_ptr<dist::Group>& group) {
    std::optional<RunDir> lead_dir;
    if (!group || group->rank() == 0) lead_dir.emplace(dir);
    return train_in(cfg, std::move(lead_dir), run_path, /*resume=*/true, group);
  });
}

EvalResult evaluate_run(const std::string& run_path) {
  RunDir dir = RunDir::open(run_path);
  config::RunConfig cfg = config::load(dir.file("config.yaml"));
  if (is_text_method(cfg.method)) return evaluate_text_run(cfg, dir);
  set_threads(int(cfg.threads));
  const torch::Device device = resolve_device(cfg.device);
  Datasets data = load_datasets(cfg);
  auto model = make_method(cfg, data.train.images.size(1));
  Checkpoints(dir.path(), cfg.train.keep_checkpoints).load_latest(*model, nullptr);
  model->to(device);
  EvalResult r = evaluate(*model, data, cfg, device);
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
