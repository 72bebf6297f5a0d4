// I-quant / codebook kernels (IQ4_NL and MXFP4 with Q8_0 activations, IQ4_XS with Q8_K): every
// backend against the scalar oracle, the oracle against dequantized data. Tolerances and their
// justification: top of matmul_sb_util.h.
#include "kernels/matmul_sb_util.h"

namespace {

using qb::FormatId;
using qbt::FieldKind;
using namespace qb;

const qbt::SbFormat kFormats[] = {
    {FormatId::IQ4_NL, 32, {{offsetof(block_iq4_nl, d), FieldKind::Half, false}}, nullptr, kern::decode_iq4_nl},
    {FormatId::IQ4_XS, 256, {{offsetof(block_iq4_xs, d), FieldKind::Half, false}}, kern::decode_iq4_xs, nullptr},
    {FormatId::MXFP4, 32, {{offsetof(block_mxfp4, e), FieldKind::E8M0, false}}, nullptr, kern::decode_mxfp4},
};

QBT_SB_TESTS(IQuantKernels, kFormats);

// IQ4_NL's packed kernel (load-time repacking, packed_layout.h: d, then 16 code bytes in 4-byte
// stripes) on odd shapes and row sub-ranges against the scalar oracle, and its pack() against the
// layout's index computation.
TEST(IQuantPacked, IQ4NLMatchesScalarOnOddShapes) { qbt::check_packed_vs_scalar(kFormats[0]); }

TEST(IQuantPacked, IQ4NLPackLayoutMatchesIndexComputation) {
  const auto kernels = qbt::packed_kernels(FormatId::IQ4_NL);
  if (kernels.empty()) GTEST_SKIP() << "no packed IQ4_NL kernel on this CPU/build";
  const int bb = qb::traits(FormatId::IQ4_NL).block_bytes;
  for (const auto* kern : kernels) {
    qbt::check_pack_layout(
        FormatId::IQ4_NL, kern->pack,
        [&](int64_t r, int64_t b, int j, size_t rb) { return qbt::x8_index(r, b, j, rb, bb, 1); },
        std::string(kern->name));
    EXPECT_EQ(qb::packed_bytes(*kern, 13, 64), 16 * qb::traits(FormatId::IQ4_NL).row_bytes(64)) << kern->name;
  }
}

// E8M0 edge cases the decoder must reproduce (ggml: e < 2 are fp32 subnormals).
TEST(IQuantKernels, E8M0HalfScale) {
  EXPECT_EQ(qb::codec::e8m0_to_fp32_half(128), 1.0f);
  EXPECT_EQ(qb::codec::e8m0_to_fp32_half(127), 0.5f);
  EXPECT_EQ(qb::codec::e8m0_to_fp32_half(1), std::ldexp(1.0f, -127));
  EXPECT_EQ(qb::codec::e8m0_to_fp32_half(0), std::ldexp(1.0f, -128));
}

// ---- packed kernels (load-time repacking, MatmulKernel::pack) ----

TEST(IQuantPacked, IQ4XSMatchesScalarOnOddShapes) { qbt::check_packed_vs_scalar(kFormats[1]); }

// pack_sb_x8's layout (d and scales_h at bytes 0..3 of the super-block).
TEST(IQuantPacked, PackLayoutMatchesIndexComputation) { qbt::check_sb_pack_layout(FormatId::IQ4_XS, 0); }

// The largest products: every code 0 (-127) against activations of one sign (all -127 after
// Q8_K), so each vpmaddubsw pair is 2 * 127 * 127 = 32258 and two of them would overflow int16;
// scales -32 and 31 (the extremes of 6 bits - 32) alternate by super-block.
TEST(IQuantPacked, IQ4XSExtremeCodesStayExact) {
  const auto* scalar = qb::find_kernel(FormatId::IQ4_XS, qb::BackendId::Scalar);
  ASSERT_NE(scalar, nullptr);
  const auto kernels = qbt::packed_kernels(FormatId::IQ4_XS);
  if (kernels.empty()) GTEST_SKIP() << "no packed IQ4_XS kernel on this CPU/build";
  const qbt::Shape s{11, 4 * 256, 5};
  std::vector<uint8_t> w(qb::traits(FormatId::IQ4_XS).row_bytes(s.k) * size_t(s.m), 0);
  for (size_t b = 0; b < w.size() / sizeof(block_iq4_xs); ++b) {
    uint8_t* blk = w.data() + b * sizeof(block_iq4_xs);
    const uint16_t one = 0x3C00, sh = b % 2 ? 0xFFFF : 0;  // fp16 1.0; scales 31 or -32
    std::memcpy(blk + offsetof(block_iq4_xs, d), &one, 2);
    std::memcpy(blk + offsetof(block_iq4_xs, scales_h), &sh, 2);
    std::memset(blk + offsetof(block_iq4_xs, scales_l), b % 2 ? 0xFF : 0, 4);
  }
  const std::vector<float> X(size_t(s.n * s.k), 1.0f);
  const auto want = qbt::run_matmul(*scalar, w.data(), w.size(), X, s, false, 0);
  for (const auto* kern : kernels)
    qbt::check_packed_run(
        *kern, w, X, s, want, [&](size_t i) { return 1e-6 * std::fabs(want[i]); }, "extreme codes");
}

}  // namespace
