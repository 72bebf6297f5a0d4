// TuVector: std::vector for the per-ISA kernel files. Each of those files is compiled with its own
// -m flags, and a std::vector<float> member function is one COMDAT symbol for the whole program:
// where it stays out of line (the -Og sanitizer build) the linker keeps one file's copy for all,
// so an AVX-512 file's copy ran in AVX2 code on an AVX2-only CPU (SIGILL in vector::_M_check_len,
// found under ASan on a Zen 3). An allocator type with internal linkage makes every instantiation
// the file's own.
#pragma once

#include <memory>
#include <vector>

namespace qb::kern {
namespace {

template <class T>
struct TuAllocator : std::allocator<T> {
  TuAllocator() = default;
  template <class U>
  TuAllocator(const TuAllocator<U>&) noexcept {}
  template <class U>
  struct rebind {
    using other = TuAllocator<U>;
  };
};
template <class T>
using TuVector = std::vector<T, TuAllocator<T>>;

}  // namespace
}  // namespace qb::kern
