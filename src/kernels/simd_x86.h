#pragma once
// Small x86 SIMD helpers shared by the _avx2.cpp and _avx512.cpp kernel files. Every function is
// static inline: each file compiles them with its own ISA flags, and no out-of-line copy built
// with AVX-512 flags may ever be picked by the linker for an AVX2-only caller.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace tandem::kernels::simd {

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline float fp16(uint16_t h) { return _cvtsh_ss(h); }

// Decode (one activation row) prefetches the weights this far ahead of its loads (software
// prefetch, into L1). The hardware prefetcher alone kept one streaming core ~10-20% below the
// read probe; 8-16 KB ahead measured at or above the probe for Q4_0, Q5_0 and Q8_0 on Zen 5
// (2-4 KB gained little). Used by the legacy and the interleaved decode kernels.
constexpr int kDecodePrefetchBytes = 8192;

// Prefetches [p, p + bytes) + kDecodePrefetchBytes by cache lines, stopping before `end` (the
// end of the call's rows, so a small chunk fetches nothing it won't use).
static inline void prefetch_ahead(const uint8_t* p, int bytes, const uint8_t* end) {
  for (int o = 0; o < bytes; o += 64)
    if (end - p > kDecodePrefetchBytes + o)  // (p + distance itself may lie past the buffer)
      _mm_prefetch(reinterpret_cast<const char*>(p + kDecodePrefetchBytes + o), _MM_HINT_T0);
}

static inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// 16 bytes of packed nibbles -> 32 bytes: low nibbles (elements 0..15) then high (16..31).
static inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i v = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

// Bit j of the 32-bit qh -> byte j equal to 0x10 when set, 0 otherwise.
static inline __m256i expand_high_bits(const uint8_t* qh_bytes) {
  const __m256i bcast = _mm256_set1_epi32(static_cast<int>(load_u32(qh_bytes)));
  // Byte j picks byte j/8 of qh, then tests bit j%8.
  const __m256i pick = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                                         0x0101010101010101LL, 0x0000000000000000LL);
  const __m256i bytes = _mm256_shuffle_epi8(bcast, pick);
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Dot products of 32 byte pairs summed in fours into 8 int32 lanes, added to acc.
// u: unsigned bytes (0..255, at most 127 pairs with |y|=127 must not saturate int16: callers
// pass u <= 128), y: signed bytes.
static inline __m256i dot_u8_i8(__m256i acc, __m256i u, __m256i y) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(acc, u, y);
#else
  const __m256i pairs = _mm256_maddubs_epi16(u, y);
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
#endif
}

// Signed x signed: move the sign of x onto y so x can be used unsigned.
static inline __m256i dot_i8_i8(__m256i acc, __m256i x, __m256i y) {
  return dot_u8_i8(acc, _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

}  // namespace tandem::kernels::simd
