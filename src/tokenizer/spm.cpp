#include "tokenizer/spm.h"

#include <queue>

#include "tokenizer/utf8.h"

namespace tandem::tokenizer {

namespace {

struct Symbol {
  size_t start;  // byte range in the text; symbols stay contiguous, so a pair is a substring
  size_t length;
  int prev;
  int next;
};

struct Candidate {
  float score;
  int left;
  int right;
  size_t length;  // combined length when queued; a mismatch later means the entry is stale
};

struct LowerPriority {
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.score != b.score) return a.score < b.score;
    return a.left > b.left;
  }
};

// Only pieces a SentencePiece model can produce by merging: not byte, control or unknown tokens.
bool mergeable(TokenType t) {
  return t == TokenType::Normal || t == TokenType::UserDefined || t == TokenType::Unused ||
         t == TokenType::Undefined;
}

}  // namespace

void encode_sentencepiece(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
  if (text.empty()) return;
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = std::min(utf8::sequence_length(static_cast<unsigned char>(text[pos])), text.size() - pos);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({pos, len, index - 1, index + 1});
    pos += len;
  }
  symbols.back().next = -1;

  std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    const Symbol& r = symbols[static_cast<size_t>(right)];
    const std::string_view joined = text.substr(l.start, l.length + r.length);
    const int32_t id = vocab.find(joined);
    if (id == kNoToken || !mergeable(vocab.type(id))) return;
    queue.push({vocab.tokens[static_cast<size_t>(id)].score, left, right, joined.size()});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_pair(static_cast<int>(i - 1), static_cast<int>(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = symbols[static_cast<size_t>(c.left)];
    Symbol& r = symbols[static_cast<size_t>(c.right)];
    if (l.length == 0 || r.length == 0 || l.next != c.right || l.length + r.length != c.length) continue;
    l.length += r.length;
    r.length = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = c.left;
    try_pair(l.prev, c.left);
    try_pair(c.left, l.next);
  }

  for (int i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    const Symbol& s = symbols[static_cast<size_t>(i)];
    const std::string_view piece = text.substr(s.start, s.length);
    const int32_t id = vocab.find(piece);
    if (id != kNoToken && mergeable(vocab.type(id))) {
      out.push_back(id);
      continue;
    }
    // No piece for this character: spell it as bytes, or one <unk> when byte tokens are missing.
    bool all_bytes = true;
    for (char c : piece) all_bytes = all_bytes && vocab.byte_tokens[static_cast<unsigned char>(c)] != kNoToken;
    if (all_bytes) {
      for (char c : piece) out.push_back(vocab.byte_tokens[static_cast<unsigned char>(c)]);
    } else if (vocab.special.unk != kNoToken) {
      out.push_back(vocab.special.unk);
    }
  }
}

}  // namespace tandem::tokenizer
