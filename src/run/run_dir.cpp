#include "contra/run/run_dir.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "contra/core/error.h"
#include "contra/core/files.h"

namespace fs = std::filesystem;

namespace contra::run {

RunDir RunDir::create(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    CONTRA_CHECK(fs::is_directory(path, ec), "run folder '", path, "' exists and is a file");
    CONTRA_CHECK(fs::is_empty(path, ec), "run folder '", path,
                 "' already exists and is not empty; choose another --out or remove it");
  }
  fs::create_directories(path, ec);
  CONTRA_CHECK(!ec, "cannot create run folder '", path, "': ", ec.message());
  RunDir dir(path);
  // Prove the folder is writable now rather than after an hour of training.
  dir.write_file(".write-test", "ok\n");
  fs::remove(dir.file(".write-test"), ec);
  return dir;
}

RunDir RunDir::open(const std::string& path) {
  CONTRA_CHECK(fs::is_directory(path), "run folder '", path, "' does not exist");
  CONTRA_CHECK(fs::is_regular_file(path + "/config.yaml"), "'", path,
               "' is not a contra run folder (no config.yaml)");
  return RunDir(path);
}

void RunDir::write_file(const std::string& name, const std::string& content) const {
  write_file_atomically(file(name), content);
}

std::string RunDir::read_file(const std::string& name) const {
  std::ifstream in(file(name), std::ios::binary);
  CONTRA_CHECK(in.good(), "cannot read '", file(name), "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void RunDir::append_metrics(const nlohmann::json& record) {
  if (!metrics_) {
    metrics_ = std::make_shared<std::ofstream>(file("metrics.jsonl"), std::ios::app);
    CONTRA_CHECK(metrics_->good(), "cannot write '", file("metrics.jsonl"), "'");
  }
  *metrics_ << record.dump() << "\n";
  metrics_->flush();
  CONTRA_CHECK(metrics_->good(), "cannot append to '", file("metrics.jsonl"), "' (disk full?)");
}

void RunDir::keep_metrics_through(int64_t step) {
  metrics_.reset();
  if (!fs::exists(file("metrics.jsonl"))) return;
  std::ifstream in(file("metrics.jsonl"));
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    try {
      auto j = nlohmann::json::parse(line);
      if (j.contains("step") && j["step"].get<int64_t>() > step) continue;
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut short by a kill
    }
    kept += line + "\n";
  }
  write_file("metrics.jsonl", kept);
}

std::string default_run_path(const std::string& config_path) {
  std::string stem = config_path.empty() ? "run" : fs::path(config_path).stem().string();
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  std::string base = "runs/" + stem + "-" + buf, path = base;
  for (int i = 2; fs::exists(path); ++i) path = base + "-" + std::to_string(i);
  return path;
}

}  // namespace contra::run
