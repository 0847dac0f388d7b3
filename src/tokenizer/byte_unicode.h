#pragma once
// GPT-2's reversible byte <-> printable-character mapping used by byte-level BPE vocabularies:
// printable Latin-1 bytes stand for themselves, the other 68 bytes are shifted to U+0100.. so
// every vocabulary string is printable text.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::tokenizer {

// The UTF-8 text of the character that stands for byte `b`.
const std::string& byte_to_unicode(uint8_t b);

// The byte a code point stands for, or nullopt if it is not one of the 256 mapped characters.
std::optional<uint8_t> unicode_to_byte(uint32_t cp);

// Maps raw bytes to their byte-level text (what merges and vocab entries are written in).
std::string bytes_to_unicode_text(std::string_view bytes);

// Inverse of bytes_to_unicode_text. Characters outside the mapping (which a well-formed
// vocabulary never contains) are copied through unchanged.
std::string unicode_text_to_bytes(std::string_view text);

}  // namespace tandem::tokenizer
