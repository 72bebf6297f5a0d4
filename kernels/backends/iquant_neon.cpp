// I-quant / codebook formats, NEON (dotprod) kernels: IQ4_NL and MXFP4 x Q8_0 (vqtbl1q codebook
// lookup + sdot), IQ4_XS x Q8_K (super-block decoder), all on the 1 x 4 microkernel of
// sb_tile_neon-inl.h and the tile driver (tile_driver-inl.h).
#include "compiled_isa.h"
#include "iquant_common.h"
#include "kernel_tables.h"
#include "sb_tile_neon-inl.h"

namespace qb::kern {

namespace {
using namespace neon;

// A 32-weight codebook block F x Q8_0 (IQ4_NL, MXFP4) for DecodedTileNeon: two vqtbl1q lookups
// per block, two sdots per column, ggml's per-block float expression.
template <class F>
struct B32BlockNeon {
  static constexpr int64_t kStep = QK8_0;
  static constexpr size_t kBytes = F::kBytes, kXBytes = sizeof(block_q8_0);
  struct Block {
    int8x16_t lo, hi;  // codebook values of weights 0..15, 16..31
    float dw;
  };
  static void decode(const uint8_t* wb, Block& d) {
    const int8x16_t tbl = vld1q_s8(F::kTable);
    const uint8x16_t q = vld1q_u8(wb + F::kQsOff);
    d.lo = vqtbl1q_s8(tbl, vandq_u8(q, vdupq_n_u8(0xF)));
    d.hi = vqtbl1q_s8(tbl, vshrq_n_u8(q, 4));
    d.dw = F::scale(wb);
  }
  static float dot(const Block& w, const uint8_t* xc) {
    const auto* xq = reinterpret_cast<const int8_t*>(xc + off::q8_0_qs);
    const int32x4_t s = vdotq_s32(vdotq_s32(vdupq_n_s32(0), w.lo, vld1q_s8(xq)), w.hi, vld1q_s8(xq + 16));
    return load_half(xc + off::q8_0_d) * w.dw * float(vaddvq_s32(s));
  }
};

struct IQ4NL {
  static constexpr size_t kBytes = sizeof(block_iq4_nl), kQsOff = offsetof(block_iq4_nl, qs);
  static constexpr const int8_t* kTable = kIq4nl;
  static float scale(const uint8_t* b) { return load_half(b + offsetof(block_iq4_nl, d)); }
};

struct MXFP4 {
  static constexpr size_t kBytes = sizeof(block_mxfp4), kQsOff = offsetof(block_mxfp4, qs);
  static constexpr const int8_t* kTable = kMxfp4;
  static float scale(const uint8_t* b) { return e8m0_half(b[offsetof(block_mxfp4, e)]); }
};

struct IQ4XS {
  static constexpr bool kHasMin = false;
  static constexpr size_t kBytes = sizeof(block_iq4_xs);
  static void decode(const uint8_t* b, DSb& o) {
    const uint32_t sl = load_as<uint32_t>(b + offsetof(block_iq4_xs, scales_l));
    const uint32_t sh = load_as<uint16_t>(b + offsetof(block_iq4_xs, scales_h));
    const int8x16_t tbl = vld1q_s8(kIq4nl);
    const uint8_t* qs = b + offsetof(block_iq4_xs, qs);
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = int(((sl >> (4 * ib)) & 0xF) | (((sh >> (2 * ib)) & 3) << 4)) - 32;
      o.sc[2 * ib] = o.sc[2 * ib + 1] = ls;
      const uint8x16_t q = vld1q_u8(qs + 16 * ib);
      o.q[2 * ib] = vqtbl1q_s8(tbl, vandq_u8(q, vdupq_n_u8(0xF)));
      o.q[2 * ib + 1] = vqtbl1q_s8(tbl, vshrq_n_u8(q, 4));
    }
    o.d = load_half(b + offsetof(block_iq4_xs, d));
    o.dmin = 0.0f;
  }
};

const MatmulKernel kKernels[] = {
    {FormatId::IQ4_NL, BackendId::Neon, FormatId::Q8_0, "gemm_iq4_nl_q8_0_1x4_neondot", q8_0_row_bytes,
     quantize_act_q8_0_ref, gemm_strided<DecodedTileNeon<B32BlockNeon<IQ4NL>>>},
    {FormatId::IQ4_XS, BackendId::Neon, FormatId::Q8_K, "gemm_iq4_xs_q8_K_1x4_neondot", q8_K_row_bytes,
     quantize_act_q8_K_ref, gemm_strided<SbTileNeon<IQ4XS>>},
    {FormatId::MXFP4, BackendId::Neon, FormatId::Q8_0, "gemm_mxfp4_q8_0_1x4_neondot", q8_0_row_bytes,
     quantize_act_q8_0_ref, gemm_strided<DecodedTileNeon<B32BlockNeon<MXFP4>>>},
};
}  // namespace

std::span<const MatmulKernel> iquant_neon() { return kKernels; }
QB_EXPORT_COMPILED_ISA(iquant_neon)

}  // namespace qb::kern
