#pragma once
// Context-free grammars for constrained decoding, written in a GBNF-like notation:
//
//   # comment to end of line
//   root   ::= object | "null"
//   object ::= "{" ws ( pair ( "," ws pair )* )? "}"
//   pair   ::= string ":" ws value
//   digit  ::= [0-9]            [^"\\]  [\u00e9-\u00ff]  .  (any code point)
//   item   ::= x*  x+  x?  x{3}  x{2,}  x{0,5}
//
// A rule body runs until the next `name ::=` (so bodies may span lines). Literals and classes
// accept the escapes \n \r \t \\ \" \' \] \[ \- \^ \/ \xHH \uXXXX \UXXXXXXXX. Characters are
// Unicode code points; the matcher (grammar_matcher.h) feeds it UTF-8 bytes.
//
// Grammar::parse compiles the text into a flat element array that the matcher walks: every
// alternative of every rule is a contiguous run of elements ended by kEnd. Groups and repetitions
// become synthesized helper rules (x* is `helper ::= x helper | ε`; x{m,n} is m copies followed by
// n-m nested optionals, which keeps matching unambiguous). Parse errors and hostile grammars
// (undefined rules, left recursion, oversized repetitions) throw FormatError naming line/column or
// the offending rule.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::chat {

// Limits that keep a grammar's compiled size bounded. Named here so they are not magic.
struct GrammarLimits {
  uint32_t max_repetition = 10000;        // largest m or n in x{m,n}
  uint32_t max_elements = 4u << 20;       // compiled elements over all rules
};

// A set of code points: sorted, merged, inclusive ranges plus an ASCII bitmap for speed.
struct CharClass {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  std::array<uint64_t, 2> ascii{};

  bool contains(uint32_t cp) const {
    if (cp < 128) return (ascii[cp >> 6] >> (cp & 63)) & 1;
    return contains_slow(cp);
  }
  // True when some code point in [lo, hi] belongs to the class.
  bool intersects(uint32_t lo, uint32_t hi) const;
  // Sorts, merges and fills the bitmap; `negate` complements over [0, 0x10FFFF].
  void finalize(bool negate);

 private:
  bool contains_slow(uint32_t cp) const;
};

enum class ElementKind : uint8_t { kChar, kRule, kEnd };

struct Element {
  ElementKind kind;
  uint32_t value;  // kChar: index into classes; kRule: rule index; kEnd: owning rule index
};

struct Grammar {
  std::vector<CharClass> classes;
  std::vector<Element> elements;
  std::vector<std::vector<uint32_t>> rule_alternatives;  // rule -> first element of each alternative
  std::vector<std::string> rule_names;                   // synthesized rules: "<parent>_<n>"
  uint32_t root = 0;

  // Throws FormatError ("grammar line L column C: ...") on malformed text, an undefined or missing
  // root rule, a left-recursive rule, or a grammar beyond `limits`.
  static Grammar parse(std::string_view text, std::string_view root_rule = "root",
                       const GrammarLimits& limits = {});
};

// Quotes `text` as a grammar string literal (escaping quotes, backslashes and control chars).
std::string grammar_literal(std::string_view text);

}  // namespace tandem::chat
