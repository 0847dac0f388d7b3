#pragma once
// Each `tandem` subcommand lives in its own file and registers itself on the CLI11 app.
#include <CLI/CLI.hpp>

namespace tandem::cli {

void register_inspect(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_template(CLI::App& app);
void register_run(CLI::App& app);
void register_bench(CLI::App& app);
void register_serve(CLI::App& app);
void register_models(CLI::App& app);

}  // namespace tandem::cli
