// metrics.jsonl as the report's curves.
#include <cmath>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "contra/core/error.h"
#include "report_parts.h"

namespace contra::run::report_detail {

RunMetrics read_metrics(const std::string& path) {
  std::ifstream in(path);
  CONTRA_CHECK(in.good(), "cannot read '", path, "'");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  RunMetrics m;
  std::map<std::string, size_t> index;  // column -> position in m.curves
  for (size_t k = 0; k < lines.size(); ++k) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(lines[k]);
    } catch (const nlohmann::json::exception&) {
      j = nullptr;
    }
    const bool malformed = !j.is_object() || !j.contains("step") || !j["step"].is_number();
    if (malformed && k + 1 == lines.size() && k > 0) {
      m.note = "the last line of metrics.jsonl is incomplete (the run was stopped while writing it) and was skipped";
      break;
    }
    CONTRA_CHECK(!malformed, path, ":", k + 1,
                 ": not a metrics line (one JSON object with a numeric \"step\" per line expected)");
    const int64_t step = j["step"].get<int64_t>();
    for (const auto& [column, value] : j.items()) {
      if (column == "step" || column == "epoch") continue;
      if (!value.is_number() && !value.is_null()) continue;
      auto [it, added] = index.emplace(column, m.curves.size());
      if (added) m.curves.push_back(Curve{column, {}, {}});
      Curve& c = m.curves[it->second];
      c.steps.push_back(step);
      const double v = value.is_null() ? NAN : value.get<double>();
      c.values.push_back(std::isfinite(v) ? std::optional<double>(v) : std::nullopt);
    }
    ++m.lines;
  }
  return m;
}

}  // namespace contra::run::report_detail
