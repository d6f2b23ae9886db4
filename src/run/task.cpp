#include "contra/run/task.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/eval/fewshot.h"
#include "contra/eval/geometry.h"
#include "contra/eval/linear_probe.h"

namespace contra::run {

nlohmann::json Task::monitor(methods::Method& method) {
  (void)method;
  return nlohmann::json::object();
}

void add_linear_probe(EvalResult& r, const torch::Tensor& train_f, const torch::Tensor& train_y,
                      const torch::Tensor& eval_f, const torch::Tensor& eval_y, uint64_t seed) {
  const auto probe = eval::linear_probe(train_f, train_y, eval_f, eval_y, eval::LinearProbeOptions().seed(seed));
  r.linear_acc = probe.test_accuracy;
  r.linear_val_acc = probe.val_accuracy;
  r.linear_l2 = probe.l2;
}

std::unique_ptr<Task> make_task(const ResolvedRun& run) {
  switch (run.modality) {
    case methods::Modality::kImage: return make_image_task(run);
    case methods::Modality::kText: return make_text_task(run);
    case methods::Modality::kImageText: return make_image_text_task(run);
  }
  TORCH_INTERNAL_ASSERT(false, "a modality without a task");
}

torch::Tensor embed_all(methods::Method& method, int64_t n, int64_t batch_size,
                        const std::function<data::Batch(int64_t, int64_t)>& batch,
                        const c10::Device& device, bool head) {
  torch::NoGradGuard no_grad;
  const bool was_training = method.is_training();
  method.eval();
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < n; i += batch_size) {
    const data::Batch b = batch(i, std::min(n, i + batch_size)).to(device);
    parts.push_back((head ? method.head_embeddings(b) : method.features(b)).cpu());
  }
  method.train(was_training);
  return torch::cat(parts, 0);
}

RepresentationMetrics representation_metrics(const torch::Tensor& features, const torch::Tensor& labels,
                                             const torch::Tensor& view1, const torch::Tensor& view2,
                                             uint64_t seed) {
  RepresentationMetrics m;
  m.measured = true;
  m.geometry = eval::geometry(features, view1, view2, eval::UniformityOptions().seed(seed));
  constexpr int64_t kWays = 5, kQueries = 15, kEpisodes = 600;
  for (const int64_t shots : {int64_t{1}, int64_t{5}}) {
    if (eval::classes_with_at_least(labels, shots + kQueries) < kWays) continue;
    const auto r = eval::fewshot_accuracy(
        features, labels,
        eval::FewShotOptions().ways(kWays).shots(shots).queries(kQueries).episodes(kEpisodes).seed(seed));
    (shots == 1 ? m.fewshot_1shot : m.fewshot_5shot) = r.accuracy;
    (shots == 1 ? m.fewshot_1shot_ci95 : m.fewshot_5shot_ci95) = r.ci95;
  }
  return m;
}

}  // namespace contra::run
