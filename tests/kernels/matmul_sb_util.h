// Shared checks for the K-quant, I-quant and ternary kernel tests (matmul_{kquant,iquant,
// ternary}_test.cpp): every backend against the scalar oracle, the oracle against dequantized
// weights x activations, quantize_act against the reference codec.
//
// Tolerances and why (the same for every format of these families):
//  * Exact mode: weight codes are random bytes (every bit pattern of these layouts is valid, so
//    all 6-bit scales, high bits and codebook entries occur), float scales are powers of two and
//    activations are integers times 2^-3 with a +-127 in every 256 (or 32) block, so the Q8_K /
//    Q8_0 scale is exact. Every product and partial sum is then an exactly representable float
//    (|sum| stays far below 2^24 units of the smallest term): any summation order gives the same
//    result, so SIMD must equal scalar bit for bit. This pins the integer paths down exactly.
//  * Random mode: per (sub-)block the integer dot is exact in every backend; only the float
//    accumulation order differs (lanes, tiles, k-blocks, fma vs mul+add). Each float op rounds by
//    <= 2^-24 relative to its magnitude, bounded by M = sum over blocks of |d dx sumi| +
//    |dmin dx summ| (computed from the codes); we allow (blocks + 64) * 2^-23 * M.
//  * Scalar vs float reference (qb::dequantize of W and of the quantized activations, dot in
//    double): the dequantizer rounds d*sc*q - dmin*m per weight, the kernel rounds d*dx and the
//    block products: a few ulps per weight/block of M, allowed (blocks + 8) * 2^-21 * M.
//  * quantize_act must write exactly the reference codec's bytes (memcmp).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "iquant_common.h"
#include "kernels/matmul_test_util.h"
#include "kquant_common.h"
#include "qb/blocks.h"
#include "ternary_common.h"

namespace qbt {

// Where a block keeps its float scales.
enum class FieldKind { Half, Float, E8M0 };
struct ScaleField {
  size_t offset;
  FieldKind kind;
  bool is_min;  // a K-quant dmin (stored positive, subtracted by the format)
};

struct SbFormat {
  qb::FormatId id;
  int block;  // weights per block (256 or 32)
  std::vector<ScaleField> fields;
  qb::kern::DecodeSbFn decode_sb;  // super-block formats
  qb::kern::Decode32Fn decode32;   // 32-weight formats
};

inline void put_scale(uint8_t* p, FieldKind kind, float v) {
  if (kind == FieldKind::Half) {
    const uint16_t h = qb::fp32_to_fp16(v);
    std::memcpy(p, &h, 2);
  } else if (kind == FieldKind::Float) {
    std::memcpy(p, &v, 4);
  } else {  // E8M0 with the MXFP4 half: 2^(e-128) = v  (v a power of two)
    *p = uint8_t(std::ilogb(v) + 128);
  }
}

inline std::vector<uint8_t> sb_weights(const SbFormat& f, int64_t m, int64_t k, bool exact, std::mt19937& rng) {
  const auto& t = qb::traits(f.id);
  std::vector<uint8_t> w(t.row_bytes(k) * size_t(m));
  std::uniform_int_distribution<int> byte(0, 255), sign(0, 1), e(-3, -1), ee(120, 130);
  std::uniform_real_distribution<float> u(0.001f, 0.02f);
  for (auto& b : w) b = uint8_t(byte(rng));
  const size_t nblk = w.size() / size_t(t.block_bytes);
  for (size_t b = 0; b < nblk; ++b) {
    uint8_t* blk = w.data() + b * size_t(t.block_bytes);
    for (const ScaleField& fl : f.fields) {
      float v;
      if (fl.kind == FieldKind::E8M0) {
        v = exact ? std::ldexp(1.0f, e(rng)) : std::ldexp(1.0f, ee(rng) - 128);
      } else if (exact) {
        v = std::ldexp(1.0f, e(rng)) * ((sign(rng) && !fl.is_min) ? -1.0f : 1.0f);
      } else {
        v = u(rng) * ((sign(rng) && !fl.is_min) ? -1.0f : 1.0f);
      }
      put_scale(blk + fl.offset, fl.kind, v);
    }
  }
  return w;
}

// Exact mode: integers * 2^-3 with one +-127 per activation block; random mode: N(0, 1).
inline std::vector<float> sb_acts(int64_t n, int64_t k, int ablock, bool exact, std::mt19937& rng) {
  std::vector<float> x(size_t(n * k));
  if (!exact) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& v : x) v = nd(rng);
    return x;
  }
  // Small integers keep every sum of the widest format (Q5_K/Q6_K: code 63 x scale 63) far
  // below 2^24 units of its smallest term.
  std::uniform_int_distribution<int> q(-127, 127), small(-12, 12);
  for (auto& v : x) v = float(small(rng)) * 0.125f;
  for (size_t b = 0; b < x.size(); b += size_t(ablock))
    x[b + size_t(q(rng) & (ablock - 1))] = (q(rng) & 1) ? 127 * 0.125f : -127 * 0.125f;
  return x;
}

// M of the tolerance per output: sum over blocks of |d dx sumi| + |dmin dx summ|.
inline std::vector<double> sb_magnitudes(const SbFormat& f, const std::vector<uint8_t>& w, const qb::MatmulKernel& kern,
                                         const std::vector<float>& X, const Shape& s) {
  using namespace qb::kern;
  const size_t arb = kern.act_row_bytes(s.k), rb = qb::traits(f.id).row_bytes(s.k);
  const size_t wbb = size_t(qb::traits(f.id).block_bytes);
  std::vector<uint8_t> xq(arb * size_t(s.n));
  for (int64_t j = 0; j < s.n; ++j) kern.quantize_act(X.data() + j * s.k, xq.data() + j * arb, s.k);
  std::vector<double> mag(size_t(s.n * s.m));
  for (int64_t j = 0; j < s.n; ++j)
    for (int64_t r = 0; r < s.m; ++r) {
      double acc = 0;
      const uint8_t* wr = w.data() + size_t(r) * rb;
      const uint8_t* xr = xq.data() + size_t(j) * arb;
      if (f.block == 256) {
        SuperBlock sb;
        for (int64_t b = 0; b < s.k / 256; ++b) {
          f.decode_sb(wr + size_t(b) * wbb, sb);
          const uint8_t* xb = xr + size_t(b) * sizeof(qb::block_q8_K);
          const float dx = load_as<float>(xb + off::q8K_d);
          double si = 0, sm = 0;
          for (int e = 0; e < 256; ++e)
            si += std::fabs(double(sb.q[e]) * sb.sc[e / 16] * int8_t(xb[off::q8K_qs + size_t(e)]));
          for (int g = 0; g < 16; ++g)
            sm += std::fabs(double(sb.mn[g]) * load_as<int16_t>(xb + off::q8K_bsums + 2 * size_t(g)));
          acc += std::fabs(double(sb.d) * dx) * si + std::fabs(double(sb.dmin) * dx) * sm;
        }
      } else {
        int8_t q[32];
        for (int64_t b = 0; b < s.k / 32; ++b) {
          const float dw = f.decode32(wr + size_t(b) * wbb, q);
          const uint8_t* xb = xr + size_t(b) * sizeof(qb::block_q8_0);
          double si = 0;
          for (int e = 0; e < 32; ++e) si += std::fabs(double(q[e]) * int8_t(xb[off::q8_0_qs + size_t(e)]));
          acc += std::fabs(double(dw) * load_half(xb + off::q8_0_d)) * si;
        }
      }
      mag[size_t(j * s.m + r)] = acc;
    }
  return mag;
}

inline void check_table(const SbFormat& f) {
  const auto* k = qb::find_kernel(f.id, qb::BackendId::Scalar);
  ASSERT_NE(k, nullptr) << qb::traits(f.id).name << " has no scalar kernel";
  EXPECT_EQ(k->act, qb::traits(f.id).act) << qb::traits(f.id).name;
  for (const auto* sk : simd_kernels(f.id)) {
    EXPECT_EQ(sk->act, qb::traits(f.id).act) << sk->name;
    EXPECT_EQ(sk->weight, f.id) << sk->name;
  }
}

// Every backend's quantize_act against the reference codec (zero block, ties, huge range).
inline void check_quantize_act(const SbFormat& f) {
  const auto* sk = qb::find_kernel(f.id, qb::BackendId::Scalar);
  ASSERT_NE(sk, nullptr);
  if (!qb::traits(sk->act).quantize) GTEST_SKIP() << "reference activation codec not built yet";
  std::mt19937 rng(7 + int(f.id));
  const int64_t k = 256 * 7;
  std::vector<float> x(static_cast<size_t>(k), 0.0f);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (auto& v : x) v = nd(rng);
  for (int i = 0; i < 256; ++i) x[size_t(i)] = float(i - 128) * 0.5f;  // many exact ties
  for (int i = 256; i < 512; ++i) x[size_t(i)] = 0.0f;                 // all-zero block
  for (int i = 512; i < 768; ++i) x[size_t(i)] *= (i % 7 == 0) ? 1e6f : 1e-3f;
  // A block with absmax 127 (scale exactly 1 for Q8_0 and Q8_K): x.5 values are exact ties
  // (Q8_0 activations and Q8_K round them to even).
  for (int i = 1024; i < 1280; ++i) x[size_t(i)] = float((i % 64) - 32) + 0.5f;
  x[1024] = 127.0f;
  x[1056] = -127.0f;
  x[800] = 42.0f;  // equal |max| of both signs: the first one wins
  x[801] = -42.0f;
  const size_t nbytes = sk->act_row_bytes(k);
  std::vector<uint8_t> ref(nbytes);
  qb::quantize_activations(sk->act, x.data(), ref.data(), 1, k);
  std::vector<const qb::MatmulKernel*> all = simd_kernels(f.id);
  all.insert(all.begin(), sk);
  for (const auto* kern : all) {
    Bytes got(nbytes, 1);
    kern->quantize_act(x.data(), got.data(), k);
    EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), nbytes))
        << kern->name << " quantize_act differs from the reference codec";
  }
}

inline void check_vs_scalar(const SbFormat& f) {
  const auto* scalar = qb::find_kernel(f.id, qb::BackendId::Scalar);
  ASSERT_NE(scalar, nullptr);
  const auto kernels = simd_kernels(f.id);
  if (kernels.empty()) GTEST_SKIP() << "no SIMD backend available for " << qb::traits(f.id).name;
  if (!qb::traits(scalar->act).quantize) GTEST_SKIP() << "reference activation codec not built yet";
  std::mt19937 rng(1234 + int(f.id));
  const int ablock = f.block;  // Q8_K blocks of 256 or Q8_0 blocks of 32
  for (const bool exact : {true, false})
    for (const Shape& s : odd_shapes(f.block)) {
      if (exact && s.k > 9 * f.block) continue;  // exactness argument needs short rows
      const auto w = sb_weights(f, s.m, s.k, exact, rng);
      const auto X = sb_acts(s.n, s.k, ablock, exact, rng);
      const auto want = run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
      const auto mag = sb_magnitudes(f, w, *scalar, X, s);
      const double nb = double(s.k / f.block);
      for (const auto* kern : kernels)
        for (const bool threads : {false, true}) {
          const auto got = run_matmul(*kern, w.data(), w.size(), X, s, threads, threads ? 1 : 3);
          int bad = 0;
          for (size_t i = 0; i < got.size() && bad < 5; ++i) {
            const double tol = exact ? 0.0 : (nb + 64) * std::ldexp(1.0, -23) * mag[i];
            if (!(std::fabs(double(got[i]) - want[i]) <= tol)) {
              ++bad;
              ADD_FAILURE() << kern->name << (exact ? " exact" : " random") << " " << shape_name(s)
                            << (threads ? " 2 threads" : " 1 thread") << " row " << (i % size_t(s.m)) << " col "
                            << (i / size_t(s.m)) << ": got " << got[i] << " want " << want[i] << " tol " << tol;
            }
          }
        }
    }
}

// compute() on a row sub-range that starts and ends off any tile boundary.
inline void check_subrange(const SbFormat& f) {
  const auto* scalar = qb::find_kernel(f.id, qb::BackendId::Scalar);
  ASSERT_NE(scalar, nullptr);
  if (!qb::traits(scalar->act).quantize) GTEST_SKIP() << "reference activation codec not built yet";
  std::mt19937 rng(55 + int(f.id));
  const Shape s{37, 3 * f.block, 6};
  const auto w = sb_weights(f, s.m, s.k, true, rng);
  const auto X = sb_acts(s.n, s.k, f.block, true, rng);
  const auto want = run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
  auto kernels = simd_kernels(f.id);
  kernels.push_back(scalar);
  for (const auto* kern : kernels) {
    const size_t arb = kern->act_row_bytes(s.k), rb = qb::traits(f.id).row_bytes(s.k);
    Bytes xq(arb * size_t(s.n), 1), wb(w.size(), 1);
    std::memcpy(wb.data(), w.data(), w.size());
    for (int64_t j = 0; j < s.n; ++j) kern->quantize_act(X.data() + j * s.k, xq.data() + j * arb, s.k);
    const int64_t ldy = s.m + 1;
    std::vector<float> y(size_t(ldy * s.n), std::nanf(""));
    kern->compute(s.k, wb.data(), rb, 3, 30, xq.data(), arb, s.n, y.data(), ldy);
    for (int64_t j = 0; j < s.n; ++j)
      for (int64_t r = 0; r < s.m; ++r) {
        const float v = y[size_t(j * ldy + r)];
        if (r < 3 || r >= 30)
          EXPECT_TRUE(std::isnan(v)) << kern->name << " wrote row " << r << " outside [3, 30)";
        else
          EXPECT_EQ(v, want[size_t(j * s.m + r)]) << kern->name << " row " << r << " col " << j;
      }
  }
}

// Packed kernels on pack()'s output against the scalar kernel on the unpacked rows (tolerances as
// check_vs_scalar): m not a multiple of pack_rows, one and several blocks, n across the column
// tile, through matmul (1 and 2 threads) and compute() on every allowed row sub-range [r0, r1).
inline void check_packed_vs_scalar(const SbFormat& f) {
  const auto* scalar = qb::find_kernel(f.id, qb::BackendId::Scalar);
  ASSERT_NE(scalar, nullptr);
  const auto kernels = packed_kernels(f.id);
  if (kernels.empty()) GTEST_SKIP() << "no packed kernel for " << qb::traits(f.id).name << " on this CPU/build";
  std::mt19937 rng(4321 + int(f.id));
  for (const auto* kern : kernels)
    for (const bool exact : {true, false})
      for (const int64_t m : {1, 7, 13, 37})
        for (const int64_t nb : {1, 3, 20})
          for (const int64_t n : {1, 3, 5, 17}) {
            if (exact && nb > 9) continue;  // exactness argument needs short rows
            const Shape s{m, nb * f.block, n};
            const auto w = sb_weights(f, s.m, s.k, exact, rng);
            const auto X = sb_acts(s.n, s.k, f.block, exact, rng);
            const auto want = run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
            const auto mag = sb_magnitudes(f, w, *scalar, X, s);
            check_packed_run(
                *kern, w, X, s, want,
                [&](size_t i) { return exact ? 0.0 : (double(nb) + 64) * std::ldexp(1.0, -23) * mag[i]; },
                exact ? "exact" : "random");
          }
}

// The oracle itself against dequantized weights and activations (needs the reference codecs).
inline void check_scalar_vs_dequantized(const SbFormat& f) {
  const auto* scalar = qb::find_kernel(f.id, qb::BackendId::Scalar);
  ASSERT_NE(scalar, nullptr);
  if (!qb::traits(f.id).dequantize_row || !qb::traits(scalar->act).dequantize_row || !qb::traits(scalar->act).quantize)
    GTEST_SKIP() << "reference codecs for " << qb::traits(f.id).name << " or its activation not built yet";
  std::mt19937 rng(99 + int(f.id));
  const int b = f.block;
  for (const Shape s : {Shape{5, b * 7, 3}, Shape{17, b, 2}, Shape{3, b * 40, 1}}) {
    for (const bool real : {false, true}) {
      // Random codes, and (when the quantizer exists) real quantizer output of N(0,1) weights.
      std::vector<uint8_t> w;
      if (real) {
        if (!qb::traits(f.id).quantize) continue;
        std::vector<float> wf(size_t(s.m * s.k));
        std::normal_distribution<float> nd(0.0f, 0.05f);
        for (auto& v : wf) v = nd(rng);
        w.resize(qb::traits(f.id).row_bytes(s.k) * size_t(s.m));
        qb::quantize(f.id, wf.data(), w.data(), s.m, s.k, "weights");
      } else {
        w = sb_weights(f, s.m, s.k, false, rng);
      }
      const auto X = sb_acts(s.n, s.k, b, false, rng);
      const auto got = run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
      std::vector<float> wf(size_t(s.m * s.k)), xf(size_t(s.n * s.k));
      qb::dequantize(f.id, w.data(), wf.data(), s.m, s.k);
      const size_t arb = scalar->act_row_bytes(s.k);
      std::vector<uint8_t> xq(arb * size_t(s.n));
      for (int64_t j = 0; j < s.n; ++j) scalar->quantize_act(X.data() + j * s.k, xq.data() + j * arb, s.k);
      qb::dequantize(scalar->act, xq.data(), xf.data(), s.n, s.k);
      const auto mag = sb_magnitudes(f, w, *scalar, X, s);
      for (int64_t j = 0; j < s.n; ++j)
        for (int64_t r = 0; r < s.m; ++r) {
          double ref = 0;
          for (int64_t i = 0; i < s.k; ++i) ref += double(wf[size_t(r * s.k + i)]) * xf[size_t(j * s.k + i)];
          const double tol = (double(s.k / b) + 8) * std::ldexp(1.0, -21) * mag[size_t(j * s.m + r)];
          EXPECT_NEAR(got[size_t(j * s.m + r)], ref, tol)
              << qb::traits(f.id).name << (real ? " quantized" : " random codes") << " " << shape_name(s) << " row "
              << r << " col " << j;
        }
    }
  }
}

}  // namespace qbt

// One test suite per family: TableRows, QuantizeAct, VsScalar, SubRange, ScalarVsDequantized.
#define QBT_SB_TESTS(Suite, kFormats)                                                                \
  class Suite : public ::testing::TestWithParam<qbt::SbFormat> {};                                   \
  TEST_P(Suite, TableRowsAndNames) { qbt::check_table(GetParam()); }                                 \
  TEST_P(Suite, QuantizeActMatchesReferenceCodec) { qbt::check_quantize_act(GetParam()); }           \
  TEST_P(Suite, BackendsMatchScalarOnOddShapes) { qbt::check_vs_scalar(GetParam()); }                \
  TEST_P(Suite, ComputeRowSubRange) { qbt::check_subrange(GetParam()); }                             \
  TEST_P(Suite, ScalarMatchesDequantizedReference) { qbt::check_scalar_vs_dequantized(GetParam()); } \
  INSTANTIATE_TEST_SUITE_P(Formats, Suite, ::testing::ValuesIn(kFormats),                            \
                           [](const auto& info) { return std::string(qb::traits(info.param.id).name); })
