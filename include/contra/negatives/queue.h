#pragma once
#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace contra::negatives {

/// A FIFO queue of keys for negatives (MoCo, He et al. 2020): the K most recent keys, the oldest
/// overwritten first. Keys, pointer and fill count are module buffers, so they travel with the
/// model's checkpoint. Starts full of random unit vectors, as MoCo's does.
class KeyQueueImpl : public torch::nn::Cloneable<KeyQueueImpl> {
 public:
  /// size: K >= 1; dim: key size. Throws contra::Error otherwise.
  KeyQueueImpl(int64_t size, int64_t dim);
  void reset() override;
  /// keys: [B, dim] with 1 <= B <= K, stored detached; wraps around the end.
  void enqueue(const torch::Tensor& keys);
  /// [K, dim]: row order is storage order (the position of the next write is pointer()).
  const torch::Tensor& keys() const { return keys_; }
  int64_t pointer() const;
  /// Keys enqueued so far, capped at K (the rest are the random initial rows).
  int64_t filled() const;
  int64_t size() const { return size_; }
  void pretty_print(std::ostream& stream) const override;

 private:
  int64_t size_, dim_;
  torch::Tensor keys_, pointer_, filled_;
};
TORCH_MODULE(KeyQueue);

}  // namespace contra::negatives
