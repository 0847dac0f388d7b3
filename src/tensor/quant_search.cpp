// Scale searches used by the quantizers. Each tries a small set of candidate scales, rounds the
// values for each, solves the least-squares scale (and offset) for that rounding, and keeps the
// candidate with the smallest squared error. All weights are equal: the goal is plain RMS error.
#include "tensor/quant_search.h"

#include <cmath>

#include "tensor/blocks.h"

namespace tandem::tensor::detail {
namespace {

// Candidates span +-kSearchSpan (relative) around the min/max-derived scale in 2*kSearchSteps+1
// steps. Measured on gaussian data: wider than +-1 level matters for 2- and 3-bit types.
constexpr int kSearchSteps = 8;
constexpr float kSearchSpan = 0.24f;

float candidate_factor(int step) {
  return 1.0f + kSearchSpan * static_cast<float>(step) / static_cast<float>(kSearchSteps);
}

struct Extremes {
  float amax;  // largest |x|
  float xm;    // the value that has it (signed)
};

Extremes largest_magnitude(const float* x, int n) {
  Extremes e{0.0f, 0.0f};
  for (int i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    if (a > e.amax) e = {a, x[i]};
  }
  return e;
}

// Squared error of x ~= a*q + b for the given sums (closed form of sum((a q + b - x)^2)).
float affine_error(float a, float b, float n, float sq, float sqq, float sx, float sqx, float sxx) {
  return a * a * sqq + 2 * a * b * sq + n * b * b - 2 * a * sqx - 2 * b * sx + sxx;
}

struct AffineCandidate {
  float a;    // scale
  float b;    // offset (x ~= a q + b)
  float err;  // squared error
};

// Rounds x for one candidate (q = round(inv_scale * (x - offset)) in [0, nmax]) and solves the
// least-squares (a, b) for that rounding, in a single pass. False if degenerate.
bool try_affine(const float* x, int n, int nmax, float inv_scale, float offset, float sx, float sxx,
                bool allow_positive_offset, AffineCandidate& out) {
  float sq = 0, sqq = 0, sqx = 0;
  for (int i = 0; i < n; ++i) {
    const auto q = static_cast<float>(clamp_int(round_to_int(inv_scale * (x[i] - offset)), 0, nmax));
    sq += q;
    sqq += q * q;
    sqx += q * x[i];
  }
  const auto fn = static_cast<float>(n);
  const float det = fn * sqq - sq * sq;
  if (det <= 0) return false;
  float a = (fn * sqx - sq * sx) / det;
  float b = (sqq * sx - sq * sqx) / det;
  if (b > 0 && !allow_positive_offset) {  // the format cannot add a positive offset: refit the scale alone
    b = 0;
    a = sqx / sqq;
  }
  if (!(a > 0)) return false;
  out = {a, b, affine_error(a, b, fn, sq, sqq, sx, sqx, sxx)};
  return true;
}

}  // namespace

AffineFit fit_affine(const float* x, int n, int nmax, bool allow_positive_offset) {
  float lo = x[0], hi = x[0], sx = 0, sxx = 0;
  for (int i = 0; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
    sx += x[i];
    sxx += x[i] * x[i];
  }
  if (lo > 0 && !allow_positive_offset) lo = 0;
  if (!(hi > lo)) return {0.0f, -lo};  // constant block (or NaN): only the offset matters

  AffineCandidate best{(hi - lo) / static_cast<float>(nmax), lo, INFINITY};
  for (int step = -kSearchSteps; step <= kSearchSteps; ++step) {
    const float inv_scale = static_cast<float>(nmax) * candidate_factor(step) / (hi - lo);
    AffineCandidate c;
    if (try_affine(x, n, nmax, inv_scale, lo, sx, sxx, allow_positive_offset, c) && c.err < best.err) best = c;
  }
  // Polish: re-round with the best pair and refit; stop when it no longer improves.
  for (int iter = 0; iter < 2 && best.err < INFINITY; ++iter) {
    AffineCandidate c;
    if (!try_affine(x, n, nmax, 1.0f / best.a, best.b, sx, sxx, allow_positive_offset, c) || !(c.err < best.err)) break;
    best = c;
  }
  return {best.a, -best.b};
}

float fit_symmetric(const float* x, int n, int nmax) {
  const Extremes e = largest_magnitude(x, n);
  if (!(e.amax > 0)) return 0.0f;
  float best_score = 0.0f, best_scale = 0.0f;
  // Map the extreme value either to the extra negative level -nmax or to the top level nmax-1.
  const float targets[2] = {-static_cast<float>(nmax), static_cast<float>(nmax - 1)};
  for (float target : targets) {
    for (int step = -kSearchSteps; step <= kSearchSteps; ++step) {
      const float inv_scale = target * candidate_factor(step) / e.xm;
      float sqx = 0, sqq = 0;
      for (int i = 0; i < n; ++i) {
        const auto qi = static_cast<float>(clamp_int(round_to_int(inv_scale * x[i]), -nmax, nmax - 1));
        sqx += qi * x[i];
        sqq += qi * qi;
      }
      // With the optimal scale sqx/sqq the squared error is sum(x^2) - sqx^2/sqq: maximize the latter.
      if (sqq > 0 && sqx * sqx / sqq > best_score) {
        best_score = sqx * sqx / sqq;
        best_scale = sqx / sqq;
      }
    }
  }
  return best_scale;
}

int nearest_iq4_index(float v) {
  // Midpoints between consecutive table values; a branch-free binary search over 16 entries.
  static constexpr float kMid[15] = {
      (kIQ4NLValues[0] + kIQ4NLValues[1]) / 2.0f,   (kIQ4NLValues[1] + kIQ4NLValues[2]) / 2.0f,
      (kIQ4NLValues[2] + kIQ4NLValues[3]) / 2.0f,   (kIQ4NLValues[3] + kIQ4NLValues[4]) / 2.0f,
      (kIQ4NLValues[4] + kIQ4NLValues[5]) / 2.0f,   (kIQ4NLValues[5] + kIQ4NLValues[6]) / 2.0f,
      (kIQ4NLValues[6] + kIQ4NLValues[7]) / 2.0f,   (kIQ4NLValues[7] + kIQ4NLValues[8]) / 2.0f,
      (kIQ4NLValues[8] + kIQ4NLValues[9]) / 2.0f,   (kIQ4NLValues[9] + kIQ4NLValues[10]) / 2.0f,
      (kIQ4NLValues[10] + kIQ4NLValues[11]) / 2.0f, (kIQ4NLValues[11] + kIQ4NLValues[12]) / 2.0f,
      (kIQ4NLValues[12] + kIQ4NLValues[13]) / 2.0f, (kIQ4NLValues[13] + kIQ4NLValues[14]) / 2.0f,
      (kIQ4NLValues[14] + kIQ4NLValues[15]) / 2.0f};
  // Count the midpoints below v: independent compares, no unpredictable branches.
  int idx = 0;
  for (float m : kMid) idx += v > m ? 1 : 0;
  return idx;
}

float fit_iq4(const float* x, int n) {
  const Extremes e = largest_magnitude(x, n);
  if (!(e.amax > 0)) return 0.0f;
  float best_score = 0.0f, best_scale = 0.0f;
  // The table is asymmetric (-127 .. 113): try mapping the extreme to either end.
  const float targets[2] = {static_cast<float>(kIQ4NLValues[0]), static_cast<float>(kIQ4NLValues[15])};
  for (float target : targets) {
    for (int step = -kSearchSteps; step <= kSearchSteps; ++step) {
      const float inv_scale = target * candidate_factor(step) / e.xm;
      float sqx = 0, sqq = 0;
      for (int i = 0; i < n; ++i) {
        const auto v = static_cast<float>(kIQ4NLValues[nearest_iq4_index(inv_scale * x[i])]);
        sqx += v * x[i];
        sqq += v * v;
      }
      if (sqq > 0 && sqx * sqx / sqq > best_score) {
        best_score = sqx * sqx / sqq;
        best_scale = sqx / sqq;
      }
    }
  }
  return best_scale;
}

}  // namespace tandem::tensor::detail
