#include "contra/eval/knn.h"

#include <algorithm>

#include <torch/torch.h>

#include "eval_checks.h"

namespace contra::eval {

// Weighted kNN as in InstDisc (Wu et al. 2018) and the reference peer: L2-normalise both sets,
// cosine similarity = dot product, take the k most similar training points per query and add
// exp(sim / temperature) to the vote of each neighbour's class; predict the argmax.
//
// Votes are computed as exp((sim - max_sim) / temperature), i.e. every query's votes are scaled
// by the same positive constant exp(-max_sim / t). That leaves the argmax unchanged but keeps
// small temperatures from overflowing float32 (exp(1 / 0.01) is already inf).
double knn_accuracy(const at::Tensor& train, const at::Tensor& train_labels, const at::Tensor& test,
                    const at::Tensor& test_labels, const KnnOptions& options) {
  detail::check_train_test(train, train_labels, test, test_labels);
  CONTRA_CHECK(options.k() >= 1, "knn: k must be >= 1, got ", options.k());
  CONTRA_CHECK(options.temperature() > 0.0, "knn: temperature must be > 0, got ",
               options.temperature());
  CONTRA_CHECK(options.chunk() >= 1, "knn: chunk must be >= 1, got ", options.chunk());

  torch::NoGradGuard no_grad;
  const at::Tensor tr = torch::nn::functional::normalize(
      detail::finite_float(train, "train"),
      torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
  const at::Tensor te = torch::nn::functional::normalize(
      detail::finite_float(test, "test"),
      torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
  const at::Tensor tr_t = tr.t();  // [d, N]; mm handles the transposed layout without a copy
  const at::Tensor ytr = train_labels.contiguous();
  const at::Tensor yte = test_labels.contiguous();

  const int64_t n = tr.size(0);
  const int64_t m = te.size(0);
  const int64_t k = std::min<int64_t>(options.k(), n);
  const int64_t classes = detail::num_classes(ytr, yte);
  const double inv_t = 1.0 / options.temperature();

  int64_t correct = 0;
  for (int64_t start = 0; start < m; start += options.chunk()) {
    const int64_t len = std::min(options.chunk(), m - start);
    at::Tensor sim = torch::mm(te.narrow(0, start, len), tr_t);  // [len, N]
    auto [top_sim, top_idx] = sim.topk(k, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
    sim = at::Tensor();  // release the chunk x N block before the small work below
    at::Tensor neighbour_labels = ytr.index_select(0, top_idx.reshape({-1})).view({len, k});
    // top_sim is sorted, so column 0 holds each row's maximum.
    at::Tensor weights = ((top_sim - top_sim.narrow(1, 0, 1)) * inv_t).exp_();
    at::Tensor votes = torch::zeros({len, classes}, weights.options());
    votes.scatter_add_(1, neighbour_labels, weights);
    at::Tensor pred = votes.argmax(1);
    correct += pred.eq(yte.narrow(0, start, len)).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(m);
}

}  // namespace contra::eval
