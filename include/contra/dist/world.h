#pragma once
#include <cstdint>
#include <string>

namespace contra::dist {

/// Where this process sits in a multi-process job, as the launcher (torchrun, Slurm, Kubernetes)
/// describes it in the environment.
struct WorldInfo {
  int64_t rank = 0;        ///< RANK (Slurm: SLURM_PROCID)
  int64_t local_rank = 0;  ///< LOCAL_RANK (Slurm: SLURM_LOCALID): the process's index on its machine
  int64_t world_size = 1;  ///< WORLD_SIZE (Slurm: SLURM_NTASKS)
  std::string master_addr; ///< MASTER_ADDR: the host of rank 0, which runs the rendezvous store
  int64_t master_port = 0; ///< MASTER_PORT
  bool distributed() const { return world_size > 1; }
};

/// Reads the standard variables (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; under
/// Slurm without RANK, SLURM_PROCID, SLURM_LOCALID and SLURM_NTASKS). No WORLD_SIZE (or 1): a
/// single process. Throws contra::Error naming the variable for a missing or malformed value.
WorldInfo world_from_env();

}  // namespace contra::dist
