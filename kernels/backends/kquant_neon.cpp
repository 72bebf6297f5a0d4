// K-quant formats x Q8_K, NEON (dotprod) kernels: per-format super-block decoders to signed
// int8 groups of 16 for the 1 x 4 sdot microkernel in sb_tile_neon-inl.h.
#include "compiled_isa.h"
#include "kernel_tables.h"
#include "sb_tile_neon-inl.h"

namespace qb::kern {

namespace {
using namespace neon;

inline uint8x16_t ld(const uint8_t* p) { return vld1q_u8(p); }
inline int8x16_t s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }

// Element 128h + 32j + l = bits 2j of qs[32h + l] (Q2_K, Q3_K): group g = (h, j, l0 = 16(g%2)).
inline uint8x16_t codes2(const uint8_t* qs, int g) {
  const int h = g / 8, j = (g % 8) / 2, l0 = 16 * (g % 2);
  return vandq_u8(vshlq_u8(ld(qs + 32 * h + l0), vdupq_n_s8(int8_t(-2 * j))), vdupq_n_u8(3));
}

struct Q2K {
  static constexpr bool kHasMin = true;
  static constexpr size_t kBytes = sizeof(block_q2_K);
  static void decode(const uint8_t* b, DSb& o) {
    const uint8_t* sc = b + offsetof(block_q2_K, scales);
    for (int g = 0; g < 16; ++g) {
      o.sc[g] = sc[g] & 0xF;
      o.mn[g] = sc[g] >> 4;
      o.q[g] = s8(codes2(b + offsetof(block_q2_K, qs), g));
    }
    o.d = load_half(b + offsetof(block_q2_K, d));
    o.dmin = load_half(b + offsetof(block_q2_K, dmin));
  }
};

struct Q3K {
  static constexpr bool kHasMin = false;
  static constexpr size_t kBytes = sizeof(block_q3_K);
  static void decode(const uint8_t* b, DSb& o) {
    int8_t s[16];
    unpack_scales_q3_K(b + offsetof(block_q3_K, scales), s);
    const uint8_t* hm = b + offsetof(block_q3_K, hmask);
    // Unrolled: GCC otherwise keeps these loops (Q3_K, Q5_K, Q6_K) rolled, recomputing each group's
    // offsets and shift vectors (Q5_K GEMV 2.92 -> 0.95 instructions per weight, neon_instr.py).
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      const int h = g / 8, j = (g % 8) / 2, l0 = 16 * (g % 2);
      o.sc[g] = s[g];
      // A clear hmask bit (4h + j) subtracts 4.
      const uint8x16_t bit = vdupq_n_u8(uint8_t(1 << (4 * h + j)));
      const uint8x16_t clear = vceqq_u8(vandq_u8(ld(hm + l0), bit), vdupq_n_u8(0));
      o.q[g] = vsubq_s8(s8(codes2(b + offsetof(block_q3_K, qs), g)), s8(vandq_u8(clear, vdupq_n_u8(4))));
    }
    o.d = load_half(b + offsetof(block_q3_K, d));
    o.dmin = 0.0f;
  }
};

// Element 64j + l: low nibble of qs[32j + l], 64j + 32 + l: high nibble. Group g = (j, nibble, l0).
inline uint8x16_t codes4(const uint8_t* qs, int g) {
  const int j = g / 4, hi = (g % 4) / 2, l0 = 16 * (g % 2);
  const uint8x16_t v = ld(qs + 32 * j + l0);
  return hi ? vshrq_n_u8(v, 4) : vandq_u8(v, vdupq_n_u8(0xF));
}

struct Q4K {
  static constexpr bool kHasMin = true;
  static constexpr size_t kBytes = sizeof(block_q4_K);
  static void decode(const uint8_t* b, DSb& o) {
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b + offsetof(block_q4_K, scales), sc, mn);
    for (int g = 0; g < 16; ++g) {
      o.sc[g] = sc[g / 2];
      o.mn[g] = mn[g / 2];
      o.q[g] = s8(codes4(b + offsetof(block_q4_K, qs), g));
    }
    o.d = load_half(b + offsetof(block_q4_K, d));
    o.dmin = load_half(b + offsetof(block_q4_K, dmin));
  }
};

struct Q5K {
  static constexpr bool kHasMin = true;
  static constexpr size_t kBytes = sizeof(block_q5_K);
  static void decode(const uint8_t* b, DSb& o) {
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b + offsetof(block_q5_K, scales), sc, mn);
    const uint8_t* qh = b + offsetof(block_q5_K, qh);
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      const int j = g / 4, hi = (g % 4) / 2, l0 = 16 * (g % 2);
      o.sc[g] = sc[g / 2];
      o.mn[g] = mn[g / 2];
      const uint8x16_t bit = vdupq_n_u8(uint8_t(1 << (2 * j + hi)));
      const uint8x16_t h5 = vandq_u8(vtstq_u8(ld(qh + l0), bit), vdupq_n_u8(16));
      o.q[g] = s8(vorrq_u8(codes4(b + offsetof(block_q5_K, qs), g), h5));
    }
    o.d = load_half(b + offsetof(block_q5_K, d));
    o.dmin = load_half(b + offsetof(block_q5_K, dmin));
  }
};

struct Q6K {
  static constexpr bool kHasMin = false;
  static constexpr size_t kBytes = sizeof(block_q6_K);
  static void decode(const uint8_t* b, DSb& o) {
    const auto* sc = reinterpret_cast<const int8_t*>(b + offsetof(block_q6_K, scales));
    const uint8_t* ql = b + offsetof(block_q6_K, ql);
    const uint8_t* qh = b + offsetof(block_q6_K, qh);
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      // Element 128h + 32t + l: nibble t>>1 of ql[64h + 32(t&1) + l], bits 2t of qh[32h + l].
      const int h = g / 8, t = (g % 8) / 2, l0 = 16 * (g % 2);
      o.sc[g] = sc[g];
      const uint8x16_t v = ld(ql + 64 * h + 32 * (t & 1) + l0);
      const uint8x16_t lo = (t >> 1) ? vshrq_n_u8(v, 4) : vandq_u8(v, vdupq_n_u8(0xF));
      const uint8x16_t hi = vandq_u8(vshlq_u8(ld(qh + 32 * h + l0), vdupq_n_s8(int8_t(-2 * t))), vdupq_n_u8(3));
      o.q[g] = vsubq_s8(s8(vorrq_u8(lo, vshlq_n_u8(hi, 4))), vdupq_n_s8(32));
    }
    o.d = load_half(b + offsetof(block_q6_K, d));
    o.dmin = 0.0f;
  }
};

struct Q8KW {
  static constexpr bool kHasMin = false;
  static constexpr size_t kBytes = sizeof(block_q8_K);
  static void decode(const uint8_t* b, DSb& o) {
    for (int g = 0; g < 16; ++g) {
      o.sc[g] = 1;
      o.q[g] = vld1q_s8(reinterpret_cast<const int8_t*>(b + off::q8K_qs + 16 * g));
    }
    o.d = load_as<float>(b + off::q8K_d);
    o.dmin = 0.0f;
  }
};

#define QB_SB_NEON(FMT, fmt, S)                                                                       \
  MatmulKernel {                                                                                      \
    FormatId::FMT, BackendId::Neon, FormatId::Q8_K, "gemm_" #fmt "_q8_K_1x4_neondot", q8_K_row_bytes, \
        quantize_act_q8_K_ref, gemm_strided<SbTileNeon<S>>                                            \
  }
const MatmulKernel kKernels[] = {
    QB_SB_NEON(Q2_K, q2_K, Q2K), QB_SB_NEON(Q3_K, q3_K, Q3K), QB_SB_NEON(Q4_K, q4_K, Q4K),
    QB_SB_NEON(Q5_K, q5_K, Q5K), QB_SB_NEON(Q6_K, q6_K, Q6K), QB_SB_NEON(Q8_K, q8_K, Q8KW),
};
#undef QB_SB_NEON
}  // namespace

std::span<const MatmulKernel> kquant_neon() { return kKernels; }
QB_EXPORT_COMPILED_ISA(kquant_neon)

}  // namespace qb::kern
