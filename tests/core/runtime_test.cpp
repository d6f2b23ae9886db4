#include <gtest/gtest.h>

#include "contra/core/runtime.h"

TEST(Runtime, SetThreadsDefaultsToAllCores) {
  EXPECT_EQ(contra::set_threads(0), contra::available_cores());
  EXPECT_EQ(contra::set_threads(1), 1);
}
