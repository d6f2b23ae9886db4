// Method clip from the command line, on a manifest of real images: 200 Fashion-MNIST test images
// saved as PNGs, each with two captions made from its class name ("a photo of a sneaker"). A
// short run writes every summary.json field in range (trained and untrained) and the learned
// temperature in metrics.jsonl; a killed run resumes to the same parameters; embed + index +
// search with a text query against the image index; bad manifests and configs exit 2 with one
// message.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "../support/fashion_manifest.h"
#include "../support/process.h"
#include "contra/run/checkpoints.h"
#include "contra/run/engine.h"
#include "contra/train/checkpoint.h"

namespace fs = std::filesystem;
using namespace contra;
using namespace contra::test_support;

namespace {

/// The first 200 Fashion-MNIST test images with two captions each; made once per test process.
const std::string& clip_manifest() {
  static const std::string path = write_fashion_manifest(temp_dir("clip_manifest"), 200);
  return path;
}

/// A small clip run on the manifest: convnet image tower, one-block text tower, AdamW.
std::vector<std::string> clip_args(const std::string& out, int steps, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a = {
      CONTRA_CLI_PATH, "train", std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml",
      "--set", "method=clip", "--set", "data.dataset=image_text_manifest", "--set", "data.path=" + clip_manifest(),
      "--set", "data.label_column=label", "--set", "data.channels=1", "--set", "data.image_size=28",
      "--set", "loss.name=clip", "--set", "augment.crop_scale_min=0.8", "--set", "augment.flip_p=0",
      "--set", "augment.jitter_p=0", "--set", "augment.grayscale_p=0", "--set", "model.widths=[8,16]",
      "--set", "model.encode_chunk=0", "--set", "model.head_layers=1", "--set", "model.head_dim=32",
      "--set", "text.vocab_size=60", "--set", "text.max_len=16", "--set", "text_model.width=32",
      "--set", "text_model.heads=2", "--set", "text_model.layers=1", "--set", "text_model.ffn=64",
      "--set", "text_model.dropout=0", "--set", "optim.name=adamw", "--set", "optim.lr=0.002",
      "--set", "optim.weight_decay=0.1", "--set", "train.batch_size=32", "--set", "train.max_steps=" + std::to_string(steps),
      "--set", "train.log_every=5", "--set", "eval.knn_k=10", "--set", "eval.batch_size=64", "--set", "threads=1",
      "--out", out};
  for (const auto& e : extra) a.insert(a.end() - 2, {"--set", e});
  return a;
}

nlohmann::json clip_json(const std::string& path) { return nlohmann::json::parse(slurp(path)); }

void expect_shared_space_fields(const nlohmann::json& s, const std::string& where) {
  const double top1 = s.at("zero_shot_top1").get<double>(), top5 = s.at("zero_shot_top5").get<double>();
  EXPECT_GE(top1, 0.0) << where;
  EXPECT_LE(top1, top5) << where;
  EXPECT_LE(top5, 1.0) << where;
  EXPECT_EQ(s.at("zero_shot_classes"), 10) << where;
  for (const std::string d : {"i2t", "t2i"}) {
    const double r1 = s.at(d + "_recall_at_1"), r5 = s.at(d + "_recall_at_5"), r10 = s.at(d + "_recall_at_10");
    EXPECT_LE(0.0, r1) << where;
    EXPECT_LE(r1, r5) << where;
    EXPECT_LE(r5, r10) << where;
    EXPECT_LE(r10, 1.0) << where;
    EXPECT_GE(s.at(d + "_median_rank").get<double>(), 1.0) << where;
    EXPECT_GE(s.at(d + "_mean_rank").get<double>(), 1.0) << where;
  }
}

std::vector<std::pair<std::string, torch::Tensor>> clip_final_state(const std::string& dir) {
  auto model = run::method_for_run(dir);
  run::Checkpoints(dir, 2).load_latest(*model, nullptr);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model->named_parameters()) out.emplace_back(p.key(), p.value().clone());
  for (const auto& b : model->named_buffers()) out.emplace_back(b.key(), b.value().clone());
  return out;
}

}  // namespace

TEST(ClipCli, TrainsOnAManifestAndEvaluatesTheSharedSpace) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "no Fashion-MNIST";
  const auto dir = temp_dir("clip_run");
  ASSERT_EQ(wait_exit(spawn(clip_args(dir, 30, {"eval.monitor_every=10"}), dir + ".log")), 0) << slurp(dir + ".log");
  for (const char* f : {"config.yaml", "tokenizer.model", "metrics.jsonl", "summary.json", "checkpoint.pt"})
    EXPECT_TRUE(fs::exists(fs::path(dir) / f)) << f;
  const auto s = clip_json(dir + "/summary.json");
  EXPECT_EQ(s["method"], "clip");
  EXPECT_EQ(s["steps"], 30);
  // About 10% of each class held out for testing (rounded per class), every caption with its image.
  const int64_t train = s["train_images"], held = s["eval_images"];
  EXPECT_EQ(train + held, 200);
  EXPECT_GE(held, 15);
  EXPECT_LE(held, 25);
  EXPECT_EQ(s["eval_captions"], 2 * held);
  EXPECT_EQ(s["train_captions"], 2 * train);
  const auto log = slurp(dir + ".log");
  EXPECT_NE(log.find(std::to_string(train) + " training images with " + std::to_string(2 * train) + " captions"),
            std::string::npos) << log;
  expect_shared_space_fields(s, "trained");
  ASSERT_TRUE(s.contains("untrained")) << s.dump(2);
  expect_shared_space_fields(s["untrained"], "untrained");
  for (const char* key : {"knn_acc", "linear_acc"}) {
    EXPECT_GE(s[key].get<double>(), 0.0) << key;
    EXPECT_LE(s[key].get<double>(), 1.0) << key;
  }
  EXPECT_TRUE(s["untrained"].contains("knn_acc"));
  // metrics.jsonl: the learned scale and its temperature, within the clamp; the monitor on the
  // evaluation split every 10 steps, its last value the final evaluation's (same parameters).
  std::ifstream m(dir + "/metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(m, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    const bool monitored = j.at("step").get<int64_t>() % 10 == 0;
    for (const char* key : {"monitor_zero_shot_top1", "monitor_i2t_recall_at_10", "monitor_t2i_recall_at_10"})
      EXPECT_EQ(j.contains(key), monitored) << key << " at step " << j.at("step");
    if (j.at("step") == 30) {
      EXPECT_EQ(j.at("monitor_zero_shot_top1").get<double>(), s["zero_shot_top1"].get<double>());
      EXPECT_EQ(j.at("monitor_i2t_recall_at_10").get<double>(), s["i2t_recall_at_10"].get<double>());
      EXPECT_EQ(j.at("monitor_t2i_recall_at_10").get<double>(), s["t2i_recall_at_10"].get<double>());
    }
    const double scale = j.at("logit_scale"), t = j.at("temperature");
    EXPECT_GE(scale, 1.0);
    EXPECT_LE(scale, 100.0 + 1e-9);
    EXPECT_NEAR(scale * t, 1.0, 1e-9);
  }
  EXPECT_EQ(lines, 6);
  // contra eval recomputes the same numbers from the folder.
  auto ev = run_cli("eval --run " + dir);
  ASSERT_EQ(ev.code, 0) << ev.output;
  EXPECT_NE(ev.output.find("zero-shot top1"), std::string::npos) << ev.output;
  EXPECT_EQ(clip_json(dir + "/summary.json")["zero_shot_top1"], s["zero_shot_top1"]);

  // The image index in the shared space: a text query and an image query both find images.
  const std::string images = fs::path(clip_manifest()).parent_path().string() + "/images";
  auto em = run_cli("embed --run " + dir + " --data folder:" + images + " --output head --out " + dir + "/img.npy");
  ASSERT_EQ(em.code, 0) << em.output;
  EXPECT_NE(em.output.find("dim 32"), std::string::npos) << em.output;
  ASSERT_EQ(run_cli("index --embeddings " + dir + "/img.npy --out " + dir + "/idx --type flat").code, 0);
  auto q = run_cli("search --index " + dir + "/idx --query-text \"a photo of a sneaker\" -k 5 --json");
  ASSERT_EQ(q.code, 0) << q.output;
  const auto hits = nlohmann::json::parse(q.output.substr(q.output.find('{')));
  ASSERT_EQ(hits["results"].size(), 5u) << q.output;
  EXPECT_NE(hits["results"][0]["path"].get<std::string>().find(".png"), std::string::npos);
  auto qi = run_cli("search --index " + dir + "/idx --query-image " + images + "/0.png -k 1 --json");
  ASSERT_EQ(qi.code, 0) << qi.output;
  EXPECT_NE(qi.output.find("0.png"), std::string::npos) << qi.output;  // an image finds itself
  // Texts embed into the same space (and file format).
  std::ofstream(dir + "/captions.txt") << "a photo of a sneaker\na photo of a bag\n";
  auto et = run_cli("embed --run " + dir + " --data text:" + dir + "/captions.txt --output head --out " + dir + "/txt.npy");
  ASSERT_EQ(et.code, 0) << et.output;
  // With the encoder output the towers have their own spaces: a text query is refused.
  ASSERT_EQ(run_cli("embed --run " + dir + " --data folder:" + images + " --out " + dir + "/enc.npy").code, 0);
  ASSERT_EQ(run_cli("index --embeddings " + dir + "/enc.npy --out " + dir + "/enc_idx --type flat").code, 0);
  auto refused = run_cli("search --index " + dir + "/enc_idx --query-text \"a bag\"");
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("a text query needs an index of head embeddings (contra embed --output head)"),
            std::string::npos) << refused.output;
  // The image tower exports as a stock image encoder.
  auto ex = run_cli("export --run " + dir + " --format pytorch --out " + dir + "/tower.pt");
  EXPECT_EQ(ex.code, 0) << ex.output;
}

TEST(ClipCli, KilledRunResumesToTheSameParameters) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "no Fashion-MNIST";
  const std::vector<std::string> extra = {"train.checkpoint_every=3", "eval.enabled=false"};
  const auto ref = temp_dir("clip_resume_reference"), dir = temp_dir("clip_resume_killed");
  ASSERT_EQ(wait_exit(spawn(clip_args(ref, 120, extra), ref + ".log")), 0) << slurp(ref + ".log");
  pid_t pid = spawn(clip_args(dir, 120, extra), dir + ".log");
  bool saw = false;
  for (int i = 0; i < 3000 && !saw; ++i) {
    for (int s = 9; s <= 120 && !saw; s += 3) saw = fs::exists(dir + "/checkpoint-" + std::to_string(s) + ".pt");
    if (!saw) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(saw) << slurp(dir + ".log");
  kill(pid, SIGKILL);
  wait_exit(pid);
  ASSERT_EQ(wait_exit(spawn({CONTRA_CLI_PATH, "train", "--resume", dir}, dir + ".resume.log")), 0)
      << slurp(dir + ".resume.log");
  const auto resumed = slurp(dir + ".resume.log");
  const auto at = resumed.find("resuming at step ");
  ASSERT_NE(at, std::string::npos) << resumed;
  EXPECT_LT(std::stoll(resumed.substr(at + 17)), 120) << "killed after the last step";
  auto x = clip_final_state(ref), y = clip_final_state(dir);
  ASSERT_EQ(x.size(), y.size());
  bool has_scale = false;
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].first, y[i].first);
    EXPECT_TRUE(torch::equal(x[i].second, y[i].second)) << x[i].first;
    has_scale |= x[i].first == "logit_scale";
  }
  EXPECT_TRUE(has_scale);
}

TEST(ClipCli, BadManifestsAndConfigsExitTwoWithOneMessage) {
  const auto dir = fs::path(temp_dir("clip_bad"));
  fs::create_directories(dir);
  std::ofstream(dir / "nocol.csv") << "path,title\nx.png,a caption\n";
  std::ofstream(dir / "missing.tsv") << "filepath\ttitle\nnope.png\ta caption\n";
  const std::string base = "train " + std::string(CONTRA_SOURCE_DIR) +
                           "/configs/fashion_mnist.yaml --set method=clip --set data.dataset=image_text_manifest"
                           " --set loss.name=clip --set eval.enabled=false --set train.max_steps=1";
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {base + " --set data.path=" + (dir / "nocol.csv").string() + " --out " + (dir / "r1").string(),
       (dir / "nocol.csv").string() + ":1: the header has no column 'filepath'"},
      {base + " --set data.path=" + (dir / "missing.tsv").string() + " --out " + (dir / "r2").string(),
       (dir / "missing.tsv").string() + ":2: image file '" + (dir / "nope.png").string() + "' not found"},
      {base + " --set loss.name=nt_xent", "loss.name 'nt_xent' does not go with method clip; valid: clip, siglip"},
      {base + " --set data.dataset=fashion_mnist", "data.dataset 'fashion_mnist' does not go with method clip; valid: image_text_manifest"},
      {base + " --set data.separator=semicolon", "data.separator: unknown value 'semicolon'; valid: auto, tab, comma"},
      {base + " --set eval.prompts=[\"a photo\"]", "eval.prompts[0]: prompt template 'a photo' must hold \"{}\" once"},
      {base + " --set loss.name=siglip --set loss.tiled=on", "loss.tiled=on needs loss.name=nt_xent with loss.negatives=all, or loss.name=clip"},
      {base + " --set loss.similarity=dot", "loss.similarity must be cosine, got dot"},
      {base + " --set data.path=" + clip_manifest() + " --set data.label_column=label --set eval.class_names=[shoe,bag]" +
           " --out " + (dir / "r3").string(),
       "eval.class_names has 2 name(s); the dataset has 10 classes, in this order: "},
      {base + " --set 'eval.class_names=[\"shoe\",\" \"]'", "eval.class_names[1]: a class name must not be empty"},
      {base + " --set 'eval.class_names=[\"shoe|\",\"bag\"]'", "eval.class_names[0]: class name 'shoe|' has an empty alternative"},
      {base + " --set clip.temperature_init=0.001", "clip.temperature_init (0.001) must be 0 (the loss's own) or at least 1 / clip.max_scale"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(r.output.find("Exception raised from"), std::string::npos) << r.output;
  }
}
