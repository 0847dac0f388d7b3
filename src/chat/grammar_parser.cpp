// GBNF-like grammar text -> flat Grammar (see grammar.h for the notation).
#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <unordered_map>

#include "chat/grammar.h"
#include "util/error.h"

namespace tandem::chat {

namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();
using Sequence = std::vector<Element>;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

class Parser {
 public:
  Parser(std::string_view text, const GrammarLimits& limits) : text_(text), limits_(limits) {}

  Grammar run(std::string_view root_rule) {
    skip_space();
    while (pos_ < text_.size()) {
      size_t name_pos = pos_;
      std::string name = parse_name();
      skip_space();
      if (text_.substr(pos_, 3) != "::=") fail("expected '::=' after rule name '" + name + "'");
      pos_ += 3;
      uint32_t rule = rule_id(name, name_pos);
      if (defined_[rule]) fail_at(name_pos, "rule '" + name + "' is defined twice");
      defined_[rule] = true;
      current_ = name;
      synth_counter_ = 0;
      rules_[rule] = parse_alternatives();
      skip_space();
    }
    for (size_t r = 0; r < rules_.size(); ++r) {
      if (!defined_[r]) fail_at(first_use_[r], "rule '" + names_[r] + "' is used but not defined");
    }
    auto root = index_.find(std::string(root_rule));
    if (root == index_.end()) {
      throw FormatError("grammar has no '" + std::string(root_rule) + "' rule");
    }
    check_left_recursion();
    return flatten(root->second);
  }

 private:
  // ---- errors -----------------------------------------------------------------------------
  [[noreturn]] void fail_at(size_t at, const std::string& message) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw FormatError("grammar line " + std::to_string(line) + " column " +
                      std::to_string(column) + ": " + message);
  }
  [[noreturn]] void fail(const std::string& message) const { fail_at(pos_, message); }

  // ---- lexing -----------------------------------------------------------------------------
  void skip_space() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    if (start == pos_) fail("expected a rule name");
    return std::string(text_.substr(start, pos_ - start));
  }

  // True when the upcoming text is `name ::=`, i.e. the current rule's body has ended.
  bool at_rule_start() const {
    size_t p = pos_;
    while (p < text_.size() && is_name_char(text_[p])) ++p;
    if (p == pos_) return false;
    while (p < text_.size() && (text_[p] == ' ' || text_[p] == '\t' || text_[p] == '\n' ||
                                text_[p] == '\r')) {
      ++p;
    }
    return text_.substr(p, 3) == "::=";
  }

  // Decodes one UTF-8 code point of the grammar text itself.
  uint32_t next_code_point() {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(text_[i]); };
    unsigned char b = byte(pos_);
    int extra = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
    if (extra < 0 || pos_ + static_cast<size_t>(extra) >= text_.size()) {
      fail("invalid UTF-8 in grammar text");
    }
    uint32_t cp = extra == 0 ? b : (b & (0x3F >> extra));
    for (int i = 1; i <= extra; ++i) {
      unsigned char c = byte(pos_ + i);
      if ((c & 0xC0) != 0x80) fail("invalid UTF-8 in grammar text");
      cp = (cp << 6) | (c & 0x3F);
    }
    pos_ += 1 + extra;
    return cp;
  }

  uint32_t parse_hex(int digits) {
    uint32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      if (pos_ >= text_.size()) fail("unterminated escape");
      char c = text_[pos_];
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) fail("expected a hex digit in escape");
      value = value * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    if (value > kMaxCodePoint) fail("escape is beyond U+10FFFF");
    return value;
  }

  // A character inside a literal or class: an escape or one UTF-8 code point.
  uint32_t parse_char() {
    if (pos_ >= text_.size()) fail("unexpected end of grammar");
    if (text_[pos_] != '\\') return next_code_point();
    ++pos_;
    if (pos_ >= text_.size()) fail("unterminated escape");
    char c = text_[pos_++];
    switch (c) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case '0': return 0;
      case 'x': return parse_hex(2);
      case 'u': return parse_hex(4);
      case 'U': return parse_hex(8);
      case '\\': case '"': case '\'': case ']': case '[': case '-': case '^': case '/':
        return static_cast<unsigned char>(c);
      default: fail_at(pos_ - 2, std::string("unknown escape '\\") + c + "'");
    }
  }

  // ---- rules and elements -------------------------------------------------------------------
  uint32_t rule_id(const std::string& name, size_t used_at) {
    auto [it, inserted] = index_.try_emplace(name, static_cast<uint32_t>(names_.size()));
    if (inserted) {
      names_.push_back(name);
      rules_.emplace_back();
      defined_.push_back(false);
      first_use_.push_back(used_at);
    }
    return it->second;
  }

  uint32_t new_rule(std::vector<Sequence> alternatives) {
    std::string name;
    do {
      name = current_ + "_" + std::to_string(++synth_counter_);
    } while (index_.count(name));
    uint32_t rule = rule_id(name, pos_);
    defined_[rule] = true;
    rules_[rule] = std::move(alternatives);
    return rule;
  }

  uint32_t single_char_class(uint32_t cp) {
    auto it = single_classes_.find(cp);
    if (it != single_classes_.end()) return it->second;
    CharClass cls;
    cls.ranges.push_back({cp, cp});
    cls.finalize(false);
    classes_.push_back(std::move(cls));
    uint32_t id = static_cast<uint32_t>(classes_.size() - 1);
    single_classes_[cp] = id;
    return id;
  }

  void count_elements(size_t n) {
    element_count_ += n;
    if (element_count_ > limits_.max_elements) {
      fail("grammar expands to more than " + std::to_string(limits_.max_elements) + " elements");
    }
  }

  std::vector<Sequence> parse_alternatives() {
    std::vector<Sequence> alternatives;
    alternatives.push_back(parse_sequence());
    while (pos_ < text_.size() && text_[pos_] == '|') {
      ++pos_;
      alternatives.push_back(parse_sequence());
    }
    return alternatives;
  }

  Sequence parse_sequence() {
    Sequence seq;
    for (;;) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] == '|' || text_[pos_] == ')' || at_rule_start()) {
        return seq;
      }
      Sequence atom = parse_primary();
      skip_space();
      while (pos_ < text_.size() && (text_[pos_] == '*' || text_[pos_] == '+' ||
                                     text_[pos_] == '?' || text_[pos_] == '{')) {
        atom = parse_repetition(std::move(atom));
        skip_space();
      }
      count_elements(atom.size());
      seq.insert(seq.end(), atom.begin(), atom.end());
    }
  }

  Sequence parse_primary() {
    char c = text_[pos_];
    if (c == '"' || c == '\'') {
      size_t start = pos_++;
      Sequence seq;
      while (true) {
        if (pos_ >= text_.size()) fail_at(start, "unterminated string literal");
        if (text_[pos_] == c) break;
        seq.push_back({ElementKind::kChar, single_char_class(parse_char())});
      }
      ++pos_;
      return seq;
    }
    if (c == '[') return {{ElementKind::kChar, parse_class()}};
    if (c == '.') {
      ++pos_;
      CharClass any;
      any.ranges.push_back({0, kMaxCodePoint});
      any.finalize(false);
      classes_.push_back(std::move(any));
      return {{ElementKind::kChar, static_cast<uint32_t>(classes_.size() - 1)}};
    }
    if (c == '(') {
      size_t open = pos_++;
      std::vector<Sequence> alternatives = parse_alternatives();
      if (pos_ >= text_.size() || text_[pos_] != ')') fail_at(open, "unclosed '('");
      ++pos_;
      if (alternatives.size() == 1) return std::move(alternatives[0]);
      return {{ElementKind::kRule, new_rule(std::move(alternatives))}};
    }
    if (is_name_char(c)) {
      size_t at = pos_;
      return {{ElementKind::kRule, rule_id(parse_name(), at)}};
    }
    fail(std::string("unexpected character '") + c + "'");
  }

  uint32_t parse_class() {
    size_t open = pos_++;
    bool negate = pos_ < text_.size() && text_[pos_] == '^';
    if (negate) ++pos_;
    CharClass cls;
    while (true) {
      if (pos_ >= text_.size()) fail_at(open, "unterminated character class");
      if (text_[pos_] == ']') break;
      uint32_t lo = parse_char();
      uint32_t hi = lo;
      if (pos_ + 1 < text_.size() && text_[pos_] == '-' && text_[pos_ + 1] != ']') {
        ++pos_;
        hi = parse_char();
        if (hi < lo) fail("character range is reversed");
      }
      cls.ranges.push_back({lo, hi});
    }
    ++pos_;
    if (cls.ranges.empty() && !negate) fail_at(open, "empty character class");
    cls.finalize(negate);
    classes_.push_back(std::move(cls));
    return static_cast<uint32_t>(classes_.size() - 1);
  }

  uint32_t parse_count() {
    skip_space();
    size_t start = pos_;
    uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      value = value * 10 + static_cast<uint64_t>(text_[pos_] - '0');
      if (value > limits_.max_repetition) {
        fail("repetition count above the limit of " + std::to_string(limits_.max_repetition));
      }
      ++pos_;
    }
    if (start == pos_) fail("expected a number in repetition");
    skip_space();
    return static_cast<uint32_t>(value);
  }

  Sequence parse_repetition(Sequence atom) {
    char op = text_[pos_++];
    uint32_t min = 0, max = kUnbounded;
    if (op == '+') min = 1;
    if (op == '?') max = 1;
    if (op == '{') {
      min = parse_count();
      max = min;
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        skip_space();
        max = (pos_ < text_.size() && text_[pos_] == '}') ? kUnbounded : parse_count();
      }
      if (pos_ >= text_.size() || text_[pos_] != '}') fail("expected '}' to close repetition");
      ++pos_;
      if (max < min) fail("repetition {m,n} has n < m");
    }
    if (atom.empty()) return atom;  // repeating the empty string is the empty string
    Element x = atom.size() == 1 ? atom[0]
                                 : Element{ElementKind::kRule, new_rule({std::move(atom)})};
    Sequence result(min, x);
    count_elements(min);
    if (max == kUnbounded) {
      // star ::= x star | ε  (right recursion: the matcher's tail-call pop keeps stacks flat)
      uint32_t star = new_rule({});
      rules_[star] = {{x, {ElementKind::kRule, star}}, {}};
      result.push_back({ElementKind::kRule, star});
    } else if (max > min) {
      // Nested optionals: opt_k ::= x opt_{k-1} | ε. Unambiguous, unlike k flat optionals.
      uint32_t inner = new_rule({{x}, {}});
      for (uint32_t k = 1; k < max - min; ++k) {
        count_elements(2);
        inner = new_rule({{x, {ElementKind::kRule, inner}}, {}});
      }
      result.push_back({ElementKind::kRule, inner});
    }
    return result;
  }

  // ---- validation and layout -----------------------------------------------------------------
  // A rule that can reach itself before consuming any character would make the matcher expand
  // forever; reject it up front.
  void check_left_recursion() const {
    size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const Sequence& alt : rules_[r]) {
          bool all = std::all_of(alt.begin(), alt.end(), [&](const Element& e) {
            return e.kind == ElementKind::kRule && nullable[e.value];
          });
          if (all) {
            nullable[r] = changed = true;
            break;
          }
        }
      }
    }
    std::vector<std::vector<uint32_t>> leftmost(n);
    for (size_t r = 0; r < n; ++r) {
      for (const Sequence& alt : rules_[r]) {
        for (const Element& e : alt) {
          if (e.kind != ElementKind::kRule) break;
          leftmost[r].push_back(e.value);
          if (!nullable[e.value]) break;
        }
      }
    }
    // Iterative DFS (hostile grammars may chain many rules) with white/grey/black colours.
    std::vector<uint8_t> colour(n, 0);
    std::vector<std::pair<uint32_t, size_t>> stack;
    for (uint32_t start = 0; start < n; ++start) {
      if (colour[start]) continue;
      stack.push_back({start, 0});
      colour[start] = 1;
      while (!stack.empty()) {
        auto& [rule, next] = stack.back();
        if (next < leftmost[rule].size()) {
          uint32_t to = leftmost[rule][next++];
          if (colour[to] == 1) {
            throw FormatError("grammar rule '" + names_[to] +
                              "' is left-recursive (it can reach itself without consuming a "
                              "character, e.g. through a repetition of something that can be "
                              "empty)");
          }
          if (colour[to] == 0) {
            colour[to] = 1;
            stack.push_back({to, 0});
          }
        } else {
          colour[rule] = 2;
          stack.pop_back();
        }
      }
    }
  }

  Grammar flatten(uint32_t root) {
    Grammar g;
    g.classes = std::move(classes_);
    g.rule_names = names_;
    g.root = root;
    g.rule_alternatives.resize(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r) {
      for (const Sequence& alt : rules_[r]) {
        g.rule_alternatives[r].push_back(static_cast<uint32_t>(g.elements.size()));
        g.elements.insert(g.elements.end(), alt.begin(), alt.end());
        g.elements.push_back({ElementKind::kEnd, static_cast<uint32_t>(r)});
      }
    }
    return g;
  }

  std::string_view text_;
  GrammarLimits limits_;
  size_t pos_ = 0;
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<std::string> names_;
  std::vector<std::vector<Sequence>> rules_;
  std::vector<bool> defined_;
  std::vector<size_t> first_use_;
  std::vector<CharClass> classes_;
  std::map<uint32_t, uint32_t> single_classes_;
  std::string current_;
  uint32_t synth_counter_ = 0;
  size_t element_count_ = 0;
};

}  // namespace

bool CharClass::contains_slow(uint32_t cp) const {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                             [](uint32_t v, const auto& r) { return v < r.first; });
  return it != ranges.begin() && cp <= std::prev(it)->second;
}

bool CharClass::intersects(uint32_t lo, uint32_t hi) const {
  for (const auto& [a, b] : ranges) {
    if (a > hi) return false;
    if (b >= lo) return true;
  }
  return false;
}

void CharClass::finalize(bool negate) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<uint32_t, uint32_t>> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  if (negate) {
    std::vector<std::pair<uint32_t, uint32_t>> complement;
    uint32_t next = 0;
    for (const auto& [a, b] : merged) {
      if (a > next) complement.push_back({next, a - 1});
      next = b + 1;
    }
    if (next <= kMaxCodePoint) complement.push_back({next, kMaxCodePoint});
    merged = std::move(complement);
  }
  ranges = std::move(merged);
  ascii = {0, 0};
  for (const auto& [a, b] : ranges) {
    for (uint32_t c = a; c <= b && c < 128; ++c) ascii[c >> 6] |= uint64_t{1} << (c & 63);
  }
}

Grammar Grammar::parse(std::string_view text, std::string_view root_rule,
                       const GrammarLimits& limits) {
  return Parser(text, limits).run(root_rule);
}

std::string grammar_literal(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += ch;  // UTF-8 bytes pass through; the parser decodes them as code points
    }
  }
  return out + "\"";
}

}  // namespace tandem::chat
