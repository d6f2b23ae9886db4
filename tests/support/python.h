#pragma once
// Runs the system's Python (with PyTorch and torchvision) from tests that check interoperation
// with stock PyTorch. Their absence is a failure, not a skip: scripts/install-deps.sh installs them.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>

namespace contra::test_support {

constexpr const char* kPython = "/usr/bin/python3";

/// What a command printed (stdout and stderr together) and its exit code.
struct CommandResult {
  int code;
  std::string output;
};

/// Runs `command` through the shell.
inline CommandResult run_command(const std::string& command) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, "cannot start: " + command};
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// Whether /usr/bin/python3 imports torch and torchvision; the message says what is missing.
inline testing::AssertionResult python_with_torchvision() {
  const auto r = run_command(std::string(kPython) + " -c 'import torch, torchvision'");
  if (r.code == 0) return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << kPython << " cannot import torch and torchvision (" << r.output
         << "): scripts/install-deps.sh must install python3-torch and python3-torchvision";
}

/// Runs tests/interop/<script> with `args` under /usr/bin/python3.
inline CommandResult run_interop_script(const std::string& script, const std::string& args) {
  return run_command(std::string(kPython) + " " + CONTRA_SOURCE_DIR + "/tests/interop/" + script + " " + args);
}

}  // namespace contra::test_support
