#pragma once
// Internal helpers shared by the quantizers: fast rounding and the per-sub-block scale searches
// that pick scales by least squares rather than from min/max alone.
#include <cstdint>
#include <cstring>

namespace tandem::tensor::detail {

// Round to nearest, ties to even, for |v| < 2^22: adding 1.5 * 2^23 pushes the fraction out of the
// mantissa, whose low bits then hold the integer. No float->int conversion, so NaN is not UB.
inline int round_to_int(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Affine fit x[i] ~= scale * q[i] - min with q[i] in [0, nmax], scale >= 0. For the k-quants
// min >= 0 (the offset is never positive, so a block of positive values uses min = 0); Q4_1/Q5_1
// store any offset, which allow_positive_offset permits.
// Tries a range of candidate scales around (max - min) / nmax; for each, rounds q and solves the
// least-squares (scale, min) for that q; keeps the pair with the smallest squared error.
struct AffineFit {
  float scale;
  float min;
};
AffineFit fit_affine(const float* x, int n, int nmax, bool allow_positive_offset = false);

// Symmetric fit x[i] ~= scale * q[i] with q[i] in [-nmax, nmax - 1] (Q3_K, Q6_K). The scale may be
// negative: mapping the largest-magnitude value to -nmax uses the one extra negative level.
float fit_symmetric(const float* x, int n, int nmax);

// Non-linear fit x[i] ~= scale * kIQ4NLValues[idx[i]] (IQ4_NL / IQ4_XS sub-blocks).
float fit_iq4(const float* x, int n);
// Index of the table value nearest to v.
int nearest_iq4_index(float v);

}  // namespace tandem::tensor::detail
