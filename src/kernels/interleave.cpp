// Repacking into the row-interleaved layout (interleave_layout.h), reading it back, and the
// scalar reference kernel every SIMD kernel for the layout is tested against.
#include "kernels/interleave.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/gemm_table.h"
#include "kernels/interleave_layout.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"
#include "util/error.h"

namespace tandem::kernels {

using detail::kGroupRows;
using detail::q8_0_block_column;
using tensor::BlockQ8_0;
using tensor::kQK;

static_assert(kInterleaveRows == kGroupRows);
static_assert(detail::kQ8BlockColumnBytes == kGroupRows * sizeof(BlockQ8_0));

bool can_interleave(const Matrix& m) {
  return m.type == tensor::Type::Q8_0 && !m.interleaved && m.data != nullptr && m.rows > 0 &&
         m.rows % kInterleaveRows == 0 && m.cols > 0 && m.cols % kQK == 0;
}

bool interleave_pays(tensor::Type t, Isa isa) {
  static const bool enabled = [] {
    const char* env = std::getenv("TANDEM_INTERLEAVE");
    return env == nullptr || std::string(env) != "0";
  }();
  const auto id = static_cast<uint32_t>(t);
  return enabled && id < static_cast<uint32_t>(detail::kMaxTypeId) &&
         detail::kernel_table(isa)[t].interleave_pays;
}

Matrix interleave(const Matrix& m, void* dst) {
  if (!can_interleave(m))
    throw InvalidArgument("interleave: a " + std::string(tensor::type_name(m.type)) + " matrix of " +
                          std::to_string(m.rows) + " rows has no interleaved layout");
  const int64_t nb = m.cols / kQK;
  const size_t group_bytes = static_cast<size_t>(nb) * detail::kQ8BlockColumnBytes;
  const auto* src = static_cast<const BlockQ8_0*>(m.data);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < m.rows / kGroupRows; ++g) {
    uint8_t* group = out + static_cast<size_t>(g) * group_bytes;
    for (int64_t b = 0; b < nb; ++b) {
      const detail::BlockColumn at = q8_0_block_column(nb, b);
      auto* scales = reinterpret_cast<tensor::f16_t*>(group + at.scales);
      uint8_t* quants = group + at.quants;
      for (int64_t j = 0; j < kGroupRows; ++j) {
        const BlockQ8_0& blk = src[(g * kGroupRows + j) * nb + b];
        std::memcpy(scales + j, &blk.d, sizeof(blk.d));
        for (int k = 0; k < kQK / 4; ++k)
          for (int e = 0; e < 4; ++e)
            quants[64 * k + 4 * j + e] =
                static_cast<uint8_t>(static_cast<uint8_t>(blk.qs[4 * k + e]) + detail::kQ8QuantOffset);
      }
    }
  }
  Matrix r = m;
  r.data = dst;
  r.interleaved = true;
  return r;
}

namespace {

// Quant e (0..31) of row j in a block column's 512 quant bytes, as the signed value it encodes.
int q8_quant(const uint8_t* quants, int64_t j, int e) {
  return static_cast<int>(quants[64 * (e / 4) + 4 * j + e % 4]) - detail::kQ8QuantOffset;
}

float q8_scale(const uint8_t* group, const detail::BlockColumn& at, int64_t j) {
  tensor::f16_t d;
  std::memcpy(&d, group + at.scales + 2 * j, sizeof(d));
  return tensor::fp16_to_fp32(d);
}

}  // namespace

void interleaved_row_to_float(const Matrix& m, int64_t row, float* out) {
  if (!m.interleaved || m.type != tensor::Type::Q8_0)
    throw InvalidArgument("interleaved_row_to_float: not an interleaved Q8_0 matrix");
  if (row < 0 || row >= m.rows) throw InvalidArgument("interleaved_row_to_float: row out of range");
  const int64_t nb = m.cols / kQK;
  const auto* group = static_cast<const uint8_t*>(m.data) +
                      static_cast<size_t>(row / kGroupRows) * nb * detail::kQ8BlockColumnBytes;
  const int64_t j = row % kGroupRows;
  for (int64_t b = 0; b < nb; ++b) {
    const detail::BlockColumn at = q8_0_block_column(nb, b);
    const float d = q8_scale(group, at, j);
    for (int e = 0; e < kQK; ++e) out[b * kQK + e] = d * static_cast<float>(q8_quant(group + at.quants, j, e));
  }
}

namespace detail {
namespace {

// Reference: per block, the exact integer dot times both scales, summed block by block.
void gemm_interleaved_q8_0_scalar(int64_t cols, const void* w, size_t w_stride, int64_t n_rows,
                                  const void* a, size_t a_stride, int64_t n_act, float* out,
                                  size_t out_stride) {
  const int64_t nb = cols / kQK;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t g = 0; g < n_rows / kGroupRows; ++g) {
    const uint8_t* group = wb + static_cast<size_t>(g * kGroupRows) * w_stride;
    for (int64_t n = 0; n < n_act; ++n) {
      const auto* act = reinterpret_cast<const BlockQ8_0*>(ab + static_cast<size_t>(n) * a_stride);
      for (int64_t j = 0; j < kGroupRows; ++j) {
        float sum = 0;
        for (int64_t b = 0; b < nb; ++b) {
          const BlockColumn at = q8_0_block_column(nb, b);
          int32_t dot = 0;
          for (int e = 0; e < kQK; ++e) dot += q8_quant(group + at.quants, j, e) * act[b].qs[e];
          sum += static_cast<float>(dot) * (q8_scale(group, at, j) * tensor::fp16_to_fp32(act[b].d));
        }
        out[static_cast<size_t>(n) * out_stride + static_cast<size_t>(g * kGroupRows + j)] = sum;
      }
    }
  }
}

}  // namespace

void register_interleaved_scalar(KernelTable& t) {
  t[tensor::Type::Q8_0].interleaved = gemm_interleaved_q8_0_scalar;
}

}  // namespace detail
}  // namespace tandem::kernels
