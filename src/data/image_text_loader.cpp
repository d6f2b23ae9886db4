#include "contra/data/image_text_loader.h"

#include <chrono>
#include <numeric>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "contra/core/error.h"
#include "contra/data/epoch_order.h"
#include "contra/core/rng.h"

namespace contra::data {

ImageTextLoader::ImageTextLoader(ImageTextDataset dataset, augment::Pipeline pipeline, Tokenizer tokenizer,
                                 ImageTextLoaderOptions options, augment::TextAugmenter captions)
    : dataset_(std::move(dataset)),
      pipeline_(std::move(pipeline)),
      tokenizer_(std::move(tokenizer)),
      options_(options),
      caption_augmenter_(std::move(captions)) {
  const int64_t n = dataset_.size();
  CONTRA_CHECK(n > 0, "image-text loader: no images");
  CONTRA_CHECK(dataset_.images.dim() == 4 && dataset_.images.scalar_type() == at::kByte,
               "image-text loader: images must be [N, C, H, W] uint8, got ", dataset_.images.sizes());
  CONTRA_CHECK(int64_t(dataset_.captions.size()) == n, "image-text loader: ", n, " images but ",
               dataset_.captions.size(), " caption lists");
  for (int64_t i = 0; i < n; ++i)
    CONTRA_CHECK(!dataset_.captions[size_t(i)].empty(), "image-text loader: image ", i,
                 i < int64_t(dataset_.ids.size()) ? " (" + dataset_.ids[size_t(i)] + ")" : std::string(),
                 " has no caption");
  CONTRA_CHECK(options_.batch_size() >= 2, "train.batch_size must be >= 2, got ", options_.batch_size());
  CONTRA_CHECK(options_.batch_size() <= n, "train.batch_size (", options_.batch_size(),
               ") is larger than the training set (", n, " images)");
  CONTRA_CHECK(options_.world_size() >= 1 && options_.rank() >= 0 && options_.rank() < options_.world_size(),
               "image-text loader: rank ", options_.rank(), " outside [0, world size ", options_.world_size(), ")");
  CONTRA_CHECK(options_.batch_size() % options_.world_size() == 0, "train.batch_size (",
               options_.batch_size(), ") is the global batch and must be a multiple of the number of "
               "processes (", options_.world_size(), ")");
  dataset_.images = dataset_.images.contiguous();
  if (!dataset_.labels.defined()) dataset_.labels = at::full({n}, -1, at::kLong);
  dataset_.labels = dataset_.labels.contiguous();
}

std::vector<int64_t> ImageTextLoader::order_of(int64_t epoch) const {
  return epoch_order(size(), options_.shuffle(), options_.seed(), epoch);
}

void ImageTextLoader::seek(int64_t global) {
  CONTRA_CHECK(global >= 0, "image-text loader: batch ", global, " < 0");
  epoch_ = global / batches_per_epoch();
  batch_ = global % batches_per_epoch();
  order_ = order_of(epoch_);
}

Batch ImageTextLoader::next() {
  const auto t0 = std::chrono::steady_clock::now();
  if (batch_ >= batches_per_epoch()) ++epoch_, batch_ = 0;
  if (batch_ == 0 || order_.empty()) order_ = order_of(epoch_);
  const int64_t global_b = options_.batch_size();
  const int64_t b = global_b / options_.world_size(), first = options_.rank() * b;
  const int64_t c = dataset_.images.size(1), h = dataset_.images.size(2), w = dataset_.images.size(3);
  const int64_t os = pipeline_.options().out_size() > 0 ? pipeline_.options().out_size() : h;
  Batch out;
  out.epoch = epoch_;
  out.batch = batch_;
  out.index = at::empty({b}, at::kLong);
  out.label = at::empty({b}, at::kLong);
  out.view1 = at::empty({b, c, os, os}, at::kFloat);
  int64_t* index = out.index.data_ptr<int64_t>();
  int64_t* label = out.label.data_ptr<int64_t>();
  const int64_t* labels = dataset_.labels.data_ptr<int64_t>();
  const uint64_t view_seed = derive_seed(options_.seed(), uint64_t(epoch_), uint64_t(batch_), 1);
  const uint64_t caption_seed = derive_seed(options_.seed(), uint64_t(epoch_), uint64_t(batch_), 2);
  std::vector<std::string> captions(static_cast<size_t>(b));
  for (int64_t j = 0; j < b; ++j) {
    const int64_t i = first + j;  // the row within the global batch
    const int64_t k = order_[size_t(batch_ * global_b + i)];
    index[j] = k;
    label[j] = labels[k];
    const auto& options = dataset_.captions[size_t(k)];
    Rng pick(derive_seed(caption_seed, uint64_t(i)));
    captions[size_t(j)] = options[size_t(pick.below(options.size()))];
  }
  if (!caption_augmenter_.is_identity()) {
    const uint64_t augment_seed = derive_seed(options_.seed(), uint64_t(epoch_), uint64_t(batch_), 3);
    for (int64_t j = 0; j < b; ++j)
      captions[size_t(j)] = caption_augmenter_.apply_row(captions[size_t(j)], augment_seed, first + j);
  }
  const uint8_t* images = dataset_.images.data_ptr<uint8_t>();
  float* views = out.view1.data_ptr<float>();
  at::parallel_for(0, b, 1, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      Rng rng(derive_seed(view_seed, uint64_t(first + j)));
      pipeline_.apply(images + index[j] * c * h * w, c, h, w, views + j * c * os * os, rng);
    }
  });
  out.text1 = tokenizer_.encode_batch(captions, options_.max_len());
  ++batch_;
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace contra::data
