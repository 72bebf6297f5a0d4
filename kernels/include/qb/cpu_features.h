// ISA features of the running CPU, detected once (cpuid/xgetbv on x86, hwcaps on aarch64).
#pragma once
#include <string>
#include <vector>

namespace qb {

struct CpuFeatures {
  // x86
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false, avx512fp16 = false, avx_vnni = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  bool os_avx = false, os_avx512 = false, os_amx = false;  // OS saves the wider register state
  // aarch64
  bool neon = false, dotprod = false, i8mm = false, sve = false, arm_bf16 = false;
  bool hypervisor = false;
  std::string vendor, model;

  std::vector<std::string> names() const;  // the features present, e.g. {"avx2","fma",...}
};

const CpuFeatures& cpu_features();  // detected once, cached

}  // namespace qb
