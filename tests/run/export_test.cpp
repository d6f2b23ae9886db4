// Encoders out to stock PyTorch/torchvision (contra export) and back in (model.init_from): the
// name mapping, the state dict files, and round trips through /usr/bin/python3 with torchvision
// (tests/interop/export_interop.py), which must be installed (scripts/install-deps.sh).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "../support/expect_error.h"
#include "../support/process.h"
#include "../support/python.h"
#include "contra/augment/pipeline.h"
#include "contra/config/load.h"
#include "contra/data/fashion_mnist.h"
#include "contra/models/convnet.h"
#include "contra/models/resnet.h"
#include "contra/run/checkpoints.h"
#include "contra/run/engine.h"
#include "contra/run/export.h"
#include "contra/run/resolve.h"
#include "contra/run/state_dict_file.h"
#include "contra/run/task.h"

namespace {

using contra::test_support::error_of;
using contra::test_support::run_cli;
using contra::test_support::run_interop_script;
using contra::test_support::temp_dir;

std::string export_test_config() { return std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml"; }

std::vector<std::string> export_test_torch_names(const torch::nn::Module& encoder) {
  std::vector<std::string> out;
  for (const auto& [mine, theirs] : contra::run::pytorch_names(encoder)) out.push_back(theirs);
  return out;
}

/// torchvision's ResNet state_dict keys without fc, as its modules are built (for comparison
/// with the mapping; the interop test compares with torchvision itself).
std::vector<std::string> export_test_expected_resnet(int64_t depth) {
  std::vector<std::string> keys;
  auto conv = [&](const std::string& p) { keys.push_back(p + ".weight"); };
  auto bn = [&](const std::string& p) {
    for (const char* s : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"})
      keys.push_back(p + "." + s);
  };
  conv("conv1");
  bn("bn1");
  const std::vector<int64_t> blocks = depth == 18 ? std::vector<int64_t>{2, 2, 2, 2} : std::vector<int64_t>{3, 4, 6, 3};
  const int convs = depth >= 50 ? 3 : 2;
  for (size_t s = 0; s < blocks.size(); ++s) {
    for (int64_t b = 0; b < blocks[s]; ++b) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      for (int k = 1; k <= convs; ++k) {
        conv(p + ".conv" + std::to_string(k));
        bn(p + ".bn" + std::to_string(k));
      }
      if (b == 0 && (s > 0 || depth >= 50)) {
        conv(p + ".downsample.0");
        bn(p + ".downsample.1");
      }
    }
  }
  return keys;
}

/// The first `n` Fashion-MNIST test images, uint8 [n, 1, 28, 28].
torch::Tensor export_test_images(int64_t n) {
  auto cfg = contra::config::load(export_test_config());
  return contra::data::load_fashion_mnist(cfg.data.path, contra::data::Split::kTest, n).images.slice(0, 0, n);
}

/// Eval-mode encoder features of `inputs` (normalised) by `method`.
torch::Tensor export_test_features(contra::methods::Method& method, const torch::Tensor& inputs) {
  torch::NoGradGuard no_grad;
  method.eval();
  contra::data::Batch batch;
  batch.view1 = inputs;
  return method.features(batch);
}

/// The method `cfg` builds for a Fashion-MNIST run, as training starts.
std::shared_ptr<contra::methods::Method> export_test_method(const contra::config::RunConfig& cfg) {
  auto run = contra::run::resolve(cfg);
  auto task = contra::run::make_task(run);
  torch::manual_seed(cfg.seed);
  return task->make_method();
}

/// The named child `name` of `method` (encoder, key_encoder).
std::shared_ptr<torch::nn::Module> export_test_child(contra::methods::Method& method, const std::string& name) {
  const auto children = method.named_children();
  const auto* found = children.find(name);
  return found ? *found : nullptr;
}

/// Trains a tiny Fashion-MNIST run with `sets`, exports it, computes contra's features of 16 test
/// images from the run's checkpoint and has Python rebuild the encoder from the docs and compare.
void export_test_round_trip(const std::string& name, const std::string& sets) {
  ASSERT_TRUE(contra::test_support::python_with_torchvision());
  const std::string dir = temp_dir(name);
  auto trained = run_cli("train " + export_test_config() + " --out " + dir + sets +
                         " --set train.max_steps=2 --set train.batch_size=16 --set data.limit=128"
                         " --set eval.enabled=false --set report.enabled=false --set threads=2 --set train.log_every=1");
  ASSERT_EQ(trained.code, 0) << trained.output;
  const std::string weights = dir + "/encoder.pt";
  auto exported = run_cli("export --run " + dir + " --format pytorch --out " + weights);
  ASSERT_EQ(exported.code, 0) << exported.output;
  EXPECT_NE(exported.output.find("exported step 2"), std::string::npos) << exported.output;

  const auto meta = nlohmann::json::parse(contra::test_support::slurp(dir + "/encoder.json"));
  EXPECT_EQ(meta["step"], 2);
  EXPECT_EQ(meta["in_channels"], 1);
  EXPECT_EQ(meta["image_size"], 28);

  auto method = contra::run::method_for_run(dir);
  const auto cfg = contra::config::load(dir + "/config.yaml");
  contra::run::Checkpoints(dir, cfg.train.keep_checkpoints).load_latest(*method, nullptr);
  const auto images = export_test_images(16);
  const auto features =
      export_test_features(*method, contra::augment::normalize_images(images, cfg.augment.mean, cfg.augment.std));
  EXPECT_EQ(meta["feature_dim"], features.size(1));
  const std::string check = dir + "/contra_features.pt";
  contra::run::write_state_dict(check, {{"images", images}, {"features", features}});

  auto py = run_interop_script("export_interop.py",
                               "features " + weights + " " + check + " " + CONTRA_SOURCE_DIR + "/docs/EXPORT.md");
  std::printf("[ INTEROP  ] %s", py.output.c_str());
  EXPECT_EQ(py.code, 0) << py.output;
}

}  // namespace

TEST(Export, ResNetNamesHaveTorchvisionStructure) {
  for (int64_t depth : {18, 34, 50}) {
    for (bool small : {true, false}) {
      contra::models::ResNet net(contra::models::ResNetOptions(depth).in_channels(1).small_stem(small));
      EXPECT_EQ(export_test_torch_names(*net), export_test_expected_resnet(depth)) << depth;
    }
  }
}

TEST(Export, ConvNetKeepsItsOwnNames) {
  contra::models::ConvNet net(contra::models::ConvNetOptions().widths({8, 16, 32}).pool_grid(2));
  std::vector<std::string> own;
  for (const auto& [mine, theirs] : contra::run::pytorch_names(*net)) {
    EXPECT_EQ(mine, theirs);
    own.push_back(mine);
  }
  const std::vector<std::string> first = {"body.0.weight", "body.1.weight", "body.1.bias", "body.1.running_mean",
                                          "body.1.running_var", "body.1.num_batches_tracked", "body.3.weight"};
  ASSERT_GE(own.size(), first.size());
  EXPECT_EQ(std::vector<std::string>(own.begin(), own.begin() + first.size()), first);
  EXPECT_EQ(own.size(), 3u * 6u);
}

TEST(Export, ResNetOfOtherBaseWidthIsRefused) {
  contra::models::ResNet net(contra::models::ResNetOptions(18).base_width(32));
  EXPECT_NE(error_of([&] { contra::run::pytorch_names(*net); }).find("model.base_width=32 has no torchvision counterpart"),
            std::string::npos);
}

TEST(Export, StateStaysFloat32ContiguousWithInt64Counters) {
  contra::models::ResNet net(contra::models::ResNetOptions(18).in_channels(1).small_stem(true));
  for (auto& p : net->parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  for (const auto& [name, t] : contra::run::pytorch_state(*net)) {
    EXPECT_TRUE(t.is_contiguous()) << name;
    EXPECT_EQ(t.device(), torch::kCPU) << name;
    const bool counter = name.find("num_batches_tracked") != std::string::npos;
    EXPECT_EQ(t.scalar_type(), counter ? torch::kLong : torch::kFloat) << name;
  }
}

TEST(Export, StateDictFileKeepsOrderValuesAndTypes) {
  const std::string dir = temp_dir("export_state_file");
  std::filesystem::create_directories(dir);
  const contra::run::NamedTensors saved = {
      {"z.weight", torch::randn({3, 4, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast)},
      {"a.count", torch::tensor(int64_t(42))},
      {"m.double", torch::randn({5}, torch::kDouble)},
      {"t.view", torch::randn({4, 6}).t()},
      {"empty", torch::zeros({0, 3})}};
  contra::run::write_state_dict(dir + "/s.pt", saved);
  const auto read = contra::run::read_state_dict(dir + "/s.pt");
  ASSERT_EQ(read.size(), saved.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(read[i].first, saved[i].first);
    EXPECT_EQ(read[i].second.scalar_type(), saved[i].second.scalar_type()) << saved[i].first;
    EXPECT_TRUE(read[i].second.is_contiguous());
    EXPECT_TRUE(torch::equal(read[i].second, saved[i].second)) << saved[i].first;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.pt.tmp"));
}

TEST(Export, StateDictFileErrorsNameTheFile) {
  const std::string dir = temp_dir("export_bad_file");
  std::filesystem::create_directories(dir);
  EXPECT_NE(error_of([&] { contra::run::read_state_dict(dir + "/none.pt"); }).find(dir + "/none.pt"), std::string::npos);
  std::ofstream(dir + "/junk.pt") << "not a zip archive at all";
  const auto junk = error_of([&] { contra::run::read_state_dict(dir + "/junk.pt"); });
  EXPECT_NE(junk.find("junk.pt': not a PyTorch zip archive"), std::string::npos) << junk;
}

TEST(Export, InitFromLoadsTheEncoderAndMoCosMomentumCopy) {
  const std::string dir = temp_dir("export_init_cpp");
  std::filesystem::create_directories(dir);
  contra::models::ResNet source(contra::models::ResNetOptions(18).in_channels(1).small_stem(true));
  {
    torch::NoGradGuard no_grad;
    for (auto& b : source->buffers())
      if (b.is_floating_point()) b.uniform_(0.5, 1.5);
  }
  auto state = contra::run::pytorch_state(*source);
  state.emplace_back("fc.weight", torch::zeros({10, 512}));
  contra::run::write_state_dict(dir + "/init.pt", state);
  for (const char* method : {"simclr", "moco"}) {
    auto cfg = contra::config::load(export_test_config(),
                                    {std::string("method=") + method, "model.encoder=resnet18",
                                     "model.init_from=" + dir + "/init.pt", "train.batch_size=32",
                                     "moco.queue_size=256", "moco.shuffle_bn=false"});
    auto built = export_test_method(cfg);
    for (const char* child : {"encoder", "key_encoder"}) {
      auto module = export_test_child(*built, child);
      if (!module) continue;
      const auto got = contra::run::pytorch_state(*module);
      ASSERT_EQ(got.size(), state.size() - 1);
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_TRUE(torch::equal(got[i].second, state[i].second)) << method << " " << child << " " << got[i].first;
    }
  }
}

TEST(Export, ResNetNamesEqualTorchvisionKeys) {
  ASSERT_TRUE(contra::test_support::python_with_torchvision());
  nlohmann::json names;
  for (int64_t depth : {18, 34, 50}) {
    contra::models::ResNet net{contra::models::ResNetOptions(depth)};
    names["resnet" + std::to_string(depth)] = export_test_torch_names(*net);
  }
  const std::string dir = temp_dir("export_keys");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/names.json") << names.dump();
  auto py = run_interop_script("export_interop.py", "keys " + dir + "/names.json");
  std::printf("[ INTEROP  ] %s", py.output.c_str());
  EXPECT_EQ(py.code, 0) << py.output;
}

// Python saves a random torchvision resnet18 (small stem, one channel, batch-norm statistics
// perturbed, an fc layer) with torch.save(model.state_dict()); contra starts from it.
TEST(Export, InitFromTorchvisionResNet18GivesTorchvisionsFeatures) {
  ASSERT_TRUE(contra::test_support::python_with_torchvision());
  const std::string dir = temp_dir("export_init_python");
  std::filesystem::create_directories(dir);
  auto base = contra::config::load(export_test_config());
  const auto inputs = contra::augment::normalize_images(export_test_images(16), base.augment.mean, base.augment.std);
  contra::run::write_state_dict(dir + "/inputs.pt", {{"inputs", inputs}});
  auto py = run_interop_script("export_interop.py",
                               "init " + dir + "/torchvision.pt " + dir + "/inputs.pt " + dir + "/python_features.pt");
  ASSERT_EQ(py.code, 0) << py.output;

  auto cfg = contra::config::load(export_test_config(), {"model.encoder=resnet18", "model.init_from=" + dir + "/torchvision.pt"});
  auto method = export_test_method(cfg);
  const auto features = export_test_features(*method, inputs);
  const auto expected = contra::run::read_state_dict(dir + "/python_features.pt").at(0).second;
  ASSERT_EQ(features.sizes(), expected.sizes());
  const double diff = (features - expected).abs().max().item<double>();
  std::printf("[ INTEROP  ] init_from torchvision resnet18: max |feature| %.4g, max_abs_diff %.3g\n",
              expected.abs().max().item<double>(), diff);
  EXPECT_LE(diff, 1e-4);
}

TEST(Export, TrainedResNet18MatchesTorchvision) {
  export_test_round_trip("export_resnet18", " --set model.encoder=resnet18 --set model.encode_chunk=16");
}

TEST(Export, TrainedConvNetMatchesTheDocsModule) {
  export_test_round_trip("export_convnet", " --set model.widths=[16,32,64]");
}

TEST(Export, BadInputGetsOneClearMessageAndExit2) {
  const std::string dir = temp_dir("export_bad");
  std::filesystem::create_directories(dir + "/no_checkpoint");
  std::filesystem::create_directories(dir + "/text_run");
  std::string removed;
  {
    std::ofstream(dir + "/no_checkpoint/config.yaml") << contra::config::to_yaml(contra::config::load(export_test_config()));
    std::ofstream(dir + "/text_run/config.yaml")
        << contra::config::to_yaml(contra::config::load(std::string(CONTRA_SOURCE_DIR) + "/configs/simcse_wordnet.yaml"));
    std::ofstream(dir + "/junk.pt") << "junk";
    // A 7x7 stem where the small stem's 3x3 belongs; and a file lacking one key.
    contra::models::ResNet large(contra::models::ResNetOptions(18).in_channels(1).small_stem(false));
    contra::run::write_state_dict(dir + "/large_stem.pt", contra::run::pytorch_state(*large));
    contra::models::ResNet small(contra::models::ResNetOptions(18).in_channels(1).small_stem(true));
    auto state = contra::run::pytorch_state(*small);
    removed = state[9].first;
    state.erase(state.begin() + 9);
    contra::run::write_state_dict(dir + "/lacking.pt", state);
  }
  const std::string train = "train " + export_test_config() +
                            " --set model.encoder=resnet18 --set data.limit=64 --set train.batch_size=32"
                            " --set eval.enabled=false --set report.enabled=false"
                            " --set train.max_steps=1 --set model.init_from=";
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"export --run /nonexistent/run --out " + dir + "/x.pt", "run folder '/nonexistent/run' does not exist"},
      {"export --run " + dir + "/no_checkpoint --out " + dir + "/x.pt", "has no checkpoint.pt: nothing to export"},
      {"export --run " + dir + "/no_checkpoint --format onnx --out " + dir + "/x.pt", "unknown export format 'onnx' (supported: pytorch)"},
      {"export --run " + dir + "/text_run --out " + dir + "/x.pt", "contra export supports image encoders"},
      {train + dir + "/missing.pt --out " + dir + "/r1", "cannot read state dict file '" + dir + "/missing.pt': no such file"},
      {train + dir + "/junk.pt --out " + dir + "/r2", "junk.pt': not a PyTorch zip archive"},
      {train + dir + "/large_stem.pt --out " + dir + "/r3", "large_stem.pt': 'conv1.weight' has shape [64, 1, 7, 7]"},
      {train + dir + "/lacking.pt --out " + dir + "/r4", "lacking.pt' lacks '" + removed + "'"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(r.output.find("Exception raised from"), std::string::npos) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.pt"));
}
