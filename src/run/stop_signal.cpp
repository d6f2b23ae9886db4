#include "contra/run/stop_signal.h"

#include <csignal>
#include <unistd.h>

namespace contra::run {
namespace {
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term;

void on_signal(int sig) {
  if (g_stop.exchange(true)) _exit(128 + sig);  // second signal: stop now
  g_signal.store(sig);
  static const char kMsg[] = "\ncontra: stopping after this step (checkpoint first); signal again to abort\n";
  ssize_t ignored = write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
  (void)ignored;
}
}  // namespace

StopOnSignal::StopOnSignal() {
  g_stop.store(false);
  g_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopOnSignal::~StopOnSignal() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

const std::atomic<bool>& StopOnSignal::flag() const { return g_stop; }
int StopOnSignal::signal() const { return g_signal.load(); }

}  // namespace contra::run
