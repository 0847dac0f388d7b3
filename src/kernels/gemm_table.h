#pragma once
// Internal interface between the matmul driver (matmul.cpp) and the per-type, per-ISA dot
// kernels. Each kernel translation unit fills in the entries of the types it implements.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kernels/isa.h"
#include "tensor/types.h"

namespace tandem::kernels::detail {

// Computes out[j * out_stride + i] = dot(weight row i, activation row j)
// for i < n_rows, j < n_act. `cols` is the row length in elements; w points at the first weight
// row (rows w_stride bytes apart); a at the first activation row, already converted to the
// entry's act_type (rows a_stride bytes apart).
using GemmFn = void (*)(int64_t cols, const void* w, size_t w_stride, int64_t n_rows,
                        const void* a, size_t a_stride, int64_t n_act, float* out,
                        size_t out_stride);

struct WeightKernel {
  tensor::Type act_type = tensor::Type::F32;  // format the driver converts activations to
  GemmFn gemm = nullptr;                      // null: type not implemented on this path
  // Optional kernel for several activation rows (same signature and act_type): unpacks each
  // weight tile (16 rows AVX-512, 8 AVX2) once per call and reuses it for every activation
  // (panel_*.cpp).
  // matmul.cpp takes it for calls of at least panel_min_acts activation rows (below that the
  // tile kernel's cheaper unpacking wins; measured per type, see the registration).
  GemmFn panel = nullptr;
  int64_t panel_min_acts = 0;
  // Kernel for matrices stored row-interleaved (kernels/interleave.h), every n_act; n_rows and
  // the first row are multiples of kInterleaveRows. interleave_pays: this path's kernel beats the
  // plain-row kernels (the loader repacks only then; elsewhere the entry is a reference).
  GemmFn interleaved = nullptr;
  bool interleave_pays = false;
};

constexpr int kMaxTypeId = 40;

// False when environment variable `name` is "0": the switches that turn a kernel family off for
// side-by-side benchmarks and bisecting (TANDEM_PANEL, TANDEM_INTERLEAVE). Read once per caller.
inline bool env_switch_on(const char* name) {
  const char* env = std::getenv(name);
  return env == nullptr || std::string_view(env) != "0";
}

struct KernelTable {
  WeightKernel by_type[kMaxTypeId];
  WeightKernel& operator[](tensor::Type t) { return by_type[static_cast<int>(t)]; }
  const WeightKernel& operator[](tensor::Type t) const { return by_type[static_cast<int>(t)]; }
};

// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL (kernels/legacy_*.cpp, kernels/float_*.cpp)
void register_legacy_kernels(Isa isa, KernelTable& table);
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS (kernels/kquant_*.cpp)
void register_kquant_kernels(Isa isa, KernelTable& table);

// Panel kernels (AVX-512 VNNI and AVX2): fill .panel of the types whose
// .act_type they match. Called after the two above, which assign whole entries.
void register_panel_legacy_avx512(KernelTable& table);  // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL
void register_panel_kquant_avx512(KernelTable& table);  // Q4_K Q5_K Q6_K
void register_panel_legacy_avx2(KernelTable& table);    // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL
void register_panel_kquant_avx2(KernelTable& table);    // Q4_K Q5_K Q6_K

// Kernels for row-interleaved matrices (kernels/interleave*.cpp): the scalar reference for Q8_0,
// Q5_0, Q4_0 and IQ4_NL; AVX-512 for all four; AVX2 for Q8_0.
void register_interleaved_scalar(KernelTable& table);
void register_interleaved_avx2(KernelTable& table);
void register_interleaved_avx512(KernelTable& table);

// The complete table of one path: its own kernels, and for types it lacks the entries of the
// next slower path (so an ISA missing one kernel still runs every type). Built once.
const KernelTable& kernel_table(Isa isa);

// Per-ISA pieces of register_legacy_kernels (each lives in the file its name says).
void register_legacy_scalar(KernelTable& table);
void register_float_scalar(KernelTable& table);
void register_legacy_avx2(KernelTable& table);
void register_float_avx2(KernelTable& table);
void register_legacy_avx512(KernelTable& table);
void register_float_avx512(KernelTable& table);
void register_legacy_neon(KernelTable& table);          // aarch64 builds only
void register_legacy_neon_dotprod(KernelTable& table);  // aarch64, CPUs with dotprod only
void register_float_neon(KernelTable& table);   // aarch64 builds only

// ---- Activation conversion (act_quant_*.cpp) ----
// Quantizes one row of n floats (a multiple of the block size) into Q8_0 / Q8_1 / Q8_K blocks,
// the same format tensor::quantize produces (scale = max|x| / 127, round to nearest; Q8_1's s is
// d * sum(qs); Q8_K's bsums are the exact sums of each 16 quants).
using ActQuantFn = void (*)(const float* x, void* dst, int64_t n);
struct ActQuantTable {
  ActQuantFn q8_0 = nullptr;
  ActQuantFn q8_1 = nullptr;
  ActQuantFn q8_k = nullptr;
};
ActQuantTable act_quant_scalar();
ActQuantTable act_quant_avx2();
ActQuantTable act_quant_avx512();
ActQuantTable act_quant_neon();  // aarch64 builds only
const ActQuantTable& act_quant_table(Isa isa);
// Converts one activation row into `type` (F32 copies, F16/BF16 round, Q8_* quantize).
void convert_activation_row(Isa isa, tensor::Type type, const float* x, void* dst, int64_t n);

}  // namespace tandem::kernels::detail
