// Scalar reference dot kernels of the 32-element block types against int8 activations:
// Q4_0, Q5_0, Q8_0, IQ4_NL with Q8_0 activations; Q4_1, Q5_1 with Q8_1 activations.
// Each block's integer dot product is exact; the float scales are applied once per block.
#include <cstring>

#include "kernels/gemm_table.h"
#include "tensor/blocks.h"
#include "tensor/convert.h"

namespace tandem::kernels::detail {

namespace {

using tensor::fp16_to_fp32;
using tensor::kQK;

// Unpacks the 32 quants of a 4-bit block: element j in the low nibble of qs[j], element j+16
// in the high nibble.
inline void unpack_nibbles(const uint8_t* qs, int* q) {
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = qs[j] & 0x0F;
    q[j + kQK / 2] = qs[j] >> 4;
  }
}

// Adds bit j of the little-endian 32-bit qh as bit 4 of element j.
inline void add_high_bits(const uint8_t* qh_bytes, int* q) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < kQK; ++j) q[j] |= static_cast<int>((qh >> j) & 1u) << 4;
}

inline int dot_ints(const int* q, const int8_t* a) {
  int sum = 0;
  for (int j = 0; j < kQK; ++j) sum += q[j] * a[j];
  return sum;
}

float row_q4_0(int64_t nb, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ4_0*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int q[kQK];
    unpack_nibbles(x[b].qs, q);
    for (int& v : q) v -= 8;
    sum += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(dot_ints(q, y[b].qs));
  }
  return sum;
}

float row_q4_1(int64_t nb, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ4_1*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_1*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int q[kQK];
    unpack_nibbles(x[b].qs, q);
    // sum_j (d q_j + m) * da qa_j = d da dot(q, qa) + m * (da sum(qa)) = ... + m * s
    sum += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(dot_ints(q, y[b].qs)) +
           fp16_to_fp32(x[b].m) * fp16_to_fp32(y[b].s);
  }
  return sum;
}

float row_q5_0(int64_t nb, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ5_0*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int q[kQK];
    unpack_nibbles(x[b].qs, q);
    add_high_bits(x[b].qh, q);
    for (int& v : q) v -= 16;
    sum += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(dot_ints(q, y[b].qs));
  }
  return sum;
}

float row_q5_1(int64_t nb, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ5_1*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_1*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int q[kQK];
    unpack_nibbles(x[b].qs, q);
    add_high_bits(x[b].qh, q);
    sum += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(dot_ints(q, y[b].qs)) +
           fp16_to_fp32(x[b].m) * fp16_to_fp32(y[b].s);
  }
  return sum;
}

float row_q8_0(int64_t nb, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ8_0*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = x[b].qs[j];
    sum += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(dot_ints(q, y[b].qs));
  }
  return sum;
}

float row_iq4_nl(int64_t nb, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockIQ4_NL*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int q[kQK];
    unpack_nibbles(x[b].qs, q);
    for (int& v : q) v = tensor::kIQ4NLValues[v];
    sum += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(dot_ints(q, y[b].qs));
  }
  return sum;
}

using RowFn = float (*)(int64_t nb, const void* w, const void* a);

template <RowFn Row>
void gemm(int64_t cols, const void* w, size_t w_stride, int64_t n_rows, const void* a,
          size_t a_stride, int64_t n_act, float* out, size_t out_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t j = 0; j < n_act; ++j)
    for (int64_t i = 0; i < n_rows; ++i)
      out[j * out_stride + i] = Row(cols / kQK, wb + i * w_stride, ab + j * a_stride);
}

}  // namespace

void register_legacy_scalar(KernelTable& t) {
  using tensor::Type;
  t[Type::Q4_0] = {Type::Q8_0, gemm<row_q4_0>};
  t[Type::Q4_1] = {Type::Q8_1, gemm<row_q4_1>};
  t[Type::Q5_0] = {Type::Q8_0, gemm<row_q5_0>};
  t[Type::Q5_1] = {Type::Q8_1, gemm<row_q5_1>};
  t[Type::Q8_0] = {Type::Q8_0, gemm<row_q8_0>};
  t[Type::IQ4_NL] = {Type::Q8_0, gemm<row_iq4_nl>};
}

}  // namespace tandem::kernels::detail
