// The float kernels' activation conversion on AVX2 (float_avx2.cpp, float_packed_avx2.cpp).
// -inl.h: templates for translation units built with AVX2 + F16C, internal linkage only.
#pragma once
#include "qb/x86_intrin.h"

#include <cstdint>

#include "float_common.h"

namespace qb::kern {
namespace {

// Activation conversion, the reference codecs' bits. F16: vcvtps2ph rounds to nearest even
// like the codec; NaN lanes are rewritten to the codec's quiet NaN (sign | 0x7e00).
template <FormatId F>
void float_quantize_avx2(const float* x, void* dst, int64_t k) {
  auto* y = static_cast<uint8_t*>(dst);
  if constexpr (F == FormatId::F32) {
    std::memcpy(y, x, size_t(k) * 4);
  } else {
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
      const __m256 v = _mm256_loadu_ps(x + i);
      const __m256i u = _mm256_castps_si256(v);
      const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      __m256i r;
      if constexpr (F == FormatId::F16) {
        r = _mm256_cvtepu16_epi32(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        const __m256i qnan = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x8000)),
                                             _mm256_set1_epi32(0x7e00));
        r = _mm256_blendv_epi8(r, qnan, nan);
      } else {
        const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
        r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
        r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64)), nan);
      }
      // 8 x u32 (< 65536) -> 8 x u16.
      const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + 2 * i), packed);
    }
    float_quantize_scalar<F>(x + i, y + 2 * i, k - i);
  }
}

}  // namespace
}  // namespace qb::kern
