// qbench's own backend kernels: Y = W · X for a quantized weight matrix W (m × k, rows
// contiguous, row stride traits(w).row_bytes(k)) and F32 activations X (n vectors of length k,
// vector j at X + j*k). Y holds n vectors of length m (vector j at Y + j*ldy).
// Integer paths quantize X on the fly to the format's activation type, as ggml does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qb/formats.h"

namespace qb {

enum class BackendId : uint8_t { Scalar, Avx2, Avx512, Neon, COUNT };

struct BackendInfo {
  BackendId id;
  std::string_view name;  // "scalar", "avx2", "avx512", "neon"
  bool available;         // this CPU (and this build) can run it
  std::string missing;    // why not, e.g. "CPU lacks avx512vnni" or "not built for x86-64"
};

std::span<const BackendInfo> own_backends();
const BackendInfo* find_backend(std::string_view name);  // nullptr if unknown

// One (weight format, backend) kernel.
struct MatmulKernel {
  FormatId weight;
  BackendId backend;
  FormatId act;           // storage format of quantized activations (F32 for float paths)
  std::string_view name;  // e.g. "gemv_q4_0_q8_0_avx512vnni"
  // Bytes of one quantized activation vector of length k.
  size_t (*act_row_bytes)(int64_t k);
  // Quantize one activation vector.
  void (*quantize_act)(const float* x, void* xq, int64_t k);
  // Rows [r0, r1) of Y for all n activation vectors (Xq vector j at Xq + j*xq_stride).
  void (*compute)(int64_t k, const void* W, size_t w_stride, int64_t r0, int64_t r1, const void* Xq, size_t xq_stride,
                  int64_t n, float* Y, int64_t ldy);
  // Load-time weight repacking (ggml's CPU "repack" buffers do the same): 0 / nullptr for kernels
  // that read the format's rows as stored. A packed kernel's compute() reads W = pack()'s output
  // with w_stride still the format's row bytes; rows [g*pack_rows, (g+1)*pack_rows) occupy the
  // pack_rows * w_stride bytes at offset g * pack_rows * w_stride (so the packed buffer is
  // round_up(m, pack_rows) * w_stride bytes, rows past m are zero), and r0 must be a multiple of
  // pack_rows (r1 a multiple too, or m).
  int pack_rows = 0;
  void (*pack)(const void* W, size_t w_stride, int64_t m, int64_t k, void* out) = nullptr;
};

// Bytes of pack()'s output for an m x k matrix: round_up(m, pack_rows) rows of the format.
size_t packed_bytes(const MatmulKernel& kern, int64_t m, int64_t k);
// pack()'s output for an m x k matrix (row stride the format's row bytes) in a new buffer, with
// `slack` zero bytes after it for kernels that read a vector past a row's end.
std::vector<uint8_t> pack_weights(const MatmulKernel& kern, const void* W, int64_t m, int64_t k, size_t slack = 0);

// One kernel source file as dispatch sees it. Dispatch calls its kernels only when the CPU grants
// every bit of `required`; `compiled` is what the compiler was allowed to emit in that file (read
// from its predefined macros), so `compiled` must be a subset of `required` or a CPU that passes
// the gate can still hit an illegal instruction (the dispatch test checks this for every file).
struct KernelSource {
  BackendId backend;
  std::string_view file;  // e.g. "legacy_avx512.cpp"
  uint32_t required;      // qb::isa:: bits (cpu_features.h)
  uint32_t compiled;      // qb::isa:: bits
  std::span<const MatmulKernel> kernels;
};
std::span<const KernelSource> kernel_sources();  // every kernel file built into this binary
// Whether a CPU whose CpuFeatures::isa_mask() is `cpu` may run code gated on `required`.
inline bool isa_granted(uint32_t required, uint32_t cpu) { return (required & ~cpu) == 0; }

// nullptr when the backend has no kernel for the format or the CPU cannot run the backend.
// Where the CPU grants AMX (and QB_NO_AMX=1 is not set when dispatch starts), the avx512 GEMM
// kernels of Q4_0/Q5_0/Q8_0/Q8_1/BF16 are the AMX rows (names ending in _amx).
const MatmulKernel* find_kernel(FormatId w, BackendId b);
// The kernel that runs n activation vectors: for n == 1 the non-AMX row (AMX rows run GEMV on
// their VNNI/vdpbf16ps fallback), so a report names what actually ran, and on NEON the dotprod
// row rather than the i8mm one (smmla's 2 x 2 tile wastes half its work on one column).
const MatmulKernel* find_kernel(FormatId w, BackendId b, int64_t n);
// Dispatch's choice for a CPU whose isa_mask() is `cpu`: the last granted source's kernel
// (AMX files come after the files they override; allow_amx = false skips them).
const MatmulKernel* choose_kernel(FormatId w, BackendId b, uint32_t cpu, bool allow_amx);
// The backend's packed kernel for the format (MatmulKernel::pack set): nullptr when it has none
// on this CPU, or when QB_NO_REPACK=1 was set when dispatch started. Packed kernels serve every n
// and are never returned by find_kernel/choose_kernel (they need packed weights).
const MatmulKernel* find_packed_kernel(FormatId w, BackendId b);
// The best available backend for a format on this CPU (dispatch decided once, at start).
BackendId best_backend(FormatId w);

// Runs tasks [0, ntasks) on the caller's threads; kernels/ has no thread pool of its own.
using ParallelFor = std::function<void(int64_t ntasks, const std::function<void(int64_t task)>& fn)>;
// A ParallelFor that runs everything on the calling thread.
void serial_for(int64_t ntasks, const std::function<void(int64_t task)>& fn);

// Full matmul (W packed by kern.pack where kern has one): quantizes X into xq_buf (at least n * act_row_bytes(k)
// bytes), then computes Y, splitting rows across tasks. Throws FormatError when k is not a multiple of the block size.
void matmul(const MatmulKernel& kern, const void* W, int64_t m, int64_t k, const float* X, int64_t n, float* Y,
            int64_t ldy, void* xq_buf, const ParallelFor& pf = serial_for);

}  // namespace qb
