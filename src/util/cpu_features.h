#pragma once
// Instruction sets of the running CPU, read once with CPUID (x86-64) and cached.
#include <string>

namespace tandem {

struct CpuFeatures {
  bool avx2 = false;        // with FMA and F16C (every AVX2 CPU we target has them)
  bool avx512 = false;      // AVX-512 F + BW + VL + DQ
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx_vnni = false;    // VEX-encoded VNNI (AVX2 machines, Alder Lake+ / Zen 5)
  bool neon = false;
  bool dotprod = false;
  std::string model_name;   // e.g. "AMD EPYC 9R14", from /proc/cpuinfo

  static const CpuFeatures& get();
};

}  // namespace tandem
