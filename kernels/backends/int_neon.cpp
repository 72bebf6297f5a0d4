// Int formats, NEON kernels (armv8.2-a + dotprod).
//  INT4_Gxx x Q8_1: the legacy block tile (legacy_neon.h) with the group geometry; activations
//    de-interleaved into even/odd codes by vld2q, the order the nibbles expand to.
//  INT8_PC x Q8_0: sdot of the signed codes; INT8_PT: sdot of (code - 128) plus
//    (128 - zp) * sum(x) (sum by sdot with ones), exact integers per block.
//  NF4 x F32: a group's 64 weights decoded (codebook * absmax) to floats once per row, then
//    fused multiply-add with every column of the tile.
#include "compiled_isa.h"
#include "int_common.h"
#include "kernel_tables.h"
#include "legacy_neon.h"

namespace qb::kern {
namespace {

template <bool PT, int R, int C>
void int8_tile(const uint8_t* const* w, const int32_t* zp, const uint8_t* const* x, const float* const* dx, int64_t nbk,
               float* out) {
  float32x4_t acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = vdupq_n_f32(0.0f);
  const int8x16_t ones = vdupq_n_s8(1);
  for (int64_t b = 0; b < nbk; ++b) {
    int8x16_t lo[R], hi[R];
    for (int r = 0; r < R; ++r) {
      if constexpr (PT) {
        const uint8x16_t flip = vdupq_n_u8(0x80);
        lo[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(w[r] + b * 32), flip));
        hi[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(w[r] + b * 32 + 16), flip));
      } else {
        lo[r] = vld1q_s8(reinterpret_cast<const int8_t*>(w[r] + b * 32));
        hi[r] = vld1q_s8(reinterpret_cast<const int8_t*>(w[r] + b * 32 + 16));
      }
    }
    for (int c = 0; c < C; ++c) {
      const int8_t* xq = reinterpret_cast<const int8_t*>(x[c] + b * 34 + 2);
      const int8x16_t xl = vld1q_s8(xq), xh = vld1q_s8(xq + 16);
      int32x4_t sx = vdupq_n_s32(0);
      if constexpr (PT) sx = vdotq_s32(vdotq_s32(sx, ones, xl), ones, xh);
      for (int r = 0; r < R; ++r) {
        int32x4_t dot = vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo[r], xl), hi[r], xh);
        if constexpr (PT) dot = vmlaq_n_s32(dot, sx, 128 - zp[r]);
        acc[r][c] = vfmaq_n_f32(acc[r][c], vcvtq_f32_s32(dot), dx[c][b]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[r * 4 + c] = vaddvq_f32(acc[r][c]);
}

using Int8Fn = void (*)(const uint8_t* const*, const int32_t*, const uint8_t* const*, const float* const*, int64_t,
                        float*);

template <bool PT, int R>
constexpr Int8Fn int8_pick_c(int c) {
  return c == 1   ? &int8_tile<PT, R, 1>
         : c == 2 ? &int8_tile<PT, R, 2>
         : c == 3 ? &int8_tile<PT, R, 3>
                  : &int8_tile<PT, R, 4>;
}
template <bool PT>
Int8Fn int8_pick(int r, int c) {
  return r == 1   ? int8_pick_c<PT, 1>(c)
         : r == 2 ? int8_pick_c<PT, 2>(c)
         : r == 3 ? int8_pick_c<PT, 3>(c)
                  : int8_pick_c<PT, 4>(c);
}

template <bool PT>
void int8_compute(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                  int64_t n, float* Y, int64_t ldy) {
  const int64_t nb = k / 32, hdr = PT ? 8 : 4;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  std::vector<float>& sc = tls_scales;
  if (sc.size() < size_t(n * nb)) sc.resize(size_t(n * nb));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t b = 0; b < nb; ++b) sc[size_t(j * nb + b)] = half_neon(xq + j * xq_stride + b * 34);
  const int64_t kb_blocks = n == 1 ? nb : kKB;
  float out[16];
  const uint8_t *rows[4], *cols[4];
  const float* dx[4];
  int32_t zp[4] = {};
  float scale[4];
  for (int64_t kb = 0; kb < nb; kb += kb_blocks) {
    const int64_t nbk = std::min(kb_blocks, nb - kb);
    for (int64_t rt = r0; rt < r1; rt += 4) {
      const int R = int(std::min<int64_t>(4, r1 - rt));
      for (int r = 0; r < R; ++r) {
        const uint8_t* row = w + (rt + r) * w_stride;
        scale[r] = load_f32(row);
        if (PT) zp[r] = load_i32(row + 4);
        rows[r] = row + hdr + kb * 32;
      }
      for (int64_t ct = 0; ct < n; ct += 4) {
        const int C = int(std::min<int64_t>(4, n - ct));
        for (int c = 0; c < C; ++c)
          cols[c] = xq + (ct + c) * xq_stride + kb * 34, dx[c] = sc.data() + (ct + c) * nb + kb;
        int8_pick<PT>(R, C)(rows, zp, cols, dx, nbk, out);
        for (int c = 0; c < C; ++c) {
          float* y = Y + (ct + c) * ldy + rt;
          for (int r = 0; r < R; ++r) {
            const float v = scale[r] * out[r * 4 + c];
            y[r] = kb == 0 ? v : y[r] + v;
          }
        }
      }
    }
  }
}

template <int R, int C>
void nf4_tile(const uint8_t* const* w, const uint8_t* const* x, int64_t ngroups, float* out) {
  float32x4_t acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = vdupq_n_f32(0.0f);
  alignas(16) float wf[R][64];
  for (int64_t g = 0; g < ngroups; ++g) {
    for (int r = 0; r < R; ++r) {
      const uint8_t* grp = w[r] + g * 36;
      const float amax = load_f32(grp);
      for (int i = 0; i < 32; ++i) {
        wf[r][2 * i] = codec::kNf4Values[grp[4 + i] >> 4] * amax;
        wf[r][2 * i + 1] = codec::kNf4Values[grp[4 + i] & 0x0F] * amax;
      }
    }
    for (int c = 0; c < C; ++c) {
      const float* xf = reinterpret_cast<const float*>(x[c]) + g * 64;
      for (int i = 0; i < 64; i += 4) {
        const float32x4_t xv = vld1q_f32(xf + i);
        for (int r = 0; r < R; ++r) acc[r][c] = vfmaq_f32(acc[r][c], vld1q_f32(&wf[r][i]), xv);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[r * 4 + c] = vaddvq_f32(acc[r][c]);
}

using Nf4Fn = void (*)(const uint8_t* const*, const uint8_t* const*, int64_t, float*);

template <int R>
constexpr Nf4Fn nf4_pick_c(int c) {
  return c == 1 ? &nf4_tile<R, 1> : c == 2 ? &nf4_tile<R, 2> : c == 3 ? &nf4_tile<R, 3> : &nf4_tile<R, 4>;
}
Nf4Fn nf4_pick(int r, int c) {
  return r == 1 ? nf4_pick_c<1>(c) : r == 2 ? nf4_pick_c<2>(c) : r == 3 ? nf4_pick_c<3>(c) : nf4_pick_c<4>(c);
}

void nf4_compute(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                 int64_t n, float* Y, int64_t ldy) {
  const int64_t ng = k / 64;
  const int64_t kg = n == 1 ? ng : 32;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  float out[16];
  const uint8_t *rows[4], *cols[4];
  for (int64_t g0 = 0; g0 < ng; g0 += kg) {
    const int64_t len = std::min(kg, ng - g0);
    for (int64_t rt = r0; rt < r1; rt += 4) {
      const int R = int(std::min<int64_t>(4, r1 - rt));
      for (int r = 0; r < R; ++r) rows[r] = w + (rt + r) * w_stride + g0 * 36;
      for (int64_t ct = 0; ct < n; ct += 4) {
        const int C = int(std::min<int64_t>(4, n - ct));
        for (int c = 0; c < C; ++c) cols[c] = xq + (ct + c) * xq_stride + g0 * 64 * 4;
        nf4_pick(R, C)(rows, cols, len, out);
        for (int c = 0; c < C; ++c) {
          float* y = Y + (ct + c) * ldy + rt;
          for (int r = 0; r < R; ++r) y[r] = g0 == 0 ? out[r * 4 + c] : y[r] + out[r * 4 + c];
        }
      }
    }
  }
}

constexpr MatmulKernel kKernels[] = {
    {FormatId::INT8_PC, BackendId::Neon, FormatId::Q8_0, "gemm_int8pc_q8_0_4x4_neondot", q8_0_row_bytes,
     quantize_act<false>, int8_compute<false>},
    {FormatId::INT8_PT, BackendId::Neon, FormatId::Q8_0, "gemm_int8pt_q8_0_4x4_neondot", q8_0_row_bytes,
     quantize_act<false>, int8_compute<true>},
    {FormatId::INT4_G32, BackendId::Neon, FormatId::Q8_1, "gemm_int4g32_q8_1_4x4_neondot", q8_1_row_bytes,
     quantize_act<true>, compute<kInt4G32, true>},
    {FormatId::INT4_G64, BackendId::Neon, FormatId::Q8_1, "gemm_int4g64_q8_1_4x4_neondot", q8_1_row_bytes,
     quantize_act<true>, compute<kInt4G64, true>},
    {FormatId::INT4_G128, BackendId::Neon, FormatId::Q8_1, "gemm_int4g128_q8_1_4x4_neondot", q8_1_row_bytes,
     quantize_act<true>, compute<kInt4G128, true>},
    {FormatId::NF4, BackendId::Neon, FormatId::F32, "gemm_nf4_f32_4x4_neon", f32_row_bytes, copy_f32, nf4_compute},
};

}  // namespace

std::span<const MatmulKernel> int_neon() { return kKernels; }
QB_EXPORT_COMPILED_ISA(int_neon)

}  // namespace qb::kern
