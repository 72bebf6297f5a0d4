// Legacy formats, NEON kernels (armv8.2-a + dotprod). Each block's codes are widened to signed
// int8 with the offset removed (4-bit: code - 8, 5-bit: code - 16; Q4_1/Q5_1 keep the unsigned
// code, which fits int8) and dotted with the activation codes by sdot (vdotq_s32): two per
// block, an int32x4 per block, then cvt + fma with d_w*d_x. Q4_1/Q5_1 add m_w*s_x per block.
// Tiles of up to 4 rows x 4 columns; activation scales converted once per call.
#include "legacy_neon.h"
#include "compiled_isa.h"
#include "kernel_rows.h"
#include "kernel_tables.h"

namespace qb::kern {
namespace {

constexpr MatmulKernel kKernels[] = {QB_LEGACY_ROWS(Neon, "4x4_neondot", gemm_legacy_neon, quantize_act)};

}  // namespace

std::span<const MatmulKernel> legacy_neon() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_neon)

}  // namespace qb::kern
