#include "contra/data/epoch_order.h"

#include <numeric>
#include <utility>

#include "contra/core/rng.h"

namespace contra::data {

std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) {
    Rng rng(derive_seed(seed, uint64_t(epoch), 0x6f72646572ull /* "order" */));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  }
  return order;
}

}  // namespace contra::data
