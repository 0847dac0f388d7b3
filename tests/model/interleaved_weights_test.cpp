// Load-time repacking (model/weight_interleave.h): a model whose Q8_0 matrices were interleaved
// computes the logits the plain-row model computes, the file pages of what was repacked leave
// the process (the tied embedding too, whose rows are still looked up from the file), and
// warming the file skips them.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "generate.h"
#include "gguf/file.h"
#include "kernels/interleave.h"
#include "model/model.h"
#include "model/weight_interleave.h"
#include "runtime/loaded_model.h"
#include "test_models.h"

namespace tandem {
namespace {

using tensor::Type;

const std::vector<int32_t> kPrompt{1, 17, 300, 42, 42, 7, 250, 99, 383, 5, 128, 64};

double normalized_error(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

TEST(InterleavedWeights, SameLogitsAsPlainRowsAndFilePagesReleased) {
  const auto path = std::filesystem::temp_directory_path() / "tandem_interleaved_weights.gguf";
  testing::TestModelSpec spec = testing::spec_for("llama", Type::Q8_0);
  spec.tied_output = true;  // the vocabulary projection is token_embd, also read row by row
  testing::write_test_model(spec, path.string());

  const gguf::File plain_file = gguf::File::open(path.string());
  model::LoadOptions plain_options;
  plain_options.interleave_weights = false;
  const model::Model plain = model::Model::load(plain_file, plain_options);
  EXPECT_FALSE(plain.weights().output.interleaved);
  EXPECT_TRUE(plain.weights().owned.empty());

  const gguf::File file = gguf::File::open(path.string());
  const model::Model m = model::Model::load(file);
  const bool pays = kernels::interleave_pays(Type::Q8_0, kernels::best_isa());
  EXPECT_EQ(m.weights().output.interleaved, pays);
  EXPECT_EQ(m.weights().layers[0].w_gate.interleaved, pays);
  EXPECT_EQ(file.released(m.weights().token_embd->data), pays);
  EXPECT_EQ(m.weights().token_embd_interleaved.data, pays ? m.weights().output.data : nullptr);
  // Every Q8_0 matrix here has whole groups of 16 rows: all of them are repacked, into one arena.
  EXPECT_EQ(m.weights().owned.size(), pays ? 1u : 0u);
  for (const model::LayerWeights& l : m.weights().layers)
    for (const kernels::Matrix* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      EXPECT_EQ(w->interleaved, pays);
  runtime::prefault(file, nullptr, nullptr);

  for (bool one_batch : {true, false}) {
    const auto want = testing::prompt_logits(plain, kPrompt, one_batch, Type::F32, 2);
    const auto got = testing::prompt_logits(m, kPrompt, one_batch, Type::F32, 2);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LT(normalized_error(got, want), 1e-5) << (one_batch ? "one batch" : "token by token");
  }
  std::filesystem::remove(path);
}

TEST(InterleavedWeights, RepackOnlyWhatFitsInFourFifthsOfAvailableMemory) {
  EXPECT_TRUE(model::repack_fits(800, 1000));
  EXPECT_FALSE(model::repack_fits(801, 1000));
  EXPECT_TRUE(model::repack_fits(uint64_t{1} << 40, 0));  // unknown: no limit
  EXPECT_FALSE(model::repack_fits(uint64_t{1} << 40, uint64_t{1} << 30));
}

}  // namespace
}  // namespace tandem
