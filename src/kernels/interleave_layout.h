#pragma once
// Where the pieces of a row-interleaved Q8_0 matrix live (kernels/interleave.h). Shared by the
// repacking code, the scalar reference kernel and the SIMD kernels, so all read one layout.
//
// A group of kInterleaveRows = 16 rows is stored as nb "block columns" (nb = cols / 32), in pairs:
//   pair p (blocks 2p, 2p+1): [16 f16 scales of 2p][16 f16 scales of 2p+1]
//                             [512 quant bytes of 2p][512 quant bytes of 2p+1]      1088 bytes
//   a lone last block (odd nb): [512 quant bytes][16 f16 scales]                     544 bytes
// The 512 quant bytes of a block column are 8 chunks of 64 bytes; chunk k holds, for row j = 0..15,
// that row's quants 4k..4k+3 at bytes 4j..4j+3, each stored as q + 128 (unsigned): one 64-byte load
// is the weight operand of an unsigned x signed 4-way dot product for 16 rows at once. Pairing
// keeps every quant chunk 64-byte aligned in the group (scales fill one 64-byte line per pair).
// A group is nb * 544 = 16 * row_bytes(Q8_0, cols) bytes, so rows r..r+15 (r a multiple of 16)
// start at r * row_bytes, as in the plain layout.
#include <cstddef>
#include <cstdint>

namespace tandem::kernels::detail {

constexpr int64_t kGroupRows = 16;
constexpr size_t kQ8BlockColumnBytes = 544;  // 16 scales (32) + 16 x 32 quants (512)
constexpr size_t kQ8QuantBytes = 512;
constexpr uint8_t kQ8QuantOffset = 128;

struct BlockColumn {
  size_t scales;  // offset of the 16 f16 scales in the group
  size_t quants;  // offset of the 8 x 64 quant bytes
};

inline BlockColumn q8_0_block_column(int64_t nb, int64_t b) {
  const size_t base = static_cast<size_t>(b / 2) * 2 * kQ8BlockColumnBytes;
  if (b == nb - 1 && nb % 2 == 1) return {base + kQ8QuantBytes, base};
  const size_t h = static_cast<size_t>(b % 2);
  return {base + 32 * h, base + 64 + kQ8QuantBytes * h};
}

}  // namespace tandem::kernels::detail
