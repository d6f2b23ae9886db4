#include "contra/models/head.h"

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/models/batch_norm.h"

namespace contra::models {

ProjectionHeadImpl::ProjectionHeadImpl(ProjectionHeadOptions options_) : options(options_) {
  reset();
}

void ProjectionHeadImpl::reset() {
  CONTRA_CHECK(options.layers() >= 1, "head.layers must be >= 1, got ", options.layers());
  CONTRA_CHECK(options.in_dim() >= 1 && options.out_dim() >= 1 && options.hidden_dim() >= 1,
               "head sizes must be >= 1 (in ", options.in_dim(), ", hidden ",
               options.hidden_dim(), ", out ", options.out_dim(), ")");
  mlp = torch::nn::Sequential();
  int64_t in = options.in_dim();
  for (int64_t i = 0; i + 1 < options.layers(); ++i) {
    mlp->push_back(torch::nn::Linear(
        torch::nn::LinearOptions(in, options.hidden_dim()).bias(!options.batch_norm())));
    if (options.batch_norm()) mlp->push_back(BatchNorm(options.hidden_dim(), 1));
    mlp->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    in = options.hidden_dim();
  }
  mlp->push_back(torch::nn::Linear(in, options.out_dim()));
  register_module("mlp", mlp);
}

torch::Tensor ProjectionHeadImpl::forward(const torch::Tensor& x) { return mlp->forward(x); }

void ProjectionHeadImpl::pretty_print(std::ostream& stream) const {
  stream << "contra::models::ProjectionHead(" << options.in_dim() << " -> "
         << options.hidden_dim() << " x " << (options.layers() - 1) << " -> "
         << options.out_dim() << ", batch_norm=" << (options.batch_norm() ? "true" : "false")
         << ")";
}

}  // namespace contra::models
