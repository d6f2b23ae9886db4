#pragma once
#include <string>

namespace contra {

/// Writes a whole file atomically: `path`.tmp, then a rename, so a crash never leaves a half
/// file under `path`. Throws contra::Error naming the file when it cannot be written.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace contra
