// Each (family × ISA) file defines one function returning its kernels; dispatch.cpp merges them.
// Families: legacy (Q4_0..Q8_1), float (F32/F16/BF16), int (INT8/INT4/NF4), kquant (Q2_K..Q8_K),
// iquant (IQ4_NL, IQ4_XS, MXFP4), ternary (TQ1_0, TQ2_0).
#pragma once
#include <cstdint>
#include <span>

#include "qb/matmul.h"

namespace qb::kern {

// Next to each, <fn>_compiled_isa() says which ISA bits that file was compiled for (compiled_isa.h).
#define QB_KERNEL_FILE(fn)            \
  std::span<const MatmulKernel> fn(); \
  uint32_t fn##_compiled_isa();
#define QB_KERNEL_FAMILY(fam) \
  QB_KERNEL_FILE(fam##_scalar) QB_KERNEL_FILE(fam##_avx2) QB_KERNEL_FILE(fam##_avx512) QB_KERNEL_FILE(fam##_neon)

QB_KERNEL_FAMILY(legacy)
QB_KERNEL_FAMILY(float)
QB_KERNEL_FAMILY(int)
QB_KERNEL_FAMILY(kquant)
QB_KERNEL_FAMILY(iquant)
QB_KERNEL_FAMILY(ternary)
#undef QB_KERNEL_FAMILY
QB_KERNEL_FILE(legacy_packed_avx2)       // Q4_0/Q8_0 on 8-row interleaved weights (MatmulKernel::pack)
QB_KERNEL_FILE(kquant_packed_avx2)       // Q4_K/Q5_K on 8-row interleaved super-blocks (MatmulKernel::pack)
QB_KERNEL_FILE(kquant_packed_q6q3_avx2)  // Q6_K/Q3_K on 8-row interleaved super-blocks, d at the back
QB_KERNEL_FILE(float_packed_avx2)        // F32/F16/BF16 on 16-row k-major groups (MatmulKernel::pack)
QB_KERNEL_FILE(ternary_packed_avx2)      // TQ1_0 on 8-row interleaved super-blocks (MatmulKernel::pack)
QB_KERNEL_FILE(float_avx512bf16)         // BF16 kernels need AVX512_BF16; F32/F16 in float_avx512 do not
QB_KERNEL_FILE(legacy_amxint8)           // AMX rows: GEMM on tiles, preferred where AMX is granted
QB_KERNEL_FILE(float_amxbf16)
// IQ4_XS and Q2_K on kquant_packed_avx2's 8-row super-block layout (MatmulKernel::pack)
QB_KERNEL_FILE(iquant_packed_avx2)
QB_KERNEL_FILE(kquant_packed_q2_avx2)
QB_KERNEL_FILE(legacy_neoni8mm)  // smmla GEMM rows where the CPU has i8mm; GEMV keeps legacy_neon
QB_KERNEL_FILE(float_neonbf16)   // bfdot/bfmmla BF16 where the CPU has bf16; float_neon widens
#undef QB_KERNEL_FILE

}  // namespace qb::kern
