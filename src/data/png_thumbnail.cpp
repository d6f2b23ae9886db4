#include "png_thumbnail.h"

#include <png.h>

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <c10/util/Exception.h>

#include "contra/core/error.h"
#include "resample.h"

namespace contra::data::detail {
namespace {

// An interlaced PNG is read whole (its rows arrive in seven passes); above this many pixels
// (1 GiB as RGBA) it is refused. Non-interlaced images of any size stream row by row.
constexpr int64_t kPngMaxInterlacedPixels = int64_t{1} << 28;

/// What libpng's error callback leaves for the caller (plain data: it is reached by longjmp).
struct PngFailure {
  char message[256] = {0};
};

void png_thumbnail_error(png_structp png, png_const_charp message) {
  auto* failure = static_cast<PngFailure*>(png_get_error_ptr(png));
  std::snprintf(failure->message, sizeof failure->message, "%s", message);
  png_longjmp(png, 1);
}

void png_thumbnail_warning(png_structp, png_const_charp) {}  // e.g. "iCCP: known incorrect sRGB profile"

/// The C++ state of one decode, owned by png_thumbnail's frame: the libpng calls that may
/// longjmp run in png_thumbnail_guarded, whose own locals are all trivially destructible.
struct PngThumbnailJob {
  int size = 0;
  int width = 0, height = 0;
  std::vector<png_byte> rows;     // one RGBA row, or the whole image when interlaced
  std::vector<png_bytep> row_ptrs;
  std::vector<float> rgb;         // one row composited onto white
  std::unique_ptr<LetterboxResampler> resampler;

  void feed(int y, const png_byte* rgba) {
    for (int x = 0; x < width; ++x) {
      const png_byte* p = rgba + static_cast<size_t>(x) * 4;
      const float a = p[3] * (1.0f / 255.0f), white = 255.0f * (1.0f - a);
      for (int ch = 0; ch < 3; ++ch) rgb[static_cast<size_t>(x) * 3 + ch] = p[ch] * a + white;
    }
    resampler->add_row(y, rgb.data());
  }
};

/// Reads the header, sets RGBA 8-bit output and feeds every row to `job`. False when libpng
/// reported an error (the message is in the error pointer's PngFailure).
bool png_thumbnail_guarded(png_structp png, png_infop info, PngThumbnailJob* job) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  const int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  const bool trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  if (trns) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_strip_16(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  if ((color & PNG_COLOR_MASK_ALPHA) == 0 && !trns) png_set_filler(png, 0xFF, PNG_FILLER_AFTER);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != static_cast<size_t>(w) * 4) {
    png_error(png, "unexpected row size after conversion to RGBA");
  }
  if (passes > 1 && static_cast<int64_t>(w) * h > kPngMaxInterlacedPixels) {
    png_error(png, "interlaced image too large");
  }
  job->width = static_cast<int>(w);
  job->height = static_cast<int>(h);
  job->resampler = std::make_unique<LetterboxResampler>(job->width, job->height, 3, job->size, 255.0f);
  job->rgb.resize(static_cast<size_t>(w) * 3);
  if (passes == 1) {
    job->rows.resize(static_cast<size_t>(w) * 4);
    for (png_uint_32 y = 0; y < h; ++y) {
      png_read_row(png, job->rows.data(), nullptr);
      job->feed(static_cast<int>(y), job->rows.data());
    }
  } else {
    job->rows.resize(static_cast<size_t>(w) * 4 * h);
    job->row_ptrs.resize(h);
    for (png_uint_32 y = 0; y < h; ++y) job->row_ptrs[y] = job->rows.data() + static_cast<size_t>(y) * w * 4;
    png_read_image(png, job->row_ptrs.data());
    for (png_uint_32 y = 0; y < h; ++y) job->feed(static_cast<int>(y), job->row_ptrs[y]);
  }
  png_read_end(png, nullptr);
  return true;
}

}  // namespace

void png_thumbnail(const std::string& path, int size, uint8_t* dst) {
  struct CloseFile {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, CloseFile> file(std::fopen(path.c_str(), "rb"));
  CONTRA_CHECK(file != nullptr, path, ": cannot open: ", std::strerror(errno));
  png_byte signature[8];
  const size_t got = std::fread(signature, 1, sizeof signature, file.get());
  CONTRA_CHECK(got == sizeof signature && png_sig_cmp(signature, 0, sizeof signature) == 0, path,
               ": not a PNG file");
  PngFailure failure;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, png_thumbnail_error,
                                           png_thumbnail_warning);
  TORCH_CHECK(png != nullptr, "libpng: out of memory");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    TORCH_CHECK(false, "libpng: out of memory");
  }
  png_init_io(png, file.get());
  png_set_sig_bytes(png, sizeof signature);
  PngThumbnailJob job;
  job.size = size;
  bool ok = false;
  try {
    ok = png_thumbnail_guarded(png, info, &job);
  } catch (...) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  png_destroy_read_struct(&png, &info, nullptr);
  CONTRA_CHECK(ok, path, ": corrupt or unsupported PNG (", failure.message, ")");
  job.resampler->finish(dst);
}

}  // namespace contra::data::detail
