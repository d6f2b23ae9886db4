#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "contra/data/image_text.h"

namespace contra::data {

/// Where decoded datasets are kept between runs when no folder is given:
/// $XDG_CACHE_HOME/contra, else $HOME/.cache/contra (else ".contra-cache" in the working folder).
std::string default_cache_dir();

/// A fingerprint of source files: a hash of each path's size and modification time, in order
/// (a missing file counts as size -1). Two listings give the same value only when every file
/// is unchanged, as far as size and time tell.
std::string files_fingerprint(const std::vector<std::string>& paths);

/// Writes `dataset` to `path` (its folder is created) with `key`, the description of everything
/// the content depends on (reader, version, options, source fingerprint); atomically, so that a
/// crash never leaves half a file. Throws contra::Error when it cannot be written.
void write_image_text_cache(const std::string& path, const std::string& key,
                            const ImageTextDataset& dataset);

/// The dataset stored at `path` when the file is whole (checksum), consistent and was written
/// with the same `key`; nullopt when it is missing, damaged, truncated or for another key (the
/// caller then rebuilds it). Never throws for a bad file.
std::optional<ImageTextDataset> read_image_text_cache(const std::string& path,
                                                      const std::string& key);

}  // namespace contra::data
