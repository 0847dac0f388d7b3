#pragma once
// Where the pieces of a row-interleaved matrix live (kernels/interleave.h). Shared by the
// repacking code, the scalar reference kernel and the SIMD kernels, so all read one layout.
//
// A group of kInterleaveRows = 16 rows is stored as nb "block columns" (nb = cols / 32): the 16
// rows' blocks b, each as 16 f16 scales plus a payload of the rows' quants. Block columns go in
// pairs so that every payload starts on a 64-byte boundary of the group:
//   pair p (blocks 2p, 2p+1): [16 scales of 2p][16 scales of 2p+1][payload 2p][payload 2p+1]
//   a lone last block (odd nb): [payload][16 scales]
// A group is nb * 16 * sizeof(block) = 16 * row_bytes(type, cols) bytes, so rows r..r+15 (r a
// multiple of 16) start at r * row_bytes, as in the plain layout.
//
// Payloads. Both put 4 consecutive quants of each of the 16 rows in one 64-byte vector (row j at
// bytes 4j..4j+3), the weight operand of an unsigned x signed 4-way dot product for 16 rows:
// - Q8_0 (512 bytes): 8 chunks of 64 bytes; chunk k holds quants 4k..4k+3, each stored as q + 128.
// - Q5_0 (320 bytes): 4 chunks of 64 bytes of the rows' nibble bytes qs[4k..4k+3] (low nibbles:
//   elements 4k..4k+3, high nibbles: 16+4k..16+4k+3), then 8 little-endian 64-bit masks of the
//   5th bits: mask g bit 4j+e is the 5th bit of row j's element 4g+e. Unpacked vector g (elements
//   4g..4g+3: chunk g's low nibbles for g < 4, chunk g-4's high nibbles after) is completed by
//   adding 16 to the bytes mask g selects.
// - Q4_0 and IQ4_NL (256 bytes): Q5_0's 4 nibble chunks alone. Q4_0's vector g holds q (0..15,
//   value d * (q - 8)); IQ4_NL's holds indices into tensor::kIQ4NLValues, which the kernels look
//   up (shifted by +128 to unsigned).
#include <cstddef>
#include <cstdint>

namespace tandem::kernels::detail {

constexpr int64_t kGroupRows = 16;
constexpr size_t kScaleBytes = 32;  // 16 f16 scales per block column
constexpr size_t kQ8PayloadBytes = 512;
constexpr uint8_t kQ8QuantOffset = 128;
constexpr size_t kQ5PayloadBytes = 320;
constexpr size_t kQ5MaskOffset = 256;  // the masks, after the 4 nibble chunks
constexpr int32_t kQ5QuantOffset = 16;
constexpr size_t kNibblePayloadBytes = 256;
constexpr int32_t kQ4QuantOffset = 8;
constexpr int32_t kIQ4NLOffset = 128;  // added to the table's values to make them unsigned

struct BlockColumn {
  size_t scales;   // offset of the 16 f16 scales in the group
  size_t payload;  // offset of the payload
};

inline BlockColumn block_column(int64_t nb, int64_t b, size_t payload_bytes) {
  const size_t base = static_cast<size_t>(b / 2) * 2 * (kScaleBytes + payload_bytes);
  if (b == nb - 1 && nb % 2 == 1) return {base + payload_bytes, base};
  const size_t h = static_cast<size_t>(b % 2);
  return {base + kScaleBytes * h, base + 2 * kScaleBytes + payload_bytes * h};
}

}  // namespace tandem::kernels::detail
