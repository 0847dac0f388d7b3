// The embedded demo model (models/tandem-demo.gguf, trained by tools/train_demo_model.py) as a
// user meets it: it loads, its held-out perplexity matches the trainer's and is far below a
// unigram model's, `tandem run` with no model argument generates its fixed greedy text, and a chat
// turn rendered through its template ends at the end-of-turn token.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "chat/chat_prompt.h"
#include "gguf/file.h"
#include "model/evaluator.h"
#include "runtime/generate.h"
#include "runtime/kv_cache.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"
#include "sample/sampler.h"

namespace tandem {
namespace {

const std::string kModel = TANDEM_DEFAULT_MODEL;
const std::string kTandem = std::string(TANDEM_BINARY_DIR) + "/src/cli/tandem";
const std::string kHeldOut = std::string(TANDEM_SOURCE_DIR) + "/tests/demo_model/heldout_kjv.txt";

// What the shipped model generates greedily (it is fixed, so its output is); retraining it means
// updating these.
const std::string kExpectedGreedy =
    " of the LORD, and the LORD thy God, and the LORD thy God, and thy God, and thy God,\n";
const std::string kExpectedChatReply =
    "It is written in 2:11 says: And the LORD said unto him, Behold, I have not done, and I will be a man of the LORD, and I will be with thee.";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Held-out chapters: verses one per line, chapters separated by a blank line.
std::vector<std::string> held_out_chapters() {
  std::string text = read_file(kHeldOut);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = text.find("\n\n", start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return out;
}

// Runs a command, returning its stdout (stderr to /dev/null) and exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  std::FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return {"", -1};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  return {out, pclose(p)};
}

class DemoModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = runtime::LoadedModel::open(kModel).release(); }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static runtime::LoadedModel* model_;
};
runtime::LoadedModel* DemoModelTest::model_ = nullptr;

TEST_F(DemoModelTest, IsASmallLlamaWithItsOwnTokenizerAndModelCard) {
  const auto& hp = model_->model->hparams();
  EXPECT_EQ(hp.arch, "llama");
  EXPECT_EQ(hp.n_ctx_train, 256);
  const gguf::File& f = *model_->file;
  EXPECT_EQ(f.find("general.name")->as_string(), "tandem-demo");
  EXPECT_EQ(f.find("general.license")->as_string(), "CC0-1.0");
  EXPECT_NE(f.find("tandem.demo.data.sources")->as_string().find("bible-kjv-text"), std::string::npos);
  EXPECT_NE(f.find("tokenizer.chat_template"), nullptr);
  EXPECT_LT(f.file_size(), 25u << 20);
  const auto& tok = *model_->tokenizer;
  // Special tokens are control tokens and both end-of-text and end-of-turn stop generation.
  const auto im_end = tok.encode("<|im_end|>", false, true);
  ASSERT_EQ(im_end.size(), 1u);
  EXPECT_TRUE(tok.is_control(im_end[0]));
  EXPECT_TRUE(tok.is_eog(im_end[0]));
  EXPECT_TRUE(tok.is_eog(tok.eos()));
  EXPECT_EQ(tok.decode(tok.encode("In the beginning God created", false, false)), "In the beginning God created");
}

// Perplexity over the held-out books, windowed exactly as tools/train_demo_model.py does: each
// chapter as [BOS] text [EOS] cut into windows of n_ctx tokens, every token but a window's first
// predicted from the window before it.
TEST_F(DemoModelTest, HeldOutPerplexityMatchesTrainerAndBeatsUnigram) {
  const auto& tok = *model_->tokenizer;
  const model::Model& m = *model_->model;
  const int64_t n_ctx = m.hparams().n_ctx_train;
  ThreadPool pool(2);
  model::Evaluator ev(m, pool);
  double nll = 0.0;
  std::map<int32_t, int64_t> counts;
  int64_t n = 0;
  for (const std::string& chapter : held_out_chapters()) {
    std::vector<int32_t> ids = tok.encode(chapter, /*add_special=*/true, /*parse_special=*/false);
    ids.push_back(tok.eos());
    for (size_t start = 0; start + 1 < ids.size(); start += static_cast<size_t>(n_ctx)) {
      const size_t len = std::min(ids.size() - start, static_cast<size_t>(n_ctx));
      runtime::KvCache kv(m.kv_shape(), {tensor::Type::F32, n_ctx, 1});
      std::vector<model::BatchToken> batch;
      for (size_t i = 0; i < len; ++i)
        batch.push_back({ids[start + i], static_cast<int32_t>(i), 0, i + 1 < len});
      const model::ForwardOutput& out = ev.forward(batch, kv);
      ASSERT_EQ(out.rows(), len - 1);
      for (size_t r = 0; r + 1 < len; ++r) {
        const auto row = out.logits_row(r);
        double mx = row[0];
        for (float v : row) mx = std::max(mx, static_cast<double>(v));
        double sum = 0.0;
        for (float v : row) sum += std::exp(static_cast<double>(v) - mx);
        const int32_t target = ids[start + r + 1];
        nll -= static_cast<double>(row[static_cast<size_t>(target)]) - mx - std::log(sum);
        ++counts[target];
        ++n;
      }
    }
  }
  const double ppl = std::exp(nll / static_cast<double>(n));
  // A unigram model fit on the held-out tokens themselves: the best any unigram model can do here.
  double uni_nll = 0.0;
  for (const auto& [id, c] : counts)
    uni_nll -= static_cast<double>(c) * std::log(static_cast<double>(c) / static_cast<double>(n));
  const double unigram_ppl = std::exp(uni_nll / static_cast<double>(n));
  const double trainer_ppl = model_->file->find("tandem.demo.eval.heldout_perplexity")->as_double();
  std::printf("held-out tokens %lld: perplexity %.2f (trainer: %.2f), unigram (fit on held-out) %.1f\n",
              static_cast<long long>(n), ppl, trainer_ppl, unigram_ppl);
  RecordProperty("heldout_perplexity", std::to_string(ppl));
  RecordProperty("unigram_perplexity", std::to_string(unigram_ppl));
  EXPECT_EQ(n, model_->file->find("tandem.demo.eval.heldout_tokens")->as_int());
  EXPECT_NEAR(ppl, trainer_ppl, 0.01 * trainer_ppl);  // tandem's forward pass == torch's
  EXPECT_LT(ppl, unigram_ppl / 4.0);
}

TEST(DemoModelCli, RunWithoutModelArgumentGeneratesTheFixedGreedyText) {
  const std::string args = " -p 'In the beginning' -n 24 --temp 0 -q -t 2";
  const auto [explicit_out, rc1] = run(kTandem + " run " + kModel + args);
  ASSERT_EQ(rc1, 0);
  const auto [default_out, rc2] = run(kTandem + " run" + args);
  ASSERT_EQ(rc2, 0);
  EXPECT_EQ(default_out, explicit_out);
  EXPECT_EQ(explicit_out, kExpectedGreedy);
}

TEST_F(DemoModelTest, ChatAnswerEndsAtEndOfTurn) {
  auto chat = chat::ChatPrompt::from_gguf(*model_->file);
  ASSERT_FALSE(chat.is_default());
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  messages.push_back({{"role", "user"}, {"content", "What does the word \"light\" mean?"}});
  const std::string prompt = chat.render(messages, nullptr, true);
  EXPECT_EQ(prompt, "<|im_start|>user\nWhat does the word \"light\" mean?<|im_end|>\n<|im_start|>assistant\n");
  const auto& tok = *model_->tokenizer;
  const std::vector<int32_t> ids = tok.encode(prompt, true, true);
  ThreadPool pool(2);
  runtime::Session session(*model_, pool);
  sample::SamplerParams greedy;
  greedy.temperature = 0.0f;
  sample::Sampler sampler(greedy, tok.n_vocab());
  runtime::GenerateOptions options;
  options.max_tokens = 120;
  std::string reply;
  const auto stats = runtime::generate(session, sampler, ids, options, [&](std::string_view piece) {
    reply += piece;
    return true;
  });
  std::printf("reply: %s\n", reply.c_str());
  EXPECT_FALSE(reply.empty());
  // No stop strings and a callback that never refuses: Stop means an end-of-generation token.
  EXPECT_EQ(stats.finish, runtime::FinishReason::Stop);
  EXPECT_LT(stats.generated_tokens, options.max_tokens);
  // ... and that token is <|im_end|>, the end of the assistant's turn.
  std::vector<int32_t> all = ids;
  all.insert(all.end(), stats.tokens.begin(), stats.tokens.end());
  runtime::Session replay(*model_, pool);
  const std::span<const float> logits = replay.append(all);
  const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
  EXPECT_EQ(best, tok.encode("<|im_end|>", false, true).at(0));
  EXPECT_EQ(reply.find("<|im_"), std::string::npos);
  EXPECT_EQ(reply, kExpectedChatReply);
}

}  // namespace
}  // namespace tandem
