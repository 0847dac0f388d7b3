#pragma once
// Internal: the per-ISA implementations behind ops.h (ops.cpp dispatches to best_isa()'s entry;
// tests compare each path with the scalar one). Ops not listed here are scalar on every path:
// they are cheap relative to the matmuls around them.
#include <cstdint>

#include "kernels/isa.h"

namespace tandem::kernels::detail {

struct OpsTable {
  void (*rms_norm)(const float* x, const float* weight, int64_t n, float eps, float* out);
  void (*softmax)(float* x, int64_t n);
  void (*silu)(float* x, int64_t n);
  void (*swiglu)(const float* gate, const float* up, int64_t n, float* out);
  void (*gelu)(float* x, int64_t n);
  void (*geglu)(const float* gate, const float* up, int64_t n, float* out);
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, int64_t n, float* y);
  float (*dot_f16_f32)(const uint16_t* x, const float* y, int64_t n);
  void (*axpy_f16)(float a, const uint16_t* x, int64_t n, float* y);
  void (*f32_to_f16)(const float* x, int64_t n, uint16_t* out);
  void (*f16_to_f32)(const uint16_t* x, int64_t n, float* out);
  void (*f16_rows_to_f32)(const uint16_t* const* rows, int64_t n_rows, int64_t n, float* out,
                          int64_t ld);
  void (*gemm_f32)(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col,
                   const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);
  void (*softmax_online)(float* s, int64_t rows, int64_t n, int64_t ld, float* max, float* sum,
                         float* scale);
};

OpsTable ops_scalar();
OpsTable ops_avx2();
OpsTable ops_avx512();
OpsTable ops_neon();  // aarch64 builds only
const OpsTable& ops_table(Isa isa);

}  // namespace tandem::kernels::detail
