#pragma once
// How a model turns a conversation into prompt text: its own chat template (GGUF
// `tokenizer.chat_template`) or, when it ships none, tandem's documented default, ChatML:
//
//   <|im_start|>system\n{content}<|im_end|>\n<|im_start|>user\n{content}<|im_end|>\n
//   <|im_start|>assistant\n
//
// The same object serves `tandem run -i`, `tandem template render` and the server.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::gguf {
class File;
}

namespace tandem::chat {

class Template;

// The fallback template's source (ChatML, as Qwen and many fine-tunes use it).
extern const std::string_view kChatMlTemplate;

class ChatPrompt {
 public:
  // `source`: template text, or nullopt for the ChatML default. bos/eos: the texts the template
  // sees as bos_token / eos_token. Throws TemplateError if the template does not parse.
  ChatPrompt(std::optional<std::string> source, std::string bos_token, std::string eos_token);
  // From a model file: its template and the texts of its BOS/EOS tokens.
  static ChatPrompt from_gguf(const gguf::File& file);

  // True when the model had no template and ChatML is used.
  bool is_default() const { return is_default_; }
  const std::string& source() const { return source_; }
  const std::string& bos_token() const { return bos_; }
  const std::string& eos_token() const { return eos_; }

  // Renders `messages` (OpenAI shape) with optional `tools` (null when none). Throws
  // TemplateError (or TemplateRaised when the template rejects the conversation).
  std::string render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                     bool add_generation_prompt) const;

 private:
  std::string source_;
  std::string bos_;
  std::string eos_;
  bool is_default_;
  std::shared_ptr<const Template> template_;
};

}  // namespace tandem::chat
