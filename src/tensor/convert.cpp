// Dispatch of dequantize()/quantize() by type to the typed routines of quants.h.
#include "tensor/convert.h"

#include <cstring>
#include <string>

#include "tensor/quants.h"
#include "util/error.h"

namespace tandem::tensor {
namespace {

using DequantizeFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeFn = void (*)(const float* src, void* dst, int64_t n);

struct Converters {
  DequantizeFn dequantize = nullptr;
  QuantizeFn quantize = nullptr;
};

// Adapts a typed row routine to the untyped signature.
template <typename Block, void (*Fn)(const Block*, float*, int64_t)>
void dequantize_as(const void* src, float* dst, int64_t n) {
  Fn(static_cast<const Block*>(src), dst, n);
}
template <typename Block, void (*Fn)(const float*, Block*, int64_t)>
void quantize_as(const float* src, void* dst, int64_t n) {
  Fn(src, static_cast<Block*>(dst), n);
}

void copy_f32_in(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }
void copy_f32_out(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }

void f16_to_f32_row(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}
void f32_to_f16_row(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}
void bf16_to_f32_row(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
}
void f32_to_bf16_row(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}

Converters converters(Type t) {
  switch (t) {
    case Type::F32: return {copy_f32_in, copy_f32_out};
    case Type::F16: return {f16_to_f32_row, f32_to_f16_row};
    case Type::BF16: return {bf16_to_f32_row, f32_to_bf16_row};
    case Type::Q4_0:
      return {dequantize_as<BlockQ4_0, dequantize_row_q4_0>, quantize_as<BlockQ4_0, quantize_row_q4_0>};
    case Type::Q4_1:
      return {dequantize_as<BlockQ4_1, dequantize_row_q4_1>, quantize_as<BlockQ4_1, quantize_row_q4_1>};
    case Type::Q5_0:
      return {dequantize_as<BlockQ5_0, dequantize_row_q5_0>, quantize_as<BlockQ5_0, quantize_row_q5_0>};
    case Type::Q5_1:
      return {dequantize_as<BlockQ5_1, dequantize_row_q5_1>, quantize_as<BlockQ5_1, quantize_row_q5_1>};
    case Type::Q8_0:
      return {dequantize_as<BlockQ8_0, dequantize_row_q8_0>, quantize_as<BlockQ8_0, quantize_row_q8_0>};
    case Type::Q8_1:
      return {dequantize_as<BlockQ8_1, dequantize_row_q8_1>, quantize_as<BlockQ8_1, quantize_row_q8_1>};
    case Type::Q2_K:
      return {dequantize_as<BlockQ2_K, dequantize_row_q2_k>, quantize_as<BlockQ2_K, quantize_row_q2_k>};
    case Type::Q3_K:
      return {dequantize_as<BlockQ3_K, dequantize_row_q3_k>, quantize_as<BlockQ3_K, quantize_row_q3_k>};
    case Type::Q4_K:
      return {dequantize_as<BlockQ4_K, dequantize_row_q4_k>, quantize_as<BlockQ4_K, quantize_row_q4_k>};
    case Type::Q5_K:
      return {dequantize_as<BlockQ5_K, dequantize_row_q5_k>, quantize_as<BlockQ5_K, quantize_row_q5_k>};
    case Type::Q6_K:
      return {dequantize_as<BlockQ6_K, dequantize_row_q6_k>, quantize_as<BlockQ6_K, quantize_row_q6_k>};
    case Type::Q8_K:
      return {dequantize_as<BlockQ8_K, dequantize_row_q8_k>, quantize_as<BlockQ8_K, quantize_row_q8_k>};
    case Type::IQ4_NL:
      return {dequantize_as<BlockIQ4_NL, dequantize_row_iq4_nl>,
              quantize_as<BlockIQ4_NL, quantize_row_iq4_nl>};
    case Type::IQ4_XS:
      return {dequantize_as<BlockIQ4_XS, dequantize_row_iq4_xs>,
              quantize_as<BlockIQ4_XS, quantize_row_iq4_xs>};
    default: return {};
  }
}

// Throws unless n is a non-negative multiple of t's block size.
void check_count(Type t, int64_t n, const char* what) {
  const TypeInfo& ti = info(t);
  if (n < 0 || n % ti.block_size != 0) {
    throw InvalidArgument(std::string(what) + ": " + std::to_string(n) + " elements is not a multiple of the " +
                          std::string(ti.name) + " block size " + std::to_string(ti.block_size));
  }
}

std::string unsupported(Type t, const char* what) {
  const auto id = static_cast<uint32_t>(t);
  const auto ti = type_info(id);
  return std::string(what) + " is not supported for tensor type " +
         (ti ? std::string(ti->name) : "id " + std::to_string(id));
}

}  // namespace

void dequantize(Type t, const void* src, float* dst, int64_t n) {
  const Converters c = converters(t);
  if (c.dequantize == nullptr) throw InvalidArgument(unsupported(t, "dequantize"));
  check_count(t, n, "dequantize");
  c.dequantize(src, dst, n);
}

bool can_quantize(Type t) { return converters(t).quantize != nullptr; }

void quantize(Type t, const float* src, void* dst, int64_t n) {
  const Converters c = converters(t);
  if (c.quantize == nullptr) throw InvalidArgument(unsupported(t, "quantize"));
  check_count(t, n, "quantize");
  c.quantize(src, dst, n);
}

}  // namespace tandem::tensor
