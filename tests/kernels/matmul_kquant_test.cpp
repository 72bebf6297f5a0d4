// K-quant kernels (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K as weights; Q8_K activations): every
// backend against the scalar oracle, the oracle against dequantized data. Tolerances and their
// justification: top of matmul_sb_util.h.
#include "kernels/matmul_sb_util.h"

namespace {

using qb::FormatId;
using qbt::FieldKind;
using namespace qb;

const qbt::SbFormat kFormats[] = {
    {FormatId::Q2_K,
     256,
     {{offsetof(block_q2_K, d), FieldKind::Half, false}, {offsetof(block_q2_K, dmin), FieldKind::Half, true}},
     kern::decode_q2_K,
     nullptr},
    {FormatId::Q3_K, 256, {{offsetof(block_q3_K, d), FieldKind::Half, false}}, kern::decode_q3_K, nullptr},
    {FormatId::Q4_K,
     256,
     {{offsetof(block_q4_K, d), FieldKind::Half, false}, {offsetof(block_q4_K, dmin), FieldKind::Half, true}},
     kern::decode_q4_K,
     nullptr},
    {FormatId::Q5_K,
     256,
     {{offsetof(block_q5_K, d), FieldKind::Half, false}, {offsetof(block_q5_K, dmin), FieldKind::Half, true}},
     kern::decode_q5_K,
     nullptr},
    {FormatId::Q6_K, 256, {{offsetof(block_q6_K, d), FieldKind::Half, false}}, kern::decode_q6_K, nullptr},
    {FormatId::Q8_K, 256, {{offsetof(block_q8_K, d), FieldKind::Float, false}}, kern::decode_q8_K, nullptr},
};

QBT_SB_TESTS(KQuantKernels, kFormats);

// ---- packed kernels (load-time repacking, MatmulKernel::pack) ----

TEST(KQuantPacked, Q4KMatchesScalarOnOddShapes) { qbt::check_packed_vs_scalar(kFormats[2]); }
TEST(KQuantPacked, Q5KMatchesScalarOnOddShapes) { qbt::check_packed_vs_scalar(kFormats[3]); }

// Where byte j of row r's super-block s (bb bytes) lands in the 8-row K-quant layout
// (kquant_packed_avx2.cpp): group r / 8, super-block s of the group at s * 8 * bb; inside it d
// (2 bytes) and dmin of rows 0..7, then bytes 4.. of every row in 4-byte lanes, one 32-byte stripe
// per 4 bytes.
size_t kquant_x8_index(int64_t r, int64_t s, int j, size_t row_bytes, size_t bb) {
  const size_t lane = size_t(r % 8), base = size_t(r / 8) * 8 * row_bytes + size_t(s) * 8 * bb;
  if (j < 4) return base + 16 * size_t(j / 2) + 2 * lane + size_t(j % 2);  // d, dmin
  const size_t q = size_t(j - 4);
  return base + 32 + 32 * (q / 4) + 4 * lane + q % 4;
}

TEST(KQuantPacked, PackLayoutMatchesIndexComputation) {
  size_t checked = 0;
  for (const FormatId f : {FormatId::Q4_K, FormatId::Q5_K})
    for (const auto* kern : qbt::packed_kernels(f)) {
      ++checked;
      const size_t bb = size_t(qb::traits(f).block_bytes);
      qbt::check_pack_layout(
          f, kern->pack, [&](int64_t r, int64_t s, int j, size_t rb) { return kquant_x8_index(r, s, j, rb, bb); },
          std::string(kern->name));
      EXPECT_EQ(qb::packed_bytes(*kern, 13, 512), 16 * qb::traits(f).row_bytes(512)) << kern->name;
    }
  if (checked == 0) GTEST_SKIP() << "no packed K-quant kernel on this CPU/build";
}

TEST(KQuantKernels, MatmulRejectsBadK) {
  const auto* k = qb::find_kernel(FormatId::Q4_K, qb::BackendId::Scalar);
  ASSERT_NE(k, nullptr);
  std::vector<uint8_t> w(1024), xq(1024);
  std::vector<float> x(300), y(1);
  EXPECT_THROW(qb::matmul(*k, w.data(), 1, 300, x.data(), 1, y.data(), 1, xq.data()), qb::FormatError);
}

}  // namespace
