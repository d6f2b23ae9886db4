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
    auto r = run::evaluate_run(*run);
    if (r.retrieval) {
      print_retrieval(r);
      return 0;
    }
    std::printf("knn_acc %.4f", r.knn_acc);
    if (r.linear_acc >= 0) std::printf("  linear_acc %.4f", r.linear_acc);
    std::printf("  (%s split, %.1f s)\n", r.split.c_str(), r.eval_s);
    return 0;
  };
}

}  // namespace contra::app
