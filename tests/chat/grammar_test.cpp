// Grammar parsing (errors with line/column, hostile grammars) and the byte-level matcher and
// token mask (checked against a brute-force per-token check).
#include <gtest/gtest.h>

#include <random>

#include "chat/grammar.h"
#include "chat/grammar_matcher.h"
#include "chat/json_schema_grammar.h"
#include "grammar_random_walk.h"
#include "util/error.h"

using namespace tandem::chat;
using tandem::chat::testing::grammar_accepts;

namespace {

std::shared_ptr<const Grammar> compile(const std::string& text) {
  return std::make_shared<const Grammar>(Grammar::parse(text));
}

std::string parse_error(const std::string& text) {
  try {
    Grammar::parse(text);
  } catch (const tandem::FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(GrammarParse, ErrorsNameLineAndColumn) {
  EXPECT_EQ(parse_error("root ::= \"abc"), "grammar line 1 column 10: unterminated string literal");
  EXPECT_EQ(parse_error("root ::= a\n\na ::= [ab\n"),
            "grammar line 3 column 7: unterminated character class");
  EXPECT_EQ(parse_error("root ::= x"), "grammar line 1 column 10: rule 'x' is used but not defined");
  EXPECT_EQ(parse_error("root ::= \"a\"\nroot ::= \"b\""),
            "grammar line 2 column 1: rule 'root' is defined twice");
  EXPECT_EQ(parse_error("root ::= [z-a]"), "grammar line 1 column 14: character range is reversed");
  EXPECT_EQ(parse_error("root ::= \"\\q\""), "grammar line 1 column 11: unknown escape '\\q'");
  EXPECT_EQ(parse_error("root ::= (\"a\""), "grammar line 1 column 10: unclosed '('");
  EXPECT_EQ(parse_error("root ::= \"a\"{3,1}"),
            "grammar line 1 column 18: repetition {m,n} has n < m");
  EXPECT_EQ(parse_error("root ::= \"a\"{99999}"),
            "grammar line 1 column 18: repetition count above the limit of 10000");
  EXPECT_EQ(parse_error("a ::= \"x\""), "grammar has no 'root' rule");
  EXPECT_EQ(parse_error("root = \"x\""), "grammar line 1 column 6: expected '::=' after rule name 'root'");
}

TEST(GrammarParse, RejectsLeftRecursion) {
  EXPECT_NE(parse_error("root ::= root \"a\" | \"b\"").find("'root' is left-recursive"),
            std::string::npos);
  EXPECT_NE(parse_error("root ::= a\na ::= b \"x\"\nb ::= \"c\"? a").find("left-recursive"),
            std::string::npos);
  // A repetition of something that can be empty would loop forever in the matcher.
  EXPECT_NE(parse_error("root ::= (\"a\"?)*").find("left-recursive"), std::string::npos);
  // Right recursion is fine.
  EXPECT_NO_THROW(Grammar::parse("root ::= \"a\" root | \"b\""));
}

TEST(GrammarMatch, LiteralsClassesAndEscapes) {
  auto g = compile(R"(
    # a comment
    root ::= greeting " " name  # trailing comment
      "!"?
    greeting ::= "hi" | "hello"
    name ::= [A-Z] [a-z\u00e9]+ | "\u4e2d\x41"
  )");
  EXPECT_TRUE(grammar_accepts(g, "hi Bob"));
  EXPECT_TRUE(grammar_accepts(g, "hello Ren\xC3\xA9!"));
  EXPECT_TRUE(grammar_accepts(g, "hi \xE4\xB8\xAD" "A"));
  EXPECT_FALSE(grammar_accepts(g, "hi bob"));
  EXPECT_FALSE(grammar_accepts(g, "hi B"));
  EXPECT_FALSE(grammar_accepts(g, "hey Bob"));
  EXPECT_FALSE(grammar_accepts(g, "hi Bob!!"));
}

TEST(GrammarMatch, NegatedClassesAndAnyChar) {
  auto g = compile(R"(root ::= "\"" [^"\\\n]* "\"" . )");
  EXPECT_TRUE(grammar_accepts(g, "\"abc \xF0\x9F\x98\x80\"x"));
  EXPECT_TRUE(grammar_accepts(g, "\"\"\xF0\x9F\x98\x80"));
  EXPECT_FALSE(grammar_accepts(g, "\"a\nb\"x"));
  EXPECT_FALSE(grammar_accepts(g, "\"a\\b\"x"));
  EXPECT_FALSE(grammar_accepts(g, "\"ab\""));
}

TEST(GrammarMatch, RepetitionCounts) {
  auto g = compile("root ::= [0-9]{2,4} \"-\" \"ab\"{2} \"x\"{1,} (\"y\" | \"z\"){0,2}");
  EXPECT_TRUE(grammar_accepts(g, "12-ababx"));
  EXPECT_TRUE(grammar_accepts(g, "1234-ababxxxxyz"));
  EXPECT_FALSE(grammar_accepts(g, "1-ababx"));
  EXPECT_FALSE(grammar_accepts(g, "12345-ababx"));
  EXPECT_FALSE(grammar_accepts(g, "12-abx"));
  EXPECT_FALSE(grammar_accepts(g, "12-abab"));
  EXPECT_FALSE(grammar_accepts(g, "12-ababxyzy"));
}

TEST(GrammarMatch, RejectedInputLeavesStateUnchanged) {
  GrammarMatcher m(compile("root ::= \"ab\" \"c\"*"));
  EXPECT_TRUE(m.accept("a"));
  EXPECT_FALSE(m.accept("x"));
  EXPECT_FALSE(m.accept("bx"));  // partly valid: still all-or-nothing
  EXPECT_FALSE(m.can_finish());
  EXPECT_TRUE(m.accept("b"));
  EXPECT_TRUE(m.can_finish());
  EXPECT_FALSE(m.must_finish());
  EXPECT_TRUE(m.accept("cc"));
  EXPECT_FALSE(m.accept("\xFF"));  // never valid UTF-8
}

TEST(GrammarMatch, Utf8SplitAcrossTokens) {
  GrammarMatcher m(compile("root ::= [\\u00e0-\\u00ff] \"!\""));
  EXPECT_FALSE(m.accept("\xE4"));  // starts a 3-byte character: no completion is in the class
  EXPECT_TRUE(m.accept("\xC3"));   // first byte of U+00E9
  EXPECT_FALSE(m.can_finish());
  EXPECT_FALSE(m.accept("!"));     // a continuation byte is required
  EXPECT_TRUE(m.accept("\xA9!"));
  EXPECT_TRUE(m.can_finish());
  GrammarMatcher overlong(compile("root ::= .+"));
  EXPECT_FALSE(overlong.accept("\xC0\x80"));       // overlong NUL
  EXPECT_FALSE(overlong.accept("\xED\xA0\x80"));   // a surrogate
  EXPECT_TRUE(overlong.accept("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(GrammarMask, EndOfGenerationOnlyWhenComplete) {
  std::vector<std::string> vocab{"a", "b", "ab", ""};
  TokenTrie trie(vocab);
  GrammarMatcher m(compile("root ::= \"a\" \"b\"?"));
  std::vector<int32_t> eog{3};
  std::vector<bool> mask;
  m.allowed_tokens(trie, eog, mask);
  EXPECT_EQ(mask, (std::vector<bool>{true, false, true, false}));
  ASSERT_TRUE(m.accept("a"));
  m.allowed_tokens(trie, eog, mask);
  EXPECT_EQ(mask, (std::vector<bool>{false, true, false, true}));
  ASSERT_TRUE(m.accept("b"));
  m.allowed_tokens(trie, eog, mask);
  EXPECT_EQ(mask, (std::vector<bool>{false, false, false, true}));
  EXPECT_TRUE(m.must_finish());
}

// The mask every token gets when checked on its own (the definition the trie walk must match).
std::vector<bool> brute_force_mask(const GrammarMatcher& m, const std::vector<std::string>& vocab,
                                   int32_t eog) {
  std::vector<bool> mask(vocab.size(), false);
  for (size_t id = 0; id < vocab.size(); ++id) {
    if (vocab[id].empty()) continue;
    GrammarMatcher copy = m;
    mask[id] = copy.accept(vocab[id]);
  }
  mask[eog] = m.can_finish();
  return mask;
}

// Tokens built from the bytes that make grammar masks hard: quotes, backslashes, control
// characters, pieces of multi-byte characters in and out of order, bytes never valid in UTF-8.
std::vector<std::string> nasty_vocab(size_t count, uint64_t seed) {
  const char* pieces[] = {"a", "b", "z", "A", "Q", "0", "9", " ", "\"", "\\", "n", "u", "\n",
                          "\t", ":", ",", "{", "}", "[", "]", "e", "-", ".", "\xC3", "\xA9",
                          "\xE4", "\xB8", "\xAD", "\xF0", "\x9F", "\x98", "\x80", "\xFF",
                          "\xED", "\xA0", "\xC0", "\xC3\xA9", "\xE4\xB8\xAD", "\x01", "="};
  auto vocab = tandem::chat::testing::toy_vocab();
  vocab.pop_back();  // EOG goes last again below
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < count; ++i) {
    std::string t;
    for (size_t n = 1 + rng() % 5; n > 0; --n) t += pieces[rng() % std::size(pieces)];
    vocab.push_back(t);
  }
  for (const char* t : {"=b", "=ab", "x=zz9", "=a\\", "\\\"", "\\n", "\\\"\xC3\xA9\""}) {
    vocab.emplace_back(t);
  }
  vocab.emplace_back();
  return vocab;
}

// The trie walk must agree exactly with checking every token on its own.
TEST(GrammarMask, MatchesBruteForceOnRandomWalks) {
  const std::string json_grammar = R"(
    root   ::= value
    value  ::= object | array | string | number | "true" | "false" | "null"
    object ::= "{" ws ( string ws ":" ws value ( ws "," ws string ws ":" ws value )* )? ws "}"
    array  ::= "[" ws ( value ( ws "," ws value )* )? ws "]"
    string ::= "\"" ( [^"\\\x00-\x1f] | "\\" ["\\/nt] )* "\""
    number ::= "-"? [0-9]+ ( "." [0-9]+ )?
    ws     ::= [ \n]{0,3}
  )";
  auto g = compile(json_grammar);
  auto vocab = tandem::chat::testing::toy_vocab();
  TokenTrie trie(vocab);
  std::vector<int32_t> eog{static_cast<int32_t>(vocab.size() - 1)};
  std::mt19937_64 rng(7);
  std::vector<bool> mask;
  for (int walk = 0; walk < 20; ++walk) {
    GrammarMatcher m(g);
    for (int step = 0; step < 40; ++step) {
      m.allowed_tokens(trie, eog, mask);
      std::vector<int32_t> allowed;
      for (size_t id = 0; id + 1 < vocab.size(); ++id) {
        GrammarMatcher copy = m;
        bool ok = copy.accept(vocab[id]) && !vocab[id].empty();
        ASSERT_EQ(mask[id], ok) << "token '" << vocab[id] << "' after step " << step;
        if (ok) allowed.push_back(static_cast<int32_t>(id));
      }
      EXPECT_EQ(mask[eog[0]], m.can_finish());
      if (allowed.empty()) break;
      ASSERT_TRUE(m.accept(vocab[allowed[rng() % allowed.size()]]));
    }
  }
}

TEST(GrammarHostile, AmbiguityIsCapped) {
  // After n x's, each of the 2^n choices of closing letters is a distinct stack.
  auto g = compile("root ::= \"x\" root \"y\" | \"x\" root \"z\" | \"w\"");
  MatcherLimits limits;
  limits.max_stacks = 64;
  GrammarMatcher m(g, limits);
  EXPECT_THROW(
      {
        for (int i = 0; i < 20; ++i) m.accept("x");
      },
      tandem::InvalidArgument);
}

TEST(GrammarHostile, NestingDepthIsCapped) {
  auto g = compile("root ::= \"(\" root \")\" | \"x\"");
  MatcherLimits limits;
  limits.max_depth = 50;
  GrammarMatcher m(g, limits);
  EXPECT_TRUE(m.accept(std::string(49, '(')));
  EXPECT_FALSE(m.accept(std::string(10, '(')));  // deeper than the cap is not allowed
  EXPECT_TRUE(m.accept("x" + std::string(49, ')')));
  EXPECT_TRUE(m.can_finish());
}

TEST(GrammarHostile, HugeRepetitionsAreRefused) {
  GrammarLimits limits;
  limits.max_elements = 1000;
  EXPECT_THROW(Grammar::parse("root ::= (\"ab\"{500}){500}", "root", limits), tandem::FormatError);
}

TEST(GrammarLiteral, QuotesRoundTrip) {
  std::string text = "a\"b\\c\nd\x01\xC3\xA9";
  auto g = compile("root ::= " + grammar_literal(text));
  EXPECT_TRUE(grammar_accepts(g, text));
}

TEST(GrammarMatch, PoolCompactionKeepsState) {
  // A long generation grows the stack-node pool; compaction must not change what is accepted.
  auto g = compile("root ::= \"[\" item (\",\" item)* \"]\"\nitem ::= \"(\" [a-z]* \")\"");
  MatcherLimits limits;
  limits.compact_above = 64;
  GrammarMatcher m(g, limits);
  ASSERT_TRUE(m.accept("["));
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(m.accept(i ? ",(" : "(")) << i;
    ASSERT_TRUE(m.accept("abc)")) << i;
    ASSERT_FALSE(m.accept("]]"));
  }
  EXPECT_FALSE(m.can_finish());
  ASSERT_TRUE(m.accept("]"));
  EXPECT_TRUE(m.must_finish());
}

TEST(GrammarMask, CapDuringMaskLeavesMatcherUsable) {
  auto g = compile("root ::= \"x\" root \"y\" | \"x\" root \"z\" | \"w\"");
  MatcherLimits limits;
  limits.max_stacks = 40;
  GrammarMatcher m(g, limits);
  ASSERT_TRUE(m.accept("xxx"));  // 3 * 2^3 = 24 stacks
  std::vector<std::string> vocab{"w", "xx", "xxx", ""};
  TokenTrie trie(vocab);
  std::vector<bool> mask;
  std::vector<int32_t> eog{3};
  EXPECT_THROW(m.allowed_tokens(trie, eog, mask), tandem::InvalidArgument);  // "xx": 96
  EXPECT_TRUE(m.accept("w"));  // the state before the failed mask is intact
  EXPECT_TRUE(m.accept("yzy"));
  EXPECT_TRUE(m.can_finish());
}

// Every shortcut of the mask (looping subtrees, re-entering the loop after an escape, memoized
// masks, cache invalidation on pool compaction) against the per-token definition, over grammars
// whose loops differ: JSON strings, any character, ASCII-only and partly non-ASCII classes, and
// an ambiguous grammar with several stacks looping together.
TEST(GrammarMask, ShortcutsMatchBruteForce) {
  auto schema = nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
          "tags":{"type":"array","items":{"type":"string"}},
          "bio":{"type":"string","maxLength":12}},"required":["name","age"]})");
  const std::vector<std::string> grammars = {
      json_schema_to_grammar(schema),
      R"(root ::= "\"" ( [^"\\\x00-\x1f] | "\\" ["\\/nt] )* "\"" " "?)",
      "root ::= .*",
      R"(root ::= ( [a-z ] | [\u00e0-\u00ff] | "\u4e2d" )+ "." )",
      R"(root ::= ( [a-z0-9"]* "x" )+ | [a-y \\]+ "!" | [^z]* "z")",
      R"(root ::= [^\n]{0,12} "\n" [0-9]*)",
      // After "=" the state has as many stacks as before it but loops on other bytes.
      R"(root ::= [a-z]* "=" [0-9a]*)",
      // Chains that count: bounded strings (with escapes that rejoin the chain), a minimum.
      R"(root ::= ( "\"" ( [^"\\\x00-\x1f] | "\\" ["\\n] ){0,7} "\"" )+)",
      R"(root ::= [^\n"]{3,} "\"" [a-z]{0,4} | .{0,9} "=")",
  };
  auto vocab = nasty_vocab(300, 11);
  TokenTrie trie(vocab);
  const int32_t eog = static_cast<int32_t>(vocab.size() - 1);
  std::vector<int32_t> eogs{eog};
  std::mt19937_64 rng(5);
  MatcherLimits uncached;
  uncached.mask_cache_entries = 0;
  MatcherLimits cached;
  cached.mask_cache_entries = 3;  // small, so eviction happens too
  cached.compact_above = 200;     // compaction renumbers nodes: the cache must be dropped
  uint64_t hits = 0;
  for (size_t gi = 0; gi < grammars.size(); ++gi) {
    auto g = compile(grammars[gi]);
    for (int walk = 0; walk < 5; ++walk) {
      GrammarMatcher plain(g, uncached), memo(g, cached);
      std::vector<bool> plain_mask, memo_mask;
      for (int step = 0; step < 30; ++step) {
        plain.allowed_tokens(trie, eogs, plain_mask);
        memo.allowed_tokens(trie, eogs, memo_mask);
        std::vector<bool> expected = brute_force_mask(plain, vocab, eog);
        for (size_t id = 0; id < vocab.size(); ++id) {
          if (plain_mask[id] != expected[id] || memo_mask[id] != expected[id]) {
            FAIL() << "grammar " << gi << " step " << step << " token "
                   << ::testing::PrintToString(vocab[id]) << ": expected " << expected[id]
                   << ", uncached mask " << plain_mask[id] << ", memoizing " << memo_mask[id];
          }
        }
        std::vector<int32_t> allowed;
        for (size_t id = 0; id + 1 < vocab.size(); ++id) {
          if (expected[id]) allowed.push_back(static_cast<int32_t>(id));
        }
        if (allowed.empty()) break;
        const std::string& pick = vocab[allowed[rng() % allowed.size()]];
        ASSERT_TRUE(plain.accept(pick));
        ASSERT_TRUE(memo.accept(pick));
      }
      hits += memo.mask_cache().hits();
    }
  }
  EXPECT_GT(hits, 50u);  // the memoized path was really exercised
}

// The same stack set reached by different histories gets the memoized mask, and it is the mask a
// fresh computation gives.
TEST(GrammarMask, MemoizedMaskAfterDifferentHistories) {
  auto g = compile(R"(root ::= "{\"k\": \"" ( [^"\\] | "\\" ["\\n] )* "\"}")");
  auto vocab = nasty_vocab(200, 3);
  TokenTrie trie(vocab);
  std::vector<int32_t> eogs{static_cast<int32_t>(vocab.size() - 1)};
  GrammarMatcher m(g);
  std::vector<bool> first, second, fresh;
  ASSERT_TRUE(m.accept("{\"k\": \"ab"));
  m.allowed_tokens(trie, eogs, first);
  EXPECT_EQ(m.mask_cache().hits(), 0u);
  ASSERT_TRUE(m.accept("c \\n\xC3\xA9 xyz"));  // an escape and a two-byte character later
  m.allowed_tokens(trie, eogs, second);
  EXPECT_EQ(m.mask_cache().hits(), 1u);
  EXPECT_EQ(first, second);

  MatcherLimits no_cache;
  no_cache.mask_cache_entries = 0;
  GrammarMatcher other(g, no_cache);
  ASSERT_TRUE(other.accept("{\"k\": \"q\\\"r"));
  other.allowed_tokens(trie, eogs, fresh);
  EXPECT_EQ(fresh, second);
  EXPECT_EQ(fresh, brute_force_mask(other, vocab, eogs[0]));

  // Mid-character is a different state: no hit, and its own mask.
  ASSERT_TRUE(m.accept("\xE4"));
  m.allowed_tokens(trie, eogs, second);
  EXPECT_EQ(m.mask_cache().hits(), 1u);
  EXPECT_EQ(second, brute_force_mask(m, vocab, eogs[0]));
  // A different vocabulary never gets another trie's mask.
  std::vector<std::string> small{"a", "\"}", "\xB8\xAD", ""};
  TokenTrie small_trie(small);
  std::vector<int32_t> small_eog{3};
  m.allowed_tokens(small_trie, small_eog, second);
  EXPECT_EQ(second, (std::vector<bool>{false, false, true, false}));
}

TEST(GrammarTrie, SubtreeSummaries) {
  std::vector<std::string> vocab{"ab", "a", "", "a\"", "\xC3\xA9", "\xC3", "\xC3(", "b"};
  TokenTrie trie(vocab);
  EXPECT_EQ(trie.excluded_ids(), (std::vector<int32_t>{2}));
  const auto& nodes = trie.nodes();
  const TokenTrie::Node& root = nodes[0];
  ASSERT_EQ(root.child_count, 3u);  // 'a', 'b', 0xC3
  const TokenTrie::Node& a = nodes[root.first_child];
  const TokenTrie::Node& c3 = nodes[root.first_child + 2];
  // The subtree of "a" holds "a", "a\"", "ab" as one run of token ids.
  std::vector<int32_t> under_a(trie.token_ids().begin() + a.first_token,
                               trie.token_ids().begin() + a.subtree_end);
  std::sort(under_a.begin(), under_a.end());
  EXPECT_EQ(under_a, (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ(a.below, (uint64_t{1} << TokenTrie::bucket_of('"')) |
                         (uint64_t{1} << TokenTrie::bucket_of('b')));
  EXPECT_TRUE(a.subtree_utf8_ok);
  EXPECT_FALSE(c3.subtree_utf8_ok);  // "\xC3(" breaks the character
  EXPECT_FALSE(root.subtree_utf8_ok);
  EXPECT_EQ(root.subtree_end, 7u);
  EXPECT_NE(TokenTrie::bucket_of('"'), TokenTrie::bucket_of('\\'));
  EXPECT_EQ(TokenTrie::bucket_of(0x80), TokenTrie::bucket_of(0xFF));
}

// Compaction renumbers the node pool, so a later state can get the very ids an earlier state had:
// the memoized masks must be dropped then.
TEST(GrammarMask, CompactionDropsMemoizedMasks) {
  MatcherLimits limits;
  limits.compact_above = 1;  // compact after every accepted token
  GrammarMatcher m(compile(R"(root ::= "a" "b" "c")"), limits);
  std::vector<std::string> vocab{"a", "b", "c", ""};
  TokenTrie trie(vocab);
  std::vector<int32_t> eog{3};
  std::vector<bool> mask;
  m.allowed_tokens(trie, eog, mask);
  EXPECT_EQ(mask, (std::vector<bool>{true, false, false, false}));
  ASSERT_TRUE(m.accept("a"));
  m.allowed_tokens(trie, eog, mask);
  EXPECT_EQ(mask, (std::vector<bool>{false, true, false, false}));
  ASSERT_TRUE(m.accept("b"));
  m.allowed_tokens(trie, eog, mask);
  EXPECT_EQ(mask, (std::vector<bool>{false, false, true, false}));
  m.reset();
  m.allowed_tokens(trie, eog, mask);
  EXPECT_EQ(mask, (std::vector<bool>{true, false, false, false}));
}
