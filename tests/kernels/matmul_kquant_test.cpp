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

// pack_sb_x8's layout (d and dmin at bytes 0..3 of the super-block).
TEST(KQuantPacked, PackLayoutMatchesIndexComputation) {
  for (const FormatId f : {FormatId::Q4_K, FormatId::Q5_K}) qbt::check_sb_pack_layout(f, 0);
}

TEST(KQuantPacked, Q2KMatchesScalarOnOddShapes) { qbt::check_packed_vs_scalar(kFormats[0]); }

// Q2_K keeps d and dmin at the back (bytes 80..83).
TEST(KQuantPacked, Q2KPackLayoutMatchesIndexComputation) {
  qbt::check_sb_pack_layout(FormatId::Q2_K, int(offsetof(block_q2_K, d)));
}

TEST(KQuantPacked, Q6KMatchesScalarOnOddShapes) { qbt::check_packed_vs_scalar(kFormats[4]); }

// Q6_K has one field, d, at the back (bytes 208..209).
TEST(KQuantPacked, Q6KPackLayoutMatchesIndexComputation) {
  qbt::check_sb_pack_layout(FormatId::Q6_K, int(offsetof(block_q6_K, d)), 1);
}

TEST(KQuantPacked, Q3KMatchesScalarOnOddShapes) { qbt::check_packed_vs_scalar(kFormats[1]); }

// Q3_K has one field, d, at the back (bytes 108..109).
TEST(KQuantPacked, Q3KPackLayoutMatchesIndexComputation) {
  qbt::check_sb_pack_layout(FormatId::Q3_K, int(offsetof(block_q3_K, d)), 1);
}

TEST(KQuantKernels, MatmulRejectsBadK) {
  const auto* k = qb::find_kernel(FormatId::Q4_K, qb::BackendId::Scalar);
  ASSERT_NE(k, nullptr);
  std::vector<uint8_t> w(1024), xq(1024);
  std::vector<float> x(300), y(1);
  EXPECT_THROW(qb::matmul(*k, w.data(), 1, 300, x.data(), 1, y.data(), 1, xq.data()), qb::FormatError);
}

}  // namespace
