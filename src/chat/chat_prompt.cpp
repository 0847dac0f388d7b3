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
// Text of the token whose id is stored under `key`, or "" when the model has none.
std::string token_text(const gguf::File& f, const char* key, const std::vector<std::string>& tokens) {
  auto id = f.get_optional<int64_t>(key);
  if (!id || *id < 0) return "";
  if (static_cast<size_t>(*id) >= tokens.size())
    throw FormatError(f.name() + ": " + key + " = " + std::to_string(*id) +
                      " is outside the vocabulary");
  return tokens[static_cast<size_t>(*id)];
}
}  // namespace

ChatPrompt ChatPrompt::from_gguf(const gguf::File& file) {
  std::vector<std::string> tokens;
  if (file.has("tokenizer.ggml.tokens")) tokens = file.get_array<std::string>("tokenizer.ggml.tokens");
  return ChatPrompt(file.get_optional<std::string>("tokenizer.chat_template"),
                    token_text(file, "tokenizer.ggml.bos_token_id", tokens),
                    token_text(file, "tokenizer.ggml.eos_token_id", tokens));
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
