#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "contra/data/image_text.h"

namespace contra::data {

/// How a manifest's fields are separated (data.separator).
enum class ManifestSeparator {
  kAuto,   ///< by the file's extension: .tsv tab, .csv comma
  kTab,
  kComma,
};
ManifestSeparator manifest_separator_from_string(const std::string& name);  ///< auto | tab | comma
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> manifest_separator_names();

/// What a manifest's columns are called and how its images are read. The defaults are
/// open_clip's (its --csv-img-key filepath, --csv-caption-key title).
struct ManifestOptions {
  std::string image_column = "filepath";
  std::string caption_column = "title";
  /// The class of each image (zero-shot labels); empty: the manifest has none (default).
  std::string label_column;
  ManifestSeparator separator = ManifestSeparator::kAuto;
  /// Images are resized (shorter side to `size`, centre crop) to [channels, size, size], as
  /// image folders are (defaults 32, 3).
  int64_t size = 32, channels = 3;
};

/// Reads a CSV or TSV manifest of (image, caption[, label]) rows, open_clip's convention: a
/// header row naming the columns, then one row per caption. Fields may be quoted ("..."), with
/// the separator, line breaks and doubled quotes ("") inside; a trailing '\r' is dropped and
/// empty lines are skipped. Image paths are relative to the manifest's folder (or absolute);
/// rows naming the same image give it several captions, in row order. Captions are trimmed of
/// surrounding white space. Labels are names: class_names are the distinct non-empty values
/// sorted, label k the k-th; an empty label field is an unknown label (-1). Images come in the
/// order of their first row; ids are their paths as resolved.
///
/// Throws one contra::Error naming the file and line ("<manifest>:<line>: ...") for: a header
/// without a named column, a row with another number of fields than the header, an empty image
/// path or caption, invalid UTF-8, an unterminated quote, an image file that does not exist or
/// cannot be decoded, and an image given two different labels; and naming the file for an
/// unreadable manifest, one without rows, and a separator that auto cannot tell.
ImageTextDataset read_image_text_manifest(const std::string& path, const ManifestOptions& options);

}  // namespace contra::data
