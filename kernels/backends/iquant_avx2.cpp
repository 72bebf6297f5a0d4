// I-quant / codebook formats, AVX2 (+FMA, F16C) kernels: IQ4_NL and MXFP4 x Q8_0 (the 1 x 4
// microkernel below: vpshufb codebook lookup, two blocks per ymm; IQ4_NL |w| x sign-moved x,
// MXFP4 unsigned value + 12), IQ4_XS x Q8_K (super-block microkernel, signed codes:
// sb_tile_avx2-inl.h). Both run on the tile driver (tile_driver-inl.h).

#include "compiled_isa.h"
#include "iquant_common.h"
#include "kernel_tables.h"
#include "sb_tile_avx2-inl.h"
#include "tu_vector.h"

namespace qb::kern {

namespace {
using namespace avx2;

inline __m256i table(const int8_t (&v)[16]) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v)));
}

struct IQ4NL {
  static constexpr int kOffset = 0;  // values -127..113: |w| x sign-moved x
  static constexpr size_t kBytes = sizeof(block_iq4_nl), kQsOff = offsetof(block_iq4_nl, qs);
  static __m256i table() { return ::qb::kern::table(kIq4nl); }
  static float scale(const uint8_t* b) { return _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_iq4_nl, d))); }
  static __m128 scale4(const uint8_t* b) {  // four consecutive blocks
    __m128i h = _mm_setzero_si128();
    h = _mm_insert_epi16(h, load_as<uint16_t>(b + offsetof(block_iq4_nl, d)), 0);
    h = _mm_insert_epi16(h, load_as<uint16_t>(b + kBytes + offsetof(block_iq4_nl, d)), 1);
    h = _mm_insert_epi16(h, load_as<uint16_t>(b + 2 * kBytes + offsetof(block_iq4_nl, d)), 2);
    h = _mm_insert_epi16(h, load_as<uint16_t>(b + 3 * kBytes + offsetof(block_iq4_nl, d)), 3);
    return _mm_cvtph_ps(h);
  }
};

struct MXFP4 {
  static constexpr int kOffset = 12;  // values -12..12 stored + 12: unsigned codes, no sign moves
  static constexpr size_t kBytes = sizeof(block_mxfp4), kQsOff = offsetof(block_mxfp4, qs);
  static __m256i table() {
    int8_t t[16];
    for (int i = 0; i < 16; ++i) t[i] = int8_t(kMxfp4[i] + kOffset);
    return ::qb::kern::table(t);
  }
  static float scale(const uint8_t* b) { return e8m0_half(b[offsetof(block_mxfp4, e)]); }
  static __m128 scale4(const uint8_t* b) {  // four consecutive blocks, e8m0_half on each lane
    constexpr size_t e = offsetof(block_mxfp4, e);
    const __m128i ev = _mm_setr_epi32(b[e], b[kBytes + e], b[2 * kBytes + e], b[3 * kBytes + e]);
    const __m128i normal = _mm_slli_epi32(_mm_sub_epi32(ev, _mm_set1_epi32(1)), 23);
    const __m128i sub = _mm_sllv_epi32(_mm_set1_epi32(0x00200000), ev);
    return _mm_castsi128_ps(_mm_blendv_epi8(normal, sub, _mm_cmplt_epi32(ev, _mm_set1_epi32(2))));
  }
};

// 32-weight codebook blocks x Q8_0: two blocks per ymm, one per 128-bit lane: a pair's low
// nibbles (codes 0..15 of each block) and high nibbles (16..31) take one lookup each, and one FMA
// scales the pair. The activations are rearranged once per call to match (B32Panel, the
// activation packer), so a row costs no per-block shuffles of x.
struct B32Col {  // one activation column of the panel from a k-block's first pair
  const int8_t* q;
  const float* d;
  const int32_t* o;  // null without an offset
};
struct B32Panel {
  int64_t npairs = 0;
  TuVector<int8_t> q;   // per column, per pair: x_a[0:16] x_b[0:16] x_a[16:32] x_b[16:32]
  TuVector<float> d;    // per column, per pair: d_a x4, d_b x4 (0 past the last block)
  TuVector<int32_t> o;  // per column, per pair: off * sum(x_a), 0, 0, 0, off * sum(x_b), 0, 0, 0

  // off: the code offset of formats whose table holds value + off (0: none, o not filled).
  void load(const uint8_t* x, size_t stride, int64_t n, int64_t nb, int off) {
    npairs = (nb + 1) / 2;
    q.assign(size_t(n * npairs * 64), 0);
    d.assign(size_t(n * npairs * 8), 0.0f);
    o.assign(off ? size_t(n * npairs * 8) : 0, 0);
    for (int64_t c = 0; c < n; ++c)
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* xb = x + c * int64_t(stride) + b * int64_t(sizeof(block_q8_0));
        const int64_t p = c * npairs + b / 2, h = b % 2;
        std::memcpy(&q[size_t(p * 64 + 16 * h)], xb + off::q8_0_qs, 16);
        std::memcpy(&q[size_t(p * 64 + 32 + 16 * h)], xb + off::q8_0_qs + 16, 16);
        for (int l = 0; l < 4; ++l) d[size_t(p * 8 + 4 * h + l)] = _cvtsh_ss(load_as<uint16_t>(xb + off::q8_0_d));
        if (off) {
          int32_t sum = 0;
          for (int l = 0; l < 32; ++l) sum += int8_t(xb[off::q8_0_qs + l]);
          o[size_t(p * 8 + 4 * h)] = off * sum;
        }
      }
  }
  // Column c from block k0 on (k0 even: k-blocks hold whole pairs).
  B32Col col(int64_t c, int64_t k0) const {
    const int64_t p = c * npairs + k0 / 2;
    return {q.data() + p * 64, d.data() + p * 8, o.empty() ? nullptr : o.data() + p * 8};
  }
};
thread_local B32Panel tls_b32_panel;

// Two blocks' codebook values, block a in the low lane, for the low and high nibbles: signed
// values v and |v|, or (F::kOffset) unsigned value + offset in v. qb is zero for a lone block.
struct B32Codes {
  __m256i vl, vh, al, ah;
};
template <class F>
inline B32Codes b32_codes(__m128i qa, __m128i qb, __m256i tbl) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  const __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(qa), qb, 1);
  B32Codes o;
  o.vl = _mm256_shuffle_epi8(tbl, _mm256_and_si256(q, low4));
  o.vh = _mm256_shuffle_epi8(tbl, _mm256_and_si256(_mm256_srli_epi16(q, 4), low4));
  if constexpr (!F::kOffset) o.al = _mm256_sign_epi8(o.vl, o.vl), o.ah = _mm256_sign_epi8(o.vh, o.vh);
  return o;
}
// facc += (pair p's per-lane integer dots) * dw * dx. With an offset, u = v + off <= 24 keeps
// both halves' vpmaddubsw sums in int16 (<= 4 * 24 * 127), and off * sum(x) comes off per block.
template <class F>
inline void b32_fma(const B32Codes& w, const B32Col& x, int64_t p, __m256 dw, __m256& facc) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i xl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.q + p * 64));
  const __m256i xh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.q + p * 64 + 32));
  __m256i s;
  if constexpr (F::kOffset) {
    s = _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(w.vl, xl), _mm256_maddubs_epi16(w.vh, xh)), ones);
    s = _mm256_sub_epi32(s, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.o + p * 8)));
  } else {
    s = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(w.al, _mm256_sign_epi8(xl, w.vl)), ones),
                         _mm256_madd_epi16(_mm256_maddubs_epi16(w.ah, _mm256_sign_epi8(xh, w.vh)), ones));
  }
  facc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_loadu_ps(x.d + p * 8)), facc);
}
inline __m128i b32_qs(const uint8_t* blk, size_t qs_off) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + qs_off));
}

// gemm_<fmt>_q8_0_1x4_avx2: Row = weight row from its k-block's first block, Col = its panel
// column. Four blocks (two pairs) per step, their scales converted together (F::scale4); the
// last 1-3 blocks a pair at a time.
template <class F>
struct B32TileAvx2 {
  static constexpr int kMR = 1, kNR = 4;
  static constexpr bool kRowScale = false;
  static constexpr int64_t kGemmKc = 128;  // GEMM: 4096 weights per k-block (even: whole pairs)
  using Row = const uint8_t*;
  using Col = B32Col;

  template <int R, int C>
  static void tile(const Row* w, const Col* x, int64_t nb, float* out) {
    const __m256i tbl = F::table();
    const __m256i lo_pair = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1),
                  hi_pair = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
    constexpr int64_t kB = int64_t(F::kBytes);
    const int64_t nb4 = nb / 4 * 4;
    for (int r = 0; r < R; ++r) {
      __m256 facc[C];
      for (int c = 0; c < C; ++c) facc[c] = _mm256_setzero_ps();
      for (int64_t b = 0; b < nb4; b += 4) {
        const uint8_t* wb = w[r] + b * kB;
        const __m256 d4 = _mm256_castps128_ps256(F::scale4(wb));
        const B32Codes w0 = b32_codes<F>(b32_qs(wb, F::kQsOff), b32_qs(wb + kB, F::kQsOff), tbl);
        const B32Codes w1 = b32_codes<F>(b32_qs(wb + 2 * kB, F::kQsOff), b32_qs(wb + 3 * kB, F::kQsOff), tbl);
        const __m256 dw0 = _mm256_permutevar8x32_ps(d4, lo_pair), dw1 = _mm256_permutevar8x32_ps(d4, hi_pair);
        for (int c = 0; c < C; ++c) {
          b32_fma<F>(w0, x[c], b / 2, dw0, facc[c]);
          b32_fma<F>(w1, x[c], b / 2 + 1, dw1, facc[c]);
        }
      }
      for (int64_t b = nb4; b < nb; b += 2) {
        const uint8_t* wb = w[r] + b * kB;
        const bool two = b + 1 < nb;
        const B32Codes wp =
            b32_codes<F>(b32_qs(wb, F::kQsOff), two ? b32_qs(wb + kB, F::kQsOff) : _mm_setzero_si128(), tbl);
        const __m256 dw = _mm256_setr_m128(_mm_set1_ps(F::scale(wb)), _mm_set1_ps(two ? F::scale(wb + kB) : 0.0f));
        for (int c = 0; c < C; ++c) b32_fma<F>(wp, x[c], b / 2, dw, facc[c]);
      }
      for (int c = 0; c < C; ++c) out[r * 4 + c] = hsum8(facc[c]);
    }
  }
};

// MatmulKernel::compute: the activations packed once per call, then the tile driver.
template <class F>
void gemm_b32_tiles(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                    int64_t n, float* Y, int64_t ldy) {
  using MK = B32TileAvx2<F>;
  const int64_t nb = k / QK8_0;
  const auto* w = static_cast<const uint8_t*>(W);
  B32Panel& P = tls_b32_panel;
  P.load(static_cast<const uint8_t*>(Xq), xq_stride, n, nb, F::kOffset);
  TileDriver<MK>::run(
      r0, r1, n, nb, k_block<MK>(n, nb), MK::kMR,
      [&](int64_t r, int64_t k0) { return w + r * int64_t(w_stride) + k0 * int64_t(F::kBytes); },
      [&](int64_t c, int64_t k0) { return P.col(c, k0); }, Y, ldy);
}

struct IQ4XS {
  static constexpr bool kSigned = true, kUnitScale = false;
  static constexpr SbMin kMin = SbMin::None;
  static constexpr size_t kBytes = sizeof(block_iq4_xs);
  static void head(const uint8_t* b, SbHead& h) {  // scale of sub-block c: 4 + 2 bits, stored +32
    const __m256i sl = _mm256_set1_epi32(int(load_as<uint32_t>(b + offsetof(block_iq4_xs, scales_l))));
    const __m256i sh = _mm256_set1_epi32(load_as<uint16_t>(b + offsetof(block_iq4_xs, scales_h)));
    const __m256i lo =
        _mm256_and_si256(_mm256_srlv_epi32(sl, _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)), _mm256_set1_epi32(0xF));
    const __m256i hi =
        _mm256_and_si256(_mm256_srlv_epi32(sh, _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)), _mm256_set1_epi32(3));
    const __m256i ls = _mm256_sub_epi32(_mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)), _mm256_set1_epi32(32));
    // int16 words 0..7 of both lanes: one scale per chunk
    h.sc = _mm256_permute4x64_epi64(_mm256_packs_epi32(ls, ls), 0x88);
    h.mn = _mm256_setzero_si256();
    h.d = _cvtsh_ss(load_as<uint16_t>(b + offsetof(block_iq4_xs, d)));
    h.dm = 0.0f;
  }
  // Chunk c = sub-block c: low nibbles of qs[16c .. 16c+15], then their high nibbles.
  template <int P>
  static void codes(const uint8_t* b, __m256i (&u)[2]) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + offsetof(block_iq4_xs, qs) + 32 * P));
    const __m256i lo = _mm256_and_si256(v, _mm256_set1_epi8(0xF));
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0xF));
    const __m256i tbl = ::qb::kern::table(kIq4nl);
    u[0] = _mm256_shuffle_epi8(tbl, _mm256_permute2x128_si256(lo, hi, 0x20));
    u[1] = _mm256_shuffle_epi8(tbl, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
};

void quantize_act_q8_0(const float* x, void* xq, int64_t k) { avx2::quantize_q8_0(x, xq, k); }
void quantize_act_q8_K(const float* x, void* xq, int64_t k) { avx2::quantize_q8_K(x, xq, k); }

const MatmulKernel kKernels[] = {
    {FormatId::IQ4_NL, BackendId::Avx2, FormatId::Q8_0, "gemm_iq4_nl_q8_0_1x4_avx2", q8_0_row_bytes, quantize_act_q8_0,
     gemm_b32_tiles<IQ4NL>},
    {FormatId::IQ4_XS, BackendId::Avx2, FormatId::Q8_K, "gemm_iq4_xs_q8_K_1x4_avx2", q8_K_row_bytes, quantize_act_q8_K,
     gemm_sb_tiles<IQ4XS>},
    {FormatId::MXFP4, BackendId::Avx2, FormatId::Q8_0, "gemm_mxfp4_q8_0_1x4_avx2", q8_0_row_bytes, quantize_act_q8_0,
     gemm_b32_tiles<MXFP4>},
};
}  // namespace

std::span<const MatmulKernel> iquant_avx2() { return kKernels; }
QB_EXPORT_COMPILED_ISA(iquant_avx2)

}  // namespace qb::kern
