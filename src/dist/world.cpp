#include "contra/dist/world.h"

#include <cerrno>
#include <cstdlib>

#include "contra/core/error.h"

namespace contra::dist {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

int64_t integer(const char* name, const char* value, int64_t lo, int64_t hi) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(value, &end, 10);
  CONTRA_CHECK(errno == 0 && end != value && *end == '\0' && v >= lo && v <= hi,
               "environment variable ", name, "=", value, " must be an integer in [", lo, ", ",
               hi, "]");
  return v;
}

/// The first of the names that is set, as an integer in [lo, hi]; `fallback` when none is.
int64_t first_integer(std::initializer_list<const char*> names, int64_t lo, int64_t hi,
                      int64_t fallback) {
  for (const char* n : names)
    if (const char* v = env(n)) return integer(n, v, lo, hi);
  return fallback;
}

}  // namespace

WorldInfo world_from_env() {
  WorldInfo w;
  // RANK wins over Slurm's variables: torchrun inside a Slurm allocation sets both.
  const bool slurm = env("RANK") == nullptr && env("SLURM_PROCID") != nullptr;
  constexpr int64_t kMaxWorld = 1 << 20;
  w.world_size = slurm ? first_integer({"WORLD_SIZE", "SLURM_NTASKS"}, 1, kMaxWorld, 1)
                       : first_integer({"WORLD_SIZE"}, 1, kMaxWorld, 1);
  if (!w.distributed()) return w;
  const char* rank_name = slurm ? "SLURM_PROCID" : "RANK";
  CONTRA_CHECK(env(rank_name) != nullptr, "WORLD_SIZE=", w.world_size, " but ", rank_name,
               " is not set: launch with torchrun (or set RANK, WORLD_SIZE, MASTER_ADDR and "
               "MASTER_PORT for every process)");
  w.rank = integer(rank_name, env(rank_name), 0, w.world_size - 1);
  w.local_rank = slurm ? first_integer({"LOCAL_RANK", "SLURM_LOCALID"}, 0, kMaxWorld, 0)
                       : first_integer({"LOCAL_RANK"}, 0, kMaxWorld, 0);
  const char* addr = env("MASTER_ADDR");
  CONTRA_CHECK(addr != nullptr, "WORLD_SIZE=", w.world_size,
               " but MASTER_ADDR is not set (the host of rank 0)");
  w.master_addr = addr;
  const char* port = env("MASTER_PORT");
  CONTRA_CHECK(port != nullptr, "WORLD_SIZE=", w.world_size,
               " but MASTER_PORT is not set (a free TCP port on the host of rank 0)");
  w.master_port = integer("MASTER_PORT", port, 1, 65535);
  return w;
}

}  // namespace contra::dist
