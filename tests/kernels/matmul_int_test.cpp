// Int-family kernels (INT8_PC, INT8_PT, INT4_G32/G64/G128 with Q8 activations; NF4 with F32
// activations) against the scalar oracle; layouts in kernels/formats/int_formats.md.
//
// Tolerances and why:
//  * Exact mode (not NF4, whose codebook is not dyadic): scales and biases are powers of two,
//    activations are integers times 2^-3 with a +-127 per block (exact Q8 scale), rows are at
//    most 9 blocks: every product and partial sum is a multiple of the smallest term below
//    2^24 of them, so every summation order gives the same float: SIMD == scalar bit for bit.
//  * Random mode: per-block integer dots are exact everywhere; only the fp32 accumulation order
//    differs. Error <= (blocks + 64) * 2^-24 * M with M = the sum of |terms| the kernels add
//    (|d_w d_x| sum|q x| per block, |bias s_x|, for NF4 sum|w_j x_j|); we allow twice that.
//  * Scalar vs float reference (qb::dequantize of W and of the quantized activations, double):
//    INT8/INT4 differ by the rounding of d*q per weight and of the fp16 s_x (2^-11 relative,
//    times |bias| |s_x| for INT4): (blocks + 8) * 2^-22 * M + 2^-10 * M.
//  * quantize_act must write exactly the reference codec's bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "int_common.h"
#include "kernels/matmul_test_util.h"

namespace {

using qb::FormatId;

const FormatId kFormats[] = {FormatId::INT8_PC,  FormatId::INT8_PT,   FormatId::INT4_G32,
                             FormatId::INT4_G64, FormatId::INT4_G128, FormatId::NF4};

const qb::kern::LegacyGeom* int4_geom(FormatId f) {
  switch (f) {
    case FormatId::INT4_G32:
      return &qb::kern::kInt4G32;
    case FormatId::INT4_G64:
      return &qb::kern::kInt4G64;
    case FormatId::INT4_G128:
      return &qb::kern::kInt4G128;
    default:
      return nullptr;
  }
}

void put_f32(uint8_t* p, float v) { std::memcpy(p, &v, 4); }
void put_half(uint8_t* p, float v) {
  const uint16_t h = qb::fp32_to_fp16(v);
  std::memcpy(p, &h, 2);
}

// Random code bytes with controlled per-row / per-group parameters.
std::vector<uint8_t> make_weights(FormatId f, int64_t m, int64_t k, bool exact, std::mt19937& rng) {
  const auto& t = qb::traits(f);
  const size_t rb = t.row_bytes(k);
  std::vector<uint8_t> w(rb * size_t(m));
  std::uniform_int_distribution<int> byte(0, 255), e(-9, -8);
  std::uniform_real_distribution<float> u(0.001f, 0.02f);
  for (auto& b : w) b = uint8_t(byte(rng));
  auto scale = [&] { return exact ? std::ldexp(1.0f, e(rng)) : u(rng); };
  for (int64_t r = 0; r < m; ++r) {
    uint8_t* row = w.data() + size_t(r) * rb;
    if (f == FormatId::INT8_PC) put_f32(row, scale());
    if (f == FormatId::INT8_PT) {
      put_f32(row, scale());
      const int32_t zp = byte(rng);
      std::memcpy(row + 4, &zp, 4);
    }
    if (const auto* g = int4_geom(f))
      for (int64_t gi = 0; gi < k / 32 / g->bpg; ++gi) {
        uint8_t* grp = row + gi * g->group_bytes();
        put_half(grp, scale());
        put_half(grp + 2, -8 * scale());
      }
    if (f == FormatId::NF4)
      for (int64_t gi = 0; gi < k / 64; ++gi) put_f32(row + gi * 36, u(rng) * 50);
  }
  return w;
}

// M of the tolerance, per output (see the top of the file).
std::vector<double> magnitudes(FormatId f, const std::vector<uint8_t>& w, const qb::MatmulKernel& kern,
                               const std::vector<float>& X, const qbt::Shape& s) {
  using qb::kern::half_at;
  using qb::kern::load_f32;
  const size_t rb = qb::traits(f).row_bytes(s.k), xb = kern.act_row_bytes(s.k);
  std::vector<uint8_t> xq(xb * size_t(s.n));
  for (int64_t j = 0; j < s.n; ++j) kern.quantize_act(X.data() + j * s.k, xq.data() + j * xb, s.k);
  std::vector<double> mag(size_t(s.n * s.m));
  for (int64_t j = 0; j < s.n; ++j)
    for (int64_t r = 0; r < s.m; ++r) {
      const uint8_t* row = w.data() + size_t(r) * rb;
      const uint8_t* x = xq.data() + size_t(j) * xb;
      double acc = 0;
      if (f == FormatId::NF4) {
        for (int64_t i = 0; i < s.k; ++i) {
          const uint8_t* grp = row + (i / 64) * 36;
          const uint8_t q = grp[4 + (i % 64) / 2];
          const float code = qb::codec::kNf4Values[i % 2 ? (q & 15) : (q >> 4)];
          acc += std::fabs(double(code) * load_f32(grp) * load_f32(x + 4 * i));
        }
      } else if (const auto* g = int4_geom(f)) {
        for (int64_t b = 0; b < s.k / 32; ++b) {
          const uint8_t* grp = row + (b / g->bpg) * g->group_bytes();
          const uint8_t* xbk = x + b * 36;
          double sq = 0;
          for (int i = 0; i < 16; ++i) {
            const uint8_t q = grp[4 + 16 * (b % g->bpg) + i];
            sq += (q & 15) * std::abs(int(int8_t(xbk[4 + 2 * i]))) + (q >> 4) * std::abs(int(int8_t(xbk[5 + 2 * i])));
          }
          acc += std::fabs(double(half_at(grp)) * half_at(xbk)) * sq +
                 std::fabs(double(half_at(grp + 2)) * half_at(xbk + 2));
        }
      } else {
        const bool pt = f == FormatId::INT8_PT;
        int32_t zp = 0;
        if (pt) std::memcpy(&zp, row + 4, 4);
        const uint8_t* q = row + (pt ? 8 : 4);
        for (int64_t b = 0; b < s.k / 32; ++b) {
          double sq = 0;
          for (int i = 0; i < 32; ++i) {
            const int code = pt ? int(q[b * 32 + i]) - zp : int(int8_t(q[b * 32 + i]));
            sq += std::abs(code * int(int8_t(x[b * 34 + 2 + i])));
          }
          acc += std::fabs(double(load_f32(row)) * half_at(x + b * 34)) * sq;
        }
      }
      mag[size_t(j * s.m + r)] = acc;
    }
  return mag;
}

TEST(IntKernels, TableRowsAndNames) {
  for (FormatId f : kFormats) {
    const auto* k = qb::find_kernel(f, qb::BackendId::Scalar);
    ASSERT_NE(k, nullptr) << qb::traits(f).name;
    EXPECT_EQ(k->act, qb::traits(f).act) << qb::traits(f).name;
    for (const auto* sk : qbt::simd_kernels(f)) EXPECT_EQ(sk->act, qb::traits(f).act) << sk->name;
  }
}

TEST(IntKernels, QuantizeActBitExact) {
  std::mt19937 rng(11);
  const int64_t k = 64 * 9;
  std::vector<float> x{};
  x.resize(size_t(k));
  std::normal_distribution<float> nd(0.0f, 2.0f);
  for (auto& v : x) v = nd(rng);
  for (FormatId f : kFormats) {
    const auto* sk = qb::find_kernel(f, qb::BackendId::Scalar);
    const size_t nbytes = sk->act_row_bytes(k);
    std::vector<uint8_t> codec(nbytes), ref(nbytes);
    qb::quantize_activations(sk->act, x.data(), codec.data(), 1, k);
    sk->quantize_act(x.data(), ref.data(), k);
    EXPECT_EQ(0, std::memcmp(codec.data(), ref.data(), nbytes)) << sk->name;
    for (const auto* kern : qbt::simd_kernels(f)) {
      qbt::Bytes got(nbytes, 1);
      kern->quantize_act(x.data(), got.data(), k);
      EXPECT_EQ(0, std::memcmp(got.data(), codec.data(), nbytes)) << kern->name;
    }
  }
}

class IntVsScalar : public ::testing::TestWithParam<FormatId> {};

TEST_P(IntVsScalar, OddShapesThreadsAlignment) {
  const FormatId f = GetParam();
  const auto* scalar = qb::find_kernel(f, qb::BackendId::Scalar);
  ASSERT_NE(scalar, nullptr);
  const auto kernels = qbt::simd_kernels(f);
  if (kernels.empty()) GTEST_SKIP() << "no SIMD backend available for " << qb::traits(f).name;
  const int bs = std::max(32, qb::traits(f).block_size);
  std::mt19937 rng(4321 + int(f));
  for (const bool exact : {true, false})
    for (const qbt::Shape& s0 : qbt::odd_shapes(32)) {
      const qbt::Shape s{s0.m, (s0.k + bs - 1) / bs * bs, s0.n};  // k in whole groups
      if (exact && (f == FormatId::NF4 || s.k > 9 * 32)) continue;
      const auto w = make_weights(f, s.m, s.k, exact, rng);
      const auto X = qbt::q8_acts(s.n, s.k, exact, rng);
      const auto want = qbt::run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
      const auto mag = magnitudes(f, w, *scalar, X, s);
      const double nb = double(s.k / 32);
      for (const auto* kern : kernels)
        for (const bool threads : {false, true}) {
          const auto got = qbt::run_matmul(*kern, w.data(), w.size(), X, s, threads, threads ? 1 : 3);
          int bad = 0;
          for (size_t i = 0; i < got.size() && bad < 5; ++i) {
            const double tol = exact ? 0.0 : 2 * (nb + 64) * std::ldexp(1.0, -24) * mag[i];
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

TEST_P(IntVsScalar, ScalarMatchesDequantizedReference) {
  const FormatId f = GetParam();
  const auto* scalar = qb::find_kernel(f, qb::BackendId::Scalar);
  std::mt19937 rng(8 + int(f));
  for (const qbt::Shape s : {qbt::Shape{5, 128 * 3, 3}, qbt::Shape{3, 128 * 16, 1}}) {
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
        const double M = mag[size_t(j * s.m + r)];
        EXPECT_NEAR(got[size_t(j * s.m + r)], ref,
                    (double(s.k / 32) + 8) * std::ldexp(1.0, -22) * M + std::ldexp(1.0, -10) * M)
            << qb::traits(f).name << " " << qbt::shape_name(s) << " row " << r << " col " << j;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, IntVsScalar, ::testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(qb::traits(info.param).name); });

TEST(IntKernels, MatmulRejectsKNotMultipleOfActivationBlock) {
  // INT8_PC has block size 1, but its Q8_0 activations need k % 32 == 0.
  const auto* k = qb::find_kernel(FormatId::INT8_PC, qb::BackendId::Scalar);
  std::vector<uint8_t> w(64), xq(128);
  std::vector<float> x(40), y(1);
  try {
    qb::matmul(*k, w.data(), 1, 40, x.data(), 1, y.data(), 1, xq.data());
    FAIL() << "k=40 accepted";
  } catch (const qb::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("Q8_0"), std::string::npos) << e.what();
  }
}

}  // namespace
