// Repacking into the row-interleaved layout (interleave_layout.h), reading it back, and the
// scalar reference kernel every SIMD kernel for the layout is tested against.
#include "kernels/interleave.h"

#include <cstring>
#include <string>

#include "kernels/gemm_table.h"
#include "kernels/interleave_layout.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"
#include "util/error.h"

namespace tandem::kernels {

using detail::kGroupRows;
using tensor::BlockQ8_0;
using tensor::kQK;

static_assert(kInterleaveRows == kGroupRows);
static_assert(detail::kScaleBytes + detail::kQ8PayloadBytes == kGroupRows * sizeof(BlockQ8_0));
static_assert(detail::kScaleBytes + detail::kQ5PayloadBytes ==
              kGroupRows * sizeof(tensor::BlockQ5_0));
static_assert(detail::kScaleBytes + detail::kNibblePayloadBytes ==
              kGroupRows * sizeof(tensor::BlockQ4_0));
static_assert(detail::kScaleBytes + detail::kNibblePayloadBytes ==
              kGroupRows * sizeof(tensor::BlockIQ4_NL));

namespace {

bool has_layout(tensor::Type t) {
  return t == tensor::Type::Q8_0 || t == tensor::Type::Q5_0 || t == tensor::Type::Q4_0 ||
         t == tensor::Type::IQ4_NL;
}

}  // namespace

bool can_interleave(const Matrix& m) {
  return has_layout(m.type) && !m.interleaved && m.data != nullptr && m.rows > 0 &&
         m.rows % kInterleaveRows == 0 && m.cols > 0 && m.cols % kQK == 0;
}

bool interleave_pays(tensor::Type t, Isa isa) {
  static const bool enabled = detail::env_switch_on("TANDEM_INTERLEAVE");
  const auto id = static_cast<uint32_t>(t);
  return enabled && id < static_cast<uint32_t>(detail::kMaxTypeId) &&
         detail::kernel_table(isa)[t].interleave_pays;
}

namespace {

size_t payload_bytes(tensor::Type t) {
  switch (t) {
    case tensor::Type::Q8_0:
      return detail::kQ8PayloadBytes;
    case tensor::Type::Q5_0:
      return detail::kQ5PayloadBytes;
    default:
      return detail::kNibblePayloadBytes;  // Q4_0, IQ4_NL
  }
}

// Row j's block in a group's block column `at`: its f16 scale written, its quants moved into the
// payload (layouts in interleave_layout.h), 4 bytes at a time.
void put_q8_0(const BlockQ8_0& blk, int64_t j, uint8_t* group, const detail::BlockColumn& at) {
  std::memcpy(group + at.scales + 2 * j, &blk.d, sizeof(blk.d));
  uint8_t* quants = group + at.payload;
  static_assert(detail::kQ8QuantOffset == 0x80);  // + 128 on a byte is flipping its top bit
  for (int k = 0; k < kQK / 4; ++k) {
    uint32_t v;
    std::memcpy(&v, blk.qs + 4 * k, 4);
    v ^= 0x80808080u;
    std::memcpy(quants + 64 * k + 4 * j, &v, 4);
  }
}

// The nibble types (Q4_0, IQ4_NL and Q5_0's low 4 bits): the 16 bytes of qs in 4-byte lanes.
template <class Block>
void put_nibbles(const Block& blk, int64_t j, uint8_t* group, const detail::BlockColumn& at) {
  std::memcpy(group + at.scales + 2 * j, &blk.d, sizeof(blk.d));
  for (int k = 0; k < 4; ++k) std::memcpy(group + at.payload + 64 * k + 4 * j, blk.qs + 4 * k, 4);
}

void put_q5_0(const tensor::BlockQ5_0& blk, int64_t j, uint8_t* group,
              const detail::BlockColumn& at) {
  put_nibbles(blk, j, group, at);
  uint8_t* payload = group + at.payload;
  uint32_t qh;
  std::memcpy(&qh, blk.qh, sizeof(qh));
  // Mask g gets this row's 4 bits 4g..4g+3 at bits 4j..4j+3 (the masks start zeroed).
  for (int g = 0; g < 8; ++g) {
    uint64_t mask;
    std::memcpy(&mask, payload + detail::kQ5MaskOffset + 8 * g, sizeof(mask));
    mask |= static_cast<uint64_t>((qh >> (4 * g)) & 0xFu) << (4 * j);
    std::memcpy(payload + detail::kQ5MaskOffset + 8 * g, &mask, sizeof(mask));
  }
}

// Block b of a plain row (type t) into row j of a group's block column `at`.
void put_block(tensor::Type t, const uint8_t* row, int64_t b, int64_t j, uint8_t* group,
               const detail::BlockColumn& at) {
  switch (t) {
    case tensor::Type::Q8_0:
      return put_q8_0(reinterpret_cast<const BlockQ8_0*>(row)[b], j, group, at);
    case tensor::Type::Q5_0:
      return put_q5_0(reinterpret_cast<const tensor::BlockQ5_0*>(row)[b], j, group, at);
    case tensor::Type::Q4_0:
      return put_nibbles(reinterpret_cast<const tensor::BlockQ4_0*>(row)[b], j, group, at);
    default:  // IQ4_NL
      return put_nibbles(reinterpret_cast<const tensor::BlockIQ4_NL*>(row)[b], j, group, at);
  }
}

// Row j's block b of a group as signed quants and scale: x[e] = d * q[e].
float read_block(tensor::Type t, const uint8_t* group, int64_t nb, int64_t b, int64_t j,
                 int q[kQK]) {
  const detail::BlockColumn at = detail::block_column(nb, b, payload_bytes(t));
  tensor::f16_t d;
  std::memcpy(&d, group + at.scales + 2 * j, sizeof(d));
  const uint8_t* p = group + at.payload;
  if (t == tensor::Type::Q8_0) {
    for (int e = 0; e < kQK; ++e)
      q[e] = static_cast<int>(p[64 * (e / 4) + 4 * j + e % 4]) - detail::kQ8QuantOffset;
    return tensor::fp16_to_fp32(d);
  }
  for (int g = 0; g < 8; ++g)
    for (int e = 0; e < 4; ++e) {
      const uint8_t byte = p[64 * (g % 4) + 4 * j + e];
      const int nibble = g < 4 ? byte & 0x0F : byte >> 4;
      if (t == tensor::Type::Q5_0) {
        uint64_t mask;
        std::memcpy(&mask, p + detail::kQ5MaskOffset + 8 * g, sizeof(mask));
        const int high = static_cast<int>((mask >> (4 * j + e)) & 1u);
        q[4 * g + e] = nibble + 16 * high - detail::kQ5QuantOffset;
      } else if (t == tensor::Type::Q4_0) {
        q[4 * g + e] = nibble - detail::kQ4QuantOffset;
      } else {
        q[4 * g + e] = tensor::kIQ4NLValues[nibble];
      }
    }
  return tensor::fp16_to_fp32(d);
}

}  // namespace

Matrix interleave(const Matrix& m, void* dst, ThreadPool* pool) {
  if (!can_interleave(m))
    throw InvalidArgument("interleave: a " + std::string(tensor::type_name(m.type)) +
                          " matrix of " + std::to_string(m.rows) +
                          " rows has no interleaved layout");
  const int64_t nb = m.cols / kQK;
  const size_t row_bytes = tensor::row_bytes(m.type, m.cols);
  const size_t group_bytes = static_cast<size_t>(kGroupRows) * row_bytes;
  const auto* src = static_cast<const uint8_t*>(m.data);
  auto* out = static_cast<uint8_t*>(dst);
  auto repack = [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      uint8_t* group = out + static_cast<size_t>(g) * group_bytes;
      if (m.type == tensor::Type::Q5_0) std::memset(group, 0, group_bytes);  // (masks are ORed)
      for (int64_t b = 0; b < nb; ++b) {
        const detail::BlockColumn at = detail::block_column(nb, b, payload_bytes(m.type));
        for (int64_t j = 0; j < kGroupRows; ++j) {
          const uint8_t* row = src + static_cast<size_t>(g * kGroupRows + j) * row_bytes;
          put_block(m.type, row, b, j, group, at);
        }
      }
    }
  };
  if (pool != nullptr)
    pool->parallel_for(m.rows / kGroupRows, 1, repack);
  else
    repack(0, m.rows / kGroupRows);
  Matrix r = m;
  r.data = dst;
  r.interleaved = true;
  return r;
}

void interleaved_row_to_float(const Matrix& m, int64_t row, float* out) {
  if (!m.interleaved || !has_layout(m.type))
    throw InvalidArgument("interleaved_row_to_float: not an interleaved matrix");
  if (row < 0 || row >= m.rows) throw InvalidArgument("interleaved_row_to_float: row out of range");
  const int64_t nb = m.cols / kQK;
  const auto* group = static_cast<const uint8_t*>(m.data) + static_cast<size_t>(row / kGroupRows) *
                                                                kGroupRows *
                                                                tensor::row_bytes(m.type, m.cols);
  int q[kQK];
  for (int64_t b = 0; b < nb; ++b) {
    const float d = read_block(m.type, group, nb, b, row % kGroupRows, q);
    for (int e = 0; e < kQK; ++e) out[b * kQK + e] = d * static_cast<float>(q[e]);
  }
}

namespace detail {
namespace {

// Reference: per block, the exact integer dot times both scales, summed block by block.
template <tensor::Type T>
void gemm_interleaved_scalar(int64_t cols, const void* w, size_t w_stride, int64_t n_rows,
                             const void* a, size_t a_stride, int64_t n_act, float* out,
                             size_t out_stride) {
  const int64_t nb = cols / kQK;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  int q[kQK];
  for (int64_t g = 0; g < n_rows / kGroupRows; ++g) {
    const uint8_t* group = wb + static_cast<size_t>(g * kGroupRows) * w_stride;
    for (int64_t n = 0; n < n_act; ++n) {
      const auto* act = reinterpret_cast<const BlockQ8_0*>(ab + static_cast<size_t>(n) * a_stride);
      for (int64_t j = 0; j < kGroupRows; ++j) {
        float sum = 0;
        for (int64_t b = 0; b < nb; ++b) {
          const float d = read_block(T, group, nb, b, j, q);
          int32_t dot = 0;
          for (int e = 0; e < kQK; ++e) dot += q[e] * act[b].qs[e];
          sum += static_cast<float>(dot) * (d * tensor::fp16_to_fp32(act[b].d));
        }
        out[static_cast<size_t>(n) * out_stride + static_cast<size_t>(g * kGroupRows + j)] = sum;
      }
    }
  }
}

}  // namespace

void register_interleaved_scalar(KernelTable& t) {
  t[tensor::Type::Q8_0].interleaved = gemm_interleaved_scalar<tensor::Type::Q8_0>;
  t[tensor::Type::Q5_0].interleaved = gemm_interleaved_scalar<tensor::Type::Q5_0>;
  t[tensor::Type::Q4_0].interleaved = gemm_interleaved_scalar<tensor::Type::Q4_0>;
  t[tensor::Type::IQ4_NL].interleaved = gemm_interleaved_scalar<tensor::Type::IQ4_NL>;
}

}  // namespace detail
}  // namespace tandem::kernels
