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

// TQ1_0's packed kernel (load-time repacking) on odd shapes and row sub-ranges against the scalar
// oracle (random bytes: every byte value, not only the 243 encodings, has digits 0..2).
TEST(TernaryPacked, TQ1MatchesScalarOnOddShapes) { qbt::check_packed_vs_scalar(kFormats[0]); }

// Where byte j of row r's super-block s lands in ternary_packed_avx2.cpp's layout: group r / 8,
// super-block s of the group at s * 8 * 54; in it d (bytes 52, 53) of rows 0..7 first, then bytes
// 0..51 (qs, qh) of every row in 4-byte lanes, one 32-byte stripe per 4 bytes.
size_t tq1_x8_index(int64_t r, int64_t s, int j, size_t row_bytes) {
  const size_t lane = size_t(r % 8), base = size_t(r / 8) * 8 * row_bytes + size_t(s) * 8 * 54;
  if (j >= 52) return base + 2 * lane + size_t(j - 52);
  return base + 16 + 32 * size_t(j / 4) + 4 * lane + size_t(j % 4);
}

TEST(TernaryPacked, TQ1PackLayoutMatchesIndexComputation) {
  const auto kernels = qbt::packed_kernels(FormatId::TQ1_0);
  if (kernels.empty()) GTEST_SKIP() << "no packed TQ1_0 kernel on this CPU/build";
  for (const auto* kern : kernels) {
    qbt::check_pack_layout(FormatId::TQ1_0, kern->pack, tq1_x8_index, std::string(kern->name));
    EXPECT_EQ(qb::packed_bytes(*kern, 13, 512), 16 * qb::traits(FormatId::TQ1_0).row_bytes(512)) << kern->name;
  }
}

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
