#pragma once
// Reasoning models (DeepSeek R1 and its distills, QwQ, ...) think inside <think>...</think>
// before answering. The OpenAI-style response carries that part as `reasoning_content`.
#include <string>
#include <string_view>

namespace tandem::chat {

struct ReasoningSplit {
  std::string reasoning;  // trimmed text inside the think block ("" if none)
  std::string content;    // the rest, leading whitespace removed
};

// Splits generated `text`. `started_in_think` says the prompt already opened the block (R1
// templates end the generation prompt with "<think>\n"), so the output starts inside it. An
// unclosed block (generation stopped while thinking) is all reasoning.
ReasoningSplit split_reasoning(std::string_view text, bool started_in_think,
                               std::string_view open_tag = "<think>",
                               std::string_view close_tag = "</think>");

// True when a rendered prompt ends inside an opened think block (trailing whitespace ignored).
bool prompt_opens_think(std::string_view prompt, std::string_view open_tag = "<think>",
                        std::string_view close_tag = "</think>");

// True when a chat template emits or strips think blocks, i.e. the model reasons.
bool template_uses_reasoning(std::string_view template_text);

}  // namespace tandem::chat
