// Attention over the KV cache as it is stored (F32, F16 or Q8_0 rows): one query row against keys
// lo..p, the cache's values converted in registers (AVX-512 or AVX2+F16C+FMA, chosen once from
// qb::cpu_features(); scalar elsewhere) instead of widening the whole cache to F32 per layer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qb::model {

// KV cache element type. Q8_0 is ggml's block: fp16 scale + 32 int8 (34 bytes per 32 values).
enum class KvType { F16, F32, Q8_0 };

std::string_view kv_type_name(KvType t);  // "f16", "f32", "q8_0"
// Parses "f16" / "f32" / "q8_0" (case-insensitive); throws qb::UsageError naming the valid ones.
KvType parse_kv_type(std::string_view s);
// Bytes of n cache values (n % 32 == 0 for Q8_0).
size_t kv_bytes_of(KvType t, int64_t n);
// Stores n values (one token's K or V row) into the cache at dst.
void kv_store(KvType t, const float* x, void* dst, int64_t n);
// Reads n values back (tests, reference paths).
void kv_load(KvType t, const void* src, float* y, int64_t n);

// One query row q (D values) against cache rows lo..p: K row j at K + j * row_stride bytes (the
// head's values start there), V likewise. s (>= p+1 floats) is scratch. Scores times kq_scale,
// softmax (max subtracted, sum in double); with round_probs the probabilities are rounded to
// fp16 before they meet V (ggml's mul_mat(V, softmax(KQ)) with an F16 cache). D % 16 == 0
// (D % 32 == 0 for Q8_0).
void attend_row(KvType t, const float* q, const uint8_t* K, const uint8_t* V, size_t row_stride, int64_t lo, int64_t p,
                int64_t D, float kq_scale, bool round_probs, float* s, float* out);

// The implementation attend_row dispatches to: "avx512", "avx2" or "scalar".
std::string_view attention_isa();
// Test hook: force the scalar path (true) or the best one (false).
void attention_force_scalar(bool on);

}  // namespace qb::model
