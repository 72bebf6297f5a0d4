// The ISA extensions the including file is compiled for, read from the compiler's predefined
// macros (so it reflects the real per-file flags of cmake/Isa.cmake, not what we meant to set).
// Each kernel file exports it as <family>_<isa>_compiled_isa() for the dispatch audit.
#pragma once
#include <cstdint>

#include "qb/cpu_features.h"
#include "qb/x86_intrin.h"  // QB_AMX_* (one spelling for GCC and clang)

namespace qb::kern {
namespace {  // internal linkage: each file gets the value of its own flags

constexpr uint32_t compiled_isa() {
  uint32_t m = 0;
#if defined(__AVX2__)
  m |= isa::kAvx2;
#endif
#if defined(__FMA__)
  m |= isa::kFma;
#endif
#if defined(__F16C__)
  m |= isa::kF16c;
#endif
#if defined(__BMI2__)
  m |= isa::kBmi2;
#endif
#if defined(__AVX512F__)
  m |= isa::kAvx512f;
#endif
#if defined(__AVX512BW__)
  m |= isa::kAvx512bw;
#endif
#if defined(__AVX512VL__)
  m |= isa::kAvx512vl;
#endif
#if defined(__AVX512DQ__)
  m |= isa::kAvx512dq;
#endif
#if defined(__AVX512VNNI__)
  m |= isa::kAvx512vnni;
#endif
#if defined(__AVX512BF16__)
  m |= isa::kAvx512bf16;
#endif
#if defined(__AVX512FP16__)
  m |= isa::kAvx512fp16;
#endif
#if defined(QB_AMX_TILE)
  m |= isa::kAmxTile;
#endif
#if defined(QB_AMX_INT8)
  m |= isa::kAmxInt8;
#endif
#if defined(QB_AMX_BF16)
  m |= isa::kAmxBf16;
#endif
#if defined(__ARM_FEATURE_DOTPROD)
  m |= isa::kDotprod;
#endif
#if defined(__ARM_FEATURE_MATMUL_INT8)
  m |= isa::kI8mm;
#endif
#if defined(__ARM_FEATURE_BF16_VECTOR_ARITHMETIC) || defined(__ARM_FEATURE_BF16_SCALAR_ARITHMETIC)
  m |= isa::kArmBf16;
#endif
#if defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC) || defined(__ARM_FEATURE_FP16_SCALAR_ARITHMETIC)
  m |= isa::kArmFp16;
#endif
#if defined(__ARM_FEATURE_SVE)
  m |= isa::kSve;
#endif
  return m;
}

}  // namespace
}  // namespace qb::kern

// Defines <fn>_compiled_isa() next to a kernel table function <fn>().
#define QB_EXPORT_COMPILED_ISA(fn) \
  uint32_t fn##_compiled_isa() { return compiled_isa(); }
