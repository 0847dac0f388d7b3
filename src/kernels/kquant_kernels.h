#pragma once
// The k-quant (Q2_K ... Q6_K) and IQ4_XS x Q8_K tile kernels of every instruction-set path.
// kquant_register.cpp puts them into the KernelTable; tests call them directly.
#include <cstdint>

#include "kernels/gemm_table.h"
#include "tensor/blocks.h"

namespace tandem::kernels::detail {

// Weight types handled here, in the order the per-ISA tables below list them.
inline constexpr tensor::Type kKQuantTypes[] = {tensor::Type::Q2_K, tensor::Type::Q3_K,
                                                tensor::Type::Q4_K, tensor::Type::Q5_K,
                                                tensor::Type::Q6_K, tensor::Type::IQ4_XS};

// One GemmFn per entry of kKQuantTypes for a path; null where the path lacks the type.
struct KQuantGemms {
  GemmFn q2_k, q3_k, q4_k, q5_k, q6_k, iq4_xs;
  GemmFn get(tensor::Type t) const;
};

KQuantGemms kquant_gemms_scalar();
#if defined(__x86_64__) || defined(_M_X64)
KQuantGemms kquant_gemms_avx2();
KQuantGemms kquant_gemms_avx512();
#endif
#if defined(__aarch64__)
KQuantGemms kquant_gemms_neon();          // Q4_K, Q5_K, Q6_K; the scalar kernels for the rest
KQuantGemms kquant_gemms_neon_dotprod();  // the same with SDOT: only if the CPU has dotprod
#endif

// A decoded weight super-block in a type-independent form: element i equals
//   d * scale[i / 16] * q[i] - dmin * min[i / 16]
// (mins are zero for the types without them). Scalar reference building block, exposed for tests.
struct UnpackedKBlock {
  int8_t q[tensor::kQK_K];
  int16_t scale[16];
  int16_t min[16];
  float d;
  float dmin;
};

void unpack_q2_k(const tensor::BlockQ2_K& b, UnpackedKBlock& u);
void unpack_q3_k(const tensor::BlockQ3_K& b, UnpackedKBlock& u);
void unpack_q4_k(const tensor::BlockQ4_K& b, UnpackedKBlock& u);
void unpack_q5_k(const tensor::BlockQ5_K& b, UnpackedKBlock& u);
void unpack_q6_k(const tensor::BlockQ6_K& b, UnpackedKBlock& u);
void unpack_iq4_xs(const tensor::BlockIQ4_XS& b, UnpackedKBlock& u);

}  // namespace tandem::kernels::detail
