#pragma once
// The generation loop of one sequence: prompt -> tokens until EOS, a stop string or max_tokens,
// with text streamed piece by piece (complete UTF-8 only, stop strings never half-shown).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/session.h"
#include "sample/sampler.h"

namespace tandem::runtime {

struct GenerateOptions {
  int64_t max_tokens = 256;          // < 0: until the context is full
  std::vector<std::string> stop;     // stop strings (not included in the output)
  bool ignore_eos = false;           // keep going past end-of-generation tokens
};

enum class FinishReason { Stop, Length, ContextFull };
std::string_view finish_reason_name(FinishReason r);

struct GenerateStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prompt_seconds = 0.0;
  double generate_seconds = 0.0;
  FinishReason finish = FinishReason::Length;
  std::vector<int32_t> tokens;  // generated ids
  // Generated tokens not yet in the session (the last one, unless generation ended on an
  // end-of-generation token): a caller that continues the conversation appends them first.
  std::vector<int32_t> unevaluated;
};

// Appends `prompt` to the session, then samples. `on_text` gets each piece of text as soon as it
// is safe to show; returning false stops generation (finish = Stop).
GenerateStats generate(Session& session, sample::Sampler& sampler, std::span<const int32_t> prompt,
                       const GenerateOptions& options,
                       const std::function<bool(std::string_view)>& on_text);

}  // namespace tandem::runtime
