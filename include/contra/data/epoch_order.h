#pragma once
#include <cstdint>
#include <vector>

namespace contra::data {

/// The order of items 0..n-1 in `epoch`: as they are, or (shuffle) a Fisher-Yates shuffle seeded
/// by derive_seed(seed, epoch, "order") — a function of its arguments only, so every loader's
/// batch g is the same after seek(g) and for any number of workers or processes.
std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch);

}  // namespace contra::data
