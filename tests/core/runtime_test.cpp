#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "contra/core/runtime.h"

TEST(Runtime, SetThreadsDefaultsToAllCores) {
  EXPECT_EQ(contra::set_threads(0), contra::available_cores());
  EXPECT_EQ(contra::set_threads(1), 1);
}

namespace {
// Minor page faults while `rounds` times allocating, touching and freeing eight 8 MiB blocks
// (the shape of a training step's activations), counted after the first round.
long faults_of_reallocation(int rounds) {
  constexpr size_t kBlock = 8u << 20;
  auto round = [&] {
    std::vector<char*> blocks;
    for (int i = 0; i < 8; ++i) {
      blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
      std::memset(blocks.back(), i + 1, kBlock);
    }
    volatile char sink = 0;
    for (char* b : blocks) sink = sink + b[kBlock / 2];
    for (char* b : blocks) std::free(b);
  };
  round();
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  for (int r = 0; r < rounds; ++r) round();
  getrusage(RUSAGE_SELF, &after);
  return after.ru_minflt - before.ru_minflt;
}
}  // namespace

TEST(Runtime, KeepFreedMemoryStopsPageFaultsOfReallocatedBlocks) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "glibc only";
#else
  const char* tun = std::getenv("GLIBC_TUNABLES");
  if (tun && std::string(tun).find("glibc.malloc") != std::string::npos)
    GTEST_SKIP() << "GLIBC_TUNABLES tunes malloc here";
  setenv("CONTRA_KEEP_FREED_MEMORY", "0", 1);
  EXPECT_FALSE(contra::keep_freed_memory());
  EXPECT_NE(contra::freed_memory_policy().find("CONTRA_KEEP_FREED_MEMORY=0"), std::string::npos);
  unsetenv("CONTRA_KEEP_FREED_MEMORY");
  ASSERT_TRUE(contra::keep_freed_memory());
  EXPECT_NE(contra::freed_memory_policy().find("keeps freed memory"), std::string::npos);
  // 4 rounds touch 4 x 64 MiB = 65,536 pages; with the memory kept they are reused, not faulted.
  const long faults = faults_of_reallocation(4);
  EXPECT_LT(faults, 2000) << "freed blocks went back to the kernel and were faulted in again";
#endif
}
