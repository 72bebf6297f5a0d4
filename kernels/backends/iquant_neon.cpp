// I-quant / codebook formats, NEON (dotprod) kernels: IQ4_NL and MXFP4 x Q8_0 (vqtbl1q codebook
// lookup + sdot), IQ4_XS x Q8_K (super-block engine). Engines: kquant_common.h.
#include "compiled_isa.h"
#include "iquant_common.h"
#include "kernel_tables.h"

namespace qb::kern {

namespace {
using namespace neon;

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
    {FormatId::IQ4_NL, BackendId::Neon, FormatId::Q8_0, "gemm_iq4_nl_q8_0_neondot", q8_0_row_bytes,
     quantize_act_q8_0_ref, compute_b32<IQ4NL>},
    {FormatId::IQ4_XS, BackendId::Neon, FormatId::Q8_K, "gemm_iq4_xs_q8_K_neondot", q8_K_row_bytes,
     quantize_act_q8_K_ref, compute_sb<IQ4XS>},
    {FormatId::MXFP4, BackendId::Neon, FormatId::Q8_0, "gemm_mxfp4_q8_0_neondot", q8_0_row_bytes, quantize_act_q8_0_ref,
     compute_b32<MXFP4>},
};
}  // namespace

std::span<const MatmulKernel> iquant_neon() { return kKernels; }
QB_EXPORT_COMPILED_ISA(iquant_neon)

}  // namespace qb::kern
