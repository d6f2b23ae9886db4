#include "contra/core/files.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "contra/core/error.h"

namespace contra {

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw Error("cannot write '" + tmp + "' (missing folder, disk full or not writable?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  CONTRA_CHECK(!ec, "cannot move '", tmp, "' into place at '", path, "': ", ec.message());
}

}  // namespace contra
