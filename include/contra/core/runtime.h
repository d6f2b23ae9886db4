#pragma once
#include <string>
#include <vector>

#include <c10/core/Device.h>

namespace contra {

/// Sets LibTorch's intra-op threads; n <= 0 means all cores. Returns the count in effect.
/// (LibTorch starts with one thread on these machines.)
int set_threads(int n);

/// Makes glibc's malloc keep freed memory for reuse instead of handing it back to the kernel:
/// blocks up to 32 MiB come from the heap (not a fresh mmap each time) and the heap is never
/// trimmed. A training step frees and re-allocates the same activation buffers every step;
/// without this each step pays for them again in page faults (measured: 640k faults and -20%
/// pairs/s over 30 SimCLR steps, see BENCHMARKS.md). Resident memory stays at the step's peak.
/// Does nothing (returns false) where the user tuned malloc (GLIBC_TUNABLES names glibc.malloc),
/// set CONTRA_KEEP_FREED_MEMORY=0, or the C library is not glibc. Process-wide: the contra
/// command calls it at start; a library user decides for their own program.
bool keep_freed_memory();
/// What keep_freed_memory() did, for `contra doctor` and logs ("kept (...)" or why not).
std::string freed_memory_policy();

/// Cores the process may use (sched affinity, else hardware_concurrency).
int available_cores();

/// The BLAS library the process actually loaded (from /proc/self/maps), e.g.
/// "openblas-openmp (/usr/lib/.../libblas.so.3)", or "unknown".
std::string blas_library();
/// The instruction set the kernels actually use, asked of the loaded libraries (so
/// ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA and OPENBLAS_CORETYPE restrictions show): oneDNN's
/// effective ISA (e.g. "Intel AVX-512 with ..."), OpenBLAS's core name and build configuration.
/// "unknown" where the library is not loaded or does not export the query (e.g. a oneDNN linked
/// statically with hidden symbols).
struct KernelIsa {
  std::string onednn = "unknown";
  std::string openblas_core = "unknown";
  std::string openblas_config = "unknown";
};
KernelIsa kernel_isa();

/// Measured float32 matrix-product speed in GFLOP/s on an n x n product (best of `repeats`).
double measure_matmul_gflops(int n = 1024, int repeats = 5);

/// The device named `name` (cpu, cuda), checked to be available to this LibTorch build.
c10::Device device_from_string(const std::string& name);
/// The valid device names, in order.
std::vector<std::string> device_names();
}  // namespace contra
