#pragma once
#include <ATen/core/Tensor.h>

namespace contra::models {

/// Batch norm in training mode followed by ReLU, in two sweeps over memory each way where LibTorch
/// makes three: forward statistics, then normalise-and-clamp (LibTorch: statistics, normalise,
/// ReLU); backward masked sums, then the input gradient (LibTorch: ReLU, two of batch norm). Forward: per-channel mean and biased variance of x over N, H, W (sums in double),
/// y = max(0, (x - mean) / sqrt(var + eps) * weight + bias), and the running statistics updated
/// as torch::batch_norm does (running_var with the unbiased variance). Backward recomputes the
/// ReLU mask from x instead of keeping y, and gives the gradients of x, weight and bias (no
/// double backward). Equal to torch::relu(torch::batch_norm(...)) up to float rounding.
/// x: float [N, C, H, W], contiguous in channels-last layout, on the CPU (see
/// batch_norm_relu_supported; LibTorch's NCHW kernels were faster than plain loops over planes);
/// weight, bias, running_mean, running_var: float [C].
at::Tensor batch_norm_relu_train(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                 const at::Tensor& running_mean, const at::Tensor& running_var,
                                 double momentum, double eps);

/// True where batch_norm_relu_train takes x: a float CPU tensor [N, C, H, W] with N x H x W >= 2,
/// contiguous in channels-last layout.
bool batch_norm_relu_supported(const at::Tensor& x);

}  // namespace contra::models
