#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "contra/dist/world.h"
#include "contra/methods/collective.h"
#include "contra/models/batch_norm.h"

namespace contra::dist {

struct GroupOptions {
  /// How long the rendezvous and every collective wait for the other ranks before giving up
  /// with a message naming the ranks that did not answer (config: dist.timeout_s).
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

/// A c10d process group (Gloo) over a TCPStore rendezvous on MASTER_ADDR:MASTER_PORT, served by
/// rank 0. Every collective either completes or throws contra::Error within the timeout, naming
/// the rank that failed (its own error message when it reported one), the rank that stopped
/// answering (with the last step it finished) or the unreachable rendezvous host.
class Group : public methods::Collective, public models::StatsReducer {
 public:
  /// Whether this build can run several processes (LibTorch's Gloo backend compiled in).
  static bool available();
  /// Joins the job described by `world` (which must be distributed()).
  static std::shared_ptr<Group> create(const WorldInfo& world, GroupOptions options = {});
  ~Group() override;
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int64_t rank() const override;
  int64_t size() const override;
  at::Tensor all_gather_with_grad(const at::Tensor& x) override;
  at::Tensor all_gather(const at::Tensor& x) override;
  void broadcast_(at::Tensor& x) override;
  /// The sum over the ranks; backward sums the incoming gradients likewise (for synchronised
  /// batch norm: every rank's output depends on every rank's statistics).
  at::Tensor all_reduce_sum_with_grad(const at::Tensor& x) override;
  /// Sums each tensor over the ranks, in place; all the reductions are in flight at once.
  void all_reduce_sum_(std::vector<at::Tensor>& tensors);
  void barrier();
  /// Any rank's flag set: the same answer on every rank (one small all-reduce).
  bool any(bool flag);

  /// Records that this rank finished `step` (failure messages name the last step of each rank).
  void mark_step(int64_t step);
  /// Rank 0's `value` on every rank (through the store; for strings such as the run folder).
  std::string share_from_rank0(const std::string& key, const std::string& value);
  /// Rank 0 says it finished (`done`); the others wait for that, with no time limit while rank
  /// 0's store still answers (rank 0 may evaluate for longer than the collective timeout).
  void finish();
  /// Best effort: leaves this rank's error message in the store for the others to report.
  void report_error(const std::string& message) noexcept;
  /// Seconds this rank has spent inside collectives (waiting for them to complete).
  double comm_seconds() const;

 private:
  struct Impl;
  explicit Group(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace contra::dist
