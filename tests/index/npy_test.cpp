// .npy writer and reader: round trips, numpy reading ours and ours reading numpy's, bad files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "contra/index/npy.h"
#include "../support/expect_error.h"
#include "../support/process.h"

using contra::index::NpyWriter;
using contra::index::npy_shape;
using contra::index::read_npy;
using contra::index::read_npy_rows;
using contra::test_support::expect_error;
using contra::test_support::slurp;
using contra::test_support::temp_dir;

namespace {

/// Runs a numpy snippet with /usr/bin/python3; fails the test (naming install-deps.sh) when python3
/// or numpy is missing. Returns the exit code.
int npy_test_python(const std::string& code) {
  if (!std::filesystem::exists("/usr/bin/python3")) {
    ADD_FAILURE() << "/usr/bin/python3 is missing: run scripts/install-deps.sh (python3-numpy)";
    return -1;
  }
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
    ADD_FAILURE() << "python3 cannot import numpy: run scripts/install-deps.sh (python3-numpy)";
    return -1;
  }
  const std::string script = testing::TempDir() + "/npy_test_" + std::to_string(getpid()) + ".py";
  std::ofstream(script) << code;
  const int status = std::system(("/usr/bin/python3 " + script).c_str());
  std::filesystem::remove(script);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// A .npy file with the given header dict and `data_bytes` zero bytes of data.
void npy_test_write_raw(const std::string& path, const std::string& dict, size_t data_bytes,
                        bool numpy_magic = true) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  out.write(numpy_magic ? "\x93NUMPY" : "\x93NUMPX", 6);
  out.put('\x01').put('\x00');
  out.put(char(header.size() & 0xff)).put(char(header.size() >> 8));
  out << header << std::string(data_bytes, '\0');
}

}  // namespace

TEST(Npy, RoundTripInSeveralAppends) {
  const auto dir = temp_dir("npy_round_trip");
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/emb.npy";
  torch::manual_seed(0);
  auto a = torch::randn({5, 7}), b = torch::randn({0, 7}), c = torch::randn({3, 7}, torch::kDouble);
  {
    NpyWriter w(path, 7);
    w.append(a);
    w.append(b);
    EXPECT_FALSE(std::filesystem::exists(path)) << "final name appears only at close";
    EXPECT_TRUE(std::filesystem::exists(path + ".tmp"));
    w.append(c);
    EXPECT_EQ(w.rows(), 8);
    w.close();
    w.close();  // idempotent
    expect_error([&] { w.append(a); }, "append after close");
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_EQ(npy_shape(path), std::make_pair(int64_t(8), int64_t(7)));
  const auto expect = torch::cat({a, c.to(torch::kFloat)});
  EXPECT_TRUE(torch::equal(read_npy(path), expect));
  EXPECT_TRUE(torch::equal(read_npy_rows(path, 2, 6), expect.slice(0, 2, 6)));
  EXPECT_EQ(read_npy_rows(path, 8, 8).sizes(), (std::vector<int64_t>{0, 7}));
  expect_error([&] { read_npy_rows(path, 3, 9); }, "out of range");
  // The data starts at a multiple of 64 bytes and the file holds nothing else.
  EXPECT_EQ(contra::index::kNpyWriterHeaderBytes % 64, 0);
  EXPECT_EQ(int64_t(std::filesystem::file_size(path)),
            contra::index::kNpyWriterHeaderBytes + 8 * 7 * 4);
  const auto bytes = slurp(path);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_NE(bytes.find("'shape': (8, 7), }"), std::string::npos);
  EXPECT_EQ(bytes[contra::index::kNpyWriterHeaderBytes - 1], '\n');
}

TEST(Npy, UnclosedWriterLeavesNoFile) {
  const auto dir = temp_dir("npy_unclosed");
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/emb.npy";
  {
    NpyWriter w(path, 3);
    w.append(torch::ones({2, 3}));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  expect_error([&] { NpyWriter(path, 0); }, "dimension must be at least 1");
  NpyWriter w(path, 3);
  expect_error([&] { w.append(torch::ones({2, 4})); }, "rows must be [n, 3]");
  expect_error([&] { w.append(torch::ones({2, 3}, torch::kLong)); }, "floating-point");
  expect_error([&] { NpyWriter(dir + "/no/such/dir/x.npy", 3); }, "cannot write");
}

TEST(Npy, NumpyReadsOursAndWeReadNumpys) {
  const auto dir = temp_dir("npy_numpy");
  std::filesystem::create_directories(dir);
  const std::string ours = dir + "/ours.npy";
  {
    NpyWriter w(ours, 3);
    w.append(torch::arange(12, torch::kFloat).view({4, 3}));
    w.append(torch::arange(12, 15, torch::kFloat).view({1, 3}).to(torch::kHalf));
    w.close();
  }
  const int rc = npy_test_python(
      "import numpy as np, sys\n"
      "a = np.load('" + ours + "')\n"
      "ok = a.dtype == np.float32 and a.shape == (5, 3) and (a.ravel() == np.arange(15)).all()\n"
      "np.save('" + dir + "/f4.npy', (np.arange(6, dtype=np.float32) * 0.5).reshape(2, 3))\n"
      "np.save('" + dir + "/f8.npy', np.arange(6, dtype=np.float64).reshape(3, 2))\n"
      "np.save('" + dir + "/f2.npy', np.arange(4, dtype=np.float16).reshape(2, 2))\n"
      "np.save('" + dir + "/one.npy', np.arange(5, dtype=np.float32))\n"
      "np.save('" + dir + "/empty.npy', np.zeros((0, 4), dtype=np.float32))\n"
      "np.save('" + dir + "/i4.npy', np.zeros((2, 2), dtype=np.int32))\n"
      "np.save('" + dir + "/fortran.npy', np.asfortranarray(np.ones((3, 2), dtype=np.float32)))\n"
      "np.save('" + dir + "/big.npy', np.ones((2, 2), dtype='>f4'))\n"
      "np.save('" + dir + "/three.npy', np.ones((2, 2, 2), dtype=np.float32))\n"
      "sys.exit(0 if ok else 3)\n");
  ASSERT_EQ(rc, 0) << "numpy did not read " << ours << " back as float32 (5, 3) 0..14";
  EXPECT_TRUE(torch::equal(read_npy(dir + "/f4.npy"),
                           (torch::arange(6, torch::kFloat) * 0.5).view({2, 3})));
  EXPECT_TRUE(torch::equal(read_npy(dir + "/f8.npy"), torch::arange(6, torch::kFloat).view({3, 2})));
  EXPECT_TRUE(torch::equal(read_npy(dir + "/f2.npy"), torch::arange(4, torch::kFloat).view({2, 2})));
  EXPECT_TRUE(torch::equal(read_npy(dir + "/one.npy"), torch::arange(5, torch::kFloat).view({1, 5})));
  EXPECT_EQ(read_npy(dir + "/empty.npy").sizes(), (std::vector<int64_t>{0, 4}));
  expect_error([&] { read_npy(dir + "/i4.npy"); }, dir + "/i4.npy: dtype '<i4' is not supported");
  expect_error([&] { read_npy(dir + "/fortran.npy"); }, "Fortran");
  expect_error([&] { read_npy(dir + "/big.npy"); }, "big-endian");
  expect_error([&] { read_npy(dir + "/three.npy"); }, "3-D array");
}

TEST(Npy, GarbageAndTruncatedFilesNameTheFile) {
  const auto dir = temp_dir("npy_bad");
  std::filesystem::create_directories(dir);
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }";
  npy_test_write_raw(dir + "/short.npy", good, 4 * 2 * 4 - 1);
  expect_error([&] { read_npy(dir + "/short.npy"); },
               dir + "/short.npy is truncated: shape (4, 2) needs 32 bytes of data, the file has 31");
  npy_test_write_raw(dir + "/magic.npy", good, 32, /*numpy_magic=*/false);
  expect_error([&] { npy_shape(dir + "/magic.npy"); }, dir + "/magic.npy is not a .npy file");
  std::ofstream(dir + "/text.npy") << "hello, this is text";
  expect_error([&] { read_npy(dir + "/text.npy"); }, dir + "/text.npy is not a .npy file");
  std::ofstream(dir + "/tiny.npy") << "\x93NU";
  expect_error([&] { read_npy(dir + "/tiny.npy"); }, "is not a .npy file");
  {
    std::ofstream out(dir + "/cut_header.npy", std::ios::binary);
    out.write("\x93NUMPY\x01\x00\x76\x00{'descr'", 17);
  }
  expect_error([&] { read_npy(dir + "/cut_header.npy"); }, "is truncated");
  npy_test_write_raw(dir + "/noshape.npy", "{'descr': '<f4', 'fortran_order': False, }", 0);
  expect_error([&] { read_npy(dir + "/noshape.npy"); }, "no 'shape'");
  npy_test_write_raw(dir + "/dim0.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0), }", 0);
  expect_error([&] { read_npy(dir + "/dim0.npy"); }, "dimension 0");
  npy_test_write_raw(dir + "/huge.npy",
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999, 999999999999), }", 0);
  expect_error([&] { read_npy(dir + "/huge.npy"); }, "too large");
  expect_error([&] { read_npy(dir + "/absent.npy"); }, dir + "/absent.npy does not exist");
  expect_error([&] { read_npy(dir); }, "is not a regular file");
}
