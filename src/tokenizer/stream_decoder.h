#pragma once
// Incremental detokenization for streaming: tokens arrive one at a time, but a character may be
// spread over several byte tokens. push() returns only complete UTF-8 characters and keeps an
// unfinished sequence until the tokens that complete it arrive; flush() ends the stream.
#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace tandem::tokenizer {

class StreamDecoder {
 public:
  // The tokenizer must outlive the decoder.
  explicit StreamDecoder(const Tokenizer& tokenizer, DecodeOptions options = {});

  // Text completed by this token (possibly empty). Invalid byte sequences come out as U+FFFD so
  // the result is always valid UTF-8. Throws InvalidArgument for an id outside the vocabulary.
  std::string push(int32_t id);
  // Whatever is still buffered, with an unfinished sequence replaced by U+FFFD; resets the state.
  std::string flush();

  // Bytes held back waiting for the rest of a character.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer& tokenizer_;
  DecodeOptions options_;
  std::string pending_;
  bool at_text_start_ = true;
};

}  // namespace tandem::tokenizer
