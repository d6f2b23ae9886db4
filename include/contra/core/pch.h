// Precompiled header: LibTorch is the slow part of every translation unit.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>
