// CPU feature detection: cpuid + xgetbv on x86-64, hwcaps on aarch64. Runs once.
#include "qb/cpu_features.h"

#include <cstring>
#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace qb {

namespace {

#if defined(__x86_64__)
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }
unsigned long long xgetbv0() {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (unsigned long long)hi << 32 | lo;
}
#endif

std::string cpuinfo_field(const char* key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) {
        auto v = line.substr(p + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        return v;
      }
    }
  }
  return "";
}

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  char vendor[13] = {};
  std::memcpy(vendor, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  f.vendor = vendor;
  cpuid(1, 0, r);
  f.sse42 = r[2] & (1u << 20);
  f.fma = r[2] & (1u << 12);
  f.f16c = r[2] & (1u << 29);
  f.avx = r[2] & (1u << 28);
  f.hypervisor = r[2] & (1u << 31);
  const bool osxsave = r[2] & (1u << 27);
  if (osxsave) {
    const unsigned long long xcr0 = xgetbv0();
    f.os_avx = (xcr0 & 0x6) == 0x6;
    f.os_avx512 = f.os_avx && (xcr0 & 0xe0) == 0xe0;
    f.os_amx = (xcr0 & 0x60000) == 0x60000;
  }
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    f.avx2 = r[1] & (1u << 5);
    f.bmi2 = r[1] & (1u << 8);
    f.avx512f = r[1] & (1u << 16);
    f.avx512dq = r[1] & (1u << 17);
    f.avx512bw = r[1] & (1u << 30);
    f.avx512vl = r[1] & (1u << 31);
    f.avx512vnni = r[2] & (1u << 11);
    f.avx512fp16 = r[3] & (1u << 23);
    f.amx_bf16 = r[3] & (1u << 22);
    f.amx_tile = r[3] & (1u << 24);
    f.amx_int8 = r[3] & (1u << 25);
    cpuid(7, 1, r);
    f.avx_vnni = r[0] & (1u << 4);
    f.avx512bf16 = r[0] & (1u << 5);
  }
  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002u + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
    f.model = brand;
    f.model.erase(0, f.model.find_first_not_of(' '));
  }
  if (!f.os_avx) f.avx = f.avx2 = f.fma = f.f16c = false;
  if (!f.os_avx512)
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512vnni = f.avx512bf16 = f.avx512fp16 = false;
  // Linux hands out AMX tile data per process on request; asked here, once, not per kernel call.
  if (f.amx_tile && f.os_amx)
    f.amx_permitted = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
#elif defined(__aarch64__)
  const unsigned long hw = getauxval(AT_HWCAP);
  const unsigned long hw2 = getauxval(AT_HWCAP2);
  f.neon = hw & (1ul << 1);        // HWCAP_ASIMD
  f.dotprod = hw & (1ul << 20);    // HWCAP_ASIMDDP
  f.sve = hw & (1ul << 22);        // HWCAP_SVE
  f.i8mm = hw2 & (1ul << 13);      // HWCAP2_I8MM
  f.arm_bf16 = hw2 & (1ul << 14);  // HWCAP2_BF16
  f.arm_fp16 = hw & (1ul << 10);   // HWCAP_ASIMDHP
  f.vendor = cpuinfo_field("CPU implementer");
  f.model = cpuinfo_field("CPU part");
#endif
  if (f.model.empty()) f.model = cpuinfo_field("model name");
  if (!f.hypervisor) f.hypervisor = cpuinfo_field("flags").find("hypervisor") != std::string::npos;
  return f;
}

}  // namespace

std::vector<std::string> CpuFeatures::names() const {
  std::vector<std::string> v;
  auto add = [&](bool b, const char* n) {
    if (b) v.push_back(n);
  };
  add(sse42, "sse4.2");
  add(avx, "avx");
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(bmi2, "bmi2");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512dq, "avx512dq");
  add(avx512vnni, "avx512vnni");
  add(avx512bf16, "avx512bf16");
  add(avx512fp16, "avx512fp16");
  add(avx_vnni, "avx_vnni");
  add(amx_tile, "amx_tile");
  add(amx_int8, "amx_int8");
  add(amx_bf16, "amx_bf16");
  add(neon, "neon");
  add(dotprod, "dotprod");
  add(i8mm, "i8mm");
  add(sve, "sve");
  add(arm_bf16, "bf16");
  add(arm_fp16, "fp16");
  return v;
}

uint32_t CpuFeatures::isa_mask() const {
  uint32_t m = 0;
  auto set = [&](bool b, uint32_t bit) {
    if (b) m |= bit;
  };
  // detect() already clears x86 bits whose register state the OS does not save.
  set(avx2, isa::kAvx2);
  set(fma, isa::kFma);
  set(f16c, isa::kF16c);
  set(bmi2, isa::kBmi2);
  set(avx512f, isa::kAvx512f);
  set(avx512bw, isa::kAvx512bw);
  set(avx512vl, isa::kAvx512vl);
  set(avx512dq, isa::kAvx512dq);
  set(avx512vnni, isa::kAvx512vnni);
  set(avx512bf16, isa::kAvx512bf16);
  set(avx512fp16, isa::kAvx512fp16);
  const bool amx = amx_tile && os_amx && amx_permitted;
  set(amx, isa::kAmxTile);
  set(amx && amx_int8, isa::kAmxInt8);
  set(amx && amx_bf16, isa::kAmxBf16);
  set(neon && dotprod, isa::kDotprod);
  set(neon && i8mm, isa::kI8mm);
  set(neon && arm_bf16, isa::kArmBf16);
  set(neon && arm_fp16, isa::kArmFp16);
  set(sve, isa::kSve);
  return m;
}

std::vector<std::string> isa_names(uint32_t mask) {
  static const std::pair<uint32_t, const char*> kNames[] = {{isa::kAvx2, "avx2"},
                                                            {isa::kFma, "fma"},
                                                            {isa::kF16c, "f16c"},
                                                            {isa::kBmi2, "bmi2"},
                                                            {isa::kAvx512f, "avx512f"},
                                                            {isa::kAvx512bw, "avx512bw"},
                                                            {isa::kAvx512vl, "avx512vl"},
                                                            {isa::kAvx512dq, "avx512dq"},
                                                            {isa::kAvx512vnni, "avx512vnni"},
                                                            {isa::kAvx512bf16, "avx512bf16"},
                                                            {isa::kAvx512fp16, "avx512fp16"},
                                                            {isa::kAmxTile, "amx_tile"},
                                                            {isa::kAmxInt8, "amx_int8"},
                                                            {isa::kAmxBf16, "amx_bf16"},
                                                            {isa::kDotprod, "dotprod"},
                                                            {isa::kI8mm, "i8mm"},
                                                            {isa::kArmBf16, "bf16"},
                                                            {isa::kArmFp16, "fp16"},
                                                            {isa::kSve, "sve"}};
  std::vector<std::string> v;
  for (auto [bit, name] : kNames)
    if (mask & bit) v.push_back(name);
  return v;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace qb
