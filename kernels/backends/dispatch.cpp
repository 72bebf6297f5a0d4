// Runtime dispatch: which backends this CPU can run, and the kernel table per backend.
// Decided once at first use from cpu_features(); a backend the CPU lacks is never called.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "kernel_tables.h"
#include "qb/cpu_features.h"

namespace qb {

namespace {

struct Dispatch {
  std::vector<BackendInfo> backends;
  // kernels[backend][format]
  std::array<std::array<const MatmulKernel*, size_t(FormatId::COUNT)>, size_t(BackendId::COUNT)> table{};
  std::array<BackendId, size_t(FormatId::COUNT)> best{};

  Dispatch() {
    const CpuFeatures& f = cpu_features();
    auto add = [&](BackendId id, const char* name, bool built, bool cpu_ok, std::string why) {
      BackendInfo b{id, name, built && cpu_ok, ""};
      if (!built) b.missing = why.empty() ? "not built for this architecture" : why;
      else if (!cpu_ok) b.missing = why;
      backends.push_back(b);
    };
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
    add(BackendId::Scalar, "scalar", true, true, "");
    {
      std::string why;
      if (!(f.avx2 && f.fma && f.f16c && f.os_avx)) why = "CPU lacks avx2/fma/f16c (or OS does not save AVX state)";
      add(BackendId::Avx2, "avx2", x86, why.empty(), x86 ? why : "not built: x86-64 only");
    }
    {
      std::string why;
      if (!(f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.os_avx512)) why = "CPU lacks avx512 f/bw/vl/dq";
      else if (!f.avx512vnni) why = "CPU lacks avx512vnni";
      else if (!f.avx512bf16) why = "CPU lacks avx512bf16";
      add(BackendId::Avx512, "avx512", x86, why.empty(), x86 ? why : "not built: x86-64 only");
    }
    {
      std::string why;
      if (!(f.neon && f.dotprod)) why = "CPU lacks neon dotprod";
      add(BackendId::Neon, "neon", arm, why.empty(), arm ? why : "not built: aarch64 only");
    }

    auto load = [&](BackendId b, std::initializer_list<std::span<const MatmulKernel>> lists) {
      if (!backends[size_t(b)].available) return;
      for (auto l : lists)
        for (const MatmulKernel& k : l) table[size_t(b)][size_t(k.weight)] = &k;
    };
    using namespace kern;
    load(BackendId::Scalar, {legacy_scalar(), float_scalar(), int_scalar(), kquant_scalar(),
                             iquant_scalar(), ternary_scalar()});
#if defined(__x86_64__)
    load(BackendId::Avx2, {legacy_avx2(), float_avx2(), int_avx2(), kquant_avx2(), iquant_avx2(),
                           ternary_avx2()});
    load(BackendId::Avx512, {legacy_avx512(), float_avx512(), int_avx512(), kquant_avx512(),
                             iquant_avx512(), ternary_avx512()});
#endif
#if defined(__aarch64__)
    load(BackendId::Neon, {legacy_neon(), float_neon(), int_neon(), kquant_neon(), iquant_neon(),
                           ternary_neon()});
#endif
    // Best = the widest available backend that has a kernel for the format.
    for (size_t fi = 0; fi < size_t(FormatId::COUNT); ++fi) {
      best[fi] = BackendId::Scalar;
      for (BackendId b : {BackendId::Avx512, BackendId::Avx2, BackendId::Neon})
        if (table[size_t(b)][fi]) { best[fi] = b; break; }
    }
  }
};

const Dispatch& dispatch() {
  static const Dispatch d;
  return d;
}

}  // namespace

std::span<const BackendInfo> own_backends() { return dispatch().backends; }

const BackendInfo* find_backend(std::string_view name) {
  for (const BackendInfo& b : dispatch().backends)
    if (b.name == name) return &b;
  return nullptr;
}

const MatmulKernel* find_kernel(FormatId w, BackendId b) {
  return dispatch().table[size_t(b)][size_t(w)];
}

BackendId best_backend(FormatId w) { return dispatch().best[size_t(w)]; }

void serial_for(int64_t ntasks, const std::function<void(int64_t)>& fn) {
  for (int64_t t = 0; t < ntasks; ++t) fn(t);
}

}  // namespace qb
