#include "contra/dist/group.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// CMake's CONTRA_HAVE_GLOO: whether LibTorch's ProcessGroupGloo.hpp compiles here (a PyTorch wheel
// ships no gloo/*.h headers). Without it the code below still compiles against the backend base
// class, but Group::create refuses to start.
#if CONTRA_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
using Backend = c10d::ProcessGroupGloo;
#else
#include <torch/csrc/distributed/c10d/Backend.hpp>
using Backend = c10d::Backend;
#endif
#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::dist {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kDiagnoseTimeout{5};
/// Every rank bumps its heartbeat counter in the store this often; a counter that stands still
/// for kGoneAfter marks a rank whose process is gone (killed, crashed, machine down).
constexpr std::chrono::milliseconds kHeartbeat{250};
constexpr std::chrono::milliseconds kGoneAfter{1500};

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string bytes_text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

/// The first line of an exception's message (c10 errors carry a backtrace after it).
std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string s = c10 != nullptr ? c10->what_without_backtrace() : e.what();
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

std::string key(const char* what, int64_t rank) { return std::string("contra/") + what + "/" + std::to_string(rank); }

/// all_gather with autograd: forward gathers, backward sums the incoming gradient over the ranks
/// (each rank's loss sends gradient to every rank's slice) and keeps this rank's slice. Returning
/// the local slice without the sum (the common GatherLayer mistake) would drop every other rank's
/// contribution.
struct GatherWithGrad : torch::autograd::Function<GatherWithGrad> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            int64_t group) {
    ctx->saved_data["group"] = group;
    ctx->saved_data["rows"] = x.size(0);
    return reinterpret_cast<Group*>(group)->all_gather(x.detach());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* g = reinterpret_cast<Group*>(ctx->saved_data["group"].toInt());
    const int64_t rows = ctx->saved_data["rows"].toInt();
    std::vector<at::Tensor> sum{grads[0].contiguous().clone()};
    g->all_reduce_sum_(sum);
    return {sum[0].slice(0, g->rank() * rows, (g->rank() + 1) * rows), at::Tensor()};
  }
};

/// all-reduce (sum) with autograd: y = sum_r x_r on every rank, so dL/dx_r = sum_r' dL_r'/dy.
struct AllReduceWithGrad : torch::autograd::Function<AllReduceWithGrad> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            int64_t group) {
    ctx->saved_data["group"] = group;
    std::vector<at::Tensor> t{x.detach().contiguous().clone()};
    reinterpret_cast<Group*>(group)->all_reduce_sum_(t);
    return t[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* g = reinterpret_cast<Group*>(ctx->saved_data["group"].toInt());
    std::vector<at::Tensor> t{grads[0].contiguous().clone()};
    g->all_reduce_sum_(t);
    return {t[0], at::Tensor()};
  }
};

}  // namespace

struct Group::Impl {
  WorldInfo world;
  GroupOptions options;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Backend> pg;
  double comm_s = 0;
  int64_t step = 0;
  std::mutex store_mu;  // the heartbeat thread shares the store client
  std::mutex beat_mu;
  std::condition_variable beat_cv;
  bool stopping = false;
  std::thread heartbeat;

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(beat_mu);
      stopping = true;
    }
    beat_cv.notify_all();
    if (heartbeat.joinable()) heartbeat.join();
  }

  void start_heartbeat() {
    heartbeat = std::thread([this] {
      std::unique_lock<std::mutex> lock(beat_mu);
      while (!beat_cv.wait_for(lock, kHeartbeat, [this] { return stopping; })) {
        try {
          add(key("alive", world.rank), 1);
        } catch (const std::exception&) {
          return;  // the store is gone: rank 0 exited; the next collective reports it
        }
      }
    });
  }

  /// The store's counter `k` after adding n (0: read it).
  int64_t add(const std::string& k, int64_t n) {
    std::lock_guard<std::mutex> s(store_mu);
    return store->add(k, n);
  }
  int64_t alive(int64_t r) { return add(key("alive", r), 0); }
  bool has(const std::string& k) {
    std::lock_guard<std::mutex> s(store_mu);
    return store->check({k});
  }
  std::string get(const std::string& k) {
    std::lock_guard<std::mutex> s(store_mu);
    return bytes_text(store->get(k));
  }
  void set(const std::string& k, const std::string& v) {
    std::lock_guard<std::mutex> s(store_mu);
    store->set(k, bytes(v));
  }

  /// Who is to blame for a failed collective, as far as the store can tell: a rank's own error
  /// message, a rank whose heartbeat stopped (gone), or a rank behind this one (stuck).
  std::string diagnose() {
    std::string out;
    try {
      {
        std::lock_guard<std::mutex> s(store_mu);
        store->setTimeout(kDiagnoseTimeout);
      }
      std::vector<int64_t> before(world.world_size);
      for (int64_t r = 0; r < world.world_size; ++r) before[r] = alive(r);
      std::this_thread::sleep_for(kGoneAfter);
      for (int64_t r = 0; r < world.world_size; ++r) {
        if (r == world.rank) continue;
        const std::string who = "rank " + std::to_string(r);
        if (has(key("error", r))) {
          out += who + " failed: " + get(key("error", r)) + "; ";
          continue;
        }
        const int64_t seen = has(key("step", r)) ? std::stoll(get(key("step", r))) : 0;
        const std::string steps = "its last finished step is " + std::to_string(seen) +
                                  ", this rank's " + std::to_string(step);
        if (alive(r) == before[r])
          out += who + " is gone: its process stopped (" + steps + "); ";
        else if (seen < step)
          out += who + " stopped answering (" + steps + "); ";
      }
      std::lock_guard<std::mutex> s(store_mu);
      store->setTimeout(options.timeout);
    } catch (const std::exception&) {
      return "rank 0, which serves the rendezvous store at " + world.master_addr + ":" +
             std::to_string(world.master_port) + ", is unreachable (it exited or its machine is down)";
    }
    if (out.empty()) return "no rank reported an error; a rank may be slow or its network down";
    out.resize(out.size() - 2);
    return out;
  }

  [[noreturn]] void fail(const std::string& op, const std::exception& e) {
    throw Error("distributed " + op + " failed on rank " + std::to_string(world.rank) + " of " +
                std::to_string(world.world_size) + " (timeout " +
                std::to_string(options.timeout.count() / 1000) + " s): " + diagnose() + " [" +
                first_line(e) + "]");
  }

  void wait(const std::string& op, const c10::intrusive_ptr<c10d::Work>& work) {
    const auto t0 = Clock::now();
    try {
      work->wait(options.timeout);
    } catch (const std::exception& e) {
      fail(op, e);
    }
    comm_s += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  /// Every rank checks in; throws naming the ranks missing after the timeout.
  void rendezvous() {
    set(key("arrived", world.rank), "1");
    const auto deadline = Clock::now() + options.timeout;
    for (;;) {
      std::vector<int64_t> missing;
      for (int64_t r = 0; r < world.world_size; ++r)
        if (!has(key("arrived", r))) missing.push_back(r);
      if (missing.empty()) return;
      if (Clock::now() > deadline) {
        std::string names;
        for (auto r : missing) names += (names.empty() ? "" : ", ") + std::to_string(r);
        throw Error("distributed rendezvous at " + world.master_addr + ":" +
                    std::to_string(world.master_port) + " timed out after " +
                    std::to_string(options.timeout.count() / 1000) + " s: rank" +
                    (missing.size() > 1 ? "s " : " ") + names + " of " +
                    std::to_string(world.world_size) + " never arrived");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
};

std::shared_ptr<Group> Group::create(const WorldInfo& world, GroupOptions options) {
  CONTRA_CHECK(world.distributed(), "dist::Group needs WORLD_SIZE > 1");
  CONTRA_CHECK(options.timeout.count() > 0, "dist.timeout_s must be > 0");
  CONTRA_CHECK(available(), "this contra was built against a LibTorch without Gloo's headers "
               "(gloo/*.h), so it cannot run as several processes; rebuild with them installed");
  auto impl = std::make_unique<Impl>();
  impl->world = world;
  impl->options = options;
  // Under torchrun the launcher's agent already serves a store on MASTER_ADDR:MASTER_PORT and
  // says so (TORCHELASTIC_USE_AGENT_STORE); every rank is then its client, in the key space of
  // this restart attempt, as PyTorch's own env:// rendezvous does.
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  const bool agent_store = agent != nullptr && std::string(agent) == "True";
  const char* restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(world.master_port);
    so.isServer = world.rank == 0 && !agent_store;
    so.numWorkers = static_cast<int>(world.world_size);
    so.waitWorkers = false;  // our own rendezvous names the ranks that do not come
    so.timeout = options.timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(world.master_addr, so);
    impl->store = c10::make_intrusive<c10d::PrefixStore>(
        std::string("contra/attempt_") + (restart != nullptr ? restart : "0"), tcp);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(world.rank) + " could not " +
                (world.rank == 0 && !agent_store ? "serve" : "reach") + " the rendezvous store at " +
                world.master_addr + ":" + std::to_string(world.master_port) + " within " +
                std::to_string(options.timeout.count() / 1000) + " s: " + first_line(e));
  }
  impl->rendezvous();
  impl->start_heartbeat();
#if CONTRA_HAVE_GLOO
  try {
    auto gloo = c10d::ProcessGroupGloo::Options::create(options.timeout);
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    gloo->devices.push_back(ifname != nullptr && *ifname != '\0'
                                ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                : c10d::ProcessGroupGloo::createDefaultDevice());
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("gloo", impl->store);
    impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, static_cast<int>(world.rank),
                                                           static_cast<int>(world.world_size), gloo);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    impl->fail("process-group setup (Gloo)", e);
  }
#endif
  return std::shared_ptr<Group>(new Group(std::move(impl)));
}

bool Group::available() { return CONTRA_HAVE_GLOO != 0; }

Group::Group(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Group::~Group() = default;

int64_t Group::rank() const { return impl_->world.rank; }
int64_t Group::size() const { return impl_->world.world_size; }
double Group::comm_seconds() const { return impl_->comm_s; }

at::Tensor Group::all_gather(const at::Tensor& x) {
  auto in = x.detach().contiguous();
  std::vector<at::Tensor> inputs{in};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int64_t r = 0; r < size(); ++r) outputs[0].push_back(at::empty_like(in));
  impl_->wait("all_gather", impl_->pg->allgather(outputs, inputs));
  return at::cat(outputs[0], 0);
}

at::Tensor Group::all_gather_with_grad(const at::Tensor& x) {
  return GatherWithGrad::apply(x, reinterpret_cast<int64_t>(this));
}

at::Tensor Group::all_reduce_sum_with_grad(const at::Tensor& x) {
  return AllReduceWithGrad::apply(x, reinterpret_cast<int64_t>(this));
}

void Group::broadcast_(at::Tensor& x) {
  CONTRA_CHECK(x.is_contiguous(), "broadcast needs a contiguous tensor");
  std::vector<at::Tensor> t{x};
  impl_->wait("broadcast", impl_->pg->broadcast(t));
}

void Group::all_reduce_sum_(std::vector<at::Tensor>& tensors) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : tensors) {
    CONTRA_CHECK(t.is_contiguous(), "all_reduce needs contiguous tensors");
    std::vector<at::Tensor> one{t};
    works.push_back(impl_->pg->allreduce(one));
  }
  for (auto& w : works) impl_->wait("all_reduce", w);
}

void Group::barrier() { impl_->wait("barrier", impl_->pg->barrier()); }

bool Group::any(bool flag) {
  std::vector<at::Tensor> t{torch::full({1}, flag ? 1 : 0, torch::kInt)};
  all_reduce_sum_(t);
  return t[0].item<int>() > 0;
}

void Group::mark_step(int64_t step) {
  impl_->step = step;
  try {
    impl_->set(key("step", rank()), std::to_string(step));
  } catch (const std::exception& e) {
    impl_->fail("progress record", e);
  }
}

std::string Group::share_from_rank0(const std::string& name, const std::string& value) {
  const std::string k = "contra/shared/" + name;
  try {
    if (rank() == 0) impl_->set(k, value);
    return impl_->get(k);
  } catch (const std::exception& e) {
    impl_->fail("exchange of '" + name + "'", e);
  }
}

void Group::finish() {
  const std::string k = "contra/finished", acks = "contra/finished_acks";
  if (rank() == 0) {
    // Keep serving the store until every rank has seen the word (or the timeout passed).
    impl_->set(k, "1");
    const auto deadline = Clock::now() + impl_->options.timeout;
    try {
      while (Clock::now() < deadline) {
        if (impl_->add(acks, 0) >= size() - 1) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    } catch (const std::exception&) {
    }
    return;
  }
  try {
    while (!impl_->has(k)) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    impl_->add(acks, 1);
  } catch (const std::exception& e) {
    impl_->fail("wait for rank 0 to finish", e);
  }
}

void Group::report_error(const std::string& message) noexcept {
  try {
    std::lock_guard<std::mutex> s(impl_->store_mu);
    impl_->store->setTimeout(kDiagnoseTimeout);
    impl_->store->set(key("error", rank()), bytes(message));
  } catch (...) {
  }
}

}  // namespace contra::dist
