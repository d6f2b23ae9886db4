#include "contra/data/batch.h"

#include <ATen/ATen.h>

namespace contra::data {

TokenBatch TokenBatch::to(const at::Device& device) const {
  if (!ids.defined()) return {};
  return {ids.to(device), mask.to(device)};
}

Batch Batch::to(const at::Device& device) const {
  Batch out = *this;
  auto move = [&](const at::Tensor& t) { return t.defined() ? t.to(device) : t; };
  out.view1 = move(view1);
  out.view2 = move(view2);
  out.label = move(label);
  out.text1 = text1.to(device);
  out.text2 = text2.to(device);
  out.text_negative = text_negative.to(device);
  return out;
}

}  // namespace contra::data
