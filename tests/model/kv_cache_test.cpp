#include "runtime/kv_cache.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/kv_rows.h"
#include "util/error.h"

namespace tandem {
namespace {

using model::BatchToken;
using runtime::KvCache;
using runtime::KvCacheOptions;

const model::KvShape kShape{2, 2, 32, 32};  // 2 layers, 2 KV heads of 32

std::vector<float> ramp(int64_t n, float offset) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = offset + 0.01f * static_cast<float>(i);
  return v;
}

std::vector<float> read_row(const model::KvSequenceView& view, const uint8_t* row, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n), 0.0f);
  // Per head of 32 elements, as attention reads them (whole blocks for Q8_0).
  for (int64_t head = 0; head < n; head += 32) model::kv_load(view.type, row, head, 32, out.data() + head);
  return out;
}

TEST(KvCache, RejectsBadOptions) {
  EXPECT_THROW(KvCache(kShape, {tensor::Type::F16, 0, 1}), InvalidArgument);
  EXPECT_THROW(KvCache(kShape, {tensor::Type::F16, 8, 0}), InvalidArgument);
  EXPECT_THROW(KvCache(kShape, {tensor::Type::Q4_K, 8, 1}), InvalidArgument);
  EXPECT_THROW(KvCache(model::KvShape{2, 2, 8, 8}, {tensor::Type::Q8_0, 8, 1}), InvalidArgument);
  EXPECT_NO_THROW(KvCache(model::KvShape{2, 2, 8, 8}, {tensor::Type::F16, 8, 1}));
}

TEST(KvCache, StoresAndReadsBackRowsInEveryType) {
  for (auto [type, tol] : {std::pair{tensor::Type::F32, 0.0f}, std::pair{tensor::Type::F16, 1e-3f},
                           std::pair{tensor::Type::Q8_0, 1e-2f}}) {
    KvCache kv(kShape, {type, 16, 2});
    std::vector<BatchToken> batch{{0, 0, 0, false}, {0, 1, 0, false}, {0, 0, 1, false}};
    kv.reserve(batch);
    for (int64_t layer = 0; layer < 2; ++layer)
      for (const auto& t : batch) {
        const float off = float(layer) + float(t.pos) * 0.5f - float(t.seq);
        kv.write(layer, t.seq, t.pos, ramp(64, off).data(), ramp(64, -off).data());
      }
    for (int64_t layer = 0; layer < 2; ++layer)
      for (const auto& t : batch) {
        const auto view = kv.view(layer, t.seq);
        const float off = float(layer) + float(t.pos) * 0.5f - float(t.seq);
        const auto want = ramp(64, off);
        const auto got = read_row(view, view.k_row(t.pos), 64);
        for (size_t i = 0; i < want.size(); ++i)
          EXPECT_NEAR(got[i], want[i], tol + std::fabs(want[i]) * tol) << tensor::type_name(type);
        const auto want_v = ramp(64, -off);
        const auto got_v = read_row(view, view.v_row(t.pos), 64);
        for (size_t i = 0; i < want_v.size(); ++i)
          EXPECT_NEAR(got_v[i], want_v[i], tol + std::fabs(want_v[i]) * tol) << tensor::type_name(type);
      }
  }
}

TEST(KvCache, PositionsMustExtendTheirSequenceAndFailedReserveChangesNothing) {
  KvCache kv(kShape, {tensor::Type::F16, 4, 2});
  std::vector<BatchToken> gap{{0, 0, 0, false}, {0, 2, 0, false}};
  EXPECT_THROW(kv.reserve(gap), InvalidArgument);
  EXPECT_EQ(kv.seq_len(0), 0);
  EXPECT_EQ(kv.n_free_cells(), 4);
  std::vector<BatchToken> bad_seq{{0, 0, 5, false}};
  EXPECT_THROW(kv.reserve(bad_seq), InvalidArgument);
  std::vector<BatchToken> ok{{0, 0, 0, false}, {0, 0, 1, false}, {0, 1, 0, false}};
  kv.reserve(ok);
  EXPECT_EQ(kv.seq_len(0), 2);
  EXPECT_EQ(kv.seq_len(1), 1);
  EXPECT_EQ(kv.n_free_cells(), 1);
  std::vector<BatchToken> too_many{{0, 2, 0, false}, {0, 1, 1, false}};
  EXPECT_THROW(kv.reserve(too_many), InvalidArgument);
  EXPECT_EQ(kv.n_free_cells(), 1);
  std::vector<BatchToken> repeat{{0, 1, 0, false}};
  EXPECT_THROW(kv.reserve(repeat), InvalidArgument);
  EXPECT_THROW(kv.write(0, 0, 2, ramp(64, 0).data(), ramp(64, 0).data()), InvalidArgument);
}

TEST(KvCache, SeqRmTruncatesAndFreesCellsForReuse) {
  KvCache kv(kShape, {tensor::Type::F32, 6, 2});
  std::vector<BatchToken> batch;
  for (int32_t p = 0; p < 4; ++p) batch.push_back({0, p, 0, false});
  batch.push_back({0, 0, 1, false});
  kv.reserve(batch);
  for (const auto& t : batch) kv.write(0, t.seq, t.pos, ramp(64, float(t.pos)).data(), ramp(64, 0).data());
  EXPECT_EQ(kv.n_free_cells(), 1);
  kv.seq_rm(0, 2);
  EXPECT_EQ(kv.seq_len(0), 2);
  EXPECT_EQ(kv.n_free_cells(), 3);
  // Kept positions still hold their rows.
  EXPECT_FLOAT_EQ(read_row(kv.view(0, 0), kv.view(0, 0).k_row(1), 64)[0], 1.0f);
  // The sequence continues at position 2 with fresh rows.
  std::vector<BatchToken> more{{0, 2, 0, false}, {0, 3, 0, false}, {0, 4, 0, false}};
  kv.reserve(more);
  kv.write(0, 0, 2, ramp(64, 7).data(), ramp(64, 0).data());
  EXPECT_FLOAT_EQ(read_row(kv.view(0, 0), kv.view(0, 0).k_row(2), 64)[0], 7.0f);
  EXPECT_EQ(kv.seq_len(1), 1);
  kv.seq_clear(0);
  EXPECT_EQ(kv.seq_len(0), 0);
  EXPECT_EQ(kv.n_free_cells(), 5);
  kv.clear();
  EXPECT_EQ(kv.n_free_cells(), 6);
  EXPECT_EQ(kv.seq_len(1), 0);
}

}  // namespace
}  // namespace tandem
