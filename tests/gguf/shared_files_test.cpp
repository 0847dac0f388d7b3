// Real GGUF files from ../shared: the trained stories260K model and llama.cpp's vocabulary files.
#include <gtest/gtest.h>

#include <filesystem>

#include "gguf/file.h"
#include "shared_data.h"

namespace tandem::gguf {
namespace {

namespace fs = std::filesystem;

std::string stories_path() {
  return ::tandem::testing::shared_dir() + "/testdata/models/stories260K.gguf";
}

TEST(GgufSharedFiles, Stories260K) {
  TANDEM_REQUIRE_SHARED();
  File f = File::open(stories_path());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 19u);
  EXPECT_EQ(f.tensors().size(), 48u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset(), 14176u);
  EXPECT_EQ(f.file_size(), 1185376u);

  EXPECT_EQ(f.get<std::string>("general.architecture"), "llama");
  EXPECT_EQ(f.get<std::string>("general.name"), "llama");
  EXPECT_EQ(f.get<uint32_t>("llama.block_count"), 5u);
  EXPECT_EQ(f.get<uint32_t>("llama.embedding_length"), 64u);
  EXPECT_EQ(f.get<uint32_t>("llama.feed_forward_length"), 172u);
  EXPECT_EQ(f.get<uint32_t>("llama.attention.head_count"), 8u);
  EXPECT_EQ(f.get<uint32_t>("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(f.get<uint32_t>("llama.context_length"), 512u);
  EXPECT_EQ(f.get<uint32_t>("llama.rope.dimension_count"), 8u);
  EXPECT_FLOAT_EQ(f.get<float>("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_FALSE(f.has("llama.rope.freq_base"));
  EXPECT_EQ(f.get<uint32_t>("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f.get<uint32_t>("tokenizer.ggml.eos_token_id"), 2u);
  EXPECT_EQ(f.get<uint32_t>("tokenizer.ggml.padding_token_id"), 0xFFFFFFFFu);
  EXPECT_EQ(f.get<std::string>("tokenizer.ggml.model"), "llama");

  auto tokens = f.get_array<std::string>("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[3], "<0x00>");
  EXPECT_EQ(tokens[403], "\xe2\x96\x81Once");
  auto scores = f.get_array<float>("tokenizer.ggml.scores");
  ASSERT_EQ(scores.size(), 512u);
  EXPECT_EQ(scores[259], 0.0f);
  EXPECT_EQ(scores[260], -1.0f);
  EXPECT_EQ(scores[511], -252.0f);
  auto token_types = f.get_array<int32_t>("tokenizer.ggml.token_type");
  EXPECT_EQ(token_types[0], 2);
  EXPECT_EQ(token_types[2], 3);
  EXPECT_EQ(token_types[258], 6);
  EXPECT_EQ(token_types[259], 1);

  const TensorInfo& emb = f.tensor("token_embd.weight");
  EXPECT_EQ(emb.dims, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(emb.n_bytes, 64u * 512u * 4u);
  int64_t params = 0;
  for (const auto& t : f.tensors()) {
    EXPECT_EQ(t.type, tensor::Type::F32) << t.name;
    EXPECT_EQ(t.n_bytes, static_cast<size_t>(t.n_elements) * 4) << t.name;
    params += t.n_elements;
  }
  // 260,032 model parameters plus the converter's explicit copy of the tied classifier.
  EXPECT_EQ(params, 260032 + 64 * 512);
  EXPECT_EQ(f.tensor("blk.4.ffn_down.weight").dims, (std::vector<int64_t>{172, 64}));
  EXPECT_EQ(f.tensor("output_norm.weight").dims, (std::vector<int64_t>{64}));
  EXPECT_NO_THROW(f.require_supported_types());
}

TEST(GgufSharedFiles, VocabularyFiles) {
  TANDEM_REQUIRE_SHARED();
  fs::path dir = fs::path(::tandem::testing::shared_dir()) / "testdata" / "vocab";
  if (!fs::exists(dir)) GTEST_SKIP() << "no vocab directory at " << dir;
  int n_files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".gguf") continue;
    SCOPED_TRACE(entry.path().string());
    ++n_files;
    File f = File::open(entry.path().string());
    EXPECT_TRUE(f.version() == 2 || f.version() == 3);
    std::string model = f.get<std::string>("tokenizer.ggml.model");
    EXPECT_FALSE(model.empty());
    auto tokens = f.get_array<std::string>("tokenizer.ggml.tokens");
    EXPECT_GT(tokens.size(), 100u);
    if (f.has("tokenizer.ggml.merges")) {
      EXPECT_GT(f.get_array<std::string>("tokenizer.ggml.merges").size(), 0u);
    }
    if (f.has("tokenizer.ggml.token_type")) {
      EXPECT_EQ(f.get_array<int32_t>("tokenizer.ggml.token_type").size(), tokens.size());
    }
  }
  EXPECT_GE(n_files, 5);
}

}  // namespace
}  // namespace tandem::gguf
