// The run report's HTML: one self-contained page (styles, Chart.js, data and images inline) for
// a run or for a comparison of runs. The page sets body data-ready="1" once every chart is
// drawn, and records script errors in body data-errors.
#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "contra/core/error.h"
#include "report_parts.h"

namespace contra::run::report_detail {
namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

/// JSON inside <script type="application/json">: '<' only occurs inside strings, where \u003c
/// means the same and can never close the script element.
std::string html_json(const nlohmann::json& j) {
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

/// A summary value for a table cell: integers as they are, other numbers to 4 significant
/// digits, null as a dash.
std::string html_value(const nlohmann::json& v) {
  if (v.is_null()) return "&mdash;";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return "&mdash;";
    std::ostringstream s;
    if (d == std::round(d) && std::abs(d) < 1e12) s << std::fixed << std::setprecision(0) << d;
    else s << std::setprecision(4) << d;
    return s.str();
  }
  if (v.is_string()) return html_escape(v.get<std::string>());
  return html_escape(v.dump());
}

/// The training curves' charts: known metrics.jsonl columns grouped, anything else alone.
struct CurveGroup {
  const char* title;
  const char* y_title;
  std::vector<std::pair<const char*, const char*>> columns;  ///< (column, label), left axis
  const char* right_column = nullptr;                        ///< one column on a right axis
  const char* right_label = nullptr;
};

const std::vector<CurveGroup>& html_curve_groups() {
  static const std::vector<CurveGroup> groups = {
      {"Loss", "loss", {{"loss", "loss"}}},
      {"Learning rate", "learning rate", {{"lr", "learning rate"}}},
      {"Throughput and data wait", "pairs/s", {{"pairs_per_s", "pairs/s (pairs_per_s)"}}, "data_wait",
       "data wait (data_wait)"},
      {"Similarity of positive and negative pairs (training batch)", "similarity",
       {{"pos_sim", "positive pairs (pos_sim)"}, {"neg_sim", "negative pairs (neg_sim)"}}},
      {"Accuracy", "accuracy", {{"top1", "in-batch top-1 (top1)"}, {"monitor_knn_acc", "online kNN monitor (monitor_knn_acc)"},
        {"monitor_zero_shot_top1", "zero-shot top-1, evaluation split (monitor_zero_shot_top1)"}}},
      {"Cross-modal retrieval (evaluation split)", "recall@10",
       {{"monitor_i2t_recall_at_10", "image to text (monitor_i2t_recall_at_10)"},
        {"monitor_t2i_recall_at_10", "text to image (monitor_t2i_recall_at_10)"}}},
      {"CLIP temperature", "temperature", {{"temperature", "temperature (1 / logit_scale)"}}},
      {"Hardness \u03b2", "\u03b2", {{"hard_beta", "hard_beta"}}},
      {"MoCo queue fill", "keys in the queue", {{"queue_filled", "queue_filled"}}},
      {"MoCo momentum", "momentum", {{"momentum", "momentum"}}},
      {"Active anchors", "share of anchors", {{"active", "active"}}},
      {"Skipped steps", "steps", {{"skipped_steps", "skipped_steps"}}},
      {"Communication", "seconds", {{"comm_s", "comm_s"}}},
  };
  return groups;
}

const Curve* html_find_curve(const RunReport& run, const std::string& column) {
  for (const auto& c : run.metrics.curves)
    if (c.column == column) return &c;
  return nullptr;
}

nlohmann::json html_series(const Curve& c, const std::string& label, const std::string& axis, int colour,
                           int64_t lines) {
  nlohmann::json points = nlohmann::json::array();
  bool any = false;
  for (size_t i = 0; i < c.steps.size(); ++i) {
    points.push_back({c.steps[i], c.values[i] ? nlohmann::json(*c.values[i]) : nlohmann::json()});
    any = any || c.values[i].has_value();
  }
  if (!any) return nullptr;
  // A column on few of the lines (the monitor): markers, and the line drawn across the gaps.
  const bool sparse = int64_t(c.steps.size()) * 2 < lines || c.steps.size() < 3;
  return {{"label", label}, {"axis", axis}, {"colour", colour}, {"sparse", sparse}, {"points", points}};
}

/// The curve charts of `runs` (one run: each column its colour; several: each run its colour).
nlohmann::json html_curves(const std::vector<const RunReport*>& runs) {
  std::vector<CurveGroup> groups = html_curve_groups();
  std::set<std::string> known;
  for (const auto& g : groups) {
    for (const auto& c : g.columns) known.insert(c.first);
    if (g.right_column) known.insert(g.right_column);
  }
  std::vector<std::string> others;  // columns of no group, in order of first appearance
  for (const auto* run : runs)
    for (const auto& c : run->metrics.curves)
      if (!known.count(c.column) && std::find(others.begin(), others.end(), c.column) == others.end())
        others.push_back(c.column);
  std::vector<std::string> other_names = others;  // CurveGroup holds pointers: keep the strings
  for (const auto& name : other_names) groups.push_back({name.c_str(), name.c_str(), {{name.c_str(), name.c_str()}}});
  const bool compare = runs.size() > 1;
  nlohmann::json charts = nlohmann::json::array();
  for (const auto& g : groups) {
    nlohmann::json series = nlohmann::json::array();
    bool right = false;
    for (size_t r = 0; r < runs.size(); ++r) {
      const auto add = [&](const char* column, const char* label, const char* axis, int position) {
        const Curve* c = html_find_curve(*runs[r], column);
        if (!c) return;
        const std::string name = compare ? runs[r]->name + (g.columns.size() > 1 || std::string(axis) == "y2" ? ": " + std::string(label) : "")
                                         : std::string(label);
        auto s = html_series(*c, name, axis, compare ? int(r) : position, runs[r]->metrics.lines);
        if (s.is_null()) return;
        if (compare && position > 0) s["dash"] = true;  // a run's second column: dashed
        series.push_back(std::move(s));
        right = right || std::string(axis) == "y2";
      };
      int position = 0;
      for (const auto& [column, label] : g.columns) add(column, label, "y", position++);
      if (g.right_column) add(g.right_column, g.right_label, "y2", position++);
    }
    if (series.empty()) continue;
    nlohmann::json chart = {{"id", "curve-" + std::to_string(charts.size())},
                            {"title", g.title},
                            {"y", g.y_title},
                            {"series", series}};
    if (right) chart["y2"] = g.right_label;
    charts.push_back(std::move(chart));
  }
  return charts;
}

nlohmann::json html_maps(const RunReport& run) {
  nlohmann::json maps = nlohmann::json::array();
  for (const auto& m : run.maps) {
    nlohmann::json per_class = nlohmann::json::array();
    for (size_t k = 0; k < run.class_names.size(); ++k) per_class.push_back(nlohmann::json::array());
    for (size_t i = 0; i < m.x.size(); ++i) per_class[size_t(m.labels[i])].push_back({m.x[i], m.y[i]});
    maps.push_back({{"id", m.id}, {"classes", run.class_names}, {"points", per_class}});
  }
  return maps;
}

nlohmann::json html_histogram(const RunReport& run) {
  const auto& h = run.histogram;
  if (h.edges.empty()) return nullptr;
  const auto label = [](const char* what, int64_t n, double mean) {
    std::ostringstream s;
    s << what << " (" << n << ", mean " << std::fixed << std::setprecision(3) << mean << ")";
    return s.str();
  };
  return {{"id", "similarity"},
          {"edges", h.edges},
          {"positive", h.positive},
          {"negative", h.negative},
          {"positive_label", label("positive pairs", h.positives, h.positive_mean)},
          {"negative_label", label("negative pairs", h.negatives, h.negative_mean)}};
}

const char* kReportStyle = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1240px;
       padding: 16px 24px 48px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; font-size: 13px; } .note { background: #fff6dd; border: 1px solid #e8d48a; padding: 8px 12px; margin: 12px 0; font-size: 14px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px 20px; }
.maps { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 12px 20px; }
figure { margin: 0; } figure.histogram { max-width: 760px; } figcaption { font-size: 13px; font-weight: 600; margin-bottom: 2px; } .caption { font-size: 12px; color: #555; margin: 2px 0 0; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 14px; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f4f4f4; }
table.nn td { border: none; padding: 2px 3px; text-align: center; vertical-align: top; font-size: 11px; color: #444; }
table.nn img { width: 60px; height: 60px; image-rendering: pixelated; border: 3px solid transparent; display: block; }
table.nn td.query img { border-color: #555; } table.nn td.same img { border-color: #2ca02c; } table.nn td.other img { border-color: #d62728; }
table.nn td.query { padding-right: 14px; }
.texts { font-size: 13px; } .texts .q { font-weight: 600; margin-top: 10px; } .texts ol { margin: 4px 0; }
.texts li.same { border-left: 4px solid #2ca02c; padding-left: 6px; } .texts li.other { border-left: 4px solid #d62728; padding-left: 6px; }
pre { background: #f7f7f7; padding: 10px; font-size: 12px; overflow-x: auto; max-height: 480px; }
)css";

const char* kReportScript = R"js(
(function () {
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
                   '#bcbd22', '#17becf', '#393b79', '#ad494a', '#637939', '#8c6d31', '#7b4173', '#3182bd'];
  const colour = (k) => palette[k % palette.length];
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 11;
  let drawn = 0;
  const draw = (id, config) => {
    const canvas = document.getElementById(id);
    new Chart(canvas, config);
    canvas.dataset.rendered = '1';
    drawn += 1;
  };
  for (const g of data.curves) {
    const scales = {x: {type: 'linear', title: {display: true, text: 'step'}},
                    y: {title: {display: true, text: g.y}}};
    if (g.y2) scales.y2 = {position: 'right', title: {display: true, text: g.y2}, grid: {drawOnChartArea: false}};
    draw(g.id, {type: 'line', data: {datasets: g.series.map((s) => ({
      label: s.label, yAxisID: s.axis, data: s.points.map((p) => ({x: p[0], y: p[1]})),
      borderColor: colour(s.colour), backgroundColor: colour(s.colour), borderWidth: 1.5,
      borderDash: s.dash ? [5, 4] : [], pointRadius: s.sparse ? 2.5 : 0, spanGaps: s.sparse}))},
      options: {parsing: false, scales: scales, plugins: {legend: {display: g.series.length > 1}}}});
  }
  for (const m of data.maps) {
    draw(m.id, {type: 'scatter', data: {datasets: m.points.map((pts, k) => ({
      label: m.classes[k], data: pts.map((p) => ({x: p[0], y: p[1]})), pointRadius: 1.6, borderWidth: 0,
      backgroundColor: colour(k)}))},
      options: {parsing: false, aspectRatio: 1.3, plugins: {legend: {position: 'right'}},
                scales: {x: {ticks: {display: false}}, y: {ticks: {display: false}}}}});
  }
  if (data.histogram) {
    const h = data.histogram;
    const centres = h.edges.slice(0, -1).map((e, k) => ((e + h.edges[k + 1]) / 2).toFixed(2));
    const bars = (label, values, rgba) => ({label: label, data: values, backgroundColor: rgba, grouped: false,
                                            barPercentage: 1.0, categoryPercentage: 1.0});
    draw(h.id, {type: 'bar', data: {labels: centres, datasets: [
      bars(h.positive_label, h.positive, 'rgba(44,160,44,0.55)'), bars(h.negative_label, h.negative, 'rgba(214,39,40,0.55)')]},
      options: {scales: {x: {title: {display: true, text: 'cosine similarity'}},
                         y: {title: {display: true, text: 'share of pairs'}}}}});
  }
  document.body.dataset.charts = String(drawn);
  if (!document.body.dataset.errors) document.body.dataset.ready = '1';
})();
)js";

/// The page around `body`: styles, the error recorder first, Chart.js and the chart script last.
std::string html_page(const std::string& title, const std::string& body, const nlohmann::json& data) {
  std::string page;
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(title) +
          "</title>\n<style>" + kReportStyle + "</style>\n</head>\n<body data-ready=\"0\">\n";
  // Any script error (Chart.js, the data, the drawing) is kept on the body; ready is then never set.
  page += "<script>window.onerror = function (message, source, line, column) {\n"
          "  const b = document.body; b.dataset.errors = (b.dataset.errors ? b.dataset.errors + ' | ' : '') +\n"
          "    message + ' (line ' + line + ':' + column + ')';\n};</script>\n";
  page += body;
  page += "<p class=\"meta\">Written by contra report; charts drawn with Chart.js " + html_escape(chartjs_version()) +
          " (MIT licence), inlined: the page needs no network.</p>\n";
  page += "<script type=\"application/json\" id=\"report-data\">" + html_json(data) + "</script>\n";
  page += "<script>\n";
  page += chartjs_source();
  page += "\n</script>\n<script>";
  page += kReportScript;
  page += "</script>\n</body>\n</html>\n";
  return page;
}

std::string html_curve_section(const nlohmann::json& curves, const RunMetrics* single) {
  std::string s = "<h2 id=\"curves\">Training curves</h2>\n";
  if (single && !single->note.empty()) s += "<p class=\"note\">" + html_escape(single->note) + "</p>\n";
  if (curves.empty()) return s + "<p class=\"note\">metrics.jsonl has no numeric columns yet.</p>\n";
  s += "<div class=\"grid\">\n";
  for (const auto& c : curves)
    s += "<figure><figcaption>" + html_escape(c["title"].get<std::string>()) + "</figcaption><canvas id=\"" +
         c["id"].get<std::string>() + "\"></canvas></figure>\n";
  return s + "</div>\n";
}

/// Keys of the summary's evaluation metrics (rows measured for the trained encoder and the
/// baselines); everything else is a run fact or setting.
bool html_is_metric(const std::string& key) {
  static const std::vector<std::string> prefixes = {"knn_acc", "linear_acc", "linear_val_acc", "recall_at", "mrr",
                                                    "retrieval_", "alignment", "uniformity", "effective_rank",
                                                    "feature_std", "fewshot_"};
  for (const auto& p : prefixes)
    if (key.rfind(p, 0) == 0) return true;
  return false;
}

std::string html_summary_section(const RunReport& run) {
  std::string s = "<h2 id=\"summary\">Summary (summary.json)</h2>\n";
  const auto& j = run.summary;
  if (!j.is_object()) return s + "<p class=\"note\">No summary.json: the run has not finished.</p>\n";
  std::vector<std::string> baselines;  // nested objects: untrained, raw_pixels, tfidf
  std::set<std::string> metric_keys;
  for (const auto& [key, value] : j.items()) {
    if (value.is_object()) {
      baselines.push_back(key);
      for (const auto& [k, v] : value.items()) metric_keys.insert(k);
    } else if (html_is_metric(key)) {
      metric_keys.insert(key);
    }
  }
  if (!metric_keys.empty()) {
    s += "<table class=\"summary\"><tr><th>evaluation</th><th>trained</th>";
    for (const auto& b : baselines) s += "<th>" + html_escape(b) + "</th>";
    s += "</tr>\n";
    for (const auto& k : metric_keys) {
      s += "<tr><td>" + html_escape(k) + "</td><td>" + (j.contains(k) ? html_value(j[k]) : "") + "</td>";
      for (const auto& b : baselines) s += "<td>" + (j[b].contains(k) ? html_value(j[b][k]) : "") + "</td>";
      s += "</tr>\n";
    }
    s += "</table>\n";
  }
  s += "<table class=\"summary\"><tr><th>run and evaluation settings</th><th>value</th></tr>\n";
  for (const auto& [key, value] : j.items())
    if (!value.is_object() && !metric_keys.count(key))
      s += "<tr><td>" + html_escape(key) + "</td><td>" + html_value(value) + "</td></tr>\n";
  return s + "</table>\n";
}

std::string html_neighbour_section(const RunReport& run) {
  std::string s = "<h2 id=\"neighbours\">Nearest neighbours</h2>\n";
  const auto name = [&](int64_t label) {
    return label >= 0 && label < int64_t(run.class_names.size()) ? run.class_names[size_t(label)] : std::string();
  };
  if (run.images) {
    s += "<p class=\"caption\">" + std::to_string(run.neighbours.size()) + " seeded queries from the " +
         html_escape(run.items) + " (grey border) and their nearest other " + html_escape(run.items) +
         " by cosine similarity of the encoder features: green border = same class, red = another class.</p>\n";
    s += "<table class=\"nn\">\n";
    for (const auto& row : run.neighbours) {
      s += "<tr><td class=\"query\"><img alt=\"query\" title=\"" + html_escape(name(row.query.label)) +
           "\" src=\"data:image/png;base64," + row.query.png_base64 + "\">" + html_escape(name(row.query.label)) + "</td>";
      for (const auto& n : row.neighbours) {
        std::ostringstream sim;
        sim << std::fixed << std::setprecision(3) << n.similarity;
        s += std::string("<td class=\"") + (n.same ? "same" : "other") + "\"><img alt=\"neighbour\" title=\"" +
             html_escape(name(n.label)) + ", " + sim.str() + "\" src=\"data:image/png;base64," + n.png_base64 +
             "\">" + sim.str() + "</td>";
      }
      s += "</tr>\n";
    }
    return s + "</table>\n";
  }
  s += "<p class=\"caption\">" + std::to_string(run.neighbours.size()) +
       " seeded query sentences and the definitions they retrieve first (cosine similarity of the encoder "
       "features): green = the sentence's own synset's definition, red = another.</p>\n<div class=\"texts\">\n";
  for (const auto& row : run.neighbours) {
    s += "<div class=\"q\">&ldquo;" + html_escape(row.query.text) + "&rdquo; <span class=\"meta\">(" +
         html_escape(name(row.query.label)) + "; its definition ranks " + std::to_string(row.target_rank) +
         ")</span></div>\n<ol>\n";
    for (const auto& n : row.neighbours) {
      std::ostringstream sim;
      sim << std::fixed << std::setprecision(3) << n.similarity;
      s += std::string("<li class=\"") + (n.same ? "same" : "other") + "\">" + html_escape(n.text) +
           " <span class=\"meta\">" + sim.str() + "</span></li>\n";
    }
    s += "</ol>\n";
  }
  return s + "</div>\n";
}

/// A YAML document as path -> value text (sequences as one flow value), for config differences.
void html_flatten_yaml(const YAML::Node& node, const std::string& path, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node)
      html_flatten_yaml(kv.second, path.empty() ? kv.first.as<std::string>() : path + "." + kv.first.as<std::string>(), out);
    return;
  }
  YAML::Emitter e;
  e << YAML::Flow << node;
  out[path] = e.c_str();
}

/// summary.json flattened: nested objects' keys as "object.key".
void html_flatten_json(const nlohmann::json& j, const std::string& path, std::map<std::string, nlohmann::json>& out) {
  for (const auto& [key, value] : j.items()) {
    const std::string k = path.empty() ? key : path + "." + key;
    if (value.is_object()) html_flatten_json(value, k, out);
    else out[k] = value;
  }
}

std::string html_run_header(const RunReport& run) {
  std::string s = "<h1>Run " + html_escape(run.name) + "</h1>\n<p class=\"meta\">" + html_escape(run.dir);
  if (run.summary.is_object() && run.summary.contains("method"))
    s += " &middot; " + html_value(run.summary["method"]);
  if (run.summary.is_object() && run.summary.contains("steps")) s += " &middot; " + html_value(run.summary["steps"]) + " steps";
  if (run.embeddings) s += " &middot; embeddings from the checkpoint of step " + std::to_string(run.checkpoint_step);
  s += " &middot; " + std::to_string(run.metrics.lines) + " metrics lines</p>\n";
  return s;
}

}  // namespace

std::string run_page(const RunReport& run, int64_t& charts) {
  nlohmann::json data = {{"curves", html_curves({&run})}, {"maps", html_maps(run)}, {"histogram", html_histogram(run)}};
  std::string body = html_run_header(run);
  if (!run.embeddings && !run.note.empty()) body += "<p class=\"note\">" + html_escape(run.note) + "</p>\n";
  body += html_curve_section(data["curves"], &run.metrics);
  if (run.embeddings) {
    body += "<h2 id=\"maps\">Embedding maps of the " + html_escape(run.items) + "</h2>\n";
    if (run.maps.empty()) body += "<p class=\"note\">" + html_escape(run.note) + "</p>\n";
    body += "<div class=\"maps\">\n";
    for (const auto& m : run.maps)
      body += "<figure><figcaption>" + html_escape(m.title) + "</figcaption><canvas id=\"" + m.id +
              "\"></canvas><p class=\"caption\">" + html_escape(m.note) + "; coloured by " +
              (run.images ? "class" : "part of speech") + ".</p></figure>\n";
    body += "</div>\n";
    body += html_neighbour_section(run);
    if (!data["histogram"].is_null()) {
      body += "<h2 id=\"similarities\">Similarity of positive and negative pairs</h2>\n<figure class=\"histogram\"><canvas id=\"similarity\"></canvas>"
              "<p class=\"caption\">Cosine similarity of the encoder features. Positive pair: " +
              html_escape(run.histogram.positives_are) +
              "; negative pair: the first of one pair with the second of another item's (a seeded pairing).</p></figure>\n";
    }
    std::ostringstream t;
    t << std::fixed << std::setprecision(1) << "Embedding the " << run.item_count << " " << run.items << " took "
      << run.embed_s << " s (data and model loaded), t-SNE " << run.tsne_s << " s.";
    body += "<p class=\"meta\">" + html_escape(t.str()) + "</p>\n";
  }
  body += html_summary_section(run);
  body += "<h2 id=\"config\">Configuration (config.yaml)</h2>\n<details open><summary>every key, resolved</summary><pre>" +
          html_escape(run.config_yaml) + "</pre></details>\n";
  charts = int64_t(data["curves"].size() + data["maps"].size() + (data["histogram"].is_null() ? 0 : 1));
  return html_page("contra report: " + run.name, body, data);
}

std::string comparison_page(const std::vector<RunReport>& runs, int64_t& charts) {
  std::vector<const RunReport*> pointers;
  for (const auto& r : runs) pointers.push_back(&r);
  nlohmann::json data = {{"curves", html_curves(pointers)}, {"maps", nlohmann::json::array()}, {"histogram", nullptr}};
  std::string body = "<h1>Comparing " + std::to_string(runs.size()) + " runs</h1>\n<p class=\"meta\">";
  for (size_t i = 0; i < runs.size(); ++i)
    body += (i ? " &middot; " : "") + html_escape(runs[i].name) + " (" + html_escape(runs[i].dir) + ")";
  body += "</p>\n";
  std::set<std::string> names;
  for (const auto& r : runs) names.insert(r.name);
  if (names.size() < runs.size())
    body += "<p class=\"note\">Some runs share a folder name; the legend tells them apart by order only.</p>\n";
  body += html_curve_section(data["curves"], nullptr);
  // Summaries side by side.
  std::vector<std::map<std::string, nlohmann::json>> flat(runs.size());
  std::vector<std::string> keys;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].summary.is_object()) html_flatten_json(runs[i].summary, "", flat[i]);
    for (const auto& [k, v] : flat[i])
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  std::stable_sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
    const bool ma = html_is_metric(a.substr(a.find('.') == std::string::npos ? 0 : a.find('.') + 1));
    const bool mb = html_is_metric(b.substr(b.find('.') == std::string::npos ? 0 : b.find('.') + 1));
    const bool na = a.find('.') != std::string::npos, nb = b.find('.') != std::string::npos;
    if (ma != mb) return ma;  // metrics first, the trained encoder's before the baselines'
    if (na != nb) return !na;
    return a < b;
  });
  body += "<h2 id=\"summary\">Summaries (summary.json)</h2>\n<table class=\"summary\"><tr><th>key</th>";
  for (const auto& r : runs) body += "<th>" + html_escape(r.name) + "</th>";
  body += "</tr>\n";
  for (const auto& k : keys) {
    body += "<tr><td>" + html_escape(k) + "</td>";
    for (size_t i = 0; i < runs.size(); ++i) body += "<td>" + (flat[i].count(k) ? html_value(flat[i][k]) : "") + "</td>";
    body += "</tr>\n";
  }
  body += "</table>\n";
  for (const auto& r : runs)
    if (!r.summary.is_object()) body += "<p class=\"note\">" + html_escape(r.name) + " has no summary.json: it has not finished.</p>\n";
  // The configuration keys whose values differ.
  std::vector<std::map<std::string, std::string>> configs(runs.size());
  std::set<std::string> config_keys;
  for (size_t i = 0; i < runs.size(); ++i) {
    try {
      html_flatten_yaml(YAML::Load(runs[i].config_yaml), "", configs[i]);
    } catch (const YAML::Exception& e) {
      CONTRA_CHECK(false, runs[i].dir, "/config.yaml is not valid YAML: ", e.what());
    }
    for (const auto& [k, v] : configs[i]) config_keys.insert(k);
  }
  body += "<h2 id=\"config\">Configuration keys that differ (config.yaml)</h2>\n";
  std::string rows;
  for (const auto& k : config_keys) {
    std::set<std::string> values;
    for (const auto& c : configs) values.insert(c.count(k) ? c.at(k) : std::string("(absent)"));
    if (values.size() < 2) continue;
    rows += "<tr><td>" + html_escape(k) + "</td>";
    for (const auto& c : configs) rows += "<td>" + html_escape(c.count(k) ? c.at(k) : std::string("(absent)")) + "</td>";
    rows += "</tr>\n";
  }
  if (rows.empty()) {
    body += "<p>None: the runs have the same configuration.</p>\n";
  } else {
    body += "<table class=\"summary\"><tr><th>key</th>";
    for (const auto& r : runs) body += "<th>" + html_escape(r.name) + "</th>";
    body += "</tr>\n" + rows + "</table>\n<p class=\"meta\">All other keys are equal.</p>\n";
  }
  charts = int64_t(data["curves"].size());
  return html_page("contra report: comparing " + std::to_string(runs.size()) + " runs", body, data);
}

}  // namespace contra::run::report_detail
