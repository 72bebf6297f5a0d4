// <immintrin.h> for qbench's x86 code; include this instead of it.
// GCC 12.2's avx512fintrin.h reads its own deliberately uninitialized `__Y` in the
// _mm512_undefined_*() helpers and warns -Wuninitialized / -Wmaybe-uninitialized at every caller
// it is inlined into (GCC bug 105593, fixed in GCC 12.3 and 13). The pragma covers this one system
// header only, so real uninitialized reads in qbench's own kernels are still reported.
#pragma once
#if defined(__x86_64__) || defined(__i386__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#endif
