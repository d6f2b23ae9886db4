// contra doctor: what this machine gives contra (LibTorch, threads, BLAS, device, matmul speed).
#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <torch/torch.h>
#include <torch/version.h>
#include <ATen/Context.h>

#include "commands.h"
#include "contra/core/cpu_peak.h"
#include "contra/core/runtime.h"

namespace contra::app {

Action add_doctor(CLI::App& app) {
  auto* cmd = app.add_subcommand("doctor", "print LibTorch version, threads, BLAS, device, GFLOP/s");
  auto threads = std::make_shared<int>(0);
  cmd->add_option("--threads", *threads, "intra-op threads (0 = all cores)");
  return [=]() {
    int n = set_threads(*threads);
    std::printf("libtorch   %s\n", TORCH_VERSION);
    std::printf("cores      %d available\n", available_cores());
    std::printf("threads    %d intra-op\n", n);
    std::string blas = blas_library();
    std::printf("blas       %s\n", blas.c_str());
    std::printf("mkldnn     %s\n", at::hasMKLDNN() ? "yes" : "no");
    const KernelIsa isa = kernel_isa();
    std::printf("onednn isa %s%s\n", isa.onednn.c_str(),
                std::getenv("ONEDNN_MAX_CPU_ISA")  ? " (ONEDNN_MAX_CPU_ISA set)"
                : std::getenv("DNNL_MAX_CPU_ISA") ? " (DNNL_MAX_CPU_ISA set)"
                                                  : "");
    std::printf("openblas   core %s; %s%s\n", isa.openblas_core.c_str(), isa.openblas_config.c_str(),
                std::getenv("OPENBLAS_CORETYPE") ? " (OPENBLAS_CORETYPE set)" : "");
    std::printf("malloc     %s\n", freed_memory_policy().c_str());
    std::printf("device     cpu%s\n",
                torch::cuda::is_available()
                    ? (" + cuda (" + std::to_string(torch::cuda::device_count()) + " GPUs)").c_str()
                    : " (no CUDA)");
    double g = measure_matmul_gflops(2048, 3);
    std::printf("matmul     %.1f GFLOP/s (float32 2048x2048, %d threads)\n", g, n);
    const auto peak = measure_cpu_peak(n);
    if (peak.clock_ghz > 0)
      std::printf("cpu        %s family 0x%x, %s; clock %.2f GHz (measured), nominal float32 peak "
                  "%.1f GFLOP/s on %d cores (%d FLOP/cycle: %s), FMA loop %.1f GFLOP/s\n",
                  peak.vendor.c_str(), peak.family, peak.isa.c_str(), peak.clock_ghz,
                  peak.nominal_gflops, n, peak.flops_per_cycle, peak.flops_per_cycle_source.c_str(),
                  peak.fma_loop_gflops);
    bool ok = blas.find("openblas") != std::string::npos || blas.find("mkl") != std::string::npos;
    if (!ok)
      std::printf("warning    not using OpenBLAS: run scripts/install-deps.sh "
                  "(matrix products are ~40x slower on the reference BLAS)\n");
    return 0;
  };
}

}  // namespace contra::app
