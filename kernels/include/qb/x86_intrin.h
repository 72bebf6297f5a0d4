// <immintrin.h> for qbench's x86 code; include this instead of it.
// GCC 12.2's avx512fintrin.h reads its own deliberately uninitialized `__Y` in the
// _mm512_undefined_*() helpers and warns -Wuninitialized / -Wmaybe-uninitialized at every caller
// it is inlined into (GCC bug 105593, fixed in GCC 12.3 and 13). The pragma covers this one system
// header only, so real uninitialized reads in qbench's own kernels are still reported.
#pragma once
// AMX as compiled for this file (-mamx-*), in one spelling: GCC predefines __AMX_INT8__, clang 14
// __AMXINT8__ (likewise TILE, BF16). Kernels and compiled_isa.h test QB_AMX_*, never the raw macros.
#if defined(__AMX_TILE__) || defined(__AMXTILE__)
#define QB_AMX_TILE 1
#endif
#if defined(__AMX_INT8__) || defined(__AMXINT8__)
#define QB_AMX_INT8 1
#endif
#if defined(__AMX_BF16__) || defined(__AMXBF16__)
#define QB_AMX_BF16 1
#endif
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
