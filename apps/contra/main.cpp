// contra: contrastive representation learning. main() only parses, dispatches and maps
// exceptions to exit codes: 0 ok, 1 internal error, 2 bad input or configuration.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include "commands.h"
#include "contra/core/error.h"
#include "contra/core/runtime.h"

int main(int argc, char** argv) {
  contra::keep_freed_memory();  // no page faults for re-allocated activations (see runtime.h)
  CLI::App app{"contra: contrastive representation learning on LibTorch"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, contra::app::Action>> commands;
  for (auto add : {contra::app::add_train, contra::app::add_eval, contra::app::add_doctor,
                    contra::app::add_tokenizer, contra::app::add_embed, contra::app::add_index,
                    contra::app::add_search, contra::app::add_export,
                    contra::app::add_report}) {
    size_t before = app.get_subcommands({}).size();
    auto action = add(app);
    commands.emplace_back(app.get_subcommands({})[before], action);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (auto& [sub, action] : commands)
      if (sub->parsed()) return action();
  } catch (const contra::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 1;
}
