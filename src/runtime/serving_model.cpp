#include "runtime/serving_model.h"

#include "chat/reasoning.h"

namespace tandem::runtime {

ServingModel::ServingModel(std::unique_ptr<LoadedModel> model)
    : model_(std::move(model)),
      prompt_(chat::ChatPrompt::from_gguf(*model_->file)),
      tool_format_(prompt_.is_default() ? chat::ToolCallFormat::kNone
                                        : chat::detect_tool_call_format(prompt_.source())),
      reasons_(!prompt_.is_default() && chat::template_uses_reasoning(prompt_.source())) {}

void ServingModel::build_trie() const {
  const auto& tok = *model_->tokenizer;
  token_bytes_.resize(static_cast<size_t>(tok.n_vocab()));
  for (int32_t id = 0; id < tok.n_vocab(); ++id) {
    if (tok.is_control(id)) continue;
    token_bytes_[static_cast<size_t>(id)] = tok.token_piece(id);
  }
  trie_ = std::make_unique<chat::TokenTrie>(token_bytes_);
}

const chat::TokenTrie& ServingModel::token_trie() const {
  std::call_once(trie_once_, [this] { build_trie(); });
  return *trie_;
}

const std::vector<std::string>& ServingModel::token_bytes() const {
  std::call_once(trie_once_, [this] { build_trie(); });
  return token_bytes_;
}

}  // namespace tandem::runtime
