#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>

#include "contra/augment/pipeline.h"
#include "contra/core/error.h"
#include "contra/data/loader.h"

namespace {

using contra::augment::Pipeline;
using contra::augment::PipelineOptions;
using contra::data::ImageDataset;
using contra::data::LoaderOptions;
using contra::data::TwoViewBatch;
using contra::data::TwoViewLoader;

// Image i is filled with the value i % 256 in its first pixel and a pattern elsewhere, so the
// identity pipeline lets a test read the index back out of the view.
ImageDataset make_dataset(int64_t n, int64_t c = 1, int64_t s = 8) {
  ImageDataset ds;
  ds.images = at::randint(0, 256, {n, c, s, s}, at::kByte);
  auto acc = ds.images.accessor<uint8_t, 4>();
  for (int64_t i = 0; i < n; ++i) acc[i][0][0][0] = static_cast<uint8_t>(i % 256);
  ds.labels = at::arange(n, at::kLong).remainder(10);
  return ds;
}

Pipeline identity() {
  return Pipeline(PipelineOptions().crop_p(0).flip_p(0).jitter_p(0).grayscale_p(0).mean({0.0}).std({1.0}));
}

std::vector<TwoViewBatch> take(TwoViewLoader& loader, int64_t count) {
  std::vector<TwoViewBatch> out;
  for (int64_t i = 0; i < count; ++i) out.push_back(loader.next());
  return out;
}

}  // namespace

TEST(LoaderTest, SameStreamForOneAndThreeWorkers) {
  const ImageDataset ds = make_dataset(50);
  auto opts = LoaderOptions(8).seed(11);
  TwoViewLoader one(ds, Pipeline(PipelineOptions()), LoaderOptions(opts).workers(1));
  TwoViewLoader three(ds, Pipeline(PipelineOptions()), LoaderOptions(opts).workers(3).prefetch(2));
  ASSERT_EQ(one.batches_per_epoch(), 6);
  for (int64_t k = 0; k < 3 * 6 + 2; ++k) {
    const TwoViewBatch a = one.next(), b = three.next();
    ASSERT_EQ(a.epoch, k / 6);
    ASSERT_EQ(a.batch, k % 6);
    ASSERT_EQ(b.epoch, a.epoch);
    ASSERT_EQ(b.batch, a.batch);
    ASSERT_TRUE(at::equal(a.index, b.index)) << k;
    ASSERT_TRUE(at::equal(a.label, b.label)) << k;
    ASSERT_TRUE(at::equal(a.view1, b.view1)) << k;
    ASSERT_TRUE(at::equal(a.view2, b.view2)) << k;
    ASSERT_FALSE(at::equal(a.view1, a.view2)) << k;
  }
  EXPECT_GE(one.wait_seconds(), 0.0);
}

TEST(LoaderTest, ViewsAreThePipelineOnTheIndexedImagesWithDerivedSeeds) {
  const ImageDataset ds = make_dataset(20, 3, 6);
  Pipeline p{PipelineOptions().blur_p(0.5).mean({0.4}).std({0.2})};
  // start_batch 6 = epoch 1, batch 2 (4 batches per epoch): where a resumed run picks up.
  TwoViewLoader loader(ds, p, LoaderOptions(5).seed(99).workers(2), /*start_batch=*/6);
  for (int k = 0; k < 6; ++k) {
    const TwoViewBatch b = loader.next();
    EXPECT_EQ(b.epoch, (6 + k) / 4);
    EXPECT_EQ(b.batch, (6 + k) % 4);
    at::Tensor imgs = ds.images.index_select(0, b.index);
    EXPECT_TRUE(at::equal(b.view1, p(imgs, contra::derive_seed(99, b.epoch, b.batch, 1))));
    EXPECT_TRUE(at::equal(b.view2, p(imgs, contra::derive_seed(99, b.epoch, b.batch, 2))));
    EXPECT_TRUE(at::equal(b.label, ds.labels.index_select(0, b.index)));
  }
}

TEST(LoaderTest, EveryIndexOncePerEpochAndEpochsDiffer) {
  const int64_t n = 64;
  const ImageDataset ds = make_dataset(n);
  TwoViewLoader loader(ds, identity(), LoaderOptions(16).seed(3).workers(2));
  std::vector<std::vector<int64_t>> orders;
  for (int e = 0; e < 3; ++e) {
    std::vector<int64_t> order;
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
      const TwoViewBatch batch = loader.next();
      ASSERT_EQ(batch.epoch, e);
      for (int64_t i = 0; i < batch.index.size(0); ++i) {
        const int64_t idx = batch.index[i].item<int64_t>();
        order.push_back(idx);
        // Content and label belong to that index.
        EXPECT_EQ(batch.label[i].item<int64_t>(), idx % 10);
        EXPECT_EQ(batch.view1[i][0][0][0].item<float>(), static_cast<float>(idx % 256) / 255.0f);
        EXPECT_TRUE(at::equal(batch.view1[i], batch.view2[i]));  // identity: views agree
      }
    }
    std::set<int64_t> seen(order.begin(), order.end());
    EXPECT_EQ(static_cast<int64_t>(seen.size()), n);
    EXPECT_EQ(*seen.begin(), 0);
    EXPECT_EQ(*seen.rbegin(), n - 1);
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
}

TEST(LoaderTest, NoShuffleAndPartialLastBatch) {
  const ImageDataset ds = make_dataset(10);
  TwoViewLoader loader(ds, identity(), LoaderOptions(4).shuffle(false).drop_last(false).workers(2));
  ASSERT_EQ(loader.batches_per_epoch(), 3);
  const auto batches = take(loader, 4);
  EXPECT_TRUE(at::equal(batches[0].index, at::arange(0, 4, at::kLong)));
  EXPECT_TRUE(at::equal(batches[2].index, at::arange(8, 10, at::kLong)));
  EXPECT_EQ(batches[2].view1.size(0), 2);
  EXPECT_EQ(batches[3].epoch, 1);
  EXPECT_TRUE(at::equal(batches[3].index, at::arange(0, 4, at::kLong)));
}

TEST(LoaderTest, DropLastBatchCount) {
  const ImageDataset ds = make_dataset(10);
  TwoViewLoader loader(ds, identity(), LoaderOptions(4));
  EXPECT_EQ(loader.batches_per_epoch(), 2);
  const auto batches = take(loader, 3);
  EXPECT_EQ(batches[2].epoch, 1);
  EXPECT_EQ(batches[2].batch, 0);
}

TEST(LoaderTest, DifferentSeedsGiveDifferentStreams) {
  const ImageDataset ds = make_dataset(32);
  TwoViewLoader a(ds, Pipeline(PipelineOptions()), LoaderOptions(8).seed(1));
  TwoViewLoader b(ds, Pipeline(PipelineOptions()), LoaderOptions(8).seed(2));
  EXPECT_FALSE(at::equal(a.next().index, b.next().index));
}

TEST(LoaderTest, DestructionWhileWorkersBlockedReturns) {
  // Workers blocked on a full queue must be woken and joined by the destructor, not left waiting
  // for a consumer that never comes. A destructor that hangs is reported here (a watchdog on
  // another thread, far beyond any machine's speed), not by ctest's timeout ten minutes later.
  // Shared with the thread: if the watchdog fires, the test returns while the thread still runs.
  auto ds = std::make_shared<const ImageDataset>(make_dataset(256, 1, 28));
  std::promise<void> done;
  auto finished = done.get_future();
  std::thread([ds, done = std::move(done)]() mutable {
    {
      TwoViewLoader loader(*ds, Pipeline(PipelineOptions()), LoaderOptions(16).workers(3).prefetch(1));
      loader.next();
      // Let the workers fill the queue and block on it.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // Never consumed at all.
    { TwoViewLoader idle(*ds, Pipeline(PipelineOptions()), LoaderOptions(16).workers(2)); }
    done.set_value();
  }).detach();
  ASSERT_EQ(finished.wait_for(std::chrono::minutes(2)), std::future_status::ready)
      << "a loader's destructor did not return";
}

TEST(LoaderTest, AugmentationErrorPropagatesFromNext) {
  const ImageDataset ds = make_dataset(16, 3, 8);
  // Two mean values for three-channel images: fails inside the worker, at run time.
  Pipeline p{PipelineOptions().mean({0.1, 0.2}).std({0.3})};
  TwoViewLoader loader(ds, p, LoaderOptions(4).workers(2));
  try {
    loader.next();
    FAIL() << "expected contra::Error";
  } catch (const contra::Error& e) {
    EXPECT_NE(std::string(e.what()).find("augment.mean has 2 values"), std::string::npos);
  }
  EXPECT_THROW(loader.next(), contra::Error);  // stays failed
}

TEST(LoaderTest, OptionChecks) {
  const ImageDataset ds = make_dataset(10);
  EXPECT_THROW(TwoViewLoader(ds, identity(), LoaderOptions(0)), contra::Error);
  EXPECT_THROW(TwoViewLoader(ds, identity(), LoaderOptions(11)), contra::Error);
  EXPECT_NO_THROW(TwoViewLoader(ds, identity(), LoaderOptions(11).drop_last(false)));
  EXPECT_THROW(TwoViewLoader(ds, identity(), LoaderOptions(2).workers(0)), contra::Error);
  EXPECT_THROW(TwoViewLoader(ds, identity(), LoaderOptions(2).prefetch(0)), contra::Error);
  EXPECT_THROW(TwoViewLoader(ImageDataset{}, identity(), LoaderOptions(2)), contra::Error);
  try {
    TwoViewLoader(ds, identity(), LoaderOptions(11));
  } catch (const contra::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "loader.batch_size must be <= the dataset size (10) when drop_last is on, got 11");
  }
}

TEST(LoaderTest, UnlabelledDatasetGivesMinusOne) {
  ImageDataset ds = make_dataset(8);
  ds.labels = at::Tensor();
  TwoViewLoader loader(ds, identity(), LoaderOptions(4));
  EXPECT_TRUE(at::equal(loader.next().label, at::full({4}, -1, at::kLong)));
}
