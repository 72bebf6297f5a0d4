#include "model/attention.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "qb/cpu_features.h"
#include "qb/errors.h"
#include "qb/formats.h"
#include "qb/matmul.h"
#include "qb/x86_intrin.h"

namespace qb::model {

std::string_view kv_type_name(KvType t) {
  switch (t) {
    case KvType::F16:
      return "f16";
    case KvType::F32:
      return "f32";
    case KvType::Q8_0:
      return "q8_0";
  }
  return "?";
}

KvType parse_kv_type(std::string_view s) {
  std::string l(s);
  for (char& c : l) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (KvType t : {KvType::F16, KvType::F32, KvType::Q8_0})
    if (l == kv_type_name(t)) return t;
  throw UsageError(fmt::format("unknown KV cache type '{}'; valid: f16, f32, q8_0", s));
}

namespace {
constexpr int64_t kQ8Block = 32;
constexpr size_t kQ8BlockBytes = 34;  // fp16 scale + 32 int8, ggml's block_q8_0
}  // namespace

size_t kv_bytes_of(KvType t, int64_t n) {
  switch (t) {
    case KvType::F16:
      return size_t(n) * 2;
    case KvType::F32:
      return size_t(n) * 4;
    case KvType::Q8_0:
      return size_t(n / kQ8Block) * kQ8BlockBytes;
  }
  return 0;
}

void kv_store(KvType t, const float* x, void* dst, int64_t n) {
  switch (t) {
    case KvType::F32:
      std::memcpy(dst, x, size_t(n) * sizeof(float));
      return;
    case KvType::F16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(x[i]);
      return;
    }
    case KvType::Q8_0:
      traits(FormatId::Q8_0).quantize(x, dst, 1, n);  // ggml's reference rounding and layout
      return;
  }
}

void kv_load(KvType t, const void* src, float* y, int64_t n) {
  switch (t) {
    case KvType::F32:
      std::memcpy(y, src, size_t(n) * sizeof(float));
      return;
    case KvType::F16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(h[i]);
      return;
    }
    case KvType::Q8_0:
      traits(FormatId::Q8_0).dequantize_row(src, y, n);
      return;
  }
}

namespace {

inline float round_f16(float x) { return fp16_to_fp32(fp32_to_fp16(x)); }

// Scores s[lo..p] (max mx) to probabilities in place: exp(s - max), sum in double.
inline void softmax_probs(float* s, int64_t lo, int64_t p, float mx, bool round_probs) {
  double sum = 0.0;
  for (int64_t j = lo; j <= p; ++j) {
    const float e = std::exp(s[j] - mx);
    s[j] = e;
    sum += e;
  }
  const float inv = float(1.0 / sum);
  for (int64_t j = lo; j <= p; ++j) s[j] = round_probs ? round_f16(s[j] * inv) : s[j] * inv;
}

// Scalar reference: value i of a cache row.
template <KvType T>
inline float ld1(const uint8_t* row, int64_t i) {
  if constexpr (T == KvType::F32) {
    float v;
    std::memcpy(&v, row + i * 4, 4);
    return v;
  } else if constexpr (T == KvType::F16) {
    uint16_t h;
    std::memcpy(&h, row + i * 2, 2);
    return fp16_to_fp32(h);
  } else {
    const uint8_t* b = row + size_t(i / kQ8Block) * kQ8BlockBytes;
    uint16_t h;
    std::memcpy(&h, b, 2);
    return fp16_to_fp32(h) * float(int8_t(b[2 + i % kQ8Block]));
  }
}

template <KvType T>
void attend_scalar(const float* q, const uint8_t* K, const uint8_t* V, size_t stride, int64_t lo, int64_t p, int64_t D,
                   float kq_scale, bool round_probs, float* s, float* out) {
  float mx = -INFINITY;
  for (int64_t j = lo; j <= p; ++j) {
    const uint8_t* kr = K + size_t(j) * stride;
    float d = 0.0f;
    for (int64_t i = 0; i < D; ++i) d += q[i] * ld1<T>(kr, i);
    s[j] = d * kq_scale;
    mx = std::max(mx, s[j]);
  }
  softmax_probs(s, lo, p, mx, round_probs);
  std::fill(out, out + D, 0.0f);
  for (int64_t j = lo; j <= p; ++j) {
    const uint8_t* vr = V + size_t(j) * stride;
    for (int64_t i = 0; i < D; ++i) out[i] += s[j] * ld1<T>(vr, i);
  }
}

using AttendFn = void (*)(const float*, const uint8_t*, const uint8_t*, size_t, int64_t, int64_t, int64_t, float, bool,
                          float*, float*);
struct Impl {
  std::string_view isa;
  AttendFn f32, f16, q8_0;
};
constexpr Impl kScalar{"scalar", attend_scalar<KvType::F32>, attend_scalar<KvType::F16>, attend_scalar<KvType::Q8_0>};

#if defined(__x86_64__) && defined(__GNUC__)
#define QB_T512 __attribute__((target("avx512f,f16c,fma")))
#define QB_T256 __attribute__((target("avx2,f16c,fma")))

// 16 values i..i+15 of a cache row as floats (i % 16 == 0).
template <KvType T>
QB_T512 inline __m512 ld16(const uint8_t* row, int64_t i) {
  if constexpr (T == KvType::F32) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i);
  } else if constexpr (T == KvType::F16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i * 2)));
  } else {
    const uint8_t* b = row + size_t(i / kQ8Block) * kQ8BlockBytes;
    uint16_t h;
    std::memcpy(&h, b, 2);
    const __m512 v = _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2 + i % kQ8Block))));
    return _mm512_mul_ps(v, _mm512_set1_ps(_cvtsh_ss(h)));
  }
}

template <KvType T>
QB_T512 void attend_avx512(const float* q, const uint8_t* K, const uint8_t* V, size_t stride, int64_t lo, int64_t p,
                           int64_t D, float kq_scale, bool round_probs, float* s, float* out) {
  float mx = -INFINITY;
  for (int64_t j = lo; j <= p; ++j) {
    const uint8_t* kr = K + size_t(j) * stride;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= D; i += 32) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), ld16<T>(kr, i), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), ld16<T>(kr, i + 16), a1);
    }
    for (; i < D; i += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), ld16<T>(kr, i), a0);
    s[j] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) * kq_scale;
    mx = std::max(mx, s[j]);
  }
  softmax_probs(s, lo, p, mx, round_probs);
  // V: 64 output values at a time in four registers while the rows stream past.
  int64_t i = 0;
  for (; i + 64 <= D; i += 64) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (int64_t j = lo; j <= p; ++j) {
      const uint8_t* vr = V + size_t(j) * stride;
      const __m512 w = _mm512_set1_ps(s[j]);
      c0 = _mm512_fmadd_ps(w, ld16<T>(vr, i), c0);
      c1 = _mm512_fmadd_ps(w, ld16<T>(vr, i + 16), c1);
      c2 = _mm512_fmadd_ps(w, ld16<T>(vr, i + 32), c2);
      c3 = _mm512_fmadd_ps(w, ld16<T>(vr, i + 48), c3);
    }
    _mm512_storeu_ps(out + i, c0);
    _mm512_storeu_ps(out + i + 16, c1);
    _mm512_storeu_ps(out + i + 32, c2);
    _mm512_storeu_ps(out + i + 48, c3);
  }
  for (; i < D; i += 16) {
    __m512 c0 = _mm512_setzero_ps();
    for (int64_t j = lo; j <= p; ++j)
      c0 = _mm512_fmadd_ps(_mm512_set1_ps(s[j]), ld16<T>(V + size_t(j) * stride, i), c0);
    _mm512_storeu_ps(out + i, c0);
  }
}

// 8 values i..i+7 of a cache row as floats (i % 8 == 0).
template <KvType T>
QB_T256 inline __m256 ld8(const uint8_t* row, int64_t i) {
  if constexpr (T == KvType::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
  } else if constexpr (T == KvType::F16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i * 2)));
  } else {
    const uint8_t* b = row + size_t(i / kQ8Block) * kQ8BlockBytes;
    uint16_t h;
    std::memcpy(&h, b, 2);
    const __m256 v = _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 2 + i % kQ8Block))));
    return _mm256_mul_ps(v, _mm256_set1_ps(_cvtsh_ss(h)));
  }
}

QB_T256 inline float hsum256(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

template <KvType T>
QB_T256 void attend_avx2(const float* q, const uint8_t* K, const uint8_t* V, size_t stride, int64_t lo, int64_t p,
                         int64_t D, float kq_scale, bool round_probs, float* s, float* out) {
  float mx = -INFINITY;
  for (int64_t j = lo; j <= p; ++j) {
    const uint8_t* kr = K + size_t(j) * stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (int64_t i = 0; i < D; i += 16) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), ld8<T>(kr, i), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), ld8<T>(kr, i + 8), a1);
    }
    s[j] = hsum256(_mm256_add_ps(a0, a1)) * kq_scale;
    mx = std::max(mx, s[j]);
  }
  softmax_probs(s, lo, p, mx, round_probs);
  int64_t i = 0;
  for (; i + 32 <= D; i += 32) {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    for (int64_t j = lo; j <= p; ++j) {
      const uint8_t* vr = V + size_t(j) * stride;
      const __m256 w = _mm256_set1_ps(s[j]);
      c0 = _mm256_fmadd_ps(w, ld8<T>(vr, i), c0);
      c1 = _mm256_fmadd_ps(w, ld8<T>(vr, i + 8), c1);
      c2 = _mm256_fmadd_ps(w, ld8<T>(vr, i + 16), c2);
      c3 = _mm256_fmadd_ps(w, ld8<T>(vr, i + 24), c3);
    }
    _mm256_storeu_ps(out + i, c0);
    _mm256_storeu_ps(out + i + 8, c1);
    _mm256_storeu_ps(out + i + 16, c2);
    _mm256_storeu_ps(out + i + 24, c3);
  }
  for (; i < D; i += 8) {
    __m256 c0 = _mm256_setzero_ps();
    for (int64_t j = lo; j <= p; ++j) c0 = _mm256_fmadd_ps(_mm256_set1_ps(s[j]), ld8<T>(V + size_t(j) * stride, i), c0);
    _mm256_storeu_ps(out + i, c0);
  }
}

constexpr Impl kAvx512{"avx512", attend_avx512<KvType::F32>, attend_avx512<KvType::F16>, attend_avx512<KvType::Q8_0>};
constexpr Impl kAvx2{"avx2", attend_avx2<KvType::F32>, attend_avx2<KvType::F16>, attend_avx2<KvType::Q8_0>};
#endif

const Impl& best_impl() {
  static const Impl& best = []() -> const Impl& {
#if defined(__x86_64__) && defined(__GNUC__)
    const uint32_t cpu = cpu_features().isa_mask();
    if (isa_granted(isa::kAvx512f | isa::kF16c | isa::kFma, cpu)) return kAvx512;
    if (isa_granted(isa::kAvx2 | isa::kF16c | isa::kFma, cpu)) return kAvx2;
#endif
    return kScalar;
  }();
  return best;
}

std::atomic<bool> g_force_scalar{false};

const Impl& impl() { return g_force_scalar.load(std::memory_order_relaxed) ? kScalar : best_impl(); }

}  // namespace

std::string_view attention_isa() { return impl().isa; }
void attention_force_scalar(bool on) { g_force_scalar.store(on, std::memory_order_relaxed); }

void attend_row(KvType t, const float* q, const uint8_t* K, const uint8_t* V, size_t row_stride, int64_t lo, int64_t p,
                int64_t D, float kq_scale, bool round_probs, float* s, float* out) {
  const Impl& m = impl();
  const AttendFn f = t == KvType::F32 ? m.f32 : t == KvType::F16 ? m.f16 : m.q8_0;
  f(q, K, V, row_stride, lo, p, D, kq_scale, round_probs, s, out);
}

}  // namespace qb::model
