// Each (family × ISA) file defines one function returning its kernels; dispatch.cpp merges them.
// Families: legacy (Q4_0..Q8_1), float (F32/F16/BF16), int (INT8/INT4/NF4), kquant (Q2_K..Q8_K),
// iquant (IQ4_NL, IQ4_XS, MXFP4), ternary (TQ1_0, TQ2_0).
#pragma once
#include <span>

#include "qb/matmul.h"

namespace qb::kern {

#define QB_KERNEL_FAMILY(fam)                          \
  std::span<const MatmulKernel> fam##_scalar();        \
  std::span<const MatmulKernel> fam##_avx2();          \
  std::span<const MatmulKernel> fam##_avx512();        \
  std::span<const MatmulKernel> fam##_neon();

QB_KERNEL_FAMILY(legacy)
QB_KERNEL_FAMILY(float)
QB_KERNEL_FAMILY(int)
QB_KERNEL_FAMILY(kquant)
QB_KERNEL_FAMILY(iquant)
QB_KERNEL_FAMILY(ternary)
#undef QB_KERNEL_FAMILY

}  // namespace qb::kern
