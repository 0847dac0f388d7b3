#pragma once
// Regex pre-tokenization for byte-level BPE: the text is cut into words by a sequence of PCRE2
// patterns (UTF-8 + Unicode properties, JIT-compiled when available). Each pattern is applied to
// every piece the previous one produced and keeps both the matches and the text between them,
// which is Hugging Face's `Split(..., behavior = Isolated)`; a single pattern is exactly the
// `ByteLevel(use_regex = true)` split. Lookaheads such as `\s+(?!\S)` backtrack as in Hugging Face.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::tokenizer {

class PreTokenizer {
 public:
  // Compiles the patterns; throws InvalidArgument quoting PCRE2's message for a bad pattern.
  explicit PreTokenizer(const std::vector<std::string_view>& patterns);
  PreTokenizer(const PreTokenizer&) = default;
  PreTokenizer& operator=(const PreTokenizer&) = default;
  PreTokenizer(PreTokenizer&&) noexcept = default;
  PreTokenizer& operator=(PreTokenizer&&) noexcept = default;
  ~PreTokenizer();

  // Splits `text` into consecutive non-empty pieces that concatenate back to `text`. Bytes that
  // are not valid UTF-8 become pieces of their own (byte-level BPE can still encode them).
  // Safe to call from several threads at once.
  std::vector<std::string_view> split(std::string_view text) const;

  size_t pattern_count() const;

 private:
  struct Pattern;
  std::shared_ptr<const std::vector<Pattern>> patterns_;
};

}  // namespace tandem::tokenizer
