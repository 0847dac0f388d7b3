#pragma once
// Row-interleaved weights. matmul reads a plain GGUF matrix one row at a time; for several
// activation rows (batched decode) the kernels then spend more time rearranging weights into
// SIMD lanes than multiplying. Interleaving 16 rows once at load time puts one element group of
// 16 rows in each vector, so the kernel multiplies straight from memory for any number of
// activation rows, and the matrix streams as contiguously as before for one.
// Types: Q8_0 (the vocabulary projection of most small models), Q5_0, Q4_0, IQ4_NL; layout in
// interleave_layout.h.
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/matmul.h"

namespace tandem::kernels {

// Rows per interleaved group; an interleaved matrix has a multiple of this many rows.
constexpr int64_t kInterleaveRows = 16;

// True when interleave() accepts m: a type with an interleaved layout, rows a multiple of
// kInterleaveRows, not interleaved already.
bool can_interleave(const Matrix& m);
// True when matmul on `isa` multiplies interleaved matrices of type t faster than plain ones
// (the loader repacks only then). Env TANDEM_INTERLEAVE=0 makes it false (side-by-side runs).
bool interleave_pays(tensor::Type t, Isa isa);

// Writes m's rows interleaved into dst (m.rows * row_bytes(m.type, m.cols) bytes; 64-byte
// alignment keeps the kernels' loads aligned) and returns the Matrix viewing dst, on the pool's
// threads when one is given. Throws InvalidArgument when !can_interleave(m).
Matrix interleave(const Matrix& m, void* dst, ThreadPool* pool = nullptr);

// Row `row` of an interleaved matrix as floats (m.cols of them): checks and tests.
void interleaved_row_to_float(const Matrix& m, int64_t row, float* out);

}  // namespace tandem::kernels
