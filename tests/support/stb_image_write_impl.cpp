// The one definition of stb_image_write for the test binary (tests write PNG/JPEG/BMP fixtures).
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
