#include "contra/run/checkpoints.h"

#include <algorithm>
#include <filesystem>
#include <regex>
#include <utility>
#include <vector>

#include "contra/core/error.h"

namespace contra::run {
namespace fs = std::filesystem;
namespace {

/// checkpoint-<step>.pt files in the folder, newest first.
std::vector<std::pair<int64_t, fs::path>> numbered(const std::string& folder) {
  static const std::regex kName(R"(checkpoint-(\d+)\.pt)");
  std::vector<std::pair<int64_t, fs::path>> out;
  for (const auto& e : fs::directory_iterator(folder)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, kName)) out.emplace_back(std::stoll(m[1]), e.path());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

}  // namespace

Checkpoints::Checkpoints(std::string folder, int64_t keep) : folder_(std::move(folder)), keep_(keep) {
  CONTRA_CHECK(keep >= 1, "train.keep_checkpoints must be >= 1, got ", keep);
}

void Checkpoints::save(torch::nn::Module& model, const train::Optimizer* optimizer,
                       const train::CheckpointState& state) const {
  const fs::path file = fs::path(folder_) / ("checkpoint-" + std::to_string(state.step) + ".pt");
  train::save_checkpoint(file.string(), model, optimizer, state);
  const fs::path latest = fs::path(folder_) / "checkpoint.pt";
  // Points `to` at `from` (a hard link swapped in by rename, or a copy where there are none).
  auto link_into_place = [](const fs::path& from, const fs::path& to) {
    const fs::path link = to.string() + ".link";
    std::error_code ec;
    fs::remove(link, ec);
    fs::create_hard_link(from, link, ec);
    if (ec) fs::copy_file(from, link, fs::copy_options::overwrite_existing, ec);  // no hard links
    CONTRA_CHECK(!ec, "cannot write '", link.string(), "': ", ec.message());
    fs::rename(link, to, ec);
    CONTRA_CHECK(!ec, "cannot move checkpoint into place at '", to.string(), "': ", ec.message());
  };
  // The checksum first, as save_checkpoint does: a crash in between leaves the old
  // checkpoint.pt failing its check (an error that offers the new numbered file), never a
  // checkpoint.pt that LibTorch reads unverified.
  link_into_place(train::checksum_path(file.string()), train::checksum_path(latest.string()));
  link_into_place(file, latest);
  auto files = numbered(folder_);
  std::error_code ec;
  for (size_t i = size_t(keep_); i < files.size(); ++i) {
    fs::remove(files[i].second, ec);
    fs::remove(train::checksum_path(files[i].second.string()), ec);
  }
}

train::CheckpointState Checkpoints::load_latest(torch::nn::Module& model,
                                                train::Optimizer* optimizer) const {
  const std::string latest = (fs::path(folder_) / "checkpoint.pt").string();
  try {
    return train::load_checkpoint(latest, model, optimizer);
  } catch (const Error& e) {
    // Offer an older checkpoint, unless the newest numbered one is checkpoint.pt itself.
    std::error_code ec;
    for (const auto& [step, path] : numbered(folder_)) {
      if (fs::equivalent(path, latest, ec)) continue;
      throw Error(std::string(e.what()) + "; the previous checkpoint is " + path.string() +
                  " (step " + std::to_string(step) + "): copy it to " + latest + " (and " +
                  train::checksum_path(path.string()) + " to " + train::checksum_path(latest) +
                  ") to resume from there");
    }
    throw;
  }
}

}  // namespace contra::run
