// Row-interleaved Q8_0, Q5_0, Q4_0 and IQ4_NL (kernels/interleave.h): the repacked matrix holds
// exactly the original values, and matmul on it gives what matmul on the plain rows gives, on
// every ISA path, for every activation count (1 to 8 stream per group, 9+ run in tiles of two
// groups, unpacked once for the nibble types).
#include "kernels/interleave.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "kernels/matmul.h"
#include "test_util.h"
#include "util/error.h"

namespace tandem::kernels {
namespace {

using tensor::Type;
using testing::make_weights;
using testing::normalized_error;
using testing::random_floats;

struct AlignedBytes {
  explicit AlignedBytes(size_t n)
      : p(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64))) {}
  ~AlignedBytes() { std::free(p); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  uint8_t* p;
};

// cols 32 and 96: an odd number of blocks (the lone last block column); 896: Qwen2.5-0.5B's width.
constexpr int64_t kCols[] = {32, 96, 896};
constexpr Type kTypes[] = {Type::Q8_0, Type::Q5_0, Type::Q4_0, Type::IQ4_NL};

TEST(Interleave, EveryRowReadsBackExactly) {
  for (Type t : kTypes)
    for (int64_t cols : kCols) {
      const int64_t rows = 48;
      std::vector<float> want;
      const auto w = make_weights(t, rows, cols, 7, &want);
      AlignedBytes packed(w.size());
      const Matrix m = interleave(Matrix{t, rows, cols, w.data()}, packed.p);
      EXPECT_TRUE(m.interleaved);
      EXPECT_EQ(m.data, packed.p);
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t r = 0; r < rows; ++r) {
        interleaved_row_to_float(m, r, row.data());
        for (int64_t c = 0; c < cols; ++c)
          ASSERT_EQ(row[static_cast<size_t>(c)], want[static_cast<size_t>(r * cols + c)])
              << tensor::type_name(t) << " cols=" << cols << " row " << r << " col " << c;
      }
    }
}

TEST(Interleave, MatmulMatchesPlainRowsOnEveryPath) {
  ThreadPool pool(2);
  for (Type t : kTypes)
    for (Isa isa : available_isas())
      for (int64_t cols : kCols)
        for (int64_t rows : {16, 48, 160}) {
          const auto w = make_weights(t, rows, cols, 11, nullptr);
          AlignedBytes packed(w.size());
          const Matrix plain{t, rows, cols, w.data()};
          const Matrix m = interleave(plain, packed.p);
          for (int64_t batch : {1, 2, 3, 4, 5, 7, 8, 9, 13, 20, 64}) {
            const auto x = random_floats(static_cast<size_t>(batch * cols), 12);
            std::vector<float> want(static_cast<size_t>(batch * rows)), got(want.size(), -1.0f);
            matmul(plain, x.data(), batch, want.data(), pool, Isa::Scalar);
            matmul(m, x.data(), batch, got.data(), pool, isa);
            // Both sum exact integer block dots times the same scales; only the float order
            // differs.
            EXPECT_LT(normalized_error(got, want), 1e-5)
                << tensor::type_name(t) << " " << isa_name(isa) << " cols=" << cols
                << " rows=" << rows << " batch=" << batch;
          }
        }
}

TEST(Interleave, GroupOfInterleavedAndPlainTargetsMatchesSeparateCalls) {
  ThreadPool pool(2);
  const int64_t cols = 96;
  const auto wq = make_weights(Type::Q8_0, 64, cols, 1, nullptr);
  const auto wk = make_weights(Type::Q8_0, 24, cols, 2, nullptr);  // not whole groups: stays plain
  const auto wv = make_weights(Type::Q8_0, 32, cols, 3, nullptr);
  AlignedBytes pq(wq.size()), pv(wv.size());
  const Matrix q = interleave(Matrix{Type::Q8_0, 64, cols, wq.data()}, pq.p);
  const Matrix k{Type::Q8_0, 24, cols, wk.data()};
  const Matrix v = interleave(Matrix{Type::Q8_0, 32, cols, wv.data()}, pv.p);
  for (int64_t batch : {1, 4, 17}) {
    const auto x = random_floats(static_cast<size_t>(batch * cols), 5);
    for (const auto& order : {std::vector<Matrix>{q, v}, std::vector<Matrix>{q, k, v}}) {
      std::vector<std::vector<float>> want, got;
      std::vector<MatmulTarget> targets;
      for (const Matrix& m : order) {
        want.emplace_back(static_cast<size_t>(batch * m.rows));
        got.emplace_back(static_cast<size_t>(batch * m.rows), -1.0f);
        matmul(m, x.data(), batch, want.back().data(), pool);
      }
      for (size_t i = 0; i < order.size(); ++i) targets.push_back({order[i], got[i].data()});
      matmul_group(targets, x.data(), batch, pool);
      for (size_t i = 0; i < order.size(); ++i)
        EXPECT_EQ(got[i], want[i])
            << "target " << i << " of " << order.size() << " batch=" << batch;
    }
  }
}

TEST(Interleave, RejectsWhatHasNoInterleavedLayout) {
  const auto q4 = make_weights(Type::Q4_1, 16, 64, 1, nullptr);
  const auto q8 = make_weights(Type::Q8_0, 24, 64, 1, nullptr);
  AlignedBytes out(q8.size());
  EXPECT_FALSE(can_interleave(Matrix{Type::Q4_1, 16, 64, q4.data()}));
  EXPECT_THROW(interleave(Matrix{Type::Q4_1, 16, 64, q4.data()}, out.p), InvalidArgument);
  EXPECT_FALSE(can_interleave(Matrix{Type::Q8_0, 24, 64, q8.data()}));  // 24 rows: not whole groups
  EXPECT_THROW(interleave(Matrix{Type::Q8_0, 24, 64, q8.data()}, out.p), InvalidArgument);
  const Matrix m = interleave(Matrix{Type::Q8_0, 16, 64, q8.data()}, out.p);
  EXPECT_FALSE(can_interleave(m));  // already interleaved
  std::vector<float> row(64);
  EXPECT_THROW(interleaved_row_to_float(Matrix{Type::Q8_0, 16, 64, q8.data()}, 0, row.data()),
               InvalidArgument);
  EXPECT_THROW(interleaved_row_to_float(m, 16, row.data()), InvalidArgument);

  // matmul refuses an interleaved flag it cannot honour, before writing anything.
  ThreadPool pool(1);
  const auto x = random_floats(64, 3);
  std::vector<float> y(16, -1.0f);
  Matrix partial = m;
  partial.rows = 8;
  EXPECT_THROW(matmul(partial, x.data(), 1, y.data(), pool), InvalidArgument);
  Matrix q4_flagged{Type::Q4_1, 16, 64, q4.data()};
  q4_flagged.interleaved = true;
  EXPECT_THROW(matmul(q4_flagged, x.data(), 1, y.data(), pool), InvalidArgument);
  EXPECT_EQ(y, std::vector<float>(16, -1.0f));
}

}  // namespace
}  // namespace tandem::kernels
