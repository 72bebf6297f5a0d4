// ISA features of the running CPU, detected once (cpuid/xgetbv on x86, hwcaps on aarch64).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qb {

// ISA extensions as bits, for gating kernels: dispatch calls a kernel only when every bit its
// source file requires is granted by the CPU (and the OS). Baseline ISA (x86-64, AArch64 with
// asimd) is not listed.
namespace isa {
enum : uint32_t {
  kAvx2 = 1u << 0,
  kFma = 1u << 1,
  kF16c = 1u << 2,
  kBmi2 = 1u << 3,
  kAvx512f = 1u << 4,
  kAvx512bw = 1u << 5,
  kAvx512vl = 1u << 6,
  kAvx512dq = 1u << 7,
  kAvx512vnni = 1u << 8,
  kAvx512bf16 = 1u << 9,
  kAvx512fp16 = 1u << 10,
  kAmxTile = 1u << 11,  // AMX bits: the CPU has it, XCR0 enables tile state and Linux granted it
  kAmxInt8 = 1u << 12,
  kAmxBf16 = 1u << 13,
  kDotprod = 1u << 16,
  kI8mm = 1u << 17,
  kArmBf16 = 1u << 18,
  kArmFp16 = 1u << 19,
  kSve = 1u << 20,
};
}  // namespace isa
std::vector<std::string> isa_names(uint32_t mask);  // e.g. {"avx512f","avx512vnni"}

struct CpuFeatures {
  // x86
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false, avx512fp16 = false, avx_vnni = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  bool os_avx = false, os_avx512 = false, os_amx = false;  // OS saves the wider register state
  bool amx_permitted = false;  // Linux granted this process the tile data (arch_prctl), asked once
  // aarch64
  bool neon = false, dotprod = false, i8mm = false, sve = false, arm_bf16 = false, arm_fp16 = false;
  bool hypervisor = false;
  std::string vendor, model;

  std::vector<std::string> names() const;  // the features present, e.g. {"avx2","fma",...}
  uint32_t isa_mask() const;               // isa:: bits granted (CPU has it and the OS saves its state)
};

const CpuFeatures& cpu_features();  // detected once, cached

}  // namespace qb
