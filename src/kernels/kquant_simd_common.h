#pragma once
// Compile-time helpers shared by the SIMD k-quant kernels (no intrinsics, no code of its own).
#include <cstdint>
#include <type_traits>
#include <utility>

namespace tandem::kernels::detail::kquant {

// Calls f(std::integral_constant<int, I>{}) for I = 0 .. N-1, fully unrolled, so that shift
// counts and shuffle masks derived from I are immediates.
template <int N, class F>
[[gnu::always_inline]] inline void unroll(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    (f(std::integral_constant<int, I>{}), ...);
  }(std::make_integer_sequence<int, N>{});
}

// How a type's offset / min term enters the dot product (see each kernel's comment):
//   None  - no correction (values are already signed),
//   Dmin  - subtract dmin * a.d * sum_g bias[g] * bsums[g]   (Q2_K, Q4_K, Q5_K mins),
//   IntD  - subtract sum_g bias[g] * bsums[g] from the integer sum before scaling by d
//           (the constant offset of unsigned-stored values: Q3_K, Q6_K).
enum class Bias { None, Dmin, IntD };

// Weight rows processed together while their activation chunk stays in L1/L2 (compute-bound
// multi-row batches re-read each row once per activation chunk, from cache).
inline constexpr int64_t kRowGroup = 16;

}  // namespace tandem::kernels::detail::kquant
