#pragma once
#include <functional>

namespace CLI {
class App;
}

namespace contra::app {

/// Each subcommand registers its options on `app` and returns the action to run when chosen.
/// The action returns the process exit code.
using Action = std::function<int()>;
Action add_train(CLI::App& app);
Action add_eval(CLI::App& app);
Action add_doctor(CLI::App& app);

}  // namespace contra::app
