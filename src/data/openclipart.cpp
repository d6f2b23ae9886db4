#include "contra/data/openclipart.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/data/image_text_cache.h"
#include "contra/data/image_text_split.h"
#include "png_thumbnail.h"
#include "xml_text.h"

namespace contra::data {
namespace {

namespace fs = std::filesystem;

// Bump when captions, labels or the image conversion change: old cache files then miss.
constexpr const char* kOpenclipartCacheVersion = "openclipart-2";
// A title or description shared by at least this many images names a collection, not an image.
constexpr int64_t kOpenclipartGenericCount = 10;
constexpr size_t kOpenclipartMaxCaptionBytes = 200;
constexpr size_t kOpenclipartMaxKeywords = 8;

/// Readable class names for the package's category folders (prompts: "a clipart of {}").
constexpr std::pair<const char*, const char*> kOpenclipartClassNames[] = {
    {"computer", "computer icons"}, {"office", "office supplies"}, {"special", "patterns"},
    {"geography", "maps and geography"}, {"recreation", "games, music and sports"},
    {"signs_and_symbols", "signs and symbols"}};
constexpr const char* kOpenclipartUnlabelled = "unsorted";

bool clip_ascii_alnum(unsigned char c) { return std::isalnum(c) != 0; }
bool clip_letter(unsigned char c) { return std::isalpha(c) != 0 || c >= 0x80; }

std::string clip_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// Whitespace collapsed (and "_" read as a space when `underscores`), trimmed.
std::string clip_collapse(std::string_view s, bool underscores) {
  std::string out;
  bool space = false;
  for (char c : s) {
    const bool blank = std::isspace(static_cast<unsigned char>(c)) || (underscores && c == '_');
    if (blank) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}

/// Cut to at most `max` bytes at a word boundary (never inside a UTF-8 sequence).
std::string clip_cut(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = s.rfind(' ', max);
  if (cut == std::string::npos || cut == 0) {
    cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  }
  s.resize(cut);
  while (!s.empty() && (s.back() == ' ' || s.back() == ',' || s.back() == ';')) s.pop_back();
  return s;
}

/// A caption as kept: URLs removed, whitespace collapsed, cut to length; empty when it has no
/// letter.
std::string clip_clean(std::string_view text, bool underscores) {
  std::string collapsed = clip_collapse(text, underscores);
  std::string out;
  size_t i = 0;
  while (i < collapsed.size()) {
    const size_t end = std::min(collapsed.find(' ', i), collapsed.size());
    const std::string_view word(collapsed.data() + i, end - i);
    const std::string lower = clip_lower(word.substr(0, 8));
    const bool url = lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0 ||
                     lower.rfind("www.", 0) == 0 || lower.rfind("ftp://", 0) == 0;
    if (!url) {
      if (!out.empty()) out += ' ';
      out += word;
    }
    i = end + 1;
  }
  out = clip_cut(std::move(out), kOpenclipartMaxCaptionBytes);
  const bool letter = std::any_of(out.begin(), out.end(), [](char c) { return clip_letter(static_cast<unsigned char>(c)); });
  return letter ? out : std::string();
}

/// A title as a caption: "_" read as a space, and the package's "Clipart by <author> - " prefix
/// dropped ("Clipart by Nicu Buculei - jigsaw_red_10" -> "jigsaw red 10").
std::string clip_title(std::string_view raw) {
  std::string title = clip_clean(raw, /*underscores=*/true);
  const size_t dash = title.find(" - ");
  if (clip_lower(title.substr(0, 11)) == "clipart by " && dash != std::string::npos) {
    title = clip_clean(std::string_view(title).substr(dash + 3), true);
  }
  return title;
}

/// Lower-cased words of `s` split at anything but letters and digits (UTF-8 bytes count as
/// letters).
std::vector<std::string> clip_words(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (clip_ascii_alnum(u) || u >= 0x80) {
      cur += static_cast<char>(std::tolower(u));
    } else if (!cur.empty()) {
      words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

std::string clip_text_of(std::string_view content) { return clip_collapse(detail::xml_text(content), false); }

/// The element's text: its first list item's when it holds an rdf:Alt/Bag, else all of it.
std::string clip_element_text(std::string_view xml, std::string_view name) {
  const auto el = detail::find_xml_element(xml, name);
  if (!el.found) return {};
  const auto li = detail::find_xml_element(el.content, "li");
  return clip_text_of(li.found ? li.content : el.content);
}

/// `xml` without the elements named `name` (the agents' titles are not the work's).
std::string clip_without(std::string_view xml, std::string_view name) {
  std::string out;
  size_t at = 0;
  while (true) {
    const auto el = detail::find_xml_element(xml, name, at);
    if (!el.found) break;
    out.append(xml.substr(at, el.begin - at));
    at = el.end;
  }
  out.append(xml.substr(at));
  return out;
}

/// One image of the listing.
struct ClipFile {
  std::string png, svg, rel;  // rel: relative to root/png
  size_t category = 0;        // index into the category folders
};

struct ClipListing {
  std::vector<std::string> categories;  // folder names, sorted
  std::vector<ClipFile> files;          // sorted by relative path
};

bool clip_is_png(const fs::path& p) { return clip_lower(p.extension().string()) == ".png"; }

ClipListing clip_list(const std::string& root) {
  const fs::path png_root = fs::path(root) / "png";
  std::error_code ec;
  CONTRA_CHECK(fs::is_directory(png_root, ec), png_root.string(),
               ": openclipart folder not found (install Debian's openclipart-png and "
               "openclipart-svg, or set the root to a folder holding png/<category>/ and "
               "svg/<category>/)");
  ClipListing out;
  for (fs::directory_iterator it(png_root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] != '.' && it->is_directory(ec)) out.categories.push_back(name);
  }
  CONTRA_CHECK(!ec, png_root.string(), ": cannot list: ", ec.message());
  std::sort(out.categories.begin(), out.categories.end());
  CONTRA_CHECK(!out.categories.empty(), png_root.string(),
               ": no category folders (expected png/<category>/*.png)");
  for (size_t k = 0; k < out.categories.size(); ++k) {
    const fs::path dir = png_root / out.categories[k];
    std::vector<ClipFile> found;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      if (p.filename().string().rfind('.', 0) == 0) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      // Only files, not links: the package links an image into a second category.
      if (!it->is_symlink(ec) && it->is_regular_file(ec) && clip_is_png(p)) {
        ClipFile f;
        f.png = p.string();
        f.rel = p.lexically_relative(png_root).generic_string();
        f.svg = (fs::path(root) / "svg" / fs::path(f.rel).replace_extension(".svg")).string();
        f.category = k;
        found.push_back(std::move(f));
      }
    }
    CONTRA_CHECK(!ec, dir.string(), ": cannot list: ", ec.message());
    std::sort(found.begin(), found.end(), [](const ClipFile& a, const ClipFile& b) { return a.rel < b.rel; });
    for (auto& f : found) out.files.push_back(std::move(f));
  }
  CONTRA_CHECK(!out.files.empty(), png_root.string(), ": no PNG images in its ",
               out.categories.size(), " category folder(s)");
  return out;
}

std::string clip_class_name(const std::string& folder) {
  for (const auto& [dir, name] : kOpenclipartClassNames)
    if (folder == dir) return name;
  return clip_collapse(folder, /*underscores=*/true);
}

/// Runs fn(i) for i in [0, n) on `threads` threads taking the next index as they finish (the
/// images' costs differ a thousandfold). Rethrows the error of the lowest failing index.
template <class Fn>
void clip_parallel(int64_t n, int threads, Fn fn) {
  std::atomic<int64_t> next{0};
  std::mutex mu;
  int64_t failed_at = n;
  std::exception_ptr failure;
  auto work = [&] {
    for (int64_t i = next++; i < n; i = next++) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (i < failed_at) {
          failed_at = i;
          failure = std::current_exception();
        }
      }
    }
  };
  const int t = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  std::vector<std::thread> pool;
  for (int k = 1; k < t; ++k) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

SvgMetadata clip_read_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return {};  // no SVG: the captions come from the file name
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_svg_metadata(text);
}

}  // namespace

void validate(const OpenclipartOptions& o) {
  CONTRA_CHECK(!o.root.empty(), "openclipart: root must not be empty");
  CONTRA_CHECK(o.size >= 1 && o.size <= 1024, "openclipart: size must be in 1..1024, got ", o.size);
  CONTRA_CHECK(o.limit >= 0, "openclipart: limit must be >= 0, got ", o.limit);
  CONTRA_CHECK(o.threads >= 0 && o.threads <= 256, "openclipart: threads must be in 0..256, got ", o.threads);
}

SvgMetadata parse_svg_metadata(std::string_view svg) {
  const std::string text = detail::xml_as_utf8(svg);
  SvgMetadata meta;
  auto work = detail::find_xml_element(text, "Work");
  std::string_view scope;
  if (work.found) {
    scope = work.content;
  } else {
    const auto metadata = detail::find_xml_element(text, "metadata");
    if (!metadata.found) return meta;
    scope = metadata.content;
  }
  const auto creator = detail::find_xml_element(scope, "creator");
  if (creator.found) meta.creator = clip_element_text(creator.content, "title");
  const std::string own = clip_without(scope, "Agent");
  meta.title = clip_element_text(own, "title");
  meta.description = clip_element_text(own, "description");
  const auto subject = detail::find_xml_element(own, "subject");
  if (subject.found) {
    std::vector<std::string> items;
    size_t at = 0;
    while (true) {
      const auto li = detail::find_xml_element(subject.content, "li", at);
      if (!li.found) break;
      items.push_back(clip_text_of(li.content));
      at = li.end;
    }
    if (items.empty()) items.push_back(clip_text_of(subject.content));
    for (const auto& item : items) {
      // A list item may itself hold several keywords separated by commas or semicolons.
      size_t start = 0;
      while (start <= item.size()) {
        const size_t end = std::min(item.find_first_of(",;", start), item.size());
        std::string kw = clip_collapse(std::string_view(item).substr(start, end - start), false);
        if (!kw.empty()) meta.keywords.push_back(std::move(kw));
        start = end + 1;
      }
    }
  }
  return meta;
}

std::string openclipart_file_words(std::string_view file_stem, std::string_view creator) {
  const std::vector<std::string> words = clip_words(file_stem), names = clip_words(creator);
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const auto digits = std::count_if(w.begin(), w.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
    if (digits == static_cast<std::ptrdiff_t>(w.size())) continue;         // "01"
    if (digits > 0 && w.size() <= 3 && !out.empty()) continue;            // "t1", "v2"
    bool by_creator = false;
    for (const auto& n : names) {
      if (w == n || (w.size() >= 3 && n.size() > w.size() && n.compare(0, w.size(), w) == 0)) by_creator = true;
    }
    if (by_creator && !out.empty()) continue;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::vector<std::string> openclipart_captions(const SvgMetadata& meta, std::string_view file_stem,
                                              const std::unordered_set<std::string>& generic,
                                              const std::string& fallback) {
  std::vector<std::string> captions;
  std::unordered_set<std::string> seen;
  const auto add = [&](const std::string& caption) {
    if (!caption.empty() && seen.insert(clip_lower(caption)).second) captions.push_back(caption);
  };
  const std::string title = clip_title(meta.title);
  const std::string description = clip_clean(meta.description, /*underscores=*/false);
  const std::string file_words = clip_clean(openclipart_file_words(file_stem, meta.creator), false);
  const bool title_ok = !title.empty() && generic.count(clip_lower(title)) == 0;
  std::string name = title_ok ? title : file_words;
  if (name.empty()) name = clip_clean(file_stem, /*underscores=*/true);
  if (name.empty()) name = clip_clean(fallback, true);
  add(name);
  add(file_words);
  std::vector<std::string> keywords;
  std::unordered_set<std::string> kw_seen = {clip_lower(name)};
  for (const auto& k : meta.keywords) {
    const std::string kw = clip_clean(k, /*underscores=*/true);
    const std::string lower = clip_lower(kw);
    const bool hex = lower.size() > 2 && lower.compare(0, 2, "0x") == 0 &&
                     std::all_of(lower.begin() + 2, lower.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
    if (kw.empty() || hex || lower == "hash" || lower == "unsorted" || !kw_seen.insert(lower).second) continue;
    if (keywords.size() < kOpenclipartMaxKeywords) keywords.push_back(kw);
  }
  if (!keywords.empty() && !name.empty()) {
    std::string list;
    for (size_t i = 0; i < keywords.size(); ++i) list += (i ? ", " : "") + keywords[i];
    add(clip_cut(name + ": " + list, kOpenclipartMaxCaptionBytes));
    // The keywords alone too: short texts of a few words are what zero-shot prompts are.
    add(clip_cut(list, kOpenclipartMaxCaptionBytes));
  }
  if (!description.empty() && generic.count(clip_lower(description)) == 0) add(description);
  if (captions.empty()) captions.push_back("clipart");
  return captions;
}

ImageTextDataset load_openclipart(const OpenclipartOptions& options) {
  validate(options);
  ClipListing listing = clip_list(options.root);
  const auto n_all = static_cast<int64_t>(listing.files.size());
  std::vector<std::string> sources;
  for (const auto& f : listing.files) {
    sources.push_back(f.png);
    sources.push_back(f.svg);
  }
  const std::string key = c10::str(kOpenclipartCacheVersion, " size=", options.size, " root=",
                                   fs::absolute(options.root).lexically_normal().string(),
                                   " files=", n_all, " fingerprint=", files_fingerprint(sources));
  const std::string cache_dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
  const std::string cache_path =
      (fs::path(cache_dir) / c10::str("openclipart-", options.size, ".bin")).string();
  const std::vector<int64_t> keep = spread_indices(n_all, options.limit);
  if (options.cache) {
    if (auto cached = read_image_text_cache(cache_path, key)) {
      return options.limit > 0 ? select_image_text(*cached, keep) : std::move(*cached);
    }
  }
  const int threads = options.threads > 0 ? static_cast<int>(options.threads) : available_cores();

  // Captions: every image's metadata is read (the generic titles are counted over the package).
  std::vector<SvgMetadata> metadata(listing.files.size());
  clip_parallel(n_all, threads, [&](int64_t i) {
    metadata[static_cast<size_t>(i)] = clip_read_metadata(listing.files[static_cast<size_t>(i)].svg);
  });
  std::unordered_map<std::string, int64_t> uses;
  for (const auto& m : metadata) {
    std::unordered_set<std::string> mine;
    for (const std::string& t : {clip_lower(clip_title(m.title)), clip_lower(clip_clean(m.description, false))}) {
      if (!t.empty()) mine.insert(t);
    }
    for (const auto& t : mine) ++uses[t];
  }
  std::unordered_set<std::string> generic;
  for (const auto& [text, count] : uses)
    if (count >= kOpenclipartGenericCount) generic.insert(text);

  // Classes: every category folder but "unsorted", whose images are labelled -1.
  ImageTextDataset ds;
  std::vector<int64_t> label_of(listing.categories.size(), -1);
  for (size_t k = 0; k < listing.categories.size(); ++k) {
    if (listing.categories[k] == kOpenclipartUnlabelled) continue;
    label_of[k] = static_cast<int64_t>(ds.class_names.size());
    ds.class_names.push_back(clip_class_name(listing.categories[k]));
  }
  const auto n = static_cast<int64_t>(keep.size()), s = options.size;
  ds.labels = torch::empty({n}, torch::kInt64);
  for (int64_t j = 0; j < n; ++j) {
    const auto& f = listing.files[static_cast<size_t>(keep[static_cast<size_t>(j)])];
    ds.labels.data_ptr<int64_t>()[j] = label_of[f.category];
    ds.ids.push_back(f.rel);
    const fs::path rel(f.rel);
    const std::string fallback = clip_collapse(rel.parent_path().filename().string(), true);
    ds.captions.push_back(openclipart_captions(metadata[static_cast<size_t>(keep[static_cast<size_t>(j)])],
                                               rel.stem().string(), generic, fallback));
  }
  const bool write_cache = options.cache && options.limit == 0;
  if (write_cache) {
    std::fprintf(stderr, "openclipart: decoding %lld PNG images on %d threads (once: kept in %s)\n",
                 static_cast<long long>(n), threads, cache_path.c_str());
  }
  ds.images = torch::empty({n, 3, s, s}, torch::kUInt8);
  uint8_t* images = ds.images.data_ptr<uint8_t>();
  clip_parallel(n, threads, [&](int64_t j) {
    const auto& f = listing.files[static_cast<size_t>(keep[static_cast<size_t>(j)])];
    detail::png_thumbnail(f.png, static_cast<int>(s), images + j * 3 * s * s);
  });
  check_image_text(ds, "openclipart");
  if (write_cache) {
    try {
      write_image_text_cache(cache_path, key, ds);
    } catch (const Error& e) {
      std::fprintf(stderr, "openclipart: not cached: %s\n", e.what());
    }
  }
  return ds;
}

}  // namespace contra::data
