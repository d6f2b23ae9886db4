#include "contra/run/task.h"

#include <torch/torch.h>

namespace contra::run {

std::unique_ptr<Task> make_task(const ResolvedRun& run) {
  switch (run.modality) {
    case methods::Modality::kImage: return make_image_task(run);
    case methods::Modality::kText: return make_text_task(run);
  }
  TORCH_INTERNAL_ASSERT(false, "a modality without a task");
}

torch::Tensor embed_all(methods::Method& method, int64_t n, int64_t batch_size,
                        const std::function<data::Batch(int64_t, int64_t)>& batch,
                        const c10::Device& device) {
  torch::NoGradGuard no_grad;
  const bool was_training = method.is_training();
  method.eval();
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < n; i += batch_size)
    parts.push_back(method.features(batch(i, std::min(n, i + batch_size)).to(device)).cpu());
  method.train(was_training);
  return torch::cat(parts, 0);
}

}  // namespace contra::run
