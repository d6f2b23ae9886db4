#pragma once
#include <string>

#include "contra/config/run_config.h"
#include "contra/run/experiment.h"
#include "contra/run/run_dir.h"

namespace contra::run {

/// A text run (method simcse or simcse_supervised): loads the training texts or pairs (WordNet's
/// training synsets, a corpus or a pairs file), trains a SentencePiece tokenizer into the run
/// folder unless text.tokenizer_model names one, trains the Transformer encoder with SimCSE, and
/// evaluates WordNet gloss retrieval on the held-out synsets (eval.split test) or the validation
/// synsets (val) against TF-IDF and the untrained encoder. The run folder gets config.yaml,
/// tokenizer.model (when trained), metrics.jsonl, checkpoints (as image runs: checkpoint-<step>.pt,
/// checkpoint.pt the newest) and summary.json.
RunResult train_and_evaluate_text(const config::RunConfig& cfg, const std::string& run_dir);

/// Continues an interrupted text run from its folder (config.yaml, the tokenizer, the newest
/// checkpoint with the dropout generator's state): ends as the uninterrupted run would.
RunResult resume_text_run(const config::RunConfig& cfg, RunDir dir);

/// Re-evaluates a finished text run from its folder and updates summary.json.
EvalResult evaluate_text_run(const config::RunConfig& cfg, RunDir& dir);

}  // namespace contra::run
