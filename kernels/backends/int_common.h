// Shared pieces of the int-family kernels (INT8_PC, INT8_PT, INT4_G32/G64/G128, NF4; layouts in
// kernels/formats/int_formats.md): geometry and the scalar oracle dots. Internal linkage only
// (included by translation units built with different ISA flags).
#pragma once
#include <cstdint>
#include <cstring>

#include "../formats/codecs.h"
#include "legacy_common.h"

namespace qb::kern {
namespace {

// INT4_Gxx as legacy-like geometry: group = [f16 scale][f16 bias][G/2 bytes], even/odd nibbles.
constexpr LegacyGeom kInt4G32{20, 4, -1, 2, 0, 4, 1, true};
constexpr LegacyGeom kInt4G64{18, 4, -1, 2, 0, 4, 2, true};
constexpr LegacyGeom kInt4G128{17, 4, -1, 2, 0, 4, 4, true};

// What an INT8_PC/INT8_PT tile reads per weight row: codes from the k-block on, the row's zero
// point (PT) and scale (applied by the tile driver to each k-block's partial sum).
struct Int8Row {
  const uint8_t* q;
  int32_t zp;
  float scale;
};

inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}
inline int32_t load_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// INT8_PC row: [f32 scale][int8 q[k]]; x: Q8_0 blocks. y = s * sum_b d_x * sum(q x).
inline float int8_pc_dot_scalar(int64_t k, const uint8_t* w, const uint8_t* x) {
  const float s = load_f32(w);
  const auto* q = reinterpret_cast<const int8_t*>(w + 4);
  float sumf = 0.0f;
  for (int64_t b = 0; b < k / 32; ++b) {
    const uint8_t* xb = x + b * int64_t(sizeof(block_q8_0));
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += int(q[b * 32 + j]) * int(int8_t(xb[2 + j]));
    sumf += float(sumi) * half_at(xb);
  }
  return s * sumf;
}

// INT8_PT row: [f32 scale][i32 zero point][uint8 q[k]]. y = s * sum_b d_x * sum((q - zp) x).
inline float int8_pt_dot_scalar(int64_t k, const uint8_t* w, const uint8_t* x) {
  const float s = load_f32(w);
  const int32_t zp = load_i32(w + 4);
  const uint8_t* q = w + 8;
  float sumf = 0.0f;
  for (int64_t b = 0; b < k / 32; ++b) {
    const uint8_t* xb = x + b * int64_t(sizeof(block_q8_0));
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += (int(q[b * 32 + j]) - zp) * int(int8_t(xb[2 + j]));
    sumf += float(sumi) * half_at(xb);
  }
  return s * sumf;
}

// INT4_Gxx with Q8_1 activations, as Q4_1: sum_b (scale d_x) sum(q x) + bias s_x.
inline float int4_dot_scalar(const LegacyGeom& g, int64_t k, const uint8_t* w, const uint8_t* x) {
  float sumf = 0.0f;
  for (int64_t b = 0; b < k / 32; ++b) {
    const uint8_t* grp = w + (b / g.bpg) * g.group_bytes();
    const uint8_t* qs = grp + 4 + 16 * (b % g.bpg);
    const uint8_t* xb = x + b * int64_t(sizeof(block_q8_1));
    int sumi = 0;
    for (int i = 0; i < 16; ++i) {
      sumi += int(qs[i] & 0x0F) * int(int8_t(xb[4 + 2 * i]));
      sumi += int(qs[i] >> 4) * int(int8_t(xb[4 + 2 * i + 1]));
    }
    sumf += (half_at(grp) * half_at(xb)) * float(sumi) + half_at(grp + 2) * half_at(xb + 2);
  }
  return sumf;
}

// NF4 group: [f32 absmax][32 bytes, element 2i in the high nibble]; x: F32. Weights decoded as
// the dequantizer does (code * absmax), products summed in double.
inline float nf4_dot_scalar(int64_t k, const uint8_t* w, const uint8_t* x) {
  double sum = 0.0;
  for (int64_t g = 0; g < k / 64; ++g) {
    const uint8_t* grp = w + g * 36;
    const float amax = load_f32(grp);
    for (int i = 0; i < 32; ++i) {
      const uint8_t q = grp[4 + i];
      sum += double(codec::kNf4Values[q >> 4] * amax * load_f32(x + 4 * (g * 64 + 2 * i)));
      sum += double(codec::kNf4Values[q & 0x0F] * amax * load_f32(x + 4 * (g * 64 + 2 * i + 1)));
    }
  }
  return float(sum);
}

// NF4 rows and F32 activations as strided k-steps of 64 weights (one group): the tile driver's
// gemm_strided geometry, shared by the NF4 microkernels of every ISA.
struct Nf4Geometry {
  static constexpr bool kRowScale = false;
  static constexpr int64_t kKStep = 64, kWStep = 36, kXStep = 64 * 4;
  static constexpr int64_t kGemmKc = 32;  // GEMM: 2048 weights per k-block (8 KiB of activations)
  using Row = const uint8_t*;
  using Col = const uint8_t*;
};

// Rows of an INT8 matrix as the tile driver's Int8Row, from block kb on.
template <bool PT>
inline Int8Row int8_row(const uint8_t* row, int64_t kb) {
  return {row + (PT ? 8 : 4) + kb * 32, PT ? load_i32(row + 4) : 0, load_f32(row)};
}

inline size_t f32_row_bytes(int64_t k) { return size_t(k) * 4; }
inline void copy_f32(const float* x, void* dst, int64_t k) { std::memcpy(dst, x, size_t(k) * 4); }

}  // namespace
}  // namespace qb::kern
