// Dispatch against the per-file ISA flags: a kernel may only run on a CPU that grants every
// extension its source file was compiled for (else SIGILL), and it must not demand extensions it
// does not use (else CPUs lose kernels they could run, e.g. VNNI kernels on Cascade Lake).
// `compiled` comes from each file's own predefined macros, so this reads the real build flags.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "qb/cpu_features.h"
#include "qb/matmul.h"

namespace {

using namespace qb;

std::string names(uint32_t m) {
  std::string s;
  for (const auto& n : isa_names(m)) s += (s.empty() ? "" : ",") + n;
  return s.empty() ? "(baseline)" : s;
}

TEST(DispatchIsa, EveryFileCompiledForExactlyWhatItsKernelsAreGatedOn) {
  ASSERT_FALSE(kernel_sources().empty());
  for (const KernelSource& s : kernel_sources()) {
    SCOPED_TRACE(std::string(s.file));
    // compiled ⊆ required: otherwise a CPU passing the gate can meet an instruction it lacks.
    EXPECT_EQ(s.compiled & ~s.required, 0u) << "compiled for " << names(s.compiled) << " but gated on "
                                            << names(s.required) << ": ungated " << names(s.compiled & ~s.required);
    // required ⊆ compiled: a gate on an extension the file cannot use only loses kernels.
    EXPECT_EQ(s.required & ~s.compiled, 0u)
        << "gated on " << names(s.required & ~s.compiled) << " which the file is not compiled for";
    for (const MatmulKernel& k : s.kernels) EXPECT_EQ(k.backend, s.backend) << k.name;
  }
}

TEST(DispatchIsa, TableHoldsOnlyKernelsThisCpuGrants) {
  const uint32_t cpu = cpu_features().isa_mask();
  std::set<const MatmulKernel*> granted;
  for (const KernelSource& s : kernel_sources())
    if (isa_granted(s.required, cpu))
      for (const MatmulKernel& k : s.kernels) granted.insert(&k);
  int found = 0;
  for (size_t f = 0; f < size_t(FormatId::COUNT); ++f)
    for (size_t b = 0; b < size_t(BackendId::COUNT); ++b)
      if (const MatmulKernel* k = find_kernel(FormatId(f), BackendId(b))) {
        ++found;
        EXPECT_TRUE(granted.count(k)) << k->name << " is dispatched but its file's ISA is not granted";
      }
  EXPECT_GT(found, 0);
}

#if defined(__x86_64__)
// Cascade Lake / Ice Lake server: AVX-512 with VNNI, without AVX512_BF16.
TEST(DispatchIsa, VnniWithoutBf16KeepsIntegerAvx512Kernels) {
  const uint32_t clx = isa::kAvx2 | isa::kFma | isa::kF16c | isa::kBmi2 | isa::kAvx512f | isa::kAvx512bw |
                       isa::kAvx512vl | isa::kAvx512dq | isa::kAvx512vnni;
  std::set<FormatId> on_clx;
  bool bf16_refused = false;
  for (const KernelSource& s : kernel_sources()) {
    if (s.backend != BackendId::Avx512) continue;
    for (const MatmulKernel& k : s.kernels) {
      if (isa_granted(s.required, clx))
        on_clx.insert(k.weight);
      else if (k.weight == FormatId::BF16)
        bf16_refused = true;
    }
  }
  for (FormatId f : {FormatId::Q4_0, FormatId::Q8_0, FormatId::Q4_K, FormatId::IQ4_NL, FormatId::F32})
    EXPECT_TRUE(on_clx.count(f)) << traits(f).name << " avx512 kernel lost on a VNNI-only CPU";
  EXPECT_TRUE(bf16_refused) << "the BF16 avx512 kernel must need avx512bf16";
  EXPECT_FALSE(on_clx.count(FormatId::BF16));
}

TEST(DispatchIsa, Avx512BackendDoesNotRequireBf16) {
  const CpuFeatures& f = cpu_features();
  for (const BackendInfo& b : own_backends())
    if (b.id == BackendId::Avx512 && !b.available) {
      EXPECT_EQ(b.missing.find("bf16"), std::string::npos) << b.missing;
    }
  if (!(f.avx512f && f.avx512vnni)) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  EXPECT_NE(find_kernel(FormatId::Q4_0, BackendId::Avx512), nullptr);
  EXPECT_EQ(find_kernel(FormatId::BF16, BackendId::Avx512) != nullptr, f.avx512bf16);
}
#endif

}  // namespace
