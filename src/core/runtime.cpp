#include "contra/core/runtime.h"

#include <dlfcn.h>
#include <sched.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"

namespace contra {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

namespace {
std::string& policy_note() {
  static std::string note = "glibc default (keep_freed_memory() not called)";
  return note;
}
}  // namespace

bool keep_freed_memory() {
#if defined(__GLIBC__)
  const char* off = std::getenv("CONTRA_KEEP_FREED_MEMORY");
  if (off && std::string(off) == "0") {
    policy_note() = "glibc default (CONTRA_KEEP_FREED_MEMORY=0)";
    return false;
  }
  const char* tun = std::getenv("GLIBC_TUNABLES");
  if (tun && std::string(tun).find("glibc.malloc") != std::string::npos) {
    policy_note() = "yours (GLIBC_TUNABLES sets glibc.malloc)";
    return false;
  }
  // 32 MiB is glibc's largest mmap threshold on 64-bit; setting it also stops the dynamic
  // threshold, and a trim threshold beyond any heap means freed memory is never given back.
  constexpr int kMmapThreshold = 32 << 20;
  bool ok = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
            mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max()) == 1;
  policy_note() = ok ? "keeps freed memory (blocks <= 32 MiB from the heap, no trimming)"
                     : "glibc default (mallopt refused)";
  return ok;
#else
  policy_note() = "system default (not glibc)";
  return false;
#endif
}

std::string freed_memory_policy() { return policy_note(); }

int set_threads(int n) {
  if (n <= 0) n = available_cores();
  at::set_num_threads(n);
  return at::get_num_threads();
}

std::string blas_library() {
  // Warm up a product so a lazily-loaded BLAS is mapped before we look.
  (void)torch::mm(torch::ones({8, 8}), torch::ones({8, 8}));
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    std::string path = line.substr(pos);
    bool blas = path.find("libblas") != std::string::npos ||
                path.find("libopenblas") != std::string::npos ||
                path.find("libmkl") != std::string::npos;
    if (!blas) continue;
    std::string name = path.find("openblas") != std::string::npos ? "openblas"
                       : path.find("mkl") != std::string::npos    ? "mkl"
                                                                  : "reference BLAS";
    if (path.find("openmp") != std::string::npos) name += "-openmp";
    else if (path.find("pthread") != std::string::npos) name += "-pthread";
    found = name + " (" + path + ")";
    if (name.rfind("openblas", 0) == 0 || name.rfind("mkl", 0) == 0) return found;
  }
  return found.empty() ? "unknown" : found;
}

KernelIsa kernel_isa() {
  KernelIsa out;
  // Run a convolution and a product first so both libraries are loaded and initialised.
  (void)torch::conv2d(torch::ones({1, 8, 8, 8}), torch::ones({8, 8, 3, 3}));
  (void)torch::mm(torch::ones({8, 8}), torch::ones({8, 8}));
  using IsaFn = int (*)();
  using IsaStrFn = const char* (*)(int);
  using StrFn = char* (*)();
  auto effective = reinterpret_cast<IsaFn>(dlsym(RTLD_DEFAULT, "dnnl_get_effective_cpu_isa"));
  auto to_str = reinterpret_cast<IsaStrFn>(dlsym(RTLD_DEFAULT, "dnnl_cpu_isa2str"));
  if (effective && to_str)
    if (const char* s = to_str(effective())) out.onednn = s;
  if (auto core = reinterpret_cast<StrFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename")))
    if (const char* s = core()) out.openblas_core = s;
  if (auto config = reinterpret_cast<StrFn>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
    if (const char* s = config()) out.openblas_config = s;
  return out;
}

double measure_matmul_gflops(int n, int repeats) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    c = torch::mm(a, b);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
  }
  return 2.0 * n * n * double(n) / best / 1e9;
}

namespace {
const NameTable<c10::DeviceType, 2> kDeviceNames = {{"cpu", c10::kCPU}, {"cuda", c10::kCUDA}};
}  // namespace

c10::Device device_from_string(const std::string& name) {
  const auto type = from_name(kDeviceNames, name, "device");
  CONTRA_CHECK(type != c10::kCUDA || torch::cuda::is_available(),
               "device is cuda but no CUDA device is available to this LibTorch build");
  return c10::Device(type);
}

std::vector<std::string> device_names() { return names_of(kDeviceNames); }

}  // namespace contra
