#include "tokenizer/utf8.h"

namespace tandem::tokenizer::utf8 {

size_t sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode(uint32_t cp) {
  std::string s;
  append(s, cp);
  return s;
}

static bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

Decoded decode(std::string_view s, size_t pos) {
  const auto lead = static_cast<uint8_t>(s[pos]);
  const size_t len = sequence_length(lead);
  if (len == 1) {
    if (lead < 0x80) return {lead, 1, true};
    return {kReplacementChar, 1, false};
  }
  if (pos + len > s.size()) return {kReplacementChar, 1, false};
  uint32_t cp = lead & (0x7F >> len);
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<uint8_t>(s[pos + i]);
    if (!is_continuation(b)) return {kReplacementChar, 1, false};
    cp = (cp << 6) | (b & 0x3F);
  }
  // Reject overlong encodings, surrogates and values beyond U+10FFFF.
  static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return {kReplacementChar, 1, false};
  return {cp, len, true};
}

size_t incomplete_tail(std::string_view s) {
  // A sequence is at most 4 bytes, so an unfinished one starts within the last 3 bytes.
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto b = static_cast<uint8_t>(s[n - back]);
    if (is_continuation(b)) continue;
    const size_t len = sequence_length(b);
    return (len > back) ? back : 0;
  }
  return 0;
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const Decoded d = decode(s, pos);
    if (d.valid) {
      out.append(s.substr(pos, d.length));
    } else {
      append(out, kReplacementChar);
    }
    pos += d.length;
  }
  return out;
}

}  // namespace tandem::tokenizer::utf8
