#pragma once
// Chat templates: a Jinja2-subset interpreter that renders the templates models ship (GGUF
// tokenizer.chat_template, Hugging Face tokenizer_config.json) byte-identically to Python's
// Jinja2 configured as transformers' apply_chat_template configures it.
//
//   chat::Template tpl(source);                 // parses once; throws chat::TemplateError
//   std::string prompt = tpl.render(context);   // context: messages, tools, add_generation_prompt,
//                                               // bos_token, eos_token, any extra kwargs
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat/evaluator.h"
#include "chat/value.h"

namespace tandem::chat {

struct RenderOptions {
  RenderLimits limits;
  // Time strftime_now() reports; the current local time when absent.
  std::optional<std::tm> fixed_now;
};

// Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" (as TANDEM_FIXED_DATE carries it); throws
// InvalidArgument otherwise.
std::tm parse_fixed_date(const std::string& text);

class Template {
 public:
  explicit Template(std::string_view source);

  // `context` must be a JSON object; its keys become template variables. Pass an ordered_json
  // when key order matters (it does for tojson of tools: Python keeps insertion order).
  std::string render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;
  std::string render(const nlohmann::json& context, const RenderOptions& options = {}) const;
  // `context` must be a dict Value.
  std::string render_value(const Value& context, const RenderOptions& options = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace tandem::chat
