#pragma once
// Turning an OpenAI request into what the engine runs: prompt token ids (chat template +
// tokenizer, or the completion prompts) and one ChoiceConfig per choice (sampling, stops,
// grammar, tool-call parsing, reasoning). Throws InvalidArgument (-> 400) naming what is wrong.
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/choice_decoder.h"
#include "runtime/serving_model.h"
#include "server/backend.h"

namespace tandem::server {

struct PreparedChoice {
  int prompt_index = 0;
  runtime::ChoiceConfig config;
};

struct PreparedRequest {
  std::vector<std::vector<std::int32_t>> prompts;  // token ids, one per prompt
  std::vector<std::string> echo_text;              // per prompt, when echo was asked for
  std::vector<PreparedChoice> choices;             // request.choice_count() entries, in order
  std::int64_t prompt_tokens = 0;                  // usage: every prompt counted once
};

// `random_seed` seeds choices of requests without a seed.
PreparedRequest prepare_request(const runtime::ServingModel& model, const GenerationRequest& request,
                                std::uint64_t random_seed);

// The chat messages as the template should see them: content given as an array of parts
// becomes the concatenation of its text parts; with `null_content_as_empty`, missing or null
// content becomes "".
nlohmann::ordered_json template_messages(const nlohmann::ordered_json& messages, bool null_content_as_empty);

}  // namespace tandem::server
