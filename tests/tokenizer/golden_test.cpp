// Golden tokenizer tests: every shared ggml-vocab-*.gguf that has .inp/.out must encode each
// test text to exactly the ids its reference tokenizer produced, and decode back to the text.
// File layout (as llama.cpp's test-tokenizer-0 reads it): the .inp holds texts separated by
// "\n__ggml_vocab_test__\n" (the file ends with one), the .out one line of ids per text.
// The texts are encoded without BOS/EOS and without parsing special tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gguf/file.h"
#include "shared_data.h"
#include "tokenizer/tokenizer.h"

namespace tandem::tokenizer {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Case> read_cases(const std::string& vocab_path) {
  const std::string inp = read_file(vocab_path + ".inp");
  const std::string out = read_file(vocab_path + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(inp.substr(pos));
      break;
    }
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<Case> cases;
  std::istringstream lines(out);
  std::string line;
  for (size_t i = 0; std::getline(lines, line); ++i) {
    Case c;
    c.text = i < texts.size() ? texts[i] : std::string();
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(texts.size(), cases.size()) << vocab_path << ": .inp and .out disagree on the number of tests";
  return cases;
}

std::string describe(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    s += std::to_string(id);
    if (id >= 0 && id < tok.n_vocab()) s += "'" + std::string(tok.token_text(id)) + "'";
    s += ' ';
  }
  return s;
}

std::string vocab_path(const std::string& name) {
  return ::tandem::testing::shared_dir() + "/testdata/vocab/ggml-vocab-" + name + ".gguf";
}

class GoldenVocab : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenVocab, EncodesEveryTextToTheReferenceIds) {
  TANDEM_REQUIRE_SHARED();
  const std::string path = vocab_path(GetParam());
  const gguf::File file = gguf::File::open(path);
  const Tokenizer tok = Tokenizer::from_gguf(file);
  const std::vector<Case> cases = read_cases(path);
  ASSERT_GT(cases.size(), 30u);
  // WordPiece lowercases and strips accents, so only the other models must round-trip.
  const bool lossless = tok.vocab().algorithm != Algorithm::WordPiece;
  size_t passed = 0;
  for (const Case& c : cases) {
    const std::vector<int32_t> got = tok.encode(c.text, /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(got, c.ids) << "text: '" << c.text << "'\n  expected: " << describe(tok, c.ids)
                          << "\n  got:      " << describe(tok, got);
    if (lossless) {
      EXPECT_EQ(tok.decode(got), c.text) << "round trip of '" << c.text << "'";
    }
    if (got == c.ids) ++passed;
  }
  EXPECT_EQ(passed, cases.size());
}

INSTANTIATE_TEST_SUITE_P(SharedVocabs, GoldenVocab,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "falcon", "deepseek-llm", "starcoder",
                                           "mpt", "bert-bge"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(GoldenVocab, EncodingFromManyThreadsAgrees) {
  TANDEM_REQUIRE_SHARED();
  // One Tokenizer shared by several threads, as the server's request handlers use it.
  const std::string path = vocab_path("deepseek-llm");
  const gguf::File file = gguf::File::open(path);
  const Tokenizer tok = Tokenizer::from_gguf(file);
  const std::vector<Case> cases = read_cases(path);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (const Case& c : cases) mismatches[t] += tok.encode(c.text, false, false) != c.ids;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(GoldenVocab, GptNeoxWithoutPreKeyUsesTheDefaultSplitAndRoundTrips) {
  TANDEM_REQUIRE_SHARED();
  const gguf::File file = gguf::File::open(vocab_path("gpt-neox"));
  const Tokenizer tok = Tokenizer::from_gguf(file);
  EXPECT_EQ(tok.vocab().pre, "default");
  const std::string text = "Hello world!\n\tThe year 2024 — ünïcödé 🦙  spaces";
  const std::vector<int32_t> ids = tok.encode(text, false, false);
  EXPECT_FALSE(ids.empty());
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(GoldenModel, Stories260KPromptWithBos) {
  TANDEM_REQUIRE_SHARED();
  const gguf::File file = gguf::File::open(::tandem::testing::shared_dir() + "/testdata/models/stories260K.gguf");
  const Tokenizer tok = Tokenizer::from_gguf(file);
  EXPECT_EQ(tok.n_vocab(), 512);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_TRUE(tok.is_eog(2));
  const std::vector<int32_t> ids = tok.encode("Once upon a time", /*add_special=*/true, /*parse_special=*/false);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok.decode(ids, {.skip_special = true}), "Once upon a time");
  EXPECT_EQ(tok.decode(ids), "<s>Once upon a time");
  EXPECT_EQ(tok.token_piece(403), " Once");
}

}  // namespace
}  // namespace tandem::tokenizer
