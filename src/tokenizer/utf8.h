#pragma once
// Small UTF-8 helpers shared by the tokenizers and the streaming decoder. Invalid input never
// throws here: callers decide whether to pass bytes through or replace them with U+FFFD.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::tokenizer::utf8 {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Length of the sequence a lead byte announces; 1 for continuation or invalid lead bytes so a
// scanner always advances.
size_t sequence_length(uint8_t lead);

// Appends the UTF-8 encoding of `cp` (which must be <= 0x10FFFF) to `out`.
void append(std::string& out, uint32_t cp);
std::string encode(uint32_t cp);

struct Decoded {
  uint32_t cp;    // kReplacementChar when the bytes at the position are not valid UTF-8
  size_t length;  // bytes consumed, >= 1
  bool valid;
};
// Decodes the code point starting at s[pos] (pos < s.size()).
Decoded decode(std::string_view s, size_t pos);

// Number of bytes at the end of `s` that start a valid UTF-8 sequence which is not finished
// yet (0..3). A streaming decoder keeps these bytes until the next token completes them.
size_t incomplete_tail(std::string_view s);

// Copy of `s` with every invalid byte sequence replaced by U+FFFD.
std::string sanitize(std::string_view s);

}  // namespace tandem::tokenizer::utf8
