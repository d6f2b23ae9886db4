// PNG in memory for the run report's inlined images. Compiled on its own (CMakeLists.txt): stb's
// implementation macros stay out of the unity batches, and no LibTorch header is needed.
#include <string>

#include "contra/core/error.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_WRITE_STATIC  // internal linkage: no clash with another copy in a program
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace contra::run::report_detail {
namespace {
void report_png_append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}
}  // namespace

std::string base64(const std::string& bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = unsigned((unsigned char)bytes[i]) << 16 | unsigned((unsigned char)bytes[i + 1]) << 8 |
                       unsigned((unsigned char)bytes[i + 2]);
    out += digits[v >> 18];
    out += digits[(v >> 12) & 63];
    out += digits[(v >> 6) & 63];
    out += digits[v & 63];
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const unsigned v = unsigned((unsigned char)bytes[i]) << 16 | (two ? unsigned((unsigned char)bytes[i + 1]) << 8 : 0u);
    out += digits[v >> 18];
    out += digits[(v >> 12) & 63];
    out += two ? digits[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string png_base64(const unsigned char* pixels, int width, int height, int channels) {
  CONTRA_CHECK(channels == 1 || channels == 3, "PNG: 1 or 3 channels, got ", channels);
  CONTRA_CHECK(width > 0 && height > 0, "PNG: empty image");
  std::string png;
  const int ok = stbi_write_png_to_func(report_png_append, &png, width, height, channels, pixels,
                                        width * channels);
  CONTRA_CHECK(ok != 0, "PNG: could not encode a ", width, "x", height, " image");
  return base64(png);
}

}  // namespace contra::run::report_detail
