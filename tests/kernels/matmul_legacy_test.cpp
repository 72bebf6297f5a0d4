// Legacy-family kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1) against the scalar oracle.
//
// Tolerances and why:
//  * Exact mode: weight scales/minimums are powers of two and activations are integers times a
//    power of two with a +-127 in every block, so the Q8 scale is exact and every product and
//    partial sum is exactly representable (|sum| < 2^24 ulps of the smallest term). Any
//    summation order gives the same float: SIMD must equal scalar bit for bit.
//  * Random mode: per block the integer dot is exact in every backend; only the float
//    accumulation order differs (lanes, tiles, k-blocks). Error <= (blocks + 64) * 2^-24 * M,
//    M = sum over blocks of |d_w d_x sumi| + |m_w s_x| (computed from the codes), we allow
//    (blocks + 64) * 2^-23 * M.
//  * Scalar vs float reference (qb::dequantize of W and of the quantized activations, dot in
//    double): scalar rounds d_w*d_x, the product with sumi and each sum; the dequantizer rounds
//    d*q per weight: a few ulps per block, allowed (blocks + 8) * 2^-22 * M.
//  * quantize_act must write exactly the reference codec's bytes (compared with memcmp).
//  * Packed kernels (MatmulKernel::pack, load-time repacking) run on pack()'s output against the
//    scalar kernel on the unpacked rows, same tolerances; pack() itself against an index
//    computation written here from the layout's description (packed_layout.h).
//  * Every row the CPU grants runs: on the avx512 backend the AMX-INT8 rows (where the CPU and OS
//    allow them) beside the VNNI rows; same tolerances (AMX block dots are exact ints).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "kernels/matmul_test_util.h"
#include "legacy_common.h"
#include "packed_layout.h"
#include "qb/blocks.h"

namespace {

using qb::FormatId;
using qb::kern::LegacyGeom;

const LegacyGeom& geom(FormatId f) {
  switch (f) {
    case FormatId::Q4_0:
      return qb::kern::kQ4_0;
    case FormatId::Q4_1:
      return qb::kern::kQ4_1;
    case FormatId::Q5_0:
      return qb::kern::kQ5_0;
    case FormatId::Q5_1:
      return qb::kern::kQ5_1;
    case FormatId::Q8_0:
      return qb::kern::kQ8_0;
    default:
      return qb::kern::kQ8_1;
  }
}

const FormatId kFormats[] = {FormatId::Q4_0, FormatId::Q4_1, FormatId::Q5_0,
                             FormatId::Q5_1, FormatId::Q8_0, FormatId::Q8_1};

void put_half(uint8_t* p, float v) {
  const uint16_t h = qb::fp32_to_fp16(v);
  std::memcpy(p, &h, 2);
}

// Random codes; scales (and minimums) random, or powers of two in exact mode.
std::vector<uint8_t> make_weights(FormatId f, int64_t m, int64_t k, bool exact, std::mt19937& rng) {
  const LegacyGeom& g = geom(f);
  std::vector<uint8_t> w(qb::traits(f).row_bytes(k) * size_t(m));
  std::uniform_int_distribution<int> byte(0, 255), sign(0, 1), e(-9, -8);
  std::uniform_real_distribution<float> u(0.001f, 0.02f);
  for (auto& b : w) b = uint8_t(byte(rng));
  for (size_t b = 0; b < w.size() / size_t(g.block_bytes); ++b) {
    uint8_t* blk = w.data() + b * size_t(g.block_bytes);
    const float s = sign(rng) ? -1.0f : 1.0f;
    put_half(blk, exact ? std::ldexp(1.0f, e(rng)) : s * u(rng));
    if (g.m_off >= 0) put_half(blk + g.m_off, exact ? -std::ldexp(1.0f, e(rng)) : -u(rng) * 8);
    if (g.bits == 8 && g.qs_off == 4) put_half(blk + 2, 0.0f);  // Q8_1 weight: s unused
  }
  return w;
}

// M of the tolerance: sum over blocks of |d_w d_x sumi| + |m_w s_x|, per output.
std::vector<double> magnitudes(FormatId f, const std::vector<uint8_t>& w, const qb::MatmulKernel& kern,
                               const std::vector<float>& X, const qbt::Shape& s) {
  const LegacyGeom& g = geom(f);
  const bool q81 = kern.act == FormatId::Q8_1;
  const int abb = q81 ? 36 : 34, aqo = q81 ? 4 : 2;
  std::vector<uint8_t> xq(kern.act_row_bytes(s.k) * size_t(s.n));
  for (int64_t j = 0; j < s.n; ++j) kern.quantize_act(X.data() + j * s.k, xq.data() + j * kern.act_row_bytes(s.k), s.k);
  std::vector<double> mag(size_t(s.n * s.m));
  const size_t rb = qb::traits(f).row_bytes(s.k);
  for (int64_t j = 0; j < s.n; ++j)
    for (int64_t r = 0; r < s.m; ++r) {
      double acc = 0;
      for (int64_t b = 0; b < s.k / 32; ++b) {
        const uint8_t* wb = w.data() + r * rb + b * g.block_bytes;
        const uint8_t* xb = xq.data() + j * kern.act_row_bytes(s.k) + b * abb;
        int sumi = 0;
        for (int i = 0; i < 32; ++i)
          sumi += std::abs((qb::kern::legacy_code(g, wb, i) - g.off) * int(int8_t(xb[aqo + i])));
        acc += std::fabs(double(qb::kern::half_at(wb)) * qb::kern::half_at(xb) * sumi);
        if (g.m_off >= 0) acc += std::fabs(double(qb::kern::half_at(wb + g.m_off)) * qb::kern::half_at(xb + 2));
      }
      mag[size_t(j * s.m + r)] = acc;
    }
  return mag;
}

TEST(LegacyKernels, TableRowsAndNames) {
  for (FormatId f : kFormats) {
    const auto* k = qb::find_kernel(f, qb::BackendId::Scalar);
    ASSERT_NE(k, nullptr) << qb::traits(f).name;
    EXPECT_EQ(k->act, qb::traits(f).act) << qb::traits(f).name;
    for (const auto* sk : qbt::simd_kernels(f)) {
      EXPECT_EQ(sk->act, qb::traits(f).act) << sk->name;
      EXPECT_EQ(sk->weight, f);
    }
  }
}

// Every backend's quantize_act writes the same bytes as the scalar one and (when it exists) as
// the reference qb::quantize_activations(act).
TEST(LegacyKernels, QuantizeActBitExact) {
  std::mt19937 rng(7);
  const int64_t k = 32 * 37;
  std::vector<float> x{};
  x.resize(size_t(k));
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (auto& v : x) v = nd(rng);
  // Ties: values that scale to exact .5 multiples, and an all-zero block.
  for (int i = 0; i < 32; ++i) x[size_t(i)] = float(i - 16) * 0.5f + (i == 0 ? -127.0f : 0.0f);
  for (int i = 32; i < 64; ++i) x[size_t(i)] = 0.0f;
  for (FormatId f : kFormats) {
    const auto* sk = qb::find_kernel(f, qb::BackendId::Scalar);
    const size_t nbytes = sk->act_row_bytes(k);
    std::vector<uint8_t> ref(nbytes);
    sk->quantize_act(x.data(), ref.data(), k);
    if (qb::traits(sk->act).quantize) {
      std::vector<uint8_t> codec(nbytes);
      qb::quantize_activations(sk->act, x.data(), codec.data(), 1, k);
      EXPECT_EQ(0, std::memcmp(codec.data(), ref.data(), nbytes))
          << qb::traits(f).name << ": scalar quantize_act differs from the reference codec";
    }
    for (const auto* kern : qbt::simd_kernels(f)) {
      qbt::Bytes got(nbytes, 1);
      kern->quantize_act(x.data(), got.data(), k);
      EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), nbytes)) << kern->name;
    }
  }
}

class LegacyVsScalar : public ::testing::TestWithParam<FormatId> {};

// The tie rule itself, against hand-computed codes: with absmax 127 the scale is exactly 1, so
// x.5 values are exact ties. Activations (what llama.cpp's x86 and NEON quantizers write) round
// them to even; the Q8_0 weight codec (ggml's quantize_row_q8_0_ref) rounds them away from zero.
TEST(LegacyKernels, ActivationTiesRoundToEvenWeightTiesAwayFromZero) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  const float ties[] = {0.5f, 1.5f, 2.5f, -2.5f, -3.5f, 126.5f, -0.5f};
  const int even[] = {0, 2, 2, -2, -4, 126, 0}, away[] = {1, 2, 3, -3, -4, 127, -1};
  for (size_t i = 0; i < std::size(ties); ++i) x[i + 1] = ties[i];
  qbt::Bytes act(sizeof(qb::block_q8_0), 1), wt(sizeof(qb::block_q8_0), 0);
  qb::quantize(FormatId::Q8_0, x.data(), wt.data(), 1, 32, "weights");
  std::vector<const qb::MatmulKernel*> all = qbt::simd_kernels(FormatId::Q8_0);
  all.insert(all.begin(), qb::find_kernel(FormatId::Q8_0, qb::BackendId::Scalar));
  for (const auto* kern : all) {
    kern->quantize_act(x.data(), act.data(), 32);
    const auto* a = reinterpret_cast<const int8_t*>(act.data() + 2);
    const auto* w = reinterpret_cast<const int8_t*>(wt.data() + 2);
    for (size_t i = 0; i < std::size(ties); ++i) {
      EXPECT_EQ(a[i + 1], even[i]) << kern->name << " activation " << ties[i];
      EXPECT_EQ(w[i + 1], away[i]) << "weight codec " << ties[i];
    }
  }
}

TEST_P(LegacyVsScalar, OddShapesThreadsAlignment) {
  const FormatId f = GetParam();
  const auto* scalar = qb::find_kernel(f, qb::BackendId::Scalar);
  ASSERT_NE(scalar, nullptr);
  const auto kernels = qbt::simd_kernels(f);
  if (kernels.empty()) GTEST_SKIP() << "no SIMD backend available for " << qb::traits(f).name;
  std::mt19937 rng(1234 + int(f));
  for (const bool exact : {true, false})
    for (qbt::Shape s : qbt::odd_shapes(32)) {
      if (exact && s.k > 9 * 32) continue;               // exactness argument needs short rows
      if (s.m == 9 && s.n == 1) s = {48, 32 * 133, 35};  // AMX: 3 row tiles, 2 column tiles + edges
      const auto w = make_weights(f, s.m, s.k, exact, rng);
      const auto X = qbt::q8_acts(s.n, s.k, exact, rng);
      const auto want = qbt::run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
      const auto mag = magnitudes(f, w, *scalar, X, s);
      const double nb = double(s.k / 32);
      for (const auto* kern : kernels) {
        for (const bool threads : {false, true}) {
          const auto got = qbt::run_matmul(*kern, w.data(), w.size(), X, s, threads, threads ? 1 : 3);
          int bad = 0;
          for (size_t i = 0; i < got.size() && bad < 5; ++i) {
            const double tol = exact ? 0.0 : (nb + 64) * std::ldexp(1.0, -23) * mag[i];
            if (!(std::fabs(double(got[i]) - want[i]) <= tol)) {
              ++bad;
              ADD_FAILURE() << kern->name << (exact ? " exact" : " random") << " " << qbt::shape_name(s)
                            << (threads ? " 2 threads" : " 1 thread") << " row " << (i % size_t(s.m)) << " col "
                            << (i / size_t(s.m)) << ": got " << got[i] << " want " << want[i] << " tol " << tol;
            }
          }
        }
      }
    }
}

// The loop above tests the AMX rows only where AMX is granted: say so instead of passing silently.
TEST(LegacyAmx, Int8AmxRowsExercisedOrSkipped) {
  const std::string why = qbt::amx_unavailable_reason(true);
  if (!why.empty()) GTEST_SKIP() << "AMX-INT8 rows not exercised: " << why;
  for (FormatId f : {FormatId::Q4_0, FormatId::Q5_0, FormatId::Q8_0, FormatId::Q8_1}) {
    int amx = 0;
    for (const auto* k : qbt::simd_kernels(f)) amx += k->name.ends_with("_amx");
    EXPECT_EQ(amx, 1) << "AMX-INT8 is granted but " << qb::traits(f).name << " has no tested _amx row";
  }
}

// The oracle itself against dequantized weights and activations (needs the reference codecs).
TEST_P(LegacyVsScalar, ScalarMatchesDequantizedReference) {
  const FormatId f = GetParam();
  const auto* scalar = qb::find_kernel(f, qb::BackendId::Scalar);
  if (!qb::traits(f).dequantize_row || !qb::traits(scalar->act).dequantize_row)
    GTEST_SKIP() << "reference dequantizer for " << qb::traits(f).name << " or its activation not built yet";
  std::mt19937 rng(99 + int(f));
  for (const qbt::Shape s : {qbt::Shape{5, 32 * 7, 3}, qbt::Shape{17, 32, 2}, qbt::Shape{3, 32 * 64, 1}}) {
    const auto w = make_weights(f, s.m, s.k, false, rng);
    const auto X = qbt::q8_acts(s.n, s.k, false, rng);
    const auto got = qbt::run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
    std::vector<float> wf(size_t(s.m * s.k)), xf(size_t(s.n * s.k));
    qb::dequantize(f, w.data(), wf.data(), s.m, s.k);
    const size_t arb = scalar->act_row_bytes(s.k);
    std::vector<uint8_t> xq(arb * size_t(s.n));
    for (int64_t j = 0; j < s.n; ++j) scalar->quantize_act(X.data() + j * s.k, xq.data() + j * arb, s.k);
    qb::dequantize(scalar->act, xq.data(), xf.data(), s.n, s.k);
    const auto mag = magnitudes(f, w, *scalar, X, s);
    for (int64_t j = 0; j < s.n; ++j)
      for (int64_t r = 0; r < s.m; ++r) {
        double ref = 0;
        for (int64_t i = 0; i < s.k; ++i) ref += double(wf[size_t(r * s.k + i)]) * xf[size_t(j * s.k + i)];
        // Q4_1/Q5_1 dequantized activations are d*q while the kernel uses the fp16 s = d*sum(q)
        // for the minimum term: add the fp16 rounding of s (2^-11 relative) times |m|.
        const double tol = (double(s.k / 32) + 8) * std::ldexp(1.0, -22) * mag[size_t(j * s.m + r)] +
                           (geom(f).m_off >= 0 ? std::ldexp(1.0, -10) * mag[size_t(j * s.m + r)] : 0.0);
        EXPECT_NEAR(got[size_t(j * s.m + r)], ref, tol)
            << qb::traits(f).name << " " << qbt::shape_name(s) << " row " << r << " col " << j;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, LegacyVsScalar, ::testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(qb::traits(info.param).name); });

// ---- packed kernels (load-time repacking) ----

// Every packed row of a legacy format this CPU grants, whether or not QB_NO_REPACK hides it from
// dispatch (other families' packed rows have layouts and tests of their own).
std::vector<const qb::MatmulKernel*> packed_kernels() {
  std::vector<const qb::MatmulKernel*> out;
  for (const FormatId f : kFormats)
    for (const auto* k : qbt::packed_kernels(f)) out.push_back(k);
  return out;
}

// The 5th bits as packed_layout.h describes them: code c's bit (qh bit c) moves to byte c % 4 of
// the word, at bit (c % 16) / 4 (its stripe) for the low nibbles (c < 16), 4 + that for the high.
void expect_qh_by_stripe(uint8_t* qh) {
  uint32_t in, out = 0;
  std::memcpy(&in, qh, 4);
  for (int c = 0; c < 32; ++c)
    if (in >> c & 1u) out |= 1u << (8 * (c % 4) + 4 * (c / 16) + (c % 16) / 4);
  std::memcpy(qh, &out, 4);
}

void expect_pack_layout(FormatId f, void (*pack)(const void*, size_t, int64_t, int64_t, void*), const char* what) {
  const LegacyGeom& g = geom(f);
  const int n2 = (g.qh_off >= 0 ? g.qh_off : g.qs_off) / 2;  // 2-byte fields: d (, m)
  std::function<void(uint8_t*)> expect;
  if (g.qh_off >= 0) expect = [&](uint8_t* blk) { expect_qh_by_stripe(blk + g.qh_off); };
  qbt::check_pack_layout(
      f, pack, [&](int64_t r, int64_t b, int j, size_t rb) { return qbt::x8_index(r, b, j, rb, g.block_bytes, n2); },
      what, expect);
}

TEST(LegacyPacked, PackLayoutMatchesIndexComputation) {
  expect_pack_layout(FormatId::Q4_0, qb::kern::pack_legacy_x8<1, false, 16>, "pack_legacy_x8<1, false, 16>");
  expect_pack_layout(FormatId::Q5_1, qb::kern::pack_legacy_x8<2, true, 16>, "pack_legacy_x8<2, true, 16>");
  expect_pack_layout(FormatId::Q8_0, qb::kern::pack_legacy_x8<1, false, 32>, "pack_legacy_x8<1, false, 32>");
  for (const auto* kern : packed_kernels()) {
    expect_pack_layout(kern->weight, kern->pack, std::string(kern->name).c_str());
    EXPECT_EQ(qb::packed_bytes(*kern, 13, 64), 16 * qb::traits(kern->weight).row_bytes(64)) << kern->name;
  }
}

TEST(LegacyPacked, DispatchKeepsPackedRowsApart) {
  for (size_t f = 0; f < size_t(FormatId::COUNT); ++f)
    for (const auto& b : qb::own_backends()) {
      for (const auto* k : {qb::find_kernel(FormatId(f), b.id), qb::find_kernel(FormatId(f), b.id, 1)})
        EXPECT_TRUE(!k || !k->pack) << k->name << " is a packed kernel in the row-kernel tables";
      if (const auto* k = qb::find_packed_kernel(FormatId(f), b.id)) {
        EXPECT_NE(k->pack, nullptr) << k->name;
        EXPECT_GT(k->pack_rows, 0) << k->name;
        EXPECT_EQ(k->weight, FormatId(f)) << k->name;
        EXPECT_EQ(k->act, qb::find_kernel(FormatId(f), b.id)->act) << k->name;
      }
    }
}

TEST(LegacyPacked, PackedVsScalarOddShapesSubRanges) {
  const auto kernels = packed_kernels();
  if (kernels.empty()) GTEST_SKIP() << "no packed kernel on this CPU/build (packed rows exist for avx2 only)";
  std::mt19937 rng(77);
  for (const auto* kern : kernels) {
    const FormatId f = kern->weight;
    const auto* scalar = qb::find_kernel(f, qb::BackendId::Scalar);
    for (const bool exact : {true, false})
      for (const int64_t m : {1, 7, 13, 37})
        for (const int64_t kb : {1, 5, 133})
          for (const int64_t n : {1, 3, 5, 17}) {
            if (exact && kb > 9) continue;  // exactness argument needs short rows
            if (kb == 133 && (n == 3 || m == 7)) continue;
            const qbt::Shape s{m, kb * 32, n};
            const auto w = make_weights(f, s.m, s.k, exact, rng);
            const auto X = qbt::q8_acts(s.n, s.k, exact, rng);
            const auto want = qbt::run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
            const auto mag = magnitudes(f, w, *scalar, X, s);
            qbt::check_packed_run(
                *kern, w, X, s, want,
                [&](size_t i) { return exact ? 0.0 : (double(kb) + 64) * std::ldexp(1.0, -23) * mag[i]; },
                exact ? "exact" : "random");
          }
  }
}

TEST(LegacyKernels, MatmulRejectsBadK) {
  const auto* k = qb::find_kernel(FormatId::Q4_0, qb::BackendId::Scalar);
  std::vector<uint8_t> w(64), xq(64);
  std::vector<float> x(33), y(1);
  EXPECT_THROW(qb::matmul(*k, w.data(), 1, 33, x.data(), 1, y.data(), 1, xq.data()), qb::FormatError);
}

}  // namespace
