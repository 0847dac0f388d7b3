// matmul_group: several matrices against one input give exactly what separate matmul calls give,
// whether they run in one parallel region (small batches, same activation format) or not.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/matmul.h"
#include "test_util.h"
#include "util/error.h"

namespace tandem::kernels {
namespace {

using tensor::Type;
using testing::make_weights;
using testing::random_floats;

struct Case {
  std::vector<Type> types;
  std::vector<int64_t> rows;
};

TEST(MatmulGroup, MatchesSeparateCallsBitForBit) {
  ThreadPool pool(2);
  const int64_t cols = 512;
  const Case cases[] = {
      {{Type::Q5_0, Type::Q5_0, Type::Q8_0}, {96, 32, 32}},  // Q, K, V of a GQA model (one format)
      {{Type::Q4_K, Type::Q6_K}, {200, 37}},                  // odd row counts straddle chunks
      {{Type::Q4_0, Type::F16}, {64, 48}},                    // different activation formats
      {{Type::Q8_0}, {33}},
  };
  for (const Case& c : cases)
    for (int64_t batch : {1, 3, 4, 17}) {
      const auto x = random_floats(static_cast<size_t>(batch * cols), 21);
      std::vector<std::vector<uint8_t>> weights;
      std::vector<std::vector<float>> want, got;
      std::vector<MatmulTarget> targets;
      for (size_t i = 0; i < c.types.size(); ++i) {
        weights.push_back(make_weights(c.types[i], c.rows[i], cols, static_cast<uint32_t>(30 + i), nullptr));
        want.emplace_back(static_cast<size_t>(batch * c.rows[i]));
        got.emplace_back(static_cast<size_t>(batch * c.rows[i]), -1.0f);
      }
      for (size_t i = 0; i < c.types.size(); ++i) {
        const Matrix m{c.types[i], c.rows[i], cols, weights[i].data()};
        matmul(m, x.data(), batch, want[i].data(), pool);
        targets.push_back({m, got[i].data()});
      }
      matmul_group(targets, x.data(), batch, pool);
      for (size_t i = 0; i < c.types.size(); ++i)
        EXPECT_EQ(got[i], want[i]) << tensor::type_name(c.types[i]) << " batch=" << batch;
    }
}

TEST(MatmulGroup, RejectsABadShapeBeforeWriting) {
  ThreadPool pool(2);
  const auto w = make_weights(Type::Q8_0, 16, 64, 3, nullptr);
  const auto x = random_floats(64, 4);
  std::vector<float> a(16, -1.0f), b(16, -1.0f);
  const MatmulTarget targets[] = {{{Type::Q8_0, 16, 64, w.data()}, a.data()},
                                  {{Type::Q8_0, 16, 48, w.data()}, b.data()}};  // 48: not whole blocks
  EXPECT_THROW(matmul_group(targets, x.data(), 1, pool), InvalidArgument);
  EXPECT_EQ(a, std::vector<float>(16, -1.0f));
}

}  // namespace
}  // namespace tandem::kernels
