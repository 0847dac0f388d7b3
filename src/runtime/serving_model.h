#pragma once
// A model opened for serving: the loaded model plus what every request needs from it and should
// not rebuild per request — the chat prompt (the model's template, or ChatML when it has none),
// the tool-call format and reasoning style its template implies, and the token trie that grammar
// masks walk (built once, on first use, because a 150k vocabulary takes a moment).
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chat/chat_prompt.h"
#include "chat/grammar_token_trie.h"
#include "chat/tool_call.h"
#include "runtime/loaded_model.h"

namespace tandem::runtime {

class ServingModel {
 public:
  // Throws FormatError when the model's chat template does not parse.
  explicit ServingModel(std::unique_ptr<LoadedModel> model);

  const LoadedModel& loaded() const { return *model_; }
  const tokenizer::Tokenizer& tokenizer() const { return *model_->tokenizer; }
  const chat::ChatPrompt& chat_prompt() const { return prompt_; }
  // kNone when the template shows no tool-call markers.
  chat::ToolCallFormat tool_format() const { return tool_format_; }
  bool reasons() const { return reasons_; }

  // Byte strings of every token as grammar masks see them: text pieces, byte tokens and
  // user-defined tokens (e.g. <tool_call>); control tokens are left out (empty), so a grammar
  // never lets a model emit <|im_end|> inside a JSON string. Thread-safe, built once.
  const chat::TokenTrie& token_trie() const;
  const std::vector<std::string>& token_bytes() const;

 private:
  void build_trie() const;

  std::unique_ptr<LoadedModel> model_;
  chat::ChatPrompt prompt_;
  chat::ToolCallFormat tool_format_;
  bool reasons_;
  mutable std::once_flag trie_once_;
  mutable std::vector<std::string> token_bytes_;
  mutable std::unique_ptr<chat::TokenTrie> trie_;
};

}  // namespace tandem::runtime
