#include "tokenizer/stream_decoder.h"

#include "tokenizer/utf8.h"

namespace tandem::tokenizer {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, DecodeOptions options)
    : tokenizer_(tokenizer), options_(options) {}

std::string StreamDecoder::push(int32_t id) {
  // Decoding the token together with the previous one's "start of text" state gives exactly the
  // bytes decode() would append for it.
  const std::string piece = tokenizer_.token_piece(id);
  const bool special = tokenizer_.is_special(id);
  if (special) {
    if (!(options_.skip_special && tokenizer_.is_control(id))) pending_ += piece;
    at_text_start_ = true;
  } else {
    const int32_t one[] = {id};
    DecodeOptions single = options_;
    single.strip_space_prefix = options_.strip_space_prefix && at_text_start_;
    pending_ += tokenizer_.decode(one, single);
    at_text_start_ = false;
  }

  const size_t keep = utf8::incomplete_tail(pending_);
  std::string ready = utf8::sanitize(std::string_view(pending_).substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest = utf8::sanitize(pending_);
  pending_.clear();
  at_text_start_ = true;
  return rest;
}

}  // namespace tandem::tokenizer
