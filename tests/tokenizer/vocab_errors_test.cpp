// Corrupt or unsupported tokenizer metadata must fail to load with a FormatError that names the
// file and the key, never crash or fall back silently.
#include <gtest/gtest.h>

#include "test_vocabs.h"
#include "util/error.h"

namespace tandem::tokenizer {
namespace {

std::string load_error(const gguf::Writer& w) {
  try {
    test::load(w);
  } catch (const FormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a FormatError";
  return {};
}

TEST(VocabErrors, MissingTokens) {
  gguf::Writer w;
  w.set("tokenizer.ggml.model", gguf::Value::str("llama"));
  const std::string msg = load_error(w);
  EXPECT_NE(msg.find("test.gguf"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tokenizer.ggml.tokens"), std::string::npos) << msg;
}

TEST(VocabErrors, MissingModel) {
  gguf::Writer w;
  EXPECT_NE(load_error(w).find("tokenizer.ggml.model"), std::string::npos);
}

TEST(VocabErrors, ScoresLengthMismatch) {
  gguf::Writer w = test::spm_writer();
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array({0.0f, 1.0f}));
  const std::string msg = load_error(w);
  EXPECT_NE(msg.find("tokenizer.ggml.scores"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 entries"), std::string::npos) << msg;
}

TEST(VocabErrors, TokenTypeOutOfRange) {
  gguf::Writer w = test::spm_writer();
  std::vector<int32_t> types(test::spm_tokens().size(), 1);
  types[5] = 42;
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  EXPECT_NE(load_error(w).find("unknown type 42"), std::string::npos);
}

TEST(VocabErrors, SpecialIdOutsideVocabulary) {
  gguf::Writer w = test::spm_writer();
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(100000));
  const std::string msg = load_error(w);
  EXPECT_NE(msg.find("eos_token_id"), std::string::npos) << msg;
  EXPECT_NE(msg.find("100000"), std::string::npos) << msg;
}

TEST(VocabErrors, NoneIdIsAccepted) {
  // 0xFFFFFFFF means "no such token" (stories260K's padding id).
  const Tokenizer tok = test::load(test::spm_writer());
  EXPECT_EQ(tok.pad(), kNoToken);
}

TEST(VocabErrors, UnknownPreTokenizerIsNamed) {
  const std::string msg = load_error(test::bpe_writer("mystery-pre"));
  EXPECT_NE(msg.find("tokenizer.ggml.pre"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'mystery-pre'"), std::string::npos) << msg;
}

TEST(VocabErrors, UnsupportedModelIsNamed) {
  gguf::Writer w = test::spm_writer();
  w.set("tokenizer.ggml.model", gguf::Value::str("rwkv"));
  EXPECT_NE(load_error(w).find("'rwkv'"), std::string::npos);
}

TEST(VocabErrors, ByteLevelBpeNeedsMerges) {
  gguf::Writer bpe = test::bpe_writer();
  gguf::Writer w;
  // The same vocabulary without its merges.
  test::ParsedGguf p = test::parse(bpe);
  for (const auto& [k, v] : p.file->metadata()) {
    if (k != "tokenizer.ggml.merges") w.set(k, v);
  }
  EXPECT_NE(load_error(w).find("tokenizer.ggml.merges"), std::string::npos);
}

TEST(VocabErrors, MalformedMergeEntry) {
  gguf::Writer w = test::bpe_writer();
  w.set("tokenizer.ggml.merges", gguf::Value::str_array({"h e", "nospace"}));
  EXPECT_NE(load_error(w).find("'nospace'"), std::string::npos);
}

TEST(VocabErrors, WrongValueTypeNamesTheKey) {
  gguf::Writer w = test::spm_writer();
  w.set("tokenizer.ggml.tokens", gguf::Value::u32(7));
  EXPECT_NE(load_error(w).find("tokenizer.ggml.tokens"), std::string::npos);
}

TEST(VocabErrors, TokensThatAreNotStringsNameTheKey) {
  gguf::Writer w = test::spm_writer();
  w.set("tokenizer.ggml.tokens", gguf::Value::i32_array(std::vector<int32_t>(test::spm_tokens().size(), 1)));
  const std::string msg = load_error(w);
  EXPECT_NE(msg.find("'tokenizer.ggml.tokens'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected strings"), std::string::npos) << msg;
}

TEST(VocabErrors, ScoresThatAreNotNumbersNameTheKey) {
  gguf::Writer w = test::spm_writer();
  w.set("tokenizer.ggml.scores",
        gguf::Value::str_array(std::vector<std::string>(test::spm_tokens().size(), "x")));
  const std::string msg = load_error(w);
  EXPECT_NE(msg.find("'tokenizer.ggml.scores'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a number"), std::string::npos) << msg;
}

TEST(VocabErrors, EmptyTokenTextsGetUniqueNames) {
  // Some converted vocabularies hold empty entries; two of them must not count as a repeat.
  std::vector<test::TokenSpec> tokens = test::spm_tokens();
  const auto first = static_cast<int32_t>(tokens.size());
  tokens.push_back({"", 0, 5});
  tokens.push_back({"", 0, 5});
  gguf::Writer w = test::spm_writer();
  test::set_tokens(w, tokens);
  const Tokenizer tok = test::load(w);  // the File is gone by now: the Tokenizer owns its texts
  EXPECT_EQ(tok.token_text(first), "[EMPTY_" + std::to_string(first) + "]");
  EXPECT_EQ(tok.token_text(first + 1), "[EMPTY_" + std::to_string(first + 1) + "]");
  EXPECT_EQ(tok.token_text(259), "\xE2\x96\x81" "a");
  EXPECT_EQ(tok.token_piece(259), " a");
}

TEST(VocabErrors, DuplicateTokenText) {
  std::vector<test::TokenSpec> tokens = test::spm_tokens();
  tokens.push_back(tokens[260]);
  gguf::Writer w = test::spm_writer();
  test::set_tokens(w, tokens);
  EXPECT_NE(load_error(w).find("repeats"), std::string::npos);
}

TEST(VocabErrors, AddBosWithoutBos) {
  gguf::Writer w = test::bpe_writer();
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::i32(-1));
  w.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(true));
  EXPECT_NE(load_error(w).find("add_bos_token"), std::string::npos);
}

}  // namespace
}  // namespace tandem::tokenizer
