// runtime::Embedder: pooled, unit-length embeddings. Checked against the Evaluator's own hidden
// rows (computed independently here), against the NumPy reference forward pass (reference.py,
// float64), across batching (several inputs in one pass == each alone), for every pooling type
// the GGUF can ask for, and for the errors a client can cause. Uses a random-weight llama written
// by the model tests' helper (no tokenizer: token ids only) and the shipped demo model (text).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "model/evaluator.h"
#include "model/test_models.h"
#include "runtime/embedder.h"
#include "runtime/kv_cache.h"
#include "runtime/session.h"
#include "server/api_error.h"
#include "server/local_backend.h"
#include "util/error.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using runtime::Embedder;
using runtime::EmbedderOptions;
using runtime::EmbeddingInput;
using runtime::Pooling;

const std::string kDemoModel = std::string(TANDEM_SOURCE_DIR) + "/models/tandem-demo.gguf";

// Options with what a test varies; the rest default.
EmbedderOptions opts(int threads, int64_t n_batch = 512, tensor::Type kv = tensor::Type::F16,
                     int64_t n_ctx = 0) {
  EmbedderOptions o;
  o.threads = threads;
  o.n_batch = n_batch;
  o.kv_type = kv;
  o.n_ctx = n_ctx;
  return o;
}

double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

std::vector<float> normalized(std::vector<double> v) {
  double s = 0;
  for (double x : v) s += x * x;
  std::vector<float> out;
  for (double x : v) out.push_back(static_cast<float>(x / std::sqrt(s)));
  return out;
}

std::vector<int32_t> ids(int n, int salt, int n_vocab) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back((i * 37 + salt * 101 + 5) % n_vocab);
  return out;
}

// A random-weight test model opened as the runtime opens models (no tokenizer: test models have
// none, so inputs are token ids).
class TestModelFile {
 public:
  explicit TestModelFile(const std::string& tag, int64_t pooling_type = -1) {
    dir_ = fs::temp_directory_path() / ("tandem-embed-" + tag + "-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "model.gguf").string();
    testing::TestModelSpec spec = testing::spec_for("llama", tensor::Type::F32);
    if (pooling_type >= 0)
      spec.edit = [pooling_type](gguf::Writer& w) {
        w.set("llama.pooling_type", gguf::Value::u32(static_cast<uint32_t>(pooling_type)));
      };
    testing::write_test_model(spec, path_);
    loaded_.path = path_;
    loaded_.file = std::make_unique<gguf::File>(gguf::File::open(path_));
    loaded_.model = std::make_unique<model::Model>(model::Model::load(*loaded_.file));
  }
  ~TestModelFile() { fs::remove_all(dir_); }
  const runtime::LoadedModel& loaded() const { return loaded_; }
  const model::Model& model() const { return *loaded_.model; }
  int n_vocab() const { return static_cast<int>(loaded_.model->hparams().n_vocab); }

 private:
  fs::path dir_;
  std::string path_;
  runtime::LoadedModel loaded_;
};

// Final hidden rows of one sequence, straight from the Evaluator, with `outputs`.
std::vector<std::vector<float>> hidden_rows(const model::Model& m, const std::vector<int32_t>& tokens,
                                            tensor::Type kv_type, model::ForwardOutputs outputs,
                                            std::vector<float>* logits = nullptr) {
  ThreadPool pool(2);
  model::Evaluator ev(m, pool);
  runtime::KvCache kv(m.kv_shape(), {kv_type, static_cast<int64_t>(tokens.size()), 1});
  std::vector<model::BatchToken> batch;
  for (size_t i = 0; i < tokens.size(); ++i) batch.push_back({tokens[i], static_cast<int32_t>(i), 0, true});
  const model::ForwardOutput& out = ev.forward(batch, kv, outputs);
  std::vector<std::vector<float>> rows;
  for (size_t r = 0; r < out.rows(); ++r) rows.emplace_back(out.hidden_row(r).begin(), out.hidden_row(r).end());
  if (logits) *logits = out.logits;
  return rows;
}

std::vector<float> embed_one(Embedder& e, const EmbeddingInput& in, std::optional<int> dims = {}) {
  std::vector<EmbeddingInput> v{in};
  return e.embed(v, dims).vectors.at(0);
}

TEST(EvaluatorHiddenOnly, SameHiddenStatesWithoutLogits) {
  TestModelFile f("hidden-only");
  const auto tokens = ids(9, 1, f.n_vocab());
  std::vector<float> full_logits, skipped_logits;
  const auto with = hidden_rows(f.model(), tokens, tensor::Type::F32,
                                model::ForwardOutputs::LogitsAndHidden, &full_logits);
  const auto without = hidden_rows(f.model(), tokens, tensor::Type::F32,
                                   model::ForwardOutputs::HiddenOnly, &skipped_logits);
  ASSERT_EQ(with.size(), tokens.size());
  EXPECT_EQ(with, without);  // bit-identical: the flag only skips the last matmul
  EXPECT_EQ(full_logits.size(), tokens.size() * static_cast<size_t>(f.n_vocab()));
  EXPECT_TRUE(skipped_logits.empty());
}

TEST(Embedder, UnitLengthAndDeterministic) {
  TestModelFile f("unit");
  Embedder e(f.loaded(), opts(2));
  EXPECT_EQ(e.pooling(), Pooling::Mean);  // no pooling_type in the file
  const auto a = embed_one(e, ids(12, 2, f.n_vocab()));
  const auto b = embed_one(e, ids(12, 2, f.n_vocab()));
  ASSERT_EQ(a.size(), static_cast<size_t>(e.n_embd()));
  EXPECT_NEAR(norm(a), 1.0, 1e-5);
  EXPECT_EQ(a, b);
  ThreadPool shared(2);  // an Embedder on a pool it is given computes the same
  Embedder on_shared(f.loaded(), shared, opts(0));
  EXPECT_EQ(embed_one(on_shared, ids(12, 2, f.n_vocab())), a);
  const auto c = embed_one(e, ids(12, 3, f.n_vocab()));
  EXPECT_GT(max_abs_diff(a, c), 1e-3);  // different text, different vector
}

TEST(Embedder, MeanPoolingIsTheMeanOfTheEvaluatorsHiddenRows) {
  TestModelFile f("mean");
  for (tensor::Type kv : {tensor::Type::F32, tensor::Type::F16}) {
    Embedder e(f.loaded(), opts(2, 512, kv));
    const auto tokens = ids(17, 4, f.n_vocab());
    const auto rows = hidden_rows(f.model(), tokens, kv, model::ForwardOutputs::LogitsAndHidden);
    std::vector<double> mean(rows[0].size(), 0.0);
    for (const auto& r : rows)
      for (size_t k = 0; k < r.size(); ++k) mean[k] += r[k] / double(rows.size());
    EXPECT_LT(max_abs_diff(embed_one(e, tokens), normalized(mean)), 1e-6);
  }
}

TEST(Embedder, BatchOfInputsEqualsEachInputAlone) {
  TestModelFile f("batch");
  const int nv = f.n_vocab();
  const std::vector<EmbeddingInput> inputs{ids(5, 1, nv), ids(30, 2, nv), ids(1, 3, nv),
                                           ids(64, 4, nv), ids(12, 5, nv)};
  // n_batch 512: all five share one pass. n_batch 16: groups split, and the 30- and 64-token
  // inputs run alone in chunks of 16 over several passes.
  for (int64_t n_batch : {512, 16}) {
    Embedder e(f.loaded(), opts(2, n_batch));
    const runtime::EmbeddingBatch together = e.embed(inputs);
    ASSERT_EQ(together.vectors.size(), inputs.size());
    EXPECT_EQ(together.tokens, 5 + 30 + 1 + 64 + 12);
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto alone = embed_one(e, inputs[i]);
      EXPECT_LT(max_abs_diff(together.vectors[i], alone), 1e-5) << "input " << i << " n_batch " << n_batch;
      EXPECT_NEAR(norm(together.vectors[i]), 1.0, 1e-5);
    }
  }
  // Chunked (n_batch 16) equals one pass (n_batch 512) for a long input.
  Embedder big(f.loaded(), opts(2, 512));
  Embedder small(f.loaded(), opts(1, 16));
  EXPECT_LT(max_abs_diff(embed_one(big, inputs[3]), embed_one(small, inputs[3])), 1e-5);
}

TEST(Embedder, PoolingTypeFromGguf) {
  const auto tokens = ids(10, 6, 384);
  {
    TestModelFile f("last", 3);
    Embedder e(f.loaded(), opts(2, 512, tensor::Type::F32));
    EXPECT_EQ(e.pooling(), Pooling::Last);
    const auto rows = hidden_rows(f.model(), tokens, tensor::Type::F32, model::ForwardOutputs::HiddenOnly);
    EXPECT_LT(max_abs_diff(embed_one(e, tokens), normalized({rows.back().begin(), rows.back().end()})), 1e-6);
    // Several inputs in one pass: each still pools its own last token.
    const std::vector<EmbeddingInput> two{tokens, ids(4, 7, 384)};
    EXPECT_LT(max_abs_diff(e.embed(two).vectors[0], embed_one(e, tokens)), 1e-5);
  }
  {
    TestModelFile f("cls", 2);
    Embedder e(f.loaded(), opts(2, 512, tensor::Type::F32));
    EXPECT_EQ(e.pooling(), Pooling::Cls);
    const auto rows = hidden_rows(f.model(), tokens, tensor::Type::F32, model::ForwardOutputs::HiddenOnly);
    EXPECT_LT(max_abs_diff(embed_one(e, tokens), normalized({rows[0].begin(), rows[0].end()})), 1e-6);
  }
  {
    TestModelFile f("mean1", 1);
    EXPECT_EQ(Embedder(f.loaded(), opts(1)).pooling(), Pooling::Mean);
  }
  {
    TestModelFile f("rank", 4);
    try {
      Embedder e(f.loaded(), opts(1));
      FAIL() << "pooling_type 4 accepted";
    } catch (const InvalidArgument& err) {
      EXPECT_NE(std::string(err.what()).find("llama.pooling_type"), std::string::npos) << err.what();
    }
  }
}

TEST(Embedder, DimensionsTruncateAndRenormalize) {
  TestModelFile f("dims");
  Embedder e(f.loaded(), opts(2));
  const auto tokens = ids(8, 8, f.n_vocab());
  const auto full = embed_one(e, tokens);
  const auto cut = embed_one(e, tokens, 64);
  ASSERT_EQ(cut.size(), 64u);
  EXPECT_NEAR(norm(cut), 1.0, 1e-5);
  EXPECT_LT(max_abs_diff(cut, normalized({full.begin(), full.begin() + 64})), 1e-6);
  EXPECT_EQ(embed_one(e, tokens, static_cast<int>(e.n_embd())), full);
}

void expect_invalid(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Embedder, ErrorsNameTheProblem) {
  TestModelFile f("errors");
  Embedder e(f.loaded(), opts(1, 512, tensor::Type::F16, 64));
  EXPECT_EQ(e.n_ctx(), 64);
  const int nv = f.n_vocab();
  expect_invalid([&] { embed_one(e, ids(65, 1, nv)); }, "64 tokens");
  expect_invalid([&] { embed_one(e, ids(65, 1, nv)); }, "input is 65 tokens long");
  embed_one(e, ids(64, 1, nv));  // exactly the context: fine
  const std::vector<EmbeddingInput> two{ids(3, 1, nv), ids(70, 2, nv)};
  expect_invalid([&] { e.embed(two); }, "input[1]");
  expect_invalid([&] { embed_one(e, ids(3, 1, nv), 0); }, "dimensions");
  expect_invalid([&] { embed_one(e, ids(3, 1, nv), static_cast<int>(e.n_embd()) + 1); },
                 "dimensions must be between 1 and 256");
  expect_invalid([&] { embed_one(e, std::vector<int32_t>{}); }, "input must not be empty");
  expect_invalid([&] { embed_one(e, std::string()); }, "input must not be empty");
  expect_invalid([&] { embed_one(e, std::vector<int32_t>{1, nv}); }, "input[1] = 384");
  expect_invalid([&] { embed_one(e, std::vector<int32_t>{-1}); }, "not a token id");
  expect_invalid([&] { embed_one(e, std::string("hello")); }, "no tokenizer");
  expect_invalid([&] { e.embed(std::span<const EmbeddingInput>{}); }, "input must not be empty");
  // Errors leave the embedder usable.
  EXPECT_NEAR(norm(embed_one(e, ids(5, 1, nv))), 1.0, 1e-5);
}

TEST(Embedder, ConcurrentCallsMatchSequentialOnes) {
  TestModelFile f("threads");
  Embedder e(f.loaded(), opts(1));
  const int nv = f.n_vocab();
  std::vector<std::vector<float>> want;
  for (int i = 0; i < 4; ++i) want.push_back(embed_one(e, ids(20 + i, i, nv)));
  std::vector<std::vector<float>> got(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 3; ++rep) got[static_cast<size_t>(i)] = embed_one(e, ids(20 + i, i, nv));
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], want[static_cast<size_t>(i)]);
}

// The demo model, from text: BOS as its tokenizer says, and the embedding equals the normalized
// mean of the NumPy reference's float64 hidden states for the same tokens.
TEST(EmbedderDemoModel, MatchesNumpyReferenceFromText) {
  auto loaded = runtime::LoadedModel::open(kDemoModel);
  Embedder e(*loaded, opts(2, 512, tensor::Type::F32));
  const std::string text = "In the beginning God created the heaven and the earth.";
  const auto tokens = e.tokenize(text);
  ASSERT_GT(tokens.size(), 3u);
  EXPECT_EQ(tokens[0], loaded->tokenizer->bos());  // add_bos_token is true in this model
  EXPECT_EQ(embed_one(e, text), embed_one(e, tokens));

  const fs::path dir = fs::temp_directory_path() / ("tandem-embed-ref-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string csv;
  for (int32_t t : tokens) csv += (csv.empty() ? "" : ",") + std::to_string(t);
  const std::string out = (dir / "hidden.bin").string();
  const std::string cmd = std::string(TANDEM_PYTHON) + " " + TANDEM_SOURCE_DIR + "/tests/model/reference.py " +
                          kDemoModel + " " + dir.string() + " " + csv + " 0 " + out + " exact hidden";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const size_t d = static_cast<size_t>(e.n_embd());
  std::vector<double> hidden(tokens.size() * d);
  std::ifstream in(out, std::ios::binary);
  in.read(reinterpret_cast<char*>(hidden.data()), static_cast<std::streamsize>(hidden.size() * 8));
  ASSERT_TRUE(in.good()) << "short reference output";
  fs::remove_all(dir);
  std::vector<double> mean(d, 0.0);
  for (size_t t = 0; t < tokens.size(); ++t)
    for (size_t k = 0; k < d; ++k) mean[k] += hidden[t * d + k] / double(tokens.size());
  const double diff = max_abs_diff(embed_one(e, text), normalized(mean));
  std::printf("[embedder] demo model vs NumPy float64: max |diff| %.3g over %zu dims\n", diff, d);
  EXPECT_LT(diff, 1e-5);
}

TEST(EmbedderDemoModel, TimingOfOneCall) {
  auto loaded = runtime::LoadedModel::open(kDemoModel);
  Embedder e(*loaded, opts(2));
  const std::vector<EmbeddingInput> one{std::string("And God said, Let there be light: and there was light.")};
  std::vector<EmbeddingInput> eight;
  for (int i = 0; i < 8; ++i)
    eight.push_back("Verse " + std::to_string(i) + ": the LORD is my shepherd; I shall not want.");
  e.embed(one);  // warm-up
  auto time_ms = [&](const std::vector<EmbeddingInput>& in, int64_t& tokens) {
    const auto t0 = std::chrono::steady_clock::now();
    tokens = e.embed(in).tokens;
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  std::string verses;
  for (int i = 0; i < 16; ++i) verses += "In the beginning God created the heaven and the earth. ";
  const std::vector<EmbeddingInput> long_one{verses};
  int64_t t1 = 0, t8 = 0, tl = 0;
  const double ms1 = time_ms(one, t1), ms8 = time_ms(eight, t8), msl = time_ms(long_one, tl);
  std::printf("[embedder] demo model, 2 threads: 1 input (%lld tokens) %.2f ms; 8 inputs (%lld "
              "tokens) %.2f ms; 1 input (%lld tokens) %.2f ms\n",
              static_cast<long long>(t1), ms1, static_cast<long long>(t8), ms8,
              static_cast<long long>(tl), msl);
  // For scale: the same long input as a generation prompt (Session, logits of the last token).
  ThreadPool pool(2);
  runtime::Session session(*loaded, pool);
  const auto tokens = e.tokenize(verses);
  const auto t0 = std::chrono::steady_clock::now();
  session.append(tokens);
  std::printf("[embedder] same %zu tokens as a Session prompt: %.2f ms\n", tokens.size(),
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_GT(t8, t1);
}

// LocalBackend::embed (what POST /v1/embeddings calls): the Embedder's vectors, usage, and client
// errors as 400s naming the param.
TEST(LocalBackendEmbed, VectorsUsageAndParamErrors) {
  server::LocalBackendOptions o;
  o.model_id = "demo";
  o.scheduler.n_slots = 2;
  o.scheduler.threads = 1;
  server::LocalBackend backend(runtime::LoadedModel::open(kDemoModel), o);
  server::EmbeddingRequest req;
  req.model = "demo";
  req.inputs = {std::string("Jesus wept."), std::string("In the beginning")};
  const server::EmbeddingResult r = backend.embed(req);
  ASSERT_EQ(r.embeddings.size(), 2u);
  EXPECT_NEAR(norm(r.embeddings[0]), 1.0, 1e-5);

  auto loaded = runtime::LoadedModel::open(kDemoModel);
  Embedder e(*loaded, opts(1));
  EXPECT_LT(max_abs_diff(r.embeddings[1], embed_one(e, std::string("In the beginning"))), 1e-5);
  EXPECT_EQ(r.prompt_tokens, static_cast<int64_t>(e.tokenize(std::string("Jesus wept.")).size() +
                                                  e.tokenize(std::string("In the beginning")).size()));

  auto expect_400 = [&](server::EmbeddingRequest bad, const std::string& param, const std::string& needle) {
    try {
      backend.embed(bad);
      ADD_FAILURE() << "no error for " << param;
    } catch (const server::ApiError& err) {
      EXPECT_EQ(err.status(), 400);
      EXPECT_EQ(err.param().value_or(""), param);
      EXPECT_NE(err.message().find(needle), std::string::npos) << err.message();
    }
  };
  server::EmbeddingRequest dims = req;
  dims.dimensions = 257;
  expect_400(dims, "dimensions", "between 1 and 256");
  server::EmbeddingRequest too_long = req;
  too_long.inputs = {std::vector<int32_t>(300, 5)};
  expect_400(too_long, "input", "256 tokens");
  dims.dimensions = 8;
  EXPECT_EQ(backend.embed(dims).embeddings[1].size(), 8u);
}

}  // namespace
}  // namespace tandem
