#include "chat/grammar_matcher.h"

#include <algorithm>
#include <string>

#include "util/error.h"

namespace tandem::chat {

namespace {

// The code points a partial UTF-8 sequence can still complete to, or false if none are valid
// (overlong forms, surrogates, beyond U+10FFFF).
bool partial_range(uint32_t bits, int remaining, int length, uint32_t& lo, uint32_t& hi) {
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

}  // namespace

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar, MatcherLimits limits)
    : grammar_(std::move(grammar)), limits_(limits) {
  if (!grammar_) throw InvalidArgument("GrammarMatcher needs a grammar");
  reset();
}

void GrammarMatcher::reset() {
  nodes_.clear();
  node_index_.clear();
  state_ = State{};
  for (uint32_t alt : grammar_->rule_alternatives[grammar_->root]) {
    settle(alt, kEmptyStack, state_.stacks);
  }
  dedupe(state_.stacks);
}

uint32_t GrammarMatcher::make_node(uint32_t pos, uint32_t parent) {
  uint32_t depth = parent == kEmptyStack ? 1 : nodes_[parent].depth + 1;
  if (scratch_mode_) {
    nodes_.push_back({pos, parent, depth});
    return static_cast<uint32_t>(nodes_.size() - 1);
  }
  uint64_t key = (uint64_t{pos} << 32) | parent;
  auto [it, inserted] = node_index_.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
  if (inserted) nodes_.push_back({pos, parent, depth});
  return it->second;
}

// Expands the position `pos` (with continuation stack `parent`) until every resulting stack has
// a character class on top, or is empty (the grammar is complete).
void GrammarMatcher::settle(uint32_t pos, uint32_t parent, std::vector<uint32_t>& out) {
  const std::vector<Element>& elements = grammar_->elements;
  for (;;) {
    const Element& e = elements[pos];
    if (e.kind == ElementKind::kEnd) {  // rule finished: resume the continuation below
      if (parent == kEmptyStack) {
        out.push_back(kEmptyStack);
        return;
      }
      const Node n = nodes_[parent];
      pos = n.pos;
      parent = n.parent;
      continue;
    }
    uint32_t parent_depth = parent == kEmptyStack ? 0 : nodes_[parent].depth;
    if (parent_depth >= limits_.max_depth) return;  // too deep: not allowed
    if (e.kind == ElementKind::kChar) {
      out.push_back(make_node(pos, parent));
      if (out.size() > 4 * limits_.max_stacks) {
        throw InvalidArgument("grammar is too ambiguous: more than " +
                              std::to_string(limits_.max_stacks) + " parse stacks");
      }
      return;
    }
    // Rule reference: push the continuation (unless the reference ends its alternative, a tail
    // call, which keeps right-recursive repetitions from growing the stack) and expand each
    // alternative of the referenced rule.
    uint32_t next_parent =
        elements[pos + 1].kind == ElementKind::kEnd ? parent : make_node(pos + 1, parent);
    const auto& alternatives = grammar_->rule_alternatives[e.value];
    for (size_t i = 0; i + 1 < alternatives.size(); ++i) settle(alternatives[i], next_parent, out);
    pos = alternatives.back();
    parent = next_parent;
  }
}

void GrammarMatcher::dedupe(std::vector<uint32_t>& stacks) const {
  auto key = [&](uint32_t s) {
    return s == kEmptyStack ? ~uint64_t{0} : (uint64_t{nodes_[s].pos} << 32) | nodes_[s].parent;
  };
  std::sort(stacks.begin(), stacks.end(),
            [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
  stacks.erase(std::unique(stacks.begin(), stacks.end(),
                           [&](uint32_t a, uint32_t b) { return key(a) == key(b); }),
               stacks.end());
  if (stacks.size() > limits_.max_stacks) {
    throw InvalidArgument("grammar is too ambiguous: more than " +
                          std::to_string(limits_.max_stacks) + " parse stacks");
  }
}

void GrammarMatcher::advance(const std::vector<uint32_t>& in, uint32_t cp,
                             std::vector<uint32_t>& out) {
  out.clear();
  for (uint32_t s : in) {
    if (s == kEmptyStack) continue;
    const Node n = nodes_[s];
    if (grammar_->classes[grammar_->elements[n.pos].value].contains(cp)) {
      settle(n.pos + 1, n.parent, out);
    }
  }
  dedupe(out);
}

bool GrammarMatcher::step(const State& in, unsigned char byte, State& out) {
  Partial p = in.partial;
  if (p.remaining == 0) {
    if (byte < 0x80) {
      out.partial = {};
      advance(in.stacks, byte, out.stacks);
      return !out.stacks.empty();
    }
    int length = byte >= 0xC2 && byte <= 0xDF ? 2 : byte >= 0xE0 && byte <= 0xEF ? 3
                 : byte >= 0xF0 && byte <= 0xF4                                 ? 4
                                                                                 : 0;
    if (length == 0) return false;
    p = {static_cast<uint32_t>(byte & (0x7F >> length)), static_cast<uint8_t>(length - 1),
         static_cast<uint8_t>(length)};
  } else {
    if ((byte & 0xC0) != 0x80) return false;
    p.bits = (p.bits << 6) | (byte & 0x3F);
    --p.remaining;
  }
  uint32_t lo = 0, hi = 0;
  if (!partial_range(p.bits, p.remaining, p.length, lo, hi)) return false;
  if (p.remaining == 0) {
    out.partial = {};
    advance(in.stacks, p.bits, out.stacks);
    return !out.stacks.empty();
  }
  // Mid-character: keep the stacks whose class admits some completion of this prefix.
  out.partial = p;
  out.stacks.clear();
  for (uint32_t s : in.stacks) {
    if (s == kEmptyStack) continue;
    if (grammar_->classes[grammar_->elements[nodes_[s].pos].value].intersects(lo, hi)) {
      out.stacks.push_back(s);
    }
  }
  return !out.stacks.empty();
}

bool GrammarMatcher::accept(std::string_view bytes) {
  State current = state_;
  State next;
  for (char c : bytes) {
    if (!step(current, static_cast<unsigned char>(c), next)) return false;
    std::swap(current, next);
  }
  state_ = std::move(current);
  if (nodes_.size() > limits_.compact_above) compact();
  return true;
}

bool GrammarMatcher::can_finish() const {
  return state_.partial.remaining == 0 && !state_.stacks.empty() &&
         state_.stacks.back() == kEmptyStack;  // dedupe sorts the empty stack last
}

bool GrammarMatcher::must_finish() const {
  return can_finish() && state_.stacks.size() == 1;
}

void GrammarMatcher::allowed_tokens(const TokenTrie& trie, std::span<const int32_t> eog_tokens,
                                    std::vector<bool>& mask) {
  mask.assign(trie.vocab_size(), false);
  if (levels_.size() < trie.max_depth() + 2) levels_.resize(trie.max_depth() + 2);
  levels_[0] = state_;
  size_t persistent = nodes_.size();
  scratch_mode_ = true;
  try {
    walk(trie, trie.nodes()[0], 0, mask);
  } catch (...) {
    scratch_mode_ = false;
    nodes_.resize(persistent);
    throw;
  }
  scratch_mode_ = false;
  nodes_.resize(persistent);
  bool finish = can_finish();
  for (int32_t id : eog_tokens) {
    if (id >= 0 && static_cast<size_t>(id) < mask.size()) mask[id] = finish;
  }
}

void GrammarMatcher::walk(const TokenTrie& trie, const TokenTrie::Node& node, size_t depth,
                          std::vector<bool>& mask) {
  const auto& nodes = trie.nodes();
  for (uint32_t c = 0; c < node.child_count; ++c) {
    const TokenTrie::Node& child = nodes[node.first_child + c];
    size_t mark = nodes_.size();
    if (step(levels_[depth], child.byte, levels_[depth + 1])) {
      for (int32_t id : trie.tokens(child)) mask[id] = true;
      if (child.child_count > 0) walk(trie, child, depth + 1, mask);
    }
    nodes_.resize(mark);  // the subtree's scratch nodes are no longer referenced
  }
}

// Rebuilds the node pool with only the nodes the live stacks reach, so a long generation does
// not grow it without bound.
void GrammarMatcher::compact() {
  std::vector<Node> old = std::move(nodes_);
  nodes_.clear();
  node_index_.clear();
  std::unordered_map<uint32_t, uint32_t> remap;
  std::vector<uint32_t> chain;
  for (uint32_t& s : state_.stacks) {
    if (s == kEmptyStack) continue;
    chain.clear();
    uint32_t cur = s;
    while (cur != kEmptyStack && !remap.count(cur)) {
      chain.push_back(cur);
      cur = old[cur].parent;
    }
    uint32_t parent = cur == kEmptyStack ? kEmptyStack : remap[cur];
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      parent = make_node(old[*it].pos, parent);
      remap[*it] = parent;
    }
    s = remap[s];
  }
  dedupe(state_.stacks);
}

}  // namespace tandem::chat
