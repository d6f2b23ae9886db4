#include "contra/data/manifest.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/data/image_folder.h"
#include "contra/data/text.h"

namespace contra::data {
namespace {

namespace fs = std::filesystem;

const NameTable<ManifestSeparator, 3> kSeparatorNames = {
    {"auto", ManifestSeparator::kAuto}, {"tab", ManifestSeparator::kTab}, {"comma", ManifestSeparator::kComma}};

/// One record of the manifest: its fields and the line it starts on (1-based).
struct ManifestRecord {
  std::vector<std::string> fields;
  int64_t line = 0;
};

/// Splits the text into records (RFC 4180 quoting, for either separator). Empty lines are
/// skipped; a '\r' before a line break outside quotes is dropped.
std::vector<ManifestRecord> manifest_records(const std::string& text, char sep, const std::string& path) {
  std::vector<ManifestRecord> out;
  ManifestRecord rec;
  std::string field;
  int64_t line = 1;
  bool quoted = false, in_record = false, was_quoted = false;
  int64_t quote_line = 0;
  auto end_field = [&] {
    rec.fields.push_back(std::move(field));
    field.clear();
    was_quoted = false;
  };
  auto end_record = [&] {
    end_field();
    // An empty line: one empty, unquoted field.
    if (!(rec.fields.size() == 1 && rec.fields[0].empty())) out.push_back(std::move(rec));
    rec = ManifestRecord();
    in_record = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (!in_record) {
      in_record = true;
      rec.line = line;
    }
    if (quoted) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (ch == '\n') ++line;
        field += ch;
      }
      continue;
    }
    if (ch == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
      quote_line = line;
    } else if (ch == sep) {
      end_field();
    } else if (ch == '\n') {
      if (!field.empty() && field.back() == '\r') field.pop_back();
      end_record();
      ++line;
    } else if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // dropped with the line break
    } else {
      CONTRA_CHECK(!was_quoted, path, ":", line, ": text after a closing quote (a quote inside a "
                   "quoted field is written twice: \"\")");
      field += ch;
    }
  }
  CONTRA_CHECK(!quoted, path, ":", quote_line, ": a quoted field is never closed");
  if (in_record) end_record();
  return out;
}

char separator_of(const std::string& path, ManifestSeparator sep) {
  if (sep == ManifestSeparator::kTab) return '\t';
  if (sep == ManifestSeparator::kComma) return ',';
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext == ".tsv") return '\t';
  if (ext == ".csv") return ',';
  throw Error(c10::str(path, ": cannot tell the separator from the extension '", ext,
                       "' (.tsv: tab, .csv: comma); set data.separator to tab or comma"));
}

std::string read_manifest_text(const std::string& path) {
  std::error_code ec;
  CONTRA_CHECK(fs::exists(path, ec), path, ": manifest not found");
  CONTRA_CHECK(!fs::is_directory(path, ec), path, ": a directory, not a manifest file");
  std::ifstream in(path, std::ios::binary);
  CONTRA_CHECK(in.good(), path, ": cannot read the manifest: ", std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  CONTRA_CHECK(!in.bad(), path, ": cannot read the manifest: ", std::strerror(errno));
  std::string text = s.str();
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a UTF-8 byte order mark (spreadsheets write one)
  return text;
}

std::string trimmed(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

/// The index of column `name` in the header; -1 for an empty name (an optional column unused).
int64_t column_of(const ManifestRecord& header, const std::string& name, const char* key,
                  const std::string& path) {
  if (name.empty()) return -1;
  for (size_t k = 0; k < header.fields.size(); ++k)
    if (trimmed(header.fields[k]) == name) return int64_t(k);
  std::string have;
  for (const auto& f : header.fields) have += (have.empty() ? "" : ", ") + ("'" + f + "'");
  throw Error(c10::str(path, ":", header.line, ": the header has no column '", name, "' (its columns: ",
                       have, "); set ", key, " to the column's name"));
}

}  // namespace

ManifestSeparator manifest_separator_from_string(const std::string& name) {
  return from_name(kSeparatorNames, name, "manifest separator");
}
std::vector<std::string> manifest_separator_names() { return names_of(kSeparatorNames); }

ImageTextDataset read_image_text_manifest(const std::string& path, const ManifestOptions& options) {
  CONTRA_CHECK(!options.image_column.empty() && !options.caption_column.empty(),
               "data.image_column and data.caption_column must name columns");
  const std::string text = read_manifest_text(path);
  const char sep = separator_of(path, options.separator);
  const auto records = manifest_records(text, sep, path);
  CONTRA_CHECK(!records.empty(), path, ": empty manifest (expected a header row naming the columns '",
               options.image_column, "' and '", options.caption_column, "', then one row per caption)");
  const auto& header = records[0];
  const int64_t image_col = column_of(header, options.image_column, "data.image_column", path);
  const int64_t caption_col = column_of(header, options.caption_column, "data.caption_column", path);
  const int64_t label_col = column_of(header, options.label_column, "data.label_column", path);
  CONTRA_CHECK(records.size() > 1, path, ": no rows after the header");
  const fs::path folder = fs::path(path).parent_path();

  ImageTextDataset d;
  std::unordered_map<std::string, int64_t> image_of;  // resolved path -> image
  std::vector<std::string> label_names;               // per image; "" unknown
  std::vector<int64_t> first_line;                    // per image
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    CONTRA_CHECK(rec.fields.size() == header.fields.size(), path, ":", rec.line, ": expected ",
                 header.fields.size(), " fields (as the header), got ", rec.fields.size(),
                 sep == ',' ? " (quote fields that hold commas: \"a, b\")" : "");
    for (const auto& f : rec.fields) check_utf8(f, path, rec.line);
    const std::string file = trimmed(rec.fields[size_t(image_col)]);
    const std::string caption = trimmed(rec.fields[size_t(caption_col)]);
    CONTRA_CHECK(!file.empty(), path, ":", rec.line, ": empty image path (column '", options.image_column, "')");
    CONTRA_CHECK(!caption.empty(), path, ":", rec.line, ": empty caption (column '", options.caption_column, "')");
    const std::string label = label_col >= 0 ? trimmed(rec.fields[size_t(label_col)]) : "";
    const std::string resolved = (fs::path(file).is_absolute() ? fs::path(file) : folder / file).lexically_normal().string();
    auto it = image_of.find(resolved);
    if (it == image_of.end()) {
      std::error_code ec;
      CONTRA_CHECK(fs::is_regular_file(resolved, ec), path, ":", rec.line, ": image file '", resolved,
                   "' not found", fs::path(file).is_absolute() ? "" : " (paths are relative to the manifest's folder)");
      it = image_of.emplace(resolved, int64_t(d.ids.size())).first;
      d.ids.push_back(resolved);
      d.captions.emplace_back();
      label_names.push_back(label);
      first_line.push_back(rec.line);
    } else {
      const int64_t i = it->second;
      CONTRA_CHECK(label == label_names[size_t(i)], path, ":", rec.line, ": image '", file, "' has label '", label,
                   "' here but '", label_names[size_t(i)], "' on line ", first_line[size_t(i)]);
    }
    d.captions[size_t(it->second)].push_back(caption);
  }

  const int64_t n = int64_t(d.ids.size());
  d.labels = torch::full({n}, -1, torch::kLong);
  if (label_col >= 0) {
    std::vector<std::string> names;
    for (const auto& l : label_names)
      if (!l.empty()) names.push_back(l);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    auto* y = d.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i)
      if (!label_names[size_t(i)].empty())
        y[i] = std::lower_bound(names.begin(), names.end(), label_names[size_t(i)]) - names.begin();
    d.class_names = std::move(names);
  }
  try {
    d.images = load_images(d.ids, options.channels, options.size);
  } catch (const Error& e) {
    // load_images names the file ("<file>: ..."): add the manifest line that gave it.
    const std::string msg = e.what();
    for (int64_t i = 0; i < n; ++i)
      if (msg.rfind(d.ids[size_t(i)] + ": ", 0) == 0)
        throw Error(c10::str(path, ":", first_line[size_t(i)], ": ", msg));
    throw;
  }
  return d;
}

}  // namespace contra::data
