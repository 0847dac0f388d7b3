#include "util/cpu_features.h"

#include <fstream>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace tandem {

namespace {

#if defined(__x86_64__)
bool os_saves_avx512_state() {
  // XCR0 bits 1,2 (SSE/AVX) and 5,6,7 (opmask, ZMM_Hi256, Hi16_ZMM) must be enabled by the OS.
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & 0xE6) == 0xE6;
}
bool os_saves_avx_state() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & 0x6) == 0x6;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29);
  if (osxsave && os_saves_avx_state() && __get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    const bool avx2 = b & (1u << 5);
    f.avx2 = avx2 && fma && f16c;
    const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
               avx512vl = b & (1u << 31);
    f.avx512 = f.avx2 && avx512f && avx512dq && avx512bw && avx512vl && os_saves_avx512_state();
    f.avx512_vnni = f.avx512 && (c & (1u << 11));
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    f.avx512_bf16 = f.avx512 && (a1 & (1u << 5));
    f.avx_vnni = f.avx2 && (a1 & (1u << 4));
  }
#elif defined(__aarch64__)
  f.neon = true;
#if defined(__ARM_FEATURE_DOTPROD)
  f.dotprod = true;
#elif defined(__linux__) && defined(HWCAP_ASIMDDP)
  // SDOT / UDOT (ARMv8.2 dotprod), optional before ARMv8.4: ask the kernel.
  f.dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
#endif
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) f.model_name = line.substr(p + 2);
      break;
    }
  }
  return f;
}

}  // namespace

const CpuFeatures& CpuFeatures::get() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace tandem
