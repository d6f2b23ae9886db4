// contra eval --run DIR
#include <cstdio>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "contra/run/experiment.h"

namespace contra::app {

Action add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "evaluate a run's frozen encoder (kNN, linear probe; text: gloss retrieval)");
  auto run = std::make_shared<std::string>();
  cmd->add_option("--run", *run, "run folder written by contra train")->required();
  return [=]() {
    print_eval(run::evaluate_run(*run));
    return 0;
  };
}

}  // namespace contra::app
