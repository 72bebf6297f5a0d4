// Dispatch against the per-file ISA flags: a kernel may only run on a CPU that grants every
// extension its source file was compiled for (else SIGILL), and it must not demand extensions it
// does not use (else CPUs lose kernels they could run, e.g. VNNI kernels on Cascade Lake).
// `compiled` comes from each file's own predefined macros, so this reads the real build flags.
#include <gtest/gtest.h>

#include <cstdlib>
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

// AMX rows are kernels of their own: a report names them (..._amx), GEMV never gets them, and
// QB_NO_AMX=1 leaves the VNNI / vdpbf16ps rows in their place.
TEST(DispatchAmx, AmxRowsHaveTheirOwnNames) {
  const uint32_t cpu = cpu_features().isa_mask();
  if (!isa_granted(isa::kAmxTile | isa::kAmxInt8, cpu))
    GTEST_SKIP() << "AMX-INT8 not granted here (CPU, XCR0 or Linux arch_prctl): " << names(cpu);
  for (FormatId f : {FormatId::Q4_0, FormatId::Q5_0, FormatId::Q8_0, FormatId::Q8_1}) {
    SCOPED_TRACE(std::string(traits(f).name));
    const MatmulKernel* amx = choose_kernel(f, BackendId::Avx512, cpu, true);
    const MatmulKernel* vnni = choose_kernel(f, BackendId::Avx512, cpu, false);
    ASSERT_TRUE(amx && vnni);
    EXPECT_TRUE(amx->name.ends_with("_amx")) << amx->name;
    EXPECT_TRUE(vnni->name.ends_with("_avx512vnni")) << vnni->name;
    EXPECT_EQ(find_kernel(f, BackendId::Avx512, 1), vnni) << "GEMV must not run under the AMX name";
  }
  // Q4_1 (a minimum term) has no AMX row: the VNNI one stays.
  EXPECT_TRUE(choose_kernel(FormatId::Q4_1, BackendId::Avx512, cpu, true)->name.ends_with("_avx512vnni"));
  if (isa_granted(isa::kAmxTile | isa::kAmxBf16 | isa::kAvx512bf16, cpu)) {
    EXPECT_TRUE(choose_kernel(FormatId::BF16, BackendId::Avx512, cpu, true)->name.ends_with("_amx"));
    EXPECT_TRUE(choose_kernel(FormatId::BF16, BackendId::Avx512, cpu, false)->name.ends_with("_avx512bf16"));
  }
}

// QB_NO_AMX is read once, when dispatch starts, so each case runs in a fresh process (gtest's
// threadsafe death-test style re-executes the binary).
// Sets var to value (nullptr: unsets it), before anything starts dispatch.
void set_env(const char* var, const char* value) {
  if (value)
    setenv(var, value, 1);
  else
    unsetenv(var);
}

const char* dispatched_q4_0(const char* no_amx) {
  set_env("QB_NO_AMX", no_amx);
  const MatmulKernel* k = find_kernel(FormatId::Q4_0, BackendId::Avx512);
  return k ? k->name.data() : "";
}

TEST(DispatchAmxDeathTest, QbNoAmxAtStartSelectsTheVnniRow) {
  if (!isa_granted(isa::kAmxTile | isa::kAmxInt8, cpu_features().isa_mask()))
    GTEST_SKIP() << "AMX-INT8 not granted here: nothing for QB_NO_AMX to turn off";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        fprintf(stderr, "dispatched %s\n", dispatched_q4_0("1"));
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "dispatched gemm_q4_0_q8_0_3x3_avx512vnni");
  EXPECT_EXIT(
      {
        fprintf(stderr, "dispatched %s\n", dispatched_q4_0(nullptr));
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "dispatched gemm_q4_0_q8_0_16x16_amx");
}

// QB_NO_REPACK is read once too: with it set, no packed kernel (the row kernels stay).
const char* packed_q4_0(const char* no_repack) {
  set_env("QB_NO_REPACK", no_repack);
  const MatmulKernel* k = find_packed_kernel(FormatId::Q4_0, BackendId::Avx2);
  return k ? k->name.data() : "none";
}

TEST(DispatchRepackDeathTest, QbNoRepackAtStartHidesPackedKernels) {
  // (not find_backend: that would start dispatch before the child sets the variable)
  if (!isa_granted(isa::kAvx2 | isa::kFma | isa::kF16c | isa::kBmi2, cpu_features().isa_mask()))
    GTEST_SKIP() << "no avx2 backend on this CPU: no packed kernels";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const char* packed = packed_q4_0("1");  // before anything else starts dispatch
        fprintf(stderr, "packed %s row %s\n", packed, find_kernel(FormatId::Q4_0, BackendId::Avx2)->name.data());
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "packed none row gemm_q4_0_q8_0_4x2_avx2");
  EXPECT_EXIT(
      {
        fprintf(stderr, "packed %s\n", packed_q4_0(nullptr));
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "packed gemm_q4_0x8_q8_0_8x4_avx2");
}
#endif

#if defined(__aarch64__)
// i8mm rows (smmla) take GEMM where the CPU has i8mm; GEMV and CPUs without it keep the dotprod
// rows. (Their numbers are tested with every other row by the matmul_*_test files.)
TEST(DispatchI8mm, GemmGetsSmmlaGemvKeepsSdot) {
  const uint32_t cpu = cpu_features().isa_mask();
  for (FormatId f : {FormatId::Q4_0, FormatId::Q4_1, FormatId::Q5_0, FormatId::Q5_1, FormatId::Q8_0, FormatId::Q8_1}) {
    SCOPED_TRACE(std::string(traits(f).name));
    const MatmulKernel* without = choose_kernel(f, BackendId::Neon, cpu & ~isa::kI8mm, false);
    ASSERT_NE(without, nullptr);
    EXPECT_TRUE(without->name.ends_with("_neondot")) << without->name;
    const MatmulKernel* with = choose_kernel(f, BackendId::Neon, cpu | isa::kI8mm, false);
    ASSERT_NE(with, nullptr);
    EXPECT_TRUE(with->name.ends_with("_neoni8mm")) << with->name;
    if (isa_granted(isa::kI8mm, cpu)) {
      EXPECT_EQ(find_kernel(f, BackendId::Neon, 512), with);
      EXPECT_EQ(find_kernel(f, BackendId::Neon, 1), without) << "GEMV keeps the sdot row";
    }
  }
  if (!isa_granted(isa::kI8mm, cpu)) GTEST_SKIP() << "this CPU lacks i8mm: the smmla rows are not dispatched here";
}

// BF16 runs bfdot/bfmmla where the CPU has the BF16 extension (GEMV too), and widens elsewhere.
TEST(DispatchBf16, NeonBf16RowWhereGranted) {
  const uint32_t cpu = cpu_features().isa_mask();
  const MatmulKernel* without = choose_kernel(FormatId::BF16, BackendId::Neon, cpu & ~isa::kArmBf16, false);
  const MatmulKernel* with = choose_kernel(FormatId::BF16, BackendId::Neon, cpu | isa::kArmBf16, false);
  ASSERT_TRUE(without && with);
  EXPECT_EQ(without->name, "gemm_bf16_bf16_4x4_neon");
  EXPECT_EQ(with->name, "gemm_bf16_bf16_4x4_neonbf16");
  if (!isa_granted(isa::kArmBf16, cpu)) GTEST_SKIP() << "this CPU lacks the BF16 extension: bfdot row not dispatched";
  EXPECT_EQ(find_kernel(FormatId::BF16, BackendId::Neon, 1), with);
  EXPECT_EQ(find_kernel(FormatId::BF16, BackendId::Neon, 512), with);
}
#endif

}  // namespace
