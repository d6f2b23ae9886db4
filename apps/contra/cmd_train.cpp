// contra train CONFIG.yaml [--set key=value]... [--out DIR]  |  contra train --resume DIR
#include <cstdio>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "contra/config/load.h"
#include "contra/run/experiment.h"
#include "contra/run/run_dir.h"

namespace contra::app {

Action add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "train a model, evaluate it, write a run folder");
  auto config = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto resume = std::make_shared<std::string>();
  auto* config_opt = cmd->add_option("config", *config, "YAML config (see configs/)");
  auto* set_opt = cmd->add_option("--set", *sets, "override a key: --set train.epochs=2 (repeatable)");
  auto* out_opt = cmd->add_option("--out", *out, "run folder (default runs/<config>-<time>); must not exist");
  auto* resume_opt = cmd->add_option("--resume", *resume, "continue the run in this folder from its last checkpoint");
  resume_opt->excludes(config_opt)->excludes(set_opt)->excludes(out_opt);
  cmd->callback([=] {
    if (config->empty() && resume->empty())
      throw CLI::RequiredError("train needs a CONFIG file (or --resume DIR)");
  });
  return [=]() {
    run::RunResult r;
    if (!resume->empty()) {
      r = run::resume_run(*resume);
    } else {
      auto cfg = config::load(*config, *sets);
      r = run::train_and_evaluate(cfg, out->empty() ? run::default_run_path(*config) : *out);
    }
    if (r.train.interrupted) return 128 + r.stop_signal;
    std::printf("pairs_per_s %.1f  train %.1f s\n", r.train.pairs_per_s, r.train.wall_s);
    if (r.eval.done) print_eval(r.eval);
    std::printf("run folder: %s\n", r.dir.c_str());
    return 0;
  };
}

}  // namespace contra::app
