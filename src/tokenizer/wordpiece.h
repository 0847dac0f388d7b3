#pragma once
// WordPiece ("bert" vocabularies, as converted to GGUF: word-initial pieces carry a U+2581
// prefix, continuation pieces carry none). The text is normalized as BERT's BasicTokenizer does
// (control characters dropped, optional lowercasing and accent stripping, CJK characters and
// punctuation split off), then each word is cut greedily into the longest known pieces; a word
// that cannot be cut completely becomes [UNK].
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace tandem::tokenizer {

void encode_wordpiece(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

}  // namespace tandem::tokenizer
