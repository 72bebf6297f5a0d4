// Ternary kernels (TQ1_0, TQ2_0; Q8_K activations): every backend against the scalar oracle,
// the oracle against dequantized data. Tolerances and their justification: top of
// matmul_sb_util.h.
#include "kernels/matmul_sb_util.h"

namespace {

using qb::FormatId;
using qbt::FieldKind;
using namespace qb;

const qbt::SbFormat kFormats[] = {
    {FormatId::TQ1_0, 256, {{offsetof(block_tq1_0, d), FieldKind::Half, false}}, kern::decode_tq1_0, nullptr},
    {FormatId::TQ2_0, 256, {{offsetof(block_tq2_0, d), FieldKind::Half, false}}, kern::decode_tq2_0, nullptr},
};

QBT_SB_TESTS(TernaryKernels, kFormats);

// Every byte value decodes to 5 trits that re-encode to the same base-3 number.
TEST(TernaryKernels, TritDecodeIsBase3) {
  for (int b = 0; b < 243; ++b) {
    const uint8_t byte = uint8_t((b * 256 + 242) / 243);
    int v = 0;
    for (int t = 0; t < 5; ++t) v = v * 3 + qb::kern::trit(byte, t);
    EXPECT_EQ(v, b) << "byte " << int(byte);
  }
}

}  // namespace
