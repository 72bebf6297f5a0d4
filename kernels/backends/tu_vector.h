// TuVector: a std::vector that is each translation unit's own instantiation, for the scratch
// buffers of files compiled for one ISA.
#pragma once
#include <memory>
#include <vector>

namespace qb::kern {
namespace {

// std::allocator under a name with internal linkage: a TuVector is this translation unit's own
// instantiation. A std::vector<float> member is one COMDAT symbol for the whole program, and
// where it stays out of line (the -Og sanitizer build) the linker may keep an AVX-512 file's copy,
// which then runs here on AVX2-only CPUs (SIGILL in vector::_M_check_len, found under ASan).
template <class T>
struct TuAllocator : std::allocator<T> {
  TuAllocator() = default;
  template <class U>
  TuAllocator(const TuAllocator<U>&) noexcept {}
};
template <class T>
using TuVector = std::vector<T, TuAllocator<T>>;

}  // namespace

}  // namespace qb::kern
