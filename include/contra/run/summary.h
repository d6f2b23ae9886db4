#pragma once
#include <nlohmann/json.hpp>

#include "contra/dist/group.h"
#include "contra/methods/method.h"
#include "contra/run/experiment.h"
#include "contra/run/resolve.h"
#include "contra/run/task.h"
#include "contra/train/trainer.h"

namespace contra::run {

/// One line of metrics.jsonl: the step's statistics and diagnostics, the method's own columns
/// (momentum, queue_filled, hard_beta, ...) and, with several processes, comm_s.
nlohmann::json metrics_line(const train::StepRecord& record, const methods::Method& method,
                            const dist::Group* group);

/// The evaluation's summary.json fields: image runs knn_acc, linear_acc, ...; text runs the
/// trained encoder's retrieval metrics at the top level and the baselines in their own objects.
nlohmann::json eval_json(const EvalResult& result);

struct SummaryInputs {
  const ResolvedRun& run;
  const RunResult& result;
  methods::Method& method;
  const Task& task;
  const dist::Group* group;  ///< null: one process
  int threads;
  double total_s;  ///< the whole run, loading and evaluation included
};
/// summary.json of a finished run.
nlohmann::json summary_json(const SummaryInputs& in);

}  // namespace contra::run
