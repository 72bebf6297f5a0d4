# Per-file ISA flags: no global -march. A source file opts into an ISA by its name's suffix,
# and runtime dispatch (kernels/backends/dispatch.cpp) calls it only where the CPU has that ISA.
set(QB_ARCH_X86 OFF)
set(QB_ARCH_ARM64 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set(QB_ARCH_X86 ON)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(QB_ARCH_ARM64 ON)
endif()

set(QB_FLAGS_AVX2   -mavx2 -mfma -mf16c -mbmi2)
# Each set is exactly what dispatch.cpp gates that file's kernels on (kernel_sources() there);
# tests/kernels/dispatch_isa_test.cpp checks the two agree, from the compiler's own macros.
# (GCC 12's avx512fintrin.h false -Wuninitialized is silenced around that one header: qb/x86_intrin.h.)
set(QB_FLAGS_AVX512 -mavx2 -mfma -mf16c -mbmi2 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni)
# BF16 kernels live in *_avx512bf16.cpp so that VNNI-only CPUs (Cascade Lake, Ice Lake) keep the rest.
set(QB_FLAGS_AVX512BF16 ${QB_FLAGS_AVX512} -mavx512bf16)
# AMX kernels (own rows, own names) live in *_amxint8.cpp / *_amxbf16.cpp: gated on the tile unit
# and Linux's permission as well, so the VNNI/BF16 files keep running where AMX is absent or off.
set(QB_FLAGS_AMXINT8 ${QB_FLAGS_AVX512} -mamx-tile -mamx-int8)
set(QB_FLAGS_AMXBF16 ${QB_FLAGS_AVX512BF16} -mamx-tile -mamx-bf16)
# dotprod only: dispatch gates NEON on asimd+dotprod, so no i8mm/bf16/fp16 code may be generated.
set(QB_FLAGS_NEON   -march=armv8.2-a+dotprod)
# int8 matrix multiply (smmla) rows live in *_neoni8mm.cpp, gated on dotprod + i8mm.
set(QB_FLAGS_NEONI8MM -march=armv8.2-a+dotprod+i8mm)
# bfdot/bfmmla rows in *_neonbf16.cpp, gated on dotprod + bf16.
set(QB_FLAGS_NEONBF16 -march=armv8.2-a+dotprod+bf16)

# qb_isa_sources(<target> <files...>): adds files, applying flags from the name suffix
# (_avx2.cpp, _avx512.cpp, _avx512bf16.cpp, _amxint8.cpp, _amxbf16.cpp, _neon.cpp, _neoni8mm.cpp, _neonbf16.cpp); files of the other architecture are skipped.
function(qb_isa_sources target)
  foreach(f ${ARGN})
    if(f MATCHES "_avx2\\.cpp$")
      if(NOT QB_ARCH_X86)
        continue()
      endif()
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${QB_FLAGS_AVX2}")
    elseif(f MATCHES "_avx512bf16\\.cpp$")
      if(NOT QB_ARCH_X86)
        continue()
      endif()
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${QB_FLAGS_AVX512BF16}")
    elseif(f MATCHES "_amxint8\\.cpp$" OR f MATCHES "_amxbf16\\.cpp$")
      if(NOT QB_ARCH_X86)
        continue()
      endif()
      if(f MATCHES "_amxint8\\.cpp$")
        set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${QB_FLAGS_AMXINT8}")
      else()
        set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${QB_FLAGS_AMXBF16}")
      endif()
    elseif(f MATCHES "_avx512\\.cpp$")
      if(NOT QB_ARCH_X86)
        continue()
      endif()
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${QB_FLAGS_AVX512}")
    elseif(f MATCHES "_neoni8mm\\.cpp$" OR f MATCHES "_neonbf16\\.cpp$")
      if(NOT QB_ARCH_ARM64)
        continue()
      endif()
      if(f MATCHES "_neoni8mm\\.cpp$")
        set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${QB_FLAGS_NEONI8MM}")
      else()
        set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${QB_FLAGS_NEONBF16}")
      endif()
    elseif(f MATCHES "_neon\\.cpp$")
      if(NOT QB_ARCH_ARM64)
        continue()
      endif()
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${QB_FLAGS_NEON}")
    endif()
    target_sources(${target} PRIVATE ${f})
  endforeach()
endfunction()
