#pragma once
#include <fstream>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace contra::run {

/// A run is a folder: config.yaml (resolved), metrics.jsonl, summary.json, checkpoint.pt.
class RunDir {
 public:
  /// Creates `path`; refuses (contra::Error) an existing non-empty folder, so a run is never
  /// silently overwritten, and an unwritable location, before any work starts.
  static RunDir create(const std::string& path);
  /// Opens an existing run folder (must hold config.yaml).
  static RunDir open(const std::string& path);

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Writes a whole file atomically (temporary + rename).
  void write_file(const std::string& name, const std::string& content) const;
  std::string read_file(const std::string& name) const;
  /// Appends one JSON object as a line of metrics.jsonl (flushed).
  void append_metrics(const nlohmann::json& record);
  /// Drops metrics.jsonl lines logged after `step` (a resumed run logs them again).
  void keep_metrics_through(int64_t step);

 private:
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::shared_ptr<std::ofstream> metrics_;
};

/// A default run folder name: runs/<stem of config>-<YYYYmmdd-HHMMSS>.
std::string default_run_path(const std::string& config_path);

}  // namespace contra::run
