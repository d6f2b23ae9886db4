#pragma once
#include <memory>
#include <optional>
#include <string>

#include "contra/dist/group.h"
#include "contra/run/experiment.h"
#include "contra/run/resolve.h"
#include "contra/run/run_dir.h"

namespace contra::run {

/// The one run engine, for every method and modality: the task's data and method, the
/// trainer's loop (with the gradient cache as a step strategy where the method splits), the
/// metrics sink, the checkpoint policy (RunState), the summary writer and, with a process group,
/// the distributed parts (initial broadcast, global negatives, gradient all-reduce, synchronised
/// batch norm, a common stop). Trains in `path`; `dir` is the run folder on the leading process
/// (the others write nothing). resume: continue from the folder's newest checkpoint.
RunResult run_engine(const ResolvedRun& run, std::optional<RunDir> dir, const std::string& path,
                     bool resume, const std::shared_ptr<dist::Group>& group);

/// The method of the run in `run_dir` as initialised for its seed (text: with the folder's
/// tokenizer), ready for a checkpoint of the run to be loaded into it.
std::shared_ptr<methods::Method> method_for_run(const std::string& run_dir);

/// Evaluates the newest checkpoint of the run in `dir` and returns the result (no writing).
EvalResult evaluate_checkpoint(const ResolvedRun& run, const RunDir& dir);

}  // namespace contra::run
