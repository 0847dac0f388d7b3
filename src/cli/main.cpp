// tandem: command-line entry point. Parses the subcommand and reports errors from below as one
// clear line on stderr with a non-zero exit status.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"tandem: on-device language models with a hybrid cloud router"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tandem 0.1.0");
  tandem::cli::register_inspect(app);
  tandem::cli::register_tokenize(app);
  tandem::cli::register_template(app);
  tandem::cli::register_run(app);
  tandem::cli::register_bench(app);
  tandem::cli::register_serve(app);
  tandem::cli::register_models(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
