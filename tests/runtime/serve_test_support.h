#pragma once
// Helpers for engine/serving tests: the shared stories260K model (a real trained Llama), a copy
// of it carrying a chat template (for the chat, tool and reasoning paths), and collecting a
// Generation's events into per-choice results.
#include <chrono>
#include <string>
#include <vector>

#include "server/backend.h"
#include "server/generation.h"

namespace tandem::testing {

std::string stories_path();
// Writes stories260K with `chat_template` added as tokenizer.chat_template (gguf::Writer).
void write_chat_model(const std::string& path, const std::string& chat_template);

// A ChatML template that renders tools and asks for Hermes <tool_call> blocks.
extern const char* const kHermesToolTemplate;
// A template whose generation prompt opens a <think> block (DeepSeek-R1 style).
extern const char* const kReasoningTemplate;

struct ChoiceResult {
  std::string content;
  std::string reasoning;
  std::vector<server::ToolCallDelta> tool_calls;  // merged per index
  std::vector<server::TokenLogprob> logprobs;
  server::FinishReason finish = server::FinishReason::Stop;
  bool finished = false;
};

struct RequestResult {
  std::vector<ChoiceResult> choices;
  server::Usage usage;
  bool done = false;
  std::string error;
  std::chrono::steady_clock::time_point first_token_at{}, done_at{};
};

// Drains `g` until its terminal event (or the timeout), like a fast client.
RequestResult collect(server::Generation& g, int choices,
                      std::chrono::milliseconds timeout = std::chrono::seconds(120));

server::GenerationRequest completion_request(const std::string& model, const std::string& prompt,
                                             int max_tokens, double temperature, long seed);
server::GenerationRequest chat_request(const std::string& model, const std::string& user_text,
                                       int max_tokens, long seed);

}  // namespace tandem::testing
