#pragma once
// SentencePiece-style BPE ("llama" vocabularies): start from single characters and repeatedly
// merge the adjacent pair whose concatenation is the highest-scoring vocabulary piece (ties:
// leftmost first). Characters left without a piece fall back to <0xXX> byte tokens.
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace tandem::tokenizer {

// Segments `text`, whose spaces are already escaped as U+2581, appending ids to `out`.
void encode_sentencepiece(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

}  // namespace tandem::tokenizer
