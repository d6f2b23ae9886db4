// The resolved run: every closed choice as an enum, the batch as the job and as a process see
// it, the scaled learning rate; and what only the pairing with the job can refuse.
#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "contra/config/component_keys.h"
#include "contra/config/load.h"
#include "contra/run/resolve.h"

using namespace contra;

namespace {
config::RunConfig cfg_with(const std::vector<std::string>& sets) {
  return config::load(std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml", sets);
}
}  // namespace

TEST(Resolve, ClosedChoicesBecomeEnums) {
  auto r = run::resolve(cfg_with({"train.batch_size=512", "eval.split=val", "optim.lr_scaling=linear",
                                  "optim.lr=0.3", "train.nonfinite=skip"}));
  EXPECT_EQ(r.method, methods::MethodKind::kSimCLR);
  EXPECT_EQ(r.modality, methods::Modality::kImage);
  EXPECT_EQ(r.dataset, data::DatasetKind::kFashionMNIST);
  EXPECT_EQ(r.eval_split, data::EvalSplit::kVal);
  EXPECT_TRUE(r.device.is_cpu());
  EXPECT_EQ(r.nonfinite, train::NonFinitePolicy::kSkip);
  EXPECT_DOUBLE_EQ(r.optimizer.lr(), 0.3 * 512 / 256);  // linear scaling to the global batch
  EXPECT_EQ(r.global_batch, 512);
  EXPECT_EQ(r.rank_batch, 512);
  EXPECT_TRUE(r.lead());
}

TEST(Resolve, TextMethodsResolveToTheTextModality) {
  auto cfg = config::load(std::string(CONTRA_SOURCE_DIR) + "/configs/simcse_wordnet_supervised.yaml");
  auto r = run::resolve(cfg, /*rank=*/1, /*world_size=*/2);
  EXPECT_EQ(r.method, methods::MethodKind::kSimCSESupervised);
  EXPECT_EQ(r.modality, methods::Modality::kText);
  EXPECT_EQ(r.dataset, data::DatasetKind::kWordNet);
  EXPECT_FALSE(r.lead());
  EXPECT_EQ(r.rank_batch * 2, r.global_batch);
}

TEST(Resolve, TheGlobalBatchSplitsOverTheProcesses) {
  auto r = run::resolve(cfg_with({"train.batch_size=96"}), 2, 3);
  EXPECT_EQ(r.global_batch, 96);
  EXPECT_EQ(r.rank_batch, 32);
  EXPECT_EQ(r.rank, 2);
  test_support::expect_error([] { run::resolve(cfg_with({"train.batch_size=100"}), 0, 3); },
                             "train.batch_size (100) is the global batch and must be a multiple "
                             "of the number of processes (3)");
}

TEST(Resolve, ScheduleFromEpochsOrSteps) {
  auto r = run::resolve(cfg_with({"train.epochs=2.5", "optim.warmup_epochs=0.5"}));
  auto s = r.schedule(10);
  EXPECT_EQ(s.total_steps(), 25);
  EXPECT_EQ(s.warmup_steps(), 5);
  EXPECT_EQ(run::resolve(cfg_with({"train.max_steps=7"})).schedule(10).total_steps(), 7);
}

TEST(Resolve, ComponentOptionNamesBecomeConfigKeys) {
  // InfoNCE names its own option (debias_tau_plus); the user's key is loss.tau_plus.
  EXPECT_EQ(config::component_names_to_keys("loss.debias_tau_plus must be in [0, 1), got 1"),
            "loss.tau_plus must be in [0, 1), got 1");
  test_support::expect_error(
      [] { config::with_config_keys([]() -> int { throw Error("loss.debias_tau_plus is bad"); }); },
      "loss.tau_plus is bad");
  EXPECT_EQ(config::component_names_to_keys("loss.temperature must be > 0"), "loss.temperature must be > 0");
}
