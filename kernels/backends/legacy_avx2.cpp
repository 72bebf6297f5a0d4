// Legacy formats, AVX2 kernels (AVX2 + FMA + F16C, no VNNI).
// One block (32 codes) per ymm in natural order (4-bit codes expand as [q & 15 | q >> 4]).
// Codes are unsigned so vpmaddubsw (u8 x s8 -> i16 pairs, then vpmaddwd -> i32) applies;
// 4/5-bit codes are <= 31, so the i16 pairs cannot saturate. Q8 codes use the sign trick
// (|w| x sign(x, w), <= 2*128*127 < 32767). The code offset (8 or 16) is removed exactly by
// adding -off * (sum of 4 activation codes) per lane. Each block's scale d_w*d_x is broadcast
// (cvt + fma per block); Q4_1/Q5_1 minimums m_w*s_x are summed in a separate float.
// Tiles of up to 4 rows x 2 columns over an activation panel unpacked once per call; GEMM
// blocks k by 128 blocks so a tile's weights and activations stay in L1.
#include "legacy_avx2.h"
#include "compiled_isa.h"
#include "kernel_rows.h"
#include "kernel_tables.h"

namespace qb::kern {
namespace {

constexpr MatmulKernel kKernels[] = {QB_LEGACY_ROWS(Avx2, "4x2_avx2", gemm_legacy_avx2, quantize_act)};

}  // namespace

std::span<const MatmulKernel> legacy_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_avx2)

}  // namespace qb::kern
