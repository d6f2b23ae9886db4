// The dist layer on loopback: world info from the environment, the rendezvous, all_gather with
// gradients (summed over ranks, not the local slice alone), bucketed gradient averaging,
// broadcast, and failures that name the rank instead of hanging. Ranks are threads here, each
// with its own Gloo process group; tests/e2e/dist_cli_test.cpp runs real processes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "../support/expect_error.h"
#include "../support/process.h"
#include "contra/dist/group.h"
#include "contra/dist/reducer.h"
#include "contra/dist/world.h"
#include "contra/models/batch_norm.h"

using namespace contra;
using contra::test_support::expect_error;

namespace {

void set_world(const std::string& rank, const std::string& size, const std::string& addr,
               const std::string& port) {
  for (const char* n : {"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                        "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"})
    unsetenv(n);
  if (!rank.empty()) setenv("RANK", rank.c_str(), 1);
  if (!size.empty()) setenv("WORLD_SIZE", size.c_str(), 1);
  if (!addr.empty()) setenv("MASTER_ADDR", addr.c_str(), 1);
  if (!port.empty()) setenv("MASTER_PORT", port.c_str(), 1);
}

dist::WorldInfo world(int64_t rank, int64_t size, int port) {
  dist::WorldInfo w;
  w.rank = rank;
  w.world_size = size;
  w.master_addr = "127.0.0.1";
  w.master_port = port;
  return w;
}

/// Runs body(rank, group) on `size` threads, one process group each; rethrows the first failure.
void run_ranks(int64_t size, const std::function<void(int64_t, dist::Group&)>& body,
               std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const int port = test_support::free_port();
  std::vector<std::exception_ptr> errors(size);
  std::vector<std::thread> threads;
  for (int64_t r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      try {
        dist::GroupOptions o;
        o.timeout = timeout;
        auto g = dist::Group::create(world(r, size, port), o);
        body(r, *g);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

TEST(DistWorld, ReadsTheLauncherEnvironment) {
  set_world("", "", "", "");
  EXPECT_FALSE(dist::world_from_env().distributed());
  set_world("1", "4", "node0", "29500");
  setenv("LOCAL_RANK", "1", 1);
  auto w = dist::world_from_env();
  EXPECT_TRUE(w.distributed());
  EXPECT_EQ(w.rank, 1);
  EXPECT_EQ(w.local_rank, 1);
  EXPECT_EQ(w.world_size, 4);
  EXPECT_EQ(w.master_addr, "node0");
  EXPECT_EQ(w.master_port, 29500);
  // Slurm's variables when the launcher set no RANK.
  set_world("", "", "node1", "29501");
  setenv("SLURM_PROCID", "2", 1);
  setenv("SLURM_NTASKS", "3", 1);
  setenv("SLURM_LOCALID", "0", 1);
  w = dist::world_from_env();
  EXPECT_EQ(w.rank, 2);
  EXPECT_EQ(w.world_size, 3);
  set_world("", "", "", "");  // later tests in this process (and their children) run alone
}

TEST(DistWorld, BadEnvironmentIsNamed) {
  set_world("", "2", "127.0.0.1", "29500");
  expect_error([] { dist::world_from_env(); }, "RANK is not set");
  set_world("2", "2", "127.0.0.1", "29500");
  expect_error([] { dist::world_from_env(); }, "RANK=2 must be an integer in [0, 1]");
  set_world("0", "two", "127.0.0.1", "29500");
  expect_error([] { dist::world_from_env(); }, "WORLD_SIZE=two");
  set_world("0", "2", "", "29500");
  expect_error([] { dist::world_from_env(); }, "MASTER_ADDR is not set");
  set_world("0", "2", "127.0.0.1", "70000");
  expect_error([] { dist::world_from_env(); }, "MASTER_PORT=70000");
  set_world("", "", "", "");
}

TEST(DistGroup, AllGatherWithGradSumsEveryRanksContribution) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  // Rank r's loss is sum(w_r * gathered): the gradient reaching x_r must be the sum over ranks
  // of w_r'[rows of r], not w_r[rows of r] alone (the GatherLayer mistake), for
  // sum_r loss_r to train as one process would.
  const int64_t size = 3, rows = 2, dim = 4;
  torch::manual_seed(0);
  std::vector<torch::Tensor> x, w;
  for (int64_t r = 0; r < size; ++r) {
    x.push_back(torch::randn({rows, dim}, torch::kDouble));
    w.push_back(torch::randn({size * rows, dim}, torch::kDouble));
  }
  std::vector<torch::Tensor> grads(size), gathered(size);
  run_ranks(size, [&](int64_t r, dist::Group& g) {
    auto leaf = x[r].clone().requires_grad_(true);
    auto all = g.all_gather_with_grad(leaf);
    gathered[r] = all.detach();
    (w[r] * all).sum().backward();
    grads[r] = leaf.grad();
  });
  auto expected_all = torch::cat(x, 0);
  auto w_sum = w[0] + w[1] + w[2];
  for (int64_t r = 0; r < size; ++r) {
    EXPECT_TRUE(torch::equal(gathered[r], expected_all)) << "rank " << r;
    auto mine = w_sum.slice(0, r * rows, (r + 1) * rows);
    EXPECT_TRUE(torch::allclose(grads[r], mine)) << "rank " << r;
    EXPECT_FALSE(torch::allclose(grads[r], w[r].slice(0, r * rows, (r + 1) * rows)))
        << "rank " << r << " got only its own loss's gradient";
  }
}

TEST(DistGroup, ReducerAveragesGradientsInBuckets) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  const int64_t size = 2;
  std::vector<std::vector<torch::Tensor>> after(size);
  std::vector<int64_t> buckets(size);
  run_ranks(size, [&](int64_t r, dist::Group& g) {
    auto group = std::shared_ptr<dist::Group>(&g, [](dist::Group*) {});
    std::vector<torch::Tensor> params;
    for (int64_t i = 0; i < 5; ++i) {
      auto p = torch::zeros({3, i + 1}, torch::kFloat).requires_grad_(true);
      if (i != 2) p.mutable_grad() = torch::full({3, i + 1}, float(r + 1) * float(i + 1));
      params.push_back(p);  // parameter 2 has no gradient: counts as zero
    }
    dist::GradientReducer reducer(params, group, /*bucket_bytes=*/32);
    buckets[r] = reducer.buckets();
    reducer.average();
    for (auto& p : params) after[r].push_back(p.grad().clone());
  });
  EXPECT_GT(buckets[0], 1);
  for (int64_t r = 0; r < size; ++r)
    for (int64_t i = 0; i < 5; ++i) {
      const float want = i == 2 ? 0.f : 1.5f * float(i + 1);  // mean of 1x and 2x
      EXPECT_TRUE(torch::allclose(after[r][i], torch::full({3, i + 1}, want))) << r << " " << i;
    }
}

TEST(DistGroup, BroadcastModuleCopiesRankZero) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  std::vector<torch::Tensor> weights(2);
  run_ranks(2, [&](int64_t r, dist::Group& g) {
    torch::nn::Linear lin(3, 2);
    {
      torch::NoGradGuard ng;
      lin->weight.fill_(float(r + 1));
    }
    dist::broadcast_module(*lin, g);
    weights[r] = lin->weight.detach().clone();
  });
  EXPECT_TRUE(torch::equal(weights[0], torch::ones({2, 3})));
  EXPECT_TRUE(torch::equal(weights[1], torch::ones({2, 3})));
}

TEST(DistGroup, MissingRankIsNamedAfterTheTimeout) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  dist::GroupOptions o;
  o.timeout = std::chrono::milliseconds(1500);
  expect_error([&] { dist::Group::create(world(0, 2, test_support::free_port()), o); },
               "rank 1 of 2 never arrived");
}

TEST(DistGroup, RankThatLeavesIsNamedByTheOthers) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  // Rank 1 finishes step 1 and leaves (its heartbeat stops); rank 0's next collective fails,
  // naming it.
  std::string message;
  run_ranks(2, [&](int64_t r, dist::Group& g) {
    std::vector<torch::Tensor> t{torch::ones({4})};
    g.all_reduce_sum_(t);
    g.mark_step(1);
    if (r == 1) return;  // the thread's group is destroyed: connections close
    try {
      g.mark_step(2);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      g.all_reduce_sum_(t);
      ADD_FAILURE() << "collective succeeded without rank 1";
    } catch (const Error& e) {
      message = e.what();
    }
  }, std::chrono::seconds(5));
  EXPECT_NE(message.find("rank 1 is gone: its process stopped (its last finished step is 1, "
                         "this rank's 2)"),
            std::string::npos) << message;
}

TEST(DistGroup, ErrorReportedByARankIsQuoted) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  std::string message;
  run_ranks(2, [&](int64_t r, dist::Group& g) {
    g.barrier();
    if (r == 1) {
      g.report_error("data file is corrupt");
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    try {
      g.barrier();
    } catch (const Error& e) {
      message = e.what();
    }
  }, std::chrono::seconds(5));
  EXPECT_NE(message.find("rank 1 failed: data file is corrupt"), std::string::npos) << message;
}

TEST(DistGroup, SyncBatchNormOnHalvesIsBatchNormOnTheWhole) {
  if (!dist::Group::available()) GTEST_SKIP() << "this build has no Gloo backend";
  // Two ranks, each with half of a batch, synchronised: outputs, input gradients, the summed
  // parameter gradients and the running statistics of batch norm over the whole batch.
  torch::manual_seed(1);
  auto x = torch::randn({8, 3, 4, 4}, torch::kDouble) * 2 + 1;
  auto w = torch::randn({8, 3, 4, 4}, torch::kDouble);  // the loss's weights: sum(w * y)
  models::BatchNorm whole(3, 2);
  whole->to(torch::kDouble);
  auto xw = x.clone().requires_grad_(true);
  auto yw = whole->forward(xw);
  (w * yw).sum().backward();

  std::vector<torch::Tensor> y(2), gx(2), gw(2), rm(2), rv(2);
  run_ranks(2, [&](int64_t r, dist::Group& g) {
    models::BatchNorm bn(3, 2);
    bn->to(torch::kDouble);
    models::synchronise_batch_norm(*bn, std::shared_ptr<models::StatsReducer>(&g, [](auto*) {}));
    auto xr = x.slice(0, 4 * r, 4 * r + 4).clone().requires_grad_(true);
    y[r] = bn->forward(xr);
    (w.slice(0, 4 * r, 4 * r + 4) * y[r]).sum().backward();
    gx[r] = xr.grad();
    gw[r] = bn->weight.grad();
    rm[r] = bn->running_mean.clone();
    rv[r] = bn->running_var.clone();
  });
  EXPECT_TRUE(torch::allclose(torch::cat(y), yw.detach(), 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(torch::cat(gx), xw.grad(), 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(gw[0] + gw[1], whole->weight.grad(), 1e-9, 1e-9));
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::allclose(rm[r], whole->running_mean, 1e-9, 1e-9));
    EXPECT_TRUE(torch::allclose(rv[r], whole->running_var, 1e-9, 1e-9));
  }
}
