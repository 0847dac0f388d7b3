// Bad model files and bad requests fail with errors that name what was wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "gguf/file.h"
#include "model/evaluator.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "test_models.h"
#include "util/error.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::TestModelSpec;

class BadModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / ("tandem-bad-model-" + std::to_string(getpid()) + ".gguf")).string();
  }
  void TearDown() override { fs::remove(path_); }

  // Writes the spec, loads it, and returns the FormatError message (fails if loading succeeds).
  std::string load_error(const TestModelSpec& spec) {
    testing::write_test_model(spec, path_);
    gguf::File file = gguf::File::open(path_);
    try {
      model::Model::load(file);
    } catch (const FormatError& e) {
      return e.what();
    }
    ADD_FAILURE() << "loading succeeded";
    return {};
  }

  static TestModelSpec small(const std::string& arch = "llama") {
    TestModelSpec s = testing::spec_for(arch, tensor::Type::F32);
    s.n_layer = 2;
    return s;
  }

  std::string path_;
};

TEST_F(BadModelTest, MissingTensorIsNamed) {
  TestModelSpec s = small();
  s.skip_tensor = "blk.1.ffn_down.weight";
  const std::string msg = load_error(s);
  EXPECT_NE(msg.find("missing tensor 'blk.1.ffn_down.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path_), std::string::npos) << msg;
}

TEST_F(BadModelTest, WrongTensorShapeIsNamedWithBothShapes) {
  TestModelSpec s = small();
  s.skip_tensor = "blk.0.attn_k.weight";
  s.edit = [](gguf::Writer& w) {
    std::vector<float> zeros(256 * 64, 0.0f);
    w.add_tensor_f32("blk.0.attn_k.weight", tensor::Type::F32, {256, 64}, zeros.data());
  };
  const std::string msg = load_error(s);
  EXPECT_NE(msg.find("'blk.0.attn_k.weight' has shape [256, 64], expected [256, 128]"),
            std::string::npos) << msg;
}

TEST_F(BadModelTest, UnsupportedArchitectureIsNamed) {
  TestModelSpec s = small();
  s.edit = [](gguf::Writer& w) { w.set("general.architecture", gguf::Value::str("mamba")); };
  const std::string msg = load_error(s);
  EXPECT_NE(msg.find("unsupported architecture 'mamba'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("llama"), std::string::npos) << msg;
}

TEST_F(BadModelTest, MissingArchitectureKey) {
  TestModelSpec s = small();
  s.skip_key = "general.architecture";
  EXPECT_NE(load_error(s).find("general.architecture"), std::string::npos);
}

TEST_F(BadModelTest, MissingHyperParameterIsNamed) {
  for (const char* key : {"llama.block_count", "llama.embedding_length", "llama.feed_forward_length",
                          "llama.attention.layer_norm_rms_epsilon", "llama.context_length"}) {
    TestModelSpec s = small();
    s.skip_key = key;
    const std::string msg = load_error(s);
    EXPECT_NE(msg.find(std::string("'") + key + "' is missing"), std::string::npos) << msg;
  }
}

TEST_F(BadModelTest, HeadCountThatDoesNotDivideIsNamed) {
  TestModelSpec s = small();
  s.edit = [](gguf::Writer& w) { w.set("llama.attention.head_count_kv", gguf::Value::u32(3)); };
  const std::string msg = load_error(s);
  EXPECT_NE(msg.find("llama.attention.head_count_kv"), std::string::npos) << msg;
}

TEST_F(BadModelTest, WrongValueTypeIsNamed) {
  TestModelSpec s = small();
  s.edit = [](gguf::Writer& w) { w.set("llama.block_count", gguf::Value::str("two")); };
  const std::string msg = load_error(s);
  EXPECT_NE(msg.find("'llama.block_count' must be an integer"), std::string::npos) << msg;
}

TEST_F(BadModelTest, RopeDimensionsLargerThanTheHead) {
  TestModelSpec s = small();
  s.edit = [](gguf::Writer& w) { w.set("llama.rope.dimension_count", gguf::Value::u32(96)); };
  EXPECT_NE(load_error(s).find("llama.rope.dimension_count"), std::string::npos);
}

TEST_F(BadModelTest, UnsupportedRopeScalingIsNamed) {
  TestModelSpec s = small();
  s.edit = [](gguf::Writer& w) { w.set("llama.rope.scaling.type", gguf::Value::str("yarn")); };
  const std::string msg = load_error(s);
  EXPECT_NE(msg.find("'yarn' is not supported"), std::string::npos) << msg;
}

TEST_F(BadModelTest, Qwen2WithoutBiasesIsNamed) {
  TestModelSpec s = small("qwen2");
  s.skip_tensor = "blk.0.attn_k.bias";
  EXPECT_NE(load_error(s).find("'blk.0.attn_k.bias'"), std::string::npos);
}

TEST_F(BadModelTest, Qwen3WithoutQkNormIsNamed) {
  TestModelSpec s = small("qwen3");
  s.skip_tensor = "blk.1.attn_q_norm.weight";
  EXPECT_NE(load_error(s).find("'blk.1.attn_q_norm.weight'"), std::string::npos);
}

TEST_F(BadModelTest, TiedOutputNeedsNoOutputTensorButUntiedUsesIt) {
  TestModelSpec tied = small();
  tied.tied_output = true;
  testing::write_test_model(tied, path_);
  gguf::File file = gguf::File::open(path_);
  const model::Model m = model::Model::load(file);
  EXPECT_EQ(m.weights().output.data, m.weights().token_embd->data);
}

TEST_F(BadModelTest, BadRequestsAreRejectedBeforeAnyStateChanges) {
  testing::write_test_model(small(), path_);
  gguf::File file = gguf::File::open(path_);
  const model::Model m = model::Model::load(file);
  ThreadPool pool(1);
  model::Evaluator ev(m, pool);
  runtime::KvCache kv(m.kv_shape(), {tensor::Type::F16, 8, 1});

  std::vector<model::BatchToken> bad_token{{0, 0, 0, true}, {384, 1, 0, true}};
  EXPECT_THROW(ev.forward(bad_token, kv), InvalidArgument);
  EXPECT_EQ(kv.seq_len(0), 0);
  std::vector<model::BatchToken> gap{{5, 1, 0, true}};
  EXPECT_THROW(ev.forward(gap, kv), InvalidArgument);
  EXPECT_THROW(ev.forward({}, kv), InvalidArgument);
  std::vector<model::BatchToken> too_long(9);
  for (int32_t i = 0; i < 9; ++i) too_long[static_cast<size_t>(i)] = {1, i, 0, false};
  EXPECT_THROW(ev.forward(too_long, kv), InvalidArgument);
  EXPECT_EQ(kv.n_free_cells(), 8);

  runtime::KvCache other(model::KvShape{2, 2, 32, 32}, {tensor::Type::F16, 8, 1});
  std::vector<model::BatchToken> ok{{1, 0, 0, true}};
  EXPECT_THROW(ev.forward(ok, other), InvalidArgument);
  EXPECT_EQ(ev.forward(ok, kv).rows(), 1u);
}

}  // namespace
}  // namespace tandem
