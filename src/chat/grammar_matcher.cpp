#include "chat/grammar_matcher.h"

#include <algorithm>
#include <string>

#include "util/error.h"

namespace tandem::chat {

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar, MatcherLimits limits)
    : grammar_(std::move(grammar)), limits_(limits), cache_(limits.mask_cache_entries) {
  if (!grammar_) throw InvalidArgument("GrammarMatcher needs a grammar");
  reset();
}

void GrammarMatcher::reset() {
  nodes_.clear();
  node_index_.clear();
  cache_.clear();  // its keys are node ids
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
  Utf8Partial p = in.partial;
  uint32_t lo = 0, hi = 0;
  Utf8Step decoded = utf8_step(p, byte, lo, hi);
  if (decoded == Utf8Step::kInvalid) return false;
  if (decoded == Utf8Step::kComplete) {
    out.partial = {};
    advance(in.stacks, lo, out.stacks);
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

// Rebuilds the node pool with only the nodes the live stacks reach, so a long generation does
// not grow it without bound.
void GrammarMatcher::compact() {
  std::vector<Node> old = std::move(nodes_);
  nodes_.clear();
  node_index_.clear();
  cache_.clear();  // its keys are the old node ids
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
