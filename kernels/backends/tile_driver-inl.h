// The one tile driver every SIMD matmul family runs on: row/column tiling, edge tiles (fewer
// than MR rows or NR columns), k-blocking, and the first-block store vs later-block accumulate.
// A microkernel only computes one tile.
//
// Highway's -inl.h convention: included by translation units built with different ISA flags,
// so it holds templates only. Instantiated with a microkernel of that file's anonymous
// namespace, every instantiation has internal linkage (no cross-ISA ODR merging by the linker).
//
// A microkernel type MK provides:
//   static constexpr int kMR, kNR;   // largest tile, rows x columns (kNR <= 4)
//   using Row = ...; using Col = ...;  // what a tile reads per weight row / activation column
//   static constexpr bool kRowScale; // Row has a float `scale` multiplied into each partial
//   template <int R, int C> static void tile(const Row* w, const Col* x, int64_t len, float* out);
//     out[r * 4 + c] = the dot of row r with column c over `len` k-steps.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace qb::kern {

template <class MK>
struct TileDriver {
  using Row = typename MK::Row;
  using Col = typename MK::Col;
  using TileFn = void (*)(const Row*, const Col*, int64_t, float*);

  template <int... C>
  static constexpr void fill_row(TileFn* out, std::integer_sequence<int, C...>, auto r) {
    ((out[C] = &MK::template tile<decltype(r)::value, C + 1>), ...);
  }
  template <int... R>
  static constexpr auto make_table(std::integer_sequence<int, R...>) {
    std::array<std::array<TileFn, MK::kNR>, MK::kMR> t{};
    ((fill_row(t[R].data(), std::make_integer_sequence<int, MK::kNR>{}, std::integral_constant<int, R + 1>{})), ...);
    return t;
  }
  static TileFn pick(int r, int c) {
    static constexpr auto kTable = make_table(std::make_integer_sequence<int, MK::kMR>{});
    return kTable[size_t(r - 1)][size_t(c - 1)];
  }

  // Y[c][r] for rows [r0, r1) and columns [0, n), over k-steps [0, nk) in blocks of kc (the first
  // block stores, later ones add). Tiles of tile_r (<= kMR) rows x kNR columns.
  // row_at(r, k0) / col_at(c, k0): what the tile reads for row r / column c from step k0 on.
  template <class RowAt, class ColAt>
  static void run(int64_t r0, int64_t r1, int64_t n, int64_t nk, int64_t kc, int tile_r, const RowAt& row_at,
                  const ColAt& col_at, float* Y, int64_t ldy) {
    Row rows[MK::kMR];
    Col cols[MK::kNR];
    float out[16];
    for (int64_t k0 = 0; k0 < nk; k0 += kc) {
      const int64_t len = std::min(kc, nk - k0);
      for (int64_t rt = r0; rt < r1; rt += tile_r) {
        const int R = int(std::min<int64_t>(tile_r, r1 - rt));
        for (int r = 0; r < R; ++r) rows[r] = row_at(rt + r, k0);
        for (int64_t ct = 0; ct < n; ct += MK::kNR) {
          const int C = int(std::min<int64_t>(MK::kNR, n - ct));
          for (int c = 0; c < C; ++c) cols[c] = col_at(ct + c, k0);
          pick(R, C)(rows, cols, len, out);
          for (int c = 0; c < C; ++c) {
            float* y = Y + (ct + c) * ldy + rt;
            for (int r = 0; r < R; ++r) {
              if constexpr (MK::kRowScale) {
                const float v = rows[r].scale * out[r * 4 + c];
                y[r] = k0 == 0 ? v : y[r] + v;
              } else {
                y[r] = k0 == 0 ? out[r * 4 + c] : y[r] + out[r * 4 + c];
              }
            }
          }
        }
      }
    }
  }
};

// The k-block for n columns: whole rows when every column fits one tile (GEMV, small batches):
// k-blocking keeps a row's block in L1 for the next column tile, and with one tile there is none;
// it would only cut each row into strided pieces that stream worse from DRAM (Q6_K n=4 on avx2:
// 2.6x slower blocked). Wider GEMMs block k to MK::kGemmKc steps.
template <class MK>
constexpr int64_t k_block(int64_t n, int64_t nk) {
  return n <= MK::kNR ? nk : MK::kGemmKc;
}

// A MatmulKernel::compute for microkernels over plain strided rows: weight row r from k-step k0
// at W + r * w_stride + k0 * MK::kWStep, activation column c at Xq + c * xq_stride + k0 * MK::kXStep.
template <class MK>
void gemm_strided(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                  int64_t n, float* Y, int64_t ldy) {
  const int64_t nk = k / MK::kKStep;
  const auto* w = static_cast<const uint8_t*>(W);
  const auto* xq = static_cast<const uint8_t*>(Xq);
  TileDriver<MK>::run(
      r0, r1, n, nk, k_block<MK>(n, nk), MK::kMR,
      [&](int64_t r, int64_t k0) { return w + r * int64_t(w_stride) + k0 * MK::kWStep; },
      [&](int64_t c, int64_t k0) { return xq + c * int64_t(xq_stride) + k0 * MK::kXStep; }, Y, ldy);
}

}  // namespace qb::kern
