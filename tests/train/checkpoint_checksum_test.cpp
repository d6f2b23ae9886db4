// Checkpoint checksums: every checkpoint has its SHA-256 beside it, checked before LibTorch reads
// the file, so a truncated or damaged checkpoint (including the crashing inputs the fuzzer found
// for LibTorch 1.13's reader, fuzz/findings/) is a contra::Error, never a crash; a run folder's
// link and pruning carry the checksum files, and the fallback to the previous checkpoint works.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <unistd.h>

#include "contra/core/error.h"
#include "contra/run/checkpoints.h"
#include "contra/train/checkpoint.h"
#include "../support/process.h"

namespace fs = std::filesystem;
using contra::train::checksum_path;
using contra::train::load_checkpoint;
using contra::train::save_checkpoint;
using contra::train::sha256_file;

namespace {

using contra::test_support::slurp;

std::string made_dir(const std::string& name) {
  auto dir = testing::TempDir() + "/contra_sha_" + name + "_" + std::to_string(getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// The message of the contra::Error that loading `path` into a Linear(3, 2) throws ("" if none).
std::string load_error(const std::string& path) {
  torch::nn::Linear model(3, 2);
  try {
    load_checkpoint(path, *model, nullptr);
  } catch (const contra::Error& e) {
    return e.what();
  }
  return "";
}

/// A Linear(3, 2) checkpoint at `path`, as the fuzz seed is made (fuzz/fuzz_checkpoint.cpp).
torch::nn::Linear save_linear(const std::string& path, int64_t step = 7) {
  torch::manual_seed(0);
  torch::nn::Linear model(3, 2);
  contra::train::CheckpointState state;
  state.step = step;
  state.epoch = 1;
  save_checkpoint(path, *model, nullptr, state);
  return model;
}

}  // namespace

// FIPS 180-2's example: SHA-256("abc").
TEST(CheckpointChecksum, Sha256OfAKnownText) {
  auto dir = made_dir("abc");
  spit(dir + "/abc", "abc");
  EXPECT_EQ(sha256_file(dir + "/abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  spit(dir + "/empty", "");
  EXPECT_EQ(sha256_file(dir + "/empty"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_THROW(sha256_file(dir + "/missing"), contra::Error);
}

// sha256sum's format, "<hex>  <name>\n", and nothing left behind (no .tmp files).
TEST(CheckpointChecksum, WrittenBesideTheCheckpoint) {
  auto dir = made_dir("written");
  const auto path = dir + "/checkpoint-7.pt";
  save_linear(path);
  EXPECT_EQ(checksum_path(path), path + ".sha256");
  EXPECT_EQ(slurp(checksum_path(path)), sha256_file(path) + "  checkpoint-7.pt\n");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 2);
  EXPECT_EQ(load_error(path), "");
}

TEST(CheckpointChecksum, TruncatedCheckpointIsAClearError) {
  auto dir = made_dir("truncated");
  const auto path = dir + "/checkpoint-7.pt";
  save_linear(path);
  const uintmax_t full = fs::file_size(path);
  for (uintmax_t size : {full - 1, full / 2, uintmax_t(0)}) {
    fs::resize_file(path, size);
    const auto msg = load_error(path);
    EXPECT_NE(msg.find("' (SHA-256 "), std::string::npos) << size << ": " << msg;
    EXPECT_NE(msg.find("is corrupt or not a contra checkpoint"), std::string::npos) << msg;
  }
}

// One bit of a weight flipped: LibTorch reads such a file without complaint (a silently
// different model); the checksum refuses it.
TEST(CheckpointChecksum, BitFlipIsAClearError) {
  auto dir = made_dir("bitflip");
  const auto path = dir + "/checkpoint-7.pt";
  auto model = save_linear(path);
  auto bytes = slurp(path);
  const float w = model->weight[0][0].item<float>();
  const auto at = bytes.find(std::string(reinterpret_cast<const char*>(&w), sizeof w));
  ASSERT_NE(at, std::string::npos) << "weight[0][0] not found in the file";
  bytes[at] = char(bytes[at] ^ 1);  // lowest mantissa bit (little endian)
  spit(path, bytes);
  const auto msg = load_error(path);
  EXPECT_NE(msg.find("checkpoint '" + path + "' (SHA-256 "), std::string::npos) << msg;
  EXPECT_NE(msg.find("but '" + path + ".sha256' says"), std::string::npos) << msg;
  EXPECT_NE(msg.find("is corrupt or not a contra checkpoint"), std::string::npos) << msg;
}

// The fuzzer's inputs that make LibTorch 1.13's reader leak, allocate 29.6 GB or SEGV, in place
// of a checkpoint whose checksum file is there: each is an error before LibTorch sees it.
TEST(CheckpointChecksum, FuzzFindingsAreClearErrors) {
  auto dir = made_dir("findings");
  const auto path = dir + "/checkpoint-7.pt";
  int tried = 0;
  for (const auto& e : fs::directory_iterator(std::string(CONTRA_SOURCE_DIR) + "/fuzz/findings")) {
    if (e.path().extension() != ".pt") continue;  // the image readers' findings sit beside them
    save_linear(path);
    spit(path, slurp(e.path().string()));
    const auto msg = load_error(path);
    EXPECT_NE(msg.find("is corrupt or not a contra checkpoint"), std::string::npos)
        << e.path() << ": " << msg;
    ++tried;
  }
  EXPECT_EQ(tried, 3);
}

TEST(CheckpointChecksum, DamagedChecksumFileIsAClearError) {
  auto dir = made_dir("damaged_sum");
  const auto path = dir + "/checkpoint-7.pt";
  save_linear(path);
  spit(checksum_path(path), "not a checksum\n");
  EXPECT_NE(load_error(path).find("cannot be verified: its checksum file '" + path +
                                  ".sha256' holds no SHA-256"),
            std::string::npos)
      << load_error(path);
  // Upper-case hex (another tool's) is the same checksum.
  auto hex = sha256_file(path);
  for (auto& c : hex) c = char(std::toupper(static_cast<unsigned char>(c)));
  spit(checksum_path(path), hex + "\n");
  EXPECT_EQ(load_error(path), "");
}

// A checkpoint from a contra before checksums has no .sha256: it still loads (unverified).
TEST(CheckpointChecksum, CheckpointWithoutChecksumFileStillLoads) {
  auto dir = made_dir("legacy");
  const auto path = dir + "/checkpoint-7.pt";
  save_linear(path);
  fs::remove(checksum_path(path));
  torch::nn::Linear model(3, 2);
  EXPECT_EQ(load_checkpoint(path, *model, nullptr).step, 7);
  // The shipped fuzz seed, written by save_checkpoint before checksums, too.
  EXPECT_EQ(load_error(std::string(CONTRA_SOURCE_DIR) + "/fuzz/corpus/fuzz_checkpoint/tiny_linear.pt"), "");
}

// A run folder: checkpoint.pt.sha256 is linked with checkpoint.pt, pruning removes the old
// checksum files with their checkpoints, and after a damaged checkpoint.pt the error's advice
// (copy the previous checkpoint and its checksum into place) resumes from the previous step.
TEST(CheckpointChecksum, RunFolderLinksPrunesAndFallsBack) {
  auto dir = made_dir("run");
  contra::run::Checkpoints checkpoints(dir, 2);
  torch::manual_seed(0);
  torch::nn::Linear model(3, 2);
  for (int64_t step : {1, 2, 3}) checkpoints.save(*model, nullptr, {step, 0, {}});
  EXPECT_FALSE(fs::exists(dir + "/checkpoint-1.pt"));
  EXPECT_FALSE(fs::exists(dir + "/checkpoint-1.pt.sha256"));
  EXPECT_TRUE(fs::exists(dir + "/checkpoint-2.pt.sha256"));
  EXPECT_TRUE(fs::equivalent(dir + "/checkpoint.pt", dir + "/checkpoint-3.pt"));
  EXPECT_TRUE(fs::equivalent(dir + "/checkpoint.pt.sha256", dir + "/checkpoint-3.pt.sha256"));
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 6);  // checkpoint{,-2,-3}.pt and their .sha256: no .link or .tmp left
  EXPECT_EQ(checkpoints.load_latest(*model, nullptr).step, 3);

  // Damage checkpoint.pt (and, through the hard link, checkpoint-3.pt): cut its last byte.
  const auto latest = dir + "/checkpoint.pt";
  fs::resize_file(latest, fs::file_size(latest) - 1);
  std::string msg;
  try {
    checkpoints.load_latest(*model, nullptr);
  } catch (const contra::Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("is corrupt or not a contra checkpoint; the previous checkpoint is " + dir +
                     "/checkpoint-2.pt (step 2): copy it to " + latest + " (and " + dir +
                     "/checkpoint-2.pt.sha256 to " + latest + ".sha256)"),
            std::string::npos)
      << msg;
  for (auto suffix : {"", ".sha256"}) {
    fs::remove(latest + suffix);
    fs::copy_file(dir + "/checkpoint-2.pt" + suffix, latest + suffix);
  }
  EXPECT_EQ(checkpoints.load_latest(*model, nullptr).step, 2);
}
