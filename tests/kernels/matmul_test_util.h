// Helpers shared by the backend-kernel tests (tests/kernels/matmul_*_test.cpp): a 2-thread
// ParallelFor, byte buffers offset from alignment, a runner around qb::matmul.
#pragma once
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "qb/cpu_features.h"
#include "qb/formats.h"
#include "qb/matmul.h"

#if defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace qbt {

// Why the avx512 kernels' optional AMX path cannot run here ("" when it can): the same conditions
// the kernels check (CPU has the AMX unit, the OS saves tile state, Linux grants XTILEDATA).
// Tests that loop over QB_NO_AMX=0/1 exercise AMX only when this is empty; they report it.
inline std::string amx_unavailable_reason(bool int8) {
#if defined(__x86_64__)
  const qb::CpuFeatures& f = qb::cpu_features();
  if (!f.avx512f || !f.avx512vnni) return "no avx512 backend on this CPU";
  if (!f.amx_tile || !(int8 ? f.amx_int8 : f.amx_bf16)) return int8 ? "CPU lacks AMX-INT8" : "CPU lacks AMX-BF16";
  if (!f.os_amx) return "the OS does not enable AMX tile state (XCR0)";
  if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) != 0)
    return "Linux refused arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA)";
  return "";
#else
  (void)int8;
  return "AMX is x86-64 only";
#endif
}

// Activations of the 32-weight formats' tests. Exact mode: integers * 2^-3 (-127..127) with one
// +-127 per 32-block, so Q8_0/Q8_1 quantize them exactly; random mode: N(0, 1).
inline std::vector<float> q8_acts(int64_t n, int64_t k, bool exact, std::mt19937& rng) {
  std::vector<float> x(size_t(n * k));
  if (!exact) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& v : x) v = nd(rng);
    return x;
  }
  std::uniform_int_distribution<int> q(-127, 127);
  for (auto& v : x) v = float(q(rng)) * 0.125f;
  for (size_t b = 0; b < x.size(); b += 32) x[b + size_t(q(rng) & 31)] = (q(rng) & 1) ? 127 * 0.125f : -127 * 0.125f;
  return x;
}

// Runs the tasks on two std::threads pulling from a shared counter (as a real pool would).
inline void two_thread_for(int64_t ntasks, const std::function<void(int64_t)>& fn) {
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t t; (t = next.fetch_add(1)) < ntasks;) fn(t);
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
}

// A byte buffer whose data() is `misalign` bytes past a 64-byte boundary.
struct Bytes {
  std::vector<uint8_t> raw;
  size_t off;
  Bytes(size_t n, size_t misalign) : raw(n + 128, 0xCD) {
    const auto base = reinterpret_cast<uintptr_t>(raw.data());
    off = (64 - base % 64) % 64 + misalign;
  }
  uint8_t* data() { return raw.data() + off; }
};

struct Shape {
  int64_t m, k, n;
};

inline std::string shape_name(const Shape& s) {
  return "m=" + std::to_string(s.m) + " k=" + std::to_string(s.k) + " n=" + std::to_string(s.n);
}

// Y (n x m, row stride ldy = m + 3, starting 1 float past alignment) = W . X with kernel `kern`.
inline std::vector<float> run_matmul(const qb::MatmulKernel& kern, const uint8_t* w_src, size_t w_bytes,
                                     const std::vector<float>& X, const Shape& s, bool two_threads, size_t misalign) {
  Bytes w(w_bytes, misalign);
  std::memcpy(w.data(), w_src, w_bytes);
  Bytes xq(size_t(s.n) * kern.act_row_bytes(s.k), misalign);
  const int64_t ldy = s.m + 3;
  std::vector<float> ybuf(size_t(s.n * ldy + 1), std::nanf(""));
  float* y = ybuf.data() + 1;
  qb::matmul(kern, w.data(), s.m, s.k, X.data(), s.n, y, ldy, xq.data(),
             two_threads ? qb::ParallelFor(two_thread_for) : qb::ParallelFor(qb::serial_for));
  std::vector<float> out(size_t(s.n * s.m));
  for (int64_t j = 0; j < s.n; ++j)
    for (int64_t r = 0; r < s.m; ++r) out[size_t(j * s.m + r)] = y[j * ldy + r];
  // The padding between rows of Y must be untouched.
  for (int64_t j = 0; j < s.n; ++j)
    for (int64_t r = s.m; r < ldy && j * ldy + r < s.n * ldy; ++r)
      EXPECT_TRUE(std::isnan(y[j * ldy + r])) << kern.name << " wrote past row end of Y at column " << j;
  return out;
}

// A packed kernel (MatmulKernel::pack) on pack()'s output of w (unpacked rows) against `want` (the
// scalar kernel on w) within tol(i) for output i = col * m + row: through matmul on 1 and 2 threads,
// and compute() on every allowed row sub-range [r0, r1) (r0 a multiple of pack_rows, r1 one too
// or m), where rows outside the range must stay untouched.
inline void check_packed_run(const qb::MatmulKernel& kern, const std::vector<uint8_t>& w, const std::vector<float>& X,
                             const Shape& s, const std::vector<float>& want, const std::function<double(size_t)>& tol,
                             const std::string& what) {
  const size_t rb = qb::traits(kern.weight).row_bytes(s.k);
  std::vector<uint8_t> packed(qb::packed_bytes(kern, s.m, s.k));
  ASSERT_EQ(packed.size(), size_t((s.m + kern.pack_rows - 1) / kern.pack_rows * kern.pack_rows) * rb);
  kern.pack(w.data(), rb, s.m, s.k, packed.data());
  auto check = [&](const std::vector<float>& got, int64_t r0, int64_t r1, const std::string& how) {
    int bad = 0;
    for (int64_t j = 0; j < s.n; ++j)
      for (int64_t r = 0; r < s.m && bad < 5; ++r) {
        const size_t i = size_t(j * s.m + r);
        const bool in = r >= r0 && r < r1;
        if (in ? !(std::fabs(double(got[i]) - want[i]) <= tol(i)) : !std::isnan(got[i])) {
          ++bad;
          ADD_FAILURE() << kern.name << " " << what << " " << shape_name(s) << " " << how << " row " << r << " col "
                        << j << ": got " << got[i] << (in ? " want " + std::to_string(want[i]) : " (outside [r0, r1))");
        }
      }
  };
  for (const bool threads : {false, true})
    check(run_matmul(kern, packed.data(), packed.size(), X, s, threads, threads ? 1 : 3), 0, s.m,
          threads ? "matmul 2 threads" : "matmul");
  const size_t xs = kern.act_row_bytes(s.k);
  std::vector<uint8_t> xq(xs * size_t(s.n));
  for (int64_t j = 0; j < s.n; ++j) kern.quantize_act(X.data() + j * s.k, xq.data() + size_t(j) * xs, s.k);
  for (int64_t r0 = 0; r0 < s.m; r0 += kern.pack_rows)
    for (const int64_t r1 : {std::min(s.m, r0 + kern.pack_rows), s.m}) {
      std::vector<float> got(size_t(s.n * s.m), std::nanf(""));
      kern.compute(s.k, packed.data(), rb, r0, r1, xq.data(), xs, s.n, got.data(), s.m);
      check(got, r0, r1, "rows [" + std::to_string(r0) + ", " + std::to_string(r1) + ")");
    }
}

// pack() of an 8-row layout against index(r, b, j, row_bytes), the independent computation of
// where byte j of row r's block b lands: every byte where it says, every other byte of the
// round_up(m, 8)-row buffer zero, nothing written past it (m = 1, 7, 8, 13, 37; 1 and 6 blocks).
// A layout that also changes a block's content (packed_layout.h's 5th bits) passes `expect`, the
// test's own rewrite of one source block into the bytes the packed copy must hold.
inline void check_pack_layout(qb::FormatId f, void (*pack)(const void*, size_t, int64_t, int64_t, void*),
                              const std::function<size_t(int64_t, int64_t, int, size_t)>& index,
                              const std::string& what, const std::function<void(uint8_t*)>& expect = {}) {
  const int64_t bw = qb::traits(f).block_size;
  const int bb = qb::traits(f).block_bytes;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const int64_t m : {1, 7, 8, 13, 37})
    for (const int64_t k : {bw, 6 * bw}) {
      const size_t rb = qb::traits(f).row_bytes(k);
      std::vector<uint8_t> w(rb * size_t(m));
      for (auto& v : w) v = uint8_t(byte(rng));
      const size_t total = size_t((m + 7) / 8 * 8) * rb;
      std::vector<uint8_t> out(total + 1, 0xEE);
      pack(w.data(), rb, m, k, out.data());
      std::vector<uint8_t> want = w;
      if (expect)
        for (int64_t r = 0; r < m; ++r)
          for (int64_t b = 0; b < k / bw; ++b) expect(want.data() + size_t(r) * rb + size_t(b * bb));
      std::vector<bool> hit(total, false);
      for (int64_t r = 0; r < m; ++r)
        for (int64_t b = 0; b < k / bw; ++b)
          for (int j = 0; j < bb; ++j) {
            const size_t at = index(r, b, j, rb);
            ASSERT_LT(at, total) << what;
            ASSERT_FALSE(hit[at]) << what << ": two bytes land at " << at;
            hit[at] = true;
            ASSERT_EQ(out[at], want[size_t(r) * rb + size_t(b * bb + j)])
                << what << " m=" << m << " k=" << k << " row " << r << " block " << b << " byte " << j;
          }
      for (size_t i = 0; i < total; ++i)
        if (!hit[i]) {
          ASSERT_EQ(out[i], 0) << what << " m=" << m << ": padding byte " << i << " not zero";
        }
      EXPECT_EQ(out[total], 0xEE) << what << " wrote past round_up(m, 8) rows";
    }
}

// The 8-row layout of 32-weight blocks made of n2 2-byte fields, then 4-byte fields (qh, codes):
// byte j of row r's block b lands in group r / 8, block b of the group at b * 8 * block_bytes,
// and there a field at block byte o, w bytes wide, at 8 * o + w * (r % 8) (packed_layout.h).
inline size_t x8_index(int64_t r, int64_t b, int j, size_t row_bytes, int block_bytes, int n2) {
  const size_t lane = size_t(r % 8), base = size_t(r / 8) * 8 * row_bytes + size_t(b) * 8 * size_t(block_bytes);
  const int w = j < 2 * n2 ? 2 : 4, o = j < 2 * n2 ? j - j % 2 : j - (j - 2 * n2) % 4;
  return base + 8 * size_t(o) + size_t(w) * lane + size_t(j - o);
}

// Where byte j of row r's super-block s (bb bytes, nf 2-byte fields at [h, h + 2 nf)) lands in the
// 8-row super-block layout (pack_sb_x8): group r / 8, super-block s of the group at s * 8 * bb;
// inside it the first field of rows 0..7, then the next ones, then the other bytes in 4-byte
// lanes, one 32-byte stripe per 4 bytes.
inline size_t sb_x8_index(int64_t r, int64_t s, int j, size_t row_bytes, size_t bb, int h, int nf = 2) {
  const size_t lane = size_t(r % 8), base = size_t(r / 8) * 8 * row_bytes + size_t(s) * 8 * bb;
  if (j >= h && j < h + 2 * nf) return base + 16 * size_t((j - h) / 2) + 2 * lane + size_t((j - h) % 2);
  const size_t q = size_t(j < h ? j : j - 2 * nf);
  return base + 16 * size_t(nf) + 32 * (q / 4) + 4 * lane + q % 4;
}

// Every packed kernel (MatmulKernel::pack) this CPU grants for the format, whether or not
// QB_NO_REPACK hides it from dispatch.
inline std::vector<const qb::MatmulKernel*> packed_kernels(qb::FormatId f) {
  std::vector<const qb::MatmulKernel*> out;
  const uint32_t cpu = qb::cpu_features().isa_mask();
  for (const qb::KernelSource& s : qb::kernel_sources())
    if (qb::isa_granted(s.required, cpu))
      for (const qb::MatmulKernel& k : s.kernels)
        if (k.weight == f && k.pack) out.push_back(&k);
  return out;
}

// pack() of every packed kernel for super-block format f against sb_x8_index (nf fields at byte
// h), and packed_bytes; skips visibly when this CPU/build has none.
inline void check_sb_pack_layout(qb::FormatId f, int h, int nf = 2) {
  const size_t bb = size_t(qb::traits(f).block_bytes);
  const auto kernels = packed_kernels(f);
  if (kernels.empty()) GTEST_SKIP() << "no packed kernel for " << qb::traits(f).name << " on this CPU/build";
  for (const auto* kern : kernels) {
    check_pack_layout(
        f, kern->pack, [&](int64_t r, int64_t s, int j, size_t rb) { return sb_x8_index(r, s, j, rb, bb, h, nf); },
        std::string(kern->name));
    EXPECT_EQ(qb::packed_bytes(*kern, 13, 512), 16 * qb::traits(f).row_bytes(512)) << kern->name;
  }
}

// Backends other than scalar that this CPU runs and that have a kernel for `f` (row kernels:
// those without MatmulKernel::pack).
inline std::vector<const qb::MatmulKernel*> simd_kernels(qb::FormatId f) {
  // Every row this CPU may run, not only the dispatched one: where AMX is granted the avx512
  // backend has an AMX row and the VNNI/vdpbf16ps row it overrides, and both are tested.
  const uint32_t cpu = qb::cpu_features().isa_mask();
  std::vector<const qb::MatmulKernel*> out;
  for (const auto& b : qb::own_backends()) {
    if (b.id == qb::BackendId::Scalar || !b.available) continue;
    for (const qb::KernelSource& s : qb::kernel_sources())
      if (s.backend == b.id && qb::isa_granted(s.required, cpu))
        for (const qb::MatmulKernel& k : s.kernels)
          if (k.weight == f && !k.pack) out.push_back(&k);  // packed rows: matmul_packed_test.cpp
  }
  return out;
}

// The odd shapes every kernel is run on (k in blocks of `bs`).
inline std::vector<Shape> odd_shapes(int bs) {
  std::vector<Shape> v;
  const int64_t ms[] = {1, 3, 17, 67};
  const int64_t ns[] = {1, 2, 3, 5, 7, 67};
  const int64_t kbs[] = {1, 2, 3, 5, 8, 9};
  for (int64_t m : ms)
    for (int64_t n : ns)
      for (int64_t kb : kbs)
        if ((m * 7 + n * 3 + kb) % 3 == 0 || m == 17) v.push_back({m, kb * bs, n});
  // Exercises k-blocking (several 128-block panels, odd count) and multiple column panels.
  v.push_back({9, 261 * bs, 1});
  v.push_back({9, 261 * bs, 131});
  return v;
}

}  // namespace qbt
