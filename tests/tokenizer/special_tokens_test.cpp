#include <gtest/gtest.h>

#include "test_vocabs.h"

namespace tandem::tokenizer {
namespace {

using Ids = std::vector<int32_t>;

TEST(SpecialTokens, ParsedOnlyWhenAsked) {
  const Tokenizer tok = test::load(test::bpe_writer());
  const int32_t im_start = tok.vocab().find("<|im_start|>");
  const int32_t hello = tok.vocab().find("hello");
  const Ids parsed = tok.encode("<|im_start|>hello", false, /*parse_special=*/true);
  EXPECT_EQ(parsed, (Ids{im_start, hello}));
  const Ids literal = tok.encode("<|im_start|>hello", false, /*parse_special=*/false);
  EXPECT_EQ(literal.back(), hello);
  for (int32_t id : literal) EXPECT_NE(id, im_start);
  EXPECT_EQ(tok.decode(literal), "<|im_start|>hello");
  EXPECT_EQ(tok.decode(parsed), "<|im_start|>hello");
  EXPECT_EQ(tok.decode(parsed, {.skip_special = true}), "hello");
}

TEST(SpecialTokens, LongestMatchWins) {
  const Tokenizer tok = test::load(test::bpe_writer());
  const Ids ids = tok.encode("<|im_end|>x<|im_end|>", false, true);
  EXPECT_EQ(ids, (Ids{tok.vocab().find("<|im_end|>x"), tok.vocab().find("<|im_end|>")}));
}

TEST(SpecialTokens, UserDefinedTokensAreAlwaysMatched) {
  const Tokenizer tok = test::load(test::bpe_writer());
  const int32_t user = tok.vocab().find("<|user|>");
  EXPECT_EQ(tok.encode("<|user|> world", false, false), (Ids{user, tok.vocab().find("Ġworld")}));
}

TEST(SpecialTokens, BosEosFollowTheVocabularyFlags) {
  gguf::Writer w = test::bpe_writer();
  w.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(true));
  w.set("tokenizer.ggml.add_eos_token", gguf::Value::boolean(true));
  const Tokenizer tok = test::load(w);
  const Ids ids = tok.encode("hello", /*add_special=*/true, false);
  EXPECT_EQ(ids, (Ids{tok.bos(), tok.vocab().find("hello"), tok.eos()}));
  EXPECT_EQ(tok.encode("hello", /*add_special=*/false, false), (Ids{tok.vocab().find("hello")}));
}

TEST(SpecialTokens, SentencePieceAddsTheSpacePrefixAfterSpecials) {
  const Tokenizer tok = test::load(test::spm_writer());
  const int32_t a = tok.vocab().find("\xE2\x96\x81" "a");
  const int32_t b = tok.vocab().find("\xE2\x96\x81" "b");
  EXPECT_EQ(tok.encode("a", true, false), (Ids{1, a}));
  EXPECT_EQ(tok.encode("<s>a</s>b", false, true), (Ids{1, a, 2, b}));
  EXPECT_EQ(tok.decode(Ids{1, a, 2, b}), "<s>a</s>b");
  // Without parse_special, "<s>" is text: spelled from byte tokens.
  const Ids literal = tok.encode("<s>", false, false);
  EXPECT_EQ(tok.decode(literal), "<s>");
  for (int32_t id : literal) EXPECT_NE(id, 1);
}

TEST(SpecialTokens, SentencePieceMergesByScoreAndFallsBackToBytes) {
  const Tokenizer tok = test::load(test::spm_writer());
  // "▁ab" (score -4) beats stopping at "▁a"+"b": merges continue while a piece exists.
  EXPECT_EQ(tok.encode("ab", false, false), (Ids{tok.vocab().find("\xE2\x96\x81" "ab")}));
  // 'z' has no piece: byte fallback <0x7A>.
  EXPECT_EQ(tok.encode("z", false, false), (Ids{tok.vocab().find("\xE2\x96\x81"), 3 + 'z'}));
}

TEST(SpecialTokens, EndOfGenerationIncludesKnownTexts) {
  const Tokenizer tok = test::load(test::bpe_writer());
  const int32_t im_end = tok.vocab().find("<|im_end|>");
  EXPECT_TRUE(tok.is_eog(im_end));
  EXPECT_EQ(tok.eot(), im_end);
  EXPECT_TRUE(tok.is_control(im_end));
  EXPECT_FALSE(tok.is_eog(tok.vocab().find("hello")));
}

}  // namespace
}  // namespace tandem::tokenizer
