#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <unistd.h>

#include "contra/config/load.h"
#include "contra/config/schema.h"
#include "contra/core/error.h"

using namespace contra::config;

namespace {
std::string write_temp(const std::string& text) {
  static int n = 0;
  // ctest runs each test in its own process, in parallel: the pid keeps the files apart.
  std::string path = testing::TempDir() + "/contra_cfg_" + std::to_string(getpid()) + "_" +
                     std::to_string(n++) + ".yaml";
  std::ofstream(path) << text;
  return path;
}
std::string error_of(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  try {
    load(yaml.empty() ? "" : write_temp(yaml), sets);
  } catch (const contra::Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(Config, DefaultsWhenEmpty) {
  auto c = load("");
  EXPECT_EQ(c.train.batch_size, 256);
  EXPECT_EQ(c.method, "simclr");
}

TEST(Config, YamlThenOverridesInOrder) {
  auto path = write_temp("seed: 7\ntrain:\n  batch_size: 64\n  epochs: 2.5\nmodel:\n  widths: [8, 16]\n");
  auto c = load(path, {"train.batch_size=32", "augment.mean=[0.1, 0.2, 0.3]",
                       "augment.std=[1,1,1]", "model.head_batch_norm=true"});
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.train.batch_size, 32);
  EXPECT_DOUBLE_EQ(c.train.epochs, 2.5);
  EXPECT_EQ(c.model.widths, (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(c.augment.mean.size(), 3u);
  EXPECT_TRUE(c.model.head_batch_norm);
}

TEST(Config, ToYamlRoundTrips) {
  auto c = load("", {"train.batch_size=48", "loss.temperature=0.2", "data.path=/tmp/x y",
                     "model.widths=[3,5]"});
  auto again = load(write_temp(to_yaml(c)));
  EXPECT_EQ(to_yaml(again), to_yaml(c));
  EXPECT_EQ(again.data.path, "/tmp/x y");
}

TEST(Config, UnknownKeySuggestsNearest) {
  auto e = error_of("train:\n  batchsize: 3\n");
  EXPECT_NE(e.find("unknown config key 'train.batchsize'"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'train.batch_size'?"), std::string::npos) << e;
  EXPECT_NE(error_of("", {"loss.temprature=0.1"}).find("did you mean 'loss.temperature'?"),
            std::string::npos);
  EXPECT_NE(error_of("trian:\n  epochs: 1\n").find("unknown config key 'trian'"),
            std::string::npos);
}

TEST(Config, WrongTypesAreNamed) {
  EXPECT_NE(error_of("train:\n  batch_size: abc\n")
                .find("train.batch_size: expected an integer, got 'abc'"),
            std::string::npos);
  EXPECT_NE(error_of("", {"train.batch_size=2.5"}).find("expected an integer, got '2.5'"),
            std::string::npos);
  EXPECT_NE(error_of("", {"model.head_batch_norm=maybe"}).find("expected true or false"),
            std::string::npos);
  EXPECT_NE(error_of("train: [1, 2]\n").find("unknown config key 'train'"), std::string::npos);
  EXPECT_NE(error_of("", {"loss.name=arcface"})
                .find("loss.name: unknown value 'arcface'; valid: nt_xent, debiased, hard_negative, supcon, decoupled, triplet"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.negatives=easy"})
                .find("loss.negatives: unknown value 'easy'; valid: all, random, hardest, threshold, semi_hard"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.tau_plus=1"}).find("loss.tau_plus must be in [0, 1), got 1"),
            std::string::npos);
  EXPECT_NE(error_of("", {"optim.name=adam"}).find("optim.name: unknown value 'adam'; valid: sgd, adamw, lars"),
            std::string::npos);
}

TEST(Config, LossCombinationsAreChecked) {
  EXPECT_NE(error_of("", {"loss.adaptive=true"})
                .find("loss.adaptive needs loss.name hard_negative or hcl, got nt_xent"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.name=triplet", "loss.negatives=hardest"})
                .find("loss.negatives hardest applies to nt_xent, debiased, hard_negative, decoupled and hcl, not to triplet"),
            std::string::npos);
  // Triplet options on another loss would be ignored: refused.
  EXPECT_NE(error_of("", {"loss.triplet_labels=true"})
                .find("loss.triplet_labels, triplet_normalize, triplet_average_nonzero and "
                      "semi_hard_inclusive apply to loss.name triplet, not to nt_xent"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.name=triplet", "loss.mining=batch_all", "loss.semi_hard_inclusive=true"})
                .find("loss.semi_hard_inclusive applies to loss.mining semi_hard, not to batch_all"),
            std::string::npos);
  EXPECT_EQ(error_of("", {"loss.name=triplet", "loss.triplet_labels=true", "loss.triplet_normalize=true",
                          "loss.semi_hard_inclusive=true", "loss.similarity=l2"}),
            "(no error)");
  EXPECT_NE(error_of("", {"loss.adaptive_gap_low=0.9"})
                .find("loss.adaptive_gap_low (0.9) must be < loss.adaptive_gap_high (0.8)"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.num_negatives=0"}).find("loss.num_negatives must be >= 1, got 0"),
            std::string::npos);
  EXPECT_EQ(error_of("", {"loss.name=hard_negative", "loss.adaptive=true", "loss.negatives=hardest"}), "(no error)");
}

TEST(Config, MoCoSettingsAreChecked) {
  EXPECT_NE(error_of("", {"method=moco", "moco.queue_size=256"})
                .find("moco.queue_size (256) must be >= the keys enqueued per step (512)"),
            std::string::npos);
  EXPECT_NE(error_of("", {"method=moco", "moco.momentum=1.5"}).find("moco.momentum must be in [0, 1], got 1.5"),
            std::string::npos);
  EXPECT_NE(error_of("", {"method=moco", "model.encode_chunk=0"})
                .find("moco.shuffle_bn needs model.encode_chunk in [1, train.batch_size), got 0 with batch 256"),
            std::string::npos);
  EXPECT_NE(error_of("", {"method=moco", "loss.name=supcon"})
                .find("method moco needs an InfoNCE loss (nt_xent, debiased, hard_negative, decoupled, hcl), got loss.name supcon"),
            std::string::npos);
  EXPECT_EQ(error_of("", {"method=moco", "model.encode_chunk=32", "train.batch_size=64"}), "(no error)");
}

TEST(Config, OutOfRangeValuesAreRejected) {
  EXPECT_NE(error_of("", {"loss.temperature=0"}).find("loss.temperature must be > 0, got 0"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.temperature=-1"}).find("loss.temperature must be > 0, got -1"),
            std::string::npos);
  EXPECT_NE(error_of("", {"train.batch_size=1"}).find("train.batch_size must be >= 2, got 1"),
            std::string::npos);
  EXPECT_NE(error_of("", {"augment.crop_scale_min=0"})
                .find("augment.crop_scale_min must be in (0, 1], got 0"),
            std::string::npos);
  EXPECT_NE(error_of("", {"augment.crop_scale_max=1.5"}).find("in (0, 1], got 1.5"),
            std::string::npos);
  EXPECT_NE(error_of("", {"train.epochs=-1"}).find("train.epochs must be >= 0, got -1"),
            std::string::npos);
  EXPECT_NE(error_of("", {"augment.crop_scale_min=0.9", "augment.crop_scale_max=0.5"})
                .find("augment.crop_scale_min (0.9) must be <= augment.crop_scale_max (0.5)"),
            std::string::npos);
  EXPECT_NE(error_of("", {"train.epochs=0"}).find("train.epochs must be > 0"), std::string::npos);
}

TEST(Config, MalformedInputs) {
  EXPECT_NE(error_of("train: {batch_size: 3\n").find("invalid YAML"), std::string::npos);
  EXPECT_NE(error_of("- 1\n- 2\n").find("must be a map"), std::string::npos);
  EXPECT_NE(error_of("", {"train.batch_size"}).find("--set expects key=value"), std::string::npos);
  try {
    load("/nonexistent/cfg.yaml");
    FAIL();
  } catch (const contra::Error& e) {
    EXPECT_STREQ(e.what(), "cannot read config file '/nonexistent/cfg.yaml'");
  }
}

TEST(Config, RequiredKeysFromTheIssueExist) {
  for (const char* key : {"train.epochs", "train.max_steps", "train.batch_size", "data.limit",
                          "seed", "threads", "device"}) {
    EXPECT_EQ(nearest_key(key), key);
  }
}

TEST(Config, ShippedConfigsLoad) {
  for (auto [name, method] : {std::pair{"fashion_mnist.yaml", "simclr"},
                              std::pair{"simcse_wordnet.yaml", "simcse"},
                              std::pair{"simcse_wordnet_supervised.yaml", "simcse_supervised"}}) {
    auto c = load(std::string(CONTRA_SOURCE_DIR) + "/configs/" + name);
    EXPECT_EQ(c.method, method) << name;
  }
}

TEST(Config, TiledLossAndGradCacheKeys) {
  auto c = load("", {"loss.tiled=on", "loss.tile_size=256", "train.grad_cache=true"});
  EXPECT_EQ(c.loss.tiled, "on");
  EXPECT_EQ(c.loss.tile_size, 256);
  EXPECT_TRUE(c.train.grad_cache);
  EXPECT_EQ(load("").loss.tiled, "auto");
  EXPECT_NE(error_of("", {"loss.tiled=maybe"}).find("loss.tiled: unknown value 'maybe'; valid: auto, on, off"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.tile_size=0"}).find("loss.tile_size must be >= 1, got 0"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.tiled=on", "loss.name=supcon"})
                .find("loss.tiled=on needs loss.name=nt_xent"),
            std::string::npos);
  // Options a method would ignore are refused: only simclr has a tiled pass, and the text
  // methods take no negatives policy.
  EXPECT_NE(error_of("", {"method=moco", "loss.tiled=on", "moco.queue_size=4096"})
                .find("loss.tiled=on needs method simclr and clip (moco has no tiled pass)"),
            std::string::npos);
  EXPECT_NE(error_of("", {"method=simcse", "data.dataset=wordnet", "loss.tiled=on"})
                .find("loss.tiled=on needs method simclr and clip (simcse has no tiled pass)"),
            std::string::npos);
  EXPECT_NE(error_of("", {"method=simcse", "data.dataset=wordnet", "loss.negatives=hardest"})
                .find("loss.negatives hardest applies to methods simclr and moco, not to simcse"),
            std::string::npos);
  EXPECT_EQ(error_of("", {"method=moco", "loss.tiled=off", "moco.queue_size=4096"}), "(no error)");
  EXPECT_NE(error_of("", {"train.grad_cache=true", "model.encode_chunk=0"})
                .find("train.grad_cache=true needs model.encode_chunk > 0"),
            std::string::npos);
}

TEST(Config, NonFiniteStepKeys) {
  EXPECT_EQ(load("").train.nonfinite, "stop");
  EXPECT_EQ(load("").train.max_skipped_steps, 10);
  auto c = load("", {"train.nonfinite=skip", "train.max_skipped_steps=0"});
  EXPECT_EQ(c.train.nonfinite, "skip");
  EXPECT_EQ(c.train.max_skipped_steps, 0);
  EXPECT_NE(error_of("", {"train.nonfinite=ignore"})
                .find("train.nonfinite: unknown value 'ignore'; valid: stop, skip"),
            std::string::npos);
  EXPECT_NE(error_of("", {"train.nonfinite=[skip]"})
                .find("train.nonfinite: expected a string, got a list"),
            std::string::npos);
  EXPECT_NE(error_of("", {"train.max_skipped_steps=-1"})
                .find("train.max_skipped_steps must be >= 0, got -1"),
            std::string::npos);
  EXPECT_NE(error_of("", {"train.max_skipped_steps=2.5"})
                .find("train.max_skipped_steps: expected an integer, got '2.5'"),
            std::string::npos);
  EXPECT_NE(error_of("train:\n  max_skiped_steps: 3\n").find("did you mean 'train.max_skipped_steps'?"),
            std::string::npos);
}

// Found by fuzz/fuzz_config (round trip): to_yaml printed infinity as 'inf', which YAML does not
// read back, so a run folder's config.yaml could not be loaded again. Non-finite numbers are
// now refused like out-of-range ones.
TEST(Config, InfiniteNumbersAreRefused) {
  EXPECT_NE(error_of("augment:\n  mean: [.inf]\n  std: [1]\n").find("augment.mean[0] must be"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.adaptive_gap_low=-.inf"})
                .find("loss.adaptive_gap_low must be"),
            std::string::npos);
  EXPECT_NE(error_of("", {"train.epochs=.inf"}).find("train.epochs must be >= 0, got .inf"),
            std::string::npos);
}

// Found by fuzz/fuzz_config (UBSan): batch_size x 2 overflowed int64 in the MoCo queue check.
TEST(Config, MoCoQueueCheckDoesNotOverflow) {
  EXPECT_NE(error_of("", {"method=moco", "moco.symmetric=true",
                          "train.batch_size=9223372036854775807"})
                .find("must be >= the keys enqueued per step (18446744073709551614)"),
            std::string::npos);
  EXPECT_EQ(error_of("", {"method=moco", "moco.symmetric=true", "moco.queue_size=513",
                          "train.batch_size=256"}),
            "(no error)");
  EXPECT_NE(error_of("", {"method=moco", "moco.symmetric=true", "moco.queue_size=511",
                          "train.batch_size=256"})
                .find("moco.queue_size (511) must be >= the keys enqueued per step (512)"),
              std::string::npos);
}

TEST(Config, TextKeys) {
  auto c = load("", {"method=simcse", "data.dataset=wordnet", "loss.name=info_nce",
                     "text.augment=[delete, synonym]", "text_model.pooling=first", "text.max_len=48"});
  EXPECT_EQ(c.text.augment, (std::vector<std::string>{"delete", "synonym"}));
  EXPECT_EQ(c.text_model.pooling, "first");
  auto again = load(write_temp(to_yaml(c)));
  EXPECT_EQ(to_yaml(again), to_yaml(c));
  EXPECT_EQ(load("", {"method=simcse", "data.dataset=wordnet", "text.augment=crop"}).text.augment,
            (std::vector<std::string>{"crop"}));
  const std::vector<std::string> text = {"method=simcse", "data.dataset=wordnet"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), text.begin(), text.end());
    return error_of("", more);
  };
  EXPECT_NE(with({"text.augment=[dropout, shuffle]"})
                .find("text.augment: unknown value 'shuffle'; valid: dropout, delete, crop, swap, synonym"),
            std::string::npos);
  EXPECT_NE(with({"text_model.heads=5"}).find("text_model.heads (5) must divide text_model.width (128)"),
            std::string::npos);
  EXPECT_NE(with({"text.test_fraction=0.6", "text.val_fraction=0.5"})
                .find("text.test_fraction (0.6) + text.val_fraction (0.5) must be < 1"),
            std::string::npos);
  EXPECT_NE(error_of("", {"method=simcse"})
                .find("data.dataset 'fashion_mnist' does not go with method simcse; valid: wordnet, text_corpus"),
            std::string::npos);
  EXPECT_NE(error_of("", {"data.dataset=wordnet"})
                .find("data.dataset 'wordnet' does not go with method simclr; valid: fashion_mnist, image_folder, image_text_manifest, openclipart, emoji"),
            std::string::npos);
  EXPECT_NE(error_of("", {"loss.name=info_nce"})
                .find("loss.name 'info_nce' does not go with method simclr; valid: nt_xent, debiased, hard_negative, supcon"),
            std::string::npos);
  EXPECT_NE(error_of("", {"method=simcse_supervised", "data.dataset=wordnet", "loss.name=nt_xent"})
                .find("text.hard_negatives needs loss.name info_nce"),
            std::string::npos);
}

TEST(Config, ParallelViewsIsChecked) {
  EXPECT_FALSE(load("").model.parallel_views);
  EXPECT_TRUE(load("", {"model.parallel_views=true"}).model.parallel_views);
  EXPECT_NE(error_of("", {"model.parallel_views=true", "method=moco", "moco.queue_size=4096"})
                .find("model.parallel_views=true supports method simclr, got moco"),
            std::string::npos);
  EXPECT_NE(error_of("", {"model.parallel_views=true", "train.grad_cache=true"})
                .find("model.parallel_views=true and train.grad_cache=true are two different steps"),
            std::string::npos);
  EXPECT_NE(error_of("", {"model.parallel_views=true", "device=cuda"}).find("runs on the CPU, got device cuda"),
            std::string::npos);
  EXPECT_NE(error_of("", {"model.parallel_views=true", "dist.sync_bn=true"})
                .find("cannot synchronise batch norm"),
            std::string::npos);
}
