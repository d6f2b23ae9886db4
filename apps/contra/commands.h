#pragma once
#include <functional>

namespace CLI {
class App;
}

namespace contra::run {
struct EvalResult;
}

namespace contra::app {

/// Each subcommand registers its options on `app` and returns the action to run when chosen.
/// The action returns the process exit code.
using Action = std::function<int()>;
Action add_train(CLI::App& app);
Action add_eval(CLI::App& app);
Action add_doctor(CLI::App& app);
Action add_tokenizer(CLI::App& app);
Action add_export(CLI::App& app);

/// The evaluation's figures: kNN and linear probe (images) or gloss retrieval (text), then the
/// baselines measured beside them.
void print_eval(const run::EvalResult& r);

}  // namespace contra::app
