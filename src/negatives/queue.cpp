#include "contra/negatives/queue.h"

#include <algorithm>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::negatives {

KeyQueueImpl::KeyQueueImpl(int64_t size, int64_t dim) : size_(size), dim_(dim) {
  CONTRA_CHECK(size >= 1, "queue size must be >= 1, got ", size);
  CONTRA_CHECK(dim >= 1, "queue key size must be >= 1, got ", dim);
  reset();
}

void KeyQueueImpl::reset() {
  namespace F = torch::nn::functional;
  keys_ = register_buffer(
      "keys", F::normalize(torch::randn({size_, dim_}), F::NormalizeFuncOptions().dim(1)));
  pointer_ = register_buffer("pointer", torch::zeros({1}, torch::kLong));
  filled_ = register_buffer("filled", torch::zeros({1}, torch::kLong));
}

int64_t KeyQueueImpl::pointer() const { return pointer_.item<int64_t>(); }
int64_t KeyQueueImpl::filled() const { return filled_.item<int64_t>(); }

void KeyQueueImpl::enqueue(const torch::Tensor& keys) {
  CONTRA_CHECK(keys.dim() == 2 && keys.size(1) == dim_, "queue keys must be [B, ", dim_,
               "], got ", keys.sizes());
  const int64_t b = keys.size(0);
  CONTRA_CHECK(b >= 1 && b <= size_, "cannot enqueue ", b, " keys into a queue of ", size_,
               ": the queue must hold at least one step's keys");
  torch::NoGradGuard no_grad;
  auto k = keys.detach().to(keys_.device(), keys_.scalar_type());
  const int64_t p = pointer();
  const int64_t first = std::min(b, size_ - p);
  keys_.slice(0, p, p + first).copy_(k.slice(0, 0, first));
  if (first < b) keys_.slice(0, 0, b - first).copy_(k.slice(0, first, b));
  pointer_.fill_((p + b) % size_);
  filled_.fill_(std::min(size_, filled() + b));
}

void KeyQueueImpl::pretty_print(std::ostream& stream) const {
  stream << "contra::negatives::KeyQueue(size=" << size_ << ", dim=" << dim_ << ")";
}

}  // namespace contra::negatives
