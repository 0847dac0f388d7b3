#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace tandem::tokenizer {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) {
  for (int32_t id : vocab.special_ids) {
    const std::string_view text = vocab.text(id);
    if (text.empty()) continue;
    const auto first = static_cast<unsigned char>(text[0]);
    by_first_byte_[first].push_back({text, id, vocab.type(id) == TokenType::UserDefined});
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [](const Candidate& a, const Candidate& b) { return a.text.size() > b.text.size(); });
  }
}

std::vector<Fragment> SpecialTokenMatcher::partition(std::string_view text, bool parse_special) const {
  std::vector<Fragment> fragments;
  size_t text_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const Candidate* hit = nullptr;
    for (const Candidate& c : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      if (!parse_special && !c.always) continue;
      if (text.compare(pos, c.text.size(), c.text) == 0) {
        hit = &c;
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    if (pos > text_start) fragments.push_back({text.substr(text_start, pos - text_start), kNoToken});
    fragments.push_back({hit->text, hit->id});
    pos += hit->text.size();
    text_start = pos;
  }
  if (text_start < text.size()) fragments.push_back({text.substr(text_start), kNoToken});
  return fragments;
}

}  // namespace tandem::tokenizer
