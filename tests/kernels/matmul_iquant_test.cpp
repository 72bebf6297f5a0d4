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

// E8M0 edge cases the decoder must reproduce (ggml: e < 2 are fp32 subnormals).
TEST(IQuantKernels, E8M0HalfScale) {
  EXPECT_EQ(qb::codec::e8m0_to_fp32_half(128), 1.0f);
  EXPECT_EQ(qb::codec::e8m0_to_fp32_half(127), 0.5f);
  EXPECT_EQ(qb::codec::e8m0_to_fp32_half(1), std::ldexp(1.0f, -127));
  EXPECT_EQ(qb::codec::e8m0_to_fp32_half(0), std::ldexp(1.0f, -128));
}

}  // namespace
