#include "contra/eval/zero_shot.h"

#include <ATen/ATen.h>

#include "contra/core/error.h"

namespace contra::eval {

namespace {
at::Tensor zero_shot_unit(const at::Tensor& x, int64_t dim) {
  return x / x.norm(2, {dim}, true).clamp_min(1e-12);
}
}  // namespace

std::string fill_prompt(const std::string& prompt_template, const std::string& class_name) {
  const size_t at = prompt_template.find("{}");
  CONTRA_CHECK(at != std::string::npos && prompt_template.find("{}", at + 2) == std::string::npos,
               "prompt template '", prompt_template, "' must hold \"{}\" once (where the class name goes)");
  return prompt_template.substr(0, at) + class_name + prompt_template.substr(at + 2);
}

std::vector<std::string> class_name_alternatives(const std::string& name) {
  std::vector<std::string> out;
  size_t from = 0;
  while (true) {
    const size_t bar = name.find('|', from);
    const std::string part = name.substr(from, bar == std::string::npos ? std::string::npos : bar - from);
    const size_t first = part.find_first_not_of(" \t");
    CONTRA_CHECK(first != std::string::npos, "class name '", name, "' has an empty alternative (names are separated by '|')");
    out.push_back(part.substr(first, part.find_last_not_of(" \t") - first + 1));
    if (bar == std::string::npos) return out;
    from = bar + 1;
  }
}

std::vector<std::string> class_prompts(const std::string& name, const std::vector<std::string>& templates) {
  std::vector<std::string> out;
  for (const auto& alternative : class_name_alternatives(name))
    for (const auto& t : templates) out.push_back(fill_prompt(t, alternative));
  return out;
}

at::Tensor zero_shot_classifier(const at::Tensor& prompt_embeddings, const std::vector<int64_t>& counts) {
  int64_t total = 0;
  for (const int64_t c : counts) {
    CONTRA_CHECK(c >= 1, "zero-shot classifier: every class needs at least one prompt");
    total += c;
  }
  CONTRA_CHECK(!counts.empty() && prompt_embeddings.dim() == 2 && prompt_embeddings.size(0) == total,
               "zero-shot classifier needs prompt embeddings [", total, ", d] for ", counts.size(),
               " classes, got ", prompt_embeddings.sizes());
  auto e = zero_shot_unit(prompt_embeddings.to(at::kFloat), 1);
  std::vector<at::Tensor> means;
  int64_t row = 0;
  for (const int64_t c : counts) {
    means.push_back(e.narrow(0, row, c).mean(0));
    row += c;
  }
  return zero_shot_unit(at::stack(means), 1);
}

at::Tensor zero_shot_classifier(const at::Tensor& template_embeddings) {
  CONTRA_CHECK(template_embeddings.dim() == 3 && template_embeddings.size(0) >= 1 &&
                   template_embeddings.size(1) >= 1,
               "zero-shot classifier needs template embeddings [K, P, d], got ", template_embeddings.sizes());
  auto e = zero_shot_unit(template_embeddings.to(at::kFloat), 2);
  return zero_shot_unit(e.mean(1), 1);
}

ZeroShotMetrics zero_shot_accuracy(const at::Tensor& image_embeddings, const at::Tensor& classifier,
                                   const at::Tensor& labels) {
  CONTRA_CHECK(image_embeddings.dim() == 2 && classifier.dim() == 2 &&
                   image_embeddings.size(1) == classifier.size(1) && classifier.size(0) >= 1,
               "zero-shot needs image embeddings [N, d] and class weights [K, d], got ",
               image_embeddings.sizes(), " and ", classifier.sizes());
  CONTRA_CHECK(labels.dim() == 1 && labels.size(0) == image_embeddings.size(0),
               "zero-shot needs one label per image, got ", labels.sizes(), " for ",
               image_embeddings.size(0), " images");
  ZeroShotMetrics m;
  m.images = image_embeddings.size(0);
  m.classes = classifier.size(0);
  if (m.images == 0) return m;
  auto y = labels.to(at::kLong).cpu();
  CONTRA_CHECK(y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() < m.classes,
               "zero-shot labels must be in [0, ", m.classes, ")");
  auto s = at::matmul(zero_shot_unit(image_embeddings.to(at::kFloat).cpu(), 1),
                      zero_shot_unit(classifier.to(at::kFloat).cpu(), 1).t());  // [N, K]
  auto own = s.gather(1, y.unsqueeze(1));
  auto ahead = (s >= own).sum(1) - 1;  // other classes at least as high
  m.top1 = (ahead < 1).to(at::kDouble).mean().item<double>();
  m.top5 = (ahead < 5).to(at::kDouble).mean().item<double>();
  return m;
}

}  // namespace contra::eval
