#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/pretokenizer_table.h"
#include "util/error.h"

namespace tandem::tokenizer {
namespace {

std::vector<std::string> split(std::string_view pre, std::string_view text) {
  const PreTokenizerSpec* spec = find_pretokenizer(pre);
  EXPECT_NE(spec, nullptr) << pre;
  if (!spec) return {};
  PreTokenizer p(spec->patterns);
  std::vector<std::string> out;
  for (std::string_view piece : p.split(text)) out.emplace_back(piece);
  return out;
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, EveryKnownNameCompilesAndSplitsLosslessly) {
  const std::string text =
      "Hello, y'all! How ARE you 😁 ?我想在apple工作1314151天～ 3333333\n\n\t  x  \r\n"
      "нещо на Български IMGIMGABZ <sentinel:12> 'RE we'Ve";
  const std::vector<std::string_view> names = known_pretokenizer_names();
  EXPECT_GE(names.size(), 60u);
  for (std::string_view name : names) {
    const PreTokenizerSpec* spec = find_pretokenizer(name);
    ASSERT_NE(spec, nullptr);
    PreTokenizer p(spec->patterns);
    std::string joined;
    for (std::string_view piece : p.split(text)) {
      EXPECT_FALSE(piece.empty()) << name;
      joined += piece;
    }
    EXPECT_EQ(joined, text) << name;
  }
}

TEST(PreTokenizer, RequiredNamesAreKnown) {
  for (const char* name : {"default", "llama3", "llama-bpe", "qwen2", "gpt-2", "deepseek-llm", "deepseek-coder",
                           "falcon", "starcoder", "mpt", "olmo", "phi-2", "refact", "command-r", "stablelm2",
                           "smollm", "chatglm-bpe", "poro-chat", "viking", "jais", "tekken", "smaug-bpe", "dbrx",
                           "bloom", "gpt3-finnish", "exaone", "minerva-7b", "chameleon", "codeshell", "gpt-4o",
                           "superbpe", "trillion", "bailingmoe", "llama4", "seed-coder", "kimi-k2"}) {
    EXPECT_NE(find_pretokenizer(name), nullptr) << name;
  }
  EXPECT_EQ(find_pretokenizer("no-such-pre"), nullptr);
}

TEST(PreTokenizer, WhitespaceLookaheadLeavesOneSpaceForTheNextWord) {
  // \s+(?!\S) backtracks so the last space stays with the following word, as in Hugging Face.
  EXPECT_EQ(split("gpt-2", "Hello   world"), (Pieces{"Hello", "  ", " world"}));
  EXPECT_EQ(split("gpt-2", "a   "), (Pieces{"a", "   "}));
  EXPECT_EQ(split("gpt-2", "\n\n  x"), (Pieces{"\n\n ", " x"}));
  EXPECT_EQ(split("gpt-2", "I'm here"), (Pieces{"I", "'m", " here"}));
}

TEST(PreTokenizer, Llama3GroupsDigitsByThreeAndFoldsContractionCase) {
  EXPECT_EQ(split("llama-bpe", "12345"), (Pieces{"123", "45"}));
  EXPECT_EQ(split("llama-bpe", "WE'RE"), (Pieces{"WE", "'RE"}));
  EXPECT_EQ(split("llama-bpe", "a\n\nb"), (Pieces{"a", "\n\n", "b"}));
  EXPECT_EQ(split("qwen2", "123"), (Pieces{"1", "2", "3"}));
}

TEST(PreTokenizer, SequencesApplyEachPatternToEveryPiece) {
  EXPECT_EQ(split("starcoder", "x12 y"), (Pieces{"x", "1", "2", " y"}));
  // A pure lookahead splits digits into groups of three from the right.
  EXPECT_EQ(split("superbpe", "1234567"), (Pieces{"1", "234", "567"}));
}

TEST(PreTokenizer, InvalidUtf8BytesBecomeTheirOwnPieces) {
  const std::string text = "ab\xFF" "cd \xC3";
  std::string joined;
  bool saw_ff = false;
  for (const std::string& piece : split("gpt-2", text)) {
    joined += piece;
    saw_ff = saw_ff || piece == "\xFF";
  }
  EXPECT_EQ(joined, text);
  EXPECT_TRUE(saw_ff);
}

TEST(PreTokenizer, BadPatternIsAnInvalidArgument) {
  EXPECT_THROW(PreTokenizer({"(unclosed"}), InvalidArgument);
}

}  // namespace
}  // namespace tandem::tokenizer
