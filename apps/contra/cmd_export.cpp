// contra export --run DIR --format pytorch --out FILE.pt
#include <cstdio>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "contra/run/export.h"

namespace contra::app {

Action add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export", "write a run's trained image encoder as a PyTorch state dict (torchvision names) + FILE.json");
  auto run = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("pytorch");
  auto out = std::make_shared<std::string>();
  cmd->add_option("--run", *run, "run folder written by contra train")->required();
  cmd->add_option("--format", *format, "pytorch (a state dict torch.load reads; the default)");
  cmd->add_option("--out", *out, "FILE.pt to write (FILE.json beside it)")->required();
  return [=]() {
    const auto r = run::export_run(*run, *format, *out);
    std::printf("exported step %lld: %lld tensors to %s, metadata %s (see docs/EXPORT.md)\n",
                static_cast<long long>(r.step), static_cast<long long>(r.tensors), r.weights.c_str(),
                r.metadata.c_str());
    return 0;
  };
}

}  // namespace contra::app
