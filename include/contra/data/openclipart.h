#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "contra/data/image_text.h"

namespace contra::data {

/// Debian's openclipart (packages openclipart-png and openclipart-svg, public domain): about
/// 6,900 distinct clipart images in 22 category folders, captioned from their SVG metadata.
struct OpenclipartOptions {
  /// The folder holding png/<category>/**.png and svg/<category>/**.svg (the same relative
  /// paths) (default Debian's /usr/share/openclipart).
  std::string root = "/usr/share/openclipart";
  /// Side of the square images in pixels (default 32).
  int64_t size = 32;
  /// Keep at most this many images, spread evenly over the sorted listing so that every large
  /// category keeps some; 0 keeps all (default 0).
  int64_t limit = 0;
  /// Keep the decoded images in a cache file between runs (default true). Decoding the
  /// package's 4.9 gigapixels takes minutes; reading the cache, well under a second. A load with
  /// a limit reads a complete cache when there is one and never writes one.
  bool cache = true;
  /// The cache's folder; empty: default_cache_dir() (data/image_text_cache.h) (default empty).
  std::string cache_dir;
  /// Decoding threads; 0: every available core (default 0). The result does not depend on it.
  int64_t threads = 0;
};

/// Throws contra::Error naming the option, its value and the allowed range.
void validate(const OpenclipartOptions& options);

/// Loads the collection as image-text pairs: RGB images [N, 3, size, size] uint8 (transparency
/// composited onto white, the whole image kept: the longer side resized to `size`, the shorter
/// centred on white), captions from each image's SVG metadata (openclipart_captions), labels =
/// the category folder (class_names: readable names, e.g. "signs and symbols", "computer
/// icons"; the "unsorted" folder's images are labelled -1), ids = the PNG paths relative to
/// root/png. Symbolic links, by which the package files an image under a second category, are
/// skipped: each image appears once, in the category whose folder holds the file. Throws
/// contra::Error for a missing folder, a folder without PNG files, or an unreadable or corrupt
/// image (naming the file).
ImageTextDataset load_openclipart(const OpenclipartOptions& options);

/// What an openclipart SVG says about itself: its RDF work's Dublin Core title, description and
/// subject keywords, and the creator's name.
struct SvgMetadata {
  std::string title, description, creator;
  std::vector<std::string> keywords;
};

/// Reads the metadata of an SVG file's text (<cc:Work> in <metadata>, under any namespace
/// prefix): title and description from the work itself (not the titles of its creator,
/// publisher or rights agents), keywords from <dc:subject>'s list items (or its text split at
/// commas), creator from <dc:creator>'s agent title. Entities and character references are
/// decoded, whitespace collapsed; a Latin-1 file (as declared, or not valid UTF-8) is converted
/// to UTF-8. Missing parts are empty; never throws.
SvgMetadata parse_svg_metadata(std::string_view svg);

/// The captions of one image, in this order, each at most 200 bytes, duplicates (ignoring case)
/// and captions without a letter dropped:
///  1. the name: the title ("_" read as a space, a "Clipart by <author> - " prefix dropped),
///     unless it is one of `generic_texts` (a collection's name shared by many images, e.g.
///     "Lemon SVG theme"), else the file name's words;
///  2. the file name's words (openclipart_file_words), when they differ from the name;
///  3. "<name>: <keyword>, <keyword>, ..." (up to 8 keywords, "_" read as a space, the
///     metadata artefacts "hash", "unsorted" and hex numbers like "0x93a3a4c" left out);
///  4. the description (URLs removed), unless generic.
/// `generic_texts` holds lower-cased titles and descriptions; load_openclipart passes those
/// that at least 10 images of the package share. Never empty: without any of these, the
/// file's stem ("_" read as a space) or `fallback`.
std::vector<std::string> openclipart_captions(const SvgMetadata& metadata, std::string_view file_stem,
                                              const std::unordered_set<std::string>& generic_texts,
                                              const std::string& fallback);

/// The words of a file name's stem, lower-cased: split at anything but letters and digits,
/// numbers dropped (also numbering like "t1" or "v2": up to 3 characters with a digit), and
/// words of the creator's name dropped (also their first 3+ letters, as the package's file
/// names truncate them: "tigre04_architetto_franc_01" by "Architetto Francesco Rollandin" gives
/// "tigre04"). The first word is kept unless it is a number.
std::string openclipart_file_words(std::string_view file_stem, std::string_view creator);

}  // namespace contra::data
