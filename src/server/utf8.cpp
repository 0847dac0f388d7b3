#include "server/utf8.h"

#include <cstdint>

namespace tandem::server {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the UTF-8 sequence starting with `lead`, or 0 when `lead` cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // continuation byte, overlong lead (C0, C1) or beyond U+10FFFF (F5..FF)
}

// Whether byte `k` (1-based) of a sequence led by `lead` may be `b`. The second byte has
// narrower ranges that rule out overlongs, surrogates and code points above U+10FFFF.
bool valid_continuation(unsigned char lead, int k, unsigned char b) {
  if (k == 1) {
    if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
    if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
    if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
    if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
  }
  return b >= 0x80 && b <= 0xBF;
}

// Appends the valid part of `text` to `out`; invalid bytes become U+FFFD. Returns the number
// of trailing bytes that form an unfinished (but so far valid) sequence when `keep_tail`.
std::size_t repair(std::string_view text, std::string& out, bool keep_tail) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int len = sequence_length(lead);
    if (len == 1) {
      out.push_back(static_cast<char>(lead));
      ++i;
      continue;
    }
    if (len == 0) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    int k = 1;
    while (k < len && i + k < text.size() &&
           valid_continuation(lead, k, static_cast<unsigned char>(text[i + k]))) {
      ++k;
    }
    if (k == len) {
      out.append(text.substr(i, len));
      i += len;
    } else if (i + k == text.size() && keep_tail) {
      return text.size() - i;  // ran out of input mid-character: wait for more
    } else {
      out.append(kReplacement);
      i += k;  // the maximal valid prefix is replaced by one U+FFFD
    }
  }
  return 0;
}

}  // namespace

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  repair(text, out, false);
  return out;
}

std::string Utf8Stitcher::push(std::string_view piece) {
  std::string joined = std::move(pending_);
  joined.append(piece);
  std::string out;
  out.reserve(joined.size());
  const std::size_t tail = repair(joined, out, true);
  pending_ = joined.substr(joined.size() - tail);
  return out;
}

std::string Utf8Stitcher::flush() {
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace tandem::server
