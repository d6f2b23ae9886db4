#include "contra/eval/fewshot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <torch/torch.h>

#include "contra/core/rng.h"
#include "eval_checks.h"

namespace contra::eval {
namespace {

/// Items of each label with at least `per_class` of them, by ascending label.
std::map<int64_t, std::vector<int64_t>> fewshot_classes(const at::Tensor& labels, int64_t per_class) {
  const auto y = labels.to(at::kLong).contiguous();
  const int64_t* p = y.data_ptr<int64_t>();
  std::map<int64_t, std::vector<int64_t>> by_label;
  for (int64_t i = 0; i < y.numel(); ++i) by_label[p[i]].push_back(i);
  for (auto it = by_label.begin(); it != by_label.end();)
    it = int64_t(it->second.size()) >= per_class ? std::next(it) : by_label.erase(it);
  return by_label;
}

/// The first `take` entries of a partial Fisher-Yates shuffle of `items` (in place).
void fewshot_draw(std::vector<int64_t>& items, int64_t take, Rng& rng) {
  const int64_t n = int64_t(items.size());
  for (int64_t i = 0; i < take; ++i)
    std::swap(items[size_t(i)], items[size_t(i + int64_t(rng.below(uint64_t(n - i))))]);
}

}  // namespace

int64_t classes_with_at_least(const at::Tensor& labels, int64_t per_class) {
  CONTRA_CHECK(labels.defined() && labels.dim() == 1, "few-shot: labels must be 1-D, got shape ",
               detail::shape_str(labels));
  return int64_t(fewshot_classes(labels, per_class).size());
}

FewShotResult fewshot_accuracy(const at::Tensor& features, const at::Tensor& labels,
                               const FewShotOptions& options) {
  torch::NoGradGuard no_grad;
  detail::check_set(features, labels, "few-shot");
  CONTRA_CHECK(options.ways() >= 2, "few-shot: ways must be >= 2, got ", options.ways());
  CONTRA_CHECK(options.shots() >= 1, "few-shot: shots must be >= 1, got ", options.shots());
  CONTRA_CHECK(options.queries() >= 1, "few-shot: queries must be >= 1, got ", options.queries());
  CONTRA_CHECK(options.episodes() >= 1, "few-shot: episodes must be >= 1, got ", options.episodes());
  const int64_t ways = options.ways(), shots = options.shots(), queries = options.queries();
  const auto by_label = fewshot_classes(labels, shots + queries);
  CONTRA_CHECK(int64_t(by_label.size()) >= ways, "few-shot: ", ways, "-way ", shots, "-shot needs ",
               ways, " classes with at least ", shots + queries, " items each (", shots,
               " support + ", queries, " queries); only ", by_label.size(), " have that many");
  std::vector<std::vector<int64_t>> pools;  // by ascending label
  for (const auto& [label, items] : by_label) pools.push_back(items);

  const auto x = torch::nn::functional::normalize(
      detail::finite_float(features, "few-shot"),
      torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
  std::vector<int64_t> class_order(pools.size());
  std::vector<double> accuracy;
  accuracy.reserve(size_t(options.episodes()));
  for (int64_t e = 0; e < options.episodes(); ++e) {
    Rng rng(derive_seed(options.seed(), uint64_t(e), 0x66657773686f74ull /* "fewshot" */));
    for (size_t c = 0; c < class_order.size(); ++c) class_order[c] = int64_t(c);
    fewshot_draw(class_order, ways, rng);
    std::vector<int64_t> chosen(class_order.begin(), class_order.begin() + ways);
    std::sort(chosen.begin(), chosen.end());  // episode class w = the w-th smallest label
    std::vector<int64_t> support, query;
    for (const int64_t c : chosen) {
      auto& pool = pools[size_t(c)];
      fewshot_draw(pool, shots + queries, rng);
      support.insert(support.end(), pool.begin(), pool.begin() + shots);
      query.insert(query.end(), pool.begin() + shots, pool.begin() + shots + queries);
    }
    const auto s = x.index_select(0, torch::tensor(support, torch::kLong));
    const auto q = x.index_select(0, torch::tensor(query, torch::kLong));
    const auto prototypes = torch::nn::functional::normalize(
        s.view({ways, shots, s.size(1)}).mean(1),
        torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
    // argmax returns the first maximum: a tie goes to the smaller label.
    const auto predicted = torch::mm(q, prototypes.t()).argmax(1);
    const auto truth = torch::arange(ways, torch::kLong).repeat_interleave(queries);
    accuracy.push_back(predicted.eq(truth).to(at::kDouble).mean().item<double>());
  }
  FewShotResult r;
  r.episodes = options.episodes();
  r.classes = int64_t(pools.size());
  double sum = 0;
  for (const double a : accuracy) sum += a;
  r.accuracy = sum / double(r.episodes);
  if (r.episodes > 1) {
    double ss = 0;
    for (const double a : accuracy) ss += (a - r.accuracy) * (a - r.accuracy);
    r.ci95 = 1.96 * std::sqrt(ss / double(r.episodes - 1)) / std::sqrt(double(r.episodes));
  }
  return r;
}

}  // namespace contra::eval
