// Runtime dispatch: which backends this CPU can run, and the kernel table per backend.
// Decided once at first use from cpu_features(); a kernel is called only where the CPU grants
// every ISA bit its source file is gated on (KernelSource::required).
#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernel_tables.h"
#include "qb/cpu_features.h"

namespace qb {

namespace {

// What each backend needs before any of its files may run: exactly the per-file flags of
// cmake/Isa.cmake (-mavx2 -mfma -mf16c -mbmi2; + avx512 f/bw/vl/dq/vnni; neon: +dotprod).
constexpr uint32_t kNeedAvx2 = isa::kAvx2 | isa::kFma | isa::kF16c | isa::kBmi2;
constexpr uint32_t kNeedAvx512 =
    kNeedAvx2 | isa::kAvx512f | isa::kAvx512bw | isa::kAvx512vl | isa::kAvx512dq | isa::kAvx512vnni;
constexpr uint32_t kNeedNeon = isa::kDotprod;
// AMX rows: their files add -mamx-tile and -mamx-int8 / -mamx-bf16 (cmake/Isa.cmake).
constexpr uint32_t kNeedAmxInt8 = kNeedAvx512 | isa::kAmxTile | isa::kAmxInt8;
constexpr uint32_t kNeedAmxBf16 = kNeedAvx512 | isa::kAvx512bf16 | isa::kAmxTile | isa::kAmxBf16;
// Extensions whose files hold GEMM-only rows: the GEMV table is chosen as if the CPU lacked them.
// AMX rows would run GEMV on their VNNI/vdpbf16ps fallback under the AMX name; i8mm's smmla
// computes a 2 x 2 tile, so one column wastes half of it.
constexpr uint32_t kGemmOnly = isa::kAmxTile | isa::kI8mm;

std::vector<KernelSource> make_sources() {
  using namespace kern;
  std::vector<KernelSource> v;
  auto add = [&](BackendId b, const char* file, uint32_t required, std::span<const MatmulKernel> (*k)(),
                 uint32_t (*compiled)()) {
    v.push_back({b, file, required, compiled(), k()});
  };
#define QB_SRC(b, fn, req) add(BackendId::b, #fn ".cpp", req, fn, fn##_compiled_isa)
#define QB_FAMILY(b, isa_suffix, req)  \
  QB_SRC(b, legacy_##isa_suffix, req); \
  QB_SRC(b, float_##isa_suffix, req);  \
  QB_SRC(b, int_##isa_suffix, req);    \
  QB_SRC(b, kquant_##isa_suffix, req); \
  QB_SRC(b, iquant_##isa_suffix, req); \
  QB_SRC(b, ternary_##isa_suffix, req);
  QB_FAMILY(Scalar, scalar, 0u)
#if defined(__x86_64__)
  QB_FAMILY(Avx2, avx2, kNeedAvx2)
  QB_FAMILY(Avx512, avx512, kNeedAvx512)
  QB_SRC(Avx2, legacy_packed_avx2, kNeedAvx2);  // packed rows (pack set): find_packed_kernel only
  QB_SRC(Avx2, kquant_packed_avx2, kNeedAvx2);
  QB_SRC(Avx2, kquant_packed_q6q3_avx2, kNeedAvx2);
  QB_SRC(Avx2, iquant_packed_avx2, kNeedAvx2);
  QB_SRC(Avx2, kquant_packed_q2_avx2, kNeedAvx2);
  QB_SRC(Avx2, float_packed_avx2, kNeedAvx2);
  QB_SRC(Avx2, ternary_packed_avx2, kNeedAvx2);
  QB_SRC(Avx512, float_avx512bf16, kNeedAvx512 | isa::kAvx512bf16);
  // After the files they override: a later granted source wins the table slot.
  QB_SRC(Avx512, legacy_amxint8, kNeedAmxInt8);
  QB_SRC(Avx512, float_amxbf16, kNeedAmxBf16);
#endif
#if defined(__aarch64__)
  QB_FAMILY(Neon, neon, kNeedNeon)
  QB_SRC(Neon, legacy_neoni8mm, kNeedNeon | isa::kI8mm);
  QB_SRC(Neon, float_neonbf16, kNeedNeon | isa::kArmBf16);
#endif
#undef QB_FAMILY
#undef QB_SRC
  return v;
}

const std::vector<KernelSource>& sources() {
  static const std::vector<KernelSource> s = make_sources();
  return s;
}

bool off_by_env(const char* var) {
  const char* off = std::getenv(var);
  return off && *off && *off != '0';
}

// The last granted source's kernel for (w, b) among the packed (pack set) or the row kernels.
const MatmulKernel* choose(FormatId w, BackendId b, uint32_t cpu, bool allow_amx, bool packed) {
  const MatmulKernel* best = nullptr;
  for (const KernelSource& s : sources()) {
    if (s.backend != b || !isa_granted(s.required, cpu) || (!allow_amx && (s.required & isa::kAmxTile))) continue;
    for (const MatmulKernel& k : s.kernels)
      if (k.weight == w && (k.pack != nullptr) == packed) best = &k;
  }
  return best;
}

using Table = std::array<std::array<const MatmulKernel*, size_t(FormatId::COUNT)>, size_t(BackendId::COUNT)>;

struct Dispatch {
  std::vector<BackendInfo> backends;
  // kernels[backend][format]: `table` for GEMM (AMX and i8mm rows where granted), `gemv` for
  // n == 1 (no kGemmOnly rows), `packed` the kernels that read pack()'s layout (every n).
  Table table{}, gemv{}, packed{};
  std::array<BackendId, size_t(FormatId::COUNT)> best{};

  Dispatch() {
    const uint32_t cpu = cpu_features().isa_mask();
#if defined(__x86_64__)
    const bool x86 = true;
#else
    const bool x86 = false;
#endif
#if defined(__aarch64__)
    const bool arm = true;
#else
    const bool arm = false;
#endif
    auto add = [&](BackendId id, const char* name, bool built, uint32_t need, const char* not_built) {
      BackendInfo b{id, name, built && isa_granted(need, cpu), ""};
      if (!built) {
        b.missing = not_built;
      } else if (!b.available) {
        b.missing = "CPU lacks";
        for (const auto& n : isa_names(need & ~cpu)) b.missing += " " + n;
        b.missing += " (or the OS does not save its register state)";
      }
      backends.push_back(b);
    };
    add(BackendId::Scalar, "scalar", true, 0, "");
    add(BackendId::Avx2, "avx2", x86, kNeedAvx2, "not built: x86-64 only");
    add(BackendId::Avx512, "avx512", x86, kNeedAvx512, "not built: x86-64 only");
    add(BackendId::Neon, "neon", arm, kNeedNeon, "not built: aarch64 only");

    // Each file's kernels are loaded only where the CPU grants what that file needs (e.g. BF16 on
    // avx512 needs avx512bf16, the backend's VNNI kernels do not).
    // AMX is decided here, once: granted by the CPU and Linux (cpu_features) and not QB_NO_AMX=1.
    const bool allow_amx = !off_by_env("QB_NO_AMX");
    const bool allow_repack = !off_by_env("QB_NO_REPACK");
    for (size_t b = 0; b < size_t(BackendId::COUNT); ++b) {
      if (!backends[b].available) continue;
      for (size_t f = 0; f < size_t(FormatId::COUNT); ++f) {
        table[b][f] = choose_kernel(FormatId(f), BackendId(b), cpu, allow_amx);
        gemv[b][f] = choose_kernel(FormatId(f), BackendId(b), cpu & ~kGemmOnly, allow_amx);
        if (allow_repack) packed[b][f] = choose(FormatId(f), BackendId(b), cpu, allow_amx, true);
      }
    }
    // Best = the widest available backend that has a kernel for the format.
    for (size_t fi = 0; fi < size_t(FormatId::COUNT); ++fi) {
      best[fi] = BackendId::Scalar;
      for (BackendId b : {BackendId::Avx512, BackendId::Avx2, BackendId::Neon})
        if (table[size_t(b)][fi]) {
          best[fi] = b;
          break;
        }
    }
  }
};

const Dispatch& dispatch() {
  static const Dispatch d;
  return d;
}

}  // namespace

std::span<const BackendInfo> own_backends() { return dispatch().backends; }

std::span<const KernelSource> kernel_sources() { return sources(); }

const BackendInfo* find_backend(std::string_view name) {
  for (const BackendInfo& b : dispatch().backends)
    if (b.name == name) return &b;
  return nullptr;
}

const MatmulKernel* choose_kernel(FormatId w, BackendId b, uint32_t cpu, bool allow_amx) {
  return choose(w, b, cpu, allow_amx, false);
}

const MatmulKernel* find_packed_kernel(FormatId w, BackendId b) { return dispatch().packed[size_t(b)][size_t(w)]; }

size_t packed_bytes(const MatmulKernel& kern, int64_t m, int64_t k) {
  const int64_t rows = kern.pack_rows > 0 ? (m + kern.pack_rows - 1) / kern.pack_rows * kern.pack_rows : m;
  return size_t(rows) * traits(kern.weight).row_bytes(k);
}

std::vector<uint8_t> pack_weights(const MatmulKernel& kern, const void* W, int64_t m, int64_t k, size_t slack) {
  std::vector<uint8_t> out(packed_bytes(kern, m, k) + slack, 0);
  kern.pack(W, traits(kern.weight).row_bytes(k), m, k, out.data());
  return out;
}

const MatmulKernel* find_kernel(FormatId w, BackendId b) { return dispatch().table[size_t(b)][size_t(w)]; }

const MatmulKernel* find_kernel(FormatId w, BackendId b, int64_t n) {
  return (n == 1 ? dispatch().gemv : dispatch().table)[size_t(b)][size_t(w)];
}

BackendId best_backend(FormatId w) { return dispatch().best[size_t(w)]; }

void serial_for(int64_t ntasks, const std::function<void(int64_t)>& fn) {
  for (int64_t t = 0; t < ntasks; ++t) fn(t);
}

}  // namespace qb
