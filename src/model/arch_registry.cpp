#include "model/arch.h"

#include "util/error.h"

namespace tandem::model {
namespace {
const ArchSpec* const kArchs[] = {&llama_arch(), &qwen2_arch(), &qwen3_arch(),
                                  &phi3_arch(),  &gemma2_arch(), &gemma3_arch()};
}

std::vector<std::string_view> supported_archs() {
  std::vector<std::string_view> names;
  for (const ArchSpec* a : kArchs) names.push_back(a->name);
  return names;
}

const ArchSpec& find_arch(const gguf::File& file, const std::string& arch) {
  for (const ArchSpec* a : kArchs)
    if (a->name == arch) return *a;
  std::string known;
  for (std::string_view n : supported_archs()) known += (known.empty() ? "" : ", ") + std::string(n);
  format_error(file, "unsupported architecture '" + arch + "' (general.architecture); tandem "
                     "supports " + known);
}

}  // namespace tandem::model
