// Legacy formats, AVX-512 kernels (F/BW/VL/DQ + VNNI); templates in legacy_avx512.h.
//
// Weight codes are made unsigned (nibbles as they are, Q8 codes xor 0x80) so that vpdpbusd
// (u8 x s8) applies; the code offset (8, 16, 128) is removed exactly by starting each dot from
// -off * (sum of 4 activation codes) per lane. Every int32 lane belongs to one block, so the
// per-block scale is applied lane-wise (cvt + mul + fma), no horizontal sums inside the loop.
// Block scales come out of the loaded weight bytes by word permutes (no gathers: they are
// microcoded and slow on current Intel parts).
// Activations are unpacked once per call into a panel (codes in the order the weights expand
// to). Tiles: 3 rows x 3 columns, k blocked by 128 blocks for GEMM so a tile's weights and
// activations stay in L1; GEMV (n == 1) streams whole rows, 4 at a time.
// GEMM of Q4_0/Q5_0/Q8_0/Q8_1 on AMX-INT8 has rows of its own: legacy_amxint8.cpp.
#include "legacy_avx512.h"
#include "compiled_isa.h"
#include "kernel_rows.h"
#include "kernel_tables.h"

namespace qb::kern {
namespace {

constexpr MatmulKernel kKernels[] = {QB_LEGACY_ROWS(Avx512, "3x3_avx512vnni", gemm_legacy_vnni, quantize_act)};

}  // namespace

std::span<const MatmulKernel> legacy_avx512() { return kKernels; }
QB_EXPORT_COMPILED_ISA(legacy_avx512)

}  // namespace qb::kern
