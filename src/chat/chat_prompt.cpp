#include "chat/chat_prompt.h"

#include <cstdlib>
#include <vector>

#include "chat/template.h"
#include "gguf/file.h"
#include "util/error.h"

namespace tandem::chat {

const std::string_view kChatMlTemplate =
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

ChatPrompt::ChatPrompt(std::optional<std::string> source, std::string bos_token, std::string eos_token)
    : source_(source ? std::move(*source) : std::string(kChatMlTemplate)),
      bos_(std::move(bos_token)),
      eos_(std::move(eos_token)),
      is_default_(!source),
      template_(std::make_shared<Template>(source_)) {}

namespace {
// Text of the token whose id is stored under `key`, or "" when the model has none. Reads the one
// entry in place: copying a 150k-token vocabulary for two strings would cost megabytes.
std::string token_text(const gguf::File& f, const char* key) {
  auto id = f.get_optional<int64_t>(key);
  if (!id || *id < 0) return "";
  const gguf::Value* tokens = f.find("tokenizer.ggml.tokens");
  const size_t n = tokens && tokens->type == gguf::ValueType::ARRAY ? tokens->as_array().size() : 0;
  if (static_cast<uint64_t>(*id) >= n)
    throw FormatError(f.name() + ": " + key + " = " + std::to_string(*id) +
                      " is outside the vocabulary");
  try {
    return std::string(tokens->as_array().string_at(static_cast<size_t>(*id)));
  } catch (const FormatError& e) {
    throw FormatError(f.name() + ": metadata key 'tokenizer.ggml.tokens': " + e.what());
  }
}
}  // namespace

ChatPrompt ChatPrompt::from_gguf(const gguf::File& file) {
  return ChatPrompt(file.get_optional<std::string>("tokenizer.chat_template"),
                    token_text(file, "tokenizer.ggml.bos_token_id"),
                    token_text(file, "tokenizer.ggml.eos_token_id"));
}

std::string ChatPrompt::render(const nlohmann::ordered_json& messages,
                               const nlohmann::ordered_json& tools, bool add_generation_prompt) const {
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = messages;
  ctx["tools"] = tools;  // null when absent, as apply_chat_template passes it
  ctx["add_generation_prompt"] = add_generation_prompt;
  ctx["bos_token"] = bos_;
  ctx["eos_token"] = eos_;
  RenderOptions options;
  if (const char* fixed = std::getenv("TANDEM_FIXED_DATE"); fixed && *fixed)
    options.fixed_now = parse_fixed_date(fixed);
  return template_->render(ctx, options);
}

}  // namespace tandem::chat
