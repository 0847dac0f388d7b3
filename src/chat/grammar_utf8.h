#pragma once
// Byte-at-a-time UTF-8 decoding shared by the grammar matcher (which must accept characters split
// across tokens) and the token trie (which precomputes which subtrees are well-formed UTF-8), so
// both apply exactly the same rules: no overlong forms, no surrogates, nothing above U+10FFFF.
#include <algorithm>
#include <cstdint>

namespace tandem::chat {

// A UTF-8 character begun but not finished (remaining == 0: at a character boundary).
struct Utf8Partial {
  uint32_t bits = 0;  // decoded so far
  uint8_t remaining = 0;
  uint8_t length = 0;

  bool operator==(const Utf8Partial&) const = default;
};

enum class Utf8Step : uint8_t { kInvalid, kPartial, kComplete };

// The code points a partial sequence can still complete to, or false if none are valid.
inline bool utf8_partial_range(uint32_t bits, int remaining, int length, uint32_t& lo,
                               uint32_t& hi) {
  static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
  uint32_t shift = 6u * static_cast<uint32_t>(remaining);
  lo = std::max(bits << shift, kMinForLength[length]);
  hi = std::min((bits << shift) | ((1u << shift) - 1), 0x10FFFFu);
  if (lo <= 0xDFFF && hi >= 0xD800) {  // skip the surrogate block
    if (lo >= 0xD800) lo = 0xE000;
    else hi = std::min(hi, 0xD7FFu);
  }
  return lo <= hi;
}

// Feeds one byte. kComplete: lo == hi == the code point and `p` is back at a boundary.
// kPartial: [lo, hi] is the range of code points the sequence can still become.
// kInvalid: `p` is unspecified.
inline Utf8Step utf8_step(Utf8Partial& p, unsigned char byte, uint32_t& lo, uint32_t& hi) {
  if (p.remaining == 0) {
    if (byte < 0x80) {
      lo = hi = byte;
      return Utf8Step::kComplete;
    }
    int length = byte >= 0xC2 && byte <= 0xDF ? 2 : byte >= 0xE0 && byte <= 0xEF ? 3
                 : byte >= 0xF0 && byte <= 0xF4                                 ? 4
                                                                                 : 0;
    if (length == 0) return Utf8Step::kInvalid;
    p = {static_cast<uint32_t>(byte & (0x7F >> length)), static_cast<uint8_t>(length - 1),
         static_cast<uint8_t>(length)};
  } else {
    if ((byte & 0xC0) != 0x80) return Utf8Step::kInvalid;
    p.bits = (p.bits << 6) | (byte & 0x3F);
    --p.remaining;
  }
  if (!utf8_partial_range(p.bits, p.remaining, p.length, lo, hi)) return Utf8Step::kInvalid;
  if (p.remaining > 0) return Utf8Step::kPartial;
  p = {};
  return Utf8Step::kComplete;
}

}  // namespace tandem::chat
