// GrammarMatcher::allowed_tokens: the token mask, exact and cheap enough for 150k vocabularies.
//
// The mask walks the token trie, stepping the matcher state byte by byte and pruning a subtree at
// the first byte the grammar refuses. What makes it cheap is the chain X_0, X_1, ... that the
// starting state X_0 follows on its common characters: L_i is the set of code points c with
// advance(X_i, c) == X_{i+1}. Inside a JSON string the chain is one state looping on everything
// but `"`, `\` and control characters; inside a string with maxLength it counts down. While the
// walk has consumed only chain characters (tracked by a level number and the UTF-8 decoder state,
// without touching any stacks), the state at a node is known, and a node whose bytes below are
// well-formed UTF-8 in buckets every level they can reach admits has its whole subtree allowed
// without visiting it. Only subtrees holding other bytes are stepped for real; a stepped state
// equal to the next chain state (after an escape such as `\"`) goes back to the chain.
//
// The walk records the subtrees it rejects (contiguous runs of trie token ids, in order), so the
// mask is written from whichever side is smaller: set the allowed ids, or clear the rejected ones.
// Masks are memoized by state (MaskCache). The chain is exact (built with the matcher's own
// advance), so every shortcut gives the same mask as stepping every token.
#include <algorithm>

#include "chat/grammar_matcher.h"
#include "util/error.h"

namespace tandem::chat {

void GrammarMatcher::allowed_tokens(const TokenTrie& trie, std::span<const int32_t> eog_tokens,
                                    std::vector<bool>& mask) {
  if (const std::vector<bool>* cached = cache_.find(trie.id(), state_.stacks, state_.partial)) {
    mask = *cached;
  } else {
    compute_mask(trie, mask);
    cache_.insert(trie.id(), state_.stacks, state_.partial, mask);
  }
  bool finish = can_finish();
  for (int32_t id : eog_tokens) {
    if (id >= 0 && static_cast<size_t>(id) < mask.size()) mask[id] = finish;
  }
}

void GrammarMatcher::compute_mask(const TokenTrie& trie, std::vector<bool>& mask) {
  if (levels_.size() < trie.max_depth() + 2) levels_.resize(trie.max_depth() + 2);
  levels_[0] = state_;
  trie_ = &trie;
  rejected_.clear();
  const size_t persistent = nodes_.size();
  scratch_mode_ = true;
  try {
    build_chain(trie.max_depth() + 1);
    const TokenTrie::Node& root = trie.nodes()[0];
    if (!chain_.empty()) enter_chain(root, 0, 0, {});
    else if (root.child_count > 0) walk_stepping(root, 0, kNoLevel);
  } catch (...) {
    scratch_mode_ = false;
    nodes_.resize(persistent);
    throw;
  }
  scratch_mode_ = false;
  nodes_.resize(persistent);
  chain_.clear();  // its states used the scratch nodes just dropped

  const std::vector<int32_t>& ids = trie.token_ids();
  size_t rejected_count = 0;
  for (const auto& [begin, end] : rejected_) rejected_count += end - begin;
  if (ids.size() - rejected_count < rejected_count) {  // mostly refused: set the allowed ids
    mask.assign(trie.vocab_size(), false);
    uint32_t next = 0;
    for (const auto& [begin, end] : rejected_) {
      for (uint32_t i = next; i < begin; ++i) mask[ids[i]] = true;
      next = end;
    }
    for (size_t i = next; i < ids.size(); ++i) mask[ids[i]] = true;
  } else {  // mostly allowed: clear the refused ids and the tokens left out of the trie
    mask.assign(trie.vocab_size(), true);
    for (const auto& [begin, end] : rejected_) {
      for (uint32_t i = begin; i < end; ++i) mask[ids[i]] = false;
    }
    for (int32_t id : trie.excluded_ids()) mask[id] = false;
  }
}

void GrammarMatcher::reject(const TokenTrie::Node& node) {
  if (node.subtree_end > node.first_token) {
    rejected_.push_back({node.first_token, node.subtree_end});
  }
}

// Structural equality of two stacks (pool ids differ between scratch and persistent copies).
bool GrammarMatcher::same_stack(uint32_t a, uint32_t b) const {
  while (a != b) {
    if (a == kEmptyStack || b == kEmptyStack || nodes_[a].pos != nodes_[b].pos) return false;
    a = nodes_[a].parent;
    b = nodes_[b].parent;
  }
  return true;
}

// Element-wise; both are sorted by (position, parent id), so equal sets listed in a different
// order (ties broken by ids) compare unequal. That only costs a missed shortcut, never exactness.
bool GrammarMatcher::same_stacks(const std::vector<uint32_t>& a,
                                 const std::vector<uint32_t>& b) const {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same_stack(a[i], b[i])) return false;
  }
  return true;
}

// The signature of every ASCII code point and of one code point per non-ASCII interval on which
// all signatures are constant, for the classes on top of `stacks`. Kept while the classes stay
// the same (along a bounded repetition every level has the same ones).
void GrammarMatcher::update_signatures(const std::vector<uint32_t>& stacks) {
  std::vector<uint32_t> class_ids;
  for (uint32_t s : stacks) {
    class_ids.push_back(s == kEmptyStack ? kNoClass : grammar_->elements[nodes_[s].pos].value);
  }
  if (signatures_.valid && class_ids == signatures_.class_ids) return;
  signatures_.valid = true;
  signatures_.class_ids = std::move(class_ids);
  auto signature_of = [&](uint32_t cp) {
    uint64_t signature = 0;
    for (size_t i = 0; i < signatures_.class_ids.size(); ++i) {
      uint32_t c = signatures_.class_ids[i];
      if (c != kNoClass && grammar_->classes[c].contains(cp)) signature |= uint64_t{1} << i;
    }
    return signature;
  };
  for (uint32_t cp = 0; cp < 128; ++cp) signatures_.ascii[cp] = signature_of(cp);
  std::vector<uint32_t> cuts{0x80, 0xD800, 0xE000, 0x110000};
  for (uint32_t c : signatures_.class_ids) {
    if (c == kNoClass) continue;
    for (const auto& [lo, hi] : grammar_->classes[c].ranges) {
      if (hi < 0x80) continue;
      cuts.push_back(std::max<uint32_t>(lo, 0x80));
      cuts.push_back(hi + 1);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  signatures_.non_ascii.clear();
  for (size_t i = 0; i + 1 < cuts.size() && cuts[i] < 0x110000; ++i) {
    if (cuts[i] >= 0xD800 && cuts[i] < 0xE000) continue;  // surrogates never decode
    signatures_.non_ascii.push_back({cuts[i], signature_of(cuts[i])});
  }
}

// Finds the characters that take `x` to one common successor: advance(x, c) depends on c only
// through which stacks' classes contain c (its signature), so one advance per distinct signature
// decides all 128 ASCII code points and every interval between the classes' non-ASCII range
// bounds. The successor reached by the most ASCII characters wins; the level is only worth having
// when that is a wide set (a class like [^"\\], not a single delimiter).
bool GrammarMatcher::chain_step(const State& x, ChainLevel& level, State& next) {
  const std::vector<uint32_t>& stacks = x.stacks;
  if (stacks.empty() || stacks.size() > 64) return false;
  update_signatures(stacks);
  constexpr int kNone = -1;
  std::vector<std::pair<uint64_t, int>> group_of_signature;
  std::vector<std::vector<uint32_t>> successors;  // one per group of equal successors
  std::vector<uint32_t> advanced;
  auto group_of = [&](uint32_t cp, uint64_t signature) {
    if (signature == 0) return kNone;
    for (const auto& [sig, group] : group_of_signature) {
      if (sig == signature) return group;
    }
    int group = kNone;
    try {
      advance(stacks, cp, advanced);
      if (!advanced.empty()) {
        for (size_t g = 0; g < successors.size() && group == kNone; ++g) {
          if (same_stacks(successors[g], advanced)) group = static_cast<int>(g);
        }
        if (group == kNone) {
          group = static_cast<int>(successors.size());
          successors.push_back(advanced);
        }
      }
    } catch (const InvalidArgument&) {
      group = kNone;  // too ambiguous to shortcut; stepping will report it
    }
    group_of_signature.push_back({signature, group});
    return group;
  };

  std::array<int, 128> ascii_group{};
  std::vector<int> ascii_count;
  for (uint32_t cp = 0; cp < 128; ++cp) {
    ascii_group[cp] = group_of(cp, signatures_.ascii[cp]);
    if (ascii_group[cp] == kNone) continue;
    ascii_count.resize(std::max(ascii_count.size(), static_cast<size_t>(ascii_group[cp]) + 1));
    ++ascii_count[ascii_group[cp]];
  }
  int non_ascii_group = kNone;
  for (size_t i = 0; i < signatures_.non_ascii.size(); ++i) {
    int g = group_of(signatures_.non_ascii[i].first, signatures_.non_ascii[i].second);
    if (i == 0) non_ascii_group = g;
    if (g != non_ascii_group || g == kNone) {
      non_ascii_group = kNone;
      break;
    }
  }

  int best = non_ascii_group;
  int best_count = 0;
  for (size_t g = 0; g < ascii_count.size(); ++g) {
    if (ascii_count[g] > best_count) {
      best = static_cast<int>(g);
      best_count = ascii_count[g];
    }
  }
  constexpr int kWide = 16;
  if (best == kNone || (best_count < kWide && best != non_ascii_group)) return false;

  level.ascii = {};
  for (uint32_t cp = 0; cp < 128; ++cp) {
    if (ascii_group[cp] == best) level.ascii[cp >> 6] |= uint64_t{1} << (cp & 63);
  }
  level.non_ascii = non_ascii_group == best;
  level.buckets = ~uint64_t{0};
  for (int b = 0; b < 256; ++b) {
    const auto byte = static_cast<uint8_t>(b);
    bool advances = byte < 128 ? level.advances(byte) : level.non_ascii;
    if (!advances) level.buckets &= ~(uint64_t{1} << TokenTrie::bucket_of(byte));
  }
  next.stacks = std::move(successors[best]);
  next.partial = {};
  return true;
}

// X_0 is the current state; the chain stops where no wide set of characters shares a successor,
// at a fixed point (X_{i+1} == X_i: every later level is the same), or when no token is longer.
// Runs in scratch mode: the chain's nodes live until the mask's final rollback.
void GrammarMatcher::build_chain(size_t max_levels) {
  chain_.clear();
  signatures_.valid = false;
  chain_fixed_ = kNoLevel;
  if (state_.partial.remaining != 0) return;  // the trie's UTF-8 summaries start at a boundary
  chain_.push_back({state_});
  State next;
  while (chain_.size() <= max_levels) {
    if (!chain_step(chain_.back().state, chain_.back(), next)) break;
    if (same_stacks(next.stacks, chain_.back().state.stacks)) {
      chain_fixed_ = chain_.size() - 1;
      break;
    }
    chain_.push_back({std::move(next)});
    next = {};
  }
  for (size_t i = chain_.size(); i-- > 0;) {
    bool same_as_next = i + 1 < chain_.size() && chain_[i + 1].buckets == chain_[i].buckets;
    chain_[i].run_end = same_as_next ? chain_[i + 1].run_end : i + 1;
  }
}

const GrammarMatcher::ChainLevel* GrammarMatcher::chain_level(size_t i) const {
  if (i == kNoLevel) return nullptr;
  if (i < chain_.size()) return &chain_[i];
  return chain_fixed_ == kNoLevel ? nullptr : &chain_[chain_fixed_];
}

// True when every level a character below a node can be consumed at ([level, level + height))
// advances on all the byte buckets `below`.
bool GrammarMatcher::chain_covers(size_t level, size_t height, uint64_t below) const {
  for (size_t i = level; i < level + height;) {
    if (chain_fixed_ != kNoLevel && i >= chain_fixed_) {
      return (below & ~chain_[chain_fixed_].buckets) == 0;
    }
    if (i >= chain_.size() || (below & ~chain_[i].buckets) != 0) return false;
    i = chain_[i].run_end;
  }
  return true;
}

// `node` is reached from X_0 by chain characters only: the state there is X_level (at a character
// boundary) or X_level part-way through a non-ASCII character (which then advances the chain).
// Tokens ending here are allowed; so is the whole subtree when the chain covers it.
void GrammarMatcher::enter_chain(const TokenTrie::Node& node, size_t depth, size_t level,
                                 Utf8Partial partial) {
  if (node.subtree_utf8_ok && chain_covers(level, node.height, node.below)) return;
  if (node.child_count > 0) walk_chain(node, depth, level, partial);
}

void GrammarMatcher::walk_chain(const TokenTrie::Node& node, size_t depth, size_t level,
                                Utf8Partial partial) {
  const ChainLevel& x = *chain_level(level);
  const auto& nodes = trie_->nodes();
  for (uint32_t c = node.first_child; c < node.first_child + node.child_count; ++c) {
    const TokenTrie::Node& child = nodes[c];
    const uint8_t byte = child.byte;
    const bool at_boundary = partial.remaining == 0;
    if (at_boundary && byte < 0x80 && x.advances(byte)) {
      enter_chain(child, depth + 1, level + 1, {});
    } else if (!at_boundary || (byte >= 0x80 && x.non_ascii)) {
      // Within a chain character: only well-formedness can fail (a completed one advances).
      Utf8Partial p = partial;
      uint32_t lo = 0, hi = 0;
      Utf8Step decoded = utf8_step(p, byte, lo, hi);
      if (decoded == Utf8Step::kInvalid) reject(child);
      else enter_chain(child, depth + 1, decoded == Utf8Step::kComplete ? level + 1 : level, p);
    } else {  // leaves the chain: step X_level for real
      const size_t mark = nodes_.size();
      if (step(x.state, byte, levels_[depth + 1])) {
        const State& s = levels_[depth + 1];
        const ChainLevel* back = chain_level(level + 1);
        if (back && s.partial.remaining == 0 && same_stacks(s.stacks, back->state.stacks)) {
          enter_chain(child, depth + 1, level + 1, {});
        } else if (child.child_count > 0) {
          walk_stepping(child, depth + 1, level + 1);
        }
      } else {
        reject(child);
      }
      nodes_.resize(mark);  // the subtree's scratch nodes are no longer referenced
    }
  }
}

// levels_[depth] is the state at `node`, reached by stepping every byte. At character boundaries
// the state is compared with the chain level the walk would rejoin (`expected_level`).
void GrammarMatcher::walk_stepping(const TokenTrie::Node& node, size_t depth,
                                   size_t expected_level) {
  const ChainLevel* rejoin = chain_level(expected_level);
  const auto& nodes = trie_->nodes();
  for (uint32_t c = node.first_child; c < node.first_child + node.child_count; ++c) {
    const TokenTrie::Node& child = nodes[c];
    const size_t mark = nodes_.size();
    if (step(levels_[depth], child.byte, levels_[depth + 1])) {
      const State& s = levels_[depth + 1];
      if (rejoin && s.partial.remaining == 0 && same_stacks(s.stacks, rejoin->state.stacks)) {
        enter_chain(child, depth + 1, expected_level, {});
      } else if (child.child_count > 0) {
        walk_stepping(child, depth + 1, expected_level);
      }
    } else {
      reject(child);
    }
    nodes_.resize(mark);
  }
}

}  // namespace tandem::chat
