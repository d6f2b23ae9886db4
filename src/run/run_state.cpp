#include "contra/run/run_state.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

namespace contra::run {
namespace {
// The names in the checkpoint file (kept from the first release so older runs still resume).
constexpr const char* kRngCpu = "rng_cpu";
constexpr const char* kRngCuda = "rng_cuda";
constexpr const char* kSkipped = "skipped_steps";
constexpr const char* kController = "adaptive";
constexpr const char* kTimeBudget = "time_budget";
constexpr const char* kAutotune = "autotune";
}  // namespace

RunState capture_run_state(int64_t step, int64_t epoch, int64_t skipped_steps,
                           const methods::Method& method, const c10::Device& device) {
  RunState s;
  s.step = step;
  s.epoch = epoch;
  s.skipped_steps = skipped_steps;
  s.rng_cpu = train::cpu_rng_state();
  if (device.is_cuda()) s.rng_cuda = train::cuda_rng_state(device);
  s.method = method.state();
  return s;
}

void restore_run_state(const RunState& state, methods::Method& method, const c10::Device& device) {
  if (state.rng_cpu.defined()) train::set_cpu_rng_state(state.rng_cpu);
  if (state.rng_cuda.defined() && device.is_cuda()) train::set_cuda_rng_state(device, state.rng_cuda);
  method.load_state(state.method);
}

train::CheckpointState to_checkpoint_state(const RunState& state) {
  train::CheckpointState c{state.step, state.epoch, {}};
  if (state.rng_cpu.defined()) c.extra[kRngCpu] = state.rng_cpu;
  if (state.rng_cuda.defined()) c.extra[kRngCuda] = state.rng_cuda;
  c.extra[kSkipped] = torch::tensor(state.skipped_steps, torch::kLong);
  if (!state.method.controller.empty())
    c.extra[kController] = torch::tensor(state.method.controller, torch::kDouble);
  if (const auto& p = state.time_budget)
    c.extra[kTimeBudget] = torch::tensor({p->budget_s, double(p->planned_at_step), p->planned_at_s,
                                          p->steps_per_s, p->monitor_s, double(p->total_steps),
                                          double(p->replanned_at_step), p->remeasured_steps_per_s},
                                         torch::kDouble);
  if (const auto& a = state.autotune) {
    const std::string text = to_json(*a).dump();
    c.extra[kAutotune] = torch::from_blob(const_cast<char*>(text.data()), {int64_t(text.size())}, torch::kUInt8).clone();
  }
  return c;
}

RunState from_checkpoint_state(const train::CheckpointState& c) {
  RunState s;
  s.step = c.step;
  s.epoch = c.epoch;
  auto find = [&](const char* name) {
    auto it = c.extra.find(name);
    return it == c.extra.end() ? at::Tensor() : it->second;
  };
  s.rng_cpu = find(kRngCpu);
  s.rng_cuda = find(kRngCuda);
  if (auto t = find(kSkipped); t.defined()) s.skipped_steps = t.item<int64_t>();
  if (auto t = find(kController); t.defined()) {
    auto d = t.to(torch::kDouble).contiguous();
    s.method.controller.assign(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  }
  if (auto t = find(kTimeBudget); t.defined() && (t.numel() == 6 || t.numel() == 8)) {  // 6: before re-planning
    auto d = t.to(torch::kDouble).contiguous();
    const double* v = d.data_ptr<double>();
    TimeBudgetPlan p;
    p.budget_s = v[0];
    p.planned_at_step = int64_t(v[1]);
    p.planned_at_s = v[2];
    p.steps_per_s = v[3];
    p.monitor_s = v[4];
    p.total_steps = int64_t(v[5]);
    if (t.numel() == 8) {
      p.replanned_at_step = int64_t(v[6]);
      p.remeasured_steps_per_s = v[7];
    }
    s.time_budget = p;
  }
  if (auto t = find(kAutotune); t.defined() && t.scalar_type() == torch::kUInt8) {
    auto bytes = t.contiguous();
    const auto* b = bytes.data_ptr<uint8_t>();
    s.autotune = tune_result_from_json(nlohmann::json::parse(std::string(b, b + bytes.numel())));
  }
  return s;
}

}  // namespace contra::run
