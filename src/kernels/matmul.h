#pragma once
// Matrix x vector(s) for every supported weight type: the hot loop of the engine.
#include <cstdint>
#include <span>

#include "kernels/isa.h"
#include "tensor/types.h"
#include "util/thread_pool.h"

namespace tandem::kernels {

// A weight matrix as stored in GGUF: `rows` rows of `cols` elements, each row
// tensor::row_bytes(type, cols) bytes, rows contiguous.
struct Matrix {
  tensor::Type type;
  int64_t rows;
  int64_t cols;
  const void* data;
  // Rows stored in groups of kInterleaveRows with their blocks interleaved, as
  // kernels::interleave (kernels/interleave.h) writes them; same total bytes.
  bool interleaved = false;
};

// y[b * w.rows + i] = sum_k W[i][k] * x[b * w.cols + k]   for b < batch, i < w.rows.
// Activations are quantized on the fly (Q8_0 / Q8_K) where the weight type's int8 dot product is
// faster. Rows are split across the pool's threads. Throws InvalidArgument for an unsupported
// type or a cols that is not a multiple of the block size.
void matmul(const Matrix& w, const float* x, int64_t batch, float* y, ThreadPool& pool);
// The same with an explicit instruction-set path (tests, benchmarks).
void matmul(const Matrix& w, const float* x, int64_t batch, float* y, ThreadPool& pool, Isa isa);

// One matrix of a matmul_group and where its output goes (batch x w.rows floats, as matmul).
struct MatmulTarget {
  Matrix w;
  float* y;
};

// Several matrices with the same number of columns against the same activations (Q, K and V;
// gate and up): the activations are converted once, and for a few activation rows (decode) the
// rows of all matrices are split across the pool in ONE parallel region instead of one per
// matrix. Results are those of calling matmul on each target.
void matmul_group(std::span<const MatmulTarget> targets, const float* x, int64_t batch,
                  ThreadPool& pool);

// True when matmul supports weights of type t.
bool matmul_supports(tensor::Type t);

}  // namespace tandem::kernels
