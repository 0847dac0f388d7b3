#include "cli/commands.h"
namespace tandem::cli {
void register_inspect(CLI::App& app) { app.add_subcommand("inspect", "Describe a GGUF model file"); }
}  // namespace tandem::cli
