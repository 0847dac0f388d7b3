#pragma once
// Tool calls in the formats models are trained on: detecting the format from a chat template,
// parsing generated text back into OpenAI `tool_calls`, and building the grammar that forces a
// tool call (`tool_choice: "required"` or a named function).
//
// Formats (what the model emits after the assistant header):
//   kLlama3Json      {"name": "f", "parameters": {...}}  (optionally after <|python_tag|>; Llama
//                    3.1 built-ins as <|python_tag|>brave_search.call(query="..."))
//   kHermes          <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>  (one or more;
//                    Hermes 2 Pro / Hermes 3 / Qwen 2.5)
//   kFunctionaryV31  <function=f>{...}</function>  (one or more), or <|python_tag|>code
//   kMistral         [TOOL_CALLS][{"name": "f", "arguments": {...}, "id": "..."}]
//   kCommandR        Action: ```json\n[{"tool_name": "f", "parameters": {...}}]\n```
//   kDeepSeekR1      <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{...}\n```
//                    <｜tool▁call▁end｜> ... <｜tool▁calls▁end｜>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/json_schema_grammar.h"

namespace tandem::chat {

enum class ToolCallFormat { kNone, kLlama3Json, kHermes, kFunctionaryV31, kMistral, kCommandR,
                            kDeepSeekR1 };

const char* tool_call_format_name(ToolCallFormat format);

// Looks at the markers a template writes for assistant tool calls. kNone if it has none.
ToolCallFormat detect_tool_call_format(std::string_view template_text);

struct ToolCall {
  std::string id;         // "call_" + 24 alphanumerics unless the model gave one (Mistral)
  std::string name;
  std::string arguments;  // JSON text, as OpenAI sends it
};

struct ParsedMessage {
  std::string content;
  std::string reasoning_content;
  std::vector<ToolCall> tool_calls;

  // {"role":"assistant","content":...,"reasoning_content"?:...,"tool_calls"?:[...]}; content is
  // null when empty and there are tool calls.
  nlohmann::ordered_json to_json() const;
};

struct ToolCallParseOptions {
  // When non-empty, only calls to these names count as tool calls (guards Llama 3's bare-JSON
  // format against ordinary JSON answers).
  std::vector<std::string> tool_names;
  uint64_t id_seed = 0;  // ids are derived from the text, the call index and this seed
  bool reasoning = false;           // split <think>...</think> first
  bool started_in_think = false;    // the prompt opened <think> (see reasoning.h)
};

// Parses a model's complete output. Never throws on malformed model text: if a tool-call block
// does not parse (bad JSON, missing name), the whole output is returned as plain content.
ParsedMessage parse_model_output(std::string_view text, ToolCallFormat format,
                                 const ToolCallParseOptions& options = {});

struct ToolCallGrammarOptions {
  std::optional<std::string> function_name;  // tool_choice naming one function
  bool parallel = true;                       // allow several calls where the format can
  JsonSchemaOptions json;
};

// Grammar (root rule "root") whose sentences are exactly tool calls in `format` to the given
// OpenAI `tools` ([{"type":"function","function":{"name","parameters"}}]), with arguments
// matching each tool's JSON-schema parameters. Throws InvalidArgument for kNone, no tools, an
// unknown function_name, or unsupported parameter schemas. The grammar starts at the call itself:
// for reasoning models, start constraining once the think block has closed. The format's
// special markers (<tool_call>, [TOOL_CALLS], <｜tool▁sep｜>, ...) are grammar text, so the
// vocabulary given to the mask must carry those special tokens' text (see TokenTrie).
std::string tool_call_grammar(ToolCallFormat format, const nlohmann::ordered_json& tools,
                              const ToolCallGrammarOptions& options = {});

}  // namespace tandem::chat
