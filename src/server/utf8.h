#pragma once
// Responses must be valid UTF-8 even when a model emits a lone byte or a token boundary splits
// a character: a JSON encoder that meets invalid UTF-8 either throws or writes text that
// clients reject. These helpers repair text before it is put into JSON.
#include <string>
#include <string_view>

namespace tandem::server {

// Every invalid or truncated byte sequence becomes U+FFFD.
std::string sanitize_utf8(std::string_view text);

// For streamed text: an unfinished character at the end of one piece is held back and joined
// with the next piece instead of being replaced.
class Utf8Stitcher {
 public:
  std::string push(std::string_view piece);
  std::string flush();  // the held-back bytes, replaced by U+FFFD
  bool empty() const { return pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace tandem::server
