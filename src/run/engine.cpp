#include "contra/run/engine.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <cstdio>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/config/component_keys.h"
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/dist/reducer.h"
#include "contra/methods/grad_cache.h"
#include "contra/methods/parallel_views.h"
#include "contra/models/batch_norm.h"
#include "contra/run/autotune.h"
#include "contra/run/checkpoints.h"
#include "contra/run/report.h"
#include "contra/run/run_state.h"
#include "contra/run/stop_signal.h"
#include "contra/run/summary.h"
#include "contra/run/task.h"
#include "contra/run/time_budget.h"

namespace contra::run {
namespace {

using Clock = std::chrono::steady_clock;

/// A training run's parts, composed once; the trainer's hooks read them.
struct Engine {
  Engine(const ResolvedRun& r, std::optional<RunDir> d, std::string p, std::shared_ptr<dist::Group> g)
      : run(r), dir(std::move(d)), path(std::move(p)), group(std::move(g)) {}

  ResolvedRun run;  ///< the run's own copy: the auto-tuner writes its choice into the config
  std::optional<RunDir> dir;  ///< the leading process's run folder
  std::string path;
  std::shared_ptr<dist::Group> group;
  Clock::time_point started = Clock::now();
  int threads = 1;
  std::unique_ptr<Task> task;
  std::shared_ptr<methods::Method> method;
  std::unique_ptr<train::Optimizer> optimizer;
  std::unique_ptr<data::BatchSource> source;
  std::optional<dist::GradientReducer> reducer;
  /// model.parallel_views: the two threads that encode the views (made once, kept for the run).
  std::unique_ptr<OneThreadWorkers> view_workers;
  std::optional<Checkpoints> checkpoints;
  RunState start;  ///< where training starts (a resumed run's checkpoint)
  train::ScheduleOptions schedule{0.0, 1};
  /// train.time_budget: the planner while the length is not fixed (leading process), and the plan.
  std::optional<TimeBudgetPlanner> planner;
  std::optional<TimeBudgetPlan> plan;
  /// model.channels_last / model.encode_chunk: how they were set (auto-tuned or explicit).
  std::optional<TuneResult> autotune;

  bool lead() const { return run.lead(); }
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// train.time_budget: a resumed run keeps its plan; otherwise the run goes on provisionally
/// (max_steps, or without end) until the planner has measured the speed and fixed the length.
void plan_time_budget(Engine& e) {
  const auto& t = e.run.config.train;
  if (t.time_budget <= 0) return;
  if (e.start.time_budget) {
    e.plan = e.start.time_budget;
    e.schedule.total_steps(e.plan->total_steps);
    return;
  }
  e.schedule.total_steps(t.max_steps > 0 ? t.max_steps : int64_t(1) << 40);
  if (!e.lead()) return;  // the leading process plans and tells the others
  TimeBudgetOptions o;
  o.budget_s = t.time_budget * 60.0;
  o.min_measure_s = std::min(o.min_measure_s, 0.05 * o.budget_s);  // short budgets measure less
  o.monitor_every = e.run.config.eval.monitor_every;
  o.max_steps = t.max_steps;
  std::function<double()> time_monitor = [&e] {
    const auto t0 = Clock::now();
    e.task->monitor(*e.method);  // timed only; the result is not logged
    return seconds_since(t0);
  };
  e.planner.emplace(o, [&e] { return seconds_since(e.started); }, time_monitor);
}

/// A fresh run: the auto-tuner (leading process; the others take its choice) sets
/// model.channels_last and model.encode_chunk where they are auto, before the method is built,
/// and config.yaml is written again with the values chosen, so that a resumed run and
/// everything that reads the folder build the same model. A resumed run's config.yaml already
/// holds them (its record comes from the checkpoint). Text runs have nothing to tune.
void autotune_settings(Engine& e) {
  if (e.run.modality == methods::Modality::kText) return;  // no convolutions, no image chunks
  const TuneSpace space = tune_space(e.run.config, e.run.modality, e.run.rank_batch, e.run.grad_cache);
  TuneResult r;
  r.chosen = space.start();
  if (e.lead()) r = run_autotune(*e.task, e.run, space, TuneOptions(), autotune_cache_path());
  if (e.group && space.measured()) {  // every process builds the model rank 0 chose
    auto t = torch::tensor({int64_t(r.chosen.channels_last), r.chosen.encode_chunk}, torch::kLong);
    e.group->broadcast_(t);
    r.chosen.channels_last = t[0].item<int64_t>() != 0;
    r.chosen.encode_chunk = t[1].item<int64_t>();
  }
  e.task->use_settings(r.chosen);
  apply_settings(r.chosen, e.run.config);
  e.autotune = r;
  if (e.lead() && space.measured()) e.dir->write_file("config.yaml", config::to_yaml(e.run.config));
}

/// Data, folder, model and optimizer, and on resume the checkpoint's state.
void assemble(Engine& e, bool resume) {
  e.threads = set_threads(int(e.run.config.threads));
  e.task = make_task(e.run);
  e.task->load(/*with_training=*/true);
  if (e.lead() && !resume) {
    e.dir->write_file("config.yaml", config::to_yaml(e.run.config));
    e.task->prepare_folder(e.path);
  }
  if (e.group) e.group->barrier();  // the folder is ready for every process
  e.task->open(e.path);
  if (!resume) autotune_settings(e);
  e.checkpoints.emplace(e.path, e.run.config.train.keep_checkpoints);
  torch::manual_seed(e.run.config.seed);
  e.method = e.task->make_method();
  e.method->to(e.run.device);
  e.optimizer = train::make_optimizer(e.method->trainable_parameters(), e.run.optimizer,
                                      e.method->no_decay_parameters());
  if (resume) {  // every process reads the checkpoint (several machines: a shared run folder)
    e.start = from_checkpoint_state(e.checkpoints->load_latest(*e.method, e.optimizer.get()));
    restore_run_state(e.start, *e.method, e.run.device);
    e.autotune = e.start.autotune;
    if (e.lead()) e.dir->keep_metrics_through(e.start.step);
  }
  e.source = e.task->make_source();
  if (e.start.step > 0) e.source->seek(e.start.step);  // a fresh source starts at batch 0
  e.schedule = e.run.schedule(e.source->batches_per_epoch());
  plan_time_budget(e);
}

/// Several processes: one initial state, global negatives, gradient averaging.
void distribute(Engine& e) {
  if (!e.group) return;
  dist::broadcast_module(*e.method, *e.group);  // whatever each rank drew
  e.method->set_collective(e.group);
  if (e.run.config.dist.sync_bn) models::synchronise_batch_norm(*e.method, e.group);
  e.reducer.emplace(e.method->trainable_parameters(), e.group);
}

/// The step strategy: the method's forward (the trainer back-propagates), or through the
/// method's split step the gradient cache (it back-propagates itself, chunk by chunk) or the two
/// views at once (each worker back-propagates its view).
train::StepSource step_source(Engine& e) {
  train::StepSource s;
  s.backward_done = e.run.grad_cache || e.run.parallel_views;
  if (e.run.parallel_views && !e.view_workers) e.view_workers = std::make_unique<OneThreadWorkers>(2);
  s.batches_per_epoch = e.source->batches_per_epoch();
  s.wait_seconds = [&e] { return e.source->wait_seconds(); };
  s.next = [&e] {
    const data::Batch batch = e.source->next().to(e.run.device);
    train::StepOutput out;
    out.pairs = batch.size();
    out.epoch = batch.epoch;
    if (!e.run.grad_cache && !e.run.parallel_views) {
      out.output = e.method->forward(batch);
      return out;
    }
    auto split = e.method->split_step(batch);
    CONTRA_CHECK(split.has_value(), e.run.grad_cache ? "train.grad_cache" : "model.parallel_views",
                 ": method ", e.run.config.method, " has no split step");
    out.output = e.run.grad_cache ? methods::grad_cache_step(*split)
                                  : methods::parallel_views_step(*split, e.view_workers.get());
    return out;
  };
  return s;
}

train::TrainerHooks hooks(Engine& e) {
  train::TrainerHooks h;
  if (e.reducer) {
    h.after_backward = [&e] { e.reducer->average(); };
    h.agree_stop = [&e](bool asked) { return e.group->any(asked); };
  }
  h.after_step = [&e](int64_t step, const losses::ContrastiveOutput& out) {
    if (e.group) e.group->mark_step(step);
    e.method->after_step(step, e.schedule.total_steps(), out);
  };
  if (e.lead())
    // The online monitor (eval.monitor_every) rides on the metrics line at or after each multiple
    // of monitor_every steps; the leading process only (the others go on training).
    h.on_log = [&e, monitored = std::make_shared<int64_t>(e.start.step)](const train::StepRecord& r) {
      auto line = metrics_line(r, *e.method, e.group.get());
      const int64_t every = e.run.config.eval.monitor_every;
      if (every > 0 && r.stats.step / every > *monitored / every) {
        line.update(e.task->monitor(*e.method));
      }
      *monitored = r.stats.step;
      e.dir->append_metrics(line);
    };
  if (e.run.config.train.time_budget > 0 && !e.plan)
    // Until the plan: every step; then at its checks only (every process knows their steps).
    h.plan_total = [&e](int64_t step) -> std::optional<int64_t> {
      if (e.plan && step != e.plan->check_at_step) return std::nullopt;
      int64_t total = -1, check = 0;
      if (e.planner)
        if (const auto p = e.planner->after_step(step)) total = p->total_steps, check = p->check_at_step;
      if (e.group) {  // every process fixes the same length at the same step
        auto t = torch::tensor({total, check}, torch::kLong);
        e.group->broadcast_(t);
        total = t[0].item<int64_t>(), check = t[1].item<int64_t>();
      }
      if (total < 0) return std::nullopt;
      const bool first = !e.plan, shorter = e.plan && total < e.plan->total_steps;
      e.plan = e.planner ? e.planner->plan() : std::optional<TimeBudgetPlan>(TimeBudgetPlan{});
      e.plan->total_steps = total;
      e.plan->check_at_step = check;
      e.schedule.total_steps(total);
      if (e.lead() && first)
        std::printf("time budget %.1f min: %.2f steps/s measured over the first steps, %lld steps in all\n",
                    e.plan->budget_s / 60.0, e.plan->steps_per_s, (long long)total);
      if (e.lead() && shorter)
        std::printf("time budget: the machine slowed to %.2f steps/s, %lld steps in all\n",
                    e.plan->remeasured_steps_per_s, (long long)total);
      return total;
    };
  h.on_checkpoint = [&e](int64_t step, int64_t epoch, int64_t skipped) {
    if (e.group) dist::average_buffers(*e.method, *e.group);
    if (!e.lead()) return;
    RunState state = capture_run_state(step, epoch, skipped, *e.method, e.run.device);
    state.time_budget = e.plan;
    state.autotune = e.autotune;
    e.checkpoints->save(*e.method, e.optimizer.get(), to_checkpoint_state(state));
  };
  return h;
}

train::TrainerOptions trainer_options(const Engine& e, const StopOnSignal& stop) {
  const auto& t = e.run.config.train;
  return train::TrainerOptions(e.schedule)
      .log_every(t.log_every)
      .checkpoint_every(t.checkpoint_every)
      .interactive(isatty(fileno(stdout)) == 1)
      .start_step(e.start.step)
      .stop(&stop.flag())
      .world_size(e.run.world_size)
      .quiet(!e.lead())
      .nonfinite(e.run.nonfinite)
      .max_skipped_steps(t.max_skipped_steps)
      .start_skipped_steps(e.start.skipped_steps);
}

void print_banner(const Engine& e, bool resume) {
  if (!e.lead()) return;
  const auto& c = e.run.config;
  const std::string length = c.train.time_budget > 0 && !e.plan
                                 ? c10::str("a time budget of ", c.train.time_budget, " min")
                                 : c10::str(e.schedule.total_steps(), " steps");
  std::printf("contra: %s on %s, %s, %s of batch %lld, %d threads, run folder %s\n",
              c.method.c_str(), c.data.dataset.c_str(), e.task->banner().c_str(), length.c_str(),
              (long long)e.run.global_batch, e.threads, e.path.c_str());
  if (e.group)
    std::printf("%lld processes (c10d, Gloo): %lld samples of each batch per process\n",
                (long long)e.run.world_size, (long long)e.run.rank_batch);
  if (resume)
    std::printf("resuming at step %lld of %lld\n", (long long)e.start.step,
                (long long)e.schedule.total_steps());
  std::fflush(stdout);
}

/// report.enabled: the run report, written last. A failure is a warning: the run is complete
/// (checkpoint and summary.json are written) and `contra report` can write it later.
void write_report_at_end(const Engine& e) {
  try {
    const auto r = write_run_report(e.path, "", ReportOptions().map_points(e.run.config.report.map_points));
    std::printf("report: %s (%.1f s)\n", r.path.c_str(), r.seconds);
  } catch (const std::exception& error) {
    std::fprintf(stderr,
                 "warning: the run report could not be written: %s\n"
                 "warning: the run itself is complete (checkpoint and summary.json are written); "
                 "write the report later with: contra report --run %s\n",
                 error.what(), e.path.c_str());
  }
  std::fflush(stdout);
}

/// After the loop: the interrupted run's message, or (leading process) evaluation and
/// summary.json; the other processes wait for the leader to finish.
RunResult finish(Engine& e, RunResult result, const StopOnSignal& stop) {
  if (result.train.interrupted) {
    result.stop_signal = stop.signal() != 0 ? stop.signal() : SIGTERM;  // a rank told by another
    if (e.lead())
      std::printf("stopped at step %lld (checkpoint written); continue with: contra train --resume %s\n",
                  (long long)result.train.steps, e.path.c_str());
    std::fflush(stdout);
    return result;
  }
  if (!e.lead()) {
    e.group->finish();
    return result;
  }
  std::printf("trained %lld steps in %.1f s: %.1f pairs/s, data wait %.1f%%\n",
              (long long)result.train.steps, result.train.wall_s, result.train.pairs_per_s,
              100.0 * result.train.data_wait_fraction);
  std::fflush(stdout);
  result.time_budget = e.plan;
  result.autotune = e.autotune;
  if (e.run.config.eval.enabled) result.eval = e.task->evaluate(*e.method);
  SummaryInputs in{e.run, result, *e.method, *e.task, e.group.get(), e.threads,
                   std::chrono::duration<double>(Clock::now() - e.started).count()};
  e.dir->write_file("summary.json", summary_json(in).dump(2) + "\n");
  if (e.group) e.group->finish();  // the other processes need not wait for the report
  if (e.run.config.report.enabled) write_report_at_end(e);
  return result;
}

EvalResult evaluate_checkpoint_in(const ResolvedRun& run, const RunDir& dir);

}  // namespace

RunResult run_engine(const ResolvedRun& run, std::optional<RunDir> dir, const std::string& path,
                     bool resume, const std::shared_ptr<dist::Group>& group) {
  Engine e{run, std::move(dir), path, group};
  config::with_config_keys([&] { assemble(e, resume); });
  distribute(e);
  print_banner(e, resume);
  StopOnSignal stop;
  RunResult result;
  result.dir = path;
  result.train = train::fit(*e.method, step_source(e), *e.optimizer, trainer_options(e, stop), hooks(e));
  return finish(e, std::move(result), stop);
}

std::shared_ptr<methods::Method> method_for_run(const std::string& run_dir) {
  const RunDir dir = RunDir::open(run_dir);
  const ResolvedRun run = resolve(config::load(dir.file("config.yaml")));
  return config::with_config_keys([&] {
    auto task = make_task(run);
    task->open(dir.path());
    torch::manual_seed(run.config.seed);
    return task->make_method();
  });
}

EvalResult evaluate_checkpoint(const ResolvedRun& run, const RunDir& dir) {
  return config::with_config_keys([&] { return evaluate_checkpoint_in(run, dir); });
}

namespace {
EvalResult evaluate_checkpoint_in(const ResolvedRun& run, const RunDir& dir) {
  set_threads(int(run.config.threads));
  auto task = make_task(run);
  task->load(/*with_training=*/false);
  task->open(dir.path());
  torch::manual_seed(run.config.seed);
  auto method = task->make_method();
  Checkpoints(dir.path(), run.config.train.keep_checkpoints).load_latest(*method, nullptr);
  method->to(run.device);
  return task->evaluate(*method);
}
}  // namespace

}  // namespace contra::run
