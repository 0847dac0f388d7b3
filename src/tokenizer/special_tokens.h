#pragma once
// Splits text around special tokens before segmentation: at every position the longest special
// token text that starts there wins (leftmost-longest, as Hugging Face's added-token matcher).
// User-defined tokens are always matched; control and unknown tokens only when parsing specials
// is asked for, otherwise their text is ordinary text.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace tandem::tokenizer {

struct Fragment {
  std::string_view text;      // the raw text (for a special token: its text)
  int32_t token = kNoToken;   // a special token id, or kNoToken for text still to segment
  bool is_special() const { return token != kNoToken; }
};

class SpecialTokenMatcher {
 public:
  SpecialTokenMatcher() = default;
  explicit SpecialTokenMatcher(const Vocab& vocab);

  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;

 private:
  struct Candidate {
    std::string_view text;  // points into the Vocab's token strings
    int32_t id;
    bool always;            // user-defined: matched even without parse_special
  };
  // Candidates by first byte, longest first.
  std::array<std::vector<Candidate>, 256> by_first_byte_;
};

}  // namespace tandem::tokenizer
