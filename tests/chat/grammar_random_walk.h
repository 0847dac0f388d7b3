#pragma once
// Test helper: a simulated "model" that generates text by picking random tokens the grammar
// mask allows, from a toy vocabulary of single characters and multi-character tokens.
#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "chat/grammar_matcher.h"

namespace tandem::chat::testing {

// Single printable ASCII characters, whitespace, a few multi-byte characters (whole and split
// into bytes), every non-ASCII byte alone, and multi-character tokens typical of JSON. The last id is end-of-generation
// (empty string, so only the EOG rule can allow it). `extra` adds schema-specific words.
inline std::vector<std::string> toy_vocab(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> v;
  for (char c = 32; c < 127; ++c) v.emplace_back(1, c);
  for (const char* t : {"\n", "\t", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xC3",
                        "\xA9", "\xE4\xB8", "\xAD", "{\"", "\":", "\": ", "\", \"", "\",\"",
                        "true", "false", "null", "},", "[{", "}]", "123", "0.5", "-1", "e+",
                        "E-", "\\n", "\\u00e9", "\\\"", "\":\"", "\"}", "  ", "\n  ", "00",
                        "name", "value", "\"name\"", "1.", ".0", "\\ud83d"}) {
    v.emplace_back(t);
  }
  // Byte-fallback tokens, so every UTF-8 character can be spelled (as real vocabularies can).
  for (int b = 0x80; b <= 0xF4; ++b) v.emplace_back(1, static_cast<char>(b));
  for (const std::string& e : extra) v.push_back(e);
  v.emplace_back();  // EOG
  return v;
}

struct WalkResult {
  std::string text;
  bool finished = false;
};

// Walks until EOG is chosen. Past `soft_limit` tokens it steers toward closing the output
// (prefers EOG, then closing quotes/brackets, avoids opening new structures); gives up at
// `hard_limit` tokens (finished = false).
inline WalkResult random_walk(const std::shared_ptr<const Grammar>& grammar,
                              const std::vector<std::string>& vocab, const TokenTrie& trie,
                              std::mt19937_64& rng, size_t soft_limit = 60,
                              size_t hard_limit = 3000) {
  GrammarMatcher matcher(grammar);
  int32_t eog = static_cast<int32_t>(vocab.size() - 1);
  std::vector<int32_t> eogs{eog};
  std::vector<bool> mask;
  WalkResult result;
  for (size_t step = 0; step < hard_limit; ++step) {
    matcher.allowed_tokens(trie, eogs, mask);
    std::vector<int32_t> allowed;
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i]) allowed.push_back(static_cast<int32_t>(i));
    }
    if (allowed.empty()) return result;  // dead end: a matcher bug; the caller's check fails
    int32_t pick = allowed[rng() % allowed.size()];
    if (mask[eog] && (step >= soft_limit || rng() % 8 == 0)) pick = eog;
    if (step >= soft_limit && pick != eog) {
      std::vector<int32_t> closing, calm;
      for (int32_t id : allowed) {
        const std::string& t = vocab[id];
        if (t == "\"" || t == "}" || t == "]" || t == "\"}" || t == "}]") closing.push_back(id);
        if (t.find_first_of("{[") == std::string::npos) calm.push_back(id);
      }
      if (!closing.empty() && rng() % 2 == 0) {
        pick = closing[rng() % closing.size()];
      } else if (!calm.empty()) {
        pick = calm[rng() % calm.size()];
      }
    }
    if (pick == eog) {
      result.finished = true;
      return result;
    }
    if (!matcher.accept(vocab[pick])) return result;  // mask allowed what accept refuses: bug
    result.text += vocab[pick];
  }
  return result;
}

// Whole-string check: the grammar accepts exactly `text`.
inline bool grammar_accepts(const std::shared_ptr<const Grammar>& grammar, const std::string& text) {
  GrammarMatcher matcher(grammar);
  return matcher.accept(text) && matcher.can_finish();
}

}  // namespace tandem::chat::testing
