// Internal to src/data: a PNG file decoded row by row straight into a small letterboxed
// thumbnail. Debian's openclipart-png holds 4.9 gigapixels in 6,900 files, up to 21,000 x 29,700
// pixels each: decoding whole images (stb_image, as image folders do) would need gigabytes per
// image; this needs one row.
#pragma once
#include <cstdint>
#include <string>

namespace contra::data::detail {

/// Decodes the PNG file `path` into planar RGB [3, size, size] uint8 at `dst`: any PNG colour
/// type and bit depth, transparency composited onto white, the longer side resized to `size`
/// (area averaging), the shorter centred on white. Throws contra::Error naming the file when it
/// cannot be opened, is not a PNG or is corrupt.
void png_thumbnail(const std::string& path, int size, uint8_t* dst);

}  // namespace contra::data::detail
