// Method clip on two ranks (threads, each with its own Gloo process group) against one process
// with the whole batch: the same global loss and, averaged over the ranks as the gradient
// reducer does, the same gradients, the learned scale's included, for the plain CLIP loss (each
// rank scores its own pairs), the tiled pass (the whole batch on every rank) and SigLIP.
#include <gtest/gtest.h>

#include <functional>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "../support/process.h"
#include "contra/dist/group.h"
#include "contra/dist/world.h"
#include "contra/methods/clip.h"

using namespace contra;

namespace {

void clip_run_ranks(int64_t size, const std::function<void(int64_t, dist::Group&)>& body) {
  const int port = test_support::free_port();
  std::vector<std::exception_ptr> errors(size);
  std::vector<std::thread> threads;
  for (int64_t r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      try {
        dist::WorldInfo w;
        w.rank = r;
        w.world_size = size;
        w.master_addr = "127.0.0.1";
        w.master_port = port;
        dist::GroupOptions o;
        o.timeout = std::chrono::seconds(30);
        body(r, *dist::Group::create(w, o));
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

/// Ghost batch norm in chunks of 4: each rank's 4 pairs are one of the single process's chunks.
methods::CLIP clip_for_ranks(methods::ClipLoss loss, methods::TiledMode tiled) {
  models::EncoderSpec spec;
  spec.in_channels = 1;
  spec.widths = {4, 8};
  auto text = models::TextTransformerOptions(30).width(16).layers(1).heads(2).ffn(32).max_len(8).dropout(0);
  torch::manual_seed(3);
  return methods::CLIP(methods::CLIPOptions(spec, text, 8).loss(loss).tiled(tiled).tile_size(3).encode_chunk(4));
}

data::Batch clip_rows(const data::Batch& b, int64_t begin, int64_t end) {
  data::Batch out;
  out.view1 = b.view1.slice(0, begin, end);
  out.text1.ids = b.text1.ids.slice(0, begin, end);
  out.text1.mask = b.text1.mask.slice(0, begin, end);
  out.index = b.index.slice(0, begin, end);
  return out;
}

void expect_two_ranks_train_as_one(methods::ClipLoss loss, methods::TiledMode tiled, const char* what) {
  torch::manual_seed(11);
  data::Batch batch;
  batch.view1 = torch::randn({8, 1, 10, 10});
  batch.text1.ids = torch::randint(3, 30, {8, 6}, torch::kLong);
  batch.text1.mask = torch::ones({8, 6}, torch::kBool);
  batch.text1.mask.slice(1, 4, 6).slice(0, 0, 3).fill_(false);  // some shorter captions
  batch.index = torch::arange(8);

  auto one = clip_for_ranks(loss, tiled);
  auto whole = one->forward(batch);
  whole.loss.backward();
  // Built here: the rank threads would race for the global generator.
  std::vector<methods::CLIP> models = {clip_for_ranks(loss, tiled), clip_for_ranks(loss, tiled)};
  std::vector<double> rank_loss(2), rank_top1(2);
  std::vector<std::vector<torch::Tensor>> rank_grads(2);
  clip_run_ranks(2, [&](int64_t r, dist::Group& g) {
    auto& m = models[size_t(r)];
    m->set_collective(std::shared_ptr<methods::Collective>(&g, [](auto*) {}));
    auto out = m->forward(clip_rows(batch, 4 * r, 4 * r + 4));
    out.loss.backward();
    rank_loss[size_t(r)] = out.loss.item<double>();
    rank_top1[size_t(r)] = out.top1;
    for (const auto& p : m->parameters()) rank_grads[size_t(r)].push_back(p.grad().clone());
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_NEAR(rank_loss[size_t(r)], whole.loss.item<double>(), 1e-5) << what << " rank " << r;
    EXPECT_NEAR(rank_top1[size_t(r)], whole.top1, 1e-9) << what << " rank " << r;
  }
  const auto params = one->named_parameters();
  ASSERT_EQ(rank_grads[0].size(), params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const auto mean = (rank_grads[0][i] + rank_grads[1][i]) / 2;
    const auto& g = params[i].value().grad();
    EXPECT_TRUE(torch::allclose(mean, g, 1e-4, 1e-6))
        << what << ": " << params[i].key() << " max difference " << (mean - g).abs().max().item<double>();
  }
  EXPECT_NE(one->logit_scale.grad().item<double>(), 0.0) << what;
}

}  // namespace

TEST(ClipDist, TwoRanksTrainAsOneWithTheWholeBatch) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  expect_two_ranks_train_as_one(methods::ClipLoss::kClip, methods::TiledMode::kOff, "clip");
  expect_two_ranks_train_as_one(methods::ClipLoss::kClip, methods::TiledMode::kOn, "clip tiled");
  expect_two_ranks_train_as_one(methods::ClipLoss::kSigLip, methods::TiledMode::kOff, "siglip");
}
