// Shared pieces of the legacy-family kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1):
// block geometry, the Q8_0/Q8_1 activation quantizers (bit-exact with the reference codecs)
// and the scalar per-block dot products that every SIMD kernel is tested against.
//
// Everything here has internal linkage (anonymous namespace): this header is included by
// translation units compiled with different ISA flags, and an inline function shared across
// them could let the linker pick an AVX-512 copy for the scalar backend.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "qb/blocks.h"
#include "qb/formats.h"
#include "qb/matmul.h"
#include "tile_driver-inl.h"
#include "tu_vector.h"

namespace qb::kern {
namespace {

// Decoded view of one legacy weight block: unsigned codes u in [0, 2^bits), w = d*(u - off)
// for the symmetric formats, w = d*u + m for the ones with a minimum.
// Also describes the int family's INT4_G32/G64/G128 (scale + bias per group of 1, 2 or 4
// blocks of 32, codes in even/odd nibble order).
struct LegacyGeom {
  int block_bytes;       // bytes per 32 weights (a group's bytes / bpg)
  int qs_off;            // byte offset of the codes in the group
  int qh_off;            // byte offset of the 5th-bit mask, -1 if none
  int m_off;             // byte offset of the fp16 minimum, -1 if none
  int off;               // code offset subtracted before the dot (8, 16, 128 via sign flip, 0)
  int bits;              // 4, 5 or 8
  int bpg = 1;           // blocks of 32 per group (one scale/minimum per group; codes 16 bytes per block)
  bool evenodd = false;  // byte i holds weights 2i (low nibble) and 2i+1, not i and i+16
  constexpr int group_bytes() const { return block_bytes * bpg; }
};

constexpr LegacyGeom kQ4_0{18, 2, -1, -1, 8, 4};
constexpr LegacyGeom kQ4_1{20, 4, -1, 2, 0, 4};
constexpr LegacyGeom kQ5_0{22, 6, 2, -1, 16, 5};
constexpr LegacyGeom kQ5_1{24, 8, 4, 2, 0, 5};
constexpr LegacyGeom kQ8_0{int(sizeof(block_q8_0)), 2, -1, -1, 0, 8};
constexpr LegacyGeom kQ8_1{int(sizeof(block_q8_1)), 4, -1, -1, 0, 8};

inline uint16_t load_u16(const void* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline float half_at(const void* p) { return fp16_to_fp32(load_u16(p)); }

// ---- activation quantizers: exactly the bytes of qb::quantize_activations ----
// (ggml's SIMD rule: d = amax/127, id = 127/amax, q = nearest with ties to even; the weight codec
// rounds ties away from zero, and llama.cpp's x86/NEON runtime does not.)
template <bool Q81>
inline void quantize_q8_act_scalar(const float* x, void* dst, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  const int bb = Q81 ? int(sizeof(block_q8_1)) : int(sizeof(block_q8_0)), qo = Q81 ? 4 : 2;
  for (int64_t i = 0; i < k / 32; ++i, x += 32, y += bb) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const uint16_t dh = fp32_to_fp16(d);
    std::memcpy(y, &dh, 2);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      const int8_t q = int8_t(std::nearbyint(x[j] * id));
      std::memcpy(y + qo + j, &q, 1);
      sum += q;
    }
    if constexpr (Q81) {
      const uint16_t sh = fp32_to_fp16(float(sum) * d);
      std::memcpy(y + 2, &sh, 2);
    }
  }
}
inline void quantize_q8_0_scalar(const float* x, void* dst, int64_t k) { quantize_q8_act_scalar<false>(x, dst, k); }
inline void quantize_q8_1_scalar(const float* x, void* dst, int64_t k) { quantize_q8_act_scalar<true>(x, dst, k); }

inline size_t q8_0_row_bytes(int64_t k) { return size_t(k / 32) * sizeof(block_q8_0); }
inline size_t q8_1_row_bytes(int64_t k) { return size_t(k / 32) * sizeof(block_q8_1); }

// Unsigned code j (0..31) of a weight block, before the offset.
inline int legacy_code(const LegacyGeom& g, const uint8_t* blk, int j) {
  if (g.bits == 8) return int(int8_t(blk[g.qs_off + j]));
  const uint8_t q = blk[g.qs_off + (j & 15)];
  int u = j < 16 ? (q & 0x0F) : (q >> 4);
  if (g.bits == 5) u |= int((load_u32(blk + g.qh_off) >> j) & 1u) << 4;
  return u;
}

// Scalar dot of one weight row with one activation row, mirroring ggml's generic vec_dot:
// integer block sum, then sumf += sumi * (d_w * d_x) [+ m_w * s_x].
inline float legacy_dot_scalar(const LegacyGeom& g, int64_t nb, const uint8_t* w, const uint8_t* x, int act_block_bytes,
                               int act_qs_off) {
  float sumf = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * g.block_bytes;
    const uint8_t* xb = x + b * act_block_bytes;
    const auto* xq = reinterpret_cast<const int8_t*>(xb + act_qs_off);
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += (legacy_code(g, wb, j) - g.off) * int(xq[j]);
    if (g.m_off >= 0)
      sumf += (half_at(wb) * half_at(xb)) * float(sumi) + half_at(wb + g.m_off) * half_at(xb + 2);
    else
      sumf += float(sumi) * (half_at(wb) * half_at(xb));
  }
  return sumf;
}

// ---- activation panel: quantized activations unpacked for SIMD kernels ----
// Codes of each column contiguous (padded to whole quads + 16 blocks, zeros past k);
// the fp16 scale d_x and (Q8_1) s_x of each block in flat arrays, converted to floats by the
// ISA's own converter (halfs_to_floats) after load().
// Layouts, chosen to match the order in which a kernel expands its 4-bit weights:
//  kNatural: each block's 32 codes in order;      kNaturalEvenOdd: even codes then odd codes;
//  kQuad: per quad of blocks, codes 0..15 of the four blocks then codes 16..31;
//  kQuadEvenOdd: per quad, the even codes of the four blocks then their odd codes.
enum PanelLayout { kNatural = 0, kQuad = 1, kQuadEvenOdd = 2, kNaturalEvenOdd = 3 };
struct ActPanel {
  int64_t nb = 0, nbp = 0, ncols = 0;  // blocks, blocks per column (padded: quads + 16), columns
  TuVector<int8_t> qs;
  TuVector<uint16_t> dh, sh;  // raw fp16, ncols * nbp (zero padded)
  TuVector<float> d, s;       // converted

  const int8_t* col_qs(int64_t c) const { return qs.data() + c * nbp * 32; }
  const float* col_d(int64_t c) const { return d.data() + c * nbp; }
  const float* col_s(int64_t c) const { return s.data() + c * nbp; }
  size_t nhalfs() const { return size_t(ncols * nbp); }

  // Columns [c0, c0 + nc) of the quantized activation rows (Q8_0 or Q8_1 blocks).
  void load(const uint8_t* xq, size_t xq_stride, int64_t c0, int64_t nc, int64_t k, bool q8_1, int layout) {
    nb = k / 32;
    nbp = (nb + 3) / 4 * 4 + 16;
    ncols = nc;
    const size_t nq = size_t(nc * nbp * 32), nf = size_t(nc * nbp);
    if (qs.size() < nq) qs.resize(nq);
    if (d.size() < nf) d.resize(nf), s.resize(nf), dh.resize(nf), sh.resize(nf);
    const int bb = q8_1 ? int(sizeof(block_q8_1)) : int(sizeof(block_q8_0)), qo = q8_1 ? 4 : 2;
    const int64_t even = nb & ~int64_t(3);
    for (int64_t c = 0; c < nc; ++c) {
      const uint8_t* x = xq + (c0 + c) * xq_stride;
      int8_t* q = qs.data() + c * nbp * 32;
      uint16_t* dc = dh.data() + c * nbp;
      uint16_t* sc = sh.data() + c * nbp;
      std::memset(q + even * 32, 0, size_t((nbp - even) * 32));
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* xb = x + b * bb;
        int8_t first[16], second[16];
        if (layout == kQuadEvenOdd || layout == kNaturalEvenOdd) {
          for (int i = 0; i < 16; ++i) first[i] = int8_t(xb[qo + 2 * i]), second[i] = int8_t(xb[qo + 2 * i + 1]);
        } else {
          std::memcpy(first, xb + qo, 16);
          std::memcpy(second, xb + qo + 16, 16);
        }
        if (layout == kQuad || layout == kQuadEvenOdd) {
          int8_t* quad = q + (b & ~int64_t(3)) * 32;
          const int h = int(b & 3) * 16;
          std::memcpy(quad + h, first, 16);
          std::memcpy(quad + 64 + h, second, 16);
        } else {
          std::memcpy(q + b * 32, first, 16);
          std::memcpy(q + b * 32 + 16, second, 16);
        }
        dc[b] = load_u16(xb);
        sc[b] = q8_1 ? load_u16(xb + 2) : 0;
      }
      for (int64_t b = nb; b < nbp; ++b) dc[b] = sc[b] = 0;
    }
  }
  void convert_scalar() {
    for (size_t i = 0; i < nhalfs(); ++i) d[i] = fp16_to_fp32(dh[i]), s[i] = fp16_to_fp32(sh[i]);
  }
};

// Activation column c of an x86 tile: codes, d_x and s_x from the tile's first block.
struct ActView {
  const int8_t* qs;
  const float* d;
  const float* s;
};

constexpr int64_t kPanelKB = 128;  // blocks per k-block (GEMM); a multiple of 4
constexpr int64_t kPanelNC = 64;   // activation columns per panel

// Matmul over activation panels (x86 legacy and int families): columns in panels of kPanelNC,
// each unpacked once (MK::kLayout, MK::kQ81) and its scales converted by MK::convert; the tile
// driver then runs k in blocks of kPanelKB (GEMM: a tile's weights and activations stay in L1) or
// whole rows (GEMV), tile_r rows per tile. row_at(r, kb): the tile's Row for row r from block kb.
template <class MK, class RowAt>
void panel_gemm(ActPanel& P, int64_t k, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride, int64_t n, float* Y,
                int64_t ldy, int tile_r, const RowAt& row_at) {
  const int64_t nb = k / 32;
  for (int64_t cb = 0; cb < n; cb += kPanelNC) {
    const int64_t nc = std::min(kPanelNC, n - cb);
    P.load(static_cast<const uint8_t*>(Xq), xq_stride, cb, nc, k, MK::kQ81, MK::kLayout);
    MK::convert(P);
    TileDriver<MK>::run(
        r0, r1, nc, nb, n == 1 ? nb : kPanelKB, tile_r, row_at,
        [&](int64_t c, int64_t kb) {
          return ActView{P.col_qs(c) + kb * 32, P.col_d(c) + kb, P.col_s(c) + kb};
        },
        Y + cb * ldy, ldy);
  }
}

}  // namespace
}  // namespace qb::kern
