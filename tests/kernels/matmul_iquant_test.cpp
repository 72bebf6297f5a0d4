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

}  // namespace
