#pragma once
// Shared test helpers for tests that run the CLI as child processes.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace contra::test_support {

/// A fresh (emptied) folder under the test temp dir, unique to this process.
/// The paths temp_dir handed out; removed when the test process exits (not by a forked child),
/// unless CONTRA_KEEP_TEST_DIRS is set (to look at a failed test's files).
struct TempDirRegistry {
  pid_t owner = getpid();
  std::vector<std::filesystem::path> paths;
  ~TempDirRegistry() {
    if (getpid() != owner || std::getenv("CONTRA_KEEP_TEST_DIRS")) return;
    std::error_code ignored;
    for (const auto& p : paths) std::filesystem::remove_all(p, ignored);
  }
};
inline TempDirRegistry& temp_dir_registry() {
  static TempDirRegistry registry;
  return registry;
}

inline std::string temp_dir(const std::string& name) {
  auto d = std::filesystem::path(testing::TempDir()) / (name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  temp_dir_registry().paths.push_back(d);
  return d.string();
}

/// Starts args[0] with args, stdout and stderr to `log`, with `env` ("NAME=value") added.
inline pid_t spawn(const std::vector<std::string>& args, const std::string& log,
                   const std::vector<std::string>& env = {}) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(fileno(stdout), STDERR_FILENO);
    for (const auto& kv : env) {
      const auto eq = kv.find('=');
      setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

/// The child's exit code, or 128 + signal.
inline int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/// The whole file's bytes ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// What a contra command printed (stdout and stderr together) and its exit code.
struct CliResult {
  int code;
  std::string output;
};

/// Runs the contra CLI (CONTRA_CLI_PATH) with `args`, through the shell.
inline CliResult run_cli(const std::string& args) {
  std::string cmd = std::string(CONTRA_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// A TCP port that was free a moment ago (the kernel's pick for port 0).
inline int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(s);
  return port;
}

}  // namespace contra::test_support
