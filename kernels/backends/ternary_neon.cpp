// Ternary formats (TQ1_0, TQ2_0) x Q8_K, NEON (dotprod) kernels: trits decoded to signed int8
// for the 1 x 4 sdot super-block microkernel (sb_tile_neon-inl.h).
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "sb_tile_neon-inl.h"
#include "ternary_common.h"

namespace qb::kern {

namespace {
using namespace neon;

// Trits + 1 of 16 base-3 bytes times 3^t (per byte): (3q) >> 8 = [q >= 86] + [q >= 171].
inline int8x16_t trits_minus1(uint8x16_t v, uint8x16_t mul) {
  const uint8x16_t q = vmulq_u8(v, mul);
  const uint8x16_t t = vsubq_u8(vdupq_n_u8(0), vaddq_u8(vcgeq_u8(q, vdupq_n_u8(86)), vcgeq_u8(q, vdupq_n_u8(171))));
  return vsubq_s8(vreinterpretq_s8_u8(t), vdupq_n_s8(1));
}

struct TQ2 {
  static constexpr bool kHasMin = false;
  static constexpr size_t kBytes = sizeof(block_tq2_0);
  static void decode(const uint8_t* b, DSb& o) {
    for (int g = 0; g < 16; ++g) {  // element 128h + 32j + l = bits 2j of qs[32h + l], +1
      const int h = g / 8, j = (g % 8) / 2, l0 = 16 * (g % 2);
      const uint8x16_t v = vandq_u8(vshlq_u8(vld1q_u8(b + 32 * h + l0), vdupq_n_s8(int8_t(-2 * j))), vdupq_n_u8(3));
      o.q[g] = vsubq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(1));
      o.sc[g] = 1;
    }
    o.d = load_half(b + offsetof(block_tq2_0, d));
    o.dmin = 0.0f;
  }
};

struct TQ1 {
  static constexpr bool kHasMin = false;
  static constexpr size_t kBytes = sizeof(block_tq1_0);
  static void decode(const uint8_t* b, DSb& o) {
    static constexpr uint8_t kP[5] = {1, 3, 9, 27, 81};
    const uint8_t* qs = b + offsetof(block_tq1_0, qs);
    // Groups 0..9: qs[0..31] trit g/2 (elements 32t + l); 10..14: qs[32..47] trit g-10
    // (elements 160 + 16t + l); 15: qh[0..3] x4, trit b/4 for byte b (elements 240 + 4t + l).
    for (int g = 0; g < 10; ++g) o.q[g] = trits_minus1(vld1q_u8(qs + 16 * (g % 2)), vdupq_n_u8(kP[g / 2]));
    const uint8x16_t q1 = vld1q_u8(qs + 32);
    for (int t = 0; t < 5; ++t) o.q[10 + t] = trits_minus1(q1, vdupq_n_u8(kP[t]));
    static constexpr uint8_t kMul15[16] = {1, 1, 1, 1, 3, 3, 3, 3, 9, 9, 9, 9, 27, 27, 27, 27};
    const uint8x16_t qh = vreinterpretq_u8_u32(vdupq_n_u32(load_as<uint32_t>(b + offsetof(block_tq1_0, qh))));
    o.q[15] = trits_minus1(qh, vld1q_u8(kMul15));
    for (int g = 0; g < 16; ++g) o.sc[g] = 1;
    o.d = load_half(b + offsetof(block_tq1_0, d));
    o.dmin = 0.0f;
  }
};

const MatmulKernel kKernels[] = {
    {FormatId::TQ1_0, BackendId::Neon, FormatId::Q8_K, "gemm_tq1_0_q8_K_1x4_neondot", q8_K_row_bytes,
     quantize_act_q8_K_ref, gemm_strided<SbTileNeon<TQ1>>},
    {FormatId::TQ2_0, BackendId::Neon, FormatId::Q8_K, "gemm_tq2_0_q8_K_1x4_neondot", q8_K_row_bytes,
     quantize_act_q8_K_ref, gemm_strided<SbTileNeon<TQ2>>},
};
}  // namespace

std::span<const MatmulKernel> ternary_neon() { return kKernels; }
QB_EXPORT_COMPILED_ISA(ternary_neon)

}  // namespace qb::kern
